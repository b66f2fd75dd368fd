//! The Client aggregate: an application that asks for tokens, with Auth0's client settings.
//!
//! The secret itself never reaches the domain: only its keyed hash, computed by the caller.
//! Events of F2's bootstrap client hold only `client_id`, `name`, `app_type`, `grant_types`
//! and `secret_hash`; every later setting has a default, so they still read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::text::{valid_description, valid_name};
use crate::{Aggregate, Rejection, RejectionKind};

pub const CLIENT_NAME_MAX: usize = 255;
/// Auth0's limits.
pub const CLIENT_DESCRIPTION_MAX: usize = 140;
pub const CLIENT_METADATA_MAX_KEYS: usize = 10;
pub const CLIENT_METADATA_VALUE_MAX: usize = 255;

/// Auth0's application types.
pub const APP_TYPES: &[&str] = &["non_interactive", "spa", "native", "regular_web"];
/// The grant types a client may be allowed.
pub const GRANT_TYPES: &[&str] = &[
    "client_credentials",
    "password",
    "refresh_token",
    "authorization_code",
    "implicit",
    "http://auth0.com/oauth/grant-type/password-realm",
];
pub const TOKEN_ENDPOINT_AUTH_METHODS: &[&str] = &["none", "client_secret_post", "client_secret_basic"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientFields {
    pub client_id: String,
    #[serde(flatten)]
    pub settings: ClientSettings,
    /// Keyed hash of the client secret; a secret, never exported.
    pub secret_hash: String,
}

/// Everything about a client that a PATCH may change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientSettings {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Auth0's `app_type`: `non_interactive` for machine-to-machine clients.
    pub app_type: String,
    pub grant_types: Vec<String>,
    #[serde(default)]
    pub callbacks: Vec<String>,
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    #[serde(default)]
    pub web_origins: Vec<String>,
    #[serde(default)]
    pub allowed_logout_urls: Vec<String>,
    #[serde(default = "default_auth_method")]
    pub token_endpoint_auth_method: String,
    #[serde(default)]
    pub client_metadata: BTreeMap<String, String>,
}

fn default_auth_method() -> String {
    "client_secret_post".into()
}

impl ClientSettings {
    /// A machine-to-machine client named `name`, allowed `client_credentials`.
    pub fn machine(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            description: None,
            app_type: "non_interactive".into(),
            grant_types: vec!["client_credentials".into()],
            callbacks: Vec::new(),
            allowed_origins: Vec::new(),
            web_origins: Vec::new(),
            allowed_logout_urls: Vec::new(),
            token_endpoint_auth_method: default_auth_method(),
            client_metadata: BTreeMap::new(),
        }
    }
}

/// A PATCH of a client: `None` keeps a setting, `description: Some(None)` clears it; lists
/// replace; metadata merges key by key, a `None` value removing its key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub app_type: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub callbacks: Option<Vec<String>>,
    pub allowed_origins: Option<Vec<String>>,
    pub web_origins: Option<Vec<String>>,
    pub allowed_logout_urls: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub client_metadata: Option<BTreeMap<String, Option<String>>>,
}

impl ClientChanges {
    fn applied_to(self, current: &ClientSettings) -> ClientSettings {
        let mut settings = current.clone();
        let replace = |slot: &mut Vec<String>, value: Option<Vec<String>>| {
            if let Some(value) = value {
                *slot = value;
            }
        };
        if let Some(name) = self.name {
            settings.name = name;
        }
        if let Some(description) = self.description {
            settings.description = description;
        }
        if let Some(app_type) = self.app_type {
            settings.app_type = app_type;
        }
        replace(&mut settings.grant_types, self.grant_types);
        replace(&mut settings.callbacks, self.callbacks);
        replace(&mut settings.allowed_origins, self.allowed_origins);
        replace(&mut settings.web_origins, self.web_origins);
        replace(&mut settings.allowed_logout_urls, self.allowed_logout_urls);
        if let Some(method) = self.token_endpoint_auth_method {
            settings.token_endpoint_auth_method = method;
        }
        for (key, value) in self.client_metadata.unwrap_or_default() {
            match value {
                Some(value) => settings.client_metadata.insert(key, value),
                None => settings.client_metadata.remove(&key),
            };
        }
        settings
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum Client {
    #[default]
    Absent,
    Live(Box<ClientFields>),
    Deleted,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ClientCommand {
    Create(ClientFields),
    Update(ClientChanges),
    RotateSecret { secret_hash: String },
    Delete,
}

/// Every event names the client, so a consumer of the log needs no stream-id parsing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum ClientEvent {
    #[serde(rename = "client.created")]
    Created(ClientFields),
    /// The settings after the change.
    #[serde(rename = "client.updated")]
    Updated {
        client_id: String,
        #[serde(flatten)]
        settings: ClientSettings,
    },
    #[serde(rename = "client.secret_rotated")]
    SecretRotated { client_id: String, secret_hash: String },
    #[serde(rename = "client.deleted")]
    Deleted { client_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("name must be 1 to {CLIENT_NAME_MAX} characters, without control characters")]
    InvalidName,
    #[error("description must be at most {CLIENT_DESCRIPTION_MAX} characters")]
    InvalidDescription,
    #[error("app_type must be one of non_interactive, spa, native, regular_web")]
    InvalidAppType,
    #[error("grant_types: {0:?} is not a grant type tenancy knows")]
    InvalidGrantType(String),
    #[error("token_endpoint_auth_method must be one of none, client_secret_post, client_secret_basic")]
    InvalidAuthMethod,
    #[error(
        "client_metadata may hold at most {CLIENT_METADATA_MAX_KEYS} keys, each with a string value of at most \
         {CLIENT_METADATA_VALUE_MAX} characters"
    )]
    InvalidMetadata,
    #[error("The client already exists")]
    AlreadyExists,
    #[error("The client does not exist")]
    NotFound,
}

impl Rejection for ClientError {
    fn kind(&self) -> RejectionKind {
        match self {
            Self::AlreadyExists => RejectionKind::AlreadyExists,
            Self::NotFound => RejectionKind::NotFound,
            _ => RejectionKind::Invalid,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidName => Some("name"),
            Self::InvalidDescription => Some("description"),
            Self::InvalidAppType => Some("app_type"),
            Self::InvalidGrantType(_) => Some("grant_types"),
            Self::InvalidAuthMethod => Some("token_endpoint_auth_method"),
            Self::InvalidMetadata => Some("client_metadata"),
            Self::AlreadyExists | Self::NotFound => None,
        }
    }
}

impl Aggregate for Client {
    type Command = ClientCommand;
    type Event = ClientEvent;
    type Error = ClientError;

    fn decide(&self, command: ClientCommand) -> Result<Vec<ClientEvent>, ClientError> {
        match (self, command) {
            (Self::Absent, ClientCommand::Create(fields)) => {
                check_settings(&fields.settings)?;
                Ok(vec![ClientEvent::Created(fields)])
            }
            (Self::Live(_) | Self::Deleted, ClientCommand::Create(_)) => Err(ClientError::AlreadyExists),
            (Self::Absent | Self::Deleted, _) => Err(ClientError::NotFound),
            (Self::Live(client), ClientCommand::Update(changes)) => {
                let settings = changes.applied_to(&client.settings);
                check_settings(&settings)?;
                if settings == client.settings {
                    return Ok(Vec::new());
                }
                Ok(vec![ClientEvent::Updated { client_id: client.client_id.clone(), settings }])
            }
            (Self::Live(client), ClientCommand::RotateSecret { secret_hash }) => {
                Ok(vec![ClientEvent::SecretRotated { client_id: client.client_id.clone(), secret_hash }])
            }
            (Self::Live(client), ClientCommand::Delete) => {
                Ok(vec![ClientEvent::Deleted { client_id: client.client_id.clone() }])
            }
        }
    }

    fn evolve(self, event: &ClientEvent) -> Self {
        match (self, event) {
            (_, ClientEvent::Created(fields)) => Self::Live(Box::new(fields.clone())),
            (Self::Live(mut client), ClientEvent::Updated { settings, .. }) => {
                client.settings = settings.clone();
                Self::Live(client)
            }
            (Self::Live(mut client), ClientEvent::SecretRotated { secret_hash, .. }) => {
                client.secret_hash.clone_from(secret_hash);
                Self::Live(client)
            }
            (_, ClientEvent::Deleted { .. }) => Self::Deleted,
            // An event that does not apply to the state changes nothing: the log is the truth,
            // and decide never emits one.
            (state, _) => state,
        }
    }
}

impl Client {
    pub fn live(&self) -> Option<&ClientFields> {
        match self {
            Self::Live(client) => Some(client),
            Self::Absent | Self::Deleted => None,
        }
    }
}

fn check_settings(settings: &ClientSettings) -> Result<(), ClientError> {
    if !valid_name(&settings.name, CLIENT_NAME_MAX) {
        return Err(ClientError::InvalidName);
    }
    if settings.description.as_deref().is_some_and(|d| !valid_description(d, CLIENT_DESCRIPTION_MAX)) {
        return Err(ClientError::InvalidDescription);
    }
    if !APP_TYPES.contains(&settings.app_type.as_str()) {
        return Err(ClientError::InvalidAppType);
    }
    if let Some(unknown) = settings.grant_types.iter().find(|g| !GRANT_TYPES.contains(&g.as_str())) {
        return Err(ClientError::InvalidGrantType(unknown.clone()));
    }
    if !TOKEN_ENDPOINT_AUTH_METHODS.contains(&settings.token_endpoint_auth_method.as_str()) {
        return Err(ClientError::InvalidAuthMethod);
    }
    let metadata_ok = settings.client_metadata.len() <= CLIENT_METADATA_MAX_KEYS
        && settings.client_metadata.iter().all(|(key, value)| {
            valid_name(key, CLIENT_METADATA_VALUE_MAX) && value.chars().count() <= CLIENT_METADATA_VALUE_MAX
        });
    if !metadata_ok {
        return Err(ClientError::InvalidMetadata);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::given;

    fn m2m() -> ClientFields {
        ClientFields {
            client_id: "abc".into(),
            settings: ClientSettings::machine("Deploy bot"),
            secret_hash: "hmac".into(),
        }
    }

    fn created() -> ClientEvent {
        ClientEvent::Created(m2m())
    }

    #[test]
    fn a_client_is_created_with_its_secret_hash() {
        given::<Client>([]).when(ClientCommand::Create(m2m())).then([created()]);
    }

    #[test]
    fn a_client_id_cannot_be_taken_twice() {
        given::<Client>([created()]).when(ClientCommand::Create(m2m())).then_err(ClientError::AlreadyExists);
    }

    #[test]
    fn the_bootstrap_client_event_of_f2_still_reads() {
        let payload = r#"{"client_id":"abc","name":"Tenancy bootstrap client","app_type":"non_interactive",
            "grant_types":["client_credentials"],"secret_hash":"hmac"}"#;
        let fields: ClientFields = serde_json::from_str(payload).unwrap();
        assert_eq!(fields.settings, ClientSettings::machine("Tenancy bootstrap client"));
    }

    #[test]
    fn an_unknown_app_type_or_grant_type_is_refused() {
        let mut spa = m2m();
        spa.settings.app_type = "desktop".into();
        given::<Client>([]).when(ClientCommand::Create(spa)).then_err(ClientError::InvalidAppType);
        given::<Client>([created()])
            .when(ClientCommand::Update(ClientChanges {
                grant_types: Some(vec!["device_code".into()]),
                ..ClientChanges::default()
            }))
            .then_err(ClientError::InvalidGrantType("device_code".into()));
    }

    #[test]
    fn an_update_records_the_settings_after_the_change() {
        let changes = ClientChanges {
            description: Some(Some("Deploys things".into())),
            callbacks: Some(vec!["https://app.example/callback".into()]),
            client_metadata: Some(BTreeMap::from([("team".into(), Some("ops".into()))])),
            ..ClientChanges::default()
        };
        let mut settings = ClientSettings::machine("Deploy bot");
        settings.description = Some("Deploys things".into());
        settings.callbacks = vec!["https://app.example/callback".into()];
        settings.client_metadata = BTreeMap::from([("team".into(), "ops".into())]);
        given::<Client>([created()])
            .when(ClientCommand::Update(changes))
            .then([ClientEvent::Updated { client_id: "abc".into(), settings }]);
    }

    #[test]
    fn an_update_that_changes_nothing_records_nothing() {
        given::<Client>([created()])
            .when(ClientCommand::Update(ClientChanges { name: Some("Deploy bot".into()), ..ClientChanges::default() }))
            .then([]);
    }

    #[test]
    fn rotating_the_secret_records_only_the_new_hash() {
        given::<Client>([created()])
            .when(ClientCommand::RotateSecret { secret_hash: "hmac2".into() })
            .then([ClientEvent::SecretRotated { client_id: "abc".into(), secret_hash: "hmac2".into() }]);
    }

    #[test]
    fn a_deleted_client_cannot_be_changed_or_created_again() {
        let deleted = ClientEvent::Deleted { client_id: "abc".into() };
        given::<Client>([created(), deleted.clone()])
            .when(ClientCommand::RotateSecret { secret_hash: "x".into() })
            .then_err(ClientError::NotFound);
        given::<Client>([created(), deleted]).when(ClientCommand::Create(m2m())).then_err(ClientError::AlreadyExists);
    }
}
