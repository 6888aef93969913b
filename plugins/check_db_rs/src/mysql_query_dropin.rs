//! check_mysql_query_rs: C check_mysql_query's options and output
//! (`QUERY OK: 'select 5' returned 5.000000 | result=5;3;10`).

use clap::Parser;
use rsplugins::options::{CommonArgs, ThresholdArgs};
use rsplugins::output::FirstLine;
use rsplugins::perfdata::{Perfdata, Uom};
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

    #[command(flatten)]
    pub login: crate::mysql_dropin::MysqlLogin,

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
    let target = args
        .login
        .target(crate::target::TlsUse::Off, Default::default())?;
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
