//! Where a request goes: scheme, the address connected to, the port, the
//! Host header and the path; and where a redirect's `Location` leads.

use std::fmt;

/// One request's destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// HTTPS (TLS) or plain HTTP.
    pub tls: bool,
    /// What is connected to: `-I`, else the host name.
    pub address: String,
    /// The port connected to.
    pub port: u16,
    /// The virtual host (Host header and SNI); `None` sends the address.
    pub host: Option<String>,
    /// The path with its query: `/health?x=1`.
    pub path: String,
    /// A port written after `-H` (`-H name:5000`) that the Host header keeps
    /// even when `-p` connects elsewhere, as C sends it.
    pub header_port: Option<u16>,
}

/// The port a scheme defaults to.
pub fn default_port(tls: bool) -> u16 {
    if tls {
        443
    } else {
        80
    }
}

impl Target {
    /// The name the server is asked for (Host header, SNI).
    pub fn host_name(&self) -> &str {
        self.host.as_deref().unwrap_or(&self.address)
    }

    /// The Host header: the name, with the port when it is not the
    /// scheme's default; an IPv6 address in brackets.
    pub fn host_header(&self) -> String {
        let name = bracketed(self.host_name());
        let port = self.header_port.unwrap_or(self.port);
        if port == default_port(self.tls) {
            name
        } else {
            format!("{name}:{port}")
        }
    }

    /// The same place, ignoring the address connected to (for loops).
    pub fn place(&self) -> (bool, String, u16, String) {
        (
            self.tls,
            self.host_name().to_ascii_lowercase(),
            self.port,
            self.path.clone(),
        )
    }
}

/// `http://localhost:80/path`, as C names the page in its messages.
impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}:{}{}",
            if self.tls { "https" } else { "http" },
            bracketed(self.host_name()),
            self.port,
            self.path
        )
    }
}

fn bracketed(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// `-H name:port`: the name and the port when one is appended (C: "Append
/// a port to include it in the header"). An IPv6 address stays whole.
pub fn split_host_port(text: &str) -> (String, Option<u16>) {
    let text = text.trim();
    if let Some(rest) = text.strip_prefix('[') {
        if let Some((host, after)) = rest.split_once(']') {
            let port = after.strip_prefix(':').and_then(|p| p.parse().ok());
            return (host.to_string(), port);
        }
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => match port.parse() {
            Ok(p) => (host.to_string(), Some(p)),
            Err(_) => (text.to_string(), None),
        },
        _ => (text.to_string(), None),
    }
}

/// How a redirect is followed (`-f`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Follow {
    /// To wherever it points.
    Anywhere,
    /// Keep the address connected to (`sticky`).
    StickyAddress,
    /// Keep the address and the port (`stickyport`).
    StickyPort,
}

/// Where `location` (a `Location` header) leads from `from`; `Err` with
/// the reason when it cannot be followed.
pub fn redirect(from: &Target, location: &str, follow: Follow) -> Result<Target, String> {
    let location = location.trim();
    if location.is_empty() {
        return Err("empty redirect location".to_string());
    }
    let lower = location.to_ascii_lowercase();
    let (tls, rest) = if lower.starts_with("http://") {
        (Some(false), &location[7..])
    } else if lower.starts_with("https://") {
        (Some(true), &location[8..])
    } else if let Some(rest) = location.strip_prefix("//") {
        (Some(from.tls), rest)
    } else if lower.contains("://") {
        return Err(format!("cannot follow a redirect to {location}"));
    } else {
        (None, location)
    };
    let mut next = match tls {
        Some(tls) => {
            let (authority, path) = match rest.find(['/', '?', '#']) {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, "/"),
            };
            let authority = authority.rsplit('@').next().unwrap_or(authority);
            let (host, port) = split_host_port(authority);
            if host.is_empty() {
                return Err(format!("no host in redirect location {location}"));
            }
            Target {
                tls,
                address: host.clone(),
                port: port.unwrap_or(default_port(tls)),
                host: Some(host),
                path: with_slash(path),
                header_port: None,
            }
        }
        None => Target {
            path: relative(&from.path, location),
            ..from.clone()
        },
    };
    next.path = strip_fragment(&next.path);
    match follow {
        Follow::Anywhere => {}
        Follow::StickyAddress => next.address.clone_from(&from.address),
        Follow::StickyPort => {
            next.address.clone_from(&from.address);
            next.port = from.port;
        }
    }
    Ok(next)
}

fn with_slash(path: &str) -> String {
    if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

fn strip_fragment(path: &str) -> String {
    path.split('#').next().unwrap_or(path).to_string()
}

/// A relative reference resolved against the current path (RFC 3986 5.2,
/// with dot segments removed).
fn relative(base: &str, reference: &str) -> String {
    if reference.starts_with('/') {
        return remove_dots(reference);
    }
    if let Some(query) = reference.strip_prefix('?') {
        let path = base.split('?').next().unwrap_or(base);
        return format!("{path}?{query}");
    }
    let base_path = base.split('?').next().unwrap_or(base);
    let dir = match base_path.rfind('/') {
        Some(i) => &base_path[..=i],
        None => "/",
    };
    remove_dots(&format!("{dir}{reference}"))
}

fn remove_dots(path: &str) -> String {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    for (i, seg) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *seg {
            "." => {
                if last {
                    out.push("");
                }
            }
            ".." => {
                out.pop();
                if last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let mut text = format!("/{}", out.join("/"));
    if let Some(q) = query {
        text.push('?');
        text.push_str(q);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Target {
        Target {
            tls: false,
            address: "127.0.0.1".into(),
            port: 80,
            host: Some("localhost".into()),
            path: "/a/b?x=1".into(),
            header_port: None,
        }
    }

    #[test]
    fn locations_resolve_as_a_browser_would() {
        let r = |loc: &str| {
            redirect(&base(), loc, Follow::Anywhere)
                .unwrap()
                .to_string()
        };
        assert_eq!(r("/health"), "http://localhost:80/health");
        assert_eq!(r("c"), "http://localhost:80/a/c");
        assert_eq!(r("../c?y"), "http://localhost:80/c?y");
        assert_eq!(r("?q=2"), "http://localhost:80/a/b?q=2");
        assert_eq!(
            r("https://www.example.test/x#frag"),
            "https://www.example.test:443/x"
        );
        assert_eq!(r("http://h:8080"), "http://h:8080/");
        assert_eq!(r("//other/p"), "http://other:80/p");
        assert_eq!(r("http://[::1]:81/v6"), "http://[::1]:81/v6");
        assert!(redirect(&base(), "ftp://x/", Follow::Anywhere).is_err());
        assert!(redirect(&base(), " ", Follow::Anywhere).is_err());
    }

    #[test]
    fn relative_redirects_keep_the_address() {
        let t = redirect(&base(), "/health", Follow::Anywhere).unwrap();
        assert_eq!((t.address.as_str(), t.port), ("127.0.0.1", 80));
    }

    #[test]
    fn sticky_keeps_the_address_and_stickyport_the_port() {
        let t = redirect(&base(), "http://other:81/", Follow::StickyAddress).unwrap();
        assert_eq!(
            (t.address.as_str(), t.port, t.host_name()),
            ("127.0.0.1", 81, "other")
        );
        let t = redirect(&base(), "http://other:81/", Follow::StickyPort).unwrap();
        assert_eq!((t.address.as_str(), t.port), ("127.0.0.1", 80));
        let t = redirect(&base(), "http://other:81/", Follow::Anywhere).unwrap();
        assert_eq!(t.address, "other");
    }

    #[test]
    fn host_headers_and_host_ports() {
        let mut t = base();
        assert_eq!(t.host_header(), "localhost");
        t.port = 8080;
        assert_eq!(t.host_header(), "localhost:8080");
        t.host = None;
        t.address = "::1".into();
        assert_eq!(t.host_header(), "[::1]:8080");
        t.header_port = Some(80);
        assert_eq!(t.host_header(), "[::1]");
        assert_eq!(
            split_host_port("example.com:5000"),
            ("example.com".into(), Some(5000))
        );
        assert_eq!(split_host_port("::1"), ("::1".into(), None));
        assert_eq!(split_host_port("[::1]:8080"), ("::1".into(), Some(8080)));
    }
}
