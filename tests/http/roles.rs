//! `/api/v2/roles` and `/api/v2/roles/{id}/permissions`, end to end.

use std::time::{Duration, Instant};

use eventstore::BackendKind;
use eventstore::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use tenancy_tests::{TestApp, error_of, json_of};

eventstore::backend_tests!(
    a_role_can_be_created_read_updated_listed_and_deleted,
    a_created_role_is_readable_at_once_every_time,
    a_duplicate_role_name_is_a_409_and_appends_nothing,
    permissions_can_be_added_listed_and_removed,
    a_permission_naming_an_unknown_scope_is_a_400_and_appends_nothing,
    an_idempotent_retry_returns_the_first_response_and_appends_nothing,
    an_idempotency_key_reused_with_another_body_is_a_422,
    role_lists_page_filter_and_count,
    a_missing_role_is_a_404_in_the_error_shape,
    concurrent_creates_of_one_name_leave_exactly_one_role,
    a_change_not_readable_in_time_is_a_503_naming_its_position,
    a_command_answers_without_waiting_for_the_sql_read_models_and_reads_wait_for_them,
    roles_created_concurrently_are_all_listed,
);

pub async fn create_api(app: &TestApp, identifier: &str, scopes: &[&str]) -> Value {
    let scopes: Vec<Value> = scopes.iter().map(|s| json!({ "value": s, "description": format!("Can {s}") })).collect();
    let body = json!({ "name": format!("API {identifier}"), "identifier": identifier, "scopes": scopes });
    json_of(app.api(Method::POST, "/resource-servers", Some(body)).await, 201).await
}

async fn a_role_can_be_created_read_updated_listed_and_deleted(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let created = app.api(Method::POST, "/roles", Some(json!({ "name": "Admin", "description": "All of it" }))).await;
    assert!(created.headers().contains_key("x-tenancy-position"));
    let role = json_of(created, 200).await;
    let id = role["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("rol_"));
    assert_eq!((role["name"].as_str(), role["description"].as_str()), (Some("Admin"), Some("All of it")));

    assert_eq!(json_of(app.api(Method::GET, &format!("/roles/{id}"), None).await, 200).await, role);

    let patched = app.api(Method::PATCH, &format!("/roles/{id}"), Some(json!({ "name": "Operators" }))).await;
    let patched = json_of(patched, 200).await;
    assert_eq!((patched["name"].as_str(), patched["description"].as_str()), (Some("Operators"), Some("All of it")));
    let cleared = app.api(Method::PATCH, &format!("/roles/{id}"), Some(json!({ "description": null }))).await;
    assert_eq!(json_of(cleared, 200).await["description"], Value::Null);

    let list = json_of(app.api(Method::GET, "/roles", None).await, 200).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "Operators");

    json_of(app.api(Method::DELETE, &format!("/roles/{id}"), None).await, 200).await;
    error_of(app.api(Method::GET, &format!("/roles/{id}"), None).await, 404).await;
    error_of(app.api(Method::DELETE, &format!("/roles/{id}"), None).await, 404).await;
    // The name is free again once the role is gone.
    json_of(app.api(Method::POST, "/roles", Some(json!({ "name": "operators" }))).await, 200).await;
}

async fn a_created_role_is_readable_at_once_every_time(db: TestDatabase) {
    let app = TestApp::start(db).await;
    for i in 0..200 {
        let role =
            json_of(app.api(Method::POST, "/roles", Some(json!({ "name": format!("role-{i}") }))).await, 200).await;
        let read = app.api(Method::GET, &format!("/roles/{}", role["id"].as_str().unwrap()), None).await;
        assert_eq!(read.status(), 200, "role {i} was not readable right after its creation");
    }
}

async fn a_duplicate_role_name_is_a_409_and_appends_nothing(db: TestDatabase) {
    let app = TestApp::start(db).await;
    json_of(app.api(Method::POST, "/roles", Some(json!({ "name": "Admin" }))).await, 200).await;
    let head = app.head().await;
    let message = error_of(app.api(Method::POST, "/roles", Some(json!({ "name": "admin" }))).await, 409).await;
    assert!(message.contains("already exists"), "{message}");
    assert_eq!(app.head().await, head);

    let other = json_of(app.api(Method::POST, "/roles", Some(json!({ "name": "Other" }))).await, 200).await;
    let head = app.head().await;
    let path = format!("/roles/{}", other["id"].as_str().unwrap());
    error_of(app.api(Method::PATCH, &path, Some(json!({ "name": "ADMIN" }))).await, 409).await;
    assert_eq!(app.head().await, head);
}

async fn permissions_can_be_added_listed_and_removed(db: TestDatabase) {
    let app = TestApp::start(db).await;
    create_api(&app, "https://invoices.example/", &["read:invoices", "write:invoices"]).await;
    let role = json_of(app.api(Method::POST, "/roles", Some(json!({ "name": "Billing" }))).await, 200).await;
    let path = format!("/roles/{}/permissions", role["id"].as_str().unwrap());
    let permissions = json!({ "permissions": [
        { "resource_server_identifier": "https://invoices.example/", "permission_name": "read:invoices" },
        { "resource_server_identifier": "https://invoices.example/", "permission_name": "write:invoices" },
    ]});
    json_of(app.api(Method::POST, &path, Some(permissions.clone())).await, 201).await;
    // Adding them again changes nothing.
    let head = app.head().await;
    json_of(app.api(Method::POST, &path, Some(permissions)).await, 201).await;
    assert_eq!(app.head().await, head);

    let listed = json_of(app.api(Method::GET, &path, None).await, 200).await;
    assert_eq!(
        listed[0],
        json!({
            "resource_server_identifier": "https://invoices.example/",
            "permission_name": "read:invoices",
            "resource_server_name": "API https://invoices.example/",
            "description": "Can read:invoices",
        })
    );
    let page =
        json_of(app.api(Method::GET, &format!("{path}?include_totals=true&per_page=1&page=1"), None).await, 200).await;
    assert_eq!((page["start"].as_u64(), page["limit"].as_u64(), page["total"].as_u64()), (Some(1), Some(1), Some(2)));
    assert_eq!(page["permissions"][0]["permission_name"], "write:invoices");

    let remove = json!({ "permissions": [
        { "resource_server_identifier": "https://invoices.example/", "permission_name": "read:invoices" },
    ]});
    json_of(app.api(Method::DELETE, &path, Some(remove)).await, 200).await;
    let listed = json_of(app.api(Method::GET, &path, None).await, 200).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["permission_name"], "write:invoices");
}

async fn a_permission_naming_an_unknown_scope_is_a_400_and_appends_nothing(db: TestDatabase) {
    let app = TestApp::start(db).await;
    create_api(&app, "https://invoices.example/", &["read:invoices"]).await;
    let role = json_of(app.api(Method::POST, "/roles", Some(json!({ "name": "Billing" }))).await, 200).await;
    let path = format!("/roles/{}/permissions", role["id"].as_str().unwrap());
    let head = app.head().await;
    for (identifier, scope) in
        [("https://invoices.example/", "delete:invoices"), ("https://nowhere.example/", "read:x")]
    {
        let body = json!({ "permissions": [{ "resource_server_identifier": identifier, "permission_name": scope }] });
        let message = error_of(app.api(Method::POST, &path, Some(body)).await, 400).await;
        assert!(message.contains("permissions"), "{message}");
    }
    let empty = json!({ "permissions": [] });
    error_of(app.api(Method::POST, &path, Some(empty)).await, 400).await;
    assert_eq!(app.head().await, head);
}

async fn an_idempotent_retry_returns_the_first_response_and_appends_nothing(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let token = app.token().await;
    let send = || {
        app.client
            .post(app.url("/api/v2/roles"))
            .bearer_auth(&token)
            .header("Idempotency-Key", "create-admin-1")
            .json(&json!({ "name": "Admin" }))
            .send()
    };
    let first = send().await.unwrap();
    let position = first.headers()["x-tenancy-position"].clone();
    let first = json_of(first, 200).await;
    let head = app.head().await;

    let retry = send().await.unwrap();
    assert_eq!(retry.headers()["x-tenancy-position"], position);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    assert_eq!(json_of(retry, 200).await, first);
    assert_eq!(app.head().await, head);
    assert_eq!(json_of(app.api(Method::GET, "/roles", None).await, 200).await.as_array().unwrap().len(), 1);

    // A retried delete answers like the first one, although the role is gone by now.
    let delete = || {
        app.client
            .delete(app.url(&format!("/api/v2/roles/{}", first["id"].as_str().unwrap())))
            .bearer_auth(&token)
            .header("Idempotency-Key", "delete-admin-1")
            .send()
    };
    assert_eq!(delete().await.unwrap().status(), 200);
    let head = app.head().await;
    assert_eq!(delete().await.unwrap().status(), 200);
    assert_eq!(app.head().await, head);
}

async fn an_idempotency_key_reused_with_another_body_is_a_422(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let token = app.token().await;
    let send = |name: &str| {
        app.client
            .post(app.url("/api/v2/roles"))
            .bearer_auth(&token)
            .header("Idempotency-Key", "key-1")
            .json(&json!({ "name": name }))
            .send()
    };
    json_of(send("Admin").await.unwrap(), 200).await;
    let head = app.head().await;
    error_of(send("Other").await.unwrap(), 422).await;
    assert_eq!(app.head().await, head);
}

async fn role_lists_page_filter_and_count(db: TestDatabase) {
    let app = TestApp::start(db).await;
    for name in ["alpha", "beta", "gamma", "delta", "alphabet"] {
        json_of(app.api(Method::POST, "/roles", Some(json!({ "name": name }))).await, 200).await;
    }
    let page = json_of(app.api(Method::GET, "/roles?per_page=2&page=1&include_totals=true", None).await, 200).await;
    assert_eq!((page["start"].as_u64(), page["limit"].as_u64(), page["length"].as_u64()), (Some(2), Some(2), Some(2)));
    assert_eq!(page["total"], 5);
    let names: Vec<&str> = page["roles"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["beta", "delta"]);

    let filtered = json_of(app.api(Method::GET, "/roles?name_filter=ALPH", None).await, 200).await;
    assert_eq!(filtered.as_array().unwrap().len(), 2);

    error_of(app.api(Method::GET, "/roles?per_page=101", None).await, 400).await;
    error_of(app.api(Method::GET, "/roles?page=-1", None).await, 400).await;
}

async fn a_missing_role_is_a_404_in_the_error_shape(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let head = app.head().await;
    error_of(app.api(Method::GET, "/roles/rol_nope", None).await, 404).await;
    error_of(app.api(Method::PATCH, "/roles/rol_nope", Some(json!({ "name": "x" }))).await, 404).await;
    error_of(app.api(Method::GET, "/roles/rol_nope/permissions", None).await, 404).await;
    assert_eq!(app.head().await, head);
}

async fn concurrent_creates_of_one_name_leave_exactly_one_role(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let token = app.token().await;
    let head = app.head().await;
    let creates = (0..12).map(|i| {
        let name = if i % 2 == 0 { "Admin" } else { "ADMIN" };
        app.api_with(Method::POST, "/roles", Some(json!({ "name": name })), &token)
    });
    let statuses: Vec<u16> = futures::future::join_all(creates).await.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 11, "{statuses:?}");
    assert_eq!(app.head().await, head + 1, "one role.created, nothing else");
    assert_eq!(json_of(app.api(Method::GET, "/roles", None).await, 200).await.as_array().unwrap().len(), 1);
}

async fn a_change_not_readable_in_time_is_a_503_naming_its_position(db: TestDatabase) {
    // No time at all for the projections: a create is committed before they can apply it, so
    // the command (waiting for the in-memory models) or the read after it (waiting for the SQL
    // read models) cannot answer.
    let app = TestApp::start_with(db, |config| config.consistency_timeout_ms = 0).await;
    let mut answered = None;
    // A runner could, in principle, apply the event before the handler looks; try a few.
    for i in 0..5 {
        let created = app.api(Method::POST, "/roles", Some(json!({ "name": format!("late-{i}") }))).await;
        let response = if created.status() == 503 {
            created
        } else {
            let role = json_of(created, 200).await;
            app.api(Method::GET, &format!("/roles/{}", role["id"].as_str().unwrap()), None).await
        };
        if response.status() == 503 {
            answered = Some(response);
            break;
        }
    }
    let response = answered.expect("a 503 when the read models cannot catch up in time");
    let position: u64 = response.headers()["x-tenancy-position"].to_str().unwrap().parse().unwrap();
    let message = error_of(response, 503).await;
    assert!(message.contains(&format!("position {position}")), "{message}");
    assert!(app.head().await >= position, "the change itself was committed");
}

/// Only on PostgreSQL, where a test can hold one read model's table while the log stays
/// writable (SQLite has one write lock for both).
async fn a_command_answers_without_waiting_for_the_sql_read_models_and_reads_wait_for_them(db: TestDatabase) {
    if db.kind != BackendKind::Postgres {
        return;
    }
    let app = TestApp::start_with(db, |config| config.consistency_timeout_ms = 10_000).await;
    let token = app.token().await;
    let mut holder = app.state.db.pool.begin().await.unwrap();
    eventstore::sqlx::query("LOCK TABLE roles IN ACCESS EXCLUSIVE MODE").execute(&mut *holder).await.unwrap();

    let created = app.api_with(Method::POST, "/roles", Some(json!({ "name": "held" })), &token);
    let created = tokio::time::timeout(Duration::from_secs(5), created).await.expect("the command answers");
    let role = json_of(created, 200).await;
    let path = format!("/roles/{}", role["id"].as_str().unwrap());
    let read = async { (app.api_with(Method::GET, &path, None, &token).await, Instant::now()) };
    let release = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Before the COMMIT is sent: the read may answer before the COMMIT's reply arrives.
        let releasing = Instant::now();
        holder.commit().await.unwrap();
        releasing
    };
    let ((read, read_at), released_at) = tokio::join!(read, release);
    assert!(read_at >= released_at, "the read waited for roles.v1 to apply the create");
    assert_eq!(json_of(read, 200).await, role);
}

async fn roles_created_concurrently_are_all_listed(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let token = app.token().await;
    let creates =
        (0..60).map(|i| app.api_with(Method::POST, "/roles", Some(json!({ "name": format!("r{i:02}") })), &token));
    for response in futures::future::join_all(creates).await {
        assert_eq!(response.status(), 200);
    }
    let page = json_of(app.api(Method::GET, "/roles?include_totals=true&per_page=100", None).await, 200).await;
    assert_eq!(page["total"], 60);
    assert_eq!(page["roles"][59]["name"], "r59");
}
