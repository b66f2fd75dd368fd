//! The `tenancy` binary as an operator runs it: flags, environment, the embedded default
//! database created on first start, and the one-shot commands' JSON output.

#![allow(clippy::unwrap_used)] // a test that cannot unwrap should fail loudly

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn tenancy() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenancy"));
    command.env_remove("TENANCY_DATABASE_URL").env_remove("TENANCY_LISTEN").env("RUST_LOG", "info");
    command
}

/// Kills the server when the test ends, however it ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_creates_the_embedded_database_and_answers_health_checks() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tenancy()
        .current_dir(dir.path())
        .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Running(child);

    // Bootstrap prints the generated credentials once, then a log line names the address.
    let started = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        let mut bootstrap = None;
        for line in lines.by_ref() {
            let entry: serde_json::Value = serde_json::from_str(&line.unwrap()).expect("JSON lines");
            if entry.get("bootstrapped").is_some() {
                bootstrap = Some(entry);
            } else if let Some(address) = entry.get("address").and_then(|a| a.as_str()) {
                // Keep draining, so the server never writes into a closed pipe.
                std::thread::spawn(move || lines.for_each(drop));
                return (address.to_owned(), bootstrap.expect("bootstrap output before listening"));
            }
        }
        panic!("the server exited without listening");
    });
    let (address, bootstrap) = tokio::time::timeout(Duration::from_secs(60), started).await.unwrap().unwrap();
    assert_eq!(bootstrap["tenant_id"], "control_plane");
    assert_eq!(bootstrap["audience"], format!("http://{address}/api/v2/"));

    let health: serde_json::Value =
        reqwest::get(format!("http://{address}/healthz")).await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let ready = reqwest::get(format!("http://{address}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(
        dir.path().join("tenancy.db").exists(),
        "sqlite://tenancy.db is the default, created in the working directory"
    );
    assert!(dir.path().join("tenancy.db.master.key").exists(), "the master key is generated beside it");

    // The printed credentials work, as the README shows with curl.
    let token = reqwest::Client::new()
        .post(bootstrap["token_url"].as_str().unwrap())
        .json(&serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": bootstrap["client_id"],
            "client_secret": bootstrap["client_secret"],
            "audience": bootstrap["audience"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), 200);
    drop(server);
}

#[test]
fn migrate_then_verify_print_json_and_succeed() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let migrated = tenancy().args(["migrate", "--database-url", &url]).output().unwrap();
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    let out: serde_json::Value = serde_json::from_slice(&migrated.stdout).unwrap();
    assert_eq!(out["migrated"], true);

    let verified = tenancy().args(["audit", "verify"]).env("TENANCY_DATABASE_URL", &url).output().unwrap();
    assert!(verified.status.success());
    let out: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(out["intact"], true);
    assert_eq!(out["checked"], 0);
}

#[test]
fn an_unsupported_database_url_is_a_clear_error() {
    let out = tenancy().args(["migrate", "--database-url", "mysql://localhost/x"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database url"));
}

#[test]
fn bootstrap_prints_credentials_once_and_then_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("b.db").display());
    let run = || {
        let output = tenancy()
            .args(["bootstrap", "--database-url", &url, "--public-url", "https://auth.example.com"])
            .env("TENANCY_BOOTSTRAP_CLIENT_ID", "my-client")
            .env("TENANCY_BOOTSTRAP_ADMIN_EMAIL", "root@example.com")
            .env_remove("TENANCY_BOOTSTRAP_CLIENT_SECRET")
            .env_remove("TENANCY_BOOTSTRAP_ADMIN_PASSWORD")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap()
    };
    let first = run();
    assert_eq!(first["bootstrapped"], true);
    assert_eq!(first["client_id"], "my-client");
    assert_eq!(first["client_secret"].as_str().unwrap().len(), 64, "generated, so printed");
    assert_eq!(first["audience"], "https://auth.example.com/api/v2/");
    assert_eq!(first["token_url"], "https://auth.example.com/oauth/token");
    assert_eq!(first["admin_email"], "root@example.com");
    assert_eq!(first["admin_password"].as_str().unwrap().len(), 24, "generated, so printed");

    let second = run();
    assert_eq!(second["bootstrapped"], false);
    assert!(second.get("client_secret").is_none());
    assert!(second.get("admin_password").is_none());
    assert!(second["message"].as_str().unwrap().contains("nothing"));
}

#[test]
fn a_projection_is_rebuilt_from_the_log_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("r.db").display());
    let bootstrap = tenancy().args(["bootstrap", "--database-url", &url]).output().unwrap();
    assert!(bootstrap.status.success(), "{}", String::from_utf8_lossy(&bootstrap.stderr));

    let rebuilt =
        tenancy().args(["projections", "rebuild", "resource_servers.v1", "--database-url", &url]).output().unwrap();
    assert!(rebuilt.status.success(), "{}", String::from_utf8_lossy(&rebuilt.stderr));
    let out: serde_json::Value = serde_json::from_slice(&rebuilt.stdout).unwrap();
    assert_eq!(out["rebuilt"], "resource_servers.v1");
    assert_eq!(out["position"], 5, "bootstrap's five events");
    assert!(String::from_utf8_lossy(&rebuilt.stderr).contains("5/5 events (100%)"));

    let unknown = tenancy().args(["projections", "rebuild", "nope.v1", "--database-url", &url]).output().unwrap();
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("roles.v1"), "names the known projections");
}
