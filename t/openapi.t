#!/bin/bash
# docs/openapi.yaml cannot drift from the code: it is valid OpenAPI 3.0 by
# a pinned validator (Redocly CLI, tools/openapi, installed by
# scripts/deps), its examples fit its schemas, and it describes exactly the
# routes of src/routes.c: each method and path, the least role
# (x-min-role), the credentials, the JSON body of each handler's field
# table, the pagination of the lists, and the problems the route's flags
# imply. Needs no stack: it reads files only.
. "$(dirname "$0")/lib/tap.sh"
top=$(cd "$(dirname "$0")/.." && pwd)
doc=$top/docs/openapi.yaml
tools=$top/tools/openapi
redocly=$tools/node_modules/.bin/redocly
tmp=$(mktemp -d /tmp/loyalty-openapi.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# --- the validator ---------------------------------------------------------------
# A missing validator fails: a skipped check is a check nobody runs.
have_validator=''
if ! command -v node >/dev/null; then
	fail "node is installed" "no node on PATH: scripts/deps --test installs Debian's nodejs and npm"
elif [ ! -x "$redocly" ]; then
	fail "the OpenAPI validator is installed" "no $redocly: scripts/deps --test installs it (npm ci --prefix tools/openapi)"
else
	pinned=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["dependencies"]["@redocly/cli"])' "$tools/package.json")
	installed=$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["version"])' "$tools/node_modules/@redocly/cli/package.json" 2>/dev/null)
	is "$installed" "$pinned" "the validator installed is the pinned @redocly/cli" &&
		have_validator=1
fi

# recommended-strict: the structure of OpenAPI 3.0, resolvable $refs,
# declared path parameters, unique operation ids, examples that fit their
# schemas (no undeclared members in them either), problem+json for 4xx.
# A license is not ours to state here.
cat >"$tmp/redocly.yaml" <<'EOF'
extends:
  - recommended-strict
rules:
  info-license: off
  no-invalid-media-type-examples:
    severity: error
    allowAdditionalProperties: false
  no-invalid-schema-examples: error
  no-invalid-parameter-examples: error
  no-unused-components: error
  no-required-schema-properties-undefined: error
  operation-4xx-problem-details-rfc7807: error
EOF
if [ -n "$have_validator" ]; then
	# No telemetry, no update check: the tests reach nothing outside.
	if out=$(cd "$tmp" && REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
		NO_COLOR=1 "$redocly" lint --config "$tmp/redocly.yaml" \
		--format stylish "$doc" 2>&1); then
		pass "docs/openapi.yaml is valid (redocly lint)"
	else
		fail "docs/openapi.yaml is valid (redocly lint)" "$out"
	fi
else
	fail "docs/openapi.yaml is valid (redocly lint)" "the validator cannot run (above)"
fi

# --- the document against src/routes.c and the handlers -----------------------
# One line per fault, "check<TAB>what"; each check below passes with none.
python3 - "$top" >"$tmp/faults" 2>&1 <<'EOF'
import glob, os, re, sys
import yaml

top = sys.argv[1]
doc = yaml.safe_load(open(os.path.join(top, "docs/openapi.yaml")))
src = {p: open(p).read() for p in glob.glob(os.path.join(top, "src/*.c"))}

ROLE = {"ACCESS_ANYONE": "anyone", "ACCESS_VIEWER": "viewer",
        "ACCESS_OPERATOR": "operator", "ACCESS_ADMIN": "admin",
        "ACCESS_OWNER": "owner", "ACCESS_PLATFORM": "platform_admin"}
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
BEARER = [{"bearerAuth": []}]
SIGNED = {"loyaltyKey": [], "loyaltyTimestamp": [], "loyaltySignature": []}

def say(check, what):
    print(f"{check}\t{what}")

def resolve(node):
    """node, or what its local $ref (#/a/b) points to."""
    while isinstance(node, dict) and "$ref" in node:
        target = doc
        for part in node["$ref"][2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node

# The route table: { "GET", "/v1/me", h_me, ACCESS_VIEWER, flags },
routes = []
table = src[os.path.join(top, "src/routes.c")]
for m in re.finditer(r'\{\s*"([A-Z]+)",\s*"([^"]+)",\s*(\w+),\s*(ACCESS_\w+),\s*([^}]*)\}',
                     table):
    method, path, handler, access, flags = m.groups()
    if path.startswith("/_test/"):
        continue
    routes.append((method, path, handler, access, flags))
say("count", str(len(routes)))

def function(name):
    """(file, body) of the C function defined as "name(" at a line start."""
    for path, text in src.items():
        m = re.search(r"^" + re.escape(name) + r"\(.*?^\}", text, re.M | re.S)
        if m:
            return path, m.group(0)
    return None, ""

SPEC = re.compile(r'\{\s*"(\w+)",\s*JK_(\w+),\s*(\d+),\s*(-?\d+),\s*(-?\d+)\s*\}')
def body_spec(handler):
    """The json_field table the handler checks its body with, following
    one call into a static helper of its file (refresh_body)."""
    path, body = function(handler)
    found = SPEC.findall(body)
    if found or not path:
        return found
    for callee in re.findall(r"\b(\w+)\(req\b", body):
        m = re.search(r"^" + re.escape(callee) + r"\(.*?^\}", src[path], re.M | re.S)
        if m and SPEC.findall(m.group(0)):
            return SPEC.findall(m.group(0))
    return []

in_table = set()
for method, path, handler, access, flags in routes:
    name = f"{method} {path}"
    in_table.add((method.lower(), path))
    op = (doc.get("paths", {}).get(path) or {}).get(method.lower())
    if op is None:
        say("missing", name)
        continue
    role = ROLE.get(access, access)
    if op.get("x-min-role") != role:
        say("role", f"{name}: x-min-role {op.get('x-min-role')}, routes.c {access} ({role})")

    sec = op.get("security")
    want = ([] if access == "ACCESS_ANYONE" else
            BEARER + [SIGNED] if access in ("ACCESS_VIEWER", "ACCESS_OPERATOR") else
            BEARER)
    if sec != want:
        say("security", f"{name}: security {sec}, want {want} for {access}")

    codes = set(str(c) for c in op.get("responses", {}))
    need = {"400"}
    if access != "ACCESS_ANYONE":
        need |= {"401", "403", "429", "503"}
    if "ROUTE_DB" in flags:
        need |= {"503"}
    if "ROUTE_JSON" in flags:
        need |= {"415", "422"}
    if "ROUTE_LOOPBACK" in flags:
        need |= {"403"}
    if need - codes:
        say("problems", f"{name}: no {', '.join(sorted(need - codes))} documented")

    params = [resolve(p) for p in (doc["paths"][path].get("parameters", []) +
                                   op.get("parameters", []))]
    query = {p["name"] for p in params if p.get("in") == "query"}
    if "api_page(" in function(handler)[1] and not {"limit", "after"} <= query:
        say("pages", f"{name}: a list without the limit and after parameters")

    rb = resolve(op.get("requestBody"))
    if ("ROUTE_JSON" in flags) != (rb is not None):
        say("body", f"{name}: ROUTE_JSON is {'ROUTE_JSON' in flags} but requestBody is "
            f"{'present' if rb else 'absent'}")
    if rb is None:
        continue
    schema = resolve(((rb.get("content") or {}).get("application/json") or {}).get("schema"))
    spec = body_spec(handler)
    if not schema or not spec:
        say("fields", f"{name}: no application/json schema, or no json_field table in {handler}")
        continue
    props = {k: resolve(v) for k, v in (schema.get("properties") or {}).items()}
    if schema.get("additionalProperties") is not False:
        say("fields", f"{name}: the body schema lacks additionalProperties: false")
    if set(props) != {f[0] for f in spec}:
        say("fields", f"{name}: properties {sorted(props)}, {handler} takes {sorted(f[0] for f in spec)}")
    want_req = sorted(f[0] for f in spec if f[2] == "1")
    if sorted(schema.get("required", [])) != want_req:
        say("fields", f"{name}: required {sorted(schema.get('required', []))}, {handler} requires {want_req}")
    kinds = {"STRING": "string", "INT": "integer", "BOOL": "boolean",
             "OBJECT": "object", "ARRAY": "array"}
    for fname, kind, _, lo, hi in spec:
        p = props.get(fname)
        if p is None:
            continue
        if p.get("type") != kinds[kind]:
            say("fields", f"{name}: {fname} is {p.get('type')}, {handler} wants {kinds[kind]}")
        bounds = (("minLength", "maxLength") if kind == "STRING" else
                  ("minimum", "maximum") if kind == "INT" else None)
        if bounds and (p.get(bounds[0]), p.get(bounds[1])) != (int(lo), int(hi)):
            say("fields", f"{name}: {fname} {bounds[0]}/{bounds[1]} "
                f"{p.get(bounds[0])}/{p.get(bounds[1])}, {handler} says {lo}/{hi}")

for path, item in (doc.get("paths") or {}).items():
    for method in METHODS:
        if method in item and (method, path) not in in_table:
            say("extra", f"{method.upper()} {path} is documented but not in src/routes.c")
EOF
rc=$?
faults() { awk -F '\t' -v c="$1" '$1 == c { print $2 }' "$tmp/faults"; }
if [ $rc -ne 0 ]; then
	fail "the route checks run" "$(cat "$tmp/faults")"
else
	cmp_num "$(faults count)" -ge 20 "src/routes.c has its routes (not counting /_test/)"
	is "$(faults missing)" "" "every route of src/routes.c is documented with its method"
	is "$(faults extra)" "" "every documented operation is a route of src/routes.c"
	is "$(faults role)" "" "each operation's x-min-role is its route's ACCESS_* column"
	is "$(faults security)" "" "each operation takes the credentials its role allows (keys: viewer, operator)"
	is "$(faults problems)" "" "each operation lists the problems its flags and role imply"
	is "$(faults pages)" "" "each list takes limit and after"
	is "$(faults body)" "" "an operation has a JSON request body exactly when its route is ROUTE_JSON"
	is "$(faults fields)" "" "each body schema has the fields, required ones and lengths of its handler's json_field table"
fi

done_testing
