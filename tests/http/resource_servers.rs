//! `/api/v2/resource-servers`, end to end.

use eventstore::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use tenancy_tests::{TestApp, error_of, json_of};

use crate::roles::create_api;
use crate::users::{create_user, id_of, urlencode};

eventstore::backend_tests!(
    a_resource_server_can_be_created_read_by_id_or_identifier_updated_and_deleted,
    a_duplicate_identifier_is_a_409_and_appends_nothing,
    the_management_api_is_a_system_resource_server_that_cannot_be_changed,
    bad_resource_server_input_is_a_400_naming_the_field,
    deleting_an_api_takes_its_permissions_and_grants_with_it_and_its_identifier_starts_clean,
    removing_a_scope_takes_it_from_every_role_user_and_grant,
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

/// A role, a user and a client holding `scopes` of the invoices API: their permission and
/// grant paths, and the client's credentials.
struct Holders {
    role_permissions: String,
    user_permissions: String,
    client_id: String,
}

async fn holders_of(app: &TestApp, scopes: &[&str]) -> Holders {
    let permissions: Vec<Value> = scopes
        .iter()
        .map(|s| json!({ "resource_server_identifier": "https://invoices.example/", "permission_name": s }))
        .collect();
    let role = json_of(app.api(Method::POST, "/roles", Some(json!({ "name": "Billing" }))).await, 200).await;
    let role_permissions = format!("/roles/{}/permissions", role["id"].as_str().unwrap());
    let user = create_user(app, "billing@example.com").await;
    let user_permissions = format!("/users/{}/permissions", urlencode(&id_of(&user)));
    for path in [&role_permissions, &user_permissions] {
        let added = app.api(Method::POST, path, Some(json!({ "permissions": permissions }))).await;
        assert_eq!(added.status(), 201, "{path}");
    }
    let client = json_of(app.api(Method::POST, "/clients", Some(json!({ "name": "Sync" }))).await, 201).await;
    let client_id = client["client_id"].as_str().unwrap().to_owned();
    let grant = json!({ "client_id": client_id, "audience": "https://invoices.example/", "scope": scopes });
    json_of(app.api(Method::POST, "/client-grants", Some(grant)).await, 201).await;
    Holders { role_permissions, user_permissions, client_id }
}

async fn names(app: &TestApp, path: &str) -> Vec<String> {
    let listed = json_of(app.api(Method::GET, path, None).await, 200).await;
    listed.as_array().unwrap().iter().map(|p| p["permission_name"].as_str().unwrap().to_owned()).collect()
}

async fn deleting_an_api_takes_its_permissions_and_grants_with_it_and_its_identifier_starts_clean(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let api = create_api(&app, "https://invoices.example/", &["read:invoices"]).await;
    let holders = holders_of(&app, &["read:invoices"]).await;
    let deleted = app.api(Method::DELETE, &format!("/resource-servers/{}", api["id"].as_str().unwrap()), None).await;
    assert!(deleted.status().is_success());
    let events = app.state.db.store.read(&eventstore::LogQuery::after(0).limit(10_000)).await.unwrap();
    for event_type in ["role.permissions_removed", "user.permissions_removed", "client_grant.deleted"] {
        assert!(events.iter().any(|e| e.event_type == event_type), "no {event_type} in the log");
    }

    // The same identifier again: nobody holds its scope, and granting it works from scratch.
    create_api(&app, "https://invoices.example/", &["read:invoices"]).await;
    assert!(names(&app, &holders.role_permissions).await.is_empty());
    assert!(names(&app, &holders.user_permissions).await.is_empty());
    let read =
        json!([{ "resource_server_identifier": "https://invoices.example/", "permission_name": "read:invoices" }]);
    app.api(Method::POST, &holders.role_permissions, Some(json!({ "permissions": read }))).await;
    assert_eq!(names(&app, &holders.role_permissions).await, ["read:invoices"]);
    let grant =
        json!({ "client_id": holders.client_id, "audience": "https://invoices.example/", "scope": ["read:invoices"] });
    json_of(app.api(Method::POST, "/client-grants", Some(grant)).await, 201).await;
}

async fn removing_a_scope_takes_it_from_every_role_user_and_grant(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let api = create_api(&app, "https://invoices.example/", &["read:invoices", "write:invoices"]).await;
    let holders = holders_of(&app, &["read:invoices", "write:invoices"]).await;
    let scopes = json!({ "scopes": [{ "value": "read:invoices", "description": "Read" }] });
    json_of(
        app.api(Method::PATCH, &format!("/resource-servers/{}", api["id"].as_str().unwrap()), Some(scopes)).await,
        200,
    )
    .await;
    assert_eq!(names(&app, &holders.role_permissions).await, ["read:invoices"]);
    assert_eq!(names(&app, &holders.user_permissions).await, ["read:invoices"]);
    let grants =
        json_of(app.api(Method::GET, &format!("/client-grants?client_id={}", holders.client_id), None).await, 200)
            .await;
    assert_eq!(grants[0]["scope"], json!(["read:invoices"]));
}
