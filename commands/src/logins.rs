//! Recording password logins (`auth.login_succeeded`, `auth.login_failed`). The token endpoint
//! decides; this seals what identifies the client device and appends the fact, durably, before
//! the endpoint answers: a login the trail does not show did not happen.

use domain::TenantId;
use domain::login::{LoginEvent, LoginFailure, UNKNOWN_USER};
use domain::personal::Sealed;
use eventstore::{AppendRequest, ExpectedVersion, Metadata, StreamWrite};

use crate::executor::to_new_event;
use crate::refresh_tokens::NewRefreshToken;
use crate::streams;
use crate::users::vault_error;
use crate::{CommandError, Commands};

/// One password attempt, as the token endpoint saw it.
#[derive(Debug, Clone)]
pub struct LoginAttempt {
    pub tenant: TenantId,
    /// `None` when the username names no user.
    pub user_id: Option<String>,
    pub client_id: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub metadata: Metadata,
}

impl Commands {
    /// Appends `auth.login_succeeded` (with the organization the token is for, if any) and,
    /// in the same append, the refresh token the login issues, if any. Returns the position.
    pub async fn record_login(
        &self,
        attempt: LoginAttempt,
        organization: Option<String>,
        refresh_token: Option<NewRefreshToken>,
    ) -> Result<u64, CommandError> {
        let user_id = attempt.user_id.clone().unwrap_or_default();
        let (ip, user_agent) = self.seal_device(&attempt).await?;
        let event =
            LoginEvent::Succeeded { user_id, client_id: attempt.client_id.clone(), organization, ip, user_agent };
        let refresh_token = refresh_token.map(|token| token.write(&attempt.tenant)).transpose()?;
        self.append_login(attempt, event, refresh_token).await
    }

    /// Appends `auth.login_failed` and returns its position.
    pub async fn record_failed_login(&self, attempt: LoginAttempt, reason: LoginFailure) -> Result<u64, CommandError> {
        let (ip, user_agent) = self.seal_device(&attempt).await?;
        let user_id = attempt.user_id.clone();
        let event = LoginEvent::Failed { user_id, client_id: attempt.client_id.clone(), reason, ip, user_agent };
        self.append_login(attempt, event, None).await
    }

    async fn seal_device(&self, attempt: &LoginAttempt) -> Result<(Option<Sealed>, Option<Sealed>), CommandError> {
        let subject = attempt.user_id.as_deref().unwrap_or(UNKNOWN_USER);
        let mut sealed = [None, None];
        for (slot, value) in sealed.iter_mut().zip([&attempt.ip, &attempt.user_agent]) {
            if let Some(value) = value {
                *slot = Some(self.vault.seal(&attempt.tenant, subject, value).await.map_err(vault_error)?);
            }
        }
        let [ip, user_agent] = sealed;
        Ok((ip, user_agent))
    }

    async fn append_login(
        &self,
        attempt: LoginAttempt,
        event: LoginEvent,
        also: Option<StreamWrite>,
    ) -> Result<u64, CommandError> {
        let stream = streams::login(&attempt.tenant, attempt.user_id.as_deref());
        // Any version: logins are facts in arrival order; nothing decided on a stream state.
        let mut request =
            AppendRequest::to_stream(attempt.tenant, stream, ExpectedVersion::Any, vec![to_new_event(&event)?])
                .with_metadata(attempt.metadata);
        request.streams.extend(also);
        Ok(self.store.append(request).await?.last_position)
    }
}
