#!/bin/bash
# Every health endpoint answers as documented, through nginx over HTTPS.
. "$(dirname "$0")/lib/harness.sh"
harness_up

http GET /health/live
is "$STATUS" 200 "GET /health/live answers 200"
is "$(jq_get "$BODY" status)" ok "live: status ok"
like "$(header Content-Type)" '^application/json' "live: JSON"
like "$(header X-Request-Id)" '^[0-9a-f]{32}$' "live: X-Request-Id from nginx's \$request_id"
is "$(header Cache-Control)" no-store "live: Cache-Control: no-store"

for path in /health/ready /health; do
	http GET "$path"
	is "$STATUS" 200 "GET $path answers 200 with the database up"
	is "$(jq_get "$BODY" checks.0.name)" database "$path: first check is the database"
	is "$(jq_get "$BODY" checks.0.status)" ok "$path: database ok"
	like "$(jq_get "$BODY" checks.0.latency_ms)" '^[0-9]+(\.[0-9]+)?$' "$path: database latency reported"
	is "$(jq_get "$BODY" checks.1.name)" schema "$path: second check is the schema"
	is "$(jq_get "$BODY" checks.1.found)" "$(jq_get "$BODY" checks.1.expected)" \
		"$path: schema at the version the build expects"
done

http GET /health/startup
is "$STATUS" 200 "GET /health/startup answers 200 once verified"

http GET /health/version
is "$STATUS" 200 "GET /health/version answers 200"
like "$(jq_get "$BODY" version)" '^[0-9]+\.[0-9]+\.[0-9]+' "version: a version number"
like "$(jq_get "$BODY" commit)" '^[0-9a-f]{7,}$|^unknown$' "version: a commit"
like "$(jq_get "$BODY" build_time)" '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$' "version: RFC 3339 build time"
like "$(jq_get "$BODY" schema_version)" '^[1-9][0-9]*$' "version: schema version"
like "$(jq_get "$BODY" libpq)" '^1[5-9]\.' "version: libpq version"
like "$(jq_get "$BODY" openssl)" '^OpenSSL 3' "version: OpenSSL version"
like "$(jq_get "$BODY" json_c)" '^0\.1[5-9]' "version: json-c version"

http GET /status
is "$STATUS" 200 "GET /status answers 200 from loopback"
is "$(jq_get "$BODY" total)" "$STACK_WORKERS" "status: one slot per worker"
is "$(jq_get "$BODY" master_pid)" "$(master_pid)" "status: the master's pid"

http GET /metrics
is "$STATUS" 200 "GET /metrics answers 200 from loopback"
like "$(header Content-Type)" '^text/plain; version=0\.0\.4' "metrics: Prometheus text format"
like "$BODY" 'loyalty_build_info\{version="[^"]+",commit="[^"]+"' "metrics: build info"

# nginx admits /metrics and /status from 127.0.0.1 and ::1 only; a client
# on another loopback address stands in for the outside world.
for path in /metrics /status; do
	code=$(stack_curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.2 \
		"$(stack_url "$path")")
	is "$code" 403 "$path from another address is refused by nginx"
done

http HEAD /health/live -I
is "$STATUS" 200 "HEAD /health/live answers 200"

done_testing
