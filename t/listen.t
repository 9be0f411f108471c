#!/bin/bash
# loyaltyd finds its socket three ways: fd 0 from spawn-fcgi (every other
# test), systemd socket activation, and binding --listen itself.
. "$(dirname "$0")/lib/harness.sh"
harness_dir
stack_init "$HARNESS_DIR" && stack_pg_start && stack_createdb &&
	stack_write_config log.file=stderr && stack_migrate >/dev/null ||
	{ fail "the database starts"; exit 1; }

# ask ADDR: GET /health/live over FastCGI, as nginx would send it.
ask() {
	env -i REQUEST_METHOD=GET REQUEST_URI=/health/live REMOTE_ADDR=127.0.0.1 \
		cgi-fcgi -bind -connect "$1" 2>&1
}
# run_daemon LOG CMD...: starts CMD in the background as the app user;
# DAEMON is its pid (exec, and setpriv does not fork: signals reach it).
run_daemon() {
	local log=$1
	shift
	(exec setpriv --reuid="$STACK_APP_USER" --regid="$STACK_APP_GROUP" \
		--clear-groups -- "$@" >"$log" 2>&1) &
	DAEMON=$!
}
# stop_daemon: SIGTERM and the exit status in STOPPED.
stop_daemon() {
	kill -TERM "$DAEMON"
	wait "$DAEMON"
	STOPPED=$?
}
chmod 0777 "$HARNESS_DIR/run"

sock=$HARNESS_DIR/run/bound.sock
run_daemon "$HARNESS_DIR/log/bound.log" "$LOYALTYD" -c "$STACK_CONF" --listen "$sock"
wait_for 10 test -S "$sock"
like "$(ask "$sock")" 'Status: 200' "--listen PATH binds a unix socket and serves"
stop_daemon
is "$STOPPED" 0 "SIGTERM: exit 0"

port=$((STACK_PG_PORT + 1))
run_daemon "$HARNESS_DIR/log/tcp.log" "$LOYALTYD" -c "$STACK_CONF" --listen "127.0.0.1:$port"
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port"
like "$(ask "127.0.0.1:$port")" 'Status: 200' "--listen HOST:PORT binds TCP on loopback and serves"
stop_daemon
is "$STOPPED" 0 "SIGTERM: exit 0"

# systemd-socket-activate passes the socket as fd 3 with LISTEN_FDS=1.
sock=$HARNESS_DIR/run/activated.sock
# It passes on only the environment it is told to: the sanitizer settings.
run_daemon "$HARNESS_DIR/log/activated.log" systemd-socket-activate -l "$sock" \
	-E ASAN_OPTIONS -E UBSAN_OPTIONS "$LOYALTYD" -c "$STACK_CONF"
wait_for 10 test -S "$sock"
like "$(ask "$sock")" 'Status: 200' "systemd socket activation (LISTEN_FDS) serves"
like "$(cat "$HARNESS_DIR/log/activated.log")" '"event":"start"' \
	"the daemon started on the first connection"
stop_daemon
is "$STOPPED" 0 "SIGTERM: exit 0" ||
	diag "$(tail -n 20 "$HARNESS_DIR/log/activated.log")"

out=$("$LOYALTYD" -c "$STACK_CONF" </dev/null 2>&1)
is "$?" 1 "with no socket to take or bind, loyaltyd exits 1"
like "$out" 'no listening socket' "and says what to do"

out=$("$LOYALTYD" -c "$STACK_CONF" --listen 'nonsense' 2>&1)
is "$?" 1 "an unusable --listen exits 1"
like "$out" 'expected HOST:PORT' "and says why"

done_testing
