//! check_mysql_query_rs: C check_mysql_query's options and output
//! (`QUERY OK: 'select 5' returned 5.000000 | result=5;3;10`).

use std::path::PathBuf;

use clap::Parser;
use rsplugins::options::{parse_port, CommonArgs, ThresholdArgs};
use rsplugins::output::FirstLine;
use rsplugins::perfdata::{Perfdata, Uom};
use rsplugins::secret::Secret;
use rsplugins::{CheckError, CheckResult, State};

use crate::judge::query_number;
use crate::target::Work;

/// Check a number a MySQL/MariaDB query returns, as C check_mysql_query does.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_mysql_query_rs",
    version,
    about = "Check the number a MySQL/MariaDB query returns (drop-in for check_mysql_query)"
)]
pub struct Args {
    /// The query; the first column of the first row is judged
    #[arg(short = 'q', long = "query", value_name = "SQL", required = true)]
    pub query: String,

    /// The query's name in the output
    #[arg(long = "queryname", value_name = "NAME")]
    pub queryname: Option<String>,

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

    /// Thresholds on the query's number
    #[command(flatten)]
    pub thresholds: ThresholdArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

rsplugins::plugin_entry!(Args, "QUERY", check, first_line = FirstLine::Colon);

/// Judges the query's first value as C does.
pub fn evaluate(args: &Args, query: &Result<crate::facts::QueryFacts, String>) -> CheckResult {
    let shown = args.queryname.as_deref().unwrap_or(&args.query);
    match query {
        Err(e) => CheckResult::with_state(State::Critical, format!("Error with query - {e}")),
        Ok(q) if !q.has_row => CheckResult::with_state(State::Warning, "No rows returned"),
        Ok(_) => match query_number(query) {
            Err(_) => {
                let value = query
                    .as_ref()
                    .ok()
                    .and_then(|q| q.first.clone())
                    .unwrap_or_else(|| "NULL".to_string());
                CheckResult::with_state(State::Critical, format!("Is not a numeric - '{value}'"))
            }
            Ok((n, _)) => {
                let thresholds = args.thresholds.thresholds();
                let mut r = CheckResult::with_state(
                    thresholds.evaluate(n),
                    format!("'{shown}' returned {n:.6}"),
                );
                r.perf(Perfdata::new("result", n, Uom::None).thresholds(&thresholds));
                r
            }
        },
    }
}

/// Logs in, runs the query and judges its number.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let as_mysql = crate::mysql_dropin::Args {
        hostname: args.hostname.clone(),
        port: args.port,
        socket: args.socket.clone(),
        database: args.database.clone(),
        username: args.username.clone(),
        password: args.password.clone(),
        file: args.file.clone(),
        group: args.group.clone(),
        ignore_auth: false,
        check_slave: false,
        warning: None,
        critical: None,
        ssl: false,
        ca_cert: None,
        cert: None,
        key: None,
        ca_dir: None,
        ciphers: None,
        common: args.common.clone(),
    };
    let target = crate::mysql_dropin::target(&as_mysql)?;
    let work = Work {
        query: Some(args.query.clone()),
        ..Work::default()
    };
    let facts = crate::acquire(&target, &work, &args.common.timeout)?;
    let query = facts
        .query
        .unwrap_or_else(|| Err("the query was not run".to_string()));
    Ok(evaluate(&args, &query))
}
