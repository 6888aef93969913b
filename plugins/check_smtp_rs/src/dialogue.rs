//! The SMTP/LMTP steps the library's dialogue does not have (EHLO with its
//! HELO fallback, AUTH, the test message), written against any stream so
//! they are tested on scripted dialogues and run unchanged over TLS. They
//! return the server's reply whatever it is: judging it is `evaluate`'s.

use rsplugins::net::{Failure, LineStream, Reply};
use rsplugins::secret::{self, base64};
use tokio::io::{AsyncRead, AsyncWrite};

/// The greeting command sent and the server's reply to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// `EHLO`, `HELO` or `LHLO`: the last one sent.
    pub verb: &'static str,
    /// The name greeted with.
    pub name: String,
    /// The reply to it.
    pub reply: Reply,
}

impl Hello {
    /// Whether the server accepted it (250).
    pub fn accepted(&self) -> bool {
        self.reply.code == 250
    }

    /// The command as sent: `EHLO probe.test`.
    pub fn command(&self) -> String {
        format!("{} {}", self.verb, self.name)
    }

    /// Whether the server announced `keyword` (EHLO keywords, case-insensitive).
    pub fn offers(&self, keyword: &str) -> bool {
        self.reply.texts().iter().skip(1).any(|t| {
            t.split_whitespace()
                .next()
                .is_some_and(|k| k.eq_ignore_ascii_case(keyword))
        })
    }

    /// The AUTH mechanisms announced.
    pub fn auth_mechanisms(&self) -> Vec<String> {
        self.reply
            .texts()
            .iter()
            .skip(1)
            .filter_map(|t| {
                let mut words = t.split_whitespace();
                let first = words.next()?;
                let first = first.to_ascii_uppercase();
                (first == "AUTH" || first.starts_with("AUTH="))
                    .then(|| words.map(|w| w.to_ascii_uppercase()).collect::<Vec<_>>())
            })
            .flatten()
            .collect()
    }
}

/// Sends `line` and reads its numeric reply, whatever the code; only a
/// broken connection fails.
pub async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut LineStream<S>,
    line: &str,
    name: &str,
) -> Result<Reply, Failure> {
    let during = format!("waiting for the reply to {name}");
    s.command(line, &during)
        .await
        .map_err(|e| Failure::net(e, &during))
}

/// EHLO, falling back to HELO when EHLO is refused (not when the server
/// said goodbye, 421); LHLO for LMTP. The last command's reply, accepted or not.
pub async fn hello<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut LineStream<S>,
    fqdn: &str,
    lmtp: bool,
) -> Result<Hello, Failure> {
    let greet = |verb: &'static str, reply: Reply| Hello {
        verb,
        name: fqdn.to_string(),
        reply,
    };
    if lmtp {
        let reply = exchange(s, &format!("LHLO {fqdn}"), "LHLO").await?;
        return Ok(greet("LHLO", reply));
    }
    let reply = exchange(s, &format!("EHLO {fqdn}"), "EHLO").await?;
    if reply.code == 250 || reply.code == 421 {
        return Ok(greet("EHLO", reply));
    }
    let reply = exchange(s, &format!("HELO {fqdn}"), "HELO").await?;
    Ok(greet("HELO", reply))
}

/// SMTP AUTH mechanisms supported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMechanism {
    /// `AUTH PLAIN` (RFC 4616), initial response in one line.
    Plain,
    /// `AUTH LOGIN`: user and password in two challenges.
    Login,
}

impl std::str::FromStr for AuthMechanism {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "PLAIN" => Ok(AuthMechanism::Plain),
            "LOGIN" => Ok(AuthMechanism::Login),
            _ => Err(format!(
                "'{s}' is not a supported AUTH type (use LOGIN or PLAIN)"
            )),
        }
    }
}

impl AuthMechanism {
    /// The mechanism's name.
    pub fn name(self) -> &'static str {
        match self {
            AuthMechanism::Plain => "PLAIN",
            AuthMechanism::Login => "LOGIN",
        }
    }
}

/// Authenticates and returns the server's last reply (235 when accepted).
/// The password crosses only as registered secrets, so no transcript or
/// output shows it, even when the server echoes it.
pub async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut LineStream<S>,
    mechanism: AuthMechanism,
    user: &str,
    password: &str,
) -> Result<Reply, Failure> {
    match mechanism {
        AuthMechanism::Plain => {
            let token = base64(format!("\0{user}\0{password}").as_bytes());
            // A server that echoes the payload must not print the password.
            secret::register_form(&token);
            exchange(s, &format!("AUTH PLAIN {token}"), "AUTH").await
        }
        AuthMechanism::Login => {
            let first = exchange(s, "AUTH LOGIN", "AUTH").await?;
            if first.code != 334 {
                return Ok(first);
            }
            let second = exchange(s, &base64(user.as_bytes()), "AUTH").await?;
            if second.code != 334 {
                return Ok(second);
            }
            exchange(s, &base64(password.as_bytes()), "AUTH").await
        }
    }
}

/// The small test message sent by `--send-mail`, dot-stuffed and terminated.
pub fn test_message(from: &str, to: &[String], host: &str, now: &str, id: &str) -> String {
    let body = [
        format!("From: <{from}>"),
        format!(
            "To: {}",
            to.iter()
                .map(|t| format!("<{t}>"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "Subject: check_smtp_rs test message".to_string(),
        format!("Date: {now}"),
        format!("Message-ID: <{id}@{host}>"),
        "X-Mailer: check_smtp_rs".to_string(),
        String::new(),
        "This message was sent by the check_smtp_rs monitoring plugin to test mail delivery."
            .to_string(),
        ".A line starting with a dot proves dot-stuffing.".to_string(),
    ];
    let mut text = String::new();
    for line in body {
        if line.starts_with('.') {
            text.push('.');
        }
        text.push_str(&line);
        text.push_str("\r\n");
    }
    text.push_str(".\r\n");
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsplugins::net::runtime::block_on;
    use std::time::Duration;
    use tokio_test::io::Builder;

    fn lines<S: AsyncRead + AsyncWrite + Unpin>(s: S) -> LineStream<S> {
        LineStream::within(s, Duration::from_secs(5))
    }

    #[test]
    fn ehlo_with_capabilities() {
        block_on(async {
            let mock = Builder::new()
                .write(b"EHLO me.example\r\n")
                .read(b"250-mx\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
                .build();
            let h = hello(&mut lines(mock), "me.example", false).await.unwrap();
            assert_eq!(h.verb, "EHLO");
            assert!(h.accepted());
            assert_eq!(h.command(), "EHLO me.example");
            assert!(h.offers("starttls"));
            assert!(!h.offers("mx"));
            assert_eq!(h.auth_mechanisms(), vec!["PLAIN", "LOGIN"]);
        })
        .unwrap();
    }

    #[test]
    fn helo_fallback_and_lhlo() {
        block_on(async {
            let mock = Builder::new()
                .write(b"EHLO me\r\n")
                .read(b"502 5.5.2 Error: command not recognized\r\n")
                .write(b"HELO me\r\n")
                .read(b"250 old.mx\r\n")
                .build();
            let h = hello(&mut lines(mock), "me", false).await.unwrap();
            assert_eq!(h.verb, "HELO");
            assert!(h.accepted());
            let mock = Builder::new()
                .write(b"LHLO me\r\n")
                .read(b"250-lmtp\r\n250 PIPELINING\r\n")
                .build();
            let h = hello(&mut lines(mock), "me", true).await.unwrap();
            assert_eq!(h.verb, "LHLO");
            // A refused HELO is a reply, judged later.
            let mock = Builder::new()
                .write(b"EHLO me\r\n")
                .read(b"502 no\r\n")
                .write(b"HELO me\r\n")
                .read(b"501 not you\r\n")
                .build();
            let h = hello(&mut lines(mock), "me", false).await.unwrap();
            assert_eq!((h.verb, h.reply.code, h.accepted()), ("HELO", 501, false));
            // A server saying goodbye gets no HELO.
            let mock = Builder::new()
                .write(b"EHLO me\r\n")
                .read(b"421 closing\r\n")
                .build();
            let h = hello(&mut lines(mock), "me", false).await.unwrap();
            assert_eq!((h.verb, h.reply.code), ("EHLO", 421));
        })
        .unwrap();
    }

    #[test]
    fn auth_plain_and_login() {
        block_on(async {
            let mock = Builder::new()
                .write(b"AUTH PLAIN AHVzZXIAcGFzcw==\r\n")
                .read(b"235 2.7.0 Authentication successful\r\n")
                .build();
            let mut s = lines(mock);
            let r = authenticate(&mut s, AuthMechanism::Plain, "user", "pass")
                .await
                .unwrap();
            assert_eq!(r.code, 235);
            assert_eq!(s.transcript().lines()[0], "> AUTH PLAIN ********");
            let mock = Builder::new()
                .write(b"AUTH LOGIN\r\n")
                .read(b"334 VXNlcm5hbWU6\r\n")
                .write(b"dXNlcg==\r\n")
                .read(b"334 UGFzc3dvcmQ6\r\n")
                .write(b"cGFzcw==\r\n")
                .read(b"535 5.7.8 Error: authentication failed\r\n")
                .build();
            let r = authenticate(&mut lines(mock), AuthMechanism::Login, "user", "pass")
                .await
                .unwrap();
            assert_eq!(r.code, 535);
        })
        .unwrap();
    }

    #[test]
    fn a_broken_connection_names_what_was_awaited() {
        block_on(async {
            let mock = Builder::new()
                .write(b"EHLO me\r\n")
                .read(b"250-mx\r\n250-PIPE")
                .build();
            let f = hello(&mut lines(mock), "me", false).await.unwrap_err();
            assert_eq!(
                f.message(false),
                "connection closed by the server after '250-PIPE' while waiting for the reply to EHLO"
            );
        })
        .unwrap();
    }

    #[test]
    fn message_is_dot_stuffed_and_terminated() {
        let m = test_message(
            "a@x",
            &["b@y".to_string()],
            "x",
            "Wed, 25 Nov 2026 12:00:00 +0000",
            "1",
        );
        assert!(m.contains("\r\n..A line starting with a dot"));
        assert!(m.ends_with("\r\n.\r\n"));
        assert!(m.contains("To: <b@y>\r\n"));
    }
}
