//! Resolving a name and connecting to one of its addresses, within the deadline.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::deadline::Deadline;
use super::error::NetError;

/// Which addresses to use (`-4`, `-6`, or either).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AddressFamily {
    /// IPv4 or IPv6, in resolver order.
    #[default]
    Any,
    /// IPv4 only (`-4`).
    V4,
    /// IPv6 only (`-6`).
    V6,
}

impl AddressFamily {
    /// From the `-4` and `-6` flags.
    pub fn from_flags(ipv4: bool, ipv6: bool) -> AddressFamily {
        match (ipv4, ipv6) {
            (true, false) => AddressFamily::V4,
            (false, true) => AddressFamily::V6,
            _ => AddressFamily::Any,
        }
    }

    fn accepts(self, addr: &SocketAddr) -> bool {
        match self {
            AddressFamily::Any => true,
            AddressFamily::V4 => addr.is_ipv4(),
            AddressFamily::V6 => addr.is_ipv6(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            AddressFamily::Any => "IP",
            AddressFamily::V4 => "IPv4",
            AddressFamily::V6 => "IPv6",
        }
    }
}

/// An open connection and how it was made.
#[derive(Debug)]
pub struct Connected {
    /// The socket.
    pub stream: TcpStream,
    /// The address that answered.
    pub addr: SocketAddr,
    /// Time from the start of resolution to the established connection.
    pub connect_time: Duration,
}

/// "127.0.0.1 port 25" / "::1 port 25": how targets are named in messages.
pub fn describe(addr: &SocketAddr) -> String {
    format!("{} port {}", addr.ip(), addr.port())
}

/// Strips the brackets of `[::1]`.
fn literal_ip(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

/// Resolves `host` (inside the deadline) and connects to the first of its
/// addresses of `family` that accepts.
pub async fn connect(
    host: &str,
    port: u16,
    family: AddressFamily,
    deadline: &Deadline,
) -> Result<Connected, NetError> {
    let started = Instant::now();
    let addrs: Vec<SocketAddr> = match literal_ip(host) {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => {
            let lookup = deadline
                .run(tokio::net::lookup_host((host, port)))
                .await
                .ok_or_else(|| NetError::timeout(format!("resolving {host}"), deadline.budget()))?;
            lookup
                .map_err(|e| NetError::Resolve {
                    host: host.to_string(),
                    reason: resolver_reason(&e),
                })?
                .collect()
        }
    };
    let candidates: Vec<SocketAddr> = addrs.into_iter().filter(|a| family.accepts(a)).collect();
    if candidates.is_empty() {
        return Err(NetError::NoAddress {
            host: host.to_string(),
            family: family.name(),
        });
    }
    let mut last_error = None;
    for addr in candidates {
        let target = describe(&addr);
        match deadline.run(TcpStream::connect(addr)).await {
            None => {
                return Err(NetError::timeout(
                    format!("connecting to {target}"),
                    deadline.budget(),
                ))
            }
            Some(Ok(stream)) => {
                // Line protocols send small writes; do not wait to coalesce them.
                let _ = stream.set_nodelay(true);
                return Ok(Connected {
                    stream,
                    addr,
                    connect_time: started.elapsed(),
                });
            }
            Some(Err(e)) => last_error = Some(connect_error(&target, &e)),
        }
    }
    Err(last_error.unwrap_or(NetError::NoAddress {
        host: host.to_string(),
        family: family.name(),
    }))
}

/// Asks the kernel to acknowledge received data at once instead of after the
/// delayed-ACK timer. A server with Nagle's algorithm on holds its next small
/// reply until its previous segment is acknowledged: after a TLS 1.3
/// handshake its session tickets are such a segment, and a STARTTLS check
/// that sends its next command before they arrive would stall 40 ms. Linux
/// leaves quick-ack mode whenever the socket sends, so `Stream` sets it
/// before every read.
pub fn quick_ack(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: a valid socket descriptor and a pointer to a c_int of the given size.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

fn resolver_reason(e: &io::Error) -> String {
    // getaddrinfo's text arrives as "failed to lookup address information: ...".
    let text = e.to_string();
    text.strip_prefix("failed to lookup address information: ")
        .unwrap_or(&text)
        .to_string()
}

fn connect_error(target: &str, e: &io::Error) -> NetError {
    let target = target.to_string();
    match e.kind() {
        io::ErrorKind::ConnectionRefused => NetError::Refused { target },
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
            NetError::Unreachable {
                target,
                reason: e.to_string(),
            }
        }
        _ => NetError::Connect {
            target,
            reason: e.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::runtime::block_on;

    #[test]
    fn connects_and_reports_refused() {
        block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let deadline = Deadline::after(Duration::from_secs(5));
            let c = connect("127.0.0.1", port, AddressFamily::Any, &deadline)
                .await
                .unwrap();
            assert_eq!(c.addr.port(), port);
            drop(listener);
            let err = connect("127.0.0.1", port, AddressFamily::Any, &deadline)
                .await
                .unwrap_err();
            assert_eq!(
                err,
                NetError::Refused {
                    target: format!("127.0.0.1 port {port}")
                }
            );
            assert_eq!(
                err.to_string(),
                format!("connect to 127.0.0.1 port {port}: Connection refused")
            );
        })
        .unwrap();
    }

    #[test]
    fn family_filter() {
        block_on(async {
            let deadline = Deadline::after(Duration::from_secs(5));
            let err = connect("127.0.0.1", 1, AddressFamily::V6, &deadline)
                .await
                .unwrap_err();
            assert_eq!(
                err,
                NetError::NoAddress {
                    host: "127.0.0.1".into(),
                    family: "IPv6"
                }
            );
            assert_eq!(literal_ip("[::1]"), Some("::1".parse().unwrap()));
            assert_eq!(AddressFamily::from_flags(true, false), AddressFamily::V4);
        })
        .unwrap();
    }

    #[test]
    fn names_resolve_from_the_hosts_file() {
        // localhost comes from /etc/hosts: no DNS traffic leaves the machine.
        block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let deadline = Deadline::after(Duration::from_secs(5));
            let c = connect("localhost", port, AddressFamily::V4, &deadline)
                .await
                .unwrap();
            assert_eq!(c.addr.ip().to_string(), "127.0.0.1");
        })
        .unwrap();
    }
}
