#!/bin/bash
# A connection a worker has accepted is served even when a reload or a
# stop signal arrives before its request does: signals reach a worker only
# while it waits for a connection, never inside libfcgi.
. "$(dirname "$0")/lib/harness.sh"
harness_up server.workers=1 server.max_requests=0

client() {
	python3 "$HARNESS_T/lib/fcgi_client.py" "$STACK_SOCKET" /health/live "$1" \
		>"$HARNESS_DIR/client.out" 2>&1 &
	CLIENT=$!
	wait_for 5 grep -q connected "$HARNESS_DIR/client.out"
}

old=$(worker_pids)
client 1.0
sleep 0.3
stack_daemon_signal HUP
wait "$CLIENT"
out=$(cat "$HARNESS_DIR/client.out")
like "$out" 'Status: 200' "a request sent after SIGHUP on an accepted connection is served"
like "$out" '"status":"ok"' "with its body"
wait_for 10 bash -c "! kill -0 $old 2>/dev/null"
is "$?" 0 "the old worker then leaves"
new=$(worker_pids)
[ -n "$new" ] && [ "$new" != "$old" ] && pass "a new worker took its place" ||
	fail "a new worker took its place" "old $old new $new"
top=$(ps -o %cpu= -p "$new" | tr -d ' ')
cmp_num "${top%.*}" -lt 50 "the new worker is not spinning (${top}% CPU)"

client 1.0
sleep 0.3
stack_daemon_signal TERM
wait "$CLIENT"
like "$(cat "$HARNESS_DIR/client.out")" 'Status: 200' \
	"a request sent after SIGTERM on an accepted connection is served"
wait_for 10 bash -c "! kill -0 $(master_pid) 2>/dev/null"
like "$(log_lines exit)" 'exiting with status 0' "and the daemon then exits 0"

done_testing
