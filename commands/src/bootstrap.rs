//! Bootstrap: the control plane, the Management API as its resource server, a management
//! client granted every Management API scope and a first administrator, committed in one
//! append or not at all.
//!
//! "Already bootstrapped" means the control plane's stream exists; two processes racing to
//! bootstrap the same database cannot both win, because that stream's expected version is
//! "no stream" for both.

use domain::client::{Client, ClientCommand, ClientFields, ClientSettings};
use domain::client_grant::{ClientGrant, ClientGrantCommand, ClientGrantFields};
use domain::personal::Sealed;
use domain::resource_server::{ResourceServer, ResourceServerCommand, Scope};
use domain::tenant::{Tenant, TenantCommand, TenantFields};
use domain::user::{DEFAULT_CONNECTION, Profile, User, UserCommand, UserFields};
use domain::{Aggregate, TenantId};
use eventstore::{AppendRequest, ExpectedVersion, Metadata, StoreError, StreamWrite, UniqueChange};

use crate::clients::grant_claim;
use crate::executor::{Extra, Source, execute, load, to_new_event};
use crate::resource_servers::identifier_changes;
use crate::streams::{RESOURCE_SERVER_IDENTIFIER, USER_EMAIL};
use crate::{CommandError, Commands, Context, NewResourceServer, ids, streams};

/// What bootstrap creates. Secrets arrive hashed and personal data sealed: hashing and
/// encryption are the caller's (keyed) business.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub audience: String,
    pub scopes: Vec<Scope>,
    pub client_id: String,
    pub client_secret_hash: String,
    pub admin: BootstrapAdmin,
    pub metadata: Metadata,
}

/// The control plane's first administrator.
#[derive(Debug, Clone)]
pub struct BootstrapAdmin {
    pub user_id: String,
    pub email: Sealed,
    /// Blind index of the lowercased email, for per-tenant uniqueness.
    pub email_index: String,
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootstrapOutcome {
    Created { position: u64 },
    AlreadyBootstrapped,
}

impl Commands {
    /// Whether the control plane exists, so a caller can skip preparing a bootstrap (hashing a
    /// password, creating a data key) that would change nothing.
    pub async fn is_bootstrapped(&self) -> Result<bool, CommandError> {
        let cp = TenantId::control_plane();
        Ok(load::<Tenant>(&self.store, &cp, &streams::tenant(&cp)).await?.version > 0)
    }

    /// Adds to the control plane's system API `identifier` (the Management API) the scopes it
    /// lacks: a database bootstrapped by an earlier release gains the permissions this one
    /// added. Answers the scopes added and the position that committed them; nothing when the
    /// API had them all. Grants are left as they are: widening who holds what is the
    /// operator's call (`PATCH /client-grants/{id}`).
    pub async fn upgrade_system_api(
        &self,
        ctx: &Context,
        identifier: &str,
        scopes: Vec<Scope>,
    ) -> Result<Option<(Vec<String>, u64)>, CommandError> {
        let cp = TenantId::control_plane();
        let Some(stream) = self.store.unique_owner(&cp, RESOURCE_SERVER_IDENTIFIER, identifier).await? else {
            return Ok(None);
        };
        let mut added = Vec::new();
        let committed = execute(
            &self.store,
            ctx,
            &cp,
            (&stream, Source::Log),
            |state: &ResourceServer| {
                if let Some(api) = state.live() {
                    added = scopes.iter().filter(|s| !api.has_scope(&s.value)).map(|s| s.value.clone()).collect();
                }
                state.decide(ResourceServerCommand::AddSystemScopes(scopes)).map_err(CommandError::rejected)
            },
            |_, _| Extra::default(),
        )
        .await?;
        if added.is_empty() {
            return Ok(None);
        }
        Ok(Some((added, committed.position)))
    }

    pub async fn bootstrap(&self, input: Bootstrap) -> Result<BootstrapOutcome, CommandError> {
        let cp = TenantId::control_plane();
        let tenant_stream = streams::tenant(&cp);
        if self.is_bootstrapped().await? {
            return Ok(BootstrapOutcome::AlreadyBootstrapped);
        }
        let tenant = Tenant::Absent
            .decide(TenantCommand::Create(TenantFields {
                id: cp.clone(),
                name: cp.to_string(),
                friendly_name: "Control plane".into(),
            }))
            .map_err(CommandError::rejected)?;

        let api = NewResourceServer {
            name: "Tenancy Management API".into(),
            identifier: input.audience.clone(),
            scopes: input.scopes.clone(),
            ..NewResourceServer::default()
        }
        .into_fields(ids::new_resource_server_id(), true);
        let api_stream = streams::resource_server(&cp, &api.id);
        let api = ResourceServer::Absent.decide(ResourceServerCommand::Create(api)).map_err(CommandError::rejected)?;

        let client_fields = ClientFields {
            client_id: input.client_id.clone(),
            settings: ClientSettings::machine("Tenancy bootstrap client"),
            secret_hash: input.client_secret_hash,
        };
        let client_stream = streams::client(&cp, &client_fields.client_id);
        let client = Client::Absent.decide(ClientCommand::Create(client_fields)).map_err(CommandError::rejected)?;

        let grant_fields = ClientGrantFields {
            id: ids::new_grant_id(),
            client_id: input.client_id,
            audience: input.audience,
            scope: input.scopes.into_iter().map(|scope| scope.value).collect(),
            ..ClientGrantFields::default()
        };
        let grant_stream = streams::client_grant(&cp, &grant_fields.id);
        let grant = ClientGrant::Absent
            .decide(ClientGrantCommand::Create(grant_fields.clone()))
            .map_err(CommandError::rejected)?;

        let admin_stream = streams::user(&cp, &input.admin.user_id);
        let admin = User::Absent
            .decide(UserCommand::Create(Box::new(UserFields {
                user_id: input.admin.user_id,
                connection: DEFAULT_CONNECTION.into(),
                profile: Profile {
                    email_verified: true,
                    ..Profile::with_email(input.admin.email, Some(input.admin.email_index.clone()))
                },
                password_hash: Some(input.admin.password_hash),
            })))
            .map_err(CommandError::rejected)?;

        let write = |stream: &str, events: Vec<eventstore::NewEvent>| StreamWrite {
            tenant_id: cp.clone(),
            stream_id: stream.to_owned(),
            expected: ExpectedVersion::NoStream,
            events,
        };
        let mut unique = identifier_changes(&cp, &api_stream, &api);
        unique.push(grant_claim(&cp, &grant_stream, &grant_fields));
        unique.push(UniqueChange::Claim {
            tenant_id: cp.clone(),
            scope: USER_EMAIL.into(),
            value: input.admin.email_index,
            owner: admin_stream.clone(),
        });
        let request = AppendRequest {
            tenant_id: cp.clone(),
            streams: vec![
                write(&tenant_stream, encode_all(&tenant)?),
                write(&api_stream, encode_all(&api)?),
                write(&client_stream, encode_all(&client)?),
                write(&grant_stream, encode_all(&grant)?),
                write(&admin_stream, encode_all(&admin)?),
            ],
            unique,
            idempotency: None,
            metadata: input.metadata,
        };
        match self.store.append(request).await {
            Ok(appended) => Ok(BootstrapOutcome::Created { position: appended.last_position }),
            Err(StoreError::Conflict { stream_id, .. }) if stream_id == tenant_stream => {
                Ok(BootstrapOutcome::AlreadyBootstrapped)
            }
            Err(err) => Err(err.into()),
        }
    }
}

fn encode_all<E: serde::Serialize>(events: &[E]) -> Result<Vec<eventstore::NewEvent>, CommandError> {
    events.iter().map(to_new_event).collect()
}
