-- events-reset.sql — bench/events: the same starting state before every
-- measurement, as the anchor's reset.sql makes its own: 10,000 members
-- (external ids m1..m10000) with 50,000 past events between them, each with
-- its lot, its ledger entry and its budget charge; balances to match;
-- statistics up to date; a fresh checkpoint. Run by psql as the superuser
-- (row-level security does not bind it) with -v tenant=UUID -v budget=UUID
-- -v rule=UUID.
--
-- Why a history and not empty tables: with events and ledger empty and
-- freshly analysed, PostgreSQL may plan the foreign-key checks as
-- sequential scans, and the workers' long-lived connections keep such a
-- plan (the anchor's README measured four times less throughput). A real
-- tenant's ledger is never empty. The members are made anew too, so that
-- the updates of earlier runs leave no dead rows behind.
\set ON_ERROR_STOP on
BEGIN;
TRUNCATE members, events, lots, ledger, vouchers, rule_usage, budget_slots
	RESTART IDENTITY;

INSERT INTO members (tenant_id, external_id)
SELECT :'tenant', 'm' || g FROM generate_series(1, 10000) g;

CREATE TEMP TABLE seed AS
SELECT g, 'seed-' || g AS event_id, m.id AS member_id,
    100 + (g * 31) % 49901 AS amount, (100 + (g * 31) % 49901) / 100 AS points,
    now() - interval '1 day' AS at
  FROM generate_series(1, 50000) g
  JOIN members m ON m.tenant_id = :'tenant'
   AND m.external_id = 'm' || (1 + (g * 7919) % 10000);

INSERT INTO lots (id, tenant_id, member_id, points, remaining, created_at)
OVERRIDING SYSTEM VALUE
SELECT g, :'tenant', member_id, points, points, at FROM seed;
SELECT setval(pg_get_serial_sequence('lots', 'id'), 50000);

INSERT INTO ledger (tenant_id, member_id, kind, points, balance_after,
    event_id, lot_id, actor_type, actor_id, request_id, at)
SELECT :'tenant', member_id, 'earn', points,
    sum(points) OVER (PARTITION BY member_id ORDER BY g), event_id, g,
    'user', 'bench-seed', 'bench-seed', at
  FROM seed ORDER BY g;

INSERT INTO events (tenant_id, event_id, request_hash, type, member_id,
    amount_minor, currency, occurred_at, points, rules, budgets, lot_id,
    response, actor_type, actor_id, request_id, created_at)
SELECT :'tenant', event_id, sha256(convert_to(event_id, 'UTF8')), 'purchase',
    member_id, amount, 'USD', at, points,
    jsonb_build_array(jsonb_build_object('rule_id', :'rule',
        'points', points)),
    jsonb_build_array(jsonb_build_object('budget_id', :'budget',
        'month', date_trunc('month', now() AT TIME ZONE 'Africa/Harare')::date,
        'points', points)),
    g,
    json_build_object('event_id', event_id, 'status', 'processed',
        'member_id', member_id, 'points_awarded', points,
        'balance', points, 'rules', json_build_array(json_build_object(
        'points', points, 'rule_id', :'rule')),
        'budget_limited', false)::text,
    'user', 'bench-seed', 'bench-seed', at
  FROM seed ORDER BY g;

UPDATE members m SET balance = s.pts, lifetime_points = s.pts
  FROM (SELECT member_id, sum(points) AS pts FROM seed GROUP BY member_id) s
 WHERE m.tenant_id = :'tenant' AND m.id = s.member_id;

-- The budget's month as its first award makes it (sql/0004: slots with a
-- share of the limit each), the seed's use spread over them.
INSERT INTO budget_slots (tenant_id, budget_id, month, slot, quota, used,
    awards)
SELECT :'tenant', :'budget',
    date_trunc('month', now() AT TIME ZONE 'Africa/Harare')::date, x,
    budget_slot_quota(b.monthly_limit, n, x),
    budget_slot_quota(u.used, n, x), budget_slot_quota(u.awards, n, x)
  FROM budgets b,
       LATERAL (SELECT budget_slot_count(b.monthly_limit) AS n) c,
       (SELECT sum(points) AS used, count(*) AS awards FROM seed) u,
       LATERAL generate_series(0, c.n - 1) x
 WHERE b.tenant_id = :'tenant' AND b.id = :'budget';

DROP TABLE seed;
COMMIT;
VACUUM ANALYZE members, events, lots, ledger, budget_slots, rule_usage;
CHECKPOINT;
