//! The POP3 dialogue (RFC 1939; STLS from RFC 2595): how its replies are
//! read and judged ([`Pop3`], a [`Protocol`]) and its steps, on the
//! library's [`step`]. Written against any stream so every step is tested
//! on scripted bytes and runs unchanged over TLS; every read is bounded by
//! the [`LineStream`] limits and deadline.
//!
//! Commands carrying the password are never part of a message: errors name
//! the step (`PASS`), not the line sent.

use rsplugins::net::dialogue::{read_line, step, Protocol, Verdict, SHOWN};
pub use rsplugins::net::Failure;
use rsplugins::net::{printable, LineStream, NetError};
use tokio::io::{AsyncRead, AsyncWrite};

/// The status of a reply line: `Some(true)` for `+OK`, `Some(false)` for
/// `-ERR`, `None` for anything else.
pub fn indicator(line: &str) -> Option<bool> {
    let word = line.split([' ', '\t']).next().unwrap_or("");
    if word.eq_ignore_ascii_case("+OK") {
        Some(true)
    } else if word.eq_ignore_ascii_case("-ERR") {
        Some(false)
    } else {
        None
    }
}

/// POP3 replies: one status line, `+OK` or `-ERR`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Pop3 {
    /// Lines without a status are skipped until one has it: after the
    /// user's `-s` text the rest of a multi-line answer not known to be
    /// one may still be on its way.
    pub skip_strays: bool,
}

impl Protocol for Pop3 {
    type Reply = String;

    async fn read<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        lines: &mut LineStream<S>,
        during: &str,
    ) -> Result<String, Failure> {
        loop {
            let line = read_line(lines, during).await?;
            if !self.skip_strays || indicator(&line).is_some() {
                return Ok(line);
            }
        }
    }

    fn verdict(&self, reply: &String) -> Verdict {
        match indicator(reply) {
            Some(true) => Verdict::Positive,
            Some(false) => Verdict::Refused,
            None => Verdict::NotProtocol,
        }
    }

    fn line<'r>(&self, reply: &'r String) -> &'r str {
        reply
    }

    /// The status line, and for a positive multi-line answer every line up
    /// to the final `.` (not included).
    async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        lines: &mut LineStream<S>,
        sent: &str,
        during: &str,
    ) -> Result<Vec<String>, Failure> {
        let first = read_line(lines, during).await?;
        let multi = indicator(&first) == Some(true) && is_multiline(sent);
        let mut answer = vec![first];
        if multi {
            loop {
                let line = read_line(lines, during).await?;
                if line == "." {
                    break;
                }
                answer.push(line);
            }
        }
        Ok(answer)
    }
}

/// Reads the greeting: `+OK ...`, else the reason it is not.
pub async fn greeting<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
) -> Result<String, Failure> {
    let line = read_line(lines, "waiting for the greeting").await?;
    match indicator(&line) {
        Some(true) => Ok(line),
        status => Err(Failure::Greeting {
            reply: printable(line.as_bytes(), SHOWN),
            refused: status == Some(false),
            expected: "a POP3 greeting",
            refusal: "-ERR",
        }),
    }
}

/// STLS; after its `+OK` the caller starts the TLS handshake.
pub async fn stls<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    pop3: &mut Pop3,
) -> Result<String, Failure> {
    step(lines, pop3, "STLS", "STLS", "refused").await
}

/// USER and PASS.
pub async fn login<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    pop3: &mut Pop3,
    user: &str,
    password: &str,
) -> Result<(), Failure> {
    step(lines, pop3, &format!("USER {user}"), "USER", "rejected").await?;
    step(lines, pop3, &format!("PASS {password}"), "PASS", "rejected").await?;
    Ok(())
}

/// What STAT reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Maildrop {
    /// Number of messages.
    pub messages: u64,
    /// Their total size in octets.
    pub octets: u64,
}

/// Parses `+OK 3 1234` (a text may follow).
pub fn parse_stat(line: &str) -> Option<Maildrop> {
    let mut words = line.split_ascii_whitespace();
    if indicator(words.next()?) != Some(true) {
        return None;
    }
    Some(Maildrop {
        messages: words.next()?.parse().ok()?,
        octets: words.next()?.parse().ok()?,
    })
}

/// STAT: the number and size of the messages.
pub async fn stat<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    pop3: &mut Pop3,
) -> Result<Maildrop, Failure> {
    let line = step(lines, pop3, "STAT", "STAT", "rejected").await?;
    parse_stat(&line).ok_or_else(|| {
        Failure::net(
            NetError::Garbage {
                what: printable(line.as_bytes(), SHOWN),
            },
            "reading the reply to STAT",
        )
    })
}

/// Whether a positive answer to `command` is multi-line (ends with `.`):
/// CAPA, LIST and UIDL without argument, RETR and TOP.
pub fn is_multiline(command: &str) -> bool {
    let first = command.lines().next().unwrap_or("");
    let mut words = first.split_ascii_whitespace();
    let verb = words.next().unwrap_or("").to_ascii_uppercase();
    let has_argument = words.next().is_some();
    match verb.as_str() {
        "CAPA" => true,
        "LIST" | "UIDL" => !has_argument,
        "RETR" | "TOP" => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use rsplugins::net::dialogue::{goodbye, send_probe, Goodbye};
    use rsplugins::net::runtime::block_on;
    use rsplugins::net::{Deadline, Limits, ProbeArgs};
    use rsplugins::state::State;
    use rsplugins::timeout::TimeoutSpec;
    use std::time::Duration;
    use tokio_test::io::Builder;

    /// The dialogue over a scripted stream, with 5 seconds to go.
    fn stream<S: AsyncRead + AsyncWrite + Unpin>(script: S) -> LineStream<S> {
        LineStream::within(script, Duration::from_secs(5))
    }

    /// C's send/expect options as check_pop3_rs reads them.
    fn probe(args: &[&str]) -> ProbeArgs {
        let argv = ["check_pop3_rs", "-H", "localhost"].iter().chain(args);
        crate::Args::try_parse_from(argv).unwrap().probe
    }

    #[test]
    fn indicators() {
        assert_eq!(indicator("+OK Dovecot ready."), Some(true));
        assert_eq!(indicator("+OK"), Some(true));
        assert_eq!(indicator("+ok fine"), Some(true));
        assert_eq!(indicator("-ERR [AUTH] failed"), Some(false));
        assert_eq!(indicator("+OKAY"), None);
        assert_eq!(indicator("* OK imap"), None);
        assert_eq!(indicator(""), None);
    }

    #[test]
    fn full_login_dialogue() {
        block_on(async {
            let mock = Builder::new()
                .read(b"+OK Dovecot (Debian) ready.\r\n")
                .write(b"STLS\r\n")
                .read(b"+OK Begin TLS negotiation now.\r\n")
                .write(b"USER monitor\r\n")
                .read(b"+OK\r\n")
                .write(b"PASS monpass\r\n")
                .read(b"+OK Logged in.\r\n")
                .write(b"STAT\r\n")
                .read(b"+OK 2 1234\r\n")
                .write(b"QUIT\r\n")
                .read(b"+OK Logging out.\r\n")
                .build();
            let mut s = stream(mock);
            let mut pop3 = Pop3::default();
            assert_eq!(
                greeting(&mut s).await.unwrap(),
                "+OK Dovecot (Debian) ready."
            );
            stls(&mut s, &mut pop3).await.unwrap();
            login(&mut s, &mut pop3, "monitor", "monpass")
                .await
                .unwrap();
            assert_eq!(
                stat(&mut s, &mut pop3).await.unwrap(),
                Maildrop {
                    messages: 2,
                    octets: 1234
                }
            );
            let g = goodbye(&mut s, &mut pop3, &probe(&[]), "QUIT", false).await;
            assert_eq!(g, Goodbye::Said("+OK Logging out.".into()));
            assert_eq!(s.transcript().lines()[5], "> PASS monpass");
        })
        .unwrap();
    }

    #[test]
    fn greeting_failures() {
        block_on(async {
            let mock = Builder::new()
                .read(b"-ERR too many connections\r\n")
                .build();
            let err = greeting(&mut stream(mock)).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "server not ready: -ERR too many connections"
            );
            assert_eq!(err.message(true), "server not ready (-ERR greeting)");

            let mock = Builder::new().read(b"\x00\x01\xffjunk\r\n").build();
            let err = greeting(&mut stream(mock)).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "not a POP3 greeting: \\x00\\x01\u{fffd}junk"
            );
            assert_eq!(
                err.state(&TimeoutSpec::default(), State::Critical),
                State::Critical
            );

            let mock = Builder::new().build();
            let err = greeting(&mut stream(mock)).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "connection closed by the server while waiting for the greeting"
            );
        })
        .unwrap();
    }

    #[test]
    fn each_step_names_itself_and_never_the_password() {
        block_on(async {
            let mock = Builder::new()
                .write(b"USER monitor\r\n")
                .read(b"+OK\r\n")
                .write(b"PASS s3cret\r\n")
                .read(b"-ERR [AUTH] Authentication failed.\r\n")
                .build();
            let err = login(&mut stream(mock), &mut Pop3::default(), "monitor", "s3cret")
                .await
                .unwrap_err();
            assert_eq!(
                err.message(false),
                "PASS rejected: -ERR [AUTH] Authentication failed."
            );
            assert_eq!(err.message(true), "PASS rejected");

            let mock = Builder::new()
                .write(b"USER nobody\r\n")
                .read(b"-ERR no such user\r\n")
                .build();
            let err = login(&mut stream(mock), &mut Pop3::default(), "nobody", "x")
                .await
                .unwrap_err();
            assert_eq!(err.message(false), "USER rejected: -ERR no such user");

            let mock = Builder::new()
                .write(b"STLS\r\n")
                .read(b"-ERR TLS not available\r\n")
                .build();
            let err = stls(&mut stream(mock), &mut Pop3::default())
                .await
                .unwrap_err();
            assert_eq!(err.message(false), "STLS refused: -ERR TLS not available");
        })
        .unwrap();
    }

    #[test]
    fn garbage_and_cut_replies() {
        block_on(async {
            let mock = Builder::new()
                .write(b"STAT\r\n")
                .read(b"+OK lots\r\n")
                .build();
            let err = stat(&mut stream(mock), &mut Pop3::default())
                .await
                .unwrap_err();
            assert_eq!(
                err.message(false),
                "invalid response from server: +OK lots while reading the reply to STAT"
            );
            let mock = Builder::new().write(b"STAT\r\n").read(b"+OK 3").build();
            let err = stat(&mut stream(mock), &mut Pop3::default())
                .await
                .unwrap_err();
            assert_eq!(
                err.message(false),
                "connection closed by the server after '+OK 3' while waiting for the reply to STAT"
            );
            assert_eq!(
                err.message(true),
                "connection closed by the server while waiting for the reply to STAT"
            );
            let mock = Builder::new()
                .write(b"USER a\r\n")
                .read(b"hello?\r\n")
                .build();
            let err = login(&mut stream(mock), &mut Pop3::default(), "a", "b")
                .await
                .unwrap_err();
            assert_eq!(
                err.message(false),
                "invalid response from server: hello? while waiting for the reply to USER"
            );
        })
        .unwrap();
    }

    #[test]
    fn silence_is_a_timeout_in_the_t_state() {
        block_on(async {
            let (_peer, mock) = tokio::io::duplex(64);
            let mut s = LineStream::new(
                mock,
                Limits::default(),
                Deadline::after(Duration::from_millis(100)),
            );
            let err = greeting(&mut s).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "timed out after 0.1 seconds waiting for the greeting"
            );
            assert!(err.is_timeout());
            let t: TimeoutSpec = "3:unknown".parse().unwrap();
            assert_eq!(err.state(&t, State::Critical), State::Unknown);
        })
        .unwrap();
    }

    #[test]
    fn huge_greeting_is_bounded() {
        block_on(async {
            let mock = std::io::Cursor::new(vec![b'x'; 100 * 1024]);
            let err = greeting(&mut stream(mock)).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "server sent a line longer than 16384 bytes while waiting for the greeting"
            );
        })
        .unwrap();
    }

    #[test]
    fn quit_skips_the_rest_of_an_answer_to_the_users_command() {
        block_on(async {
            let mock = Builder::new()
                .write(b"QUIT\r\n")
                .read(b"1 120\r\n.\r\n+OK bye\r\n")
                .build();
            let mut pop3 = Pop3 { skip_strays: true };
            let g = goodbye(&mut stream(mock), &mut pop3, &probe(&[]), "QUIT", true).await;
            assert_eq!(g, Goodbye::Said("+OK bye".into()));
            let mock = Builder::new()
                .write(b"QUIT\r\n")
                .read(b"-ERR not now\r\n")
                .build();
            let g = goodbye(&mut stream(mock), &mut pop3, &probe(&[]), "QUIT", true).await;
            assert!(
                matches!(&g, Goodbye::Failed(f) if f.message(false) == "QUIT rejected: -ERR not now"),
                "{g:?}"
            );
            // Without a -s text, such a line is not POP3.
            let mock = Builder::new()
                .write(b"QUIT\r\n")
                .read(b"1 120\r\n")
                .build();
            let g = goodbye(&mut stream(mock), &mut Pop3::default(), &probe(&[]), "QUIT", false)
                .await;
            assert!(
                matches!(&g, Goodbye::Failed(f) if f.message(false).starts_with("invalid response from server: 1 120")),
                "{g:?}"
            );
        })
        .unwrap();
    }

    #[test]
    fn custom_commands_read_whole_answers() {
        assert!(is_multiline("CAPA\r\n"));
        assert!(is_multiline("list"));
        assert!(!is_multiline("LIST 1"));
        assert!(is_multiline("RETR 1"));
        assert!(!is_multiline("NOOP"));
        // The answer to `-s CAPA` read from `script`.
        let answer = |script: &'static [u8]| {
            let mock = Builder::new().write(b"CAPA\r\n").read(script).build();
            let deadline = Deadline::after(Duration::from_secs(5));
            let p = probe(&["-s", "CAPA"]);
            block_on(async move {
                send_probe(&mut stream(mock), &mut Pop3::default(), &p, &deadline).await
            })
            .unwrap()
        };
        assert_eq!(
            answer(b"+OK\r\nTOP\r\nUSER\r\n.\r\n"),
            Ok(Some(vec!["+OK".into(), "TOP".into(), "USER".into()]))
        );
        assert_eq!(answer(b"-ERR no\r\n"), Ok(Some(vec!["-ERR no".into()])));
    }

    #[test]
    fn stat_lines() {
        assert_eq!(
            parse_stat("+OK 0 0"),
            Some(Maildrop {
                messages: 0,
                octets: 0
            })
        );
        assert_eq!(
            parse_stat("+OK 7 9000 extra"),
            Some(Maildrop {
                messages: 7,
                octets: 9000
            })
        );
        assert_eq!(parse_stat("+OK"), None);
        assert_eq!(parse_stat("-ERR 1 2"), None);
        assert_eq!(parse_stat("+OK -1 2"), None);
    }
}
