-- 0003: the loyalty core — tenant settings, members, rules, budgets,
-- events, the points ledger and its lots, rewards, vouchers and
-- Idempotency-Key records.
--
-- Every table belongs to a tenant and sits behind the same forced
-- row-level security as 0002's. The functions at the end are the only
-- code that changes points: each runs inside the caller's one
-- transaction (SECURITY INVOKER, so row-level security binds them too),
-- and each locks the member's row before anything else of the member, so
-- that everything one member's points depend on is serialised on that
-- row: balance, lots, caps. Budgets and rewards are locked after the
-- member, always in that order, so no two transactions wait on each
-- other in a circle.
--
-- How the five invariants are kept (docs/ARCHITECTURE.md says more):
-- 1. balance = sum(ledger.points): only these functions write either,
--    always together; lots hold what can be spent (remaining >= 0), and
--    balance >= -debt, where debt is what a reversal took beyond the
--    balance under the 'negative' policy (CHECKs below).
-- 2. events' primary key is (tenant_id, event_id).
-- 3. budget_usage.used <= the limit: charged by one UPDATE that takes at
--    most what is left, on the locked row; a limit cannot go below use.
-- 4. rewards.issued <= stock: taken by an UPDATE with that condition; a
--    stock cannot go below what is issued.
-- 5. row-level security, as in 0002.

-- Tenant settings (the owner's): the country calling code for national
-- phone numbers, other currencies accepted besides the tenant's own,
-- auto-enrolment, and the points policies.
ALTER TABLE tenants
	ADD COLUMN calling_code text NOT NULL DEFAULT '263'
	    CHECK (calling_code ~ '^[1-9][0-9]{0,2}$'),
	ADD COLUMN other_currencies text[] NOT NULL DEFAULT '{}'
	    CHECK (cardinality(other_currencies) <= 8),
	ADD COLUMN auto_enrol boolean NOT NULL DEFAULT true,
	ADD COLUMN expiry_policy text NOT NULL DEFAULT 'never'
	    CHECK (expiry_policy IN ('never', 'days', 'end_of_month',
	    'end_of_year')),
	ADD COLUMN expiry_days integer CHECK (expiry_days BETWEEN 1 AND 3650),
	ADD COLUMN budget_policy text NOT NULL DEFAULT 'partial'
	    CHECK (budget_policy IN ('partial', 'nothing')),
	ADD COLUMN reversal_policy text NOT NULL DEFAULT 'shortfall'
	    CHECK (reversal_policy IN ('shortfall', 'negative')),
	-- Bumped by every change to the tenant's rules: a worker's cache of
	-- compiled rules is good while this is the same.
	ADD COLUMN rules_version bigint NOT NULL DEFAULT 0,
	ADD CHECK ((expiry_policy = 'days') = (expiry_days IS NOT NULL));
GRANT UPDATE (calling_code, other_currencies, auto_enrol, expiry_policy,
	expiry_days, budget_policy, reversal_policy, rules_version)
	ON tenants TO loyalty;

CREATE OR REPLACE FUNCTION api_tenant(t tenants) RETURNS jsonb
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT jsonb_build_object('id', t.id, 'slug', t.slug,
	    'name', t.name, 'currency', t.currency, 'timezone', t.timezone,
	    'status', t.status, 'created_at', rfc3339(t.created_at),
	    'updated_at', rfc3339(t.updated_at)) $$;

-- The settings as GET /v1/settings shows them.
CREATE FUNCTION api_settings(t tenants) RETURNS jsonb
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT jsonb_build_object('currency', t.currency,
	    'other_currencies', to_jsonb(t.other_currencies),
	    'timezone', t.timezone, 'calling_code', t.calling_code,
	    'auto_enrol', t.auto_enrol, 'expiry_policy', t.expiry_policy,
	    'expiry_days', t.expiry_days, 'budget_policy', t.budget_policy,
	    'reversal_policy', t.reversal_policy,
	    'updated_at', rfc3339(t.updated_at)) $$;

CREATE TABLE members (
	tenant_id	uuid NOT NULL REFERENCES tenants (id),
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	seq		bigint GENERATED ALWAYS AS IDENTITY,
	external_id	text CHECK (length(external_id) BETWEEN 1 AND 100),
	phone		text CHECK (phone ~ '^\+[1-9][0-9]{5,14}$'),
	name		text CHECK (length(name) BETWEEN 1 AND 200),
	status		text NOT NULL DEFAULT 'active'
			    CHECK (status IN ('active', 'blocked')),
	tier		text CHECK (length(tier) BETWEEN 1 AND 32),
	attributes	jsonb NOT NULL DEFAULT '{}'
			    CHECK (jsonb_typeof(attributes) = 'object'),
	-- Kept equal to sum(ledger.points) by the functions below.
	balance		bigint NOT NULL DEFAULT 0,
	lifetime_points	bigint NOT NULL DEFAULT 0 CHECK (lifetime_points >= 0),
	-- What a reversal took beyond the balance under the 'negative'
	-- policy; the next earnings pay it first.
	debt		bigint NOT NULL DEFAULT 0 CHECK (debt >= 0),
	enrolled_by	text NOT NULL DEFAULT 'api'
			    CHECK (enrolled_by IN ('api', 'event')),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, external_id),
	UNIQUE (tenant_id, phone),
	UNIQUE (tenant_id, seq),
	CHECK (external_id IS NOT NULL OR phone IS NOT NULL),
	CHECK (balance >= -debt)
) WITH (fillfactor = 85);	-- room for HOT updates of the balance
-- The balance, lifetime and debt change only through the functions below
-- (which run as the application too: the grant keeps a handler's UPDATE
-- honest, not a function's).

CREATE TABLE budgets (
	tenant_id	uuid NOT NULL REFERENCES tenants (id),
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	seq		bigint GENERATED ALWAYS AS IDENTITY,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	monthly_limit	bigint NOT NULL
			    CHECK (monthly_limit BETWEEN 1 AND 1000000000000),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, seq)
);

-- A budget's use in one calendar month of the tenant's time zone (month
-- is its first day). used never exceeds the budget's limit: see
-- charge_budget(), and PATCH /v1/budgets/{id}, which locks this row
-- before it compares a new limit with used.
CREATE TABLE budget_usage (
	tenant_id	uuid NOT NULL,
	budget_id	uuid NOT NULL,
	month		date NOT NULL CHECK (extract(day FROM month) = 1),
	used		bigint NOT NULL DEFAULT 0 CHECK (used >= 0),
	awards		bigint NOT NULL DEFAULT 0,
	limited		bigint NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, budget_id, month),
	FOREIGN KEY (tenant_id, budget_id) REFERENCES budgets ON DELETE CASCADE
) WITH (fillfactor = 50);

CREATE TABLE rules (
	tenant_id	uuid NOT NULL REFERENCES tenants (id),
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	seq		bigint GENERATED ALWAYS AS IDENTITY,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	event_type	text NOT NULL CHECK (event_type ~ '^[a-z0-9_.-]{1,64}$'),
	active		boolean NOT NULL DEFAULT true,
	priority	integer NOT NULL DEFAULT 100
			    CHECK (priority BETWEEN 0 AND 1000000),
	valid_from	timestamptz,
	valid_until	timestamptz,
	conditions	jsonb NOT NULL DEFAULT '{}'
			    CHECK (jsonb_typeof(conditions) = 'object'),
	action		jsonb NOT NULL CHECK (jsonb_typeof(action) = 'object'),
	cap_per_day	bigint CHECK (cap_per_day BETWEEN 1 AND 1000000000),
	cap_per_month	bigint CHECK (cap_per_month BETWEEN 1 AND 1000000000),
	stop		boolean NOT NULL DEFAULT false,
	budget_id	uuid,
	deleted_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, seq),
	FOREIGN KEY (tenant_id, budget_id) REFERENCES budgets,
	CHECK (valid_from IS NULL OR valid_until IS NULL
	    OR valid_from < valid_until)
);

-- Per-member caps: points a rule gave a member in one local day ('d') or
-- month ('m'), period being its first day.
CREATE TABLE rule_usage (
	tenant_id	uuid NOT NULL,
	member_id	uuid NOT NULL,
	rule_id		uuid NOT NULL,
	period_kind	"char" NOT NULL CHECK (period_kind IN ('d', 'm')),
	period		date NOT NULL,
	points		bigint NOT NULL CHECK (points >= 0),
	PRIMARY KEY (tenant_id, member_id, rule_id, period_kind, period)
);

-- tenant_id has no foreign key of its own: (tenant_id, member_id) ->
-- members implies it, and a second one, to tenants, took a key-share lock
-- on the tenant's one row (2 WAL records, and a MultiXact among
-- concurrent events) for every event recorded.
CREATE TABLE events (
	tenant_id	uuid NOT NULL,
	event_id	text NOT NULL
			    CHECK (event_id ~ '^[A-Za-z0-9._~:@+-]{1,100}$'),
	seq		bigint GENERATED ALWAYS AS IDENTITY,
	-- SHA-256 of the request body: the same id with another body is 409.
	request_hash	bytea NOT NULL CHECK (length(request_hash) = 32),
	type		text NOT NULL CHECK (type ~ '^[a-z0-9_.-]{1,64}$'),
	member_id	uuid NOT NULL,
	amount_minor	bigint CHECK (amount_minor BETWEEN 1 AND 1000000000000),
	currency	text CHECK (currency ~ '^[A-Z]{3}$'),
	occurred_at	timestamptz NOT NULL,
	attributes	jsonb NOT NULL DEFAULT '{}',
	points		bigint NOT NULL CHECK (points >= 0),
	-- [{"rule_id","points"}] and [{"budget_id","month","points"}]
	rules		jsonb NOT NULL DEFAULT '[]',
	budgets		jsonb NOT NULL DEFAULT '[]',
	budget_limited	boolean NOT NULL DEFAULT false,
	lot_id		bigint,
	-- The 201 body, replayed byte for byte.
	response	text NOT NULL,
	reversed_minor	bigint NOT NULL DEFAULT 0 CHECK (reversed_minor >= 0),
	reversed_points	bigint NOT NULL DEFAULT 0 CHECK (reversed_points >= 0),
	shortfall	bigint NOT NULL DEFAULT 0 CHECK (shortfall >= 0),
	actor_type	text NOT NULL,
	actor_id	text NOT NULL,
	request_id	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, event_id),
	UNIQUE (tenant_id, seq),
	FOREIGN KEY (tenant_id, member_id) REFERENCES members,
	CHECK ((amount_minor IS NULL) = (currency IS NULL)),
	CHECK (reversed_minor <= coalesce(amount_minor, 0)),
	CHECK (reversed_points + shortfall <= points)
);
CREATE INDEX events_member ON events (tenant_id, member_id, seq);

-- What can be spent: each earning (and each positive adjustment or
-- refund) is a lot; spending takes the soonest-expiring first.
CREATE TABLE lots (
	tenant_id	uuid NOT NULL,
	id		bigint GENERATED ALWAYS AS IDENTITY,
	member_id	uuid NOT NULL,
	points		bigint NOT NULL CHECK (points > 0),
	remaining	bigint NOT NULL CHECK (remaining BETWEEN 0 AND points),
	expires_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, member_id) REFERENCES members
);
CREATE INDEX lots_spend ON lots (tenant_id, member_id, expires_at, id)
	WHERE remaining > 0;
CREATE INDEX lots_expiry ON lots (tenant_id, expires_at)
	WHERE remaining > 0 AND expires_at IS NOT NULL;

-- One change of points. Append-only: the application may not update or
-- delete an entry.
CREATE TABLE ledger (
	tenant_id	uuid NOT NULL,
	id		bigint GENERATED ALWAYS AS IDENTITY,
	member_id	uuid NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('earn', 'redeem', 'expire',
			    'adjust', 'reverse', 'refund')),
	points		bigint NOT NULL CHECK (points <> 0),
	balance_after	bigint NOT NULL,
	event_id	text,
	voucher_code	text,
	lot_id		bigint,
	reason		text CHECK (length(reason) BETWEEN 1 AND 500),
	actor_type	text NOT NULL,
	actor_id	text NOT NULL,
	request_id	text,
	at		timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, member_id) REFERENCES members,
	CHECK ((points > 0) = (kind IN ('earn', 'refund'))
	    OR kind = 'adjust')
);
CREATE INDEX ledger_member ON ledger (tenant_id, member_id, id);
CREATE INDEX ledger_at ON ledger (tenant_id, at);
REVOKE UPDATE, DELETE ON ledger FROM loyalty;

CREATE TABLE rewards (
	tenant_id	uuid NOT NULL REFERENCES tenants (id),
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	seq		bigint GENERATED ALWAYS AS IDENTITY,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	description	text CHECK (length(description) <= 1000),
	cost		bigint NOT NULL CHECK (cost BETWEEN 1 AND 1000000000),
	stock		bigint CHECK (stock BETWEEN 0 AND 1000000000),
	-- Vouchers issued and not cancelled: never above stock.
	issued		bigint NOT NULL DEFAULT 0 CHECK (issued >= 0),
	per_member_limit integer CHECK (per_member_limit BETWEEN 1 AND 1000000),
	validity_days	integer NOT NULL DEFAULT 30
			    CHECK (validity_days BETWEEN 1 AND 3650),
	active		boolean NOT NULL DEFAULT true,
	deleted_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, seq),
	CHECK (stock IS NULL OR issued <= stock)
);

-- A voucher's code: 10 characters of Crockford base32 (50 random bits;
-- no I, L, O or U).
CREATE TABLE vouchers (
	tenant_id	uuid NOT NULL,
	code		text NOT NULL CHECK (code ~ '^[0-9A-HJKMNP-TV-Z]{10}$'),
	seq		bigint GENERATED ALWAYS AS IDENTITY,
	reward_id	uuid NOT NULL,
	member_id	uuid NOT NULL,
	points		bigint NOT NULL CHECK (points > 0),
	status		text NOT NULL DEFAULT 'issued'
			    CHECK (status IN ('issued', 'used', 'expired',
			    'cancelled')),
	expires_at	timestamptz NOT NULL,
	used_at		timestamptz,
	cancelled_at	timestamptz,
	expired_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, code),
	UNIQUE (tenant_id, seq),
	FOREIGN KEY (tenant_id, reward_id) REFERENCES rewards,
	FOREIGN KEY (tenant_id, member_id) REFERENCES members
);
CREATE INDEX vouchers_member ON vouchers (tenant_id, member_id, reward_id)
	WHERE status <> 'cancelled';
CREATE INDEX vouchers_expiry ON vouchers (tenant_id, expires_at)
	WHERE status = 'issued';

-- Idempotency-Key: the response of a redemption, adjustment or reversal,
-- replayed for the same key and request; kept at least 24 hours.
CREATE TABLE idempotency_keys (
	tenant_id	uuid NOT NULL,
	key		text NOT NULL CHECK (key ~ '^[!-~]{1,200}$'),
	request_hash	bytea NOT NULL CHECK (length(request_hash) = 32),
	status		integer NOT NULL,
	response	text NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, key)
);
CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);

DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['members', 'budgets', 'budget_usage', 'rules',
	    'rule_usage', 'events', 'lots', 'ledger', 'rewards', 'vouchers',
	    'idempotency_keys'] LOOP
		EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
		EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
		EXECUTE format('CREATE POLICY tenant_own ON %I USING '
		    '(tenant_id = app_tenant()) WITH CHECK '
		    '(tenant_id = app_tenant())', t);
	END LOOP;
END
$$;

-- A change of rules is seen by every worker's cache on its next request.
CREATE FUNCTION rules_changed() RETURNS trigger
	LANGUAGE plpgsql AS $$
BEGIN
	UPDATE tenants SET rules_version = rules_version + 1
	 WHERE id = coalesce(NEW.tenant_id, OLD.tenant_id);
	RETURN NULL;
END
$$;
CREATE TRIGGER rules_changed AFTER INSERT OR UPDATE OR DELETE ON rules
	FOR EACH ROW EXECUTE FUNCTION rules_changed();

-- The session check of every request with a bearer token (src/auth.c):
-- the session still open, its user's role, the tenant's facts. PL/pgSQL,
-- so that each connection plans the three-table join (and its row-level
-- security) once, not on every request: planning it took 0.24 ms against
-- 0.04 ms to run it (docs/PERFORMANCE.md, "Recording an event").
CREATE FUNCTION auth_session(p_tenant uuid, p_user uuid, p_session uuid)
	RETURNS TABLE (role text, suspended boolean, timezone text,
	    calling_code text, currencies text, rules_version bigint)
	LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY SELECT u.role, t.status = 'suspended', t.timezone,
	    t.calling_code, array_to_string(t.currency || t.other_currencies,
	    ','), t.rules_version
	  FROM users u JOIN sessions s ON s.tenant_id = u.tenant_id
	   AND s.user_id = u.id JOIN tenants t ON t.id = u.tenant_id
	 WHERE u.tenant_id = p_tenant AND u.id = p_user AND s.id = p_session
	   AND s.revoked_at IS NULL AND s.expires_at > now();
END
$$;

-- The API's view of each row.
CREATE FUNCTION api_member(m members) RETURNS jsonb
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT jsonb_build_object('id', m.id,
	    'external_id', m.external_id, 'phone', m.phone, 'name', m.name,
	    'status', m.status, 'tier', m.tier, 'attributes', m.attributes,
	    'balance', m.balance, 'lifetime_points', m.lifetime_points,
	    'debt', m.debt, 'created_at', rfc3339(m.created_at),
	    'updated_at', rfc3339(m.updated_at)) $$;

CREATE FUNCTION api_budget(b budgets, month date, used bigint) RETURNS jsonb
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT jsonb_build_object('id', b.id, 'name', b.name,
	    'monthly_limit', b.monthly_limit,
	    'month', to_char(month, 'YYYY-MM'), 'used', coalesce(used, 0),
	    'remaining', b.monthly_limit - coalesce(used, 0),
	    'created_at', rfc3339(b.created_at),
	    'updated_at', rfc3339(b.updated_at)) $$;

CREATE FUNCTION api_rule(r rules) RETURNS jsonb
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT jsonb_build_object('id', r.id, 'name', r.name,
	    'event_type', r.event_type, 'active', r.active,
	    'priority', r.priority, 'valid_from', rfc3339(r.valid_from),
	    'valid_until', rfc3339(r.valid_until),
	    'conditions', r.conditions, 'action', r.action,
	    'cap_per_day', r.cap_per_day, 'cap_per_month', r.cap_per_month,
	    'stop', r.stop, 'budget_id', r.budget_id,
	    'created_at', rfc3339(r.created_at),
	    'updated_at', rfc3339(r.updated_at)) $$;

CREATE FUNCTION api_reward(w rewards) RETURNS jsonb
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT jsonb_build_object('id', w.id, 'name', w.name,
	    'description', w.description, 'cost', w.cost, 'stock', w.stock,
	    'issued', w.issued, 'available', w.stock - w.issued,
	    'per_member_limit', w.per_member_limit,
	    'validity_days', w.validity_days, 'active', w.active,
	    'created_at', rfc3339(w.created_at),
	    'updated_at', rfc3339(w.updated_at)) $$;

CREATE FUNCTION api_voucher(v vouchers) RETURNS jsonb
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT jsonb_build_object('code', v.code,
	    'reward_id', v.reward_id, 'member_id', v.member_id,
	    'points', v.points, 'status', v.status,
	    'expires_at', rfc3339(v.expires_at),
	    'used_at', rfc3339(v.used_at),
	    'cancelled_at', rfc3339(v.cancelled_at),
	    'expired_at', rfc3339(v.expired_at),
	    'created_at', rfc3339(v.created_at)) $$;

CREATE FUNCTION api_ledger(l ledger) RETURNS jsonb
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT jsonb_strip_nulls(jsonb_build_object('id', l.id::text,
	    'kind', l.kind, 'points', l.points,
	    'balance_after', l.balance_after, 'event_id', l.event_id,
	    'voucher_code', l.voucher_code, 'reason', l.reason,
	    'actor', jsonb_build_object('type', l.actor_type,
	        'id', l.actor_id),
	    'request_id', l.request_id, 'at', rfc3339(l.at))) $$;

CREATE FUNCTION api_event(e events) RETURNS jsonb
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT jsonb_build_object('event_id', e.event_id,
	    'type', e.type, 'member_id', e.member_id,
	    'amount_minor', e.amount_minor, 'currency', e.currency,
	    'occurred_at', rfc3339(e.occurred_at),
	    'attributes', e.attributes, 'points_awarded', e.points,
	    'rules', e.rules, 'budget_limited', e.budget_limited,
	    'reversed_minor', e.reversed_minor,
	    'reversed_points', e.reversed_points,
	    'shortfall', e.shortfall,
	    'recorded_at', rfc3339(e.created_at)) $$;

-- When a lot earned now expires under the tenant's policy (NULL: never).
CREATE FUNCTION lot_expiry(t tenants, earned timestamptz) RETURNS timestamptz
	LANGUAGE sql STABLE
	AS $$ SELECT CASE t.expiry_policy
	    WHEN 'days' THEN earned + t.expiry_days * interval '1 day'
	    WHEN 'end_of_month' THEN (date_trunc('month',
	        earned AT TIME ZONE t.timezone) + interval '1 month')
	        AT TIME ZONE t.timezone
	    WHEN 'end_of_year' THEN (date_trunc('year',
	        earned AT TIME ZONE t.timezone) + interval '1 year')
	        AT TIME ZONE t.timezone
	    END $$;

-- Adds points to a locked member: a new lot for what is left after any
-- debt, which post_entry() then pays with the same points. (Lowering the
-- debt here, before post_entry() raises the balance, would break
-- balance >= -debt in between.) Returns the lot's id (NULL when it all
-- goes to debt).
CREATE FUNCTION add_points(t tenants, p_member uuid, p_points bigint)
	RETURNS bigint
	LANGUAGE plpgsql AS $$
DECLARE
	v_debt	bigint;
	v_lot	bigint;
BEGIN
	SELECT debt INTO v_debt FROM members
	 WHERE tenant_id = t.id AND id = p_member;
	p_points := p_points - least(v_debt, p_points);
	IF p_points > 0 THEN
		INSERT INTO lots (tenant_id, member_id, points, remaining,
		    expires_at)
		VALUES (t.id, p_member, p_points, p_points,
		    lot_expiry(t, now()))
		RETURNING id INTO v_lot;
	END IF;
	RETURN v_lot;
END
$$;

-- Takes up to p_points from a locked member's live lots, soonest-expiring
-- first (a given lot first when p_first names one). Returns what it took.
CREATE FUNCTION take_points(t tenants, p_member uuid, p_points bigint,
    p_first bigint DEFAULT NULL) RETURNS bigint
	LANGUAGE plpgsql AS $$
DECLARE
	v_left	bigint := p_points;
	v_lot	record;
	v_take	bigint;
BEGIN
	FOR v_lot IN SELECT id, remaining FROM lots
	    WHERE tenant_id = t.id AND member_id = p_member AND remaining > 0
	      AND (expires_at IS NULL OR expires_at > now())
	    ORDER BY id IS DISTINCT FROM p_first, expires_at NULLS LAST, id
	LOOP
		EXIT WHEN v_left = 0;
		v_take := least(v_left, v_lot.remaining);
		UPDATE lots SET remaining = remaining - v_take
		 WHERE tenant_id = t.id AND id = v_lot.id;
		v_left := v_left - v_take;
	END LOOP;
	RETURN p_points - v_left;
END
$$;

-- Appends a ledger entry and moves the member's balance with it; points
-- coming in (after add_points()) pay the member's debt first, in the same
-- UPDATE, so that balance >= -debt holds at every step.
CREATE FUNCTION post_entry(t tenants, p_member uuid, p_kind text,
    p_points bigint, p_actor_type text, p_actor_id text, p_request_id text,
    p_event_id text DEFAULT NULL, p_voucher text DEFAULT NULL,
    p_lot bigint DEFAULT NULL, p_reason text DEFAULT NULL)
	RETURNS bigint
	LANGUAGE plpgsql AS $$
DECLARE
	v_balance bigint;
BEGIN
	UPDATE members SET balance = balance + p_points,
	    debt = debt - least(debt, greatest(p_points, 0)),
	    lifetime_points = lifetime_points + CASE WHEN p_kind = 'earn'
	        THEN p_points ELSE 0 END,
	    updated_at = now()
	 WHERE tenant_id = t.id AND id = p_member
	RETURNING balance INTO v_balance;
	INSERT INTO ledger (tenant_id, member_id, kind, points, balance_after,
	    event_id, voucher_code, lot_id, reason, actor_type, actor_id,
	    request_id)
	VALUES (t.id, p_member, p_kind, p_points, v_balance, p_event_id,
	    p_voucher, p_lot, p_reason, p_actor_type, p_actor_id,
	    p_request_id);
	RETURN v_balance;
END
$$;

-- Expires a locked member's lots whose time has come (expires_at <= now):
-- one 'expire' entry per lot. Returns the points expired.
CREATE FUNCTION expire_member(t tenants, p_member uuid, p_actor_type text,
    p_actor_id text, p_request_id text) RETURNS bigint
	LANGUAGE plpgsql AS $$
DECLARE
	v_lot	record;
	v_total	bigint := 0;
BEGIN
	FOR v_lot IN UPDATE lots l SET remaining = 0
	    FROM (SELECT id, remaining FROM lots
	          WHERE tenant_id = t.id AND member_id = p_member
	            AND remaining > 0 AND expires_at <= now()
	          ORDER BY id FOR UPDATE) o
	    WHERE l.tenant_id = t.id AND l.id = o.id
	    RETURNING l.id, o.remaining
	LOOP
		PERFORM post_entry(t, p_member, 'expire', -v_lot.remaining,
		    p_actor_type, p_actor_id, p_request_id, NULL, NULL,
		    v_lot.id);
		v_total := v_total + v_lot.remaining;
	END LOOP;
	RETURN v_total;
END
$$;

-- Charges up to p_points to a budget in the current month of the
-- tenant's zone, on its locked usage row: never beyond the limit. Under
-- the 'nothing' policy a charge that does not fit takes nothing.
-- Returns what it charged. The limit is read after the row lock, in a
-- statement of its own: a PATCH that lowered it (holding the same lock)
-- has committed by then and a new statement sees its limit, where one
-- statement that locked and joined budgets would use the limit it read
-- before waiting.
CREATE FUNCTION charge_budget(t tenants, p_budget uuid, p_points bigint)
	RETURNS bigint
	LANGUAGE plpgsql AS $$
DECLARE
	v_month	date := date_trunc('month', now() AT TIME ZONE t.timezone);
	v_used	bigint;
	v_limit	bigint;
	v_take	bigint;
BEGIN
	SELECT used INTO v_used FROM budget_usage
	 WHERE tenant_id = t.id AND budget_id = p_budget AND month = v_month
	   FOR UPDATE;
	IF NOT FOUND THEN
		-- The month's first award (the row is made once a month).
		INSERT INTO budget_usage (tenant_id, budget_id, month)
		VALUES (t.id, p_budget, v_month) ON CONFLICT DO NOTHING;
		SELECT used INTO v_used FROM budget_usage
		 WHERE tenant_id = t.id AND budget_id = p_budget
		   AND month = v_month FOR UPDATE;
	END IF;
	SELECT monthly_limit INTO v_limit FROM budgets
	 WHERE tenant_id = t.id AND id = p_budget;
	IF v_used IS NULL OR v_limit IS NULL THEN
		RETURN 0;
	END IF;
	v_take := CASE WHEN v_limit - v_used >= p_points THEN p_points
	    WHEN t.budget_policy = 'partial' THEN greatest(v_limit - v_used, 0)
	    ELSE 0 END;
	UPDATE budget_usage
	   SET used = used + v_take, awards = awards + 1,
	       limited = limited + (v_take < p_points)::int
	 WHERE tenant_id = t.id AND budget_id = p_budget AND month = v_month;
	RETURN v_take;
END
$$;

-- The member an event or a redemption names, row-locked: by id, external
-- id or phone (E.164). Enrols one (by external id or phone) when p_enrol.
CREATE FUNCTION lock_member(t tenants, p_by text, p_ref text,
    p_enrol boolean) RETURNS members
	LANGUAGE plpgsql AS $$
DECLARE
	m members;
BEGIN
	IF p_by = 'id' THEN
		SELECT * INTO m FROM members
		 WHERE tenant_id = t.id AND id = p_ref::uuid FOR UPDATE;
	ELSIF p_by = 'external_id' THEN
		SELECT * INTO m FROM members
		 WHERE tenant_id = t.id AND external_id = p_ref FOR UPDATE;
	ELSE
		SELECT * INTO m FROM members
		 WHERE tenant_id = t.id AND phone = p_ref FOR UPDATE;
	END IF;
	IF m.id IS NULL AND p_enrol AND p_by <> 'id' THEN
		INSERT INTO members (tenant_id, external_id, phone, enrolled_by)
		VALUES (t.id, CASE WHEN p_by = 'external_id' THEN p_ref END,
		    CASE WHEN p_by = 'phone' THEN p_ref END, 'event')
		ON CONFLICT DO NOTHING;
		RETURN lock_member(t, p_by, p_ref, false);
	END IF;
	RETURN m;
END
$$;

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
CREATE FUNCTION record_event(p_event_id text, p_hash bytea, p_type text,
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
BEGIN
	SELECT * INTO t FROM tenants WHERE id = app_tenant();
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
			    'month', date_trunc('month',
			        now() AT TIME ZONE t.timezone)::date,
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
				    'month', date_trunc('month',
				        now() AT TIME ZONE t.timezone)::date,
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
		v_lot := add_points(t, m.id, v_total);
		v_bal := post_entry(t, m.id, 'earn', v_total, p_actor_type,
		    p_actor_id, p_request_id, p_event_id, NULL, v_lot);
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
		IF charge_budget(t, (c->>'budget_id')::uuid,
		    (c->>'points')::bigint) < (c->>'points')::bigint THEN
			RAISE EXCEPTION 'a budget cannot cover event %',
			    p_event_id USING ERRCODE = 'LY002';
		END IF;
	END LOOP;
	outcome := 'created';
END
$$;

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
CREATE FUNCTION reverse_event(p_event_id text, p_amount bigint,
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
			UPDATE budget_usage SET used = used - least(used, v_back)
			 WHERE tenant_id = t.id
			   AND budget_id = (b->>'budget_id')::uuid
			   AND month = (b->>'month')::date;
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

-- Spends a member's points on a reward: a voucher with code p_code (the
-- worker draws it). Outcomes: 'done' (body: the voucher), 'no_member',
-- 'blocked', 'no_reward', 'inactive', 'insufficient', 'out_of_stock',
-- 'over_limit'.
CREATE FUNCTION redeem(p_member uuid, p_reward uuid, p_code text,
    p_actor_type text, p_actor_id text, p_request_id text,
    OUT outcome text, OUT body text)
	LANGUAGE plpgsql AS $$
DECLARE
	t	tenants;
	m	members;
	w	rewards;
	v	vouchers;
	v_n	bigint;
	v_bal	bigint;
BEGIN
	SELECT * INTO t FROM tenants WHERE id = app_tenant();
	SELECT * INTO m FROM members
	 WHERE tenant_id = t.id AND id = p_member FOR UPDATE;
	IF NOT FOUND THEN
		outcome := 'no_member';
		RETURN;
	END IF;
	SELECT * INTO w FROM rewards
	 WHERE tenant_id = t.id AND id = p_reward AND deleted_at IS NULL;
	IF NOT FOUND THEN
		outcome := 'no_reward';
		RETURN;
	END IF;
	IF m.status = 'blocked' THEN
		outcome := 'blocked';
		RETURN;
	END IF;
	IF NOT w.active THEN
		outcome := 'inactive';
		RETURN;
	END IF;
	PERFORM expire_member(t, m.id, p_actor_type, p_actor_id, p_request_id);
	SELECT balance INTO v_bal FROM members
	 WHERE tenant_id = t.id AND id = m.id;
	IF v_bal < w.cost THEN
		outcome := 'insufficient';
		body := v_bal::text;
		RETURN;
	END IF;
	IF w.per_member_limit IS NOT NULL THEN
		SELECT count(*) INTO v_n FROM vouchers
		 WHERE tenant_id = t.id AND member_id = m.id
		   AND reward_id = w.id AND status <> 'cancelled';
		IF v_n >= w.per_member_limit THEN
			outcome := 'over_limit';
			RETURN;
		END IF;
	END IF;
	UPDATE rewards SET issued = issued + 1
	 WHERE tenant_id = t.id AND id = w.id AND active
	   AND deleted_at IS NULL AND (stock IS NULL OR issued < stock);
	IF NOT FOUND THEN
		outcome := 'out_of_stock';
		RETURN;
	END IF;
	IF take_points(t, m.id, w.cost) <> w.cost THEN
		RAISE EXCEPTION 'member % has a balance its lots do not hold',
		    m.id;
	END IF;
	INSERT INTO vouchers (tenant_id, code, reward_id, member_id, points,
	    expires_at)
	VALUES (t.id, p_code, w.id, m.id, w.cost,
	    now() + w.validity_days * interval '1 day')
	RETURNING * INTO v;
	v_bal := post_entry(t, m.id, 'redeem', -w.cost, p_actor_type,
	    p_actor_id, p_request_id, NULL, p_code);
	outcome := 'done';
	body := (api_voucher(v) || jsonb_build_object('balance', v_bal))::text;
END
$$;

-- A manual change of points with a reason. Outcomes: 'done' (body: the
-- ledger entry and balance), 'no_member', 'insufficient'.
CREATE FUNCTION adjust(p_member uuid, p_points bigint, p_reason text,
    p_actor_type text, p_actor_id text, p_request_id text,
    OUT outcome text, OUT body text)
	LANGUAGE plpgsql AS $$
DECLARE
	t	tenants;
	m	members;
	v_lot	bigint;
	v_bal	bigint;
BEGIN
	SELECT * INTO t FROM tenants WHERE id = app_tenant();
	SELECT * INTO m FROM members
	 WHERE tenant_id = t.id AND id = p_member FOR UPDATE;
	IF NOT FOUND THEN
		outcome := 'no_member';
		RETURN;
	END IF;
	IF p_points > 0 THEN
		v_lot := add_points(t, m.id, p_points);
	ELSE
		PERFORM expire_member(t, m.id, p_actor_type, p_actor_id,
		    p_request_id);
		SELECT balance INTO v_bal FROM members
		 WHERE tenant_id = t.id AND id = m.id;
		IF v_bal < -p_points THEN
			outcome := 'insufficient';
			body := v_bal::text;
			RETURN;
		END IF;
		PERFORM take_points(t, m.id, -p_points);
	END IF;
	v_bal := post_entry(t, m.id, 'adjust', p_points, p_actor_type,
	    p_actor_id, p_request_id, NULL, NULL, v_lot, p_reason);
	outcome := 'done';
	body := (SELECT (api_ledger(l) || jsonb_build_object('member_id',
	    m.id, 'balance', v_bal))::text FROM ledger l
	    WHERE l.tenant_id = t.id AND l.member_id = m.id
	    ORDER BY l.id DESC LIMIT 1);
END
$$;

-- Cancels an issued voucher: its points come back as a new lot (expiring
-- under the tenant's policy from now) and its reward's stock is freed.
-- Outcomes: 'done', 'no_voucher', 'not_issued' (body: its status).
CREATE FUNCTION cancel_voucher(p_code text, p_actor_type text,
    p_actor_id text, p_request_id text, OUT outcome text, OUT body text)
	LANGUAGE plpgsql AS $$
DECLARE
	t	tenants;
	v	vouchers;
	v_lot	bigint;
	v_bal	bigint;
BEGIN
	SELECT * INTO t FROM tenants WHERE id = app_tenant();
	SELECT * INTO v FROM vouchers WHERE tenant_id = t.id AND code = p_code;
	IF NOT FOUND THEN
		outcome := 'no_voucher';
		RETURN;
	END IF;
	PERFORM 1 FROM members
	 WHERE tenant_id = t.id AND id = v.member_id FOR UPDATE;
	SELECT * INTO v FROM vouchers
	 WHERE tenant_id = t.id AND code = p_code FOR UPDATE;
	IF v.status <> 'issued' OR v.expires_at <= now() THEN
		outcome := 'not_issued';
		body := CASE WHEN v.status = 'issued' THEN 'expired'
		    ELSE v.status END;
		RETURN;
	END IF;
	UPDATE vouchers SET status = 'cancelled', cancelled_at = now()
	 WHERE tenant_id = t.id AND code = p_code RETURNING * INTO v;
	UPDATE rewards SET issued = issued - 1
	 WHERE tenant_id = t.id AND id = v.reward_id;
	v_lot := add_points(t, v.member_id, v.points);
	v_bal := post_entry(t, v.member_id, 'refund', v.points, p_actor_type,
	    p_actor_id, p_request_id, NULL, p_code, v_lot);
	outcome := 'done';
	body := (api_voucher(v) || jsonb_build_object('balance', v_bal))::text;
END
$$;

-- The expiry run for the transaction's tenant: lots whose time has come
-- become 'expire' entries, member by member, and issued vouchers past
-- their date become 'expired' (their points are not returned). Running it
-- again at once changes nothing. Returns what it did.
CREATE FUNCTION expire_due(p_actor_id text, OUT lots_expired bigint,
    OUT points_expired bigint, OUT vouchers_expired bigint)
	LANGUAGE plpgsql AS $$
DECLARE
	t	tenants;
	v_member uuid;
	v_pts	bigint;
BEGIN
	SELECT * INTO t FROM tenants WHERE id = app_tenant();
	lots_expired := 0;
	points_expired := 0;
	FOR v_member IN SELECT DISTINCT member_id FROM lots
	    WHERE tenant_id = t.id AND remaining > 0 AND expires_at <= now()
	    ORDER BY member_id
	LOOP
		PERFORM 1 FROM members
		 WHERE tenant_id = t.id AND id = v_member FOR UPDATE;
		SELECT count(*) INTO v_pts FROM lots
		 WHERE tenant_id = t.id AND member_id = v_member
		   AND remaining > 0 AND expires_at <= now();
		lots_expired := lots_expired + v_pts;
		points_expired := points_expired + expire_member(t, v_member,
		    'cli', p_actor_id, NULL);
	END LOOP;
	WITH x AS (UPDATE vouchers SET status = 'expired', expired_at = now()
	    WHERE tenant_id = t.id AND status = 'issued'
	      AND expires_at <= now() RETURNING 1)
	SELECT count(*) INTO vouchers_expired FROM x;
	DELETE FROM idempotency_keys
	 WHERE tenant_id = t.id AND created_at < now() - interval '48 hours';
END
$$;
