//! Why a protocol dialogue stopped, with the message and state every mail
//! and file protocol plugin reports for it.

use super::error::NetError;
use crate::error::CheckError;
use crate::state::State;
use crate::timeout::TimeoutSpec;

/// Why the dialogue stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The connection failed; `during` says what was awaited when the error
    /// itself does not.
    Net {
        error: NetError,
        during: Option<String>,
    },
    /// The greeting is not the protocol's: a refusal (`-ERR`, `* BYE`) or
    /// something else entirely.
    Greeting {
        reply: String,
        refused: bool,
        /// What was expected, for the message: `a POP3 greeting`.
        expected: &'static str,
        /// How the protocol refuses, for the message: `-ERR`.
        refusal: &'static str,
    },
    /// The server answered a step with a refusal.
    Rejected {
        step: String,
        verb: &'static str,
        reply: String,
    },
    /// The server said goodbye and closed the connection during a step.
    Bye { step: String, line: String },
    /// The answer broke the protocol in a way worth naming.
    Protocol { step: String, what: String },
}

impl From<NetError> for Failure {
    fn from(error: NetError) -> Self {
        Failure::Net {
            error,
            during: None,
        }
    }
}

/// The error without the server's text (`-j`).
fn hide(error: &NetError) -> NetError {
    match error {
        NetError::Closed { during, .. } => NetError::Closed {
            partial: String::new(),
            during: during.clone(),
        },
        NetError::Garbage { .. } => NetError::Garbage {
            what: "(not shown)".to_string(),
        },
        other => other.clone(),
    }
}

impl Failure {
    /// A connection failure while `during` ("waiting for the reply to STAT").
    pub fn net(error: NetError, during: &str) -> Failure {
        Failure::Net {
            error,
            during: Some(during.to_string()),
        }
    }

    /// The message; `jail` hides what the server said.
    pub fn message(&self, jail: bool) -> String {
        match self {
            Failure::Net { error, during } => {
                let error = if jail { hide(error) } else { error.clone() };
                error.describe(during.as_deref().unwrap_or_default())
            }
            Failure::Greeting {
                refused: true,
                refusal,
                ..
            } if jail => format!("server not ready ({refusal} greeting)"),
            Failure::Greeting { expected, .. } if jail => format!("not {expected}"),
            Failure::Greeting {
                reply,
                refused: true,
                ..
            } => format!("server not ready: {reply}"),
            Failure::Greeting {
                reply, expected, ..
            } => format!("not {expected}: {reply}"),
            Failure::Rejected { step, verb, .. } if jail => format!("{step} {verb}"),
            Failure::Rejected { step, verb, reply } => format!("{step} {verb}: {reply}"),
            Failure::Bye { step, .. } if jail => {
                format!("the server closed the connection during {step}")
            }
            Failure::Bye { step, line } => {
                format!("the server closed the connection during {step}: {line}")
            }
            Failure::Protocol { step, what } => format!("{step}: {what}"),
        }
    }

    /// The state: a connection failure by [`NetError::state`] (the one
    /// policy), a protocol failure CRITICAL.
    pub fn state(&self, timeout: &TimeoutSpec, refuse: State) -> State {
        match self {
            Failure::Net { error, .. } => error.state(timeout, refuse),
            _ => State::Critical,
        }
    }

    /// The state of a failed goodbye (QUIT, LOGOUT): the check itself
    /// succeeded, so WARNING, unless the server went silent (the `-t` state).
    pub fn closing_state(&self, timeout: &TimeoutSpec) -> State {
        if self.is_timeout() {
            timeout.state
        } else {
            State::Warning
        }
    }

    /// The check error: [`Failure::state`] and [`Failure::message`].
    pub fn into_check_error(self, timeout: &TimeoutSpec, refuse: State, jail: bool) -> CheckError {
        CheckError::new(self.state(timeout, refuse), self.message(jail))
    }

    /// Whether the server had closed the connection (the goodbye found it
    /// gone). After the user's own `-s` ended the session (`-s QUIT`,
    /// `-s 'a1 LOGOUT'`) that is the expected outcome, as in C.
    pub fn is_closed(&self) -> bool {
        matches!(
            self,
            Failure::Net {
                error: NetError::Closed { .. } | NetError::Io { .. },
                ..
            }
        )
    }

    /// Whether it is a time-out.
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            Failure::Net {
                error: NetError::Timeout { .. },
                ..
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn greeting(refused: bool) -> Failure {
        Failure::Greeting {
            reply: "-ERR go away".into(),
            refused,
            expected: "a POP3 greeting",
            refusal: "-ERR",
        }
    }

    #[test]
    fn messages_with_and_without_server_text() {
        assert_eq!(
            greeting(true).message(false),
            "server not ready: -ERR go away"
        );
        assert_eq!(
            greeting(true).message(true),
            "server not ready (-ERR greeting)"
        );
        assert_eq!(
            greeting(false).message(false),
            "not a POP3 greeting: -ERR go away"
        );
        assert_eq!(greeting(false).message(true), "not a POP3 greeting");
        let closed = Failure::net(
            NetError::Closed {
                partial: "+OK half".into(),
                during: "reading".into(),
            },
            "waiting for the reply to STAT",
        );
        assert_eq!(
            closed.message(false),
            "connection closed by the server after '+OK half' while waiting for the reply to STAT"
        );
        assert_eq!(
            closed.message(true),
            "connection closed by the server while waiting for the reply to STAT"
        );
    }

    #[test]
    fn states() {
        let timeout: TimeoutSpec = "5:unknown".parse().unwrap();
        let t = Failure::from(NetError::timeout(
            "waiting",
            std::time::Duration::from_secs(5),
        ));
        assert!(t.is_timeout());
        assert_eq!(t.state(&timeout, State::Critical), State::Unknown);
        let refused = Failure::from(NetError::Refused { target: "x".into() });
        assert_eq!(refused.state(&timeout, State::Ok), State::Ok);
        assert_eq!(greeting(true).state(&timeout, State::Ok), State::Critical);
        assert_eq!(t.closing_state(&timeout), State::Unknown);
        assert_eq!(greeting(false).closing_state(&timeout), State::Warning);
    }
}
