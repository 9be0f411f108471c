#!/bin/bash
# SIGTERM is a graceful stop: a request in flight (3 s of /_test/sleep)
# is answered in full, then the workers and the master exit, status 0,
# without waiting for shutdown_timeout; the log says stop, then exit.
. "$(dirname "$0")/lib/harness.sh"
harness_up server.workers=2

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() {
	[ -r "/proc/$1/stat" ] && ! grep -qE '^[0-9]+ \(.*\) Z ' "/proc/$1/stat" 2>/dev/null
}

gone() {
	! alive "$1"
}

sleeping() {
	stack_curl --max-time 5 "$(stack_url /status)" | grep -q '"route":"/_test/sleep"'
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

master=$(master_pid)
workers=$(worker_pids)

stack_curl -s -o "$HARNESS_DIR/slow.body" -w '%{http_code}' --max-time 15 \
	"$(stack_url '/_test/sleep?ms=3000')" >"$HARNESS_DIR/slow.code" 2>/dev/null &
slow_curl=$!
check "the 3 s request is in flight (/status shows it)" wait_for 5 sleeping

t0=$(now_ms)
stack_daemon_signal TERM
wait "$slow_curl"
is "$(cat "$HARNESS_DIR/slow.code")" 200 "the request in flight is answered 200"
is "$(jq_get "$(cat "$HARNESS_DIR/slow.body")" slept_ms)" 3000 'with its whole body: {"slept_ms":3000}'

check "the master exits" wait_for 10 gone "$master"
elapsed=$(($(now_ms) - t0))
cmp_num "$elapsed" -lt 8000 "it exits within 8 s of SIGTERM: when the request is done, not after shutdown_timeout"
left=''
for pid in $workers; do
	alive "$pid" && left+="$pid "
done
is "$left" '' "no worker outlives the master"

stack_daemon_stop 1
is "$STACK_DAEMON_STATUS" 0 "the master's exit status is 0"

log=$STACK_LOG_DIR/loyaltyd.log
stop_at=$(grep -n '"event":"stop"' "$log" | cut -d: -f1 | head -n 1)
sleep_at=$(grep -n '"event":"request"' "$log" | grep -F '"route":"/_test/sleep"' | cut -d: -f1 | head -n 1)
exit_at=$(grep -n '"event":"exit"' "$log" | cut -d: -f1 | head -n 1)
like "$stop_at" '^[0-9]+$' "the log has a stop event"
like "$exit_at" '^[0-9]+$' "the log has an exit event"
cmp_num "${sleep_at:-0}" -gt "${stop_at:-0}" "the sleeping request is logged after stop"
cmp_num "${exit_at:-0}" -gt "${sleep_at:-999999}" "exit is logged after the request finished"
is "$(jq_get "$(sed -n "${sleep_at:-1}p" "$log")" status)" 200 "the request line says status 200"
is "$(jq_get "$(log_lines exit)" msg)" "loyaltyd master exiting with status 0" "exit: status 0"
is "$(log_lines worker_exit | grep -vc '"reason":"none"')" 0 \
	"workers leaving on stop are not counted as restarts (reason none)"
is "$(log_lines stop_timeout | grep -c .)" 0 "no worker had to be killed (no stop_timeout)"

done_testing
