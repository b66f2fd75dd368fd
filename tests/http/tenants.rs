//! `/api/v2/tenants`, end to end.

use eventstore::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use tenancy_tests::{TestApp, error_of, json_of};

eventstore::backend_tests!(
    a_tenant_can_be_created_read_updated_listed_and_deleted,
    a_duplicate_tenant_id_is_a_409_and_appends_nothing,
    the_control_plane_cannot_be_deleted,
    an_invalid_tenant_id_is_a_400,
    deleting_a_tenant_leaves_no_row_of_it_in_any_read_model,
    a_tenant_comes_and_goes_with_its_organization_on_the_control_plane,
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

async fn deleting_a_tenant_leaves_no_row_of_it_in_any_read_model(db: TestDatabase) {
    let app = TestApp::start(db).await;
    json_of(app.api(Method::POST, "/tenants", Some(json!({ "id": "acme" }))).await, 201).await;
    let acme = |method: Method, path: &'static str, body: Value| app.api_in("acme", method, path, Some(body));
    let scopes = json!([{ "value": "read:invoices", "description": "Read invoices" }]);
    let api = json!({ "name": "Invoices", "identifier": "https://invoices.example/", "scopes": scopes });
    json_of(acme(Method::POST, "/resource-servers", api).await, 201).await;
    let role = json_of(acme(Method::POST, "/roles", json!({ "name": "Billing" })).await, 200).await;
    let role_id = role["id"].as_str().unwrap().to_owned();
    let permission =
        json!({ "resource_server_identifier": "https://invoices.example/", "permission_name": "read:invoices" });
    let path = format!("/roles/{role_id}/permissions");
    let added = app.api_in("acme", Method::POST, &path, Some(json!({ "permissions": [permission.clone()] }))).await;
    assert_eq!(added.status(), 201);
    let user = json_of(
        acme(Method::POST, "/users", json!({ "email": "ann@acme.example", "password": "correct horse battery" })).await,
        201,
    )
    .await;
    let user_id = user["user_id"].as_str().unwrap().replace('|', "%7C");
    for (path, body) in [
        (format!("/users/{user_id}/roles"), json!({ "roles": [role_id] })),
        (format!("/users/{user_id}/permissions"), json!({ "permissions": [permission] })),
    ] {
        assert!(app.api_in("acme", Method::POST, &path, Some(body)).await.status().is_success(), "{path}");
    }
    let org = json_of(acme(Method::POST, "/organizations", json!({ "name": "east" })).await, 201).await;
    let members = format!("/organizations/{}/members", org["id"].as_str().unwrap());
    app.api_in("acme", Method::POST, &members, Some(json!({ "members": [user["user_id"]] }))).await;
    let member_roles = format!("{members}/{user_id}/roles");
    app.api_in("acme", Method::POST, &member_roles, Some(json!({ "roles": [role_id] }))).await;
    let client = json_of(acme(Method::POST, "/clients", json!({ "name": "Sync" })).await, 201).await;
    let grant = json!({ "client_id": client["client_id"], "audience": "https://invoices.example/", "scope": ["read:invoices"] });
    json_of(acme(Method::POST, "/client-grants", grant).await, 201).await;
    json_of(acme(Method::PATCH, "/tenants/settings", json!({ "session_lifetime": 12 })).await, 200).await;

    let tables = [
        "resource_servers",
        "roles",
        "role_permissions",
        "users",
        "user_roles",
        "user_permissions",
        "organizations",
        "organization_members",
        "organization_member_roles",
        "clients",
        "client_grants",
        "tenant_settings",
    ];
    // Read as the server's own reads do: after the read models caught up with its answers.
    let rows = |table: &str| {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = 'acme'");
        let state = app.state.clone();
        async move {
            let pool = state.read_models().await.unwrap();
            eventstore::sqlx::query_scalar::<_, i64>(eventstore::sqlx::AssertSqlSafe(sql))
                .fetch_one(pool)
                .await
                .unwrap()
        }
    };
    for table in tables {
        assert!(rows(table).await > 0, "{table} holds acme's rows before the delete");
    }
    assert!(app.api(Method::DELETE, "/tenants/acme", None).await.status().is_success());
    for table in tables {
        assert_eq!(rows(table).await, 0, "{table} still holds acme's rows");
    }
    assert_eq!(app.api_in("acme", Method::GET, "/roles", None).await.status(), 404);
}

async fn a_tenant_comes_and_goes_with_its_organization_on_the_control_plane(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let head = app.head().await;
    json_of(app.api(Method::POST, "/tenants", Some(json!({ "id": "acme", "friendly_name": "Acme Inc." }))).await, 201)
        .await;
    let events = app.state.db.store.read(&eventstore::LogQuery::after(head).limit(100)).await.unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(types, ["tenant.created", "organization.created"], "one append, both entities");
    assert_eq!(events[0].position + 1, events[1].position);

    let org = json_of(app.api(Method::GET, "/organizations/acme", None).await, 200).await;
    assert_eq!(org, json!({ "id": "acme", "name": "acme", "display_name": "Acme Inc.", "metadata": {} }));
    // Control-plane users who are its members may manage the tenant (F5 issues them org tokens).
    let user = crate::users::create_user(&app, "ops@platform.example").await;
    let added =
        app.api(Method::POST, "/organizations/acme/members", Some(json!({ "members": [user["user_id"]] }))).await;
    assert_eq!(added.status(), 204);

    assert!(app.api(Method::DELETE, "/tenants/acme", None).await.status().is_success());
    error_of(app.api(Method::GET, "/organizations/acme", None).await, 404).await;
    // An organization already named like a new tenant makes the tenant a conflict, appending nothing.
    json_of(app.api(Method::POST, "/organizations", Some(json!({ "name": "globex" }))).await, 201).await;
    let head = app.head().await;
    error_of(app.api(Method::POST, "/tenants", Some(json!({ "id": "globex" }))).await, 409).await;
    assert_eq!(app.head().await, head);
}
