#!/bin/bash
# loyaltyctl check: on a healthy database every line is ok or info and it
# exits 0; each kind of trouble is a PROBLEM line naming it, and exit 1.
. "$(dirname "$0")/lib/harness.sh"
harness_dir
backups=$HARNESS_DIR/backups
# conf [section.key=value ...]: the stack's config with a fresh backup dir.
conf() { stack_write_config backup.dir="$backups" backup.min_free_mb=1 "$@"; }
stack_init "$HARNESS_DIR" && stack_pg_start && stack_createdb && conf &&
	stack_migrate || { fail "the database starts"; exit 1; }
mkdir -p "$backups"
touch "$backups/loyalty-20261122T000000Z.dump"
sql=$HARNESS_DIR/sql
cp -r "$STACK_SQL_DIR" "$sql"
ctl() { "$LOYALTYCTL" -c "$STACK_CONF" --sql-dir "$sql" "$@"; }
q() { stack_psql -At -c "$1"; }
json_ok() {
	python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
assert isinstance(d["ok"], bool) and isinstance(d["checks"], list) and d["checks"]
for c in d["checks"]:
    assert set(c) == {"name", "status", "detail"}, c
    assert c["status"] in ("ok", "problem", "info"), c
print("ok" if d["ok"] else "not ok", sum(c["status"] == "problem" for c in d["checks"]))
'
}

out=$(ctl check 2>"$HARNESS_DIR/err")
is "$?" 0 "a healthy database: check exits 0"
is "$(printf '%s\n' "$out" | grep -cvE '^(ok|info) [a-z_]+: .')" 0 \
	"every line is \"ok|info NAME: detail\""
like "$out" 'ok connectivity: database loyalty as postgres .*PostgreSQL 15' \
	"connectivity, with the server version"
like "$out" 'ok app_login: role loyalty \(database.user\) can log in' "the application role logs in"
like "$out" 'ok connections: [0-9]+ of max_connections 100 ' "connections against max_connections"
like "$out" 'ok long_transactions: none open longer than 300 s' "no long transaction"
like "$out" 'info database_size: loyalty is [0-9]+ (kB|MB)' "the database's size"
like "$out" 'info largest_tables: (public\.[a-z_]+ [0-9]+ kB(, |$))+' "the largest tables"
like "$out" 'info largest_tables: .*public\.schema_migrations [0-9]+ kB' "schema_migrations among them"
like "$out" 'info replication: no replicas' "no replicas"
nmig=$(ls "$sql"/*.sql | wc -l)
like "$out" "ok schema: version $nmig, all $nmig migrations" "the schema is up to date"
like "$out" "ok backup_space: .* free in $backups" "room for a backup"
like "$out" 'ok backup_age: newest backup loyalty-20261122T000000Z.dump is 0.0 h old' \
	"a recent backup"
is "$(cat "$HARNESS_DIR/err")" "" "nothing on stderr"

out=$(ctl check --json)
is "$?" 0 "--json exits 0 too"
is "$(printf '%s' "$out" | json_ok 2>&1)" "ok 0" "--json: one object, ok true, no problem"
is "$(printf '%s\n' "$out" | wc -l)" 1 "--json: only the document on stdout"

out=$(ctl check --bogus 2>&1)
is "$?" 2 "an unknown option is a usage error"

# A transaction left open longer than check.long_transaction_s.
conf check.long_transaction_s=1
mkfifo "$HARNESS_DIR/hold"
( (printf 'BEGIN;\nSELECT txid_current();\n'; cat "$HARNESS_DIR/hold") |
	PGAPPNAME=t-long-xact stack_psql >/dev/null 2>&1) &
holder=$!
long_open() {
	[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 't-long-xact'
		AND state = 'idle in transaction' AND xact_start < now() - interval '1.5 s'")" = 1 ]
}
wait_for 20 long_open || fail "the long transaction is open"
out=$(ctl check 2>&1)
is "$?" 1 "a long transaction: exit 1"
like "$out" 'PROBLEM long_transactions: pid [0-9]+ \(user postgres, application "t-long-xact", from local\) has had a transaction open for [0-9]+ s, state idle in transaction; check.long_transaction_s is 1' \
	"it is named: pid, user, application, age, state"
unlike "$out" 'txid_current' "its query text is not shown"
like "$out" 'check found 1 problem' "one problem, said on stderr"
out=$(ctl check --json 2>/dev/null)
is "$(printf '%s' "$out" | json_ok 2>&1)" "not ok 1" "--json: ok false, one problem"
echo 'COMMIT;' >"$HARNESS_DIR/hold"
wait "$holder"
out=$(ctl check 2>&1)
is "$?" 0 "once it ends, check passes again"

# Connections above check.connections_percent: this check's own and one more.
( cat "$HARNESS_DIR/hold" | PGAPPNAME=t-idle stack_psql >/dev/null 2>&1) &
holder=$!
idle_open() {
	[ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 't-idle'")" = 1 ]
}
wait_for 20 idle_open || fail "the idle session is open"
conf check.connections_percent=1
out=$(ctl check 2>&1)
is "$?" 1 "too many connections: exit 1"
like "$out" 'PROBLEM connections: [2-9] of max_connections 100 \([2-9]%; check.connections_percent 1%\)' \
	"connections named with the threshold"
echo >"$HARNESS_DIR/hold"
wait "$holder"

# The application role cannot log in.
q 'ALTER ROLE loyalty NOLOGIN'
conf
out=$(ctl check 2>&1)
is "$?" 1 "the app role cannot log in: exit 1"
like "$out" 'PROBLEM app_login: role loyalty \(database.user\) cannot log in: .*not permitted to log in' \
	"with libpq's reason"
q 'ALTER ROLE loyalty LOGIN'

# With loyaltyd connected, its sessions prove the role logs in.
stack_daemon_start || fail "loyaltyd starts"
wait_for 10 bash -c "[ \"\$(q \"SELECT count(*) FROM pg_stat_activity WHERE usename = 'loyalty'\")\" -gt 0 ]"
out=$(ctl check 2>&1)
like "$out" 'ok app_login: role loyalty \(database.user\) has [0-9]+ sessions open: loyaltyd is connected' \
	"loyaltyd's own sessions prove the application role logs in"
stack_daemon_stop >/dev/null 2>&1

# Backups: a missing directory, no room, none at all, too old, not checked.
conf backup.dir="$HARNESS_DIR/nowhere"
out=$(ctl check 2>&1)
is "$?" 1 "a missing backup dir: exit 1"
like "$out" "PROBLEM backup_space: backup.dir $HARNESS_DIR/nowhere: No such file or directory" \
	"the missing backup dir is named"
like "$out" "PROBLEM backup_age: cannot read backup.dir $HARNESS_DIR/nowhere" \
	"and no backup can be found there"

conf backup.min_free_mb=1048576
out=$(ctl check 2>&1)
is "$?" 1 "not enough room for a backup: exit 1"
like "$out" 'PROBLEM backup_space: .* free in .*; a backup needs about 1024 GB' "room is a problem"

mkdir "$HARNESS_DIR/empty"
touch "$HARNESS_DIR/empty/loyalty-20261122T000000Z.dump.partial" "$HARNESS_DIR/empty/other.dump"
conf backup.dir="$HARNESS_DIR/empty"
out=$(ctl check 2>&1)
is "$?" 1 "no backup at all: exit 1"
like "$out" "PROBLEM backup_age: no backup \(loyalty-\*.dump\) in $HARNESS_DIR/empty" \
	"only loyalty-*.dump counts as a backup"

touch -d '3 days ago' "$backups/loyalty-20261122T000000Z.dump"
conf
out=$(ctl check 2>&1)
is "$?" 1 "a backup older than check.backup_max_age_h: exit 1"
like "$out" 'PROBLEM backup_age: newest backup loyalty-20261122T000000Z.dump is 7[0-9].[0-9] h old \(check.backup_max_age_h 26\)' \
	"its age and the limit"
conf check.backup_max_age_h=0
out=$(ctl check 2>&1)
is "$?" 0 "check.backup_max_age_h=0: the age is not checked"
like "$out" 'info backup_age: not checked' "and says so"
conf

# An index a failed concurrent build left invalid: written to, never used.
touch "$backups/loyalty-$(date -u +%Y%m%dT%H%M%S)Z.dump"
q "CREATE TABLE ck_dup (v int); INSERT INTO ck_dup VALUES (1), (1);" >/dev/null
q "CREATE UNIQUE INDEX CONCURRENTLY ck_dup_v ON ck_dup (v)" >/dev/null 2>&1
is "$(q "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ck_dup_v'::regclass")" f \
	"a failed CREATE INDEX CONCURRENTLY leaves an invalid index"
out=$(ctl check 2>&1)
is "$?" 1 "an invalid index: exit 1"
like "$out" 'PROBLEM invalid_indexes: 1 left invalid by a concurrent build that failed: public.ck_dup_v;' \
	"named, with what to do"
q "DROP TABLE ck_dup" >/dev/null
out=$(ctl check 2>&1)
like "$out" 'ok invalid_indexes: none' "dropped, it is ok again"

# The schema: a pending migration, then a database newer than the build.
touch "$backups/loyalty-20261122T000000Z.dump"
printf 'CREATE TABLE t_probe (id int);\n' >"$sql/9001_probe.sql"
out=$(ctl check 2>&1)
is "$?" 1 "a pending migration: exit 1"
like "$out" "PROBLEM schema: 1 of $((nmig + 1)) migrations in $sql are not applied: run loyaltyctl migrate" \
	"pending migrations are a problem"
ctl migrate >/dev/null 2>&1
rm "$sql/9001_probe.sql"
out=$(ctl check 2>&1)
is "$?" 1 "a database newer than the build: exit 1"
like "$out" "PROBLEM schema: the database has 1 migration\(s\) that $sql lacks \(highest applied 9001\): it is newer than this build" \
	"a newer database is a problem"

# PostgreSQL is down.
stack_pg_stop
start=$SECONDS
out=$(timeout 20 "$LOYALTYCTL" -c "$STACK_CONF" --sql-dir "$sql" check 2>&1)
is "$?" 1 "PostgreSQL stopped: exit 1"
cmp_num $((SECONDS - start)) -le 10 "and at once"
like "$out" 'PROBLEM connectivity: cannot connect to database loyalty as postgres on .* port [0-9]+: .*(No such file|refused)' \
	"with libpq's message"
like "$out" 'check \[database\] in .*loyalty.conf \(see docs/DEPLOYMENT.md\)' "and where to look"
out=$(ctl check --json 2>/dev/null)
is "$(printf '%s' "$out" | json_ok 2>&1)" "not ok 1" "--json: ok false when it cannot connect"

done_testing
