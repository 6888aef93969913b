//! MySQL and MariaDB with the mysql crate (synchronous: the session is one
//! conversation). "localhost" or no host means the socket, as C's client
//! library has it; an address means TCP, and then no silent switch to the
//! socket (`prefer_socket(false)`).

use std::time::{Duration, Instant};

use mysql::prelude::Queryable;
use mysql::{Conn, OptsBuilder, Row, SslOpts};
use rsplugins::net::Deadline;

use crate::facts::{Engine, Facts, QueryFacts, ReplicaFacts, Replication};
use crate::target::{Target, TlsUse, Work};
use crate::DbFailure;

fn text(row: &Row, column: &str) -> Option<String> {
    let i = row
        .columns_ref()
        .iter()
        .position(|c| c.name_str().eq_ignore_ascii_case(column))?;
    value_text(row.as_ref(i)?)
}

fn value_text(v: &mysql::Value) -> Option<String> {
    match v {
        mysql::Value::NULL => None,
        mysql::Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

fn message(e: &mysql::Error) -> String {
    match e {
        mysql::Error::MySqlError(m) => m.message.clone(),
        other => other.to_string(),
    }
}

fn replication(conn: &mut Conn) -> Result<Replication, String> {
    // MariaDB 10.5+ and MySQL 8.0.22+ say REPLICA; older ones only SLAVE.
    let rows: Vec<Row> = conn
        .query("SHOW REPLICA STATUS")
        .or_else(|_| conn.query("SHOW SLAVE STATUS"))
        .map_err(|e| message(&e))?;
    let Some(row) = rows.first() else {
        return Ok(Replication::None);
    };
    let col = |a: &str, b: &str| text(row, a).or_else(|| text(row, b));
    let io = col("Slave_IO_Running", "Replica_IO_Running").unwrap_or_default();
    let sql = col("Slave_SQL_Running", "Replica_SQL_Running").unwrap_or_default();
    let error = [
        col("Last_SQL_Error", "Last_SQL_Error"),
        col("Last_IO_Error", "Last_IO_Error"),
    ]
    .into_iter()
    .flatten()
    .find(|e| !e.is_empty());
    Ok(Replication::Replica(ReplicaFacts {
        receiving: io == "Yes",
        applying: sql == "Yes",
        lag: col("Seconds_Behind_Master", "Seconds_Behind_Source").and_then(|s| s.parse().ok()),
        error,
        receiver_state: io,
    }))
}

fn session(conn: &mut Conn, work: &Work, facts: &mut Facts) -> Result<(), DbFailure> {
    if work.describe {
        facts.version = conn
            .query_first::<String, _>("SELECT VERSION()")
            .map_err(|e| DbFailure::critical(message(&e)))?
            .unwrap_or_default();
        // SHOW works on MariaDB and MySQL alike (MySQL 8 has no information_schema table for it).
        facts.tls = conn
            .query_first::<(String, String), _>("SHOW SESSION STATUS LIKE 'Ssl_version'")
            .ok()
            .flatten()
            .map(|(_, v)| v)
            .filter(|v| !v.is_empty());
    }
    if let Some(sql) = &work.query {
        let begun = Instant::now();
        facts.query = Some(
            conn.query_first::<Row, _>(sql.as_str())
                .map(|row| QueryFacts {
                    has_row: row.is_some(),
                    first: row.as_ref().and_then(|r| r.as_ref(0).and_then(value_text)),
                    second: row.as_ref().and_then(|r| r.as_ref(1).and_then(value_text)),
                    elapsed: begun.elapsed(),
                })
                .map_err(|e| message(&e)),
        );
    }
    if work.status || work.connections {
        let rows: Vec<(String, String)> = conn
            .query("SHOW GLOBAL STATUS")
            .map_err(|e| DbFailure::critical(message(&e)))?;
        facts.status = rows;
    }
    if work.connections {
        let max = conn
            .query_first::<u64, _>("SELECT @@max_connections")
            .map_err(|e| message(&e));
        let used = facts
            .status("Threads_connected")
            .and_then(|v| v.parse::<u64>().ok());
        facts.connections = Some(max.and_then(|m| match (used, m) {
            (Some(u), Some(m)) => Ok((u, m)),
            _ => Err("no Threads_connected or max_connections".to_string()),
        }));
    }
    if work.replication {
        facts.replication = Some(replication(conn));
    }
    Ok(())
}

/// Connects, logs in, does the work and returns the facts.
pub fn acquire(target: &Target, work: &Work, deadline: Deadline) -> Result<Facts, DbFailure> {
    let started = Instant::now();
    let left = || {
        deadline
            .instant()
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1))
    };
    let socket = matches!(target.host.as_deref(), None | Some("localhost"));
    let mut opts = OptsBuilder::new()
        .user(target.user.clone())
        .pass(target.password.as_ref().map(|p| p.expose().to_string()))
        .db_name(target.database.clone())
        .prefer_socket(false)
        // Known here, so the driver does not ask the server (a round trip).
        .max_allowed_packet(Some(64 * 1024 * 1024))
        .tcp_connect_timeout(Some(left()))
        .read_timeout(Some(left()))
        .write_timeout(Some(left()));
    opts = if socket {
        opts.socket(Some(target.socket_path().to_string_lossy().into_owned()))
    } else {
        opts.ip_or_hostname(target.host.clone())
            .tcp_port(target.tcp_port())
    };
    if target.tls != TlsUse::Off {
        let verify = target.tls_options.verify;
        let mut ssl = SslOpts::default()
            .with_danger_accept_invalid_certs(!verify)
            .with_danger_skip_domain_validation(!verify);
        if let Some(ca) = &target.tls_options.ca_file {
            // The driver reads it while connecting; it may sit on a hung mount.
            rsplugins::runner::supervise();
            ssl = ssl.with_root_cert_path(Some(ca.clone()));
        }
        if let Some(auth) = &target.tls_options.client_auth {
            ssl = ssl.with_client_identity(Some(mysql::ClientIdentity::new(
                auth.cert.clone(),
                auth.key.clone(),
            )));
        }
        opts = opts.ssl_opts(Some(ssl));
    }
    let mut conn = Conn::new(opts).map_err(|e| DbFailure::from_mysql(&e, target, &deadline))?;
    let mut facts = Facts {
        engine: Some(Engine::Mysql),
        database: target.database.clone().unwrap_or_default(),
        connect: started.elapsed(),
        ..Facts::default()
    };
    session(&mut conn, work, &mut facts)?;
    facts.elapsed = started.elapsed();
    Ok(facts)
}

impl DbFailure {
    fn from_mysql(e: &mysql::Error, target: &Target, deadline: &Deadline) -> DbFailure {
        let timed_out = match e {
            mysql::Error::IoError(io) => matches!(
                io.kind(),
                std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
            ),
            mysql::Error::DriverError(d) => d.to_string().to_lowercase().contains("timed out"),
            _ => false,
        };
        if timed_out || Instant::now() >= deadline.instant() {
            return DbFailure::timeout(deadline, "logging in");
        }
        let text = e.to_string();
        if text.contains("Connection refused") {
            return DbFailure::critical(format!(
                "Can't connect to server on {}: Connection refused",
                target.place()
            ));
        }
        if text.contains("does not have this capability") {
            return DbFailure::critical(format!(
                "TLS required, but {} does not offer it",
                target.place()
            ));
        }
        match e {
            mysql::Error::MySqlError(m) => DbFailure::critical(m.message.clone()),
            mysql::Error::IoError(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                DbFailure::critical(format!(
                    "Can't connect to server on {}: Connection refused",
                    target.place()
                ))
            }
            mysql::Error::CodecError(_)
                if text.contains("alert") || text.contains("certificate") =>
            {
                DbFailure::critical(format!("TLS failed with {}: {e}", target.place()))
            }
            mysql::Error::CodecError(_) => DbFailure::critical(format!(
                "{} does not speak the MySQL protocol ({e})",
                target.place()
            )),
            other => DbFailure::critical(format!(
                "Can't connect to server on {}: {other}",
                target.place()
            )),
        }
    }
}
