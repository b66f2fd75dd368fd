//! Signing algorithms per resource server: an API with `signing_alg` ES256 or EdDSA gets tokens
//! of that algorithm, signed by a key of the tenant's that the JWKS publishes; rotation rotates
//! every algorithm in use; a token cannot borrow another algorithm for a key.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use eventstore::testing::TestDatabase;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use reqwest::Method;
use serde_json::{Value, json};
use tenancy_tests::{CLIENT_ID, CLIENT_SECRET, TestApp, json_of};

eventstore::backend_tests!(
    an_api_signing_with_es256_or_eddsa_gets_tokens_of_that_algorithm_that_the_jwks_verifies,
    rotation_rotates_every_algorithm_in_use,
);

/// A machine token for a new API signing with `alg`, from the bootstrap client.
async fn token_for(app: &TestApp, alg: &str) -> String {
    let identifier = format!("https://{}.example/", alg.to_lowercase());
    let api = json!({ "name": alg, "identifier": identifier, "signing_alg": alg, "scopes": [{ "value": "read" }] });
    let created = json_of(app.api(Method::POST, "/resource-servers", Some(api)).await, 201).await;
    assert_eq!(created["signing_alg"], alg);
    let grant = json!({ "client_id": CLIENT_ID, "audience": identifier, "scope": ["read"] });
    json_of(app.api(Method::POST, "/client-grants", Some(grant)).await, 201).await;
    let body = json!({ "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "audience": identifier });
    let answer = json_of(app.client.post(app.url("/oauth/token")).json(&body).send().await.unwrap(), 200).await;
    answer["access_token"].as_str().unwrap().to_owned()
}

async fn introspect(app: &TestApp, token: &str) -> Value {
    let body = json!({ "token": token, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET });
    json_of(app.client.post(app.url("/oauth/introspect")).json(&body).send().await.unwrap(), 200).await
}

async fn an_api_signing_with_es256_or_eddsa_gets_tokens_of_that_algorithm_that_the_jwks_verifies(db: TestDatabase) {
    let app = TestApp::start(db).await;
    for (alg, algorithm, kty) in [("ES256", Algorithm::ES256, "EC"), ("EdDSA", Algorithm::EdDSA, "OKP")] {
        let token = token_for(&app, alg).await;
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, algorithm);
        let jwks = json_of(app.get("/.well-known/jwks.json").await, 200).await;
        let jwk =
            jwks["keys"].as_array().unwrap().iter().find(|k| Some(k["kid"].as_str().unwrap()) == header.kid.as_deref());
        let jwk = jwk.expect("the JWKS publishes the key");
        assert_eq!((jwk["kty"].as_str(), jwk["alg"].as_str()), (Some(kty), Some(alg)));
        let key = match kty {
            "EC" => DecodingKey::from_ec_components(jwk["x"].as_str().unwrap(), jwk["y"].as_str().unwrap()).unwrap(),
            _ => DecodingKey::from_ed_components(jwk["x"].as_str().unwrap()).unwrap(),
        };
        let mut validation = Validation::new(algorithm);
        validation.set_audience(&[format!("https://{}.example/", alg.to_lowercase())]);
        validation.set_issuer(&[app.url("/")]);
        let claims = jsonwebtoken::decode::<Value>(&token, &key, &validation).unwrap().claims;
        assert_eq!(claims["scope"], "read");
        assert_eq!(introspect(&app, &token).await["active"], true);

        // The same signature under a header that names RS256 for this key.
        let (_, rest) = token.split_once('.').unwrap();
        let forged_header = json!({ "alg": "RS256", "typ": "JWT", "kid": header.kid }).to_string();
        let forged = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(forged_header));
        assert_eq!(introspect(&app, &forged).await, json!({ "active": false }));
    }
    let keys = json_of(app.api(Method::GET, "/keys/signing", None).await, 200).await;
    let mut algs: Vec<&str> = keys.as_array().unwrap().iter().map(|k| k["alg"].as_str().unwrap()).collect();
    algs.sort_unstable();
    assert_eq!(algs, ["ES256", "EdDSA", "RS256"], "a key per algorithm in use, each current");
    assert!(keys.as_array().unwrap().iter().all(|k| k["current"] == true));
}

async fn rotation_rotates_every_algorithm_in_use(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let old = token_for(&app, "ES256").await;
    json_of(app.api(Method::POST, "/keys/signing/rotate", None).await, 201).await;
    let keys = json_of(app.api(Method::GET, "/keys/signing", None).await, 200).await;
    let es256: Vec<&Value> = keys.as_array().unwrap().iter().filter(|k| k["alg"] == "ES256").collect();
    assert_eq!(es256.len(), 2);
    let old_kid = jsonwebtoken::decode_header(&old).unwrap().kid.unwrap();
    let previous = es256.iter().find(|k| k["kid"] == old_kid.as_str()).unwrap();
    assert_eq!((previous["current"].as_bool(), previous["previous"].as_bool()), (Some(false), Some(true)));
    assert_eq!(introspect(&app, &old).await["active"], true, "the previous key verifies until revoked");

    let body = json!({ "grant_type": "client_credentials", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "audience": "https://es256.example/" });
    let answer = json_of(app.client.post(app.url("/oauth/token")).json(&body).send().await.unwrap(), 200).await;
    let new_kid = jsonwebtoken::decode_header(answer["access_token"].as_str().unwrap()).unwrap().kid.unwrap();
    assert_ne!(new_kid, old_kid, "the new ES256 key signs");
    json_of(app.api(Method::PUT, &format!("/keys/signing/{old_kid}/revoke"), None).await, 200).await;
    assert_eq!(introspect(&app, &old).await["active"], false);
}
