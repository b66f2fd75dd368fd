//! `/api/v2/resource-servers`, end to end.

use eventstore::testing::TestDatabase;
use reqwest::Method;
use serde_json::json;
use tenancy_tests::{TestApp, error_of, json_of};

use crate::roles::create_api;

eventstore::backend_tests!(
    a_resource_server_can_be_created_read_by_id_or_identifier_updated_and_deleted,
    a_duplicate_identifier_is_a_409_and_appends_nothing,
    the_management_api_is_a_system_resource_server_that_cannot_be_changed,
    bad_resource_server_input_is_a_400_naming_the_field,
);

async fn a_resource_server_can_be_created_read_by_id_or_identifier_updated_and_deleted(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let created = create_api(&app, "https://invoices.example/", &["read:invoices"]).await;
    assert_eq!(created["identifier"], "https://invoices.example/");
    assert_eq!(created["signing_alg"], "RS256");
    assert_eq!(created["token_lifetime"], 86400);
    assert_eq!(created["is_system"], false);
    assert_eq!(created["scopes"], json!([{ "value": "read:invoices", "description": "Can read:invoices" }]));
    let id = created["id"].as_str().unwrap().to_owned();

    assert_eq!(json_of(app.api(Method::GET, &format!("/resource-servers/{id}"), None).await, 200).await, created);
    let by_identifier = app.api(Method::GET, "/resource-servers/https%3A%2F%2Finvoices.example%2F", None).await;
    assert_eq!(json_of(by_identifier, 200).await["id"], id.as_str());

    let patch = json!({ "name": "Invoices", "token_lifetime": 3600, "scopes": [{ "value": "read:all" }] });
    let patched = json_of(app.api(Method::PATCH, &format!("/resource-servers/{id}"), Some(patch)).await, 200).await;
    assert_eq!((patched["name"].as_str(), patched["token_lifetime"].as_u64()), (Some("Invoices"), Some(3600)));
    assert_eq!(patched["scopes"], json!([{ "value": "read:all", "description": "" }]));

    let list = json_of(app.api(Method::GET, "/resource-servers?include_totals=true", None).await, 200).await;
    assert_eq!(list["total"], 2, "the Management API and ours");

    json_of(app.api(Method::DELETE, &format!("/resource-servers/{id}"), None).await, 200).await;
    error_of(app.api(Method::GET, &format!("/resource-servers/{id}"), None).await, 404).await;
    // Its identifier is free again.
    create_api(&app, "https://invoices.example/", &[]).await;
}

async fn a_duplicate_identifier_is_a_409_and_appends_nothing(db: TestDatabase) {
    let app = TestApp::start(db).await;
    create_api(&app, "https://invoices.example/", &[]).await;
    let head = app.head().await;
    let body = json!({ "name": "Again", "identifier": "https://invoices.example/" });
    let message = error_of(app.api(Method::POST, "/resource-servers", Some(body)).await, 409).await;
    assert!(message.contains("https://invoices.example/"), "{message}");
    assert_eq!(app.head().await, head);
}

async fn the_management_api_is_a_system_resource_server_that_cannot_be_changed(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let audience = app.audience();
    let path = format!("/resource-servers/{}", audience.replace(':', "%3A").replace('/', "%2F"));
    let api = json_of(app.api(Method::GET, &path, None).await, 200).await;
    assert_eq!(api["is_system"], true);
    assert!(api["scopes"].as_array().unwrap().iter().any(|s| s["value"] == "create:roles"));
    let head = app.head().await;
    error_of(app.api(Method::PATCH, &path, Some(json!({ "name": "Mine" }))).await, 403).await;
    error_of(app.api(Method::DELETE, &path, None).await, 403).await;
    assert_eq!(app.head().await, head);
}

async fn bad_resource_server_input_is_a_400_naming_the_field(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let head = app.head().await;
    for (body, field) in [
        (json!({ "name": "x" }), "identifier"),
        (json!({ "name": "x", "identifier": "has space" }), "identifier"),
        (json!({ "identifier": "https://a/", "token_lifetime": 0 }), "token_lifetime"),
        (json!({ "identifier": "https://a/", "scopes": [{ "value": "a" }, { "value": "a" }] }), "scopes"),
        (json!({ "identifier": "https://a/", "signing_alg": "none" }), "signing_alg"),
    ] {
        let message = error_of(app.api(Method::POST, "/resource-servers", Some(body)).await, 400).await;
        assert!(message.contains(field), "{field}: {message}");
    }
    let created = create_api(&app, "https://b/", &[]).await;
    let path = format!("/resource-servers/{}", created["id"].as_str().unwrap());
    let message = error_of(app.api(Method::PATCH, &path, Some(json!({ "identifier": "https://c/" }))).await, 400).await;
    assert!(message.contains("identifier"), "{message}");
    assert_eq!(app.head().await, head + 1, "only the valid create was appended");
}
