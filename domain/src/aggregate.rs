//! `Aggregate`: the shape every aggregate of the model shares, so the command layer can load,
//! decide and append for any of them with one piece of code.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// A consistency boundary: a state folded from its own events, and the decisions taken on it.
///
/// `decide` and `evolve` are pure. `decide` never changes the state; it answers with the
/// events that record the decision, or with why the command is refused. An empty list means
/// the command changes nothing (adding a permission a role already has).
pub trait Aggregate: Default + Clone + std::fmt::Debug + Send + Sync + 'static {
    type Command;
    type Event: Serialize + DeserializeOwned + Clone + std::fmt::Debug + PartialEq + Send + Sync;
    type Error: Rejection;

    fn decide(&self, command: Self::Command) -> Result<Vec<Self::Event>, Self::Error>;

    fn evolve(self, event: &Self::Event) -> Self;

    /// The state after `events`, from the initial state.
    fn fold<'a>(events: impl IntoIterator<Item = &'a Self::Event>) -> Self {
        events.into_iter().fold(Self::default(), Self::evolve)
    }
}

/// The kind of a refusal, which is all the layers above need to answer it: the HTTP status is
/// chosen from this, the message from the error's `Display`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionKind {
    /// The command is malformed or breaks a rule about its own content.
    Invalid,
    /// The entity the command is about does not exist (or no longer does).
    NotFound,
    /// The entity exists already.
    AlreadyExists,
    /// The entity may not be changed this way by anyone (a system entity).
    Forbidden,
}

/// A domain error that knows what kind of refusal it is and, for invalid input, which field.
pub trait Rejection: std::error::Error + Send + Sync + 'static {
    fn kind(&self) -> RejectionKind;

    /// The request field at fault, for `Invalid` refusals.
    fn field(&self) -> Option<&'static str> {
        None
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! `given(events).when(command).then(events)` for any aggregate.

    use super::Aggregate;

    pub(crate) struct Given<A: Aggregate>(A);

    pub(crate) struct When<A: Aggregate>(Result<Vec<A::Event>, A::Error>);

    pub(crate) fn given<A: Aggregate>(events: impl IntoIterator<Item = A::Event>) -> Given<A> {
        Given(events.into_iter().fold(A::default(), |state, event| state.evolve(&event)))
    }

    impl<A: Aggregate> Given<A> {
        pub(crate) fn when(self, command: A::Command) -> When<A> {
            When(self.0.decide(command))
        }
    }

    impl<A: Aggregate> When<A>
    where
        A::Error: PartialEq,
    {
        #[track_caller]
        pub(crate) fn then(self, expected: impl IntoIterator<Item = A::Event>) {
            let expected: Vec<_> = expected.into_iter().collect();
            match self.0 {
                Ok(events) => assert_eq!(events, expected),
                Err(err) => panic!("expected events {expected:?}, got the error {err:?}"),
            }
        }

        #[track_caller]
        pub(crate) fn then_err(self, expected: A::Error) {
            match self.0 {
                Ok(events) => panic!("expected the error {expected:?}, got events {events:?}"),
                Err(err) => assert_eq!(err, expected),
            }
        }
    }
}
