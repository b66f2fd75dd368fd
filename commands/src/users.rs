//! User use cases: create, update (profile and password), delete, assign and remove roles,
//! add and remove direct permissions.
//!
//! Personal fields are sealed here, with the person's data key, before the domain sees them;
//! the email's uniqueness is claimed by its blind index in the append's transaction.

use std::collections::BTreeSet;

use domain::personal::Sealed;
use domain::role::Role;
use domain::user::{DEFAULT_CONNECTION, Profile, User, UserCommand, UserEvent, UserFields};
use domain::{Aggregate, Permission, TenantId};
use eventstore::{StreamWrite, UniqueChange};
use serde_json::{Map, Value};

use crate::executor::{Extra, Source, execute, load};
use crate::streams::{self, USER_EMAIL};
use crate::{CommandError, Commands, Committed, Context, ids};

/// A user as a create request gives it: plaintext, except the password, which arrives hashed.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// `None` means the default database connection.
    pub connection: Option<String>,
    pub email: String,
    pub email_verified: bool,
    pub password_hash: String,
    pub personal: PersonalFields,
    pub username: Option<String>,
    pub user_metadata: Option<Map<String, Value>>,
    pub app_metadata: Option<Map<String, Value>>,
    pub blocked: bool,
}

/// The optional personal fields of a profile, in plaintext.
#[derive(Debug, Clone, Default)]
pub struct PersonalFields {
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub nickname: Option<String>,
    pub picture: Option<String>,
    pub phone_number: Option<String>,
}

/// A PATCH of a user: `None` keeps a field, `Some(None)` clears it. Metadata objects merge
/// into the stored ones at the top level, a `null` value removing its key (as Auth0 does).
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub username: Option<Option<String>>,
    pub name: Option<Option<String>>,
    pub given_name: Option<Option<String>>,
    pub family_name: Option<Option<String>>,
    pub nickname: Option<Option<String>>,
    pub picture: Option<Option<String>>,
    pub phone_number: Option<Option<String>>,
    pub user_metadata: Option<Map<String, Value>>,
    pub app_metadata: Option<Map<String, Value>>,
    pub blocked: Option<bool>,
    /// A new password, hashed.
    pub password_hash: Option<String>,
}

impl Commands {
    pub async fn create_user(&self, ctx: &Context, user: NewUser) -> Result<Committed<User>, CommandError> {
        let connection = user.connection.unwrap_or_else(|| DEFAULT_CONNECTION.into());
        if connection != DEFAULT_CONNECTION {
            return Err(CommandError::invalid("connection", format!("The connection {connection:?} does not exist")));
        }
        check_email(&user.email)?;
        let user_id = ids::new_user_id();
        let seal = Sealer { commands: self, tenant: &ctx.tenant, user_id: &user_id };
        let mut profile = Profile::with_email(seal.field(&user.email).await?, Some(self.email_index(ctx, &user.email)));
        profile.email_verified = user.email_verified;
        profile.username = user.username;
        seal.personal(&mut profile, user.personal).await?;
        profile.user_metadata = seal.metadata(user.user_metadata).await?;
        profile.app_metadata = user.app_metadata.map(Value::Object);
        profile.blocked = user.blocked;
        let fields =
            UserFields { user_id: user_id.clone(), connection, profile, password_hash: Some(user.password_hash) };
        let stream = streams::user(&ctx.tenant, &user_id);
        let create = |state: &User| state.decide(UserCommand::Create(Box::new(fields))).map_err(CommandError::rejected);
        self.run_user(ctx, (&stream, Source::Fresh), create, Vec::new()).await
    }

    pub async fn update_user(
        &self,
        ctx: &Context,
        user_id: &str,
        patch: UserPatch,
    ) -> Result<Committed<User>, CommandError> {
        let stream = streams::user(&ctx.tenant, user_id);
        let loaded = load::<User>(&self.store, &ctx.tenant, &stream).await?;
        let current = loaded.state.live().ok_or_else(not_found)?.profile.clone();
        let profile = self.patched(ctx, user_id, &current, patch.clone()).await?;
        let password_hash = patch.password_hash;
        self.run_user(
            ctx,
            (&stream, Source::Log),
            move |state| {
                // The merge read the profile above; if it changed since, merging again is the
                // caller's call, not ours.
                if state.live().map(|user| &user.profile) != Some(&current) {
                    return Err(CommandError::Conflict(
                        "The user was changed by another request; read it again and retry".into(),
                    ));
                }
                let mut events =
                    state.decide(UserCommand::Update(Box::new(profile))).map_err(CommandError::rejected)?;
                if let Some(password_hash) = password_hash {
                    let updated = events.iter().fold(state.clone(), |state, event| state.evolve(event));
                    events.extend(
                        updated
                            .decide(UserCommand::ChangePassword { password_hash })
                            .map_err(CommandError::rejected)?,
                    );
                }
                Ok(events)
            },
            Vec::new(),
        )
        .await
    }

    pub async fn delete_user(&self, ctx: &Context, user_id: &str) -> Result<Committed<User>, CommandError> {
        self.user_command(ctx, user_id, UserCommand::Delete, Vec::new()).await
    }

    /// Every role must exist now; the append checks they were not deleted meanwhile.
    pub async fn assign_user_roles(
        &self,
        ctx: &Context,
        user_id: &str,
        roles: Vec<String>,
    ) -> Result<Committed<User>, CommandError> {
        let guards = self.check_roles_exist(&ctx.tenant, &roles).await?;
        self.user_command(ctx, user_id, UserCommand::AssignRoles { roles }, guards).await
    }

    pub async fn remove_user_roles(
        &self,
        ctx: &Context,
        user_id: &str,
        roles: Vec<String>,
    ) -> Result<Committed<User>, CommandError> {
        self.user_command(ctx, user_id, UserCommand::RemoveRoles { roles }, Vec::new()).await
    }

    pub async fn add_user_permissions(
        &self,
        ctx: &Context,
        user_id: &str,
        permissions: Vec<Permission>,
    ) -> Result<Committed<User>, CommandError> {
        let guards = self.check_scopes_exist(&ctx.tenant, &permissions).await?;
        self.user_command(ctx, user_id, UserCommand::AddPermissions { permissions }, guards).await
    }

    pub async fn remove_user_permissions(
        &self,
        ctx: &Context,
        user_id: &str,
        permissions: Vec<Permission>,
    ) -> Result<Committed<User>, CommandError> {
        self.user_command(ctx, user_id, UserCommand::RemovePermissions { permissions }, Vec::new()).await
    }

    async fn user_command(
        &self,
        ctx: &Context,
        user_id: &str,
        command: UserCommand,
        guards: Vec<StreamWrite>,
    ) -> Result<Committed<User>, CommandError> {
        let stream = streams::user(&ctx.tenant, user_id);
        self.run_user(
            ctx,
            (&stream, Source::Log),
            |state| state.decide(command).map_err(CommandError::rejected),
            guards,
        )
        .await
    }

    async fn run_user(
        &self,
        ctx: &Context,
        (stream, source): (&str, Source),
        decide: impl FnOnce(&User) -> Result<Vec<UserEvent>, CommandError>,
        guards: Vec<StreamWrite>,
    ) -> Result<Committed<User>, CommandError> {
        let tenant = ctx.tenant.clone();
        let owner = stream.to_owned();
        execute(&self.store, ctx, &ctx.tenant, (stream, source), decide, |state, events| Extra {
            unique: email_changes(&tenant, &owner, state, events),
            guards,
        })
        .await
    }

    /// Every role must be live: the tenant's own, or (in a child tenant) a synced role of the
    /// control plane. The append checks none changed meanwhile.
    pub(crate) async fn check_roles_exist(
        &self,
        tenant: &TenantId,
        roles: &[String],
    ) -> Result<Vec<StreamWrite>, CommandError> {
        let ids: BTreeSet<&String> = roles.iter().collect();
        let mut guards = Vec::with_capacity(ids.len());
        for id in ids {
            let stream = streams::role(tenant, id);
            let loaded = load::<Role>(&self.store, tenant, &stream).await?;
            if loaded.state.live().is_some() {
                guards.push(loaded.guard(tenant, &stream));
            } else if let Some(synced) = self.synced_role(tenant, id).await? {
                guards.push(synced.guard());
            } else {
                return Err(CommandError::invalid("roles", format!("Role {id:?} does not exist")));
            }
        }
        Ok(guards)
    }

    fn email_index(&self, ctx: &Context, email: &str) -> String {
        self.vault.blind_index(&ctx.tenant, &email.to_lowercase())
    }

    /// `current` with `patch` applied, personal fields sealed.
    async fn patched(
        &self,
        ctx: &Context,
        user_id: &str,
        current: &Profile,
        patch: UserPatch,
    ) -> Result<Profile, CommandError> {
        let seal = Sealer { commands: self, tenant: &ctx.tenant, user_id };
        let mut profile = current.clone();
        if let Some(email) = patch.email {
            check_email(&email)?;
            let index = self.email_index(ctx, &email);
            if current.email_index.as_deref() != Some(index.as_str()) {
                profile.email = seal.field(&email).await?;
                profile.email_index = Some(index);
                // A new address is unverified unless the same request says otherwise.
                profile.email_verified = false;
            }
        }
        if let Some(verified) = patch.email_verified {
            profile.email_verified = verified;
        }
        if let Some(username) = patch.username {
            profile.username = username;
        }
        for (slot, value) in [
            (&mut profile.name, patch.name),
            (&mut profile.given_name, patch.given_name),
            (&mut profile.family_name, patch.family_name),
            (&mut profile.nickname, patch.nickname),
            (&mut profile.picture, patch.picture),
            (&mut profile.phone_number, patch.phone_number),
        ] {
            if let Some(value) = value {
                *slot = seal.optional(value.as_deref()).await?;
            }
        }
        if let Some(changes) = patch.user_metadata {
            let stored = match &current.user_metadata {
                Some(sealed) => self.vault.open(&ctx.tenant, user_id, sealed).await.map_err(vault_error)?,
                None => None,
            };
            let mut metadata: Map<String, Value> =
                stored.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default();
            merge(&mut metadata, changes);
            profile.user_metadata = seal.metadata(Some(metadata)).await?;
        }
        if let Some(changes) = patch.app_metadata {
            let mut metadata = match &current.app_metadata {
                Some(Value::Object(map)) => map.clone(),
                _ => Map::new(),
            };
            merge(&mut metadata, changes);
            profile.app_metadata = (!metadata.is_empty()).then_some(Value::Object(metadata));
        }
        if let Some(blocked) = patch.blocked {
            profile.blocked = blocked;
        }
        Ok(profile)
    }
}

/// Seals one person's fields with their data key.
struct Sealer<'a> {
    commands: &'a Commands,
    tenant: &'a TenantId,
    user_id: &'a str,
}

impl Sealer<'_> {
    async fn field(&self, plaintext: &str) -> Result<Sealed, CommandError> {
        self.commands.vault.seal(self.tenant, self.user_id, plaintext).await.map_err(vault_error)
    }

    async fn optional(&self, plaintext: Option<&str>) -> Result<Option<Sealed>, CommandError> {
        match plaintext {
            Some(text) => Ok(Some(self.field(text).await?)),
            None => Ok(None),
        }
    }

    async fn personal(&self, profile: &mut Profile, fields: PersonalFields) -> Result<(), CommandError> {
        profile.name = self.optional(fields.name.as_deref()).await?;
        profile.given_name = self.optional(fields.given_name.as_deref()).await?;
        profile.family_name = self.optional(fields.family_name.as_deref()).await?;
        profile.nickname = self.optional(fields.nickname.as_deref()).await?;
        profile.picture = self.optional(fields.picture.as_deref()).await?;
        profile.phone_number = self.optional(fields.phone_number.as_deref()).await?;
        Ok(())
    }

    /// An empty object is stored as none.
    async fn metadata(&self, metadata: Option<Map<String, Value>>) -> Result<Option<Sealed>, CommandError> {
        match metadata.filter(|map| !map.is_empty()) {
            Some(map) => Ok(Some(self.field(&Value::Object(map).to_string()).await?)),
            None => Ok(None),
        }
    }
}

/// Auth0's metadata merge: top-level keys replace, `null` removes.
fn merge(stored: &mut Map<String, Value>, changes: Map<String, Value>) {
    for (key, value) in changes {
        if value.is_null() {
            stored.remove(&key);
        } else {
            stored.insert(key, value);
        }
    }
}

/// Claims a new address and frees the old one, so changes and deletes keep emails unique.
fn email_changes(tenant: &TenantId, owner: &str, state: &User, events: &[UserEvent]) -> Vec<UniqueChange> {
    let claim = |index: &str| UniqueChange::Claim {
        tenant_id: tenant.clone(),
        scope: USER_EMAIL.into(),
        value: index.to_owned(),
        owner: owner.to_owned(),
    };
    let release = |index: &str| UniqueChange::Release {
        tenant_id: tenant.clone(),
        scope: USER_EMAIL.into(),
        value: index.to_owned(),
    };
    let old = state.live().and_then(|user| user.profile.email_index.clone());
    let mut changes = Vec::new();
    for event in events {
        match event {
            UserEvent::Created(fields) => changes.extend(fields.profile.email_index.as_deref().map(claim)),
            UserEvent::Updated { profile, .. } if profile.email_index != old => {
                changes.extend(old.as_deref().map(release));
                changes.extend(profile.email_index.as_deref().map(claim));
            }
            UserEvent::Deleted { .. } => changes.extend(old.as_deref().map(release)),
            _ => {}
        }
    }
    changes
}

/// A deliberately loose check (one `@`, something on each side, no spaces): the address is
/// proven by verification, not by a pattern.
fn check_email(email: &str) -> Result<(), CommandError> {
    let valid = email.len() <= 320
        && !email.chars().any(char::is_whitespace)
        && email
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty() && !domain.contains('@'));
    if valid { Ok(()) } else { Err(CommandError::invalid("email", "email must be an email address")) }
}

fn not_found() -> CommandError {
    CommandError::not_found("The user does not exist")
}

pub(crate) fn vault_error(error: eventstore::VaultError) -> CommandError {
    CommandError::Personal(error.to_string())
}
