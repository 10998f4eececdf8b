-- Least privilege. Each tenant database is owned by a NOLOGIN owner role
-- (migrations run as it through SET ROLE); the application logs in with the
-- tenant's own app role (app_role, password in tenant_secrets) or, in shared
-- mode, with TENANT_DB_USER (app_role NULL). Tenants created before this
-- migration have no owner_role: their database is owned by the shared role
-- until `tenant credentials isolate` converts them.
-- migrate:up
ALTER TABLE tenants
  ADD COLUMN owner_role text CHECK (owner_role ~ '^[a-z_][a-z0-9_]{0,62}$'),
  ADD COLUMN app_role text CHECK (app_role ~ '^[a-z_][a-z0-9_]{0,62}$');
CREATE UNIQUE INDEX tenants_owner_role_key ON tenants (owner_role);
CREATE UNIQUE INDEX tenants_app_role_key ON tenants (app_role);

-- The app role's password, sealed with AES-256-GCM under a key the meta
-- database never sees (TENANT_SECRET_KEY): `v1:<key id>:<iv>:<ciphertext>:<tag>`.
-- next_secret is set while a rotation is under way (the role may already
-- have it), so a rotation killed at any point leaves the tenant reachable.
CREATE TABLE tenant_secrets (
  tenant_id uuid PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
  role text NOT NULL CHECK (role ~ '^[a-z_][a-z0-9_]{0,62}$'),
  secret text NOT NULL CHECK (secret ~ '^v1:[0-9a-f]{16}:'),
  next_secret text CHECK (next_secret ~ '^v1:[0-9a-f]{16}:'),
  key_id text GENERATED ALWAYS AS (split_part(secret, ':', 2)) STORED,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  rotated_at timestamptz
);
CREATE INDEX tenant_secrets_key_id_idx ON tenant_secrets (key_id);
-- migrate:down
DROP TABLE tenant_secrets;
ALTER TABLE tenants DROP COLUMN app_role, DROP COLUMN owner_role;
