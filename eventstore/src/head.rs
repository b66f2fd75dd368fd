//! `HeadSignal`: the highest committed position known to this process, as a watch channel.
//!
//! It only ever moves forward, and only to positions known to be committed (after our own
//! commit, a PostgreSQL notification, or a poll of the table). Because positions are committed
//! in order, every position at or below the signalled head is readable.

use tokio::sync::watch;

#[derive(Debug, Clone)]
pub(crate) struct HeadSignal(watch::Sender<u64>);

impl HeadSignal {
    pub fn new(initial: u64) -> Self {
        Self(watch::Sender::new(initial))
    }

    pub fn advance(&self, position: u64) {
        self.0.send_if_modified(|head| {
            let moved = position > *head;
            if moved {
                *head = position;
            }
            moved
        });
    }

    pub fn current(&self) -> u64 {
        *self.0.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.0.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_head_never_moves_backwards() {
        let head = HeadSignal::new(5);
        head.advance(3);
        assert_eq!(head.current(), 5);
        head.advance(9);
        assert_eq!(head.current(), 9);
    }
}
