//! `LogTail`: the most recent events of the log, read once for every runner of the process.
//!
//! Each commit moves the head and wakes every runner; without this, each would query the
//! log for the same new events (one query per projection per commit). Runners that are
//! caught up read from here; one that is further behind than the tail reaches reads the log
//! directly, with its own type filter.

use std::collections::VecDeque;

use eventstore::{EventStore, LogQuery, RecordedEvent, StoreError};
use tokio::sync::Mutex;

/// Events kept; a runner lagging by more reads the log itself.
const CAPACITY: usize = 20_000;
/// Events fetched per query when extending the tail.
const FETCH: usize = 2_000;

#[derive(Debug)]
pub(crate) struct LogTail {
    store: EventStore,
    state: Mutex<Tail>,
}

#[derive(Debug)]
struct Tail {
    /// Every event with `after < position <= end` is in `events`, in order.
    after: u64,
    end: u64,
    events: VecDeque<RecordedEvent>,
}

impl LogTail {
    /// Starts empty at the log's current head: runners catching up from older positions read
    /// the log themselves until they reach it.
    pub fn new(store: EventStore) -> Self {
        let head = store.known_head();
        Self { store, state: Mutex::new(Tail { after: head, end: head, events: VecDeque::new() }) }
    }

    /// Events with `after < position <= up_to` of `types` (all when empty), at most `limit`,
    /// in order, as `store.read` with those filters would answer them.
    pub async fn read(&self, after: u64, up_to: u64, types: &[&str], limit: usize) -> Result<Batch, StoreError> {
        let mut tail = self.state.lock().await;
        if after < tail.after {
            drop(tail);
            let mut query = LogQuery::after(after).up_to(up_to).limit(limit);
            if !types.is_empty() {
                query = query.types(types.iter().copied());
            }
            return Ok(Batch { events: self.store.read(&query).await?, through: up_to });
        }
        while tail.end < up_to {
            // What this process just committed is in memory; what others did, in the log.
            let fetched = match self.store.read_recent(tail.end, up_to) {
                Some(recent) => recent,
                None => self.store.read(&LogQuery::after(tail.end).up_to(up_to).limit(FETCH)).await?,
            };
            let Some(last) = fetched.last().map(|e| e.position) else { break };
            tail.end = last;
            tail.events.extend(fetched);
            while tail.events.len() > CAPACITY {
                if let Some(dropped) = tail.events.pop_front() {
                    tail.after = dropped.position;
                }
            }
        }
        if after < tail.after {
            // The tail moved past `after` while growing: read the log directly.
            drop(tail);
            return Box::pin(self.read(after, up_to, types, limit)).await;
        }
        let start = tail.events.partition_point(|e| e.position <= after);
        let events = tail
            .events
            .range(start..)
            .take_while(|e| e.position <= up_to)
            .filter(|e| types.is_empty() || types.contains(&e.event_type.as_str()))
            .take(limit)
            .cloned()
            .collect();
        Ok(Batch { events, through: up_to.min(tail.end) })
    }
}

/// A read's answer: `events` holds every matching event in `(after, through]`, unless it was
/// cut at the limit.
#[derive(Debug)]
pub(crate) struct Batch {
    pub events: Vec<RecordedEvent>,
    pub through: u64,
}

impl Batch {
    /// How far a runner may move once it applied these events, read with `limit`: a full page
    /// ends at its last event; a short one holds every matching event through `through`, so
    /// the runner moves there even if the last events were of types it ignores.
    pub fn target(&self, limit: usize) -> u64 {
        match self.events.last() {
            Some(last) if self.events.len() >= limit => last.position,
            _ => self.through,
        }
    }
}
