//! Contacts over HTTP (R17): search by name or email, edit under `If-Match`, and delete until
//! a user is made from one.

use reqwest::{Method, StatusCode};
use serde_json::json;
use usher_e2e::{Db, Server, id};

async fn contacts_are_searched_edited_and_deleted(server: Server, db: Db) -> Db {
    let acme = server.tenant("acme", 5).await;
    let path = format!("/v1/accounts/{}/contacts", acme.account);
    let person = |first: &str, last: &str, email: &str| json!({"kind": "person", "first_name": first, "last_name": last, "email": email});
    let (status, grace) =
        server.post(&path, &acme.token, person("Grace", "Hopper", "grace@example.com")).await;
    assert_eq!(status, StatusCode::CREATED, "{grace}");
    let (_, ada) = server.post(&path, &acme.token, person("Ada", "Lovelace", "ada@example.com")).await;
    let (grace, ada) = (id(&grace), id(&ada));

    let (status, page) = server.get(&format!("{path}?q=lovel"), &acme.token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["items"].as_array().map(Vec::len), Some(1), "{page}");
    assert_eq!(page["items"][0]["id"], ada.as_str());

    let (status, headers, _) = server
        .call_with_headers(Method::GET, &format!("/v1/contacts/{grace}"), Some(&acme.token), None, &[])
        .await;
    assert_eq!(status, StatusCode::OK);
    let etag = headers.get("etag").unwrap().to_str().unwrap().to_owned();
    let rename = json!({"first_name": "Amazing Grace", "email": null});
    let (status, _, edited) = server
        .call_with_headers(
            Method::PATCH,
            &format!("/v1/contacts/{grace}"),
            Some(&acme.token),
            Some(rename.clone()),
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(
        (edited["first_name"].clone(), edited["email"].clone()),
        (json!("Amazing Grace"), json!(null))
    );
    let (status, _, stale) = server
        .call_with_headers(
            Method::PATCH,
            &format!("/v1/contacts/{grace}"),
            Some(&acme.token),
            Some(rename),
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{stale}");

    let (status, user) = server.post(&format!("/v1/contacts/{ada}/user"), &acme.token, json!({})).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, user) = server.get(&format!("/v1/users/{}", id(&user)), &acme.token).await;
    assert_eq!((user["contact_id"].clone(), user["contact_kind"].clone()), (json!(ada), json!("person")));
    let (status, problem) = server.delete(&format!("/v1/contacts/{ada}"), &acme.token).await;
    assert_eq!((status, problem["code"].clone()), (StatusCode::CONFLICT, json!("contact_has_user")));
    let (status, _) = server.delete(&format!("/v1/contacts/{grace}"), &acme.token).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server.get(&format!("/v1/contacts/{grace}"), &acme.token).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    db
}

#[tokio::test]
async fn r17_contacts_are_searched_edited_and_deleted_on_sqlite() {
    usher_e2e::on_sqlite(contacts_are_searched_edited_and_deleted).await;
}

#[tokio::test]
async fn r17_contacts_are_searched_edited_and_deleted_on_postgres() {
    usher_e2e::on_postgres(contacts_are_searched_edited_and_deleted).await;
}
