//! What can go wrong on the wire, each with a message an administrator reads.

use std::fmt;
use std::io;

use crate::error::CheckError;
use crate::number::format_number;
use crate::state::State;
use crate::timeout::TimeoutSpec;

/// A network failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetError {
    /// The name did not resolve.
    Resolve { host: String, reason: String },
    /// The name resolved, but to no address of the requested family.
    NoAddress { host: String, family: &'static str },
    /// The port refused the connection (nothing listens).
    Refused { target: String },
    /// No route to the host or network.
    Unreachable { target: String, reason: String },
    /// Any other connect failure.
    Connect { target: String, reason: String },
    /// The deadline passed; `during` says what was awaited.
    Timeout { during: String, seconds: String },
    /// The peer closed the connection; `partial` holds unterminated data,
    /// `during` what was awaited (empty when unknown).
    Closed { partial: String, during: String },
    /// A line grew beyond the limit without a line end; `during` what was
    /// awaited (empty when unknown).
    LineTooLong { limit: usize, during: String },
    /// The peer sent more than the total limit.
    TooMuchData { limit: usize },
    /// The peer sent something that is not the protocol.
    Garbage { what: String },
    /// Data followed a TLS upgrade reply before the handshake (an injection attempt).
    DataBeforeTls,
    /// TLS could not be established or failed.
    Tls { reason: String },
    /// Another I/O error.
    Io { reason: String },
}

impl fmt::Display for NetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetError::Resolve { host, reason } => write!(f, "cannot resolve {host}: {reason}"),
            NetError::NoAddress { host, family } => write!(f, "{host} has no {family} address"),
            NetError::Refused { target } => write!(f, "connect to {target}: Connection refused"),
            NetError::Unreachable { target, reason } => write!(f, "connect to {target}: {reason}"),
            NetError::Connect { target, reason } => write!(f, "connect to {target}: {reason}"),
            NetError::Timeout { during, seconds } => {
                write!(f, "timed out after {seconds} seconds {during}")
            }
            NetError::Closed { partial, during } => {
                f.write_str("connection closed by the server")?;
                if !partial.is_empty() {
                    write!(f, " after '{partial}'")?;
                }
                if !during.is_empty() {
                    write!(f, " while {during}")?;
                }
                Ok(())
            }
            NetError::LineTooLong { limit, during } => {
                write!(f, "server sent a line longer than {limit} bytes")?;
                if !during.is_empty() {
                    write!(f, " while {during}")?;
                }
                Ok(())
            }
            NetError::TooMuchData { limit } => write!(f, "server sent more than {limit} bytes"),
            NetError::Garbage { what } => write!(f, "invalid response from server: {what}"),
            NetError::DataBeforeTls => {
                f.write_str("server sent data before the TLS handshake (possible injection)")
            }
            NetError::Tls { reason } => write!(f, "TLS failed: {reason}"),
            NetError::Io { reason } => f.write_str(reason),
        }
    }
}

impl std::error::Error for NetError {}

impl NetError {
    /// A time-out error for `during` ("waiting for the greeting").
    pub fn timeout(during: impl Into<String>, budget: std::time::Duration) -> NetError {
        NetError::Timeout {
            during: during.into(),
            seconds: format_number(budget.as_secs_f64()),
        }
    }

    /// From an I/O error seen while reading or writing.
    pub fn io(e: &io::Error) -> NetError {
        match e.kind() {
            io::ErrorKind::UnexpectedEof
            | io::ErrorKind::ConnectionReset
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::ConnectionAborted => NetError::Closed {
                partial: String::new(),
                during: String::new(),
            },
            _ => NetError::Io {
                reason: e.to_string(),
            },
        }
    }

    /// The same failure awaiting `during`: a close then names what was
    /// awaited (a time-out names it already).
    pub fn awaiting(self, during: &str) -> NetError {
        match self {
            NetError::Closed { partial, .. } if !during.is_empty() => NetError::Closed {
                partial,
                during: during.to_string(),
            },
            NetError::LineTooLong { limit, .. } if !during.is_empty() => NetError::LineTooLong {
                limit,
                during: during.to_string(),
            },
            other => other,
        }
    }

    /// The message for this failure while `during` ("waiting for the
    /// greeting"), one wording for every protocol: what happened, then
    /// `while` what was awaited.
    pub fn describe(&self, during: &str) -> String {
        match self.clone().awaiting(during) {
            e @ (NetError::Timeout { .. }
            | NetError::Closed { .. }
            | NetError::LineTooLong { .. }) => e.to_string(),
            e if during.is_empty() => e.to_string(),
            e => format!("{e} while {during}"),
        }
    }

    /// The state for this failure, the one policy of every network plugin:
    ///
    /// | failure | state |
    /// |---|---|
    /// | time-out | the `-t` state (CRITICAL unless given) |
    /// | name does not resolve, no address of the family asked for (`-4`/`-6`) | UNKNOWN: the check could not start, as in C |
    /// | connection refused | the `-r` state (CRITICAL unless given) |
    /// | anything else: unreachable, closed, garbage, limits, TLS | CRITICAL: the service watched is what failed |
    pub fn state(&self, timeout: &TimeoutSpec, refuse: State) -> State {
        match self {
            NetError::Timeout { .. } => timeout.state,
            NetError::Resolve { .. } | NetError::NoAddress { .. } => State::Unknown,
            NetError::Refused { .. } => refuse,
            _ => State::Critical,
        }
    }

    /// The check error for this failure, by [`NetError::state`] (a refusal
    /// CRITICAL).
    pub fn into_check_error(self, timeout: &TimeoutSpec) -> CheckError {
        let state = self.state(timeout, State::Critical);
        CheckError::new(state, self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_failure_policy_table() {
        let timeout: TimeoutSpec = "5:warning".parse().unwrap();
        let s = |e: NetError| e.state(&timeout, State::Ok);
        let host = || "h".to_string();
        assert_eq!(
            s(NetError::timeout(
                "waiting",
                std::time::Duration::from_secs(5)
            )),
            State::Warning
        );
        assert_eq!(
            s(NetError::Resolve {
                host: host(),
                reason: "x".into()
            }),
            State::Unknown
        );
        assert_eq!(
            s(NetError::NoAddress {
                host: host(),
                family: "IPv6"
            }),
            State::Unknown
        );
        assert_eq!(s(NetError::Refused { target: host() }), State::Ok);
        for e in [
            NetError::Unreachable {
                target: host(),
                reason: "x".into(),
            },
            NetError::Closed {
                partial: String::new(),
                during: String::new(),
            },
            NetError::Garbage { what: "x".into() },
            NetError::LineTooLong {
                limit: 1,
                during: String::new(),
            },
            NetError::DataBeforeTls,
            NetError::Tls { reason: "x".into() },
        ] {
            assert_eq!(s(e), State::Critical);
        }
        // One wording: what happened, then what was awaited.
        let closed = NetError::Closed {
            partial: "220 x".into(),
            during: String::new(),
        };
        assert_eq!(
            closed.describe("waiting for the greeting"),
            "connection closed by the server after '220 x' while waiting for the greeting"
        );
        assert_eq!(
            NetError::LineTooLong {
                limit: 9,
                during: String::new()
            }
            .describe("waiting for the greeting"),
            "server sent a line longer than 9 bytes while waiting for the greeting"
        );
        assert_eq!(
            NetError::Refused { target: host() }.describe(""),
            "connect to h: Connection refused"
        );
        let e = NetError::Resolve {
            host: host(),
            reason: "Name or service not known".into(),
        };
        assert_eq!(e.into_check_error(&timeout).state, State::Unknown);
    }
}
