//! Syslog for the event handlers and the watchdog: every decision and action
//! is sent to the local syslog socket (`/dev/log`), facility daemon, under
//! one fixed tag, so `grep rsplugins /var/log/syslog` finds all of them.
//!
//! Datagrams in the traditional BSD form without a time stamp
//! (`<PRI>TAG[PID]: MESSAGE`): every local syslog daemon accepts it and
//! stamps it on arrival. Secrets are masked before anything leaves.

use std::os::unix::net::UnixDatagram;
use std::path::Path;

use crate::secret;

/// The tag (syslog "program name") of every line we send.
pub const TAG: &str = "rsplugins";

/// The local syslog socket.
pub const SOCKET: &str = "/dev/log";

/// Facility daemon (3), as RFC 5424 numbers it.
const FACILITY_DAEMON: u8 = 3;

/// A syslog severity, the subset we use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Something failed and a person must look (3).
    Error,
    /// A problem that was handled, or a refusal (4).
    Warning,
    /// A decision or an action (5).
    Notice,
    /// Routine (6).
    Info,
}

impl Severity {
    fn code(self) -> u8 {
        match self {
            Severity::Error => 3,
            Severity::Warning => 4,
            Severity::Notice => 5,
            Severity::Info => 6,
        }
    }
}

/// A connection to the local syslog daemon; sending never fails the caller
/// (a host without syslog still gets the handler's stdout).
#[derive(Debug)]
pub struct Syslog {
    socket: Option<UnixDatagram>,
    program: String,
}

impl Syslog {
    /// Connects to [`SOCKET`]; `program` starts every message (the
    /// handler's name), after the fixed tag.
    pub fn open(program: &str) -> Syslog {
        Syslog::open_at(Path::new(SOCKET), program)
    }

    /// Connects to the syslog socket at `path` (tests use their own).
    pub fn open_at(path: &Path, program: &str) -> Syslog {
        let socket = UnixDatagram::unbound()
            .and_then(|s| s.connect(path).map(|_| s))
            .ok();
        Syslog {
            socket,
            program: program.to_string(),
        }
    }

    /// Whether a syslog daemon took the connection.
    pub fn connected(&self) -> bool {
        self.socket.is_some()
    }

    /// Sends one line; false when it could not be sent.
    pub fn send(&self, severity: Severity, message: &str) -> bool {
        let Some(socket) = &self.socket else {
            return false;
        };
        let datagram = format_line(
            severity,
            std::process::id(),
            &self.program,
            &secret::redact(message),
        );
        socket.send(datagram.as_bytes()).is_ok()
    }
}

/// `<PRI>rsplugins[PID]: PROGRAM: MESSAGE`, one line (newlines become spaces).
pub fn format_line(severity: Severity, pid: u32, program: &str, message: &str) -> String {
    let pri = u16::from(FACILITY_DAEMON) * 8 + u16::from(severity.code());
    let one_line: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("<{pri}>{TAG}[{pid}]: {program}: {one_line}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_facility_daemon_and_the_tag() {
        assert_eq!(
            format_line(Severity::Notice, 42, "restart_service_rs", "stop\nvsftpd"),
            "<29>rsplugins[42]: restart_service_rs: stop vsftpd"
        );
        assert!(format_line(Severity::Error, 1, "x", "y").starts_with("<27>"));
    }

    #[test]
    fn a_listener_receives_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let listener = UnixDatagram::bind(&path).unwrap();
        let log = Syslog::open_at(&path, "prog");
        assert!(log.connected());
        assert!(log.send(Severity::Info, "hello"));
        let mut buf = [0u8; 256];
        let n = listener.recv(&mut buf).unwrap();
        let line = String::from_utf8_lossy(&buf[..n]);
        assert!(line.starts_with("<30>rsplugins["), "{line}");
        assert!(line.ends_with("]: prog: hello"), "{line}");
    }

    #[test]
    fn no_daemon_is_not_an_error() {
        let log = Syslog::open_at(Path::new("/nonexistent/log"), "prog");
        assert!(!log.connected());
        assert!(!log.send(Severity::Info, "lost"));
    }
}
