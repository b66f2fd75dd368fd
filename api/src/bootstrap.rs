//! Bootstrap of a fresh database: the control plane, the Management API and a management
//! client with every Management API permission. Run by the first `serve` and by
//! `tenancy bootstrap`; a second run changes nothing and says so.

use commands::{Bootstrap, BootstrapOutcome, CommandError, Commands};
use domain::TenantId;
use domain::resource_server::Scope;
use eventstore::{Actor, Metadata};
use serde_json::{Value, json};

use crate::auth::scopes::MANAGEMENT_SCOPES;
use crate::config::{BootstrapArgs, Urls};
use crate::secrets::MasterKey;

/// The outcome, as the JSON object `tenancy bootstrap` prints.
#[derive(Debug)]
pub struct Report {
    pub created: bool,
    /// Log position of the bootstrap commit, when it happened now.
    pub position: Option<u64>,
    pub json: Value,
}

pub async fn bootstrap(
    commands: &Commands,
    master_key: &MasterKey,
    urls: &Urls,
    args: &BootstrapArgs,
) -> Result<Report, CommandError> {
    let client_id = args.client_id.clone().unwrap_or_else(commands::new_client_id);
    let (client_secret, generated) = match &args.client_secret {
        Some(secret) => (secret.expose().to_owned(), false),
        None => (commands::new_client_secret(), true),
    };
    let input = Bootstrap {
        audience: urls.management_audience(),
        scopes: MANAGEMENT_SCOPES
            .iter()
            .map(|(value, description)| Scope { value: (*value).into(), description: (*description).into() })
            .collect(),
        client_id: client_id.clone(),
        client_secret_hash: master_key.hash_client_secret(&client_secret),
        metadata: Metadata {
            actor: Some(Actor { sub: "tenancy|bootstrap".into(), tenant_id: None, client_id: None }),
            ..Metadata::default()
        },
    };
    let mut json = json!({
        "tenant_id": TenantId::CONTROL_PLANE,
        "audience": urls.management_audience(),
        "token_url": urls.token_url(),
        "issuer": urls.issuer(),
    });
    match commands.bootstrap(input).await? {
        BootstrapOutcome::Created { position } => {
            json["bootstrapped"] = json!(true);
            json["client_id"] = json!(client_id);
            if generated {
                json["client_secret"] = json!(client_secret);
            }
            Ok(Report { created: true, position: Some(position), json })
        }
        BootstrapOutcome::AlreadyBootstrapped => {
            json["bootstrapped"] = json!(false);
            json["message"] = json!("This database is already bootstrapped; nothing was changed.");
            Ok(Report { created: false, position: None, json })
        }
    }
}
