//! `restart_service_rs`: the event handler that brings a failed service
//! back. On the rule's event it stops the service, ends what survived,
//! starts it (and `--also` units after it), then validates with a check
//! until OK or a deadline. A storm guard limits restarts per window; a
//! failed validation or a refusal notifies the administrator.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use rsplugins::options::CommonArgs;
use rsplugins::procfs::ProcFs;
use rsplugins::statefile::StateDir;
use rsplugins::{CheckError, CheckResult, Perfdata, State, Uom};

use crate::event::{parse_states, EventArgs, Rule};
use crate::journal::Journal;
use crate::leftovers::{self, Ended, Selector};
use crate::manager::{Choice, Verb};
use crate::names;
use crate::notify::{self, Notice};
use crate::step::{self, Argv, Done};
use crate::storm::{self, Budget, Ledger};
use crate::sudo;

const PROGRAM: &str = "restart_service_rs";
const SERVICE: &str = "RESTART";

/// States given as a comma-separated list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct States(pub Vec<State>);

impl std::str::FromStr for States {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_states(s).map(States)
    }
}

/// Options of restart_service_rs.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "restart_service_rs",
    version,
    about = "Event handler: restart a failed service (stop, end leftovers, start, validate), with a storm guard",
    long_about = None,
    mut_arg("timeout", |a| a.default_value("25"))
)]
pub struct Args {
    #[command(flatten)]
    pub event: EventArgs,

    /// Act on these states (comma-separated)
    #[arg(
        long = "on-state",
        value_name = "STATE,...",
        default_value = "critical"
    )]
    pub on_state: States,

    /// Also act on exactly this SOFT attempt (default: on HARD only)
    #[arg(long = "on-attempt", value_name = "N")]
    pub on_attempt: Option<u32>,

    /// The service manager's unit (systemd unit or init script name)
    #[arg(long = "unit", value_name = "UNIT", value_parser = names::unit)]
    pub unit: Option<String>,

    /// Which service manager runs --unit: auto (systemd when it runs the host, else `service`), systemd, service
    #[arg(
        long = "manager",
        value_name = "auto|systemd|service",
        default_value = "auto"
    )]
    pub manager: Choice,

    /// Stop with this command instead of the manager (words, no shell)
    #[arg(long = "stop", value_name = "COMMAND")]
    pub stop: Option<Argv>,

    /// Start with this command instead of the manager (words, no shell)
    #[arg(long = "start", value_name = "COMMAND")]
    pub start: Option<Argv>,

    /// Restart this dependent unit after the service started (repeat, in order)
    #[arg(long = "also", value_name = "UNIT", value_parser = names::unit, action = clap::ArgAction::Append)]
    pub also: Vec<String>,

    /// The service's pid file: its process is ended if it survives the stop
    #[arg(long = "pidfile", value_name = "PATH", value_parser = names::absolute)]
    pub pidfile: Option<PathBuf>,

    /// End leftover processes running exactly this executable (with --user)
    #[arg(long = "exe", value_name = "PATH", value_parser = names::absolute, requires = "user")]
    pub exe: Option<PathBuf>,

    /// The user whose --exe processes are ended (name or uid)
    #[arg(long = "user", value_name = "USER", requires = "exe")]
    pub user: Option<String>,

    /// Seconds between SIGTERM and SIGKILL for leftovers
    #[arg(long = "grace", value_name = "SECONDS", default_value = "5")]
    pub grace: u64,

    /// Validate with this check (one of our plugins) until it is OK
    #[arg(long = "check", value_name = "COMMAND")]
    pub check: Option<Argv>,

    /// Seconds the validation may take
    #[arg(long = "validate-within", value_name = "SECONDS", default_value = "10")]
    pub validate_within: u64,

    /// Storm guard: at most this many restarts within --window
    #[arg(long = "max-restarts", value_name = "N", default_value = "3")]
    pub max_restarts: u32,

    /// Storm guard window in seconds
    #[arg(long = "window", value_name = "SECONDS", default_value = "3600")]
    pub window: u64,

    /// Where the storm guard's state and locks live (owned by the engine's user, mode 0750)
    #[arg(long = "state-dir", value_name = "DIR", default_value = crate::STATE_DIR)]
    pub state_dir: PathBuf,

    /// Notify with this command on failed validation and on a storm stop
    /// (message on stdin and in RSPLUGINS_* variables)
    #[arg(long = "notify", value_name = "COMMAND")]
    pub notify: Option<Argv>,

    /// Run the privileged steps (stop, start, ending leftovers) through `sudo -n`
    #[arg(long = "sudo")]
    pub sudo: bool,

    /// Print the plan, change nothing
    #[arg(long = "dry-run")]
    pub dry_run: bool,

    /// Print the sudoers rules (for USER, default nagios) that allow exactly these steps, then exit
    #[arg(long = "print-sudoers", value_name = "USER", num_args = 0..=1, default_missing_value = "nagios", require_equals = true)]
    pub print_sudoers: Option<String>,

    /// Only end the service's leftover processes (the step --sudo runs as root)
    #[arg(long = "kill-leftovers")]
    pub kill_leftovers: bool,

    #[command(flatten)]
    pub common: CommonArgs,
}

rsplugins::plugin_entry!(Args, SERVICE, check);

/// What the options say to do, resolved once.
struct Plan {
    /// The name in logs and notifications.
    service: String,
    /// The state-file key.
    key: String,
    stop: Option<Vec<String>>,
    start: Vec<String>,
    also: Vec<Vec<String>>,
    selector: Selector,
    /// The argv that ends leftovers as root (with --sudo, not root).
    kill_as_root: Option<Vec<String>>,
    with_sudo: bool,
}

fn uid_of(user: &str) -> Result<u32, CheckError> {
    if let Ok(uid) = user.parse::<u32>() {
        return Ok(uid);
    }
    match nix::unistd::User::from_name(user) {
        Ok(Some(u)) => Ok(u.uid.as_raw()),
        _ => Err(CheckError::unknown(format!("unknown user '{user}'"))),
    }
}

fn plan(args: &Args) -> Result<Plan, CheckError> {
    let manager = args.manager.resolve();
    let service = match (&args.event.service, &args.unit) {
        (Some(s), _) => names::service(s).map_err(CheckError::unknown)?,
        (None, Some(u)) => u.clone(),
        (None, None) => {
            return Err(CheckError::unknown(
                "give --unit, or --service with --start (and --stop)",
            ))
        }
    };
    let key = names::key(args.unit.as_deref().unwrap_or(&service));
    // Root needs no sudo; the rules printed for the engine's user always do.
    let with_sudo =
        args.sudo && (args.print_sudoers.is_some() || !nix::unistd::geteuid().is_root());
    let wrap = |argv: Vec<String>| sudo::wrap(&argv, with_sudo);
    let stop = match (&args.stop, &args.unit) {
        (Some(a), _) => Some(a.0.clone()),
        (None, Some(u)) => Some(manager.argv(u, Verb::Stop)),
        (None, None) => None,
    };
    let start = match (&args.start, &args.unit) {
        (Some(a), _) => a.0.clone(),
        (None, Some(u)) => manager.argv(u, Verb::Start),
        // The step sudo runs as root only ends leftovers.
        (None, None) if args.kill_leftovers => Vec::new(),
        (None, None) => {
            return Err(CheckError::unknown(
                "no way to start the service: give --unit or --start",
            ))
        }
    };
    let selector = Selector {
        pidfile: args.pidfile.clone(),
        exe: args.exe.clone(),
        uid: args.user.as_deref().map(uid_of).transpose()?,
        cgroup: args.unit.as_deref().and_then(|u| manager.cgroup(u)),
    };
    let kill_as_root = (with_sudo && !selector.is_empty()).then(|| {
        let me = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| PROGRAM.to_string());
        let mut argv = vec![me, "--kill-leftovers".to_string()];
        match &args.unit {
            Some(u) => argv.extend([
                "--unit".into(),
                u.clone(),
                "--manager".into(),
                manager.word().into(),
            ]),
            None => argv.extend(["--service".into(), service.clone()]),
        }
        if let Some(p) = &args.pidfile {
            argv.extend(["--pidfile".into(), p.display().to_string()]);
        }
        if let (Some(e), Some(u)) = (&args.exe, &args.user) {
            argv.extend([
                "--exe".into(),
                e.display().to_string(),
                "--user".into(),
                u.clone(),
            ]);
        }
        argv.extend(["--grace".into(), args.grace.to_string()]);
        argv
    });
    Ok(Plan {
        service,
        key,
        stop: stop.map(wrap),
        start: wrap(start),
        also: args
            .also
            .iter()
            .map(|u| wrap(manager.argv(u, Verb::Restart)))
            .collect(),
        selector,
        kill_as_root,
        with_sudo,
    })
}

/// Runs the handler.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let started = Instant::now();
    let deadline = crate::deadline(started, &args.common);
    let plan = plan(&args)?;
    if let Some(user) = &args.print_sudoers {
        return Ok(sudoers(&plan, user));
    }
    let mut journal = Journal::new(PROGRAM, &plan.service);
    if args.kill_leftovers {
        return Ok(kill_leftovers(&plan, &args, journal));
    }
    let event = args.event.event()?;
    let rule = Rule {
        states: args.on_state.0.clone(),
        on_attempt: args.on_attempt,
    };
    if !rule.acts_on(&event) {
        journal.info(format!(
            "{event}: no action (acting on {})",
            rule.describe()
        ));
        return Ok(journal.finish(
            State::Ok,
            format!(
                "{}: {event}, no action (acting on {})",
                plan.service,
                rule.describe()
            ),
        ));
    }
    journal.notice(format!("{event}: restarting (rule: {})", rule.describe()));

    let Some(held) = crate::hold_state(&args.state_dir, &plan.key, args.dry_run)? else {
        journal.warning("another handler run for this service is in progress: nothing done");
        return Ok(journal.finish(
            State::Ok,
            format!(
                "{}: another restart is in progress, nothing done",
                plan.service
            ),
        ));
    };
    let state = &held.dir;
    let budget = Budget {
        max: args.max_restarts,
        window: args.window,
    };
    let now = storm::now();
    let mut ledger = match state {
        Some(dir) => Ledger::load(dir, &plan.key)?,
        None => Ledger::default(),
    };
    ledger.prune(now, budget);
    if !ledger.allows(budget) {
        return Ok(storm_stop(
            &args,
            &plan,
            state.as_ref(),
            ledger,
            budget,
            now,
            journal,
        ));
    }
    if let (false, Some(dir)) = (args.dry_run, state) {
        ledger.restarts.push(now);
        ledger.save(dir, &plan.key)?;
    }
    let restart = restart(&args, &plan, deadline, &mut journal);
    let mut result = match restart {
        Err(why) => {
            let summary = format!("{}: restart failed: {why}", plan.service);
            notify_if_asked(&args, &plan, "restart", &summary, &mut journal);
            journal.finish(State::Critical, summary)
        }
        Ok(warnings) => validate(&args, &plan, deadline, warnings, journal),
    };
    result.perf(Perfdata::new(
        "time",
        started.elapsed().as_secs_f64(),
        Uom::Seconds,
    ));
    Ok(result)
}

/// Stop, end leftovers, start, restart `--also` units. `Err` when the
/// service could not be started; `Ok` lists what else went wrong.
fn restart(
    args: &Args,
    plan: &Plan,
    deadline: Instant,
    journal: &mut Journal,
) -> Result<Vec<String>, String> {
    let mut warnings = Vec::new();
    let cap = Duration::from_secs(10);
    if let Some(stop) = &plan.stop {
        // A dead service often fails its stop command: not fatal, the leftovers are next.
        if let Done::Failed(why) = step::run(
            journal,
            "stop",
            stop,
            step::left(deadline, cap),
            args.dry_run,
        ) {
            journal.info(format!("going on after the failed stop ({why})"));
        }
    }
    if !plan.selector.is_empty() {
        let grace = Duration::from_secs(args.grace);
        match &plan.kill_as_root {
            Some(argv) => {
                let argv = sudo::wrap(argv, true);
                let limit = step::left(deadline, grace.saturating_add(Duration::from_secs(8)));
                if let Done::Failed(why) =
                    step::run(journal, "end leftovers as root", &argv, limit, args.dry_run)
                {
                    warnings.push(format!("ending leftovers failed: {why}"));
                }
            }
            None => {
                let proc = ProcFs::new("/proc");
                match leftovers::end(&proc, &plan.selector, grace, args.dry_run, journal) {
                    Ended::Nothing => journal.info("no leftover processes"),
                    Ended::Listed(_) | Ended::All(_) => {}
                    Ended::Survivors(left) => warnings.push(format!(
                        "leftovers survived SIGKILL: {}",
                        leftovers::list(&left)
                    )),
                }
            }
        }
    }
    match step::run(
        journal,
        "start",
        &plan.start,
        step::left(deadline, cap),
        args.dry_run,
    ) {
        Done::Ok(_) => {}
        Done::Failed(why) => return Err(format!("start failed ({why})")),
    }
    for (unit, argv) in args.also.iter().zip(&plan.also) {
        if let Done::Failed(why) = step::run(
            journal,
            &format!("restart dependent {unit}"),
            argv,
            step::left(deadline, cap),
            args.dry_run,
        ) {
            warnings.push(format!("dependent {unit} failed to restart ({why})"));
        }
    }
    Ok(warnings)
}

/// Runs `--check` until it is OK or `--validate-within` passes.
fn validate(
    args: &Args,
    plan: &Plan,
    deadline: Instant,
    warnings: Vec<String>,
    mut journal: Journal,
) -> CheckResult {
    let extra = if warnings.is_empty() {
        String::new()
    } else {
        format!("; {}", warnings.join("; "))
    };
    let worst = if warnings.is_empty() {
        State::Ok
    } else {
        State::Warning
    };
    if args.dry_run {
        if let Some(check) = &args.check {
            journal.notice(format!("would validate: {}", check.0.join(" ")));
        }
        return journal.finish(
            State::Ok,
            format!("{}: dry run, nothing changed", plan.service),
        );
    }
    let Some(check) = &args.check else {
        return journal.finish(
            worst,
            format!(
                "{} restarted (not validated: no --check){extra}",
                plan.service
            ),
        );
    };
    let start = Instant::now();
    let until = start
        .checked_add(Duration::from_secs(args.validate_within))
        .map_or(deadline, |u| u.min(deadline));
    let mut tries = 0;
    let last = loop {
        tries += 1;
        let limit = step::left(deadline, Duration::from_secs(10));
        let line = match rsplugins::exec::run(&check.0, &[], limit) {
            Ok(out) if out.success() => {
                let line = out.summary().to_string();
                journal.notice(format!(
                    "validated after {:.1} s ({tries} tries): {line}",
                    start.elapsed().as_secs_f64()
                ));
                return journal.finish(
                    worst,
                    format!("{} restarted and validated: {line}{extra}", plan.service),
                );
            }
            Ok(out) => format!("{}: {}", out.describe(), out.summary()),
            Err(e) => e.to_string(),
        };
        if Instant::now() + Duration::from_secs(1) >= until {
            break line;
        }
        std::thread::sleep(Duration::from_secs(1));
    };
    journal.error(format!("validation failed after {tries} tries: {last}"));
    let summary = format!(
        "{} restarted but validation failed: {last}{extra}",
        plan.service
    );
    notify_if_asked(args, plan, "restart", &summary, &mut journal);
    journal.finish(State::Critical, summary)
}

fn notify_if_asked(args: &Args, plan: &Plan, action: &str, result: &str, journal: &mut Journal) {
    if let Some(argv) = &args.notify {
        if args.dry_run {
            journal.notice(format!("would notify: {}", argv.0.join(" ")));
            return;
        }
        let details = journal.lines().to_vec();
        let notice = Notice {
            service: &plan.service,
            action,
            result,
            details: &details,
        };
        notify::send(&argv.0, &notice, journal);
    }
}

/// Past the budget: no restart, CRITICAL, one notification per window.
fn storm_stop(
    args: &Args,
    plan: &Plan,
    state: Option<&StateDir>,
    mut ledger: Ledger,
    budget: Budget,
    now: u64,
    mut journal: Journal,
) -> CheckResult {
    let next = ledger
        .next_allowed(budget)
        .map(|t| format!(", next allowed in {} s", t.saturating_sub(now)))
        .unwrap_or_default();
    let summary = format!(
        "{}: storm guard: {} restarts in the last {} s (limit {}), not restarting{next}",
        plan.service,
        ledger.restarts.len(),
        budget.window,
        budget.max
    );
    journal.error(format!("storm guard: not restarting{next}"));
    if ledger.storm_notified.is_none() {
        notify_if_asked(args, plan, "storm guard", &summary, &mut journal);
        if let (false, Some(dir)) = (args.dry_run, state) {
            ledger.storm_notified = Some(now);
            if let Err(e) = ledger.save(dir, &plan.key) {
                journal.error(e.to_string());
            }
        }
    } else {
        journal.info("already notified in this window");
    }
    journal.finish(State::Critical, summary)
}

/// `--kill-leftovers`: only end the service's leftover processes.
fn kill_leftovers(plan: &Plan, args: &Args, mut journal: Journal) -> CheckResult {
    if plan.selector.is_empty() {
        return journal.finish(
            State::Unknown,
            "--kill-leftovers needs --pidfile, --exe with --user, or a systemd --unit",
        );
    }
    let proc = ProcFs::new("/proc");
    let grace = Duration::from_secs(args.grace);
    let service = &plan.service;
    match leftovers::end(&proc, &plan.selector, grace, args.dry_run, &mut journal) {
        Ended::Nothing => journal.finish(State::Ok, format!("{service}: no leftover processes")),
        Ended::Listed(_) => {
            journal.finish(State::Ok, format!("{service}: dry run, nothing changed"))
        }
        Ended::All(n) => journal.finish(
            State::Ok,
            format!("{service}: ended {n} leftover processes"),
        ),
        Ended::Survivors(left) => journal.finish(
            State::Critical,
            format!(
                "{service}: leftovers survived SIGKILL: {}",
                leftovers::list(&left)
            ),
        ),
    }
}

/// `--print-sudoers`: the rules for exactly the privileged steps.
fn sudoers(plan: &Plan, user: &str) -> CheckResult {
    let unwrap = |argv: &[String]| -> Vec<String> {
        if plan.with_sudo {
            argv.iter().skip(3).cloned().collect()
        } else {
            argv.to_vec()
        }
    };
    let mut lines = Vec::new();
    if let Some(stop) = &plan.stop {
        lines.push(sudo::sudoers_line(user, &unwrap(stop)));
    }
    if let Some(kill) = &plan.kill_as_root {
        lines.push(sudo::sudoers_line(user, kill));
    }
    lines.push(sudo::sudoers_line(user, &unwrap(&plan.start)));
    for also in &plan.also {
        lines.push(sudo::sudoers_line(user, &unwrap(also)));
    }
    let mut result = CheckResult::new(format!(
        "sudoers rules for {} ({} lines below; put them in /etc/sudoers.d/, mode 0440)",
        plan.service,
        lines.len()
    ));
    for line in lines {
        result.detail(line);
    }
    result
}
