//! Which server to ask: `HOST`, `HOST:PORT`, `[V6]:PORT` as the user names
//! it, or the first `nameserver` of resolv.conf.

use std::fmt;
use std::path::Path;

/// The standard DNS port.
pub const DNS_PORT: u16 = 53;

/// Most bytes of a resolv.conf (a real one is a few hundred).
const RESOLV_CONF_LIMIT: usize = 64 * 1024;

/// A server as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// A name or an address, without brackets.
    pub host: String,
    /// The port.
    pub port: u16,
}

impl Server {
    /// `HOST`, `HOST:PORT`, `V6`, `[V6]`, `[V6]:PORT`; the port is
    /// `default_port` when not given.
    pub fn parse(text: &str, default_port: u16) -> Result<Server, String> {
        let text = text.trim();
        let bad = || format!("'{text}' is not a server (HOST, HOST:PORT or [IPv6]:PORT)");
        let port =
            |p: &str| rsplugins::options::parse_port(p).map_err(|e| format!("'{text}': {e}"));
        let (host, port) = if let Some(rest) = text.strip_prefix('[') {
            let (host, after) = rest.split_once(']').ok_or_else(bad)?;
            match after {
                "" => (host, default_port),
                _ => (host, port(after.strip_prefix(':').ok_or_else(bad)?)?),
            }
        } else if text.matches(':').count() == 1 {
            let (host, p) = text.split_once(':').ok_or_else(bad)?;
            (host, port(p)?)
        } else {
            // No colon, or a bare IPv6 address.
            (text, default_port)
        };
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(bad());
        }
        Ok(Server {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for Server {
    /// As messages and perfdata labels name it: the host alone on port 53,
    /// else `HOST:PORT` (`[::1]:5300`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.port, self.host.contains(':')) {
            (DNS_PORT, _) => f.write_str(&self.host),
            (port, true) => write!(f, "[{}]:{port}", self.host),
            (port, false) => write!(f, "{}:{port}", self.host),
        }
    }
}

/// The first `nameserver` of a resolv.conf text.
pub fn first_nameserver(text: &str) -> Option<String> {
    text.lines()
        .map(|l| l.split(['#', ';']).next().unwrap_or_default())
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            (words.next() == Some("nameserver"))
                .then(|| words.next())
                .flatten()
        })
        .map(str::to_string)
        .next()
}

/// The server of the machine's resolver: the first `nameserver` of
/// `path` (bounded read), on `port`.
pub fn from_resolv_conf(path: &Path, port: u16) -> Result<Server, String> {
    let text = rsplugins::userfile::read_text(path, RESOLV_CONF_LIMIT).map_err(|e| {
        format!(
            "cannot read {}: {e} (name the server with -s)",
            path.display()
        )
    })?;
    let found = first_nameserver(&text).ok_or_else(|| {
        format!(
            "no nameserver in {} (name the server with -s)",
            path.display()
        )
    })?;
    if found.contains('%') {
        return Err(format!(
            "the nameserver {found} in {} has a scope, which is not supported (name the server with -s)",
            path.display()
        ));
    }
    Ok(Server { host: found, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(text: &str) -> Result<(String, u16), String> {
        Server::parse(text, 53).map(|s| (s.host, s.port))
    }

    #[test]
    fn forms() {
        assert_eq!(server("127.0.0.1"), Ok(("127.0.0.1".into(), 53)));
        assert_eq!(server("127.0.0.1:5300"), Ok(("127.0.0.1".into(), 5300)));
        assert_eq!(
            server("ns1.example.test"),
            Ok(("ns1.example.test".into(), 53))
        );
        assert_eq!(server("::1"), Ok(("::1".into(), 53)));
        assert_eq!(server("[::1]"), Ok(("::1".into(), 53)));
        assert_eq!(server("[::1]:5300"), Ok(("::1".into(), 5300)));
        assert_eq!(
            Server::parse("ns", 5353).map(|s| s.port),
            Ok(5353),
            "the default port is -p's"
        );
        for bad in ["", "[::1", "[::1]x", "h:0", "h:70000", "a b", ":53"] {
            assert!(server(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shown_as_given() {
        let s = |t: &str| Server::parse(t, 53).unwrap().to_string();
        assert_eq!(s("127.0.0.1"), "127.0.0.1");
        assert_eq!(s("127.0.0.1:5300"), "127.0.0.1:5300");
        assert_eq!(s("[::1]:5300"), "[::1]:5300");
        assert_eq!(s("[::1]"), "::1");
    }

    #[test]
    fn resolv_conf() {
        let text = "# generated\nsearch example.test\n;nameserver 10.0.0.1\noptions ndots:1\n\
                    nameserver 127.0.0.1 # local\nnameserver ::1\n";
        assert_eq!(first_nameserver(text), Some("127.0.0.1".into()));
        assert_eq!(first_nameserver("search x\n"), None);
        let dir = std::env::temp_dir().join(format!("check_dns_rs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("resolv.conf");
        std::fs::write(&path, "nameserver ::1\n").unwrap();
        assert_eq!(
            from_resolv_conf(&path, 53),
            Ok(Server {
                host: "::1".into(),
                port: 53
            })
        );
        std::fs::write(&path, "nameserver fe80::1%eth0\n").unwrap();
        assert!(from_resolv_conf(&path, 53).unwrap_err().contains("scope"));
        std::fs::write(&path, "domain x\n").unwrap();
        assert!(from_resolv_conf(&path, 53)
            .unwrap_err()
            .starts_with("no nameserver in "));
        assert!(from_resolv_conf(&dir.join("missing"), 53)
            .unwrap_err()
            .starts_with("cannot read "));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
