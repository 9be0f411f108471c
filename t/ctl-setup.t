#!/bin/bash
# loyaltyctl gen-secrets writes a secrets file that is never world-readable
# and never silently replaced; loyaltyctl setup takes an empty cluster to a
# migrated database whose application role has the password from it, and
# does nothing harmful the second time.
. "$(dirname "$0")/lib/harness.sh"
harness_dir
stack_init "$HARNESS_DIR" && stack_pg_start ||
	{ fail "PostgreSQL starts"; exit 1; }
secrets=$HARNESS_DIR/secrets.conf
q() { stack_psql -d postgres -At -c "$1"; }

out=$("$LOYALTYCTL" gen-secrets 2>&1)
is "$?" 0 "gen-secrets prints a secrets file without any configuration"
like "$out" '\[database\]' "a [database] section"
is "$(printf '%s\n' "$out" | grep -cE '^password = [0-9a-f]{64}$')" 1 \
	"with a 256-bit password in hex"
other=$("$LOYALTYCTL" gen-secrets | grep '^password')
unlike "$out" "$other" "a new one each time"

out=$("$LOYALTYCTL" gen-secrets --output "$secrets" 2>&1)
is "$?" 0 "gen-secrets --output writes the file"
is "$(stat -c %a "$secrets")" 640 "mode 0640"
first=$(grep '^password' "$secrets")
out=$("$LOYALTYCTL" gen-secrets --output "$secrets" 2>&1)
is "$?" 3 "a second run refuses to replace it (exit 3)"
like "$out" 'exists' "and says why"
is "$(grep '^password' "$secrets")" "$first" "the file is unchanged"
"$LOYALTYCTL" gen-secrets --output "$secrets" --force >/dev/null 2>&1
is "$?" 0 "--force replaces it"
unlike "$(grep '^password' "$secrets")" "^${first}\$" "with a new password"
is "$(stat -c %a "$secrets")" 640 "still mode 0640"
is "$(find "$HARNESS_DIR" -name 'secrets.conf.new.*' | wc -l)" 0 "no temporary file is left"

stack_write_config "server.secrets_file=$secrets" >/dev/null ||
	{ fail "the configuration is written"; exit 1; }
ctl() { "$LOYALTYCTL" -c "$STACK_CONF" --sql-dir "$STACK_SQL_DIR" "$@"; }

out=$(ctl setup 2>&1)
is "$?" 0 "setup on an empty cluster exits 0"
like "$out" "created database $STACK_DB_NAME" "it created the database"
like "$out" 'applied 0001_' "applied the migrations"
is "$(q "SELECT count(*) FROM pg_database WHERE datname = '$STACK_DB_NAME'")" 1 \
	"the database exists"
is "$(stack_psql -At -c 'SELECT count(*) FROM schema_migrations')" \
	"$(ls "$STACK_SQL_DIR"/*.sql | wc -l)" "every migration is recorded"
like "$(q "SELECT rolpassword FROM pg_authid WHERE rolname = 'loyalty'")" '^SCRAM-SHA-256\$' \
	"the application role has a SCRAM password"
# The verifier must be of the password in the secrets file: log in with it
# over TCP, with a pg_hba line that asks this role for a password.
pw=$(sed -n 's/^password = //p' "$secrets")
sed -i '1i host all loyalty 127.0.0.1/32 scram-sha-256' "$STACK_PG_DATA/pg_hba.conf"
stack_psql -d postgres -c "ALTER SYSTEM SET listen_addresses = '127.0.0.1'" &&
	stack_pg_stop >/dev/null 2>&1 && stack_pg_start ||
	fail "PostgreSQL restarts listening on 127.0.0.1"
is "$(PGPASSWORD=$pw "$STACK_PG_BIN/psql" -X -At -h 127.0.0.1 -p "$STACK_PG_PORT" \
	-U loyalty -d "$STACK_DB_NAME" -c 'SELECT current_user' 2>&1)" loyalty \
	"the application role logs in with the password from the secrets file"
is "$(PGPASSWORD=wrong "$STACK_PG_BIN/psql" -X -At -h 127.0.0.1 -p "$STACK_PG_PORT" \
	-U loyalty -d "$STACK_DB_NAME" -c 'SELECT 1' 2>/dev/null)" "" \
	"and not with another"

# A remote administrator's password lives in a file of its own that only
# loyaltyctl reads, refused unless mode 0600; never in the secrets file.
admin_secrets=$HARNESS_DIR/admin-secrets.conf
q "CREATE ROLE ops_admin SUPERUSER LOGIN PASSWORD 'adm1n-pw'" >/dev/null
sed -i '1i host all ops_admin 127.0.0.1/32 scram-sha-256' "$STACK_PG_DATA/pg_hba.conf"
q 'SELECT pg_reload_conf()' >/dev/null
printf '[database]\nadmin_password = adm1n-pw\n' >"$admin_secrets"
chmod 0600 "$admin_secrets"
remote=("server.secrets_file=$secrets" database.host=127.0.0.1
	database.admin_user=ops_admin)
stack_write_config "${remote[@]}" "database.admin_secrets_file=$admin_secrets" >/dev/null
out=$(ctl migrate 2>&1)
is "$?" 0 "over TCP, loyaltyctl logs in with admin_password from admin_secrets_file"
like "$out" 'up to date' "and migrates"
out=$("$LOYALTYD" --check-config -c "$STACK_CONF" 2>&1)
like "$out" 'configuration OK' "loyaltyd accepts the configuration"
stack_write_config "${remote[@]}" database.admin_secrets_file=/nonexistent/admin.conf >/dev/null
out=$("$LOYALTYD" --check-config -c "$STACK_CONF" 2>&1)
like "$out" 'configuration OK' "loyaltyd never opens the admin secrets file (a missing one here)"
out=$(ctl migrate 2>&1)
is "$?" 2 "loyaltyctl does, and a missing one is an error (exit 2)"
stack_write_config "${remote[@]}" "database.admin_secrets_file=$admin_secrets" >/dev/null
chmod 0640 "$admin_secrets"
out=$(ctl migrate 2>&1)
is "$?" 2 "a group-readable admin secrets file is refused (exit 2)"
like "$out" 'admin_secrets_file is accessible by group or others \(mode 0640\); chmod 0600 it' \
	"and says how to fix it"
chmod 0600 "$admin_secrets"
stack_write_config "${remote[@]}" >/dev/null
out=$(ctl migrate 2>&1)
is "$?" 1 "without it the administrator cannot log in over TCP (exit 1)"
cp "$secrets" "$HARNESS_DIR/secrets-with-admin.conf"
printf '[database]\nadmin_password = adm1n-pw\n' >>"$HARNESS_DIR/secrets-with-admin.conf"
stack_write_config "server.secrets_file=$HARNESS_DIR/secrets-with-admin.conf" >/dev/null
out=$("$LOYALTYD" --check-config -c "$STACK_CONF" 2>&1)
is "$?" 1 "admin_password in the daemon's secrets file is refused"
like "$out" 'database.admin_password is the administrator.s secret: put it in database.admin_secrets_file' \
	"with where it belongs"
stack_write_config "server.secrets_file=$secrets" >/dev/null

out=$(ctl setup 2>&1)
is "$?" 0 "a second setup exits 0"
unlike "$out" 'created database' "creates nothing"
like "$out" 'up to date' "and applies nothing"

stack_write_config "server.secrets_file=$secrets" database.user=someone >/dev/null
out=$(ctl setup 2>&1)
is "$?" 2 "a database.user the migrations do not create is refused (exit 2)"
like "$out" 'someone' "and named"

stack_pg_stop >/dev/null 2>&1
stack_write_config "server.secrets_file=$secrets" >/dev/null
out=$(timeout 30 "$LOYALTYCTL" -c "$STACK_CONF" --sql-dir "$STACK_SQL_DIR" setup 2>&1)
is "$?" 1 "with no database server, setup exits 1"
like "$out" 'no database server to set up' "and says so"
like "$out" 'DEPLOYMENT.md' "and where to read what to set"

done_testing
