#!/bin/bash
# Hostile input on every endpoint of the loyalty core (issue 5, item 13):
# /v1/settings, /v1/members[...], /v1/events[...], /v1/rules[...],
# /v1/budgets[...], /v1/rewards[...], /v1/vouchers/{code}[...] and
# /v1/reports/summary.
#
# Table-driven: one TAP line per endpoint x field x hostile value. Each
# hostile request must get a 4xx (400 for a wrong type or an integer out of
# the field table's range, 422 for what validation refuses; the rule
# document is checked whole and answers 422 for all of it), as
# application/problem+json with an errors[] entry naming the field by its
# path in the body ("conditions.hours.from", "conditions.tiers[0]"), never
# a 5xx, and nothing may change in the database (a digest of every table,
# all tenants, before and after). The values: floats, exponents, numeric
# strings, negatives, zero where it is invalid, 10^12 + 1, 2^63, -2^63 - 1,
# booleans, null where the field is required or not nullable, [] and {};
# null in every other field too, which may read as absent (or clear a
# nullable field) but never gets a 5xx;
# unknown fields at the top and nested (member.x, conditions.x, action.x);
# strings where objects are expected. Then, on every list, huge, negative
# and non-numeric ?limit= and a garbage ?after=; the report's from/to;
# tenant B's ids on every {id}/{code}/{event_id} route, and in bodies, get
# byte for byte (but request_id) what a random missing id gets; SQL
# injection strings, a non-ASCII letter and an escaped NUL in every free
# text field are stored verbatim (read back equal) or refused, the NUL
# always with 400; empty bodies, non-JSON content types and 1 MiB bodies.
# Last, for each field the same body with a good value is accepted, so the
# value was the reason for each refusal.
#
# The requests go through nginx from a small Python helper (standard
# library only) on one kept-alive connection, with one psql session for the
# digests, to keep the file well under a minute and a half.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
export LOYALTY_NGINX_REQ_RATE=1000r/s LOYALTY_NGINX_REQ_BURST=1000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000
harness_up limits.tenant_rate=10000 limits.tenant_burst=10000

A=$(mk_tenant shop-a) && B=$(mk_tenant shop-b) || exit 1
mk_user shop-a owner@a.example owner 'owner-a-password' >/dev/null || exit 1
mk_user shop-b owner@b.example owner 'owner-b-password' >/dev/null || exit 1
login owner@a.example owner-a-password
T_A=$TOKEN
login owner@b.example owner-b-password
T_B=$TOKEN
[ -n "$T_A" ] && [ -n "$T_B" ] || { fail "both owners log in" "$BODY"; done_testing; exit 1; }
workers_before=$(worker_pids | sort | tr '\n' ' ')

export HX_HOST=$STACK_HOST HX_PORT=$STACK_HTTPS_PORT HX_CA=$STACK_CERT \
	HX_LOG=$STACK_LOG_DIR/loyaltyd.log HX_A=$A HX_B=$B HX_T_A=$T_A HX_T_B=$T_B \
	HX_PSQL=$STACK_PG_BIN/psql HX_PG_SOCK=$STACK_PG_SOCK HX_PG_PORT=$STACK_PG_PORT \
	HX_PG_DB=$STACK_DB_NAME

cat >"$HARNESS_DIR/hostile.py" <<'PY'
import copy, http.client, json, os, random, re, ssl, subprocess, urllib.parse, uuid

E = os.environ
A_TENANT, B_TENANT = E['HX_A'], E['HX_B']
T_A, T_B = E['HX_T_A'], E['HX_T_B']

# --- output: one line per test, read by the shell into TAP ---------------------
def emit(ok, desc, diag=''):
    desc = desc.replace('\t', ' ').replace('\n', ' ')
    line = ('P\t' if ok else 'F\t') + desc
    if not ok and diag:
        line += '\t' + diag.replace('\t', ' ').replace('\n', '\x1f')
    print(line, flush=True)

def short(s, n=400):
    s = s if isinstance(s, str) else repr(s)
    return s if len(s) <= n else s[:n] + '... (%d bytes)' % len(s)

# --- JSON text, with values sent exactly as written ---------------------------
class Raw:
    """JSON text sent as it is: 1.5, 1e3."""
    def __init__(self, text):
        self.text = text

def enc(v):
    if isinstance(v, Raw):
        return v.text
    if isinstance(v, dict):
        return '{' + ','.join(json.dumps(k, ensure_ascii=False) + ':' + enc(x)
                              for k, x in v.items()) + '}'
    if isinstance(v, list):
        return '[' + ','.join(enc(x) for x in v) + ']'
    return json.dumps(v, ensure_ascii=False)

def shown(v):
    return enc(v) if not isinstance(v, str) else json.dumps(v, ensure_ascii=False)

# --- HTTP through nginx, one connection kept alive ----------------------------
class Resp:
    def __init__(self, status, headers, text):
        self.status, self.headers, self.text = status, headers, text
        self.ctype = (headers.get('content-type') or '').split(';')[0].strip()
        self.rid = headers.get('x-request-id') or ''
        try:
            self.json = json.loads(text)
        except ValueError:
            self.json = None
        errs = self.json.get('errors') if isinstance(self.json, dict) else None
        self.fields = [e.get('field') for e in errs if isinstance(e, dict)] \
            if isinstance(errs, list) else []

CTX = ssl.create_default_context(cafile=E['HX_CA'])
conn, used = None, 0

def call(token, method, path, body=None, ctype='application/json'):
    global conn, used
    headers = {}
    if token:
        headers['Authorization'] = 'Bearer ' + token
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else \
            (body if isinstance(body, str) else enc(body)).encode()
        if ctype is not None:
            headers['Content-Type'] = ctype
    elif method in ('POST', 'PATCH', 'PUT'):
        data = b''
    for attempt in (0, 1):
        if conn is None or used >= 200:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPSConnection(E['HX_HOST'], int(E['HX_PORT']),
                                               context=CTX, timeout=60)
            used = 0
        try:
            conn.request(method, path, body=data, headers=headers)
            r = conn.getresponse()
            text = r.read().decode('utf-8', 'replace')
            used += 1
            if r.getheader('Connection', '').lower() == 'close':
                used = 10 ** 9
            return Resp(r.status, {k.lower(): v for k, v in r.getheaders()}, text)
        except (http.client.RemoteDisconnected, BrokenPipeError,
                ConnectionResetError, http.client.CannotSendRequest):
            conn.close()
            conn = None
            if attempt:
                raise

def sans_rid(text):
    return re.sub(r',?\s*"request_id"\s*:\s*"[^"]*"', '', text)

# --- SQL: one psql session as the superuser ------------------------------------
PSQL = subprocess.Popen([E['HX_PSQL'], '-X', '-q', '-At', '-h', E['HX_PG_SOCK'],
                         '-p', E['HX_PG_PORT'], '-U', 'postgres', '-d', E['HX_PG_DB']],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, text=True, bufsize=1)

def sql(q):
    PSQL.stdin.write(q.strip().rstrip(';') + ';\n\\echo __HX_END__\n')
    PSQL.stdin.flush()
    out = []
    while True:
        line = PSQL.stdout.readline()
        if line == '':
            raise RuntimeError('psql ended')
        if line.rstrip('\n') == '__HX_END__':
            return '\n'.join(out)
        out.append(line.rstrip('\n'))

def lit(s):
    return "'" + s.replace("'", "''") + "'"

TABLES = ['tenants', 'users', 'api_keys', 'sessions', 'refresh_tokens', 'audit_log',
          'members', 'budgets', 'budget_slots', 'rules', 'rule_usage', 'events',
          'lots', 'ledger', 'rewards', 'vouchers', 'idempotency_keys']
def digest(tenant=None):
    """Every table's rows as one md5 each (only tenant's rows, if given)."""
    parts = []
    for t in TABLES:
        where = '' if tenant is None else ' WHERE %s = %s' % (
            'id' if t == 'tenants' else 'tenant_id', lit(tenant))
        parts.append("SELECT '%s' AS n, md5(coalesce(string_agg(x::text, '|' "
                     "ORDER BY x::text), '')) AS d FROM %s x%s" % (t, t, where))
    q = "SELECT n || '=' || d FROM (" + ' UNION ALL '.join(parts) + ') s'
    return dict(l.split('=', 1) for l in sql(q).splitlines())

# --- the daemon's log, for the diagnostics of a failure -------------------------
def log_mark():
    try:
        return os.path.getsize(E['HX_LOG'])
    except OSError:
        return 0

def log_since(mark, rid):
    try:
        with open(E['HX_LOG'], 'rb') as f:
            f.seek(mark)
            lines = f.read().decode('utf-8', 'replace').splitlines()
    except OSError:
        return []
    return [l for l in lines if (rid and rid in l) or '"level":"error"' in l
            or '"level":"warn"' in l]

COUNTS = {'rows': 0, 'failed': 0}

def report(desc, bad, method, path, body, r, mark):
    COUNTS['rows'] += 1
    if E.get('HX_TRACE'):  # HX_TRACE=FILE: every row's answer, for debugging
        with open(E['HX_TRACE'], 'a') as tf:
            tf.write('%s | %s | %s\n' % (desc, r.status if r else '-', r.fields if r else ''))
    if not bad:
        emit(True, desc)
        return
    COUNTS['failed'] += 1
    diag = ['; '.join(bad),
            'request:  %s %s %s' % (method, path, short(body if isinstance(body, str)
                                                       else (enc(body) if body is not None else ''), 300)),
            'response: %s %s %s' % (r.status if r else '-', r.ctype if r else '',
                                    short(r.text if r else '', 600))]
    if r:
        for l in log_since(mark, r.rid)[:6]:
            diag.append('log: ' + short(l, 600))
    emit(False, desc, '\n'.join(diag))

def problem_faults(r, want, field):
    bad = []
    if r.status >= 500:
        bad.append('a %d: a server error' % r.status)
    elif r.status not in want:
        bad.append('status %d, want %s' % (r.status, ' or '.join(map(str, sorted(want)))))
    if r.ctype != 'application/problem+json':
        bad.append('Content-Type %r, not application/problem+json' % r.ctype)
    if field is not None:
        names = field if isinstance(field, (tuple, list)) else (field,)
        if not any(n in r.fields for n in names):
            bad.append('errors[] names %s, not %s' % (r.fields, ' or '.join(map(repr, names))))
    return bad

def changed(before, after):
    return sorted(t for t in set(before) | set(after) if before.get(t) != after.get(t))

def refused(desc, token, method, path, body, want, field, ctype='application/json'):
    """A hostile request: a 4xx problem naming field, and nothing written."""
    before, mark = digest(), log_mark()
    r = call(token, method, path, body, ctype)
    after = digest()
    bad = problem_faults(r, want, field)
    ch = changed(before, after)
    if ch:
        bad.append('the database changed: ' + ', '.join(ch))
    report(desc, bad, method, path, body, r, mark)
    return r

def null_tolerated(desc, method, path, body, field):
    """A null in an optional field: a 2xx (null read as absent, or clearing a
    nullable field), or a 4xx problem naming the field that writes
    nothing. Never a 5xx."""
    before, mark = digest(), log_mark()
    r = call(T_A, method, path, body)
    bad = []
    if r.status >= 300:
        bad = problem_faults(r, {400, 422}, tuple(dict.fromkeys(tuple(field) + ('body',))))
        ch = changed(before, digest())
        if ch:
            bad.append('the database changed: ' + ', '.join(ch))
    report(desc, bad, method, path, body, r, mark)

def check(desc, ok, diag=''):
    COUNTS['rows'] += 1
    if not ok:
        COUNTS['failed'] += 1
    emit(ok, desc, diag)

def dig(doc, *path):
    for p in path:
        if isinstance(doc, dict):
            doc = doc.get(p)
        elif isinstance(doc, list) and isinstance(p, int) and p < len(doc):
            doc = doc[p]
        else:
            return None
    return doc

# --- fixtures: the same objects in tenants A and B ------------------------------
N = [0]
def uniq(prefix='hx'):
    N[0] += 1
    return '%s-%d-%s' % (prefix, N[0], uuid.uuid4().hex[:6])

def need(desc, r, want=(200, 201)):
    ok = r.status in want
    check(desc, ok, '' if ok else 'got %d %s' % (r.status, short(r.text)))
    return r.json if ok and isinstance(r.json, dict) else {}

FX = {}
for who, tok in (('A', T_A), ('B', T_B)):
    f = FX[who] = {}
    f['budget'] = need('%s: fixture budget' % who, call(tok, 'POST', '/v1/budgets',
                       {'name': 'budget of ' + who, 'monthly_limit': 1000000})).get('id')
    f['rule'] = need('%s: fixture rule' % who, call(tok, 'POST', '/v1/rules',
                     {'name': 'earn', 'event_type': 'purchase',
                      'action': {'kind': 'fixed', 'points': 100}})).get('id')
    f['reward'] = need('%s: fixture reward' % who, call(tok, 'POST', '/v1/rewards',
                       {'name': 'coffee', 'cost': 10})).get('id')
    f['member'] = need('%s: fixture member' % who, call(tok, 'POST', '/v1/members',
                       {'external_id': 'member-of-' + who, 'name': 'Member of ' + who})).get('id')
    f['event'] = 'fixture-event-' + who.lower()
    need('%s: fixture event' % who, call(tok, 'POST', '/v1/events',
         {'event_id': f['event'], 'type': 'purchase', 'member': {'id': f['member']},
          'amount_minor': 100000, 'currency': 'USD'}))
    need('%s: fixture adjustment' % who, call(tok, 'POST', '/v1/members/%s/adjustments' % f['member'],
         {'points': 5000, 'reason': 'fixture'}))
    f['vouchers'] = [need('%s: fixture voucher %d' % (who, i), call(
        tok, 'POST', '/v1/members/%s/redemptions' % f['member'],
        {'reward_id': f['reward']})) for i in range(3)]
    f['vouchers'] = [v.get('code') or dig(v, 'voucher', 'code') for v in f['vouchers']]
FA, FB = FX['A'], FX['B']
B_DIGEST = digest(B_TENANT)

def aid(name):
    return FA.get(name) or 'fixture-%s-missing' % name

# --- hostile values by kind ----------------------------------------------------
INT64 = 2 ** 63
TYPE_INT = [('1.5', Raw('1.5')), ('1e3', Raw('1e3')), ('"100"', '100'),
            ('true', True), ('[]', []), ('{}', {})]
TYPE_STR = [('1', 1), ('1.5', Raw('1.5')), ('true', True), ('[]', []), ('{}', {})]
TYPE_OBJ = [('"x"', 'x'), ('1', 1), ('true', True), ('[]', [])]
TYPE_ARR = [('"x"', 'x'), ('1', 1), ('true', True), ('{}', {})]
TYPE_BOOL = [('"true"', 'true'), ('1', 1), ('0', 0), ('[]', []), ('{}', {})]
INJECT = [
    ("'; DROP TABLE members; --", "'; DROP TABLE members; --"),
    ('" OR 1=1 --', '" OR 1=1 --'),
    ('$1', '$1'),
    ('%s', '%s%s%n'),
    ('unicode', 'Caf\u00e9 \u00e9t\u00e9'),
    ('backslash', 'a\\b\\\\c'),
]
NUL = ('\\u0000', 'a\x00b')

class F:
    """A field of a body: path (keys, list indexes), kind and what it takes."""
    def __init__(self, path, kind, lo=None, hi=None, req=False, free=False,
                 enum=False, custom=False, null=None, ctx=None, over=None,
                 ok=None, extra=(), nested=False):
        self.path, self.kind = path, kind
        self.lo, self.hi, self.req = lo, hi, req
        self.free, self.enum, self.custom = free, enum, custom
        self.null = null if null is not None else (422 if req else None)
        self.ctx, self.over, self.ok = ctx or {}, over or {}, ok
        self.extra, self.nested = extra, nested

    @property
    def name(self):
        out = ''
        for p in self.path:
            out += '[%d]' % p if isinstance(p, int) else ('.' if out else '') + p
        return out

def build(base, f, value):
    body = copy.deepcopy(base() if callable(base) else base)
    for k, v in f.over.items():
        body[k] = copy.deepcopy(v)
    node = body
    for i, k in enumerate(f.path[:-1]):
        nxt = f.path[i + 1]
        empty = [] if isinstance(nxt, int) else {}
        if isinstance(node, list):
            while len(node) <= k:
                node.append(None)
            if not isinstance(node[k], (dict, list)):
                node[k] = empty
        elif not isinstance(node.get(k), (dict, list)):
            node[k] = empty
        node = node[k]
    if isinstance(node, dict):
        node.update(copy.deepcopy(f.ctx))
    leaf = f.path[-1]
    if isinstance(node, list):
        while len(node) <= leaf:
            node.append(None)
    node[leaf] = copy.deepcopy(value)
    return body

def hostile_values(f, style):
    """(label, value, statuses) for field f of a handler of style 'jf'
    (a json_field table: 400 for type and range, 422 otherwise) or 'rule'
    (the rule document: 422 for everything)."""
    t400 = {422} if style == 'rule' or f.custom else {400}
    out = []
    if f.kind == 'int':
        out += [(l, v, t400) for l, v in TYPE_INT]
        rng = []
        if f.lo is not None and f.lo > -1:
            rng.append(('-1', -1))
        if f.lo is not None and f.lo > 0:
            rng.append(('0', 0))
        if f.hi is not None:
            rng.append((str(f.hi + 1), f.hi + 1))
            if f.hi < 10 ** 12:
                rng.append(('10^12+1', 10 ** 12 + 1))
        rng += [('2^63', INT64), ('-2^63-1', -INT64 - 1)]
        out += [(l, v, t400) for l, v in rng]
    elif f.kind == 'str':
        out += [(l, v, t400) for l, v in TYPE_STR]
        if f.lo:
            out.append(('""', '', {422}))
        if f.hi:
            out.append(('%d bytes' % (f.hi + 1), 'x' * (f.hi + 1), {422}))
        if f.enum:
            out += [(l, v, {422}) for l, v in INJECT]
    elif f.kind == 'obj':
        out += [(l, v, t400) for l, v in TYPE_OBJ]
    elif f.kind == 'arr':
        out += [(l, v, t400) for l, v in TYPE_ARR]
    elif f.kind == 'bool':
        out += [(l, v, t400) for l, v in TYPE_BOOL]
    if f.null is not None:
        out.append(('null', None, {f.null}))
    else:
        # Optional: null may read as absent (or clear a nullable field),
        # or be refused; never a 5xx.
        out.append(('null', None, 'absent'))
    out += [(l, v, {s}) for l, v, s in f.extra]
    return out

# --- the endpoints ---------------------------------------------------------------
def member_path(suffix=''):
    return '/v1/members/%s%s' % (aid('member'), suffix)

MEMBER_FIELDS = lambda patch: [
    F(['external_id'], 'str', 1, 100, free=True,
      ok=lambda: 'hx-ok-' + uniq()),
    F(['phone'], 'str', 1, 64, enum=True,
      ok=lambda: '077%07d' % random.randrange(10 ** 7)),
    F(['name'], 'str', 1, 200, free=True, ok='A Name'),
    F(['tier'], 'str', 1, 32, free=True, ok='gold'),
    F(['attributes'], 'obj', ok={'k': 'v'}),
    F(['attributes', 'note'], 'str', None, 200, free=True, custom=True, null=422,
      ok='a note'),
    F(['status'], 'str', 1, 16, enum=True, null=422, ok='active'),
]
MEMBER_UNKNOWN = ['x', 'id', 'tenant_id', 'balance', 'lifetime_points', 'debt',
                  'seq', 'enrolled_by', 'created_at']

EVENT_FIELDS = lambda sim: [
    F(['event_id'], 'str', 1, 100, req=not sim, enum=True, ok=lambda: uniq('ev')),
    F(['type'], 'str', 1, 64, req=True, enum=True, ok='purchase'),
    F(['member'], 'obj', req=True, ok=lambda: {'id': aid('member')}),
    F(['member', 'id'], 'str', 36, 36, enum=True, over={'member': {}},
      ok=lambda: aid('member')),
    F(['member', 'external_id'], 'str', 1, 100, free=True, over={'member': {}},
      ok='member-of-A'),
    F(['member', 'phone'], 'str', 1, 40, enum=True, over={'member': {}},
      ok=lambda: '078%07d' % random.randrange(10 ** 7)),
    F(['amount_minor'], 'int', 1, 10 ** 12, ok=1000),
    F(['currency'], 'str', 3, 3, enum=True, ok='USD'),
    F(['occurred_at'], 'str', 20, 40, enum=True, ok='2026-01-15T10:00:00Z'),
    F(['attributes'], 'obj', ok={'store': 'main'}),
    F(['attributes', 'note'], 'str', None, 200, free=True, custom=True, null=422,
      ok='a note'),
]
EVENT_UNKNOWN = ['x', 'points', 'points_awarded', 'member_id', 'tenant_id', 'rules',
                 'member.x', 'member.tenant_id']

def event_base(sim):
    def base():
        b = {'type': 'purchase', 'member': {'id': aid('member')},
             'amount_minor': 1000, 'currency': 'USD'}
        if not sim:
            b['event_id'] = uniq('ev')
        return b
    return base

RULE_FIELDS = lambda patch: [
    F(['name'], 'str', 1, 100, req=True, free=True, ok='a rule'),
    F(['event_type'], 'str', 1, 64, req=True, enum=True, ok='purchase'),
    F(['active'], 'bool', ok=False),
    F(['priority'], 'int', 0, 1000000, ok=7),
    F(['valid_from'], 'str', enum=True, ok='2020-01-01T00:00:00Z'),
    F(['valid_until'], 'str', enum=True, ok='2099-01-01T00:00:00Z'),
    F(['conditions'], 'obj', ok={}),
    F(['conditions', 'amount_min'], 'int', 1, 10 ** 12, ok=1),
    F(['conditions', 'amount_max'], 'int', 1, 10 ** 12, ok=10 ** 12),
    F(['conditions', 'currency'], 'str', enum=True, ok='USD'),
    F(['conditions', 'days'], 'arr', ok=['mon']),
    F(['conditions', 'days', 0], 'str', enum=True, ok='tue'),
    F(['conditions', 'hours'], 'obj', ok={'from': 9, 'to': 17}),
    F(['conditions', 'hours', 'from'], 'int', 0, 23, ctx={'to': 10}, null=422, ok=8),
    F(['conditions', 'hours', 'to'], 'int', 1, 24, ctx={'from': 9}, null=422, ok=24),
    F(['conditions', 'tiers'], 'arr', ok=['gold']),
    F(['conditions', 'tiers', 0], 'str', 1, 32, free=True, ok='silver'),
    F(['conditions', 'attributes'], 'obj', ok={'store': 'main'}),
    F(['conditions', 'attributes', 'store'], 'str', None, 200, free=True, null=422,
      ok='main'),
    F(['action'], 'obj', req=True, ok={'kind': 'fixed', 'points': 1}),
    F(['action', 'kind'], 'str', enum=True, ctx={'points': 10}, null=422, ok='fixed'),
    F(['action', 'points'], 'int', 1, 10 ** 9, ctx={'kind': 'fixed'}, null=422, ok=3),
    F(['action', 'unit_minor'], 'int', 1, 10 ** 9,
      over={'action': {'kind': 'per_unit', 'points': 1}}, null=422, ok=100),
    F(['action', 'rounding'], 'str', enum=True,
      over={'action': {'kind': 'per_unit', 'points': 1, 'unit_minor': 100}}, ok='up'),
    F(['action', 'percent'], 'int', 101, 1000, over={'action': {'kind': 'multiplier'}},
      null=422, ok=150),
    F(['cap_per_day'], 'int', 1, 10 ** 9, ok=1000),
    F(['cap_per_month'], 'int', 1, 10 ** 9, ok=10000),
    F(['stop'], 'bool', ok=False),
    F(['budget_id'], 'str', enum=True, ok=lambda: aid('budget')),
]
RULE_UNKNOWN = ['x', 'id', 'tenant_id', 'seq', 'deleted_at', 'created_at',
                'conditions.x', 'conditions.hours.x', 'action.x', 'action.tenant_id']
RULE_BASE = {'name': 'hostile rule', 'event_type': 'purchase', 'active': False,
             'action': {'kind': 'fixed', 'points': 10}}

REWARD_FIELDS = lambda patch: [
    F(['name'], 'str', 1, 100, req=not patch, free=True, null=422, ok='tea'),
    F(['description'], 'str', None, 1000, free=True, ok='a cup of tea'),
    F(['cost'], 'int', 1, 10 ** 9, req=not patch, null=422, ok=20),
    F(['stock'], 'int', 0, 10 ** 9, ok=100),
    F(['per_member_limit'], 'int', 1, 10 ** 6, ok=5),
    F(['validity_days'], 'int', 1, 3650, null=422 if patch else None, ok=60),
    F(['active'], 'bool', null=422 if patch else None, ok=True),
]
REWARD_UNKNOWN = ['x', 'id', 'tenant_id', 'issued', 'available', 'deleted_at', 'seq']

BUDGET_FIELDS = lambda patch: [
    F(['name'], 'str', 1, 100, req=not patch, free=True, ok='a budget'),
    F(['monthly_limit'], 'int', 1, 10 ** 12, req=not patch, ok=5000000),
]
BUDGET_UNKNOWN = ['x', 'id', 'tenant_id', 'used', 'remaining', 'month', 'seq']

SETTINGS_FIELDS = [
    F(['expiry_days'], 'int', 1, 3650, over={'expiry_policy': 'days'}, null=422, ok=365),
    F(['timezone'], 'str', 1, 64, enum=True, ok='Africa/Harare'),
    F(['calling_code'], 'str', 1, 3, enum=True, ok='263'),
    F(['other_currencies'], 'arr', ok=['ZWG']),
    F(['other_currencies', 0], 'str', 3, 3, enum=True, custom=True, ok='ZAR'),
    F(['auto_enrol'], 'bool', ok=True),
    F(['expiry_policy'], 'str', 1, 16, enum=True, ok='never'),
    F(['budget_policy'], 'str', 1, 16, enum=True, ok='partial'),
    F(['reversal_policy'], 'str', 1, 16, enum=True, ok='shortfall'),
]
SETTINGS_UNKNOWN = ['x', 'id', 'tenant_id', 'currency', 'rules_version', 'slug',
                    'status', 'updated_at']

def voucher_path(i, verb):
    codes = FA.get('vouchers') or []
    code = codes[i] if i < len(codes) and codes[i] else 'ZZZZZZZZZZ'
    return '/v1/vouchers/%s/%s' % (code, verb)

# (name, method, path, style, base, fields, unknown fields)
ENDPOINTS = [
    ('PATCH /v1/settings', 'PATCH', '/v1/settings', 'jf', {'auto_enrol': True},
     SETTINGS_FIELDS, SETTINGS_UNKNOWN),
    ('POST /v1/members', 'POST', '/v1/members', 'jf',
     lambda: {'external_id': uniq('member')}, MEMBER_FIELDS(False), MEMBER_UNKNOWN),
    ('PATCH /v1/members/{id}', 'PATCH', member_path(), 'jf', {'name': 'hostile base'},
     MEMBER_FIELDS(True), MEMBER_UNKNOWN),
    ('POST /v1/members/{id}/adjustments', 'POST', member_path('/adjustments'), 'jf',
     {'points': 5, 'reason': 'base'},
     [F(['points'], 'int', -10 ** 9, 10 ** 9, req=True, extra=[('0', 0, 422)], ok=7),
      F(['reason'], 'str', 1, 500, req=True, free=True, ok='goodwill')],
     ['x', 'balance', 'kind', 'member_id', 'lot_id', 'balance_after']),
    ('POST /v1/members/{id}/redemptions', 'POST', member_path('/redemptions'), 'jf',
     {'reward_id': aid('reward')},
     [F(['reward_id'], 'str', 1, 64, req=True, enum=True, ok=lambda: aid('reward'))],
     ['x', 'points', 'code', 'member_id', 'cost', 'status', 'expires_at']),
    ('POST /v1/events', 'POST', '/v1/events', 'jf', event_base(False),
     EVENT_FIELDS(False), EVENT_UNKNOWN),
    ('POST /v1/rules/simulate', 'POST', '/v1/rules/simulate', 'jf', event_base(True),
     EVENT_FIELDS(True), EVENT_UNKNOWN),
    ('POST /v1/events/{event_id}/reversal', 'POST',
     '/v1/events/%s/reversal' % FA['event'], 'jf', {'amount_minor': 1},
     [F(['amount_minor'], 'int', 1, 10 ** 12, ok=1),
      F(['reason'], 'str', 1, 500, free=True, ok='refund')],
     ['x', 'points', 'event_id', 'reversed_minor', 'shortfall']),
    ('POST /v1/rules', 'POST', '/v1/rules', 'rule', RULE_BASE, RULE_FIELDS(False),
     RULE_UNKNOWN),
    ('PATCH /v1/rules/{id}', 'PATCH', '/v1/rules/%s' % aid('rule'), 'rule', {},
     RULE_FIELDS(True), RULE_UNKNOWN),
    ('POST /v1/budgets', 'POST', '/v1/budgets', 'jf',
     {'name': 'hostile budget', 'monthly_limit': 1000}, BUDGET_FIELDS(False),
     BUDGET_UNKNOWN),
    ('PATCH /v1/budgets/{id}', 'PATCH', '/v1/budgets/%s' % aid('budget'), 'jf',
     {'name': 'hostile budget 2'}, BUDGET_FIELDS(True), BUDGET_UNKNOWN),
    ('POST /v1/rewards', 'POST', '/v1/rewards', 'jf', {'name': 'hostile reward', 'cost': 10},
     REWARD_FIELDS(False), REWARD_UNKNOWN),
    ('PATCH /v1/rewards/{id}', 'PATCH', '/v1/rewards/%s' % aid('reward'), 'jf',
     {'name': 'hostile reward 2'}, REWARD_FIELDS(True), REWARD_UNKNOWN),
    ('POST /v1/vouchers/{code}/use', 'POST', voucher_path(0, 'use'), 'jf', {}, [],
     ['x', 'status', 'used_at', 'member_id', 'points']),
    ('POST /v1/vouchers/{code}/cancel', 'POST', voucher_path(1, 'cancel'), 'jf', {}, [],
     ['x', 'status', 'cancelled_at', 'member_id', 'points']),
]

def base_body(base):
    return copy.deepcopy(base() if callable(base) else base)

def unknown_body(base, name):
    body = base_body(base)
    parts = name.split('.')
    node = body
    for p in parts[:-1]:
        if not isinstance(node.get(p), dict):
            node[p] = {'from': 9, 'to': 10} if p == 'hours' else {}
        node = node[p]
    node[parts[-1]] = 1
    return body

def fresh_event(amount=1000):
    ev = uniq('ev')
    call(T_A, 'POST', '/v1/events', {'event_id': ev, 'type': 'purchase',
                                     'member': {'id': aid('member')},
                                     'amount_minor': amount, 'currency': 'USD'})
    return ev

# --- 1. every field of every body, every hostile value ---------------------------
for name, method, path, style, base, fields, unknown in ENDPOINTS:
    for f in fields:
        for label, value, want in hostile_values(f, style):
            if want == 'absent':
                parent = F(f.path[:-1], 'obj').name if len(f.path) > 1 else 'body'
                # It may be accepted: a reversal then gets an event of its own.
                where = '/v1/events/%s/reversal' % fresh_event() if 'reversal' in path \
                    else path
                null_tolerated('%s: %s = null is read as absent or refused, never a 5xx'
                               % (name, f.name), method, where, build(base, f, None),
                               (f.name, parent))
                continue
            refused('%s: %s = %s' % (name, f.name, label), T_A, method, path,
                    build(base, f, value), want, f.name)
        if f.kind == 'str' and f.free:
            # The escaped NUL is refused by the parser, naming the field.
            refused('%s: %s with an escaped NUL' % (name, f.name), T_A, method, path,
                    build(base, f, NUL[1]), {400}, f.name)
        if f.kind == 'obj' and f.path[-1] in ('attributes',):
            # Free keys: a value that is not a string is named by its key.
            for label, value in (('1', 1), ('true', True), ('[]', []), ('{}', {}),
                                 ('null', None)):
                g = F(f.path + ['k'], 'str')
                refused('%s: %s.k = %s' % (name, f.name, label), T_A, method, path,
                        build(base, g, value), {422}, g.name)
    for u in unknown:
        refused('%s: unknown field %s' % (name, u), T_A, method, path,
                unknown_body(base, u), {422}, u)
    # Two unknown fields at once: both named.
    r = refused('%s: two unknown fields' % name, T_A, method, path,
                dict(base_body(base), x1=1, x2=2), {422}, 'x1')
    check('%s: two unknown fields: both named' % name, 'x2' in r.fields,
          'errors[] names %s' % r.fields)

# --- 2. whole bodies: not objects, not JSON, empty, too big, wrong type ----------
MIB = 1024 * 1024
for name, method, path, style, base, fields, unknown in ENDPOINTS:
    for label, text in (('[]', '[]'), ('a string', '"x"'), ('null', 'null'),
                        ('a number', '1'), ('true', 'true'), ('[{}]', '[{}]')):
        refused('%s: a body of %s' % (name, label), T_A, method, path, text, {400}, 'body')
    for label, text, field in (('truncated JSON', '{"a":', 'body'),
                               ('single quotes', "{'a':1}", 'body'),
                               ('trailing garbage', '{}x', 'body'),
                               ('two documents', '{} {}', 'body'),
                               ('a trailing comma', '{"a":1,}', 'body'),
                               ('NaN', '{"a":NaN}', 'a'), ('-Infinity', '{"a":-Infinity}', 'a')):
        refused('%s: %s' % (name, label), T_A, method, path, text, {400}, field)
    refused('%s: an empty body' % name, T_A, method, path, b'', {400}, 'body')
    good = enc(base_body(base))
    for ctype in ('text/plain', 'application/x-www-form-urlencoded',
                  'application/jsonx', 'multipart/form-data; boundary=x', None):
        refused('%s: Content-Type %s' % (name, ctype or '(none)'), T_A, method, path,
                good, {415}, None, ctype=ctype)
    # One byte over nginx's and loyaltyd's 1 MiB: 413. Exactly 1 MiB: read,
    # and refused for what it says (a huge unknown field).
    big = '{"x":"' + 'a' * (MIB + 1 - 8) + '"}'
    refused('%s: a body of 1 MiB + 1 byte' % name, T_A, method, path, big, {413}, None)
    big = '{"x":"' + 'a' * (MIB - 8) + '"}'
    refused('%s: a body of exactly 1 MiB' % name, T_A, method, path, big, {400, 422},
            ('x', 'body'))

# --- 3. lists: ?limit= and ?after= ----------------------------------------------
LISTS = ['/v1/members', member_path('/ledger'), '/v1/rules', '/v1/budgets', '/v1/rewards']
for lst in LISTS:
    shown_path = lst.replace(aid('member'), '{id}')
    for q, field in (('limit=100000', 'limit'), ('limit=-1', 'limit'), ('limit=1e3', 'limit'),
                     ('limit=0', 'limit'), ('limit=201', 'limit'), ('limit=abc', 'limit'),
                     ('limit=', 'limit'), ('limit=99999999999999999999', 'limit'),
                     ('limit=%2B5', 'limit'), ('limit=%205', 'limit'),
                     ('after=garbage', 'after'), ('after=-1', 'after'), ('after=1e3', 'after'),
                     ('after=', 'after'), ('after=99999999999999999999', 'after'),
                     ('after=%27%20OR%201%3D1%20--', 'after'), ('after=0x10', 'after')):
        refused('GET %s?%s' % (shown_path, q), T_A, 'GET', '%s?%s' % (lst, q), None,
                {400}, field)
    for q in ('limit=200', 'limit=1&after=0'):
        r = call(T_A, 'GET', '%s?%s' % (lst, q))
        ok = r.status == 200 and isinstance(r.json, dict) and isinstance(r.json.get('items'), list)
        check('GET %s?%s: 200 with items (the refusals above are for the values)'
              % (shown_path, q), ok, 'got %d %s' % (r.status, short(r.text)))
r = call(T_A, 'GET', member_path('/ledger?limit=1'))
nxt = r.json.get('next') if isinstance(r.json, dict) else None
ok = r.status == 200 and len(r.json.get('items') or []) == 1 and nxt not in (None, '')
check('GET /v1/members/{id}/ledger?limit=1: one entry and a next cursor', ok, short(r.text))
r2 = call(T_A, 'GET', member_path('/ledger?limit=1&after=%s' % urllib.parse.quote(str(nxt))))
ok = ok and r2.status == 200 and len(r2.json.get('items') or []) == 1 and \
    r2.json['items'][0] != r.json['items'][0]
check('GET /v1/members/{id}/ledger?after={next}: the next entry (a cursor the list gave works)',
      ok, short(r2.text))
# The filters of the member list are parameters, not SQL.
for label, v in INJECT:
    q = 'external_id=' + urllib.parse.quote(v, safe='')
    r = call(T_A, 'GET', '/v1/members?' + q)
    n = sql('SELECT count(*) FROM members WHERE tenant_id = %s AND external_id = %s'
            % (lit(A_TENANT), lit(v)))
    ok = r.status == 200 and isinstance(r.json, dict) and \
        str(len(r.json.get('items') or [])) == n
    check('GET /v1/members?external_id=%s: 200, the %s member(s) with that id' % (label, n),
          ok, 'got %d %s' % (r.status, short(r.text)))
    refused('GET /v1/members?phone=%s' % label, T_A, 'GET', '/v1/members?phone=' +
            urllib.parse.quote(v, safe=''), None, {400, 422}, 'phone')

# --- 4. the report's dates ---------------------------------------------------------
for q, field in (('', 'from'), ('from=2026-01-01', 'to'), ('to=2026-01-31', 'from'),
                 ('from=garbage&to=2026-01-31', 'from'), ('from=2026-01-01&to=garbage', 'to'),
                 ('from=2026-02-30&to=2026-03-01', 'from'), ('from=2026-13-01&to=2026-12-31', 'from'),
                 ('from=2026-01-01&to=2026-1-31', 'to'), ('from=20260101&to=20260131', 'from'),
                 ('from=1969-12-31&to=1970-01-01', 'from'), ('from=0000-01-01&to=0000-01-02', 'from'),
                 ('from=2026-01-31&to=2026-01-01', 'to'), ('from=2025-01-01&to=2026-01-02', 'to'),
                 ('from=1e3&to=2026-01-01', 'from'), ('from=-2026-01-01&to=2026-01-01', 'from'),
                 ('from=%27%3B%20DROP%20TABLE%20ledger%3B%20--&to=2026-01-01', 'from'),
                 ('from=2026-01-01%00&to=2026-01-02', 'from'),
                 ('from=2026-01-01T00:00:00Z&to=2026-01-02', 'from'),
                 ('from=2026-01-01&to=2026-01-02%20OR%201%3D1', 'to'),
                 ('from=10000-01-01&to=10000-01-02', 'from')):
    refused('GET /v1/reports/summary?%s' % q, T_A, 'GET', '/v1/reports/summary?' + q,
            None, {400}, field)
for q in ('from=2026-01-01&to=2026-01-31', 'from=1970-01-01&to=1970-01-01',
          'from=9999-12-31&to=9999-12-31', 'from=2024-02-29&to=2025-02-28',
          'from=2026-01-01&to=2026-01-01&limit=100000&tenant_id=' + B_TENANT):
    r = call(T_A, 'GET', '/v1/reports/summary?' + q)
    check('GET /v1/reports/summary?%s: 200' % q.replace(B_TENANT, '{B}'),
          r.status == 200 and isinstance(r.json, dict), 'got %d %s' % (r.status, short(r.text)))

# --- 5. another tenant's ids: the 404 of a missing id, byte for byte -------------
CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
def missing(kind):
    if kind == 'event_id':
        return 'missing-' + uuid.uuid4().hex
    if kind == 'code':
        return ''.join(random.choice(CROCKFORD) for _ in range(10))
    return str(uuid.uuid4())

def same_as_missing(desc, method, tmpl, kind, b_id, body, want=404):
    """B's id and a random missing id (and a malformed one) answer alike."""
    before, mark = digest(), log_mark()
    rb = call(T_A, method, tmpl.replace('{%s}' % kind, b_id or 'none'), body)
    rm = call(T_A, method, tmpl.replace('{%s}' % kind, missing(kind)), body)
    bad = problem_faults(rb, {want}, None)
    if (rb.status, rb.ctype, sans_rid(rb.text)) != (rm.status, rm.ctype, sans_rid(rm.text)):
        bad.append('B\'s id got %d %s, a missing id %d %s' % (rb.status, short(sans_rid(rb.text)),
                                                           rm.status, short(sans_rid(rm.text))))
    ch = changed(before, digest())
    if ch:
        bad.append('the database changed: ' + ', '.join(ch))
    report(desc, bad, method, tmpl, body, rb, mark)

ID_ROUTES = [
    ('GET', '/v1/members/{id}', 'id', 'member', None),
    ('PATCH', '/v1/members/{id}', 'id', 'member', {'name': 'taken over'}),
    ('GET', '/v1/members/{id}/ledger', 'id', 'member', None),
    ('POST', '/v1/members/{id}/adjustments', 'id', 'member', {'points': 1000, 'reason': 'x'}),
    ('POST', '/v1/members/{id}/redemptions', 'id', 'member', {'reward_id': aid('reward')}),
    ('GET', '/v1/events/{event_id}', 'event_id', 'event', None),
    ('POST', '/v1/events/{event_id}/reversal', 'event_id', 'event', {}),
    ('GET', '/v1/rules/{id}', 'id', 'rule', None),
    ('PATCH', '/v1/rules/{id}', 'id', 'rule', {'priority': 1}),
    ('DELETE', '/v1/rules/{id}', 'id', 'rule', None),
    ('GET', '/v1/budgets/{id}', 'id', 'budget', None),
    ('PATCH', '/v1/budgets/{id}', 'id', 'budget', {'monthly_limit': 1}),
    ('GET', '/v1/rewards/{id}', 'id', 'reward', None),
    ('PATCH', '/v1/rewards/{id}', 'id', 'reward', {'stock': 0}),
    ('DELETE', '/v1/rewards/{id}', 'id', 'reward', None),
    ('GET', '/v1/vouchers/{code}', 'code', 'vouchers', None),
    ('POST', '/v1/vouchers/{code}/use', 'code', 'vouchers', {}),
    ('POST', '/v1/vouchers/{code}/cancel', 'code', 'vouchers', {}),
]
MALFORMED = [("%27%3B%20DROP%20TABLE%20members%3B%20--", "'; DROP TABLE members; --"),
             ('%27%20OR%20%271%27%3D%271', "' OR '1'='1"), ('%251%24s', '%1$s'),
             ('00000000-0000-0000-0000-00000000000G', 'not hex')]
for method, tmpl, kind, what, body in ID_ROUTES:
    b_id = FB.get(what)
    if what == 'vouchers':
        b_id = (FB.get('vouchers') or [None])[0]
    same_as_missing('%s %s with B\'s %s = a missing one: 404' % (method, tmpl, what),
                    method, tmpl, kind, b_id, body)
    for enc_id, label in MALFORMED:
        same_as_missing('%s %s with the id %s = a missing one: 404' % (method, tmpl, label),
                        method, tmpl, kind, enc_id, body)
# Ids in bodies: B's reward, budget and member are A's missing ones.
def same_body(desc, method, path, body_b, body_m):
    before, mark = digest(), log_mark()
    rb = call(T_A, method, path, body_b)
    rm = call(T_A, method, path, body_m)
    bad = []
    if rb.status >= 500 or rb.status < 400:
        bad.append('B\'s id got %d' % rb.status)
    if (rb.status, rb.ctype, sans_rid(rb.text)) != (rm.status, rm.ctype, sans_rid(rm.text)):
        bad.append('B\'s id got %d %s, a missing id %d %s' % (rb.status, short(sans_rid(rb.text)),
                                                           rm.status, short(sans_rid(rm.text))))
    ch = changed(before, digest())
    if ch:
        bad.append('the database changed: ' + ', '.join(ch))
    report(desc, bad, method, path, body_b, rb, mark)

same_body('POST /v1/members/{id}/redemptions with B\'s reward_id = a missing one', 'POST',
          member_path('/redemptions'), {'reward_id': FB.get('reward')},
          {'reward_id': str(uuid.uuid4())})
same_body('POST /v1/rules with B\'s budget_id = a missing one', 'POST', '/v1/rules',
          dict(RULE_BASE, budget_id=FB.get('budget')), dict(RULE_BASE, budget_id=str(uuid.uuid4())))
same_body('PATCH /v1/rules/{id} with B\'s budget_id = a missing one', 'PATCH',
          '/v1/rules/%s' % aid('rule'), {'budget_id': FB.get('budget')},
          {'budget_id': str(uuid.uuid4())})
ev = uniq('ev')
same_body('POST /v1/events for B\'s member.id = a missing one', 'POST', '/v1/events',
          {'event_id': ev, 'type': 'purchase', 'member': {'id': FB.get('member')}},
          {'event_id': ev, 'type': 'purchase', 'member': {'id': str(uuid.uuid4())}})
same_body('POST /v1/rules/simulate for B\'s member.id = a missing one', 'POST',
          '/v1/rules/simulate', {'type': 'purchase', 'member': {'id': FB.get('member')}},
          {'type': 'purchase', 'member': {'id': str(uuid.uuid4())}})

# --- 6. free text: SQL injection, non-ASCII, NUL: stored verbatim or refused ------
def get_json(path):
    r = call(T_A, 'GET', path)
    return r.json if r.status == 200 and isinstance(r.json, dict) else {}

def stored_or_refused(desc, make, field, read, nul=False):
    """make() -> (method, path, body), after any writes of its own; read(resp)
    -> the value as stored, read back with a GET."""
    method, path, body = make()
    before, mark = digest(), log_mark()
    r = call(T_A, method, path, body)
    bad = []
    if nul:
        bad = problem_faults(r, {400}, field)
        ch = changed(before, digest())
        if ch:
            bad.append('the database changed: ' + ', '.join(ch))
    elif 200 <= r.status < 300:
        want = dig(body, *FIELD_PATHS[field])
        got = read(r)
        if not isinstance(want, str) or got != want:
            bad.append('stored %s, sent %s' % (shown(got), shown(want)))
    else:
        bad = problem_faults(r, {400, 422}, field)
        ch = changed(before, digest())
        if ch:
            bad.append('the database changed: ' + ', '.join(ch))
    report(desc, bad, method, path, body, r, mark)

def key_of(doc):
    return list(doc.keys())[0] if isinstance(doc, dict) and len(doc) == 1 else doc

FIELD_PATHS = {}
def target(field, path):
    FIELD_PATHS[field] = path
    return field

def reversal_reason(ev):
    items = get_json(member_path('/ledger?limit=200')).get('items') or []
    for it in items:
        if it.get('kind') == 'reverse' and it.get('event_id') == ev:
            return it.get('reason')
    return '(no reverse entry for %s in the ledger)' % ev

INJECTION_TARGETS = [
    ('POST /v1/members', target('name', ['name']),
     lambda v: ('POST', '/v1/members', {'external_id': uniq('inj'), 'name': v}),
     lambda r: get_json('/v1/members/%s' % r.json.get('id')).get('name')),
    ('POST /v1/members', target('external_id', ['external_id']),
     lambda v: ('POST', '/v1/members', {'external_id': v}),
     lambda r: get_json('/v1/members/%s' % r.json.get('id')).get('external_id')),
    ('POST /v1/members', target('tier', ['tier']),
     lambda v: ('POST', '/v1/members', {'external_id': uniq('inj'), 'tier': v}),
     lambda r: get_json('/v1/members/%s' % r.json.get('id')).get('tier')),
    ('POST /v1/members', target('attributes.note', ['attributes', 'note']),
     lambda v: ('POST', '/v1/members', {'external_id': uniq('inj'), 'attributes': {'note': v}}),
     lambda r: dig(get_json('/v1/members/%s' % r.json.get('id')), 'attributes', 'note')),
    ('PATCH /v1/members/{id}', 'name',
     lambda v: ('PATCH', member_path(), {'name': v}),
     lambda r: get_json(member_path()).get('name')),
    ('PATCH /v1/members/{id}', 'external_id',
     lambda v: ('PATCH', member_path(), {'external_id': 'p:' + v}),
     lambda r: get_json(member_path()).get('external_id')),
    ('PATCH /v1/members/{id}', 'tier',
     lambda v: ('PATCH', member_path(), {'tier': 'p:' + v}),
     lambda r: get_json(member_path()).get('tier')),
    ('PATCH /v1/members/{id}', 'attributes.note',
     lambda v: ('PATCH', member_path(), {'attributes': {'note': v}}),
     lambda r: dig(get_json(member_path()), 'attributes', 'note')),
    ('POST /v1/members/{id}/adjustments', target('reason', ['reason']),
     lambda v: ('POST', member_path('/adjustments'), {'points': 1, 'reason': v}),
     lambda r: dig(get_json(member_path('/ledger?limit=1')), 'items', 0, 'reason')),
    ('POST /v1/events/{event_id}/reversal', 'reason',
     lambda v: (lambda ev: ('POST', '/v1/events/%s/reversal' % ev, {'reason': v}))(fresh_event()),
     lambda r: reversal_reason(r.json.get('event_id'))),
    ('POST /v1/events', 'attributes.note',
     lambda v: ('POST', '/v1/events', {'event_id': uniq('ev'), 'type': 'purchase',
                                       'member': {'id': aid('member')}, 'attributes': {'note': v}}),
     lambda r: dig(get_json('/v1/events/%s' % r.json.get('event_id')), 'attributes', 'note')),
    ('POST /v1/events', target('member.external_id', ['member', 'external_id']),
     lambda v: ('POST', '/v1/events', {'event_id': uniq('ev'), 'type': 'purchase',
                                       'member': {'external_id': 'e:' + v}}),
     lambda r: get_json('/v1/members/%s' % get_json('/v1/events/%s' % r.json.get('event_id'))
                        .get('member_id')).get('external_id')),
    ('POST /v1/rules', 'name',
     lambda v: ('POST', '/v1/rules', dict(RULE_BASE, name=v)),
     lambda r: get_json('/v1/rules/%s' % r.json.get('id')).get('name')),
    ('POST /v1/rules', target('conditions.tiers[0]', ['conditions', 'tiers', 0]),
     lambda v: ('POST', '/v1/rules', dict(RULE_BASE, conditions={'tiers': [v]})),
     lambda r: dig(get_json('/v1/rules/%s' % r.json.get('id')), 'conditions', 'tiers', 0)),
    ('POST /v1/rules', target('conditions.attributes.store', ['conditions', 'attributes', 'store']),
     lambda v: ('POST', '/v1/rules', dict(RULE_BASE, conditions={'attributes': {'store': v}})),
     lambda r: dig(get_json('/v1/rules/%s' % r.json.get('id')), 'conditions', 'attributes', 'store')),
    ('PATCH /v1/rules/{id}', 'name',
     lambda v: ('PATCH', '/v1/rules/%s' % aid('rule'), {'name': v}),
     lambda r: get_json('/v1/rules/%s' % aid('rule')).get('name')),
    ('POST /v1/budgets', 'name',
     lambda v: ('POST', '/v1/budgets', {'name': v, 'monthly_limit': 10}),
     lambda r: get_json('/v1/budgets/%s' % r.json.get('id')).get('name')),
    ('PATCH /v1/budgets/{id}', 'name',
     lambda v: ('PATCH', '/v1/budgets/%s' % aid('budget'), {'name': v}),
     lambda r: get_json('/v1/budgets/%s' % aid('budget')).get('name')),
    ('POST /v1/rewards', 'name',
     lambda v: ('POST', '/v1/rewards', {'name': v, 'cost': 10}),
     lambda r: get_json('/v1/rewards/%s' % r.json.get('id')).get('name')),
    ('POST /v1/rewards', target('description', ['description']),
     lambda v: ('POST', '/v1/rewards', {'name': 'r', 'cost': 10, 'description': v}),
     lambda r: get_json('/v1/rewards/%s' % r.json.get('id')).get('description')),
    ('PATCH /v1/rewards/{id}', 'name',
     lambda v: ('PATCH', '/v1/rewards/%s' % aid('reward'), {'name': v}),
     lambda r: get_json('/v1/rewards/%s' % aid('reward')).get('name')),
    ('PATCH /v1/rewards/{id}', 'description',
     lambda v: ('PATCH', '/v1/rewards/%s' % aid('reward'), {'description': v}),
     lambda r: get_json('/v1/rewards/%s' % aid('reward')).get('description')),
]
for name, field, make, read in INJECTION_TARGETS:
    for label, v in INJECT + [NUL]:
        is_nul = v == NUL[1]
        stored_or_refused('%s: %s = %s %s' % (name, field, label,
                          'is 400' if is_nul else 'is stored verbatim or refused'),
                          lambda: make(v), field, read, nul=is_nul)
# Keys of free-form attributes: stored as sent or refused.
for name, make, read in (
        ('POST /v1/members', lambda k: ('POST', '/v1/members', {'external_id': uniq('inj'),
                                                               'attributes': {k: 'v'}}),
         lambda r: key_of(get_json('/v1/members/%s' % r.json.get('id')).get('attributes'))),
        ('POST /v1/events', lambda k: ('POST', '/v1/events', {
            'event_id': uniq('ev'), 'type': 'purchase', 'member': {'id': aid('member')},
            'attributes': {k: 'v'}}),
         lambda r: key_of(get_json('/v1/events/%s' % r.json.get('event_id')).get('attributes'))),
        ('POST /v1/rules', lambda k: ('POST', '/v1/rules', dict(RULE_BASE, conditions={
            'attributes': {k: 'v'}})),
         lambda r: key_of(dig(get_json('/v1/rules/%s' % r.json.get('id')), 'conditions',
                              'attributes')))):
    for label, k in INJECT:
        method, path, body = make(k)
        before, mark = digest(), log_mark()
        r = call(T_A, method, path, body)
        bad = []
        if 200 <= r.status < 300:
            got = read(r)
            if got != k:
                bad.append('stored the key %s, sent %s' % (shown(got), shown(k)))
        else:
            bad = problem_faults(r, {400, 422}, None)
            if not r.fields:
                bad.append('errors[] names no field')
            ch = changed(before, digest())
            if ch:
                bad.append('the database changed: ' + ', '.join(ch))
        report('%s: an attributes key %s is stored verbatim or refused' % (name, label),
               bad, method, path, body, r, mark)
    body = make('k')[2]
    text = enc(body).replace('"k"', '"k\\u0000x"')
    refused('%s: an attributes key with an escaped NUL is 400' % name, T_A, make('k')[0],
            make('k')[1], text, {400}, 'body')
# Simulation stores nothing, whatever the text.
for label, v in INJECT:
    before, mark = digest(), log_mark()
    body = {'type': 'purchase', 'member': {'external_id': v}, 'attributes': {'note': v}}
    r = call(T_A, 'POST', '/v1/rules/simulate', body)
    bad = [] if r.status < 500 else ['a %d' % r.status]
    ch = changed(before, digest())
    if ch:
        bad.append('the database changed: ' + ', '.join(ch))
    report('POST /v1/rules/simulate with %s in member.external_id and attributes: no 5xx, '
           'nothing written' % label, bad, 'POST', '/v1/rules/simulate', body, r, mark)
for t in TABLES:
    check('table %s is still there' % t, sql("SELECT to_regclass(%s) IS NOT NULL" % lit(t)) == 't')
check('A\'s first member is still there',
      sql("SELECT count(*) FROM members WHERE tenant_id = %s AND id = %s"
          % (lit(A_TENANT), lit(aid('member')))) == '1')

# --- 7. the same bodies with good values are accepted ------------------------------
for name, method, path, style, base, fields, unknown in ENDPOINTS:
    cases = [('the base body', base_body(base))]
    for f in fields:
        if f.ok is not None:
            cases.append(('%s = good value' % f.name,
                          build(base, f, f.ok() if callable(f.ok) else f.ok)))
    for label, body in cases:
        if 'reversal' in path:
            # A null amount_minor above was read as absent: a whole
            # reversal of that event. Each control reverses an event of its own.
            path = '/v1/events/%s/reversal' % fresh_event()
        r = call(T_A, method, path, body)
        check('%s: %s is accepted (so the values above were the reason)' % (name, label),
              r.status in (200, 201), 'request: %s\nresponse: %d %s'
              % (short(enc(body), 300), r.status, short(r.text)))
        if method == 'POST' and 'vouchers' in path:
            break
r = call(T_A, 'PATCH', '/v1/settings', {'expiry_policy': 'never', 'other_currencies': []})
check('PATCH /v1/settings back to the defaults', r.status == 200, short(r.text))

# --- 8. tenant B saw none of it ------------------------------------------------------
after_b = digest(B_TENANT)
check('no row of tenant B changed', after_b == B_DIGEST,
      'changed: ' + ', '.join(changed(B_DIGEST, after_b)))
print('D\t%d hostile and control rows, %d failed' % (COUNTS['rows'], COUNTS['failed']), flush=True)
PY
printf '%s\n' "# (the Python helper is written; it runs next)"

hx_rc=none
while IFS=$'\t' read -r kind desc diagtext; do
	case $kind in
	P) pass "$desc" ;;
	F) fail "$desc" "${diagtext//$'\x1f'/$'\n'}" ;;
	X) hx_rc=${desc#rc=} ;;
	D) diag "$desc" ;;
	*) diag "$kind $desc" ;;
	esac
done < <(python3 "$HARNESS_DIR/hostile.py" 2>"$HARNESS_DIR/hostile.err"; echo "X	rc=$?")
if [ "$hx_rc" != 0 ] || [ -s "$HARNESS_DIR/hostile.err" ]; then
	fail "the Python helper ran to its end (exit $hx_rc)" \
		"$(tail -n 20 "$HARNESS_DIR/hostile.err")"
fi

is "$(log_lines db_error)" "" "no database error in loyaltyd's log"
is "$(log_lines worker_exit | grep -E '"reason":"crash"|"signal":')" "" "no worker crashed"
is "$(worker_pids | sort | tr '\n' ' ')" "$workers_before" "the same workers serve as at the start"

done_testing
