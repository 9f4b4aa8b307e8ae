//! Typed identifiers: one newtype per entity so ids of different kinds cannot be mixed up.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! ids {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps a UUID (ids are minted by the [`crate::ports::IdGen`] port).
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            /// The underlying UUID.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(raw: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(raw).map(Self)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                self.0.serialize(serializer)
            }
        }
    )*};
}

ids! {
    /// An account (tenant); root accounts and sub-accounts share this id space.
    AccountId,
    /// A user.
    UserId,
    /// A user type of a root account.
    UserTypeId,
    /// A role of a root account.
    RoleId,
    /// An invitation.
    InvitationId,
    /// A contact (person or organization) a user may be created from.
    ContactId,
    /// A device linked to a user.
    DeviceId,
    /// A login session.
    SessionId,
    /// An API key.
    ApiKeyId,
    /// A one-time token (verification, set-password, reset).
    TokenId,
    /// An audit event.
    AuditEventId,
    /// A mail waiting in the outbox.
    MailId,
    /// A public event (R26).
    EventId,
    /// A webhook endpoint (R26).
    WebhookId,
    /// One event's delivery to one webhook.
    DeliveryId,
    /// A key that signs access tokens (its `kid`).
    SigningKeyId,
    /// An import job.
    ImportId,
}
