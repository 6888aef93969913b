//! `shed_load_rs`: the load-shedding and throttling handler for
//! check_mem_rs and check_load_rs services. On a problem it stops the
//! listed services, creates marker files (batch jobs read them to slow
//! down) and runs commands (a firewall rule), and records exactly what it
//! did; on recovery it undoes that record and nothing else: a service that
//! was already stopped stays stopped, a marker it did not create stays.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use rsplugins::options::CommonArgs;
use rsplugins::{CheckError, CheckResult, State};
use serde_json::{json, Value};

use crate::event::{EventArgs, Rule};
use crate::journal::Journal;
use crate::manager::{Choice, Manager, Verb};
use crate::names;
use crate::restart::States;
use crate::step::{self, Argv};
use crate::storm;
use crate::sudo;

const PROGRAM: &str = "shed_load_rs";
const SERVICE: &str = "SHED";

/// Options of shed_load_rs.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "shed_load_rs",
    version,
    about = "Event handler: on a memory or load problem stop services, create marker files and run commands; on recovery undo exactly that",
    long_about = None,
    mut_arg("timeout", |a| a.default_value("25"))
)]
pub struct Args {
    #[command(flatten)]
    pub event: EventArgs,

    /// Shed on these states (comma-separated); OK undoes
    #[arg(
        long = "on-state",
        value_name = "STATE,...",
        default_value = "warning,critical"
    )]
    pub on_state: States,

    /// Also shed on exactly this SOFT attempt (default: on HARD only)
    #[arg(long = "on-attempt", value_name = "N")]
    pub on_attempt: Option<u32>,

    /// The name of this shedding policy (its state file; default: --service)
    #[arg(long = "name", value_name = "NAME", value_parser = names::unit)]
    pub name: Option<String>,

    /// Stop this unit while shedding, start it on recovery (repeat)
    #[arg(long = "stop-unit", value_name = "UNIT", value_parser = names::unit, action = clap::ArgAction::Append)]
    pub stop_unit: Vec<String>,

    /// Which service manager runs --stop-unit: auto, systemd, service
    #[arg(
        long = "manager",
        value_name = "auto|systemd|service",
        default_value = "auto"
    )]
    pub manager: Choice,

    /// Create this marker file while shedding, remove it on recovery (repeat)
    #[arg(long = "marker", value_name = "PATH", value_parser = names::absolute, action = clap::ArgAction::Append)]
    pub marker: Vec<PathBuf>,

    /// Run this command while shedding (repeat; pairs with --undo in order)
    #[arg(long = "run", value_name = "COMMAND", action = clap::ArgAction::Append)]
    pub run: Vec<Argv>,

    /// Run this command on recovery to undo the --run in the same position
    #[arg(long = "undo", value_name = "COMMAND", action = clap::ArgAction::Append)]
    pub undo: Vec<Argv>,

    /// Run the unit steps and the commands through `sudo -n`
    #[arg(long = "sudo")]
    pub sudo: bool,

    /// Where the record of what was done lives
    #[arg(long = "state-dir", value_name = "DIR", default_value = crate::STATE_DIR)]
    pub state_dir: PathBuf,

    /// Print the plan, change nothing
    #[arg(long = "dry-run")]
    pub dry_run: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

rsplugins::plugin_entry!(Args, SERVICE, check);

/// What a shedding run did: the record its recovery undoes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// When shedding began (epoch seconds).
    pub since: u64,
    /// Units this handler stopped (they were running).
    pub units: Vec<String>,
    /// Marker files this handler created.
    pub markers: Vec<String>,
    /// The undo commands of the `--run` commands that succeeded.
    pub undo: Vec<Vec<String>>,
}

impl Record {
    fn to_json(&self) -> Value {
        json!({"since": self.since, "units": self.units, "markers": self.markers, "undo": self.undo})
    }

    fn from_json(v: &Value) -> Record {
        let strings = |key: &str| -> Vec<String> {
            v.get(key)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        };
        Record {
            since: v.get("since").and_then(Value::as_u64).unwrap_or(0),
            units: strings("units"),
            markers: strings("markers"),
            undo: v
                .get("undo")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_array)
                        .map(|w| {
                            w.iter()
                                .filter_map(|s| s.as_str().map(str::to_string))
                                .collect()
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    fn is_empty(&self) -> bool {
        self.units.is_empty() && self.markers.is_empty() && self.undo.is_empty()
    }
}

/// Runs the handler.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let deadline = crate::deadline(Instant::now(), &args.common);
    if args.run.len() != args.undo.len() {
        return Err(CheckError::unknown(format!(
            "{} --run but {} --undo: give one --undo per --run, in the same order",
            args.run.len(),
            args.undo.len()
        )));
    }
    let name = match (&args.name, &args.event.service) {
        (Some(n), _) => n.clone(),
        (None, Some(s)) => names::service(s).map_err(CheckError::unknown)?,
        (None, None) => return Err(CheckError::unknown("give --name or --service")),
    };
    let key = format!("shed-{}", names::key(&name));
    let event = args.event.event()?;
    let rule = Rule {
        states: args.on_state.0.clone(),
        on_attempt: args.on_attempt,
    };
    let mut journal = Journal::new(PROGRAM, &name);
    let Some(held) = crate::hold_state(&args.state_dir, &key, args.dry_run)? else {
        journal.warning("another run of this policy is in progress: nothing done");
        return Ok(journal.finish(
            State::Ok,
            format!("{name}: another run in progress, nothing done"),
        ));
    };
    let state = &held.dir;
    let record = match state {
        Some(dir) => dir.load(&key)?.map(|v| Record::from_json(&v)),
        None => None,
    };
    let manager = args.manager.resolve();
    let with_sudo = args.sudo && !nix::unistd::geteuid().is_root();
    let ctx = Ctx {
        args: &args,
        manager,
        with_sudo,
        deadline,
    };

    match (event.state, record) {
        (State::Ok, Some(record)) => {
            journal.notice(format!(
                "{event}: recovered, undoing what was done since {}",
                record.since
            ));
            let left = ctx.undo(&record, &mut journal);
            if let (false, Some(dir)) = (args.dry_run, state) {
                let saved = if left.is_empty() {
                    dir.remove(&key)
                } else {
                    dir.save(&key, &left.to_json())
                };
                saved?;
            }
            if left.is_empty() {
                Ok(journal.finish(State::Ok, format!("{name}: recovered, shedding undone")))
            } else {
                Ok(journal.finish(
                    State::Warning,
                    format!("{name}: recovered, but some of the shedding could not be undone (kept for the next recovery)"),
                ))
            }
        }
        (_, Some(record)) if rule.acts_on(&event) => {
            journal.info(format!("{event}: already shedding since {}", record.since));
            Ok(journal.finish(State::Ok, format!("{name}: {event}, already shedding")))
        }
        _ if rule.acts_on(&event) => {
            journal.notice(format!("{event}: shedding (rule: {})", rule.describe()));
            let (done, failures) = ctx.shed(&mut journal);
            if let (false, Some(dir)) = (args.dry_run || done.is_empty(), state) {
                dir.save(&key, &done.to_json())?;
            }
            let what = format!(
                "{} units stopped, {} markers created, {} commands run",
                done.units.len(),
                done.markers.len(),
                done.undo.len()
            );
            if args.dry_run {
                Ok(journal.finish(State::Ok, format!("{name}: dry run, nothing changed")))
            } else if failures == 0 {
                Ok(journal.finish(State::Ok, format!("{name}: {event}, shedding: {what}")))
            } else {
                Ok(journal.finish(
                    State::Warning,
                    format!("{name}: {event}, shedding: {what}; {failures} actions failed"),
                ))
            }
        }
        _ => {
            journal.info(format!(
                "{event}: no action (acting on {}, undoing on OK)",
                rule.describe()
            ));
            Ok(journal.finish(State::Ok, format!("{name}: {event}, no action")))
        }
    }
}

struct Ctx<'a> {
    args: &'a Args,
    manager: Manager,
    with_sudo: bool,
    deadline: Instant,
}

impl Ctx<'_> {
    fn limit(&self) -> Duration {
        step::left(self.deadline, Duration::from_secs(10))
    }

    fn step(&self, journal: &mut Journal, what: &str, argv: &[String]) -> bool {
        let argv = sudo::wrap(argv, self.with_sudo);
        step::run(journal, what, &argv, self.limit(), self.args.dry_run).ok()
    }

    /// Does every action; returns the record of what succeeded and how many failed.
    fn shed(&self, journal: &mut Journal) -> (Record, usize) {
        let mut done = Record {
            since: storm::now(),
            ..Record::default()
        };
        let mut failures = 0;
        for unit in &self.args.stop_unit {
            // Unprivileged: asking whether a unit runs needs no root.
            let status = self.manager.argv(unit, Verb::Status);
            let running =
                rsplugins::exec::run(&status, &[], self.limit()).is_ok_and(|o| o.success());
            if !running {
                journal.info(format!(
                    "{unit} is not running: left alone (and not started on recovery)"
                ));
                continue;
            }
            if self.step(
                journal,
                &format!("stop {unit}"),
                &self.manager.argv(unit, Verb::Stop),
            ) {
                done.units.push(unit.clone());
            } else {
                failures += 1;
            }
        }
        for marker in &self.args.marker {
            if self.args.dry_run {
                journal.notice(format!("would create marker {}", marker.display()));
                continue;
            }
            match create_marker(marker, &format!("created by {PROGRAM} at {}\n", done.since)) {
                Ok(true) => {
                    journal.notice(format!("created marker {}", marker.display()));
                    done.markers.push(marker.display().to_string());
                }
                Ok(false) => journal.info(format!(
                    "marker {} already exists: not ours, left alone",
                    marker.display()
                )),
                Err(e) => {
                    journal.error(format!("cannot create marker {}: {e}", marker.display()));
                    failures += 1;
                }
            }
        }
        for (run, undo) in self.args.run.iter().zip(&self.args.undo) {
            if self.step(journal, "run", &run.0) {
                done.undo.push(undo.0.clone());
            } else {
                failures += 1;
            }
        }
        (done, failures)
    }

    /// Undoes `record` in reverse order; returns what could not be undone.
    fn undo(&self, record: &Record, journal: &mut Journal) -> Record {
        let mut left = Record {
            since: record.since,
            ..Record::default()
        };
        for undo in record.undo.iter().rev() {
            if !self.step(journal, "undo", undo) {
                left.undo.insert(0, undo.clone());
            }
        }
        for marker in record.markers.iter().rev() {
            if self.args.dry_run {
                journal.notice(format!("would remove marker {marker}"));
                continue;
            }
            match std::fs::remove_file(marker) {
                Ok(()) => journal.notice(format!("removed marker {marker}")),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    journal.info(format!("marker {marker} was already gone"))
                }
                Err(e) => {
                    journal.error(format!("cannot remove marker {marker}: {e}"));
                    left.markers.insert(0, marker.clone());
                }
            }
        }
        for unit in record.units.iter().rev() {
            let unit = match names::unit(unit) {
                Ok(u) => u,
                Err(e) => {
                    journal.error(format!("record names a bad unit: {e}"));
                    continue;
                }
            };
            if !self.step(
                journal,
                &format!("start {unit}"),
                &self.manager.argv(&unit, Verb::Start),
            ) {
                left.units.insert(0, unit);
            }
        }
        left
    }
}

/// Creates `path` exclusively (never through a symlink); false when it exists.
fn create_marker(path: &std::path::Path, text: &str) -> std::io::Result<bool> {
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
    {
        Ok(mut f) => f.write_all(text.as_bytes()).map(|_| true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        let r = Record {
            since: 5,
            units: vec!["a".into()],
            markers: vec!["/run/x".into()],
            undo: vec![vec!["/bin/true".into(), "x".into()]],
        };
        assert_eq!(Record::from_json(&r.to_json()), r);
        assert!(!r.is_empty());
        assert!(Record::default().is_empty());
    }

    #[test]
    fn markers_are_created_once_and_never_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("throttle");
        assert!(create_marker(&m, "x").unwrap());
        assert!(!create_marker(&m, "x").unwrap());
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/nonexistent/target", &link).unwrap();
        assert!(!create_marker(&link, "x").unwrap());
    }
}
