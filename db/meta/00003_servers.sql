-- Many PostgreSQL servers. Each tenant database lives on a registered server;
-- placement picks the active server with the most free capacity. A tenant
-- being moved to another server is `moving` (servers answer 503, fleet runs
-- and workers skip it); each move and clone is journalled so a killed one
-- can be resumed or rolled back, and a moved tenant's source database is
-- kept (renamed `<db>_moved_<timestamp>`) until it is dropped on purpose.
--
-- The server today's configuration points at is registered as `default` and
-- every existing tenant attached to a server by this migration: the runner
-- passes that server's host and port in the session settings
-- metapus.default_server_host / metapus.default_server_port. Tenants on any
-- other host:port (created with --host/--port) get a server of their own,
-- named after it, so existing installs keep working with no action.
-- migrate:up
CREATE TABLE servers (
  name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9-]{0,38}[a-z0-9]$'),
  -- Canonical spelling (pg/server-key.ts): loopback as 127.0.0.1, names lower-case, socket folders as written.
  host text NOT NULL CHECK (length(host) BETWEEN 1 AND 255),
  port integer NOT NULL CHECK (port BETWEEN 1 AND 65535),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'draining')),
  -- How many tenants may live here; NULL: no limit.
  capacity integer CHECK (capacity >= 0),
  -- Connections one process may hold to this server; NULL: derived from its max_connections.
  connections integer CHECK (connections > 0),
  -- Admin login (see servers/server-admin.ts): TENANT_SERVER_<NAME>_ADMIN_URL wins; else this user with
  -- the sealed password (AES-256-GCM, the tenant secret key) or, without one, ~/.pgpass / PGPASSFILE.
  admin_user text CHECK (admin_user ~ '^[A-Za-z_][A-Za-z0-9_$.@-]{0,62}$'),
  admin_secret text CHECK (admin_secret ~ '^v1:[0-9a-f]{16}:'),
  -- Connection options for the admin login (e.g. sslmode) as URL query text, never a password.
  admin_options text NOT NULL DEFAULT '' CHECK (admin_options !~* 'password'),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (host, port)
);

ALTER TABLE tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_status_check
  CHECK (status IN ('provisioning', 'active', 'suspended', 'migration_failed', 'moving', 'deleted'));
ALTER TABLE tenants ADD COLUMN server_name text REFERENCES servers (name) ON UPDATE CASCADE;

-- The canonical host, as pg/server-key.ts spells it.
CREATE FUNCTION pg_temp.canonical_host(h text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN h LIKE '/%' THEN h
    WHEN lower(btrim(h, '[]')) IN ('localhost', '127.0.0.1', '::1') THEN '127.0.0.1'
    ELSE lower(btrim(h, '[]'))
  END
$$;

INSERT INTO servers (name, host, port)
SELECT 'default', pg_temp.canonical_host(h), p::int
  FROM (SELECT nullif(current_setting('metapus.default_server_host', true), '') AS h,
               nullif(current_setting('metapus.default_server_port', true), '') AS p) AS configured
 WHERE h IS NOT NULL AND p IS NOT NULL;

-- Without the settings (the migration run by hand), the most used address is `default`.
INSERT INTO servers (name, host, port)
SELECT 'default', pg_temp.canonical_host(db_host), db_port
  FROM tenants
 WHERE NOT EXISTS (SELECT 1 FROM servers)
 GROUP BY pg_temp.canonical_host(db_host), db_port
 ORDER BY count(*) DESC, 1, 2
 LIMIT 1;

-- Every other address a tenant lives on becomes a server of its own: server-2, server-3, ...
INSERT INTO servers (name, host, port)
SELECT 'server-' || (row_number() OVER (ORDER BY host, port) + 1), host, port
  FROM (SELECT DISTINCT pg_temp.canonical_host(db_host) AS host, db_port AS port FROM tenants) AS addresses
 WHERE NOT EXISTS (SELECT 1 FROM servers s WHERE s.host = addresses.host AND s.port = addresses.port);

UPDATE tenants t SET server_name = s.name
  FROM servers s
 WHERE s.host = pg_temp.canonical_host(t.db_host) AND s.port = t.db_port;

ALTER TABLE tenants ALTER COLUMN server_name SET NOT NULL;
CREATE INDEX tenants_server_idx ON tenants (server_name, status);

-- One row per move or clone: the journal a killed one is resumed or rolled back from.
CREATE TABLE tenant_moves (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  kind text NOT NULL CHECK (kind IN ('move', 'clone')),
  -- The tenant moved, or the clone's source.
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  -- A clone's new tenant (its row is `provisioning` until the copy is verified).
  clone_id uuid REFERENCES tenants (id) ON DELETE SET NULL,
  source_server text NOT NULL REFERENCES servers (name) ON UPDATE CASCADE,
  source_db text NOT NULL CHECK (source_db ~ '^[a-z_][a-z0-9_]{0,62}$'),
  target_server text NOT NULL REFERENCES servers (name) ON UPDATE CASCADE,
  target_db text NOT NULL CHECK (target_db ~ '^[a-z_][a-z0-9_]{0,62}$'),
  -- The status the tenant had before it became `moving` (restored on rollback).
  previous_status text,
  step text NOT NULL DEFAULT 'started',
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed', 'rolled_back')),
  actor text NOT NULL,
  report jsonb NOT NULL DEFAULT '{}'::jsonb,
  error text,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX tenant_moves_tenant_idx ON tenant_moves (tenant_id, started_at DESC);
-- At most one move or clone in flight per tenant.
CREATE UNIQUE INDEX tenant_moves_running_key ON tenant_moves (tenant_id) WHERE status = 'running';

-- A moved tenant's source database, kept (renamed) until `--drop-source` or `tenant repair --drop-moved`.
CREATE TABLE moved_databases (
  server_name text NOT NULL REFERENCES servers (name) ON UPDATE CASCADE,
  db_name text NOT NULL CHECK (db_name ~ '^[a-z_][a-z0-9_]{0,62}$'),
  tenant_id uuid REFERENCES tenants (id) ON DELETE SET NULL,
  move_id uuid REFERENCES tenant_moves (id) ON DELETE SET NULL,
  moved_at timestamptz NOT NULL DEFAULT now(),
  dropped_at timestamptz,
  PRIMARY KEY (server_name, db_name)
);
-- migrate:down
DROP TABLE moved_databases;
DROP TABLE tenant_moves;
ALTER TABLE tenants DROP COLUMN server_name;
ALTER TABLE tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_status_check
  CHECK (status IN ('provisioning', 'active', 'suspended', 'migration_failed', 'deleted'));
DROP TABLE servers;
