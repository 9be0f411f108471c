#!/bin/bash
# loyaltyctl maintenance: VACUUM (ANALYZE) of every table, a report of dead
# rows, index bloat and unused indexes, REINDEX CONCURRENTLY of the bloated
# indexes (never with --dry-run), one run at a time, exit 1 on a failure.
. "$(dirname "$0")/lib/harness.sh"
harness_dir
# conf [section.key=value ...]: any bloated index is worth rebuilding.
conf() {
	stack_write_config maintenance.reindex_min_kb=0 \
		maintenance.reindex_bloat_percent=50 "$@"
}
stack_init "$HARNESS_DIR" && stack_pg_start && stack_createdb && conf &&
	stack_migrate || { fail "the database starts"; exit 1; }
ctl() { "$LOYALTYCTL" -c "$STACK_CONF" "$@"; }
q() { stack_psql -At -c "$1"; }
node() { q "SELECT relfilenode FROM pg_class WHERE relname = '$1'"; }
size() { q "SELECT pg_relation_size('$1')"; }

out=$(ctl maintenance 2>&1)
is "$?" 0 "a fresh database: maintenance exits 0"
like "$out" 'vacuum \(analyze\) public.schema_migrations: [0-9]+ ms' "each table is vacuumed, timed"
ntables=$(q "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
nmig=$(q "SELECT count(*) FROM schema_migrations")
like "$out" "vacuum: $ntables tables in [0-9]+ ms" "with a total"
is "$(q "SELECT last_vacuum IS NOT NULL AND last_analyze IS NOT NULL
	FROM pg_stat_user_tables WHERE relname = 'schema_migrations'")" t "it really vacuumed and analyzed"
like "$out" "bloat table public.schema_migrations: $nmig live, 0 dead rows \\(0% dead\\)" \
	"the report: dead rows per table"
like "$out" 'bloat index public.schema_migrations_pkey on schema_migrations: 16 kB, bloat 0% \(estimated from statistics\)' \
	"the report: estimated bloat per index"
# On a fresh database every index that is not unique is unused.
plain=$(q "SELECT string_agg(i.indexrelid::regclass::text, ' ' ORDER BY 1) FROM pg_index i
	JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
	WHERE n.nspname = 'public' AND NOT i.indisunique")
is "$(printf '%s\n' "$out" | sed -n 's/^unused index public\.\([a-z_]*\) on .*/\1/p' | sort | tr '\n' ' ' | sed 's/ $//')" \
	"$(printf '%s\n' $plain | sort | tr '\n' ' ' | sed 's/ $//')" \
	"unused: exactly the indexes that are not unique (unique ones do not count)"
like "$out" 'reindex: none needed \(bloat >= 50% and size >= 0 kB\)' "nothing to rebuild"
like "$out" 'maintenance: done in [0-9]+ ms' "and done"

out=$(ctl maintenance --bogus 2>&1)
is "$?" 2 "an unknown option is a usage error"

# A bloated table, made as the owner role: most rows updated, then deleted.
q "SET ROLE loyalty_owner;
	CREATE TABLE t_bloat (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = false);
	CREATE INDEX t_bloat_v ON t_bloat (v);
	CREATE TABLE t_fresh (id int PRIMARY KEY) WITH (autovacuum_enabled = false);
	INSERT INTO t_bloat SELECT g, g FROM generate_series(1, 100000) g;
	UPDATE t_bloat SET v = v + 1;
	DELETE FROM t_bloat WHERE id % 10 <> 0;
	INSERT INTO t_fresh SELECT generate_series(1, 100000)" ||
	fail "the bloated table is made"
q 'ANALYZE t_bloat, t_fresh'
pkey=$(node t_bloat_pkey) vidx=$(node t_bloat_v) fresh=$(node t_fresh_pkey)
pkey_size=$(size t_bloat_pkey)

out=$(ctl maintenance --dry-run 2>&1)
is "$?" 0 "--dry-run exits 0"
like "$out" 'would vacuum \(analyze\) public.t_bloat' "--dry-run says what it would vacuum"
like "$out" 'would reindex public.t_bloat_pkey \([0-9]+ kB, estimated bloat 9[0-9]%\)' \
	"--dry-run says what it would rebuild"
is "$(node t_bloat_pkey) $(node t_bloat_v)" "$pkey $vidx" "--dry-run rebuilt nothing"
is "$(q "SELECT last_vacuum IS NULL FROM pg_stat_user_tables WHERE relname = 't_bloat'")" t \
	"--dry-run vacuumed nothing"
like "$out" 'dry run: nothing changed' "and says so"

out=$(ctl maintenance 2>&1)
is "$?" 0 "maintenance of the bloated table exits 0"
like "$out" 'bloat table public.t_bloat: 10000 live, 190000 dead rows \(95% dead\)' \
	"the dead rows found"
like "$out" 'vacuum \(analyze\) public.t_bloat: [0-9]+ ms' "the table is vacuumed"
like "$out" 'bloat index public.t_bloat_pkey on t_bloat: [0-9]+ kB, bloat 9[0-9]% \(estimated from statistics\)' \
	"the bloat is estimated"
like "$out" 'bloat index public.t_fresh_pkey on t_fresh: [0-9]+ kB, bloat [0-9]% ' \
	"a fresh index estimates below 10%"
like "$out" 'reindex public.t_bloat_pkey: [0-9]+ kB -> [0-9]+ kB in [0-9]+ ms' "the bloated index is rebuilt"
isnt_node() { [ "$(node "$1")" != "$2" ]; }
check "its relfilenode changed" isnt_node t_bloat_pkey "$pkey"
check "so did the other bloated index's" isnt_node t_bloat_v "$vidx"
is "$(node t_fresh_pkey)" "$fresh" "the fresh index is left alone"
cmp_num "$(size t_bloat_pkey)" -lt "$((pkey_size / 4))" "the rebuilt index is much smaller"
is "$(q "SELECT bool_and(indisvalid) FROM pg_index WHERE indrelid = 't_bloat'::regclass")" t \
	"the rebuilt indexes are valid"
is "$(q "SELECT count(*) FROM pg_class WHERE relname ~ '_cc(new|old)[0-9]*$'")" 0 \
	"REINDEX CONCURRENTLY left nothing behind"
like "$out" 'unused index public.t_bloat_v on t_bloat: [0-9]+ kB, no scan since .*; not dropped, review it' \
	"the unused index is reported"
is "$(q "SELECT count(*) FROM pg_class WHERE relname = 't_bloat_v'")" 1 "and not dropped"
unlike "$out" 'unused index public.t_bloat_pkey' "a primary key is never reported unused"

# Bloated again, but smaller than maintenance.reindex_min_kb (default 1024).
q "UPDATE t_bloat SET v = v + 1; UPDATE t_bloat SET v = v + 1; UPDATE t_bloat SET v = v + 1"
pkey=$(node t_bloat_pkey)
stack_write_config
out=$(ctl maintenance 2>&1)
is "$?" 0 "with the default thresholds: exit 0"
like "$out" 'bloat index public.t_bloat_pkey on t_bloat: [0-9]{2,3} kB, bloat [3-9][0-9]% ' \
	"the primary key is bloated again, but under 1024 kB"
unlike "$out" 'reindex public.t_bloat_pkey' "so it is not rebuilt"
is "$(node t_bloat_pkey)" "$pkey" "indeed"

# With pgstattuple installed its pgstatindex measures instead.
q 'CREATE EXTENSION pgstattuple'
q "UPDATE t_bloat SET v = v + 1; UPDATE t_bloat SET v = v + 1"
conf
out=$(ctl maintenance 2>&1)
is "$?" 0 "with pgstattuple: exit 0"
like "$out" 'bloat index public.t_bloat_pkey on t_bloat: [0-9]+ kB, bloat [5-9][0-9]% \(pgstatindex\)' \
	"pgstatindex measures the bloat"
like "$out" 'reindex public.t_bloat_pkey: ' "and the index is rebuilt"
check "its relfilenode changed" isnt_node t_bloat_pkey "$pkey"
q 'DROP EXTENSION pgstattuple'

# A statement that fails (VACUUM cannot get its lock in time): exit 1.
mkfifo "$HARNESS_DIR/hold"
( (printf 'BEGIN;\nLOCK TABLE t_fresh IN SHARE UPDATE EXCLUSIVE MODE;\n'
	cat "$HARNESS_DIR/hold") | stack_psql >/dev/null 2>&1) &
holder=$!
locked() {
	[ "$(q "SELECT count(*) FROM pg_locks WHERE relation = 't_fresh'::regclass
		AND mode = 'ShareUpdateExclusiveLock' AND granted")" = 1 ]
}
wait_for 20 locked || fail "another session locks t_fresh"
out=$(PGOPTIONS='-c lock_timeout=200ms' ctl maintenance 2>&1)
is "$?" 1 "a failed VACUUM: exit 1"
like "$out" 'VACUUM of public.t_fresh failed' "names the table"
like "$out" 'vacuum \(analyze\) public.t_bloat: ' "the other tables are still vacuumed"
like "$out" 'maintenance: 1 statement failed' "and counts the failure"
echo 'COMMIT;' >"$HARNESS_DIR/hold"
wait "$holder"

# A concurrent run: the advisory lock is held by another session.
( (printf 'SELECT pg_advisory_lock(7813960851613440122);\n'; cat "$HARNESS_DIR/hold") |
	stack_psql >/dev/null 2>&1) &
holder=$!
advisory() {
	[ "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" = 1 ]
}
wait_for 20 advisory || fail "another session holds the lock"
out=$(timeout 20 "$LOYALTYCTL" -c "$STACK_CONF" maintenance 2>&1)
is "$?" 75 "a second concurrent run exits 75"
like "$out" 'another maintenance is running \(advisory lock 7813960851613440122 is held\)' \
	"and says why"
echo >"$HARNESS_DIR/hold"
wait "$holder"
out=$(ctl maintenance 2>&1)
is "$?" 0 "once the lock is free it runs"

done_testing
