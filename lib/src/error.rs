//! The error a check returns when it cannot produce a result.

use std::fmt;

use crate::state::State;

/// A check failure with the state it should be reported as.
///
/// Library errors convert into it (UNKNOWN by default); a plugin picks
/// another state where the failure itself is the finding, e.g. a refused
/// connection is CRITICAL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckError {
    /// State to exit with.
    pub state: State,
    /// One-line reason.
    pub message: String,
}

impl CheckError {
    /// An error reported with `state`.
    pub fn new(state: State, message: impl Into<String>) -> CheckError {
        CheckError {
            state,
            message: message.into(),
        }
    }

    /// An UNKNOWN error: the check could not tell.
    pub fn unknown(message: impl Into<String>) -> CheckError {
        CheckError::new(State::Unknown, message)
    }

    /// A CRITICAL error: what failed is what the check watches.
    pub fn critical(message: impl Into<String>) -> CheckError {
        CheckError::new(State::Critical, message)
    }
}

impl fmt::Display for CheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CheckError {}

macro_rules! unknown_from {
    ($($t:ty),*) => {$(
        impl From<$t> for CheckError {
            fn from(e: $t) -> Self {
                CheckError::unknown(e.to_string())
            }
        }
    )*};
}

unknown_from!(
    crate::range::RangeError,
    crate::range::RangeListError,
    crate::secret::SecretError,
    crate::procfs::ProcError,
    crate::extra_opts::ExtraOptsError,
    crate::statefile::StateError
);
