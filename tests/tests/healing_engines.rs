//! The self-healing handlers run by the real engines of
//! `tests/testbed/engines.sh` (Icinga 2 through its REST API, Nagios 4
//! through status.dat, its command FIFO and nagios.log), as user nagios,
//! with the engines' macros:
//!
//! - restart: the engine's active checks see the testbed's
//!   `rsplugins-heal-ftp` killed; restart_service_rs (through sudo, rules
//!   from its own --print-sudoers) brings it back with a new pid, and the
//!   engine shows OK again (the time from the kill is printed); the same
//!   for the testbed's postfix through Debian's own init script;
//! - storm: a service that ran, then breaks for good, whose unit never
//!   starts: the unit is started exactly twice (SOFT 1 and HARD), then the
//!   storm guard refuses (one notification) while the engine keeps calling
//!   the handler (the service is volatile, so it does on every result);
//! - shedding (check_mem_rs CRITICAL) and throttling (check_load_rs
//!   WARNING): shed_load_rs creates its marker and runs its command; once
//!   the service's thresholds are switched to OK the recovery undoes
//!   exactly that (a marker that was there before stays).
//!
//! Each test writes its own objects (commands and EventCommands included:
//! nothing shipped is needed), its own sudoers file and a fresh state
//! directory, and removes them (and reloads the engine) when it ends.
//! What a test changes at run time is a custom variable of its service
//! (Nagios 4 refuses CHANGE_SVC_CHECK_COMMAND). The engines differ in one
//! macro: Nagios counts the HARD attempt on (4 of 4), Icinga 2 restarts it
//! at 1; and a fresh Icinga 2 service that fails at once starts at SOFT 2
//! (its first state is UNKNOWN SOFT 1), hence services that run first.
//! Under CI=true a missing engine or testbed piece fails; elsewhere the
//! tests skip with a note.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rsplugins_tests::engine::{engines, status_blocks, Engines};
use rsplugins_tests::sudoers::{self, Sudoers};
use rsplugins_tests::system::{
    alive, epoch, file_len, last_lines, pid_file, port_open, read_since, service, service_running,
    syslog_lines,
};
use rsplugins_tests::{available, testbed, testbed_env, testbed_var};
use serde_json::{json, Value};

/// Tests that kill or restart rsplugins-heal-ftp take turns (taken before an
/// engine's lock, never after).
static HEAL_FTP: Mutex<()> = Mutex::new(());
/// One test at a time per engine: a test's reload resets the other's services.
static ICINGA2: Mutex<()> = Mutex::new(());
static NAGIOS: Mutex<()> = Mutex::new(());

/// How long an engine may take to show what a step should lead to.
const WAIT: Duration = Duration::from_secs(30);

fn turn(m: &'static Mutex<()>) -> MutexGuard<'static, ()> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A string as an Icinga 2 DSL string literal (JSON's escapes are Icinga's).
fn q(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

/// A word for a Nagios command line (run through /bin/sh -c: single quotes).
fn sq(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Icinga2,
    Nagios,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Icinga2 => "icinga2",
            Kind::Nagios => "nagios",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Kind::Icinga2 => "Icinga 2",
            Kind::Nagios => "Nagios 4",
        }
    }

    fn lock(self) -> MutexGuard<'static, ()> {
        turn(match self {
            Kind::Icinga2 => &ICINGA2,
            Kind::Nagios => &NAGIOS,
        })
    }
}

/// A service as the engine shows it.
#[derive(Debug, Clone, Default)]
struct Status {
    checked: bool,
    state: i64,
    hard: bool,
    attempt: i64,
    last_check: f64,
    last_state_change: f64,
    output: String,
}

/// One test's view of an engine and the testbed, and its scratch space: a
/// directory with `state/` (the handlers' --state-dir: nagios, 0750) and
/// `files/` (markers, notifications: nagios, 0755).
struct Bed {
    eng: Engines,
    kind: Kind,
    plugin_dir: PathBuf,
    host: String,
    template: String,
    user: String,
    syslog: PathBuf,
    syslog_from: u64,
    log: PathBuf,
    log_from: u64,
    scratch: tempfile::TempDir,
}

/// The engine and the testbed's self-healing pieces, or `None` (skipped;
/// a failure under CI=true).
fn bed(kind: Kind) -> Option<Bed> {
    let eng = engines()?;
    if !testbed() {
        return None;
    }
    let heal = ["HEAL_FTP_UNIT", "HEAL_BROKEN_UNIT", "SYSLOG_LOG"]
        .iter()
        .all(|k| testbed_env(&format!("RSPLUGINS_TESTBED_{k}")).is_some());
    if !available(
        "the self-healing pieces of tests/testbed (RSPLUGINS_TESTBED_HEAL_*, SYSLOG_LOG; sudo, visudo)",
        heal && Path::new("/usr/bin/sudo").exists() && Path::new("/usr/sbin/visudo").exists(),
    ) {
        return None;
    }
    let plugin_dir = eng.plugin_dir();
    let handlers = [
        "restart_service_rs",
        "shed_load_rs",
        "check_ftp_rs",
        "check_tcp_rs",
        "check_mem_rs",
        "check_load_rs",
    ]
    .iter()
    .all(|b| plugin_dir.join(b).is_file());
    if !available(
        &format!(
            "the handlers in the engines' plugin directory {} (cargo build --workspace --bins, or the package)",
            plugin_dir.display()
        ),
        handlers,
    ) {
        return None;
    }
    let user = eng.get("USER");
    let syslog = PathBuf::from(testbed_var("RSPLUGINS_TESTBED_SYSLOG_LOG"));
    let log = PathBuf::from(eng.get(match kind {
        Kind::Icinga2 => "ICINGA2_LOG",
        Kind::Nagios => "NAGIOS_LOG",
    }));
    let scratch = tempfile::Builder::new()
        .prefix("rsplugins-heal-engines-")
        .tempdir()
        .expect("scratch directory");
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let who = nix::unistd::User::from_name(&user)
        .ok()
        .flatten()
        .unwrap_or_else(|| panic!("user {user} missing"));
    for (sub, mode) in [("state", 0o750), ("files", 0o755)] {
        let d = scratch.path().join(sub);
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(mode)).unwrap();
        nix::unistd::chown(&d, Some(who.uid), Some(who.gid))
            .unwrap_or_else(|e| panic!("chown {}: {e}", d.display()));
    }
    Some(Bed {
        host: eng.get("HOST"),
        template: eng.get("SERVICE_TEMPLATE"),
        plugin_dir,
        user,
        syslog_from: file_len(&syslog),
        syslog,
        log_from: file_len(&log),
        log,
        kind,
        eng,
        scratch,
    })
}

impl Bed {
    fn bin(&self, name: &str) -> String {
        self.plugin_dir.join(name).display().to_string()
    }

    fn state_dir(&self) -> String {
        self.scratch.path().join("state").display().to_string()
    }

    fn file(&self, name: &str) -> PathBuf {
        self.scratch.path().join("files").join(name)
    }

    /// Syslog lines of `program` about `subject` since the test began.
    fn syslog_lines(&self, program: &str, subject: &str) -> Vec<String> {
        syslog_lines(
            &read_since(&self.syslog, self.syslog_from),
            program,
            subject,
        )
    }

    fn engine_log(&self) -> String {
        read_since(&self.log, self.log_from)
    }

    // --- Icinga 2 -------------------------------------------------------------------------

    /// Icinga's REST API through curl (the password on stdin, not in argv).
    fn icinga_api(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let body = body.map(Value::to_string);
        let (text, err) = self
            .eng
            .icinga2_api()
            .request(method, path, body.as_deref());
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("Icinga API {method} {path}: {e}: {text}{err}"))
    }

    fn icinga_object(&self, svc: &str) -> Option<Value> {
        let r = self.icinga_api(
            "GET",
            &format!(
                "/v1/objects/services/{}!{svc}?attrs=state&attrs=state_type&attrs=check_attempt&attrs=last_check&attrs=last_state_change&attrs=last_check_result",
                self.host
            ),
            None,
        );
        r.pointer("/results/0/attrs").cloned()
    }

    // --- Nagios 4 -------------------------------------------------------------------------

    /// Writes external commands to Nagios's FIFO (one write per line).
    fn nagios_cmd(&self, lines: &[String]) {
        let path = self.eng.get("NAGIOS_COMMAND_FILE");
        let mut fifo = std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits())
            .open(&path)
            .unwrap_or_else(|e| panic!("open {path} (is Nagios running?): {e}"));
        let t = epoch() as u64;
        for l in lines {
            fifo.write_all(format!("[{t}] {l}\n").as_bytes())
                .unwrap_or_else(|e| panic!("write {path}: {e}"));
        }
    }

    fn nagios_block(&self, svc: &str) -> Option<std::collections::BTreeMap<String, String>> {
        let text = std::fs::read_to_string(self.eng.get("NAGIOS_STATUS")).unwrap_or_default();
        status_blocks(&text, "servicestatus")
            .into_iter()
            .find(|b| b.get("service_description").map(String::as_str) == Some(svc))
    }

    // --- both -----------------------------------------------------------------------------

    fn status(&self, svc: &str) -> Option<Status> {
        match self.kind {
            Kind::Icinga2 => {
                let a = self.icinga_object(svc)?;
                let f = |k: &str| a[k].as_f64().unwrap_or(0.0);
                let cr = &a["last_check_result"];
                Some(Status {
                    checked: cr.is_object(),
                    state: f("state") as i64,
                    hard: f("state_type") == 1.0,
                    attempt: f("check_attempt") as i64,
                    last_check: f("last_check"),
                    last_state_change: f("last_state_change"),
                    output: cr["output"].as_str().unwrap_or("").to_string(),
                })
            }
            Kind::Nagios => {
                let b = self.nagios_block(svc)?;
                let n = |k: &str| b.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
                Some(Status {
                    checked: b.get("has_been_checked").map(String::as_str) == Some("1"),
                    state: n("current_state") as i64,
                    hard: n("state_type") == 1.0,
                    attempt: n("current_attempt") as i64,
                    last_check: n("last_check"),
                    last_state_change: n("last_state_change"),
                    output: b.get("plugin_output").cloned().unwrap_or_default(),
                })
            }
        }
    }

    /// Forces a check of `svc` now.
    fn force(&self, svc: &str) {
        match self.kind {
            Kind::Icinga2 => {
                let body = json!({
                    "type": "Service",
                    "filter": format!("host.name==\"{}\" && service.name==\"{svc}\"", self.host),
                    "force": true,
                });
                let r = self.icinga_api("POST", "/v1/actions/reschedule-check", Some(&body));
                assert_eq!(
                    r["results"].as_array().map(Vec::len),
                    Some(1),
                    "reschedule-check {svc}: {r}"
                );
            }
            Kind::Nagios => {
                let t = epoch() as u64;
                self.nagios_cmd(&[format!("SCHEDULE_FORCED_SVC_CHECK;{};{svc};{t}", self.host)]);
            }
        }
    }

    /// Sets the service's variable `name` (`{var:NAME}` in [`Spec`]): Icinga 2
    /// through the API (a modified attribute), Nagios with
    /// CHANGE_CUSTOM_SVC_VAR (CHANGE_SVC_CHECK_COMMAND is disabled in Nagios 4).
    fn set_var(&self, svc: &str, name: &str, value: &str) {
        match self.kind {
            Kind::Icinga2 => {
                let body = json!({"attrs": {format!("vars.heal_{name}"): value}});
                let r = self.icinga_api(
                    "POST",
                    &format!("/v1/objects/services/{}!{svc}", self.host),
                    Some(&body),
                );
                assert_eq!(
                    r.pointer("/results/0/code").and_then(Value::as_f64),
                    Some(200.0),
                    "set vars.heal_{name} of {svc}: {r}"
                );
            }
            Kind::Nagios => {
                let var = format!("HEAL_{}", name.to_ascii_uppercase());
                self.nagios_cmd(&[format!(
                    "CHANGE_CUSTOM_SVC_VAR;{};{svc};{var};{value}",
                    self.host
                )]);
                // Applied when Nagios reads the FIFO: wait for status.dat to show it.
                let key = format!("_{var}");
                self.wait(
                    svc,
                    &format!("{key} set to {value}"),
                    Duration::from_secs(10),
                    || {
                        let b = self.nagios_block(svc)?;
                        let v = b.get(&key)?;
                        (v.split_once(';').map(|(_, v)| v) == Some(value)).then_some(())
                    },
                );
            }
        }
    }

    /// What a failure message shows: the service as the engine has it, the
    /// engine's log and syslog (the handlers' own record and output) since
    /// the test began.
    fn diagnose(&self, svc: &str) -> String {
        let mut s = String::new();
        let seen = match self.kind {
            Kind::Icinga2 => self
                .icinga_object(svc)
                .map(|a| serde_json::to_string_pretty(&a).unwrap_or_default())
                .unwrap_or_else(|| "(no such service)".into()),
            Kind::Nagios => self
                .nagios_block(svc)
                .map(|b| {
                    b.iter()
                        .filter(|(k, _)| {
                            [
                                "current_state",
                                "state_type",
                                "current_attempt",
                                "plugin_output",
                                "last_check",
                                "last_state_change",
                                "has_been_checked",
                                "event_handler_enabled",
                                "active_checks_enabled",
                                "next_check",
                            ]
                            .contains(&k.as_str())
                        })
                        .map(|(k, v)| format!("  {k}={v}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .unwrap_or_else(|| "(no such service)".into()),
        };
        let _ = writeln!(s, "\n--- {} shows {svc} as:\n{seen}", self.kind.title());
        let _ = writeln!(
            s,
            "--- {} since the test began (last 40 lines):\n{}",
            self.log.display(),
            last_lines(&self.engine_log(), 40)
        );
        let rs: Vec<String> = read_since(&self.syslog, self.syslog_from)
            .lines()
            .filter(|l| l.contains("rsplugins[") && l.contains(svc))
            .map(str::to_string)
            .collect();
        let _ = writeln!(
            s,
            "--- syslog {} about {svc} since the test began (the handlers' record; last 40):\n{}",
            self.syslog.display(),
            last_lines(&rs.join("\n"), 40)
        );
        s
    }

    /// Polls `f` every 100 ms until it gives a value; fails after `limit`
    /// with `what` and the diagnosis of `svc`.
    fn wait<T>(
        &self,
        svc: &str,
        what: &str,
        limit: Duration,
        mut f: impl FnMut() -> Option<T>,
    ) -> T {
        let start = Instant::now();
        loop {
            if let Some(v) = f() {
                return v;
            }
            if start.elapsed() > limit {
                panic!(
                    "{}: {what}: not within {limit:?}{}",
                    self.kind.title(),
                    self.diagnose(svc)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the first check result of `svc` after a (re)load, forcing it.
    fn first_result(&self, svc: &str) -> Status {
        self.force(svc);
        self.wait(svc, "a first check result", WAIT, || {
            self.status(svc).filter(|s| s.checked)
        })
    }
}

// -------------------------------------------------------------------------------------------
// Guards: what a test installs is removed when it ends, also when it fails
// -------------------------------------------------------------------------------------------

/// The test's object file in the engine's objects directory; removed and the
/// engine reloaded on drop.
struct Objects<'a> {
    bed: &'a Bed,
    path: PathBuf,
}

fn objects<'a>(bed: &'a Bed, name: &str, text: &str) -> Objects<'a> {
    let (dir, ext) = match bed.kind {
        Kind::Icinga2 => ("ICINGA2_OBJECTS_DIR", "conf"),
        Kind::Nagios => ("NAGIOS_OBJECTS_DIR", "cfg"),
    };
    let path = Path::new(&bed.eng.get(dir)).join(format!("healing-{name}.{ext}"));
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    let guard = Objects { bed, path };
    bed.eng.reload(bed.kind.name());
    guard
}

impl Drop for Objects<'_> {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
        // No panic here (a failing test is already unwinding): say what went wrong.
        let script = self.bed.eng.get("SCRIPT");
        match Command::new("bash")
            .args([script.as_str(), "reload", self.bed.kind.name()])
            .stdin(Stdio::null())
            .output()
        {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "cleanup: `{script} reload {}` failed:\n{}{}",
                self.bed.kind.name(),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            ),
            Err(e) => eprintln!("cleanup: cannot run {script}: {e}"),
        }
    }
}

/// Installs the rules restart_service_rs prints for `args` (run from the
/// engines' plugin directory, so they name the binary the engine runs).
fn sudoers(bed: &Bed, name: &str, args: &[&str]) -> Sudoers {
    sudoers::install(
        &bed.bin("restart_service_rs"),
        &bed.user,
        args,
        &format!("rsplugins-healing-engines-{}-{name}", bed.kind.name()),
        bed.scratch.path(),
        "tests/tests/healing_engines.rs",
    )
}

fn heal_ftp_port() -> u16 {
    testbed_var("RSPLUGINS_TESTBED_HEAL_FTP_PORT")
        .parse()
        .unwrap()
}

fn heal_ftp_up() -> bool {
    port_open(heal_ftp_port())
}

fn heal_ftp_pid() -> Option<u32> {
    pid_file(testbed_var("RSPLUGINS_TESTBED_HEAL_FTP_PIDFILE"))
}

fn wait_ftp(up: bool, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if heal_ftp_up() == up {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

/// rsplugins-heal-ftp up (started when it is not); its pid.
fn heal_ftp_running(unit: &str) -> u32 {
    service_running(
        unit,
        heal_ftp_port(),
        &testbed_var("RSPLUGINS_TESTBED_HEAL_FTP_PIDFILE"),
    )
}

/// Leaves rsplugins-heal-ftp running, whatever the test did to it.
struct RestoreFtp;

impl Drop for RestoreFtp {
    fn drop(&mut self) {
        if !heal_ftp_up() {
            service(&testbed_var("RSPLUGINS_TESTBED_HEAL_FTP_UNIT"), "start");
            if !wait_ftp(true, Duration::from_secs(10)) {
                eprintln!("cleanup: rsplugins-heal-ftp did not come back");
            }
        }
    }
}

// -------------------------------------------------------------------------------------------
// Objects
// -------------------------------------------------------------------------------------------

/// A service with an event handler, in the engine's language. `check` and
/// `handler` are argv words; the engine's macros are written `{state}`,
/// `{type}`, `{attempt}`, `{service}`, and the service's own variables
/// `{var:NAME}` (Icinga 2 `$heal_NAME$`, Nagios `$_SERVICEHEAL_NAME$`),
/// which a test changes at run time with [`Bed::set_var`].
struct Spec<'a> {
    svc: &'a str,
    check: Vec<String>,
    /// The service's variables and their first values.
    vars: Vec<(&'a str, String)>,
    handler: Vec<String>,
    active: bool,
    max_attempts: u32,
    volatile: bool,
}

fn macros(kind: Kind, word: &str) -> String {
    let pairs: [(&str, &str); 4] = match kind {
        Kind::Icinga2 => [
            ("{state}", "$service.state$"),
            ("{type}", "$service.state_type$"),
            ("{attempt}", "$service.check_attempt$"),
            ("{service}", "$service.name$"),
        ],
        Kind::Nagios => [
            ("{state}", "$SERVICESTATE$"),
            ("{type}", "$SERVICESTATETYPE$"),
            ("{attempt}", "$SERVICEATTEMPT$"),
            ("{service}", "$SERVICEDESC$"),
        ],
    };
    let mut w = pairs
        .iter()
        .fold(word.to_string(), |w, (from, to)| w.replace(from, to));
    while let Some(at) = w.find("{var:") {
        let len = w[at..].find('}').expect("{var:NAME}") + 1;
        let name = &w[at + 5..at + len - 1];
        let macro_ = match kind {
            Kind::Icinga2 => format!("$heal_{name}$"),
            Kind::Nagios => format!("$_SERVICEHEAL_{}$", name.to_ascii_uppercase()),
        };
        w.replace_range(at..at + len, &macro_);
    }
    w
}

/// The engine's macros as the handlers take them.
fn event_args() -> Vec<String> {
    [
        "--state",
        "{state}",
        "--state-type",
        "{type}",
        "--attempt",
        "{attempt}",
        "--service",
        "{service}",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

fn config(bed: &Bed, spec: &Spec) -> String {
    let svc = spec.svc;
    let template = &bed.template;
    let mut c =
        String::from("# Written by tests/tests/healing_engines.rs; removed when the test ends.\n");
    match bed.kind {
        Kind::Icinga2 => {
            let arr = |argv: &[String]| {
                argv.iter()
                    .map(|w| q(&macros(Kind::Icinga2, w)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let _ = writeln!(
                c,
                "object CheckCommand \"{svc}-check\" {{\n  command = [ {} ]\n}}",
                arr(&spec.check)
            );
            let _ = writeln!(
                c,
                "object EventCommand \"{svc}-handler\" {{\n  command = [ {} ]\n  timeout = 60s\n}}",
                arr(&spec.handler)
            );
            let _ = writeln!(
                c,
                "object Service {} {{\n  import {}\n  check_command = \"{svc}-check\"\n  enable_active_checks = {}\n  check_interval = 5s\n  retry_interval = 1s\n  max_check_attempts = {}\n  volatile = {}\n  enable_event_handler = true\n  event_command = \"{svc}-handler\"",
                q(svc),
                q(template),
                spec.active,
                spec.max_attempts,
                spec.volatile
            );
            for (name, value) in &spec.vars {
                let _ = writeln!(c, "  vars.heal_{name} = {}", q(value));
            }
            c.push_str("}\n");
        }
        Kind::Nagios => {
            let line = |argv: &[String]| {
                argv.iter()
                    .map(|w| {
                        let w = macros(Kind::Nagios, w);
                        if w.starts_with('$')
                            || w.chars()
                                .all(|ch| ch.is_ascii_alphanumeric() || "/._-:@%,".contains(ch))
                        {
                            w
                        } else {
                            sq(&w)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let command = |c: &mut String, name: &str, argv: &[String]| {
                let _ = writeln!(
                    c,
                    "define command {{\n    command_name    {name}\n    command_line    {}\n}}",
                    line(argv)
                );
            };
            command(&mut c, &format!("{svc}-check"), &spec.check);
            command(&mut c, &format!("{svc}-handler"), &spec.handler);
            let _ = writeln!(
                c,
                "define service {{\n    use                     {template}\n    service_description     {svc}\n    check_command           {svc}-check\n    active_checks_enabled   {}\n    check_interval          5\n    retry_interval          1\n    max_check_attempts      {}\n    is_volatile             {}\n    event_handler_enabled   1\n    event_handler           {svc}-handler",
                u8::from(spec.active),
                spec.max_attempts,
                u8::from(spec.volatile)
            );
            for (name, value) in &spec.vars {
                let _ = writeln!(c, "    _HEAL_{:<20} {value}", name.to_ascii_uppercase());
            }
            c.push_str("}\n");
        }
    }
    c
}

/// Checks the words a Nagios line is made of do not need the shell's
/// help beyond single quotes (and no `;`, which starts a comment there).
fn nagios_safe(spec: &Spec) {
    let values = spec.vars.iter().map(|(_, v)| v);
    for w in spec.check.iter().chain(&spec.handler).chain(values) {
        assert!(!w.contains(';') && !w.contains('\''), "{w:?}");
    }
}

// -------------------------------------------------------------------------------------------
// a'. restart: a killed postfix comes back (Debian's own init script)
// -------------------------------------------------------------------------------------------

/// The testbed's postfix (the mail tests share it: restored when a test ends).
static POSTFIX: Mutex<()> = Mutex::new(());
const POSTFIX_PIDFILE: &str = "/var/spool/postfix/pid/master.pid";

fn smtp_up() -> bool {
    port_open(25)
}

fn postfix_master() -> Option<u32> {
    pid_file(POSTFIX_PIDFILE).filter(|p| alive(*p))
}

/// Leaves postfix running, whatever the test did to it.
struct RestorePostfix;

impl Drop for RestorePostfix {
    fn drop(&mut self) {
        if !smtp_up() {
            service("postfix", "start");
            let start = Instant::now();
            while !smtp_up() && start.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

fn restart_killed_postfix(kind: Kind) {
    let _mail = turn(&POSTFIX);
    let _engine = kind.lock();
    let Some(bed) = bed(kind) else { return };
    let svc = format!("heal-smtp-{}", kind.name());
    let _restore = RestorePostfix;
    if !smtp_up() {
        service("postfix", "start");
    }
    let old = bed.wait(&svc, "postfix running before the test", WAIT, || {
        postfix_master().filter(|_| smtp_up())
    });
    let check_words = vec![
        bed.bin("check_smtp_rs"),
        "-H".into(),
        "127.0.0.1".into(),
        "-t".into(),
        "5".into(),
    ];
    // Debian's own /etc/init.d/postfix, through `service`, as on a host without systemd.
    let service_args = [
        "--unit",
        "postfix",
        "--manager",
        "service",
        "--pidfile",
        POSTFIX_PIDFILE,
    ];
    let _sudo = sudoers(&bed, "postfix", &service_args);
    let mut handler = vec![bed.bin("restart_service_rs")];
    handler.extend(event_args());
    handler.extend(words(&["--on-attempt", "1"]));
    handler.extend(words(&service_args));
    handler.extend(words(&["--sudo", "--check", &check_words.join(" ")]));
    handler.extend(words(&["--state-dir", &bed.state_dir(), "-t", "25"]));
    let spec = Spec {
        svc: &svc,
        check: check_words,
        vars: Vec::new(),
        handler,
        active: true,
        max_attempts: 2,
        volatile: false,
    };
    nagios_safe(&spec);
    let _objects = objects(&bed, &svc, &config(&bed, &spec));

    bed.first_result(&svc);
    let before = bed.wait(&svc, "OK before the kill", WAIT, || {
        bed.status(&svc).filter(|s| s.checked && s.state == 0)
    });
    while epoch().floor() <= before.last_state_change {
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed_at = epoch();
    let t0 = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(old as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap_or_else(|e| panic!("kill -9 {old} (postfix master): {e}"));
    bed.wait(
        &svc,
        "port 25 closed after kill -9 of the master",
        Duration::from_secs(10),
        || (!smtp_up()).then_some(()),
    );
    bed.force(&svc);
    let (after, new) = bed.wait(
        &svc,
        "OK again with a new postfix master after kill -9",
        WAIT,
        || {
            let s = bed.status(&svc)?;
            let pid = postfix_master()?;
            (s.checked
                && s.state == 0
                && s.last_state_change > before.last_state_change
                && pid != old
                && smtp_up())
            .then_some((s, pid))
        },
    );
    let seen_ok = t0.elapsed();
    bed.wait(
        &svc,
        "syslog lines of the postfix restart (service postfix start, validated)",
        Duration::from_secs(10),
        || {
            let l = bed.syslog_lines("restart_service_rs", &svc);
            let started = l.iter().any(|x| {
                x.contains(&format!(
                    ": {svc}: start: /usr/bin/sudo -n -- /usr/sbin/service postfix start"
                ))
            });
            let done = l.iter().any(|x| {
                x.contains(&format!(
                    ": {svc}: OK: {svc} restarted and validated: SMTP OK"
                ))
            });
            (started && done).then_some(())
        },
    );
    eprintln!(
        "{}: kill -9 of the postfix master (pid {old}) -> engine OK again (new master {new}) in {:.1} s as seen by the test, {:.2} s by the engine's state-change time",
        kind.title(),
        seen_ok.as_secs_f64(),
        after.last_state_change - killed_at
    );
}

#[test]
fn icinga2_restarts_a_killed_postfix_through_its_event_handler() {
    restart_killed_postfix(Kind::Icinga2);
}

#[test]
fn nagios_restarts_a_killed_postfix_through_its_event_handler() {
    restart_killed_postfix(Kind::Nagios);
}

// -------------------------------------------------------------------------------------------
// a. restart: a killed FTP server comes back
// -------------------------------------------------------------------------------------------

fn restart_killed_ftp(kind: Kind) {
    let _ftp = turn(&HEAL_FTP);
    let _engine = kind.lock();
    let Some(bed) = bed(kind) else { return };
    let unit = testbed_var("RSPLUGINS_TESTBED_HEAL_FTP_UNIT");
    let pidfile = testbed_var("RSPLUGINS_TESTBED_HEAL_FTP_PIDFILE");
    let port = heal_ftp_port().to_string();
    let svc = format!("heal-ftp-{}", kind.name());

    let _restore = RestoreFtp;
    heal_ftp_running(&unit);
    let check_words = vec![
        bed.bin("check_ftp_rs"),
        "-H".into(),
        "127.0.0.1".into(),
        "-p".into(),
        port.clone(),
    ];
    let service_args = [
        "--unit",
        unit.as_str(),
        "--manager",
        "service",
        "--pidfile",
        pidfile.as_str(),
    ];
    let _sudo = sudoers(&bed, "ftp", &service_args);
    let mut handler = vec![bed.bin("restart_service_rs")];
    handler.extend(event_args());
    handler.extend(words(&["--on-attempt", "1"]));
    handler.extend(words(&service_args));
    handler.extend(words(&["--sudo", "--check", &check_words.join(" ")]));
    handler.extend(words(&["--state-dir", &bed.state_dir(), "-t", "25"]));
    let spec = Spec {
        svc: &svc,
        check: check_words,
        vars: Vec::new(),
        handler,
        active: true,
        max_attempts: 2,
        volatile: false,
    };
    nagios_safe(&spec);
    let _objects = objects(&bed, &svc, &config(&bed, &spec));

    // OK first.
    bed.first_result(&svc);
    let before = bed.wait(&svc, "OK before the kill", WAIT, || {
        bed.status(&svc).filter(|s| s.checked && s.state == 0)
    });
    // Any state change after the kill is stamped later than the last one before it (Nagios
    // stamps whole seconds).
    while epoch().floor() <= before.last_state_change {
        std::thread::sleep(Duration::from_millis(50));
    }
    let old = heal_ftp_running(&unit);

    let killed_at = epoch();
    let t0 = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(old as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap_or_else(|e| panic!("kill -9 {old}: {e}"));
    assert!(
        wait_ftp(false, Duration::from_secs(5)),
        "{unit} still listens after kill -9 {old}"
    );
    bed.force(&svc);

    let (after, new) = bed.wait(
        &svc,
        "OK again with a new pid in the pid file and a listening port after kill -9",
        WAIT,
        || {
            let s = bed.status(&svc)?;
            let pid = heal_ftp_pid()?;
            (s.checked
                && s.state == 0
                && s.last_state_change > before.last_state_change
                && pid != old
                && heal_ftp_up())
            .then_some((s, pid))
        },
    );
    let seen_ok = t0.elapsed();
    let stamped = after.last_state_change - killed_at;

    // The engine ran the handler with its macros, and the handler restarted and validated.
    if kind == Kind::Nagios {
        let want = format!(
            "SERVICE EVENT HANDLER: {};{svc};CRITICAL;SOFT;1;{svc}-handler",
            bed.host
        );
        bed.wait(
            &svc,
            &format!("nagios.log line {want:?}"),
            Duration::from_secs(5),
            || bed.engine_log().contains(&want).then_some(()),
        );
    }
    let lines = bed.wait(
        &svc,
        "syslog lines of the restart (restarting, validated)",
        Duration::from_secs(10),
        || {
            let l = bed.syslog_lines("restart_service_rs", &svc);
            let restarting = l.iter().any(|x| {
                x.contains(&format!(
                    ": {svc}: CRITICAL SOFT 1: restarting (rule: CRITICAL HARD, or SOFT attempt 1)"
                ))
            });
            let validated = l
                .iter()
                .any(|x| x.contains(&format!(": {svc}: validated after ")));
            let done = l.iter().any(|x| {
                x.contains(&format!(
                    ": {svc}: OK: {svc} restarted and validated: FTP OK"
                ))
            });
            (restarting && validated && done).then_some(l)
        },
    );
    let failures: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("failed") || l.contains("storm guard"))
        .collect();
    assert!(
        failures.is_empty(),
        "the handler reported failures: {failures:#?}{}",
        bed.diagnose(&svc)
    );
    if kind == Kind::Icinga2 {
        let warned: Vec<String> = bed
            .engine_log()
            .lines()
            .filter(|l| l.contains(&format!("Event command for object '{}!{svc}'", bed.host)))
            .map(str::to_string)
            .collect();
        assert!(
            warned.is_empty(),
            "Icinga 2 saw the handler fail: {warned:#?}"
        );
    }
    // Every handler run that began has ended (a late run must not outlive the sudo rules
    // and the service the test removes).
    let lines = bed.wait(&svc, "every handler run ended", WAIT, || {
        let l = bed.syslog_lines("restart_service_rs", &svc);
        let runs = |pattern: &str| -> std::collections::BTreeSet<String> {
            l.iter()
                .filter(|x| x.contains(pattern))
                .filter_map(|x| x.split("rsplugins[").nth(1)?.split(']').next())
                .map(str::to_string)
                .collect()
        };
        let begun = runs(": restarting (rule:");
        let ended: std::collections::BTreeSet<String> = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]
            .iter()
            .flat_map(|st| runs(&format!(": {svc}: {st}: ")))
            .collect();
        begun.is_subset(&ended).then_some(l)
    });
    let restarts = lines
        .iter()
        .filter(|l| l.contains(": restarting (rule:"))
        .count();
    eprintln!(
        "{}: kill -9 of {unit} (pid {old}) -> engine OK again (new pid {new}) in {:.1} s as seen by the test, {stamped:.2} s by the engine's state-change time; {restarts} restart(s); engine output: {}",
        kind.title(),
        seen_ok.as_secs_f64(),
        after.output.lines().next().unwrap_or("")
    );
}

#[test]
fn icinga2_restarts_a_killed_ftp_server_through_its_event_handler() {
    restart_killed_ftp(Kind::Icinga2);
}

#[test]
fn nagios_restarts_a_killed_ftp_server_through_its_event_handler() {
    restart_killed_ftp(Kind::Nagios);
}

// -------------------------------------------------------------------------------------------
// b. storm: a unit that never starts is started twice, then left alone
// -------------------------------------------------------------------------------------------

fn storm_guard(kind: Kind) {
    let _engine = kind.lock();
    let Some(bed) = bed(kind) else { return };
    let unit = testbed_var("RSPLUGINS_TESTBED_HEAL_BROKEN_UNIT");
    let svc = format!("heal-storm-{}-{}", kind.name(), std::process::id());
    let notify = bed.file("notify.txt");
    let service_args = ["--unit", unit.as_str(), "--manager", "service"];
    let _sudo = sudoers(&bed, "broken", &service_args);
    let mut handler = vec![bed.bin("restart_service_rs")];
    handler.extend(event_args());
    handler.extend(words(&["--on-attempt", "1"]));
    handler.extend(words(&service_args));
    handler.extend(words(&["--sudo", "--max-restarts", "2", "--window", "600"]));
    handler.extend(words(&[
        "--notify",
        &format!("/usr/bin/tee -a {}", notify.display()),
    ]));
    handler.extend(words(&["--state-dir", &bed.state_dir(), "-t", "25"]));
    // The service runs first: a port of ours that accepts. Then it breaks for good: port 1,
    // closed on the testbed. Volatile, so the engine calls the handler on every HARD CRITICAL
    // result too, not only on the change: the guard must hold against an engine that keeps
    // asking.
    let open = std::net::TcpListener::bind("127.0.0.1:0").expect("a listening port");
    let open_port = open.local_addr().unwrap().port().to_string();
    let spec = Spec {
        svc: &svc,
        check: words(&[
            &bed.bin("check_tcp_rs"),
            "-H",
            "127.0.0.1",
            "-p",
            "{var:port}",
        ]),
        vars: vec![("port", open_port)],
        handler,
        active: true,
        max_attempts: 4,
        volatile: true,
    };
    nagios_safe(&spec);
    let _objects = objects(&bed, &svc, &config(&bed, &spec));
    bed.first_result(&svc);
    bed.wait(&svc, "OK on the open port first", WAIT, || {
        bed.status(&svc).filter(|s| s.checked && s.state == 0)
    });
    let started = Instant::now();
    bed.set_var(&svc, "port", "1");
    bed.force(&svc);
    drop(open);

    let start_line = format!(": {svc}: start: /usr/bin/sudo -n -- /usr/sbin/service {unit} start");
    let starts = |l: &[String]| l.iter().filter(|x| x.contains(&start_line)).count();
    let guard_line = format!(": {svc}: storm guard: not restarting");
    // The run's last line (after the notification): the refusal is complete.
    let guard_result = format!(
        ": {svc}: CRITICAL: {svc}: storm guard: 2 restarts in the last 600 s (limit 2), not restarting"
    );
    let lines = bed.wait(
        &svc,
        "a storm guard refusal (CRITICAL) in syslog",
        Duration::from_secs(45),
        || {
            let l = bed.syslog_lines("restart_service_rs", &svc);
            l.iter().any(|x| x.contains(&guard_result)).then_some(l)
        },
    );
    let guard_after = started.elapsed();
    assert!(
        lines.iter().any(|x| x.contains(&guard_line)),
        "no storm guard line{}",
        bed.diagnose(&svc)
    );
    // The engine goes on calling the handler; it goes on refusing, and starts nothing.
    let lines = bed.wait(
        &svc,
        "a second refusal (the engine still calls the handler)",
        Duration::from_secs(20),
        || {
            let l = bed.syslog_lines("restart_service_rs", &svc);
            l.iter()
                .any(|x| x.contains(": already notified in this window"))
                .then_some(l)
        },
    );
    std::thread::sleep(Duration::from_secs(3));
    let lines_late = bed.syslog_lines("restart_service_rs", &svc);
    let refusals = lines_late
        .iter()
        .filter(|x| x.contains(&guard_line))
        .count();
    assert_eq!(
        starts(&lines_late),
        2,
        "start attempts (want exactly 2, by --max-restarts 2){}",
        bed.diagnose(&svc)
    );
    assert_eq!(starts(&lines), 2);
    let failed_starts = lines_late
        .iter()
        .filter(|x| x.contains(&format!(": {svc}: start failed: exit 1")))
        .count();
    assert_eq!(
        failed_starts,
        2,
        "the two starts failed as the unit does{}",
        bed.diagnose(&svc)
    );
    // The engine passed the macros: act on SOFT 1 and on HARD, nothing in between. Nagios
    // counts the HARD attempt on (4), Icinga 2 starts it again at 1.
    let hard = format!(
        ": CRITICAL HARD {}: restarting",
        if kind == Kind::Nagios { 4 } else { 1 }
    );
    for want in [
        ": CRITICAL SOFT 1: restarting",
        ": CRITICAL SOFT 2: no action",
        ": CRITICAL SOFT 3: no action",
        hard.as_str(),
    ] {
        assert!(
            lines_late.iter().any(|x| x.contains(want)),
            "no syslog line with {want:?}{}",
            bed.diagnose(&svc)
        );
    }

    // Notifications: one per failed restart, one for the storm.
    let text = std::fs::read_to_string(&notify).unwrap_or_default();
    let storm_mails = text
        .lines()
        .filter(|l| l.starts_with(&format!("Subject: [rsplugins] {svc}: storm guard ")))
        .count();
    let restart_mails = text
        .lines()
        .filter(|l| l.starts_with(&format!("Subject: [rsplugins] {svc}: restart ")))
        .count();
    assert_eq!(
        storm_mails,
        1,
        "storm notifications in {}:\n{text}",
        notify.display()
    );
    assert_eq!(
        restart_mails,
        2,
        "restart notifications in {}:\n{text}",
        notify.display()
    );

    // The ledger the guard keeps: two restarts, notified.
    let ledger: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(&bed.state_dir()).join(format!("{unit}.json")))
            .expect("the storm guard's state file"),
    )
    .expect("state file JSON");
    assert_eq!(
        ledger["restarts"].as_array().map(Vec::len),
        Some(2),
        "{ledger}"
    );
    assert!(ledger["storm_notified"].is_u64(), "{ledger}");

    if kind == Kind::Nagios {
        let log = bed.engine_log();
        for (state, attempt) in [("SOFT", 1), ("HARD", 4)] {
            let want = format!(
                "SERVICE EVENT HANDLER: {};{svc};CRITICAL;{state};{attempt};{svc}-handler",
                bed.host
            );
            assert!(
                log.contains(&want),
                "nagios.log has no {want:?}{}",
                bed.diagnose(&svc)
            );
        }
    } else {
        // Icinga logs a handler's non-zero exit with its output.
        let want = format!("Event command for object '{}!{svc}'", bed.host);
        let log = bed.engine_log();
        assert!(
            log.lines().any(|l| l.contains(&want)
                && l.contains("exit code 2")
                && l.contains("storm guard")),
            "icinga2.log shows no storm guard output of the handler{}",
            bed.diagnose(&svc)
        );
    }
    eprintln!(
        "{}: storm guard after {:.1} s: 2 starts of {unit}, {refusals} refusals, 1 storm notification",
        kind.title(),
        guard_after.as_secs_f64()
    );
}

#[test]
fn icinga2_storm_guard_stops_restarting_a_unit_that_never_starts() {
    storm_guard(Kind::Icinga2);
}

#[test]
fn nagios_storm_guard_stops_restarting_a_unit_that_never_starts() {
    storm_guard(Kind::Nagios);
}

// -------------------------------------------------------------------------------------------
// c., d. shedding (check_mem_rs) and throttling (check_load_rs), undone on recovery
// -------------------------------------------------------------------------------------------

struct Shed<'a> {
    what: &'a str,
    plugin: &'a str,
    /// -w, -c that make the check `state`.
    problem: (&'a str, &'a str),
    state: (i64, &'a str),
    /// -w, -c that make it OK.
    ok: (&'a str, &'a str),
    /// Also --run/--undo a command.
    run: bool,
}

fn shed_and_undo(kind: Kind, case: Shed) {
    let _engine = kind.lock();
    let Some(bed) = bed(kind) else { return };
    let svc = format!("heal-{}-{}-{}", case.what, kind.name(), std::process::id());
    let marker = bed.file(&format!("{}.marker", case.what));
    let foreign = bed.file("foreign.marker");
    let ran = bed.file(&format!("{}.ran", case.what));
    // A marker that exists before: not the handler's, so never removed by it.
    std::fs::write(&foreign, "the administrator's\n").unwrap();

    let mut handler = vec![bed.bin("shed_load_rs")];
    handler.extend(event_args());
    handler.extend(words(&["--name", &svc]));
    handler.extend(words(&["--marker", &marker.display().to_string()]));
    handler.extend(words(&["--marker", &foreign.display().to_string()]));
    if case.run {
        handler.extend(words(&[
            "--run",
            &format!("/usr/bin/touch {}", ran.display()),
        ]));
        handler.extend(words(&["--undo", &format!("/bin/rm -f {}", ran.display())]));
    }
    handler.extend(words(&["--state-dir", &bed.state_dir(), "-t", "25"]));
    let spec = Spec {
        svc: &svc,
        check: words(&[
            &bed.bin(case.plugin),
            "-w",
            "{var:warning}",
            "-c",
            "{var:critical}",
        ]),
        vars: vec![
            ("warning", case.problem.0.to_string()),
            ("critical", case.problem.1.to_string()),
        ],
        handler,
        active: false,
        max_attempts: 1,
        volatile: false,
    };
    nagios_safe(&spec);
    let _objects = objects(&bed, &svc, &config(&bed, &spec));

    // The problem: the engine's first result is (HARD, max_check_attempts 1); the handler sheds.
    let forced = Instant::now();
    bed.force(&svc);
    let problem = bed.wait(
        &svc,
        &format!("{} from {}", case.state.1, case.plugin),
        WAIT,
        || bed.status(&svc).filter(|s| s.checked),
    );
    assert_eq!(
        (problem.state, problem.hard, problem.attempt),
        (case.state.0, true, 1),
        "{}: {}",
        case.plugin,
        problem.output
    );
    let counts = format!(
        "0 units stopped, 1 markers created, {} commands run",
        u8::from(case.run)
    );
    let done = format!(
        ": {svc}: OK: {svc}: {} HARD 1, shedding: {counts}",
        case.state.1
    );
    bed.wait(
        &svc,
        "the shedding done (marker, command, syslog)",
        WAIT,
        || {
            let l = bed.syslog_lines("shed_load_rs", &svc);
            (marker.exists() && (!case.run || ran.exists()) && l.iter().any(|x| x.contains(&done)))
                .then_some(())
        },
    );
    let shed_took = forced.elapsed();
    let l = bed.syslog_lines("shed_load_rs", &svc);
    for want in [
        format!(
            ": {svc}: {} HARD 1: shedding (rule: WARNING/CRITICAL HARD)",
            case.state.1
        ),
        format!(": {svc}: created marker {}", marker.display()),
        format!(
            ": {svc}: marker {} already exists: not ours, left alone",
            foreign.display()
        ),
    ] {
        assert!(
            l.iter().any(|x| x.contains(&want)),
            "no syslog line with {want:?}{}",
            bed.diagnose(&svc)
        );
    }
    let record = Path::new(&bed.state_dir()).join(format!("shed-{svc}.json"));
    assert!(record.exists(), "no record {}", record.display());
    if kind == Kind::Nagios {
        let want = format!(
            "SERVICE EVENT HANDLER: {};{svc};{};HARD;1;{svc}-handler",
            bed.host, case.state.1
        );
        assert!(
            bed.engine_log().contains(&want),
            "nagios.log has no {want:?}{}",
            bed.diagnose(&svc)
        );
    }

    // Recovery: OK thresholds, a forced check; the handler undoes exactly what it did.
    let flipped_at = epoch();
    let flipped = Instant::now();
    bed.set_var(&svc, "warning", case.ok.0);
    bed.set_var(&svc, "critical", case.ok.1);
    bed.force(&svc);
    let ok = bed.wait(&svc, "OK after the thresholds changed", WAIT, || {
        bed.status(&svc)
            .filter(|s| s.checked && s.state == 0 && s.last_check >= flipped_at.floor())
    });
    assert!(ok.hard, "{}", ok.output);
    let undone = format!(": {svc}: OK: {svc}: recovered, shedding undone");
    bed.wait(
        &svc,
        "the shedding undone (marker and command file gone)",
        WAIT,
        || {
            let l = bed.syslog_lines("shed_load_rs", &svc);
            (!marker.exists() && !ran.exists() && l.iter().any(|x| x.contains(&undone)))
                .then_some(())
        },
    );
    let undo_took = flipped.elapsed();
    assert!(
        foreign.exists(),
        "the marker that was not the handler's was removed"
    );
    assert!(
        !record.exists(),
        "the record {} outlived the recovery",
        record.display()
    );
    let l = bed.syslog_lines("shed_load_rs", &svc);
    assert!(
        l.iter().any(|x| x.contains(&format!(
            ": {svc}: OK HARD 1: recovered, undoing what was done since "
        ))),
        "no recovery line{}",
        bed.diagnose(&svc)
    );
    if case.run {
        assert!(
            l.iter()
                .any(|x| x.contains(&format!(": {svc}: undo: /bin/rm -f {}", ran.display()))),
            "no undo line{}",
            bed.diagnose(&svc)
        );
    }
    if kind == Kind::Nagios {
        let want = format!(
            "SERVICE EVENT HANDLER: {};{svc};OK;HARD;1;{svc}-handler",
            bed.host
        );
        assert!(
            bed.engine_log().contains(&want),
            "nagios.log has no {want:?}{}",
            bed.diagnose(&svc)
        );
    }
    eprintln!(
        "{}: {} {} -> shed {:.1} s after the forced check; OK -> undone {:.1} s after the thresholds changed",
        kind.title(),
        case.plugin,
        case.state.1,
        shed_took.as_secs_f64(),
        undo_took.as_secs_f64()
    );
}

fn mem_case() -> Shed<'static> {
    // Available memory is always at or below 100% (CRITICAL), never at or below 0 bytes.
    Shed {
        what: "mem",
        plugin: "check_mem_rs",
        problem: ("100%", "100%"),
        state: (2, "CRITICAL"),
        ok: ("0", "0"),
        run: true,
    }
}

fn load_case() -> Shed<'static> {
    // @0: alerts on any load (>= 0): always WARNING below a critical no load reaches.
    Shed {
        what: "load",
        plugin: "check_load_rs",
        problem: ("@0:", "100000"),
        state: (1, "WARNING"),
        ok: ("100000", "100000"),
        run: false,
    }
}

#[test]
fn icinga2_sheds_on_check_mem_and_undoes_exactly_that_on_recovery() {
    shed_and_undo(Kind::Icinga2, mem_case());
}

#[test]
fn nagios_sheds_on_check_mem_and_undoes_exactly_that_on_recovery() {
    shed_and_undo(Kind::Nagios, mem_case());
}

#[test]
fn icinga2_throttles_on_check_load_and_undoes_it_on_recovery() {
    shed_and_undo(Kind::Icinga2, load_case());
}

#[test]
fn nagios_throttles_on_check_load_and_undoes_it_on_recovery() {
    shed_and_undo(Kind::Nagios, load_case());
}
