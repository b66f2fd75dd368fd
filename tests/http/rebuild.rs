//! Read models are derived data: dropping each one and rebuilding it from the log gives the
//! live rows back, row for row.

use eventstore::sqlx::{AnyPool, AssertSqlSafe, Column, Row};
use eventstore::testing::TestDatabase;
use reqwest::Method;
use serde_json::json;
use tenancy_tests::{TestApp, json_of};

eventstore::backend_tests!(every_read_model_rebuilds_from_the_log_row_for_row);

/// Every table a projection writes.
const TABLES: &[&str] = &[
    "tenants",
    "tenant_settings",
    "resource_servers",
    "roles",
    "role_permissions",
    "clients",
    "client_grants",
    "users",
    "user_roles",
    "user_permissions",
    "organizations",
    "organization_members",
    "organization_member_roles",
    "fanout_tenants",
    "fanout_roles",
    "fanout_role_permissions",
    "fanout_resource_servers",
];

/// Every row of every table, as text, sorted.
async fn dump(pool: &AnyPool) -> Vec<String> {
    let mut rows = Vec::new();
    for table in TABLES {
        for row in
            eventstore::sqlx::query(AssertSqlSafe(format!("SELECT * FROM {table}"))).fetch_all(pool).await.unwrap()
        {
            let values: Vec<String> = (0..row.columns().len())
                .map(|i| {
                    let name = row.columns()[i].name().to_owned();
                    let value = row
                        .try_get::<Option<String>, _>(i)
                        .map(|v| format!("{v:?}"))
                        .or_else(|_| row.try_get::<Option<i64>, _>(i).map(|v| format!("{v:?}")))
                        .unwrap_or_else(|e| panic!("{table}.{name}: {e}"));
                    format!("{name}={value}")
                })
                .collect();
            rows.push(format!("{table}: {}", values.join(" ")));
        }
    }
    rows.sort();
    rows
}

async fn every_read_model_rebuilds_from_the_log_row_for_row(db: TestDatabase) {
    let app = TestApp::start(db).await;
    // Something in every table, on the control plane and in a child.
    let scopes = json!([{ "value": "read:invoices", "description": "Read" }]);
    let api = json!({ "name": "Invoices", "identifier": "https://invoices.example/", "scopes": scopes });
    json_of(app.api(Method::POST, "/resource-servers", Some(api)).await, 201).await;
    let role = json_of(app.api(Method::POST, "/roles", Some(json!({ "name": "Billing" }))).await, 200).await;
    let read =
        json!([{ "resource_server_identifier": "https://invoices.example/", "permission_name": "read:invoices" }]);
    app.api(
        Method::POST,
        &format!("/roles/{}/permissions", role["id"].as_str().unwrap()),
        Some(json!({ "permissions": read })),
    )
    .await;
    json_of(app.api(Method::POST, "/tenants", Some(json!({ "id": "acme" }))).await, 201).await;
    json_of(app.api_in("acme", Method::PATCH, "/tenants/settings", Some(json!({ "session_lifetime": 12 }))).await, 200)
        .await;
    let user = json!({ "email": "ann@acme.example", "password": "correct horse battery", "name": "Ann" });
    let user = json_of(app.api_in("acme", Method::POST, "/users", Some(user)).await, 201).await;
    let user_path = user["user_id"].as_str().unwrap().replace('|', "%7C");
    app.api_in("acme", Method::POST, &format!("/users/{user_path}/roles"), Some(json!({ "roles": [role["id"]] })))
        .await;
    app.api_in("acme", Method::POST, &format!("/users/{user_path}/permissions"), Some(json!({ "permissions": read })))
        .await;
    let org =
        json_of(app.api_in("acme", Method::POST, "/organizations", Some(json!({ "name": "east" }))).await, 201).await;
    let members = format!("/organizations/{}/members", org["id"].as_str().unwrap());
    app.api_in("acme", Method::POST, &members, Some(json!({ "members": [user["user_id"]] }))).await;
    app.api_in("acme", Method::POST, &format!("{members}/{user_path}/roles"), Some(json!({ "roles": [role["id"]] })))
        .await;
    let client =
        json_of(app.api_in("acme", Method::POST, "/clients", Some(json!({ "name": "Sync" }))).await, 201).await;
    let grant = json!({ "client_id": client["client_id"], "audience": "https://invoices.example/", "scope": ["read:invoices"] });
    json_of(app.api_in("acme", Method::POST, "/client-grants", Some(grant)).await, 201).await;

    let head = app.head().await;
    let wait = std::time::Duration::from_secs(10);
    app.state.projections.wait_for(head, wait).await.unwrap();
    let pool = &app.state.db.pool;
    let live = dump(pool).await;
    for table in TABLES {
        assert!(live.iter().any(|row| row.starts_with(&format!("{table}: "))), "{table} is empty");
    }
    let names: Vec<String> =
        app.state.projections.status().into_iter().map(|s| s.name).filter(|n| !n.ends_with(".memory")).collect();
    for name in names {
        app.state.projections.rebuild(&name).await.unwrap();
        app.state.projections.wait_for(head, wait).await.unwrap();
        assert_eq!(dump(pool).await, live, "after rebuilding {name}");
    }
}
