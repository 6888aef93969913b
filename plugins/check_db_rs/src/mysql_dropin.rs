//! check_mysql_rs: C check_mysql's options and output (`Uptime: 81
//! Threads: 1 ...` and SHOW GLOBAL STATUS as perfdata), on the engine
//! layer of check_db_rs.

use std::path::PathBuf;

use clap::Parser;
use rsplugins::options::{parse_port, CommonArgs};
use rsplugins::output::FirstLine;
use rsplugins::perfdata::{Perfdata, Uom};
use rsplugins::range::Range;
use rsplugins::secret::Secret;
use rsplugins::thresholds::Thresholds;
use rsplugins::tls::TlsOptions;
use rsplugins::{CheckError, CheckResult, State};

use crate::facts::{Engine, Facts, Replication};
use crate::judge::replica_part;
use crate::target::{password_from_env, Target, TlsUse, Work};

/// C's connection options of check_mysql and check_mysql_query (the same
/// letters in both).
#[derive(clap::Args, Debug, Clone)]
pub struct MysqlLogin {
    /// Host (localhost or none: the socket)
    #[arg(short = 'H', long = "hostname", value_name = "ADDRESS")]
    pub hostname: Option<String>,

    /// Port (default 3306)
    #[arg(short = 'P', long = "port", value_name = "INTEGER", value_parser = parse_port)]
    pub port: Option<u16>,

    /// Socket file
    #[arg(short = 's', long = "socket", value_name = "PATH")]
    pub socket: Option<PathBuf>,

    /// Database
    #[arg(short = 'd', long = "database", value_name = "NAME")]
    pub database: Option<String>,

    /// User
    #[arg(short = 'u', long = "username", value_name = "USER")]
    pub username: Option<String>,

    /// Password (a secret: env:NAME, file:PATH; default MYSQL_PWD or the option file)
    #[arg(short = 'p', long = "password", value_name = "PASSWORD")]
    pub password: Option<Secret>,

    /// Option file to read (its [client] group, or -g's)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Group of the option file
    #[arg(
        short = 'g',
        long = "group",
        value_name = "GROUP",
        default_value = "client"
    )]
    pub group: String,
}

/// Check a MySQL/MariaDB server as C check_mysql does.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_mysql_rs",
    version,
    about = "Check a MySQL/MariaDB server: log in and show its status, or a replica's threads and \
             lag with -S (drop-in for check_mysql)"
)]
pub struct Args {
    #[command(flatten)]
    pub login: MysqlLogin,

    /// A refused login still counts: the server answered (OK)
    #[arg(short = 'n', long = "ignore-auth")]
    pub ignore_auth: bool,

    /// Check the replica: IO and SQL threads running, seconds behind
    #[arg(short = 'S', long = "check-slave", visible_alias = "check-replica")]
    pub check_slave: bool,

    /// Replica: WARNING when this many seconds behind
    #[arg(short = 'w', long = "warning", value_name = "SECONDS")]
    pub warning: Option<f64>,

    /// Replica: CRITICAL when this many seconds behind
    #[arg(short = 'c', long = "critical", value_name = "SECONDS")]
    pub critical: Option<f64>,

    /// Use TLS
    #[arg(short = 'l', long = "ssl")]
    pub ssl: bool,

    /// CA certificate file (verifies the server; implies -l)
    #[arg(short = 'C', long = "ca-cert", value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,

    /// Client certificate (PEM) to present (implies -l)
    #[arg(short = 'a', long = "cert", value_name = "FILE", requires = "key")]
    pub cert: Option<PathBuf>,

    /// Private key (PEM) of the client certificate
    #[arg(short = 'k', long = "key", value_name = "FILE", requires = "cert")]
    pub key: Option<PathBuf>,

    /// Not supported (a CA directory; use -C): refused
    #[arg(short = 'D', long = "ca-dir", value_name = "DIR", hide = true)]
    pub ca_dir: Option<PathBuf>,

    /// Not supported (cipher lists): refused
    #[arg(short = 'L', long = "ciphers", value_name = "LIST", hide = true)]
    pub ciphers: Option<String>,

    #[command(flatten)]
    pub common: CommonArgs,
}

rsplugins::plugin_entry!(Args, "MYSQL", check, first_line = FirstLine::Bare);

/// `[group]` keys of a MySQL option file (`key=value`, quotes removed).
pub fn option_file_group(text: &str, group: &str) -> Vec<(String, String)> {
    let mut current = String::new();
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_string();
            continue;
        }
        if current == group {
            let (k, v) = line.split_once('=').unwrap_or((line, ""));
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .or_else(|| v.strip_prefix('\'').and_then(|x| x.strip_suffix('\'')))
                .unwrap_or(v);
            out.push((k.trim().replace('-', "_"), v.to_string()));
        }
    }
    out
}

impl MysqlLogin {
    /// The target of these options, with the option file's values beneath
    /// them, and the TLS the binary chose.
    pub fn target(&self, tls: TlsUse, tls_options: TlsOptions) -> Result<Target, CheckError> {
        let file: Vec<(String, String)> = match &self.file {
            Some(path) => {
                let text = rsplugins::userfile::read_text(path, 1 << 20).map_err(|e| {
                    CheckError::unknown(format!("cannot read {}: {e}", path.display()))
                })?;
                option_file_group(&text, &self.group)
            }
            None => Vec::new(),
        };
        let from_file = |key: &str| {
            file.iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        let port = match (self.port, from_file("port")) {
            (None, Some(p)) => Some(parse_port(&p).map_err(CheckError::unknown)?),
            (port, _) => port,
        };
        Ok(Target {
            engine: Engine::Mysql,
            host: self.hostname.clone().or_else(|| from_file("host")),
            port,
            socket: self
                .socket
                .clone()
                .or_else(|| from_file("socket").map(PathBuf::from)),
            user: self.username.clone().or_else(|| from_file("user")),
            password: self
                .password
                .clone()
                .or_else(|| from_file("password").map(Secret::new))
                .or_else(|| password_from_env(Engine::Mysql)),
            database: self.database.clone().or_else(|| from_file("database")),
            tls,
            tls_options,
        })
    }
}

/// check_mysql's target: the login options and its TLS options.
pub fn target(args: &Args) -> Result<Target, CheckError> {
    for (given, what) in [
        (args.ca_dir.is_some(), "-D (a CA directory; use -C)"),
        (args.ciphers.is_some(), "-L (cipher lists)"),
    ] {
        if given {
            return Err(CheckError::unknown(format!("{what} is not supported")));
        }
    }
    let tls = if args.ssl || args.ca_cert.is_some() || args.cert.is_some() {
        TlsUse::Require
    } else {
        TlsUse::Off
    };
    args.login.target(
        tls,
        TlsOptions {
            verify: args.ca_cert.is_some(),
            ca_file: args.ca_cert.clone(),
            client_auth: crate::client_auth(&args.cert, &args.key)?,
            ..TlsOptions::default()
        },
    )
}

/// C's status text from SHOW GLOBAL STATUS (what mysql_stat() returns).
pub fn status_text(facts: &Facts) -> String {
    let n = |k: &str| facts.status(k).unwrap_or("0").to_string();
    let uptime: f64 = n("Uptime").parse().unwrap_or(0.0);
    let questions: f64 = n("Questions").parse().unwrap_or(0.0);
    let qps = if uptime > 0.0 {
        questions / uptime
    } else {
        0.0
    };
    format!(
        "Uptime: {}  Threads: {}  Questions: {}  Slow queries: {}  Opens: {}  Open tables: {}  Queries per second avg: {qps:.3}",
        n("Uptime"),
        n("Threads_connected"),
        n("Questions"),
        n("Slow_queries"),
        n("Opened_tables"),
        n("Open_tables"),
    )
}

/// C's perfdata: these status variables, counters with `c`.
const PERF: &[(&str, bool)] = &[
    ("Connections", true),
    ("Open_files", false),
    ("Open_tables", false),
    ("Qcache_free_memory", false),
    ("Qcache_hits", true),
    ("Qcache_inserts", true),
    ("Qcache_lowmem_prunes", true),
    ("Qcache_not_cached", true),
    ("Qcache_queries_in_cache", false),
    ("Queries", true),
    ("Questions", true),
    ("Table_locks_waited", true),
    ("Threads_connected", false),
    ("Threads_running", false),
    ("Uptime", true),
];

/// Judges the facts as C check_mysql does.
pub fn evaluate(args: &Args, facts: &Facts) -> CheckResult {
    let mut summary = status_text(facts);
    let mut state = State::Ok;
    if let Some(found) = &facts.replication {
        let lag = Thresholds::new(
            args.warning.map(Range::upto),
            args.critical.map(Range::upto),
        );
        let part = match found {
            Ok(Replication::Replica(r)) => replica_part(r, &lag, true),
            Ok(_) => CheckResult::with_state(State::Warning, "No slaves defined"),
            Err(e) => CheckResult::with_state(State::Critical, format!("replica status: {e}")),
        };
        if let Ok(Replication::Replica(r)) = found {
            summary.push_str(&format!(
                " Slave IO: {} Slave SQL: {} Seconds Behind Master: {}",
                r.receiver_state,
                if r.applying { "Yes" } else { "No" },
                r.lag.map_or("NULL".to_string(), |l| format!("{l}"))
            ));
        } else {
            summary.push_str(&format!(" {}", part.summary));
        }
        state = part.state();
    }
    let mut result = CheckResult::with_state(state, summary);
    for (name, counter) in PERF {
        if let Some(v) = facts.status(name).and_then(|v| v.parse::<f64>().ok()) {
            let uom = if *counter { Uom::Counter } else { Uom::None };
            result.perf(Perfdata::new(*name, v, uom));
        }
    }
    result
}

/// Logs in (and with -S reads the replica status) and judges as C.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let target = target(&args)?;
    let work = Work {
        replication: args.check_slave,
        status: true,
        ..Work::default()
    };
    match crate::acquire(&target, &work, &args.common.timeout) {
        Ok(facts) => Ok(evaluate(&args, &facts)),
        // -n: a refused login means the server is up.
        Err(e) if args.ignore_auth && e.message.contains("Access denied") => {
            Ok(CheckResult::with_state(State::Ok, e.message))
        }
        Err(e) => Err(e),
    }
}
