//! Identifiers and secrets in Auth0's formats, from the operating system's CSPRNG.

use rand::Rng;
use rand::distributions::Alphanumeric;
use rand::rngs::OsRng;

/// `len` characters of `[A-Za-z0-9]`.
pub fn random_string(len: usize) -> String {
    OsRng.sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}

/// `rol_` and 16 characters, like Auth0's role ids.
pub fn new_role_id() -> String {
    format!("rol_{}", random_string(16))
}

/// 24 lowercase hex characters, like Auth0's resource server ids.
pub fn new_resource_server_id() -> String {
    random_hex_24()
}

fn random_hex_24() -> String {
    let bytes: [u8; 12] = OsRng.r#gen();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 32 characters, like Auth0's client ids.
pub fn new_client_id() -> String {
    random_string(32)
}

/// 64 alphanumeric characters: about 380 bits, far beyond guessing, which is why a fast keyed
/// hash is enough to store it.
pub fn new_client_secret() -> String {
    random_string(64)
}

/// The id of a new line of refresh tokens (its stream).
pub fn new_refresh_token_id() -> String {
    random_string(24)
}

/// A new refresh token of the line `id`: `<id>.<secret>`, the secret 64 alphanumeric
/// characters (about 380 bits).
pub fn new_refresh_token(id: &str) -> String {
    format!("{id}.{}", random_string(64))
}

/// `auth0|` and 24 hex characters, like the ids of Auth0's database users.
pub fn new_user_id() -> String {
    format!("auth0|{}", random_hex_24())
}

/// `org_` and 16 characters, like Auth0's organization ids.
pub fn new_organization_id() -> String {
    format!("org_{}", random_string(16))
}

/// `cgr_` and 16 characters, like Auth0's client grant ids.
pub fn new_grant_id() -> String {
    format!("cgr_{}", random_string(16))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_auth0_shapes() {
        assert!(new_role_id().starts_with("rol_") && new_role_id().len() == 20);
        assert_eq!(new_resource_server_id().len(), 24);
        assert_eq!(new_client_id().len(), 32);
        assert_ne!(new_client_secret(), new_client_secret());
    }
}
