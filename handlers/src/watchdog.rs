//! `watchdog_rs`: self-healing for hosts without an engine. From cron,
//! every minute: runs the checks of a small config file with their
//! time-outs, counts each check's failures in a row in a state file, runs
//! the check's action when the count reaches its threshold (and again
//! every threshold failures after), logs to syslog, and prints a
//! plugin-style summary with the worst state, so an engine can watch it.
//!
//! ```text
//! # /etc/rsplugins/watchdog.conf
//! [ftp]
//! check = /usr/lib/nagios/plugins/check_ftp_rs -H 127.0.0.1 -t 5
//! failures = 3                  # failures in a row before acting (default 3)
//! on = critical,unknown         # states that count as failures (default)
//! timeout = 10                  # seconds for the check (default 10)
//! action = /usr/lib/nagios/plugins/restart_service_rs --unit vsftpd
//!          --service $SERVICE$ --state $STATE$ --state-type $STATETYPE$ --attempt $ATTEMPT$
//! recovery = ...                # optional: run when the check is OK again after acting
//! ```
//! Commands are words, never given to a shell; `$SERVICE$`, `$STATE$`,
//! `$STATETYPE$` (SOFT before the threshold, HARD from it), `$ATTEMPT$`
//! and `$OUTPUT$` are replaced inside words. A long value continues on
//! lines that start with whitespace.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use rsplugins::options::CommonArgs;
use rsplugins::{CheckError, CheckResult, Perfdata, State, Uom};
use serde_json::{json, Map, Value};

use crate::event::parse_states;
use crate::journal::Journal;
use crate::names;

const PROGRAM: &str = "watchdog_rs";
const SERVICE: &str = "WATCHDOG";

/// Options of watchdog_rs.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "watchdog_rs",
    version,
    about = "Cron watchdog: run the checks of a config file, count failures, run their actions (restart_service_rs, shed_load_rs), log to syslog",
    long_about = None,
    mut_arg("timeout", |a| a.default_value("50"))
)]
pub struct Args {
    /// The config file (not writable by group or others)
    #[arg(
        short = 'f',
        long = "config",
        value_name = "FILE",
        default_value = "/etc/rsplugins/watchdog.conf"
    )]
    pub config: PathBuf,

    /// Where the failure counts live
    #[arg(long = "state-dir", value_name = "DIR", default_value = crate::STATE_DIR)]
    pub state_dir: PathBuf,

    /// Run the checks, say which actions would run, run none and keep no counts
    #[arg(long = "dry-run")]
    pub dry_run: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

rsplugins::plugin_entry!(Args, SERVICE, check);

/// One check of the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// Its section name.
    pub name: String,
    /// The check command.
    pub check: Vec<String>,
    /// Failures in a row before the action.
    pub failures: u32,
    /// States that count as failures.
    pub on: Vec<State>,
    /// Seconds the check may take.
    pub timeout: u64,
    /// What to run at the threshold.
    pub action: Option<Vec<String>>,
    /// What to run when OK again after an action.
    pub recovery: Option<Vec<String>>,
}

/// Parses the config text (`source` names it in errors).
pub fn parse_config(text: &str, source: &str) -> Result<Vec<Watch>, String> {
    // Continuation lines (leading whitespace) join the previous line.
    let mut lines: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        // A whole-line comment first; then a comment after a value (` #`).
        let no_comment = if raw.trim_start().starts_with(['#', ';']) {
            ""
        } else {
            raw.find(" #").map_or(raw, |at| &raw[..at])
        };
        if no_comment.trim().is_empty() {
            continue;
        }
        if no_comment.starts_with([' ', '\t']) {
            match lines.last_mut() {
                Some((_, prev)) if !prev.starts_with('[') => {
                    prev.push(' ');
                    prev.push_str(no_comment.trim());
                    continue;
                }
                _ => {
                    return Err(format!(
                        "{source}:{}: a continuation line with nothing to continue",
                        i + 1
                    ))
                }
            }
        }
        lines.push((i + 1, no_comment.trim().to_string()));
    }
    let mut watches: Vec<Watch> = Vec::new();
    let mut current: Option<Watch> = None;
    let finish = |w: Option<Watch>, watches: &mut Vec<Watch>| -> Result<(), String> {
        if let Some(w) = w {
            if w.check.is_empty() {
                return Err(format!("{source}: [{}] has no check", w.name));
            }
            watches.push(w);
        }
        Ok(())
    };
    for (n, line) in lines {
        let at = |msg: String| format!("{source}:{n}: {msg}");
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            finish(current.take(), &mut watches)?;
            let name = names::unit(name.trim()).map_err(at)?;
            if watches.iter().any(|w| w.name == name) {
                return Err(at(format!("[{name}] appears twice")));
            }
            current = Some(Watch {
                name,
                check: Vec::new(),
                failures: 3,
                on: vec![State::Critical, State::Unknown],
                timeout: 10,
                action: None,
                recovery: None,
            });
            continue;
        }
        let Some(w) = current.as_mut() else {
            return Err(at("a setting before the first [section]".into()));
        };
        let Some((key, value)) = line.split_once('=') else {
            return Err(at(format!("'{line}' is not KEY = VALUE")));
        };
        let value = value.trim();
        match key.trim() {
            "check" => w.check = names::command(value).map_err(at)?,
            "action" => w.action = Some(names::command(value).map_err(at)?),
            "recovery" => w.recovery = Some(names::command(value).map_err(at)?),
            "failures" => {
                w.failures = value
                    .parse()
                    .ok()
                    .filter(|n| *n >= 1)
                    .ok_or_else(|| at(format!("failures = '{value}' is not a number from 1")))?
            }
            "timeout" => {
                w.timeout =
                    value.parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                        at(format!("timeout = '{value}' is not a number of seconds"))
                    })?
            }
            "on" => w.on = parse_states(value).map_err(at)?,
            other => return Err(at(format!("unknown setting '{other}'"))),
        }
    }
    finish(current, &mut watches)?;
    if watches.is_empty() {
        return Err(format!("{source}: no [check] section"));
    }
    Ok(watches)
}

/// `$NAME$` macros replaced inside each word.
pub fn expand(argv: &[String], macros: &[(&str, String)]) -> Vec<String> {
    argv.iter()
        .map(|word| {
            macros.iter().fold(word.clone(), |w, (name, value)| {
                w.replace(&format!("${name}$"), value)
            })
        })
        .collect()
}

fn state_of(code: Option<i32>) -> State {
    match code {
        Some(0) => State::Ok,
        Some(1) => State::Warning,
        Some(2) => State::Critical,
        _ => State::Unknown,
    }
}

/// The config file, refused when others could change what runs.
fn read_config(path: &Path) -> Result<String, CheckError> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path)
        .map_err(|e| CheckError::unknown(format!("config {}: {e}", path.display())))?;
    if meta.mode() & 0o022 != 0 {
        return Err(CheckError::unknown(format!(
            "config {} is writable by group or others (mode {:o}): refused",
            path.display(),
            meta.mode() & 0o7777
        )));
    }
    std::fs::read_to_string(path)
        .map_err(|e| CheckError::unknown(format!("config {}: {e}", path.display())))
}

/// Runs the watchdog.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let started = Instant::now();
    let deadline = crate::deadline(started, &args.common);
    let text = read_config(&args.config)?;
    let watches =
        parse_config(&text, &args.config.display().to_string()).map_err(CheckError::unknown)?;
    let Some(held) = crate::hold_state(&args.state_dir, "watchdog", args.dry_run)? else {
        return Err(CheckError::new(
            State::Warning,
            "the previous watchdog run is still going: skipped",
        ));
    };
    let state = &held.dir;
    let mut counts = match state {
        Some(dir) => dir
            .load("watchdog")?
            .and_then(|v| v.as_object().cloned())
            .unwrap_or_default(),
        None => Map::new(),
    };
    let mut journal = Journal::new(PROGRAM, "watchdog");
    let mut worst = State::Ok;
    let mut problems = Vec::new();
    let mut perf = Vec::new();
    let mut next = Map::new();
    for w in &watches {
        let (effective, line, failures) = run_one(w, &counts, deadline, args.dry_run, &mut journal);
        worst = worst.worst(effective);
        if effective != State::Ok {
            problems.push(format!("{} {line}", w.name));
        }
        perf.push(Perfdata::new(
            format!("{}_failures", w.name),
            f64::from(failures),
            Uom::None,
        ));
        next.insert(w.name.clone(), failures_json(&counts, w, failures));
    }
    counts = next;
    if let (false, Some(dir)) = (args.dry_run, state) {
        dir.save("watchdog", &Value::Object(counts))?;
    }
    let summary = if problems.is_empty() {
        format!("{} checks OK", watches.len())
    } else {
        format!(
            "{} of {} checks failing: {}",
            problems.len(),
            watches.len(),
            problems.join("; ")
        )
    };
    let mut result = journal.finish(worst, summary);
    for p in perf {
        result.perf(p);
    }
    Ok(result)
}

fn failures_json(old: &Map<String, Value>, w: &Watch, failures: u32) -> Value {
    let acted = old
        .get(&w.name)
        .and_then(|v| v.get("acted"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    json!({"failures": failures, "acted": acted && failures > 0 || failures >= w.failures})
}

/// One check: its state as the watchdog reports it (a failure its action
/// repaired is WARNING), a short text, and the new failure count.
fn run_one(
    w: &Watch,
    counts: &Map<String, Value>,
    deadline: Instant,
    dry_run: bool,
    journal: &mut Journal,
) -> (State, String, u32) {
    let before = counts
        .get(&w.name)
        .and_then(|v| v.get("failures"))
        .and_then(Value::as_u64)
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX));
    let acted_before = counts
        .get(&w.name)
        .and_then(|v| v.get("acted"))
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let limit = crate::step::left(deadline, Duration::from_secs(w.timeout));
    let (state, output) = match rsplugins::exec::run(&w.check, &[], limit) {
        Ok(out) if out.timed_out => (
            State::Unknown,
            format!("check timed out after {} s", limit.as_secs()),
        ),
        Ok(out) => (state_of(out.code), out.summary().to_string()),
        Err(e) => (State::Unknown, e.to_string()),
    };
    let failing = w.on.contains(&state);
    let failures = if failing { before.saturating_add(1) } else { 0 };
    let hard = failures >= w.failures;
    let macros = [
        ("SERVICE", w.name.clone()),
        ("STATE", state.to_string()),
        (
            "STATETYPE",
            if hard || !failing { "HARD" } else { "SOFT" }.to_string(),
        ),
        ("ATTEMPT", failures.max(1).to_string()),
        ("OUTPUT", output.clone()),
    ];
    journal.info(format!(
        "{}: {state} ({failures}/{} failures): {output}",
        w.name, w.failures
    ));
    if !failing {
        if acted_before && state == State::Ok {
            if let Some(recovery) = &w.recovery {
                act(
                    w,
                    "recovery",
                    &expand(recovery, &macros),
                    deadline,
                    dry_run,
                    journal,
                );
            }
        }
        return (state, format!("{state}: {output}"), 0);
    }
    let due = hard && (failures - w.failures).is_multiple_of(w.failures);
    let Some(action) = w.action.as_ref().filter(|_| due) else {
        return (
            state,
            format!("{state} ({failures}/{} failures): {output}", w.failures),
            failures,
        );
    };
    let ok = act(
        w,
        "action",
        &expand(action, &macros),
        deadline,
        dry_run,
        journal,
    );
    let shown = if ok { State::Warning } else { state };
    let what = if ok { "action ran" } else { "action failed" };
    (
        shown,
        format!(
            "{state} ({failures}/{} failures, {what}): {output}",
            w.failures
        ),
        failures,
    )
}

fn act(
    w: &Watch,
    what: &str,
    argv: &[String],
    deadline: Instant,
    dry_run: bool,
    journal: &mut Journal,
) -> bool {
    let limit = crate::step::left(deadline, Duration::from_secs(60));
    let label = format!("{} {what}", w.name);
    crate::step::run(journal, &label, argv, limit, dry_run).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_parses_with_defaults_and_continuations() {
        let text = "# watchdog # every minute\n[ftp]\ncheck = /bin/check -H 127.0.0.1  # the server\nfailures = 2\naction = /bin/restart --state $STATE$\n   --attempt $ATTEMPT$\n\n[smtp]\ncheck = /bin/c2\non = warning, critical\n";
        let w = parse_config(text, "t").unwrap();
        assert_eq!(w.len(), 2);
        assert_eq!(w[0].check, ["/bin/check", "-H", "127.0.0.1"]);
        assert_eq!(w[0].failures, 2);
        assert_eq!(
            w[0].action.as_deref().unwrap(),
            [
                "/bin/restart",
                "--state",
                "$STATE$",
                "--attempt",
                "$ATTEMPT$"
            ]
        );
        assert_eq!(w[1].failures, 3);
        assert_eq!(w[1].on, [State::Warning, State::Critical]);
        assert_eq!(w[1].timeout, 10);
    }

    #[test]
    fn config_errors_name_the_line() {
        for (text, want) in [
            ("check = x\n", "t:1: a setting before the first [section]"),
            ("[a]\ncheck = x\n[a]\ncheck = y\n", "t:3: [a] appears twice"),
            ("[a]\nbogus = 1\n", "t:2: unknown setting 'bogus'"),
            (
                "[a]\ncheck = x\nfailures = 0\n",
                "t:3: failures = '0' is not a number from 1",
            ),
            ("[a b]\n", "t:1: 'a b' is not a valid unit name"),
            ("[a]\nfailures = 2\n", "t: [a] has no check"),
            ("", "t: no [check] section"),
        ] {
            let err = parse_config(text, "t").unwrap_err();
            assert!(err.starts_with(want), "{text:?}: {err}");
        }
    }

    #[test]
    fn macros_are_replaced_inside_words_only() {
        let argv: Vec<String> = ["--state=$STATE$", "$OUTPUT$"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = expand(
            &argv,
            &[
                ("STATE", "CRITICAL".into()),
                ("OUTPUT", "a; rm -rf /".into()),
            ],
        );
        assert_eq!(out, ["--state=CRITICAL", "a; rm -rf /"]);
    }
}
