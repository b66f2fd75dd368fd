//! The RefreshToken aggregate: one rotating refresh token, from its issue by a login to its
//! revocation (OAuth 2.0 Security BCP §4.14, RFC 9700). Each use swaps the valid token for a
//! new one; presenting a token that was already swapped out means two parties hold it (a
//! stolen copy, or a client racing itself), and since which one is the thief cannot be told,
//! the whole line of tokens is revoked.
//!
//! Only keyed hashes of the tokens are in the log: the log is exported and replayed, the tokens
//! are bearer secrets. The clock is the caller's: every command carries `now` (Unix seconds).

use serde::{Deserialize, Serialize};

use crate::{Aggregate, Rejection, RejectionKind};

/// Auth0's defaults for rotating refresh tokens: valid 30 days from the login, and 15 days
/// from the last use.
pub const ABSOLUTE_LIFETIME: i64 = 30 * 24 * 3600;
pub const IDLE_LIFETIME: i64 = 15 * 24 * 3600;

/// What a refresh token lets its client ask for again: the login it continues.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshGrant {
    pub user_id: String,
    pub client_id: String,
    pub audience: String,
    /// The scopes granted at login; a refresh may ask for fewer, never more.
    pub scope: Vec<String>,
    /// The organization the last tokens were issued for; a refresh may switch it.
    #[serde(default)]
    pub organization: Option<String>,
    pub issued_at: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RefreshToken {
    #[default]
    Absent,
    Active {
        grant: RefreshGrant,
        /// The hash of the one token that may be used next.
        token_hash: String,
        last_used_at: i64,
    },
    Revoked(RefreshGrant),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshTokenCommand {
    Issue {
        grant: RefreshGrant,
        token_hash: String,
    },
    /// Use the token whose hash is `presented` and replace it with `replacement`, for tokens in
    /// `organization` from now on.
    Rotate {
        presented: String,
        replacement: String,
        client_id: String,
        organization: Option<String>,
        now: i64,
    },
    /// Revoke on the holder's request (RFC 7009): the client must be the one it was issued to.
    Revoke {
        client_id: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationReason {
    /// The client revoked it.
    Revoked,
    /// A token already replaced was presented again.
    ReuseDetected,
}

/// Every event names the user and client, so the audit trail needs no other event to say whose
/// session it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum RefreshTokenEvent {
    #[serde(rename = "refresh_token.issued")]
    Issued { grant: RefreshGrant, token_hash: String },
    #[serde(rename = "refresh_token.rotated")]
    Rotated {
        user_id: String,
        client_id: String,
        token_hash: String,
        #[serde(default)]
        organization: Option<String>,
        at: i64,
    },
    #[serde(rename = "refresh_token.revoked")]
    Revoked { user_id: String, client_id: String, reason: RevocationReason },
}

/// Every refusal is the same to the client (`invalid_grant`); the kinds say why in the logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshTokenError {
    #[error("Unknown or invalid refresh token.")]
    Unknown,
    #[error("The refresh token was revoked.")]
    Revoked,
    #[error("The refresh token has expired.")]
    Expired,
    /// Decided by the command layer from the revocation a replaced token caused.
    #[error("The refresh token was already used; every token of its login is revoked.")]
    Reused,
    #[error("The refresh token was issued to another client.")]
    OtherClient,
    #[error("The refresh token exists already.")]
    AlreadyIssued,
}

impl Rejection for RefreshTokenError {
    fn kind(&self) -> RejectionKind {
        match self {
            Self::Unknown => RejectionKind::NotFound,
            Self::AlreadyIssued => RejectionKind::AlreadyExists,
            Self::Revoked | Self::Reused | Self::Expired | Self::OtherClient => RejectionKind::Invalid,
        }
    }
}

impl RefreshToken {
    /// The login this token continues, unless it was never issued.
    pub fn grant(&self) -> Option<&RefreshGrant> {
        match self {
            Self::Absent => None,
            Self::Active { grant, .. } | Self::Revoked(grant) => Some(grant),
        }
    }

    /// Whether `token_hash` is the token that may be used next.
    pub fn is_current(&self, token_hash: &str) -> bool {
        matches!(self, Self::Active { token_hash: current, .. } if current == token_hash)
    }
}

impl Aggregate for RefreshToken {
    type Command = RefreshTokenCommand;
    type Event = RefreshTokenEvent;
    type Error = RefreshTokenError;

    fn decide(&self, command: RefreshTokenCommand) -> Result<Vec<RefreshTokenEvent>, RefreshTokenError> {
        use RefreshTokenCommand as C;
        match (self, command) {
            (Self::Absent, C::Issue { grant, token_hash }) => Ok(vec![RefreshTokenEvent::Issued { grant, token_hash }]),
            (_, C::Issue { .. }) => Err(RefreshTokenError::AlreadyIssued),
            (Self::Absent, _) => Err(RefreshTokenError::Unknown),
            (Self::Revoked(_), C::Revoke { .. }) => Ok(Vec::new()),
            (Self::Revoked(_), C::Rotate { .. }) => Err(RefreshTokenError::Revoked),
            (Self::Active { grant, .. }, C::Revoke { client_id }) => {
                if client_id != grant.client_id {
                    return Err(RefreshTokenError::OtherClient);
                }
                Ok(vec![revoked(grant, RevocationReason::Revoked)])
            }
            (
                Self::Active { grant, token_hash, last_used_at },
                C::Rotate { presented, replacement, client_id, organization, now },
            ) => {
                if client_id != grant.client_id {
                    return Err(RefreshTokenError::OtherClient);
                }
                if now >= grant.issued_at + ABSOLUTE_LIFETIME || now >= last_used_at + IDLE_LIFETIME {
                    return Err(RefreshTokenError::Expired);
                }
                if presented != *token_hash {
                    return Ok(vec![revoked(grant, RevocationReason::ReuseDetected)]);
                }
                Ok(vec![RefreshTokenEvent::Rotated {
                    user_id: grant.user_id.clone(),
                    client_id,
                    token_hash: replacement,
                    organization,
                    at: now,
                }])
            }
        }
    }

    fn evolve(self, event: &RefreshTokenEvent) -> Self {
        match (self, event) {
            (_, RefreshTokenEvent::Issued { grant, token_hash }) => {
                Self::Active { grant: grant.clone(), token_hash: token_hash.clone(), last_used_at: grant.issued_at }
            }
            (Self::Active { mut grant, .. }, RefreshTokenEvent::Rotated { token_hash, organization, at, .. }) => {
                grant.organization.clone_from(organization);
                Self::Active { grant, token_hash: token_hash.clone(), last_used_at: *at }
            }
            (Self::Active { grant, .. } | Self::Revoked(grant), RefreshTokenEvent::Revoked { .. }) => {
                Self::Revoked(grant)
            }
            (state, _) => state,
        }
    }
}

fn revoked(grant: &RefreshGrant, reason: RevocationReason) -> RefreshTokenEvent {
    RefreshTokenEvent::Revoked { user_id: grant.user_id.clone(), client_id: grant.client_id.clone(), reason }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::given;

    const LOGIN: i64 = 1_700_000_000;

    fn grant() -> RefreshGrant {
        RefreshGrant {
            user_id: "auth0|1".into(),
            client_id: "app".into(),
            audience: "https://api/".into(),
            scope: vec!["openid".into(), "offline_access".into(), "read".into()],
            organization: None,
            issued_at: LOGIN,
        }
    }

    fn issued() -> RefreshTokenEvent {
        RefreshTokenEvent::Issued { grant: grant(), token_hash: "h1".into() }
    }

    fn rotate(presented: &str, replacement: &str, now: i64) -> RefreshTokenCommand {
        RefreshTokenCommand::Rotate {
            presented: presented.into(),
            replacement: replacement.into(),
            client_id: "app".into(),
            organization: None,
            now,
        }
    }

    fn rotated(token_hash: &str, organization: Option<&str>, at: i64) -> RefreshTokenEvent {
        RefreshTokenEvent::Rotated {
            user_id: "auth0|1".into(),
            client_id: "app".into(),
            token_hash: token_hash.into(),
            organization: organization.map(Into::into),
            at,
        }
    }

    #[test]
    fn a_login_issues_a_refresh_token() {
        given::<RefreshToken>([])
            .when(RefreshTokenCommand::Issue { grant: grant(), token_hash: "h1".into() })
            .then([issued()]);
    }

    #[test]
    fn the_current_token_is_swapped_for_a_new_one() {
        given::<RefreshToken>([issued()]).when(rotate("h1", "h2", LOGIN + 60)).then([rotated("h2", None, LOGIN + 60)]);
    }

    #[test]
    fn a_refresh_may_switch_the_organization_and_later_tokens_keep_it() {
        let command = RefreshTokenCommand::Rotate {
            presented: "h1".into(),
            replacement: "h2".into(),
            client_id: "app".into(),
            organization: Some("org_b".into()),
            now: LOGIN + 60,
        };
        given::<RefreshToken>([issued()]).when(command).then([rotated("h2", Some("org_b"), LOGIN + 60)]);
        let state = RefreshToken::fold(&[issued(), rotated("h2", Some("org_b"), LOGIN + 60)]);
        assert_eq!(state.grant().and_then(|g| g.organization.as_deref()), Some("org_b"));
        assert!(state.is_current("h2") && !state.is_current("h1"));
    }

    #[test]
    fn presenting_a_replaced_token_revokes_the_whole_line() {
        given::<RefreshToken>([issued(), rotated("h2", None, LOGIN + 60)]).when(rotate("h1", "h3", LOGIN + 120)).then(
            [RefreshTokenEvent::Revoked {
                user_id: "auth0|1".into(),
                client_id: "app".into(),
                reason: RevocationReason::ReuseDetected,
            }],
        );
    }

    #[test]
    fn a_revoked_token_is_refused_and_revoking_again_changes_nothing() {
        let revoked = RefreshTokenEvent::Revoked {
            user_id: "auth0|1".into(),
            client_id: "app".into(),
            reason: RevocationReason::Revoked,
        };
        given::<RefreshToken>([issued(), revoked.clone()])
            .when(rotate("h1", "h2", LOGIN + 60))
            .then_err(RefreshTokenError::Revoked);
        given::<RefreshToken>([issued(), revoked])
            .when(RefreshTokenCommand::Revoke { client_id: "app".into() })
            .then([]);
    }

    #[test]
    fn a_token_past_its_absolute_or_idle_lifetime_is_refused() {
        given::<RefreshToken>([issued(), rotated("h2", None, LOGIN + ABSOLUTE_LIFETIME - 10)])
            .when(rotate("h2", "h3", LOGIN + ABSOLUTE_LIFETIME))
            .then_err(RefreshTokenError::Expired);
        given::<RefreshToken>([issued()])
            .when(rotate("h1", "h2", LOGIN + IDLE_LIFETIME))
            .then_err(RefreshTokenError::Expired);
        given::<RefreshToken>([issued(), rotated("h2", None, LOGIN + IDLE_LIFETIME - 10)])
            .when(rotate("h2", "h3", LOGIN + IDLE_LIFETIME + 10))
            .then([rotated("h3", None, LOGIN + IDLE_LIFETIME + 10)]);
    }

    #[test]
    fn only_the_client_it_was_issued_to_may_use_or_revoke_it() {
        let mut command = rotate("h1", "h2", LOGIN + 60);
        if let RefreshTokenCommand::Rotate { client_id, .. } = &mut command {
            *client_id = "other".into();
        }
        given::<RefreshToken>([issued()]).when(command).then_err(RefreshTokenError::OtherClient);
        given::<RefreshToken>([issued()])
            .when(RefreshTokenCommand::Revoke { client_id: "other".into() })
            .then_err(RefreshTokenError::OtherClient);
    }

    #[test]
    fn an_unknown_token_cannot_be_used_and_an_issued_one_not_issued_again() {
        given::<RefreshToken>([]).when(rotate("h1", "h2", LOGIN)).then_err(RefreshTokenError::Unknown);
        given::<RefreshToken>([issued()])
            .when(RefreshTokenCommand::Issue { grant: grant(), token_hash: "h9".into() })
            .then_err(RefreshTokenError::AlreadyIssued);
    }
}
