-- 0002: identity and access — tenants, staff users, their sessions and
-- refresh tokens, machine keys, and the audit trail.
--
-- The wall between tenants is in the database, not only in the code:
-- every table that belongs to a tenant has tenant_id leading its primary
-- key and every unique key, and row-level security, enabled and FORCED,
-- that shows a transaction only the rows of the tenant it named with
--     SELECT set_config('loyalty.tenant_id', $1, true)
-- (true: for this transaction only, so nothing outlives it on a pooled
-- connection). With no tenant named, a table shows nothing.
--
-- Two narrower doors, each opened by a setting of its own for one
-- transaction:
--   loyalty.login_email  shows the users with that email, in any tenant
--                        (and their tenants): login does not know the
--                        tenant yet. Read only: writes need the tenant.
--   loyalty.platform     'on' for a platform administrator: shows and
--                        changes the tenants table, and nothing else.

-- Settings as typed values; an unset or empty setting is NULL.
CREATE FUNCTION app_tenant() RETURNS uuid
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT NULLIF(current_setting('loyalty.tenant_id', true), '')::uuid $$;
CREATE FUNCTION app_login_email() RETURNS text
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT NULLIF(current_setting('loyalty.login_email', true), '') $$;
CREATE FUNCTION app_platform() RETURNS boolean
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT coalesce(current_setting('loyalty.platform', true), '') = 'on' $$;

CREATE TABLE tenants (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	seq		bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
	kind		text NOT NULL DEFAULT 'merchant'
			    CHECK (kind IN ('merchant', 'platform')),
	slug		text NOT NULL UNIQUE
			    CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	currency	text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
	timezone	text NOT NULL CHECK (length(timezone) BETWEEN 1 AND 64),
	status		text NOT NULL DEFAULT 'active'
			    CHECK (status IN ('active', 'suspended')),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);
-- The platform's own tenant holds the platform administrators, so that
-- they have sessions, keys and an audit trail like everyone else.
INSERT INTO tenants (id, kind, slug, name, currency, timezone)
VALUES ('00000000-0000-0000-0000-000000000000', 'platform', 'platform',
    'Platform', 'USD', 'UTC');
CREATE UNIQUE INDEX tenants_one_platform ON tenants (kind)
	WHERE kind = 'platform';

CREATE TABLE users (
	tenant_id	uuid NOT NULL REFERENCES tenants (id),
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	seq		bigint GENERATED ALWAYS AS IDENTITY,
	email		text NOT NULL CHECK (email ~ '^[!-?A-~]+@[!-?A-~]+$'
			    AND email !~ '[A-Z]'
			    AND length(email) BETWEEN 3 AND 254),
	role		text NOT NULL CHECK (role IN ('viewer', 'operator',
			    'admin', 'owner', 'platform_admin')),
	password_hash	text NOT NULL CHECK (password_hash LIKE '$scrypt$%'),
	failed_logins	integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
	first_failed_at	timestamptz,
	locked_until	timestamptz,
	last_login_at	timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, email),
	UNIQUE (tenant_id, seq),
	-- Platform administrators, and only they, live in the platform's
	-- tenant: the platform door opens for nobody else.
	CHECK ((role = 'platform_admin') =
	    (tenant_id = '00000000-0000-0000-0000-000000000000'))
);
-- Login finds a user by email before it knows the tenant.
CREATE INDEX users_email ON users (email);

-- A session is one login: every refresh token it rotates through belongs
-- to it, and revoking it ends them all (and its access tokens, whose sid
-- names it).
CREATE TABLE sessions (
	tenant_id	uuid NOT NULL REFERENCES tenants (id),
	id		uuid NOT NULL DEFAULT gen_random_uuid(),
	user_id		uuid NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	revoked_at	timestamptz,
	revoked_reason	text CHECK (revoked_reason IN ('logout', 'reuse',
			    'user_changed', 'user_deleted')),
	PRIMARY KEY (tenant_id, id),
	FOREIGN KEY (tenant_id, user_id) REFERENCES users ON DELETE CASCADE
);
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);

-- Only a SHA-256 of each refresh token is kept: the token itself is 256
-- random bits, so a fast hash is enough and a stolen table is useless.
CREATE TABLE refresh_tokens (
	tenant_id	uuid NOT NULL REFERENCES tenants (id),
	token_hash	bytea NOT NULL CHECK (length(token_hash) = 32),
	session_id	uuid NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	used_at		timestamptz,
	PRIMARY KEY (tenant_id, token_hash),
	FOREIGN KEY (tenant_id, session_id) REFERENCES sessions
	    ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (tenant_id, session_id);

-- A machine key's secret is sealed with AES-256-GCM under auth.master_key
-- from the secrets file (nonce || ciphertext || tag, the tenant and key id
-- as associated data): a copy of the database alone cannot sign requests.
CREATE TABLE api_keys (
	tenant_id	uuid NOT NULL REFERENCES tenants (id),
	id		text NOT NULL CHECK (id ~ '^lk_[A-Za-z0-9_-]{32}$'),
	seq		bigint GENERATED ALWAYS AS IDENTITY,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
	secret_sealed	bytea NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	revoked_at	timestamptz,
	PRIMARY KEY (tenant_id, id),
	UNIQUE (tenant_id, seq)
);

-- Who changed what. Written in the transaction of the change; never
-- updated or deleted by the application.
CREATE TABLE audit_log (
	tenant_id	uuid NOT NULL REFERENCES tenants (id),
	id		bigint GENERATED ALWAYS AS IDENTITY,
	at		timestamptz NOT NULL DEFAULT now(),
	actor_type	text NOT NULL CHECK (actor_type IN ('user', 'key',
			    'cli')),
	actor_id	text NOT NULL,
	action		text NOT NULL CHECK (action ~ '^[a-z_]+\.[a-z_]+$'),
	target_type	text NOT NULL,
	target_id	text NOT NULL,
	before		jsonb,
	after		jsonb,
	request_id	text NOT NULL,
	PRIMARY KEY (tenant_id, id)
);
REVOKE UPDATE, DELETE ON audit_log FROM loyalty;
-- A tenant's id, kind and slug never change.
REVOKE UPDATE ON tenants FROM loyalty;
GRANT UPDATE (name, currency, timezone, status, updated_at) ON tenants
	TO loyalty;

-- Row-level security, forced so that it binds the owner too.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_own ON tenants
	USING (id = app_tenant() OR app_platform())
	WITH CHECK (id = app_tenant() OR app_platform());
CREATE POLICY tenant_login ON tenants FOR SELECT
	USING (id IN (SELECT u.tenant_id FROM users u
	    WHERE u.email = app_login_email()));

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_own ON users
	USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant());
CREATE POLICY user_login ON users FOR SELECT
	USING (email = app_login_email());

ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_own ON sessions
	USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant());

ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_own ON refresh_tokens
	USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant());

ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_own ON api_keys
	USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant());

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_own ON audit_log
	USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant());

-- The API's view of each row, in one place: what a response shows and what
-- an audit entry records as before and after. Never a secret or a hash.
CREATE FUNCTION rfc3339(timestamptz) RETURNS text
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') $$;

CREATE FUNCTION api_tenant(t tenants) RETURNS jsonb
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT jsonb_build_object('id', t.id, 'slug', t.slug,
	    'name', t.name, 'currency', t.currency, 'timezone', t.timezone,
	    'status', t.status, 'created_at', rfc3339(t.created_at),
	    'updated_at', rfc3339(t.updated_at)) $$;

CREATE FUNCTION api_user(u users) RETURNS jsonb
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT jsonb_build_object('id', u.id, 'tenant_id', u.tenant_id,
	    'email', u.email, 'role', u.role,
	    'locked_until', CASE WHEN u.locked_until > now()
	        THEN rfc3339(u.locked_until) END,
	    'last_login_at', rfc3339(u.last_login_at),
	    'created_at', rfc3339(u.created_at),
	    'updated_at', rfc3339(u.updated_at)) $$;

CREATE FUNCTION api_key(k api_keys) RETURNS jsonb
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT jsonb_build_object('id', k.id, 'name', k.name,
	    'status', CASE WHEN k.revoked_at IS NULL THEN 'active'
	        ELSE 'revoked' END,
	    'created_at', rfc3339(k.created_at),
	    'revoked_at', rfc3339(k.revoked_at)) $$;

CREATE FUNCTION api_audit(a audit_log) RETURNS jsonb
	LANGUAGE sql STABLE PARALLEL SAFE
	AS $$ SELECT jsonb_build_object('id', a.id::text, 'at', rfc3339(a.at),
	    'actor', jsonb_build_object('type', a.actor_type, 'id', a.actor_id),
	    'action', a.action,
	    'target', jsonb_build_object('type', a.target_type,
	        'id', a.target_id),
	    'before', a.before, 'after', a.after,
	    'request_id', a.request_id) $$;
