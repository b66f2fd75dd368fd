//! Recording signing keys' lifecycle (`signing_key.created`, `signing_key.revoked`) once the key
//! ring has changed its table: the audit trail's account of the keys, and the signal on which
//! every process drops what it cached.

use domain::TenantId;
use domain::signing_key::SigningKeyEvent;
use eventstore::{AppendRequest, ExpectedVersion, Metadata};

use crate::executor::to_new_event;
use crate::{CommandError, Commands, streams};

impl Commands {
    /// Appends `event` to the tenant's `signing_keys:<tenant>` stream and returns its position.
    pub async fn record_signing_key(
        &self,
        tenant: &TenantId,
        event: SigningKeyEvent,
        metadata: Metadata,
    ) -> Result<u64, CommandError> {
        let stream = streams::signing_keys(tenant);
        // Any version: facts in the order the key ring made them, decided on its table.
        let request =
            AppendRequest::to_stream(tenant.clone(), stream, ExpectedVersion::Any, vec![to_new_event(&event)?])
                .with_metadata(metadata);
        Ok(self.store.append(request).await?.last_position)
    }
}
