//! Signing keys: rotation, revocation and the kid as a thumbprint; and every way a token can
//! be forged or broken, each refused with 401.

use api::auth::keys::TenantKeys;
use api::auth::signer::KeyAlg;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eventstore::testing::TestDatabase;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::Method;
use serde_json::{Value, json};
use tenancy_tests::{CLIENT_ID, CLIENT_SECRET, TestApp, error_of, json_of};

eventstore::backend_tests!(
    rotation_keeps_old_tokens_valid_until_their_key_is_revoked,
    the_current_key_and_unknown_keys_cannot_be_revoked,
    forged_expired_and_malformed_tokens_are_401,
    a_key_revoked_in_one_process_stops_verifying_in_another_and_the_log_records_it,
);

/// A fresh management token (not the harness's remembered one).
async fn new_token(app: &TestApp) -> String {
    let body = json!({
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "audience": app.audience(),
    });
    let response = app.client.post(app.url("/oauth/token")).json(&body).send().await.unwrap();
    json_of(response, 200).await["access_token"].as_str().unwrap().to_owned()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
}

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks = json_of(app.get("/.well-known/jwks.json").await, 200).await;
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

async fn rotation_keeps_old_tokens_valid_until_their_key_is_revoked(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let old_token = new_token(&app).await;
    let old_kid = kid_of(&old_token);

    let keys = json_of(app.api(Method::GET, "/keys/signing", None).await, 200).await;
    assert_eq!(keys.as_array().unwrap().len(), 1);
    assert_eq!(keys[0]["kid"], old_kid.as_str());
    assert_eq!(keys[0]["current"], true);
    assert_eq!(keys[0]["thumbprint"], old_kid.as_str(), "the kid is the RFC 7638 thumbprint");

    let rotated = json_of(app.api(Method::POST, "/keys/signing/rotate", None).await, 201).await;
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid);
    assert_eq!(jwks_kids(&app).await, [old_kid.clone(), new_kid.clone()], "both keys verify");
    let new_token = new_token(&app).await;
    assert_eq!(kid_of(&new_token), new_kid, "the new key signs");
    json_of(app.api_with(Method::GET, "/roles", None, &old_token).await, 200).await;
    json_of(app.api_with(Method::GET, "/roles", None, &new_token).await, 200).await;

    let keys = json_of(app.api_with(Method::GET, "/keys/signing", None, &new_token).await, 200).await;
    let (old, new) = (&keys[0], &keys[1]);
    assert_eq!(
        (old["kid"].as_str(), old["current"].as_bool(), old["previous"].as_bool()),
        (Some(&*old_kid), Some(false), Some(true))
    );
    assert_eq!((new["kid"].as_str(), new["current"].as_bool()), (Some(&*new_kid), Some(true)));
    assert_eq!(old["current_until"], new["current_since"]);

    let revoked = app.api_with(Method::PUT, &format!("/keys/signing/{old_kid}/revoke"), None, &new_token).await;
    assert_eq!(json_of(revoked, 200).await["kid"], old_kid.as_str());
    error_of(app.api_with(Method::GET, "/roles", None, &old_token).await, 401).await;
    json_of(app.api_with(Method::GET, "/roles", None, &new_token).await, 200).await;
    assert_eq!(jwks_kids(&app).await, [new_kid], "a revoked key leaves the JWKS");
    let old =
        json_of(app.api_with(Method::GET, &format!("/keys/signing/{old_kid}"), None, &new_token).await, 200).await;
    assert_eq!(old["revoked"], true);
    assert!(old["revoked_at"].is_string());
    // Revoking it again changes nothing.
    json_of(app.api_with(Method::PUT, &format!("/keys/signing/{old_kid}/revoke"), None, &new_token).await, 200).await;
}

async fn the_current_key_and_unknown_keys_cannot_be_revoked(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let kid = kid_of(&app.token().await);
    let message = error_of(app.api(Method::PUT, &format!("/keys/signing/{kid}/revoke"), None).await, 400).await;
    assert!(message.contains("current signing key cannot be revoked"), "{message}");
    error_of(app.api(Method::PUT, "/keys/signing/nope/revoke", None).await, 404).await;
    error_of(app.api(Method::GET, "/keys/signing/nope", None).await, 404).await;
    json_of(app.api(Method::GET, "/roles", None).await, 200).await;
}

fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

async fn forged_expired_and_malformed_tokens_are_401(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let valid = app.token().await;
    let kid = kid_of(&valid);
    let keys = app.state.keys.for_tenant(&domain::TenantId::control_plane()).await.unwrap();
    json_of(app.api(Method::POST, "/tenants", Some(json!({ "id": "elsewhere" }))).await, 201).await;
    let elsewhere = app.state.keys.for_tenant(&domain::TenantId::parse("elsewhere").unwrap()).await.unwrap();

    let now = chrono::Utc::now().timestamp();
    let claims = json!({
        "iss": app.url("/"),
        "sub": "attacker@clients",
        "aud": app.audience(),
        "iat": now,
        "exp": now + 3600,
        "azp": "attacker",
        "scope": "read:roles",
        "permissions": ["read:roles"],
        "tenant_id": "control_plane",
    });
    let with = |changes: Value| {
        let mut claims = claims.clone();
        for (name, value) in changes.as_object().unwrap() {
            claims[name] = value.clone();
        }
        claims
    };
    let rs256 =
        |kid: &str, keys: &TenantKeys, claims: &Value| keys.signer(KeyAlg::Rs256).unwrap().1.jwt(kid, claims).unwrap();
    let elsewhere_kid = elsewhere.signer(KeyAlg::Rs256).unwrap().0.to_owned();
    // The control plane's own key with these claims is accepted: each case below changes one thing.
    json_of(app.api_with(Method::GET, "/roles", None, &rs256(&kid, &keys, &claims)).await, 200).await;

    let unsigned =
        format!("{}.{}.", encode_part(&json!({ "alg": "none", "typ": "JWT", "kid": kid })), encode_part(&claims));
    let jwks = app.get("/.well-known/jwks.json").await.text().await.unwrap();
    let mut hs256 = Header::new(Algorithm::HS256);
    hs256.kid = Some(kid.clone());
    let hmac_with_public_key =
        jsonwebtoken::encode(&hs256, &claims, &EncodingKey::from_secret(jwks.as_bytes())).unwrap();
    let cases = [
        ("alg none", unsigned),
        ("HS256 keyed with the public key", hmac_with_public_key),
        ("expired", rs256(&kid, &keys, &with(json!({ "iat": now - 7200, "exp": now - 3600 })))),
        ("not yet valid", rs256(&kid, &keys, &with(json!({ "nbf": now + 3600 })))),
        ("wrong audience", rs256(&kid, &keys, &with(json!({ "aud": "https://other.example/api/" })))),
        ("wrong issuer", rs256(&kid, &keys, &with(json!({ "iss": "https://evil.example/" })))),
        ("unknown kid", rs256("no-such-key", &keys, &claims)),
        ("another tenant's key under our kid", rs256(&kid, &elsewhere, &claims)),
        ("another tenant's key and kid", rs256(&elsewhere_kid, &elsewhere, &claims)),
        ("truncated", valid[..valid.len() - 10].to_owned()),
        ("garbage", "eyJhbGciOiJSUzI1NiJ9.garbage.garbage".to_owned()),
        ("not a JWT", "hello".to_owned()),
    ];
    for (case, token) in cases {
        let response = app.api_with(Method::GET, "/roles", None, &token).await;
        assert_eq!(response.status(), 401, "{case}");
    }
}

async fn a_key_revoked_in_one_process_stops_verifying_in_another_and_the_log_records_it(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let other = app.beside().await;
    let old_token = new_token(&app).await;
    let old_kid = kid_of(&old_token);
    // The other process verifies the token, and remembers it verified.
    json_of(other.api_with(Method::GET, "/roles", None, &old_token).await, 200).await;
    json_of(other.api_with(Method::GET, "/roles", None, &old_token).await, 200).await;

    json_of(app.api(Method::POST, "/keys/signing/rotate", None).await, 201).await;
    let token = new_token(&app).await;
    json_of(app.api_with(Method::PUT, &format!("/keys/signing/{old_kid}/revoke"), None, &token).await, 200).await;
    let head = app.head().await;
    other.state.projections.wait_for(head, std::time::Duration::from_secs(5)).await.unwrap();
    error_of(other.api_with(Method::GET, "/roles", None, &old_token).await, 401).await;
    json_of(other.api_with(Method::GET, "/roles", None, &token).await, 200).await;
    assert_eq!(jwks_kids(&other).await, [kid_of(&token)], "the other process's JWKS follows");

    let query = eventstore::LogQuery::after(0).types(["signing_key.created", "signing_key.revoked"]);
    let events = app.state.db.store.read(&query).await.unwrap();
    let seen: Vec<(&str, Value)> = events.iter().map(|e| (e.event_type.as_str(), e.payload["kid"].clone())).collect();
    assert_eq!(
        seen,
        [
            ("signing_key.created", json!(old_kid)),
            ("signing_key.created", json!(kid_of(&token))),
            ("signing_key.revoked", json!(old_kid)),
        ]
    );
    assert_eq!(events[0].stream_id, "signing_keys:control_plane");
    assert_eq!(events[1].payload["rotation"], true);
    assert_eq!(events[2].metadata.actor.as_ref().unwrap().client_id.as_deref(), Some(CLIENT_ID), "who revoked it");
    other.stop().await;
}
