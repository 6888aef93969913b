//! The dialogue layer every line protocol shares: one [`step`] (send a
//! command, read its reply, classify it) that fails with the one
//! [`Failure`], and C's send/expect exchange (`-s`, `-d`, `-q`) once.
//!
//! A protocol supplies only how its replies are read and judged (a
//! [`Protocol`]) and its sequence of commands. What was said is kept by the
//! [`LineStream`]'s transcript, secrets masked.

use std::future::Future;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite};

use super::deadline::Deadline;
use super::error::NetError;
use super::failure::Failure;
use super::lines::{printable, LineStream};
use super::probe::ProbeArgs;

/// How much of a server's line a message shows.
pub const SHOWN: usize = 200;

/// What a reply says about the command it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Done as asked (`+OK`, `a1 OK`, `250`).
    Positive,
    /// Refused (`-ERR`, `a1 NO`/`BAD`, `5xx`).
    Refused,
    /// The server said goodbye instead of answering (`* BYE`, `421`).
    Bye,
    /// Not a reply of the protocol at all.
    NotProtocol,
}

/// How a line protocol's replies are read and judged.
pub trait Protocol {
    /// One reply: a line, a numeric multi-line reply, a tagged completion.
    type Reply;

    /// The command as sent (IMAP puts its tag in front).
    fn frame(&mut self, command: &str) -> String {
        command.to_string()
    }

    /// Reads the reply to the command just sent; `during` names it for
    /// time-out and close messages.
    fn read<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        lines: &mut LineStream<S>,
        during: &str,
    ) -> impl Future<Output = Result<Self::Reply, Failure>>;

    /// What the reply says.
    fn verdict(&self, reply: &Self::Reply) -> Verdict;

    /// The line of the reply that messages show (as received; made
    /// printable by the caller).
    fn line<'r>(&self, reply: &'r Self::Reply) -> &'r str;

    /// Reads the answer to the user's `-s` text, every line of it.
    fn answer<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        lines: &mut LineStream<S>,
        sent: &str,
        during: &str,
    ) -> impl Future<Output = Result<Vec<String>, Failure>>;
}

/// Numeric replies (SMTP, LMTP, FTP): positive when the code is one of
/// `accept`, a goodbye at 421, any other code a refusal. A reply that is
/// not numeric fails while reading (garbage).
#[derive(Debug, Clone, Copy)]
pub struct Numeric<'a> {
    /// The codes that mean "done as asked" for the command at hand.
    pub accept: &'a [u16],
}

impl Protocol for Numeric<'_> {
    type Reply = super::lines::Reply;

    async fn read<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        lines: &mut LineStream<S>,
        during: &str,
    ) -> Result<Self::Reply, Failure> {
        lines
            .read_reply(during)
            .await
            .map_err(|e| Failure::net(e, during))
    }

    fn verdict(&self, reply: &Self::Reply) -> Verdict {
        match reply.code {
            c if self.accept.contains(&c) => Verdict::Positive,
            421 => Verdict::Bye,
            _ => Verdict::Refused,
        }
    }

    fn line<'r>(&self, reply: &'r Self::Reply) -> &'r str {
        reply.first_line()
    }

    async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        lines: &mut LineStream<S>,
        _sent: &str,
        during: &str,
    ) -> Result<Vec<String>, Failure> {
        Ok(self.read(lines, during).await?.lines)
    }
}

/// Reads one line as a protocol step: a failure names what was awaited.
pub async fn read_line<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    during: &str,
) -> Result<String, Failure> {
    lines
        .read_line(during)
        .await
        .map_err(|e| Failure::net(e, during))
}

/// Writes `text` as is; a failure names what was being sent.
pub async fn send<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    text: &str,
    what: &str,
) -> Result<(), Failure> {
    let during = format!("sending {what}");
    lines
        .write_all(text.as_bytes(), &during)
        .await
        .map_err(|e| Failure::net(e, &during))
}

/// One step: sends `command` (framed by the protocol, CRLF added), reads
/// its reply and judges it. A refusal is [`Failure::Rejected`] naming
/// `name` (never the command, which may hold a password) with `verb`
/// ("rejected", "refused"); a goodbye [`Failure::Bye`]; anything else that
/// is not the protocol a garbage failure while waiting for the reply.
pub async fn step<S, P>(
    lines: &mut LineStream<S>,
    protocol: &mut P,
    command: &str,
    name: &str,
    verb: &'static str,
) -> Result<P::Reply, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin,
    P: Protocol,
{
    let mut framed = protocol.frame(command);
    framed.push_str("\r\n");
    send(lines, &framed, name).await?;
    let during = format!("waiting for the reply to {name}");
    let reply = protocol.read(lines, &during).await?;
    let shown = || printable(protocol.line(&reply).as_bytes(), SHOWN);
    match protocol.verdict(&reply) {
        Verdict::Positive => Ok(reply),
        Verdict::Refused => Err(Failure::Rejected {
            step: name.to_string(),
            verb,
            reply: shown(),
        }),
        Verdict::Bye => Err(Failure::Bye {
            step: name.to_string(),
            line: shown(),
        }),
        Verdict::NotProtocol => Err(Failure::net(NetError::Garbage { what: shown() }, &during)),
    }
}

/// C's `-s`: sends the text as a command line (CRLF added unless it ends
/// one), waits `-d` seconds within the deadline, and reads the answer the
/// protocol's way. `None` without `-s`.
pub async fn send_probe<S, P>(
    lines: &mut LineStream<S>,
    protocol: &mut P,
    probe: &ProbeArgs,
    deadline: &Deadline,
) -> Result<Option<Vec<String>>, Failure>
where
    S: AsyncRead + AsyncWrite + Unpin,
    P: Protocol,
{
    let Some(text) = probe.send_line() else {
        return Ok(None);
    };
    send(lines, &text, "the -s string").await?;
    if let Some(delay) = probe.delay {
        let pause = tokio::time::sleep(Duration::from_secs_f64(delay.max(0.0)));
        let _ = deadline.run(pause).await;
    }
    let answer = protocol
        .answer(lines, &text, "waiting for the answer to the -s string")
        .await?;
    Ok(Some(answer))
}

/// How the session was ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Goodbye {
    /// The protocol's goodbye was answered as it should be; the reply line.
    Said(String),
    /// The user's `-q` text was sent; as in C, no answer is awaited.
    Sent,
    /// The server had closed already after the user's own `-s` ended the
    /// session (`-s QUIT`), as C expects.
    NotNeeded,
    /// The goodbye failed; the check itself went through.
    Failed(Failure),
}

/// Ends the session: the user's `-q` text when given (not awaited, as in
/// C), else the protocol's own goodbye `command` as a [`step`]. A server
/// that closed after the user's `-s` (`answered`) needs no goodbye. The
/// write side is closed afterwards.
pub async fn goodbye<S, P>(
    lines: &mut LineStream<S>,
    protocol: &mut P,
    probe: &ProbeArgs,
    command: &str,
    answered: bool,
) -> Goodbye
where
    S: AsyncRead + AsyncWrite + Unpin,
    P: Protocol,
{
    let outcome = match probe.quit_text() {
        Some(text) => {
            // A server that already left does not make the check fail.
            let _ = send(lines, &text, "the -q string").await;
            Goodbye::Sent
        }
        None => match step(lines, protocol, command, command, "rejected").await {
            Ok(reply) => Goodbye::Said(protocol.line(&reply).to_string()),
            Err(f) if answered && f.is_closed() => Goodbye::NotNeeded,
            Err(f) => Goodbye::Failed(f),
        },
    };
    lines.shutdown().await;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::runtime::block_on;
    use crate::net::Deadline;
    use clap::Parser;
    use tokio_test::io::Builder;

    /// A toy protocol: `+` positive, `-` refused, `!` goodbye.
    struct Toy;

    impl Protocol for Toy {
        type Reply = String;

        async fn read<S: AsyncRead + AsyncWrite + Unpin>(
            &mut self,
            lines: &mut LineStream<S>,
            during: &str,
        ) -> Result<String, Failure> {
            read_line(lines, during).await
        }

        fn verdict(&self, reply: &String) -> Verdict {
            match reply.chars().next() {
                Some('+') => Verdict::Positive,
                Some('-') => Verdict::Refused,
                Some('!') => Verdict::Bye,
                _ => Verdict::NotProtocol,
            }
        }

        fn line<'r>(&self, reply: &'r String) -> &'r str {
            reply
        }

        async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
            &mut self,
            lines: &mut LineStream<S>,
            _sent: &str,
            during: &str,
        ) -> Result<Vec<String>, Failure> {
            Ok(vec![read_line(lines, during).await?])
        }
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

    fn stream<S: AsyncRead + AsyncWrite + Unpin>(s: S) -> LineStream<S> {
        LineStream::within(s, Duration::from_secs(5))
    }

    #[test]
    fn a_step_classifies_its_reply_into_the_one_failure() {
        block_on(async {
            let mock = Builder::new()
                .write(b"PASS secret-word\r\n")
                .read(b"+ fine\r\n")
                .write(b"STAT\r\n")
                .read(b"- no such thing\r\n")
                .write(b"LIST\r\n")
                .read(b"! going away\r\n")
                .write(b"NOOP\r\n")
                .read(b"\x01junk\r\n")
                .write(b"QUIT\r\n")
                .build();
            let mut s = stream(mock);
            let reply = step(&mut s, &mut Toy, "PASS secret-word", "PASS", "rejected").await;
            assert_eq!(reply.unwrap(), "+ fine");
            let f = step(&mut s, &mut Toy, "STAT", "STAT", "rejected")
                .await
                .unwrap_err();
            assert_eq!(f.message(false), "STAT rejected: - no such thing");
            let f = step(&mut s, &mut Toy, "LIST", "LIST", "refused")
                .await
                .unwrap_err();
            assert_eq!(
                f.message(false),
                "the server closed the connection during LIST: ! going away"
            );
            let f = step(&mut s, &mut Toy, "NOOP", "NOOP", "refused")
                .await
                .unwrap_err();
            assert_eq!(
                f.message(false),
                "invalid response from server: \\x01junk while waiting for the reply to NOOP"
            );
            let f = step(&mut s, &mut Toy, "QUIT", "QUIT", "rejected")
                .await
                .unwrap_err();
            assert_eq!(
                f.message(false),
                "connection closed by the server while waiting for the reply to QUIT"
            );
            assert!(f.is_closed());
            assert_eq!(s.transcript().lines()[0], "> PASS secret-word");
        })
        .unwrap();
    }

    #[test]
    fn numeric_replies() {
        block_on(async {
            let mock = Builder::new()
                .write(b"STARTTLS\r\n")
                .read(b"220 go ahead\r\n")
                .write(b"MAIL FROM:<a@b>\r\n")
                .read(b"550-no\r\n550 really not\r\n")
                .write(b"NOOP\r\n")
                .read(b"421 closing\r\n")
                .build();
            let mut s = stream(mock);
            let r = step(
                &mut s,
                &mut Numeric { accept: &[220] },
                "STARTTLS",
                "STARTTLS",
                "refused",
            )
            .await
            .unwrap();
            assert_eq!(r.code, 220);
            let f = step(
                &mut s,
                &mut Numeric { accept: &[250] },
                "MAIL FROM:<a@b>",
                "MAIL FROM",
                "rejected",
            )
            .await
            .unwrap_err();
            assert_eq!(f.message(false), "MAIL FROM rejected: 550-no");
            let f = step(
                &mut s,
                &mut Numeric { accept: &[250] },
                "NOOP",
                "NOOP",
                "rejected",
            )
            .await
            .unwrap_err();
            assert!(matches!(f, Failure::Bye { .. }));
        })
        .unwrap();
    }

    #[test]
    fn the_send_expect_exchange_of_c() {
        block_on(async {
            let deadline = Deadline::after(Duration::from_secs(5));
            // -s: CRLF added, the answer read the protocol's way.
            let mock = Builder::new()
                .write(b"CAPA\r\n")
                .read(b"+ caps\r\n")
                .write(b"bye now\r\n")
                .build();
            let mut s = stream(mock);
            let p = probe(&["-s", "CAPA", "-q", "bye now"]);
            let answer = send_probe(&mut s, &mut Toy, &p, &deadline).await.unwrap();
            assert_eq!(answer, Some(vec!["+ caps".to_string()]));
            // -q: sent, not awaited.
            let g = goodbye(&mut s, &mut Toy, &p, "QUIT", true).await;
            assert_eq!(g, Goodbye::Sent);

            // No -s: nothing sent; the protocol's goodbye is a step.
            let mock = Builder::new().write(b"QUIT\r\n").read(b"+ bye\r\n").build();
            let mut s = stream(mock);
            let p = probe(&[]);
            assert_eq!(send_probe(&mut s, &mut Toy, &p, &deadline).await, Ok(None));
            let g = goodbye(&mut s, &mut Toy, &p, "QUIT", false).await;
            assert_eq!(g, Goodbye::Said("+ bye".to_string()));

            // The user's -s ended the session: no goodbye needed.
            let mock = Builder::new().write(b"QUIT\r\n").build();
            let g = goodbye(&mut stream(mock), &mut Toy, &p, "QUIT", true).await;
            assert_eq!(g, Goodbye::NotNeeded);
            let mock = Builder::new().write(b"QUIT\r\n").build();
            let g = goodbye(&mut stream(mock), &mut Toy, &p, "QUIT", false).await;
            assert!(matches!(g, Goodbye::Failed(f) if f.is_closed()));
        })
        .unwrap();
    }
}
