//! Who is calling: signing keys, access tokens, the `Caller` extractor, and the Management
//! API's permission names.

pub mod caller;
pub mod keys;
pub mod scopes;
pub mod signer;
pub mod throttle;
pub mod tokens;
pub mod verified;

pub use caller::Caller;
pub use keys::KeyRing;
pub use tokens::AccessClaims;
pub use verified::VerifiedTokens;
