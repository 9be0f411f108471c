#!/bin/bash
# loyaltyctl backup and restore: a verified dump with its checksum and
# retention; a restore that swaps only when everything worked, proved by a
# round trip, and that leaves the live database as it was when the
# archive is damaged, of a newer schema, or the restore is interrupted.
. "$(dirname "$0")/lib/harness.sh"
harness_up
backups=$HARNESS_DIR/backups
mkdir -p "$backups"
stack_write_config "backup.dir=$backups" >/dev/null ||
	{ fail "the configuration is written"; exit 1; }
ctl() { "$LOYALTYCTL" -c "$STACK_CONF" --sql-dir "$STACK_SQL_DIR" "$@"; }
q() { stack_psql -At -c "$1"; }
# dump [DB]: the whole database as SQL text, to compare two states.
dump() {
	"$STACK_PG_BIN/pg_dump" -h "$STACK_PG_SOCK" -p "$STACK_PG_PORT" \
		-U postgres --restrict-key=loyaltytest "${1:-$STACK_DB_NAME}"
}
leftovers() { q "SELECT count(*) FROM pg_database WHERE datname ~ '_restore_[0-9]+$'
	AND datname !~ '_before_restore_'"; }
dumps() { find "$backups" -maxdepth 1 -name 'loyalty-*.dump' | wc -l; }

q "SET ROLE loyalty_owner;
   CREATE TABLE rt_items (id int PRIMARY KEY, note text NOT NULL);
   INSERT INTO rt_items SELECT g, md5(g::text) FROM generate_series(1, 1000) g;" ||
	fail "a table of test data"

out=$(ctl backup 2>&1)
is "$?" 0 "backup exits 0"
file=$(find "$backups" -maxdepth 1 -name 'loyalty-*.dump' | head -n 1)
like "$(basename "$file")" '^loyalty-[0-9]{8}T[0-9]{6}Z\.dump$' "named by its UTC time"
like "$out" "backup $file" "and says where it is"
check "a SHA-256 file beside it that sha256sum -c accepts" \
	bash -c "cd '$backups' && sha256sum -c --status '$(basename "$file").sha256'"
like "$("$STACK_PG_BIN/pg_restore" --list "$file")" 'TABLE DATA public rt_items' \
	"a custom-format archive with the data"
is "$(find "$backups" -name '*.partial' | wc -l)" 0 "no partial file left"
n=$(dumps)
out=$(ctl backup 2>&1 && ctl backup 2>&1)
is "$?" 0 "two backups in a row both succeed" || diag "$out"
is "$(dumps)" "$((n + 2))" "under two names (the second waits for the next second)"
is "$(stat -c %a "$file") $(stat -c %a "$file.sha256")" "600 600" \
	"the dump and its checksum are readable by their owner only"
dump >"$HARNESS_DIR/before.sql"

# Change the data every way, then restore.
q "UPDATE rt_items SET note = 'changed' WHERE id <= 10;
   DELETE FROM rt_items WHERE id > 900;
   SET ROLE loyalty_owner; CREATE TABLE rt_later (id int);" || fail "the data changes"
dump >"$HARNESS_DIR/changed.sql"
check "the database differs from the backup before the restore" \
	bash -c "! cmp -s '$HARNESS_DIR/before.sql' '$HARNESS_DIR/changed.sql'"

out=$(ctl restore "$file" 2>&1)
is "$?" 0 "restore exits 0"
dump >"$HARNESS_DIR/restored.sql"
diff "$HARNESS_DIR/before.sql" "$HARNESS_DIR/restored.sql" >"$HARNESS_DIR/restore.diff"
is "$?" 0 "round trip: the restored database dumps exactly as at backup time"
[ -s "$HARNESS_DIR/restore.diff" ] && diag "$(head -n 20 "$HARNESS_DIR/restore.diff")"
old=$(q "SELECT datname FROM pg_database WHERE datname LIKE 'loyalty_before_restore_%'")
like "$old" '^loyalty_before_restore_[0-9]{14}$' "the previous database is kept beside it"
like "$out" "dropdb $old" "and the output says how to drop it"
like "$(dump "$old" | grep 'CREATE TABLE')" 'public\.rt_later' "the kept one is the changed database"
safety=$(find "$backups" -name 'loyalty-*-pre-restore.dump')
check "a safety backup was taken first, with its checksum" \
	bash -c "cd '$backups' && sha256sum -c --status '$(basename "$safety").sha256'"
is "$(leftovers)" 0 "no half-restored database is left"
check "loyaltyd finds the restored database by itself (ready within 10 s)" \
	stack_wait_http /health/ready 200 10

# A damaged archive, with and without a matching checksum.
live=$(dump)
bad=$HARNESS_DIR/bad.dump
cp "$file" "$bad"
printf 'x' | dd of="$bad" bs=1 seek=100 conv=notrunc 2>/dev/null
cp "$file.sha256" "$bad.sha256"
out=$(ctl restore "$bad" 2>&1)
is "$?" 3 "an archive that does not match its checksum is refused (exit 3)"
like "$out" 'does not match its checksum' "and the message says so"
rm -f "$bad.sha256"
out=$(ctl restore "$bad" 2>&1)
is "$?" 3 "an archive without a checksum file is refused"
head -c "$(($(stat -c %s "$file") / 2))" "$file" >"$bad"
(cd "$HARNESS_DIR" && sha256sum bad.dump >bad.dump.sha256)
out=$(ctl restore "$bad" 2>&1)
cmp_num "$?" -ne 0 "a truncated archive with a matching checksum fails"
# Not an archive at all, named relative to the directory loyaltyctl is
# started in.
head -c 4096 /dev/urandom >"$HARNESS_DIR/noise.dump"
(cd "$HARNESS_DIR" && sha256sum noise.dump >noise.dump.sha256)
out=$(cd "$HARNESS_DIR" && ctl restore noise.dump 2>&1)
is "$?" 3 "a file that is no archive is refused (exit 3), found by a relative path"
like "$out" "$HARNESS_DIR/noise.dump is not a readable archive" "and the message says so"
is "$(dump)" "$live" "after each failure the live database is as it was"
is "$(leftovers)" 0 "and no half-restored database is left"

# Busy: another backup or restore holds the lock.
# One process that holds the lock and nothing else, so killing it frees it.
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "w"); fcntl.flock(f, fcntl.LOCK_EX); time.sleep(30)' \
	"$backups/.lock" &
holder=$!
wait_for 5 bash -c "! flock -n '$backups/.lock' true"
out=$(ctl backup 2>&1)
is "$?" 75 "a backup while another runs exits 75"
like "$out" 'another backup or restore is running' "and says why"
kill "$holder"
wait "$holder" 2>/dev/null

# Not enough room: nothing is written.
n=$(dumps)
stack_write_config "backup.dir=$backups" backup.min_free_mb=1048576 >/dev/null
out=$(ctl backup 2>&1)
is "$?" 1 "without the free space it needs, backup exits 1"
like "$out" 'MiB free' "and says how much there is"
is "$(dumps)" "$n" "and writes nothing"

# Retention: old backups go, the newest keep_min stay whatever their age.
for d in 01 02 03 04 05 06 07 08 09; do
	f=$backups/loyalty-202001${d}T000000Z.dump
	echo old >"$f" && echo "x  ${f##*/}" >"$f.sha256"
	touch -d '30 days ago' "$f" "$f.sha256"
done
stack_write_config "backup.dir=$backups" backup.keep_min=7 backup.keep_days=14 >/dev/null
recent=$(($(dumps) - 9 + 1))
out=$(ctl backup 2>&1)
is "$?" 0 "backup with old files around exits 0"
want=$((recent > 7 ? recent : 7))
is "$(dumps)" "$want" "backups older than keep_days are deleted down to keep_min"
is "$(find "$backups" -name 'loyalty-2020*.sha256' | wc -l)" "$((want - recent))" \
	"their checksum files go with them"
like "$out" 'deleted .*loyalty-20200101T000000Z.dump' "and each deletion is printed"

# Interrupted while pg_restore runs: the live database stays.
q "SET ROLE loyalty_owner;
   CREATE TABLE rt_big AS SELECT g AS id, md5(g::text) AS note
   FROM generate_series(1, 400000) g;
   ALTER TABLE rt_big ADD PRIMARY KEY (id);" || fail "a bigger table"
out=$(ctl backup 2>&1) || fail "a backup of the bigger database" "$out"
big=$(ls -t "$backups"/loyalty-*Z.dump | head -n 1)
live=$(dump)
# Not through ctl(): $! must be loyaltyctl itself, not a subshell.
"$LOYALTYCTL" -c "$STACK_CONF" --sql-dir "$STACK_SQL_DIR" restore "$big" \
	>"$HARNESS_DIR/interrupted.out" 2>&1 &
restorer=$!
wait_for 60 pgrep -f "pg_restore --exit-on-error.*$(basename "$big")"
kill -TERM "$restorer"
wait "$restorer"
cmp_num "$?" -ne 0 "a restore interrupted by SIGTERM exits non-zero"
like "$(cat "$HARNESS_DIR/interrupted.out")" 'is as it was' "and says the database is unchanged"
is "$(dump)" "$live" "the live database is as it was"
is "$(leftovers)" 0 "no half-restored database is left"

# An archive of a newer schema than this build.
newer=$HARNESS_DIR/sql-newer
cp -r "$STACK_SQL_DIR" "$newer"
echo 'CREATE TABLE rt_future (id int);' >"$newer/9999_future.sql"
"$LOYALTYCTL" -c "$STACK_CONF" --sql-dir "$newer" migrate >/dev/null 2>&1 ||
	fail "the newer migration applies"
ctl backup >/dev/null 2>&1 || fail "a backup of the newer schema"
future=$(ls -t "$backups"/loyalty-*Z.dump | head -n 1)
live=$(dump)
out=$(ctl restore "$future" 2>&1)
is "$?" 3 "an archive of a newer schema is refused (exit 3)"
like "$out" 'newer than this build' "and the message says to upgrade first"
is "$(dump)" "$live" "the live database is as it was"
is "$(leftovers)" 0 "no half-restored database is left"

done_testing
