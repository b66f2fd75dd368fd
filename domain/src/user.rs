//! The User aggregate: a person of one tenant, their profile, the roles assigned to them and
//! the permissions granted to them directly.
//!
//! Personal fields arrive sealed ([`Sealed`]) and the password as its argon2id hash: the domain
//! never holds either in plaintext. Whether an email is taken, whether a role or a scope exists
//! are rules across aggregates, checked by the command layer in the append's transaction.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use crate::personal::Sealed;
use crate::{Aggregate, Permission, Rejection, RejectionKind};

/// Auth0's default database connection, which every tenant has.
pub const DEFAULT_CONNECTION: &str = "Username-Password-Authentication";

/// What a user is created with. The event of the first administrator (bootstrap, F2) had only
/// `user_id`, `connection`, `email`, `email_verified` and `password_hash`: every later field
/// has a default, so those events still read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserFields {
    pub user_id: String,
    pub connection: String,
    #[serde(flatten)]
    pub profile: Profile,
    /// argon2id PHC string; a secret, never exported.
    pub password_hash: Option<String>,
}

/// Everything a PATCH may change but the password. Personal fields are sealed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub email: Sealed,
    /// Keyed digest of the lowercased email (not the email): frees the old address on change.
    #[serde(default)]
    pub email_index: Option<String>,
    pub email_verified: bool,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub name: Option<Sealed>,
    #[serde(default)]
    pub given_name: Option<Sealed>,
    #[serde(default)]
    pub family_name: Option<Sealed>,
    #[serde(default)]
    pub nickname: Option<Sealed>,
    #[serde(default)]
    pub picture: Option<Sealed>,
    #[serde(default)]
    pub phone_number: Option<Sealed>,
    /// A JSON object, sealed: what the user may edit about themselves is personal data.
    #[serde(default)]
    pub user_metadata: Option<Sealed>,
    /// A JSON object the application owns; not personal data by contract.
    #[serde(default)]
    pub app_metadata: Option<serde_json::Value>,
    #[serde(default)]
    pub blocked: bool,
}

impl Profile {
    /// A profile with only an email, unverified and not blocked.
    pub fn with_email(email: Sealed, email_index: Option<String>) -> Self {
        Self {
            email,
            email_index,
            email_verified: false,
            username: None,
            name: None,
            given_name: None,
            family_name: None,
            nickname: None,
            picture: None,
            phone_number: None,
            user_metadata: None,
            app_metadata: None,
            blocked: false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub enum User {
    #[default]
    Absent,
    Live(Box<UserState>),
    Deleted,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserState {
    pub user_id: String,
    pub connection: String,
    pub profile: Profile,
    pub password_hash: Option<String>,
    /// Role ids.
    pub roles: BTreeSet<String>,
    /// Permissions granted to the user directly, not through a role.
    pub permissions: BTreeSet<Permission>,
}

impl UserState {
    /// Whether this user may be issued tokens: a blocked user may not, whatever they present.
    pub fn may_authenticate(&self) -> bool {
        !self.profile.blocked
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum UserCommand {
    Create(Box<UserFields>),
    /// The whole profile after the change (the command layer merges a PATCH: merging sealed
    /// metadata needs the plaintext, which the domain never sees).
    Update(Box<Profile>),
    ChangePassword {
        password_hash: String,
    },
    AssignRoles {
        roles: Vec<String>,
    },
    RemoveRoles {
        roles: Vec<String>,
    },
    AddPermissions {
        permissions: Vec<Permission>,
    },
    RemovePermissions {
        permissions: Vec<Permission>,
    },
    Delete,
}

/// Every event names the user, so a consumer of the log needs no stream-id parsing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum UserEvent {
    #[serde(rename = "user.created")]
    Created(UserFields),
    /// The profile after the change.
    #[serde(rename = "user.updated")]
    Updated { user_id: String, profile: Profile },
    #[serde(rename = "user.password_changed")]
    PasswordChanged { user_id: String, password_hash: String },
    /// Only roles the user did not hold yet.
    #[serde(rename = "user.roles_assigned")]
    RolesAssigned { user_id: String, roles: Vec<String> },
    /// Only roles the user held.
    #[serde(rename = "user.roles_removed")]
    RolesRemoved { user_id: String, roles: Vec<String> },
    #[serde(rename = "user.permissions_added")]
    PermissionsAdded { user_id: String, permissions: Vec<Permission> },
    #[serde(rename = "user.permissions_removed")]
    PermissionsRemoved { user_id: String, permissions: Vec<Permission> },
    #[serde(rename = "user.deleted")]
    Deleted { user_id: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("The user already exists")]
    AlreadyExists,
    #[error("The user does not exist")]
    NotFound,
    #[error("roles must not be empty")]
    NoRoles,
    #[error("permissions must not be empty")]
    NoPermissions,
    #[error("permissions: {0}")]
    InvalidPermission(String),
}

impl Rejection for UserError {
    fn kind(&self) -> RejectionKind {
        match self {
            Self::AlreadyExists => RejectionKind::AlreadyExists,
            Self::NotFound => RejectionKind::NotFound,
            Self::NoRoles | Self::NoPermissions | Self::InvalidPermission(_) => RejectionKind::Invalid,
        }
    }

    fn field(&self) -> Option<&'static str> {
        match self {
            Self::NoRoles => Some("roles"),
            Self::NoPermissions | Self::InvalidPermission(_) => Some("permissions"),
            Self::AlreadyExists | Self::NotFound => None,
        }
    }
}

impl Aggregate for User {
    type Command = UserCommand;
    type Event = UserEvent;
    type Error = UserError;

    fn decide(&self, command: UserCommand) -> Result<Vec<UserEvent>, UserError> {
        match (self, command) {
            (Self::Absent, UserCommand::Create(fields)) => Ok(vec![UserEvent::Created(*fields)]),
            (Self::Live(user), command) => decide_live(user, command),
            (Self::Deleted, UserCommand::Create(_)) => Err(UserError::AlreadyExists),
            (Self::Absent | Self::Deleted, _) => Err(UserError::NotFound),
        }
    }

    fn evolve(self, event: &UserEvent) -> Self {
        match (self, event) {
            (_, UserEvent::Created(fields)) => Self::Live(Box::new(UserState {
                user_id: fields.user_id.clone(),
                connection: fields.connection.clone(),
                profile: fields.profile.clone(),
                password_hash: fields.password_hash.clone(),
                roles: BTreeSet::new(),
                permissions: BTreeSet::new(),
            })),
            (Self::Live(mut user), UserEvent::Updated { profile, .. }) => {
                user.profile = profile.clone();
                Self::Live(user)
            }
            (Self::Live(mut user), UserEvent::PasswordChanged { password_hash, .. }) => {
                user.password_hash = Some(password_hash.clone());
                Self::Live(user)
            }
            (Self::Live(mut user), UserEvent::RolesAssigned { roles, .. }) => {
                user.roles.extend(roles.iter().cloned());
                Self::Live(user)
            }
            (Self::Live(mut user), UserEvent::RolesRemoved { roles, .. }) => {
                for role in roles {
                    user.roles.remove(role);
                }
                Self::Live(user)
            }
            (Self::Live(mut user), UserEvent::PermissionsAdded { permissions, .. }) => {
                user.permissions.extend(permissions.iter().cloned());
                Self::Live(user)
            }
            (Self::Live(mut user), UserEvent::PermissionsRemoved { permissions, .. }) => {
                for permission in permissions {
                    user.permissions.remove(permission);
                }
                Self::Live(user)
            }
            (_, UserEvent::Deleted { .. }) => Self::Deleted,
            // An event that does not apply to the state changes nothing: the log is the truth,
            // and decide never emits one.
            (state, _) => state,
        }
    }
}

fn decide_live(user: &UserState, command: UserCommand) -> Result<Vec<UserEvent>, UserError> {
    let user_id = user.user_id.clone();
    Ok(match command {
        UserCommand::Create(_) => return Err(UserError::AlreadyExists),
        UserCommand::Update(profile) if *profile == user.profile => Vec::new(),
        UserCommand::Update(profile) => vec![UserEvent::Updated { user_id, profile: *profile }],
        UserCommand::ChangePassword { password_hash } => vec![UserEvent::PasswordChanged { user_id, password_hash }],
        UserCommand::AssignRoles { roles } => {
            let new = changed(check_roles(roles)?, |role| !user.roles.contains(role));
            new.map(|roles| UserEvent::RolesAssigned { user_id, roles }).into_iter().collect()
        }
        UserCommand::RemoveRoles { roles } => {
            let held = changed(check_roles(roles)?, |role| user.roles.contains(role));
            held.map(|roles| UserEvent::RolesRemoved { user_id, roles }).into_iter().collect()
        }
        UserCommand::AddPermissions { permissions } => {
            let new = changed(check_permissions(permissions)?, |p| !user.permissions.contains(p));
            new.map(|permissions| UserEvent::PermissionsAdded { user_id, permissions }).into_iter().collect()
        }
        UserCommand::RemovePermissions { permissions } => {
            let held = changed(check_permissions(permissions)?, |p| user.permissions.contains(p));
            held.map(|permissions| UserEvent::PermissionsRemoved { user_id, permissions }).into_iter().collect()
        }
        UserCommand::Delete => vec![UserEvent::Deleted { user_id }],
    })
}

impl User {
    pub fn live(&self) -> Option<&UserState> {
        match self {
            Self::Live(user) => Some(user),
            Self::Absent | Self::Deleted => None,
        }
    }
}

/// The items of `set` that `keep` selects, in order, or `None` when there are none: a request
/// that changes nothing appends nothing.
fn changed<T>(set: BTreeSet<T>, keep: impl Fn(&T) -> bool) -> Option<Vec<T>> {
    let items: Vec<T> = set.into_iter().filter(|item| keep(item)).collect();
    (!items.is_empty()).then_some(items)
}

fn check_roles(roles: Vec<String>) -> Result<BTreeSet<String>, UserError> {
    if roles.is_empty() || roles.iter().any(|role| role.trim().is_empty()) {
        return Err(UserError::NoRoles);
    }
    Ok(roles.into_iter().collect())
}

fn check_permissions(permissions: Vec<Permission>) -> Result<BTreeSet<Permission>, UserError> {
    crate::permission::check_set(permissions).map_err(|problem| match problem {
        None => UserError::NoPermissions,
        Some(message) => UserError::InvalidPermission(message),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate::testing::given;

    fn jane() -> UserFields {
        UserFields {
            user_id: "auth0|1".into(),
            connection: DEFAULT_CONNECTION.into(),
            profile: Profile {
                email_verified: true,
                ..Profile::with_email(Sealed::new("ciphertext"), Some("index".into()))
            },
            password_hash: Some("$argon2id$...".into()),
        }
    }

    fn created() -> UserEvent {
        UserEvent::Created(jane())
    }

    fn read() -> Permission {
        Permission::new("https://api/", "read:things")
    }

    #[test]
    fn a_user_is_created_with_sealed_personal_data() {
        given::<User>([]).when(UserCommand::Create(Box::new(jane()))).then([created()]);
    }

    #[test]
    fn a_user_id_cannot_be_taken_twice() {
        given::<User>([created()]).when(UserCommand::Create(Box::new(jane()))).then_err(UserError::AlreadyExists);
    }

    #[test]
    fn the_first_administrators_event_of_f2_still_reads() {
        let payload = r#"{"user_id":"auth0|1","connection":"Username-Password-Authentication",
            "email":"ciphertext","email_verified":true,"password_hash":"$argon2id$..."}"#;
        let fields: UserFields = serde_json::from_str(payload).unwrap();
        assert_eq!(fields.profile.email, Sealed::new("ciphertext"));
        assert_eq!(fields.profile.email_index, None);
        assert!(!fields.profile.blocked);
    }

    #[test]
    fn an_update_carries_the_whole_profile_after_the_change() {
        let mut profile = jane().profile;
        profile.username = Some("jane".into());
        given::<User>([created()])
            .when(UserCommand::Update(Box::new(profile.clone())))
            .then([UserEvent::Updated { user_id: "auth0|1".into(), profile }]);
    }

    #[test]
    fn an_update_that_changes_nothing_appends_nothing() {
        given::<User>([created()]).when(UserCommand::Update(Box::new(jane().profile))).then([]);
    }

    #[test]
    fn a_missing_or_deleted_user_cannot_be_changed() {
        given::<User>([]).when(UserCommand::Delete).then_err(UserError::NotFound);
        given::<User>([created(), UserEvent::Deleted { user_id: "auth0|1".into() }])
            .when(UserCommand::AssignRoles { roles: vec!["rol_1".into()] })
            .then_err(UserError::NotFound);
    }

    #[test]
    fn a_password_change_records_only_the_new_hash() {
        given::<User>([created()])
            .when(UserCommand::ChangePassword { password_hash: "$argon2id$new".into() })
            .then([UserEvent::PasswordChanged { user_id: "auth0|1".into(), password_hash: "$argon2id$new".into() }]);
    }

    #[test]
    fn assigning_roles_records_only_roles_not_yet_held() {
        given::<User>([created(), UserEvent::RolesAssigned { user_id: "auth0|1".into(), roles: vec!["rol_1".into()] }])
            .when(UserCommand::AssignRoles { roles: vec!["rol_2".into(), "rol_1".into(), "rol_2".into()] })
            .then([UserEvent::RolesAssigned { user_id: "auth0|1".into(), roles: vec!["rol_2".into()] }]);
    }

    #[test]
    fn removing_roles_not_held_appends_nothing() {
        given::<User>([created()]).when(UserCommand::RemoveRoles { roles: vec!["rol_1".into()] }).then([]);
    }

    #[test]
    fn an_empty_role_list_is_refused() {
        given::<User>([created()]).when(UserCommand::AssignRoles { roles: vec![] }).then_err(UserError::NoRoles);
    }

    #[test]
    fn direct_permissions_are_added_once_and_removed_when_held() {
        let added = UserEvent::PermissionsAdded { user_id: "auth0|1".into(), permissions: vec![read()] };
        given::<User>([created()])
            .when(UserCommand::AddPermissions { permissions: vec![read(), read()] })
            .then([added.clone()]);
        given::<User>([created(), added.clone()])
            .when(UserCommand::AddPermissions { permissions: vec![read()] })
            .then([]);
        given::<User>([created(), added])
            .when(UserCommand::RemovePermissions { permissions: vec![read()] })
            .then([UserEvent::PermissionsRemoved { user_id: "auth0|1".into(), permissions: vec![read()] }]);
    }

    #[test]
    fn a_blocked_user_may_not_authenticate() {
        let mut profile = jane().profile;
        profile.blocked = true;
        let user = User::fold([created(), UserEvent::Updated { user_id: "auth0|1".into(), profile }].iter());
        assert!(!user.live().unwrap().may_authenticate());
        let active = User::fold([created()].iter());
        assert!(active.live().unwrap().may_authenticate());
    }

    #[test]
    fn a_deleted_user_is_gone() {
        given::<User>([created()]).when(UserCommand::Delete).then([UserEvent::Deleted { user_id: "auth0|1".into() }]);
    }
}
