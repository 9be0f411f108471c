#!/bin/bash
# Errors are problem documents (RFC 9457) with the right status: 400, 404,
# 405, 413, 415, whether loyaltyd or nginx answers.
. "$(dirname "$0")/lib/harness.sh"
harness_up server.max_body_bytes=2048

# problem STATUS SLUG DESC: the last response is that problem document.
problem() {
	is "$STATUS" "$1" "$3: status $1"
	like "$(header Content-Type)" '^application/problem\+json' "$3: problem+json"
	is "$(jq_get "$BODY" type)" "urn:loyalty:problem:$2" "$3: type $2"
	is "$(jq_get "$BODY" status)" "$1" "$3: status member"
	like "$(jq_get "$BODY" title)" '^[A-Z]' "$3: a title"
	like "$(jq_get "$BODY" detail)" '.' "$3: a detail"
	is "$(jq_get "$BODY" request_id)" "$(header X-Request-Id)" \
		"$3: request_id is the X-Request-Id header"
}

http GET /no/such/thing
problem 404 not-found "unknown path"
is "$(jq_get "$BODY" detail)" "no resource at this path" "404 comes from loyaltyd, not nginx"
is "$(header Cache-Control)" no-store "404: Cache-Control: no-store"

http POST /health/live -H 'Content-Type: application/json' --data '{}'
problem 405 method-not-allowed "POST to a GET route"
is "$(header Allow)" "GET, HEAD" "405 lists the allowed methods in Allow"

http DELETE /metrics
problem 405 method-not-allowed "DELETE /metrics"

# Over server.max_body_bytes but under nginx's client_max_body_size.
big=$(head -c 4000 /dev/zero | tr '\0' 'a')
http POST /_test/echo -H 'Content-Type: application/json' --data "{\"name\":\"$big\"}"
problem 413 payload-too-large "body over max_body_bytes"
like "$(jq_get "$BODY" detail)" 'at most 2048' "413 says the limit"

# Over nginx's client_max_body_size: nginx answers, still a problem.
head -c 1200000 /dev/zero | tr '\0' 'a' >"$HARNESS_DIR/huge"
http POST /_test/echo -H 'Content-Type: application/json' --data-binary "@$HARNESS_DIR/huge"
problem 413 payload-too-large "body over nginx's client_max_body_size"

http POST /_test/echo -H 'Content-Type: text/plain' --data '{"name":"a","count":1}'
problem 415 unsupported-media-type "text/plain body"
http POST /_test/echo --data '{"name":"a","count":1}'
problem 415 unsupported-media-type "form-encoded body (curl's default)"
http POST /_test/echo -H 'Content-Type: application/json; charset=utf-8' \
	--data '{"name":"a","count":1}'
is "$STATUS" 200 "application/json with a charset is accepted"

for path in '/health/live%0d%0aSet-Cookie:x=1' '/health/%0a' '/health/%00live' \
	'/health/%zz'; do
	http GET "$path"
	problem 400 bad-request "path $path"
done
unlike "$HEADERS" 'Set-Cookie' "no header injected from the path"

# What nginx never forwards: a body shorter than its Content-Length, and a
# Content-Length that is not digits. Spoken to loyaltyd's socket directly,
# as any FastCGI client could.
fcgi() {
	env -i REQUEST_METHOD=POST REQUEST_URI=/_test/echo REMOTE_ADDR=127.0.0.1 \
		CONTENT_TYPE=application/json CONTENT_LENGTH="$1" \
		cgi-fcgi -bind -connect "$STACK_SOCKET" <<<"$2"
}
out=$(fcgi 100 '{"name":"a","count":1}')
like "$out" 'Status: 400' "FastCGI: a body shorter than CONTENT_LENGTH is 400"
like "$out" 'ended after' "FastCGI: the detail says the body ended early"
out=$(fcgi 1e3 '{}')
like "$out" 'Status: 400' "FastCGI: CONTENT_LENGTH that is not digits is 400"
out=$(fcgi -5 '{}')
like "$out" 'Status: 400' "FastCGI: a negative CONTENT_LENGTH is 400"

http GET /health/live
is "$STATUS" 200 "the pool still answers after all of this"

done_testing
