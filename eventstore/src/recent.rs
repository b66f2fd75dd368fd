//! `RecentEvents`: the events this process's writer committed last, kept in memory so that
//! the projections following the log get them without a round trip to the database.
//!
//! A read here answers exactly what reading the log would (the same events, upcast the same
//! way), or nothing when the range is not all here: events another process committed, or older
//! than the buffer holds. Callers then read the log.

use std::collections::VecDeque;
use std::sync::Mutex;

use crate::RecordedEvent;

/// Events kept: a few group commits' worth. Followers that lag further read the log.
const CAPACITY: usize = 4_096;

#[derive(Debug, Default)]
pub(crate) struct RecentEvents {
    /// A contiguous run of positions, in order.
    events: Mutex<VecDeque<RecordedEvent>>,
}

impl RecentEvents {
    /// Records a commit's events (contiguous positions, in order). A commit that does not
    /// continue the run (another process wrote in between) starts a new one.
    pub fn record(&self, committed: Vec<RecordedEvent>) {
        let Some(first) = committed.first().map(|e| e.position) else { return };
        let mut events = self.lock();
        if events.back().is_some_and(|last| last.position + 1 != first) {
            events.clear();
        }
        events.extend(committed);
        let excess = events.len().saturating_sub(CAPACITY);
        events.drain(..excess);
    }

    /// Forgets everything: after a commit whose events could not be recorded, the run would
    /// have a hole.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Every event with `after < position <= up_to`, if all of them are here.
    pub fn read(&self, after: u64, up_to: u64) -> Option<Vec<RecordedEvent>> {
        let events = self.lock();
        let (first, last) = (events.front()?.position, events.back()?.position);
        if after + 1 < first || up_to > last {
            return None;
        }
        let start = events.partition_point(|e| e.position <= after);
        Some(events.range(start..).take_while(|e| e.position <= up_to).cloned().collect())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<RecordedEvent>> {
        // A panic while holding the lock leaves the buffer consistent (every change is one
        // VecDeque call), so a poisoned lock is still usable.
        self.events.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Metadata, RecordedEvent};

    fn event(position: u64) -> RecordedEvent {
        RecordedEvent {
            position,
            event_id: uuid::Uuid::nil(),
            tenant_id: domain::TenantId::control_plane(),
            stream_id: "s".into(),
            stream_version: position,
            event_type: "thing.happened".into(),
            revision: 1,
            payload: serde_json::json!({}),
            metadata: Metadata::default(),
            recorded_at: chrono::DateTime::UNIX_EPOCH,
        }
    }

    fn positions(events: Option<Vec<RecordedEvent>>) -> Option<Vec<u64>> {
        events.map(|events| events.iter().map(|e| e.position).collect())
    }

    #[test]
    fn a_range_it_holds_is_answered_from_memory() {
        let recent = RecentEvents::default();
        recent.record(vec![event(3), event(4)]);
        recent.record(vec![event(5)]);
        assert_eq!(positions(recent.read(2, 5)), Some(vec![3, 4, 5]));
        assert_eq!(positions(recent.read(3, 4)), Some(vec![4]));
        assert_eq!(positions(recent.read(5, 5)), Some(vec![]));
    }

    #[test]
    fn a_range_reaching_outside_what_it_holds_is_not_answered() {
        let recent = RecentEvents::default();
        recent.record(vec![event(3), event(4)]);
        assert_eq!(positions(recent.read(1, 4)), None, "position 2 is not here");
        assert_eq!(positions(recent.read(3, 5)), None, "position 5 is not committed here");
    }

    #[test]
    fn a_commit_after_a_gap_starts_over() {
        let recent = RecentEvents::default();
        recent.record(vec![event(3), event(4)]);
        recent.record(vec![event(7)]);
        assert_eq!(positions(recent.read(4, 7)), None, "5 and 6 were committed elsewhere");
        assert_eq!(positions(recent.read(6, 7)), Some(vec![7]));
    }
}
