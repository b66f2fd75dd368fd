//! Which entities the control plane syncs into every child tenant (DESIGN.md §3): a switch
//! per kind, both on by default.

/// `sync.roles` and `sync.resource_servers`. The fan-out projection writes by them and the
/// command layer resolves a child's references to control-plane entities by them, so both
/// must be given the same switches; changing one on an existing database needs the fan-out
/// rebuilt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncOptions {
    pub roles: bool,
    pub resource_servers: bool,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self { roles: true, resource_servers: true }
    }
}
