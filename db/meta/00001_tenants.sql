-- The meta database: one row per tenant, what was applied to each tenant
-- database, and an audit trail of every change.
-- migrate:up
CREATE TABLE tenants (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  slug text NOT NULL,
  display_name text NOT NULL,
  db_name text NOT NULL,
  db_host text NOT NULL,
  db_port integer NOT NULL CHECK (db_port BETWEEN 1 AND 65535),
  status text NOT NULL DEFAULT 'provisioning'
    CHECK (status IN ('provisioning', 'active', 'suspended', 'migration_failed', 'deleted')),
  plan text NOT NULL DEFAULT 'standard'
    CHECK (plan IN ('free', 'standard', 'premium', 'enterprise')),
  schema_version text,
  settings jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (slug ~ '^[a-z][a-z0-9-]{1,38}[a-z0-9]$'),
  CHECK (db_name ~ '^[a-z_][a-z0-9_]{0,62}$')
);
-- Slugs are unique whatever their case. A deleted tenant keeps its row for
-- the audit trail but frees neither slug nor database name, so history stays unambiguous.
CREATE UNIQUE INDEX tenants_slug_key ON tenants (lower(slug));
CREATE UNIQUE INDEX tenants_db_name_key ON tenants (db_name);
CREATE INDEX tenants_status_idx ON tenants (status);

CREATE TABLE tenant_migrations (
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL,
  duration_ms integer NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, name)
);

CREATE TABLE tenant_audit (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id uuid REFERENCES tenants (id) ON DELETE SET NULL,
  tenant_slug text,
  action text NOT NULL,
  actor text NOT NULL,
  details jsonb NOT NULL DEFAULT '{}'::jsonb,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenant_audit_tenant_idx ON tenant_audit (tenant_id, at DESC);

-- One row per `tenant migrate` run, with one outcome per tenant, so a run
-- can be shown (`tenant migrate history`) and resumed (`--resume <run>`).
CREATE TABLE migration_runs (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  actor text NOT NULL,
  direction text NOT NULL DEFAULT 'up' CHECK (direction IN ('up', 'down')),
  target jsonb NOT NULL DEFAULT '{}'::jsonb,
  options jsonb NOT NULL DEFAULT '{}'::jsonb,
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE TABLE migration_run_tenants (
  run_id uuid NOT NULL REFERENCES migration_runs (id) ON DELETE CASCADE,
  tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  status text NOT NULL CHECK (status IN ('pending', 'migrated', 'up-to-date', 'failed', 'skipped')),
  from_version text,
  to_version text,
  applied text[] NOT NULL DEFAULT '{}',
  duration_ms integer,
  error text,
  finished_at timestamptz,
  PRIMARY KEY (run_id, tenant_id)
);
-- migrate:down
DROP TABLE migration_run_tenants;
DROP TABLE migration_runs;
DROP TABLE tenant_audit;
DROP TABLE tenant_migrations;
DROP TABLE tenants;
