#!/bin/bash
# Forged and damaged access tokens. The test reads the stack's real
# auth.jwt_key, so it can sign anything the daemon would: a token it signs
# with the right claims is accepted (the control), and every attack below is
# refused with 401 and a problem document — alg "none", HS512, RS256 with an
# HMAC (key confusion), a bad signature, another key, time claims outside
# the 30 s leeway, the wrong audience or issuer, broken tokens, broken
# Authorization headers. A token of a deleted user stops working at once;
# a lowered role applies at once.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
export LOYALTY_NGINX_REQ_RATE=1000r/s LOYALTY_NGINX_REQ_BURST=1000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000
harness_up limits.tenant_rate=10000 limits.tenant_burst=10000

mk_tenant shop-a >/dev/null && B=$(mk_tenant shop-b) || exit 1
mk_user shop-a owner@a.example owner 'owner-a-password' >/dev/null || exit 1
KEY=$(secret_of auth.jwt_key)
like "$KEY" '^[0-9a-f]{64,128}$' "the stack's auth.jwt_key is read from its secrets file"
login owner@a.example owner-a-password
is "$STATUS" 200 "the owner logs in"
T_OWNER=$TOKEN

# payload_of TOKEN: its claims, as JSON.
payload_of() {
	python3 -c 'import base64, sys
p = sys.argv[1].split(".")[1]
print(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)).decode())' "$1"
}
# The claims of a real token, as the base of every forged one.
BASE=$(payload_of "$T_OWNER")
like "$BASE" '"sid":' "the real token's claims are read"
HS256='{"alg":"HS256","typ":"JWT"}'

# claims NAME=JSON ...: BASE with these claims replaced; "now+N" and "now-N"
# are times relative to now, "-" drops the claim.
claims() {
	python3 - "$BASE" "$@" <<'EOF'
import json, sys, time
d = json.loads(sys.argv[1])
now = int(time.time())
for arg in sys.argv[2:]:
    k, v = arg.split("=", 1)
    if v == "-":
        d.pop(k, None)
    elif v.startswith("now"):
        d[k] = now + int(v[3:] or 0)
    else:
        d[k] = json.loads(v)
print(json.dumps(d, separators=(",", ":")))
EOF
}

# forge HEADER PAYLOAD HASH KEYHEX: base64url(HEADER).base64url(PAYLOAD).MAC,
# MAC the HMAC (HASH sha256 or sha512) under KEYHEX; HASH "unsigned": no MAC.
forge() {
	python3 - "$@" <<'EOF'
import base64, hashlib, hmac, sys
def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head, payload, hashname, key = sys.argv[1:5]
signing = b64(head.encode()) + "." + b64(payload.encode())
sig = "" if hashname == "unsigned" else b64(hmac.new(bytes.fromhex(key),
    signing.encode(), getattr(hashlib, hashname)).digest())
print(signing + "." + sig)
EOF
}

fresh_claims() { claims iat=now nbf=now exp=now+900 "$@"; }

# refused DESC TOKEN: the token is refused with a 401 problem document.
refused() {
	api "$2" GET /v1/me
	is "$(status_type)" "401 application/problem+json" "$1: 401"
}

# --- the controls -----------------------------------------------------------------
api "$(forge "$HS256" "$(fresh_claims)" sha256 "$KEY")" GET /v1/me
is "$STATUS" 200 "control: a token the test signs with the real key is accepted"
is "$(jq_get "$BODY" user.email)" owner@a.example "as the owner"
api "$(forge "$HS256" "$(fresh_claims exp=now-20)" sha256 "$KEY")" GET /v1/me
is "$STATUS" 200 "control: expired 20 s ago is within the 30 s leeway"
api "$(forge "$HS256" "$(fresh_claims nbf=now+20 iat=now+20)" sha256 "$KEY")" GET /v1/me
is "$STATUS" 200 "control: nbf and iat 20 s ahead are within the leeway"

# --- algorithms -------------------------------------------------------------------
refused 'alg "none", no signature' \
	"$(forge '{"alg":"none","typ":"JWT"}' "$(fresh_claims)" unsigned '')"
refused 'alg "none", signed with the real key' \
	"$(forge '{"alg":"none","typ":"JWT"}' "$(fresh_claims)" sha256 "$KEY")"
refused 'alg "None", no signature' \
	"$(forge '{"alg":"None"}' "$(fresh_claims)" unsigned '')"
refused 'no alg at all, signed with the real key' \
	"$(forge '{"typ":"JWT"}' "$(fresh_claims)" sha256 "$KEY")"
refused 'HS512 with the real key' \
	"$(forge '{"alg":"HS512","typ":"JWT"}' "$(fresh_claims)" sha512 "$KEY")"
refused 'RS256 header, HMAC-SHA256 with the real key (confusion)' \
	"$(forge '{"alg":"RS256","typ":"JWT"}' "$(fresh_claims)" sha256 "$KEY")"
PEM=$(printf '%s' '-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEexample0publickey0for0confusion0
-----END PUBLIC KEY-----' | od -An -tx1 | tr -d ' \n')
refused 'RS256 header, HMAC-SHA256 with a "public key" as secret' \
	"$(forge '{"alg":"RS256","typ":"JWT"}' "$(fresh_claims)" sha256 "$PEM")"
refused 'HS256 with a kid header (unknown header parameter)' \
	"$(forge '{"alg":"HS256","typ":"JWT","kid":"../../dev/null"}' "$(fresh_claims)" sha256 "$KEY")"

# --- signatures -------------------------------------------------------------------
good=$(forge "$HS256" "$(fresh_claims)" sha256 "$KEY")
sig=${good##*.}
flipped=$([ "${sig:0:1}" = A ] && echo B || echo A)${sig:1}
refused "a bad signature (first character changed)" "${good%.*}.$flipped"
refused "the signature of another token" "${good%.*}.${T_OWNER##*.}"
refused "signed with another key" \
	"$(forge "$HS256" "$(fresh_claims)" sha256 "$(openssl rand -hex 32)")"
refused "signed with an empty key" "$(forge "$HS256" "$(fresh_claims)" sha256 '')"

# --- claims -----------------------------------------------------------------------
refused "expired 31 s ago (beyond the 30 s leeway)" \
	"$(forge "$HS256" "$(fresh_claims exp=now-31)" sha256 "$KEY")"
refused "expired an hour ago" \
	"$(forge "$HS256" "$(fresh_claims iat=now-4000 nbf=now-4000 exp=now-3600)" sha256 "$KEY")"
refused "nbf 40 s in the future" \
	"$(forge "$HS256" "$(fresh_claims nbf=now+40)" sha256 "$KEY")"
refused "iat 40 s in the future" \
	"$(forge "$HS256" "$(fresh_claims iat=now+40)" sha256 "$KEY")"
refused "wrong aud" "$(forge "$HS256" "$(fresh_claims aud='"other-api"')" sha256 "$KEY")"
refused "aud as a list" "$(forge "$HS256" "$(fresh_claims aud='["loyalty-api"]')" sha256 "$KEY")"
refused "wrong iss" "$(forge "$HS256" "$(fresh_claims iss='"evil"')" sha256 "$KEY")"
refused "no exp" "$(forge "$HS256" "$(fresh_claims exp=-)" sha256 "$KEY")"
refused "exp as a string" \
	"$(forge "$HS256" "$(fresh_claims exp="\"$(($(date +%s) + 900))\"")" sha256 "$KEY")"
refused "no sid" "$(forge "$HS256" "$(fresh_claims sid=-)" sha256 "$KEY")"
refused "tid of another tenant, with the owner's sub and sid" \
	"$(forge "$HS256" "$(fresh_claims tid="\"$B\"")" sha256 "$KEY")"
refused "a sid that is no session" \
	"$(forge "$HS256" "$(fresh_claims sid="\"$(uuid)\"")" sha256 "$KEY")"
# The role of a token is not believed: the database's role is.
api "$(forge "$HS256" "$(fresh_claims role='"platform_admin"')" sha256 "$KEY")" GET /v1/tenants
is "$STATUS" 403 "a role claim of platform_admin gives the owner nothing more (403)"

# --- broken tokens and headers -------------------------------------------------------
refused "truncated by 5 characters" "${T_OWNER:0:$((${#T_OWNER} - 5))}"
refused "without its signature" "${T_OWNER%.*}."
refused "without its signature part" "${T_OWNER%.*}"
refused "with a fourth part" "$T_OWNER.$sig"
refused "garbage" 'garbage'
refused "three garbage parts" 'a.b.c'
refused "random base64url" "$(openssl rand -base64 96 | tr -d '\n=' | tr '+/' '-_')"
refused "padding added" "$T_OWNER=="
http GET /v1/me -H 'Authorization: Bearer '
is "$(status_type)" "401 application/problem+json" "an empty Bearer: 401"
http GET /v1/me -H 'Authorization: Bearer'
is "$(status_type)" "401 application/problem+json" "Bearer without a token: 401"
http GET /v1/me -H 'Authorization;'
is "$(status_type)" "401 application/problem+json" "an empty Authorization header: 401"
http GET /v1/me -H "Authorization: Basic $(printf 'owner@a.example:owner-a-password' | base64 -w0)"
is "$(status_type)" "401 application/problem+json" "Basic credentials: 401"
http GET /v1/me -H "Authorization: Token $T_OWNER"
is "$(status_type)" "401 application/problem+json" "another scheme with a good token: 401"
# nginx (1.22) refuses a repeated Authorization header itself with 400, so
# the request never reaches loyaltyd; either refusal is fine, never a 200.
http GET /v1/me -H "Authorization: Bearer $T_OWNER" -H "Authorization: Bearer $T_OWNER"
like "$(status_type)" '^40[01] application/problem\+json$' \
	"two Authorization headers (both good): refused, 400 or 401 (got $STATUS)"
http GET /v1/me --http1.1 -H "Authorization: Bearer $T_OWNER" -H "Authorization: Bearer garbage"
like "$(status_type)" '^40[01] application/problem\+json$' \
	"two Authorization headers over HTTP/1.1, good and bad: refused (got $STATUS)"
api "$T_OWNER" GET /v1/me
is "$STATUS" 200 "the real token still works after all that"

# --- the database has the last word -------------------------------------------------
api "$T_OWNER" POST /v1/users '{"email":"gone@a.example","role":"admin","password":"gone-a-password"}'
is "$STATUS" 201 "the owner creates an admin to delete"
GONE=$(jq_get "$BODY" id)
api "$T_OWNER" POST /v1/users '{"email":"demoted@a.example","role":"admin","password":"demoted-a-password"}'
is "$STATUS" 201 "and an admin to demote"
DEMOTED=$(jq_get "$BODY" id)
login gone@a.example gone-a-password
T_GONE=$TOKEN
login demoted@a.example demoted-a-password
T_DEMOTED=$TOKEN

api "$T_GONE" GET /v1/me
is "$STATUS" 200 "control: the admin's token works"
api "$T_OWNER" DELETE "/v1/users/$GONE"
is "$STATUS" 204 "the owner deletes the admin"
refused "the token of a deleted user" "$T_GONE"
refused "the deleted user's claims signed afresh with the real key" \
	"$(BASE=$(payload_of "$T_GONE") fresh_claims | { read -r c; forge "$HS256" "$c" sha256 "$KEY"; })"

api "$T_DEMOTED" GET /v1/users
is "$STATUS" 200 "control: the admin lists users"
api "$T_OWNER" PATCH "/v1/users/$DEMOTED" '{"role":"viewer"}'
is "$STATUS" 200 "the owner makes the admin a viewer"
api "$T_DEMOTED" GET /v1/users
is "$(status_type)" "403 application/problem+json" "the same token is a viewer's at once: 403 on an admin route"
api "$T_DEMOTED" GET /v1/me
is "$STATUS/$(jq_get "$BODY" role)" 200/viewer "and /v1/me says viewer"

done_testing
