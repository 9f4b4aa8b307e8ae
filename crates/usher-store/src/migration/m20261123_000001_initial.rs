//! The initial schema: every table of DESIGN §2 with the constraints and indexes that hold the
//! invariants (unique keys per root, one pending invitation per address, single-use tokens) and
//! serve the lists (keyset order, filters, prefix search).

use sea_orm_migration::prelude::*;

use super::run_ddl;

#[derive(Debug, DeriveMigrationName)]
pub(crate) struct Migration;

const UP: &str = r#"
CREATE TABLE accounts (
    id {uuid} PRIMARY KEY,
    root_id {uuid} NOT NULL,
    parent_id {uuid} REFERENCES accounts (id),
    path {key} NOT NULL,
    slug {key} NOT NULL,
    name TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_accounts_slug ON accounts (slug);
CREATE UNIQUE INDEX ux_accounts_path ON accounts (path);
CREATE INDEX ix_accounts_parent ON accounts (parent_id, slug);

CREATE TABLE settings (
    root_id {uuid} PRIMARY KEY REFERENCES accounts (id),
    document TEXT NOT NULL
);

CREATE TABLE user_types (
    id {uuid} PRIMARY KEY,
    root_id {uuid} NOT NULL REFERENCES accounts (id),
    key {key} NOT NULL,
    name TEXT NOT NULL,
    consumes_seat BOOLEAN NOT NULL,
    ceiling TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_user_types_key ON user_types (root_id, key);

CREATE TABLE seat_pools (
    root_id {uuid} NOT NULL REFERENCES accounts (id),
    user_type_id {uuid} NOT NULL REFERENCES user_types (id),
    total BIGINT NOT NULL CHECK (total >= 0),
    PRIMARY KEY (root_id, user_type_id)
);

CREATE TABLE roles (
    id {uuid} PRIMARY KEY,
    root_id {uuid} NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    name_key {key} NOT NULL,
    builtin TEXT,
    permissions TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_roles_name ON roles (root_id, name_key);

CREATE TABLE users (
    id {uuid} PRIMARY KEY,
    root_id {uuid} NOT NULL REFERENCES accounts (id),
    account_id {uuid} NOT NULL REFERENCES accounts (id),
    username TEXT NOT NULL,
    username_key {key} NOT NULL,
    email {key} NOT NULL,
    first_name_key {key},
    last_name_key {key},
    profile TEXT NOT NULL,
    receive_system_messages BOOLEAN NOT NULL,
    sales_representative {uuid},
    external_ids TEXT NOT NULL,
    user_type_id {uuid} NOT NULL REFERENCES user_types (id),
    scope TEXT NOT NULL,
    origin TEXT NOT NULL,
    state TEXT NOT NULL,
    email_verified_at BIGINT,
    has_password BOOLEAN NOT NULL,
    must_change_password BOOLEAN NOT NULL,
    is_operator BOOLEAN NOT NULL,
    contact_id {uuid},
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_login_at BIGINT,
    erased_at BIGINT,
    version BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_users_username_key ON users (root_id, username_key);
CREATE UNIQUE INDEX ux_users_email ON users (root_id, email);
CREATE INDEX ix_users_state ON users (root_id, state, username_key);
CREATE INDEX ix_users_type ON users (root_id, user_type_id, username_key);
CREATE INDEX ix_users_seats ON users (user_type_id, state);
CREATE INDEX ix_users_account ON users (account_id, username_key);
CREATE INDEX ix_users_first_name ON users (root_id, first_name_key);
CREATE INDEX ix_users_last_name ON users (root_id, last_name_key);

CREATE TABLE user_roles (
    user_id {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id {uuid} NOT NULL REFERENCES roles (id),
    PRIMARY KEY (user_id, role_id)
);
CREATE INDEX ix_user_roles_role ON user_roles (role_id, user_id);

CREATE TABLE passwords (
    user_id {uuid} PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    hash TEXT NOT NULL
);

CREATE TABLE invitations (
    id {uuid} PRIMARY KEY,
    root_id {uuid} NOT NULL REFERENCES accounts (id),
    account_id {uuid} NOT NULL REFERENCES accounts (id),
    email {key} NOT NULL,
    user_type_id {uuid} NOT NULL REFERENCES user_types (id),
    roles TEXT NOT NULL,
    scope TEXT NOT NULL,
    invited_by TEXT NOT NULL,
    token_hash {key} NOT NULL,
    state TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    send_count BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    accepted_user {uuid}
);
CREATE UNIQUE INDEX ux_invitations_token ON invitations (token_hash);
CREATE UNIQUE INDEX ux_invitations_pending_email ON invitations (root_id, email) WHERE state = 'pending';
CREATE INDEX ix_invitations_created ON invitations (root_id, created_at, id);
CREATE INDEX ix_invitations_state ON invitations (root_id, state, created_at, id);
CREATE INDEX ix_invitations_seats ON invitations (user_type_id, state, expires_at);

CREATE TABLE contacts (
    id {uuid} PRIMARY KEY,
    root_id {uuid} NOT NULL REFERENCES accounts (id),
    account_id {uuid} NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    email TEXT,
    phone TEXT,
    user_id {uuid},
    created_at BIGINT NOT NULL
);
CREATE INDEX ix_contacts_created ON contacts (root_id, created_at, id);

CREATE TABLE devices (
    id {uuid} PRIMARY KEY,
    user_id {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    identifier {key} NOT NULL,
    linked_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_devices_identifier ON devices (user_id, identifier);

CREATE TABLE sessions (
    id {uuid} PRIMARY KEY,
    user_id {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    root_id {uuid} NOT NULL,
    token_hash {key} NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX ux_sessions_token ON sessions (token_hash);
CREATE INDEX ix_sessions_user ON sessions (user_id);

CREATE TABLE one_time_tokens (
    id {uuid} PRIMARY KEY,
    user_id {uuid} NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose TEXT NOT NULL,
    token_hash {key} NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE UNIQUE INDEX ux_one_time_tokens_hash ON one_time_tokens (token_hash);
CREATE INDEX ix_one_time_tokens_user ON one_time_tokens (user_id, purpose);

CREATE TABLE api_keys (
    id {uuid} PRIMARY KEY,
    root_id {uuid} NOT NULL REFERENCES accounts (id),
    account_id {uuid} NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    permissions TEXT NOT NULL,
    token_hash {key} NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX ux_api_keys_token ON api_keys (token_hash);
CREATE INDEX ix_api_keys_account ON api_keys (account_id, created_at);

CREATE TABLE audit_events (
    id {uuid} PRIMARY KEY,
    root_id {uuid} NOT NULL,
    account_id {uuid} NOT NULL,
    actor TEXT NOT NULL,
    actor_user {uuid},
    action TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    target_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    source TEXT,
    diff TEXT NOT NULL
);
CREATE INDEX ix_audit_events_at ON audit_events (root_id, at, id);
CREATE INDEX ix_audit_events_actor ON audit_events (actor_user);
CREATE INDEX ix_audit_events_target ON audit_events (target_kind, target_id);

CREATE TABLE outbox (
    id {uuid} PRIMARY KEY,
    root_id {uuid} NOT NULL,
    account_id {uuid} NOT NULL,
    recipient TEXT NOT NULL,
    locale TEXT,
    message TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX ix_outbox_created ON outbox (root_id, created_at, id);

CREATE TABLE login_failures (
    id {serial},
    key {key} NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX ix_login_failures_key ON login_failures (key, at)
"#;

const DOWN: &str = "
DROP TABLE login_failures; DROP TABLE outbox; DROP TABLE audit_events; DROP TABLE api_keys;
DROP TABLE one_time_tokens; DROP TABLE sessions; DROP TABLE devices; DROP TABLE contacts;
DROP TABLE invitations; DROP TABLE passwords; DROP TABLE user_roles; DROP TABLE users;
DROP TABLE roles; DROP TABLE seat_pools; DROP TABLE user_types; DROP TABLE settings; DROP TABLE accounts
";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, UP).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_ddl(manager, DOWN).await
    }
}
