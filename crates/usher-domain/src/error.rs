//! The error every port method may return, and errors shared by the use cases.

use crate::value::ValueError;

/// Failure of a store operation. Callers branch on the semantic variants; everything else is
/// an opaque backend failure.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// The row does not exist.
    #[error("{entity} not found")]
    NotFound {
        /// Entity name, e.g. `user`.
        entity: &'static str,
    },
    /// A uniqueness constraint refused the write.
    #[error("{entity} with this {field} already exists")]
    Duplicate {
        /// Entity name.
        entity: &'static str,
        /// The unique field, e.g. `username`.
        field: &'static str,
    },
    /// A conditional write found the row changed since it was read (version or state).
    #[error("{entity} was changed concurrently")]
    Stale {
        /// Entity name.
        entity: &'static str,
    },
    /// A stored row failed domain parsing.
    #[error("stored {entity} is invalid: {details}")]
    Corrupt {
        /// Entity name.
        entity: &'static str,
        /// What failed.
        details: String,
    },
    /// Anything else the backend reported.
    #[error(transparent)]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

impl RepoError {
    /// Wraps a backend error.
    pub fn backend(err: impl std::error::Error + Send + Sync + 'static) -> RepoError {
        RepoError::Backend(Box::new(err))
    }
    /// A row that failed to parse.
    pub fn corrupt(entity: &'static str, details: impl std::fmt::Display) -> RepoError {
        RepoError::Corrupt { entity, details: details.to_string() }
    }
}

/// A field of a command that failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {error}")]
pub struct Invalid {
    /// The field, as named on the wire (e.g. `email`, `emails[3]`).
    pub field: String,
    /// Why.
    pub error: ValueError,
}

impl Invalid {
    /// An invalid field.
    pub fn new(field: impl Into<String>, error: ValueError) -> Invalid {
        Invalid { field: field.into(), error }
    }
}

/// Parses a field, naming it in the error.
pub fn field<T>(name: &str, parsed: Result<T, ValueError>) -> Result<T, Invalid> {
    parsed.map_err(|error| Invalid::new(name, error))
}
