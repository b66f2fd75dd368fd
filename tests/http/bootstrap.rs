//! What bootstrap leaves in the log: the control plane, the Management API, the management
//! client and grant, and an administrator whose email is only ciphertext.

use domain::TenantId;
use domain::personal::Sealed;
use eventstore::LogQuery;
use eventstore::testing::TestDatabase;
use tenancy_tests::TestApp;

eventstore::backend_tests!(bootstrap_records_an_administrator_with_a_sealed_email_and_an_argon2id_hash);

async fn bootstrap_records_an_administrator_with_a_sealed_email_and_an_argon2id_hash(db: TestDatabase) {
    let app = TestApp::start(db).await;
    let events = app.state.db.store.read(&LogQuery::after(0)).await.unwrap();
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        ["tenant.created", "resource_server.created", "client.created", "client_grant.created", "user.created"]
    );
    assert!(events.iter().all(|e| e.metadata.actor.as_ref().is_some_and(|a| a.sub == "tenancy|bootstrap")));

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
