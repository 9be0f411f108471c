#!/bin/bash
# The nginx site in front of loyaltyd: TLS only (plain HTTP redirects),
# security headers, gzip for JSON, per-address rate limits answering 429,
# its own errors as problem documents, no Proxy header reaching the app.
. "$(dirname "$0")/lib/harness.sh"
# Low limits, so a short burst proves them; the other tests run with the
# defaults, the benchmark with high ones.
export LOYALTY_NGINX_REQ_RATE=5r/s LOYALTY_NGINX_REQ_BURST=5
harness_up

http GET /health/live
is "$STATUS" 200 "HTTPS answers"
like "$(header Strict-Transport-Security)" '^max-age=[0-9]{8,}' "HSTS for a year or more"
is "$(header X-Content-Type-Options)" nosniff "X-Content-Type-Options: nosniff"
is "$(header X-Frame-Options)" DENY "X-Frame-Options: DENY"
like "$(header Referrer-Policy)" '^(no-referrer|strict-origin-when-cross-origin)$' "Referrer-Policy"
is "$(header Content-Security-Policy)" "default-src 'none'; frame-ancestors 'none'" "strict CSP"
is "$(printf '%s\n' "$HEADERS" | grep -ci '^x-request-id:')" 1 "exactly one X-Request-Id"
unlike "$(header Server)" '[0-9]' "the Server header has no version"

code=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' \
	"http://127.0.0.1:$STACK_HTTP_PORT/health/live?x=1")
is "$code" "301 https://127.0.0.1:$STACK_HTTPS_PORT/health/live?x=1" \
	"plain HTTP redirects to HTTPS, path and query kept"

for proto in --tlsv1.2 --tlsv1.3; do
	check "TLS ${proto#--tlsv} is offered" stack_curl -sf "$proto" -o /dev/null \
		"$(stack_url /health/live)"
done
check "TLS 1.1 is refused" bash -c "! curl -sk --tlsv1.1 --tls-max 1.1 -o /dev/null \
	'$(stack_url /health/live)'"

# The limit above is low: let the bucket drain between groups of requests.
sleep 1.5
http GET /metrics -H 'Accept-Encoding: gzip' --compressed
is "$(header Content-Encoding)" "" "text/plain metrics are not gzipped (only JSON is)"
# /status is JSON and, with two workers, longer than gzip_min_length.
# (nginx compresses only 200, 403 and 404 responses.)
http GET /status -H 'Accept-Encoding: gzip'
is "$(header Content-Encoding)" gzip "JSON is gzipped for a client that asks"
is "$(header Vary)" Accept-Encoding "with Vary: Accept-Encoding"
http GET /status
is "$(header Content-Encoding)" "" "and not for one that does not"

# An HTTP_PROXY parameter must never reach the app ("httpoxy").
sleep 1.5
http GET /health/live -H 'Proxy: http://evil.example/'
is "$STATUS" 200 "a Proxy header does no harm"

# limit_req: 5 r/s with a burst of 5, per address. Twenty at once, in
# one curl over one connection (fast even on a loaded machine, where
# twenty curl processes take longer than the bucket needs to refill):
# some pass, the rest get 429 as a problem document; the last one's
# headers and body are kept to look at.
urls=()
for i in $(seq 20); do
	urls+=(-o "$HARNESS_DIR/body" "$(stack_url /health/live)")
done
out=$(stack_curl -s -D "$HARNESS_DIR/headers" -w '%{http_code}\n' "${urls[@]}")
codes=$(printf '%s\n' "$out" | sort | uniq -c | tr -s ' ')
like "$codes" ' 429' "limit_req answers 429 past the burst"
like "$codes" ' 200' "and lets the burst through"
STATUS=$(printf '%s\n' "$out" | tail -n 1)
# The last response's headers: after the last status line.
HEADERS=$(tr -d '\r' <"$HARNESS_DIR/headers" | awk '/^HTTP\//{h=""} {h=h $0 "\n"} END{printf "%s", h}')
BODY=$(cat "$HARNESS_DIR/body")
is "$STATUS" 429 "the last of the twenty is still limited"
like "$(header Content-Type)" '^application/problem\+json' "429 is problem+json"
is "$(jq_get "$BODY" type)" "urn:loyalty:problem:rate-limited" "429 type rate-limited"
is "$(jq_get "$BODY" request_id)" "$(header X-Request-Id)" "429 carries the request id"
sleep 2

# nginx's own 400 for a URI it cannot parse, and 502 with the app gone.
http GET '/health/%00'
is "$STATUS" 400 "nginx's 400"
is "$(jq_get "$BODY" type)" "urn:loyalty:problem:bad-request" "nginx's 400 is a problem document"
stack_daemon_stop >/dev/null 2>&1
http GET /health/live
is "$STATUS" 502 "with loyaltyd stopped: 502"
like "$(header Content-Type)" '^application/problem\+json' "502 is problem+json"
is "$(jq_get "$BODY" status)" 502 "502 body says 502"
is "$(header X-Content-Type-Options)" nosniff "error responses carry the security headers too"

done_testing
