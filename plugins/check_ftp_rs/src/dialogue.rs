//! The FTP control-connection dialogue (RFC 959; AUTH TLS from RFC 4217),
//! written against any stream so every step is tested on scripted ones and
//! runs unchanged over TLS.
//!
//! No data connection is opened: greeting, optional `AUTH TLS`, optional
//! `USER`/`PASS`, an optional raw command (`-s`), `QUIT`. Each step gives
//! the server's reply as it came; what a reply means for the check is
//! decided by `evaluate`. What was said is kept by the [`LineStream`]'s
//! transcript, passwords masked.

use std::time::Duration;

use rsplugins::net::dialogue::{self, Goodbye};
use rsplugins::net::{
    printable, Deadline, Failure, LineStream, Numeric, ProbeArgs, Protocol, Reply,
};
use tokio::io::{AsyncRead, AsyncWrite};

/// How much of a server line a message shows.
pub const SHOWN: usize = 200;

/// A reply's first line, printable and bounded, for messages.
pub fn shown(reply: &Reply) -> String {
    printable(reply.first_line().as_bytes(), SHOWN)
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

/// Reads the greeting (single or `220-` multi-line), whatever its code.
pub async fn read_greeting<S>(lines: &mut LineStream<S>) -> Result<Reply, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    Numeric { accept: &[220] }
        .read(lines, "waiting for the greeting")
        .await
}

/// Sends `command` and reads its reply, whatever its code: what the code
/// means is for the caller. `name` stands for the command in messages (it
/// may hold a password).
pub async fn ask<S>(lines: &mut LineStream<S>, command: &str, name: &str) -> Result<Reply, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    dialogue::send(lines, &format!("{command}\r\n"), name).await?;
    // The accepted codes only matter to a verdict, which is not asked for here.
    Numeric { accept: &[] }
        .read(lines, &format!("waiting for the reply to {name}"))
        .await
}

/// Sends `AUTH TLS`: `Ok` on 234 (start TLS now); a refusal or a 421 is
/// the library's [`Failure::Rejected`] or [`Failure::Bye`], naming AUTH TLS.
pub async fn auth_tls<S>(lines: &mut LineStream<S>) -> Result<Reply, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    dialogue::step(
        lines,
        &mut Numeric { accept: &[234] },
        "AUTH TLS",
        "AUTH TLS",
        "refused",
    )
    .await
}

/// The replies of a login: to `USER`, and to `PASS` when it was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    /// The user name as given.
    pub user: String,
    /// The reply to `USER`.
    pub user_reply: Reply,
    /// The reply to `PASS`, when the server asked for one (331) and one was given.
    pub pass_reply: Option<Reply>,
}

/// What a login's replies mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoginOutcome<'a> {
    /// 230 (or 202 to PASS: "superfluous").
    LoggedIn,
    /// Refused (530 and any other code), with the reply.
    Failed(&'a Reply),
    /// 331 but no password was given.
    NeedsPassword(&'a Reply),
    /// 332: an account (ACCT) is required, which this check does not send.
    NeedsAccount(&'a Reply),
}

impl Login {
    /// What the replies mean (RFC 959 5.4, USER and PASS).
    pub fn outcome(&self) -> LoginOutcome<'_> {
        match &self.pass_reply {
            None => match self.user_reply.code {
                230 => LoginOutcome::LoggedIn,
                331 => LoginOutcome::NeedsPassword(&self.user_reply),
                332 => LoginOutcome::NeedsAccount(&self.user_reply),
                _ => LoginOutcome::Failed(&self.user_reply),
            },
            Some(reply) => match reply.code {
                230 | 202 => LoginOutcome::LoggedIn,
                332 => LoginOutcome::NeedsAccount(reply),
                _ => LoginOutcome::Failed(reply),
            },
        }
    }
}

/// `USER` and, when asked for (331) and given, `PASS`.
pub async fn login<S>(
    lines: &mut LineStream<S>,
    user: &str,
    password: Option<&str>,
) -> Result<Login, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    // The options are checked before connecting; this guards the wire
    // against a command smuggled in after a line break all the same.
    let broken = |t: &str| t.contains(['\r', '\n']);
    if broken(user) || password.is_some_and(broken) {
        return Err(Failure::Protocol {
            step: "login".to_string(),
            what: "the user name or password contains a line break".to_string(),
        });
    }
    let user_reply = ask(lines, &format!("USER {user}"), "USER").await?;
    let pass_reply = match (user_reply.code, password) {
        (331, Some(password)) => Some(ask(lines, &format!("PASS {password}"), "PASS").await?),
        _ => None,
    };
    Ok(Login {
        user: user.to_string(),
        user_reply,
        pass_reply,
    })
}

/// C's `-s` as check_ftp has it: sends `text` as it is, waits `delay`
/// (within the deadline), and reads one numeric reply; a failure names the
/// text sent ("waiting for the reply to 'SYST'").
pub async fn send_command<S>(
    lines: &mut LineStream<S>,
    text: &str,
    delay: Option<Duration>,
    deadline: &Deadline,
) -> Result<Reply, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let during = format!(
        "waiting for the reply to '{}'",
        printable(text.trim_end().as_bytes(), 60)
    );
    dialogue::send(lines, text, "the -s string").await?;
    if let Some(delay) = delay {
        let _ = deadline.run(tokio::time::sleep(delay)).await;
    }
    Numeric { accept: &[] }.read(lines, &during).await
}

/// Ends the session: the user's `-q` text, sent and not awaited (as C), or
/// `QUIT`, which should be answered 221. A server that closes instead of
/// answering QUIT is taken as having said goodbye: it was leaving anyway.
pub async fn quit<S>(lines: &mut LineStream<S>, probe: &ProbeArgs) -> Goodbye
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    dialogue::goodbye(lines, &mut Numeric { accept: &[221] }, probe, "QUIT", true).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use rsplugins::net::runtime::block_on;
    use rsplugins::net::Limits;
    use tokio_test::io::Builder;

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

    #[derive(Parser)]
    struct Demo {
        #[command(flatten)]
        probe: ProbeArgs,
    }

    fn probe(args: &[&str]) -> ProbeArgs {
        let argv = std::iter::once("demo").chain(args.iter().copied());
        Demo::try_parse_from(argv).unwrap().probe
    }

    fn reply(code: u16, line: &str) -> Reply {
        Reply {
            code,
            lines: vec![line.to_string()],
        }
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
        block_on(async {
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
            let greeting = read_greeting(&mut s).await.unwrap();
            assert_eq!(greeting.code, 220);
            assert_eq!(greeting.lines.len(), 3);
            assert_eq!(shown(&greeting), "220-Welcome");
            let login = login(&mut s, "anonymous", Some("rsplugins@"))
                .await
                .unwrap();
            assert_eq!(login.outcome(), LoginOutcome::LoggedIn);
            assert_eq!(login.pass_reply.map(|r| r.code), Some(230));
            assert_eq!(
                quit(&mut s, &probe(&[])).await,
                Goodbye::Said("221 Goodbye.".to_string())
            );
            let transcript = s.transcript().lines();
            assert_eq!(transcript[3], "> USER anonymous");
            assert_eq!(transcript.last().unwrap(), "< 221 Goodbye.");
        })
        .unwrap();
    }

    #[test]
    fn the_transcript_masks_a_registered_password() {
        block_on(async {
            rsplugins::secret::register("ftp-dialogue-pw-1");
            let mock = Builder::new()
                .write(b"USER ftpmon\r\n")
                .read(b"331 Please specify the password.\r\n")
                .write(b"PASS ftp-dialogue-pw-1\r\n")
                .read(b"230 Login successful.\r\n")
                .build();
            let mut s = stream(mock);
            let login = login(&mut s, "ftpmon", Some("ftp-dialogue-pw-1"))
                .await
                .unwrap();
            assert_eq!(login.outcome(), LoginOutcome::LoggedIn);
            assert_eq!(
                s.transcript().lines(),
                [
                    "> USER ftpmon",
                    "< 331 Please specify the password.",
                    "> PASS ********",
                    "< 230 Login successful."
                ]
            );
        })
        .unwrap();
    }

    #[test]
    fn login_replies_as_they_came() {
        block_on(async {
            let mock = Builder::new()
                .write(b"USER ftpmon\r\n")
                .read(b"331 Please specify the password.\r\n")
                .write(b"PASS wrong\r\n")
                .read(b"530 Login incorrect.\r\n")
                .build();
            let r = login(&mut stream(mock), "ftpmon", Some("wrong"))
                .await
                .unwrap();
            assert_eq!(r.user_reply.code, 331);
            assert!(
                matches!(r.outcome(), LoginOutcome::Failed(reply) if shown(reply) == "530 Login incorrect.")
            );

            // 331 without a password: PASS is not sent.
            let mock = Builder::new()
                .write(b"USER guest\r\n")
                .read(b"331 password please\r\n")
                .build();
            let r = login(&mut stream(mock), "guest", None).await.unwrap();
            assert_eq!(r.pass_reply, None);
            assert!(matches!(r.outcome(), LoginOutcome::NeedsPassword(_)));

            // Refused at USER: PASS is not sent.
            let mock = Builder::new()
                .write(b"USER guest\r\n")
                .read(b"530 Non-anonymous sessions must use encryption.\r\n")
                .build();
            let r = login(&mut stream(mock), "guest", Some("x")).await.unwrap();
            assert_eq!(r.pass_reply, None);
            assert!(matches!(r.outcome(), LoginOutcome::Failed(_)));

            let mock = Builder::new()
                .write(b"USER guest\r\n")
                .read(b"230 come in\r\n")
                .build();
            let r = login(&mut stream(mock), "guest", None).await.unwrap();
            assert_eq!(r.outcome(), LoginOutcome::LoggedIn);
        })
        .unwrap();
    }

    #[test]
    fn login_outcomes_from_replies() {
        let login = |user_reply: Reply, pass_reply: Option<Reply>| Login {
            user: "u".into(),
            user_reply,
            pass_reply,
        };
        let l = login(reply(331, "331 pw"), Some(reply(202, "202 superfluous")));
        assert_eq!(l.outcome(), LoginOutcome::LoggedIn);
        let l = login(reply(331, "331 pw"), Some(reply(332, "332 need account")));
        assert!(matches!(l.outcome(), LoginOutcome::NeedsAccount(r) if r.code == 332));
        let l = login(reply(332, "332 need account"), None);
        assert!(matches!(l.outcome(), LoginOutcome::NeedsAccount(_)));
        let l = login(reply(421, "421 bye"), None);
        assert!(matches!(l.outcome(), LoginOutcome::Failed(r) if r.code == 421));
    }

    #[test]
    fn line_breaks_in_credentials_are_refused_before_sending() {
        block_on(async {
            let f = login(&mut stream(Builder::new().build()), "a\r\nDELE x", None)
                .await
                .unwrap_err();
            assert_eq!(
                f.message(false),
                "login: the user name or password contains a line break"
            );
            let f = login(&mut stream(Builder::new().build()), "a", Some("p\nDELE x"))
                .await
                .unwrap_err();
            assert!(f.message(false).contains("line break"));
        })
        .unwrap();
    }

    #[test]
    fn auth_tls_accepted_refused_or_bye() {
        block_on(async {
            let mock = Builder::new()
                .write(b"AUTH TLS\r\n")
                .read(b"234 Proceed with negotiation.\r\n")
                .build();
            assert_eq!(auth_tls(&mut stream(mock)).await.unwrap().code, 234);
            let mock = Builder::new()
                .write(b"AUTH TLS\r\n")
                .read(b"530 Please login with USER and PASS.\r\n")
                .build();
            let f = auth_tls(&mut stream(mock)).await.unwrap_err();
            assert_eq!(
                f.message(false),
                "AUTH TLS refused: 530 Please login with USER and PASS."
            );
            assert_eq!(f.message(true), "AUTH TLS refused");
            let mock = Builder::new()
                .write(b"AUTH TLS\r\n")
                .read(b"421 Timeout.\r\n")
                .build();
            let f = auth_tls(&mut stream(mock)).await.unwrap_err();
            assert!(matches!(f, Failure::Bye { .. }), "{f:?}");
        })
        .unwrap();
    }

    #[test]
    fn raw_command_reply() {
        block_on(async {
            let deadline = Deadline::after(Duration::from_secs(5));
            let mock = Builder::new()
                .write(b"SYST\r\n")
                .read(b"215 UNIX Type: L8\r\n")
                .build();
            let mut s = stream(mock);
            let r = send_command(&mut s, "SYST\r\n", None, &deadline)
                .await
                .unwrap();
            assert_eq!(r.code, 215);
            assert_eq!(s.transcript().lines(), ["> SYST", "< 215 UNIX Type: L8"]);
            // Silence names the text sent.
            let (_peer, silent) = tokio::io::duplex(64);
            let deadline = Deadline::after(Duration::from_millis(100));
            let mut s = LineStream::new(silent, Limits::default(), deadline);
            let f = send_command(
                &mut s,
                "SYST\r\n",
                Some(Duration::from_millis(10)),
                &deadline,
            )
            .await
            .unwrap_err();
            assert_eq!(
                f.message(false),
                "timed out after 0.1 seconds waiting for the reply to 'SYST'"
            );
        })
        .unwrap();
    }

    #[test]
    fn quit_outcomes() {
        block_on(async {
            let none = probe(&[]);
            // Closing instead of answering: it was leaving anyway.
            let mock = Builder::new().write(b"QUIT\r\n").build();
            assert_eq!(quit(&mut stream(mock), &none).await, Goodbye::NotNeeded);
            let mock = Builder::new()
                .write(b"QUIT\r\n")
                .read(b"500 what?\r\n")
                .build();
            let Goodbye::Failed(f) = quit(&mut stream(mock), &none).await else {
                panic!("500 to QUIT");
            };
            assert_eq!(f.message(false), "QUIT rejected: 500 what?");
            let mock = Builder::new()
                .write(b"QUIT\r\n")
                .read(b"\x00garbage\r\n")
                .build();
            let Goodbye::Failed(f) = quit(&mut stream(mock), &none).await else {
                panic!("garbage after QUIT");
            };
            assert_eq!(
                f.message(false),
                "invalid response from server: \\x00garbage while waiting for the reply to QUIT"
            );
            // The user's -q text is sent as given (-E: no line end added) and not awaited.
            let mock = Builder::new().write(b"QUIT").build();
            let q = probe(&["-E", "-q", "QUIT"]);
            assert_eq!(quit(&mut stream(mock), &q).await, Goodbye::Sent);
        })
        .unwrap();
    }

    #[test]
    fn hostile_greetings() {
        block_on(async {
            let err = read_greeting(&mut stream(Builder::new().build()))
                .await
                .unwrap_err();
            assert_eq!(
                err.message(false),
                "connection closed by the server while waiting for the greeting"
            );
            let mock = Builder::new().read(b"220-Welcome\r\n  more").build();
            let err = read_greeting(&mut stream(mock)).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "connection closed by the server after '  more' while waiting for the greeting"
            );
            let mock = Builder::new().read(b"\x16\x03\x01\x02\x00\x01\r\n").build();
            let err = read_greeting(&mut stream(mock)).await.unwrap_err();
            assert!(
                err.message(false)
                    .starts_with("invalid response from server: \\x16\\x03\\x01"),
                "{}",
                err.message(false)
            );
            let huge = std::io::Cursor::new(vec![b'x'; 1 << 20]);
            let err = read_greeting(&mut stream(huge)).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "server sent a line longer than 4096 bytes while waiting for the greeting"
            );
            let (_peer, silent) = tokio::io::duplex(64);
            let mut s = LineStream::new(
                silent,
                Limits::default(),
                Deadline::after(Duration::from_millis(100)),
            );
            let err = read_greeting(&mut s).await.unwrap_err();
            assert!(err.is_timeout());
            assert_eq!(
                err.message(false),
                "timed out after 0.1 seconds waiting for the greeting"
            );
        })
        .unwrap();
    }
}
