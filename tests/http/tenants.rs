//! `/api/v2/tenants`, end to end.

use eventstore::testing::TestDatabase;
use reqwest::Method;
use serde_json::json;
use tenancy_tests::{TestApp, error_of, json_of};

eventstore::backend_tests!(
    a_tenant_can_be_created_read_updated_listed_and_deleted,
    a_duplicate_tenant_id_is_a_409_and_appends_nothing,
    the_control_plane_cannot_be_deleted,
    an_invalid_tenant_id_is_a_400,
);

async fn a_tenant_can_be_created_read_updated_listed_and_deleted(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let body = json!({ "id": "acme", "friendly_name": "Acme Inc." });
    let tenant = json_of(app.api(Method::POST, "/tenants", Some(body)).await, 201).await;
    assert_eq!(tenant, json!({ "id": "acme", "name": "acme", "friendly_name": "Acme Inc." }));
    assert_eq!(json_of(app.api(Method::GET, "/tenants/acme", None).await, 200).await, tenant);

    let patched = app.api(Method::PATCH, "/tenants/acme", Some(json!({ "friendly_name": "Acme" }))).await;
    assert_eq!(json_of(patched, 200).await["friendly_name"], "Acme");

    let list = json_of(app.api(Method::GET, "/tenants?include_totals=true", None).await, 200).await;
    assert_eq!(list["total"], 2, "the control plane and acme");
    let generated =
        json_of(app.api(Method::POST, "/tenants", Some(json!({ "friendly_name": "Gen" }))).await, 201).await;
    assert!(!generated["id"].as_str().unwrap().is_empty());

    json_of(app.api(Method::DELETE, "/tenants/acme", None).await, 200).await;
    error_of(app.api(Method::GET, "/tenants/acme", None).await, 404).await;
}

async fn a_duplicate_tenant_id_is_a_409_and_appends_nothing(db: TestDatabase) {
    let app = TestApp::start(db).await;
    json_of(app.api(Method::POST, "/tenants", Some(json!({ "id": "acme" }))).await, 201).await;
    let head = app.head().await;
    error_of(app.api(Method::POST, "/tenants", Some(json!({ "id": "acme" }))).await, 409).await;
    error_of(app.api(Method::POST, "/tenants", Some(json!({ "id": "control_plane" }))).await, 409).await;
    assert_eq!(app.head().await, head);
}

async fn the_control_plane_cannot_be_deleted(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let head = app.head().await;
    error_of(app.api(Method::DELETE, "/tenants/control_plane", None).await, 403).await;
    assert_eq!(app.head().await, head);
}

async fn an_invalid_tenant_id_is_a_400(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let head = app.head().await;
    let message = error_of(app.api(Method::POST, "/tenants", Some(json!({ "id": "Not Valid" }))).await, 400).await;
    assert!(message.starts_with("id:"), "{message}");
    assert_eq!(app.head().await, head);
}
