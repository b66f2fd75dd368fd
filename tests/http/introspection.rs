//! `POST /oauth/introspect` and `/userinfo`: what a token means now, from the live claims.

use eventstore::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use tenancy_tests::{CLIENT_ID, TestApp, json_of};

use crate::login::{API, Scene, login, scene, web_app};
use crate::users::urlencode;

eventstore::backend_tests!(
    introspection_reflects_a_role_removal_and_a_block_at_once,
    introspection_needs_a_confidential_client_and_knows_only_this_tenants_tokens,
    userinfo_answers_the_users_claims_for_a_user_token_only,
    a_machine_tokens_introspection_follows_its_clients_grant,
);

async fn introspect(app: &TestApp, scene: &Scene, token: &str) -> Value {
    let body = json!({ "token": token, "client_id": scene.client_id, "client_secret": scene.client_secret });
    json_of(app.client.post(app.url("/oauth/introspect")).json(&body).send().await.unwrap(), 200).await
}

async fn user_token(app: &TestApp, scene: &Scene) -> String {
    let answer = json_of(login(app, scene, json!({ "scope": "openid read admin" })).await, 200).await;
    answer["access_token"].as_str().unwrap().to_owned()
}

async fn introspection_reflects_a_role_removal_and_a_block_at_once(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let scene = scene(&app, web_app()).await;
    let token = user_token(&app, &scene).await;
    let answer = introspect(&app, &scene, &token).await;
    assert_eq!(answer["active"], true);
    assert_eq!((answer["sub"].as_str(), answer["aud"].as_str()), (Some(scene.user_id.as_str()), Some(API)));
    assert_eq!(answer["permissions"], json!(["admin", "read"]));
    assert_eq!(answer["roles"], json!(["reader"]));
    assert_eq!(answer["scope"], "openid read admin");

    let user = urlencode(&scene.user_id);
    let roles = json_of(app.api(Method::GET, &format!("/users/{user}/roles"), None).await, 200).await;
    let removed = json!({ "roles": [roles[0]["id"]] });
    assert_eq!(app.api(Method::DELETE, &format!("/users/{user}/roles"), Some(removed)).await.status(), 204);
    let answer = introspect(&app, &scene, &token).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["permissions"], json!(["admin"]), "the role's permission is gone at once");
    assert!(answer.get("roles").is_none());
    assert_eq!(answer["scope"], "openid admin");

    json_of(app.api(Method::PATCH, &format!("/users/{user}"), Some(json!({ "blocked": true }))).await, 200).await;
    assert_eq!(introspect(&app, &scene, &token).await, json!({ "active": false }), "a blocked user's token");
}

async fn introspection_needs_a_confidential_client_and_knows_only_this_tenants_tokens(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let scene = scene(&app, web_app()).await;
    let token = user_token(&app, &scene).await;
    let anonymous =
        app.client.post(app.url("/oauth/introspect")).json(&json!({ "token": token })).send().await.unwrap();
    assert_eq!(json_of(anonymous, 400).await["error"], "invalid_request");
    let wrong = json!({ "token": token, "client_id": scene.client_id, "client_secret": "wrong" });
    let wrong = app.client.post(app.url("/oauth/introspect")).json(&wrong).send().await.unwrap();
    assert_eq!(json_of(wrong, 401).await["error"], "invalid_client");

    for garbage in ["garbage", "a.b.c", &token[..token.len() - 5]] {
        assert_eq!(introspect(&app, &scene, garbage).await, json!({ "active": false }), "{garbage}");
    }
    // A machine token is active with the scopes it was granted.
    let machine = app.token().await;
    let answer = introspect(&app, &scene, &machine).await;
    assert_eq!((answer["active"].as_bool(), answer["client_id"].as_str()), (Some(true), Some(CLIENT_ID)));
    // Another tenant's token, however well signed, is not this tenant's.
    json_of(app.api(Method::POST, "/tenants", Some(json!({ "id": "elsewhere" }))).await, 201).await;
    let elsewhere = app.state.keys.for_tenant(&domain::TenantId::parse("elsewhere").unwrap()).await.unwrap();
    let mut claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    claims["tenant_id"] = json!("elsewhere");
    let (kid, signer) = elsewhere.signer(api::auth::signer::KeyAlg::Rs256).unwrap();
    let foreign = signer.jwt(kid, &claims).unwrap();
    assert_eq!(introspect(&app, &scene, &foreign).await, json!({ "active": false }));
}

async fn userinfo_answers_the_users_claims_for_a_user_token_only(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let scene = scene(&app, web_app()).await;
    let token = user_token(&app, &scene).await;
    let info = json_of(app.client.get(app.url("/userinfo")).bearer_auth(&token).send().await.unwrap(), 200).await;
    assert_eq!(info["sub"], scene.user_id.as_str());
    assert_eq!(info["email"], "ann@example.com");
    assert_eq!(info["email_verified"], false);

    let machine = app.client.get(app.url("/userinfo")).bearer_auth(app.token().await).send().await.unwrap();
    assert_eq!(machine.status(), 401, "a machine token has no user");
    let missing = app.client.get(app.url("/userinfo")).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    assert!(missing.headers()["www-authenticate"].to_str().unwrap().starts_with("Bearer error=\"invalid_token\""));
    let discovery = json_of(app.get("/.well-known/openid-configuration").await, 200).await;
    assert_eq!(discovery["userinfo_endpoint"], app.url("/userinfo"));
    assert_eq!(discovery["introspection_endpoint"], app.url("/oauth/introspect"));
}

async fn a_machine_tokens_introspection_follows_its_clients_grant(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let scene = scene(&app, web_app()).await;
    let machine = json!({ "name": "Worker", "app_type": "non_interactive", "grant_types": ["client_credentials"] });
    let worker = json_of(app.api(Method::POST, "/clients", Some(machine)).await, 201).await;
    let grant = json!({ "client_id": worker["client_id"], "audience": API, "scope": ["read", "write"] });
    let grant = json_of(app.api(Method::POST, "/client-grants", Some(grant)).await, 201).await;
    let body = json!({ "grant_type": "client_credentials", "client_id": worker["client_id"], "client_secret": worker["client_secret"], "audience": API });
    let answer = json_of(app.client.post(app.url("/oauth/token")).json(&body).send().await.unwrap(), 200).await;
    let token = answer["access_token"].as_str().unwrap();
    assert_eq!(introspect(&app, &scene, token).await["scope"], "read write");

    let path = format!("/client-grants/{}", grant["id"].as_str().unwrap());
    json_of(app.api(Method::PATCH, &path, Some(json!({ "scope": ["read"] }))).await, 200).await;
    let answer = introspect(&app, &scene, token).await;
    assert_eq!((answer["scope"].as_str(), answer["permissions"].clone()), (Some("read"), json!(["read"])));
    assert_eq!(app.api(Method::DELETE, &path, None).await.status(), 204);
    assert_eq!(introspect(&app, &scene, token).await, json!({ "active": false }), "the grant is gone");
}
