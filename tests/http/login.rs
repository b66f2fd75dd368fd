//! The password grant: tokens with the user's claims (in an organization too), verified with
//! the JWKS; wrong credentials, blocked users and brute force refused; every attempt in the log.

use eventstore::LogQuery;
use eventstore::testing::TestDatabase;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Method;
use serde_json::{Value, json};
use tenancy_tests::{TestApp, json_of};

use crate::roles::create_api;
use crate::users::{create_user, id_of, urlencode};

eventstore::backend_tests!(
    a_password_token_carries_the_users_claims_and_verifies_with_the_jwks,
    an_organization_token_carries_the_member_roles_and_refuses_non_members,
    wrong_credentials_and_blocked_users_are_refused_and_every_attempt_is_recorded,
    repeated_failures_are_throttled_with_retry_after,
    a_public_client_logs_users_in_without_a_secret_but_gets_no_machine_token,
);

pub(crate) const API: &str = "https://api.example/";
const PASSWORD: &str = "correct horse battery";

pub(crate) struct Scene {
    pub client_id: String,
    pub client_secret: String,
    pub user_id: String,
    pub org_id: String,
}

/// Ann (direct `admin`, tenant role `reader` with `read`; in `acme`, member role `writer` with
/// `write`) and a regular web app allowed the password grant.
pub(crate) async fn scene(app: &TestApp, client: Value) -> Scene {
    create_api(app, API, &["read", "write", "admin"]).await;
    let role = |name: &'static str, scope: &'static str| async move {
        let role = json_of(app.api(Method::POST, "/roles", Some(json!({ "name": name }))).await, 200).await;
        let id = role["id"].as_str().unwrap().to_owned();
        let body = json!({ "permissions": [{ "resource_server_identifier": API, "permission_name": scope }] });
        assert_eq!(app.api(Method::POST, &format!("/roles/{id}/permissions"), Some(body)).await.status(), 201);
        id
    };
    let (reader, writer) = (role("reader", "read").await, role("writer", "write").await);
    let user_id = id_of(&create_user(app, "ann@example.com").await);
    let user = urlencode(&user_id);
    let direct = json!({ "permissions": [{ "resource_server_identifier": API, "permission_name": "admin" }] });
    assert_eq!(app.api(Method::POST, &format!("/users/{user}/permissions"), Some(direct)).await.status(), 201);
    assert_eq!(
        app.api(Method::POST, &format!("/users/{user}/roles"), Some(json!({ "roles": [reader] }))).await.status(),
        204
    );
    let org = json_of(app.api(Method::POST, "/organizations", Some(json!({ "name": "acme" }))).await, 201).await;
    let org_id = org["id"].as_str().unwrap().to_owned();
    let members = format!("/organizations/{org_id}/members");
    assert_eq!(app.api(Method::POST, &members, Some(json!({ "members": [user_id] }))).await.status(), 204);
    let roles = json!({ "roles": [writer] });
    assert_eq!(app.api(Method::POST, &format!("{members}/{user}/roles"), Some(roles)).await.status(), 204);
    let client = json_of(app.api(Method::POST, "/clients", Some(client)).await, 201).await;
    Scene {
        client_id: client["client_id"].as_str().unwrap().to_owned(),
        client_secret: client["client_secret"].as_str().unwrap_or_default().to_owned(),
        user_id,
        org_id,
    }
}

pub(crate) fn web_app() -> Value {
    json!({ "name": "Web", "app_type": "regular_web", "grant_types": ["password"] })
}

pub(crate) async fn login(app: &TestApp, scene: &Scene, extra: Value) -> reqwest::Response {
    let mut body = json!({
        "grant_type": "password",
        "username": "ann@example.com",
        "password": PASSWORD,
        "client_id": scene.client_id,
        "client_secret": scene.client_secret,
        "audience": API,
    });
    for (key, value) in extra.as_object().unwrap() {
        body[key] = value.clone();
    }
    app.client.post(app.url("/oauth/token")).header("user-agent", "login-test/1").json(&body).send().await.unwrap()
}

/// Verifies `token` with the served JWKS, issuer and `audience`, and returns its claims.
pub(crate) async fn verified(app: &TestApp, token: &str, audience: &str) -> Value {
    let jwks = json_of(app.get("/.well-known/jwks.json").await, 200).await;
    let kid = jsonwebtoken::decode_header(token).unwrap().kid.unwrap();
    let jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid.as_str()).unwrap();
    let key = DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[app.url("/")]);
    jsonwebtoken::decode::<Value>(token, &key, &validation).unwrap().claims
}

async fn a_password_token_carries_the_users_claims_and_verifies_with_the_jwks(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let scene = scene(&app, web_app()).await;
    let answer = json_of(login(&app, &scene, json!({ "scope": "openid read admin delete" })).await, 200).await;
    assert_eq!(answer["scope"], "openid read admin");
    let claims = verified(&app, answer["access_token"].as_str().unwrap(), API).await;
    assert_eq!(claims["sub"], scene.user_id.as_str());
    assert_eq!(claims["azp"], scene.client_id.as_str());
    assert_eq!(claims["tenant_id"], "control_plane");
    assert_eq!(claims["permissions"], json!(["admin", "read"]));
    assert_eq!(claims["roles"], json!(["reader"]));
    assert!(claims["exp"].as_i64().unwrap() > claims["iat"].as_i64().unwrap());
    assert!(claims.get("org_id").is_none());
    let id_token = verified(&app, answer["id_token"].as_str().unwrap(), &scene.client_id).await;
    assert_eq!(id_token["sub"], scene.user_id.as_str());
    // The token endpoint answers once the login is in the log; the users model follows it.
    app.state.projections.wait_for(app.head().await, std::time::Duration::from_secs(5)).await.unwrap();
    let user = json_of(app.api(Method::GET, &format!("/users/{}", urlencode(&scene.user_id)), None).await, 200).await;
    assert_eq!(user["logins_count"], 1);
    assert!(user["last_login"].is_string());

    let form = format!(
        "grant_type=password&username=ann%40example.com&password=correct+horse+battery&client_id={}&client_secret={}&audience=https%3A%2F%2Fapi.example%2F",
        scene.client_id, scene.client_secret
    );
    let request = app.client.post(app.url("/oauth/token")).header("content-type", "application/x-www-form-urlencoded");
    let answer = json_of(request.body(form).send().await.unwrap(), 200).await;
    assert!(answer.get("id_token").is_none(), "no openid, no id_token");
    assert_eq!(answer["scope"], "admin read");
}

async fn an_organization_token_carries_the_member_roles_and_refuses_non_members(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let scene = scene(&app, web_app()).await;
    let answer = json_of(login(&app, &scene, json!({ "organization": "acme" })).await, 200).await;
    let claims = verified(&app, answer["access_token"].as_str().unwrap(), API).await;
    assert_eq!(claims["org_id"], scene.org_id.as_str());
    assert_eq!(claims["roles"], json!(["writer"]));
    assert_eq!(claims["permissions"], json!(["admin", "write"]));
    assert!(claims.get("org_name").is_none(), "org_name only with the tenant setting");

    let setting = json!({ "allow_organization_name_in_authentication_api": true });
    json_of(app.api(Method::PATCH, "/tenants/settings", Some(setting)).await, 200).await;
    let answer = json_of(login(&app, &scene, json!({ "organization": scene.org_id })).await, 200).await;
    let claims = verified(&app, answer["access_token"].as_str().unwrap(), API).await;
    assert_eq!(claims["org_name"], "acme");

    json_of(app.api(Method::POST, "/organizations", Some(json!({ "name": "other" }))).await, 201).await;
    let refused = json_of(login(&app, &scene, json!({ "organization": "other" })).await, 403).await;
    assert_eq!(refused["error"], "access_denied");
    let refused = json_of(login(&app, &scene, json!({ "audience": "https://nowhere/" })).await, 403).await;
    assert_eq!(refused["error"], "access_denied");
}

async fn wrong_credentials_and_blocked_users_are_refused_and_every_attempt_is_recorded(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let scene = scene(&app, web_app()).await;
    let wrong = json_of(login(&app, &scene, json!({ "password": "wrong horse" })).await, 403).await;
    assert_eq!(
        (wrong["error"].as_str(), wrong["error_description"].as_str()),
        (Some("invalid_grant"), Some("Wrong email or password."))
    );
    let unknown = json_of(login(&app, &scene, json!({ "username": "nobody@example.com" })).await, 403).await;
    assert_eq!(unknown, wrong, "an unknown user is answered like a wrong password");
    json_of(login(&app, &scene, json!({})).await, 200).await;
    let blocked = json!({ "blocked": true });
    json_of(app.api(Method::PATCH, &format!("/users/{}", urlencode(&scene.user_id)), Some(blocked)).await, 200).await;
    let refused = json_of(login(&app, &scene, json!({})).await, 401).await;
    assert_eq!(
        (refused["error"].as_str(), refused["error_description"].as_str()),
        (Some("unauthorized"), Some("user is blocked"))
    );

    let query = LogQuery::after(0).types(["auth.login_succeeded", "auth.login_failed"]);
    let events = app.state.db.store.read(&query).await.unwrap();
    let seen: Vec<(&str, Value)> = events
        .iter()
        .map(|e| (e.event_type.as_str(), e.payload.get("reason").cloned().unwrap_or(Value::Null)))
        .collect();
    assert_eq!(
        seen,
        [
            ("auth.login_failed", json!("wrong_password")),
            ("auth.login_failed", json!("unknown_user")),
            ("auth.login_succeeded", Value::Null),
            ("auth.login_failed", json!("blocked")),
        ]
    );
    assert_eq!(events[0].stream_id, format!("login:control_plane:{}", scene.user_id));
    for event in &events {
        let payload = event.payload.to_string();
        assert!(!payload.contains("127.0.0.1") && !payload.contains("login-test/1"), "sealed: {payload}");
        assert!(event.payload["ip"].is_string() && event.payload["user_agent"].is_string());
    }
}

async fn repeated_failures_are_throttled_with_retry_after(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let scene = scene(&app, web_app()).await;
    for _ in 0..api::auth::throttle::FAILURES_PER_USER {
        json_of(login(&app, &scene, json!({ "password": "guess" })).await, 403).await;
    }
    let head = app.head().await;
    let throttled = login(&app, &scene, json!({})).await;
    assert_eq!(throttled.status(), 429, "even the right password, once throttled");
    let retry_after: u64 = throttled.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry_after > 0 && retry_after <= api::auth::throttle::WINDOW.as_secs());
    assert_eq!(json_of(throttled, 429).await["error"], "too_many_attempts");
    assert_eq!(app.head().await, head, "a throttled attempt is not recorded");
}

async fn a_public_client_logs_users_in_without_a_secret_but_gets_no_machine_token(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let public = json!({ "name": "Native", "app_type": "native", "grant_types": ["password", "client_credentials"], "token_endpoint_auth_method": "none" });
    let scene = scene(&app, public).await;
    let answer = json_of(login(&app, &scene, json!({ "client_secret": null })).await, 200).await;
    assert!(answer["access_token"].is_string());
    let machine = json!({ "grant_type": "client_credentials", "client_id": scene.client_id, "audience": API });
    let refused = app.client.post(app.url("/oauth/token")).json(&machine).send().await.unwrap();
    assert_eq!(json_of(refused, 401).await["error"], "invalid_client");
    let web = json_of(app.api(Method::POST, "/clients", Some(web_app())).await, 201).await;
    let without_secret = json!({ "grant_type": "password", "username": "ann@example.com", "password": PASSWORD, "client_id": web["client_id"], "audience": API });
    let refused = app.client.post(app.url("/oauth/token")).json(&without_secret).send().await.unwrap();
    assert_eq!(json_of(refused, 401).await["error"], "invalid_client", "a confidential client must present its secret");
}
