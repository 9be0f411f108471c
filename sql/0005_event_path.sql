-- 0005_event_path.sql — less work per recorded event (issue 5, item 14:
-- docs/PERFORMANCE.md "Recording an event" has the measurements).
--
-- PostgreSQL prepares a table's CHECK constraints anew for every statement
-- that writes the table (each one's expression read back from its stored
-- form and planned), and runs a foreign-key trigger for every inserted row.
-- Recording an event writes four tables; this migration keeps every rule
-- those constraints stated that the data still needs, in fewer of them:

-- events: the event's id, type, currency, amount and hash are checked by
-- the worker before the call (src/h_events.c, the same rules and a 422
-- for each) and written by record_event() alone; what a reversal may
-- change stays checked, in one constraint. The seq column and its two
-- indexes served no query.
ALTER TABLE events
	DROP CONSTRAINT events_event_id_check,
	DROP CONSTRAINT events_request_hash_check,
	DROP CONSTRAINT events_type_check,
	DROP CONSTRAINT events_amount_minor_check,
	DROP CONSTRAINT events_currency_check,
	DROP CONSTRAINT events_points_check,
	DROP CONSTRAINT events_reversed_minor_check,
	DROP CONSTRAINT events_reversed_points_check,
	DROP CONSTRAINT events_shortfall_check,
	DROP CONSTRAINT events_check,
	DROP CONSTRAINT events_check1,
	DROP CONSTRAINT events_check2,
	DROP COLUMN seq,
	ADD CONSTRAINT events_amounts CHECK (points >= 0
	    AND reversed_minor >= 0 AND reversed_points >= 0 AND shortfall >= 0
	    AND (amount_minor IS NULL) = (currency IS NULL)
	    AND reversed_minor <= coalesce(amount_minor, 0)
	    AND reversed_points + shortfall <= points);

-- members, ledger, lots: the same conditions as before, one constraint per
-- table (a CHECK fails when its condition is false, and a conjunction is
-- false exactly when one of its parts is: the same rows pass). Written as
-- one flat conjunction, without BETWEEN: a BETWEEN is an AND of its own,
-- and PostgreSQL prints such a nested AND in a form it parses back flat,
-- so that a dump restored and dumped again would differ (t/ctl-backup.t
-- compares the two).
ALTER TABLE members
	DROP CONSTRAINT members_external_id_check,
	DROP CONSTRAINT members_phone_check,
	DROP CONSTRAINT members_name_check,
	DROP CONSTRAINT members_status_check,
	DROP CONSTRAINT members_tier_check,
	DROP CONSTRAINT members_attributes_check,
	DROP CONSTRAINT members_lifetime_points_check,
	DROP CONSTRAINT members_debt_check,
	DROP CONSTRAINT members_enrolled_by_check,
	DROP CONSTRAINT members_check,
	DROP CONSTRAINT members_check1,
	ADD CONSTRAINT members_valid CHECK (
	    length(external_id) >= 1 AND length(external_id) <= 100
	    AND phone ~ '^\+[1-9][0-9]{5,14}$'
	    AND length(name) >= 1 AND length(name) <= 200
	    AND status IN ('active', 'blocked')
	    AND length(tier) >= 1 AND length(tier) <= 32
	    AND jsonb_typeof(attributes) = 'object'
	    AND lifetime_points >= 0 AND debt >= 0
	    AND enrolled_by IN ('api', 'event')
	    AND (external_id IS NOT NULL OR phone IS NOT NULL)
	    AND balance >= -debt);
ALTER TABLE ledger
	DROP CONSTRAINT ledger_kind_check,
	DROP CONSTRAINT ledger_points_check,
	DROP CONSTRAINT ledger_reason_check,
	DROP CONSTRAINT ledger_check,
	ADD CONSTRAINT ledger_valid CHECK (
	    kind IN ('earn', 'redeem', 'expire', 'adjust', 'reverse', 'refund')
	    AND points <> 0
	    AND ((points > 0) = (kind IN ('earn', 'refund')) OR kind = 'adjust')
	    AND length(reason) >= 1 AND length(reason) <= 500);
ALTER TABLE lots
	DROP CONSTRAINT lots_points_check,
	DROP CONSTRAINT lots_check,
	ADD CONSTRAINT lots_valid CHECK (points > 0
	    AND remaining >= 0 AND remaining <= points);

-- The foreign keys from events, ledger and lots to members checked each
-- new row against its member (a key-share lock and a lookup per row) for
-- a member the writing function has just locked. What they guarded
-- against, a member deleted from under its history, is now a grant: the
-- application may not delete members (no route does), and every row of
-- these tables is written by a function from the member row it holds.
ALTER TABLE events DROP CONSTRAINT events_tenant_id_member_id_fkey;
ALTER TABLE ledger DROP CONSTRAINT ledger_tenant_id_member_id_fkey;
ALTER TABLE lots DROP CONSTRAINT lots_tenant_id_member_id_fkey;
REVOKE DELETE ON members FROM loyalty;

-- As in 0003, with add_points() and post_entry() written out in place
-- (the member row is locked and in hand: its debt needs no second read),
-- and a budget charged in place when a free slot has room for it.
-- Records one event: everything it changes, in the caller's transaction.
-- p_rules is what the worker's compiled rules say before the member is
-- known, in evaluation order:
--   [{"rule_id", "points", "multiplier" (percent or null),
--     "tiers" (array or null), "cap_day", "cap_month", "stop",
--     "budget_id"}]
-- Returns (outcome, body): outcome 'created' (body: the 201 response),
-- 'replayed' (body: the stored response), 'conflict' (another body had
-- this event id), 'no_member', 'blocked', 'not_enrolled'. A concurrent
-- first receipt of the same id raises SQLSTATE LY001: the caller runs
-- the transaction again and finds it.
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
	r	jsonb;
	c	jsonb;
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
	v_lot	bigint;
	v_bal	bigint;
	v_now_month date;
BEGIN
	SELECT * INTO t FROM tenants WHERE id = app_tenant();
	v_now_month := date_trunc('month', now() AT TIME ZONE t.timezone);
	-- A known event is answered before its member is looked at: a
	-- replay changes nothing, not even by enrolling. A first receipt
	-- committed concurrently is caught by the INSERT at the end.
	SELECT * INTO e FROM events
	 WHERE tenant_id = t.id AND event_id = p_event_id;
	IF FOUND THEN
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
	FOR r IN SELECT * FROM jsonb_array_elements(p_rules) LOOP
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

	v_bal := m.balance;
	IF v_total > 0 THEN
		-- add_points() and post_entry(): a lot for what is left after
		-- the debt, which the balance's UPDATE pays in the same step.
		IF v_total > m.debt THEN
			INSERT INTO lots (tenant_id, member_id, points, remaining,
			    expires_at)
			VALUES (t.id, m.id, v_total - m.debt, v_total - m.debt,
			    lot_expiry(t, now()))
			RETURNING id INTO v_lot;
		END IF;
		UPDATE members SET balance = balance + v_total,
		    debt = debt - least(debt, v_total),
		    lifetime_points = lifetime_points + v_total,
		    updated_at = now()
		 WHERE tenant_id = t.id AND id = m.id
		RETURNING balance INTO v_bal;
		INSERT INTO ledger (tenant_id, member_id, kind, points,
		    balance_after, event_id, lot_id, actor_type, actor_id,
		    request_id)
		VALUES (t.id, m.id, 'earn', v_total, v_bal, p_event_id, v_lot,
		    p_actor_type, p_actor_id, p_request_id);
	END IF;
	body := json_build_object('event_id', p_event_id,
	    'status', 'processed', 'member_id', m.id,
	    'points_awarded', v_total, 'balance', v_bal, 'rules', v_rules,
	    'budget_limited', v_limited)::text;
	INSERT INTO events (tenant_id, event_id, request_hash, type, member_id,
	    amount_minor, currency, occurred_at, attributes, points, rules,
	    budgets, budget_limited, lot_id, response, actor_type, actor_id,
	    request_id)
	VALUES (t.id, p_event_id, p_hash, p_type, m.id, p_amount, p_currency,
	    p_occurred, coalesce(p_attributes, '{}'), v_total, v_rules, v_budg,
	    v_limited, v_lot, body, p_actor_type, p_actor_id, p_request_id)
	ON CONFLICT DO NOTHING;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'event % was recorded concurrently', p_event_id
		    USING ERRCODE = 'LY001';
	END IF;
	-- The budgets, last: each charge must be whole. One that is not (the
	-- budget is running out) undoes the transaction, and the caller runs
	-- it again with p_budgets_first, charging each budget before the
	-- points it allows are written.
	FOR c IN SELECT * FROM jsonb_array_elements(v_due) LOOP
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
