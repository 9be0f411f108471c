-- 0004_budget_slots.sql — a budget's month spread over slots.
--
-- Every award charges its rule's budget. With one usage row per budget
-- and month, every award of a tenant waited for the row lock of the one
-- before it until that one had committed (its WAL flushed): one event per
-- flush, whatever the number of workers. Here a month of a budget is up
-- to 16 rows ("slots"), each with a share of the limit (its quota); an
-- award charges one slot that has room and that no other transaction
-- holds, and concurrent awards charge different rows. Invariant 3 holds
-- slot by slot: used <= quota in every slot, and the quotas of a month add
-- up to the budget's limit, so the month's use never exceeds the limit.
-- When no free slot has room for a charge (the budget is running out, or
-- every slot is held), the charge locks all of the month's slots in slot
-- order and spreads itself over whatever room they have: exact, as before.

CREATE TABLE budget_slots (
	tenant_id	uuid NOT NULL,
	budget_id	uuid NOT NULL,
	month		date NOT NULL CHECK (extract(day FROM month) = 1),
	slot		smallint NOT NULL CHECK (slot BETWEEN 0 AND 15),
	quota		bigint NOT NULL CHECK (quota >= 0),
	used		bigint NOT NULL DEFAULT 0 CHECK (used BETWEEN 0 AND quota),
	awards		bigint NOT NULL DEFAULT 0,
	limited		bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, budget_id, month, slot),
	FOREIGN KEY (tenant_id, budget_id) REFERENCES budgets ON DELETE CASCADE
) WITH (fillfactor = 50);	-- room for HOT updates

-- The months used so far: one slot each, its quota the limit (or the use,
-- were a past month's use above today's limit).
ALTER TABLE budget_usage NO FORCE ROW LEVEL SECURITY;
INSERT INTO budget_slots (tenant_id, budget_id, month, slot, quota, used,
    awards, limited)
SELECT u.tenant_id, u.budget_id, u.month, 0,
    greatest(b.monthly_limit, u.used), u.used, u.awards, u.limited
  FROM budget_usage u
  JOIN budgets b ON b.tenant_id = u.tenant_id AND b.id = u.budget_id;
DROP TABLE budget_usage;

ALTER TABLE budget_slots ENABLE ROW LEVEL SECURITY;
ALTER TABLE budget_slots FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_own ON budget_slots USING (tenant_id = app_tenant())
	WITH CHECK (tenant_id = app_tenant());

-- A budget's use in one calendar month of the tenant's time zone, as the
-- API, the reports and the tests read it. The caller's row-level security
-- applies (security_invoker).
CREATE VIEW budget_usage WITH (security_invoker = true) AS
SELECT tenant_id, budget_id, month, sum(used)::bigint AS used,
    sum(awards)::bigint AS awards, sum(limited)::bigint AS limited,
    sum(quota)::bigint AS quota
  FROM budget_slots
 GROUP BY tenant_id, budget_id, month;

-- How many slots a month of a budget with this limit gets: one per
-- thousand points, at most 16 (a small budget stays one row, exact and
-- simple; a large one lets 16 awards charge it at once).
CREATE FUNCTION budget_slot_count(p_limit bigint) RETURNS integer
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT least(16, greatest(1, p_limit / 1000))::integer $$;

-- Slot s's share of a limit over n slots: the shares add up to the limit.
CREATE FUNCTION budget_slot_quota(p_limit bigint, n integer, s integer)
	RETURNS bigint
	LANGUAGE sql IMMUTABLE PARALLEL SAFE
	AS $$ SELECT p_limit / n + (s < p_limit % n)::integer $$;

-- Charges up to p_points to a budget in the current month of the
-- tenant's zone: never beyond the limit. Under the 'nothing' policy a
-- charge that does not fit takes nothing. Returns what it charged.
CREATE OR REPLACE FUNCTION charge_budget(t tenants, p_budget uuid,
    p_points bigint) RETURNS bigint
	LANGUAGE plpgsql AS $$
DECLARE
	v_month	date := date_trunc('month', now() AT TIME ZONE t.timezone);
	v_limit	bigint;
	v_room	bigint;
	v_take	bigint;
BEGIN
	-- A slot with room for all of it that no other transaction holds,
	-- each backend starting its search at a slot of its own. FOR UPDATE
	-- re-checks the room on the slot's latest version once it is locked.
	-- (A CTE: run once, where a subquery in FROM may be run again for
	-- each row the UPDATE looks at, and lock and charge another slot.)
	WITH f AS (SELECT slot FROM budget_slots
	         WHERE tenant_id = t.id AND budget_id = p_budget
	           AND month = v_month AND used <= quota - p_points
	         ORDER BY (slot + pg_backend_pid()) % 16
	         LIMIT 1 FOR UPDATE SKIP LOCKED)
	UPDATE budget_slots s SET used = s.used + p_points,
	    awards = s.awards + 1
	  FROM f
	 WHERE s.tenant_id = t.id AND s.budget_id = p_budget
	   AND s.month = v_month AND s.slot = f.slot;
	IF FOUND THEN
		RETURN p_points;
	END IF;

	-- The month's first award makes its slots, from the limit read under
	-- a key-share lock on the budget: a PATCH of the limit (which locks
	-- the budget FOR UPDATE) has committed by then, and a later one
	-- finds the slots and re-shares them.
	PERFORM 1 FROM budget_slots
	 WHERE tenant_id = t.id AND budget_id = p_budget AND month = v_month;
	IF NOT FOUND THEN
		SELECT monthly_limit INTO v_limit FROM budgets
		 WHERE tenant_id = t.id AND id = p_budget FOR KEY SHARE;
		IF NOT FOUND THEN
			RETURN 0;
		END IF;
		INSERT INTO budget_slots (tenant_id, budget_id, month, slot,
		    quota)
		SELECT t.id, p_budget, v_month, s,
		    budget_slot_quota(v_limit, budget_slot_count(v_limit), s)
		  FROM generate_series(0, budget_slot_count(v_limit) - 1) s
		ON CONFLICT DO NOTHING;
	END IF;

	-- Exact: every slot of the month locked, in slot order (so that two
	-- such charges cannot deadlock), the room they have together taken
	-- as the policy says and spread over them, lowest slot first.
	SELECT sum(quota - used) INTO v_room FROM (SELECT quota, used
	  FROM budget_slots WHERE tenant_id = t.id AND budget_id = p_budget
	   AND month = v_month ORDER BY slot FOR UPDATE) s;
	IF v_room IS NULL THEN
		RETURN 0;
	END IF;
	v_take := CASE WHEN v_room >= p_points THEN p_points
	    WHEN t.budget_policy = 'partial' THEN v_room ELSE 0 END;
	WITH d AS MATERIALIZED (SELECT slot, row_number() OVER w = 1 AS first,
	           least(quota - used, greatest(0, v_take -
	               (sum(quota - used) OVER w - (quota - used)))) AS take
	          FROM budget_slots
	         WHERE tenant_id = t.id AND budget_id = p_budget
	           AND month = v_month
	        WINDOW w AS (ORDER BY slot))
	UPDATE budget_slots s SET used = s.used + d.take,
	    awards = s.awards + d.first::integer,
	    limited = s.limited + (d.first AND v_take < p_points)::integer
	  FROM d
	 WHERE s.tenant_id = t.id AND s.budget_id = p_budget
	   AND s.month = v_month AND s.slot = d.slot
	   AND (d.take > 0 OR d.first);
	RETURN v_take;
END
$$;

-- Gives back up to p_points of a budget's use in a month (a reversal's
-- share), highest slot first, every slot of the month locked in slot
-- order.
CREATE FUNCTION give_back_budget(t tenants, p_budget uuid, p_month date,
    p_points bigint) RETURNS void
	LANGUAGE plpgsql AS $$
BEGIN
	PERFORM 1 FROM budget_slots WHERE tenant_id = t.id
	   AND budget_id = p_budget AND month = p_month ORDER BY slot
	   FOR UPDATE;
	WITH d AS MATERIALIZED (SELECT slot, least(used, greatest(0,
	           p_points - (sum(used) OVER w - used))) AS back
	          FROM budget_slots
	         WHERE tenant_id = t.id AND budget_id = p_budget
	           AND month = p_month
	        WINDOW w AS (ORDER BY slot DESC))
	UPDATE budget_slots s SET used = s.used - d.back
	  FROM d
	 WHERE s.tenant_id = t.id AND s.budget_id = p_budget
	   AND s.month = p_month AND s.slot = d.slot AND d.back > 0;
END
$$;

-- This month's use of a budget, every slot locked in slot order: no award
-- charges it until the caller commits. PATCH /v1/budgets/{id} compares a
-- new limit with it (the budget's own row lock holds back the month's
-- first award).
CREATE FUNCTION lock_budget_month(t tenants, p_budget uuid)
	RETURNS bigint
	LANGUAGE sql AS $$
	SELECT coalesce(sum(used), 0)::bigint FROM (SELECT used
	  FROM budget_slots WHERE tenant_id = t.id AND budget_id = p_budget
	   AND month = date_trunc('month', now() AT TIME ZONE t.timezone)
	 ORDER BY slot FOR UPDATE) s $$;

-- After a new limit (the month locked by lock_budget_month(), the use
-- found within it): the month's slots share the new limit, and the use is
-- moved so that no slot holds more than its quota.
CREATE FUNCTION reshare_budget_month(t tenants, p_budget uuid)
	RETURNS void
	LANGUAGE sql AS $$
	WITH d AS MATERIALIZED (SELECT slot, q AS quota, total,
	           sum(q) OVER (ORDER BY slot) AS upto
	          FROM (SELECT x.slot, sum(x.used) OVER () AS total,
	                   budget_slot_quota(b.monthly_limit,
	                       (count(*) OVER ())::integer, x.slot) AS q
	                  FROM budget_slots x
	                  JOIN budgets b ON b.tenant_id = x.tenant_id
	                   AND b.id = x.budget_id
	                 WHERE x.tenant_id = t.id AND x.budget_id = p_budget
	                   AND x.month = date_trunc('month',
	                       now() AT TIME ZONE t.timezone)) y)
	UPDATE budget_slots s SET quota = d.quota,
	    used = least(d.quota, greatest(0, d.total - (d.upto - d.quota)))
	  FROM d
	 WHERE s.tenant_id = t.id AND s.budget_id = p_budget
	   AND s.month = date_trunc('month', now() AT TIME ZONE t.timezone)
	   AND s.slot = d.slot $$;

-- As in 0003, the budget use given back through give_back_budget().
-- A refund: claws back the points an event earned, all of them or in
-- proportion to p_amount (minor units; NULL: all that is not yet
-- reversed). The event's own lot is taken first, then the member's
-- others, soonest-expiring first. What the member has already spent is
-- the tenant's policy: 'shortfall' takes what is there and records the
-- rest on the event; 'negative' takes it all, the part beyond the balance
-- becoming debt that later earnings pay. Budget use is given back in
-- proportion to the points taken back, in the month it was charged.
-- Outcomes: 'done' (body: the response), 'no_event', 'too_much'
-- (p_amount beyond what is left), 'nothing_left'.
CREATE OR REPLACE FUNCTION reverse_event(p_event_id text, p_amount bigint,
    p_actor_type text, p_actor_id text, p_request_id text,
    p_reason text DEFAULT NULL, OUT outcome text, OUT body text)
	LANGUAGE plpgsql AS $$
DECLARE
	t	tenants;
	e	events;
	m	members;
	b	jsonb;
	v_amount	bigint;
	v_target	bigint;
	v_this	bigint;
	v_got	bigint;
	v_short	bigint := 0;
	v_back	bigint;
	v_bal	bigint;
BEGIN
	SELECT * INTO t FROM tenants WHERE id = app_tenant();
	SELECT * INTO e FROM events
	 WHERE tenant_id = t.id AND event_id = p_event_id;
	IF NOT FOUND THEN
		outcome := 'no_event';
		RETURN;
	END IF;
	-- The member first, then the event again, locked, as it is now.
	SELECT * INTO m FROM members
	 WHERE tenant_id = t.id AND id = e.member_id FOR UPDATE;
	SELECT * INTO e FROM events
	 WHERE tenant_id = t.id AND event_id = p_event_id FOR UPDATE;
	IF e.amount_minor IS NULL THEN
		IF p_amount IS NOT NULL THEN
			outcome := 'too_much';
			RETURN;
		END IF;
		-- Without an amount an event is reversed whole, once; one
		-- that earned nothing has nothing to reverse.
		IF e.reversed_points + e.shortfall >= e.points THEN
			outcome := 'nothing_left';
			RETURN;
		END IF;
		v_amount := 0;
		v_target := e.points;
	ELSE
		v_amount := coalesce(p_amount, e.amount_minor - e.reversed_minor);
		IF e.reversed_minor >= e.amount_minor THEN
			outcome := 'nothing_left';
			RETURN;
		END IF;
		IF v_amount > e.amount_minor - e.reversed_minor THEN
			outcome := 'too_much';
			RETURN;
		END IF;
		-- Cumulative, so that partial refunds add up to the whole.
		v_target := e.points * (e.reversed_minor + v_amount)
		    / e.amount_minor;
	END IF;
	v_this := v_target - e.reversed_points - e.shortfall;
	v_got := 0;
	IF v_this > 0 THEN
		PERFORM expire_member(t, m.id, p_actor_type, p_actor_id,
		    p_request_id);
		v_got := take_points(t, m.id, v_this, e.lot_id);
		IF v_got < v_this AND t.reversal_policy = 'negative' THEN
			UPDATE members SET debt = debt + (v_this - v_got)
			 WHERE tenant_id = t.id AND id = m.id;
			v_got := v_this;
		END IF;
		v_short := v_this - v_got;
	END IF;
	v_bal := m.balance;
	IF v_got > 0 THEN
		v_bal := post_entry(t, m.id, 'reverse', -v_got, p_actor_type,
		    p_actor_id, p_request_id, p_event_id, NULL, NULL, p_reason);
		FOR b IN SELECT * FROM jsonb_array_elements(e.budgets) LOOP
			v_back := (b->>'points')::bigint *
			    (e.reversed_points + v_got) / e.points -
			    (b->>'points')::bigint * e.reversed_points / e.points;
			PERFORM give_back_budget(t, (b->>'budget_id')::uuid,
			    (b->>'month')::date, v_back);
		END LOOP;
	END IF;
	UPDATE events SET reversed_minor = reversed_minor + v_amount,
	    reversed_points = reversed_points + v_got,
	    shortfall = shortfall + v_short
	 WHERE tenant_id = t.id AND event_id = p_event_id
	RETURNING * INTO e;
	outcome := 'done';
	body := json_build_object('event_id', p_event_id,
	    'amount_minor', v_amount, 'points_reversed', v_got,
	    'shortfall', v_short, 'member_id', m.id, 'balance', v_bal,
	    'event', api_event(e))::text;
END
$$;
