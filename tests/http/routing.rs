//! Tenant routing (DESIGN.md §5): a request addresses a tenant by custom domain, else by
//! subdomain of the base domain, else by the `tenant-id` header (control-plane tokens allowed
//! to manage that tenant only), else the control plane. Each tenant is its own issuer, with its
//! own keys and discovery document, at its own origin.

use eventstore::testing::TestDatabase;
use reqwest::{Method, Response};
use serde_json::{Value, json};
use tenancy_tests::{TestApp, error_of, json_of};

eventstore::backend_tests!(
    each_tenant_has_its_own_issuer_keys_and_discovery_at_its_host,
    a_child_tenant_issues_its_own_tokens_at_its_host_only,
    a_tenants_token_is_refused_at_another_tenants_host,
    a_custom_domain_addresses_its_tenant_before_the_subdomain_and_the_header,
    custom_domains_are_unique_outside_the_base_domain_and_freed_with_their_tenant,
    a_platform_admin_reaches_a_child_by_host_or_header_and_an_ordinary_token_is_refused,
    an_organization_token_manages_its_own_child_tenant_only,
    a_reserved_subdomain_cannot_be_a_tenant_id,
);

const BASE: &str = "tenancy.test";

async fn start(db: TestDatabase) -> TestApp {
    TestApp::start_with(db, |config| config.instance.base_domain = Some(BASE.into())).await
}

fn host_of(tenant: &str) -> String {
    format!("{tenant}.{BASE}")
}

async fn create_tenant(app: &TestApp, id: &str) {
    json_of(app.api(Method::POST, "/tenants", Some(json!({ "id": id }))).await, 201).await;
}

/// A Management API request at `host` with `token`, and optionally a `tenant-id` header.
async fn api_at(
    app: &TestApp,
    host: &str,
    (method, path, body): (Method, &str, Option<Value>),
    token: &str,
    tenant_header: Option<&str>,
) -> Response {
    let mut request = app.request_at(host, method, &format!("/api/v2{path}")).bearer_auth(token);
    if let Some(tenant) = tenant_header {
        request = request.header("tenant-id", tenant);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.unwrap()
}

/// The friendly name of the tenant a settings read at `host` acts in: which tenant it reached.
async fn reached(app: &TestApp, host: &str, token: &str, tenant_header: Option<&str>) -> Response {
    api_at(app, host, (Method::GET, "/tenants/settings", None), token, tenant_header).await
}

async fn friendly_name(response: Response) -> String {
    json_of(response, 200).await["friendly_name"].as_str().unwrap().to_owned()
}

async fn rename(app: &TestApp, tenant: &str, name: &str) {
    let body = json!({ "friendly_name": name });
    json_of(app.api_in(tenant, Method::PATCH, "/tenants/settings", Some(body)).await, 200).await;
}

/// A machine client of `tenant` with a grant on `audience`: (client_id, client_secret).
async fn machine_client(app: &TestApp, tenant: &str, audience: &str, scopes: &[&str]) -> (String, String) {
    let body = json!({ "name": "Machine", "app_type": "non_interactive", "grant_types": ["client_credentials"] });
    let client = json_of(app.api_in(tenant, Method::POST, "/clients", Some(body)).await, 201).await;
    let id = client["client_id"].as_str().unwrap().to_owned();
    let grant = json!({ "client_id": id, "audience": audience, "scope": scopes });
    json_of(app.api_in(tenant, Method::POST, "/client-grants", Some(grant)).await, 201).await;
    (id, client["client_secret"].as_str().unwrap().to_owned())
}

async fn token_at(app: &TestApp, host: &str, (id, secret): (&str, &str), audience: &str) -> Response {
    let body =
        json!({ "grant_type": "client_credentials", "client_id": id, "client_secret": secret, "audience": audience });
    app.request_at(host, Method::POST, "/oauth/token").json(&body).send().await.unwrap()
}

/// The claims of a JWT, unverified: the tests check what the server put in.
fn claims_of(token: &str) -> Value {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

async fn kids_at(app: &TestApp, host: &str) -> Vec<String> {
    let response = app.request_at(host, Method::GET, "/.well-known/jwks.json").send().await.unwrap();
    let jwks = json_of(response, 200).await;
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

async fn each_tenant_has_its_own_issuer_keys_and_discovery_at_its_host(db: TestDatabase) {
    let app = start(db).await;
    create_tenant(&app, "acme").await;
    let discovery = |host: String| {
        let app = &app;
        async move {
            let response = app.request_at(&host, Method::GET, "/.well-known/openid-configuration").send().await;
            json_of(response.unwrap(), 200).await
        }
    };
    let acme = discovery(host_of("acme")).await;
    let issuer = app.origin_of(&host_of("acme"));
    assert_eq!(acme["issuer"], issuer);
    assert_eq!(acme["jwks_uri"], format!("{issuer}.well-known/jwks.json"));
    assert_eq!(acme["token_endpoint"], format!("{issuer}oauth/token"));

    // The base domain itself and a reserved subdomain are the control plane's.
    for host in [BASE.to_owned(), format!("www.{BASE}")] {
        assert_eq!(discovery(host).await["issuer"], app.url("/"));
    }
    let control_plane_kids = kids_at(&app, BASE).await;
    let acme_kids = kids_at(&app, &host_of("acme")).await;
    assert!(!acme_kids.is_empty() && acme_kids.iter().all(|kid| !control_plane_kids.contains(kid)));

    // A subdomain that names no tenant is nobody's.
    let response = app.request_at(&host_of("nobody"), Method::GET, "/.well-known/jwks.json").send().await.unwrap();
    assert_eq!(error_of(response, 404).await, format!("No tenant is served at \"{}\"", host_of("nobody")));
}

async fn a_child_tenant_issues_its_own_tokens_at_its_host_only(db: TestDatabase) {
    let app = start(db).await;
    create_tenant(&app, "acme").await;
    let orders = "https://orders.example/";
    let body = json!({ "name": "Orders", "identifier": orders, "scopes": [{ "value": "read:orders" }] });
    json_of(app.api_in("acme", Method::POST, "/resource-servers", Some(body)).await, 201).await;
    let (id, secret) = machine_client(&app, "acme", orders, &["read:orders"]).await;

    let token = json_of(token_at(&app, &host_of("acme"), (&id, &secret), orders).await, 200).await;
    let claims = claims_of(token["access_token"].as_str().unwrap());
    assert_eq!(claims["iss"], app.origin_of(&host_of("acme")));
    assert_eq!((claims["tenant_id"].as_str(), claims["aud"].as_str()), (Some("acme"), Some(orders)));
    assert_eq!(claims["scope"], "read:orders");

    // The control plane does not know acme's clients, nor does another tenant.
    create_tenant(&app, "globex").await;
    for host in [BASE.to_owned(), host_of("globex")] {
        let refused = json_of(token_at(&app, &host, (&id, &secret), orders).await, 401).await;
        assert_eq!(refused["error"], "invalid_client");
    }
}

async fn a_tenants_token_is_refused_at_another_tenants_host(db: TestDatabase) {
    let app = start(db).await;
    for tenant in ["acme", "globex"] {
        create_tenant(&app, tenant).await;
        rename(&app, tenant, &format!("{tenant} Inc.")).await;
    }
    // acme's own administrators: a client of acme with a grant on the Management API.
    let body =
        json!({ "name": "Management", "identifier": app.audience(), "scopes": [{ "value": "read:tenant_settings" }] });
    json_of(app.api_in("acme", Method::POST, "/resource-servers", Some(body)).await, 201).await;
    let (id, secret) = machine_client(&app, "acme", &app.audience(), &["read:tenant_settings"]).await;
    let response = token_at(&app, &host_of("acme"), (&id, &secret), &app.audience()).await;
    let token = json_of(response, 200).await["access_token"].as_str().unwrap().to_owned();

    assert_eq!(friendly_name(reached(&app, &host_of("acme"), &token, None).await).await, "acme Inc.");
    // At another tenant's host, or the control plane's, it is not a credential at all.
    for host in [host_of("globex"), BASE.to_owned()] {
        assert_eq!(error_of(reached(&app, &host, &token, None).await, 401).await, "Invalid token");
    }
    // Nor does it reach another tenant by naming it.
    error_of(reached(&app, &host_of("acme"), &token, Some("globex")).await, 403).await;
}

async fn a_custom_domain_addresses_its_tenant_before_the_subdomain_and_the_header(db: TestDatabase) {
    let app = start(db).await;
    for tenant in ["acme", "globex"] {
        create_tenant(&app, tenant).await;
        rename(&app, tenant, &format!("{tenant} Inc.")).await;
    }
    let body = json!({ "domains": ["Login.Acme.example"] });
    let settings = json_of(app.api_in("acme", Method::PATCH, "/tenants/settings", Some(body)).await, 200).await;
    assert_eq!(settings["domains"], json!(["login.acme.example"]));
    let token = app.token().await;

    // 1. custom domain: acme, whose issuer there is that domain's origin.
    assert_eq!(friendly_name(reached(&app, "login.acme.example", &token, None).await).await, "acme Inc.");
    let response = app.request_at("login.acme.example", Method::GET, "/.well-known/openid-configuration").send();
    assert_eq!(json_of(response.await.unwrap(), 200).await["issuer"], app.origin_of("login.acme.example"));
    // 2. subdomain of the base domain.
    assert_eq!(friendly_name(reached(&app, &host_of("globex"), &token, None).await).await, "globex Inc.");
    // 3. the tenant-id header, where the host names no tenant.
    assert_eq!(friendly_name(reached(&app, BASE, &token, Some("globex")).await).await, "globex Inc.");
    // 4. otherwise the control plane.
    let control_plane = friendly_name(reached(&app, BASE, &token, None).await).await;
    assert!(!control_plane.ends_with("Inc."), "{control_plane}");

    // A header that contradicts the host is refused rather than guessed at.
    let message = error_of(reached(&app, "login.acme.example", &token, Some("globex")).await, 400).await;
    assert_eq!(message, "The tenant-id header names another tenant than the host (acme)");
}

async fn custom_domains_are_unique_outside_the_base_domain_and_freed_with_their_tenant(db: TestDatabase) {
    let app = start(db).await;
    for tenant in ["acme", "globex"] {
        create_tenant(&app, tenant).await;
    }
    let set = |tenant: &'static str, domains: Value| {
        let app = &app;
        async move { app.api_in(tenant, Method::PATCH, "/tenants/settings", Some(json!({ "domains": domains }))).await }
    };
    json_of(set("acme", json!(["login.acme.example"])).await, 200).await;

    let head = app.head().await;
    let taken = error_of(set("globex", json!(["login.acme.example"])).await, 409).await;
    assert_eq!(taken, "The domain \"login.acme.example\" is already a custom domain of a tenant");
    for (domains, message) in [
        (json!([format!("acme.{BASE}")]), format!("\"acme.{BASE}\" lies within the base domain \"{BASE}\"")),
        (json!(["localhost"]), "domains: \"localhost\" is not a host name".to_owned()),
        (json!(["https://login.globex.example/"]), "is not a host name".to_owned()),
    ] {
        let refused = error_of(set("globex", domains).await, 400).await;
        assert!(refused.contains(&message), "{refused}");
    }
    assert_eq!(app.head().await, head, "refused settings append nothing");

    // acme gives the domain up (null clears the list); globex may take it.
    json_of(set("acme", Value::Null).await, 200).await;
    json_of(set("globex", json!(["login.acme.example"])).await, 200).await;
    let token = app.token().await;
    let settings = json_of(reached(&app, "login.acme.example", &token, None).await, 200).await;
    assert_eq!(settings["domains"], json!(["login.acme.example"]));

    // Deleting globex frees its domain: the host is the control plane's again, and acme may
    // claim it.
    json_of(app.api(Method::DELETE, "/tenants/globex", None).await, 200).await;
    let settings = json_of(reached(&app, "login.acme.example", &token, None).await, 200).await;
    assert_eq!(settings["domains"], json!([]));
    json_of(set("acme", json!(["login.acme.example"])).await, 200).await;
}

async fn a_platform_admin_reaches_a_child_by_host_or_header_and_an_ordinary_token_is_refused(db: TestDatabase) {
    let app = start(db).await;
    create_tenant(&app, "acme").await;
    let role = json!({ "name": "Acme only" });
    json_of(app.api_in("acme", Method::POST, "/roles", Some(role)).await, 200).await;
    let admin = app.token().await;
    let names = |response: Value| -> Vec<String> {
        response.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect()
    };
    let at_host = api_at(&app, &host_of("acme"), (Method::GET, "/roles", None), &admin, None).await;
    assert!(names(json_of(at_host, 200).await).contains(&"Acme only".to_owned()));
    let by_header = api_at(&app, BASE, (Method::GET, "/roles", None), &admin, Some("acme")).await;
    assert!(names(json_of(by_header, 200).await).contains(&"Acme only".to_owned()));
    let at_home = api_at(&app, BASE, (Method::GET, "/roles", None), &admin, None).await;
    assert!(!names(json_of(at_home, 200).await).contains(&"Acme only".to_owned()));

    // A control-plane token without admin:tenants manages the control plane only.
    let (id, secret) =
        machine_client(&app, "control_plane", &app.audience(), &["read:roles", "read:tenant_settings"]).await;
    let response = token_at(&app, BASE, (&id, &secret), &app.audience()).await;
    let ordinary = json_of(response, 200).await["access_token"].as_str().unwrap().to_owned();
    json_of(api_at(&app, BASE, (Method::GET, "/roles", None), &ordinary, None).await, 200).await;
    for (host, header) in [(host_of("acme"), None), (BASE.to_owned(), Some("acme"))] {
        let refused = api_at(&app, &host, (Method::GET, "/roles", None), &ordinary, header).await;
        let message = error_of(refused, 403).await;
        assert!(message.contains("may not act in tenant \"acme\""), "{message}");
    }
}

/// A control-plane token bound to `org` (the organization of a child tenant), as F5 will issue
/// them to members of that organization; signed here with the control plane's key.
async fn organization_token(app: &TestApp, org: &str, permissions: &[&str]) -> String {
    let now = chrono::Utc::now().timestamp();
    let claims = api::auth::AccessClaims {
        iss: app.url("/"),
        sub: "auth0|member".into(),
        aud: app.audience(),
        iat: now,
        exp: now + 600,
        azp: "console".into(),
        scope: permissions.join(" "),
        gty: None,
        permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        tenant_id: "control_plane".into(),
        org_id: Some(org.into()),
        org_name: None,
        roles: Vec::new(),
    };
    let control_plane = domain::TenantId::control_plane();
    api::auth::tokens::sign(&app.state.keys, &control_plane, api::auth::signer::KeyAlg::Rs256, claims).await.unwrap()
}

async fn an_organization_token_manages_its_own_child_tenant_only(db: TestDatabase) {
    let app = start(db).await;
    for tenant in ["acme", "globex"] {
        create_tenant(&app, tenant).await;
        rename(&app, tenant, &format!("{tenant} Inc.")).await;
    }
    let token = organization_token(&app, "acme", &["read:tenant_settings", "update:tenant_settings"]).await;
    // Its tenant by default, by header or at its host.
    assert_eq!(friendly_name(reached(&app, BASE, &token, None).await).await, "acme Inc.");
    assert_eq!(friendly_name(reached(&app, BASE, &token, Some("acme")).await).await, "acme Inc.");
    assert_eq!(friendly_name(reached(&app, &host_of("acme"), &token, None).await).await, "acme Inc.");
    let body = json!({ "support_email": "help@acme.example" });
    json_of(api_at(&app, BASE, (Method::PATCH, "/tenants/settings", Some(body)), &token, None).await, 200).await;

    // Nothing else: not another child, not the control plane.
    let head = app.head().await;
    error_of(reached(&app, &host_of("globex"), &token, None).await, 403).await;
    error_of(reached(&app, BASE, &token, Some("globex")).await, 403).await;
    error_of(reached(&app, BASE, &token, Some("control_plane")).await, 403).await;
    let body = json!({ "support_email": "help@globex.example" });
    error_of(
        api_at(&app, &host_of("globex"), (Method::PATCH, "/tenants/settings", Some(body)), &token, None).await,
        403,
    )
    .await;
    assert_eq!(app.head().await, head);

    // An organization that is no tenant binds nothing: such a token is an ordinary one.
    let ordinary = organization_token(&app, "org_not_a_tenant", &["read:tenant_settings"]).await;
    let control_plane = friendly_name(reached(&app, BASE, &ordinary, None).await).await;
    assert!(!control_plane.ends_with("Inc."), "{control_plane}");
    error_of(reached(&app, BASE, &ordinary, Some("acme")).await, 403).await;
}

async fn a_reserved_subdomain_cannot_be_a_tenant_id(db: TestDatabase) {
    let app = start(db).await;
    let head = app.head().await;
    for reserved in ["www", "api", "admin"] {
        let message = error_of(app.api(Method::POST, "/tenants", Some(json!({ "id": reserved }))).await, 400).await;
        assert!(message.contains(&format!("\"{reserved}\" is reserved")), "{message}");
    }
    assert_eq!(app.head().await, head);
    // Its host is the control plane's.
    let response = app.request_at(&format!("api.{BASE}"), Method::GET, "/.well-known/openid-configuration").send();
    assert_eq!(json_of(response.await.unwrap(), 200).await["issuer"], app.url("/"));
}
