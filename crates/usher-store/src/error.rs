//! Errors: [`StoreError`] for connecting and migrating, and the mapping of database errors to
//! the domain's [`RepoError`] (a unique violation names the entity and field it protects).

use sea_orm::{DbErr, RuntimeErr, SqlErr};
use usher_domain::error::RepoError;

/// Why the store could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names a database usher does not support.
    #[error("unsupported database URL scheme {scheme:?}: use sqlite:<file>, sqlite::memory: or postgres://…")]
    UnsupportedUrl {
        /// The scheme found.
        scheme: String,
    },
    /// The database could not be reached or refused the connection.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// A migration failed; the database is left at the last migration that succeeded.
    #[error("migration failed: {0}")]
    Migrate(String),
    /// A query failed.
    #[error("query failed: {0}")]
    Query(RepoError),
}

impl StoreError {
    pub(crate) fn connect(err: DbErr) -> StoreError {
        StoreError::Connect(err.to_string())
    }
    pub(crate) fn migrate(err: DbErr) -> StoreError {
        StoreError::Migrate(err.to_string())
    }
}

/// Unique indexes and what they protect: the name PostgreSQL reports, the columns SQLite
/// reports, and the domain's entity and field.
const UNIQUE: &[(&str, &str, &str, &str)] = &[
    ("ux_accounts_slug", "accounts.slug", "account", "slug"),
    ("ux_accounts_path", "accounts.path", "account", "id"),
    ("ux_user_types_key", "user_types.root_id, user_types.key", "user type", "key"),
    ("ux_roles_name", "roles.root_id, roles.name_key", "role", "name"),
    ("ux_users_username_key", "users.root_id, users.username_key", "user", "username"),
    ("ux_users_email", "users.root_id, users.email", "user", "email"),
    ("ux_users_external_id", "users.root_id, users.external_id", "user", "external_id"),
    ("ux_invitations_pending_email", "invitations.root_id, invitations.email", "invitation", "email"),
    ("ux_invitations_token", "invitations.token_hash", "invitation", "token"),
    ("ux_devices_identifier", "devices.user_id, devices.identifier", "device", "identifier"),
    ("users_pkey", "users.id", "user", "id"),
    (
        "pk_external_identities",
        "external_identities.root_id, external_identities.issuer, external_identities.subject",
        "external identity",
        "subject",
    ),
    ("pk_import_rows", "import_rows.job_id, import_rows.line", "import row", "line"),
];

/// Maps a database error to the domain's error.
pub(crate) fn repo(err: DbErr) -> RepoError {
    if let Some(SqlErr::UniqueConstraintViolation(message)) = err.sql_err() {
        let (entity, field) = UNIQUE
            .iter()
            .find(|(index, columns, _, _)| message.contains(index) || message.ends_with(columns))
            .map(|(_, _, entity, field)| (*entity, *field))
            .unwrap_or(("row", "id"));
        return RepoError::Duplicate { entity, field };
    }
    if lost_a_race(&err) {
        return RepoError::Stale { entity: "row" };
    }
    RepoError::backend(err)
}

/// Whether PostgreSQL ended the statement because two transactions waited on each other
/// (`40P01`, e.g. a user disabled and enabled at once, each holding what the other's seat
/// pool update needs) or could not serialise it (`40001`). The other transaction went on; this
/// one lost a race, which the use case answers as a conflict to retry, never as a failure.
fn lost_a_race(err: &DbErr) -> bool {
    let (DbErr::Exec(RuntimeErr::SqlxError(error)) | DbErr::Query(RuntimeErr::SqlxError(error))) = err else {
        return false;
    };
    let sea_orm::sqlx::Error::Database(database) = error.as_ref() else { return false };
    matches!(database.code().as_deref(), Some("40P01" | "40001"))
}
