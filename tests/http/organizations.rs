//! `/api/v2/organizations`, members and member roles, and `/users/{id}/organizations`, end to end.

use eventstore::testing::TestDatabase;
use reqwest::Method;
use serde_json::{Value, json};
use tenancy_tests::{TestApp, error_of, json_of};

use crate::users::{create_user, id_of, urlencode};

eventstore::backend_tests!(
    an_organization_can_be_created_read_found_by_name_updated_and_deleted,
    a_taken_name_is_a_409_and_bad_input_a_400_and_neither_appends,
    organizations_page_by_offset_and_by_checkpoint,
    members_and_their_roles_can_be_added_listed_and_removed,
    deleting_a_role_or_a_user_leaves_no_membership_behind,
    a_missing_organization_or_member_is_a_404,
);

async fn create_organization(app: &TestApp, name: &str) -> Value {
    json_of(app.api(Method::POST, "/organizations", Some(json!({ "name": name }))).await, 201).await
}

fn id(value: &Value) -> String {
    value["id"].as_str().unwrap().to_owned()
}

async fn an_organization_can_be_created_read_found_by_name_updated_and_deleted(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let body = json!({
        "name": "acme", "display_name": "Acme Inc.",
        "branding": { "logo_url": "https://acme.example/logo.png", "colors": { "primary": "#000000", "page_background": "#FFFFFF" } },
        "metadata": { "plan": "pro", "region": "eu" },
    });
    let created = app.api(Method::POST, "/organizations", Some(body)).await;
    assert!(created.headers().contains_key("x-tenancy-position"));
    let org = json_of(created, 201).await;
    assert!(id(&org).starts_with("org_"), "{org}");
    assert_eq!(org["name"], "acme");
    assert_eq!(org["display_name"], "Acme Inc.");
    assert_eq!(org["branding"]["colors"]["primary"], "#000000");
    assert_eq!(org["metadata"], json!({ "plan": "pro", "region": "eu" }));

    let path = format!("/organizations/{}", id(&org));
    assert_eq!(json_of(app.api(Method::GET, &path, None).await, 200).await, org);
    assert_eq!(json_of(app.api(Method::GET, "/organizations/name/acme", None).await, 200).await, org);

    let patch = json!({ "name": "acme-corp", "display_name": null, "metadata": { "region": null, "tier": "gold" } });
    let patched = json_of(app.api(Method::PATCH, &path, Some(patch)).await, 200).await;
    assert_eq!(patched["name"], "acme-corp");
    assert!(patched.get("display_name").is_none(), "{patched}");
    assert_eq!(patched["metadata"], json!({ "plan": "pro", "tier": "gold" }));
    assert_eq!(patched["branding"], org["branding"]);
    // The old name is free again.
    error_of(app.api(Method::GET, "/organizations/name/acme", None).await, 404).await;
    create_organization(&app, "acme").await;

    assert_eq!(app.api(Method::DELETE, &path, None).await.status(), 204);
    error_of(app.api(Method::GET, &path, None).await, 404).await;
    create_organization(&app, "acme-corp").await;
}

async fn a_taken_name_is_a_409_and_bad_input_a_400_and_neither_appends(db: TestDatabase) {
    let app = TestApp::start(db).await;
    create_organization(&app, "acme").await;
    let other = create_organization(&app, "globex").await;
    let head = app.head().await;
    let message = error_of(app.api(Method::POST, "/organizations", Some(json!({ "name": "acme" }))).await, 409).await;
    assert!(message.contains("acme"), "{message}");
    let rename = json!({ "name": "acme" });
    error_of(app.api(Method::PATCH, &format!("/organizations/{}", id(&other)), Some(rename)).await, 409).await;
    for (body, field) in [
        (json!({ "name": "Acme Corp" }), "name"),
        (json!({}), "name"),
        (json!({ "name": "initech", "metadata": { "seats": 10 } }), "metadata"),
        (json!({ "name": "initech", "branding": { "logo": "x" } }), "branding"),
        (json!({ "name": "initech", "display_name": "" }), "display_name"),
        (json!({ "name": "initech", "enabled_connections": [] }), "enabled_connections"),
    ] {
        let message = error_of(app.api(Method::POST, "/organizations", Some(body.clone())).await, 400).await;
        assert!(message.contains(field), "{body}: {message}");
    }
    assert_eq!(app.head().await, head);
}

async fn organizations_page_by_offset_and_by_checkpoint(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let mut ids = Vec::new();
    for name in ["delta", "alpha", "charlie", "bravo", "echo"] {
        ids.push(id(&create_organization(&app, name).await));
    }
    ids.sort();

    let page =
        json_of(app.api(Method::GET, "/organizations?include_totals=true&page=1&per_page=2", None).await, 200).await;
    let names: Vec<&str> =
        page["organizations"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap()).collect();
    assert_eq!((page["start"].as_u64(), page["total"].as_u64(), names), (Some(2), Some(5), vec!["charlie", "delta"]));

    let mut seen = Vec::new();
    let mut path = "/organizations?take=2".to_owned();
    loop {
        let chunk = json_of(app.api(Method::GET, &path, None).await, 200).await;
        seen.extend(chunk["organizations"].as_array().unwrap().iter().map(id));
        match chunk["next"].as_str() {
            Some(next) => path = format!("/organizations?take=2&from={next}"),
            None => break,
        }
    }
    assert_eq!(seen, ids);
    error_of(app.api(Method::GET, "/organizations?take=101", None).await, 400).await;
}

async fn members_and_their_roles_can_be_added_listed_and_removed(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let org = create_organization(&app, "acme").await;
    let (ann, bob) = (create_user(&app, "ann@example.com").await, create_user(&app, "bob@example.com").await);
    let (ann_id, bob_id) = (id_of(&ann), id_of(&bob));
    let members = format!("/organizations/{}/members", id(&org));

    let added = app.api(Method::POST, &members, Some(json!({ "members": [ann_id, bob_id] }))).await;
    assert_eq!(added.status(), 204);
    let listed = json_of(app.api(Method::GET, &format!("{members}?include_totals=true"), None).await, 200).await;
    assert_eq!(listed["total"], 2);
    let first = listed["members"].as_array().unwrap().iter().find(|m| m["user_id"] == ann_id.as_str()).unwrap();
    assert_eq!(first["email"], "ann@example.com");
    let chunk = json_of(app.api(Method::GET, &format!("{members}?take=1"), None).await, 200).await;
    assert_eq!((chunk["members"].as_array().unwrap().len(), chunk["next"].is_string()), (1, true));

    let of_ann =
        json_of(app.api(Method::GET, &format!("/users/{}/organizations", urlencode(&ann_id)), None).await, 200).await;
    assert_eq!(of_ann, json!([org]));

    let role = json_of(app.api(Method::POST, "/roles", Some(json!({ "name": "Billing" }))).await, 200).await;
    let ann_roles = format!("{members}/{}/roles", urlencode(&ann_id));
    let assigned = app.api(Method::POST, &ann_roles, Some(json!({ "roles": [id(&role)] }))).await;
    assert_eq!(assigned.status(), 204);
    assert_eq!(json_of(app.api(Method::GET, &ann_roles, None).await, 200).await, json!([role]));

    let head = app.head().await;
    let missing =
        error_of(app.api(Method::POST, &ann_roles, Some(json!({ "roles": ["rol_missing"] }))).await, 400).await;
    assert!(missing.contains("rol_missing"), "{missing}");
    let stranger = id_of(&create_user(&app, "eve@example.com").await);
    let head_after_eve = app.head().await;
    assert!(head_after_eve > head);
    let not_member = format!("{members}/{}/roles", urlencode(&stranger));
    let message = error_of(app.api(Method::POST, &not_member, Some(json!({ "roles": [id(&role)] }))).await, 400).await;
    assert!(message.contains("not a member"), "{message}");
    let unknown_user =
        error_of(app.api(Method::POST, &members, Some(json!({ "members": ["auth0|nobody"] }))).await, 400).await;
    assert!(unknown_user.contains("auth0|nobody"), "{unknown_user}");
    assert_eq!(app.head().await, head_after_eve);

    // Removing a member removes their roles in the organization: back as a member, Ann has none.
    let removed = app.api(Method::DELETE, &members, Some(json!({ "members": [ann_id] }))).await;
    assert_eq!(removed.status(), 204);
    error_of(app.api(Method::GET, &ann_roles, None).await, 404).await;
    app.api(Method::POST, &members, Some(json!({ "members": [ann_id] }))).await;
    assert_eq!(json_of(app.api(Method::GET, &ann_roles, None).await, 200).await, json!([]));

    let removed_role = app.api(Method::POST, &ann_roles, Some(json!({ "roles": [id(&role)] }))).await;
    assert_eq!(removed_role.status(), 204);
    assert_eq!(app.api(Method::DELETE, &ann_roles, Some(json!({ "roles": [id(&role)] }))).await.status(), 204);
    assert_eq!(json_of(app.api(Method::GET, &ann_roles, None).await, 200).await, json!([]));
}

async fn deleting_a_role_or_a_user_leaves_no_membership_behind(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let org = create_organization(&app, "acme").await;
    let user_id = id_of(&create_user(&app, "ann@example.com").await);
    let members = format!("/organizations/{}/members", id(&org));
    app.api(Method::POST, &members, Some(json!({ "members": [user_id] }))).await;
    let role = json_of(app.api(Method::POST, "/roles", Some(json!({ "name": "Billing" }))).await, 200).await;
    let roles = format!("{members}/{}/roles", urlencode(&user_id));
    app.api(Method::POST, &roles, Some(json!({ "roles": [id(&role)] }))).await;

    json_of(app.api(Method::DELETE, &format!("/roles/{}", id(&role)), None).await, 200).await;
    assert_eq!(json_of(app.api(Method::GET, &roles, None).await, 200).await, json!([]));

    assert_eq!(app.api(Method::DELETE, &format!("/users/{}", urlencode(&user_id)), None).await.status(), 204);
    assert_eq!(json_of(app.api(Method::GET, &members, None).await, 200).await, json!([]));

    // Deleting the organization takes its memberships with it.
    let bob = id_of(&create_user(&app, "bob@example.com").await);
    app.api(Method::POST, &members, Some(json!({ "members": [bob] }))).await;
    assert_eq!(app.api(Method::DELETE, &format!("/organizations/{}", id(&org)), None).await.status(), 204);
    let of_bob =
        json_of(app.api(Method::GET, &format!("/users/{}/organizations", urlencode(&bob)), None).await, 200).await;
    assert_eq!(of_bob, json!([]));
}

async fn a_missing_organization_or_member_is_a_404(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let role = id(&json_of(app.api(Method::POST, "/roles", Some(json!({ "name": "Billing" }))).await, 200).await);
    let head = app.head().await;
    for (method, path, body) in [
        (Method::GET, "/organizations/org_missing", None),
        (Method::GET, "/organizations/name/missing", None),
        (Method::PATCH, "/organizations/org_missing", Some(json!({ "display_name": "x" }))),
        (Method::DELETE, "/organizations/org_missing", None),
        (Method::GET, "/organizations/org_missing/members", None),
        (Method::DELETE, "/organizations/org_missing/members", Some(json!({ "members": ["auth0|1"] }))),
        (Method::POST, "/organizations/org_missing/members/auth0%7C1/roles", Some(json!({ "roles": [role] }))),
        (Method::GET, "/organizations/org_missing/members/auth0%7C1/roles", None),
    ] {
        let response = app.api(method.clone(), path, body).await;
        assert_eq!(response.status(), 404, "{method} {path}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["errorCode"], "inexistent_organization", "{method} {path}");
    }
    let org = create_organization(&app, "acme").await;
    let response = app.api(Method::GET, &format!("/organizations/{}/members/auth0%7C1/roles", id(&org)), None).await;
    let error: Value = response.json().await.unwrap();
    assert_eq!((error["statusCode"].as_u64(), error["errorCode"].as_str()), (Some(404), Some("inexistent_member")));
    assert_eq!(app.head().await - head, 1, "only the organization was appended");
}
