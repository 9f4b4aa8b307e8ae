//! The sea-orm entities: one per table of the initial migration. Rows hold plain column values
//! (UUIDs, microseconds since the epoch, JSON text for nested data); [`crate::codec`] turns
//! them into domain types and back. Nothing here leaves the crate.
#![allow(
    unreachable_pub,
    missing_debug_implementations,
    reason = "sea-orm's derives make these items public"
)]

macro_rules! no_relations {
    () => {
        #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
        pub enum Relation {}
        impl ActiveModelBehavior for ActiveModel {}
    };
}

pub(crate) mod account {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "accounts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub root_id: Uuid,
        pub parent_id: Option<Uuid>,
        pub path: String,
        pub slug: String,
        pub name: String,
        pub state: String,
        pub created_at: i64,
        pub version: i64,
        pub sales_representative: Option<Uuid>,
    }
    no_relations!();
}

pub(crate) mod settings {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "settings")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub root_id: Uuid,
        pub document: String,
    }
    no_relations!();
}

pub(crate) mod user_type {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "user_types")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub root_id: Uuid,
        pub key: String,
        pub name: String,
        pub consumes_seat: bool,
        pub ceiling: String,
        pub created_at: i64,
        pub version: i64,
    }
    no_relations!();
}

pub(crate) mod seat_pool {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "seat_pools")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub root_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_type_id: Uuid,
        pub total: i64,
        pub used: i64,
        pub reserved: i64,
        pub swept_at: i64,
    }
    no_relations!();
}

pub(crate) mod role {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "roles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub root_id: Uuid,
        pub name: String,
        pub name_key: String,
        pub builtin: Option<String>,
        pub permissions: String,
        pub external_id: Option<String>,
        pub created_at: i64,
        pub version: i64,
    }
    no_relations!();
}

pub(crate) mod user {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "users")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub root_id: Uuid,
        pub account_id: Uuid,
        pub username: String,
        pub username_key: String,
        pub email: String,
        pub first_name_key: Option<String>,
        pub last_name_key: Option<String>,
        pub profile: String,
        pub receive_system_messages: bool,
        pub sales_representative: Option<Uuid>,
        pub external_ids: String,
        pub user_type_id: Uuid,
        pub scope: String,
        pub origin: String,
        pub state: String,
        pub email_verified_at: Option<i64>,
        pub has_password: bool,
        pub must_change_password: bool,
        pub is_operator: bool,
        pub contact_id: Option<Uuid>,
        pub contact_kind: Option<String>,
        pub external_id: Option<String>,
        pub display_key: String,
        pub created_at: i64,
        pub updated_at: i64,
        pub last_login_at: Option<i64>,
        pub erased_at: Option<i64>,
        pub version: i64,
    }
    no_relations!();
}

pub(crate) mod user_role {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "user_roles")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub role_id: Uuid,
    }
    no_relations!();
}

pub(crate) mod password {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "passwords")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub hash: String,
    }
    no_relations!();
}

pub(crate) mod token_cutoff {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "token_cutoffs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub user_id: Uuid,
        pub cutoff: i64,
    }
    no_relations!();
}

pub(crate) mod signing_key {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "signing_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub public_key: String,
        pub sealed_private_key: String,
        pub created_at: i64,
        pub retired_at: Option<i64>,
    }
    no_relations!();
}

pub(crate) mod invitation {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "invitations")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub root_id: Uuid,
        pub account_id: Uuid,
        pub email: String,
        pub user_type_id: Uuid,
        pub roles: String,
        pub scope: String,
        pub invited_by: String,
        pub token_hash: String,
        pub state: String,
        pub expires_at: i64,
        pub send_count: i64,
        pub created_at: i64,
        pub updated_at: i64,
        pub accepted_user: Option<Uuid>,
        pub locale: Option<String>,
    }
    no_relations!();
}

pub(crate) mod contact {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "contacts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub root_id: Uuid,
        pub account_id: Uuid,
        pub kind: String,
        pub first_name: Option<String>,
        pub last_name: Option<String>,
        pub email: Option<String>,
        pub phone: Option<String>,
        pub user_id: Option<Uuid>,
        pub created_at: i64,
        pub version: i64,
    }
    no_relations!();
}

pub(crate) mod device {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "devices")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub name: String,
        pub identifier: String,
        pub linked_at: i64,
    }
    no_relations!();
}

pub(crate) mod external_identity {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "external_identities")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub root_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub issuer: String,
        #[sea_orm(primary_key, auto_increment = false)]
        pub subject: String,
        pub user_id: Uuid,
        pub linked_at: i64,
    }
    no_relations!();
}

pub(crate) mod import_job {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "import_jobs")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub root_id: Uuid,
        pub account_id: Uuid,
        pub submitted_by: String,
        pub source: Option<String>,
        pub origin: Option<String>,
        pub options: String,
        pub header: String,
        pub state: String,
        pub rows_total: i64,
        pub rows_done: i64,
        pub created: i64,
        pub updated: i64,
        pub unchanged: i64,
        pub skipped: i64,
        pub errors: i64,
        pub cursor_line: i64,
        pub committed: bool,
        pub failure: Option<String>,
        pub lease_until: i64,
        pub created_at: i64,
        pub updated_at: i64,
        pub finished_at: Option<i64>,
    }
    no_relations!();
}

pub(crate) mod import_row {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "import_rows")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub job_id: Uuid,
        #[sea_orm(primary_key, auto_increment = false)]
        pub line: i64,
        pub cells: String,
        pub outcome: Option<String>,
        pub user_id: Option<Uuid>,
        pub reason: Option<String>,
        pub column_name: Option<String>,
        pub problem: Option<String>,
    }
    no_relations!();
}

pub(crate) mod session {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "sessions")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub root_id: Uuid,
        pub token_hash: String,
        pub created_at: i64,
        pub expires_at: i64,
        pub last_seen_at: Option<i64>,
        pub source: Option<String>,
    }
    no_relations!();
}

pub(crate) mod one_time_token {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "one_time_tokens")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub user_id: Uuid,
        pub purpose: String,
        pub token_hash: String,
        pub created_at: i64,
        pub expires_at: i64,
        pub used_at: Option<i64>,
    }
    no_relations!();
}

pub(crate) mod api_key {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "api_keys")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub root_id: Uuid,
        pub account_id: Uuid,
        pub name: String,
        pub permissions: String,
        pub token_hash: String,
        pub created_by: String,
        pub created_at: i64,
        pub expires_at: Option<i64>,
        pub revoked_at: Option<i64>,
    }
    no_relations!();
}

pub(crate) mod audit_event {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "audit_events")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub root_id: Uuid,
        pub account_id: Uuid,
        pub actor: String,
        pub actor_user: Option<Uuid>,
        pub action: String,
        pub target_kind: String,
        pub target_id: String,
        pub at: i64,
        pub source: Option<String>,
        pub origin: Option<String>,
        pub diff: String,
    }
    no_relations!();
}

pub(crate) mod event {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "events")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub pos: i64,
        pub id: Uuid,
        pub root_id: Uuid,
        pub account_id: Uuid,
        #[sea_orm(column_name = "type")]
        pub kind: String,
        pub occurred_at: i64,
        pub actor: String,
        pub origin: Option<String>,
        pub subject_kind: String,
        pub subject_id: String,
        pub data: String,
        pub changes: String,
        pub seq: Option<i64>,
    }
    no_relations!();
}

pub(crate) mod event_counter {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "event_counters")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub root_id: Uuid,
        pub last_seq: i64,
    }
    no_relations!();
}

pub(crate) mod event_sequencer {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "event_sequencer")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: i32,
    }
    no_relations!();
}

pub(crate) mod webhook {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhooks")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub root_id: Uuid,
        pub account_id: Uuid,
        pub url: String,
        pub types: String,
        pub exclude_origins: String,
        pub enabled: bool,
        pub disabled_reason: Option<String>,
        pub secret: String,
        pub previous_secret: Option<String>,
        pub previous_secret_until: Option<i64>,
        pub cursor: i64,
        pub next_attempt_at: i64,
        pub failing_since: Option<i64>,
        pub lease_until: i64,
        pub created_at: i64,
        pub version: i64,
    }
    no_relations!();
}

pub(crate) mod webhook_delivery {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "webhook_deliveries")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub webhook_id: Uuid,
        pub root_id: Uuid,
        pub event_id: Uuid,
        pub seq: i64,
        #[sea_orm(column_name = "type")]
        pub kind: String,
        pub payload: String,
        pub status: String,
        pub attempts: i32,
        pub last_status: Option<i32>,
        pub last_error: Option<String>,
        pub created_at: i64,
        pub last_attempt_at: Option<i64>,
        pub delivered_at: Option<i64>,
    }
    no_relations!();
}

pub(crate) mod outbox {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: Uuid,
        pub root_id: Uuid,
        pub account_id: Uuid,
        pub recipient: String,
        pub locale: Option<String>,
        pub message: String,
        pub created_at: i64,
        pub state: String,
        pub attempts: i32,
        pub next_attempt_at: i64,
        pub last_error: Option<String>,
        pub sent_at: Option<i64>,
    }
    no_relations!();
}

pub(crate) mod login_failure {
    use sea_orm::entity::prelude::*;
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "login_failures")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub key: String,
        pub at: i64,
    }
    no_relations!();
}
