//! Bad requests: every one answered in the error shape, and none appends anything.

use eventstore::testing::TestDatabase;
use tenancy_tests::{TestApp, error_of};

eventstore::backend_tests!(
    an_oversized_body_is_a_413_and_appends_nothing,
    malformed_json_is_a_400_and_appends_nothing,
    a_missing_or_unknown_field_is_a_400_naming_it,
);

/// `POST /api/v2/roles` with `body` sent as is, declared as JSON.
async fn post_raw(app: &TestApp, token: &str, body: String) -> reqwest::Response {
    let request = app.client.post(app.url("/api/v2/roles")).bearer_auth(token);
    request.header("content-type", "application/json").body(body).send().await.unwrap()
}

async fn an_oversized_body_is_a_413_and_appends_nothing(db: TestDatabase) {
    let app = TestApp::start_with(db, |config| config.max_body_bytes = 4 * 1024).await;
    let token = app.token().await;
    let head = app.head().await;
    let body = format!(r#"{{"name": "big", "description": "{}"}}"#, "x".repeat(8 * 1024));
    error_of(post_raw(&app, &token, body).await, 413).await;
    assert_eq!(app.head().await, head);
}

async fn malformed_json_is_a_400_and_appends_nothing(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let token = app.token().await;
    let head = app.head().await;
    for body in [r#"{"name": "#, "not json", r#"["name"]"#] {
        error_of(post_raw(&app, &token, body.to_owned()).await, 400).await;
    }
    assert_eq!(app.head().await, head);
}

async fn a_missing_or_unknown_field_is_a_400_naming_it(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let head = app.head().await;
    let missing = app.api(reqwest::Method::POST, "/roles", Some(serde_json::json!({ "description": "x" }))).await;
    assert!(error_of(missing, 400).await.contains("name"));
    let unknown =
        app.api(reqwest::Method::POST, "/roles", Some(serde_json::json!({ "name": "x", "colour": "red" }))).await;
    assert!(error_of(unknown, 400).await.contains("colour"));
    let wrong_type = app.api(reqwest::Method::POST, "/roles", Some(serde_json::json!({ "name": 42 }))).await;
    assert!(error_of(wrong_type, 400).await.contains("name"));
    assert_eq!(app.head().await, head);
}
