//! The POP3 dialogue (RFC 1939; STLS from RFC 2595), written against any
//! stream so every step is tested on scripted bytes and runs unchanged over
//! TLS. Every read is bounded by the [`LineStream`] limits and deadline.
//!
//! Commands carrying the password are never part of a message: errors name
//! the step (`PASS`), not the line sent.

pub use rsplugins::net::Failure;
use rsplugins::net::{printable, LineStream, NetError};
use tokio::io::{AsyncRead, AsyncWrite};

/// How many characters of server text a message shows.
pub const SHOWN: usize = 200;

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

async fn read_line<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    during: &str,
) -> Result<String, Failure> {
    lines
        .read_line(during)
        .await
        .map_err(|e| Failure::net(e, during))
}

/// Reads the greeting: `+OK ...`, else the reason it is not.
pub async fn greeting<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
) -> Result<String, Failure> {
    let line = read_line(lines, "waiting for the greeting").await?;
    let reply = printable(line.as_bytes(), SHOWN);
    match indicator(&line) {
        Some(true) => Ok(line),
        Some(false) => Err(Failure::Greeting {
            reply,
            refused: true,
            expected: "a POP3 greeting",
            refusal: "-ERR",
        }),
        None => Err(Failure::Greeting {
            reply,
            refused: false,
            expected: "a POP3 greeting",
            refusal: "-ERR",
        }),
    }
}

/// Sends `command` and reads its one-line reply: the `+OK` line, or
/// [`Failure::Rejected`] naming `name` (never the command, which may hold
/// the password) with `verb` ("rejected", "refused").
pub async fn step<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    command: &str,
    name: &str,
    verb: &'static str,
) -> Result<String, Failure> {
    let sending = format!("sending {name}");
    lines
        .write_line(command, &sending)
        .await
        .map_err(|e| Failure::net(e, &sending))?;
    let during = format!("waiting for the reply to {name}");
    let line = read_line(lines, &during).await?;
    match indicator(&line) {
        Some(true) => Ok(line),
        Some(false) => Err(Failure::Rejected {
            step: name.to_string(),
            verb,
            reply: printable(line.as_bytes(), SHOWN),
        }),
        None => Err(Failure::net(
            NetError::Garbage {
                what: printable(line.as_bytes(), SHOWN),
            },
            &during,
        )),
    }
}

/// STLS; after its `+OK` the caller starts the TLS handshake.
pub async fn stls<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
) -> Result<String, Failure> {
    step(lines, "STLS", "STLS", "refused").await
}

/// USER and PASS; the replies to both.
pub async fn login<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    user: &str,
    password: &str,
) -> Result<(String, String), Failure> {
    let user_reply = step(lines, &format!("USER {user}"), "USER", "rejected").await?;
    let pass_reply = step(lines, &format!("PASS {password}"), "PASS", "rejected").await?;
    Ok((user_reply, pass_reply))
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
) -> Result<(Maildrop, String), Failure> {
    let line = step(lines, "STAT", "STAT", "rejected").await?;
    match parse_stat(&line) {
        Some(m) => Ok((m, line)),
        None => Err(Failure::net(
            NetError::Garbage {
                what: printable(line.as_bytes(), SHOWN),
            },
            "reading the reply to STAT",
        )),
    }
}

/// QUIT, expecting `+OK`. Lines before the status line are skipped, so the
/// rest of a multi-line answer to a `-s` command does not count as the reply.
pub async fn quit<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
) -> Result<String, Failure> {
    lines
        .write_line("QUIT", "sending QUIT")
        .await
        .map_err(|e| Failure::net(e, "sending QUIT"))?;
    let during = "waiting for the reply to QUIT";
    loop {
        let line = read_line(lines, during).await?;
        match indicator(&line) {
            Some(true) => return Ok(line),
            Some(false) => {
                return Err(Failure::Rejected {
                    step: "QUIT".to_string(),
                    verb: "rejected",
                    reply: printable(line.as_bytes(), SHOWN),
                })
            }
            None => continue,
        }
    }
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

/// Sends a `-s` text as is.
pub async fn send_raw<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    text: &str,
) -> Result<(), Failure> {
    lines
        .write_all(text.as_bytes(), "sending the -s string")
        .await
        .map_err(|e| Failure::net(e, "sending the -s string"))
}

/// Reads the answer to a `-s` text: its status line, and for a positive
/// multi-line answer every line up to the final `.` (not included).
pub async fn read_answer<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    sent: &str,
) -> Result<Vec<String>, Failure> {
    let during = "waiting for the answer to the -s string";
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

#[cfg(test)]
mod tests {
    use super::*;
    use rsplugins::net::{Deadline, Limits};
    use rsplugins::state::State;
    use rsplugins::timeout::TimeoutSpec;
    use std::time::Duration;
    use tokio_test::io::Builder;

    fn stream<S: AsyncRead + AsyncWrite + Unpin>(s: S) -> LineStream<S> {
        LineStream::new(
            s,
            Limits::default(),
            Deadline::after(Duration::from_secs(5)),
        )
    }

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
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
        rt().block_on(async {
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
            assert_eq!(
                greeting(&mut s).await.unwrap(),
                "+OK Dovecot (Debian) ready."
            );
            stls(&mut s).await.unwrap();
            let (_, pass) = login(&mut s, "monitor", "monpass").await.unwrap();
            assert_eq!(pass, "+OK Logged in.");
            let (m, _) = stat(&mut s).await.unwrap();
            assert_eq!(
                m,
                Maildrop {
                    messages: 2,
                    octets: 1234
                }
            );
            assert_eq!(quit(&mut s).await.unwrap(), "+OK Logging out.");
        });
    }

    #[test]
    fn greeting_failures() {
        rt().block_on(async {
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
        });
    }

    #[test]
    fn each_step_names_itself_and_never_the_password() {
        rt().block_on(async {
            let mock = Builder::new()
                .write(b"USER monitor\r\n")
                .read(b"+OK\r\n")
                .write(b"PASS s3cret\r\n")
                .read(b"-ERR [AUTH] Authentication failed.\r\n")
                .build();
            let err = login(&mut stream(mock), "monitor", "s3cret")
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
            let err = login(&mut stream(mock), "nobody", "x").await.unwrap_err();
            assert_eq!(err.message(false), "USER rejected: -ERR no such user");

            let mock = Builder::new()
                .write(b"STLS\r\n")
                .read(b"-ERR TLS not available\r\n")
                .build();
            let err = stls(&mut stream(mock)).await.unwrap_err();
            assert_eq!(err.message(false), "STLS refused: -ERR TLS not available");
        });
    }

    #[test]
    fn garbage_and_cut_replies() {
        rt().block_on(async {
            let mock = Builder::new()
                .write(b"STAT\r\n")
                .read(b"+OK lots\r\n")
                .build();
            let err = stat(&mut stream(mock)).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "invalid response from server: +OK lots while reading the reply to STAT"
            );
            let mock = Builder::new().write(b"STAT\r\n").read(b"+OK 3").build();
            let err = stat(&mut stream(mock)).await.unwrap_err();
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
            let err = login(&mut stream(mock), "a", "b").await.unwrap_err();
            assert_eq!(
                err.message(false),
                "invalid response from server: hello? while waiting for the reply to USER"
            );
        });
    }

    #[test]
    fn silence_is_a_timeout_in_the_t_state() {
        rt().block_on(async {
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
        });
    }

    #[test]
    fn huge_greeting_is_bounded() {
        rt().block_on(async {
            let mock = std::io::Cursor::new(vec![b'x'; 100 * 1024]);
            let err = greeting(&mut stream(mock)).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "server sent a line longer than 16384 bytes while waiting for the greeting"
            );
        });
    }

    #[test]
    fn quit_skips_the_rest_of_a_multiline_answer() {
        rt().block_on(async {
            let mock = Builder::new()
                .write(b"QUIT\r\n")
                .read(b"1 120\r\n.\r\n+OK bye\r\n")
                .build();
            assert_eq!(quit(&mut stream(mock)).await.unwrap(), "+OK bye");
            let mock = Builder::new()
                .write(b"QUIT\r\n")
                .read(b"-ERR not now\r\n")
                .build();
            let err = quit(&mut stream(mock)).await.unwrap_err();
            assert_eq!(err.message(false), "QUIT rejected: -ERR not now");
        });
    }

    #[test]
    fn custom_commands_read_whole_answers() {
        assert!(is_multiline("CAPA\r\n"));
        assert!(is_multiline("list"));
        assert!(!is_multiline("LIST 1"));
        assert!(is_multiline("RETR 1"));
        assert!(!is_multiline("NOOP"));
        rt().block_on(async {
            let mock = Builder::new()
                .write(b"CAPA\r\n")
                .read(b"+OK\r\nTOP\r\nUSER\r\n.\r\n")
                .build();
            let mut s = stream(mock);
            send_raw(&mut s, "CAPA\r\n").await.unwrap();
            assert_eq!(
                read_answer(&mut s, "CAPA\r\n").await.unwrap(),
                vec!["+OK", "TOP", "USER"]
            );
            let mock = Builder::new()
                .write(b"CAPA\r\n")
                .read(b"-ERR no\r\n")
                .build();
            let mut s = stream(mock);
            send_raw(&mut s, "CAPA\r\n").await.unwrap();
            assert_eq!(
                read_answer(&mut s, "CAPA\r\n").await.unwrap(),
                vec!["-ERR no"]
            );
        });
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
