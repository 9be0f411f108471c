#!/bin/bash
# Account lockout as configured (auth.lockout_failures=4, lockout_s=2 here):
# the Nth wrong password locks the account with 423 and Retry-After; while
# it is locked the right password gets the very same answer as a wrong one
# (apart from request_id), so a guesser learns nothing; an unknown email
# gets the same 401 as a wrong password; once lockout_s has passed the right
# password works, and the count starts again.
. "$(dirname "$0")/lib/harness.sh"
. "$(dirname "$0")/lib/api.sh"
export LOYALTY_NGINX_REQ_RATE=1000r/s LOYALTY_NGINX_REQ_BURST=1000 \
	LOYALTY_NGINX_AUTH_RATE=1000r/s LOYALTY_NGINX_AUTH_BURST=1000
harness_up auth.lockout_failures=4 auth.lockout_s=2 \
	limits.login_per_email=1000 limits.login_per_addr=1000

mk_tenant shop-a >/dev/null && mk_tenant shop-b >/dev/null || exit 1
mk_user shop-a clerk@a.example viewer 'clerk-a-password' >/dev/null || exit 1
mk_user shop-a other@a.example viewer 'other-a-password' >/dev/null || exit 1
# One person, staff at two merchants.
mk_user shop-a shared@example.com viewer 'shared-a-password' >/dev/null || exit 1
mk_user shop-b shared@example.com viewer 'shared-b-password' >/dev/null || exit 1

# --- before the lockout -------------------------------------------------------------
login clerk@a.example wrong-password-1
is "$(status_type)" "401 application/problem+json" "a wrong password: 401"
wrong=$(sans_rid "$BODY")
is "$(header Retry-After)" "" "without Retry-After"
login nobody@a.example wrong-password-1
is "$(status_type)" "401 application/problem+json" "an unknown email: 401"
is "$(sans_rid "$BODY")" "$wrong" "with the body of a wrong password"
login nobody@a.example clerk-a-password
is "$STATUS $(sans_rid "$BODY")" "401 $wrong" "an unknown email with a real password: the same"
# Without a tenant, the email of two accounts must not answer differently
# from one that does not exist: that would tell a stranger it is there.
login shared@example.com wrong-password-1
is "$STATUS $(sans_rid "$BODY")" "401 $wrong" \
	"an email with accounts at two tenants, a wrong password, no tenant: the same 401"
login shared@example.com shared-b-password shop-b
is "$STATUS" 200 "control: that email logs in at the tenant it names"
for i in 2 3; do
	login clerk@a.example "wrong-password-$i"
	is "$STATUS $(sans_rid "$BODY")" "401 $wrong" "wrong password $i of 4: the same 401"
done

# --- the lockout ----------------------------------------------------------------------
# raw_login EMAIL PASSWORD: login without a python3 start (0.2 s) in the way.
raw_login() {
	http POST /v1/auth/login -H 'Content-Type: application/json' \
		--data-binary "{\"email\":\"$1\",\"password\":\"$2\"}"
}
raw_login clerk@a.example wrong-password-4
lock_type=$(status_type) lock_body=$BODY lock_retry=$(header Retry-After)
until=$(psql_q "SELECT extract(epoch FROM locked_until) FROM users WHERE email = 'clerk@a.example'")
# A locked body says how many seconds are left, rounded up: both requests
# below go out right after that number changes, so they see the same one.
python3 -c 'import sys, time
time.sleep((float(sys.argv[1]) - time.time() - 0.95) % 1)' "$until"
raw_login clerk@a.example clerk-a-password
right_status=$STATUS right=$(sans_rid "$BODY") right_retry=$(header Retry-After)
raw_login clerk@a.example wrong-password-5
wrong_status=$STATUS wrong_locked=$(sans_rid "$BODY") wrong_retry=$(header Retry-After)

is "$lock_type" "423 application/problem+json" "wrong password 4 of 4 locks the account: 423"
like "$lock_body" '"type":"urn:loyalty:problem:account-locked"' "an account-locked problem"
is "$lock_retry" 2 "Retry-After: 2 (auth.lockout_s)"
like "$until" '^[0-9]+\.?[0-9]*$' "locked_until is set"
is "$right_status" 423 "the right password while locked: 423"
is "$wrong_status" 423 "a wrong password while locked: 423"
is "$right" "$wrong_locked" "the two bodies are the same but for request_id"
like "$right_retry" '^[12]$' "with Retry-After"
is "$right_retry" "$wrong_retry" "the same Retry-After"
unlike "$right" 'access_token|password is (right|correct)|wrong password' "the body does not tell"
login nobody@a.example clerk-a-password
is "$STATUS $(sans_rid "$BODY")" "401 $wrong" "an unknown email still gets the plain 401"
login other@a.example other-a-password
is "$STATUS" 200 "another user of the tenant is not locked"

# --- after lockout_s -----------------------------------------------------------------
python3 -c 'import sys, time
time.sleep(max(0, float(sys.argv[1]) - time.time()) + 0.3)' \
	"$(psql_q "SELECT extract(epoch FROM locked_until) FROM users WHERE email = 'clerk@a.example'")"
login clerk@a.example clerk-a-password
is "$STATUS" 200 "once lockout_s has passed, the right password works"
like "$TOKEN" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "and gives a token"
is "$(psql_q "SELECT failed_logins, locked_until IS NULL FROM users WHERE email = 'clerk@a.example'")" \
	"0|t" "the failure count is back to 0"
login clerk@a.example wrong-password-6
is "$STATUS $(sans_rid "$BODY")" "401 $wrong" "the next wrong password is a plain 401 again"

done_testing
