//! Two `usher serve` processes on one PostgreSQL database (R1, R11): 200 concurrent
//! invitation acceptances for 10 seats, split across both, leave exactly 10 users, and admin
//! creations racing them on both instances find no seat.

use std::collections::BTreeMap;
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::json;
use usher_e2e::{Db, Server};

const SEATS: usize = 10;
const ACCEPTANCES: usize = 200;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn r1_r11_two_instances_accept_exactly_as_many_invitations_as_seats() {
    let Some(db) = Db::postgres().await else {
        return;
    };
    let first = Arc::new(Server::start(&db).await);
    let second = Arc::new(Server::start(&db).await);
    let tenant = first.tenant("acme", u32::try_from(SEATS).unwrap()).await;
    let emails: Vec<String> = (0..SEATS).map(|n| format!("invitee{n}@acme.example.com")).collect();
    let invite = json!({"emails": emails, "user_type": tenant.user_type, "roles": [tenant.user_role]});
    let (status, outcomes) =
        first.post(&format!("/v1/accounts/{}/invitations", tenant.account), &tenant.token, invite).await;
    assert_eq!(status, StatusCode::OK, "{outcomes}");
    assert_eq!(outcomes["counts"]["invited"], SEATS);
    let mut tokens = Vec::new();
    for email in &emails {
        let mailed: Vec<String> =
            db.mails_to(email, "You are invited").await.iter().filter_map(|mail| mail.token()).collect();
        assert_eq!(mailed.len(), 1, "one invitation mail for {email}");
        tokens.extend(mailed);
    }
    let second_token = second.login("acme", "admin@acme.example.com", usher_e2e::TENANT_PASSWORD).await;

    let mut racers = tokio::task::JoinSet::new();
    for n in 0..ACCEPTANCES {
        let server = if n % 2 == 0 { first.clone() } else { second.clone() };
        let token = tokens[n % SEATS].clone();
        racers.spawn(async move {
            let body = json!({"token": token, "password": "an invitee's passphrase"});
            let (status, answer) =
                server.call(Method::POST, "/v1/invitations/accept", None, Some(body)).await;
            (status, answer["code"].as_str().unwrap_or("created").to_owned())
        });
    }
    // Administrators on both instances try to take seats of the same type meanwhile.
    for n in 0..20 {
        let (server, token) = if n % 2 == 0 {
            (first.clone(), tenant.token.clone())
        } else {
            (second.clone(), second_token.clone())
        };
        let path = format!("/v1/accounts/{}/users", tenant.account);
        let body = json!({"email": format!("walkin{n}@acme.example.com"), "user_type": tenant.user_type, "roles": [tenant.user_role]});
        racers.spawn(async move {
            let (status, answer) = server.post(&path, &token, body).await;
            (status, answer["code"].as_str().unwrap_or("created").to_owned())
        });
    }
    let mut tally: BTreeMap<(u16, String), usize> = BTreeMap::new();
    while let Some(result) = racers.join_next().await {
        let (status, code) = result.expect("racer");
        *tally.entry((status.as_u16(), code)).or_default() += 1;
    }
    let expected = BTreeMap::from([
        ((201, "created".to_owned()), SEATS),
        ((410, "link_used".to_owned()), ACCEPTANCES - SEATS),
        ((409, "no_seat_available".to_owned()), 20),
    ]);
    assert_eq!(tally, expected);

    let (_, users) = second
        .get(
            &format!("/v1/accounts/{}/users?user_type={}&limit=200", tenant.account, tenant.user_type),
            &second_token,
        )
        .await;
    assert_eq!(users["items"].as_array().unwrap().len(), SEATS, "{users}");
    let (_, seats) = first.get(&format!("/v1/accounts/{}/subscription", tenant.account), &tenant.token).await;
    let line = seats["items"].as_array().unwrap().iter().find(|l| l["key"] == "user").unwrap().clone();
    assert_eq!(
        (line["used"].as_u64(), line["reserved"].as_u64(), line["total"].as_u64()),
        (Some(10), Some(0), Some(10))
    );

    drop(first);
    drop(second);
    db.drop_database().await;
}
