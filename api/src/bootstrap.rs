//! Bootstrap of a fresh database: the control plane, the Management API, a management client
//! with every Management API permission and a first administrator. Run by the first `serve`
//! and by `tenancy bootstrap`; a second run changes nothing and says so — except that a
//! database bootstrapped by an earlier release gets the Management API permissions this one
//! added (its scopes, not anyone's grant).

use commands::{Bootstrap, BootstrapAdmin, BootstrapOutcome, CommandError, Commands, Context};
use domain::TenantId;
use domain::resource_server::Scope;
use domain::settings::PasswordPolicy;
use eventstore::{Actor, MasterKey, Metadata, Vault, VaultError};
use serde_json::{Value, json};

use crate::auth::scopes::MANAGEMENT_SCOPES;
use crate::config::{BootstrapArgs, Urls};
use crate::passwords::{self, PasswordError};

/// The administrator's address when none is configured.
pub const DEFAULT_ADMIN_EMAIL: &str = "admin@tenancy.local";

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("the administrator's password: {0}")]
    Password(#[from] PasswordError),
    #[error("the administrator's email cannot be sealed: {0}")]
    Vault(#[from] VaultError),
    #[error("the administrator's email {0:?} is not an email address")]
    Email(String),
}

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
    vault: &Vault,
    urls: &Urls,
    args: &BootstrapArgs,
) -> Result<Report, BootstrapError> {
    let mut json = json!({
        "tenant_id": TenantId::CONTROL_PLANE,
        "audience": urls.management_audience(),
        "token_url": urls.token_url(),
        "issuer": urls.issuer(),
    });
    let metadata = Metadata {
        actor: Some(Actor { sub: "tenancy|bootstrap".into(), tenant_id: None, client_id: None }),
        ..Metadata::default()
    };
    let scopes: Vec<Scope> = MANAGEMENT_SCOPES
        .iter()
        .map(|(value, description)| Scope { value: (*value).into(), description: (*description).into() })
        .collect();
    if commands.is_bootstrapped().await? {
        let ctx = Context { metadata, ..Context::new(TenantId::control_plane()) };
        return match commands.upgrade_system_api(&ctx, &urls.management_audience(), scopes).await? {
            Some((added, position)) => {
                tracing::info!(?added, "the Management API gained the permissions of this release");
                json["bootstrapped"] = json!(false);
                json["added_permissions"] = json!(added);
                json["message"] = json!(
                    "This database is already bootstrapped; the Management API gained this release's new permissions (grants are unchanged)."
                );
                Ok(Report { created: false, position: Some(position), json })
            }
            None => Ok(already(json)),
        };
    }
    let client_id = args.client_id.clone().unwrap_or_else(commands::new_client_id);
    let (client_secret, secret_generated) = given_or_generated(args.client_secret.as_ref().map(|s| s.expose()), 64);
    let admin_email = args.admin_email.clone().unwrap_or_else(|| DEFAULT_ADMIN_EMAIL.to_owned());
    if !looks_like_email(&admin_email) {
        return Err(BootstrapError::Email(admin_email));
    }
    let (admin_password, password_generated) = given_or_generated(args.admin_password.as_ref().map(|s| s.expose()), 24);
    let cp = TenantId::control_plane();
    let admin_id = commands::new_user_id();
    let admin = BootstrapAdmin {
        email: vault.seal(&cp, &admin_id, &admin_email).await?,
        email_index: vault.blind_index(&cp, &admin_email.to_lowercase()),
        // Nothing is configured before bootstrap: the default policy applies.
        password_hash: passwords::hash(admin_password.clone(), PasswordPolicy::default()).await?,
        user_id: admin_id.clone(),
    };
    let input = Bootstrap {
        audience: urls.management_audience(),
        scopes,
        client_id: client_id.clone(),
        client_secret_hash: master_key.hash_client_secret(&client_secret),
        admin,
        metadata,
    };
    match commands.bootstrap(input).await? {
        BootstrapOutcome::Created { position } => {
            json["bootstrapped"] = json!(true);
            json["client_id"] = json!(client_id);
            json["admin_user_id"] = json!(admin_id);
            json["admin_email"] = json!(admin_email);
            if secret_generated {
                json["client_secret"] = json!(client_secret);
            }
            if password_generated {
                json["admin_password"] = json!(admin_password);
            }
            Ok(Report { created: true, position: Some(position), json })
        }
        BootstrapOutcome::AlreadyBootstrapped => Ok(already(json)),
    }
}

fn already(mut json: Value) -> Report {
    json["bootstrapped"] = json!(false);
    json["message"] = json!("This database is already bootstrapped; nothing was changed.");
    Report { created: false, position: None, json }
}

/// The configured value, or a fresh random one of `len` characters (and whether it was).
fn given_or_generated(given: Option<&str>, len: usize) -> (String, bool) {
    match given {
        Some(value) => (value.to_owned(), false),
        None => (commands::random_string(len), true),
    }
}

/// One `@` with something on both sides and no whitespace: enough to catch a wrong variable.
fn looks_like_email(value: &str) -> bool {
    matches!(value.split_once('@'), Some((local, domain)) if !local.is_empty() && domain.contains('.') && !domain.contains('@'))
        && !value.chars().any(char::is_whitespace)
}
