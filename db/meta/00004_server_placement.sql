-- Placement and removal of servers.
--
-- Placement: before the registry, a tenant went elsewhere than the configured
-- server only when `tenant create --host/--port` said so. The servers the
-- registry migration (00003) registered for such addresses (`server-2`, ...,
-- with no admin login of their own) therefore start `draining`: they keep
-- serving their tenants, and placement puts new tenants on them only once
-- someone runs `tenant server activate <name>`. An upgraded install creates
-- where it did before.
--
-- Removal: a server may be removed once no live tenant, no
-- running move or clone and no kept (moved) database is there. Deleted
-- tenants' rows and finished move journal rows are history that must
-- outlive the server: they keep their db_host/db_port (and source/target
-- database names) but their server name becomes NULL. Live rows can never
-- lose their server: the checks make such a delete fail in the database.
-- migrate:up
UPDATE servers SET status = 'draining', updated_at = now()
 WHERE name ~ '^server-[0-9]+$' AND admin_user IS NULL AND status = 'active';

ALTER TABLE tenants ALTER COLUMN server_name DROP NOT NULL;
ALTER TABLE tenants ADD CONSTRAINT tenants_server_check CHECK (server_name IS NOT NULL OR status = 'deleted');
ALTER TABLE tenants DROP CONSTRAINT tenants_server_name_fkey;
ALTER TABLE tenants ADD CONSTRAINT tenants_server_name_fkey
  FOREIGN KEY (server_name) REFERENCES servers (name) ON UPDATE CASCADE ON DELETE SET NULL;

ALTER TABLE tenant_moves ALTER COLUMN source_server DROP NOT NULL;
ALTER TABLE tenant_moves ALTER COLUMN target_server DROP NOT NULL;
ALTER TABLE tenant_moves ADD CONSTRAINT tenant_moves_servers_check
  CHECK (status <> 'running' OR (source_server IS NOT NULL AND target_server IS NOT NULL));
ALTER TABLE tenant_moves DROP CONSTRAINT tenant_moves_source_server_fkey;
ALTER TABLE tenant_moves ADD CONSTRAINT tenant_moves_source_server_fkey
  FOREIGN KEY (source_server) REFERENCES servers (name) ON UPDATE CASCADE ON DELETE SET NULL;
ALTER TABLE tenant_moves DROP CONSTRAINT tenant_moves_target_server_fkey;
ALTER TABLE tenant_moves ADD CONSTRAINT tenant_moves_target_server_fkey
  FOREIGN KEY (target_server) REFERENCES servers (name) ON UPDATE CASCADE ON DELETE SET NULL;
-- migrate:down
ALTER TABLE tenant_moves DROP CONSTRAINT tenant_moves_target_server_fkey;
ALTER TABLE tenant_moves ADD CONSTRAINT tenant_moves_target_server_fkey
  FOREIGN KEY (target_server) REFERENCES servers (name) ON UPDATE CASCADE;
ALTER TABLE tenant_moves DROP CONSTRAINT tenant_moves_source_server_fkey;
ALTER TABLE tenant_moves ADD CONSTRAINT tenant_moves_source_server_fkey
  FOREIGN KEY (source_server) REFERENCES servers (name) ON UPDATE CASCADE;
ALTER TABLE tenant_moves DROP CONSTRAINT tenant_moves_servers_check;
ALTER TABLE tenant_moves ALTER COLUMN target_server SET NOT NULL;
ALTER TABLE tenant_moves ALTER COLUMN source_server SET NOT NULL;
ALTER TABLE tenants DROP CONSTRAINT tenants_server_name_fkey;
ALTER TABLE tenants ADD CONSTRAINT tenants_server_name_fkey
  FOREIGN KEY (server_name) REFERENCES servers (name) ON UPDATE CASCADE;
ALTER TABLE tenants DROP CONSTRAINT tenants_server_check;
ALTER TABLE tenants ALTER COLUMN server_name SET NOT NULL;
