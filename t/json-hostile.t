#!/bin/bash
# Hostile JSON is refused with 400 (or 422 for unknown and missing fields),
# naming the field at fault, and never crashes a worker.
. "$(dirname "$0")/lib/harness.sh"
harness_up

before=$(worker_pids | sort | tr '\n' ' ')

# post BODY STATUS FIELD DESC: POST /_test/echo answers STATUS naming FIELD.
post() {
	# A body of "@FILE" sends the file: the only way to send a NUL byte.
	http POST /_test/echo -H 'Content-Type: application/json' --data-binary "$1"
	is "$STATUS" "$2" "$4: $2"
	like "$(header Content-Type)" '^application/problem\+json' "$4: problem+json"
	is "$(jq_get "$BODY" errors.0.field)" "$3" "$4: names field $3"
}

http POST /_test/echo -H 'Content-Type: application/json' --data '{"name":"ok","count":7}'
is "$STATUS" 200 "a valid document is accepted"
is "$(jq_get "$BODY" count)" 7 "and read correctly"

post '{"name":"a","count":1.0}'                  400 count "a float where an integer belongs"
post '{"name":"a","count":1e2}'                  400 count "an exponent where an integer belongs"
post '{"name":"a","count":"1"}'                  400 count "a string where an integer belongs"
post '{"name":"a","count":true}'                 400 count "a boolean where an integer belongs"
post '{"name":"a","count":1000001}'              400 count "an integer above its range"
post '{"name":"a","count":-1}'                   400 count "an integer below its range"
post '{"name":"a","count":99999999999999999999}' 400 count "an integer beyond 64 bits"
post '{"name":"a","count":-99999999999999999999}' 400 count "a negative integer beyond 64 bits"
post '{"name":"a","count":9223372036854775807}'  400 count "INT64_MAX"
post '{"name":"a","count":1,"amount_minor":12.50}' 400 amount_minor "money as a float"
post '{"name":"a","count":NaN}'                  400 count "NaN"
post '{"name":"a","count":Infinity}'             400 count "Infinity"
post '{"name":"a","count":1,"attributes":{"x":-Infinity}}' 400 attributes.x "-Infinity nested"
post '{"name":"a\u0000b","count":1}'             400 name "an escaped NUL in a string"
post '{"na\u0000me":"a","count":1}'              400 body "an escaped NUL in a key"
printf '{"name":"a\0b","count":1}' >"$HARNESS_DIR/nul.json"
post "@$HARNESS_DIR/nul.json"                     400 body "a raw NUL byte"
post "$(printf '{"name":"\xc3\x28","count":1}')" 400 body "invalid UTF-8"
post "$(printf '{"name":"\xed\xa0\x80","count":1}')" 400 body "a UTF-16 surrogate in UTF-8"
post '{"name":"a","count":1} {"x":1}'            400 body "a second document after the first"
post '{"name":"a","count":1} trailing'           400 body "trailing garbage"
post '{"name":"a","count":1'                     400 body "a truncated document"
post "{'name':'a','count':1}"                    400 body "single quotes"
post '{"name":"a","count":1,}'                   400 body "a trailing comma"
post '{"name":"a",/* c */"count":1}'             400 body "a comment"
post '[1,2,3]'                                   400 body "an array instead of an object"
post '"just a string"'                           400 body "a bare string"
post "$(python3 -c 'print("[" * 17 + "]" * 17)')" 400 body "nesting 17 deep"
post '{"name":"a","count":1,"admin":true}'       422 admin "an unknown field"
post '{"count":1}'                               422 name "a missing required field"
post '{"name":"","count":1}'                     422 name "an empty string below its minimum length"
post '{"name":null,"count":1}'                   422 name "null for a required field"

http POST /_test/echo -H 'Content-Type: application/json' --data-binary \
	"$(python3 -c 'print("{\"name\":\"n\",\"count\":1,\"attributes\":" + "{\"a\":" * 14 + "1" + "}" * 15)')"
is "$STATUS" 200 "nesting 16 deep is accepted"

http POST /_test/echo -H 'Content-Type: application/json' --data-binary ''
is "$STATUS" 400 "an empty body is 400"

http POST /_test/echo -H 'Content-Type: application/json' \
	--data-binary '{"name":"a","count":"x","admin":1}'
is "$(jq_get "$BODY" status)" 400 "a malformed field outranks an unknown one (400 over 422)"
like "$BODY" '"field":"admin"' "both faults are listed"

after=$(worker_pids | sort | tr '\n' ' ')
is "$after" "$before" "no worker crashed or was replaced"

done_testing
