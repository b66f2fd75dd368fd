//! What every command carries besides its own input, and what every command answers.

use domain::TenantId;
use eventstore::{Idempotency, Metadata};

/// Who acts, in which tenant, and the retry key if the caller sent one.
#[derive(Debug, Clone)]
pub struct Context {
    /// The tenant the command acts in: the scope of ids, unique values and idempotency keys.
    pub tenant: TenantId,
    pub metadata: Metadata,
    pub idempotency: Option<Idempotency>,
}

impl Context {
    pub fn new(tenant: TenantId) -> Self {
        Self { tenant, metadata: Metadata::default(), idempotency: None }
    }
}

/// A decision that is in the log: the aggregate's state right after it, and the position that
/// committed it (the stream's last position when the command changed nothing).
#[derive(Debug, Clone)]
pub struct Committed<A> {
    pub position: u64,
    pub state: A,
    /// True when this answers a retry of an idempotency key: nothing was decided again.
    pub replayed: bool,
}
