//! `Subscription`: catch up on the log, then follow it live, in position order, each event once.

use std::collections::VecDeque;

use tokio::sync::watch;

use crate::{EventStore, LogQuery, RecordedEvent, StoreError};

#[derive(Debug)]
pub struct Subscription {
    store: EventStore,
    query: LogQuery,
    head: watch::Receiver<u64>,
    buffer: VecDeque<RecordedEvent>,
}

impl Subscription {
    pub(crate) fn new(store: EventStore, query: LogQuery) -> Self {
        let head = store.watch_head();
        Self { store, query, head, buffer: VecDeque::new() }
    }

    /// The position after which the next read starts.
    pub fn position(&self) -> u64 {
        self.query.after
    }

    /// The next event matching the query, waiting for one to be committed if need be.
    pub async fn next(&mut self) -> Result<RecordedEvent, StoreError> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                return Ok(event);
            }
            // Everything at or below a signalled head is committed, so a read bounded by it is
            // complete: if it comes back short, no matching event below the head was missed
            // and the scan may resume from the head itself, even when filters skipped events.
            let head = *self.head.borrow_and_update();
            if head > self.query.after {
                let page = self.store.read(&self.query.clone().up_to(head)).await?;
                self.query.after = match page.last() {
                    Some(last) if page.len() >= self.query.limit => last.position,
                    _ => head,
                };
                self.buffer.extend(page);
                continue;
            }
            self.head.changed().await.map_err(|_| StoreError::Closed)?;
        }
    }
}
