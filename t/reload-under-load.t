#!/bin/bash
# SIGHUP under load loses nothing: while wrk keeps 12 connections busy for
# 22 s (8 on /health/live, 4 on /health/ready, which also queries the
# database), the master is told to reload six times. Every response is a
# 2xx, no connection fails, and afterwards the pool is made of new workers
# of the latest generation.
. "$(dirname "$0")/lib/harness.sh"

# nginx's per-address limits would answer 429 to a load test from one
# address: raise them (scripts/render-nginx reads these).
export LOYALTY_NGINX_REQ_RATE=100000r/s LOYALTY_NGINX_REQ_BURST=100000
export LOYALTY_NGINX_CONN_LIMIT=1000
WORKERS=4
RELOADS=6
# max_requests = 0: every worker that leaves is one a reload retired.
harness_up server.workers=$WORKERS server.max_requests=0

# status_field EXPR: a Python expression over the /status document "s".
status_field() {
	local out
	out=$(stack_curl --max-time 5 "$(stack_url /status)") || return 1
	python3 -c 'import json, sys; s = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' \
		"$out" "$1"
}

# settled GEN: exactly $WORKERS workers, all of generation GEN.
settled() {
	[ "$(worker_pids | grep -c .)" -eq "$WORKERS" ] &&
		[ "$(status_field "sorted({w['generation'] for w in s['workers']})")" = "[$1]" ] &&
		[ "$(status_field "s['total']")" = "$WORKERS" ]
}

before=$(worker_pids | sort)
is "$(printf '%s\n' "$before" | grep -c .)" "$WORKERS" "the pool starts with $WORKERS workers"
gen_before=$(status_field "max(w['generation'] for w in s['workers'])")
like "$gen_before" '^[0-9]+$' "/status reports the workers' generation"

wrk -t2 -c8 -d22s --latency "$(stack_url /health/live)" >"$HARNESS_DIR/wrk-live.out" 2>&1 &
wrk_live=$!
wrk -t1 -c4 -d22s --latency "$(stack_url /health/ready)" >"$HARNESS_DIR/wrk-ready.out" 2>&1 &
wrk_ready=$!

hups=0
for ((i = 0; i < RELOADS; i++)); do
	sleep 3
	stack_daemon_signal HUP && hups=$((hups + 1))
done
is "$hups" "$RELOADS" "SIGHUP sent $RELOADS times, every 3 s, during the load"

wait "$wrk_live"
rc_live=$?
wait "$wrk_ready"
rc_ready=$?

# wrk_verdict PATH RC FILE: the assertions on one wrk run.
wrk_verdict() {
	local out n
	out=$(cat "$3")
	diag "wrk $1: $(grep -E 'requests in|Requests/sec|99%' <<<"$out" | tr -s ' ' | tr '\n' ';')"
	is "$2" 0 "wrk on $1 ran to the end"
	n=$(sed -nE 's/^ *([0-9]+) requests in .*/\1/p' <<<"$out")
	cmp_num "${n:-0}" -ge 1000 "$1: wrk completed at least 1000 requests"
	unlike "$out" 'Non-2xx or 3xx responses' "$1: no non-2xx response"
	unlike "$out" 'Socket errors' "$1: no socket error (connect, read, write, timeout)"
}
wrk_verdict /health/live "$rc_live" "$HARNESS_DIR/wrk-live.out"
wrk_verdict /health/ready "$rc_ready" "$HARNESS_DIR/wrk-ready.out"

# nginx's own account of the same requests. 499 is nginx's note that the
# client hung up first: wrk does so with its requests in flight when its
# time is up (and reports real failures itself, above).
bad=$(grep -vE '"status":(200|499),' "$STACK_LOG_DIR/nginx-access.log")
is "$(printf '%s' "$bad" | grep -c .)" 0 "nginx's access log shows no status other than 200 (or 499)"
[ -z "$bad" ] || diag "$(head -n 5 <<<"$bad")"

check "the pool settles at $WORKERS workers of generation $((gen_before + RELOADS))" \
	wait_for 15 settled "$((gen_before + RELOADS))"
after=$(worker_pids | sort)
is "$(comm -12 <(printf '%s\n' "$before") <(printf '%s\n' "$after") | grep -c .)" 0 \
	"no worker pid from before the reloads is still serving"
is "$(log_lines reload | grep -c .)" "$RELOADS" "the master logs one reload event per SIGHUP"
is "$(log_lines reload_failed | grep -c .)" 0 "no reload failed"
is "$(log_lines worker_exit | grep -vc '"reason":"reload"')" 0 \
	"every worker that exited was retired by a reload (none crashed or timed out)"
cmp_num "$(log_lines worker_exit | grep -c .)" -ge "$((WORKERS * RELOADS))" \
	"each reload retired the whole pool ($WORKERS workers)"
is "$(log_lines worker_kill | grep -c .)" 0 \
	"every retired worker left by itself (none killed after shutdown_timeout)"

done_testing
