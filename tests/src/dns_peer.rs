//! In-process DNS servers for hostile-peer tests, on 127.0.0.1 or [::1]
//! with a random port: UDP, and optionally TCP on the same port number.
//! Each query is handed to a handler that says what to send back, so a test
//! scripts silence, strays with the wrong ID or question, truncation, error
//! codes, garbage, huge or malformed replies.
//!
//! Messages are built byte by byte here (no DNS library): a hostile reply
//! must be able to break every rule a library would enforce.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Record types by number.
pub const A: u16 = 1;
/// NS.
pub const NS: u16 = 2;
/// CNAME.
pub const CNAME: u16 = 5;
/// SOA.
pub const SOA: u16 = 6;
/// PTR.
pub const PTR: u16 = 12;
/// MX.
pub const MX: u16 = 15;
/// TXT.
pub const TXT: u16 = 16;
/// AAAA.
pub const AAAA: u16 = 28;
/// EDNS's OPT pseudo-record.
pub const OPT: u16 = 41;

/// Response codes.
pub const NOERROR: u8 = 0;
/// FORMERR.
pub const FORMERR: u8 = 1;
/// SERVFAIL.
pub const SERVFAIL: u8 = 2;
/// NXDOMAIN.
pub const NXDOMAIN: u8 = 3;
/// NOTIMP.
pub const NOTIMP: u8 = 4;
/// REFUSED.
pub const REFUSED: u8 = 5;

/// A query as the peer received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The message ID.
    pub id: u16,
    /// Recursion desired.
    pub rd: bool,
    /// The name asked, lower case, absolute (`www.example.test.`).
    pub name: String,
    /// The type asked.
    pub qtype: u16,
    /// The question section as received (name, type, class).
    pub question: Vec<u8>,
    /// Whether an EDNS OPT record came along.
    pub edns: bool,
    /// The EDNS DO bit.
    pub dnssec_ok: bool,
    /// Whether it came over TCP.
    pub tcp: bool,
}

/// Parses a query (no compression: queries carry one uncompressed name).
pub fn parse_query(bytes: &[u8], tcp: bool) -> Option<Query> {
    let id = u16::from_be_bytes([*bytes.first()?, *bytes.get(1)?]);
    let rd = bytes.get(2)? & 0x01 != 0;
    let qdcount = u16::from_be_bytes([*bytes.get(4)?, *bytes.get(5)?]);
    let arcount = u16::from_be_bytes([*bytes.get(10)?, *bytes.get(11)?]);
    if qdcount != 1 {
        return None;
    }
    let mut at = 12;
    let mut labels = Vec::new();
    loop {
        let len = usize::from(*bytes.get(at)?);
        at += 1;
        if len == 0 {
            break;
        }
        let label = bytes.get(at..at + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        at += len;
    }
    let qtype = u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]);
    let question = bytes.get(12..at + 4)?.to_vec();
    at += 4;
    let mut edns = false;
    let mut dnssec_ok = false;
    if arcount > 0 && bytes.get(at) == Some(&0) {
        let rtype = u16::from_be_bytes([*bytes.get(at + 1)?, *bytes.get(at + 2)?]);
        if rtype == OPT {
            edns = true;
            dnssec_ok = bytes.get(at + 7)? & 0x80 != 0;
        }
    }
    Some(Query {
        id,
        rd,
        name: format!("{}.", labels.join(".")),
        qtype,
        question,
        edns,
        dnssec_ok,
        tcp,
    })
}

/// A name in wire form, uncompressed.
pub fn name(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in text
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// A pointer to the question's name (offset 12 of every message).
pub const QNAME: [u8; 2] = [0xc0, 0x0c];

/// One resource record, owner given in wire form.
#[derive(Debug, Clone)]
pub struct Record {
    /// The owner in wire form (often [`QNAME`]).
    pub owner: Vec<u8>,
    /// Type.
    pub rtype: u16,
    /// TTL.
    pub ttl: u32,
    /// The data in wire form.
    pub rdata: Vec<u8>,
}

impl Record {
    /// A record owned by the question's name.
    pub fn at_qname(rtype: u16, rdata: Vec<u8>) -> Record {
        Record {
            owner: QNAME.to_vec(),
            rtype,
            ttl: 300,
            rdata,
        }
    }

    /// A record owned by `owner`.
    pub fn at(owner: &str, rtype: u16, rdata: Vec<u8>) -> Record {
        Record {
            owner: name(owner),
            rtype,
            ttl: 300,
            rdata,
        }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = self.owner.clone();
        out.extend_from_slice(&self.rtype.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&self.ttl.to_be_bytes());
        out.extend_from_slice(&(self.rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.rdata);
        out
    }
}

/// An A record for the question's name.
pub fn a(addr: &str) -> Record {
    let addr: Ipv4Addr = addr.parse().expect("an IPv4 address");
    Record::at_qname(A, addr.octets().to_vec())
}

/// An AAAA record for the question's name.
pub fn aaaa(addr: &str) -> Record {
    let addr: Ipv6Addr = addr.parse().expect("an IPv6 address");
    Record::at_qname(AAAA, addr.octets().to_vec())
}

/// A TXT record with one string (at most 255 bytes).
pub fn txt(text: &str) -> Record {
    let mut rdata = vec![text.len() as u8];
    rdata.extend_from_slice(text.as_bytes());
    Record::at_qname(TXT, rdata)
}

/// A SOA record for the question's name with this serial.
pub fn soa(serial: u32) -> Record {
    let mut rdata = name("ns1.peer.test");
    rdata.extend(name("hostmaster.peer.test"));
    for v in [serial, 3600, 600, 86400, 300] {
        rdata.extend_from_slice(&v.to_be_bytes());
    }
    Record::at_qname(SOA, rdata)
}

/// A reply to `query`, built up and turned into bytes.
#[derive(Debug, Clone)]
pub struct Reply {
    id: u16,
    flags: u16,
    question: Option<Vec<u8>>,
    answers: Vec<Record>,
    authorities: Vec<Record>,
    opt: bool,
}

impl Reply {
    /// A NOERROR, authoritative reply echoing the query's ID, RD and question
    /// (and EDNS when the query had it).
    pub fn to(query: &Query) -> Reply {
        let rd = if query.rd { 0x0100 } else { 0 };
        Reply {
            id: query.id,
            flags: 0x8000 | 0x0400 | rd,
            question: Some(query.question.clone()),
            answers: Vec::new(),
            authorities: Vec::new(),
            opt: query.edns,
        }
    }

    /// Another ID.
    pub fn id(mut self, id: u16) -> Reply {
        self.id = id;
        self
    }

    /// Another question section (a name in wire form, type, class IN).
    pub fn question(mut self, qname: &str, qtype: u16) -> Reply {
        let mut q = name(qname);
        q.extend_from_slice(&qtype.to_be_bytes());
        q.extend_from_slice(&1u16.to_be_bytes());
        self.question = Some(q);
        self
    }

    /// No question section at all.
    pub fn no_question(mut self) -> Reply {
        self.question = None;
        self
    }

    /// The response code.
    pub fn rcode(mut self, rcode: u8) -> Reply {
        self.flags = (self.flags & !0x000f) | u16::from(rcode & 0x0f);
        self
    }

    /// The TC bit.
    pub fn truncated(mut self) -> Reply {
        self.flags |= 0x0200;
        self
    }

    /// Without the AA bit.
    pub fn not_authoritative(mut self) -> Reply {
        self.flags &= !0x0400;
        self
    }

    /// Without the EDNS OPT record.
    pub fn without_edns(mut self) -> Reply {
        self.opt = false;
        self
    }

    /// One more answer record.
    pub fn answer(mut self, record: Record) -> Reply {
        self.answers.push(record);
        self
    }

    /// One more authority record.
    pub fn authority(mut self, record: Record) -> Reply {
        self.authorities.push(record);
        self
    }

    /// The message.
    pub fn bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.id.to_be_bytes());
        out.extend_from_slice(&self.flags.to_be_bytes());
        let counts = [
            u16::from(self.question.is_some()),
            self.answers.len() as u16,
            self.authorities.len() as u16,
            u16::from(self.opt),
        ];
        for c in counts {
            out.extend_from_slice(&c.to_be_bytes());
        }
        if let Some(q) = &self.question {
            out.extend_from_slice(q);
        }
        for r in self.answers.iter().chain(self.authorities.iter()) {
            out.extend(r.bytes());
        }
        if self.opt {
            // Root owner, OPT, 1232-byte payload, no extended flags, no options.
            out.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]);
        }
        out
    }
}

/// What the peer does in answer to one query.
#[derive(Debug, Clone)]
pub enum Action {
    /// A message (over TCP with its two-byte length).
    Send(Vec<u8>),
    /// Bytes as they are (over TCP: no length added; a hostile framing).
    Raw(Vec<u8>),
    /// Wait.
    Pause(Duration),
    /// Close the TCP connection (nothing over UDP).
    Close,
}

/// `Action::Send` of a reply.
pub fn send(reply: Reply) -> Action {
    Action::Send(reply.bytes())
}

/// Decides what to send back for a query.
pub type Handler = Arc<dyn Fn(&Query) -> Vec<Action> + Send + Sync>;

/// Wraps a closure as a [`Handler`].
pub fn handler(f: impl Fn(&Query) -> Vec<Action> + Send + Sync + 'static) -> Handler {
    Arc::new(f)
}

/// A running DNS peer; it stops when dropped.
pub struct DnsPeer {
    /// The port, the same for UDP and (when served) TCP.
    pub port: u16,
    /// The address it listens on.
    pub addr: SocketAddr,
    queries: Arc<Mutex<Vec<Query>>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// How long the peer's threads block before looking at the stop flag.
const TICK: Duration = Duration::from_millis(50);

impl DnsPeer {
    /// UDP only on 127.0.0.1: TCP to its port is refused.
    pub fn udp(udp: Handler) -> DnsPeer {
        DnsPeer::start(Ipv4Addr::LOCALHOST.into(), udp, None)
    }

    /// UDP and TCP on one port of 127.0.0.1.
    pub fn udp_and_tcp(udp: Handler, tcp: Handler) -> DnsPeer {
        DnsPeer::start(Ipv4Addr::LOCALHOST.into(), udp, Some(tcp))
    }

    /// UDP and TCP on one port of [::1].
    pub fn v6(udp: Handler, tcp: Handler) -> DnsPeer {
        DnsPeer::start(Ipv6Addr::LOCALHOST.into(), udp, Some(tcp))
    }

    fn start(ip: std::net::IpAddr, udp: Handler, tcp: Option<Handler>) -> DnsPeer {
        // The TCP port must be the UDP one: retry until both binds succeed.
        for _ in 0..50 {
            let socket = UdpSocket::bind(SocketAddr::new(ip, 0)).expect("bind a UDP port");
            let addr = socket.local_addr().expect("local addr");
            let listener = match &tcp {
                Some(_) => match TcpListener::bind(addr) {
                    Ok(l) => Some(l),
                    Err(_) => continue,
                },
                None => None,
            };
            let queries = Arc::new(Mutex::new(Vec::new()));
            let stop = Arc::new(AtomicBool::new(false));
            let mut threads = vec![spawn_udp(socket, udp, &queries, &stop)];
            if let (Some(listener), Some(tcp)) = (listener, tcp) {
                threads.push(spawn_tcp(listener, tcp, &queries, &stop));
            }
            return DnsPeer {
                port: addr.port(),
                addr,
                queries,
                stop,
                threads,
            };
        }
        panic!("no port free for both UDP and TCP");
    }

    /// The queries received so far, in order.
    pub fn queries(&self) -> Vec<Query> {
        self.queries.lock().map(|q| q.clone()).unwrap_or_default()
    }
}

impl Drop for DnsPeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn record(queries: &Mutex<Vec<Query>>, q: &Query) {
    if let Ok(mut all) = queries.lock() {
        all.push(q.clone());
    }
}

fn spawn_udp(
    socket: UdpSocket,
    handler: Handler,
    queries: &Arc<Mutex<Vec<Query>>>,
    stop: &Arc<AtomicBool>,
) -> JoinHandle<()> {
    let queries = Arc::clone(queries);
    let stop = Arc::clone(stop);
    std::thread::spawn(move || {
        let _ = socket.set_read_timeout(Some(TICK));
        let mut buf = vec![0u8; 65_535];
        while !stop.load(Ordering::SeqCst) {
            let Ok((n, from)) = socket.recv_from(&mut buf) else {
                continue;
            };
            let Some(q) = parse_query(&buf[..n], false) else {
                continue;
            };
            record(&queries, &q);
            for action in handler(&q) {
                match action {
                    Action::Send(bytes) | Action::Raw(bytes) => {
                        let _ = socket.send_to(&bytes, from);
                    }
                    Action::Pause(d) => std::thread::sleep(d),
                    Action::Close => {}
                }
            }
        }
    })
}

fn spawn_tcp(
    listener: TcpListener,
    handler: Handler,
    queries: &Arc<Mutex<Vec<Query>>>,
    stop: &Arc<AtomicBool>,
) -> JoinHandle<()> {
    let queries = Arc::clone(queries);
    let stop = Arc::clone(stop);
    std::thread::spawn(move || {
        let _ = listener.set_nonblocking(true);
        while !stop.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((stream, _)) => serve_tcp(stream, &handler, &queries, &stop),
                Err(_) => std::thread::sleep(TICK),
            }
        }
    })
}

fn serve_tcp(
    mut stream: TcpStream,
    handler: &Handler,
    queries: &Mutex<Vec<Query>>,
    stop: &AtomicBool,
) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(TICK));
    let read_exact = |buf: &mut [u8], stream: &mut TcpStream| -> bool {
        let mut got = 0;
        while got < buf.len() {
            if stop.load(Ordering::SeqCst) {
                return false;
            }
            match stream.read(&mut buf[got..]) {
                Ok(0) => return false,
                Ok(n) => got += n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return false,
            }
        }
        true
    };
    loop {
        let mut len = [0u8; 2];
        if !read_exact(&mut len, &mut stream) {
            return;
        }
        let mut message = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if !read_exact(&mut message, &mut stream) {
            return;
        }
        let Some(q) = parse_query(&message, true) else {
            return;
        };
        record(queries, &q);
        for action in handler(&q) {
            let written = match action {
                Action::Send(bytes) => {
                    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
                    framed.extend(bytes);
                    stream.write_all(&framed)
                }
                Action::Raw(bytes) => stream.write_all(&bytes),
                Action::Pause(d) => {
                    std::thread::sleep(d);
                    Ok(())
                }
                Action::Close => return,
            };
            if written.is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_parses_messages() {
        let mut query = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1];
        query.extend(name("WWW.example.test."));
        query.extend_from_slice(&[0, 1, 0, 1]);
        query.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
        let q = parse_query(&query, false).unwrap();
        assert_eq!(q.id, 0x1234);
        assert!(q.rd && q.edns && q.dnssec_ok);
        assert_eq!(q.name, "www.example.test.");
        assert_eq!(q.qtype, A);
        let reply = Reply::to(&q).answer(a("192.0.2.1")).bytes();
        // Header: same ID, QR AA RD, one question, one answer, one OPT.
        assert_eq!(
            &reply[..12],
            &[0x12, 0x34, 0x85, 0x00, 0, 1, 0, 1, 0, 0, 0, 1]
        );
        assert_eq!(&reply[12..12 + q.question.len()], &q.question[..]);
        let back = parse_query(&reply, false).unwrap();
        assert_eq!(back.name, "www.example.test.");
    }
}
