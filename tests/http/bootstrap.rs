//! What bootstrap leaves in the log: the control plane, the Management API, the management
//! client and grant, and an administrator whose email is only ciphertext; and what a later
//! start does to a database an earlier release bootstrapped.

use domain::TenantId;
use domain::personal::Sealed;
use domain::resource_server::ResourceServerEvent;
use eventstore::testing::TestDatabase;
use eventstore::{AppendRequest, ExpectedVersion, LogQuery, NewEvent};
use reqwest::Method;
use tenancy_tests::{TestApp, json_of};

eventstore::backend_tests!(
    bootstrap_records_an_administrator_with_a_sealed_email_and_an_argon2id_hash,
    a_database_bootstrapped_by_an_earlier_release_gains_the_new_management_permissions,
);

async fn bootstrap_records_an_administrator_with_a_sealed_email_and_an_argon2id_hash(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let events = app.state.db.store.read(&LogQuery::after(0)).await.unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        [
            "tenant.created",
            "resource_server.created",
            "client.created",
            "client_grant.created",
            "user.created",
            "signing_key.created",
        ]
    );
    let actor = |i: usize| events[i].metadata.actor.as_ref().map(|a| a.sub.clone());
    assert!((0..5).all(|i| actor(i).as_deref() == Some("tenancy|bootstrap")));
    assert_eq!(actor(5).as_deref(), Some("system"), "the control plane's first key, made ready before serving");

    let user = &events[4].payload;
    let raw = user.to_string();
    assert!(!raw.contains("admin@tenancy.local"), "the email is in the log in plaintext: {raw}");
    let hash = user["password_hash"].as_str().unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");

    let sealed = Sealed::new(user["email"].as_str().unwrap());
    let user_id = user["user_id"].as_str().unwrap();
    let opened = app.state.vault.open(&TenantId::control_plane(), user_id, &sealed).await.unwrap();
    assert_eq!(opened.as_deref(), Some("admin@tenancy.local"));
}

async fn a_database_bootstrapped_by_an_earlier_release_gains_the_new_management_permissions(db: TestDatabase) {
    let app = TestApp::start(db).await;
    // An earlier release's Management API: without admin:tenants.
    let store = &app.state.db.store;
    let events = store.read(&LogQuery::after(0)).await.unwrap();
    let created = events.iter().find(|e| e.event_type == "resource_server.created").unwrap();
    let ResourceServerEvent::Created(mut api) = domain::event::decode(&created.event_type, &created.payload).unwrap()
    else {
        panic!("not a creation")
    };
    api.scopes.retain(|scope| scope.value != "admin:tenants");
    let (event_type, payload) = domain::event::encode(&ResourceServerEvent::Updated(api.clone())).unwrap();
    let older = AppendRequest::to_stream(
        TenantId::control_plane(),
        created.stream_id.clone(),
        ExpectedVersion::Exact(1),
        vec![NewEvent::new(event_type, 1, payload)],
    );
    store.append(older).await.unwrap();

    // What every start runs: the API gains the scope back, once.
    let config = &app.state.config.instance.bootstrap;
    let (master_key, vault, urls) = (&app.state.master_key, &app.state.vault, &app.state.urls);
    let report = api::bootstrap::bootstrap(&app.state.commands, master_key, vault, urls, config).await.unwrap();
    assert_eq!(report.json["added_permissions"], serde_json::json!(["admin:tenants"]), "{}", report.json);
    let position = report.position.unwrap();
    let path = format!("/resource-servers/{}?min_position={position}", api.id);
    let scopes = json_of(app.api(Method::GET, &path, None).await, 200).await["scopes"].clone();
    assert!(scopes.as_array().unwrap().iter().any(|s| s["value"] == "admin:tenants"), "{scopes}");

    let head = app.head().await;
    let again = api::bootstrap::bootstrap(&app.state.commands, master_key, vault, urls, config).await.unwrap();
    assert_eq!((again.position, again.json["bootstrapped"].as_bool()), (None, Some(false)));
    assert_eq!(app.head().await, head, "a second start changes nothing");
}
