#!/bin/bash
# loyaltyctl migrate: numbered files, once each, in order, tracked with
# checksums, under an advisory lock; the roles it creates are safe.
. "$(dirname "$0")/lib/harness.sh"
harness_dir
stack_init "$HARNESS_DIR" && stack_pg_start && stack_createdb &&
	stack_write_config || { fail "the database starts"; exit 1; }
sql=$HARNESS_DIR/sql
cp -r "$STACK_SQL_DIR" "$sql"
ctl() { "$LOYALTYCTL" -c "$STACK_CONF" --sql-dir "$sql" "$@"; }
q() { stack_psql -At -c "$1"; }
nfiles=$(ls "$sql"/*.sql | wc -l)

out=$(ctl migrate status 2>&1)
is "$?" 0 "status on a fresh database"
like "$out" "0 applied, $nfiles pending" "everything is pending"

out=$(ctl migrate --dry-run 2>&1)
is "$?" 0 "--dry-run exits 0"
like "$out" 'would apply 0001_roles_and_migrations.sql' "--dry-run lists what it would apply"
is "$(q "SELECT to_regclass('schema_migrations') IS NULL")" t "--dry-run changed nothing"

out=$(ctl migrate 2>&1)
is "$?" 0 "migrate applies"
like "$out" 'applied 0001_roles_and_migrations.sql' "and says what"
is "$(q 'SELECT count(*) FROM schema_migrations')" "$nfiles" "one row per file"
like "$(q "SELECT checksum FROM schema_migrations WHERE version = 1")" '^[0-9a-f]{64}$' \
	"a SHA-256 checksum is recorded"
is "$(q "SELECT checksum FROM schema_migrations WHERE version = 1")" \
	"$(sha256sum "$sql/0001_roles_and_migrations.sql" | cut -d' ' -f1)" \
	"the checksum is the file's"
like "$(q "SELECT applied_at IS NOT NULL AND duration_ms >= 0 FROM schema_migrations WHERE version = 1")" \
	t "applied time and duration recorded"

out=$(ctl migrate 2>&1)
is "$?" 0 "a second run exits 0"
like "$out" 'up to date' "and changes nothing"

# The roles: the app is not owner, not superuser, cannot bypass RLS.
is "$(q "SELECT rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = 'loyalty'")" \
	f "role loyalty: no superuser, BYPASSRLS, CREATEROLE or CREATEDB"
is "$(q "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'loyalty'")" t "role loyalty logs in"
is "$(q "SELECT rolcanlogin OR rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = 'loyalty_owner'")" \
	f "role loyalty_owner: no login, no superuser, no BYPASSRLS"
is "$(q "SELECT tableowner FROM pg_tables WHERE tablename = 'schema_migrations'")" \
	loyalty_owner "tables belong to loyalty_owner"
is "$(q "SELECT has_table_privilege('loyalty', 'schema_migrations', 'INSERT')")" f \
	"the app cannot write the tracking table"
is "$(q "SELECT has_schema_privilege('loyalty', 'public', 'CREATE')")" f \
	"the app cannot create objects"

# A new migration is applied as loyalty_owner and recorded.
printf 'CREATE TABLE t_probe (id int);\n' >"$sql/9001_probe.sql"
out=$(ctl migrate 2>&1)
like "$out" 'applied 9001_probe.sql' "a new file is applied"
is "$(q "SELECT tableowner FROM pg_tables WHERE tablename = 't_probe'")" loyalty_owner \
	"what a migration creates belongs to loyalty_owner"
is "$(q "SELECT has_table_privilege('loyalty', 't_probe', 'SELECT,INSERT,UPDATE,DELETE')")" t \
	"and the app may use it (default privileges)"

# A failing file rolls back whole and stops the run.
printf 'CREATE TABLE t_half (id int);\nSELECT no_such_function();\n' >"$sql/9002_broken.sql"
printf 'CREATE TABLE t_after (id int);\n' >"$sql/9003_after.sql"
out=$(ctl migrate 2>&1)
is "$?" 1 "a failing migration exits 1"
like "$out" '9002_broken.sql failed' "and names the file"
is "$(q "SELECT to_regclass('t_half') IS NULL AND to_regclass('t_after') IS NULL")" t \
	"nothing of it, nor of later files, was applied"
rm "$sql/9002_broken.sql" "$sql/9003_after.sql"

# An applied file that changed is refused.
printf -- '-- edited\n' >>"$sql/9001_probe.sql"
out=$(ctl migrate 2>&1)
is "$?" 3 "a changed applied file is refused (exit 3)"
like "$out" '9001_probe.sql was changed after it was applied' "and named"
out=$(ctl migrate status 2>&1)
is "$?" 3 "status refuses too"

# A migration the database has but this build lacks: a newer schema.
rm "$sql/9001_probe.sql"
out=$(ctl migrate 2>&1)
is "$?" 3 "an unknown applied migration is refused"
like "$out" 'newer than this build' "and explained"
printf 'CREATE TABLE t_probe (id int);\n' >"$sql/9001_probe.sql"

# A concurrent run: the advisory lock is held by another session.
mkfifo "$HARNESS_DIR/hold"
(stack_psql -c 'SELECT pg_advisory_lock(7813960851613440121)' \
	-c '\! cat '"$HARNESS_DIR/hold" >/dev/null 2>&1) &
holder=$!
sleep 1
out=$(ctl migrate 2>&1)
is "$?" 75 "a second concurrent run exits 75"
like "$out" 'another migration is running' "and says why"
echo >"$HARNESS_DIR/hold"
wait "$holder"

printf 'x\n' >"$sql/12_bad_name.sql"
out=$(ctl migrate 2>&1)
is "$?" 1 "a misnamed file is refused"
like "$out" 'not named NNNN_name.sql' "and named"

done_testing
