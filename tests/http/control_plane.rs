//! The control plane's synced entities: its resource servers and roles (with permissions)
//! fanned out into every child tenant as read-only system entities.

use eventstore::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use tenancy_tests::{TestApp, error_of, json_of};

use crate::roles::create_api;

eventstore::backend_tests!(
    synced_entities_appear_in_every_child_and_follow_the_control_plane,
    every_protected_mutation_in_a_child_is_a_403_and_appends_nothing,
    a_child_assigns_synced_roles_to_its_users_and_members,
    deleting_a_child_tenant_leaves_no_synced_rows,
    the_fan_out_rebuilds_row_for_row,
    a_child_uses_a_synced_api_until_the_control_plane_deletes_it,
);

const CHILDREN: [&str; 3] = ["acme", "globex", "initech"];
const INVOICES: &str = "https://invoices.example/";

async fn create_tenant(app: &TestApp, id: &str) {
    json_of(app.api(Method::POST, "/tenants", Some(json!({ "id": id }))).await, 201).await;
}

/// An API and a role holding one of its scopes, on the control plane: (api, role).
async fn synced_pair(app: &TestApp) -> (Value, Value) {
    let api = create_api(app, INVOICES, &["read:invoices", "write:invoices"]).await;
    let role = json_of(app.api(Method::POST, "/roles", Some(json!({ "name": "Billing" }))).await, 200).await;
    let permissions =
        json!({ "permissions": [{ "resource_server_identifier": INVOICES, "permission_name": "read:invoices" }] });
    let path = format!("/roles/{}/permissions", role["id"].as_str().unwrap());
    assert_eq!(app.api(Method::POST, &path, Some(permissions)).await.status(), 201);
    (api, role)
}

/// A read in `tenant` once every projection, the fan-out included, reached the log's head.
async fn read_in(app: &TestApp, tenant: &str, path: &str) -> Value {
    let separator = if path.contains('?') { '&' } else { '?' };
    let path = format!("{path}{separator}min_position={}", app.head().await);
    json_of(app.api_in(tenant, Method::GET, &path, None).await, 200).await
}

fn find<'a>(items: &'a Value, id: &str) -> Option<&'a Value> {
    items.as_array().unwrap().iter().find(|item| item["id"] == id)
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

async fn synced_entities_appear_in_every_child_and_follow_the_control_plane(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let (api, role) = synced_pair(&app).await;
    for child in CHILDREN {
        create_tenant(&app, child).await;
    }
    for child in CHILDREN {
        let roles = read_in(&app, child, "/roles").await;
        let synced = find(&roles, &id(&role)).unwrap_or_else(|| panic!("{child} lacks the role: {roles}"));
        assert_eq!((synced["name"].as_str(), synced["is_system"].as_bool()), (Some("Billing"), Some(true)));
        let apis = read_in(&app, child, "/resource-servers").await;
        let synced = find(&apis, &id(&api)).unwrap_or_else(|| panic!("{child} lacks the API: {apis}"));
        assert_eq!((synced["identifier"].as_str(), synced["is_system"].as_bool()), (Some(INVOICES), Some(true)));
        let permissions = read_in(&app, child, &format!("/roles/{}/permissions", id(&role))).await;
        assert_eq!(permissions[0]["permission_name"], "read:invoices", "{child}");
    }

    // Changes on the control plane propagate.
    json_of(app.api(Method::PATCH, &format!("/roles/{}", id(&role)), Some(json!({ "name": "Finance" }))).await, 200)
        .await;
    let write =
        json!({ "permissions": [{ "resource_server_identifier": INVOICES, "permission_name": "write:invoices" }] });
    app.api(Method::POST, &format!("/roles/{}/permissions", id(&role)), Some(write)).await;
    let renamed = json!({ "name": "Invoicing" });
    json_of(app.api(Method::PATCH, &format!("/resource-servers/{}", id(&api)), Some(renamed)).await, 200).await;
    // A tenant created afterwards receives everything as it is now.
    create_tenant(&app, "umbrella").await;
    for child in CHILDREN.iter().copied().chain(["umbrella"]) {
        let roles = read_in(&app, child, "/roles").await;
        assert_eq!(find(&roles, &id(&role)).unwrap()["name"], "Finance", "{child}");
        let apis = read_in(&app, child, "/resource-servers").await;
        assert_eq!(find(&apis, &id(&api)).unwrap()["name"], "Invoicing", "{child}");
        let permissions = read_in(&app, child, &format!("/roles/{}/permissions", id(&role))).await;
        assert_eq!(permissions.as_array().unwrap().len(), 2, "{child}: {permissions}");
    }

    // Deletes propagate.
    assert!(app.api(Method::DELETE, &format!("/roles/{}", id(&role)), None).await.status().is_success());
    assert!(app.api(Method::DELETE, &format!("/resource-servers/{}", id(&api)), None).await.status().is_success());
    for child in CHILDREN {
        assert!(find(&read_in(&app, child, "/roles").await, &id(&role)).is_none(), "{child}");
        assert!(find(&read_in(&app, child, "/resource-servers").await, &id(&api)).is_none(), "{child}");
    }
}

async fn every_protected_mutation_in_a_child_is_a_403_and_appends_nothing(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let (api, role) = synced_pair(&app).await;
    create_tenant(&app, "acme").await;
    let (role_id, api_id) = (id(&role), id(&api));
    let permission =
        json!({ "permissions": [{ "resource_server_identifier": INVOICES, "permission_name": "write:invoices" }] });
    let head = app.head().await;
    for (method, path, body, noun) in [
        (Method::PATCH, format!("/roles/{role_id}"), Some(json!({ "name": "Mine" })), "role"),
        (Method::DELETE, format!("/roles/{role_id}"), None, "role"),
        (Method::POST, format!("/roles/{role_id}/permissions"), Some(permission.clone()), "role"),
        (Method::DELETE, format!("/roles/{role_id}/permissions"), Some(permission.clone()), "role"),
        (Method::PATCH, format!("/resource-servers/{api_id}"), Some(json!({ "name": "Mine" })), "resource server"),
        (Method::DELETE, format!("/resource-servers/{api_id}"), None, "resource server"),
        (Method::DELETE, "/resource-servers/https:%2F%2Finvoices.example%2F".to_owned(), None, "resource server"),
    ] {
        let message = error_of(app.api_in("acme", method.clone(), &path, body).await, 403).await;
        let expected = format!(
            "This {noun} is a system resource and cannot be modified. Make changes in the control plane instead."
        );
        assert_eq!(message, expected, "{method} {path}");
    }
    assert_eq!(app.head().await, head);
    // Its own API may not take a synced identifier either.
    let own = json!({ "name": "Mine", "identifier": INVOICES });
    error_of(app.api_in("acme", Method::POST, "/resource-servers", Some(own)).await, 409).await;
    assert_eq!(app.head().await, head);
}

async fn a_child_assigns_synced_roles_to_its_users_and_members(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let (_, role) = synced_pair(&app).await;
    create_tenant(&app, "acme").await;
    let user = json!({ "email": "ann@acme.example", "password": "correct horse battery" });
    let user = json_of(app.api_in("acme", Method::POST, "/users", Some(user)).await, 201).await;
    let user_id = user["user_id"].as_str().unwrap().replace('|', "%7C");
    let roles = format!("/users/{user_id}/roles");
    let assigned = app.api_in("acme", Method::POST, &roles, Some(json!({ "roles": [id(&role)] }))).await;
    assert_eq!(assigned.status(), 204);
    let held = read_in(&app, "acme", &roles).await;
    assert_eq!((held[0]["id"].as_str(), held[0]["is_system"].as_bool()), (Some(id(&role).as_str()), Some(true)));

    let org =
        json_of(app.api_in("acme", Method::POST, "/organizations", Some(json!({ "name": "east" }))).await, 201).await;
    let members = format!("/organizations/{}/members", id(&org));
    app.api_in("acme", Method::POST, &members, Some(json!({ "members": [user["user_id"]] }))).await;
    let member_roles = format!("{members}/{user_id}/roles");
    let assigned = app.api_in("acme", Method::POST, &member_roles, Some(json!({ "roles": [id(&role)] }))).await;
    assert_eq!(assigned.status(), 204);
    assert_eq!(read_in(&app, "acme", &member_roles).await.as_array().unwrap().len(), 1);

    // The control plane deletes the role: it leaves the child's users and members too.
    assert!(app.api(Method::DELETE, &format!("/roles/{}", id(&role)), None).await.status().is_success());
    assert_eq!(read_in(&app, "acme", &roles).await, json!([]));
    assert_eq!(read_in(&app, "acme", &member_roles).await, json!([]));
}

async fn synced_rows(app: &TestApp, tenant: &str) -> i64 {
    let mut total = 0;
    for table in ["roles", "role_permissions", "resource_servers"] {
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE tenant_id = '{tenant}'");
        let query = eventstore::sqlx::query_scalar::<_, i64>(eventstore::sqlx::AssertSqlSafe(sql));
        total += query.fetch_one(&app.state.db.pool).await.unwrap();
    }
    total
}

async fn deleting_a_child_tenant_leaves_no_synced_rows(db: TestDatabase) {
    let app = TestApp::start(db).await;
    synced_pair(&app).await;
    create_tenant(&app, "acme").await;
    read_in(&app, "acme", "/roles").await;
    assert_eq!(synced_rows(&app, "acme").await, 3, "a role, its permission and an API");
    assert!(app.api(Method::DELETE, "/tenants/acme", None).await.status().is_success());
    let head = app.head().await;
    app.state.projections.wait_for(head, std::time::Duration::from_secs(5)).await.unwrap();
    assert_eq!(synced_rows(&app, "acme").await, 0);
}

/// Every synced row, in one order.
async fn fanned_out(app: &TestApp) -> Vec<String> {
    let sql = "SELECT tenant_id || ' ' || id || ' ' || name || ' ' || is_system FROM roles WHERE synced = 1 \
               UNION ALL SELECT tenant_id || ' ' || role_id || ' ' || permission_name FROM role_permissions WHERE synced = 1 \
               UNION ALL SELECT tenant_id || ' ' || id || ' ' || name || ' ' || scopes FROM resource_servers WHERE synced = 1";
    let mut rows: Vec<String> = eventstore::sqlx::query_scalar(sql).fetch_all(&app.state.db.pool).await.unwrap();
    rows.sort();
    rows
}

async fn the_fan_out_rebuilds_row_for_row(db: TestDatabase) {
    let app = TestApp::start(db).await;
    create_tenant(&app, "acme").await;
    let (_, role) = synced_pair(&app).await;
    create_tenant(&app, "globex").await;
    json_of(app.api(Method::PATCH, &format!("/roles/{}", id(&role)), Some(json!({ "name": "Finance" }))).await, 200)
        .await;
    let head = app.head().await;
    app.state.projections.wait_for(head, std::time::Duration::from_secs(5)).await.unwrap();
    let live = fanned_out(&app).await;
    assert_eq!(live.len(), 6, "{live:?}");

    app.state.projections.rebuild("fanout.v1").await.unwrap();
    app.state.projections.wait_for(head, std::time::Duration::from_secs(5)).await.unwrap();
    assert_eq!(fanned_out(&app).await, live);
}

async fn a_child_uses_a_synced_api_until_the_control_plane_deletes_it(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let (api, _) = synced_pair(&app).await;
    create_tenant(&app, "acme").await;
    let read = json!([{ "resource_server_identifier": INVOICES, "permission_name": "read:invoices" }]);
    let role = json_of(app.api_in("acme", Method::POST, "/roles", Some(json!({ "name": "Clerk" }))).await, 200).await;
    let role_permissions = format!("/roles/{}/permissions", id(&role));
    let added = app.api_in("acme", Method::POST, &role_permissions, Some(json!({ "permissions": read }))).await;
    assert_eq!(added.status(), 201, "a child role may hold a synced API's scope");
    let user = json!({ "email": "ann@acme.example", "password": "correct horse battery" });
    let user = json_of(app.api_in("acme", Method::POST, "/users", Some(user)).await, 201).await;
    let user_permissions = format!("/users/{}/permissions", user["user_id"].as_str().unwrap().replace('|', "%7C"));
    let added = app.api_in("acme", Method::POST, &user_permissions, Some(json!({ "permissions": read }))).await;
    assert_eq!(added.status(), 201);
    let client =
        json_of(app.api_in("acme", Method::POST, "/clients", Some(json!({ "name": "Sync" }))).await, 201).await;
    let grant = json!({ "client_id": client["client_id"], "audience": INVOICES, "scope": ["read:invoices"] });
    json_of(app.api_in("acme", Method::POST, "/client-grants", Some(grant)).await, 201).await;

    assert!(app.api(Method::DELETE, &format!("/resource-servers/{}", id(&api)), None).await.status().is_success());
    assert_eq!(read_in(&app, "acme", &role_permissions).await, json!([]));
    assert_eq!(read_in(&app, "acme", &user_permissions).await, json!([]));
    assert_eq!(read_in(&app, "acme", "/client-grants").await, json!([]));
}
