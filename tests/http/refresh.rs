//! The refresh-token grant: issued only when asked for and allowed, rotated on every use with the
//! user's live claims, switching organizations, revoking the whole line when a replaced token
//! comes back, and revocable by its client.

use eventstore::LogQuery;
use eventstore::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use tenancy_tests::{TestApp, json_of};

use crate::login::{API, Scene, login, scene, verified};
use crate::users::urlencode;

eventstore::backend_tests!(
    a_refresh_token_is_issued_only_when_offline_access_is_asked_for_and_allowed,
    a_refresh_rotates_the_token_and_only_hashes_reach_the_log,
    a_refresh_switches_the_organization_and_later_refreshes_keep_it,
    a_replaced_refresh_token_presented_again_revokes_the_whole_line,
    a_refresh_reads_the_users_claims_now_and_refuses_blocked_users_other_clients_and_wider_scopes,
    a_client_revokes_its_refresh_token,
);

fn offline_app() -> Value {
    json!({ "name": "Web", "app_type": "regular_web", "grant_types": ["password", "refresh_token"] })
}

/// The scene of the login tests, with an API that allows offline access.
async fn offline_scene(app: &TestApp) -> Scene {
    let scene = scene(app, offline_app()).await;
    allow_offline_access(app, true).await;
    scene
}

async fn allow_offline_access(app: &TestApp, allow: bool) {
    let apis = json_of(app.api(Method::GET, "/resource-servers", None).await, 200).await;
    let api = apis.as_array().unwrap().iter().find(|api| api["identifier"] == API).unwrap();
    let path = format!("/resource-servers/{}", api["id"].as_str().unwrap());
    let body = json!({ "allow_offline_access": allow });
    json_of(app.api(Method::PATCH, &path, Some(body)).await, 200).await;
}

async fn offline_login(app: &TestApp, scene: &Scene) -> String {
    let answer =
        json_of(login(app, scene, json!({ "scope": "openid offline_access read write admin" })).await, 200).await;
    answer["refresh_token"].as_str().expect("a refresh token").to_owned()
}

async fn refresh(app: &TestApp, scene: &Scene, token: &str, extra: Value) -> reqwest::Response {
    let mut body = json!({
        "grant_type": "refresh_token",
        "refresh_token": token,
        "client_id": scene.client_id,
        "client_secret": scene.client_secret,
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    app.client.post(app.url("/oauth/token")).json(&body).send().await.unwrap()
}

async fn a_refresh_token_is_issued_only_when_offline_access_is_asked_for_and_allowed(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let scene = scene(&app, offline_app()).await;
    let asked = json!({ "scope": "openid offline_access read" });
    let answer = json_of(login(&app, &scene, asked.clone()).await, 200).await;
    assert!(answer.get("refresh_token").is_none(), "the API does not allow offline access");
    assert_eq!(answer["scope"], "openid read");

    allow_offline_access(&app, true).await;
    let answer = json_of(login(&app, &scene, json!({ "scope": "openid read" })).await, 200).await;
    assert!(answer.get("refresh_token").is_none(), "offline_access not asked for");
    let answer = json_of(login(&app, &scene, asked.clone()).await, 200).await;
    assert!(answer["refresh_token"].is_string());
    assert_eq!(answer["scope"], "openid offline_access read");

    let password_only = json!({ "name": "Password only", "app_type": "regular_web", "grant_types": ["password"] });
    let client = json_of(app.api(Method::POST, "/clients", Some(password_only)).await, 201).await;
    let without_grant = Scene {
        client_id: client["client_id"].as_str().unwrap().to_owned(),
        client_secret: client["client_secret"].as_str().unwrap().to_owned(),
        ..scene
    };
    let answer = json_of(login(&app, &without_grant, asked).await, 200).await;
    assert!(answer.get("refresh_token").is_none(), "the client may not use the refresh_token grant");
}

async fn a_refresh_rotates_the_token_and_only_hashes_reach_the_log(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let scene = offline_scene(&app).await;
    let first = offline_login(&app, &scene).await;
    let answer = json_of(refresh(&app, &scene, &first, json!({})).await, 200).await;
    let second = answer["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first, "rotated");
    assert_eq!(answer["scope"], "openid offline_access read admin", "write is held in acme only");
    let claims = verified(&app, answer["access_token"].as_str().unwrap(), API).await;
    assert_eq!(
        (claims["sub"].as_str(), claims["azp"].as_str()),
        (Some(scene.user_id.as_str()), Some(scene.client_id.as_str()))
    );
    assert_eq!(claims["permissions"], json!(["admin", "read"]));
    assert_eq!(claims["gty"], "refresh_token");
    let id_token = verified(&app, answer["id_token"].as_str().unwrap(), &scene.client_id).await;
    assert_eq!(id_token["sub"], scene.user_id.as_str());
    let third = json_of(refresh(&app, &scene, &second, json!({ "scope": "read" })).await, 200).await;
    assert_eq!(third["scope"], "read", "a refresh may narrow the scope");
    assert!(third.get("id_token").is_none());

    let query = LogQuery::after(0).types(["refresh_token.issued", "refresh_token.rotated"]);
    let events = app.state.db.store.read(&query).await.unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["refresh_token.issued", "refresh_token.rotated", "refresh_token.rotated"]);
    let id = first.split_once('.').unwrap().0;
    assert_eq!(events[0].stream_id, format!("refresh_token:control_plane:{id}"));
    let login = LogQuery::after(0).types(["auth.login_succeeded"]);
    let logins = app.state.db.store.read(&login).await.unwrap();
    assert_eq!(logins.last().unwrap().position, events[0].position - 1, "issued in the login's own append");
    for event in &events {
        let payload = event.payload.to_string();
        for token in [&first, &second] {
            assert!(!payload.contains(token.split_once('.').unwrap().1), "no token in the log: {payload}");
        }
    }
}

async fn a_refresh_switches_the_organization_and_later_refreshes_keep_it(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let scene = offline_scene(&app).await;
    let token = offline_login(&app, &scene).await;
    let answer = json_of(refresh(&app, &scene, &token, json!({ "organization": "acme" })).await, 200).await;
    let claims = verified(&app, answer["access_token"].as_str().unwrap(), API).await;
    assert_eq!(claims["org_id"], scene.org_id.as_str());
    assert_eq!(claims["roles"], json!(["writer"]));
    assert_eq!(claims["permissions"], json!(["admin", "write"]));
    let id_token = verified(&app, answer["id_token"].as_str().unwrap(), &scene.client_id).await;
    assert_eq!(id_token["org_id"], scene.org_id.as_str());

    let token = answer["refresh_token"].as_str().unwrap().to_owned();
    let answer = json_of(refresh(&app, &scene, &token, json!({})).await, 200).await;
    let claims = verified(&app, answer["access_token"].as_str().unwrap(), API).await;
    assert_eq!(claims["org_id"], scene.org_id.as_str(), "the switch stays");

    json_of(app.api(Method::POST, "/organizations", Some(json!({ "name": "other" }))).await, 201).await;
    let token = answer["refresh_token"].as_str().unwrap().to_owned();
    let head = app.head().await;
    let refused = json_of(refresh(&app, &scene, &token, json!({ "organization": "other" })).await, 403).await;
    assert_eq!(refused["error"], "access_denied");
    assert_eq!(app.head().await, head, "a refused switch appends nothing");
    json_of(refresh(&app, &scene, &token, json!({})).await, 200).await;
}

async fn a_replaced_refresh_token_presented_again_revokes_the_whole_line(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let scene = offline_scene(&app).await;
    let first = offline_login(&app, &scene).await;
    let answer = json_of(refresh(&app, &scene, &first, json!({})).await, 200).await;
    let second = answer["refresh_token"].as_str().unwrap().to_owned();

    let reused = json_of(refresh(&app, &scene, &first, json!({})).await, 403).await;
    assert_eq!(reused["error"], "invalid_grant");
    let revoked = json_of(refresh(&app, &scene, &second, json!({})).await, 403).await;
    assert_eq!(revoked["error"], "invalid_grant", "the successor dies with it");

    let query = LogQuery::after(0).types(["refresh_token.revoked"]);
    let events = app.state.db.store.read(&query).await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].payload["reason"], "reuse_detected");
    assert_eq!(events[0].payload["user_id"], scene.user_id.as_str());

    // Presented five times at once: exactly one request swaps it; the others find it replaced.
    let token = offline_login(&app, &scene).await;
    let racing = (0..5).map(|_| refresh(&app, &scene, &token, json!({})));
    let statuses: Vec<u16> = futures::future::join_all(racing).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert!(statuses.iter().all(|s| matches!(s, 200 | 403)), "{statuses:?}");

    for garbage in ["", "nodot", "unknown.token"] {
        let refused = refresh(&app, &scene, garbage, json!({})).await;
        assert!(matches!(refused.status().as_u16(), 400 | 403), "{garbage:?}: {}", refused.status());
    }
}

async fn a_refresh_reads_the_users_claims_now_and_refuses_blocked_users_other_clients_and_wider_scopes(
    db: TestDatabase,
) {
    let app = TestApp::start(db).await;
    let scene = offline_scene(&app).await;
    let token = offline_login(&app, &scene).await;
    let user = urlencode(&scene.user_id);
    let direct = json!({ "permissions": [{ "resource_server_identifier": API, "permission_name": "admin" }] });
    assert_eq!(app.api(Method::DELETE, &format!("/users/{user}/permissions"), Some(direct)).await.status(), 204);
    let answer = json_of(refresh(&app, &scene, &token, json!({})).await, 200).await;
    let claims = verified(&app, answer["access_token"].as_str().unwrap(), API).await;
    assert_eq!(claims["permissions"], json!(["read"]), "the removed permission is gone at the next refresh");
    assert_eq!(answer["scope"], "openid offline_access read");
    let token = answer["refresh_token"].as_str().unwrap().to_owned();

    let wider = json_of(refresh(&app, &scene, &token, json!({ "scope": "read delete" })).await, 403).await;
    assert_eq!(wider["error"], "invalid_scope");

    let other = json_of(app.api(Method::POST, "/clients", Some(offline_app())).await, 201).await;
    let thief = Scene {
        client_id: other["client_id"].as_str().unwrap().to_owned(),
        client_secret: other["client_secret"].as_str().unwrap().to_owned(),
        user_id: scene.user_id.clone(),
        org_id: scene.org_id.clone(),
    };
    let stolen = json_of(refresh(&app, &thief, &token, json!({})).await, 403).await;
    assert_eq!(stolen["error"], "invalid_grant");

    let blocked = json!({ "blocked": true });
    json_of(app.api(Method::PATCH, &format!("/users/{user}"), Some(blocked)).await, 200).await;
    let refused = json_of(refresh(&app, &scene, &token, json!({})).await, 401).await;
    assert_eq!(refused["error_description"], "user is blocked");
}

async fn a_client_revokes_its_refresh_token(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let scene = offline_scene(&app).await;
    let token = offline_login(&app, &scene).await;
    let revoke = |token: String| {
        let body = json!({ "token": token, "client_id": scene.client_id, "client_secret": scene.client_secret });
        app.client.post(app.url("/oauth/revoke")).json(&body).send()
    };
    assert_eq!(revoke("unknown.token".into()).await.unwrap().status(), 200, "RFC 7009: unknown tokens too");
    assert_eq!(revoke(token.clone()).await.unwrap().status(), 200);
    let refused = json_of(refresh(&app, &scene, &token, json!({})).await, 403).await;
    assert_eq!(refused["error"], "invalid_grant");
    let discovery = json_of(app.get("/.well-known/openid-configuration").await, 200).await;
    assert_eq!(discovery["revocation_endpoint"], app.url("/oauth/revoke"));
}
