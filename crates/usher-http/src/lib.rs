//! HTTP adapter (poem-openapi `/v1` API, SCIM, hosted pages): empty until the server issue fills it.
