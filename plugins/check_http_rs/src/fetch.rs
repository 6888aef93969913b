//! One request and its response on a connection of our own (the library's
//! connect and TLS), with hyper as the HTTP/1.1 and HTTP/2 engine; then the
//! redirects, each on a new connection as C does. Only facts come out.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rsplugins::net::{AddressFamily, Deadline, Failure, Limits, NetError, Session, Stream};
use rsplugins::tls::{TlsOptions, TlsSummary};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::body::{BodyFacts, BodySearch, Coding, Sink};
use crate::target::{redirect, Follow, Target};

/// What one request is, beyond its target.
#[derive(Debug, Clone)]
pub struct Ask {
    /// GET, POST, HEAD...
    pub method: String,
    /// Headers to send, in order (Host is added per target).
    pub headers: Vec<(String, String)>,
    /// The request body (`-P`).
    pub body: Option<String>,
    /// Read the body (`-N` says no).
    pub read_body: bool,
    /// `-s`.
    pub string: Option<String>,
    /// `-r`/`-R`.
    pub regex: Option<regex::bytes::Regex>,
    /// Decode gzip/deflate bodies before searching them.
    pub decompress: bool,
    /// Most body bytes read.
    pub max_body: u64,
    /// TLS settings (ALPN is added here).
    pub tls: TlsOptions,
    /// `-4`/`-6`.
    pub family: AddressFamily,
}

/// One response, as plain facts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Hop {
    /// Where it was asked.
    pub target: Option<Target>,
    /// `HTTP/1.1`, `HTTP/2`.
    pub version: String,
    /// The status code.
    pub status: u16,
    /// The reason phrase (HTTP/1; empty over HTTP/2, which has none).
    pub reason: String,
    /// The response headers, names in lower case, in order.
    pub headers: Vec<(String, String)>,
    /// The body, when read (`-N` reads none).
    pub body: Option<BodyFacts>,
    /// TLS, on HTTPS.
    pub tls: Option<TlsSummary>,
    /// Resolution and TCP connect.
    pub connect: Duration,
    /// From the request sent to the first byte of the response.
    pub firstbyte: Duration,
    /// From the request sent to the end of the response headers.
    pub headers_time: Duration,
    /// Reading the body.
    pub transfer: Duration,
}

impl Hop {
    /// `HTTP/1.1 200 OK`, as the status line read (`HTTP/2 200` has no reason).
    pub fn status_line(&self) -> String {
        if self.reason.is_empty() {
            format!("{} {}", self.version, self.status)
        } else {
            format!("{} {} {}", self.version, self.status, self.reason)
        }
    }

    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The headers as they were received, one `Name: value` per line.
    pub fn header_text(&self) -> String {
        self.headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}\r\n"))
            .collect()
    }
}

/// Why following redirects stopped short.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectStop {
    /// The next location was visited already.
    Loop(String),
    /// More than `--max-redirs` redirects.
    TooMany(usize, String),
    /// The location cannot be followed (missing, not HTTP).
    Unusable(String),
}

/// Everything the check saw.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    /// Every response, the first asked first.
    pub hops: Vec<Hop>,
    /// Why redirects were not followed to the end.
    pub stop: Option<RedirectStop>,
    /// The whole check, redirects included.
    pub elapsed: Duration,
}

/// Records when the first byte of the answer arrives (after a write).
struct Timed<S> {
    inner: S,
    wrote: bool,
    first: Arc<Mutex<Option<Instant>>>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Timed<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if this.wrote && buf.filled().len() > before {
            let mut first = this.first.lock().unwrap_or_else(|e| e.into_inner());
            first.get_or_insert_with(Instant::now);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Timed<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            this.wrote = true;
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// hyper's error as ours: what went wrong while `during`.
fn http_error(e: &hyper::Error, during: &str) -> Failure {
    let io = std::error::Error::source(e).and_then(|s| s.downcast_ref::<io::Error>());
    let error = if let Some(io) = io {
        NetError::io(io)
    } else if e.is_incomplete_message() || e.is_canceled() {
        NetError::Closed {
            partial: String::new(),
            during: during.to_string(),
        }
    } else if e.is_parse() && e.to_string().contains("too large") {
        NetError::Garbage {
            what: "response headers larger than 64 KiB or more than 1000 lines".to_string(),
        }
    } else if e.is_parse() || e.is_parse_status() {
        NetError::Garbage {
            what: format!("not an HTTP response ({e})"),
        }
    } else {
        NetError::Io {
            reason: e.to_string(),
        }
    };
    Failure::net(error, during)
}

fn timed_out(deadline: &Deadline, during: &str) -> Failure {
    Failure::net(NetError::timeout(during, deadline.budget()), during)
}

fn protocol(what: String) -> Failure {
    Failure::Protocol {
        step: "the request".to_string(),
        what,
    }
}

/// Builds the request for `target`; `Err` names a header we cannot send.
/// A `-k Host:` names the virtual host (over HTTP/2 as the `:authority`).
fn request(target: &Target, ask: &Ask, h2: bool) -> Result<Request<Full<Bytes>>, String> {
    let host = ask
        .headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("host"))
        .map_or_else(|| target.host_header(), |(_, v)| v.clone());
    let uri = if h2 {
        format!(
            "{}://{host}{}",
            if target.tls { "https" } else { "http" },
            target.path
        )
    } else {
        target.path.clone()
    };
    let mut builder = Request::builder().method(ask.method.as_str()).uri(uri);
    if !h2 {
        builder = builder
            .header(hyper::header::HOST, host)
            .header(hyper::header::CONNECTION, "close");
    }
    let body = ask.body.clone().unwrap_or_default();
    let mut req = builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| format!("cannot build the request: {e}"))?;
    for (name, value) in &ask.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("'{name}' is not a header name"))?;
        if name == hyper::header::HOST {
            continue;
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| format!("the value of header '{name}' cannot be sent"))?;
        // Every -k line is sent, a repeated name too (as C does).
        req.headers_mut().append(name, value);
    }
    Ok(req)
}

/// Asks `target` once: connect, TLS (with ALPN on HTTPS), request, headers,
/// body.
pub async fn ask_once(target: &Target, ask: &Ask, deadline: Deadline) -> Result<Hop, Failure> {
    let mut tls = ask.tls.clone();
    if tls.sni.is_none() {
        tls.sni = Some(target.host_name().to_string());
    }
    tls.alpn = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let session = Session::open(
        &target.address,
        target.port,
        ask.family,
        target.tls.then_some(&tls),
        Limits::default(),
        deadline,
    )
    .await?;
    let connect = session.connect_time;
    let tls_summary = session.tls.clone();
    let h2 = tls_summary
        .as_ref()
        .and_then(|t| t.facts.alpn.as_deref())
        .is_some_and(|p| p == "h2");
    let (stream, _) = session.lines.into_parts()?;
    let first = Arc::new(Mutex::new(None));
    let io = TokioIo::new(Timed {
        inner: stream,
        wrote: false,
        first: Arc::clone(&first),
    });
    let req = request(target, ask, h2).map_err(protocol)?;
    let sent = Instant::now();
    let response = if h2 {
        send_h2(io, req, &deadline).await?
    } else {
        send_h1(io, req, &deadline).await?
    };
    let headers_time = sent.elapsed();
    let firstbyte = first
        .lock()
        .map(|f| f.map(|t| t.saturating_duration_since(sent)))
        .unwrap_or_default()
        .unwrap_or(headers_time);
    let (version, status, reason, headers) = head(&response);
    let mut hop = Hop {
        target: Some(target.clone()),
        version,
        status,
        reason,
        headers,
        tls: tls_summary,
        connect,
        firstbyte,
        headers_time,
        ..Hop::default()
    };
    if ask.read_body && ask.method != "HEAD" {
        let begun = Instant::now();
        hop.body = Some(read_body(response, &hop, ask, &deadline).await?);
        hop.transfer = begun.elapsed();
    }
    Ok(hop)
}

/// One step of hyper's within the deadline; `during` names it in failures.
async fn step<T>(
    deadline: &Deadline,
    during: &str,
    fut: impl std::future::Future<Output = Result<T, hyper::Error>>,
) -> Result<T, Failure> {
    deadline
        .run(fut)
        .await
        .ok_or_else(|| timed_out(deadline, during))?
        .map_err(|e| http_error(&e, during))
}

/// What a response is awaited as, in failures.
const AWAITING_HEADERS: &str = "waiting for the response headers";

async fn send_h1(
    io: TokioIo<Timed<Stream>>,
    req: Request<Full<Bytes>>,
    deadline: &Deadline,
) -> Result<Response<hyper::body::Incoming>, Failure> {
    // C reads any number of header lines; hyper stops at 100 unless told.
    let handshake = hyper::client::conn::http1::Builder::new()
        .max_buf_size(64 * 1024)
        .max_headers(1000)
        .handshake(io);
    let (mut sender, conn) = step(deadline, AWAITING_HEADERS, handshake).await?;
    // The connection is driven beside the request; it ends with the response.
    tokio::spawn(conn);
    step(deadline, AWAITING_HEADERS, sender.send_request(req)).await
}

async fn send_h2(
    io: TokioIo<Timed<Stream>>,
    req: Request<Full<Bytes>>,
    deadline: &Deadline,
) -> Result<Response<hyper::body::Incoming>, Failure> {
    let handshake = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
        .max_header_list_size(64 * 1024)
        .handshake(io);
    let (mut sender, conn) = step(deadline, AWAITING_HEADERS, handshake).await?;
    tokio::spawn(conn);
    step(deadline, AWAITING_HEADERS, sender.send_request(req)).await
}

type Head = (String, u16, String, Vec<(String, String)>);

fn head(response: &Response<hyper::body::Incoming>) -> Head {
    let version = match response.version() {
        hyper::Version::HTTP_09 => "HTTP/0.9",
        hyper::Version::HTTP_10 => "HTTP/1.0",
        hyper::Version::HTTP_2 => "HTTP/2",
        hyper::Version::HTTP_3 => "HTTP/3",
        _ => "HTTP/1.1",
    }
    .to_string();
    let status = response.status();
    let reason = if response.version() == hyper::Version::HTTP_2 {
        String::new()
    } else {
        response
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
            .or_else(|| status.canonical_reason().map(str::to_string))
            .unwrap_or_default()
    };
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    (version, status.as_u16(), reason, headers)
}

async fn read_body(
    response: Response<hyper::body::Incoming>,
    hop: &Hop,
    ask: &Ask,
    deadline: &Deadline,
) -> Result<BodyFacts, Failure> {
    let during = "waiting for the body";
    let search = BodySearch::new(ask.string.as_deref(), ask.regex.clone(), ask.max_body);
    let coding = if ask.decompress {
        Coding::of(hop.header("content-encoding")).unwrap_or(Coding::Identity)
    } else {
        Coding::Identity
    };
    let mut sink = Sink::new(coding, search);
    let mut body = response.into_body();
    loop {
        let frame = deadline
            .run(body.frame())
            .await
            .ok_or_else(|| timed_out(deadline, during))?;
        let Some(frame) = frame else {
            break;
        };
        let frame = frame.map_err(|e| http_error(&e, during))?;
        if let Ok(data) = frame.into_data() {
            if sink.full() && !data.is_empty() {
                // More than the bound: whatever else the server has stays unread.
                return Ok(sink.cut());
            }
            sink.feed(&data).map_err(protocol)?;
            if sink.is_cut() {
                return Ok(sink.cut());
            }
        }
    }
    sink.finish().map_err(protocol)
}

/// How redirects are handled (`-f`), and how many are followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redirects {
    /// `None`: 3xx is judged, not followed.
    pub follow: Option<Follow>,
    /// `--max-redirs`.
    pub max: usize,
}

/// Asks `first`, then follows redirects as `redirects` says.
pub async fn acquire(
    first: Target,
    ask: &Ask,
    redirects: Redirects,
    deadline: Deadline,
) -> Result<Facts, Failure> {
    let started = Instant::now();
    let mut facts = Facts::default();
    let mut target = first;
    let mut visited = vec![target.place()];
    loop {
        let hop = ask_once(&target, ask, deadline).await?;
        let status = hop.status;
        let location = hop.header("location").map(str::to_string);
        facts.hops.push(hop);
        let Some(follow) = redirects.follow else {
            break;
        };
        if !(300..400).contains(&status) {
            break;
        }
        let next = match location {
            Some(l) => redirect(&target, &l, follow),
            None => Err(format!("{status} without a Location header")),
        };
        let next = match next {
            Ok(n) => n,
            Err(why) => {
                facts.stop = Some(RedirectStop::Unusable(why));
                break;
            }
        };
        if visited.contains(&next.place()) {
            facts.stop = Some(RedirectStop::Loop(next.to_string()));
            break;
        }
        if facts.hops.len() > redirects.max {
            facts.stop = Some(RedirectStop::TooMany(redirects.max, next.to_string()));
            break;
        }
        visited.push(next.place());
        target = next;
    }
    facts.elapsed = started.elapsed();
    Ok(facts)
}
