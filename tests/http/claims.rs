//! `GET /api/v2/users/{id}/claims`: the roles and permissions a user's token carries, from the
//! in-memory claims model, exact right after each command.

use eventstore::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use tenancy_tests::{TestApp, error_of, json_of};

use crate::roles::create_api;
use crate::users::{create_user, id_of, urlencode};

eventstore::backend_tests!(
    claims_combine_direct_permissions_tenant_roles_and_organization_roles,
    claims_follow_role_changes_at_once,
    claims_of_unknown_users_organizations_and_non_members_are_refused,
);

const API: &str = "https://api.example/";

fn permission(name: &str) -> Value {
    json!({ "resource_server_identifier": API, "permission_name": name })
}

async fn role_with(app: &TestApp, name: &str, permissions: &[&str]) -> String {
    let role = json_of(app.api(Method::POST, "/roles", Some(json!({ "name": name }))).await, 200).await;
    let id = role["id"].as_str().unwrap().to_owned();
    let permissions: Vec<Value> = permissions.iter().map(|p| permission(p)).collect();
    let added =
        app.api(Method::POST, &format!("/roles/{id}/permissions"), Some(json!({ "permissions": permissions }))).await;
    assert_eq!(added.status(), 201);
    id
}

/// A user with direct permission `admin`, tenant role `reader` (read) and, in organization
/// `acme`, member role `writer` (write).
async fn scene(app: &TestApp) -> (String, String, String, String) {
    create_api(app, API, &["read", "write", "admin"]).await;
    let reader = role_with(app, "reader", &["read"]).await;
    let writer = role_with(app, "writer", &["write"]).await;
    let user = urlencode(&id_of(&create_user(app, "ann@example.com").await));
    let direct = json!({ "permissions": [permission("admin")] });
    assert_eq!(app.api(Method::POST, &format!("/users/{user}/permissions"), Some(direct)).await.status(), 201);
    assert_eq!(
        app.api(Method::POST, &format!("/users/{user}/roles"), Some(json!({ "roles": [reader] }))).await.status(),
        204
    );
    let org = json_of(app.api(Method::POST, "/organizations", Some(json!({ "name": "acme" }))).await, 201).await;
    let org = org["id"].as_str().unwrap().to_owned();
    let members = format!("/organizations/{org}/members");
    assert_eq!(
        app.api(Method::POST, &members, Some(json!({ "members": [user.replace("%7C", "|")] }))).await.status(),
        204
    );
    let member_roles = format!("{members}/{user}/roles");
    assert_eq!(app.api(Method::POST, &member_roles, Some(json!({ "roles": [writer] }))).await.status(), 204);
    (user, org, reader, writer)
}

async fn claims(app: &TestApp, user: &str, organization: Option<&str>) -> Value {
    let query = organization.map(|o| format!("?organization={o}")).unwrap_or_default();
    json_of(app.api(Method::GET, &format!("/users/{user}/claims{query}"), None).await, 200).await
}

fn names(claims: &Value) -> Vec<String> {
    let permissions = claims["permissions"].as_array().unwrap();
    permissions.iter().map(|p| p["permission_name"].as_str().unwrap().to_owned()).collect()
}

async fn claims_combine_direct_permissions_tenant_roles_and_organization_roles(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let (user, org, ..) = scene(&app).await;

    let outside = claims(&app, &user, None).await;
    assert_eq!(outside["roles"], json!(["reader"]));
    assert_eq!(names(&outside), ["admin", "read"]);
    assert!(outside.get("org_id").is_none());

    let inside = claims(&app, &user, Some(&org)).await;
    assert_eq!(inside["roles"], json!(["writer"]));
    assert_eq!(names(&inside), ["admin", "write"], "tenant roles stay outside organizations");
    assert_eq!((inside["org_id"].as_str(), inside["org_name"].as_str()), (Some(org.as_str()), Some("acme")));
    assert_eq!(claims(&app, &user, Some("acme")).await, inside, "by name as by id");

    let flag = json!({ "flags": { "inherit_global_permissions_in_organizations": true } });
    json_of(app.api(Method::PATCH, "/tenants/settings", Some(flag)).await, 200).await;
    let inherited = claims(&app, &user, Some(&org)).await;
    assert_eq!(inherited["roles"], json!(["writer", "reader"]));
    assert_eq!(names(&inherited), ["admin", "read", "write"], "with the flag, tenant roles count too");
}

async fn claims_follow_role_changes_at_once(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let (user, org, reader, writer) = scene(&app).await;

    let removed = json!({ "permissions": [permission("read")] });
    assert_eq!(app.api(Method::DELETE, &format!("/roles/{reader}/permissions"), Some(removed)).await.status(), 200);
    assert_eq!(names(&claims(&app, &user, None).await), ["admin"], "a permission removed from a role");

    json_of(app.api(Method::PATCH, &format!("/roles/{writer}"), Some(json!({ "name": "editor" }))).await, 200).await;
    assert_eq!(claims(&app, &user, Some(&org)).await["roles"], json!(["editor"]), "a renamed role");

    assert_eq!(app.api(Method::DELETE, &format!("/roles/{writer}"), None).await.status(), 200);
    let inside = claims(&app, &user, Some(&org)).await;
    assert_eq!((inside["roles"].clone(), names(&inside)), (json!([]), vec!["admin".to_owned()]), "a deleted role");

    assert_eq!(
        app.api(Method::DELETE, &format!("/users/{user}/roles"), Some(json!({ "roles": [reader] }))).await.status(),
        204
    );
    assert_eq!(claims(&app, &user, None).await["roles"], json!([]), "a role taken from the user");
}

async fn claims_of_unknown_users_organizations_and_non_members_are_refused(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let (user, ..) = scene(&app).await;
    let other = json_of(app.api(Method::POST, "/organizations", Some(json!({ "name": "other" }))).await, 201).await;
    let message =
        error_of(app.api(Method::GET, &format!("/users/{user}/claims?organization=other"), None).await, 400).await;
    assert_eq!(message, "The user is not a member of the organization.");
    error_of(app.api(Method::GET, &format!("/users/{user}/claims?organization=nope"), None).await, 404).await;
    error_of(app.api(Method::GET, "/users/auth0%7Cnope/claims", None).await, 404).await;
    assert!(other["id"].is_string());
}
