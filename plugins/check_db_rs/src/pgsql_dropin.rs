//! check_pgsql_rs: C check_pgsql's options and output (` OK - database
//! template1 (0.017500 sec.)`, a query's line below), on the engine layer of
//! check_db_rs.

use clap::Parser;
use rsplugins::options::{parse_port, CommonArgs};
use rsplugins::output::FirstLine;
use rsplugins::perfdata::{Perfdata, Uom};
use rsplugins::range::Range;
use rsplugins::secret::Secret;
use rsplugins::thresholds::Thresholds;
use rsplugins::tls::TlsOptions;
use rsplugins::{CheckError, CheckResult, State};

use crate::facts::{Engine, Facts};
use crate::judge::query_number;
use crate::target::{password_from_env, Target, TlsUse, Work};

/// Check a PostgreSQL server as C check_pgsql does.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_pgsql_rs",
    version,
    about = "Check a PostgreSQL server: log in within -w/-c seconds, and optionally judge a \
             query's number (drop-in for check_pgsql)"
)]
pub struct Args {
    /// Host (none: the local socket)
    #[arg(short = 'H', long = "hostname", value_name = "ADDRESS")]
    pub hostname: Option<String>,

    /// Port (default 5432)
    #[arg(short = 'P', long = "port", value_name = "INTEGER", value_parser = parse_port)]
    pub port: Option<u16>,

    /// Database
    #[arg(
        short = 'd',
        long = "database",
        value_name = "NAME",
        default_value = "template1"
    )]
    pub database: String,

    /// User
    #[arg(short = 'l', long = "logname", value_name = "USER")]
    pub logname: Option<String>,

    /// Password (a secret: env:NAME, file:PATH; default PGPASSWORD, then ~/.pgpass)
    #[arg(short = 'p', long = "password", value_name = "PASSWORD")]
    pub password: Option<Secret>,

    /// Connection options, as libpq's key=value words (only sslmode is read)
    #[arg(short = 'o', long = "option", value_name = "OPTIONS")]
    pub option: Option<String>,

    /// Login time (seconds) for WARNING
    #[arg(
        short = 'w',
        long = "warning",
        value_name = "SECONDS",
        default_value = "2"
    )]
    pub warning: f64,

    /// Login time (seconds) for CRITICAL
    #[arg(
        short = 'c',
        long = "critical",
        value_name = "SECONDS",
        default_value = "8"
    )]
    pub critical: f64,

    /// A query whose first column of the first row is judged
    #[arg(short = 'q', long = "query", value_name = "SQL")]
    pub query: Option<String>,

    /// The query's name in the output
    #[arg(long = "queryname", value_name = "NAME")]
    pub queryname: Option<String>,

    /// Warning range for the query's number
    #[arg(
        short = 'W',
        long = "query-warning",
        value_name = "RANGE",
        allow_hyphen_values = true
    )]
    pub query_warning: Option<Range>,

    /// Critical range for the query's number
    #[arg(
        short = 'C',
        long = "query-critical",
        value_name = "RANGE",
        allow_hyphen_values = true
    )]
    pub query_critical: Option<Range>,

    #[command(flatten)]
    pub common: CommonArgs,
}

// C's line has no service name: ` OK - database ...`.
rsplugins::plugin_entry!(Args, "", check);

/// The target of C's options.
pub fn target(args: &Args) -> Result<Target, CheckError> {
    let sslmode = args
        .option
        .as_deref()
        .unwrap_or("")
        .split_whitespace()
        .find_map(|kv| kv.strip_prefix("sslmode="));
    let tls = match sslmode {
        None | Some("prefer" | "allow") => TlsUse::Prefer,
        Some("disable") => TlsUse::Off,
        Some("require" | "verify-ca" | "verify-full") => TlsUse::Require,
        Some(other) => return Err(CheckError::unknown(format!("sslmode={other} is not known"))),
    };
    Ok(Target {
        engine: Engine::Pgsql,
        host: args.hostname.clone(),
        port: args.port,
        socket: None,
        user: args.logname.clone(),
        password: args
            .password
            .clone()
            .or_else(|| password_from_env(Engine::Pgsql)),
        database: Some(args.database.clone()),
        tls,
        tls_options: TlsOptions::default(),
    })
}

/// Judges as C: the login time, then the query's line.
pub fn evaluate(args: &Args, facts: &Facts) -> CheckResult {
    let seconds = facts.connect.as_secs_f64();
    let time = Thresholds::new(
        Some(Range::upto(args.warning)),
        Some(Range::upto(args.critical)),
    );
    let time_state = time.evaluate(seconds);
    let mut result = CheckResult::new(format!("database {} ({seconds:.6} sec.)", facts.database));
    result.perf(
        Perfdata::seconds("time", facts.connect)
            .thresholds(&time)
            .min(0.0),
    );
    let mut state = time_state;
    if let Some(query) = &facts.query {
        let shown = args
            .queryname
            .as_deref()
            .or(args.query.as_deref())
            .unwrap_or_default();
        let (qstate, line) = match query_number(query) {
            Err(why) => (State::Critical, format!("QUERY CRITICAL - {why}")),
            Ok((n, _)) => {
                let thresholds = Thresholds::new(args.query_warning, args.query_critical);
                let s = thresholds.evaluate(n);
                result.perf(Perfdata::new("query", n, Uom::None).thresholds(&thresholds));
                (s, format!("QUERY {s} - '{shown}' returned {n:.6}"))
            }
        };
        result.detail(line);
        state = state.worst(qstate);
    }
    result.set_state(state);
    result
}

/// Logs in (and runs -q) and judges as C.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let target = target(&args)?;
    let work = Work {
        query: args.query.clone(),
        ..Work::default()
    };
    match crate::acquire(&target, &work, &args.common.timeout) {
        Ok(facts) => Ok(evaluate(&args, &facts)),
        // C's own form for a failed login: `CRITICAL - no connection to '...' (...)`.
        Err(e) if e.state == State::Critical => {
            let mut r =
                CheckResult::with_state(State::Critical, format!("CRITICAL - {}.", e.message));
            r.first_line = Some(FirstLine::Bare);
            Ok(r)
        }
        Err(e) => Err(e),
    }
}
