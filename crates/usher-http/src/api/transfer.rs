//! Users as CSV: the export, streamed a page at a time so that its memory stays bounded
//! whatever the number of users.

use poem::Body;
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Binary;
use poem_openapi::{ApiResponse, OpenApi};
use tokio::io::AsyncWriteExt;
use usher_domain::authz::Actor;
use usher_domain::id::AccountId;
use usher_domain::ports::{Cursor, PageRequest};
use usher_domain::service::Ports;
use usher_domain::service::transfer::{EXPORT_PAGE, ExportNames, USER_COLUMNS, export_users_page};
use usher_domain::service::users::{UserError, UserFilter};
use uuid::Uuid;

use crate::api::Tag;
use crate::api::users::user_filter;
use crate::auth::BearerAuth;
use crate::problem::{Problem, problems};
use crate::state::AppState;
use crate::views::UserStateView;

problems! {
    /// Problems of the user export.
    TransferProblems from [UserError] {
        400 BadRequest "The request could not be read.",
        401 Unauthenticated "No valid bearer token." ["WWW-Authenticate"],
        403 Forbidden "The caller lacks `users:read` on the account.",
        404 NotFound "No such account in the caller's tenant.",
        422 Unprocessable "A field is invalid (named in `field`).",
    }
}

/// A CSV file.
#[derive(ApiResponse, Debug)]
pub(crate) enum CsvFile {
    /// RFC 4180, UTF-8, a header row naming the columns.
    #[oai(status = 200, content_type = "text/csv; charset=utf-8")]
    Ok(Binary<Body>, #[oai(header = "Content-Disposition")] String),
}

/// How many bytes of CSV wait for a slow reader before the export pauses.
const PIPE_BYTES: usize = 256 * 1024;

/// The user export.
#[derive(Debug, Default)]
pub(crate) struct TransferApi;

#[OpenApi(prefix_path = "/v1", tag = "Tag::Users")]
impl TransferApi {
    /// Export users as CSV
    ///
    /// The users the list shows, with the same filters, as one CSV file: `username`, `email`,
    /// `first_name`, `last_name`, `phone`, `locale`, `account` (the home account's slug),
    /// `user_type` (its key), `roles` (names, `;`-separated), `state`, `email_verified`,
    /// `external_ids` (a JSON object) and `created_at`. A cell that starts with `=`, `+`, `-`
    /// or `@` is written with a leading `'`, so that a spreadsheet shows it rather than runs it.
    /// The file is streamed as it is read; memory stays bounded however many users there are.
    #[oai(path = "/accounts/:account_id/users/export", method = "get", operation_id = "export_users")]
    #[allow(clippy::too_many_arguments, reason = "one argument per documented query parameter")]
    async fn export(
        &self,
        state: Data<&AppState>,
        auth: BearerAuth,
        account_id: Path<Uuid>,
        /// Only users in this state.
        #[oai(name = "state")]
        state_filter: Query<Option<UserStateView>>,
        /// Prefix of username, email, first or last name.
        q: Query<Option<String>>,
        /// Only users of this type.
        user_type: Query<Option<Uuid>>,
        /// Only users with this role.
        role: Query<Option<Uuid>>,
    ) -> Result<CsvFile, TransferProblems> {
        let filter = user_filter(state_filter.0, q.0, user_type.0, role.0);
        let account = AccountId::from_uuid(account_id.0);
        let actor = auth.0.actor;
        let mut names = ExportNames::default();
        // The first page is read before answering, so that a refusal is a problem, not a file.
        let first = PageRequest::first(EXPORT_PAGE);
        let (rows, next) =
            export_users_page(&state.ports, &actor, account, &filter, first, &mut names).await?;
        let head = csv_bytes(Some(&USER_COLUMNS), &rows)
            .map_err(|err| Box::new(Problem::internal(&std::io::Error::other(err))))?;
        let (mut writer, reader) = tokio::io::duplex(PIPE_BYTES);
        let ports = state.ports.clone();
        tokio::spawn(async move {
            if writer.write_all(&head).await.is_err() {
                return;
            }
            let export = Export { ports, actor, account, filter, names };
            if let Err(err) = export.rest(next, &mut writer).await {
                tracing::warn!(error = %err, "the user export stopped early");
            }
        });
        let disposition = "attachment; filename=\"users.csv\"".to_owned();
        Ok(CsvFile::Ok(Binary(Body::from_async_read(reader)), disposition))
    }
}

/// What the pages after the first need.
struct Export {
    ports: Ports,
    actor: Actor,
    account: AccountId,
    filter: UserFilter,
    names: ExportNames,
}

impl Export {
    /// Writes the pages from `next` on until the last, or until the reader goes away.
    async fn rest(
        mut self,
        mut next: Option<Cursor>,
        writer: &mut tokio::io::DuplexStream,
    ) -> Result<(), String> {
        while let Some(cursor) = next {
            let page = PageRequest::after(cursor, EXPORT_PAGE);
            let (rows, after) = export_users_page(
                &self.ports,
                &self.actor,
                self.account,
                &self.filter,
                page,
                &mut self.names,
            )
            .await
            .map_err(|err| err.to_string())?;
            let bytes = csv_bytes(None, &rows)?;
            writer.write_all(&bytes).await.map_err(|err| err.to_string())?;
            next = after;
        }
        writer.shutdown().await.map_err(|err| err.to_string())
    }
}

/// Rows (after an optional header) as CSV.
fn csv_bytes(header: Option<&[&str]>, rows: &[Vec<String>]) -> Result<Vec<u8>, String> {
    let mut out = csv::Writer::from_writer(Vec::new());
    if let Some(header) = header {
        out.write_record(header).map_err(|err| err.to_string())?;
    }
    for row in rows {
        out.write_record(row).map_err(|err| err.to_string())?;
    }
    out.into_inner().map_err(|err| err.to_string())
}
