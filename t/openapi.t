#!/bin/bash
# docs/openapi.yaml cannot drift from the code: it is valid OpenAPI 3.0 by
# a pinned validator (Redocly CLI, tools/openapi, installed by
# scripts/deps), its examples fit its schemas, and it describes exactly the
# routes of src/routes.c: each method and path, the least role
# (x-min-role), the credentials, the JSON body of each handler's field
# tables (the body's and those of objects in it; for a rule, the field
# lists and get_*() calls of rule_parse() in src/rules.c), the pagination
# of the lists, and the problems the route's flags imply. Needs no stack:
# it reads files only.
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

# A bound of a table: a number (1000000000000LL) or a #define of one.
DEFINES = {}
for text in list(src.values()) + [open(h).read() for h in
                                  glob.glob(os.path.join(top, "include/*.h"))]:
    for k, v in re.findall(r"^#define\s+(\w+)\s+\(?(-?\d+)[uUlL]*\)?", text, re.M):
        DEFINES[k] = int(v)
def bound(text):
    text = text.strip()
    m = re.fullmatch(r"(-?\d+)[uUlL]*", text)
    return int(m.group(1)) if m else DEFINES.get(text)

SPEC = re.compile(r'\{\s*"(\w+)",\s*JK_(\w+),\s*(\d+),\s*([-\w]+),\s*([-\w]+)\s*\}')
TABLE = re.compile(r"json_field\s+(\w+)\[\]\s*=\s*\{(.*?)\};", re.S)
KINDS = {"STRING": "string", "INT": "integer", "BOOL": "boolean",
         "OBJECT": "object", "ARRAY": "array"}

def table(inner):
    """[(name, type, required, lo, hi)] of a json_field table's text."""
    return [(n, KINDS[k], r == "1", bound(lo), bound(hi))
            for n, k, r, lo, hi in SPEC.findall(inner)]

def params_of(text):
    """The parameter names of a function's text ("name(struct x *a, int b)")."""
    m = re.match(r"\w+\((.*?)\)\s*\n", text, re.S)
    return [(re.findall(r"(\w+)\s*$", re.sub(r"\[.*?\]", "", p)) or [""])[0]
            for p in (m.group(1).split(",") if m else [])]

def spec_in(text, env):
    """The fields of the body a function's text checks with api_body(),
    and of the objects in it it checks with json_check_object(): {"": top
    level, "member": ...}; None when it checks no body. In the table
    argument a "flag ? a : b" is decided by env, the caller's arguments."""
    tables = {n: table(inner) for n, inner in TABLE.findall(text)}
    m = re.search(r"api_body\(\s*req\s*,\s*(.+?)\s*,\s*&\w+\s*\)", text)
    if not m:
        return None
    arg = m.group(1)
    cond = re.fullmatch(r"(\w+)\s*\?\s*(\w+)\s*:\s*(\w+)", arg)
    if cond:
        flag = env.get(cond.group(1), "")
        if not re.fullmatch(r"-?\d+", flag):
            return {"": None}
        arg = cond.group(2) if int(flag) else cond.group(3)
    out = {"": tables.get(arg)}
    for var, tname in re.findall(r"json_check_object\(\s*(\w+)\s*,\s*(\w+)\s*,", text):
        got = re.search(r'json_object_object_get_ex\(\s*\w+\s*,\s*"(\w+)"\s*,\s*&'
                        + var + r"\s*\)", text)
        if got and tname in tables:
            out[got.group(1)] = tables[tname]
    return out

def body_spec(handler):
    """spec_in() of the handler, or of the first static helper of its file
    it calls with req that checks a body (event_parse, refresh_body)."""
    path, body = function(handler)
    found = spec_in(body, {})
    if found is not None or not path:
        return found
    for callee, args in re.findall(r"\b(\w+)\((req\b[^;]*?)\)", body):
        m = re.search(r"^" + re.escape(callee) + r"\(.*?^\}", src[path], re.M | re.S)
        if not m:
            continue
        env = dict(zip(params_of(m.group(0)), (a.strip() for a in args.split(","))))
        found = spec_in(m.group(0), env)
        if found is not None:
            return found
    return None

# A rule's body has no json_field table: rule_parse() (src/rules.c)
# checks it, with a list of the names each object takes and get_*()
# calls that give each field's type and bounds.
RULES_C = src.get(os.path.join(top, "src/rules.c"), "")
def rule_spec(method):
    """{path: [(name, type, required, lo, hi)]} of a rule's body, from
    rules.c: "" the rule, "conditions", "conditions.hours", "action"."""
    lists = {n: re.findall(r'"(\w+)"', inner) for n, inner in
             re.findall(r"static const char \*const (\w+)\[\] = \{(.*?)\};", RULES_C, re.S)}
    where = {"top_fields": "", "condition_fields": "conditions",
             "hours_fields": "conditions.hours", "action_fields": "action"}
    # "conditions.hours.from": path and name. A PATCH merges the body into
    # the stored rule, so nothing of the rule itself is required there.
    required = {tuple(([""] + f.rsplit(".", 1))[-2:]) for f in
                re.findall(r'fault\(&?p, "([\w.]+)", "is required"\)', RULES_C)}
    if method == "PATCH":
        required = {r for r in required if r[0] != ""}
    kinds = {}
    for kind, prefix, name, rest in re.findall(
            r'get_(str|int|bool|object)\(&?p, \w+, (?:(NULL|"[\w.]+"), )?"(\w+)"([^;]*)', RULES_C):
        prefix = "" if prefix in ("", "NULL") else prefix.strip('"')
        nums = [bound(x) for x in rest.split(",")[1:3]] if kind in ("str", "int") else []
        kinds.setdefault((prefix, name), []).append(
            ({"str": "string", "int": "integer", "bool": "boolean",
              "object": "object"}[kind], *(nums + [None, None])[:2]))
    out = {}
    for lname, path in where.items():
        out[path] = [(n, kinds.get((path, n)), (path, n) in required, None, None)
                     for n in lists.get(lname, [])]
    return out

def variants(schema):
    """A schema, or each of its oneOf/anyOf variants."""
    schema = resolve(schema) or {}
    alts = schema.get("oneOf") or schema.get("anyOf")
    return [resolve(a) for a in alts] if alts else [schema]

def compare(name, handler, where, schema, fields):
    """Faults of one object schema against the fields its handler takes."""
    label = f"{name}: {where + ' ' if where else ''}"
    alts = variants(schema)
    props = {}
    for alt in alts:
        for k, v in (alt.get("properties") or {}).items():
            props.setdefault(k, []).append(resolve(v))
        if alt.get("additionalProperties") is not False:
            say("fields", f"{label}the body schema lacks additionalProperties: false")
    if set(props) != {f[0] for f in fields}:
        say("fields", f"{label}properties {sorted(props)}, {handler} takes {sorted(f[0] for f in fields)}")
    # Variants (a rule's action, by kind) each require their own part.
    want_req = sorted(f[0] for f in fields if f[2])
    got_req = sorted(set().union(*(alt.get("required", []) for alt in alts)))
    if (got_req != want_req if len(alts) == 1 else not set(got_req) <= set(want_req)):
        say("fields", f"{label}required {got_req}, {handler} requires {want_req}")
    for fname, kind, _, lo, hi in fields:
        # kind: a type with bounds, or a list of (type, lo, hi), one per
        # place that reads the field (rules: per action kind); one fits.
        options = kind if isinstance(kind, list) else [(kind, lo, hi)] if kind else []
        for p in props.get(fname, []) if options else []:
            fit = False
            for typ, a, b in options:
                bounds = (("minLength", "maxLength") if typ == "string" else
                          ("minimum", "maximum") if typ == "integer" else None)
                if p.get("type") != typ:
                    continue
                if (bounds and b is not None and b < 2**62 and
                        (p.get(bounds[0]), p.get(bounds[1])) != (a, b)):
                    continue
                fit = True
            if not fit:
                say("fields", f"{label}{fname} is {p.get('type')} "
                    f"{p.get('minimum', p.get('minLength'))}/{p.get('maximum', p.get('maxLength'))}, "
                    f"{handler} wants one of {options}")

def at(schema, path):
    """The schema of a dotted property path, through oneOf variants."""
    for part in [x for x in path.split(".") if x]:
        found = None
        for alt in variants(schema):
            found = found or (alt.get("properties") or {}).get(part)
        schema = resolve(found) if found else None
        if schema is None:
            return None
    return schema

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
    if spec is None and "rule_parse(" in (function(handler)[1] + "".join(
            function(c)[1] for c in re.findall(r"\b(\w+)\(req\b", function(handler)[1])
            if c not in ("api_body", "db_commit"))):
        spec = rule_spec(method)
    if not schema or not spec or spec.get("") is None:
        say("fields", f"{name}: no application/json schema, or no json_field table in {handler}")
        continue
    for where, fields in spec.items():
        sub = at(schema, where)
        if sub is None:
            say("fields", f"{name}: the body schema has no object {where}")
            continue
        compare(name, handler, where, sub, fields)

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
	is "$(faults fields)" "" "each body schema has the fields, required ones, types and bounds its handler checks"
fi

done_testing
