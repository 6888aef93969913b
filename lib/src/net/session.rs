//! A protocol session: the connection, the peer and the timings, with the
//! line dialogue on top. TLS (implicit or an in-protocol upgrade) is added
//! by the `tls` module; a plugin without TLS (check_ssh_rs) uses the same
//! session and links no TLS.
//!
//! Evaluation never looks at a live session: [`Session::facts`] gives the
//! plain facts (peer, timings, TLS) that an evaluate function judges.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::connect::{connect, describe, AddressFamily};
use super::deadline::Deadline;
use super::error::NetError;
use super::lines::{Limits, LineStream};
use super::stream::Stream;
use super::transcript::Transcript;
use crate::perfdata::Perfdata;
use crate::thresholds::Thresholds;

/// An open protocol session.
pub struct Session {
    /// The dialogue (it keeps the transcript).
    pub lines: LineStream<Stream>,
    /// The address connected to.
    pub addr: SocketAddr,
    /// The host as given (for SNI and messages).
    pub host: String,
    /// When the check started (before name resolution).
    pub started: Instant,
    /// Resolution plus TCP connect.
    pub connect_time: Duration,
    /// TLS, once established.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::TlsSummary>,
    pub(crate) deadline: Deadline,
    pub(crate) limits: Limits,
}

impl Session {
    /// Resolves `host` and connects to `port` within the deadline.
    pub async fn connect(
        host: &str,
        port: u16,
        family: AddressFamily,
        limits: Limits,
        deadline: Deadline,
    ) -> Result<Session, NetError> {
        let started = Instant::now();
        let connected = connect(host, port, family, &deadline).await?;
        Ok(Session {
            lines: LineStream::new(Stream::Plain(connected.stream), limits, deadline),
            addr: connected.addr,
            host: host.to_string(),
            started,
            connect_time: connected.connect_time,
            #[cfg(feature = "tls")]
            tls: None,
            deadline,
            limits,
        })
    }

    /// The deadline of the session.
    pub fn deadline(&self) -> &Deadline {
        &self.deadline
    }

    /// "127.0.0.1 port 25".
    pub fn target(&self) -> String {
        describe(&self.addr)
    }

    /// The read limits of the dialogue.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// What the session established, as plain data; `elapsed` is the time
    /// the check counts (each protocol says when its clock stops).
    pub fn facts(&self, elapsed: Duration) -> SessionFacts {
        SessionFacts {
            host: self.host.clone(),
            target: self.target(),
            connect_time: self.connect_time,
            elapsed,
            #[cfg(feature = "tls")]
            tls: self.tls.clone(),
            transcript: self.lines.transcript().clone(),
        }
    }
}

/// What a session established: the facts an evaluate function judges.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SessionFacts {
    /// The host as given.
    pub host: String,
    /// "127.0.0.1 port 25".
    pub target: String,
    /// Resolution plus TCP connect.
    pub connect_time: Duration,
    /// From the start of the check to the end the protocol counts.
    pub elapsed: Duration,
    /// TLS, when established.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::TlsSummary>,
    /// What was said, for `-v`.
    pub transcript: Transcript,
}

impl SessionFacts {
    /// `time` (total, judged by `thresholds`), `connect_time` and, with TLS, `tls_time`.
    pub fn timing_perfdata(&self, thresholds: &Thresholds) -> Vec<Perfdata> {
        #[allow(unused_mut)]
        let mut points = vec![
            Perfdata::seconds("time", self.elapsed).thresholds(thresholds),
            Perfdata::seconds("connect_time", self.connect_time),
        ];
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            points.push(Perfdata::seconds("tls_time", tls.handshake_time));
        }
        points
    }
}
