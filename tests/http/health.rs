//! `/healthz`, `/readyz`, `/metrics`, and the error shape of an unknown route.

use eventstore::testing::TestDatabase;
use serde_json::Value;
use tenancy_tests::TestApp;

eventstore::backend_tests!(
    healthz_answers_ok,
    readyz_reports_the_backend_head_and_projections,
    metrics_are_in_the_prometheus_text_format,
    an_unknown_route_is_a_404_in_the_error_shape,
    the_openapi_document_covers_every_management_route,
);

async fn healthz_answers_ok(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "ok");
    app.stop().await;
}

async fn readyz_reports_the_backend_head_and_projections(db: TestDatabase) {
    let kind = db.kind;
    let app = TestApp::start(db).await;
    let response = app.get("/readyz").await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    assert_eq!(body["backend"], kind.name());
    assert!(body["head"].as_u64().unwrap() > 0, "bootstrap committed");
    assert!(body["projections"].is_array());
}

async fn metrics_are_in_the_prometheus_text_format(db: TestDatabase) {
    let app = TestApp::start(db).await;
    app.get("/healthz").await;
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = response.text().await.unwrap();
    for metric in [
        // Bootstrap's one append, and the control plane's first signing key's.
        "tenancy_log_head_position 6",
        "tenancy_event_store_appends_total 2",
        r#"tenancy_http_requests_total{method="GET",route="/healthz",status="200"} 1"#,
    ] {
        assert!(text.contains(metric), "missing {metric:?} in:\n{text}");
    }
}

async fn an_unknown_route_is_a_404_in_the_error_shape(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let response = app.get("/api/v2/nothing-here").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["statusCode"], 404);
    assert_eq!(body["error"], "Not Found");
    assert!(body["message"].is_string());
    assert!(body["errorCode"].is_string());
}

async fn the_openapi_document_covers_every_management_route(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let response = app.get("/api/v2/openapi.json").await;
    assert_eq!(response.status(), 200);
    let doc: Value = response.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    for (path, methods) in [
        ("/api/v2/tenants", &["get", "post"][..]),
        ("/api/v2/tenants/{id}", &["get", "patch", "delete"]),
        ("/api/v2/resource-servers", &["get", "post"]),
        ("/api/v2/resource-servers/{id}", &["get", "patch", "delete"]),
        ("/api/v2/roles", &["get", "post"]),
        ("/api/v2/roles/{id}", &["get", "patch", "delete"]),
        ("/api/v2/roles/{id}/permissions", &["get", "post", "delete"]),
        ("/api/v2/tenants/settings", &["get", "patch"]),
        ("/api/v2/users", &["get", "post"]),
        ("/api/v2/users/{id}", &["get", "patch", "delete"]),
        ("/api/v2/users-by-email", &["get"]),
        ("/api/v2/users/{id}/roles", &["get", "post", "delete"]),
        ("/api/v2/users/{id}/permissions", &["get", "post", "delete"]),
        ("/api/v2/users/{id}/organizations", &["get"]),
        ("/api/v2/users/{id}/claims", &["get"]),
        ("/api/v2/organizations", &["get", "post"]),
        ("/api/v2/organizations/{id}", &["get", "patch", "delete"]),
        ("/api/v2/organizations/name/{name}", &["get"]),
        ("/api/v2/organizations/{id}/members", &["get", "post", "delete"]),
        ("/api/v2/organizations/{id}/members/{user_id}/roles", &["get", "post", "delete"]),
        ("/api/v2/clients", &["get", "post"]),
        ("/api/v2/clients/{id}", &["get", "patch", "delete"]),
        ("/api/v2/clients/{id}/rotate-secret", &["post"]),
        ("/api/v2/client-grants", &["get", "post"]),
        ("/api/v2/client-grants/{id}", &["patch", "delete"]),
        ("/api/v2/keys/signing", &["get"]),
        ("/api/v2/keys/signing/{kid}", &["get"]),
        ("/api/v2/keys/signing/rotate", &["post"]),
        ("/api/v2/keys/signing/{kid}/revoke", &["put"]),
    ] {
        for method in methods {
            assert!(doc["paths"][path][method].is_object(), "{method} {path} is missing");
        }
    }
    for schema in [
        "RoleView",
        "RolePermissionView",
        "ResourceServerView",
        "TenantView",
        "ErrorBody",
        "Scope",
        "UserView",
        "OrganizationView",
        "MemberView",
        "ClientView",
        "ClientWithSecret",
        "ClientGrantView",
        "SettingsView",
        "EffectiveSettings",
        "Branding",
        "SigningKeyView",
        "UserClaims",
    ] {
        assert!(doc["components"]["schemas"][schema].is_object(), "schema {schema} is missing");
    }
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
}
