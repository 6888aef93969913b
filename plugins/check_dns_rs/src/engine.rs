//! The query engine both binaries share: one question to one server over
//! UDP (again over TCP when the reply is truncated) or TCP, with the
//! library's deadline, returning the reply as plain facts.
//!
//! Only a reply to our question counts: a datagram with another ID, another
//! question, or that is no reply at all is noted and ignored, and the wait
//! goes on within `-t` (a stray or spoofed packet never becomes the
//! answer). A reply with our ID and question that does not decode (garbage,
//! a compression-pointer loop) ends the check at once.

use std::future::Future;
use std::hash::BuildHasher;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use hickory_proto::op::{Edns, Header, Message, MessageType, OpCode, Query};
use hickory_proto::rr::{DNSClass, Name, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder};
use rsplugins::net::datagram::{self, Datagrams, Resend};
use rsplugins::net::{AddressFamily, Deadline, Failure, NetError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::records::{name_text, type_name, Rr};
use crate::server::Server;

/// The UDP payload we announce with EDNS (the DNS flag day 2020 size: no
/// IP fragmentation on any path).
pub const EDNS_PAYLOAD: u16 = 1232;

/// Most messages read on one TCP connection while waiting for ours.
const MAX_TCP_MESSAGES: usize = 8;

/// Most records `-v` lists of one section (a hostile reply may carry
/// thousands).
pub const MAX_RECORD_LINES: usize = 100;

/// Most ignored datagrams described for `-v` (a flood is counted, not listed).
const MAX_NOTES: usize = 20;

/// What to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Question {
    /// The name, absolute.
    pub name: Name,
    /// The type.
    pub rtype: RecordType,
}

impl Question {
    /// A question for `name` (made absolute: no search domains, the name
    /// is asked as given) of type `rtype`.
    pub fn new(name: &str, rtype: RecordType) -> Result<Question, String> {
        let trimmed = name.trim();
        let mut parsed = Name::from_utf8(trimmed)
            .ok()
            .filter(|_| !trimmed.is_empty() && !trimmed.contains(char::is_whitespace))
            .ok_or_else(|| format!("'{name}' is not a valid domain name"))?;
        parsed.set_fqdn(true);
        Ok(Question {
            name: parsed,
            rtype,
        })
    }

    /// The PTR question for an address (`10.2.0.192.in-addr.arpa.`).
    pub fn reverse(addr: std::net::IpAddr) -> Question {
        Question {
            name: Name::from(addr),
            rtype: RecordType::PTR,
        }
    }

    /// The name as records show it: `www.example.test.`.
    pub fn name_text(&self) -> String {
        name_text(&self.name)
    }

    /// The type as shown: `A`, `TYPE65534`.
    pub fn type_text(&self) -> String {
        type_name(self.rtype)
    }
}

/// How to ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Ask the server to recurse (RD, on by default as in dig and nslookup).
    pub recursion: bool,
    /// Ask for DNSSEC records (EDNS DO).
    pub dnssec: bool,
    /// TCP from the start.
    pub tcp: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            recursion: true,
            dnssec: false,
            tcp: false,
        }
    }
}

/// How the reply came.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Transport {
    /// One UDP exchange.
    #[default]
    Udp,
    /// TCP, as asked.
    Tcp,
    /// UDP, truncated, then again over TCP.
    TruncatedThenTcp,
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transport::Udp => "UDP",
            Transport::Tcp => "TCP",
            Transport::TruncatedThenTcp => "UDP (truncated), then TCP",
        })
    }
}

/// The header flags of a reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Flags {
    /// Authoritative answer.
    pub aa: bool,
    /// Truncated.
    pub tc: bool,
    /// Recursion desired (echoed).
    pub rd: bool,
    /// Recursion available.
    pub ra: bool,
    /// Authentic data (DNSSEC validated).
    pub ad: bool,
    /// Checking disabled (echoed).
    pub cd: bool,
}

/// The flags dig names, in dig's order.
pub const FLAG_NAMES: [&str; 7] = ["qr", "aa", "tc", "rd", "ra", "ad", "cd"];

impl Flags {
    /// Whether the flag named `name` (one of [`FLAG_NAMES`]) is set; `qr`
    /// always is in a reply.
    pub fn has(&self, name: &str) -> bool {
        match name {
            "qr" => true,
            "aa" => self.aa,
            "tc" => self.tc,
            "rd" => self.rd,
            "ra" => self.ra,
            "ad" => self.ad,
            "cd" => self.cd,
            _ => false,
        }
    }

    /// The set flags as dig lists them: `qr aa rd`.
    pub fn text(&self) -> String {
        FLAG_NAMES
            .iter()
            .filter(|f| self.has(f))
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A response code by its name (`NOERROR`, `NXDOMAIN`, ...).
pub fn rcode_name(rcode: u16) -> String {
    match rcode {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        6 => "YXDOMAIN".into(),
        7 => "YXRRSET".into(),
        8 => "NXRRSET".into(),
        9 => "NOTAUTH".into(),
        10 => "NOTZONE".into(),
        16 => "BADVERS".into(),
        23 => "BADCOOKIE".into(),
        other => format!("RCODE{other}"),
    }
}

/// NOERROR.
pub const NOERROR: u16 = 0;
/// NXDOMAIN: the name does not exist.
pub const NXDOMAIN: u16 = 3;

/// A reply, as plain facts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reply {
    /// The response code (with the EDNS extension).
    pub rcode: u16,
    /// Header flags.
    pub flags: Flags,
    /// The answer section.
    pub answers: Vec<Rr>,
    /// The authority section.
    pub authorities: Vec<Rr>,
    /// The additional section, without the EDNS pseudo-record.
    pub additionals: Vec<Rr>,
}

impl Reply {
    /// From a decoded message.
    pub fn from_message(message: &Message) -> Reply {
        let m = &message.metadata;
        let rrs = |records: &[hickory_proto::rr::Record]| -> Vec<Rr> {
            records.iter().map(Rr::from_record).collect()
        };
        Reply {
            rcode: u16::from(m.response_code),
            flags: Flags {
                aa: m.authoritative,
                tc: m.truncation,
                rd: m.recursion_desired,
                ra: m.recursion_available,
                ad: m.authentic_data,
                cd: m.checking_disabled,
            },
            answers: rrs(&message.answers),
            authorities: rrs(&message.authorities),
            additionals: rrs(&message.additionals),
        }
    }

    /// The response code's name.
    pub fn rcode_name(&self) -> String {
        rcode_name(self.rcode)
    }
}

/// One question asked and answered: plain facts, judged by the binaries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Exchange {
    /// The name asked, absolute: `www.example.test.`.
    pub name: String,
    /// The type asked: `A`.
    pub rtype: String,
    /// The server as the user named it (`127.0.0.1`, `[::1]:5300`).
    pub server: String,
    /// The address asked: `127.0.0.1 port 53`.
    pub target: String,
    /// How the reply came.
    pub transport: Transport,
    /// From the question sent to the reply accepted (a TCP retry included).
    pub elapsed: Duration,
    /// The reply.
    pub reply: Reply,
    /// Messages that arrived but were not the reply, described.
    pub ignored: Vec<String>,
    /// The server refused EDNS (FORMERR) and was asked again without it.
    pub without_edns: bool,
}

impl Exchange {
    /// The exchange as data for `--output-format json`: the same facts as
    /// [`Exchange::details`], every record with its fields, none cut short.
    pub fn data(&self) -> serde_json::Value {
        let reply = &self.reply;
        let records = |rrs: &[Rr]| rrs.iter().map(Rr::data).collect::<Vec<_>>();
        serde_json::json!({
            "name": self.name,
            "type": self.rtype,
            "server": self.server,
            "target": self.target,
            "transport": self.transport.to_string(),
            "rcode": reply.rcode_name(),
            "flags": reply.flags.text(),
            "seconds": self.elapsed.as_secs_f64(),
            "answer": records(&reply.answers),
            "authority": records(&reply.authorities),
            "additional": records(&reply.additionals),
            "ignored": self.ignored,
            "without_edns": self.without_edns,
        })
    }

    /// What `-v` shows of the exchange: how it went, then every record.
    pub fn details(&self) -> Vec<String> {
        let reply = &self.reply;
        let mut lines = vec![format!(
            "{} {} asked of {} over {}: {}, flags {}, {} answer{}, {} authority, {} additional, {:.6} s",
            self.name,
            self.rtype,
            self.target,
            self.transport,
            reply.rcode_name(),
            reply.flags.text(),
            reply.answers.len(),
            if reply.answers.len() == 1 { "" } else { "s" },
            reply.authorities.len(),
            reply.additionals.len(),
            self.elapsed.as_secs_f64()
        )];
        if self.without_edns {
            lines.push("  the server refused EDNS: asked again without it".to_string());
        }
        for note in &self.ignored {
            lines.push(format!("  ignored: {note}"));
        }
        let sections = [
            ("ANSWER", &reply.answers),
            ("AUTHORITY", &reply.authorities),
            ("ADDITIONAL", &reply.additionals),
        ];
        for (section, records) in sections {
            for rr in records.iter().take(MAX_RECORD_LINES) {
                lines.push(format!("  {section}: {}", rr.line()));
            }
            if records.len() > MAX_RECORD_LINES {
                lines.push(format!(
                    "  {section}: ... {} more records not listed",
                    records.len() - MAX_RECORD_LINES
                ));
            }
        }
        lines
    }
}

/// What one received message is, to a query.
#[derive(Debug)]
enum Verdict {
    /// The reply to our question.
    Answer(Box<Message>),
    /// The reply to our question, truncated (UDP).
    Truncated,
    /// Our ID and question (or no question), but not a valid message.
    Malformed(String),
    /// Not the reply: why, for `-v`.
    Stray(String),
}

/// What was sent, to recognise the reply by.
#[derive(Debug, Clone)]
struct Sent {
    id: u16,
    name: Name,
    rtype: RecordType,
}

/// Judges one message against the query: ID, QR, opcode and question must
/// match; only then is the rest decoded.
fn judge(sent: &Sent, bytes: &[u8], udp: bool) -> Verdict {
    let mut decoder = BinDecoder::new(bytes);
    let Ok(header) = Header::read(&mut decoder) else {
        return Verdict::Stray(format!(
            "a message of {} bytes, too short for a DNS header",
            bytes.len()
        ));
    };
    let meta = header.metadata;
    if meta.id != sent.id {
        return Verdict::Stray(format!(
            "a message with ID {}, not {} (a stray or spoofed reply)",
            meta.id, sent.id
        ));
    }
    if meta.message_type != MessageType::Response || meta.op_code != OpCode::Query {
        return Verdict::Stray("a message with our ID that is not a reply to a query".to_string());
    }
    if header.counts.queries == 0 {
        // Servers may leave the question out of an error reply (FORMERR,
        // NOTIMP); a "success" without it answers nothing we can check.
        if u16::from(meta.response_code) == NOERROR {
            return Verdict::Stray("a reply with our ID but no question".to_string());
        }
    } else {
        match Query::read(&mut decoder) {
            Ok(q) => {
                if q.name != sent.name
                    || q.query_type != sent.rtype
                    || q.query_class != DNSClass::IN
                {
                    return Verdict::Stray(format!(
                        "a reply to another question ({} {} {})",
                        name_text(&q.name),
                        q.query_class,
                        type_name(q.query_type)
                    ));
                }
            }
            Err(e) => return Verdict::Malformed(format!("its question does not decode: {e}")),
        }
    }
    if udp && meta.truncation {
        // The rest may be cut anywhere: not worth decoding.
        return Verdict::Truncated;
    }
    match Message::from_vec(bytes) {
        Ok(message) => Verdict::Answer(Box::new(message)),
        Err(e) => Verdict::Malformed(e.to_string()),
    }
}

/// A query ID nobody off the path can guess: std's per-process random
/// hasher keys (seeded by the OS), so no RNG crate is linked for it.
fn random_id() -> u16 {
    let hash = std::collections::hash_map::RandomState::new().hash_one(Instant::now());
    (hash ^ (hash >> 16) ^ (hash >> 32) ^ (hash >> 48)) as u16
}

fn encode(sent: &Sent, options: Options, edns: bool) -> Result<Vec<u8>, Failure> {
    let mut message = Message::new(sent.id, MessageType::Query, OpCode::Query);
    message.metadata.recursion_desired = options.recursion;
    message.add_query(Query::query(sent.name.clone(), sent.rtype));
    if edns {
        let mut e = Edns::new();
        e.set_max_payload(EDNS_PAYLOAD);
        e.set_dnssec_ok(options.dnssec);
        message.set_edns(e);
    }
    message.to_vec().map_err(|e| Failure::Protocol {
        step: "the question".to_string(),
        what: format!("cannot be encoded: {e}"),
    })
}

/// Asks `server` (resolved within the deadline, of `family`) `question`.
pub async fn ask(
    server: &Server,
    family: AddressFamily,
    question: &Question,
    options: Options,
    deadline: &Deadline,
) -> Result<Exchange, Failure> {
    let started = Instant::now();
    let addr = datagram::resolve(&server.host, server.port, family, deadline)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| NetError::NoAddress {
            host: server.host.clone(),
            family: "IP",
        })?;
    ask_at(addr, server, question, options, deadline, started).await
}

async fn ask_at(
    addr: SocketAddr,
    server: &Server,
    question: &Question,
    options: Options,
    deadline: &Deadline,
    started: Instant,
) -> Result<Exchange, Failure> {
    let mut exchange = Exchange {
        name: question.name_text(),
        rtype: question.type_text(),
        server: server.to_string(),
        target: rsplugins::net::connect::describe(&addr),
        ..Exchange::default()
    };
    let sent = Sent {
        id: random_id(),
        name: question.name.clone(),
        rtype: question.rtype,
    };
    let mut edns = true;
    let message = loop {
        let request = encode(&sent, options, edns)?;
        let (message, transport) = if options.tcp {
            let m = tcp_exchange(addr, &request, &sent, &exchange, false, deadline).await?;
            (m, Transport::Tcp)
        } else {
            match udp_exchange(addr, &request, &sent, &mut exchange, deadline).await? {
                Some(m) => (m, Transport::Udp),
                None => {
                    let m = tcp_exchange(addr, &request, &sent, &exchange, true, deadline).await?;
                    (m, Transport::TruncatedThenTcp)
                }
            }
        };
        exchange.transport = transport;
        // An old server that does not know EDNS answers FORMERR without
        // an OPT record: ask once more as a plain RFC 1035 client.
        let formerr = u16::from(message.metadata.response_code) == 1;
        if edns && formerr && message.edns.is_none() {
            edns = false;
            exchange.without_edns = true;
            continue;
        }
        break message;
    };
    exchange.elapsed = started.elapsed();
    exchange.reply = Reply::from_message(&message);
    Ok(exchange)
}

fn note(notes: &mut Vec<String>, why: String) {
    match notes.len() {
        n if n < MAX_NOTES => notes.push(why),
        MAX_NOTES => notes.push("more messages, not listed".to_string()),
        _ => {}
    }
}

fn malformed(target: &str, why: String) -> Failure {
    Failure::Protocol {
        step: format!("the reply from {target}"),
        what: format!("not a valid DNS message ({why})"),
    }
}

/// One UDP exchange: the reply, or `None` when it came truncated.
async fn udp_exchange(
    addr: SocketAddr,
    request: &[u8],
    sent: &Sent,
    exchange: &mut Exchange,
    deadline: &Deadline,
) -> Result<Option<Message>, Failure> {
    let socket = Datagrams::open(addr).await?;
    let waiting = format!(
        "waiting for the reply to {} {} from {}",
        exchange.name, exchange.rtype, exchange.target
    );
    let notes = &mut exchange.ignored;
    let verdict = socket
        .exchange(
            request,
            Some(Resend::default()),
            deadline,
            &waiting,
            |datagram| match judge(sent, datagram, true) {
                Verdict::Stray(why) => {
                    note(notes, why);
                    None
                }
                other => Some(other),
            },
        )
        .await
        .map_err(|e| {
            Failure::net(
                e,
                &format!("asking {} {} over UDP", exchange.name, exchange.rtype),
            )
        })?;
    match verdict {
        Verdict::Answer(m) => Ok(Some(*m)),
        Verdict::Truncated => Ok(None),
        Verdict::Malformed(why) => Err(malformed(&exchange.target, why)),
        Verdict::Stray(_) => unreachable!("strays are not accepted"),
    }
}

/// One TCP exchange (RFC 7766 framing: a two-byte length before each
/// message).
async fn tcp_exchange(
    addr: SocketAddr,
    request: &[u8],
    sent: &Sent,
    exchange: &Exchange,
    after_truncation: bool,
    deadline: &Deadline,
) -> Result<Message, Failure> {
    let during = if after_truncation {
        "asking again over TCP after a truncated UDP reply".to_string()
    } else {
        format!("asking {} {} over TCP", exchange.name, exchange.rtype)
    };
    let waiting = format!(
        "waiting for the reply to {} {} from {} over TCP",
        exchange.name, exchange.rtype, exchange.target
    );
    let timeout = || Failure::from(NetError::timeout(&waiting, deadline.budget()));
    let io = |e: std::io::Error| Failure::net(NetError::io(&e).awaiting(&waiting), &during);
    let connected = rsplugins::net::connect(
        &addr.ip().to_string(),
        addr.port(),
        AddressFamily::Any,
        deadline,
    )
    .await
    .map_err(|e| Failure::net(e, &during))?;
    let mut stream = connected.stream;
    let len = u16::try_from(request.len()).map_err(|_| malformed("us", "too long".into()))?;
    let mut framed = len.to_be_bytes().to_vec();
    framed.extend_from_slice(request);
    deadline
        .run(stream.write_all(&framed))
        .await
        .ok_or_else(timeout)?
        .map_err(io)?;
    for _ in 0..MAX_TCP_MESSAGES {
        let mut len = [0u8; 2];
        deadline
            .run(stream.read_exact(&mut len))
            .await
            .ok_or_else(timeout)?
            .map_err(io)?;
        let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
        deadline
            .run(stream.read_exact(&mut message))
            .await
            .ok_or_else(timeout)?
            .map_err(io)?;
        match judge(sent, &message, false) {
            Verdict::Answer(m) => return Ok(*m),
            Verdict::Malformed(why) => return Err(malformed(&exchange.target, why)),
            // Not sent over TCP; kept for completeness of the match.
            Verdict::Truncated => {}
            Verdict::Stray(_) => {}
        }
    }
    Err(Failure::Protocol {
        step: format!("the TCP connection to {}", exchange.target),
        what: format!("no reply to the question among {MAX_TCP_MESSAGES} messages"),
    })
}

/// Runs `futures` side by side on the current task and returns their
/// outputs in order (the questions of one check go out together).
pub async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (future, output) in futures.iter_mut().zip(outputs.iter_mut()) {
            if output.is_none() {
                match future.as_mut().poll(cx) {
                    Poll::Ready(v) => *output = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::{rdata, RData, Record};
    use rsplugins::net::runtime::block_on;

    fn sent() -> Sent {
        Sent {
            id: 0x1234,
            name: Name::from_ascii("www.example.test.").unwrap(),
            rtype: RecordType::A,
        }
    }

    /// A reply to [`sent`], changed by `edit` before it is encoded.
    fn reply(edit: impl FnOnce(&mut Message)) -> Vec<u8> {
        let s = sent();
        let mut m = Message::new(s.id, MessageType::Response, OpCode::Query);
        m.add_query(Query::query(s.name.clone(), s.rtype));
        m.add_answer(Record::from_rdata(
            s.name.clone(),
            300,
            RData::A(rdata::A("192.0.2.10".parse().unwrap())),
        ));
        edit(&mut m);
        m.to_vec().unwrap()
    }

    fn verdict(bytes: &[u8], udp: bool) -> String {
        match judge(&sent(), bytes, udp) {
            Verdict::Answer(m) => format!("answer with {} records", m.answers.len()),
            Verdict::Truncated => "truncated".into(),
            Verdict::Malformed(why) => format!("malformed: {why}"),
            Verdict::Stray(why) => format!("stray: {why}"),
        }
    }

    #[test]
    fn only_the_reply_to_our_question_counts() {
        assert_eq!(verdict(&reply(|_| {}), true), "answer with 1 records");
        assert_eq!(
            verdict(&reply(|m| m.metadata.id = 0x4321), true),
            "stray: a message with ID 17185, not 4660 (a stray or spoofed reply)"
        );
        assert_eq!(
            verdict(
                &reply(|m| m.metadata.message_type = MessageType::Query),
                true
            ),
            "stray: a message with our ID that is not a reply to a query"
        );
        assert_eq!(
            verdict(
                &reply(|m| m.queries[0].name = Name::from_ascii("evil.test.").unwrap()),
                true
            ),
            "stray: a reply to another question (evil.test. IN A)"
        );
        assert_eq!(
            verdict(&reply(|m| m.queries[0].query_type = RecordType::MX), true),
            "stray: a reply to another question (www.example.test. IN MX)"
        );
        // Names compare without regard to case (RFC 4343).
        assert_eq!(
            verdict(
                &reply(|m| m.queries[0].name = Name::from_ascii("WWW.Example.TEST.").unwrap()),
                true
            ),
            "answer with 1 records"
        );
        assert_eq!(
            verdict(&[0x12], true),
            "stray: a message of 1 bytes, too short for a DNS header"
        );
    }

    #[test]
    fn truncation_and_broken_messages() {
        let tc = reply(|m| m.metadata.truncation = true);
        assert_eq!(verdict(&tc, true), "truncated");
        // Over TCP the flag means nothing: the reply is taken.
        assert_eq!(verdict(&tc, false), "answer with 1 records");
        // Cut in the middle of the answer.
        let full = reply(|_| {});
        assert!(verdict(&full[..full.len() - 3], true).starts_with("malformed: "));
        // A truncated reply cut anywhere is still only truncated.
        let cut = &tc[..tc.len() - 3];
        assert_eq!(verdict(cut, true), "truncated");
        // An error reply without a question is ours; a success is not.
        let formerr = reply(|m| {
            m.queries.clear();
            m.answers.clear();
            m.metadata.response_code = hickory_proto::op::ResponseCode::FormErr;
        });
        assert_eq!(verdict(&formerr, true), "answer with 0 records");
        let bare = reply(|m| m.queries.clear());
        assert_eq!(
            verdict(&bare, true),
            "stray: a reply with our ID but no question"
        );
        // A compression pointer to itself (after our question).
        let mut looped = reply(|m| m.answers.clear());
        looped[7] = 1;
        let here = looped.len() as u16;
        looped.extend_from_slice(&(0xc000 | here).to_be_bytes());
        looped.extend_from_slice(&[0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1]);
        assert!(
            verdict(&looped, true).starts_with("malformed: "),
            "{}",
            verdict(&looped, true)
        );
    }

    #[test]
    fn questions_and_flags() {
        let q = Question::new("bücher.example", RecordType::AAAA).unwrap();
        assert_eq!(q.name_text(), "xn--bcher-kva.example.");
        assert!(Question::new("", RecordType::A).is_err());
        assert!(Question::new("a b", RecordType::A).is_err());
        assert!(Question::new(&"x".repeat(300), RecordType::A).is_err());
        let flags = Flags {
            aa: true,
            rd: true,
            ra: true,
            ..Flags::default()
        };
        assert_eq!(flags.text(), "qr aa rd ra");
        assert!(flags.has("qr") && !flags.has("tc") && !flags.has("zz"));
        assert_eq!(rcode_name(3), "NXDOMAIN");
        assert_eq!(rcode_name(42), "RCODE42");
    }

    #[test]
    fn truncated_udp_is_asked_again_over_tcp() {
        block_on(async {
            let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let addr = udp.local_addr().unwrap();
            let tcp = tokio::net::TcpListener::bind(addr).await.unwrap();
            let server = Server {
                host: "127.0.0.1".into(),
                port: addr.port(),
            };
            let question = Question::new("www.example.test", RecordType::A).unwrap();
            let deadline = Deadline::after(Duration::from_secs(5));
            let ask = ask(
                &server,
                AddressFamily::Any,
                &question,
                Options::default(),
                &deadline,
            );
            let serve = async {
                let mut buf = vec![0u8; 1500];
                let (n, from) = udp.recv_from(&mut buf).await.unwrap();
                let query = Message::from_vec(&buf[..n]).unwrap();
                assert!(query.edns.is_some() && query.metadata.recursion_desired);
                let mut tc = Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
                tc.add_query(query.queries[0].clone());
                tc.metadata.truncation = true;
                udp.send_to(&tc.to_vec().unwrap(), from).await.unwrap();
                let (mut conn, _) = tcp.accept().await.unwrap();
                let mut len = [0u8; 2];
                conn.read_exact(&mut len).await.unwrap();
                let mut q = vec![0u8; usize::from(u16::from_be_bytes(len))];
                conn.read_exact(&mut q).await.unwrap();
                let query = Message::from_vec(&q).unwrap();
                let mut full =
                    Message::new(query.metadata.id, MessageType::Response, OpCode::Query);
                full.add_query(query.queries[0].clone());
                full.metadata.authoritative = true;
                full.add_answer(Record::from_rdata(
                    query.queries[0].name.clone(),
                    60,
                    RData::A(rdata::A("192.0.2.10".parse().unwrap())),
                ));
                let bytes = full.to_vec().unwrap();
                let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
                framed.extend(bytes);
                conn.write_all(&framed).await.unwrap();
            };
            let (exchange, ()) = tokio::join!(ask, serve);
            let exchange = exchange.unwrap();
            assert_eq!(exchange.transport, Transport::TruncatedThenTcp);
            assert_eq!(exchange.reply.answers.len(), 1);
            assert!(exchange.reply.flags.aa);
            assert_eq!(exchange.server, format!("127.0.0.1:{}", addr.port()));
            assert_eq!(exchange.target, format!("127.0.0.1 port {}", addr.port()));
        })
        .unwrap();
    }

    #[test]
    fn join_all_keeps_order() {
        let out = block_on(join_all(vec![
            Box::pin(async {
                tokio::time::sleep(Duration::from_millis(30)).await;
                1
            }) as Pin<Box<dyn Future<Output = i32>>>,
            Box::pin(async { 2 }),
        ]))
        .unwrap();
        assert_eq!(out, [1, 2]);
    }
}
