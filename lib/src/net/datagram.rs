//! Request and reply over UDP within the deadline: the datagram half of the
//! network core (DNS today; NTP and SNMP have the same shape).
//!
//! A datagram socket takes anything from anyone, so the caller judges each
//! datagram: one that does not answer the request (a stray reply to an
//! earlier query, a spoofed or garbled packet) is dropped and the wait goes
//! on until the deadline. Names are resolved here too, within the deadline,
//! because a datagram exchange has no connect step that would do it.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;

use super::connect::{describe, AddressFamily};
use super::deadline::Deadline;
use super::error::NetError;

/// The largest datagram UDP can carry: a receive buffer this big is never
/// cut short by the kernel, whatever the peer sends.
pub const MAX_DATAGRAM: usize = 65_535;

/// `[::1]` or `::1` or `192.0.2.1` as an address; `None` for a name.
pub fn literal_ip(host: &str) -> Option<IpAddr> {
    let bare = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    bare.parse().ok()
}

fn family_accepts(family: AddressFamily, addr: &SocketAddr) -> bool {
    match family {
        AddressFamily::Any => true,
        AddressFamily::V4 => addr.is_ipv4(),
        AddressFamily::V6 => addr.is_ipv6(),
    }
}

fn family_name(family: AddressFamily) -> &'static str {
    match family {
        AddressFamily::Any => "IP",
        AddressFamily::V4 => "IPv4",
        AddressFamily::V6 => "IPv6",
    }
}

/// The addresses of `host` (a literal address is taken as it is, a name is
/// resolved by the system within the deadline) of `family`, with `port`.
/// Errors as [`super::connect()`] reports them: a name that does not resolve
/// or has no address of the family is UNKNOWN by the one policy.
pub async fn resolve(
    host: &str,
    port: u16,
    family: AddressFamily,
    deadline: &Deadline,
) -> Result<Vec<SocketAddr>, NetError> {
    let addrs: Vec<SocketAddr> = match literal_ip(host) {
        Some(ip) => vec![SocketAddr::new(ip, port)],
        None => deadline
            .run(tokio::net::lookup_host((host, port)))
            .await
            .ok_or_else(|| NetError::timeout(format!("resolving {host}"), deadline.budget()))?
            .map_err(|e| NetError::Resolve {
                host: host.to_string(),
                reason: resolver_reason(&e),
            })?
            .collect(),
    };
    let found: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| family_accepts(family, a))
        .collect();
    if found.is_empty() {
        return Err(NetError::NoAddress {
            host: host.to_string(),
            family: family_name(family),
        });
    }
    Ok(found)
}

fn resolver_reason(e: &io::Error) -> String {
    // getaddrinfo's text arrives as "failed to lookup address information: ...".
    let text = e.to_string();
    text.strip_prefix("failed to lookup address information: ")
        .unwrap_or(&text)
        .to_string()
}

/// When to send the request again while no reply has been accepted: after
/// `first`, then after twice as long each time (a lost datagram is resent,
/// a slow server is not flooded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resend {
    /// The wait before the first resend.
    pub first: Duration,
}

impl Default for Resend {
    /// One second, doubling: what stub resolvers do on a quiet network.
    fn default() -> Self {
        Resend {
            first: Duration::from_secs(1),
        }
    }
}

/// A UDP socket connected to one peer: the kernel drops datagrams from any
/// other source and reports the peer's ICMP port-unreachable as a refusal.
#[derive(Debug)]
pub struct Datagrams {
    socket: UdpSocket,
    peer: SocketAddr,
}

impl Datagrams {
    /// Binds an ephemeral port of `peer`'s family (the kernel picks it at
    /// random) and connects it to `peer`.
    pub async fn open(peer: SocketAddr) -> Result<Datagrams, NetError> {
        let local: SocketAddr = if peer.is_ipv4() {
            (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
        } else {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        };
        let failed = |e: io::Error| NetError::Connect {
            target: describe(&peer),
            reason: e.to_string(),
        };
        let socket = UdpSocket::bind(local).await.map_err(failed)?;
        socket.connect(peer).await.map_err(failed)?;
        Ok(Datagrams { socket, peer })
    }

    /// The peer, as messages name it: `127.0.0.1 port 53`.
    pub fn target(&self) -> String {
        describe(&self.peer)
    }

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    fn error(&self, e: &io::Error) -> NetError {
        match e.kind() {
            io::ErrorKind::ConnectionRefused => NetError::Refused {
                target: self.target(),
            },
            io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
                NetError::Unreachable {
                    target: self.target(),
                    reason: e.to_string(),
                }
            }
            _ => NetError::Io {
                reason: format!("{}: {e}", self.target()),
            },
        }
    }

    /// Sends `request`, then hands every datagram that arrives to `judge`
    /// until it accepts one (`Some`), resending `request` on the `resend`
    /// schedule while none is accepted. Ends with a time-out naming
    /// `during` at the deadline, or a refusal when the peer's port is closed.
    pub async fn exchange<T>(
        &self,
        request: &[u8],
        resend: Option<Resend>,
        deadline: &Deadline,
        during: &str,
        mut judge: impl FnMut(&[u8]) -> Option<T>,
    ) -> Result<T, NetError> {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let timeout = || NetError::timeout(during, deadline.budget());
        let mut interval = resend.map(|r| r.first);
        let mut next_send = interval.map(|i| Instant::now() + i);
        self.send(request, deadline, &timeout).await?;
        loop {
            let wake = match next_send {
                Some(at) if at < deadline.instant() => at,
                _ => deadline.instant(),
            };
            match tokio::time::timeout_at(wake.into(), self.socket.recv(&mut buf)).await {
                Ok(Ok(len)) => {
                    if let Some(accepted) = judge(&buf[..len]) {
                        return Ok(accepted);
                    }
                }
                Ok(Err(e)) => return Err(self.error(&e)),
                Err(_) if Instant::now() >= deadline.instant() => return Err(timeout()),
                Err(_) => {
                    self.send(request, deadline, &timeout).await?;
                    interval = interval.map(|i| i * 2);
                    next_send = interval.map(|i| Instant::now() + i);
                }
            }
        }
    }

    async fn send(
        &self,
        payload: &[u8],
        deadline: &Deadline,
        timeout: &impl Fn() -> NetError,
    ) -> Result<(), NetError> {
        match deadline.run(self.socket.send(payload)).await {
            None => Err(timeout()),
            Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(self.error(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::runtime::block_on;

    fn deadline(ms: u64) -> Deadline {
        Deadline::after(Duration::from_millis(ms))
    }

    #[test]
    fn strays_are_judged_and_dropped_until_the_answer() {
        block_on(async {
            let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let addr = server.local_addr().unwrap();
            let client = Datagrams::open(addr).await.unwrap();
            let serve = async {
                let mut buf = [0u8; 64];
                let (n, from) = server.recv_from(&mut buf).await.unwrap();
                assert_eq!(&buf[..n], b"ping");
                for reply in [&b"stray"[..], b"noise", b"pong"] {
                    server.send_to(reply, from).await.unwrap();
                }
            };
            let mut seen = Vec::new();
            let within = deadline(5000);
            let ask = client.exchange(b"ping", None, &within, "waiting", |d| {
                seen.push(d.to_vec());
                (d == b"pong").then_some(d.len())
            });
            let ((), got) = tokio::join!(serve, ask);
            assert_eq!(got, Ok(4));
            assert_eq!(
                seen,
                [b"stray".to_vec(), b"noise".to_vec(), b"pong".to_vec()]
            );
        })
        .unwrap();
    }

    #[test]
    fn silence_times_out_and_the_request_is_resent_meanwhile() {
        block_on(async {
            let server = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let client = Datagrams::open(server.local_addr().unwrap()).await.unwrap();
            let resend = Resend {
                first: Duration::from_millis(50),
            };
            let started = Instant::now();
            let err = client
                .exchange(
                    b"q",
                    Some(resend),
                    &deadline(400),
                    "waiting for the reply",
                    |_| None::<()>,
                )
                .await
                .unwrap_err();
            assert!(started.elapsed() < Duration::from_millis(1500));
            assert_eq!(
                err.to_string(),
                "timed out after 0.4 seconds waiting for the reply"
            );
            // Sent at 0, 50, 150 and 350 ms.
            let mut buf = [0u8; 8];
            let mut count = 0;
            while let Ok(Ok(_)) =
                tokio::time::timeout(Duration::from_millis(10), server.recv_from(&mut buf)).await
            {
                count += 1;
            }
            assert_eq!(count, 4);
        })
        .unwrap();
    }

    #[test]
    fn a_closed_port_is_a_refusal() {
        block_on(async {
            let port = {
                let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                s.local_addr().unwrap().port()
            };
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let client = Datagrams::open(addr).await.unwrap();
            let err = client
                .exchange(b"q", None, &deadline(2000), "waiting", |_| Some(()))
                .await
                .unwrap_err();
            assert_eq!(
                err,
                NetError::Refused {
                    target: format!("127.0.0.1 port {port}")
                }
            );
        })
        .unwrap();
    }

    #[test]
    fn resolves_literals_and_filters_by_family() {
        block_on(async {
            let d = deadline(2000);
            assert_eq!(
                resolve("[::1]", 53, AddressFamily::Any, &d).await.unwrap(),
                vec!["[::1]:53".parse().unwrap()]
            );
            assert_eq!(
                resolve("127.0.0.1", 53, AddressFamily::V6, &d).await,
                Err(NetError::NoAddress {
                    host: "127.0.0.1".into(),
                    family: "IPv6"
                })
            );
            // localhost comes from /etc/hosts: no DNS traffic leaves the machine.
            let local = resolve("localhost", 53, AddressFamily::V4, &d)
                .await
                .unwrap();
            assert!(local.iter().all(|a| a.ip().is_loopback()), "{local:?}");
            assert_eq!(literal_ip("example.test"), None);
        })
        .unwrap();
    }
}
