//! check_db_rs: log in to MySQL/MariaDB or PostgreSQL, and judge a query's
//! number, replication and connections; with check_mysql_rs,
//! check_mysql_query_rs and check_pgsql_rs, C's three database plugins with
//! their own options and output, on the same engine layer.
//!
//! [`mysql`] and [`pgsql`] acquire [`facts::Facts`]; each binary's evaluate
//! judges them.

pub mod facts;
pub mod judge;
pub mod mysql;
pub mod mysql_dropin;
pub mod mysql_query_dropin;
pub mod pgsql;
pub mod pgsql_dropin;
pub mod target;

use std::path::PathBuf;

use clap::Parser;
use rsplugins::net::{Deadline, NetError};
use rsplugins::options::{parse_port, CommonArgs, ThresholdArgs};
use rsplugins::range::Range;
use rsplugins::secret::Secret;
use rsplugins::timeout::TimeoutSpec;
use rsplugins::tls::{ClientAuth, TlsOptions};
use rsplugins::{CheckError, CheckResult, State};

use facts::{Engine, Facts};
use target::{password_from_env, Target, TlsUse, Work};

/// Service name when the engine is not yet known.
pub const SERVICE: &str = "DB";

/// Why a session failed: a state (`None`: the `-t` state, a time-out) and
/// a message with no secret in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DbFailure {
    /// The state; `None` for a time-out (the `-t` state applies).
    pub state: Option<State>,
    /// What happened.
    pub message: String,
}

impl DbFailure {
    /// A CRITICAL failure.
    pub fn critical(message: impl Into<String>) -> DbFailure {
        DbFailure {
            state: Some(State::Critical),
            message: message.into(),
        }
    }

    /// A time-out while `during`.
    pub fn timeout(deadline: &Deadline, during: &str) -> DbFailure {
        DbFailure {
            state: None,
            message: NetError::timeout(during, deadline.budget()).to_string(),
        }
    }

    /// A connect failure, by the library's one policy ([`NetError::state`]);
    /// a time-out takes `-t`'s state when it becomes the check's error.
    pub fn net(e: NetError) -> DbFailure {
        let timed_out = matches!(e, NetError::Timeout { .. });
        DbFailure {
            state: (!timed_out).then(|| e.state(&TimeoutSpec::default(), State::Critical)),
            message: e.to_string(),
        }
    }

    /// The local socket cannot be reached.
    pub fn socket(path: &std::path::Path, e: &std::io::Error) -> DbFailure {
        DbFailure::critical(format!(
            "cannot connect to the socket {}: {e}",
            path.display()
        ))
    }

    /// The check error, with `-t`'s state for a time-out.
    pub fn into_check_error(self, timeout: &TimeoutSpec) -> CheckError {
        CheckError::new(self.state.unwrap_or(timeout.state), self.message)
    }
}

/// Runs the session for `target` within the deadline.
pub fn acquire(target: &Target, work: &Work, timeout: &TimeoutSpec) -> Result<Facts, CheckError> {
    let deadline = Deadline::from_timeout(timeout);
    let facts = match target.engine {
        Engine::Mysql => mysql::acquire(target, work, deadline),
        Engine::Pgsql => rsplugins::net::runtime::block_on(pgsql::acquire(target, work, deadline))?,
    };
    facts.map_err(|f| f.into_check_error(timeout))
}

/// Check a MySQL/MariaDB or PostgreSQL server.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_db_rs",
    version,
    about = "Check a MySQL/MariaDB or PostgreSQL server: log in, a query's number, replication, \
             connections in use"
)]
pub struct Args {
    /// mysql (also MariaDB) or pgsql (also postgres)
    #[arg(long = "type", value_name = "ENGINE", value_parser = parse_engine)]
    pub engine: Option<Engine>,

    /// The server as a URL: mysql://USER@HOST:PORT/DB or
    /// postgres://USER@HOST:PORT/DB?sslmode=require (a password in it is masked)
    #[arg(long = "url", value_name = "URL")]
    pub url: Option<String>,

    /// Host name or address (MySQL: localhost means the socket, as C)
    #[arg(short = 'H', long = "hostname", value_name = "ADDRESS")]
    pub hostname: Option<String>,

    /// Port (default 3306 or 5432)
    #[arg(short = 'p', long = "port", value_name = "INTEGER", value_parser = parse_port)]
    pub port: Option<u16>,

    /// The socket: MySQL's socket file, or PostgreSQL's socket directory
    #[arg(long = "socket", value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// User to log in as
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub user: Option<String>,

    /// Password (a secret: env:NAME, file:PATH; default MYSQL_PWD or
    /// PGPASSWORD, then ~/.pgpass for PostgreSQL)
    #[arg(short = 'P', long = "password", value_name = "PASSWORD")]
    pub password: Option<Secret>,

    /// Database
    #[arg(short = 'd', long = "database", value_name = "NAME")]
    pub database: Option<String>,

    /// Require TLS (without it: MySQL plain, PostgreSQL TLS when offered)
    #[arg(long = "tls")]
    pub tls: bool,

    /// Verify the server certificate against these CA certificates (implies --tls)
    #[arg(long = "ca-file", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,

    /// Require TLS without verifying the certificate
    #[arg(long = "insecure", conflicts_with = "ca_file")]
    pub insecure: bool,

    /// Client certificate (PEM) to present (implies --tls)
    #[arg(long = "client-cert", value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,

    /// Private key (PEM) of the client certificate
    #[arg(long = "client-key", value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,

    /// A query whose first column of the first row is judged (a second
    /// column is shown with it)
    #[arg(long = "query", value_name = "SQL")]
    pub query: Option<String>,

    /// Warning range for the query's number
    #[arg(
        long = "query-warning",
        value_name = "RANGE",
        allow_hyphen_values = true
    )]
    pub query_warning: Option<Range>,

    /// Critical range for the query's number
    #[arg(
        long = "query-critical",
        value_name = "RANGE",
        allow_hyphen_values = true
    )]
    pub query_critical: Option<Range>,

    /// The query's name in the output and perfdata
    #[arg(long = "queryname", value_name = "NAME")]
    pub queryname: Option<String>,

    /// Check replication: a replica's threads and lag, a primary's replicas
    #[arg(long = "replication")]
    pub replication: bool,

    /// Warning range for the replication lag in seconds
    #[arg(long = "replication-warning", value_name = "RANGE")]
    pub replication_warning: Option<Range>,

    /// Critical range for the replication lag in seconds
    #[arg(long = "replication-critical", value_name = "RANGE")]
    pub replication_critical: Option<Range>,

    /// Check connections in use against max_connections
    #[arg(long = "connections")]
    pub connections: bool,

    /// Warning range for the percentage of max_connections in use
    #[arg(long = "connections-warning", value_name = "RANGE")]
    pub connections_warning: Option<Range>,

    /// Critical range for the percentage of max_connections in use
    #[arg(long = "connections-critical", value_name = "RANGE")]
    pub connections_critical: Option<Range>,

    /// Connection time (seconds) thresholds
    #[command(flatten)]
    pub thresholds: ThresholdArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

fn parse_engine(text: &str) -> Result<Engine, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "mysql" | "mariadb" => Ok(Engine::Mysql),
        "pgsql" | "postgres" | "postgresql" => Ok(Engine::Pgsql),
        other => Err(format!("'{other}' is not mysql or pgsql")),
    }
}

fn engine_service(args: &Args) -> Option<&'static str> {
    let engine = args.engine.or_else(|| {
        args.url
            .as_deref()
            .and_then(|u| u.split_once("://"))
            .and_then(|(s, _)| parse_engine(s).ok())
    })?;
    Some(match engine {
        Engine::Mysql => "MYSQL",
        Engine::Pgsql => "PGSQL",
    })
}

rsplugins::plugin_entry!(Args, SERVICE, check, service = engine_service);

/// Every binary's clap definition (check_db_rs, then the C drop-ins), for
/// the man pages and command definitions: this crate builds four plugins.
pub fn commands() -> Vec<clap::Command> {
    vec![
        command(),
        mysql_dropin::command(),
        mysql_query_dropin::command(),
        pgsql_dropin::command(),
    ]
}

/// The parts of a URL: engine, user, password, host, port, database, sslmode.
#[derive(Debug, Default, PartialEq)]
pub struct Url {
    /// The engine of the scheme.
    pub engine: Option<Engine>,
    /// The user.
    pub user: Option<String>,
    /// The password (registered as a secret).
    pub password: Option<Secret>,
    /// The host.
    pub host: Option<String>,
    /// The port.
    pub port: Option<u16>,
    /// The database.
    pub database: Option<String>,
    /// `sslmode` (PostgreSQL's words: disable, prefer, require, verify-full).
    pub sslmode: Option<String>,
}

/// Parses `mysql://user:pass@host:port/db?sslmode=require`.
pub fn parse_url(text: &str) -> Result<Url, String> {
    let (scheme, rest) = text
        .split_once("://")
        .ok_or_else(|| format!("'{text}' is not a URL (mysql://... or postgres://...)"))?;
    let mut url = Url {
        engine: Some(parse_engine(scheme)?),
        ..Url::default()
    };
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if let Some(u) = userinfo {
        let (user, pass) = u.split_once(':').unwrap_or((u, ""));
        url.user = (!user.is_empty()).then(|| user.to_string());
        url.password = (!pass.is_empty()).then(|| Secret::new(pass));
    }
    let (host, port) = match hostport.strip_prefix('[') {
        Some(v6) => {
            let (h, after) = v6.split_once(']').unwrap_or((v6, ""));
            (h, after.strip_prefix(':'))
        }
        None => match hostport.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (hostport, None),
        },
    };
    url.host = (!host.is_empty()).then(|| host.to_string());
    url.port = port
        .map(|p| parse_port(p).map_err(|e| format!("{e} in the URL")))
        .transpose()?;
    url.database = (!path.is_empty()).then(|| path.to_string());
    url.sslmode = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("sslmode="))
        .map(str::to_string);
    Ok(url)
}

/// The target of check_db_rs's options (the options win over the URL).
pub fn target(args: &Args) -> Result<Target, CheckError> {
    let url = args
        .url
        .as_deref()
        .map(parse_url)
        .transpose()
        .map_err(CheckError::unknown)?
        .unwrap_or_default();
    let engine = args
        .engine
        .or(url.engine)
        .ok_or_else(|| CheckError::unknown("say which server: --type mysql|pgsql, or --url"))?;
    let tls = match url.sslmode.as_deref() {
        _ if args.tls || args.ca_file.is_some() || args.insecure || args.client_cert.is_some() => {
            TlsUse::Require
        }
        Some("disable") => TlsUse::Off,
        Some("require" | "verify-ca" | "verify-full") => TlsUse::Require,
        Some("prefer" | "allow") | None if engine == Engine::Pgsql => TlsUse::Prefer,
        Some(other) if !["prefer", "allow"].contains(&other) => {
            return Err(CheckError::unknown(format!("sslmode={other} is not known")))
        }
        _ => TlsUse::Off,
    };
    let password = args
        .password
        .clone()
        .or(url.password)
        .or_else(|| password_from_env(engine));
    Ok(Target {
        engine,
        host: args.hostname.clone().or(url.host),
        port: args.port.or(url.port),
        socket: args.socket.clone(),
        user: args.user.clone().or(url.user),
        password,
        database: args.database.clone().or(url.database),
        tls,
        tls_options: TlsOptions {
            verify: args.ca_file.is_some(),
            ca_file: args.ca_file.clone(),
            client_auth: client_auth(&args.client_cert, &args.client_key)?,
            ..TlsOptions::default()
        },
    })
}

/// A client certificate and key, when both are given; the files must be
/// readable (the drivers' own errors do not name them).
pub fn client_auth(
    cert: &Option<PathBuf>,
    key: &Option<PathBuf>,
) -> Result<Option<ClientAuth>, CheckError> {
    let (Some(cert), Some(key)) = (cert, key) else {
        return Ok(None);
    };
    // A file the user names may sit on a hung mount, past any signal.
    rsplugins::runner::supervise();
    for path in [cert, key] {
        std::fs::File::open(path)
            .map_err(|e| CheckError::unknown(format!("cannot read {}: {e}", path.display())))?;
    }
    Ok(Some(ClientAuth {
        cert: cert.clone(),
        key: key.clone(),
    }))
}

/// Logs in, does what the options ask and judges it.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let target = target(&args)?;
    let work = Work {
        query: args.query.clone(),
        replication: args.replication,
        connections: args.connections,
        status: false,
        describe: true,
    };
    let facts = acquire(&target, &work, &args.common.timeout)?;
    Ok(judge::evaluate(&args, &target, &facts))
}

#[cfg(test)]
mod tests;
