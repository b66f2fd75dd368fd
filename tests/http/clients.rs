//! `/api/v2/clients` and `/api/v2/client-grants`, end to end, and what they mean for
//! `client_credentials` tokens.

use eventstore::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use tenancy_tests::{TestApp, error_of, json_of};

use crate::roles::create_api;

eventstore::backend_tests!(
    a_client_can_be_created_read_updated_listed_and_deleted,
    a_client_secret_is_shown_once_and_rotation_retires_the_old_one,
    a_token_is_issued_only_for_a_granted_audience_with_the_granted_scopes,
    grants_can_be_listed_updated_and_deleted_and_go_with_their_client,
    bad_client_and_grant_input_is_refused_and_appends_nothing,
);

async fn create_client(app: &TestApp, name: &str) -> Value {
    json_of(app.api(Method::POST, "/clients", Some(json!({ "name": name }))).await, 201).await
}

fn client_id(client: &Value) -> String {
    client["client_id"].as_str().unwrap().to_owned()
}

async fn token_response(
    app: &TestApp,
    (id, secret): (&str, &str),
    audience: &str,
    scope: Option<&str>,
) -> reqwest::Response {
    let mut body =
        json!({ "grant_type": "client_credentials", "client_id": id, "client_secret": secret, "audience": audience });
    if let Some(scope) = scope {
        body["scope"] = json!(scope);
    }
    app.client.post(app.url("/oauth/token")).json(&body).send().await.unwrap()
}

async fn a_client_can_be_created_read_updated_listed_and_deleted(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let body = json!({ "name": "Storefront", "app_type": "spa", "callbacks": ["https://shop.example/callback"], "client_metadata": { "team": "web" } });
    let created = json_of(app.api(Method::POST, "/clients", Some(body)).await, 201).await;
    let id = client_id(&created);
    assert_eq!(id.len(), 32);
    assert_eq!(created["app_type"], "spa");
    assert_eq!(created["grant_types"], json!(["authorization_code", "implicit", "refresh_token"]));
    assert_eq!(created["token_endpoint_auth_method"], "none");
    assert_eq!(created["callbacks"], json!(["https://shop.example/callback"]));
    assert_eq!(created["client_metadata"], json!({ "team": "web" }));

    let path = format!("/clients/{id}");
    let read = json_of(app.api(Method::GET, &path, None).await, 200).await;
    assert!(read.get("client_secret").is_none(), "{read}");
    let patch = json!({ "description": "The shop", "web_origins": ["https://shop.example"], "client_metadata": { "team": null, "tier": "1" } });
    let patched = json_of(app.api(Method::PATCH, &path, Some(patch)).await, 200).await;
    assert_eq!(patched["description"], "The shop");
    assert_eq!(patched["web_origins"], json!(["https://shop.example"]));
    assert_eq!(patched["client_metadata"], json!({ "tier": "1" }));
    assert_eq!(patched["callbacks"], created["callbacks"]);
    assert!(patched.get("client_secret").is_none(), "{patched}");

    // The bootstrap client is listed too, with a machine client's settings.
    let list = json_of(app.api(Method::GET, "/clients?include_totals=true", None).await, 200).await;
    assert_eq!(list["total"], 2);
    let bootstrap =
        list["clients"].as_array().unwrap().iter().find(|c| c["client_id"] == tenancy_tests::CLIENT_ID).unwrap();
    assert_eq!(
        (bootstrap["app_type"].as_str(), bootstrap["grant_types"].clone()),
        (Some("non_interactive"), json!(["client_credentials"]))
    );

    assert_eq!(app.api(Method::DELETE, &path, None).await.status(), 204);
    error_of(app.api(Method::GET, &path, None).await, 404).await;
    let again = app.api(Method::DELETE, &path, None).await;
    let error: Value = again.json().await.unwrap();
    assert_eq!((error["statusCode"].as_u64(), error["errorCode"].as_str()), (Some(404), Some("inexistent_client")));
}

async fn a_client_secret_is_shown_once_and_rotation_retires_the_old_one(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let client = create_client(&app, "Deploy bot").await;
    let (id, secret) = (client_id(&client), client["client_secret"].as_str().unwrap().to_owned());
    assert!(secret.len() >= 32, "{secret}");
    let grant = json!({ "client_id": id, "audience": app.audience(), "scope": ["read:roles"] });
    json_of(app.api(Method::POST, "/client-grants", Some(grant)).await, 201).await;
    assert_eq!(token_response(&app, (&id, &secret), &app.audience(), None).await.status(), 200);

    let rotated = json_of(app.api(Method::POST, &format!("/clients/{id}/rotate-secret"), None).await, 200).await;
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert_eq!(token_response(&app, (&id, &secret), &app.audience(), None).await.status(), 401);
    assert_eq!(token_response(&app, (&id, &new_secret), &app.audience(), None).await.status(), 200);

    // A retried create answers the first result, without a secret it can no longer know.
    let request = |key: &str| {
        app.client.post(app.url("/api/v2/clients")).header("idempotency-key", key).json(&json!({ "name": "Retried" }))
    };
    let token = app.token().await;
    let first: Value = request("k1").bearer_auth(&token).send().await.unwrap().json().await.unwrap();
    let retry = request("k1").bearer_auth(&token).send().await.unwrap();
    assert_eq!(retry.status(), 201);
    let retry: Value = retry.json().await.unwrap();
    assert!(first["client_secret"].is_string() && retry.get("client_secret").is_none(), "{retry}");
    assert_eq!(retry["client_id"], first["client_id"]);
}

async fn a_token_is_issued_only_for_a_granted_audience_with_the_granted_scopes(db: TestDatabase) {
    let app = TestApp::start(db).await;
    create_api(&app, "https://invoices.example/", &["read:invoices", "write:invoices"]).await;
    let client = create_client(&app, "Billing sync").await;
    let (id, secret) = (client_id(&client), client["client_secret"].as_str().unwrap().to_owned());

    let denied = token_response(&app, (&id, &secret), "https://invoices.example/", None).await;
    assert_eq!(denied.status(), 403);
    assert_eq!(denied.json::<Value>().await.unwrap()["error"], "access_denied");

    let grant = json!({ "client_id": id, "audience": "https://invoices.example/", "scope": ["read:invoices"] });
    json_of(app.api(Method::POST, "/client-grants", Some(grant)).await, 201).await;
    let asked = Some("read:invoices write:invoices");
    let token = json_of(token_response(&app, (&id, &secret), "https://invoices.example/", asked).await, 200).await;
    assert_eq!(token["scope"], "read:invoices");
    let all = json_of(token_response(&app, (&id, &secret), "https://invoices.example/", None).await, 200).await;
    assert_eq!(all["scope"], "read:invoices");
    let mgmt = token_response(&app, (&id, &secret), &app.audience(), None).await;
    assert_eq!(mgmt.status(), 403);

    // A Management API grant gives exactly its permissions.
    let grant = json!({ "client_id": id, "audience": app.audience(), "scope": ["read:roles"] });
    json_of(app.api(Method::POST, "/client-grants", Some(grant)).await, 201).await;
    let token = json_of(token_response(&app, (&id, &secret), &app.audience(), None).await, 200).await;
    let token = token["access_token"].as_str().unwrap();
    assert_eq!(app.api_with(Method::GET, "/roles", None, token).await.status(), 200);
    error_of(app.api_with(Method::POST, "/roles", Some(json!({ "name": "x" })), token).await, 403).await;
}

async fn grants_can_be_listed_updated_and_deleted_and_go_with_their_client(db: TestDatabase) {
    let app = TestApp::start(db).await;
    create_api(&app, "https://invoices.example/", &["read:invoices", "write:invoices"]).await;
    let client = create_client(&app, "Billing sync").await;
    let (id, secret) = (client_id(&client), client["client_secret"].as_str().unwrap().to_owned());
    let body = json!({ "client_id": id, "audience": "https://invoices.example/", "scope": ["read:invoices"] });
    let grant = json_of(app.api(Method::POST, "/client-grants", Some(body.clone())).await, 201).await;
    assert_eq!(grant["scope"], json!(["read:invoices"]));
    let head = app.head().await;
    let message = error_of(app.api(Method::POST, "/client-grants", Some(body)).await, 409).await;
    assert!(message.contains("already exists"), "{message}");
    assert_eq!(app.head().await, head);

    let path = format!("/client-grants/{}", grant["id"].as_str().unwrap());
    let patch = json!({ "scope": ["read:invoices", "write:invoices"] });
    let updated = json_of(app.api(Method::PATCH, &path, Some(patch)).await, 200).await;
    assert_eq!(updated["scope"], json!(["read:invoices", "write:invoices"]));
    let token = json_of(token_response(&app, (&id, &secret), "https://invoices.example/", None).await, 200).await;
    assert_eq!(token["scope"], "read:invoices write:invoices");

    let mine =
        json_of(app.api(Method::GET, &format!("/client-grants?client_id={id}&include_totals=true"), None).await, 200)
            .await;
    assert_eq!((mine["total"].as_u64(), mine["client_grants"][0].clone()), (Some(1), updated));
    let by_audience =
        json_of(app.api(Method::GET, "/client-grants?audience=https://invoices.example/", None).await, 200).await;
    assert_eq!(by_audience.as_array().unwrap().len(), 1);

    assert_eq!(app.api(Method::DELETE, &path, None).await.status(), 204);
    assert_eq!(token_response(&app, (&id, &secret), "https://invoices.example/", None).await.status(), 403);
    error_of(app.api(Method::PATCH, &path, Some(json!({ "scope": [] }))).await, 404).await;

    // A client's grants go with it; the API's grants go with the API.
    let body = json!({ "client_id": id, "audience": "https://invoices.example/", "scope": [] });
    json_of(app.api(Method::POST, "/client-grants", Some(body)).await, 201).await;
    assert_eq!(app.api(Method::DELETE, &format!("/clients/{id}"), None).await.status(), 204);
    let left = json_of(app.api(Method::GET, &format!("/client-grants?client_id={id}"), None).await, 200).await;
    assert_eq!(left, json!([]));
    assert_eq!(token_response(&app, (&id, &secret), "https://invoices.example/", None).await.status(), 401);

    let other = client_id(&create_client(&app, "Other").await);
    let body = json!({ "client_id": other, "audience": "https://invoices.example/", "scope": ["read:invoices"] });
    json_of(app.api(Method::POST, "/client-grants", Some(body)).await, 201).await;
    let apis = json_of(app.api(Method::GET, "/resource-servers", None).await, 200).await;
    let api = apis.as_array().unwrap().iter().find(|a| a["identifier"] == "https://invoices.example/").unwrap();
    let deleted = app.api(Method::DELETE, &format!("/resource-servers/{}", api["id"].as_str().unwrap()), None).await;
    assert!(deleted.status().is_success());
    let left = json_of(app.api(Method::GET, &format!("/client-grants?client_id={other}"), None).await, 200).await;
    assert_eq!(left, json!([]));
}

async fn bad_client_and_grant_input_is_refused_and_appends_nothing(db: TestDatabase) {
    let app = TestApp::start(db).await;
    create_api(&app, "https://invoices.example/", &["read:invoices"]).await;
    let id = client_id(&create_client(&app, "Billing sync").await);
    let head = app.head().await;
    for (body, field) in [
        (json!({}), "name"),
        (json!({ "name": "x", "app_type": "desktop" }), "app_type"),
        (json!({ "name": "x", "grant_types": ["device_code"] }), "grant_types"),
        (json!({ "name": "x", "token_endpoint_auth_method": "private_key_jwt" }), "token_endpoint_auth_method"),
        (json!({ "name": "x", "client_secret": "mine" }), "client_secret"),
    ] {
        let message = error_of(app.api(Method::POST, "/clients", Some(body.clone())).await, 400).await;
        assert!(message.contains(field), "{body}: {message}");
    }
    for (body, field) in [
        (json!({ "client_id": "nobody", "audience": "https://invoices.example/", "scope": [] }), "client_id"),
        (json!({ "client_id": id, "audience": "https://nowhere.example/", "scope": [] }), "audience"),
        (json!({ "client_id": id, "audience": "https://invoices.example/", "scope": ["delete:invoices"] }), "scope"),
        (json!({ "client_id": id, "audience": "https://invoices.example/" }), "scope"),
    ] {
        let message = error_of(app.api(Method::POST, "/client-grants", Some(body.clone())).await, 400).await;
        assert!(message.contains(field), "{body}: {message}");
    }
    error_of(app.api(Method::POST, "/clients/nobody/rotate-secret", None).await, 404).await;
    error_of(app.api(Method::PATCH, "/client-grants/cgr_missing", Some(json!({ "scope": [] }))).await, 404).await;
    assert_eq!(app.head().await, head);
}
