//! The SMTP/LMTP steps, written against any stream so they are tested on
//! scripted dialogues and run unchanged over TLS.

use rsplugins::net::{LineStream, NetError, Reply};
use rsplugins::secret::{self, base64};
use tokio::io::{AsyncRead, AsyncWrite};

/// Which greeting command was accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// `EHLO`, `HELO` or `LHLO`.
    pub verb: &'static str,
    /// The final reply.
    pub reply: Reply,
}

impl Hello {
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

/// A step the server answered, and whether the answer was the expected one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// What was sent, printable (secrets masked).
    pub sent: String,
    /// The reply.
    pub reply: Reply,
    /// Whether the reply code was expected.
    pub ok: bool,
}

/// EHLO, falling back to HELO when EHLO is refused; LHLO for LMTP.
pub async fn hello<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut LineStream<S>,
    fqdn: &str,
    lmtp: bool,
) -> Result<Result<Hello, Answer>, NetError> {
    if lmtp {
        let reply = s
            .command(&format!("LHLO {fqdn}"), "waiting for the LHLO reply")
            .await?;
        return Ok(if reply.code == 250 {
            Ok(Hello {
                verb: "LHLO",
                reply,
            })
        } else {
            Err(Answer {
                sent: format!("LHLO {fqdn}"),
                reply,
                ok: false,
            })
        });
    }
    let reply = s
        .command(&format!("EHLO {fqdn}"), "waiting for the EHLO reply")
        .await?;
    if reply.code == 250 {
        return Ok(Ok(Hello {
            verb: "EHLO",
            reply,
        }));
    }
    let reply = s
        .command(&format!("HELO {fqdn}"), "waiting for the HELO reply")
        .await?;
    Ok(if reply.code == 250 {
        Ok(Hello {
            verb: "HELO",
            reply,
        })
    } else {
        Err(Answer {
            sent: format!("HELO {fqdn}"),
            reply,
            ok: false,
        })
    })
}

/// Sends a command and checks the reply code against `expect`.
pub async fn step<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut LineStream<S>,
    line: &str,
    expect: &[u16],
) -> Result<Answer, NetError> {
    let verb = line.split_whitespace().next().unwrap_or(line);
    let reply = s
        .command(line, &format!("waiting for the reply to {verb}"))
        .await?;
    Ok(Answer {
        sent: line.to_string(),
        ok: expect.contains(&reply.code),
        reply,
    })
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

/// Authenticates; `ok` when the server answered 235.
pub async fn authenticate<S: AsyncRead + AsyncWrite + Unpin>(
    s: &mut LineStream<S>,
    mechanism: AuthMechanism,
    user: &str,
    password: &str,
) -> Result<Answer, NetError> {
    let during = "waiting for the AUTH reply";
    let sent = format!("AUTH {} ********", mechanism.name());
    let reply = match mechanism {
        AuthMechanism::Plain => {
            let token = base64(format!("\0{user}\0{password}").as_bytes());
            // A server that echoes the payload must not print the password.
            secret::register_form(&token);
            s.command(&format!("AUTH PLAIN {token}"), during).await?
        }
        AuthMechanism::Login => {
            let first = s.command("AUTH LOGIN", during).await?;
            if first.code != 334 {
                first
            } else {
                let second = s.command(&base64(user.as_bytes()), during).await?;
                if second.code != 334 {
                    second
                } else {
                    s.command(&base64(password.as_bytes()), during).await?
                }
            }
        }
    };
    Ok(Answer {
        sent,
        ok: reply.code == 235,
        reply,
    })
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
    use rsplugins::net::{Deadline, Limits};
    use std::time::Duration;
    use tokio_test::io::Builder;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    fn lines<S: AsyncRead + AsyncWrite + Unpin>(s: S) -> LineStream<S> {
        LineStream::new(
            s,
            Limits::default(),
            Deadline::after(Duration::from_secs(5)),
        )
    }

    #[test]
    fn ehlo_with_capabilities() {
        rt().block_on(async {
            let mock = Builder::new()
                .write(b"EHLO me.example\r\n")
                .read(b"250-mx\r\n250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n")
                .build();
            let h = hello(&mut lines(mock), "me.example", false)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(h.verb, "EHLO");
            assert!(h.offers("starttls"));
            assert!(!h.offers("mx"));
            assert_eq!(h.auth_mechanisms(), vec!["PLAIN", "LOGIN"]);
        });
    }

    #[test]
    fn helo_fallback_and_lhlo() {
        rt().block_on(async {
            let mock = Builder::new()
                .write(b"EHLO me\r\n")
                .read(b"502 5.5.2 Error: command not recognized\r\n")
                .write(b"HELO me\r\n")
                .read(b"250 old.mx\r\n")
                .build();
            let h = hello(&mut lines(mock), "me", false).await.unwrap().unwrap();
            assert_eq!(h.verb, "HELO");
            let mock = Builder::new()
                .write(b"LHLO me\r\n")
                .read(b"250-lmtp\r\n250 PIPELINING\r\n")
                .build();
            let h = hello(&mut lines(mock), "me", true).await.unwrap().unwrap();
            assert_eq!(h.verb, "LHLO");
        });
    }

    #[test]
    fn auth_plain_and_login() {
        rt().block_on(async {
            let mock = Builder::new()
                .write(b"AUTH PLAIN AHVzZXIAcGFzcw==\r\n")
                .read(b"235 2.7.0 Authentication successful\r\n")
                .build();
            let a = authenticate(&mut lines(mock), AuthMechanism::Plain, "user", "pass")
                .await
                .unwrap();
            assert!(a.ok);
            assert_eq!(a.sent, "AUTH PLAIN ********");
            let mock = Builder::new()
                .write(b"AUTH LOGIN\r\n")
                .read(b"334 VXNlcm5hbWU6\r\n")
                .write(b"dXNlcg==\r\n")
                .read(b"334 UGFzc3dvcmQ6\r\n")
                .write(b"cGFzcw==\r\n")
                .read(b"535 5.7.8 Error: authentication failed\r\n")
                .build();
            let a = authenticate(&mut lines(mock), AuthMechanism::Login, "user", "pass")
                .await
                .unwrap();
            assert!(!a.ok);
            assert_eq!(a.reply.code, 535);
        });
    }

    #[test]
    fn step_checks_codes() {
        rt().block_on(async {
            let mock = Builder::new()
                .write(b"RCPT TO:<a@b>\r\n")
                .read(b"550 5.1.1 <a@b>: Recipient address rejected\r\n")
                .build();
            let a = step(&mut lines(mock), "RCPT TO:<a@b>", &[250, 251])
                .await
                .unwrap();
            assert!(!a.ok);
        });
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
