//! The token endpoint, JWKS and OIDC discovery, and how the Management API treats tokens.

use api::auth::signer::KeyAlg;
use eventstore::testing::TestDatabase;
use forged::forge;
use reqwest::Method;
use serde_json::{Value, json};
use tenancy_tests::{CLIENT_ID, CLIENT_SECRET, TestApp, error_of, json_of};

eventstore::backend_tests!(
    client_credentials_gives_a_token_that_verifies_with_the_jwks,
    client_credentials_accepts_form_bodies_basic_auth_and_an_empty_organization,
    bad_client_credentials_are_refused_in_the_oauth_shape,
    requests_without_a_valid_token_are_401,
    a_token_without_the_permission_is_403,
);

async fn token_request(app: &TestApp, body: Value) -> reqwest::Response {
    app.client.post(app.url("/oauth/token")).json(&body).send().await.unwrap()
}

async fn client_credentials_gives_a_token_that_verifies_with_the_jwks(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let body = json!({
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "audience": app.audience(),
        "organization": null,
    });
    let token = json_of(token_request(&app, body).await, 200).await;
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 86400);
    assert!(token["scope"].as_str().unwrap().split(' ').any(|s| s == "create:roles"));

    let discovery = json_of(app.get("/.well-known/openid-configuration").await, 200).await;
    assert_eq!(discovery["issuer"], app.url("/"));
    assert_eq!(discovery["token_endpoint"], app.url("/oauth/token"));
    let jwks = json_of(app.get("/.well-known/jwks.json").await, 200).await;
    let jwk = &jwks["keys"][0];
    let header = jsonwebtoken::decode_header(token["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.kid.as_deref(), jwk["kid"].as_str());

    let key =
        jsonwebtoken::DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[app.audience()]);
    validation.set_issuer(&[app.url("/")]);
    let claims =
        jsonwebtoken::decode::<Value>(token["access_token"].as_str().unwrap(), &key, &validation).unwrap().claims;
    assert_eq!(claims["sub"], format!("{CLIENT_ID}@clients"));
    assert_eq!(claims["azp"], CLIENT_ID);
    assert_eq!(claims["tenant_id"], "control_plane");
    assert_eq!(claims["gty"], "client-credentials");
    assert!(claims["permissions"].as_array().unwrap().contains(&json!("read:roles")));
}

async fn client_credentials_accepts_form_bodies_basic_auth_and_an_empty_organization(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let audience = app.audience().replace(':', "%3A").replace('/', "%2F");
    let form = format!(
        "grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={CLIENT_SECRET}&audience={audience}&organization=&scope=read%3Aroles"
    );
    let response = app
        .client
        .post(app.url("/oauth/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let token = json_of(response, 200).await;
    assert_eq!(token["scope"], "read:roles", "only the requested scopes");

    let response = app
        .client
        .post(app.url("/oauth/token"))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .json(&json!({ "grant_type": "client_credentials", "audience": app.audience(), "organization": "" }))
        .send()
        .await
        .unwrap();
    json_of(response, 200).await;
}

async fn bad_client_credentials_are_refused_in_the_oauth_shape(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let audience = app.audience();
    let cases = [
        (
            json!({ "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": "wrong", "audience": audience }),
            401,
            "invalid_client",
        ),
        (
            json!({ "grant_type": "client_credentials", "client_id": "nobody", "client_secret": "x", "audience": audience }),
            401,
            "invalid_client",
        ),
        (
            json!({ "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET }),
            403,
            "access_denied",
        ),
        (
            json!({ "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "audience": "https://other/" }),
            403,
            "access_denied",
        ),
        (json!({ "grant_type": "authorization_code", "code": "x" }), 400, "unsupported_grant_type"),
        (json!({ "grant_type": "password", "username": "a", "password": "b" }), 400, "invalid_request"),
        (
            json!({ "grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "username": "a", "password": "b" }),
            403,
            "unauthorized_client",
        ),
        (json!({ "client_id": CLIENT_ID }), 400, "invalid_request"),
    ];
    for (body, status, error) in cases {
        let response = token_request(&app, body.clone()).await;
        let answer = json_of(response, status).await;
        assert_eq!(answer["error"], error, "{body}");
        assert!(answer["error_description"].is_string());
    }
}

async fn requests_without_a_valid_token_are_401(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let none = app.client.get(app.url("/api/v2/roles")).send().await.unwrap();
    error_of(none, 401).await;
    error_of(app.api_with(Method::GET, "/roles", None, "not.a.jwt").await, 401).await;

    let valid = app.token().await;
    let control_plane = domain::TenantId::control_plane();
    let keys = app.state.keys.for_tenant(&control_plane).await.unwrap();
    let sign = |claims| api::auth::tokens::sign(&app.state.keys, &control_plane, KeyAlg::Rs256, claims);
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64, aud: &str| api::auth::AccessClaims {
        iss: app.url("/"),
        sub: "x@clients".into(),
        aud: aud.into(),
        iat: now - 7200,
        exp,
        azp: "x".into(),
        scope: "read:roles".into(),
        gty: None,
        permissions: vec!["read:roles".into()],
        tenant_id: "control_plane".into(),
        org_id: None,
        org_name: None,
        roles: Vec::new(),
    };
    let expired = sign(claims(now - 3600, &app.audience())).await.unwrap();
    assert_eq!(error_of(app.api_with(Method::GET, "/roles", None, &expired).await, 401).await, "Expired token");
    let other_audience = sign(claims(now + 3600, "https://other/")).await.unwrap();
    error_of(app.api_with(Method::GET, "/roles", None, &other_audience).await, 401).await;
    let foreign = forge(keys.signer(KeyAlg::Rs256).unwrap().0, &claims(now + 3600, &app.audience()));
    error_of(app.api_with(Method::GET, "/roles", None, &foreign).await, 401).await;

    json_of(app.api_with(Method::GET, "/roles", None, &valid).await, 200).await;
}

async fn a_token_without_the_permission_is_403(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let body = json!({
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "audience": app.audience(),
        "scope": "read:roles",
    });
    let token = json_of(token_request(&app, body).await, 200).await["access_token"].as_str().unwrap().to_owned();
    json_of(app.api_with(Method::GET, "/roles", None, &token).await, 200).await;
    let head = app.head().await;
    let message = error_of(app.api_with(Method::POST, "/roles", Some(json!({ "name": "x" })), &token).await, 403).await;
    assert_eq!(message, "Insufficient scope, expected any of: create:roles");
    assert_eq!(app.head().await, head);
}

mod forged {
    //! A token signed by a key the server never saw, carrying the server's key id.

    use rsa::pkcs1::EncodeRsaPrivateKey;

    pub fn forge(kid: &str, claims: &api::auth::AccessClaims) -> String {
        let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let der = key.to_pkcs1_der().unwrap();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes())).unwrap()
    }
}
