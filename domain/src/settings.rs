//! Tenant settings: the keys a tenant may set, how a child tenant inherits each key it did not
//! set from the control plane, and the defaults when neither set it.
//!
//! A tenant stores only its overrides. The effective value of a key is the tenant's own, else
//! the control plane's, else the default; clearing an override restores inheritance. Flags
//! inherit one by one, like top-level keys.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The flags tenancy knows. Unknown flags are refused rather than stored and ignored.
pub const KNOWN_FLAGS: &[&str] = &["inherit_global_permissions_in_organizations"];

/// Hours, as Auth0 counts session lifetimes.
pub const DEFAULT_SESSION_LIFETIME: u32 = 168;
pub const DEFAULT_IDLE_SESSION_LIFETIME: u32 = 72;
pub const MAX_SESSION_LIFETIME: u32 = 8_760;
/// OWASP's minimum for passwords without other rules.
pub const DEFAULT_PASSWORD_MIN_LENGTH: u32 = 8;
pub const MAX_PASSWORD_MIN_LENGTH: u32 = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PasswordPolicy {
    pub min_length: u32,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_length: DEFAULT_PASSWORD_MIN_LENGTH }
    }
}

/// The keys a tenant set itself. A key left `None` (a flag left out) is inherited.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsOverrides {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_audience: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_lifetime: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_session_lifetime: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_organization_name_in_authentication_api: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_policy: Option<PasswordPolicy>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub flags: BTreeMap<String, bool>,
}

/// A PATCH of the settings: `None` keeps a key, `Some(None)` removes the override (the key is
/// inherited again), `Some(Some(value))` sets it. Flags likewise, one by one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SettingsPatch {
    pub support_email: Option<Option<String>>,
    pub support_url: Option<Option<String>>,
    pub default_audience: Option<Option<String>>,
    pub session_lifetime: Option<Option<u32>>,
    pub idle_session_lifetime: Option<Option<u32>>,
    pub allow_organization_name_in_authentication_api: Option<Option<bool>>,
    pub password_policy: Option<Option<PasswordPolicy>>,
    pub flags: BTreeMap<String, Option<bool>>,
}

/// The settings in effect for a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EffectiveSettings {
    pub support_email: Option<String>,
    pub support_url: Option<String>,
    pub default_audience: Option<String>,
    pub session_lifetime: u32,
    pub idle_session_lifetime: u32,
    pub allow_organization_name_in_authentication_api: bool,
    pub password_policy: PasswordPolicy,
    /// Every known flag.
    pub flags: BTreeMap<String, bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error("support_email must be an email address")]
    SupportEmail,
    #[error("support_url must be an http(s) URL")]
    SupportUrl,
    #[error("default_audience must not be blank")]
    DefaultAudience,
    #[error("session_lifetime must be 1 to {MAX_SESSION_LIFETIME} hours")]
    SessionLifetime,
    #[error("idle_session_lifetime must be 1 to {MAX_SESSION_LIFETIME} hours")]
    IdleSessionLifetime,
    #[error("password_policy.min_length must be 1 to {MAX_PASSWORD_MIN_LENGTH}")]
    PasswordPolicy,
    #[error("flags: {0:?} is not a flag tenancy knows (known: inherit_global_permissions_in_organizations)")]
    UnknownFlag(String),
}

impl SettingsError {
    pub fn field(&self) -> &'static str {
        match self {
            Self::SupportEmail => "support_email",
            Self::SupportUrl => "support_url",
            Self::DefaultAudience => "default_audience",
            Self::SessionLifetime => "session_lifetime",
            Self::IdleSessionLifetime => "idle_session_lifetime",
            Self::PasswordPolicy => "password_policy",
            Self::UnknownFlag(_) => "flags",
        }
    }
}

impl SettingsOverrides {
    /// These overrides with `patch` applied, checked.
    pub fn patched(&self, patch: SettingsPatch) -> Result<Self, SettingsError> {
        fn apply<T>(slot: &mut Option<T>, change: Option<Option<T>>) {
            if let Some(value) = change {
                *slot = value;
            }
        }
        let mut next = self.clone();
        apply(&mut next.support_email, patch.support_email);
        apply(&mut next.support_url, patch.support_url);
        apply(&mut next.default_audience, patch.default_audience);
        apply(&mut next.session_lifetime, patch.session_lifetime);
        apply(&mut next.idle_session_lifetime, patch.idle_session_lifetime);
        apply(
            &mut next.allow_organization_name_in_authentication_api,
            patch.allow_organization_name_in_authentication_api,
        );
        apply(&mut next.password_policy, patch.password_policy);
        for (flag, value) in patch.flags {
            if !KNOWN_FLAGS.contains(&flag.as_str()) {
                return Err(SettingsError::UnknownFlag(flag));
            }
            match value {
                Some(value) => next.flags.insert(flag, value),
                None => next.flags.remove(&flag),
            };
        }
        next.check()?;
        Ok(next)
    }

    fn check(&self) -> Result<(), SettingsError> {
        if self.support_email.as_deref().is_some_and(|email| !looks_like_email(email)) {
            return Err(SettingsError::SupportEmail);
        }
        let http = |url: &str| url.starts_with("https://") || url.starts_with("http://");
        if self.support_url.as_deref().is_some_and(|url| !http(url) || url.chars().any(char::is_whitespace)) {
            return Err(SettingsError::SupportUrl);
        }
        if self.default_audience.as_deref().is_some_and(|a| a.trim().is_empty()) {
            return Err(SettingsError::DefaultAudience);
        }
        let hours = |value: Option<u32>| value.is_none_or(|h| (1..=MAX_SESSION_LIFETIME).contains(&h));
        if !hours(self.session_lifetime) {
            return Err(SettingsError::SessionLifetime);
        }
        if !hours(self.idle_session_lifetime) {
            return Err(SettingsError::IdleSessionLifetime);
        }
        if self.password_policy.is_some_and(|p| !(1..=MAX_PASSWORD_MIN_LENGTH).contains(&p.min_length)) {
            return Err(SettingsError::PasswordPolicy);
        }
        Ok(())
    }

    /// The settings in effect: each key from these overrides, else from `inherited` (the
    /// control plane's, for a child tenant; `None` for the control plane itself), else the
    /// default.
    pub fn effective(&self, inherited: Option<&SettingsOverrides>) -> EffectiveSettings {
        let parent = inherited.cloned().unwrap_or_default();
        let pick = |own: &Option<String>, theirs: &Option<String>| own.clone().or_else(|| theirs.clone());
        let flags = KNOWN_FLAGS
            .iter()
            .map(|flag| {
                let value = self.flags.get(*flag).or_else(|| parent.flags.get(*flag)).copied().unwrap_or(false);
                ((*flag).to_owned(), value)
            })
            .collect();
        EffectiveSettings {
            support_email: pick(&self.support_email, &parent.support_email),
            support_url: pick(&self.support_url, &parent.support_url),
            default_audience: pick(&self.default_audience, &parent.default_audience),
            session_lifetime: self.session_lifetime.or(parent.session_lifetime).unwrap_or(DEFAULT_SESSION_LIFETIME),
            idle_session_lifetime: self
                .idle_session_lifetime
                .or(parent.idle_session_lifetime)
                .unwrap_or(DEFAULT_IDLE_SESSION_LIFETIME),
            allow_organization_name_in_authentication_api: self
                .allow_organization_name_in_authentication_api
                .or(parent.allow_organization_name_in_authentication_api)
                .unwrap_or(false),
            password_policy: self.password_policy.or(parent.password_policy).unwrap_or_default(),
            flags,
        }
    }
}

/// One `@` with something on each side, no spaces: proven by use, not by a pattern.
fn looks_like_email(email: &str) -> bool {
    !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAG: &str = "inherit_global_permissions_in_organizations";

    fn set(patch: SettingsPatch, on: &SettingsOverrides) -> SettingsOverrides {
        on.patched(patch).unwrap()
    }

    #[test]
    fn a_key_no_one_set_has_its_default() {
        let effective = SettingsOverrides::default().effective(Some(&SettingsOverrides::default()));
        assert_eq!(effective.session_lifetime, DEFAULT_SESSION_LIFETIME);
        assert_eq!(effective.password_policy.min_length, 8);
        assert_eq!(effective.flags.get(FLAG), Some(&false));
        assert_eq!(effective.support_email, None);
    }

    #[test]
    fn the_inheritance_matrix_holds_key_by_key() {
        // The control plane sets A (support_email) and B (session_lifetime).
        let mut control = set(
            SettingsPatch {
                support_email: Some(Some("help@cp.example".into())),
                session_lifetime: Some(Some(24)),
                ..SettingsPatch::default()
            },
            &SettingsOverrides::default(),
        );
        let mut child = SettingsOverrides::default();
        assert_eq!(child.effective(Some(&control)).session_lifetime, 24);

        // The child overrides B: it sees its own B and still the control plane's A.
        child = set(SettingsPatch { session_lifetime: Some(Some(12)), ..SettingsPatch::default() }, &child);
        let effective = child.effective(Some(&control));
        assert_eq!((effective.session_lifetime, effective.support_email.as_deref()), (12, Some("help@cp.example")));

        // The child clears B: inherited again.
        child = set(SettingsPatch { session_lifetime: Some(None), ..SettingsPatch::default() }, &child);
        assert_eq!(child.effective(Some(&control)).session_lifetime, 24);

        // The control plane changes A: the child follows.
        control = set(
            SettingsPatch { support_email: Some(Some("new@cp.example".into())), ..SettingsPatch::default() },
            &control,
        );
        assert_eq!(child.effective(Some(&control)).support_email.as_deref(), Some("new@cp.example"));
    }

    #[test]
    fn flags_inherit_one_by_one() {
        let control = set(
            SettingsPatch { flags: BTreeMap::from([(FLAG.into(), Some(true))]), ..SettingsPatch::default() },
            &SettingsOverrides::default(),
        );
        let child = SettingsOverrides::default();
        assert_eq!(child.effective(Some(&control)).flags.get(FLAG), Some(&true));
        let child = set(
            SettingsPatch { flags: BTreeMap::from([(FLAG.into(), Some(false))]), ..SettingsPatch::default() },
            &child,
        );
        assert_eq!(child.effective(Some(&control)).flags.get(FLAG), Some(&false));
        let child =
            set(SettingsPatch { flags: BTreeMap::from([(FLAG.into(), None)]), ..SettingsPatch::default() }, &child);
        assert_eq!(child.effective(Some(&control)).flags.get(FLAG), Some(&true));
    }

    #[test]
    fn bad_values_and_unknown_flags_are_refused_naming_the_key() {
        let none = SettingsOverrides::default();
        for (patch, field) in [
            (SettingsPatch { support_email: Some(Some("nope".into())), ..SettingsPatch::default() }, "support_email"),
            (SettingsPatch { session_lifetime: Some(Some(0)), ..SettingsPatch::default() }, "session_lifetime"),
            (
                SettingsPatch {
                    password_policy: Some(Some(PasswordPolicy { min_length: 0 })),
                    ..SettingsPatch::default()
                },
                "password_policy",
            ),
            (
                SettingsPatch { flags: BTreeMap::from([("made_up".into(), Some(true))]), ..SettingsPatch::default() },
                "flags",
            ),
        ] {
            assert_eq!(none.patched(patch).unwrap_err().field(), field);
        }
    }
}
