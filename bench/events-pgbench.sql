-- events-pgbench.sql — bench/events: the SQL that loyaltyd sends for one
-- POST /v1/events with a bearer token, statement for statement and round
-- trip for round trip (copied from log_statement = all), for
--   pgbench -n -M extended -U loyalty -f bench/events-pgbench.sql
--     -D tag=RUN -D n=0 -D setting=loyalty.tenant_id -D tenant=UUID
--     -D user=UUID -D session=UUID -D hash='\x<64 hex>' -D ts=UNIX
--     -D rule='"rule_id":...' -D rid=REQUEST_ID
-- as the application's role, so row-level security binds it as it binds
-- loyaltyd. -M extended: loyaltyd sends every statement with
-- PQsendQueryParams / PQexecParams (unnamed statements, text parameters).
--
-- 1. src/auth.c check_session through src/db.c db_begin_query: BEGIN, the
--    tenant setting and the session check (auth_session(), a PL/pgSQL
--    function) in ONE round trip (libpq pipeline mode, one Sync).
-- 2. src/h_events.c: the worker's compiled rules are cached (no query);
--    it sends record_event() with the candidates it computed — one rule,
--    per_unit 1 point per 100 minor units — and COMMIT in one round trip
--    (db_query_commit, pipeline mode again).
-- Where loyaltyd sends a value that it computed, the script computes it in
-- the statement: the event id (TAG-CLIENT-N), the member's external id and
-- the candidates' JSON (a few string concatenations, microseconds).
-- request_hash (the SHA-256 of the body) is the same for every event here:
-- its value changes nothing of the work.
\set mid random(1, 10000)
\set amt random(100, 50000)
\set pts :amt / 100
\set n :n + 1
\startpipeline
BEGIN;
SELECT set_config(:setting, :tenant, true);
SELECT * FROM auth_session(:tenant::uuid, :user::uuid, :session::uuid);
\endpipeline
\startpipeline
SELECT outcome, body FROM record_event(:tag || '-' || :client_id || '-' || :n, :hash::bytea, 'purchase', 'external_id', 'm' || :mid, :amt::bigint, 'USD', to_timestamp(:ts::bigint), NULL::jsonb, ('[{"points":' || :pts || ',' || :rule || '}]')::jsonb, 'user', :user, :rid);
COMMIT;
\endpipeline
