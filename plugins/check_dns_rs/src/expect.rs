//! Expected answers (`-a`): addresses compared as addresses, CIDR blocks of
//! either family, names (the targets of CNAME, MX, NS, PTR, SRV records and
//! the CNAME chain), or a record's exact text. Compared as sets: the order
//! of the answer never matters, and `-L` asks for nothing missing and
//! nothing extra.

use std::net::IpAddr;

use crate::records::{absolute, Rr};

/// One expected value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// An address: `192.0.2.10`, `2001:db8::10` (any spelling of it).
    Addr(IpAddr),
    /// A block: `192.0.2.0/24`, `2001:db8::/32`.
    Net { addr: IpAddr, prefix: u8 },
    /// A name ending in a dot: `mail.example.test.`.
    Name(String),
    /// Anything else: a record's text as dig shows it (`10
    /// mail.example.test.`), or a TXT record's text unquoted.
    Text(String),
}

impl Expected {
    /// Parses one value as the user wrote it (`-a`, already split at commas).
    pub fn parse(text: &str) -> Result<Expected, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("an expected value is empty".to_string());
        }
        if let Some(addr) = parse_addr(text) {
            return Ok(Expected::Addr(addr));
        }
        if let Some((addr, prefix)) = text.split_once('/') {
            if let Some(addr) = parse_addr(addr) {
                let max = if addr.is_ipv4() { 32 } else { 128 };
                return match prefix.parse::<u8>() {
                    Ok(prefix) if prefix <= max => Ok(Expected::Net { addr, prefix }),
                    _ => Err(format!(
                        "'{text}' is not a CIDR block (the prefix length is 0 to {max})"
                    )),
                };
            }
        }
        if text.ends_with('.') && !text.contains(char::is_whitespace) && text.len() > 1 {
            return Ok(Expected::Name(absolute(text)));
        }
        Ok(Expected::Text(text.to_string()))
    }

    /// Parses `-a` values: each may hold several, comma-separated.
    pub fn parse_all(values: &[String]) -> Result<Vec<Expected>, String> {
        values
            .iter()
            .flat_map(|v| v.split(','))
            .map(Expected::parse)
            .collect()
    }

    /// Whether this value matches the record.
    pub fn matches(&self, rr: &Rr) -> bool {
        match self {
            Expected::Addr(addr) => rr.addr == Some(*addr),
            Expected::Net { addr, prefix } => rr.addr.is_some_and(|a| in_net(a, *addr, *prefix)),
            Expected::Name(name) => {
                rr.target.as_deref() == Some(name.as_str()) || rr.data.eq_ignore_ascii_case(name)
            }
            Expected::Text(text) => {
                rr.data == *text
                    || rr.text.as_deref() == Some(text.as_str())
                    // A name written without its final dot, as C's substring
                    // match allowed.
                    || rr.target.as_deref() == Some(absolute(text).as_str())
                        && !text.contains(char::is_whitespace)
            }
        }
    }

    /// Whether this value names `name` (an element of the CNAME chain).
    fn names(&self, name: &str) -> bool {
        match self {
            Expected::Name(n) => n == name,
            Expected::Text(t) => !t.contains(char::is_whitespace) && absolute(t) == name,
            _ => false,
        }
    }
}

impl std::fmt::Display for Expected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Expected::Addr(a) => write!(f, "{a}"),
            Expected::Net { addr, prefix } => write!(f, "{addr}/{prefix}"),
            Expected::Name(n) | Expected::Text(n) => f.write_str(n),
        }
    }
}

/// An address as users write it, IPv6 also in brackets.
fn parse_addr(text: &str) -> Option<IpAddr> {
    let bare = text
        .strip_prefix('[')
        .and_then(|t| t.strip_suffix(']'))
        .unwrap_or(text);
    bare.parse().ok()
}

fn in_net(candidate: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (candidate, net) {
        (IpAddr::V4(c), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(c) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(c), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(c) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// How the answer compares with the expected values.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Comparison {
    /// Expected values that matched nothing.
    pub missing: Vec<String>,
    /// Answer records no expected value matched (their data).
    pub unexpected: Vec<String>,
    /// Records that some expected value matched, in answer order.
    pub matched: Vec<Rr>,
    /// Whether some expected value matched a record or a chain name.
    pub any: bool,
}

impl Comparison {
    /// Compares `records` (and the CNAME `chain` that led to them, which
    /// names may match) with `expected`.
    pub fn of(expected: &[Expected], records: &[Rr], chain: &[String]) -> Comparison {
        let mut c = Comparison::default();
        for e in expected {
            let hits: Vec<&Rr> = records.iter().filter(|r| e.matches(r)).collect();
            let in_chain = chain.iter().any(|n| e.names(n));
            if hits.is_empty() && !in_chain {
                c.missing.push(e.to_string());
            } else {
                c.any = true;
            }
        }
        for r in records {
            if expected.iter().any(|e| e.matches(r)) {
                c.matched.push(r.clone());
            } else {
                c.unexpected.push(r.data.clone());
            }
        }
        c
    }

    /// The answer is acceptable: with `all` (`-L`) nothing missing and
    /// nothing extra; without, any expected value present (as C).
    pub fn ok(&self, all: bool) -> bool {
        if all {
            self.missing.is_empty() && self.unexpected.is_empty()
        } else {
            self.any
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(addr: &str) -> Rr {
        Rr::address("www.example.test", 300, addr.parse().unwrap())
    }

    fn parse(v: &[&str]) -> Vec<Expected> {
        Expected::parse_all(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn kinds_of_values() {
        assert_eq!(
            Expected::parse("2001:DB8:0::10"),
            Ok(Expected::Addr("2001:db8::10".parse().unwrap()))
        );
        assert_eq!(
            Expected::parse("[::1]"),
            Ok(Expected::Addr("::1".parse().unwrap()))
        );
        assert_eq!(
            Expected::parse("192.0.2.0/24"),
            Ok(Expected::Net {
                addr: "192.0.2.0".parse().unwrap(),
                prefix: 24
            })
        );
        assert!(Expected::parse("192.0.2.0/33").is_err());
        assert!(Expected::parse("2001:db8::/129").is_err());
        assert_eq!(
            Expected::parse("Mail.Example.Test."),
            Ok(Expected::Name("mail.example.test.".into()))
        );
        assert_eq!(
            Expected::parse("10 mail.example.test."),
            Ok(Expected::Text("10 mail.example.test.".into()))
        );
        assert!(Expected::parse(" ").is_err());
        assert_eq!(parse(&["192.0.2.10,192.0.2.11", "::1"]).len(), 3);
    }

    #[test]
    fn addresses_compare_as_addresses_and_blocks_of_both_families() {
        let v6 = a("2001:db8::10");
        assert!(Expected::parse("2001:0db8:0000::0010")
            .unwrap()
            .matches(&v6));
        assert!(Expected::parse("2001:db8::/32").unwrap().matches(&v6));
        assert!(!Expected::parse("2001:db9::/32").unwrap().matches(&v6));
        assert!(Expected::parse("::/0").unwrap().matches(&v6));
        assert!(!Expected::parse("0.0.0.0/0").unwrap().matches(&v6));
        let v4 = a("192.0.2.10");
        assert!(Expected::parse("192.0.2.0/28").unwrap().matches(&v4));
        assert!(!Expected::parse("192.0.2.16/28").unwrap().matches(&v4));
        assert!(Expected::parse("0.0.0.0/0").unwrap().matches(&v4));
        assert!(Expected::parse("192.0.2.10/32").unwrap().matches(&v4));
        // Not a substring: 192.0.2.1 is not 192.0.2.10.
        assert!(!Expected::parse("192.0.2.1").unwrap().matches(&v4));
    }

    #[test]
    fn names_and_texts() {
        let mx = Rr::pointing(
            "example.test",
            300,
            "MX",
            "10 mail.example.test.",
            "mail.example.test.",
        );
        assert!(Expected::parse("mail.example.test.").unwrap().matches(&mx));
        assert!(Expected::parse("MAIL.example.test").unwrap().matches(&mx));
        assert!(Expected::parse("10 mail.example.test.")
            .unwrap()
            .matches(&mx));
        assert!(!Expected::parse("20 mail.example.test.")
            .unwrap()
            .matches(&mx));
        assert!(!Expected::parse("mail").unwrap().matches(&mx));
        let mut txt = Rr::new("example.test", 300, "TXT", "\"v=spf1 -all\"");
        txt.text = Some("v=spf1 -all".into());
        assert!(Expected::parse("v=spf1 -all").unwrap().matches(&txt));
        assert!(Expected::parse("\"v=spf1 -all\"").unwrap().matches(&txt));
        assert!(!Expected::parse("v=spf1").unwrap().matches(&txt));
    }

    #[test]
    fn sets_any_and_all() {
        let records = vec![a("192.0.2.10"), a("192.0.2.11"), a("2001:db8::10")];
        let c = Comparison::of(&parse(&["192.0.2.10"]), &records, &[]);
        assert!(c.ok(false));
        assert!(!c.ok(true));
        assert_eq!(c.unexpected, ["192.0.2.11", "2001:db8::10"]);
        let c = Comparison::of(
            &parse(&["2001:db8::10,192.0.2.11", "192.0.2.10"]),
            &records,
            &[],
        );
        assert!(c.ok(true));
        assert_eq!(c.matched.len(), 3);
        let c = Comparison::of(
            &parse(&["192.0.2.0/24", "192.0.2.99", "::/0"]),
            &records,
            &[],
        );
        assert!(c.ok(false));
        assert_eq!(c.missing, ["192.0.2.99"]);
        assert!(!c.ok(true));
        let c = Comparison::of(&parse(&["192.0.2.99"]), &records, &[]);
        assert!(!c.ok(false));
        assert_eq!(c.missing, ["192.0.2.99"]);
        // A name of the chain counts as present, and chain names are not
        // answers that -L would require.
        let chain = vec!["web.example.test.".to_string()];
        let c = Comparison::of(
            &parse(&["web.example.test.", "192.0.2.0/24", "2001:db8::/32"]),
            &records,
            &chain,
        );
        assert!(c.ok(true), "{c:?}");
    }
}
