-- 0006_record_event.sql — record_event() in fewer statements (issue 5,
-- item 14; docs/PERFORMANCE.md "What one event costs"). Each statement a
-- PL/pgSQL function runs costs its executor start and end, its plan's
-- locks and checks, before its own work: the tenant and the event lookup
-- are one statement; the lot, the balance, the ledger entry and the event
-- are one statement of data-modifying CTEs (all of them run to completion
-- whatever the last one does, and a taken event id still undoes them all
-- with LY001); the JSON arrays are walked by index, not by a query. What
-- the function does is unchanged.

CREATE OR REPLACE FUNCTION record_event(p_event_id text, p_hash bytea, p_type text,
    p_member_by text, p_member_ref text, p_amount bigint, p_currency text,
    p_occurred timestamptz, p_attributes jsonb, p_rules jsonb,
    p_actor_type text, p_actor_id text, p_request_id text,
    p_budgets_first boolean DEFAULT false,
    OUT outcome text, OUT body text)
	LANGUAGE plpgsql AS $$
DECLARE
	t	tenants;
	m	members;
	e	events;
	x	record;
	r	jsonb;
	c	jsonb;
	i	integer;
	v_due	jsonb := '[]';
	v_pts	bigint;
	v_got	bigint;
	v_total	bigint := 0;
	v_day	date;
	v_month	date;
	v_used	bigint;
	v_rules	jsonb := '[]';
	v_budg	jsonb := '[]';
	v_limited boolean := false;
	v_now_month date;
BEGIN
	-- The tenant, and the event if it is known: a known event is
	-- answered before its member is looked at (a replay changes nothing,
	-- not even by enrolling). A first receipt committed concurrently is
	-- caught by the INSERT at the end.
	SELECT tt AS t, ee AS e INTO x
	  FROM tenants tt LEFT JOIN events ee ON ee.tenant_id = tt.id
	   AND ee.event_id = p_event_id
	 WHERE tt.id = app_tenant();
	t := x.t;
	e := x.e;
	v_now_month := date_trunc('month', now() AT TIME ZONE t.timezone);
	IF e.event_id IS NOT NULL THEN
		outcome := CASE WHEN e.request_hash = p_hash THEN 'replayed'
		    ELSE 'conflict' END;
		body := CASE WHEN outcome = 'replayed' THEN e.response END;
		RETURN;
	END IF;
	m := lock_member(t, p_member_by, p_member_ref, t.auto_enrol);
	IF m.id IS NULL THEN
		outcome := CASE WHEN t.auto_enrol OR p_member_by = 'id'
		    THEN 'no_member' ELSE 'not_enrolled' END;
		RETURN;
	END IF;
	IF m.status = 'blocked' THEN
		outcome := 'blocked';
		RETURN;
	END IF;

	v_day := (p_occurred AT TIME ZONE t.timezone)::date;
	v_month := date_trunc('month', v_day);
	-- (The arrays are walked by index: a FOR over a query would run one
	-- more statement.)
	FOR i IN 0 .. coalesce(jsonb_array_length(p_rules), 0) - 1 LOOP
		r := p_rules -> i;
		-- A member without a tier has none of the rule's tiers (? with
		-- NULL is NULL, and IF NULL would let the rule apply).
		IF r->'tiers' <> 'null'
		    AND NOT coalesce(r->'tiers' ? m.tier, false) THEN
			CONTINUE;
		END IF;
		v_pts := CASE WHEN r->'multiplier' <> 'null'
		    THEN v_total * ((r->>'multiplier')::bigint - 100) / 100
		    ELSE (r->>'points')::bigint END;
		-- Caps: what the rule gave this member today and this month.
		IF v_pts > 0 AND r->'cap_day' <> 'null' THEN
			SELECT points INTO v_used FROM rule_usage
			 WHERE tenant_id = t.id AND member_id = m.id
			   AND rule_id = (r->>'rule_id')::uuid
			   AND period_kind = 'd' AND period = v_day;
			v_pts := least(v_pts, greatest(0,
			    (r->>'cap_day')::bigint - coalesce(v_used, 0)));
		END IF;
		IF v_pts > 0 AND r->'cap_month' <> 'null' THEN
			SELECT points INTO v_used FROM rule_usage
			 WHERE tenant_id = t.id AND member_id = m.id
			   AND rule_id = (r->>'rule_id')::uuid
			   AND period_kind = 'm' AND period = v_month;
			v_pts := least(v_pts, greatest(0,
			    (r->>'cap_month')::bigint - coalesce(v_used, 0)));
		END IF;
		IF v_pts > 0 AND r->'budget_id' <> 'null'
		    AND NOT p_budgets_first THEN
			-- Charged last, just before the commit, so that the
			-- budget's row (which every award shares) is locked as
			-- briefly as can be: see the end.
			v_due := v_due || jsonb_build_object('budget_id',
			    r->'budget_id', 'points', v_pts);
			v_budg := v_budg || jsonb_build_object(
			    'budget_id', r->'budget_id',
			    'month', v_now_month,
			    'points', v_pts);
		ELSIF v_pts > 0 AND r->'budget_id' <> 'null' THEN
			v_got := charge_budget(t, (r->>'budget_id')::uuid, v_pts);
			IF v_got < v_pts THEN
				v_limited := true;
			END IF;
			v_pts := v_got;
			IF v_got > 0 THEN
				v_budg := v_budg || jsonb_build_object(
				    'budget_id', r->'budget_id',
				    'month', v_now_month,
				    'points', v_got);
			END IF;
		END IF;
		IF v_pts > 0 AND r->'cap_day' <> 'null' THEN
			INSERT INTO rule_usage VALUES (t.id, m.id,
			    (r->>'rule_id')::uuid, 'd', v_day, v_pts)
			ON CONFLICT ON CONSTRAINT rule_usage_pkey DO UPDATE
			    SET points = rule_usage.points + v_pts;
		END IF;
		IF v_pts > 0 AND r->'cap_month' <> 'null' THEN
			INSERT INTO rule_usage VALUES (t.id, m.id,
			    (r->>'rule_id')::uuid, 'm', v_month, v_pts)
			ON CONFLICT ON CONSTRAINT rule_usage_pkey DO UPDATE
			    SET points = rule_usage.points + v_pts;
		END IF;
		v_total := v_total + v_pts;
		v_rules := v_rules || jsonb_build_object('rule_id',
		    r->'rule_id', 'points', v_pts);
		EXIT WHEN (r->>'stop')::boolean;
	END LOOP;

	-- The lot (what is left after the member's debt), the balance (which
	-- pays the debt in the same step), the ledger entry and the event with
	-- its response, in one statement: add_points() and post_entry() for an
	-- earning, written out. Without points, only the event.
	WITH l AS (
		INSERT INTO lots (tenant_id, member_id, points, remaining,
		    expires_at)
		SELECT t.id, m.id, v_total - m.debt, v_total - m.debt,
		    lot_expiry(t, now())
		 WHERE v_total > m.debt
		RETURNING id),
	u AS (
		UPDATE members SET balance = balance + v_total,
		    debt = debt - least(debt, v_total),
		    lifetime_points = lifetime_points + v_total,
		    updated_at = now()
		 WHERE tenant_id = t.id AND id = m.id AND v_total > 0
		RETURNING balance),
	g AS (
		INSERT INTO ledger (tenant_id, member_id, kind, points,
		    balance_after, event_id, lot_id, actor_type, actor_id,
		    request_id)
		SELECT t.id, m.id, 'earn', v_total, u.balance, p_event_id,
		    (SELECT id FROM l), p_actor_type, p_actor_id, p_request_id
		  FROM u
		RETURNING balance_after, lot_id)
	INSERT INTO events (tenant_id, event_id, request_hash, type, member_id,
	    amount_minor, currency, occurred_at, attributes, points, rules,
	    budgets, budget_limited, lot_id, response, actor_type, actor_id,
	    request_id)
	SELECT t.id, p_event_id, p_hash, p_type, m.id, p_amount, p_currency,
	    p_occurred, coalesce(p_attributes, '{}'), v_total, v_rules, v_budg,
	    v_limited, g.lot_id, json_build_object('event_id', p_event_id,
	        'status', 'processed', 'member_id', m.id,
	        'points_awarded', v_total,
	        'balance', coalesce(g.balance_after, m.balance),
	        'rules', v_rules, 'budget_limited', v_limited)::text,
	    p_actor_type, p_actor_id, p_request_id
	  FROM (SELECT) one LEFT JOIN g ON true
	ON CONFLICT DO NOTHING
	RETURNING response INTO body;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'event % was recorded concurrently', p_event_id
		    USING ERRCODE = 'LY001';
	END IF;
	-- The budgets, last: each charge must be whole. One that is not (the
	-- budget is running out) undoes the transaction, and the caller runs
	-- it again with p_budgets_first, charging each budget before the
	-- points it allows are written.
	FOR i IN 0 .. coalesce(jsonb_array_length(v_due), 0) - 1 LOOP
		c := v_due -> i;
		-- First the slot of this backend (its process id modulo 16): a
		-- plain UPDATE of one row, which re-checks the room on the
		-- row's latest version should it wait for another backend with
		-- the same slot. No such slot (a budget of fewer slots) or no
		-- room in it: charge_budget() looks further.
		UPDATE budget_slots SET used = used + (c->>'points')::bigint,
		    awards = awards + 1
		 WHERE tenant_id = t.id
		   AND budget_id = (c->>'budget_id')::uuid
		   AND month = v_now_month AND slot = pg_backend_pid() % 16
		   AND used <= quota - (c->>'points')::bigint;
		IF NOT FOUND AND charge_budget(t, (c->>'budget_id')::uuid,
		    (c->>'points')::bigint) < (c->>'points')::bigint THEN
			RAISE EXCEPTION 'a budget cannot cover event %',
			    p_event_id USING ERRCODE = 'LY002';
		END IF;
	END LOOP;
	outcome := 'created';
END
$$;
