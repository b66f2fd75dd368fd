//! The one path every command takes: answer a retried idempotency key from the log, or load
//! the aggregate, decide, and append the decision with its expected version.

use domain::event::{decode, encode};
use domain::{Aggregate, TenantId, event::REVISION};
use eventstore::{
    AppendRequest, EventStore, ExpectedVersion, IdempotencyRecord, LogQuery, NewEvent, StreamWrite, UniqueChange,
};

use crate::{CommandError, Committed, Context};

/// An aggregate as loaded from its stream.
#[derive(Debug)]
pub(crate) struct Loaded<A> {
    pub state: A,
    /// The stream's version: 0 when it does not exist.
    pub version: u64,
    /// The position of the stream's last event: 0 when it does not exist.
    pub position: u64,
}

impl<A: Default> Default for Loaded<A> {
    /// A stream that does not exist.
    fn default() -> Self {
        Self { state: A::default(), version: 0, position: 0 }
    }
}

impl<A> Loaded<A> {
    /// A write that only checks this stream is still at the version that was read: the guard of
    /// a decision that relied on it.
    pub(crate) fn guard(&self, tenant: &TenantId, stream: &str) -> StreamWrite {
        StreamWrite {
            tenant_id: tenant.clone(),
            stream_id: stream.to_owned(),
            expected: expected(self.version),
            events: Vec::new(),
        }
    }
}

/// An aggregate as loaded, with where it lives: a child tenant's command may rely on an entity
/// of the control plane.
#[derive(Debug)]
pub(crate) struct Located<A> {
    pub tenant: TenantId,
    pub stream: String,
    pub loaded: Loaded<A>,
}

impl<A> Located<A> {
    /// See [`Loaded::guard`].
    pub(crate) fn guard(&self) -> StreamWrite {
        self.loaded.guard(&self.tenant, &self.stream)
    }
}

pub(crate) async fn load<A: Aggregate>(
    store: &EventStore,
    tenant: &TenantId,
    stream: &str,
) -> Result<Loaded<A>, CommandError> {
    load_up_to(store, tenant, stream, u64::MAX).await
}

async fn load_up_to<A: Aggregate>(
    store: &EventStore,
    tenant: &TenantId,
    stream: &str,
    up_to: u64,
) -> Result<Loaded<A>, CommandError> {
    let mut loaded = Loaded { state: A::default(), version: 0, position: 0 };
    for recorded in store.read_stream(tenant, stream, 0).await? {
        if recorded.position > up_to {
            break;
        }
        let event: A::Event =
            decode(&recorded.event_type, &recorded.payload).map_err(|e| CommandError::Corrupt(e.to_string()))?;
        loaded.state = loaded.state.evolve(&event);
        loaded.version = recorded.stream_version;
        loaded.position = recorded.position;
    }
    Ok(loaded)
}

/// How a kind of entity's stream id is made from the tenant and the entity's id.
pub(crate) type StreamOf = fn(&TenantId, &str) -> String;

/// Checks that each of `ids` names a live entity now, and answers the guards under which the
/// append verifies none of them changed meanwhile (a role deleted concurrently makes the
/// command a conflict, not a dangling reference). `missing` is the refusal for an id that is
/// not live.
pub(crate) async fn require_live<A: Aggregate>(
    store: &EventStore,
    tenant: &TenantId,
    (ids, stream): (&[String], StreamOf),
    is_live: fn(&A) -> bool,
    missing: impl Fn(&str) -> CommandError,
) -> Result<Vec<StreamWrite>, CommandError> {
    let ids: std::collections::BTreeSet<&String> = ids.iter().collect();
    let mut guards = Vec::with_capacity(ids.len());
    for id in ids {
        let stream = stream(tenant, id);
        let loaded = load::<A>(store, tenant, &stream).await?;
        if !is_live(&loaded.state) {
            return Err(missing(id));
        }
        guards.push(loaded.guard(tenant, &stream));
    }
    Ok(guards)
}

/// Where a command's aggregate state comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// Fold the aggregate's stream from the log.
    Log,
    /// The stream id was just generated for this command, so there is nothing to read; the
    /// append's "no stream" expectation still refuses a collision.
    Fresh,
}

/// What a command writes besides its own stream's events.
#[derive(Debug, Default)]
pub(crate) struct Extra {
    pub unique: Vec<UniqueChange>,
    /// Version checks on other streams the decision relied on.
    pub guards: Vec<StreamWrite>,
}

/// Runs one command against the aggregate in `stream` (of `stream_tenant`).
///
/// `decide` refuses or returns the events; `extra` adds the unique-value changes those events
/// imply. A command that decides nothing appends nothing and answers the current state.
pub(crate) async fn execute<A: Aggregate>(
    store: &EventStore,
    ctx: &Context,
    stream_tenant: &TenantId,
    (stream, source): (&str, Source),
    decide: impl FnOnce(&A) -> Result<Vec<A::Event>, CommandError>,
    extra: impl FnOnce(&A, &[A::Event]) -> Extra,
) -> Result<Committed<A>, CommandError> {
    if let Some(record) = previous_result(store, ctx).await? {
        return replay(store, record.first_position, record.last_position).await;
    }
    let loaded = match source {
        Source::Log => load::<A>(store, stream_tenant, stream).await?,
        Source::Fresh => Loaded::default(),
    };
    let events = decide(&loaded.state)?;
    if events.is_empty() {
        return Ok(Committed { position: loaded.position, state: loaded.state, replayed: false });
    }
    let Extra { unique, guards } = extra(&loaded.state, &events);
    let new_events = events.iter().map(to_new_event).collect::<Result<Vec<_>, _>>()?;
    let mut request = AppendRequest::to_stream(stream_tenant.clone(), stream, expected(loaded.version), new_events)
        .with_metadata(ctx.metadata.clone());
    request.tenant_id = ctx.tenant.clone();
    request.streams.extend(guards);
    request.unique = unique;
    request.idempotency = ctx.idempotency.clone();
    let appended = store.append(request).await?;
    if appended.deduplicated {
        // A concurrent retry with the same key won the race; answer what it committed.
        return replay(store, appended.first_position, appended.last_position).await;
    }
    let state = events.iter().fold(loaded.state, |state, event| state.evolve(event));
    Ok(Committed { position: appended.last_position, state, replayed: false })
}

/// The stored result of this request's idempotency key, if it was seen before with the same
/// request. The same key with another request is refused.
pub(crate) async fn previous_result(
    store: &EventStore,
    ctx: &Context,
) -> Result<Option<IdempotencyRecord>, CommandError> {
    let Some(idempotency) = &ctx.idempotency else { return Ok(None) };
    match store.idempotency(&ctx.tenant, &idempotency.key).await? {
        Some(record) if record.fingerprint != idempotency.fingerprint => Err(CommandError::IdempotencyKeyReused),
        other => Ok(other),
    }
}

/// The state the first execution produced, given the positions it committed: the stream of
/// its first event, folded up to its last position. The command's own stream comes first in
/// every append, so that is the one.
async fn replay<A: Aggregate>(store: &EventStore, first: u64, last: u64) -> Result<Committed<A>, CommandError> {
    let query = LogQuery::after(first.saturating_sub(1)).limit(1);
    let event = store
        .read(&query)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| CommandError::Corrupt(format!("idempotency record points at missing position {first}")))?;
    let loaded = load_up_to::<A>(store, &event.tenant_id, &event.stream_id, last).await?;
    Ok(Committed { position: last, state: loaded.state, replayed: true })
}

pub(crate) fn to_new_event<E: serde::Serialize>(event: &E) -> Result<NewEvent, CommandError> {
    let (event_type, payload) = encode(event).map_err(|e| CommandError::Corrupt(e.to_string()))?;
    Ok(NewEvent::new(event_type, REVISION, payload))
}

pub(crate) fn expected(version: u64) -> ExpectedVersion {
    if version == 0 { ExpectedVersion::NoStream } else { ExpectedVersion::Exact(version) }
}
