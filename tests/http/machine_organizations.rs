//! Organizations for machine-to-machine access: a client grant's `organization_usage` and
//! `allow_any_organization`, grants associated with organizations, and `client_credentials`
//! tokens bound to an organization (`org_id`) only where the grant allows it.

use eventstore::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use tenancy_tests::{TestApp, error_of, json_of};

use crate::roles::create_api;

eventstore::backend_tests!(
    a_machine_token_names_an_organization_only_where_its_grant_allows_it,
    a_grant_that_requires_an_organization_or_allows_any_is_honoured_and_introspection_follows_it,
);

const API: &str = "https://machines.example/";

struct Machine {
    client_id: String,
    client_secret: String,
    grant_id: String,
}

async fn machine(app: &TestApp, grant: Value) -> Machine {
    create_api(app, API, &["read"]).await;
    let client = json!({ "name": "Worker", "app_type": "non_interactive", "grant_types": ["client_credentials"] });
    let client = json_of(app.api(Method::POST, "/clients", Some(client)).await, 201).await;
    let mut body = json!({ "client_id": client["client_id"], "audience": API, "scope": ["read"] });
    for (key, value) in grant.as_object().unwrap() {
        body[key] = value.clone();
    }
    let grant = json_of(app.api(Method::POST, "/client-grants", Some(body)).await, 201).await;
    Machine {
        client_id: client["client_id"].as_str().unwrap().to_owned(),
        client_secret: client["client_secret"].as_str().unwrap().to_owned(),
        grant_id: grant["id"].as_str().unwrap().to_owned(),
    }
}

async fn token(app: &TestApp, machine: &Machine, organization: Option<&str>) -> reqwest::Response {
    let body = json!({
        "grant_type": "client_credentials",
        "client_id": machine.client_id,
        "client_secret": machine.client_secret,
        "audience": API,
        "organization": organization,
    });
    app.client.post(app.url("/oauth/token")).json(&body).send().await.unwrap()
}

fn claims_of(answer: &Value) -> Value {
    let payload = answer["access_token"].as_str().unwrap().split('.').nth(1).unwrap();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

async fn organization(app: &TestApp, name: &str) -> String {
    let org = json_of(app.api(Method::POST, "/organizations", Some(json!({ "name": name }))).await, 201).await;
    org["id"].as_str().unwrap().to_owned()
}

async fn a_machine_token_names_an_organization_only_where_its_grant_allows_it(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let machine = machine(&app, json!({})).await;
    let acme = organization(&app, "acme").await;
    let grants =
        json_of(app.api(Method::GET, &format!("/client-grants?client_id={}", machine.client_id), None).await, 200)
            .await;
    assert_eq!(
        (grants[0]["organization_usage"].as_str(), grants[0]["allow_any_organization"].as_bool()),
        (Some("deny"), Some(false))
    );
    let denied = json_of(token(&app, &machine, Some("acme")).await, 403).await;
    assert_eq!(denied["error"], "access_denied", "Auth0's default: deny");
    assert!(claims_of(&json_of(token(&app, &machine, None).await, 200).await).get("org_id").is_none());

    let path = format!("/client-grants/{}", machine.grant_id);
    let updated =
        json_of(app.api(Method::PATCH, &path, Some(json!({ "organization_usage": "allow" }))).await, 200).await;
    assert_eq!((updated["organization_usage"].as_str(), updated["scope"].clone()), (Some("allow"), json!(["read"])));
    let head = app.head().await;
    assert_eq!(
        json_of(token(&app, &machine, Some("acme")).await, 403).await["error"],
        "access_denied",
        "not associated"
    );
    assert_eq!(app.head().await, head);

    let associated = format!("/organizations/{acme}/client-grants");
    let body = json!({ "grant_id": machine.grant_id });
    let grant = json_of(app.api(Method::POST, &associated, Some(body)).await, 201).await;
    assert_eq!(grant["id"], machine.grant_id.as_str());
    let listed = json_of(app.api(Method::GET, &associated, None).await, 200).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    for asked in [acme.as_str(), "acme"] {
        let claims = claims_of(&json_of(token(&app, &machine, Some(asked)).await, 200).await);
        assert_eq!(claims["org_id"], acme.as_str(), "by id or by name");
        assert_eq!(claims["gty"], "client-credentials");
    }
    assert!(
        claims_of(&json_of(token(&app, &machine, None).await, 200).await).get("org_id").is_none(),
        "allow: optional"
    );
    let other = organization(&app, "other").await;
    assert_eq!(json_of(token(&app, &machine, Some(&other)).await, 403).await["error"], "access_denied");
    assert_eq!(json_of(token(&app, &machine, Some("nowhere")).await, 403).await["error"], "access_denied");

    let removed = app.api(Method::DELETE, &format!("{associated}/{}", machine.grant_id), None).await;
    assert_eq!(removed.status(), 204);
    assert_eq!(json_of(app.api(Method::GET, &associated, None).await, 200).await, json!([]));
    assert_eq!(json_of(token(&app, &machine, Some("acme")).await, 403).await["error"], "access_denied");
    error_of(app.api(Method::GET, "/organizations/org_nope/client-grants", None).await, 404).await;
    let unknown_grant = json!({ "grant_id": "cgr_nope" });
    error_of(app.api(Method::POST, &associated, Some(unknown_grant)).await, 404).await;
    let unknown_org = json!({ "grant_id": machine.grant_id });
    error_of(app.api(Method::POST, "/organizations/org_nope/client-grants", Some(unknown_org)).await, 404).await;
}

async fn a_grant_that_requires_an_organization_or_allows_any_is_honoured_and_introspection_follows_it(
    db: TestDatabase,
) {
    let app = TestApp::start(db).await;
    let machine = machine(&app, json!({ "organization_usage": "require", "allow_any_organization": true })).await;
    let acme = organization(&app, "acme").await;
    let required = json_of(token(&app, &machine, None).await, 400).await;
    assert_eq!(required["error"], "invalid_request", "require: a token names an organization");
    let answer = json_of(token(&app, &machine, Some("acme")).await, 200).await;
    assert_eq!(claims_of(&answer)["org_id"], acme.as_str(), "any organization, without an association");

    let token = answer["access_token"].as_str().unwrap();
    let introspect = |token: String| {
        let body = json!({ "token": token, "client_id": machine.client_id, "client_secret": machine.client_secret });
        app.client.post(app.url("/oauth/introspect")).json(&body).send()
    };
    let active = json_of(introspect(token.to_owned()).await.unwrap(), 200).await;
    assert_eq!((active["active"].as_bool(), active["org_id"].as_str()), (Some(true), Some(acme.as_str())));
    let path = format!("/client-grants/{}", machine.grant_id);
    json_of(app.api(Method::PATCH, &path, Some(json!({ "allow_any_organization": false }))).await, 200).await;
    let inactive = json_of(introspect(token.to_owned()).await.unwrap(), 200).await;
    assert_eq!(inactive, json!({ "active": false }), "the grant no longer allows that organization");
}
