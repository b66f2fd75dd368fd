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

    // The first log line names the address the OS assigned.
    let address = tokio::task::spawn_blocking(move || {
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap();
            let entry: serde_json::Value = serde_json::from_str(&line).expect("JSON log lines");
            if let Some(address) = entry.get("address").and_then(|a| a.as_str()) {
                return address.to_owned();
            }
        }
        panic!("the server exited without listening");
    });
    let address = tokio::time::timeout(Duration::from_secs(60), address).await.unwrap().unwrap();

    let health: serde_json::Value =
        reqwest::get(format!("http://{address}/healthz")).await.unwrap().json().await.unwrap();
    assert_eq!(health["status"], "ok");
    let ready = reqwest::get(format!("http://{address}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(
        dir.path().join("tenancy.db").exists(),
        "sqlite://tenancy.db is the default, created in the working directory"
    );
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
