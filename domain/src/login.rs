//! Password logins as the token endpoint records them: facts, not decisions (the decision,
//! "a blocked user may not authenticate", is [`crate::user::UserState::may_authenticate`]).
//! They go to a stream of their own per user (`login:<tenant>:<user_id>`), so that logging in
//! never conflicts with a change to the user. The client's IP address and user agent are personal
//! data: sealed with the user's data key, erased with it.

use serde::{Deserialize, Serialize};

use crate::personal::Sealed;

/// Stands for the user of an attempt that names no known user: their attempts share one
/// stream, and what they carry is sealed under this subject's data key.
pub const UNKNOWN_USER: &str = "unknown-user";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", content = "data")]
pub enum LoginEvent {
    #[serde(rename = "auth.login_succeeded")]
    Succeeded {
        user_id: String,
        client_id: String,
        #[serde(default)]
        organization: Option<String>,
        #[serde(default)]
        ip: Option<Sealed>,
        #[serde(default)]
        user_agent: Option<Sealed>,
    },
    #[serde(rename = "auth.login_failed")]
    Failed {
        /// `None` when the username or email names no user.
        user_id: Option<String>,
        client_id: String,
        reason: LoginFailure,
        #[serde(default)]
        ip: Option<Sealed>,
        #[serde(default)]
        user_agent: Option<Sealed>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoginFailure {
    UnknownUser,
    WrongPassword,
    Blocked,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{decode, encode};

    #[test]
    fn a_failed_login_is_stored_under_its_dotted_name_and_reads_back() {
        let failed = LoginEvent::Failed {
            user_id: None,
            client_id: "app".into(),
            reason: LoginFailure::UnknownUser,
            ip: Some(Sealed::new("ciphertext")),
            user_agent: None,
        };
        let (event_type, payload) = encode(&failed).unwrap();
        assert_eq!(event_type, "auth.login_failed");
        assert_eq!(payload["reason"], "unknown_user");
        assert_eq!(decode::<LoginEvent>(&event_type, &payload).unwrap(), failed);
    }
}
