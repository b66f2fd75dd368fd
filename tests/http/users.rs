//! `/api/v2/users`, `/api/v2/users-by-email`, a user's roles and direct permissions, end to end.

use eventstore::LogQuery;
use eventstore::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use tenancy_tests::{TestApp, error_of, json_of};

use crate::roles::create_api;

eventstore::backend_tests!(
    a_user_can_be_created_read_updated_listed_and_deleted,
    personal_data_is_sealed_in_the_log_and_the_hash_is_never_shown,
    a_duplicate_email_is_a_409_and_appends_nothing,
    bad_user_input_is_a_400_naming_the_field_and_appends_nothing,
    roles_can_be_assigned_listed_and_removed_and_a_deleted_role_leaves_every_user,
    direct_permissions_can_be_added_listed_and_removed,
    a_missing_user_is_a_404_in_the_error_shape,
);

pub(crate) async fn create_user(app: &TestApp, email: &str) -> Value {
    let body = json!({ "email": email, "password": "correct horse battery", "connection": "Username-Password-Authentication" });
    json_of(app.api(Method::POST, "/users", Some(body)).await, 201).await
}

pub(crate) fn id_of(value: &Value) -> String {
    value["user_id"].as_str().or(value["id"].as_str()).unwrap().to_owned()
}

async fn a_user_can_be_created_read_updated_listed_and_deleted(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let body = json!({
        "email": "Jane@Example.com", "password": "correct horse battery", "name": "Jane Doe",
        "given_name": "Jane", "user_metadata": { "theme": "dark", "lang": "en" },
        "app_metadata": { "plan": "pro" }, "email_verified": true,
    });
    let created = app.api(Method::POST, "/users", Some(body)).await;
    assert!(created.headers().contains_key("x-tenancy-position"));
    let user = json_of(created, 201).await;
    let id = id_of(&user);
    assert!(id.starts_with("auth0|"), "{id}");
    assert_eq!(user["email"], "Jane@Example.com");
    assert_eq!(user["email_verified"], true);
    assert_eq!(user["name"], "Jane Doe");
    assert_eq!(user["user_metadata"], json!({ "theme": "dark", "lang": "en" }));
    assert_eq!(user["app_metadata"], json!({ "plan": "pro" }));
    assert_eq!(user["blocked"], false);
    assert_eq!(user["identities"][0]["connection"], "Username-Password-Authentication");
    assert_eq!(user["identities"][0]["provider"], "auth0");

    let path = format!("/users/{}", urlencode(&id));
    assert_eq!(json_of(app.api(Method::GET, &path, None).await, 200).await, user);

    let patch =
        json!({ "name": null, "nickname": "jd", "user_metadata": { "theme": null, "tz": "UTC" }, "blocked": true });
    let patched = json_of(app.api(Method::PATCH, &path, Some(patch)).await, 200).await;
    assert_eq!(patched["name"], Value::Null);
    assert_eq!(patched["nickname"], "jd");
    assert_eq!(patched["given_name"], "Jane");
    assert_eq!(patched["user_metadata"], json!({ "lang": "en", "tz": "UTC" }));
    assert_eq!(patched["blocked"], true);

    let found = json_of(app.api(Method::GET, "/users-by-email?email=jane%40EXAMPLE.com", None).await, 200).await;
    assert_eq!(found.as_array().unwrap().len(), 1);
    assert_eq!(id_of(&found[0]), id);

    // The bootstrap administrator is a user of the control plane too.
    let list = json_of(app.api(Method::GET, "/users?include_totals=true&per_page=1", None).await, 200).await;
    assert_eq!(
        (list["total"].as_u64(), list["limit"].as_u64(), list["users"].as_array().unwrap().len()),
        (Some(2), Some(1), 1)
    );

    let deleted = app.api(Method::DELETE, &path, None).await;
    assert_eq!(deleted.status(), 204);
    error_of(app.api(Method::GET, &path, None).await, 404).await;
    let gone = json_of(app.api(Method::GET, "/users-by-email?email=jane@example.com", None).await, 200).await;
    assert_eq!(gone, json!([]));
    // The address is free again once its user is gone.
    create_user(&app, "jane@example.com").await;
}

async fn personal_data_is_sealed_in_the_log_and_the_hash_is_never_shown(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let body = json!({ "email": "secret.person@example.com", "password": "correct horse battery", "family_name": "Hidden-Surname" });
    let user = json_of(app.api(Method::POST, "/users", Some(body)).await, 201).await;
    let text = user.to_string();
    assert!(!text.contains("argon2") && !text.contains("password"), "{text}");

    let events = app.state.db.store.read(&LogQuery::after(0).limit(10_000)).await.unwrap();
    let created =
        events.iter().find(|e| e.event_type == "user.created" && e.payload.to_string().contains(&id_of(&user)));
    let payload = created.expect("the user.created event").payload.to_string();
    for plaintext in ["secret.person", "Hidden-Surname"] {
        assert!(!payload.contains(plaintext), "{plaintext} in {payload}");
    }
}

async fn a_duplicate_email_is_a_409_and_appends_nothing(db: TestDatabase) {
    let app = TestApp::start(db).await;
    create_user(&app, "ann@example.com").await;
    let other = create_user(&app, "bob@example.com").await;
    let head = app.head().await;
    let body = json!({ "email": "ANN@example.com", "password": "correct horse battery" });
    let message = error_of(app.api(Method::POST, "/users", Some(body)).await, 409).await;
    assert!(message.contains("already exists"), "{message}");
    let path = format!("/users/{}", urlencode(&id_of(&other)));
    error_of(app.api(Method::PATCH, &path, Some(json!({ "email": "ann@EXAMPLE.com" }))).await, 409).await;
    assert_eq!(app.head().await, head);
}

async fn bad_user_input_is_a_400_naming_the_field_and_appends_nothing(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let head = app.head().await;
    for (body, field) in [
        (json!({ "email": "a@example.com" }), "password"),
        (json!({ "email": "a@example.com", "password": "short" }), "password"),
        (json!({ "email": "not-an-email", "password": "correct horse battery" }), "email"),
        (
            json!({ "email": "a@example.com", "password": "correct horse battery", "connection": "google-oauth2" }),
            "connection",
        ),
        (json!({ "email": "a@example.com", "password": "correct horse battery", "blocked": "yes" }), "blocked"),
        (json!({ "email": "a@example.com", "password": "correct horse battery", "user_id": "mine" }), "user_id"),
    ] {
        let message = error_of(app.api(Method::POST, "/users", Some(body.clone())).await, 400).await;
        assert!(message.contains(field), "{body}: {message}");
    }
    assert_eq!(app.head().await, head);
}

async fn roles_can_be_assigned_listed_and_removed_and_a_deleted_role_leaves_every_user(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let user = create_user(&app, "ops@example.com").await;
    let path = format!("/users/{}/roles", urlencode(&id_of(&user)));
    let admin = json_of(app.api(Method::POST, "/roles", Some(json!({ "name": "Admin" }))).await, 200).await;
    let viewer = json_of(app.api(Method::POST, "/roles", Some(json!({ "name": "Viewer" }))).await, 200).await;
    let (admin_id, viewer_id) = (id_of(&admin), id_of(&viewer));

    let assigned = app.api(Method::POST, &path, Some(json!({ "roles": [admin_id, viewer_id] }))).await;
    assert_eq!(assigned.status(), 204);
    let roles = json_of(app.api(Method::GET, &path, None).await, 200).await;
    assert_eq!(roles, json!([admin, viewer]));

    let head = app.head().await;
    let message = error_of(app.api(Method::POST, &path, Some(json!({ "roles": ["rol_missing"] }))).await, 400).await;
    assert!(message.contains("rol_missing"), "{message}");
    assert_eq!(app.head().await, head);

    let removed = app.api(Method::DELETE, &path, Some(json!({ "roles": [viewer_id] }))).await;
    assert_eq!(removed.status(), 204);
    assert_eq!(json_of(app.api(Method::GET, &path, None).await, 200).await, json!([admin]));

    json_of(app.api(Method::DELETE, &format!("/roles/{admin_id}"), None).await, 200).await;
    let roles = json_of(app.api(Method::GET, &format!("{path}?include_totals=true"), None).await, 200).await;
    assert_eq!((roles["total"].as_u64(), roles["roles"].clone()), (Some(0), json!([])));
}

async fn direct_permissions_can_be_added_listed_and_removed(db: TestDatabase) {
    let app = TestApp::start(db).await;
    create_api(&app, "https://invoices.example/", &["read:invoices", "write:invoices"]).await;
    let user = create_user(&app, "billing@example.com").await;
    let path = format!("/users/{}/permissions", urlencode(&id_of(&user)));
    let read = json!({ "resource_server_identifier": "https://invoices.example/", "permission_name": "read:invoices" });

    let added = app.api(Method::POST, &path, Some(json!({ "permissions": [read] }))).await;
    assert_eq!(added.status(), 201);
    let listed = json_of(app.api(Method::GET, &path, None).await, 200).await;
    assert_eq!(
        listed,
        json!([{
            "permission_name": "read:invoices", "description": "Can read:invoices",
            "resource_server_name": "API https://invoices.example/", "resource_server_identifier": "https://invoices.example/",
        }])
    );

    let head = app.head().await;
    let unknown =
        json!({ "resource_server_identifier": "https://invoices.example/", "permission_name": "delete:invoices" });
    error_of(app.api(Method::POST, &path, Some(json!({ "permissions": [unknown] }))).await, 400).await;
    assert_eq!(app.head().await, head);

    let removed = app.api(Method::DELETE, &path, Some(json!({ "permissions": [read] }))).await;
    assert_eq!(removed.status(), 204);
    assert_eq!(json_of(app.api(Method::GET, &path, None).await, 200).await, json!([]));
}

async fn a_missing_user_is_a_404_in_the_error_shape(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let head = app.head().await;
    for (method, path, body) in [
        (Method::GET, "/users/auth0%7Cmissing", None),
        (Method::PATCH, "/users/auth0%7Cmissing", Some(json!({ "nickname": "x" }))),
        (Method::DELETE, "/users/auth0%7Cmissing", None),
        (Method::GET, "/users/auth0%7Cmissing/roles", None),
        (Method::GET, "/users/auth0%7Cmissing/permissions", None),
    ] {
        let response = app.api(method.clone(), path, body).await;
        assert_eq!(response.status(), 404, "{method} {path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!((error["statusCode"].as_u64(), error["errorCode"].as_str()), (Some(404), Some("inexistent_user")));
    }
    assert_eq!(app.head().await, head);
}

/// User ids hold `|`, which a path segment carries percent-encoded.
pub(crate) fn urlencode(id: &str) -> String {
    id.replace('|', "%7C")
}
