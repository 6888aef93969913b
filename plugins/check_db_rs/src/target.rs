//! Where and as whom a binary connects, whatever options named it, and what
//! it asks once connected.

use std::path::PathBuf;

use rsplugins::secret::Secret;
use rsplugins::tls::TlsOptions;

use crate::facts::Engine;

/// Whether the session is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsUse {
    /// Never (MySQL's default, as C without its SSL options).
    Off,
    /// When the server offers it (PostgreSQL's default, as libpq's `prefer`).
    #[default]
    Prefer,
    /// Always: a server without TLS is CRITICAL.
    Require,
}

/// Where to connect, as whom.
#[derive(Debug, Clone)]
pub struct Target {
    /// The engine.
    pub engine: Engine,
    /// Host name or address; `None` means the local socket.
    pub host: Option<String>,
    /// The TCP port (default: the engine's).
    pub port: Option<u16>,
    /// The socket: a file (MySQL) or a directory (PostgreSQL).
    pub socket: Option<PathBuf>,
    /// The user (default: the engine's own default).
    pub user: Option<String>,
    /// The password, when one is known.
    pub password: Option<Secret>,
    /// The database.
    pub database: Option<String>,
    /// TLS use.
    pub tls: TlsUse,
    /// TLS settings when used (verification with a CA file or --verify).
    pub tls_options: TlsOptions,
}

impl Target {
    /// The port connected to over TCP.
    pub fn tcp_port(&self) -> u16 {
        self.port.unwrap_or(self.engine.default_port())
    }

    /// "127.0.0.1 port 3306" or the socket, for messages.
    pub fn place(&self) -> String {
        match &self.host {
            Some(h) => format!("{h} port {}", self.tcp_port()),
            None => format!("the socket {}", self.socket_path().display()),
        }
    }

    /// The socket file: MySQL's path, PostgreSQL's `DIR/.s.PGSQL.PORT`.
    pub fn socket_path(&self) -> PathBuf {
        match self.engine {
            Engine::Mysql => self
                .socket
                .clone()
                .unwrap_or_else(|| PathBuf::from("/run/mysqld/mysqld.sock")),
            Engine::Pgsql => self
                .socket
                .clone()
                .unwrap_or_else(|| PathBuf::from("/var/run/postgresql"))
                .join(format!(".s.PGSQL.{}", self.tcp_port())),
        }
    }
}

/// What to ask once logged in.
#[derive(Debug, Clone, Default)]
pub struct Work {
    /// A query whose first row is judged.
    pub query: Option<String>,
    /// Replication status.
    pub replication: bool,
    /// Connections in use and the maximum.
    pub connections: bool,
    /// MySQL's SHOW GLOBAL STATUS.
    pub status: bool,
    /// Ask the server's version and TLS for the summary (the C drop-ins
    /// show neither, and save the round trips).
    pub describe: bool,
}

/// The password from the engine's own variable when none was given
/// (`MYSQL_PWD`, `PGPASSWORD`), as the C clients read them.
pub fn password_from_env(engine: Engine) -> Option<Secret> {
    let var = match engine {
        Engine::Mysql => "MYSQL_PWD",
        Engine::Pgsql => "PGPASSWORD",
    };
    std::env::var(var)
        .ok()
        .filter(|v| !v.is_empty())
        .map(Secret::new)
}

/// A password from a `.pgpass` text for (host, port, database, user), as
/// libpq matches it: the first line whose fields match, `*` matching any.
pub fn pgpass_lookup(text: &str, host: &str, port: u16, db: &str, user: &str) -> Option<String> {
    let port = port.to_string();
    for line in text.lines() {
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass(line);
        if fields.len() != 5 {
            continue;
        }
        let want = [host, port.as_str(), db, user];
        if fields[..4]
            .iter()
            .zip(want)
            .all(|(f, w)| f == "*" || f == w)
        {
            return Some(fields[4].clone());
        }
    }
    None
}

/// `.pgpass` fields: `:` separates, `\` escapes `:` and `\`.
fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(last)) = (chars.next(), fields.last_mut()) {
                    last.push(next);
                }
            }
            ':' => fields.push(String::new()),
            c => {
                if let Some(last) = fields.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    fields
}

/// The password of `~/.pgpass` (or `PGPASSFILE`) for this target.
pub fn pgpass(target: &Target, user: &str, db: &str) -> Option<Secret> {
    let path = std::env::var_os("PGPASSFILE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pgpass")))?;
    let text = rsplugins::userfile::read_text(&path, 1 << 20).ok()?;
    let host = target.host.as_deref().unwrap_or("localhost");
    pgpass_lookup(&text, host, target.tcp_port(), db, user).map(Secret::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgpass_lines_match_as_libpq_does() {
        let text =
            "# comment\nother:5432:*:monitor:no\n127.0.0.1:5432:*:monitor:pa\\:ss\n*:*:*:*:any\n";
        assert_eq!(
            pgpass_lookup(text, "127.0.0.1", 5432, "monitest", "monitor").as_deref(),
            Some("pa:ss")
        );
        assert_eq!(
            pgpass_lookup(text, "db", 5433, "x", "y").as_deref(),
            Some("any")
        );
        assert_eq!(pgpass_lookup("a:b", "a", 1, "b", "c"), None);
    }
}
