//! What this SCIM service supports (RFC 7644 §4, RFC 7643 §5–§7), described exactly:
//! `ServiceProviderConfig`, `ResourceTypes` and `Schemas`. They are public, as the RFC
//! allows, so a client can discover them before it has a token.

use poem::http::StatusCode;
use poem::web::{Data, Path};
use poem::{Request, Response, handler};
use serde_json::{Value, json};

use super::{ENTERPRISE, ScimError, USER_SCHEMA, USHER, base_url, scim_json};
use crate::state::AppState;

const LIST: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
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
            {"schema": USHER, "required": false},
        ],
        "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
    })
}

#[handler]
pub(crate) fn resource_types(req: &Request, state: Data<&AppState>) -> Response {
    let types = vec![user_resource_type(&base_url(req, &state))];
    list(types)
}

#[handler]
pub(crate) fn resource_type(req: &Request, state: Data<&AppState>, Path(id): Path<String>) -> Response {
    if id == "User" {
        return scim_json(StatusCode::OK, &user_resource_type(&base_url(req, &state)));
    }
    not_found("resource type", &id)
}

#[handler]
pub(crate) fn schemas(req: &Request, state: Data<&AppState>) -> Response {
    list(all_schemas(&base_url(req, &state)))
}

#[handler]
pub(crate) fn schema(req: &Request, state: Data<&AppState>, Path(id): Path<String>) -> Response {
    match all_schemas(&base_url(req, &state)).into_iter().find(|s| s["id"] == json!(id)) {
        Some(found) => scim_json(StatusCode::OK, &found),
        None => not_found("schema", &id),
    }
}

fn not_found(what: &str, id: &str) -> Response {
    ScimError::new(StatusCode::NOT_FOUND, None, format!("{what} {id} not found")).into_response()
}

fn list(resources: Vec<Value>) -> Response {
    let body = json!({
        "schemas": [LIST],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    });
    scim_json(StatusCode::OK, &body)
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
        if !self.sub.is_empty()
            && let Value::Object(map) = &mut value
        {
            map.insert("subAttributes".into(), Value::Array(self.sub.iter().map(Attr::json).collect()));
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

fn all_schemas(base: &str) -> Vec<Value> {
    let typed = |description| {
        vec![
            Attr::text("value", description),
            Attr::text("type", "Always work"),
            Attr { kind: "boolean", ..Attr::text("primary", "Always true: usher keeps one") },
        ]
    };
    let core = vec![
        Attr {
            required: true,
            uniqueness: "server",
            ..Attr::text("userName", "The username, unique in the tenant without regard to case (R5)")
        },
        Attr {
            kind: "complex",
            sub: vec![
                Attr::text("givenName", "First name"),
                Attr::text("familyName", "Last name"),
                Attr { mutability: "readOnly", ..Attr::text("formatted", "First and last name") },
            ],
            ..Attr::text("name", "The user's name")
        },
        Attr {
            mutability: "readOnly",
            ..Attr::text("displayName", "First and last name, else the username")
        },
        Attr::text("locale", "Preferred locale, e.g. de-DE"),
        Attr {
            kind: "boolean",
            ..Attr::text(
                "active",
                "Enabled; false disables the user, frees its seat and ends its sessions (R8)",
            )
        },
        multi("emails", "The one email of the user, unique in the tenant", "readWrite", typed("The address")),
        multi("phoneNumbers", "The one phone number of the user", "readWrite", typed("The number")),
        multi(
            "groups",
            "The user's roles; change them through the role assignment API",
            "readOnly",
            vec![
                Attr { mutability: "readOnly", ..Attr::text("value", "The role's id") },
                Attr { mutability: "readOnly", ..Attr::text("display", "The role's name") },
                Attr { kind: "reference", mutability: "readOnly", ..Attr::text("$ref", "The role") },
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
        Attr::text(
            "userType",
            "The user type by key or name; the settings' default on create when absent (R1, R4)",
        ),
        Attr {
            mutability: "immutable",
            ..Attr::text("account", "The home account: a sub-account's slug on create; its id when read")
        },
        Attr { mutability: "readOnly", ..Attr::text("origin", "How the user came to exist") },
    ];
    vec![
        schema_json(USER_SCHEMA, "User", "User account", core, base),
        schema_json(ENTERPRISE, "EnterpriseUser", "Enterprise user", enterprise, base),
        schema_json(USHER, "UsherUser", "usher's user attributes", usher, base),
    ]
}
