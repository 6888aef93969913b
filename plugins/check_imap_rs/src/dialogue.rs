//! The IMAP dialogue (RFC 3501): how its replies are read and judged
//! ([`Imap`], a [`Protocol`]: tagged commands `a1`, `a2`, ... whose untagged
//! lines are collected until the tagged completion) and its steps on the
//! library's [`step`]: greeting, CAPABILITY, STARTTLS, LOGIN, EXAMINE and
//! LOGOUT. Written against any stream so every step is tested on scripted
//! bytes and runs unchanged over TLS; every read is bounded by the
//! [`LineStream`] limits and deadline.
//!
//! Commands carrying the password are never part of a message: errors name
//! the step (`LOGIN`), not the line sent.

use std::collections::VecDeque;

use rsplugins::net::dialogue::{goodbye, send, step, Goodbye, Protocol, Verdict, SHOWN};
pub use rsplugins::net::Failure;
use rsplugins::net::{printable, LineStream, NetError, ProbeArgs};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::quote::{self, Encoded};

/// The largest literal read from a response (the total limit applies too).
const MAX_LITERAL: usize = 1024 * 1024;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    /// OK.
    Ok,
    /// NO: the command failed.
    No,
    /// BAD: the command was not understood or not allowed now.
    Bad,
    /// No completion: the server said `* BYE` and closed the connection.
    Bye,
}

/// A command's answer: the untagged lines and the tagged completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// Untagged (`*`) and continuation (`+`) lines, in order.
    pub untagged: Vec<String>,
    /// The completion's status.
    pub cond: Cond,
    /// The tagged line itself (the `* BYE` line for [`Cond::Bye`]).
    pub line: String,
}

/// The status word of a response line after its tag or `*`.
fn cond_word(rest: &str) -> Option<Cond> {
    let word = rest.split(' ').next().unwrap_or("");
    if word.eq_ignore_ascii_case("OK") {
        Some(Cond::Ok)
    } else if word.eq_ignore_ascii_case("NO") {
        Some(Cond::No)
    } else if word.eq_ignore_ascii_case("BAD") {
        Some(Cond::Bad)
    } else {
        None
    }
}

/// The size of the literal `{n}` a line ends with.
pub fn literal_size(line: &str) -> Option<usize> {
    let open = line.rfind('{')?;
    let inner = line[open + 1..].strip_suffix('}')?;
    if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    inner.parse().ok()
}

/// Reads one response line. A literal it ends with (`{n}`) is read too, its
/// bytes shown printably, and the line continues after it.
pub async fn read_response<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    during: &str,
) -> Result<String, Failure> {
    let read = |e| Failure::net(e, during);
    let mut line = lines.read_line(during).await.map_err(read)?;
    while let Some(size) = literal_size(&line) {
        if size > MAX_LITERAL {
            return Err(Failure::net(
                NetError::TooMuchData { limit: MAX_LITERAL },
                during,
            ));
        }
        let mut data = Vec::new();
        while data.len() < size {
            let chunk = lines
                .read_chunk(size - data.len(), during)
                .await
                .map_err(read)?;
            if chunk.is_empty() {
                return Err(Failure::net(
                    NetError::Closed {
                        partial: printable(&data, SHOWN),
                        during: String::new(),
                    },
                    during,
                ));
            }
            data.extend_from_slice(&chunk);
        }
        line.push_str(&printable(&data, SHOWN));
        let rest = lines.read_line(during).await.map_err(read)?;
        line.push_str(&rest);
    }
    Ok(line)
}

/// Whether `line` is the completion of `tag`; the text after the tag.
fn tagged<'a>(line: &'a str, tag: &str) -> Option<&'a str> {
    line.strip_prefix(tag)?.strip_prefix(' ')
}

/// A completion of some other command (the rest of a `-s` answer).
fn foreign_completion(line: &str) -> bool {
    match line.split_once(' ') {
        Some((tag, rest)) => {
            !tag.is_empty() && tag != "*" && tag != "+" && cond_word(rest).is_some()
        }
        None => false,
    }
}

/// Whether an untagged line is `* BYE`.
pub fn is_bye(line: &str) -> bool {
    let mut words = line.split(' ');
    words.next() == Some("*") && words.next().is_some_and(|w| w.eq_ignore_ascii_case("BYE"))
}

fn garbage(line: &str, during: &str) -> Failure {
    Failure::net(
        NetError::Garbage {
            what: printable(line.as_bytes(), SHOWN),
        },
        during,
    )
}

/// IMAP replies: the untagged lines up to the tagged completion of the
/// command just sent, its tag given by [`Protocol::frame`].
#[derive(Debug, Default)]
pub struct Imap {
    count: u32,
    tag: String,
    /// What the command still has to send, one piece at each continuation
    /// request (`+`): the data of a synchronizing literal and what follows.
    pending: VecDeque<String>,
    /// Whether the last answer said `* BYE` (LOGOUT requires it).
    said_bye: bool,
}

impl Protocol for Imap {
    type Reply = Completion;

    fn frame(&mut self, command: &str) -> String {
        self.count += 1;
        self.tag = format!("a{}", self.count);
        format!("{} {command}", self.tag)
    }

    async fn read<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        lines: &mut LineStream<S>,
        during: &str,
    ) -> Result<Completion, Failure> {
        let mut untagged: Vec<String> = Vec::new();
        loop {
            let line = match read_response(lines, during).await {
                Ok(line) => line,
                Err(Failure::Net {
                    error: NetError::Closed { .. },
                    ..
                }) if untagged.iter().any(|l| is_bye(l)) => {
                    let bye = untagged.iter().rev().find(|l| is_bye(l)).cloned();
                    self.said_bye = true;
                    return Ok(Completion {
                        untagged,
                        cond: Cond::Bye,
                        line: bye.unwrap_or_default(),
                    });
                }
                Err(e) => return Err(e),
            };
            if let Some(rest) = tagged(&line, &self.tag) {
                // Refused before a literal was sent: nothing more to send.
                self.pending.clear();
                let cond = cond_word(rest).ok_or_else(|| garbage(&line, during))?;
                self.said_bye = untagged.iter().any(|l| is_bye(l));
                return Ok(Completion {
                    untagged,
                    cond,
                    line,
                });
            }
            if line.starts_with('+') {
                if let Some(piece) = self.pending.pop_front() {
                    send(lines, &piece, "the literal").await?;
                    continue;
                }
            }
            if line.starts_with('*') || line.starts_with('+') || foreign_completion(&line) {
                untagged.push(line);
                continue;
            }
            return Err(garbage(&line, during));
        }
    }

    fn verdict(&self, reply: &Completion) -> Verdict {
        match reply.cond {
            Cond::Ok => Verdict::Positive,
            Cond::No | Cond::Bad => Verdict::Refused,
            Cond::Bye => Verdict::Bye,
        }
    }

    fn line<'r>(&self, reply: &'r Completion) -> &'r str {
        &reply.line
    }

    /// Lines up to the tagged completion of the `-s` command (the first
    /// word of the command is its tag), a continuation request, or an
    /// untagged BAD or BYE (the server could not read a tag).
    async fn answer<S: AsyncRead + AsyncWrite + Unpin>(
        &mut self,
        lines: &mut LineStream<S>,
        sent: &str,
        during: &str,
    ) -> Result<Vec<String>, Failure> {
        let tag = sent.split_ascii_whitespace().next().unwrap_or("");
        let mut answer = Vec::new();
        loop {
            let line = read_response(lines, during).await?;
            let mut words = line.split(' ');
            let first = words.next().unwrap_or("");
            let second = words.next().unwrap_or("");
            let done = tag.is_empty()
                || first == tag
                || first.starts_with('+')
                || (first == "*"
                    && (second.eq_ignore_ascii_case("BAD") || second.eq_ignore_ascii_case("BYE")));
            answer.push(line);
            if done {
                return Ok(answer);
            }
        }
    }
}

/// One argument of a command.
#[derive(Debug, Clone, Copy)]
pub enum Piece<'a> {
    /// Sent as is (command names, keywords).
    Atom(&'a str),
    /// A string: quoted, or a literal when it must be.
    Text(&'a str),
}

/// Runs a command as a [`step`] named `name`. A string that needs a
/// literal is sent at once when `literal_plus` (the LITERAL+ capability)
/// allows, else after the server's `+`.
pub async fn command<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    imap: &mut Imap,
    pieces: &[Piece<'_>],
    name: &str,
    verb: &'static str,
    literal_plus: bool,
) -> Result<Completion, Failure> {
    // The command up to its first synchronizing literal, then one part per
    // literal: its data and what follows, up to the next one.
    let mut parts = vec![String::new()];
    for (i, piece) in pieces.iter().enumerate() {
        let mut text = String::new();
        if i > 0 {
            text.push(' ');
        }
        let mut data = None;
        match piece {
            Piece::Atom(atom) => text.push_str(atom),
            Piece::Text(t) => match quote::astring(t) {
                Encoded::Quoted(q) => text.push_str(&q),
                Encoded::Literal(bytes) if literal_plus => {
                    text.push_str(&format!("{{{}+}}\r\n{t}", bytes.len()));
                }
                Encoded::Literal(bytes) => {
                    text.push_str(&format!("{{{}}}", bytes.len()));
                    data = Some(t.to_string());
                }
            },
        }
        if let Some(last) = parts.last_mut() {
            last.push_str(&text);
        }
        parts.extend(data);
    }
    let mut parts = parts.into_iter();
    let first = parts.next().unwrap_or_default();
    // step ends the first part with CRLF; each later one needs its own.
    imap.pending = parts.map(|p| p + "\r\n").collect();
    let reply = step(lines, imap, &first, name, verb).await;
    imap.pending.clear();
    reply
}

/// The greeting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Greeting {
    /// The line as received.
    pub line: String,
    /// `* PREAUTH`: already authenticated.
    pub preauth: bool,
}

/// Reads the greeting: `* OK` or `* PREAUTH`; `* BYE` and anything else fail.
pub async fn greeting<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
) -> Result<Greeting, Failure> {
    let line = read_response(lines, "waiting for the greeting").await?;
    let mut words = line.split(' ');
    let star = words.next() == Some("*");
    let word = words.next().unwrap_or("");
    if star && (word.eq_ignore_ascii_case("OK") || word.eq_ignore_ascii_case("PREAUTH")) {
        let preauth = word.eq_ignore_ascii_case("PREAUTH");
        Ok(Greeting { line, preauth })
    } else {
        Err(Failure::Greeting {
            reply: printable(line.as_bytes(), SHOWN),
            refused: star && word.eq_ignore_ascii_case("BYE"),
            expected: "an IMAP greeting",
            refusal: "* BYE",
        })
    }
}

/// The greeting without a leading `[CAPABILITY ...]` code, for the summary:
/// `* OK [CAPABILITY IMAP4rev1 ...] Dovecot ready.` becomes `* OK Dovecot ready.`.
pub fn short_greeting(line: &str) -> String {
    let mut words = line.splitn(3, ' ');
    let (Some(star), Some(cond), Some(rest)) = (words.next(), words.next(), words.next()) else {
        return line.to_string();
    };
    let is_capability = rest
        .get(..12)
        .is_some_and(|p| p.eq_ignore_ascii_case("[CAPABILITY "));
    match rest.find(']') {
        Some(end) if is_capability => {
            let text = rest[end + 1..].trim_start();
            format!("{star} {cond} {text}").trim_end().to_string()
        }
        _ => line.to_string(),
    }
}

/// The capabilities listed in `* CAPABILITY` lines, upper-cased.
pub fn capabilities_in(untagged: &[String]) -> Vec<String> {
    let mut caps = Vec::new();
    for line in untagged {
        let mut words = line.split_ascii_whitespace();
        if words.next() == Some("*")
            && words
                .next()
                .is_some_and(|w| w.eq_ignore_ascii_case("CAPABILITY"))
        {
            caps.extend(words.map(str::to_ascii_uppercase));
        }
    }
    caps
}

/// CAPABILITY: the server's capabilities.
pub async fn capability<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    imap: &mut Imap,
) -> Result<Vec<String>, Failure> {
    let c = step(lines, imap, "CAPABILITY", "CAPABILITY", "rejected").await?;
    Ok(capabilities_in(&c.untagged))
}

/// STARTTLS; after its OK the caller starts the TLS handshake.
pub async fn starttls<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    imap: &mut Imap,
) -> Result<(), Failure> {
    step(lines, imap, "STARTTLS", "STARTTLS", "refused").await?;
    Ok(())
}

/// LOGIN with the user and password as IMAP strings. Refused at once when
/// the server announces LOGINDISABLED.
pub async fn login<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    imap: &mut Imap,
    user: &str,
    password: &str,
    capabilities: &[String],
) -> Result<(), Failure> {
    if capabilities.iter().any(|c| c == "LOGINDISABLED") {
        return Err(Failure::Protocol {
            step: "LOGIN".to_string(),
            what: "the server does not allow LOGIN here (LOGINDISABLED; use TLS)".to_string(),
        });
    }
    // Should the server ever quote the command back, the escaped form is masked too.
    let escaped = quote::escape(password);
    if escaped != password {
        rsplugins::secret::register_form(&escaped);
    }
    // A literal with line breaks is recorded line by line: each line is masked.
    if password.contains(['\r', '\n']) {
        for line in password.split(['\r', '\n']) {
            rsplugins::secret::register_form(line);
        }
    }
    let literal_plus = capabilities.iter().any(|c| c == "LITERAL+");
    let pieces = [
        Piece::Atom("LOGIN"),
        Piece::Text(user),
        Piece::Text(password),
    ];
    command(lines, imap, &pieces, "LOGIN", "rejected", literal_plus).await?;
    Ok(())
}

/// The message count of `* N EXISTS` lines (the last one counts).
pub fn exists_in(untagged: &[String]) -> Option<u64> {
    untagged.iter().rev().find_map(|line| {
        let mut words = line.split_ascii_whitespace();
        if words.next() != Some("*") {
            return None;
        }
        let n = words.next()?.parse().ok()?;
        words
            .next()
            .filter(|w| w.eq_ignore_ascii_case("EXISTS"))
            .map(|_| n)
    })
}

/// EXAMINE (SELECT without changing anything): the number of messages.
pub async fn examine<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    imap: &mut Imap,
    mailbox: &str,
    literal_plus: bool,
) -> Result<u64, Failure> {
    let name = format!("EXAMINE {mailbox}");
    let encoded = quote::mailbox_name(mailbox);
    let pieces = [Piece::Atom("EXAMINE"), Piece::Text(&encoded)];
    let c = command(lines, imap, &pieces, &name, "rejected", literal_plus).await?;
    exists_in(&c.untagged).ok_or_else(|| Failure::Protocol {
        step: name,
        what: "no EXISTS count in the reply".to_string(),
    })
}

/// Ends the session: the user's `-q`, else LOGOUT, whose answer must hold
/// `* BYE` before the tagged OK (RFC 3501 6.1.3).
pub async fn logout<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    imap: &mut Imap,
    probe: &ProbeArgs,
    answered: bool,
) -> Goodbye {
    let said = goodbye(lines, imap, probe, "LOGOUT", answered).await;
    let broken = |what: &str| {
        Goodbye::Failed(Failure::Protocol {
            step: "LOGOUT".to_string(),
            what: what.to_string(),
        })
    };
    match said {
        Goodbye::Said(_) if !imap.said_bye => broken("no * BYE before the tagged OK"),
        Goodbye::Failed(Failure::Bye { .. }) => {
            broken("connection closed after * BYE without the tagged OK")
        }
        other => other,
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;
    use rsplugins::net::dialogue::send_probe;
    use rsplugins::net::runtime::block_on;
    use rsplugins::net::Deadline;
    use std::time::Duration;
    use tokio_test::io::Builder;

    /// C's `-s` and `-q` as check_imap_rs reads them.
    fn probe(args: &[&str]) -> ProbeArgs {
        let argv = ["check_imap_rs", "-H", "localhost"].iter().chain(args);
        crate::Args::try_parse_from(argv).unwrap().probe
    }

    /// A line stream over `script` that gives up after `seconds`.
    fn within<S: AsyncRead + AsyncWrite + Unpin>(seconds: f64, script: S) -> LineStream<S> {
        LineStream::within(script, Duration::from_secs_f64(seconds))
    }

    fn stream<S: AsyncRead + AsyncWrite + Unpin>(script: S) -> LineStream<S> {
        within(5.0, script)
    }

    async fn logout_of<S: AsyncRead + AsyncWrite + Unpin>(s: S) -> Goodbye {
        logout(&mut stream(s), &mut Imap::default(), &probe(&[]), false).await
    }

    const DOVECOT: &[u8] = b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN] Dovecot (Debian) ready.\r\n";

    #[test]
    fn full_dialogue() {
        block_on(async {
            let mock = Builder::new()
                .read(DOVECOT)
                .write(b"a1 CAPABILITY\r\n")
                .read(b"* CAPABILITY IMAP4rev1 LITERAL+ STARTTLS AUTH=PLAIN\r\na1 OK Pre-login capabilities listed, post-login capabilities have more.\r\n")
                .write(b"a2 STARTTLS\r\n")
                .read(b"a2 OK Begin TLS negotiation now.\r\n")
                .write(b"a3 LOGIN \"monitor\" \"monpass\"\r\n")
                .read(b"a3 OK [CAPABILITY IMAP4rev1] Logged in\r\n")
                .write(b"a4 EXAMINE \"INBOX\"\r\n")
                .read(b"* FLAGS (\\Answered \\Seen)\r\n* 2 EXISTS\r\n* 0 RECENT\r\n* OK [UIDVALIDITY 1] UIDs valid\r\na4 OK [READ-ONLY] Examine completed (0.001 + 0.000 secs).\r\n")
                .write(b"a5 LOGOUT\r\n")
                .read(b"* BYE Logging out\r\na5 OK Logout completed (0.001 + 0.000 secs).\r\n")
                .build();
            let mut s = stream(mock);
            let mut imap = Imap::default();
            let g = greeting(&mut s).await.unwrap();
            assert!(!g.preauth);
            assert_eq!(short_greeting(&g.line), "* OK Dovecot (Debian) ready.");
            let caps = capability(&mut s, &mut imap).await.unwrap();
            assert_eq!(caps, vec!["IMAP4REV1", "LITERAL+", "STARTTLS", "AUTH=PLAIN"]);
            starttls(&mut s, &mut imap).await.unwrap();
            login(&mut s, &mut imap, "monitor", "monpass", &caps)
                .await
                .unwrap();
            assert_eq!(examine(&mut s, &mut imap, "INBOX", true).await.unwrap(), 2);
            let g = logout(&mut s, &mut imap, &probe(&[]), false).await;
            assert_eq!(
                g,
                Goodbye::Said("a5 OK Logout completed (0.001 + 0.000 secs).".into())
            );
        })
        .unwrap();
    }

    #[test]
    fn greetings() {
        let greet = |bytes: &'static [u8]| {
            let script = Builder::new().read(bytes).build();
            block_on(async move { greeting(&mut stream(script)).await }).unwrap()
        };
        assert!(
            greet(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n")
                .unwrap()
                .preauth
        );
        assert!(!greet(b"* ok lower case\r\n").unwrap().preauth);
        // What each refusal says, with and without -j.
        let refusals: [(&[u8], &str, &str); 3] = [
            (
                b"* BYE too many connections\r\n",
                "server not ready: * BYE too many connections",
                "server not ready (* BYE greeting)",
            ),
            (
                b"+OK pop3 here\r\n",
                "not an IMAP greeting: +OK pop3 here",
                "not an IMAP greeting",
            ),
            (
                b"\x00\x01\xffjunk\r\n",
                "not an IMAP greeting: \\x00\\x01\u{fffd}junk",
                "not an IMAP greeting",
            ),
        ];
        for (bytes, told, jailed) in refusals {
            let err = greet(bytes).unwrap_err();
            assert_eq!(
                (err.message(false).as_str(), err.message(true).as_str()),
                (told, jailed)
            );
        }
        assert_eq!(short_greeting("* OK [ALERT] x"), "* OK [ALERT] x");
        assert_eq!(short_greeting("* OK [CAPABILITY IMAP4rev1]"), "* OK");
        assert_eq!(short_greeting("* OK"), "* OK");
    }

    #[test]
    fn rejections_name_the_step_never_the_password() {
        block_on(async {
            let caps: Vec<String> = vec![];
            let mock = Builder::new()
                .write(b"a1 LOGIN \"monitor\" \"s3cret\"\r\n")
                .read(b"a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
                .build();
            let err = login(
                &mut stream(mock),
                &mut Imap::default(),
                "monitor",
                "s3cret",
                &caps,
            )
            .await
            .unwrap_err();
            let told = "LOGIN rejected: a1 NO [AUTHENTICATIONFAILED] Authentication failed.";
            assert_eq!(
                (err.message(false).as_str(), err.message(true).as_str()),
                (told, "LOGIN rejected")
            );
            let mock = Builder::new()
                .write(b"a1 STARTTLS\r\n")
                .read(b"a1 BAD TLS support isn't enabled.\r\n")
                .build();
            let err = starttls(&mut stream(mock), &mut Imap::default())
                .await
                .unwrap_err();
            assert_eq!(
                err.message(false),
                "STARTTLS refused: a1 BAD TLS support isn't enabled."
            );
            let caps = vec!["LOGINDISABLED".to_string()];
            let mock = Builder::new().build();
            let err = login(&mut stream(mock), &mut Imap::default(), "u", "p", &caps)
                .await
                .unwrap_err();
            assert_eq!(
                err.message(false),
                "LOGIN: the server does not allow LOGIN here (LOGINDISABLED; use TLS)"
            );
        })
        .unwrap();
    }

    #[test]
    fn quoting_and_literals_in_login() {
        block_on(async {
            // A quote and a backslash travel quoted and escaped.
            let mock = Builder::new()
                .write(b"a1 LOGIN \"mon\\\"itor\" \"pa\\\\ss\"\r\n")
                .read(b"a1 OK\r\n")
                .build();
            login(
                &mut stream(mock),
                &mut Imap::default(),
                "mon\"itor",
                "pa\\ss",
                &[],
            )
            .await
            .unwrap();
            // 8-bit text goes as a synchronizing literal: wait for '+'.
            let mock = Builder::new()
                .write(b"a1 LOGIN \"u\" {3}\r\n")
                .read(b"+ OK\r\n")
                .write("pä\r\n".as_bytes())
                .read(b"a1 OK\r\n")
                .build();
            login(&mut stream(mock), &mut Imap::default(), "u", "pä", &[])
                .await
                .unwrap();
            // Two of them: each after its own '+'.
            let mock = Builder::new()
                .write(b"a1 LOGIN {2}\r\n")
                .read(b"+ OK\r\n")
                .write("ü {3}\r\n".as_bytes())
                .read(b"+ OK\r\n")
                .write("pä\r\n".as_bytes())
                .read(b"a1 OK\r\n")
                .build();
            login(&mut stream(mock), &mut Imap::default(), "ü", "pä", &[])
                .await
                .unwrap();
            // With LITERAL+ it is sent at once.
            let caps = vec!["LITERAL+".to_string()];
            let mock = Builder::new()
                .write("a1 LOGIN \"u\" {3+}\r\npä\r\n".as_bytes())
                .read(b"a1 OK\r\n")
                .build();
            login(&mut stream(mock), &mut Imap::default(), "u", "pä", &caps)
                .await
                .unwrap();
            // A server refusing the literal ends the command there.
            let mock = Builder::new()
                .write(b"a1 LOGIN \"u\" {3}\r\n")
                .read(b"a1 BAD no literals\r\n")
                .build();
            let err = login(&mut stream(mock), &mut Imap::default(), "u", "pä", &[])
                .await
                .unwrap_err();
            assert_eq!(err.message(false), "LOGIN rejected: a1 BAD no literals");
        })
        .unwrap();
    }

    #[test]
    fn a_password_with_line_breaks_is_masked_in_the_transcript() {
        block_on(async {
            let mock = Builder::new()
                .write(b"a1 LOGIN \"u\" {13}\r\n")
                .read(b"+ OK\r\n")
                .write(b"pw-line-1\r\nxy\r\n")
                .read(b"a1 OK\r\n")
                .build();
            let mut s = stream(mock);
            login(&mut s, &mut Imap::default(), "u", "pw-line-1\r\nxy", &[])
                .await
                .unwrap();
            let text = s.transcript().lines().join("\n");
            assert!(!text.contains("pw-line-1"), "{text}");
            assert!(!text.contains("xy"), "{text}");
        })
        .unwrap();
    }

    #[test]
    fn literals_in_responses_are_read_through() {
        block_on(async {
            let mock = Builder::new()
                .write(b"a1 CAPABILITY\r\n")
                .read(b"* LIST () \"/\" {5}\r\nab\r\nc\r\n* CAPABILITY IMAP4rev1\r\na1 OK done\r\n")
                .build();
            let caps = capability(&mut stream(mock), &mut Imap::default())
                .await
                .unwrap();
            assert_eq!(caps, vec!["IMAP4REV1"]);
            assert_eq!(literal_size("* 1 FETCH (BODY[] {42}"), Some(42));
            assert_eq!(literal_size("a1 OK {x}"), None);
            assert_eq!(literal_size("no literal"), None);
            let mock = Builder::new().read(b"* OK {99999999}\r\n").build();
            let err = greeting(&mut stream(mock)).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "server sent more than 1048576 bytes while waiting for the greeting"
            );
        })
        .unwrap();
    }

    #[test]
    fn bye_garbage_and_cut_replies() {
        block_on(async {
            let mock = Builder::new()
                .write(b"a1 CAPABILITY\r\n")
                .read(b"* BYE Server shutting down.\r\n")
                .build();
            let err = capability(&mut stream(mock), &mut Imap::default()).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "the server closed the connection during CAPABILITY: * BYE Server shutting down."
            );
            let mock = Builder::new()
                .write(b"a1 CAPABILITY\r\n")
                .read(b"* CAPABILITY IMAP4rev1\r\na1 O")
                .build();
            let err = capability(&mut stream(mock), &mut Imap::default()).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "connection closed by the server after 'a1 O' while waiting for the reply to CAPABILITY"
            );
            let mock = Builder::new()
                .write(b"a1 CAPABILITY\r\n")
                .read(b"hello?\r\n")
                .build();
            let err = capability(&mut stream(mock), &mut Imap::default()).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "invalid response from server: hello? while waiting for the reply to CAPABILITY"
            );
            let mock = Builder::new()
                .write(b"a1 CAPABILITY\r\n")
                .read(b"a1 MAYBE\r\n")
                .build();
            let err = capability(&mut stream(mock), &mut Imap::default()).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "invalid response from server: a1 MAYBE while waiting for the reply to CAPABILITY"
            );
        })
        .unwrap();
    }

    #[test]
    fn examine_and_logout_checks() {
        block_on(async {
            let mock = Builder::new()
                .write(b"a1 EXAMINE \"Entw&APw-rfe\"\r\n")
                .read(b"a1 NO Mailbox doesn't exist: Entw&APw-rfe\r\n")
                .build();
            let err = examine(&mut stream(mock), &mut Imap::default(), "Entwürfe", false)
                .await
                .unwrap_err();
            assert_eq!(
                err.message(false),
                "EXAMINE Entwürfe rejected: a1 NO Mailbox doesn't exist: Entw&APw-rfe"
            );
            let mock = Builder::new()
                .write(b"a1 EXAMINE \"INBOX\"\r\n")
                .read(b"a1 OK done\r\n")
                .build();
            let err = examine(&mut stream(mock), &mut Imap::default(), "INBOX", false)
                .await
                .unwrap_err();
            assert_eq!(
                err.message(false),
                "EXAMINE INBOX: no EXISTS count in the reply"
            );
            let mock = Builder::new()
                .write(b"a1 LOGOUT\r\n")
                .read(b"a1 OK bye\r\n")
                .build();
            let Goodbye::Failed(err) = logout_of(mock).await else {
                panic!("a LOGOUT without * BYE passed");
            };
            assert_eq!(err.message(false), "LOGOUT: no * BYE before the tagged OK");
            let mock = Builder::new()
                .write(b"a1 LOGOUT\r\n")
                .read(b"* BYE Logging out\r\n")
                .build();
            let Goodbye::Failed(err) = logout_of(mock).await else {
                panic!("a LOGOUT without the tagged OK passed");
            };
            assert_eq!(
                err.message(false),
                "LOGOUT: connection closed after * BYE without the tagged OK"
            );
            let mock = Builder::new()
                .write(b"a1 LOGOUT\r\n")
                .read(b"a1 NO not now\r\n")
                .build();
            let Goodbye::Failed(err) = logout_of(mock).await else {
                panic!("a refused LOGOUT passed");
            };
            assert_eq!(err.message(false), "LOGOUT rejected: a1 NO not now");
            // -q: sent as given, not awaited.
            let mock = Builder::new().write(b"z9 LOGOUT\r\n").build();
            let p = probe(&["-q", "z9 LOGOUT"]);
            let g = logout(&mut stream(mock), &mut Imap::default(), &p, false).await;
            assert_eq!(g, Goodbye::Sent);
            assert_eq!(
                exists_in(&["* 3 EXISTS".into(), "* 4 exists".into()]),
                Some(4)
            );
            assert_eq!(exists_in(&["* 3 RECENT".into()]), None);
        })
        .unwrap();
    }

    #[test]
    fn custom_command_answers() {
        block_on(async {
            let deadline = Deadline::after(Duration::from_secs(5));
            let mock = Builder::new()
                .write(b"x1 NOOP\r\n")
                .read(b"* 2 EXISTS\r\nx1 OK NOOP completed.\r\n")
                .build();
            let p = probe(&["-s", "x1 NOOP"]);
            let answer = send_probe(&mut stream(mock), &mut Imap::default(), &p, &deadline)
                .await
                .unwrap();
            assert_eq!(answer.unwrap(), vec!["* 2 EXISTS", "x1 OK NOOP completed."]);
            let mock = Builder::new()
                .write(b"\r\n")
                .read(b"* BAD Error in IMAP command received by server.\r\n")
                .build();
            let p = probe(&["-s", "\\r\\n", "-E"]);
            let answer = send_probe(&mut stream(mock), &mut Imap::default(), &p, &deadline)
                .await
                .unwrap();
            assert_eq!(answer.map(|a| a.len()), Some(1));
            // The user's LOGOUT ended the session: ours is not needed.
            let mock = Builder::new()
                .write(b"x1 LOGOUT\r\n")
                .read(b"* BYE Logging out\r\n")
                .write(b"a1 LOGOUT\r\n")
                .read(b"x1 OK Logout completed.\r\n")
                .build();
            let mut s = stream(mock);
            let mut imap = Imap::default();
            let p = probe(&["-s", "x1 LOGOUT"]);
            let answer = send_probe(&mut s, &mut imap, &p, &deadline).await.unwrap();
            assert_eq!(answer.unwrap(), ["* BYE Logging out"]);
            let g = logout(&mut s, &mut imap, &p, true).await;
            assert_eq!(g, Goodbye::NotNeeded);
        })
        .unwrap();
    }

    #[test]
    fn stale_completions_of_other_tags_are_skipped() {
        block_on(async {
            let mock = Builder::new()
                .write(b"a1 CAPABILITY\r\n")
                .read(b"x9 OK late\r\n* CAPABILITY IMAP4rev1\r\na1 OK\r\n")
                .build();
            assert_eq!(
                capability(&mut stream(mock), &mut Imap::default())
                    .await
                    .unwrap(),
                ["IMAP4REV1"]
            );
        })
        .unwrap();
    }

    #[test]
    fn silence_names_the_command_awaited() {
        block_on(async {
            use tokio::io::AsyncWriteExt;
            // The peer takes the command and never completes it.
            let (mut peer, script) = tokio::io::duplex(256);
            peer.write_all(b"* CAPABILITY IMAP4rev1\r\n").await.unwrap();
            let reply = capability(&mut within(0.1, script), &mut Imap::default()).await;
            let err = reply.unwrap_err();
            assert_eq!(
                err.message(false),
                "timed out after 0.1 seconds waiting for the reply to CAPABILITY"
            );
            assert!(err.is_timeout());
        })
        .unwrap();
    }
}
