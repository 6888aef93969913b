//! The FTP control-connection dialogue (RFC 959; AUTH TLS from RFC 4217),
//! written against any stream so every step is tested on scripted ones and
//! runs unchanged over TLS.
//!
//! No data connection is opened: greeting, optional `AUTH TLS`, optional
//! `USER`/`PASS`, an optional raw command (`-s`), `QUIT`.

use std::time::Duration;

use rsplugins::net::{printable, LineStream, NetError, Reply};
use tokio::io::{AsyncRead, AsyncWrite};

/// A failed step: the network error and what was awaited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepError {
    /// What went wrong.
    pub error: NetError,
    /// What the plugin was doing ("waiting for the greeting"); empty for
    /// connect and TLS failures, whose messages say it already.
    pub during: String,
}

impl From<NetError> for StepError {
    fn from(error: NetError) -> Self {
        StepError {
            error,
            during: String::new(),
        }
    }
}

impl StepError {
    fn at(during: &str) -> impl FnOnce(NetError) -> StepError + '_ {
        move |error| StepError {
            error,
            during: during.to_string(),
        }
    }

    /// The one-line reason, in the library's one wording (what happened,
    /// then `while` what was awaited).
    pub fn message(&self) -> String {
        self.error.describe(&self.during)
    }
}

/// The control dialogue as exchanged, for `-v`. Passwords are masked here,
/// before the output layer's own redaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transcript {
    /// `> USER ftpmon`, `< 331 Please specify the password.`, ...
    pub lines: Vec<String>,
}

impl Transcript {
    fn sent(&mut self, text: &str) {
        self.lines
            .push(format!("> {}", printable(text.as_bytes(), 200)));
    }

    fn received(&mut self, reply: &Reply) {
        for line in &reply.lines {
            self.lines
                .push(format!("< {}", printable(line.as_bytes(), 200)));
        }
    }
}

/// A reply's first line, printable and bounded, for messages.
pub fn shown(reply: &Reply) -> String {
    printable(reply.first_line().as_bytes(), 200)
}

/// What a greeting code means (RFC 959 4.2, "connection establishment").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Greeting {
    /// 220: ready for a new user.
    Ready,
    /// 120: ready in nnn minutes (a 220 follows later).
    Delayed,
    /// 421 or any other 4xx/5xx: the service is not available.
    Unavailable,
    /// Anything else: not an FTP greeting.
    Unexpected,
}

/// Classifies a greeting code.
pub fn classify_greeting(code: u16) -> Greeting {
    match code {
        220 => Greeting::Ready,
        120 => Greeting::Delayed,
        400..=599 => Greeting::Unavailable,
        _ => Greeting::Unexpected,
    }
}

/// Reads the greeting (single or `220-` multi-line).
pub async fn read_greeting<S>(
    lines: &mut LineStream<S>,
    log: &mut Transcript,
) -> Result<Reply, StepError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let during = "waiting for the greeting";
    let reply = lines
        .read_reply(during)
        .await
        .map_err(StepError::at(during))?;
    log.received(&reply);
    Ok(reply)
}

async fn command<S>(
    lines: &mut LineStream<S>,
    line: &str,
    shown_as: &str,
    during: &str,
    log: &mut Transcript,
) -> Result<Reply, StepError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    log.sent(shown_as);
    let reply = lines
        .command(line, during)
        .await
        .map_err(StepError::at(during))?;
    log.received(&reply);
    Ok(reply)
}

/// Sends `AUTH TLS`; the caller starts TLS on 234 and reports anything else.
pub async fn auth_tls<S>(
    lines: &mut LineStream<S>,
    log: &mut Transcript,
) -> Result<Reply, StepError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    command(
        lines,
        "AUTH TLS",
        "AUTH TLS",
        "waiting for the reply to AUTH TLS",
        log,
    )
    .await
}

/// How a login ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// 230 (or 202 to PASS: "superfluous").
    LoggedIn(Reply),
    /// Refused (530 and other 4xx/5xx), with the reply.
    Failed(Reply),
    /// 331 but no password was given.
    NeedsPassword(Reply),
    /// 332: an account (ACCT) is required, which this check does not send.
    NeedsAccount(Reply),
}

/// `USER` and, when asked for (331), `PASS`.
pub async fn login<S>(
    lines: &mut LineStream<S>,
    user: &str,
    password: Option<&str>,
    log: &mut Transcript,
) -> Result<Login, StepError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    if user.contains(['\r', '\n']) {
        return Err(StepError::from(NetError::Io {
            reason: "the user name contains a line break".to_string(),
        }));
    }
    let user_line = format!("USER {user}");
    let reply = command(
        lines,
        &user_line,
        &user_line,
        "waiting for the reply to USER",
        log,
    )
    .await?;
    match reply.code {
        230 => return Ok(Login::LoggedIn(reply)),
        331 => {}
        332 => return Ok(Login::NeedsAccount(reply)),
        _ => return Ok(Login::Failed(reply)),
    }
    let Some(password) = password else {
        return Ok(Login::NeedsPassword(reply));
    };
    if password.contains(['\r', '\n']) {
        return Err(StepError::from(NetError::Io {
            reason: "the password contains a line break".to_string(),
        }));
    }
    let reply = command(
        lines,
        &format!("PASS {password}"),
        "PASS ********",
        "waiting for the reply to PASS",
        log,
    )
    .await?;
    Ok(match reply.code {
        230 | 202 => Login::LoggedIn(reply),
        332 => Login::NeedsAccount(reply),
        _ => Login::Failed(reply),
    })
}

/// Sends raw bytes (`-s`), waits `delay`, reads the reply.
pub async fn send_raw<S>(
    lines: &mut LineStream<S>,
    bytes: &[u8],
    delay: Option<Duration>,
    log: &mut Transcript,
) -> Result<Reply, StepError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let text = String::from_utf8_lossy(bytes);
    let during = format!(
        "waiting for the reply to '{}'",
        printable(text.trim_end().as_bytes(), 60)
    );
    log.sent(text.trim_end());
    lines
        .write_all(bytes, "sending the -s string")
        .await
        .map_err(StepError::at(&during))?;
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let reply = lines
        .read_reply(&during)
        .await
        .map_err(StepError::at(&during))?;
    log.received(&reply);
    Ok(reply)
}

/// How the session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Quit {
    /// 221 (or any reply when the quit string is not QUIT).
    Goodbye,
    /// QUIT was answered with another code.
    Unexpected(Reply),
    /// The server closed without a reply (fine: it was leaving anyway).
    Closed,
    /// No usable reply: a time-out, garbage or a write failure.
    Failed(StepError),
}

/// Sends the quit string (default `QUIT\r\n`) and reads the reply, which
/// must be 221 when the string is QUIT. Then closes the write side.
pub async fn quit<S>(
    lines: &mut LineStream<S>,
    bytes: &[u8],
    wait: bool,
    log: &mut Transcript,
) -> Quit
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let text = String::from_utf8_lossy(bytes);
    let is_quit = text.trim().eq_ignore_ascii_case("QUIT");
    let during = "waiting for the reply to QUIT";
    log.sent(text.trim_end());
    let outcome = match lines.write_all(bytes, "sending QUIT").await {
        Err(NetError::Closed { .. }) => Quit::Closed,
        Err(error) => Quit::Failed(StepError::at(during)(error)),
        Ok(()) if !wait => Quit::Goodbye,
        Ok(()) => match lines.read_reply(during).await {
            Ok(reply) => {
                log.received(&reply);
                if !is_quit || reply.code == 221 {
                    Quit::Goodbye
                } else {
                    Quit::Unexpected(reply)
                }
            }
            Err(NetError::Closed { partial, .. }) if partial.is_empty() => Quit::Closed,
            Err(error) => Quit::Failed(StepError::at(during)(error)),
        },
    };
    lines.shutdown().await;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsplugins::net::{Deadline, Limits};
    use tokio_test::io::Builder;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn stream<S: AsyncRead + AsyncWrite + Unpin>(s: S) -> LineStream<S> {
        LineStream::new(
            s,
            Limits {
                max_line: 4096,
                max_total: 256 * 1024,
            },
            Deadline::after(Duration::from_secs(5)),
        )
    }

    #[test]
    fn greeting_codes() {
        assert_eq!(classify_greeting(220), Greeting::Ready);
        assert_eq!(classify_greeting(120), Greeting::Delayed);
        assert_eq!(classify_greeting(421), Greeting::Unavailable);
        assert_eq!(classify_greeting(500), Greeting::Unavailable);
        assert_eq!(classify_greeting(230), Greeting::Unexpected);
    }

    #[test]
    fn multi_line_greeting_and_anonymous_login() {
        rt().block_on(async {
            let mock = Builder::new()
                .read(b"220-Welcome\r\n  be nice\r\n220 rsplugins FTP ready\r\n")
                .write(b"USER anonymous\r\n")
                .read(b"331 Please specify the password.\r\n")
                .write(b"PASS rsplugins@\r\n")
                .read(b"230-Hello\r\n230 Login successful.\r\n")
                .write(b"QUIT\r\n")
                .read(b"221 Goodbye.\r\n")
                .build();
            let mut s = stream(mock);
            let mut log = Transcript::default();
            let greeting = read_greeting(&mut s, &mut log).await.unwrap();
            assert_eq!(greeting.code, 220);
            assert_eq!(greeting.lines.len(), 3);
            assert_eq!(shown(&greeting), "220-Welcome");
            let login = login(&mut s, "anonymous", Some("rsplugins@"), &mut log)
                .await
                .unwrap();
            assert!(matches!(login, Login::LoggedIn(r) if r.code == 230));
            assert_eq!(
                quit(&mut s, b"QUIT\r\n", true, &mut log).await,
                Quit::Goodbye
            );
            assert!(log.lines.contains(&"> PASS ********".to_string()));
            assert!(!log.lines.iter().any(|l| l.contains("rsplugins@")));
            assert_eq!(log.lines.last().unwrap(), "< 221 Goodbye.");
        });
    }

    #[test]
    fn wrong_password_and_direct_login() {
        rt().block_on(async {
            let mock = Builder::new()
                .write(b"USER ftpmon\r\n")
                .read(b"331 Please specify the password.\r\n")
                .write(b"PASS wrong\r\n")
                .read(b"530 Login incorrect.\r\n")
                .build();
            let mut log = Transcript::default();
            let r = login(&mut stream(mock), "ftpmon", Some("wrong"), &mut log)
                .await
                .unwrap();
            assert!(
                matches!(r, Login::Failed(ref reply) if shown(reply) == "530 Login incorrect.")
            );

            let mock = Builder::new()
                .write(b"USER guest\r\n")
                .read(b"230 come in\r\n")
                .build();
            let r = login(&mut stream(mock), "guest", None, &mut log)
                .await
                .unwrap();
            assert!(matches!(r, Login::LoggedIn(_)));

            let mock = Builder::new()
                .write(b"USER guest\r\n")
                .read(b"331 password please\r\n")
                .build();
            let r = login(&mut stream(mock), "guest", None, &mut log)
                .await
                .unwrap();
            assert!(matches!(r, Login::NeedsPassword(_)));

            let mock = Builder::new()
                .write(b"USER guest\r\n")
                .read(b"530 Non-anonymous sessions must use encryption.\r\n")
                .build();
            let r = login(&mut stream(mock), "guest", Some("x"), &mut log)
                .await
                .unwrap();
            assert!(matches!(r, Login::Failed(_)));

            let mock = Builder::new()
                .write(b"USER acct\r\n")
                .read(b"331 pw\r\n")
                .write(b"PASS p\r\n")
                .read(b"332 need account\r\n")
                .build();
            let r = login(&mut stream(mock), "acct", Some("p"), &mut log)
                .await
                .unwrap();
            assert!(matches!(r, Login::NeedsAccount(_)));
        });
    }

    #[test]
    fn line_breaks_in_credentials_are_refused_before_sending() {
        rt().block_on(async {
            let mut log = Transcript::default();
            let err = login(
                &mut stream(Builder::new().build()),
                "a\r\nDELE x",
                None,
                &mut log,
            )
            .await
            .unwrap_err();
            assert!(err.message().contains("line break"));
        });
    }

    #[test]
    fn auth_tls_reply_and_refusal() {
        rt().block_on(async {
            let mock = Builder::new()
                .write(b"AUTH TLS\r\n")
                .read(b"234 Proceed with negotiation.\r\n")
                .build();
            let mut log = Transcript::default();
            let r = auth_tls(&mut stream(mock), &mut log).await.unwrap();
            assert_eq!(r.code, 234);
            let mock = Builder::new()
                .write(b"AUTH TLS\r\n")
                .read(b"530 Please login with USER and PASS.\r\n")
                .build();
            let r = auth_tls(&mut stream(mock), &mut log).await.unwrap();
            assert_eq!(shown(&r), "530 Please login with USER and PASS.");
        });
    }

    #[test]
    fn raw_command_reply() {
        rt().block_on(async {
            let mock = Builder::new()
                .write(b"SYST\r\n")
                .read(b"215 UNIX Type: L8\r\n")
                .build();
            let mut log = Transcript::default();
            let r = send_raw(&mut stream(mock), b"SYST\r\n", None, &mut log)
                .await
                .unwrap();
            assert_eq!(r.code, 215);
            assert_eq!(log.lines, vec!["> SYST", "< 215 UNIX Type: L8"]);
        });
    }

    #[test]
    fn quit_outcomes() {
        rt().block_on(async {
            let mut log = Transcript::default();
            let mock = Builder::new().write(b"QUIT\r\n").build();
            assert_eq!(
                quit(&mut stream(mock), b"QUIT\r\n", true, &mut log).await,
                Quit::Closed
            );
            let mock = Builder::new()
                .write(b"QUIT\r\n")
                .read(b"500 what?\r\n")
                .build();
            assert!(matches!(
                quit(&mut stream(mock), b"QUIT\r\n", true, &mut log).await,
                Quit::Unexpected(r) if r.code == 500
            ));
            let mock = Builder::new().write(b"BYE\r\n").read(b"200 ok\r\n").build();
            assert_eq!(
                quit(&mut stream(mock), b"BYE\r\n", true, &mut log).await,
                Quit::Goodbye
            );
            let mock = Builder::new()
                .write(b"QUIT\r\n")
                .read(b"\x00garbage\r\n")
                .build();
            let Quit::Failed(e) = quit(&mut stream(mock), b"QUIT\r\n", true, &mut log).await else {
                panic!("garbage after QUIT");
            };
            assert_eq!(
                e.message(),
                "invalid response from server: \\x00garbage while waiting for the reply to QUIT"
            );
        });
    }

    #[test]
    fn hostile_greetings() {
        rt().block_on(async {
            let mut log = Transcript::default();
            let err = read_greeting(&mut stream(Builder::new().build()), &mut log)
                .await
                .unwrap_err();
            assert_eq!(
                err.message(),
                "connection closed by the server while waiting for the greeting"
            );
            let mock = Builder::new().read(b"220-Welcome\r\n  more").build();
            let err = read_greeting(&mut stream(mock), &mut log)
                .await
                .unwrap_err();
            assert_eq!(
                err.message(),
                "connection closed by the server after '  more' while waiting for the greeting"
            );
            let mock = Builder::new().read(b"\x16\x03\x01\x02\x00\x01\r\n").build();
            let err = read_greeting(&mut stream(mock), &mut log)
                .await
                .unwrap_err();
            assert!(
                err.message()
                    .starts_with("invalid response from server: \\x16\\x03\\x01"),
                "{}",
                err.message()
            );
            let huge = std::io::Cursor::new(vec![b'x'; 1 << 20]);
            let err = read_greeting(&mut stream(huge), &mut log)
                .await
                .unwrap_err();
            assert_eq!(
                err.message(),
                "server sent a line longer than 4096 bytes while waiting for the greeting"
            );
            let (_peer, silent) = tokio::io::duplex(64);
            let mut s = LineStream::new(
                silent,
                Limits::default(),
                Deadline::after(Duration::from_millis(100)),
            );
            let err = read_greeting(&mut s, &mut log).await.unwrap_err();
            assert_eq!(
                err.message(),
                "timed out after 0.1 seconds waiting for the greeting"
            );
        });
    }
}
