//! `reap_procs_rs`: ends stuck or orphaned processes, selected with
//! check_proc_rs's own filters (`-C`, `-u`, `-a`, `--older-than`,
//! `--orphaned`, ...), so what the check counts is what the reaper ends.
//! SIGTERM, then SIGKILL after a grace period; `--dry-run` only lists.

use std::time::Duration;

use check_proc_rs::filter::{lookup_user, Filter, Filters};
use check_proc_rs::scan::acquire;
use clap::Parser;
use nix::sys::signal::Signal;
use rsplugins::options::{CommonArgs, ProcRootArgs};
use rsplugins::{CheckError, CheckResult, Perfdata, State, Uom};

use crate::journal::Journal;
use crate::leftovers::{self, Target};

const PROGRAM: &str = "reap_procs_rs";
const SERVICE: &str = "REAP";

/// Options of reap_procs_rs.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "reap_procs_rs",
    version,
    about = "End stuck or orphaned processes selected with check_proc_rs's filters (-C with --older-than and/or --orphaned)",
    long_about = None,
    mut_arg("timeout", |a| a.default_value("20"))
)]
pub struct Args {
    #[command(flatten)]
    pub filters: Filters,

    /// The first signal: TERM, INT, HUP, QUIT or KILL
    #[arg(long = "signal", value_name = "SIGNAL", default_value = "TERM", value_parser = parse_signal)]
    pub signal: Signal,

    /// Seconds before SIGKILL follows for processes still running (0: never)
    #[arg(long = "grace", value_name = "SECONDS", default_value = "5")]
    pub grace: u64,

    /// Refuse to end more than this many processes in one run
    #[arg(long = "max", value_name = "N", default_value = "20")]
    pub max: usize,

    /// List what would be ended, end nothing
    #[arg(long = "dry-run")]
    pub dry_run: bool,

    #[command(flatten)]
    pub proc: ProcRootArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

rsplugins::plugin_entry!(Args, SERVICE, check);

fn parse_signal(text: &str) -> Result<Signal, String> {
    match text
        .trim()
        .trim_start_matches("SIG")
        .to_ascii_uppercase()
        .as_str()
    {
        "TERM" | "15" => Ok(Signal::SIGTERM),
        "INT" | "2" => Ok(Signal::SIGINT),
        "HUP" | "1" => Ok(Signal::SIGHUP),
        "QUIT" | "3" => Ok(Signal::SIGQUIT),
        "KILL" | "9" => Ok(Signal::SIGKILL),
        _ => Err(format!("'{text}' is not one of TERM, INT, HUP, QUIT, KILL")),
    }
}

/// Runs the reaper.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let f = &args.filters.args;
    if f.command.is_none() {
        return Err(CheckError::unknown(
            "give -C COMMAND: the reaper never ends processes by age or orphanhood alone",
        ));
    }
    if f.older_than.is_none() && !f.orphaned && f.state.is_none() {
        return Err(CheckError::unknown(
            "give --older-than, --orphaned or -s: the reaper ends only stuck or orphaned processes",
        ));
    }
    let filter = Filter::resolve(&args.filters, lookup_user)?;
    let proc = args.proc.procfs();
    let data = acquire(&proc, &filter, true)?;
    let keep = leftovers::protected(&proc);
    let chosen: Vec<Target> = data
        .processes
        .iter()
        .filter(|p| !data.is_own(p) && !keep.contains(&p.pid) && !p.is_kernel_thread())
        .filter(|p| filter.matches(p, &data.sys))
        .map(|p| leftovers::target(p, if p.ppid == 1 { "orphaned" } else { "matched" }))
        .collect();
    let what = if filter.description.is_empty() {
        String::new()
    } else {
        format!(" with {}", filter.description)
    };
    let mut journal = Journal::new(PROGRAM, f.command.as_deref().unwrap_or("reap"));
    let perf = |n: usize| Perfdata::new("reaped", n as f64, Uom::None);
    if chosen.is_empty() {
        let mut r = journal.finish(State::Ok, format!("no processes to end{what}"));
        r.perf(perf(0));
        return Ok(r);
    }
    let list: Vec<String> = chosen.iter().map(|t| t.to_string()).collect();
    if chosen.len() > args.max {
        journal.error(format!(
            "{} processes match, more than --max {}: ending none",
            chosen.len(),
            args.max
        ));
        let mut r = journal.finish(
            State::Critical,
            format!(
                "{} processes match{what}, more than --max {}: ended none",
                chosen.len(),
                args.max
            ),
        );
        r.perf(perf(0));
        return Ok(r);
    }
    if args.dry_run {
        for t in &chosen {
            journal.notice(format!("would send {} to {t}", args.signal));
        }
        let mut r = journal.finish(
            State::Ok,
            format!(
                "dry run: would end {} processes{what}: {}",
                chosen.len(),
                list.join(", ")
            ),
        );
        r.perf(perf(0));
        return Ok(r);
    }
    for t in &chosen {
        match leftovers::send(&proc, t, args.signal) {
            Ok(()) => journal.notice(format!("sent {} to {t}", args.signal)),
            Err(e) => journal.error(e),
        }
    }
    let mut left = leftovers::wait_gone(&proc, &chosen, Duration::from_secs(args.grace));
    if !left.is_empty() && args.grace > 0 && args.signal != Signal::SIGKILL {
        left = leftovers::terminate(&proc, &left, Duration::ZERO, &mut journal);
    }
    let ended = chosen.len() - left.len();
    let mut r = if left.is_empty() {
        journal.finish(
            State::Ok,
            format!("ended {ended} processes{what}: {}", list.join(", ")),
        )
    } else {
        journal.finish(
            State::Critical,
            format!(
                "{} of {} processes{what} still run: {}",
                left.len(),
                chosen.len(),
                leftovers::list(&left)
            ),
        )
    };
    r.perf(perf(ended));
    Ok(r)
}
