#!/bin/bash
# server.slow_request_ms = 200: a request that takes longer is logged at
# level warn and marked "slow":1 with its real duration; a request under
# the threshold is logged at info without the mark.
. "$(dirname "$0")/lib/harness.sh"
harness_up server.workers=2 server.slow_request_ms=200

# request_line ID: the request log line of request ID (X-Request-Id).
request_line() {
	grep -F '"event":"request"' "$STACK_LOG_DIR/loyaltyd.log" |
		grep -F "\"request_id\":\"$1\""
}

logged() {
	[ -n "$(request_line "$1")" ]
}

http GET '/_test/sleep?ms=400'
is "$STATUS" 200 "GET /_test/sleep?ms=400 answers 200"
rid=$(header X-Request-Id)
check "its request line is logged" wait_for 5 logged "$rid"
line=$(request_line "$rid")
is "$(jq_get "$line" level)" warn "slow request: level warn"
is "$(jq_get "$line" slow)" 1 'slow request: "slow":1'
is "$(jq_get "$line" route)" /_test/sleep "slow request: the route"
is "$(jq_get "$line" status)" 200 "slow request: the status"
check "slow request: duration_ms >= 400" \
	python3 -c 'import sys; sys.exit(not float(sys.argv[1]) >= 400)' "$(jq_get "$line" duration_ms)"

for path in /health/live '/_test/sleep?ms=50'; do
	http GET "$path"
	is "$STATUS" 200 "GET $path answers 200"
	rid=$(header X-Request-Id)
	check "$path: its request line is logged" wait_for 5 logged "$rid"
	line=$(request_line "$rid")
	is "$(jq_get "$line" level)" info "$path (under 200 ms): level info"
	unlike "$line" '"slow"' "$path: no \"slow\" field"
	check "$path: duration_ms < 200" \
		python3 -c 'import sys; sys.exit(not float(sys.argv[1]) < 200)' "$(jq_get "$line" duration_ms)"
done

done_testing
