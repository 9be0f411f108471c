# shellcheck shell=bash
# scripts/lib/stack.sh — brings up a throwaway loyalty stack under one
# directory: PostgreSQL 15 on a private unix socket, loyaltyd under spawn-fcgi
# on a unix socket, nginx with the real site (nginx/loyalty.conf.in) and a
# fresh self-signed certificate. Sourced by scripts/run and by the black-box
# test harness (t/lib/). Needs bash and root (initdb runs as postgres, the app
# as an unprivileged user, nginx workers as www-data).
#
# Every function prints "stack: ..." on stderr and returns non-zero on
# failure; under set -e that stops the caller. Every process is started in the
# background by this shell and stopped by its PID, never by name.
#
#   stack_check_ports         fails if the HTTPS or HTTP port is taken
#   stack_init DIR            directory layout; must come first
#   stack_pg_start / stack_pg_stop
#   stack_psql [ARGS]         psql as the superuser on the throwaway cluster
#   stack_createdb [NAME]     database (default $STACK_DB_NAME), if missing
#   stack_write_config [section.key=value | -section.key ...]
#   stack_migrate             loyaltyctl migrate
#   stack_daemon_start / stack_daemon_stop / stack_daemon_signal SIG
#   stack_nginx_start / stack_nginx_stop / stack_nginx_reload
#   stack_stop_all            everything started, in reverse order
#   stack_url PATH            https URL of PATH on the stack's nginx
#   stack_curl ARGS           curl trusting the stack's certificate
#   stack_wait_http PATH [STATUS] [SECONDS]
#   stack_alive PID           the process runs (not a zombie)
#   stack_tail FILE...        the last lines of logs, on stderr
#
# Settings: the environment variables below, read when this file is sourced;
# the STACK_* variables may also be set by the caller between calls. The
# nginx limits are read by scripts/render-nginx from LOYALTY_NGINX_* (export
# them) at stack_nginx_start and stack_nginx_reload.
#
# nginx and loyaltyd are background jobs of the calling shell: a bare `wait`
# there waits for them too. Wait for the PIDs you started instead.

STACK_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
STACK_BUILD_DIR=${LOYALTY_BUILD_DIR:-$STACK_TOP/build}
LOYALTYD=${LOYALTYD:-$STACK_BUILD_DIR/loyaltyd}
LOYALTYCTL=${LOYALTYCTL:-$STACK_BUILD_DIR/loyaltyctl}
STACK_SQL_DIR=${LOYALTY_SQL_DIR:-$STACK_TOP/sql}
STACK_PG_BIN=${LOYALTY_PG_BIN:-/usr/lib/postgresql/15/bin}

STACK_HOST=127.0.0.1
STACK_HTTPS_PORT=${LOYALTY_HTTPS_PORT:-8443}
STACK_HTTP_PORT=${LOYALTY_HTTP_PORT:-8080}
# Only names the socket file (.s.PGSQL.N): listen_addresses is empty, so it
# cannot clash with a cluster on the same port as long as the socket dirs differ.
STACK_PG_PORT=${LOYALTY_PG_PORT:-5432}
STACK_DB_NAME=${LOYALTY_DB_NAME:-loyalty}
STACK_WORKERS=${LOYALTY_WORKERS:-2}
STACK_LOG_LEVEL=${LOYALTY_LOG_LEVEL:-info}
STACK_NGINX_WORKERS=${LOYALTY_NGINX_WORKERS:-2}
# Extra addresses for nginx to listen on (e.g. "[::1]"), space separated.
STACK_NGINX_EXTRA_LISTEN=${LOYALTY_NGINX_EXTRA_LISTEN:-}
# The application runs unprivileged; "root" keeps it root (coverage builds
# that write .gcda files into the build tree may want that).
STACK_APP_USER=${LOYALTY_APP_USER:-nobody}
STACK_APP_GROUP=${LOYALTY_APP_GROUP:-nogroup}
STACK_NGINX_USER=${LOYALTY_NGINX_USER:-www-data}
# Words put before loyaltyd, e.g. "valgrind --error-exitcode=99".
read -r -a STACK_DAEMON_WRAPPER <<<"${LOYALTY_DAEMON_WRAPPER:-}"
STACK_START_TIMEOUT=${LOYALTY_START_TIMEOUT:-30}
# A little above [server] shutdown_timeout (25 s): a graceful stop may use it.
STACK_STOP_TIMEOUT=${LOYALTY_STOP_TIMEOUT:-30}
# File descriptors children must not inherit (scripts/run's lock), space separated.
STACK_CLOSE_FDS=${STACK_CLOSE_FDS:-}

# Paths, set by stack_init.
STACK_DIR='' STACK_CONF='' STACK_SOCKET='' STACK_PG_DATA='' STACK_PG_SOCK=''
STACK_LOG_DIR='' STACK_CERT='' STACK_KEY=''
STACK_STARTED=()
STACK_PG_PID=''
STACK_DAEMON_PID=''
STACK_DAEMON_STATUS=''
STACK_NGINX_PID=''

_stack_fail() {
	printf 'stack: %s\n' "$*" >&2
	return 1
}

_stack_need_dir() {
	[ -n "$STACK_DIR" ] || _stack_fail "${FUNCNAME[1]}: call stack_init DIR first"
}

# _stack_alive PID: the process exists and is not a zombie.
_stack_alive() {
	local state
	[ -n "$1" ] && [ -r "/proc/$1/stat" ] || return 1
	state=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ "$state" != Z ]
}

# _stack_children PID: the PIDs whose parent is PID.
_stack_children() {
	ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' || true
}

# _stack_tail FILE...: the end of logs, to explain a failure.
_stack_tail() {
	local f
	for f; do
		[ -s "$f" ] || continue
		printf 'stack: --- last lines of %s ---\n' "$f" >&2
		tail -n 20 "$f" | sed 's/^/stack: | /' >&2
	done
}

# _stack_spawn LOG CMD...: starts CMD in the background, output appended to
# LOG, and sets _STACK_SPAWNED to its PID (CMD is exec'd, so the PID is the
# command's own). Without job control, background jobs share the caller's
# process group and a ^C on the terminal would reach them too: setsid gives
# them their own session (it does not fork, as the subshell is no group
# leader). With job control each job has its own group already.
_stack_spawn() {
	local log=$1
	shift
	(
		for fd in $STACK_CLOSE_FDS; do
			eval "exec $fd>&-"
		done
		if [[ $- == *m* ]]; then
			exec "$@" </dev/null >>"$log" 2>&1
		fi
		exec setsid "$@" </dev/null >>"$log" 2>&1
	) &
	_STACK_SPAWNED=$!
}

# _stack_kill NAME PID TIMEOUT [SIGNAL]: sends SIGNAL (TERM), waits up to
# TIMEOUT seconds, then SIGKILLs the process and its children. Leaves the
# exit status in _STACK_KILLED_STATUS when PID is this shell's child.
_stack_kill() {
	local name=$1 pid=$2 timeout=$3 sig=${4:-TERM} i kids
	_STACK_KILLED_STATUS=''
	[ -n "$pid" ] || return 0
	if _stack_alive "$pid"; then
		kill -s "$sig" "$pid" 2>/dev/null || true
		for ((i = 0; i < timeout * 10; i++)); do
			_stack_alive "$pid" || break
			sleep 0.1
		done
		if _stack_alive "$pid"; then
			kids=$(_stack_children "$pid")
			printf 'stack: %s (pid %s) still running after %ss: SIGKILL\n' \
				"$name" "$pid" "$timeout" >&2
			# shellcheck disable=SC2086 # one PID per word
			kill -s KILL "$pid" $kids 2>/dev/null || true
		fi
	fi
	if wait "$pid" 2>/dev/null; then
		_STACK_KILLED_STATUS=0
	else
		_STACK_KILLED_STATUS=$?
		# 127: not our child (started from another shell), status unknown.
		[ "$_STACK_KILLED_STATUS" != 127 ] || _STACK_KILLED_STATUS=''
	fi
	return 0
}

_stack_started() {
	STACK_STARTED+=("$1")
}

_stack_forget() {
	local i
	for i in "${!STACK_STARTED[@]}"; do
		[ "${STACK_STARTED[$i]}" != "$1" ] || unset 'STACK_STARTED[i]'
	done
	STACK_STARTED=("${STACK_STARTED[@]}")
}

# _stack_port_busy PORT: something already listens on PORT (any address).
_stack_port_busy() {
	if command -v ss >/dev/null; then
		[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
		return
	fi
	timeout 2 bash -c "exec 3<>/dev/tcp/$STACK_HOST/$1" 2>/dev/null
}

# stack_check_ports: fails when the HTTPS or HTTP port is taken, so a caller
# can refuse before starting anything.
stack_check_ports() {
	local p
	for p in "$STACK_HTTPS_PORT" "$STACK_HTTP_PORT"; do
		if _stack_port_busy "$p"; then
			_stack_fail "port $p is already in use (set LOYALTY_HTTPS_PORT / LOYALTY_HTTP_PORT to use others)"
			return 1
		fi
	done
}

# stack_init DIR: creates DIR and its layout. DIR may be a fresh mktemp -d.
#   DIR        0711 root: others may pass through, not list
#   DIR/pg     PostgreSQL data, postgres 0700
#   DIR/pg-sock  PostgreSQL's socket, postgres 0755
#   DIR/run    loyaltyd.sock (www-data 0600: only nginx's workers connect), pid files
#   DIR/log    every log; owned by the app user, which reopens its log there
#   DIR/tls    certificate and key, root 0700 (nginx reads them as root)
#   DIR/nginx  nginx.conf, the rendered site, temp files
stack_init() {
	local dir=${1:-}
	[ -n "$dir" ] || { _stack_fail "stack_init: no directory given"; return 1; }
	[ "$(id -u)" = 0 ] || { _stack_fail "must run as root (initdb runs as postgres, nginx as www-data)"; return 1; }
	case $dir in
	/*) ;;
	*) dir=$(pwd)/$dir ;;
	esac
	case $dir in
	*[[:space:]\;\{\}\"\'\$\\]*)
		_stack_fail "stack_init: unsafe characters in $dir"
		return 1
		;;
	esac
	local u
	for u in postgres "$STACK_NGINX_USER"; do
		id -u "$u" >/dev/null 2>&1 || { _stack_fail "user $u does not exist (scripts/deps --run installs it)"; return 1; }
	done
	if [ "$STACK_APP_USER" != root ] && ! id -u "$STACK_APP_USER" >/dev/null 2>&1; then
		_stack_fail "app user $STACK_APP_USER does not exist"
		return 1
	fi
	if ! { mkdir -p "$dir" &&
		mkdir -p "$dir"/pg "$dir"/pg-sock "$dir"/run "$dir"/log "$dir"/tls "$dir"/nginx &&
		chmod 0711 "$dir" &&
		chown postgres:postgres "$dir"/pg "$dir"/pg-sock &&
		chmod 0700 "$dir"/pg "$dir"/tls &&
		chmod 0755 "$dir"/pg-sock "$dir"/run "$dir"/log "$dir"/nginx; }; then
		_stack_fail "stack_init: cannot lay out $dir"
		return 1
	fi
	# Every directory above DIR must be passable by postgres, www-data and
	# the app user.
	local up=$dir
	while up=$(dirname "$up") && [ "$up" != / ]; do
		if ! runuser -u "$STACK_NGINX_USER" -- test -x "$up" 2>/dev/null; then
			_stack_fail "stack_init: $up is not searchable by $STACK_NGINX_USER; choose a directory under /tmp"
			return 1
		fi
	done
	if [ "$STACK_APP_USER" != root ]; then
		chown "$STACK_APP_USER:$STACK_APP_GROUP" "$dir"/log || return 1
	fi
	STACK_DIR=$dir
	STACK_CONF=$dir/loyalty.conf
	STACK_SOCKET=$dir/run/loyaltyd.sock
	STACK_PG_DATA=$dir/pg
	STACK_PG_SOCK=$dir/pg-sock
	STACK_LOG_DIR=$dir/log
	STACK_CERT=$dir/tls/cert.pem
	STACK_KEY=$dir/tls/key.pem
	STACK_STARTED=()
	STACK_PG_PID='' STACK_DAEMON_PID='' STACK_NGINX_PID='' STACK_DAEMON_STATUS=''
}

# --- PostgreSQL ---------------------------------------------------------

_stack_as_postgres() {
	# cd: the postgres user cannot read root's working directory.
	(cd "$STACK_DIR" && runuser -u postgres -- "$@")
}

# stack_pg_start: initdb (first time) and start the cluster, reachable only
# through DIR/pg-sock with trust authentication.
stack_pg_start() {
	_stack_need_dir || return 1
	[ -x "$STACK_PG_BIN/pg_ctl" ] || { _stack_fail "no $STACK_PG_BIN/pg_ctl (install postgresql-15: scripts/deps --run)"; return 1; }
	local log=$STACK_LOG_DIR/postgresql.log
	if [ ! -f "$STACK_PG_DATA/PG_VERSION" ]; then
		if ! _stack_as_postgres "$STACK_PG_BIN/initdb" -D "$STACK_PG_DATA" \
			-U postgres -E UTF8 --locale=C.UTF-8 \
			--auth-local=trust --auth-host=reject --no-sync \
			>"$STACK_LOG_DIR/initdb.log" 2>&1; then
			_stack_tail "$STACK_LOG_DIR/initdb.log"
			_stack_fail "initdb failed in $STACK_PG_DATA"
			return 1
		fi
		# Durability is worthless on a throwaway cluster; speed is not.
		cat >>"$STACK_PG_DATA/postgresql.conf" <<EOF

# --- scripts/lib/stack.sh: throwaway cluster ---
listen_addresses = ''
unix_socket_directories = '$STACK_PG_SOCK'
port = $STACK_PG_PORT
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
EOF
	fi
	touch "$log" && chown postgres:postgres "$log" || return 1
	# pg_ctl puts the postmaster in a session of its own.
	if ! (for fd in $STACK_CLOSE_FDS; do eval "exec $fd>&-"; done
		_stack_as_postgres "$STACK_PG_BIN/pg_ctl" -D "$STACK_PG_DATA" -l "$log" \
			-w -t "$STACK_START_TIMEOUT" start) >"$STACK_LOG_DIR/pg_ctl.log" 2>&1; then
		_stack_tail "$STACK_LOG_DIR/pg_ctl.log" "$log"
		_stack_fail "PostgreSQL did not start (socket dir $STACK_PG_SOCK)"
		return 1
	fi
	STACK_PG_PID=$(head -n 1 "$STACK_PG_DATA/postmaster.pid")
	_stack_started pg
}

# stack_pg_stop: fast shutdown. Also stops a postmaster of this stack that
# was not recorded (a signal arrived while pg_ctl was starting it).
stack_pg_stop() {
	_stack_need_dir || return 1
	if [ -z "$STACK_PG_PID" ] && [ -f "$STACK_PG_DATA/postmaster.pid" ]; then
		STACK_PG_PID=$(head -n 1 "$STACK_PG_DATA/postmaster.pid")
	fi
	[ -n "$STACK_PG_PID" ] || return 0
	if _stack_alive "$STACK_PG_PID" &&
		! _stack_as_postgres "$STACK_PG_BIN/pg_ctl" -D "$STACK_PG_DATA" \
			-m fast -w -t "$STACK_STOP_TIMEOUT" stop >>"$STACK_LOG_DIR/pg_ctl.log" 2>&1; then
		printf 'stack: pg_ctl stop failed\n' >&2
		_stack_kill postgres "$STACK_PG_PID" 5 QUIT
	fi
	STACK_PG_PID=''
	_stack_forget pg
}

# stack_psql [ARGS]: psql as postgres on the throwaway cluster; the database
# is $STACK_DB_NAME unless ARGS name another (-d).
stack_psql() {
	_stack_need_dir || return 1
	"$STACK_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$STACK_PG_SOCK" \
		-p "$STACK_PG_PORT" -U postgres -d "$STACK_DB_NAME" "$@"
}

# stack_createdb [NAME]: creates the database unless it exists.
stack_createdb() {
	_stack_need_dir || return 1
	local name=${1:-$STACK_DB_NAME} found
	found=$(printf '%s\n' "SELECT 1 FROM pg_database WHERE datname = :'name';" |
		stack_psql -d postgres -At -v name="$name") ||
		{ _stack_fail "cannot query databases (is PostgreSQL started?)"; return 1; }
	[ "$found" != 1 ] || return 0
	"$STACK_PG_BIN/createdb" -h "$STACK_PG_SOCK" -p "$STACK_PG_PORT" -U postgres \
		-E UTF8 "$name" || { _stack_fail "createdb $name failed"; return 1; }
}

# --- loyaltyd -----------------------------------------------------------

# stack_write_config [section.key=value ...]: writes DIR/loyalty.conf for the
# stack. An argument replaces or adds a key ("server.workers=8",
# "log.level=debug"); "-section.key" drops one.
stack_write_config() {
	_stack_need_dir || return 1
	# The stack's own secrets (database password, token and sealing
	# keys), made once, readable by the app's group like the packaged one.
	if [ ! -f "$STACK_DIR/secrets.conf" ]; then
		[ -x "$LOYALTYCTL" ] || { _stack_fail "no $LOYALTYCTL (run scripts/build)"; return 1; }
		"$LOYALTYCTL" gen-secrets --output "$STACK_DIR/secrets.conf" \
			--group "$STACK_APP_GROUP" >/dev/null ||
			{ _stack_fail "loyaltyctl gen-secrets failed"; return 1; }
	fi
	local -a keys=(
		"server.secrets_file=$STACK_DIR/secrets.conf"
		"server.workers=$STACK_WORKERS"
		"database.host=$STACK_PG_SOCK"
		"database.port=$STACK_PG_PORT"
		"database.name=$STACK_DB_NAME"
		"database.user=loyalty"
		"database.admin_user=postgres"
		"log.file=$STACK_LOG_DIR/loyaltyd.log"
		"log.level=$STACK_LOG_LEVEL"
	)
	local arg k i found drop
	for arg; do
		drop=''
		case $arg in
		-*) drop=1 arg=${arg#-} k=$arg ;;
		*=*) k=${arg%%=*} ;;
		*) _stack_fail "stack_write_config: want section.key=value, got: $arg"; return 1 ;;
		esac
		[[ $k =~ ^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$ ]] ||
			{ _stack_fail "stack_write_config: bad key: $k"; return 1; }
		[[ $arg != *$'\n'* ]] || { _stack_fail "stack_write_config: newline in $k"; return 1; }
		found=''
		for i in "${!keys[@]}"; do
			[ "${keys[$i]%%=*}" = "$k" ] || continue
			found=1
			if [ -n "$drop" ]; then unset 'keys[i]'; else keys[i]=$arg; fi
		done
		[ -n "$found" ] || [ -n "$drop" ] || keys+=("$arg")
	done
	local tmp=$STACK_CONF.tmp sections=() s kv
	for kv in "${keys[@]}"; do
		s=${kv%%.*}
		[[ " ${sections[*]} " == *" $s "* ]] || sections+=("$s")
	done
	{
		printf '# Written by scripts/lib/stack.sh for the stack in %s.\n' "$STACK_DIR"
		for s in "${sections[@]}"; do
			printf '\n[%s]\n' "$s"
			for kv in "${keys[@]}"; do
				[ "${kv%%.*}" = "$s" ] || continue
				kv=${kv#*.}
				printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"
			done
		done
	} >"$tmp" || { _stack_fail "cannot write $tmp"; return 1; }
	# Readable by the app's group only, like the packaged config.
	if [ "$STACK_APP_USER" = root ]; then
		chmod 0600 "$tmp"
	else
		chown "root:$STACK_APP_GROUP" "$tmp" && chmod 0640 "$tmp"
	fi || return 1
	mv -f "$tmp" "$STACK_CONF"
	# Whoever opens the log first (loyaltyctl runs as root), the app must be
	# able to append to it and to create it again after a rotation.
	local logf
	logf=$(sed -n 's/^file = //p' "$STACK_CONF" | head -n 1)
	if [ "$STACK_APP_USER" != root ] && [[ $logf == /* ]]; then
		touch "$logf" && chown "$STACK_APP_USER:$STACK_APP_GROUP" "$logf" || return 1
	fi
}

# stack_migrate: applies sql/ to the stack's database as the superuser.
stack_migrate() {
	_stack_need_dir || return 1
	[ -x "$LOYALTYCTL" ] || { _stack_fail "no $LOYALTYCTL (run scripts/build)"; return 1; }
	[ -f "$STACK_CONF" ] || { _stack_fail "no $STACK_CONF (call stack_write_config)"; return 1; }
	if ! "$LOYALTYCTL" -c "$STACK_CONF" --sql-dir "$STACK_SQL_DIR" migrate \
		>"$STACK_LOG_DIR/migrate.log" 2>&1; then
		_stack_tail "$STACK_LOG_DIR/migrate.log"
		_stack_fail "loyaltyctl migrate failed"
		return 1
	fi
}

_stack_as_app() {
	if [ "$STACK_APP_USER" = root ]; then
		"$@"
	else
		(cd "$STACK_DIR" && runuser -u "$STACK_APP_USER" -g "$STACK_APP_GROUP" -- "$@")
	fi
}

# _stack_fcgi_probe PATH: one GET straight to the FastCGI socket, without
# nginx (cgi-fcgi from libfcgi-bin). Succeeds on a "Status: 200" answer.
_stack_fcgi_probe() {
	env -i REQUEST_METHOD=GET REQUEST_URI="$1" SCRIPT_NAME="$1" QUERY_STRING= \
		SERVER_PROTOCOL=HTTP/1.1 GATEWAY_INTERFACE=CGI/1.1 REMOTE_ADDR=127.0.0.1 \
		REQUEST_ID=stack-probe \
		timeout 5 cgi-fcgi -bind -connect "$STACK_SOCKET" 2>/dev/null |
		head -n 20 | grep -qiE '^Status: *200'
}

# stack_daemon_start: loyaltyd under spawn-fcgi on DIR/run/loyaltyd.sock.
# Waits until /health/live answers 200 (through nginx when it runs, else
# straight to the socket with cgi-fcgi, else until the socket exists).
# Sets STACK_DAEMON_PID (also in DIR/run/loyaltyd.pid).
stack_daemon_start() {
	_stack_need_dir || return 1
	[ -z "$STACK_DAEMON_PID" ] || ! _stack_alive "$STACK_DAEMON_PID" ||
		{ _stack_fail "loyaltyd already runs (pid $STACK_DAEMON_PID)"; return 1; }
	[ -x "$LOYALTYD" ] || { _stack_fail "no $LOYALTYD (run scripts/build)"; return 1; }
	[ -f "$STACK_CONF" ] || { _stack_fail "no $STACK_CONF (call stack_write_config)"; return 1; }
	command -v spawn-fcgi >/dev/null || { _stack_fail "spawn-fcgi missing (scripts/deps --run)"; return 1; }
	local out=$STACK_LOG_DIR/loyaltyd.out
	if ! _stack_as_app "$LOYALTYD" -c "$STACK_CONF" --check-config >>"$out" 2>&1; then
		_stack_tail "$out"
		_stack_fail "loyaltyd --check-config rejected $STACK_CONF"
		return 1
	fi
	# The socket belongs to nginx's worker user, mode 0600: nobody else on
	# the host can talk FastCGI to the pool. loyaltyd itself never opens the
	# file: it inherits the listening descriptor on fd 0.
	local -a cmd=(spawn-fcgi -n -s "$STACK_SOCKET" -M 0600
		-U "$STACK_NGINX_USER" -G "$(id -gn "$STACK_NGINX_USER")")
	[ "$STACK_APP_USER" = root ] || cmd+=(-u "$STACK_APP_USER" -g "$STACK_APP_GROUP")
	# spawn-fcgi execs without a PATH search: the first word needs a path.
	local -a app=("${STACK_DAEMON_WRAPPER[@]}" "$LOYALTYD" -c "$STACK_CONF")
	if [[ ${app[0]} != */* ]]; then
		app[0]=$(command -v "${app[0]}") ||
			{ _stack_fail "not found: ${STACK_DAEMON_WRAPPER[0]}"; return 1; }
	fi
	cmd+=(-d "$STACK_DIR" -- "${app[@]}")
	_stack_spawn "$out" "${cmd[@]}"
	STACK_DAEMON_PID=$_STACK_SPAWNED
	STACK_DAEMON_STATUS=''
	echo "$STACK_DAEMON_PID" >"$STACK_DIR/run/loyaltyd.pid"
	_stack_started daemon
	local i ready=''
	for ((i = 0; i < STACK_START_TIMEOUT * 5; i++)); do
		if ! _stack_alive "$STACK_DAEMON_PID"; then
			_stack_kill loyaltyd "$STACK_DAEMON_PID" 0
			STACK_DAEMON_STATUS=$_STACK_KILLED_STATUS
			_stack_tail "$out" "$STACK_LOG_DIR/loyaltyd.log"
			_stack_fail "loyaltyd exited while starting (status ${STACK_DAEMON_STATUS:-unknown})"
			STACK_DAEMON_PID=''
			_stack_forget daemon
			return 1
		fi
		if [ -S "$STACK_SOCKET" ]; then
			if [ -n "$STACK_NGINX_PID" ]; then
				[ "$(stack_curl -o /dev/null -w '%{http_code}' --max-time 5 \
					"$(stack_url /health/live)" 2>/dev/null)" != 200 ] || ready=1
			elif command -v cgi-fcgi >/dev/null; then
				! _stack_fcgi_probe /health/live || ready=1
			else
				ready=1
			fi
		fi
		[ -z "$ready" ] || return 0
		sleep 0.2
	done
	_stack_tail "$out" "$STACK_LOG_DIR/loyaltyd.log"
	_stack_fail "loyaltyd (pid $STACK_DAEMON_PID) not live after ${STACK_START_TIMEOUT}s"
	return 1
}

# stack_daemon_stop [SECONDS]: SIGTERM (graceful), SIGKILL after SECONDS
# ($STACK_STOP_TIMEOUT). The exit status lands in STACK_DAEMON_STATUS.
stack_daemon_stop() {
	[ -n "$STACK_DAEMON_PID" ] || return 0
	_stack_kill loyaltyd "$STACK_DAEMON_PID" "${1:-$STACK_STOP_TIMEOUT}"
	STACK_DAEMON_STATUS=$_STACK_KILLED_STATUS
	STACK_DAEMON_PID=''
	rm -f "$STACK_DIR/run/loyaltyd.pid"
	_stack_forget daemon
}

# stack_daemon_signal SIG: sends SIG (HUP, USR1, ...) to the master.
stack_daemon_signal() {
	if [ -z "$STACK_DAEMON_PID" ] || ! _stack_alive "$STACK_DAEMON_PID"; then
		_stack_fail "loyaltyd is not running"
		return 1
	fi
	kill -s "$1" "$STACK_DAEMON_PID"
}

# --- nginx --------------------------------------------------------------

# _stack_nginx_render: self-signed certificate (first time), the site
# rendered by scripts/render-nginx (limits from LOYALTY_NGINX_*, see there),
# a minimal nginx.conf; checked with nginx -t.
_stack_nginx_render() {
	if [ ! -s "$STACK_CERT" ]; then
		if ! (umask 077 && openssl req -x509 -newkey ec \
			-pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 \
			-subj /CN=localhost \
			-addext 'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:0:0:0:0:0:0:0:1' \
			-keyout "$STACK_KEY" -out "$STACK_CERT") >"$STACK_LOG_DIR/openssl.log" 2>&1; then
			_stack_tail "$STACK_LOG_DIR/openssl.log"
			_stack_fail "could not make a self-signed certificate"
			return 1
		fi
		chmod 0644 "$STACK_CERT"
	fi
	local -a listen=(--listen "$STACK_HOST")
	local a
	for a in $STACK_NGINX_EXTRA_LISTEN; do
		listen+=(--listen "$a")
	done
	local n=$STACK_DIR/nginx
	"$STACK_TOP/scripts/render-nginx" --socket "$STACK_SOCKET" \
		--https-port "$STACK_HTTPS_PORT" --http-port "$STACK_HTTP_PORT" \
		--cert "$STACK_CERT" --key "$STACK_KEY" "${listen[@]}" \
		--server-name localhost \
		--access-log "$STACK_LOG_DIR/nginx-access.log" \
		--out "$n/loyalty.conf" --limits-out "$n/loyalty-limits.conf" ||
		{ _stack_fail "scripts/render-nginx failed"; return 1; }
	cat >"$n/nginx.conf" <<EOF
# Written by scripts/lib/stack.sh: a private nginx for the stack in $STACK_DIR.
user $STACK_NGINX_USER;
worker_processes $STACK_NGINX_WORKERS;
pid $STACK_DIR/run/nginx.pid;
error_log $STACK_LOG_DIR/nginx-error.log warn;

events {
	worker_connections 1024;
}

http {
	default_type application/octet-stream;
	client_body_temp_path $n/client_body;
	fastcgi_temp_path $n/fastcgi;
	proxy_temp_path $n/proxy;
	uwsgi_temp_path $n/uwsgi;
	scgi_temp_path $n/scgi;

	include $n/loyalty.conf;
}
EOF
	_STACK_NGINX_CMD=(nginx -p "$n/" -c "$n/nginx.conf" -e "$STACK_LOG_DIR/nginx-error.log")
	if ! "${_STACK_NGINX_CMD[@]}" -t >"$STACK_LOG_DIR/nginx-t.log" 2>&1; then
		_stack_tail "$STACK_LOG_DIR/nginx-t.log"
		_stack_fail "nginx -t rejected $n/nginx.conf"
		return 1
	fi
}

# stack_nginx_start: nginx with the real site on https://127.0.0.1:PORT
# ($STACK_HTTPS_PORT) and the redirect on $STACK_HTTP_PORT, as a background
# job of this shell. Sets STACK_NGINX_PID.
stack_nginx_start() {
	_stack_need_dir || return 1
	if [ -n "$STACK_NGINX_PID" ] && _stack_alive "$STACK_NGINX_PID"; then
		_stack_fail "nginx already runs (pid $STACK_NGINX_PID)"
		return 1
	fi
	command -v nginx >/dev/null || { _stack_fail "nginx missing (scripts/deps --run)"; return 1; }
	stack_check_ports || return 1
	_stack_nginx_render || return 1
	_stack_spawn "$STACK_LOG_DIR/nginx.out" "${_STACK_NGINX_CMD[@]}" -g 'daemon off;'
	STACK_NGINX_PID=$_STACK_SPAWNED
	_stack_started nginx
	# Up when the HTTPS port answers anything (502 before loyaltyd is fine).
	local i code
	for ((i = 0; i < STACK_START_TIMEOUT * 5; i++)); do
		if ! _stack_alive "$STACK_NGINX_PID"; then
			_stack_kill nginx "$STACK_NGINX_PID" 0
			STACK_NGINX_PID=''
			_stack_forget nginx
			_stack_tail "$STACK_LOG_DIR/nginx.out" "$STACK_LOG_DIR/nginx-error.log"
			_stack_fail "nginx exited while starting"
			return 1
		fi
		code=$(stack_curl -o /dev/null -w '%{http_code}' --max-time 2 \
			"$(stack_url /health/live)" 2>/dev/null) || true
		[ "${code:-000}" = 000 ] || return 0
		sleep 0.2
	done
	_stack_tail "$STACK_LOG_DIR/nginx-error.log"
	_stack_fail "nginx (pid $STACK_NGINX_PID) not answering on port $STACK_HTTPS_PORT"
	return 1
}

# stack_nginx_reload: renders the site again (e.g. after changing the
# LOYALTY_NGINX_* limits) and has nginx re-read it (SIGHUP). Returns once the
# signal is sent; old workers finish their requests in the background.
stack_nginx_reload() {
	if [ -z "$STACK_NGINX_PID" ] || ! _stack_alive "$STACK_NGINX_PID"; then
		_stack_fail "nginx is not running"
		return 1
	fi
	_stack_nginx_render || return 1
	kill -s HUP "$STACK_NGINX_PID"
}

stack_nginx_stop() {
	[ -n "$STACK_NGINX_PID" ] || return 0
	# SIGQUIT: graceful (finish the requests in flight), SIGKILL after the timeout.
	_stack_kill nginx "$STACK_NGINX_PID" "$STACK_STOP_TIMEOUT" QUIT
	STACK_NGINX_PID=''
	_stack_forget nginx
}

# --- all ----------------------------------------------------------------

# stack_stop_all: stops what this shell started, newest first; goes on past
# a failure and reports it at the end.
stack_stop_all() {
	local rc=0 i
	for ((i = ${#STACK_STARTED[@]} - 1; i >= 0; i--)); do
		case ${STACK_STARTED[$i]} in
		daemon) stack_daemon_stop "$STACK_STOP_TIMEOUT" || rc=1 ;;
		nginx) stack_nginx_stop || rc=1 ;;
		pg) stack_pg_stop || rc=1 ;;
		esac
	done
	STACK_STARTED=()
	# A postmaster that pg_ctl was still starting when a signal came.
	if [ -n "$STACK_DIR" ] && [ -f "$STACK_PG_DATA/postmaster.pid" ]; then
		stack_pg_stop || rc=1
	fi
	return "$rc"
}

# stack_url PATH: https://127.0.0.1:PORT/PATH
stack_url() {
	printf 'https://%s:%s%s\n' "$STACK_HOST" "$STACK_HTTPS_PORT" "${1:-/}"
}

# stack_curl ARGS: curl that verifies the stack's certificate (made for
# localhost and 127.0.0.1), silent but for errors.
stack_curl() {
	curl -sS --cacert "$STACK_CERT" "$@"
}

# stack_wait_http PATH [STATUS] [SECONDS]: until GET PATH answers STATUS (200).
stack_wait_http() {
	local path=$1 want=${2:-200} secs=${3:-$STACK_START_TIMEOUT} i code=''
	for ((i = 0; i < secs * 5; i++)); do
		code=$(stack_curl -o /dev/null -w '%{http_code}' --max-time 5 \
			"$(stack_url "$path")" 2>/dev/null) || true
		[ "$code" != "$want" ] || return 0
		sleep 0.2
	done
	_stack_fail "GET $path: wanted $want, last answer ${code:-none} after ${secs}s"
	return 1
}

# stack_alive PID: the process exists and is not a zombie.
stack_alive() {
	_stack_alive "$1"
}

# stack_tail FILE...: the last 20 lines of each non-empty FILE, on stderr.
stack_tail() {
	_stack_tail "$@"
}
