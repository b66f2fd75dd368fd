//! Refresh tokens: issued with the login that asks for one (in the login's own append), rotated
//! on each use, revoked by their client. The token endpoint reads a token's state first, checks
//! the user's claims against it, then rotates with the version it read; so a token is swapped
//! exactly once even when two requests present it at the same moment.

use domain::refresh_token::{RefreshGrant, RefreshToken, RefreshTokenCommand, RefreshTokenError};
use domain::{Aggregate, TenantId};
use eventstore::{AppendRequest, Metadata, StreamWrite};

use crate::executor::{Loaded, expected, load, to_new_event};
use crate::{CommandError, Commands, streams};

/// How many times one use of a token decides before it gives up to concurrent uses.
const MAX_ATTEMPTS: u32 = 8;

/// A refresh token to issue with a login.
#[derive(Debug, Clone)]
pub struct NewRefreshToken {
    pub id: String,
    pub grant: RefreshGrant,
    pub token_hash: String,
}

impl NewRefreshToken {
    /// The write that issues it, for the login's append.
    pub(crate) fn write(self, tenant: &TenantId) -> Result<StreamWrite, CommandError> {
        let command = RefreshTokenCommand::Issue { grant: self.grant, token_hash: self.token_hash };
        let events = RefreshToken::default().decide(command).map_err(CommandError::rejected)?;
        Ok(StreamWrite {
            tenant_id: tenant.clone(),
            stream_id: streams::refresh_token(tenant, &self.id),
            expected: expected(0),
            events: events.iter().map(to_new_event).collect::<Result<_, _>>()?,
        })
    }
}

/// A refresh token as read from the log, to be rotated or revoked at the version read.
#[derive(Debug)]
pub struct RefreshSession {
    tenant: TenantId,
    id: String,
    loaded: Loaded<RefreshToken>,
}

impl RefreshSession {
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn state(&self) -> &RefreshToken {
        &self.loaded.state
    }
}

impl Commands {
    /// The refresh token `id` of `tenant` (absent if it was never issued).
    pub async fn refresh_session(&self, tenant: &TenantId, id: &str) -> Result<RefreshSession, CommandError> {
        let loaded = load(&self.store, tenant, &streams::refresh_token(tenant, id)).await?;
        Ok(RefreshSession { tenant: tenant.clone(), id: id.to_owned(), loaded })
    }

    /// Swaps the presented token for the replacement and returns the new state. A token that was
    /// already replaced revokes them all and is refused as [`RefreshTokenError::Reused`]; so is
    /// the loser of two concurrent uses of one token, since the winner replaced it.
    pub async fn rotate_refresh_token(
        &self,
        session: RefreshSession,
        command: RefreshTokenCommand,
        metadata: Metadata,
    ) -> Result<RefreshToken, CommandError> {
        let state = self.decide_refresh_token(session, command, metadata).await?;
        match state {
            RefreshToken::Active { .. } => Ok(state),
            RefreshToken::Revoked(_) | RefreshToken::Absent => Err(CommandError::rejected(RefreshTokenError::Reused)),
        }
    }

    /// Revokes a refresh token at its client's request.
    pub async fn revoke_refresh_token(
        &self,
        session: RefreshSession,
        client_id: String,
        metadata: Metadata,
    ) -> Result<(), CommandError> {
        self.decide_refresh_token(session, RefreshTokenCommand::Revoke { client_id }, metadata).await.map(drop)
    }

    /// Decides on the state read and appends at its version; if another use came in between,
    /// decides again on the state it left (each conflict means another request's append
    /// succeeded, so this ends; the bound only caps the work one request can be made to do).
    async fn decide_refresh_token(
        &self,
        mut session: RefreshSession,
        command: RefreshTokenCommand,
        metadata: Metadata,
    ) -> Result<RefreshToken, CommandError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let events = session.loaded.state.decide(command.clone()).map_err(CommandError::rejected)?;
            if events.is_empty() {
                return Ok(session.loaded.state);
            }
            let stream = streams::refresh_token(&session.tenant, &session.id);
            let new_events = events.iter().map(to_new_event).collect::<Result<Vec<_>, _>>()?;
            let request =
                AppendRequest::to_stream(session.tenant.clone(), stream, expected(session.loaded.version), new_events)
                    .with_metadata(metadata.clone());
            match self.store.append(request).await.map_err(CommandError::from) {
                Ok(_) => return Ok(events.iter().fold(session.loaded.state, |state, event| state.evolve(event))),
                Err(CommandError::Conflict(_)) if attempts < MAX_ATTEMPTS => {
                    session = self.refresh_session(&session.tenant, &session.id).await?;
                }
                Err(error) => return Err(error),
            }
        }
    }
}
