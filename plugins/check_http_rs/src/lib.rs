//! check_http_rs: check a web server over HTTP or HTTPS (HTTP/2 when the
//! server offers it by ALPN): status, headers, content, redirects, the
//! certificate and per-phase timings. A drop-in for C check_http, with
//! check_curl's spellings accepted too.
//!
//! The library connects (within the deadline) and speaks TLS; hyper is the
//! HTTP engine on that connection; [`evaluate`] judges the plain facts.

pub mod body;
pub mod evaluate;
pub mod fetch;
pub mod target;

use std::path::PathBuf;

use clap::Parser;
use rsplugins::net::runtime::block_on;
use rsplugins::net::{AddressFamily, Deadline, Limits, Session};
use rsplugins::options::{parse_port, CommonArgs, ThresholdArgs};
use rsplugins::secret::Secret;
use rsplugins::tls::{CertDays, ClientAuth, Fingerprint, TlsOptions, TlsVersions};
use rsplugins::{CheckError, CheckResult, State};

pub use evaluate::{evaluate, evaluate_certificate};
use fetch::{Ask, Redirects};
use target::{default_port, split_host_port, Follow, Target};

/// Service name on the first output line.
pub const SERVICE: &str = "HTTP";

/// Default `--max-body`: enough for any page a check looks at.
pub const MAX_BODY: u64 = 8 * 1024 * 1024;

/// Check a web server.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_http_rs",
    version,
    about = "Check a web server over HTTP or HTTPS: status, content, redirects, certificate \
             and timings (drop-in for check_http and check_curl)"
)]
pub struct Args {
    /// Host name for the Host header and SNI (virtual host); with :PORT
    /// appended, that port too. Also the address to connect to without -I
    #[arg(short = 'H', long = "hostname", value_name = "ADDRESS")]
    pub hostname: Option<String>,

    /// Address (or name) to connect to; the Host header stays -H
    #[arg(short = 'I', long = "IP-address", value_name = "ADDRESS")]
    pub address: Option<String>,

    /// Port (default 80, or 443 with TLS)
    #[arg(short = 'p', long = "port", value_name = "INTEGER", value_parser = parse_port)]
    pub port: Option<u16>,

    /// Use IPv4 only
    #[arg(short = '4', long = "use-ipv4", conflicts_with = "use_ipv6")]
    pub use_ipv4: bool,

    /// Use IPv6 only
    #[arg(short = '6', long = "use-ipv6")]
    pub use_ipv6: bool,

    /// Path (and query) to ask for, or a whole http(s):// URL
    #[arg(short = 'u', long = "url", value_name = "PATH", default_value = "/")]
    pub url: String,

    /// Use TLS (port 443 by default); VERSION 1.2 or 1.3 allows only that
    /// version, with + that version or newer
    #[arg(
        short = 'S',
        long = "ssl",
        value_name = "VERSION",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "",
    )]
    pub ssl: Option<String>,

    /// Accepted for check_http compatibility: the host name is always sent (SNI)
    #[arg(long = "sni")]
    pub sni: bool,

    /// Minimum days the certificate must still be valid: WARNING below
    /// WARN, CRITICAL below CRIT; only the certificate is checked unless
    /// --continue-after-certificate
    #[arg(short = 'C', long = "certificate", value_name = "WARN[,CRIT]")]
    pub certificate: Option<CertDays>,

    /// With -C, go on to check the page as well
    #[arg(long = "continue-after-certificate")]
    pub continue_after_certificate: bool,

    /// Client certificate (PEM) to present
    #[arg(
        short = 'J',
        long = "client-cert",
        value_name = "FILE",
        requires = "private_key"
    )]
    pub client_cert: Option<PathBuf>,

    /// Private key (PEM) of the client certificate
    #[arg(
        short = 'K',
        long = "private-key",
        value_name = "FILE",
        requires = "client_cert"
    )]
    pub private_key: Option<PathBuf>,

    /// Trust the CA certificates of this PEM file (implies --verify-cert)
    #[arg(long = "ca-cert", alias = "ca-file", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Verify the certificate (chain and name) against the system's CAs or
    /// --ca-cert
    #[arg(short = 'D', long = "verify-cert", alias = "verify")]
    pub verify_cert: bool,

    /// Do not verify the certificate, even when sending credentials
    #[arg(long = "insecure", conflicts_with = "verify_cert")]
    pub insecure: bool,

    /// Trust exactly the certificate with this SHA-256 fingerprint
    /// (repeatable), with no CA or name check
    #[arg(long = "pin", value_name = "SHA256", conflicts_with_all = ["insecure", "ca_cert"])]
    pub pin: Vec<Fingerprint>,

    /// Strings, comma-separated, one of which the status line must contain
    /// (default: any HTTP/1.x or HTTP/2 status); skips the status-class rules
    #[arg(short = 'e', long = "expect", value_name = "STRING")]
    pub expect: Option<String>,

    /// String to expect in the response headers
    #[arg(short = 'd', long = "header-string", value_name = "STRING")]
    pub header_string: Option<String>,

    /// String to expect in the body
    #[arg(short = 's', long = "string", value_name = "STRING")]
    pub string: Option<String>,

    /// Regular expression to search the body for
    #[arg(short = 'r', long = "regex", alias = "ereg", value_name = "REGEX")]
    pub regex: Option<String>,

    /// Case-insensitive regular expression to search the body for
    #[arg(
        short = 'R',
        long = "eregi",
        value_name = "REGEX",
        conflicts_with = "regex"
    )]
    pub eregi: Option<String>,

    /// Let the regular expression span lines ('.' matches a newline)
    #[arg(short = 'l', long = "linespan")]
    pub linespan: bool,

    /// The regular expression must not match
    #[arg(long = "invert-regex")]
    pub invert_regex: bool,

    /// State when the regular expression check fails (default CRITICAL)
    #[arg(long = "state-regex", value_name = "STATE", default_value = "critical")]
    pub state_regex: State,

    /// On a redirect: ok, warning, critical, unknown, or follow it (follow;
    /// sticky keeps the address, stickyport the address and port)
    #[arg(
        short = 'f',
        long = "onredirect",
        value_name = "WHAT",
        default_value = "ok"
    )]
    pub onredirect: OnRedirect,

    /// Most redirects followed
    #[arg(long = "max-redirs", value_name = "N", default_value = "15")]
    pub max_redirs: usize,

    /// USER:PASSWORD for basic authentication (a secret: env:NAME and
    /// file:PATH read it from there)
    #[arg(short = 'a', long = "authorization", value_name = "USER:PASSWORD")]
    pub authorization: Option<Secret>,

    /// User-Agent to send
    #[arg(short = 'A', long = "useragent", value_name = "STRING")]
    pub useragent: Option<String>,

    /// A header to send, "Name: value" (repeatable)
    #[arg(short = 'k', long = "header", value_name = "STRING")]
    pub header: Vec<String>,

    /// Body to POST (URL-encoded form data unless -T says otherwise)
    #[arg(short = 'P', long = "post", value_name = "STRING")]
    pub post: Option<String>,

    /// HTTP method (default GET, or POST with -P)
    #[arg(short = 'j', long = "method", value_name = "STRING")]
    pub method: Option<String>,

    /// Content-Type of the POST body
    #[arg(short = 'T', long = "content-type", value_name = "STRING")]
    pub content_type: Option<String>,

    /// Do not read the body: judge the status line and headers only
    #[arg(short = 'N', long = "no-body")]
    pub no_body: bool,

    /// CRITICAL when the document is older than this (seconds, or with m, h or d), as C
    #[arg(short = 'M', long = "max-age", value_name = "AGE", value_parser = parse_age)]
    pub max_age: Option<u64>,

    /// WARNING when the body is smaller than MIN or larger than MAX bytes
    #[arg(short = 'm', long = "pagesize", value_name = "MIN[:MAX]", value_parser = parse_pagesize)]
    pub pagesize: Option<(u64, Option<u64>)>,

    /// Add time_connect, time_ssl, time_headers, time_firstbyte and time_transfer perfdata
    #[arg(short = 'E', long = "extended-perfdata")]
    pub extended_perfdata: bool,

    /// Ask for gzip or deflate and decode the body before searching it
    #[arg(long = "enable-automatic-decompression")]
    pub decompress: bool,

    /// Most body bytes read; a longer body is WARNING and read no further
    #[arg(long = "max-body", value_name = "BYTES", default_value_t = MAX_BODY)]
    pub max_body: u64,

    /// The state a time-out ends in (check_curl's spelling of -t SECONDS:STATE)
    #[arg(long = "timeout-result", value_name = "STATE")]
    pub timeout_result: Option<State>,

    /// Not supported (no proxy support): refused
    #[arg(
        short = 'b',
        long = "proxy-authorization",
        value_name = "AUTH_PAIR",
        hide = true
    )]
    pub proxy_authorization: Option<String>,

    /// Not supported (HTML output): refused
    #[arg(short = 'L', long = "link", hide = true)]
    pub link: bool,

    /// Response time thresholds (seconds)
    #[command(flatten)]
    pub thresholds: ThresholdArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

/// `-f`: what a 3xx does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnRedirect {
    /// Judged with this state.
    State(State),
    /// Followed.
    Follow(Follow),
}

impl std::str::FromStr for OnRedirect {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "ok" => OnRedirect::State(State::Ok),
            "warning" => OnRedirect::State(State::Warning),
            "critical" => OnRedirect::State(State::Critical),
            "unknown" => OnRedirect::State(State::Unknown),
            "follow" | "curl" => OnRedirect::Follow(Follow::Anywhere),
            "sticky" => OnRedirect::Follow(Follow::StickyAddress),
            "stickyport" => OnRedirect::Follow(Follow::StickyPort),
            other => {
                return Err(format!(
                    "'{other}' is not one of ok, warning, critical, unknown, follow, sticky, stickyport"
                ))
            }
        })
    }
}

/// `-M 10m`: seconds, or minutes, hours, days.
pub fn parse_age(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&t[..i], &t[i..]),
        None => (t, ""),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not an age (seconds, or with m, h or d)"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "'{text}' is not an age (seconds, or with m, h or d)"
            ))
        }
    };
    Ok(n * factor)
}

/// `-m MIN[:MAX]` in bytes (C also takes a trailing `b`).
pub fn parse_pagesize(text: &str) -> Result<(u64, Option<u64>), String> {
    let num = |s: &str| {
        s.trim()
            .trim_end_matches(['b', 'B'])
            .parse::<u64>()
            .map_err(|_| format!("'{text}' is not a page size (MIN[:MAX] bytes)"))
    };
    match text.split_once(':') {
        Some((min, max)) => Ok((num(min)?, Some(num(max)?))),
        None => Ok((num(text)?, None)),
    }
}

rsplugins::plugin_entry!(Args, SERVICE, check);

/// The TLS versions `-S VERSION` allows.
pub fn tls_versions(ssl: Option<&str>) -> Result<TlsVersions, CheckError> {
    let value = ssl.unwrap_or("").trim();
    let (version, or_newer) = match value.strip_suffix('+') {
        Some(v) => (v, true),
        None => (value, false),
    };
    match (version, or_newer) {
        ("", _) | ("1.2", true) | ("1", true) | ("1.1", true) | ("2", true) | ("3", true) => {
            Ok(TlsVersions::Any)
        }
        ("1.2", false) => Ok(TlsVersions::Only12),
        ("1.3", _) => Ok(TlsVersions::Only13),
        ("1" | "1.1" | "2" | "3", false) => Err(CheckError::unknown(format!(
            "-S {value}: {} is not supported (insecure; TLS 1.2 and 1.3 are)",
            match version {
                "1" => "TLS 1.0",
                "1.1" => "TLS 1.1",
                "2" => "SSLv2",
                _ => "SSLv3",
            }
        ))),
        _ => Err(CheckError::unknown(format!(
            "-S {value}: not a TLS version (use 1.2 or 1.3, with + for that or newer)"
        ))),
    }
}

/// Where the first request goes: `-u` may be a whole URL; `-I` is the
/// address, `-H` the virtual host (and the address without `-I`).
pub fn first_target(args: &Args) -> Result<Target, CheckError> {
    let wants_tls = args.ssl.is_some() || args.certificate.is_some();
    let (vhost, vhost_port) = match &args.hostname {
        Some(h) => {
            let (name, port) = split_host_port(h);
            (Some(name), port)
        }
        None => (None, None),
    };
    let url = args.url.trim();
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        // A whole URL: its scheme, host and port, unless -I/-p/-H say otherwise.
        let from = Target {
            tls: wants_tls,
            address: String::new(),
            port: 0,
            host: None,
            path: "/".to_string(),
            header_port: None,
        };
        let mut t = target::redirect(&from, url, Follow::Anywhere).map_err(CheckError::unknown)?;
        t.tls = t.tls || wants_tls;
        if let Some(addr) = &args.address {
            t.address.clone_from(addr);
        }
        if let Some(name) = vhost {
            t.host = Some(name);
        }
        if let Some(p) = args.port.or(vhost_port) {
            t.port = p;
        }
        t.header_port = vhost_port;
        return Ok(t);
    }
    let address = match (&args.address, &vhost) {
        (Some(a), _) => a.clone(),
        (None, Some(h)) => h.clone(),
        (None, None) => {
            return Err(CheckError::unknown(
                "no host: give -H (the virtual host) or -I (the address), or both",
            ))
        }
    };
    let path = if url.starts_with('/') {
        url.to_string()
    } else {
        format!("/{url}")
    };
    Ok(Target {
        tls: wants_tls,
        port: args.port.or(vhost_port).unwrap_or(default_port(wants_tls)),
        address,
        host: vhost,
        path,
        // `-H name:5000 -p 8080`: connect to 8080, send `Host: name:5000`.
        header_port: vhost_port,
    })
}

/// The TLS settings: verification with -D, --ca-cert, or when a password
/// crosses the connection (unless --insecure).
pub fn tls_options(args: &Args) -> Result<TlsOptions, CheckError> {
    let credentials = args.authorization.is_some();
    Ok(TlsOptions {
        verify: args.verify_cert || args.ca_cert.is_some() || (credentials && !args.insecure),
        ca_file: args.ca_cert.clone(),
        sni: None,
        pins: args.pin.clone(),
        alpn: Vec::new(),
        client_auth: match (&args.client_cert, &args.private_key) {
            (Some(cert), Some(key)) => Some(ClientAuth {
                cert: cert.clone(),
                key: key.clone(),
            }),
            _ => None,
        },
        versions: tls_versions(args.ssl.as_deref())?,
    })
}

fn regex(args: &Args) -> Result<Option<regex::bytes::Regex>, CheckError> {
    let (pattern, insensitive) = match (&args.regex, &args.eregi) {
        (Some(r), _) => (r, false),
        (None, Some(r)) => (r, true),
        (None, None) => return Ok(None),
    };
    // C: without -l, REG_NEWLINE (^ and $ at line ends, '.' not a newline).
    let flags = if args.linespan { "s" } else { "m" };
    let flags = if insensitive {
        format!("(?{flags}i)")
    } else {
        format!("(?{flags})")
    };
    regex::bytes::RegexBuilder::new(&format!("{flags}{pattern}"))
        .size_limit(1 << 20)
        .build()
        .map(Some)
        .map_err(|e| CheckError::unknown(format!("invalid regular expression '{pattern}': {e}")))
}

/// The request, from the options.
pub fn ask(args: &Args) -> Result<Ask, CheckError> {
    let method = match (&args.method, &args.post) {
        (Some(m), _) => m.trim().to_ascii_uppercase(),
        (None, Some(_)) => "POST".to_string(),
        (None, None) => "GET".to_string(),
    };
    let agent = args.useragent.clone().unwrap_or_else(|| {
        format!(
            "check_http_rs/v{} (rsplugins, monitoring-plugins compatible)",
            env!("CARGO_PKG_VERSION")
        )
    });
    let mut headers = vec![("user-agent".to_string(), agent)];
    if let Some(auth) = &args.authorization {
        if !auth.expose().contains(':') {
            return Err(CheckError::unknown("-a takes USER:PASSWORD"));
        }
        // The password alone is a secret too (a server may echo it).
        if let Some((_, password)) = auth.expose().split_once(':') {
            rsplugins::secret::register(password);
        }
        let token = rsplugins::secret::base64(auth.expose().as_bytes());
        // The wire form is masked in every output as well.
        rsplugins::secret::register_form(&token);
        headers.push(("authorization".to_string(), format!("Basic {token}")));
    }
    if args.post.is_some() || args.content_type.is_some() {
        let ctype = args
            .content_type
            .clone()
            .unwrap_or_else(|| "application/x-www-form-urlencoded".to_string());
        headers.push(("content-type".to_string(), ctype));
    }
    if args.decompress {
        headers.push(("accept-encoding".to_string(), "gzip, deflate".to_string()));
    }
    let mut defaults = headers.len();
    for h in &args.header {
        let (name, value) = h
            .split_once(':')
            .ok_or_else(|| CheckError::unknown(format!("-k '{h}' is not 'Name: value'")))?;
        let name = name.trim().to_ascii_lowercase();
        // A -k header replaces one of ours of the same name (User-Agent, say).
        if let Some(i) = headers[..defaults].iter().position(|(n, _)| *n == name) {
            headers.remove(i);
            defaults -= 1;
        }
        headers.push((name, value.trim().to_string()));
    }
    Ok(Ask {
        method,
        headers,
        body: args.post.clone(),
        read_body: !args.no_body,
        string: args.string.clone(),
        regex: regex(args)?,
        decompress: args.decompress,
        max_body: args.max_body.max(1),
        tls: tls_options(args)?,
        family: AddressFamily::from_flags(args.use_ipv4, args.use_ipv6),
    })
}

/// Options we refuse rather than ignore.
fn refuse_unsupported(args: &Args) -> Result<(), CheckError> {
    if args.proxy_authorization.is_some() {
        return Err(CheckError::unknown(
            "-b/--proxy-authorization is not supported: check_http_rs does not use a proxy",
        ));
    }
    if args.link {
        return Err(CheckError::unknown(
            "-L/--link is not supported: the output is plain text",
        ));
    }
    Ok(())
}

/// Parses, connects, asks, follows and judges.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    refuse_unsupported(&args)?;
    let first = first_target(&args)?;
    let ask = ask(&args)?;
    let timeout = args.common.timeout;
    let deadline = Deadline::from_timeout(&timeout);
    let jail = false;
    if let (Some(days), false) = (args.certificate, args.continue_after_certificate) {
        let mut tls = ask.tls.clone();
        tls.sni = Some(first.host_name().to_string());
        let opened = block_on(Session::open(
            &first.address,
            first.port,
            ask.family,
            Some(&tls),
            Limits::default(),
            deadline,
        ))?;
        return match opened {
            Ok(session) => Ok(evaluate_certificate(
                session.tls.as_ref(),
                days,
                first.host_name(),
            )),
            Err(e) => Err(rsplugins::net::Failure::from(e).into_check_error(
                &timeout,
                State::Critical,
                jail,
            )),
        };
    }
    let redirects = Redirects {
        follow: match args.onredirect {
            OnRedirect::Follow(f) => Some(f),
            OnRedirect::State(_) => None,
        },
        max: args.max_redirs,
    };
    match block_on(fetch::acquire(first, &ask, redirects, deadline))? {
        Ok(facts) => Ok(evaluate(&args, &facts)),
        Err(failure) => Err(failure.into_check_error(&timeout, State::Critical, jail)),
    }
}

#[cfg(test)]
mod tests;
