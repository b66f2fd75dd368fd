//! The Tenant aggregate: one isolated space of users, roles and APIs, managed from the
//! control plane, with the settings it overrides. Its stream lives under its own tenant id.

use serde::{Deserialize, Serialize};

use crate::hostname;
use crate::settings::{SettingsError, SettingsOverrides, SettingsPatch};
use crate::text::valid_name;
use crate::{Aggregate, Rejection, RejectionKind, TenantId};

pub const TENANT_NAME_MAX: usize = 255;
/// Custom domains a tenant may have.
pub const DOMAINS_MAX: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantFields {
    pub id: TenantId,
    pub name: String,
    pub friendly_name: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum Tenant {
    #[default]
    Absent,
    Live(Box<TenantState>),
    Deleted,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TenantState {
    pub fields: TenantFields,
    /// The settings this tenant set itself; the rest it inherits.
    pub settings: SettingsOverrides,
    /// The tenant's custom domains, canonical: its own, never inherited.
    pub domains: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TenantCommand {
    Create(TenantFields),
    Update {
        name: Option<String>,
        friendly_name: Option<String>,
    },
    /// `PATCH /tenants/settings`: the friendly name and the custom domains are the tenant's
    /// own, never inherited; `domains` replaces the list.
    UpdateSettings {
        friendly_name: Option<String>,
        domains: Option<Vec<String>>,
        settings: SettingsPatch,
    },
    Delete,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum TenantEvent {
    #[serde(rename = "tenant.created")]
    Created(TenantFields),
    /// The tenant after the change.
    #[serde(rename = "tenant.updated")]
    Updated(TenantFields),
    /// The overrides after the change (keys not in it are inherited).
    #[serde(rename = "tenant.settings_updated")]
    SettingsUpdated { id: TenantId, settings: SettingsOverrides },
    /// The custom domains after the change; requests to them address this tenant.
    #[serde(rename = "tenant.domains_set")]
    DomainsSet { id: TenantId, domains: Vec<String> },
    #[serde(rename = "tenant.deleted")]
    Deleted { id: TenantId },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TenantError {
    #[error("name must be 1 to {TENANT_NAME_MAX} characters, without control characters")]
    InvalidName,
    #[error("friendly_name must be 1 to {TENANT_NAME_MAX} characters, without control characters")]
    InvalidFriendlyName,
    #[error("{0}")]
    InvalidSetting(SettingsError),
    #[error("domains: {0:?} is not a host name (lowercase labels of letters, digits and '-', at least two)")]
    InvalidDomain(String),
    #[error("domains: at most {DOMAINS_MAX} custom domains")]
    TooManyDomains,
    #[error("\"{0}\" is reserved for the deployment's own hosts and cannot be a tenant id")]
    ReservedId(TenantId),
    #[error("The tenant already exists")]
    AlreadyExists,
    #[error("The tenant does not exist")]
    NotFound,
    #[error("The control plane tenant cannot be deleted")]
    ControlPlaneIsPermanent,
}

impl Rejection for TenantError {
    fn kind(&self) -> RejectionKind {
        match self {
            Self::InvalidName
            | Self::InvalidFriendlyName
            | Self::InvalidSetting(_)
            | Self::InvalidDomain(_)
            | Self::TooManyDomains
            | Self::ReservedId(_) => RejectionKind::Invalid,
            Self::AlreadyExists => RejectionKind::AlreadyExists,
            Self::NotFound => RejectionKind::NotFound,
            Self::ControlPlaneIsPermanent => RejectionKind::Forbidden,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::InvalidName => Some("name"),
            Self::InvalidFriendlyName => Some("friendly_name"),
            Self::InvalidSetting(error) => Some(error.field()),
            Self::InvalidDomain(_) | Self::TooManyDomains => Some("domains"),
            Self::ReservedId(_) => Some("id"),
            Self::AlreadyExists | Self::NotFound | Self::ControlPlaneIsPermanent => None,
        }
    }
}

impl Aggregate for Tenant {
    type Command = TenantCommand;
    type Event = TenantEvent;
    type Error = TenantError;

    fn decide(&self, command: TenantCommand) -> Result<Vec<TenantEvent>, TenantError> {
        match (self, command) {
            (Self::Absent, TenantCommand::Create(fields)) => {
                if fields.id.is_reserved() {
                    return Err(TenantError::ReservedId(fields.id));
                }
                check(&fields)?;
                Ok(vec![TenantEvent::Created(fields)])
            }
            // A deleted tenant's id stays taken: its history is still in the log under that id.
            (Self::Live(_) | Self::Deleted, TenantCommand::Create(_)) => Err(TenantError::AlreadyExists),
            (Self::Absent | Self::Deleted, _) => Err(TenantError::NotFound),
            (Self::Live(current), TenantCommand::Update { name, friendly_name }) => {
                renamed(&current.fields, name, friendly_name).map(|event| event.into_iter().collect())
            }
            (Self::Live(current), TenantCommand::UpdateSettings { friendly_name, domains, settings }) => {
                let mut events: Vec<TenantEvent> = renamed(&current.fields, None, friendly_name)?.into_iter().collect();
                let next = current.settings.patched(settings).map_err(TenantError::InvalidSetting)?;
                if next != current.settings {
                    events.push(TenantEvent::SettingsUpdated { id: current.fields.id.clone(), settings: next });
                }
                if let Some(domains) = domains.map(canonical_domains).transpose()?
                    && domains != current.domains
                {
                    events.push(TenantEvent::DomainsSet { id: current.fields.id.clone(), domains });
                }
                Ok(events)
            }
            (Self::Live(current), TenantCommand::Delete) if current.fields.id.is_control_plane() => {
                Err(TenantError::ControlPlaneIsPermanent)
            }
            (Self::Live(current), TenantCommand::Delete) => {
                Ok(vec![TenantEvent::Deleted { id: current.fields.id.clone() }])
            }
        }
    }

    fn evolve(self, event: &TenantEvent) -> Self {
        match (self, event) {
            (Self::Live(mut tenant), TenantEvent::Updated(fields)) => {
                tenant.fields = fields.clone();
                Self::Live(tenant)
            }
            (Self::Live(mut tenant), TenantEvent::SettingsUpdated { settings, .. }) => {
                tenant.settings = settings.clone();
                Self::Live(tenant)
            }
            (Self::Live(mut tenant), TenantEvent::DomainsSet { domains, .. }) => {
                tenant.domains = domains.clone();
                Self::Live(tenant)
            }
            (_, TenantEvent::Created(fields)) => Self::Live(Box::new(TenantState {
                fields: fields.clone(),
                settings: SettingsOverrides::default(),
                domains: Vec::new(),
            })),
            (_, TenantEvent::Deleted { .. }) => Self::Deleted,
            // An event that does not apply to the state changes nothing: the log is the truth,
            // and decide never emits one.
            (state, _) => state,
        }
    }
}

impl Tenant {
    pub fn live(&self) -> Option<&TenantFields> {
        self.state().map(|tenant| &tenant.fields)
    }

    pub fn state(&self) -> Option<&TenantState> {
        match self {
            Self::Live(tenant) => Some(tenant),
            Self::Absent | Self::Deleted => None,
        }
    }
}

/// The `tenant.updated` of a rename, if it changes anything.
fn renamed(
    current: &TenantFields,
    name: Option<String>,
    friendly_name: Option<String>,
) -> Result<Option<TenantEvent>, TenantError> {
    let next = TenantFields {
        id: current.id.clone(),
        name: name.unwrap_or_else(|| current.name.clone()),
        friendly_name: friendly_name.unwrap_or_else(|| current.friendly_name.clone()),
    };
    check(&next)?;
    Ok((&next != current).then_some(TenantEvent::Updated(next)))
}

/// The domains in canonical form, sorted, each once.
fn canonical_domains(domains: Vec<String>) -> Result<Vec<String>, TenantError> {
    let mut canonical = domains
        .into_iter()
        .map(|domain| hostname::canonical(&domain).ok_or(TenantError::InvalidDomain(domain)))
        .collect::<Result<Vec<_>, _>>()?;
    canonical.sort();
    canonical.dedup();
    if canonical.len() > DOMAINS_MAX {
        return Err(TenantError::TooManyDomains);
    }
    Ok(canonical)
}

fn check(fields: &TenantFields) -> Result<(), TenantError> {
    if !valid_name(&fields.name, TENANT_NAME_MAX) {
        return Err(TenantError::InvalidName);
    }
    if !valid_name(&fields.friendly_name, TENANT_NAME_MAX) {
        return Err(TenantError::InvalidFriendlyName);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::{Given, given};

    fn acme() -> TenantFields {
        TenantFields { id: TenantId::parse("acme").unwrap(), name: "acme".into(), friendly_name: "Acme Inc.".into() }
    }

    fn tenant(events: impl IntoIterator<Item = TenantEvent>) -> Given<Tenant> {
        given(events)
    }

    #[test]
    fn a_tenant_is_created_with_its_names() {
        tenant([]).when(TenantCommand::Create(acme())).then([TenantEvent::Created(acme())]);
    }

    #[test]
    fn a_deleted_tenants_id_cannot_be_reused() {
        tenant([TenantEvent::Created(acme()), TenantEvent::Deleted { id: acme().id }])
            .when(TenantCommand::Create(acme()))
            .then_err(TenantError::AlreadyExists);
    }

    #[test]
    fn a_blank_friendly_name_is_refused() {
        tenant([TenantEvent::Created(acme())])
            .when(TenantCommand::Update { name: None, friendly_name: Some("".into()) })
            .then_err(TenantError::InvalidFriendlyName);
    }

    #[test]
    fn an_update_records_the_tenant_after_the_change() {
        tenant([TenantEvent::Created(acme())])
            .when(TenantCommand::Update { name: None, friendly_name: Some("Acme".into()) })
            .then([TenantEvent::Updated(TenantFields { friendly_name: "Acme".into(), ..acme() })]);
    }

    #[test]
    fn a_settings_change_records_the_overrides_after_it_and_the_friendly_name_as_a_rename() {
        let patch = SettingsPatch { support_email: Some(Some("help@acme.example".into())), ..SettingsPatch::default() };
        let settings =
            SettingsOverrides { support_email: Some("help@acme.example".into()), ..SettingsOverrides::default() };
        tenant([TenantEvent::Created(acme())])
            .when(TenantCommand::UpdateSettings { friendly_name: Some("Acme".into()), domains: None, settings: patch })
            .then([
                TenantEvent::Updated(TenantFields { friendly_name: "Acme".into(), ..acme() }),
                TenantEvent::SettingsUpdated { id: acme().id, settings },
            ]);
    }

    #[test]
    fn a_settings_change_that_changes_nothing_records_nothing() {
        let settings = SettingsOverrides { session_lifetime: Some(12), ..SettingsOverrides::default() };
        tenant([TenantEvent::Created(acme()), TenantEvent::SettingsUpdated { id: acme().id, settings }])
            .when(TenantCommand::UpdateSettings {
                friendly_name: None,
                domains: None,
                settings: SettingsPatch { session_lifetime: Some(Some(12)), ..SettingsPatch::default() },
            })
            .then([]);
    }

    #[test]
    fn a_bad_setting_is_refused_naming_its_key() {
        let patch = SettingsPatch { session_lifetime: Some(Some(0)), ..SettingsPatch::default() };
        let refusal = Tenant::fold(&[TenantEvent::Created(acme())])
            .decide(TenantCommand::UpdateSettings { friendly_name: None, domains: None, settings: patch })
            .unwrap_err();
        assert_eq!(refusal.field(), Some("session_lifetime"));
    }

    fn set_domains(domains: &[&str]) -> TenantCommand {
        TenantCommand::UpdateSettings {
            friendly_name: None,
            domains: Some(domains.iter().map(|d| (*d).to_owned()).collect()),
            settings: SettingsPatch::default(),
        }
    }

    #[test]
    fn a_reserved_subdomain_cannot_be_a_tenant_id() {
        let www = TenantFields { id: TenantId::parse("www").unwrap(), ..acme() };
        tenant([]).when(TenantCommand::Create(www.clone())).then_err(TenantError::ReservedId(www.id));
    }

    #[test]
    fn custom_domains_are_recorded_canonical_sorted_and_once() {
        tenant([TenantEvent::Created(acme())])
            .when(set_domains(&["Login.Acme.example.", "auth.acme.example", "login.acme.example"]))
            .then([TenantEvent::DomainsSet {
                id: acme().id,
                domains: vec!["auth.acme.example".into(), "login.acme.example".into()],
            }]);
    }

    #[test]
    fn setting_the_same_domains_again_records_nothing() {
        tenant([
            TenantEvent::Created(acme()),
            TenantEvent::DomainsSet { id: acme().id, domains: vec!["login.acme.example".into()] },
        ])
        .when(set_domains(&["LOGIN.acme.example"]))
        .then([]);
    }

    #[test]
    fn a_domain_that_is_not_a_host_name_is_refused() {
        tenant([TenantEvent::Created(acme())])
            .when(set_domains(&["acme.example:8443"]))
            .then_err(TenantError::InvalidDomain("acme.example:8443".into()));
    }

    #[test]
    fn the_control_plane_cannot_be_deleted() {
        let control_plane = TenantFields {
            id: TenantId::control_plane(),
            name: "control_plane".into(),
            friendly_name: "Control".into(),
        };
        tenant([TenantEvent::Created(control_plane)])
            .when(TenantCommand::Delete)
            .then_err(TenantError::ControlPlaneIsPermanent);
    }
}
