-- Fleet runs shared by several runners (processes, machines).
--
-- The run journal becomes the run's work queue. Each queued tenant row gets
-- its place in the queue (position), its wave (0: canary; 1, 2, ...: waves;
-- NULL: decided when the run started, never queued) and the server it was on
-- when the run started (server_name, for the per-server limit that holds
-- across runners). A runner claims rows under the run row's lock, marking
-- them `running` with a lease (lease_until) that its heartbeat extends; a
-- runner killed with -9 stops extending, and once the lease has run out
-- another runner claims the row again (claims counts how often). The
-- tenant's own migration lock, in the tenant database, still makes sure a
-- migration is never applied twice.
--
-- migration_run_runners: every runner that worked on a run (host, pid, when,
-- how many tenants it finished), so history can show who did what, and a
-- runner can tell whether others are still alive (heartbeat_at + lease_ms).
--
-- migration_runs.run_key: runners given the same key share one run (the
-- first creates it); stop_reason: why the run stopped starting tenants
-- (canary failed, failure brake, --fail-fast, interrupted).
-- migrate:up
ALTER TABLE migration_runs ADD COLUMN run_key text UNIQUE;
ALTER TABLE migration_runs ADD COLUMN stop_reason text;

ALTER TABLE migration_run_tenants DROP CONSTRAINT migration_run_tenants_status_check;
ALTER TABLE migration_run_tenants ADD CONSTRAINT migration_run_tenants_status_check
  CHECK (status IN ('pending', 'running', 'migrated', 'up-to-date', 'failed', 'skipped'));
ALTER TABLE migration_run_tenants ADD COLUMN position integer;
ALTER TABLE migration_run_tenants ADD COLUMN wave integer CHECK (wave >= 0);
ALTER TABLE migration_run_tenants ADD COLUMN server_name text;
ALTER TABLE migration_run_tenants ADD COLUMN claimed_by uuid;
ALTER TABLE migration_run_tenants ADD COLUMN lease_until timestamptz;
ALTER TABLE migration_run_tenants ADD COLUMN claims integer NOT NULL DEFAULT 0;
ALTER TABLE migration_run_tenants ADD COLUMN started_at timestamptz;
ALTER TABLE migration_run_tenants ADD COLUMN finished_by uuid;
ALTER TABLE migration_run_tenants ADD CONSTRAINT migration_run_tenants_running_check
  CHECK (status <> 'running' OR (claimed_by IS NOT NULL AND lease_until IS NOT NULL));
CREATE INDEX migration_run_tenants_queue ON migration_run_tenants (run_id, wave, position)
  WHERE status IN ('pending', 'running');
-- The same rows by server: a claim under --per-server reads each server's first rows.
CREATE INDEX migration_run_tenants_server_queue ON migration_run_tenants (run_id, wave, server_name, position)
  WHERE status IN ('pending', 'running');
-- Tenants in flight, per server (the per-server limit, and whether a run can end).
CREATE INDEX migration_run_tenants_running ON migration_run_tenants (run_id, server_name)
  WHERE status = 'running';

-- Runs recorded before this migration: their pending rows become one wave in
-- creation order, with their tenant's server, so `--join` can finish them.
UPDATE migration_run_tenants t
   SET wave = 1, position = q.position, server_name = q.server_name
  FROM (SELECT rt.run_id, rt.tenant_id, tn.server_name,
               row_number() OVER (PARTITION BY rt.run_id ORDER BY tn.created_at, tn.slug)::int AS position
          FROM migration_run_tenants rt JOIN tenants tn ON tn.id = rt.tenant_id
         WHERE rt.status = 'pending') q
 WHERE t.run_id = q.run_id AND t.tenant_id = q.tenant_id;

CREATE TABLE migration_run_runners (
  id uuid PRIMARY KEY,
  run_id uuid NOT NULL REFERENCES migration_runs (id) ON DELETE CASCADE,
  host text NOT NULL,
  pid integer NOT NULL,
  actor text NOT NULL,
  concurrency integer NOT NULL CHECK (concurrency > 0),
  lease_ms integer NOT NULL CHECK (lease_ms > 0),
  started_at timestamptz NOT NULL DEFAULT now(),
  heartbeat_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  status text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished', 'interrupted', 'timed-out', 'lost'))
);
CREATE INDEX migration_run_runners_run ON migration_run_runners (run_id, started_at);

-- migrate:down
DROP TABLE migration_run_runners;
DROP INDEX migration_run_tenants_running;
DROP INDEX migration_run_tenants_server_queue;
DROP INDEX migration_run_tenants_queue;
ALTER TABLE migration_run_tenants DROP CONSTRAINT migration_run_tenants_running_check;
UPDATE migration_run_tenants SET status = 'pending' WHERE status = 'running';
ALTER TABLE migration_run_tenants DROP CONSTRAINT migration_run_tenants_status_check;
ALTER TABLE migration_run_tenants ADD CONSTRAINT migration_run_tenants_status_check
  CHECK (status IN ('pending', 'migrated', 'up-to-date', 'failed', 'skipped'));
ALTER TABLE migration_run_tenants DROP COLUMN finished_by, DROP COLUMN started_at, DROP COLUMN claims,
  DROP COLUMN lease_until, DROP COLUMN claimed_by, DROP COLUMN server_name, DROP COLUMN wave, DROP COLUMN position;
ALTER TABLE migration_runs DROP COLUMN stop_reason;
ALTER TABLE migration_runs DROP COLUMN run_key;
