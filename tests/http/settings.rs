//! `/api/v2/tenants/settings`: effective values with inheritance from the control plane, the
//! per-tenant password policy, and the `tenant-id` header that lets a platform administrator
//! act in a child tenant.

use eventstore::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use tenancy_tests::{TestApp, error_of, json_of};

eventstore::backend_tests!(
    settings_show_defaults_and_changes_with_the_friendly_name,
    a_child_inherits_each_key_until_it_overrides_it_and_again_once_it_clears_it,
    the_password_policy_is_per_tenant,
    bad_settings_are_a_400_naming_the_key_and_append_nothing,
    only_a_platform_administrator_may_name_another_tenant,
);

async fn create_tenant(app: &TestApp, id: &str) {
    json_of(app.api(Method::POST, "/tenants", Some(json!({ "id": id }))).await, 201).await;
}

async fn child_settings(app: &TestApp, tenant: &str) -> Value {
    json_of(app.api_in(tenant, Method::GET, "/tenants/settings", None).await, 200).await
}

async fn settings_show_defaults_and_changes_with_the_friendly_name(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let defaults = json_of(app.api(Method::GET, "/tenants/settings", None).await, 200).await;
    assert_eq!(defaults["session_lifetime"], 168);
    assert_eq!(defaults["idle_session_lifetime"], 72);
    assert_eq!(defaults["password_policy"], json!({ "min_length": 8 }));
    assert_eq!(defaults["flags"], json!({ "inherit_global_permissions_in_organizations": false }));
    assert_eq!(defaults["support_email"], Value::Null);

    let patch = json!({ "friendly_name": "Platform", "support_email": "help@platform.example", "flags": { "inherit_global_permissions_in_organizations": true } });
    let patched = app.api(Method::PATCH, "/tenants/settings", Some(patch)).await;
    assert!(patched.headers().contains_key("x-tenancy-position"));
    let patched = json_of(patched, 200).await;
    assert_eq!(patched["friendly_name"], "Platform");
    assert_eq!(patched["support_email"], "help@platform.example");
    assert_eq!(patched["flags"]["inherit_global_permissions_in_organizations"], true);
    assert_eq!(json_of(app.api(Method::GET, "/tenants/settings", None).await, 200).await, patched);
    let tenant = json_of(app.api(Method::GET, "/tenants/control_plane", None).await, 200).await;
    assert_eq!(tenant["friendly_name"], "Platform");
}

async fn a_child_inherits_each_key_until_it_overrides_it_and_again_once_it_clears_it(db: TestDatabase) {
    let app = TestApp::start(db).await;
    create_tenant(&app, "acme").await;
    // The control plane sets A (support_email) and B (session_lifetime).
    let both = json!({ "support_email": "help@platform.example", "session_lifetime": 24 });
    json_of(app.api(Method::PATCH, "/tenants/settings", Some(both)).await, 200).await;
    let child = child_settings(&app, "acme").await;
    assert_eq!(
        (child["support_email"].as_str(), child["session_lifetime"].as_u64()),
        (Some("help@platform.example"), Some(24))
    );
    assert_eq!(child["friendly_name"], "acme");

    // The child overrides B.
    let overridden = json_of(
        app.api_in("acme", Method::PATCH, "/tenants/settings", Some(json!({ "session_lifetime": 12 }))).await,
        200,
    )
    .await;
    assert_eq!(
        (overridden["support_email"].as_str(), overridden["session_lifetime"].as_u64()),
        (Some("help@platform.example"), Some(12))
    );
    let control = json_of(app.api(Method::GET, "/tenants/settings", None).await, 200).await;
    assert_eq!(control["session_lifetime"], 24, "the control plane keeps its own value");

    // The child clears B: inherited again.
    let cleared = json_of(
        app.api_in("acme", Method::PATCH, "/tenants/settings", Some(json!({ "session_lifetime": null }))).await,
        200,
    )
    .await;
    assert_eq!(cleared["session_lifetime"], 24);

    // The control plane changes A: the child follows.
    json_of(
        app.api(Method::PATCH, "/tenants/settings", Some(json!({ "support_email": "new@platform.example" }))).await,
        200,
    )
    .await;
    let child = child_settings(&app, "acme").await;
    assert_eq!(
        (child["support_email"].as_str(), child["session_lifetime"].as_u64()),
        (Some("new@platform.example"), Some(24))
    );
}

async fn the_password_policy_is_per_tenant(db: TestDatabase) {
    let app = TestApp::start(db).await;
    create_tenant(&app, "acme").await;
    let policy = json!({ "password_policy": { "min_length": 12 } });
    json_of(app.api_in("acme", Method::PATCH, "/tenants/settings", Some(policy)).await, 200).await;

    let user = |email: &str| json!({ "email": email, "password": "ten chars!" });
    let head = app.head().await;
    let message = error_of(app.api_in("acme", Method::POST, "/users", Some(user("a@acme.example"))).await, 400).await;
    assert!(message.contains("password") && message.contains("12"), "{message}");
    assert_eq!(app.head().await, head);
    // The control plane keeps the default of 8.
    json_of(app.api(Method::POST, "/users", Some(user("a@platform.example"))).await, 201).await;
    let long = json!({ "email": "a@acme.example", "password": "twelve chars" });
    let created = json_of(app.api_in("acme", Method::POST, "/users", Some(long)).await, 201).await;
    // The user is the child's, not the control plane's.
    let path = format!("/users/{}", created["user_id"].as_str().unwrap().replace('|', "%7C"));
    error_of(app.api(Method::GET, &path, None).await, 404).await;
    json_of(app.api_in("acme", Method::GET, &path, None).await, 200).await;
}

async fn bad_settings_are_a_400_naming_the_key_and_append_nothing(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let head = app.head().await;
    for (body, field) in [
        (json!({ "support_email": "not-an-email" }), "support_email"),
        (json!({ "session_lifetime": 0 }), "session_lifetime"),
        (json!({ "session_lifetime": "long" }), "session_lifetime"),
        (json!({ "password_policy": { "min_length": 0 } }), "password_policy"),
        (json!({ "flags": { "made_up_flag": true } }), "made_up_flag"),
        (json!({ "friendly_name": "" }), "friendly_name"),
        (json!({ "sandbox_version": "18" }), "sandbox_version"),
    ] {
        let message = error_of(app.api(Method::PATCH, "/tenants/settings", Some(body.clone())).await, 400).await;
        assert!(message.contains(field), "{body}: {message}");
    }
    assert_eq!(app.head().await, head);
}

async fn only_a_platform_administrator_may_name_another_tenant(db: TestDatabase) {
    let app = TestApp::start(db).await;
    create_tenant(&app, "acme").await;
    // A client with settings permissions but not admin:tenants.
    let client = json_of(app.api(Method::POST, "/clients", Some(json!({ "name": "Ops" }))).await, 201).await;
    let (id, secret) = (client["client_id"].as_str().unwrap(), client["client_secret"].as_str().unwrap());
    let grant = json!({ "client_id": id, "audience": app.audience(), "scope": ["read:tenant_settings"] });
    json_of(app.api(Method::POST, "/client-grants", Some(grant)).await, 201).await;
    let body = json!({ "grant_type": "client_credentials", "client_id": id, "client_secret": secret, "audience": app.audience() });
    let token: Value = app.client.post(app.url("/oauth/token")).json(&body).send().await.unwrap().json().await.unwrap();
    let token = token["access_token"].as_str().unwrap();

    let ask = |tenant: &str| {
        app.client
            .get(app.url("/api/v2/tenants/settings"))
            .bearer_auth(token)
            .header("tenant-id", tenant.to_owned())
            .send()
    };
    assert_eq!(ask("acme").await.unwrap().status(), 403);
    // Naming its own tenant is no escalation.
    assert_eq!(ask("control_plane").await.unwrap().status(), 200);
    assert_eq!(app.api_in("nowhere", Method::GET, "/tenants/settings", None).await.status(), 404);
    assert_eq!(app.api_in("Not A Tenant", Method::GET, "/tenants/settings", None).await.status(), 400);
    // Tenants themselves are managed from the control plane only.
    assert_eq!(app.api_in("acme", Method::GET, "/tenants", None).await.status(), 403);
}
