-- 0001: the roles and the migration tracking table.
--
-- loyalty_owner owns every object and is the role migrations run as (by
-- SET ROLE from the administrator's connection); it cannot log in.
-- loyalty is the role loyaltyd logs in as: not owner, not superuser, no
-- BYPASSRLS, so row-level security in later migrations binds it.
-- Roles are cluster-wide: create them only when missing.

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'loyalty_owner') THEN
		CREATE ROLE loyalty_owner NOLOGIN NOSUPERUSER NOCREATEDB
		    NOCREATEROLE NOBYPASSRLS;
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'loyalty') THEN
		CREATE ROLE loyalty LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
		    NOBYPASSRLS NOINHERIT;
	END IF;
END
$$;

-- Only the owner creates in the schema; the application reads and writes.
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT USAGE, CREATE ON SCHEMA public TO loyalty_owner;
GRANT USAGE ON SCHEMA public TO loyalty;

CREATE TABLE schema_migrations (
	version		integer PRIMARY KEY,
	name		text NOT NULL UNIQUE,
	checksum	text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
	applied_at	timestamptz NOT NULL DEFAULT now(),
	duration_ms	integer NOT NULL CHECK (duration_ms >= 0)
);
ALTER TABLE schema_migrations OWNER TO loyalty_owner;
GRANT SELECT ON schema_migrations TO loyalty;

-- Tables later migrations create (as loyalty_owner) are usable by the
-- application without a GRANT in each file.
ALTER DEFAULT PRIVILEGES FOR ROLE loyalty_owner IN SCHEMA public
	GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO loyalty;
ALTER DEFAULT PRIVILEGES FOR ROLE loyalty_owner IN SCHEMA public
	GRANT USAGE, SELECT ON SEQUENCES TO loyalty;
