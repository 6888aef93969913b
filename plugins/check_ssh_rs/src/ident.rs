//! The SSH identification exchange (RFC 4253, section 4.2), written against
//! any stream so it is tested on scripted ones.
//!
//! The server sends `SSH-protoversion-softwareversion SP comments CR LF`,
//! possibly after other lines (which must not start with `SSH-`). We read at
//! most [`MAX_LINES`] lines and [`MAX_BYTES`] bytes for it, send our own
//! identification and close: no key exchange, nothing logged in.

use std::time::Duration;

use rsplugins::net::{dialogue, printable, Failure, Limits, LineStream, NetError};
use tokio::io::{AsyncRead, AsyncWrite};

/// Most lines accepted before the identification (it must come soon).
pub const MAX_LINES: usize = 20;

/// Most bytes read before the identification must have arrived.
pub const MAX_BYTES: usize = 8 * 1024;

/// After a line that is not the identification, a server silent this long
/// will not send one: a mail or web server on the SSH port is reported at
/// once, not at the time-out.
pub const QUIET_AFTER_OTHER_LINE: Duration = Duration::from_secs(1);

/// What failures to read name as awaited.
const AWAITED: &str = "waiting for the SSH identification";

/// How the step is named in protocol failures.
const STEP: &str = "SSH identification";

/// How much of a server's line a message shows.
const SHOWN: usize = 200;

/// Read limits of the exchange. RFC 4253 allows 255 bytes for the
/// identification; other lines are tolerated up to 1 KB.
pub fn limits() -> Limits {
    Limits {
        max_line: 1024,
        max_total: MAX_BYTES,
    }
}

/// Our identification, sent before closing (as C check_ssh does).
pub fn client_identification() -> String {
    format!("SSH-2.0-check_ssh_rs_{}\r\n", env!("CARGO_PKG_VERSION"))
}

/// A parsed server identification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identification {
    /// The whole line, without its line end.
    pub line: String,
    /// `2.0`, `1.99`, ...
    pub protocol: String,
    /// `OpenSSH_9.2p1`.
    pub software: String,
    /// `Debian-2+deb12u10`, when the server sent comments.
    pub comments: Option<String>,
}

impl Identification {
    /// Parses `SSH-protoversion-softwareversion[ SP comments]`.
    pub fn parse(line: &str) -> Result<Identification, String> {
        let line = line.trim_end();
        let rest = line
            .strip_prefix("SSH-")
            .ok_or_else(|| "it does not start with SSH-".to_string())?;
        let (protocol, after) = rest
            .split_once('-')
            .ok_or_else(|| "no software version".to_string())?;
        let (software, comments) = match after.split_once(' ') {
            Some((software, comments)) => {
                let comments = comments.trim();
                (
                    software,
                    (!comments.is_empty()).then(|| comments.to_string()),
                )
            }
            None => (after, None),
        };
        if protocol.is_empty() || !protocol.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("no valid protocol version".to_string());
        }
        if software.is_empty() || !software.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("no valid software version".to_string());
        }
        Ok(Identification {
            line: line.to_string(),
            protocol: protocol.to_string(),
            software: software.to_string(),
            comments,
        })
    }

    /// The software version and comments, as C check_ssh 2.3 shows and
    /// compares them: `OpenSSH_9.2p1 Debian-2+deb12u10`.
    pub fn server(&self) -> String {
        match &self.comments {
            Some(c) => format!("{} {c}", self.software),
            None => self.software.clone(),
        }
    }

    /// `-r`: the version and comments as C 2.3 compares them, or the
    /// software version alone (what later C versions compare).
    pub fn version_matches(&self, expected: &str) -> bool {
        expected == self.server() || expected == self.software
    }

    /// SSH-2 (`2.0`), or a server that also speaks it (`1.99`, RFC 4253 5.1).
    pub fn speaks_ssh2(&self) -> bool {
        self.protocol == "2.0" || self.protocol == "1.99"
    }
}

/// Reads lines until the identification, within the limits. A server that
/// is not SSH, sends too many other lines or an identification that does
/// not parse ends it with the one [`Failure`].
pub async fn read_identification<S>(lines: &mut LineStream<S>) -> Result<Identification, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut preceding: Vec<String> = Vec::new();
    loop {
        let read = dialogue::read_line(lines, AWAITED);
        let line = if preceding.is_empty() {
            read.await
        } else {
            match tokio::time::timeout(QUIET_AFTER_OTHER_LINE, read).await {
                Ok(line) => line,
                Err(_) => return Err(not_ssh(&preceding)),
            }
        };
        let line = match line {
            Ok(line) => line,
            // Other lines, then a clean close: a server that is not SSH.
            Err(Failure::Net {
                error: NetError::Closed { partial, .. },
                ..
            }) if partial.is_empty() && !preceding.is_empty() => return Err(not_ssh(&preceding)),
            Err(failure) => return Err(failure),
        };
        if line.starts_with("SSH-") {
            return Identification::parse(&line).map_err(|reason| Failure::Protocol {
                step: STEP.to_string(),
                what: format!("{reason} in '{}'", printable(line.as_bytes(), SHOWN)),
            });
        }
        preceding.push(line);
        if preceding.len() >= MAX_LINES {
            return Err(Failure::Protocol {
                step: STEP.to_string(),
                what: format!(
                    "none in the first {MAX_LINES} lines (first: '{}')",
                    first_of(&preceding)
                ),
            });
        }
    }
}

fn first_of(preceding: &[String]) -> String {
    printable(
        preceding.first().map(String::as_bytes).unwrap_or_default(),
        SHOWN,
    )
}

/// Lines arrived, none an identification, then the server went quiet or left.
fn not_ssh(preceding: &[String]) -> Failure {
    Failure::Greeting {
        reply: first_of(preceding),
        refused: false,
        expected: "an SSH identification",
        // SSH has no way to refuse in its identification.
        refusal: "",
    }
}

/// Reads the server's identification, sends ours and closes the write side.
pub async fn exchange<S>(lines: &mut LineStream<S>) -> Result<Identification, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let identification = read_identification(lines).await?;
    // A server that already left does not change what it told us (C sends
    // without waiting too).
    let _ = dialogue::send(lines, &client_identification(), "our identification").await;
    lines.shutdown().await;
    Ok(identification)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsplugins::net::runtime::block_on;
    use rsplugins::net::Deadline;
    use rsplugins::timeout::TimeoutSpec;
    use rsplugins::State;
    use tokio_test::io::Builder;

    fn stream<S: AsyncRead + AsyncWrite + Unpin>(s: S) -> LineStream<S> {
        LineStream::new(s, limits(), Deadline::after(Duration::from_secs(5)))
    }

    #[test]
    fn parses_openssh() {
        let id = Identification::parse("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10").unwrap();
        assert_eq!(id.protocol, "2.0");
        assert_eq!(id.software, "OpenSSH_9.2p1");
        assert_eq!(id.comments.as_deref(), Some("Debian-2+deb12u10"));
        assert_eq!(id.server(), "OpenSSH_9.2p1 Debian-2+deb12u10");
        assert!(id.version_matches("OpenSSH_9.2p1 Debian-2+deb12u10"));
        assert!(id.version_matches("OpenSSH_9.2p1"));
        assert!(!id.version_matches("OpenSSH_9.2"));
        assert!(!id.version_matches("Debian-2+deb12u10"));
        assert!(id.speaks_ssh2());
    }

    #[test]
    fn parses_without_comments_and_old_protocols() {
        let id = Identification::parse("SSH-1.99-Cisco-1.25\r").unwrap();
        assert_eq!(id.protocol, "1.99");
        assert_eq!(id.software, "Cisco-1.25");
        assert_eq!(id.comments, None);
        assert!(id.speaks_ssh2());
        let id = Identification::parse("SSH-1.5-old").unwrap();
        assert!(!id.speaks_ssh2());
    }

    #[test]
    fn rejects_broken_identifications() {
        assert!(Identification::parse("SSH-2.0-").is_err());
        assert!(Identification::parse("SSH-foo").is_err());
        assert!(Identification::parse("SSH--x").is_err());
        assert!(Identification::parse("SSH-2.0-a\u{1}b").is_err());
        assert!(Identification::parse("HTTP/1.1 400").is_err());
    }

    /// The message and state of a failure, as the check reports it.
    fn reported(failure: Failure, timeout: &str) -> (String, State) {
        let spec: TimeoutSpec = timeout.parse().unwrap();
        let e = failure.into_check_error(&spec, State::Critical, false);
        (e.message, e.state)
    }

    async fn failure_after(script: tokio_test::io::Mock) -> Failure {
        read_identification(&mut stream(script)).await.unwrap_err()
    }

    #[test]
    fn reads_past_other_lines_and_answers() {
        block_on(async {
            let mock = Builder::new()
                .read(b"Welcome\r\nauthorised use only\r\n")
                .read(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\x00\x00\x04\xfc")
                .write(client_identification().as_bytes())
                .build();
            let mut s = stream(mock);
            let id = exchange(&mut s).await.unwrap();
            assert_eq!(id.server(), "OpenSSH_9.2p1 Debian-2");
            // What -v shows: the dialogue, the binary key exchange left unread.
            assert_eq!(
                s.transcript().lines(),
                [
                    "< Welcome",
                    "< authorised use only",
                    "< SSH-2.0-OpenSSH_9.2p1 Debian-2",
                    &format!("> {}", client_identification().trim_end()),
                ]
            );
        })
        .unwrap();
    }

    #[test]
    fn client_identification_is_valid() {
        let ours = client_identification();
        assert!(ours.ends_with("\r\n"));
        let id = Identification::parse(&ours).unwrap();
        assert_eq!(id.protocol, "2.0");
        assert!(id.software.starts_with("check_ssh_rs_"));
    }

    #[test]
    fn a_quiet_non_ssh_server_is_reported_at_once() {
        block_on(async {
            let (mut peer, mock) = tokio::io::duplex(256);
            tokio::io::AsyncWriteExt::write_all(&mut peer, b"220 mail ESMTP\r\n")
                .await
                .unwrap();
            let started = std::time::Instant::now();
            let err = read_identification(&mut stream(mock)).await.unwrap_err();
            assert!(started.elapsed() < Duration::from_secs(3));
            assert_eq!(
                reported(err, "10"),
                (
                    "not an SSH identification: 220 mail ESMTP".to_string(),
                    State::Critical
                )
            );
            drop(peer);
        })
        .unwrap();
    }

    #[test]
    fn closed_cases() {
        block_on(async {
            assert_eq!(
                reported(failure_after(Builder::new().build()).await, "10"),
                (
                    "connection closed by the server while waiting for the SSH identification"
                        .to_string(),
                    State::Critical
                )
            );
            let err = failure_after(Builder::new().read(b"garbage\r\n").build()).await;
            assert_eq!(
                reported(err, "10").0,
                "not an SSH identification: garbage"
            );
            let err = failure_after(Builder::new().read(b"SSH-2.0-Open").build()).await;
            assert_eq!(
                reported(err, "10").0,
                "connection closed by the server after 'SSH-2.0-Open' while waiting for the SSH identification"
            );
        })
        .unwrap();
    }

    #[test]
    fn bounded_in_lines_and_bytes() {
        block_on(async {
            let many = b"noise\r\n".repeat(MAX_LINES + 5);
            let err = read_identification(&mut stream(std::io::Cursor::new(many)))
                .await
                .unwrap_err();
            assert_eq!(
                reported(err, "10"),
                (
                    "SSH identification: none in the first 20 lines (first: 'noise')".to_string(),
                    State::Critical
                )
            );
            let long = vec![b'x'; 64 * 1024];
            let err = read_identification(&mut stream(std::io::Cursor::new(long)))
                .await
                .unwrap_err();
            assert_eq!(
                reported(err, "10"),
                (
                    "server sent a line longer than 1024 bytes while waiting for the SSH identification"
                        .to_string(),
                    State::Critical
                )
            );
        })
        .unwrap();
    }

    #[test]
    fn invalid_identification_and_timeout_states() {
        block_on(async {
            let err = failure_after(Builder::new().read(b"SSH-foo\r\n").build()).await;
            assert_eq!(
                reported(err, "2:unknown"),
                (
                    "SSH identification: no software version in 'SSH-foo'".to_string(),
                    State::Critical
                )
            );
            let timeout = Failure::net(NetError::timeout(AWAITED, Duration::from_secs(2)), AWAITED);
            assert_eq!(
                reported(timeout, "2:unknown"),
                (
                    "timed out after 2 seconds waiting for the SSH identification".to_string(),
                    State::Unknown
                )
            );
        })
        .unwrap();
    }
}
