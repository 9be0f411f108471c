#!/bin/bash
# A SIGHUP with a broken configuration changes nothing: the master reports
# every error as FILE:LINE and reload_failed, keeps the running
# configuration and workers, and the service keeps answering. Once the file
# is fixed, the next SIGHUP applies it (2 workers become 3).
. "$(dirname "$0")/lib/harness.sh"
harness_up server.workers=2

# status_field EXPR: a Python expression over the /status document "s".
status_field() {
	local out
	out=$(stack_curl --max-time 5 "$(stack_url /status)") || return 1
	python3 -c 'import json, sys; s = json.loads(sys.argv[1]); print(eval(sys.argv[2]))' \
		"$out" "$1"
}

reload_failed_logged() {
	[ -n "$(log_lines reload_failed)" ]
}

# pool_is N GEN: exactly N workers, all of generation GEN, none from before.
pool_is() {
	local pids
	pids=$(worker_pids)
	[ "$(printf '%s\n' "$pids" | grep -c .)" -eq "$1" ] &&
		[ -z "$(comm -12 <(printf '%s\n' "$before" | sort) <(printf '%s\n' "$pids" | sort))" ] &&
		[ "$(status_field "(s['total'], sorted({w['generation'] for w in s['workers']}))")" = "($1, [$2])" ]
}

before=$(worker_pids | sort)
is "$(printf '%s\n' "$before" | grep -c .)" 2 "the pool starts with 2 workers"
gen=$(status_field "max(w['generation'] for w in s['workers'])")

# Two mistakes: a value out of range and a key that does not exist.
stack_write_config server.workers=0 server.no_such_key=1
bad_line=$(grep -n '^workers = 0$' "$STACK_CONF" | cut -d: -f1)
unknown_line=$(grep -n '^no_such_key = 1$' "$STACK_CONF" | cut -d: -f1)
# shellcheck disable=SC2016 # $1 and $2 belong to the inner shell
check "the rewritten config fails loyaltyd --check-config" \
	bash -c '! "$1" -c "$2" --check-config' _ "$LOYALTYD" "$STACK_CONF"

stack_daemon_signal HUP
check "the master logs reload_failed after the SIGHUP" wait_for 10 reload_failed_logged
sleep 1 # room for anything the master might (wrongly) do next

errors=$(log_lines config_error)
is "$(printf '%s\n' "$errors" | grep -c .)" 2 "one config_error line per mistake"
is "$(jq_get "$(sed -n 1p <<<"$errors")" msg)" \
	"$STACK_CONF:$bad_line: server.workers: 0 is out of range (1 to 64)" \
	"config_error: FILE:LINE of server.workers = 0 and why"
is "$(jq_get "$(sed -n 2p <<<"$errors")" msg)" \
	"$STACK_CONF:$unknown_line: unknown key server.no_such_key" \
	"config_error: FILE:LINE of the unknown key"
is "$(jq_get "$(sed -n 1p <<<"$errors")" level)" error "config_error is logged at level error"
line=$(log_lines reload_failed)
is "$(jq_get "$line" level)" error "reload_failed is logged at level error"
like "$(jq_get "$line" msg)" '2 error' "reload_failed counts the errors"
is "$(log_lines reload | grep -c .)" 0 "no reload event: nothing was applied"

is "$(worker_pids | sort)" "$before" "the workers keep their pids"
is "$(status_field "(s['total'], sorted({w['generation'] for w in s['workers']}))")" "(2, [$gen])" \
	"/status: still 2 workers of the same generation"
codes=''
for ((i = 0; i < 5; i++)); do
	http GET /health/live
	codes+="$STATUS "
done
is "$codes" "200 200 200 200 200 " "the service keeps answering: 5 x GET /health/live 200"

# Fixed, with a change: 3 workers.
stack_write_config server.workers=3
stack_daemon_signal HUP
check "after the fix and a SIGHUP: 3 new workers of the next generation" \
	wait_for 15 pool_is 3 "$((gen + 1))"
is "$(log_lines reload | grep -c .)" 1 "the master logs the reload"
like "$(jq_get "$(log_lines reload)" msg)" 'with 3 workers' "the reload names the new worker count"
is "$(log_lines reload_failed | grep -c .)" 1 "no second reload_failed"
http GET /health/live
is "$STATUS" 200 "GET /health/live answers 200 after the reload"

done_testing
