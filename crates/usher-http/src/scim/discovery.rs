//! What this SCIM service supports (RFC 7644 §4, RFC 7643 §5–§7), described exactly:
//! `ServiceProviderConfig`, `ResourceTypes` and `Schemas`. They are public, as the RFC
//! allows, so a client can discover them before it has a token.

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};
use serde_json::{Value, json};

use super::groups::GROUP_SCHEMA;
use super::resource::Catalog;
use super::{ENTERPRISE, ScimError, USER_SCHEMA, USHER, base_url, caller, list_response, scim_json};
use crate::state::AppState;

const CONFIG: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

#[handler]
pub(crate) fn service_provider_config(req: &Request, state: Data<&AppState>) -> Response {
    let base = base_url(req, &state);
    let body = json!({
        "schemas": [CONFIG],
        "documentationUri": "https://github.com/usher-rs/usher#scim",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": usher_domain::service::provisioning::MAX_PAGE},
        "changePassword": {"supported": false},
        "sort": {"supported": true},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "API key",
            "description": "An usher API key holding scim:read or scim:write, and users:write to change users, sent as Authorization: Bearer usk_…",
            "primary": true,
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig")},
    });
    scim_json(StatusCode::OK, &body)
}

fn user_resource_type(base: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "A person who logs in to the tenant's apps",
        "schema": USER_SCHEMA,
        "schemaExtensions": [
            {"schema": ENTERPRISE, "required": false},
            {"schema": USHER, "required": true},
        ],
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
    })
}

fn group_resource_type(base: &str) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE],
        "id": "Group",
        "name": "Group",
        "endpoint": "/Groups",
        "description": "A role of the tenant: its members hold it",
        "schema": GROUP_SCHEMA,
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
    })
}

#[handler]
pub(crate) fn resource_types(req: &Request, state: Data<&AppState>) -> Response {
    let base = base_url(req, &state);
    list(vec![user_resource_type(&base), group_resource_type(&base)])
}

#[handler]
pub(crate) fn resource_type(req: &Request, state: Data<&AppState>, Path(id): Path<String>) -> Response {
    let base = base_url(req, &state);
    match id.as_str() {
        "User" => scim_json(StatusCode::OK, &user_resource_type(&base)),
        "Group" => scim_json(StatusCode::OK, &group_resource_type(&base)),
        _ => not_found("resource type", &id),
    }
}

/// The values a caller's tenant accepts for usher's attributes, when the caller sent a token
/// that may read its directory; the schemas are public without them.
async fn directory_of(req: &Request, state: &AppState) -> Option<Catalog> {
    let actor = caller(req, state).await.ok()?;
    Catalog::read(state, &actor).await.ok()
}

#[handler]
pub(crate) async fn schemas(req: &Request, state: Data<&AppState>) -> Response {
    let directory = directory_of(req, &state).await;
    list(all_schemas(&base_url(req, &state), directory.as_ref()))
}

#[handler]
pub(crate) async fn schema(req: &Request, state: Data<&AppState>, Path(id): Path<String>) -> Response {
    let directory = directory_of(req, &state).await;
    match all_schemas(&base_url(req, &state), directory.as_ref()).into_iter().find(|s| s["id"] == json!(id)) {
        Some(found) => scim_json(StatusCode::OK, &found),
        None => not_found("schema", &id),
    }
}

/// Any other path under `/scim/v2`.
#[handler]
pub(crate) fn unknown(req: &Request) -> Response {
    not_found("endpoint", req.uri().path())
}

fn not_found(what: &str, id: &str) -> Response {
    ScimError::new(StatusCode::NOT_FOUND, None, format!("{what} {id} not found")).into_response()
}

fn list(resources: Vec<Value>) -> Response {
    list_response(1, resources.len() as u64, resources)
}

/// An attribute's description.
struct Attr {
    name: &'static str,
    kind: &'static str,
    description: &'static str,
    required: bool,
    case_exact: bool,
    mutability: &'static str,
    uniqueness: &'static str,
    multi: bool,
    sub: Vec<Attr>,
    canonical: Vec<String>,
    references: Vec<&'static str>,
}

impl Attr {
    fn text(name: &'static str, description: &'static str) -> Attr {
        Attr {
            name,
            kind: "string",
            description,
            required: false,
            case_exact: false,
            mutability: "readWrite",
            uniqueness: "none",
            multi: false,
            sub: Vec::new(),
            canonical: Vec::new(),
            references: Vec::new(),
        }
    }
    fn json(&self) -> Value {
        let mut value = json!({
            "name": self.name,
            "type": self.kind,
            "multiValued": self.multi,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": "default",
            "uniqueness": self.uniqueness,
        });
        if let Value::Object(map) = &mut value {
            if !self.sub.is_empty() {
                map.insert("subAttributes".into(), Value::Array(self.sub.iter().map(Attr::json).collect()));
            }
            if !self.canonical.is_empty() {
                map.insert("canonicalValues".into(), json!(self.canonical));
            }
            if !self.references.is_empty() {
                map.insert("referenceTypes".into(), json!(self.references));
            }
        }
        value
    }
}

fn multi(name: &'static str, description: &'static str, mutability: &'static str, sub: Vec<Attr>) -> Attr {
    Attr { kind: "complex", multi: true, mutability, sub, ..Attr::text(name, description) }
}

fn schema_json(id: &str, name: &str, description: &str, attributes: Vec<Attr>, base: &str) -> Value {
    json!({
        "schemas": [SCHEMA],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes.iter().map(Attr::json).collect::<Vec<_>>(),
        "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
    })
}

/// Language tags offered as examples; any BCP 47 tag is accepted.
const LOCALES: [&str; 12] =
    ["en", "en-US", "en-GB", "de", "de-DE", "de-CH", "fr", "fr-FR", "es", "it", "nl", "pt-BR"];

fn all_schemas(base: &str, directory: Option<&Catalog>) -> Vec<Value> {
    let typed = |description| vec![Attr { required: true, ..Attr::text("value", description) }];
    let core = vec![
        Attr {
            required: true,
            uniqueness: "server",
            ..Attr::text("userName", "The username, unique in the tenant without regard to case (R5)")
        },
        Attr {
            kind: "complex",
            sub: vec![Attr::text("givenName", "First name"), Attr::text("familyName", "Last name")],
            ..Attr::text("name", "The user's name")
        },
        Attr {
            mutability: "readOnly",
            ..Attr::text("displayName", "First and last name, else the username")
        },
        Attr {
            canonical: LOCALES.iter().map(|l| (*l).to_owned()).collect(),
            ..Attr::text("locale", "Preferred locale: a BCP 47 language tag such as de-DE")
        },
        Attr {
            kind: "boolean",
            required: true,
            ..Attr::text(
                "active",
                "Enabled; false disables the user, frees its seat and ends its sessions (R8); true when a create leaves it out",
            )
        },
        Attr {
            required: true,
            ..multi(
                "emails",
                "The one email of the user, unique in the tenant",
                "readWrite",
                typed("The address"),
            )
        },
        multi("phoneNumbers", "The one phone number of the user", "readWrite", typed("The number")),
        multi(
            "groups",
            "The user's roles; membership changes through Groups",
            "readOnly",
            vec![
                Attr { mutability: "readOnly", ..Attr::text("value", "The role's id") },
                Attr { mutability: "readOnly", ..Attr::text("display", "The role's name") },
                Attr {
                    kind: "reference",
                    mutability: "readOnly",
                    references: vec!["Group"],
                    ..Attr::text("$ref", "The role")
                },
            ],
        ),
        Attr {
            case_exact: true,
            ..Attr::text("externalId", "The identity provider's id for the user, unique in the tenant")
        },
    ];
    let enterprise = vec![
        Attr::text("employeeNumber", "Employee number"),
        Attr::text("costCenter", "Cost center"),
        Attr::text("organization", "Organization"),
        Attr::text("division", "Division"),
        Attr::text("department", "Department"),
    ];
    let usher = vec![
        Attr {
            required: true,
            canonical: directory.map(Catalog::type_keys).unwrap_or_default(),
            ..Attr::text(
                "userType",
                "The user type's key (or name): the settings' default on create when absent; a change takes a seat of the new type (R1, R4)",
            )
        },
        Attr {
            mutability: "immutable",
            canonical: directory.map(Catalog::account_slugs).unwrap_or_default(),
            ..Attr::text(
                "account",
                "The slug of the account or sub-account the user belongs to, within the token's: the token's own on create when absent; fixed once made",
            )
        },
    ];
    let group = vec![
        Attr {
            required: true,
            uniqueness: "server",
            ..Attr::text("displayName", "The role's name, unique in the tenant without regard to case")
        },
        multi(
            "members",
            "The users holding the role; adding and removing one assigns and takes the role (R3, R4, R24)",
            "readWrite",
            vec![
                Attr { required: true, mutability: "immutable", ..Attr::text("value", "The user's id") },
                Attr {
                    kind: "reference",
                    mutability: "immutable",
                    references: vec!["User"],
                    ..Attr::text("$ref", "The user")
                },
                Attr {
                    mutability: "immutable",
                    canonical: vec!["User".into()],
                    ..Attr::text("type", "Always User")
                },
            ],
        ),
    ];
    vec![
        schema_json(USER_SCHEMA, "User", "User account", core, base),
        schema_json(GROUP_SCHEMA, "Group", "A role of the tenant", group, base),
        schema_json(ENTERPRISE, "EnterpriseUser", "Enterprise user", enterprise, base),
        schema_json(USHER, "UsherUser", "usher's user attributes", usher, base),
    ]
}
