#!/bin/bash
# Log rotation: after loyaltyd.log is moved aside, lines keep going to the
# moved file until SIGUSR1; then the master and every worker write to a new
# loyaltyd.log and nothing more to the old one. Every line of both files is
# one JSON object, and no request body ever reaches the log.
. "$(dirname "$0")/lib/harness.sh"
harness_up server.workers=2

log=$STACK_LOG_DIR/loyaltyd.log
old=$STACK_LOG_DIR/loyaltyd.log.1

# get PATH: GET PATH; rid is the X-Request-Id nginx gave it.
get() {
	http GET "$1"
	rid=$(header X-Request-Id)
}

# logged_in FILE ID: FILE has the request line of request ID.
logged_in() {
	grep -F '"event":"request"' "$1" 2>/dev/null | grep -qF "\"request_id\":\"$2\""
}

reopened() {
	grep -qF '"event":"reopen"' "$log" 2>/dev/null
}

# valid_json FILE: every line parses as a JSON object.
valid_json() {
	python3 -c '
import json, sys
n = 0
for i, line in enumerate(open(sys.argv[1]), 1):
    try:
        assert isinstance(json.loads(line), dict)
    except Exception:
        print("line %d: %r" % (i, line[:200]))
        sys.exit(1)
    n += 1
sys.exit(0 if n else 1)' "$1"
}

get /health/live
check "before the rotation the request is in loyaltyd.log" wait_for 5 logged_in "$log" "$rid"

mv "$log" "$old"
get /health/live
check "moved aside, the file keeps receiving lines until SIGUSR1" wait_for 5 logged_in "$old" "$rid"
check "and no new loyaltyd.log appears by itself" test ! -e "$log"

stack_daemon_signal USR1
check "after SIGUSR1 the master writes its reopen event to a new loyaltyd.log" wait_for 5 reopened
sleep 0.3 # the workers reopen as their accept is interrupted
old_size=$(stat -c %s "$old")

# Requests until each worker has answered at least one (the body of
# /health/live names the worker's pid), at least 6, at most 30.
missing='' stray='' served=''
for ((i = 0; i < 30; i++)); do
	get /health/live
	served+="$(jq_get "$BODY" pid)"$'\n'
	wait_for 5 logged_in "$log" "$rid" || missing+="$rid "
	! logged_in "$old" "$rid" || stray+="$rid "
	[ "$i" -lt 5 ] || [ "$(sort -u <<<"$served" | grep -c .)" -lt 2 ] || break
done
is "$missing" '' "requests after the reopen: each one logged in the new loyaltyd.log"
is "$stray" '' "none of them in the moved file"
is "$(sort -u <<<"$served" | grep .)" "$(worker_pids | sort)" \
	"they were served by both workers: each worker reopened its log"
is "$(stat -c %s "$old")" "$old_size" "the moved file got no line after the reopen"
is "$(grep -c '"event":"reopen"' "$old")" 0 "the reopen event is not in the moved file"

# A request body never reaches the log, valid or not.
marker=body-marker-$RANDOM$RANDOM
http POST /_test/echo -H 'Content-Type: application/json' \
	--data "{\"name\":\"$marker\",\"count\":1}"
is "$STATUS" 200 "POST /_test/echo with a marker in the body answers 200"
http POST /_test/echo -H 'Content-Type: application/json' --data "{\"name\":\"$marker\",\"count\":"
is "$STATUS" 400 "POST /_test/echo with a broken body carrying the marker answers 400"
sleep 0.2
is "$(cat "$log" "$old" | grep -cF "$marker")" 0 "the marker appears in no log line"

check "every line of the new loyaltyd.log is a JSON object" valid_json "$log"
check "every line of the moved file is a JSON object" valid_json "$old"

done_testing
