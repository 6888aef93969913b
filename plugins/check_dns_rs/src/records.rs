//! Records as plain facts: what a reply said, in dig's presentation form,
//! with the parts the checks compare (address, target name, text, serial)
//! taken out once. Judging works on these, never on hickory's types, so the
//! checks are unit-tested with hand-made records.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::net::IpAddr;

use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

/// The longest CNAME chain followed (a resolver gives up near here too).
pub const MAX_CHAIN: usize = 16;

/// One resource record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rr {
    /// Owner, absolute and lower case: `www.example.test.`.
    pub name: String,
    /// Time to live in seconds.
    pub ttl: u32,
    /// `IN`, `CH`, ...
    pub class: String,
    /// `A`, `MX`, `TYPE65534`, ...
    pub rtype: String,
    /// The data as dig shows it: `192.0.2.10`, `10 mail.example.test.`,
    /// `"v=spf1 -all"`.
    pub data: String,
    /// A and AAAA: the address.
    pub addr: Option<IpAddr>,
    /// CNAME, NS, PTR, MX, SRV, DNAME: the name it points to, absolute and
    /// lower case.
    pub target: Option<String>,
    /// TXT: the strings joined, unquoted.
    pub text: Option<String>,
    /// SOA: the serial.
    pub serial: Option<u32>,
}

impl Rr {
    /// A record with only the presentation parts (tests and simple types).
    pub fn new(name: &str, ttl: u32, rtype: &str, data: &str) -> Rr {
        Rr {
            name: absolute(name),
            ttl,
            class: "IN".to_string(),
            rtype: rtype.to_string(),
            data: data.to_string(),
            addr: None,
            target: None,
            text: None,
            serial: None,
        }
    }

    /// An A or AAAA record.
    pub fn address(name: &str, ttl: u32, addr: IpAddr) -> Rr {
        let rtype = if addr.is_ipv4() { "A" } else { "AAAA" };
        Rr {
            addr: Some(addr),
            ..Rr::new(name, ttl, rtype, &addr.to_string())
        }
    }

    /// A record pointing at `target` (CNAME, NS, PTR); MX and SRV carry
    /// their numbers in `data` before it.
    pub fn pointing(name: &str, ttl: u32, rtype: &str, data: &str, target: &str) -> Rr {
        Rr {
            target: Some(absolute(target)),
            ..Rr::new(name, ttl, rtype, data)
        }
    }

    /// The record as dig prints it, one space between the fields:
    /// The record as data (JSON output): its fields as in the zone file.
    pub fn data(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "ttl": self.ttl,
            "class": self.class,
            "type": self.rtype,
            "data": self.data,
        })
    }

    /// `www.example.test. 300 IN A 192.0.2.10`.
    pub fn line(&self) -> String {
        format!(
            "{} {} {} {} {}",
            self.name, self.ttl, self.class, self.rtype, self.data
        )
    }

    /// From a decoded record.
    pub fn from_record(record: &Record) -> Rr {
        let rtype = type_name(record.record_type());
        let mut rr = Rr::new(&name_text(&record.name), record.ttl, &rtype, "");
        rr.class = class_name(record.dns_class);
        let data = &record.data;
        rr.data = presentation(data);
        match data {
            RData::A(a) => rr.addr = Some(IpAddr::V4(a.0)),
            RData::AAAA(a) => rr.addr = Some(IpAddr::V6(a.0)),
            RData::CNAME(n) => rr.target = Some(name_text(&n.0)),
            RData::NS(n) => rr.target = Some(name_text(&n.0)),
            RData::PTR(n) => rr.target = Some(name_text(&n.0)),
            RData::ANAME(n) => rr.target = Some(name_text(&n.0)),
            RData::MX(mx) => rr.target = Some(name_text(&mx.exchange)),
            RData::SRV(srv) => rr.target = Some(name_text(&srv.target)),
            RData::TXT(txt) => {
                rr.text = Some(
                    txt.txt_data
                        .iter()
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect(),
                )
            }
            RData::SOA(soa) => rr.serial = Some(soa.serial),
            _ => {}
        }
        rr
    }
}

/// `name` absolute (one trailing dot) and lower case, the form records and
/// expectations are compared in.
pub fn absolute(name: &str) -> String {
    let lower = name.trim().to_ascii_lowercase();
    if lower.ends_with('.') {
        lower
    } else {
        format!("{lower}.")
    }
}

/// A name as dig shows it: ASCII (IDNs in their `xn--` form), absolute,
/// lower case.
pub fn name_text(name: &Name) -> String {
    let mut text = name.to_ascii().to_ascii_lowercase();
    if !text.ends_with('.') {
        text.push('.');
    }
    text
}

/// `A`, `MX`, or RFC 3597's `TYPE65534` for a type without a name.
pub fn type_name(rtype: RecordType) -> String {
    match rtype {
        RecordType::Unknown(code) => format!("TYPE{code}"),
        known => known.to_string(),
    }
}

fn class_name(class: DNSClass) -> String {
    match class {
        DNSClass::IN => "IN".to_string(),
        DNSClass::CH => "CH".to_string(),
        DNSClass::HS => "HS".to_string(),
        other => format!("CLASS{}", u16::from(other)),
    }
}

/// A record type from what the user typed: a name (any case) or RFC
/// 3597's `TYPE123`.
pub fn parse_type(text: &str) -> Result<RecordType, String> {
    let upper = text.trim().to_ascii_uppercase();
    if let Some(code) = upper.strip_prefix("TYPE") {
        if let Ok(code) = code.parse::<u16>() {
            return Ok(RecordType::from(code));
        }
    }
    match upper.parse::<RecordType>() {
        Ok(RecordType::Unknown(_)) | Err(_) => Err(format!(
            "'{text}' is not a record type (e.g. A, AAAA, MX, NS, SOA, TXT, PTR, SRV, CAA, TYPE123)"
        )),
        // Zone transfers and the EDNS pseudo-record are not questions to check.
        Ok(RecordType::AXFR | RecordType::IXFR | RecordType::OPT) => {
            Err(format!("'{text}' cannot be checked with a single query"))
        }
        Ok(rtype) => Ok(rtype),
    }
}

/// A TXT string in dig's form: quoted, `"` and `\` escaped, bytes outside
/// printable ASCII as `\DDD`.
fn quoted(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out.push('"');
    out
}

/// RFC 3597's generic form: `\# 4 c0000201`.
fn generic(bytes: &[u8]) -> String {
    let mut out = format!("\\# {}", bytes.len());
    if !bytes.is_empty() {
        out.push(' ');
        for b in bytes {
            let _ = write!(out, "{b:02x}");
        }
    }
    out
}

/// The record data as dig shows it.
fn presentation(data: &RData) -> String {
    match data {
        RData::A(a) => a.0.to_string(),
        RData::AAAA(a) => a.0.to_string(),
        RData::CNAME(n) => name_text(&n.0),
        RData::NS(n) => name_text(&n.0),
        RData::PTR(n) => name_text(&n.0),
        RData::ANAME(n) => name_text(&n.0),
        RData::MX(mx) => format!("{} {}", mx.preference, name_text(&mx.exchange)),
        RData::SRV(srv) => format!(
            "{} {} {} {}",
            srv.priority,
            srv.weight,
            srv.port,
            name_text(&srv.target)
        ),
        RData::SOA(soa) => format!(
            "{} {} {} {} {} {} {}",
            name_text(&soa.mname),
            name_text(&soa.rname),
            soa.serial,
            soa.refresh,
            soa.retry,
            soa.expire,
            soa.minimum
        ),
        RData::TXT(txt) => txt
            .txt_data
            .iter()
            .map(|s| quoted(s))
            .collect::<Vec<_>>()
            .join(" "),
        RData::Unknown { rdata, .. } => generic(&rdata.anything),
        RData::NULL(null) => generic(&null.anything),
        // hickory's own text for the rest (CAA `0 issue "ca.example.net"`,
        // SSHFP, TLSA, ...), which matches dig's for the common types.
        other => {
            let mut text = String::new();
            if write!(text, "{other}").is_err() {
                text = "(no text form)".to_string();
            }
            text
        }
    }
}

/// The answer to a question within a reply's answer section: the CNAME
/// chain from the asked name and the records of the asked type at its end.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AnswerSet {
    /// The CNAME targets followed, in order (`web.example.test.`, ...).
    pub chain: Vec<String>,
    /// The records of the asked type at the chain's end.
    pub records: Vec<Rr>,
    /// Why the chain could not be followed to its end (a loop, too long).
    pub broken: Option<String>,
}

impl AnswerSet {
    /// Follows CNAMEs from `qname` through `answers` and collects the
    /// records of type `qtype` where the chain ends. A CNAME question
    /// takes the CNAME itself; ANY takes every record at the name.
    pub fn follow(qname: &str, qtype: &str, answers: &[Rr]) -> AnswerSet {
        let mut set = AnswerSet::default();
        let mut current = absolute(qname);
        let at = |name: &str, rtype: Option<&str>| -> Vec<Rr> {
            answers
                .iter()
                .filter(|r| r.name == name && rtype.is_none_or(|t| r.rtype == t))
                .cloned()
                .collect()
        };
        if qtype == "ANY" {
            set.records = at(&current, None);
            return set;
        }
        let mut seen = HashSet::new();
        seen.insert(current.clone());
        loop {
            let records = at(&current, Some(qtype));
            if !records.is_empty() || qtype == "CNAME" {
                set.records = records;
                return set;
            }
            let Some(next) = at(&current, Some("CNAME"))
                .into_iter()
                .find_map(|r| r.target)
            else {
                return set;
            };
            set.chain.push(next.clone());
            if !seen.insert(next.clone()) {
                set.broken = Some(format!("CNAME loop at {next}"));
                return set;
            }
            if set.chain.len() > MAX_CHAIN {
                set.broken = Some(format!("CNAME chain longer than {MAX_CHAIN}"));
                return set;
            }
            current = next;
        }
    }

    /// The chain as shown: `web.example.test. -> www.example.test.`.
    pub fn chain_text(&self) -> String {
        self.chain.join(" -> ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::rr::rdata::{CAA, MX, SOA, SRV, TXT};

    fn record(name: &str, data: RData) -> Rr {
        let name = Name::from_ascii(name).unwrap();
        Rr::from_record(&Record::from_rdata(name, 300, data))
    }

    #[test]
    fn presentation_as_dig_shows_it() {
        let name = |n: &str| Name::from_ascii(n).unwrap();
        let mx = record(
            "Example.Test.",
            RData::MX(MX::new(10, name("Mail.example.test."))),
        );
        assert_eq!(mx.line(), "example.test. 300 IN MX 10 mail.example.test.");
        assert_eq!(mx.target.as_deref(), Some("mail.example.test."));
        let srv = record(
            "_sip._udp.example.test.",
            RData::SRV(SRV::new(10, 60, 5060, name("sip.example.test."))),
        );
        assert_eq!(srv.data, "10 60 5060 sip.example.test.");
        let txt = record(
            "txt.example.test.",
            RData::TXT(TXT::from_bytes(vec![b"hello \"world\"", b"tab\there"])),
        );
        assert_eq!(txt.data, r#""hello \"world\"" "tab\009here""#);
        assert_eq!(txt.text.as_deref(), Some("hello \"world\"tab\there"));
        let soa = record(
            "example.test.",
            RData::SOA(SOA::new(
                name("ns1.example.test."),
                name("hostmaster.example.test."),
                2026120101,
                3600,
                600,
                86400,
                300,
            )),
        );
        assert_eq!(
            soa.data,
            "ns1.example.test. hostmaster.example.test. 2026120101 3600 600 86400 300"
        );
        assert_eq!(soa.serial, Some(2026120101));
        let caa = record(
            "example.test.",
            RData::CAA(CAA::new_issue(
                false,
                Some(name("ca.example.net")),
                Vec::new(),
            )),
        );
        assert_eq!(caa.data, "0 issue \"ca.example.net\"");
        let a = record("www.example.test.", RData::A("192.0.2.10".parse().unwrap()));
        assert_eq!(a.addr, Some("192.0.2.10".parse().unwrap()));
        assert_eq!(a.line(), "www.example.test. 300 IN A 192.0.2.10");
        let unknown = Rr::from_record(&Record::from_rdata(
            name("x.example.test."),
            60,
            RData::Unknown {
                code: RecordType::Unknown(65534),
                rdata: hickory_proto::rr::rdata::NULL::with(vec![0xc0, 0, 2, 1]),
            },
        ));
        assert_eq!(
            unknown.line(),
            "x.example.test. 60 IN TYPE65534 \\# 4 c0000201"
        );
    }

    #[test]
    fn record_types_by_name_or_number() {
        assert_eq!(parse_type("aaaa"), Ok(RecordType::AAAA));
        assert_eq!(parse_type("CAA"), Ok(RecordType::CAA));
        assert_eq!(parse_type("TYPE65534"), Ok(RecordType::Unknown(65534)));
        assert_eq!(parse_type("type1"), Ok(RecordType::A));
        assert!(parse_type("BOGUS").is_err());
        assert!(parse_type("AXFR").is_err());
        assert_eq!(type_name(RecordType::Unknown(65534)), "TYPE65534");
        assert_eq!(type_name(RecordType::MX), "MX");
    }

    fn cname(from: &str, to: &str) -> Rr {
        Rr::pointing(from, 300, "CNAME", &absolute(to), to)
    }

    fn a(name: &str, addr: &str) -> Rr {
        Rr::address(name, 300, addr.parse().unwrap())
    }

    #[test]
    fn follows_cname_chains_in_the_answer() {
        let answers = vec![
            cname("alias.example.test", "web.example.test"),
            cname("web.example.test", "www.example.test"),
            a("www.example.test", "192.0.2.10"),
            a("www.example.test", "192.0.2.11"),
            a("other.example.test", "192.0.2.99"),
        ];
        let set = AnswerSet::follow("Alias.Example.Test", "A", &answers);
        assert_eq!(set.chain, ["web.example.test.", "www.example.test."]);
        assert_eq!(set.chain_text(), "web.example.test. -> www.example.test.");
        assert_eq!(set.records.len(), 2);
        assert_eq!(set.broken, None);
        // Asking for the CNAME itself: no following.
        let set = AnswerSet::follow("alias.example.test.", "CNAME", &answers);
        assert_eq!(set.records, vec![answers[0].clone()]);
        assert!(set.chain.is_empty());
        // A chain that leaves the answer: no records, the chain still shown.
        let set = AnswerSet::follow("alias.example.test.", "AAAA", &answers);
        assert!(set.records.is_empty());
        assert_eq!(set.chain.len(), 2);
        // Records of another owner never count.
        let set = AnswerSet::follow("nothing.example.test.", "A", &answers);
        assert_eq!(set, AnswerSet::default());
    }

    #[test]
    fn cname_loops_and_long_chains_are_named() {
        let answers = vec![cname("a.test", "b.test"), cname("b.test", "a.test")];
        let set = AnswerSet::follow("a.test", "A", &answers);
        assert_eq!(set.broken.as_deref(), Some("CNAME loop at a.test."));
        let long: Vec<Rr> = (0..40)
            .map(|i| cname(&format!("n{i}.test"), &format!("n{}.test", i + 1)))
            .collect();
        let set = AnswerSet::follow("n0.test", "A", &long);
        assert_eq!(set.broken.as_deref(), Some("CNAME chain longer than 16"));
    }
}
