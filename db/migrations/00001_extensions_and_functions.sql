-- Extensions and the generic trigger functions shared by every later migration.

-- migrate:up

-- gen_random_uuid() is built in since PostgreSQL 13, so no table depends on
-- pgcrypto; it is installed for the hashing helpers the application uses
-- (digest(), crypt(), gen_salt()). pgcrypto is a trusted extension since
-- PG13, so a database owner without superuser may create it.
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- Keeps updated_at truthful no matter which code path performed the UPDATE.
CREATE FUNCTION set_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION set_updated_at() IS
    'BEFORE UPDATE trigger: sets NEW.updated_at = now().';

-- Optimistic locking: clients send UPDATE ... WHERE id = $1 AND version = $2;
-- zero rows affected means someone else changed the row first. The version is
-- derived from OLD so a client cannot set it to an arbitrary value.
CREATE FUNCTION bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION bump_version() IS
    'BEFORE UPDATE trigger: sets NEW.version = OLD.version + 1 (optimistic locking).';

-- Soft delete: keep deleted_at consistent with deletion_mark, so callers only
-- have to flip the flag.
CREATE FUNCTION sync_deleted_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.deletion_mark THEN
        NEW.deleted_at := coalesce(NEW.deleted_at, now());
    ELSE
        NEW.deleted_at := NULL;
    END IF;
    RETURN NEW;
END;
$$;

COMMENT ON FUNCTION sync_deleted_at() IS
    'BEFORE INSERT OR UPDATE trigger: deleted_at is set when deletion_mark becomes true and cleared when it becomes false.';

-- migrate:down

DROP FUNCTION sync_deleted_at();
DROP FUNCTION bump_version();
DROP FUNCTION set_updated_at();

-- IF EXISTS: the up used IF NOT EXISTS, so the extension may already have
-- been there (e.g. installed from template1). No CASCADE: if something else
-- still uses pgcrypto, the down fails instead of silently dropping it.
DROP EXTENSION IF EXISTS pgcrypto;
