//! The IMAP dialogue (RFC 3501): greeting, tagged commands (`a1`, `a2`, ...)
//! whose untagged lines are collected until the tagged completion, STARTTLS,
//! LOGIN, EXAMINE and LOGOUT. Written against any stream so every step is
//! tested on scripted bytes and runs unchanged over TLS; every read is
//! bounded by the [`LineStream`] limits and deadline.
//!
//! Commands carrying the password are never part of a message: errors name
//! the step (`LOGIN`), not the line sent.

pub use rsplugins::net::Failure;
use rsplugins::net::{printable, LineStream, NetError};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::quote::{self, Encoded};

/// How many characters of server text a message shows.
pub const SHOWN: usize = 200;

/// The largest literal read from a response (the total limit applies too).
const MAX_LITERAL: usize = 1024 * 1024;

/// Tags for the commands of one connection: `a1`, `a2`, ...
#[derive(Debug, Default)]
pub struct Tags(u32);

impl Tags {
    /// The next tag.
    pub fn next_tag(&mut self) -> String {
        self.0 += 1;
        format!("a{}", self.0)
    }
}

/// The status of a tagged completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    /// OK.
    Ok,
    /// NO: the command failed.
    No,
    /// BAD: the command was not understood or not allowed now.
    Bad,
}

/// A command's answer: the untagged lines and the tagged completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// Untagged (`*`) and continuation (`+`) lines, in order.
    pub untagged: Vec<String>,
    /// The completion's status.
    pub cond: Cond,
    /// The tagged line itself.
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

/// What reading an answer gave.
enum Answer {
    /// The tagged completion.
    Done(Completion),
    /// A continuation request (`+`), when asked to stop there.
    Continue,
}

async fn read_until<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    tag: &str,
    step: &str,
    stop_at_continuation: bool,
) -> Result<Answer, Failure> {
    let during = format!("waiting for the reply to {step}");
    let mut untagged: Vec<String> = Vec::new();
    loop {
        let line = match read_response(lines, &during).await {
            Ok(line) => line,
            Err(Failure::Net {
                error: NetError::Closed { .. },
                ..
            }) if untagged.iter().any(|l| is_bye(l)) => {
                let bye = untagged.iter().rev().find(|l| is_bye(l)).cloned();
                return Err(Failure::Bye {
                    step: step.to_string(),
                    line: printable(bye.unwrap_or_default().as_bytes(), SHOWN),
                });
            }
            Err(e) => return Err(e),
        };
        if let Some(rest) = tagged(&line, tag) {
            let cond = cond_word(rest).ok_or_else(|| {
                Failure::net(
                    NetError::Garbage {
                        what: printable(line.as_bytes(), SHOWN),
                    },
                    &during,
                )
            })?;
            return Ok(Answer::Done(Completion {
                untagged,
                cond,
                line,
            }));
        }
        if stop_at_continuation && line.starts_with('+') {
            return Ok(Answer::Continue);
        }
        if line.starts_with('*') || line.starts_with('+') || foreign_completion(&line) {
            untagged.push(line);
            continue;
        }
        return Err(Failure::net(
            NetError::Garbage {
                what: printable(line.as_bytes(), SHOWN),
            },
            &during,
        ));
    }
}

/// Whether an untagged line is `* BYE`.
pub fn is_bye(line: &str) -> bool {
    let mut words = line.split(' ');
    words.next() == Some("*") && words.next().is_some_and(|w| w.eq_ignore_ascii_case("BYE"))
}

/// Reads untagged lines up to the completion of `tag`.
pub async fn read_tagged<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    tag: &str,
    step: &str,
) -> Result<Completion, Failure> {
    match read_until(lines, tag, step, false).await? {
        Answer::Done(c) => Ok(c),
        // Not asked to stop there, so never returned; still no panic path.
        Answer::Continue => Err(Failure::Protocol {
            step: step.to_string(),
            what: "unexpected continuation request".to_string(),
        }),
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

/// Sends a tagged command and reads its answer. Literals wait for the
/// server's `+` unless `literal_plus` (the LITERAL+ capability) allows
/// sending them at once. `step` names the command in messages.
pub async fn command<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    tags: &mut Tags,
    pieces: &[Piece<'_>],
    step: &str,
    literal_plus: bool,
) -> Result<Completion, Failure> {
    let tag = tags.next_tag();
    let sending = format!("sending {step}");
    let mut buf: Vec<u8> = tag.clone().into_bytes();
    for piece in pieces {
        buf.push(b' ');
        match piece {
            Piece::Atom(atom) => buf.extend_from_slice(atom.as_bytes()),
            Piece::Text(text) => match quote::astring(text) {
                Encoded::Quoted(q) => buf.extend_from_slice(q.as_bytes()),
                Encoded::Literal(bytes) if literal_plus => {
                    buf.extend_from_slice(format!("{{{}+}}\r\n", bytes.len()).as_bytes());
                    buf.extend_from_slice(&bytes);
                }
                Encoded::Literal(bytes) => {
                    buf.extend_from_slice(format!("{{{}}}\r\n", bytes.len()).as_bytes());
                    lines
                        .write_all(&buf, &sending)
                        .await
                        .map_err(|e| Failure::net(e, &sending))?;
                    buf.clear();
                    if let Answer::Done(c) = read_until(lines, &tag, step, true).await? {
                        // Refused before the literal was sent.
                        return Ok(c);
                    }
                    buf.extend_from_slice(&bytes);
                }
            },
        }
    }
    buf.extend_from_slice(b"\r\n");
    lines
        .write_all(&buf, &sending)
        .await
        .map_err(|e| Failure::net(e, &sending))?;
    read_tagged(lines, &tag, step).await
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
    let reply = printable(line.as_bytes(), SHOWN);
    let mut words = line.split(' ');
    let star = words.next() == Some("*");
    let word = words.next().unwrap_or("");
    if star && word.eq_ignore_ascii_case("OK") {
        Ok(Greeting {
            line,
            preauth: false,
        })
    } else if star && word.eq_ignore_ascii_case("PREAUTH") {
        Ok(Greeting {
            line,
            preauth: true,
        })
    } else {
        Err(Failure::Greeting {
            reply,
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

fn rejected(step: &str, verb: &'static str, c: &Completion) -> Failure {
    Failure::Rejected {
        step: step.to_string(),
        verb,
        reply: printable(c.line.as_bytes(), SHOWN),
    }
}

/// CAPABILITY: the server's capabilities.
pub async fn capability<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    tags: &mut Tags,
) -> Result<Vec<String>, Failure> {
    let c = command(
        lines,
        tags,
        &[Piece::Atom("CAPABILITY")],
        "CAPABILITY",
        false,
    )
    .await?;
    if c.cond != Cond::Ok {
        return Err(rejected("CAPABILITY", "rejected", &c));
    }
    Ok(capabilities_in(&c.untagged))
}

/// STARTTLS; after its OK the caller starts the TLS handshake.
pub async fn starttls<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    tags: &mut Tags,
) -> Result<String, Failure> {
    let c = command(lines, tags, &[Piece::Atom("STARTTLS")], "STARTTLS", false).await?;
    if c.cond != Cond::Ok {
        return Err(rejected("STARTTLS", "refused", &c));
    }
    Ok(c.line)
}

/// LOGIN with the user and password as IMAP strings. Refused at once when
/// the server announces LOGINDISABLED.
pub async fn login<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    tags: &mut Tags,
    user: &str,
    password: &str,
    capabilities: &[String],
) -> Result<String, Failure> {
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
    let literal_plus = capabilities.iter().any(|c| c == "LITERAL+");
    let pieces = [
        Piece::Atom("LOGIN"),
        Piece::Text(user),
        Piece::Text(password),
    ];
    let c = command(lines, tags, &pieces, "LOGIN", literal_plus).await?;
    if c.cond != Cond::Ok {
        return Err(rejected("LOGIN", "rejected", &c));
    }
    Ok(c.line)
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
    tags: &mut Tags,
    mailbox: &str,
    literal_plus: bool,
) -> Result<(u64, String), Failure> {
    let step = format!("EXAMINE {mailbox}");
    let encoded = quote::mailbox_name(mailbox);
    let pieces = [Piece::Atom("EXAMINE"), Piece::Text(&encoded)];
    let c = command(lines, tags, &pieces, &step, literal_plus).await?;
    if c.cond != Cond::Ok {
        return Err(rejected(&step, "rejected", &c));
    }
    match exists_in(&c.untagged) {
        Some(n) => Ok((n, c.line)),
        None => Err(Failure::Protocol {
            step,
            what: "no EXISTS count in the reply".to_string(),
        }),
    }
}

/// LOGOUT, expecting `* BYE` and the tagged OK.
pub async fn logout<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    tags: &mut Tags,
) -> Result<String, Failure> {
    let c = match command(lines, tags, &[Piece::Atom("LOGOUT")], "LOGOUT", false).await {
        Ok(c) => c,
        Err(Failure::Bye { step, .. }) => {
            return Err(Failure::Protocol {
                step,
                what: "connection closed after * BYE without the tagged OK".to_string(),
            })
        }
        Err(e) => return Err(e),
    };
    if c.cond != Cond::Ok {
        return Err(rejected("LOGOUT", "rejected", &c));
    }
    if !c.untagged.iter().any(|l| is_bye(l)) {
        return Err(Failure::Protocol {
            step: "LOGOUT".to_string(),
            what: "no * BYE before the tagged OK".to_string(),
        });
    }
    Ok(c.line)
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

/// Reads the answer to a `-s` command: lines up to its tagged completion
/// (the first word of the command is its tag), a continuation request, or
/// an untagged BAD or BYE (the server could not read a tag).
pub async fn read_answer<S: AsyncRead + AsyncWrite + Unpin>(
    lines: &mut LineStream<S>,
    sent: &str,
) -> Result<Vec<String>, Failure> {
    let during = "waiting for the answer to the -s string";
    let tag = sent.split_ascii_whitespace().next().unwrap_or("");
    let mut answer = Vec::new();
    loop {
        let line = read_response(lines, during).await?;
        let mut words = line.split(' ');
        let first = words.next().unwrap_or("");
        let second = words.next().unwrap_or("");
        let done = (!tag.is_empty() && first == tag)
            || first.starts_with('+')
            || (first == "*"
                && (second.eq_ignore_ascii_case("BAD") || second.eq_ignore_ascii_case("BYE")))
            || tag.is_empty();
        answer.push(line);
        if done {
            return Ok(answer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsplugins::net::{Deadline, Limits};
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

    const DOVECOT: &[u8] = b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ STARTTLS AUTH=PLAIN AUTH=LOGIN] Dovecot (Debian) ready.\r\n";

    #[test]
    fn full_dialogue() {
        rt().block_on(async {
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
            let mut tags = Tags::default();
            let g = greeting(&mut s).await.unwrap();
            assert!(!g.preauth);
            assert_eq!(short_greeting(&g.line), "* OK Dovecot (Debian) ready.");
            let caps = capability(&mut s, &mut tags).await.unwrap();
            assert_eq!(caps, vec!["IMAP4REV1", "LITERAL+", "STARTTLS", "AUTH=PLAIN"]);
            starttls(&mut s, &mut tags).await.unwrap();
            login(&mut s, &mut tags, "monitor", "monpass", &caps)
                .await
                .unwrap();
            let (n, _) = examine(&mut s, &mut tags, "INBOX", true).await.unwrap();
            assert_eq!(n, 2);
            logout(&mut s, &mut tags).await.unwrap();
        });
    }

    #[test]
    fn greetings() {
        rt().block_on(async {
            let mock = Builder::new()
                .read(b"* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n")
                .build();
            assert!(greeting(&mut stream(mock)).await.unwrap().preauth);
            let mock = Builder::new().read(b"* ok lower case\r\n").build();
            assert!(greeting(&mut stream(mock)).await.is_ok());
            let mock = Builder::new()
                .read(b"* BYE too many connections\r\n")
                .build();
            let err = greeting(&mut stream(mock)).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "server not ready: * BYE too many connections"
            );
            assert_eq!(err.message(true), "server not ready (* BYE greeting)");
            let mock = Builder::new().read(b"+OK pop3 here\r\n").build();
            let err = greeting(&mut stream(mock)).await.unwrap_err();
            assert_eq!(err.message(false), "not an IMAP greeting: +OK pop3 here");
            let mock = Builder::new().read(b"\x00\x01\xffjunk\r\n").build();
            let err = greeting(&mut stream(mock)).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "not an IMAP greeting: \\x00\\x01\u{fffd}junk"
            );
            assert_eq!(short_greeting("* OK [ALERT] x"), "* OK [ALERT] x");
            assert_eq!(short_greeting("* OK [CAPABILITY IMAP4rev1]"), "* OK");
            assert_eq!(short_greeting("* OK"), "* OK");
        });
    }

    #[test]
    fn rejections_name_the_step_never_the_password() {
        rt().block_on(async {
            let caps: Vec<String> = vec![];
            let mock = Builder::new()
                .write(b"a1 LOGIN \"monitor\" \"s3cret\"\r\n")
                .read(b"a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
                .build();
            let err = login(
                &mut stream(mock),
                &mut Tags::default(),
                "monitor",
                "s3cret",
                &caps,
            )
            .await
            .unwrap_err();
            assert_eq!(
                err.message(false),
                "LOGIN rejected: a1 NO [AUTHENTICATIONFAILED] Authentication failed."
            );
            assert_eq!(err.message(true), "LOGIN rejected");
            let mock = Builder::new()
                .write(b"a1 STARTTLS\r\n")
                .read(b"a1 BAD TLS support isn't enabled.\r\n")
                .build();
            let err = starttls(&mut stream(mock), &mut Tags::default())
                .await
                .unwrap_err();
            assert_eq!(
                err.message(false),
                "STARTTLS refused: a1 BAD TLS support isn't enabled."
            );
            let caps = vec!["LOGINDISABLED".to_string()];
            let mock = Builder::new().build();
            let err = login(&mut stream(mock), &mut Tags::default(), "u", "p", &caps)
                .await
                .unwrap_err();
            assert!(err.message(false).contains("LOGINDISABLED"));
        });
    }

    #[test]
    fn quoting_and_literals_in_login() {
        rt().block_on(async {
            // A quote and a backslash travel quoted and escaped.
            let mock = Builder::new()
                .write(b"a1 LOGIN \"mon\\\"itor\" \"pa\\\\ss\"\r\n")
                .read(b"a1 OK\r\n")
                .build();
            login(
                &mut stream(mock),
                &mut Tags::default(),
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
            login(&mut stream(mock), &mut Tags::default(), "u", "pä", &[])
                .await
                .unwrap();
            // With LITERAL+ it is sent at once.
            let caps = vec!["LITERAL+".to_string()];
            let mock = Builder::new()
                .write("a1 LOGIN \"u\" {3+}\r\npä\r\n".as_bytes())
                .read(b"a1 OK\r\n")
                .build();
            login(&mut stream(mock), &mut Tags::default(), "u", "pä", &caps)
                .await
                .unwrap();
            // A server refusing the literal ends the command there.
            let mock = Builder::new()
                .write(b"a1 LOGIN \"u\" {3}\r\n")
                .read(b"a1 BAD no literals\r\n")
                .build();
            let err = login(&mut stream(mock), &mut Tags::default(), "u", "pä", &[])
                .await
                .unwrap_err();
            assert_eq!(err.message(false), "LOGIN rejected: a1 BAD no literals");
        });
    }

    #[test]
    fn literals_in_responses_are_read_through() {
        rt().block_on(async {
            let mock = Builder::new()
                .write(b"a1 CAPABILITY\r\n")
                .read(b"* LIST () \"/\" {5}\r\nab\r\nc\r\n* CAPABILITY IMAP4rev1\r\na1 OK done\r\n")
                .build();
            let caps = capability(&mut stream(mock), &mut Tags::default())
                .await
                .unwrap();
            assert_eq!(caps, vec!["IMAP4REV1"]);
            assert_eq!(literal_size("* 1 FETCH (BODY[] {42}"), Some(42));
            assert_eq!(literal_size("a1 OK {x}"), None);
            assert_eq!(literal_size("no literal"), None);
            let mock = Builder::new().read(b"* OK {99999999}\r\n").build();
            let err = greeting(&mut stream(mock)).await.unwrap_err();
            assert!(
                err.message(false).starts_with("server sent more than"),
                "{}",
                err.message(false)
            );
        });
    }

    #[test]
    fn bye_garbage_and_cut_replies() {
        rt().block_on(async {
            let mock = Builder::new()
                .write(b"a1 CAPABILITY\r\n")
                .read(b"* BYE Server shutting down.\r\n")
                .build();
            let err = capability(&mut stream(mock), &mut Tags::default()).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "the server closed the connection during CAPABILITY: * BYE Server shutting down."
            );
            let mock = Builder::new()
                .write(b"a1 CAPABILITY\r\n")
                .read(b"* CAPABILITY IMAP4rev1\r\na1 O")
                .build();
            let err = capability(&mut stream(mock), &mut Tags::default()).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "connection closed by the server after 'a1 O' while waiting for the reply to CAPABILITY"
            );
            let mock = Builder::new()
                .write(b"a1 CAPABILITY\r\n")
                .read(b"hello?\r\n")
                .build();
            let err = capability(&mut stream(mock), &mut Tags::default()).await.unwrap_err();
            assert_eq!(
                err.message(false),
                "invalid response from server: hello? while waiting for the reply to CAPABILITY"
            );
            let mock = Builder::new()
                .write(b"a1 CAPABILITY\r\n")
                .read(b"a1 MAYBE\r\n")
                .build();
            assert!(capability(&mut stream(mock), &mut Tags::default()).await.is_err());
        });
    }

    #[test]
    fn examine_and_logout_checks() {
        rt().block_on(async {
            let mock = Builder::new()
                .write(b"a1 EXAMINE \"Entw&APw-rfe\"\r\n")
                .read(b"a1 NO Mailbox doesn't exist: Entw&APw-rfe\r\n")
                .build();
            let err = examine(&mut stream(mock), &mut Tags::default(), "Entwürfe", false)
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
            let err = examine(&mut stream(mock), &mut Tags::default(), "INBOX", false)
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
            let err = logout(&mut stream(mock), &mut Tags::default())
                .await
                .unwrap_err();
            assert_eq!(err.message(false), "LOGOUT: no * BYE before the tagged OK");
            let mock = Builder::new()
                .write(b"a1 LOGOUT\r\n")
                .read(b"* BYE Logging out\r\n")
                .build();
            let err = logout(&mut stream(mock), &mut Tags::default())
                .await
                .unwrap_err();
            assert_eq!(
                err.message(false),
                "LOGOUT: connection closed after * BYE without the tagged OK"
            );
            assert_eq!(
                exists_in(&["* 3 EXISTS".into(), "* 4 exists".into()]),
                Some(4)
            );
            assert_eq!(exists_in(&["* 3 RECENT".into()]), None);
        });
    }

    #[test]
    fn custom_command_answers() {
        rt().block_on(async {
            let mock = Builder::new()
                .write(b"x1 NOOP\r\n")
                .read(b"* 2 EXISTS\r\nx1 OK NOOP completed.\r\n")
                .build();
            let mut s = stream(mock);
            send_raw(&mut s, "x1 NOOP\r\n").await.unwrap();
            assert_eq!(
                read_answer(&mut s, "x1 NOOP\r\n").await.unwrap(),
                vec!["* 2 EXISTS", "x1 OK NOOP completed."]
            );
            let mock = Builder::new()
                .write(b"\r\n")
                .read(b"* BAD Error in IMAP command received by server.\r\n")
                .build();
            let mut s = stream(mock);
            send_raw(&mut s, "\r\n").await.unwrap();
            assert_eq!(read_answer(&mut s, "\r\n").await.unwrap().len(), 1);
        });
    }

    #[test]
    fn stale_completions_of_other_tags_are_skipped() {
        rt().block_on(async {
            let mock = Builder::new()
                .write(b"a1 CAPABILITY\r\n")
                .read(b"x9 OK late\r\n* CAPABILITY IMAP4rev1\r\na1 OK\r\n")
                .build();
            assert!(capability(&mut stream(mock), &mut Tags::default())
                .await
                .is_ok());
        });
    }

    #[test]
    fn silence_times_out() {
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
        });
    }
}
