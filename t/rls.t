#!/bin/bash
# The wall between tenants, in the catalog and in practice: every table
# with a tenant_id column has row-level security enabled and forced, with
# tenant_id leading its primary key and every unique key; the application
# role owns nothing and bypasses nothing; a transaction sees only the
# tenant it names with set_config(..., true), and nothing once it ends.
. "$(dirname "$0")/lib/harness.sh"
harness_dir
stack_init "$HARNESS_DIR" && stack_pg_start && stack_createdb &&
	stack_write_config && stack_migrate || { fail "the database starts"; exit 1; }
q() { stack_psql -At -c "$1"; }
# app [SETTING] SQL: as the application's role, in one transaction, after
# SETTING (a set_config, its output discarded).
app() {
	local setting=''
	[ $# -lt 2 ] || { setting=$1; shift; }
	printf 'BEGIN;\nSET LOCAL ROLE loyalty;\n\\o /dev/null\n%s\n\\o\n%s;\nCOMMIT;\n' \
		"${setting:+$setting;}" "$1" | stack_psql -At 2>&1
}

tables=$(q "SELECT c.relname FROM pg_class c
	JOIN pg_namespace n ON n.oid = c.relnamespace
	JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
	WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1")
cmp_num "$(printf '%s\n' "$tables" | grep -c .)" -ge 5 \
	"the tenant tables are there ($(printf '%s' "$tables" | tr '\n' ' '))"
is "$(q "SELECT string_agg(c.relname, ' ') FROM pg_class c
	JOIN pg_namespace n ON n.oid = c.relnamespace
	JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped
	WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
	AND NOT (c.relrowsecurity AND c.relforcerowsecurity)")" "" \
	"every table with a tenant_id column has row-level security enabled and forced"
is "$(q "SELECT string_agg(i.indexrelid::regclass::text, ' ') FROM pg_index i
	JOIN pg_class c ON c.oid = i.indrelid
	JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'public' AND (i.indisunique OR i.indisprimary)
	AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
	    AND a.attname = 'tenant_id' AND NOT a.attisdropped)
	AND (SELECT attname FROM pg_attribute WHERE attrelid = c.oid
	    AND attnum = i.indkey[0]) <> 'tenant_id'")" "" \
	"tenant_id leads the primary key and every unique key of those tables"
is "$(q "SELECT string_agg(c.relname, ' ') FROM pg_class c
	JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND c.relrowsecurity
	AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid
	    AND pg_get_expr(p.polqual, p.polrelid) LIKE '%app_tenant()%')")" "" \
	"each has a policy on the per-transaction tenant setting"
is "$(q "SELECT rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb
	FROM pg_roles WHERE rolname = 'loyalty'")" f \
	"the application role is no superuser, has no BYPASSRLS, creates nothing"
is "$(q "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = 'loyalty'")" 0 \
	"and owns no table"
# What keeps a member's history whole (sql/0005 has no foreign keys from
# events, lots and ledger to members) and the ledger append-only: grants.
is "$(q "SELECT string_agg(t || ':' || p, ' ' ORDER BY t, p) FROM
	(VALUES ('members', 'DELETE'), ('members', 'TRUNCATE'), ('ledger', 'UPDATE'),
	    ('ledger', 'DELETE'), ('ledger', 'TRUNCATE')) v (t, p)
	WHERE has_table_privilege('loyalty', t, p)")" "" \
	"the application role may not delete members, nor change or delete ledger entries"

# Two tenants, a user each.
q "INSERT INTO tenants (id, slug, name, currency, timezone) VALUES
	('11111111-1111-1111-1111-111111111111', 'shop-a', 'A', 'USD', 'Africa/Harare'),
	('22222222-2222-2222-2222-222222222222', 'shop-b', 'B', 'ZWG', 'Africa/Harare');
   INSERT INTO users (tenant_id, email, role, password_hash) VALUES
	('11111111-1111-1111-1111-111111111111', 'ann@a.example', 'owner', '\$scrypt\$x'),
	('22222222-2222-2222-2222-222222222222', 'bob@b.example', 'owner', '\$scrypt\$x'),
	('22222222-2222-2222-2222-222222222222', 'same@example.com', 'viewer', '\$scrypt\$x'),
	('11111111-1111-1111-1111-111111111111', 'same@example.com', 'viewer', '\$scrypt\$x');" >/dev/null ||
	fail "test data"
A=11111111-1111-1111-1111-111111111111 B=22222222-2222-2222-2222-222222222222
tenant() { printf "SELECT set_config('loyalty.tenant_id', '%s', true)" "$1"; }

for t in $tables; do
	is "$(app "SELECT count(*) FROM $t" | tail -n 1)" 0 "$t: no tenant named, no row visible"
done
is "$(app "$(tenant $A)" "SELECT string_agg(email, ' ' ORDER BY email) FROM users" | tail -n 1)" \
	"ann@a.example same@example.com" "tenant A sees its users only"
is "$(app "$(tenant $A)" "SELECT count(*) FROM tenants" | tail -n 1)" 1 "and its own tenant only"
like "$(app "$(tenant $A)" "INSERT INTO users (tenant_id, email, role, password_hash)
	VALUES ('$B', 'eve@a.example', 'owner', '\$scrypt\$x')")" \
	'new row violates row-level security policy' "a row for tenant B cannot be written as A"
is "$(app "$(tenant $A)" "UPDATE users SET role = 'viewer' WHERE email = 'bob@b.example'" | tail -n 1)" "" \
	"nor can B's rows be changed (nothing matches)"
is "$(q "SELECT role FROM users WHERE email = 'bob@b.example'")" owner "B's user is unchanged"
is "$(printf 'BEGIN;\n%s;\nCOMMIT;\nSET ROLE loyalty;\nSELECT count(*) FROM users;\n' \
	"$(tenant $A)" | stack_psql -At 2>&1 | tail -n 1)" 0 \
	"the tenant setting ends with its transaction"

login() { printf "SELECT set_config('loyalty.login_email', '%s', true)" "$1"; }
is "$(app "$(login same@example.com)" "SELECT count(*) FROM users u JOIN tenants t ON t.id = u.tenant_id" | tail -n 1)" 2 \
	"the login door shows the users of that email in each tenant, with their tenants"
is "$(app "$(login same@example.com)" "SELECT count(*) FROM users WHERE email <> 'same@example.com'" | tail -n 1)" 0 \
	"and nobody else"
is "$(app "$(login same@example.com)" "UPDATE users SET failed_logins = 5 WHERE email = 'same@example.com'" | tail -n 1)" "" \
	"it is read only"
is "$(q "SELECT sum(failed_logins) FROM users")" 0 "nothing was changed through it"

is "$(app "SELECT set_config('loyalty.platform', 'on', true)" "SELECT count(*) FROM tenants" | tail -n 1)" 3 \
	"the platform door shows every tenant (the platform's own included)"
is "$(app "SELECT set_config('loyalty.platform', 'on', true)" "SELECT count(*) FROM users" | tail -n 1)" 0 "and no tenant's users"

q "INSERT INTO audit_log (tenant_id, actor_type, actor_id, action, target_type, target_id, request_id)
	VALUES ('$A', 'cli', 'root', 'user.create', 'user', 'x', 'r1')" >/dev/null || fail "an audit entry"
like "$(app "$(tenant $A)" "UPDATE audit_log SET action = 'user.delete'")" 'permission denied' \
	"the application cannot change the audit trail"
like "$(app "$(tenant $A)" "DELETE FROM audit_log")" 'permission denied' "nor delete from it"

done_testing
