-- Authentication and authorization: users, roles, permissions, refresh tokens.
-- No users and no passwords are seeded: the first administrator is created by
-- the application's provisioning step.

-- migrate:up

CREATE TABLE users (
    id            uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    email         text        NOT NULL CHECK (email LIKE '_%@_%'),
    -- Hash produced by the application (e.g. argon2/bcrypt); never plain text.
    password_hash text        NOT NULL,
    full_name     text,
    -- Users are deactivated rather than deleted, so history keeps its authors.
    is_active     boolean     NOT NULL DEFAULT true,
    last_login_at timestamptz,
    version       integer     NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- E-mail is case-insensitive for login; citext is avoided so no extra
-- extension is required. Look users up with WHERE lower(email) = lower($1).
CREATE UNIQUE INDEX users_email_lower_key ON users (lower(email));

CREATE TRIGGER users_set_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER users_bump_version BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION bump_version();

CREATE TABLE roles (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    code        text        NOT NULL UNIQUE CHECK (code <> ''),
    name        text        NOT NULL,
    description text,
    -- Built-in roles the application must not let administrators delete.
    is_system   boolean     NOT NULL DEFAULT false,
    version     integer     NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER roles_set_updated_at BEFORE UPDATE ON roles
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER roles_bump_version BEFORE UPDATE ON roles
    FOR EACH ROW EXECUTE FUNCTION bump_version();

-- Permission codes are checked by the application code, so the set is
-- defined by migrations, not edited by users.
CREATE TABLE permissions (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    code        text        NOT NULL UNIQUE CHECK (code <> ''),
    description text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE role_permissions (
    role_id       uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission_id uuid NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    PRIMARY KEY (role_id, permission_id)
);

-- The PK covers lookups by role_id; this one covers the FK to permissions.
CREATE INDEX role_permissions_permission_id_idx ON role_permissions (permission_id);

CREATE TABLE user_roles (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role_id)
);

CREATE INDEX user_roles_role_id_idx ON user_roles (role_id);

-- Only a hash of the token is stored, so a leaked table cannot be replayed.
CREATE TABLE refresh_tokens (
    id         uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash text        NOT NULL UNIQUE,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    user_agent text,
    ip         inet
);

CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);
-- For the periodic purge of expired tokens.
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

-- Built-in permission codes and the system administrator role (data only,
-- no credentials).
INSERT INTO permissions (code, description) VALUES
    ('catalogs.read',   'Read catalogs'),
    ('catalogs.write',  'Create, change and mark catalog items for deletion'),
    ('documents.read',  'Read documents'),
    ('documents.write', 'Create, change and mark documents for deletion'),
    ('documents.post',  'Post and unpost documents'),
    ('admin',           'Manage users, roles and tenant settings');

INSERT INTO roles (code, name, description, is_system) VALUES
    ('admin', 'Administrator', 'Built-in role with every permission', true);

INSERT INTO role_permissions (role_id, permission_id)
SELECT r.id, p.id
FROM roles r CROSS JOIN permissions p
WHERE r.code = 'admin';

-- migrate:down

DROP TABLE refresh_tokens;
DROP TABLE user_roles;
DROP TABLE role_permissions;
DROP TABLE permissions;
DROP TABLE roles;
DROP TABLE users;
