//! Our plugins and event handlers in Icinga 2's distributed monitoring: the
//! master of `tests/testbed/distributed.sh` schedules, the agent runs them
//! (`command_endpoint`), with our generated CheckCommand and EventCommand
//! definitions synced to the agent through the global zone.
//!
//! - plugins: check_load_rs, check_proc_rs, check_disk_rs, check_smtp_rs and
//!   check_ftp_rs, forced on the master through its REST API; state, output
//!   and performance data are read back from the master, and the agent's log
//!   shows it ran each exact command line (the master's log shows no plugin
//!   run at all: `check_source` proves nothing, Icinga writes the endpoint's
//!   name there also for results the master makes up). Force -> result
//!   visible on the master is measured;
//! - restart: the testbed's `rsplugins-heal-ftp-agent` is killed; the
//!   master's check goes CRITICAL, the `restart-service-rs` EventCommand runs
//!   restart_service_rs on the agent (sudo rules from its own
//!   --print-sudoers), the service is back with a new pid and the master
//!   shows OK again. Kill -> OK is measured;
//! - agent stopped: the master shows the endpoint disconnected, the agent's
//!   host (cluster-zone, checked by the master) DOWN and a forced check of an
//!   agent service UNKNOWN "Remote Icinga instance ... is not connected"
//!   (Icinga makes that result only once the master runs for 300 s: the test
//!   waits the rest when it is younger); the master triggers the service's
//!   event handler but never runs it itself. The agent is started again.
//!
//! The tests create their services through the master's REST API (runtime
//! objects; removed when a test ends, and before it begins, so reruns work):
//! writing files and reloading would restart the master and with it Icinga's
//! 300 s window. They take turns (the third stops the agent). Under CI=true a
//! missing setup fails; elsewhere the tests skip with a note.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rsplugins_tests::engine::{expand, is_root, parse_env, parse_perfdata, IcingaApi};
use rsplugins_tests::sudoers::{self, Sudoers};
use rsplugins_tests::system::{
    self, alive, epoch, file_len, last_lines, pid_file, port_open, read_since, service_running,
    syslog_lines,
};
use rsplugins_tests::{available, testbed, testbed_env, testbed_var};
use serde_json::{json, Value};

/// The env file `distributed.sh start` writes once master and agent run.
const ENV_FILE: &str = "/etc/rsplugins-distributed.env";

/// The tests take turns: one stops the agent, two use the agent's FTP server.
static TURN: Mutex<()> = Mutex::new(());

/// How long the master may take to show what a step leads to.
const WAIT: Duration = Duration::from_secs(30);

/// Icinga's cold-start window: a master younger than this (since its last
/// start or reload) makes no result for a check of a disconnected endpoint.
const COLD_START_S: f64 = 300.0;

/// Forced checks per plugin for the force -> result times.
const RUNS: usize = 5;

/// The agent's FTP service (ours alone), its check and handler.
const FTP_SVC: &str = "ftp-agent";

fn turn() -> MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|e| e.into_inner())
}

/// "median X s, max Y s (n=N)" of durations in seconds.
fn stats(xs: &[f64]) -> String {
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        return "no samples".into();
    }
    let n = v.len();
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    format!(
        "median {median:.3} s, max {:.3} s, min {:.3} s (n={n})",
        v[n - 1],
        v[0]
    )
}

/// Icinga's notice line for a started process: `Running command 'a' 'b'`.
fn running_line(argv: &[String]) -> String {
    let words: Vec<String> = argv.iter().map(|w| format!("'{w}'")).collect();
    format!("Running command {}", words.join(" "))
}

/// The master, the agent and the testbed pieces one test uses, and where
/// their logs stood when it began.
struct Dist {
    vars: BTreeMap<String, String>,
    plugin_dir: PathBuf,
    host: String,
    master_log: PathBuf,
    master_from: u64,
    agent_log: PathBuf,
    agent_from: u64,
    syslog: PathBuf,
    syslog_from: u64,
    scratch: tempfile::TempDir,
}

/// The master and agent when they are up (and we are root, as the tests
/// need), or `None` (skipped; a failure under CI=true).
fn dist() -> Option<Dist> {
    let text = std::fs::read_to_string(ENV_FILE).ok();
    if !available(
        &format!("{ENV_FILE} (the Icinga 2 master and agent: run `tests/testbed/distributed.sh start` as root)"),
        text.is_some(),
    ) {
        return None;
    }
    if !available(
        "root (the distributed tests stop the agent, kill a service and install sudoers rules)",
        is_root(),
    ) {
        return None;
    }
    if !testbed() {
        return None;
    }
    let heal = [
        "HEAL_FTP_AGENT_UNIT",
        "HEAL_FTP_AGENT_PORT",
        "HEAL_FTP_AGENT_PIDFILE",
        "SYSLOG_LOG",
    ]
    .iter()
    .all(|k| testbed_env(&format!("RSPLUGINS_TESTBED_{k}")).is_some());
    if !available(
        "the agent's FTP service and syslog of tests/testbed (RSPLUGINS_TESTBED_HEAL_FTP_AGENT_*, SYSLOG_LOG; sudo, visudo)",
        heal && Path::new("/usr/bin/sudo").exists() && Path::new("/usr/sbin/visudo").exists(),
    ) {
        return None;
    }
    let vars = parse_env(text.as_deref().unwrap_or_default());
    let get = |k: &str| {
        vars.get(&format!("RSPLUGINS_DISTRIBUTED_{k}"))
            .cloned()
            .unwrap_or_else(|| {
                panic!("{ENV_FILE} has no RSPLUGINS_DISTRIBUTED_{k}: re-run distributed.sh start")
            })
    };
    let plugin_dir = PathBuf::from(get("PLUGIN_DIR"));
    let bins = [
        "check_load_rs",
        "check_proc_rs",
        "check_disk_rs",
        "check_smtp_rs",
        "check_ftp_rs",
        "restart_service_rs",
    ];
    if !available(
        &format!(
            "the plugins and restart_service_rs in the agent's plugin directory {} (cargo build --workspace --bins, or the package)",
            plugin_dir.display()
        ),
        bins.iter().all(|b| plugin_dir.join(b).is_file()),
    ) {
        return None;
    }
    let master_log = PathBuf::from(get("MASTER_LOG"));
    let agent_log = PathBuf::from(get("AGENT_LOG"));
    let syslog = PathBuf::from(testbed_var("RSPLUGINS_TESTBED_SYSLOG_LOG"));
    let scratch = tempfile::Builder::new()
        .prefix("rsplugins-distributed-")
        .tempdir()
        .expect("scratch directory");
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    Some(Dist {
        host: get("HOST"),
        plugin_dir,
        master_from: file_len(&master_log),
        master_log,
        agent_from: file_len(&agent_log),
        agent_log,
        syslog_from: file_len(&syslog),
        syslog,
        scratch,
        vars,
    })
}

impl Dist {
    /// A value of the env file (`API` for `RSPLUGINS_DISTRIBUTED_API`).
    fn get(&self, key: &str) -> String {
        let full = format!("RSPLUGINS_DISTRIBUTED_{key}");
        self.vars.get(&full).cloned().unwrap_or_else(|| {
            panic!("{ENV_FILE} has no {full}: re-run tests/testbed/distributed.sh start")
        })
    }

    fn bin(&self, name: &str) -> String {
        self.plugin_dir.join(name).display().to_string()
    }

    /// Runs `distributed.sh VERB`; its output on failure.
    fn script(&self, verb: &str) -> Result<(), String> {
        let script = self.get("SCRIPT");
        let out = Command::new("bash")
            .args([script.as_str(), verb])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {script}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "`{script} {verb}` failed:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// `distributed.sh VERB` in the background (its output is in the error
    /// when it fails: [`wait_script`]).
    fn spawn_script(&self, verb: &str) -> std::process::Child {
        let script = self.get("SCRIPT");
        Command::new("bash")
            .args([script.as_str(), verb])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {script}: {e}"))
    }

    /// The master's REST API through curl (TLS verified against our CA, the
    /// password on stdin, not in argv).
    fn api(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let api = IcingaApi {
            base: self.get("API"),
            ca: self.get("CA"),
            user: self.get("API_USER"),
            password_file: self.get("API_PASSWORD_FILE"),
            resolve: Some(self.get("API_RESOLVE")),
        };
        let body = body.map(Value::to_string);
        let (text, err) = api.request(method, path, body.as_deref());
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("the master's API {method} {path}: {e}: {text}{err}"))
    }

    fn svc_path(&self, svc: &str) -> String {
        format!("/v1/objects/services/{}%21{svc}", self.host)
    }

    /// The service's attributes on the master (None: no such service).
    fn service(&self, svc: &str) -> Option<Value> {
        let r = self.api(
            "GET",
            &format!(
                "{}?attrs=state&attrs=state_type&attrs=check_attempt&attrs=last_check&attrs=last_state_change&attrs=last_check_result&attrs=last_reachable",
                self.svc_path(svc)
            ),
            None,
        );
        r.pointer("/results/0/attrs").cloned()
    }

    fn host_attrs(&self) -> Option<Value> {
        let r = self.api(
            "GET",
            &format!(
                "/v1/objects/hosts/{}?attrs=state&attrs=last_check_result",
                self.host
            ),
            None,
        );
        r.pointer("/results/0/attrs").cloned()
    }

    fn connected(&self) -> bool {
        let r = self.api(
            "GET",
            &format!(
                "/v1/objects/endpoints/{}?attrs=connected",
                self.get("AGENT")
            ),
            None,
        );
        r.pointer("/results/0/attrs/connected") == Some(&Value::Bool(true))
    }

    /// When the configuration the master runs started (its last start or reload).
    fn master_start(&self) -> f64 {
        let r = self.api("GET", "/v1/status/IcingaApplication", None);
        r.pointer("/results/0/status/icingaapplication/app/program_start")
            .and_then(Value::as_f64)
            .unwrap_or_else(|| panic!("no program_start in {r}"))
    }

    /// Forces a check now (`kind` Service or Host).
    fn reschedule(&self, kind: &str, name: &str) {
        let key = kind.to_ascii_lowercase();
        let body = json!({"type": kind, key: name, "force": true});
        let r = self.api("POST", "/v1/actions/reschedule-check", Some(&body));
        assert_eq!(
            r.pointer("/results/0/code").and_then(Value::as_f64),
            Some(200.0),
            "reschedule-check {kind} {name}: {r}"
        );
    }

    /// Forces a check of `svc` and waits for a result that began after the
    /// request: the attributes and the time from the request to the result
    /// being visible in the master's API.
    fn force_wait(&self, svc: &str, limit: Duration) -> Option<(Value, f64, f64)> {
        let t0 = epoch();
        let start = Instant::now();
        self.reschedule("Service", &format!("{}!{svc}", self.host));
        while start.elapsed() < limit {
            if let Some(a) = self.service(svc) {
                let es = a
                    .pointer("/last_check_result/execution_start")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                if es >= t0 {
                    return Some((a, start.elapsed().as_secs_f64(), t0));
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// The same for the agent's host (checked by the master itself).
    fn force_host(&self, limit: Duration) -> Option<Value> {
        let t0 = epoch();
        let start = Instant::now();
        self.reschedule("Host", &self.host);
        while start.elapsed() < limit {
            if let Some(a) = self.host_attrs() {
                let es = a
                    .pointer("/last_check_result/execution_start")
                    .and_then(Value::as_f64)
                    .unwrap_or(0.0);
                if es >= t0 {
                    return Some(a);
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    fn master_log(&self) -> String {
        read_since(&self.master_log, self.master_from)
    }

    fn agent_log(&self) -> String {
        read_since(&self.agent_log, self.agent_from)
    }

    /// Syslog lines of `program` about `subject` since `from`.
    fn syslog_lines(&self, from: u64, program: &str, subject: &str) -> Vec<String> {
        syslog_lines(&read_since(&self.syslog, from), program, subject)
    }

    /// What a failure shows: the service on the master, both logs' process
    /// and problem lines and syslog about it since the test began.
    fn diagnose(&self, svc: &str) -> String {
        let mut s = String::new();
        let seen = self
            .service(svc)
            .map(|a| serde_json::to_string_pretty(&a).unwrap_or_default())
            .unwrap_or_else(|| "(no such service)".into());
        let _ = writeln!(s, "\n--- the master shows {svc} as:\n{seen}");
        let interesting = |l: &&str| {
            l.contains("Running command")
                || l.contains("event handler")
                || l.contains("warning/")
                || l.contains("critical/")
                || l.contains(svc)
        };
        for (name, text) in [
            (&self.master_log, self.master_log()),
            (&self.agent_log, self.agent_log()),
        ] {
            let lines: Vec<&str> = text.lines().filter(interesting).collect();
            let _ = writeln!(
                s,
                "--- {} since the test began (process, handler and problem lines; last 30):\n{}",
                name.display(),
                last_lines(&lines.join("\n"), 30)
            );
        }
        let rs = self.syslog_lines(self.syslog_from, "restart_service_rs", svc);
        let _ = writeln!(
            s,
            "--- syslog {} about {svc} since the test began (last 30):\n{}",
            self.syslog.display(),
            last_lines(&rs.join("\n"), 30)
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
                panic!("{what}: not within {limit:?}{}", self.diagnose(svc));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Lines of the master's log (since the test began) that started one of
    /// our binaries: there must be none, the master runs no plugin itself.
    fn master_ran_ours(&self) -> Vec<String> {
        let ours = format!("Running command '{}/", self.plugin_dir.display());
        self.master_log()
            .lines()
            .filter(|l| l.contains(&ours))
            .map(str::to_string)
            .collect()
    }

    /// A fresh directory owned by the engines' user (the handler's --state-dir).
    fn state_dir(&self) -> String {
        let user = self.get("USER");
        let who = nix::unistd::User::from_name(&user)
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("user {user} missing"));
        let d = self.scratch.path().join("state");
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o750)).unwrap();
        nix::unistd::chown(&d, Some(who.uid), Some(who.gid))
            .unwrap_or_else(|e| panic!("chown {}: {e}", d.display()));
        d.display().to_string()
    }
}

fn wait_script(child: std::process::Child, what: &str) -> Result<(), String> {
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`distributed.sh {what}` failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

// -------------------------------------------------------------------------------------------
// Guards: what a test creates is removed when it ends, also when it fails
// -------------------------------------------------------------------------------------------

/// A service of the agent's host created on the master through the REST API
/// (importing the template that sets host, command_endpoint and zone); a
/// leftover of an earlier run is deleted first. Deleted on drop.
struct Service<'a> {
    dist: &'a Dist,
    name: String,
}

fn service<'a>(dist: &'a Dist, name: &str, attrs: Value) -> Service<'a> {
    let path = dist.svc_path(name);
    dist.api("DELETE", &format!("{path}?cascade=1"), None);
    let body = json!({"templates": [dist.get("SERVICE_TEMPLATE")], "attrs": attrs});
    let r = dist.api("PUT", &path, Some(&body));
    assert_eq!(
        r.pointer("/results/0/code").and_then(Value::as_f64),
        Some(200.0),
        "create service {name} on the master: {r}"
    );
    Service {
        dist,
        name: name.to_string(),
    }
}

impl Drop for Service<'_> {
    fn drop(&mut self) {
        let path = format!("{}?cascade=1", self.dist.svc_path(&self.name));
        // No panic here (a failing test is already unwinding).
        if let Err(e) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            self.dist.api("DELETE", &path, None)
        })) {
            eprintln!("cleanup: cannot delete service {}: {e:?}", self.name);
        }
    }
}

/// Installs the rules restart_service_rs (from the agent's plugin directory,
/// so they name the binary the agent runs) prints for `args`.
fn sudoers(dist: &Dist, args: &[&str]) -> Sudoers {
    sudoers::install(
        &dist.bin("restart_service_rs"),
        &dist.get("USER"),
        args,
        "rsplugins-distributed-ftp-agent",
        dist.scratch.path(),
        "tests/tests/distributed.rs",
    )
}

/// Starts the agent again if a test left it stopped.
struct AgentBack<'a>(&'a Dist);

impl Drop for AgentBack<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.0.script("start-agent") {
            eprintln!("cleanup: {e}");
        }
    }
}

// -------------------------------------------------------------------------------------------
// The agent's FTP server
// -------------------------------------------------------------------------------------------

fn ftp_port() -> u16 {
    testbed_var("RSPLUGINS_TESTBED_HEAL_FTP_AGENT_PORT")
        .parse()
        .unwrap()
}

fn ftp_up() -> bool {
    port_open(ftp_port())
}

fn ftp_pid() -> Option<u32> {
    pid_file(testbed_var("RSPLUGINS_TESTBED_HEAL_FTP_AGENT_PIDFILE"))
}

/// rsplugins-heal-ftp-agent up (started when it is not): its pid.
fn ftp_running() -> u32 {
    service_running(
        &testbed_var("RSPLUGINS_TESTBED_HEAL_FTP_AGENT_UNIT"),
        ftp_port(),
        &testbed_var("RSPLUGINS_TESTBED_HEAL_FTP_AGENT_PIDFILE"),
    )
}

/// Leaves rsplugins-heal-ftp-agent running, whatever the test did to it.
struct RestoreFtp;

impl Drop for RestoreFtp {
    fn drop(&mut self) {
        if !ftp_up() {
            system::service(
                &testbed_var("RSPLUGINS_TESTBED_HEAL_FTP_AGENT_UNIT"),
                "start",
            );
        }
    }
}

/// The FTP service with the restart handler as its event command, the sudo
/// rules the handler needs, and a fresh state directory; OK on the master.
fn ftp_with_handler(dist: &Dist) -> (Sudoers, Service<'_>) {
    let unit = testbed_var("RSPLUGINS_TESTBED_HEAL_FTP_AGENT_UNIT");
    let pidfile = testbed_var("RSPLUGINS_TESTBED_HEAL_FTP_AGENT_PIDFILE");
    let port = ftp_port();
    ftp_running();
    let sudo = sudoers(
        dist,
        &[
            "--unit",
            &unit,
            "--manager",
            "service",
            "--pidfile",
            &pidfile,
        ],
    );
    let check = format!("{} -H 127.0.0.1 -p {port}", dist.bin("check_ftp_rs"));
    let svc = service(
        dist,
        FTP_SVC,
        json!({
            "check_command": "check_ftp_rs",
            "enable_active_checks": true,
            "check_interval": 5,
            "retry_interval": 1,
            "max_check_attempts": 2,
            "enable_event_handler": true,
            "event_command": "restart-service-rs",
            "vars": {
                "ftp_hostname": "127.0.0.1",
                "ftp_port": port,
                "restart_unit": unit,
                "restart_manager": "service",
                "restart_pidfile": pidfile,
                "restart_sudo": true,
                "restart_on_attempt": 1,
                "restart_check": check,
                "restart_state_dir": dist.state_dir(),
                "restart_timeout": "25",
            },
        }),
    );
    dist.wait(FTP_SVC, "OK on the master", WAIT, || {
        let (a, _, _) = dist.force_wait(FTP_SVC, Duration::from_secs(5))?;
        (a["state"].as_f64() == Some(0.0)).then_some(())
    });
    (sudo, svc)
}

/// Waits until every restart_service_rs run about the service that began
/// since `from` has ended (a late run must not outlive the sudo rules and
/// the service the test removes); its syslog lines.
fn handler_runs_ended(dist: &Dist, from: u64) -> Vec<String> {
    dist.wait(FTP_SVC, "every handler run ended", WAIT, || {
        let l = dist.syslog_lines(from, "restart_service_rs", FTP_SVC);
        let runs = |pattern: &str| -> std::collections::BTreeSet<String> {
            l.iter()
                .filter(|x| x.contains(pattern))
                .filter_map(|x| x.split("rsplugins[").nth(1)?.split(']').next())
                .map(str::to_string)
                .collect()
        };
        let begun = runs(&format!(" restart_service_rs: {FTP_SVC}: "));
        let ended: std::collections::BTreeSet<String> = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]
            .iter()
            .flat_map(|st| runs(&format!(": {FTP_SVC}: {st}: ")))
            .collect();
        begun.is_subset(&ended).then_some(l)
    })
}

// -------------------------------------------------------------------------------------------
// a. The agent runs the plugins the master schedules
// -------------------------------------------------------------------------------------------

struct Case {
    svc: &'static str,
    command: &'static str,
    vars: Value,
    summary: &'static str,
    labels: &'static [&'static str],
}

#[test]
fn the_agent_runs_the_plugins_the_master_schedules() {
    let _turn = turn();
    let Some(dist) = dist() else { return };
    let _ftp = RestoreFtp;
    ftp_running();
    // The agent has our generated definitions as they are now: staged on the master, synced.
    let defs: Vec<PathBuf> = dist
        .get("ICINGA2_DEFS")
        .split(':')
        .flat_map(expand)
        .collect();
    assert!(
        !defs.is_empty(),
        "no definition files in {}",
        dist.get("ICINGA2_DEFS")
    );
    for f in &defs {
        let ours = std::fs::read(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        for dir in ["STAGED_DEFS_DIR", "AGENT_SYNCED_DIR"] {
            let copy = Path::new(&dist.get(dir)).join(f.file_name().unwrap());
            assert!(
                std::fs::read(&copy).ok() == Some(ours.clone()),
                "{} differs from {} (run `distributed.sh reload`)",
                copy.display(),
                f.display()
            );
        }
    }
    let cases = [
        Case {
            svc: "dist-load",
            command: "check_load_rs",
            vars: json!({"load_warning": "50,40,30", "load_critical": "100,80,60"}),
            summary: "LOAD OK - load average: ",
            labels: &["load1", "load5", "load15"],
        },
        Case {
            svc: "dist-proc",
            command: "check_proc_rs",
            vars: json!({"proc_command": "icinga2", "proc_critical": "1:"}),
            summary: "PROCS OK: ",
            labels: &["procs"],
        },
        Case {
            svc: "dist-disk",
            command: "check_disk_rs",
            vars: json!({"disk_path": "/", "disk_warning": "1%", "disk_critical": "0.5%"}),
            summary: "DISK OK - free space: / ",
            labels: &["/"],
        },
        // -H from the host's address through the ITL's $check_address$, resolved on the master
        Case {
            svc: "dist-smtp",
            command: "check_smtp_rs",
            vars: json!({"smtp_port": 25}),
            summary: "SMTP OK - 220 ",
            labels: &["time", "connect_time"],
        },
        Case {
            svc: "dist-ftp",
            command: "check_ftp_rs",
            vars: json!({"ftp_hostname": "127.0.0.1", "ftp_port": ftp_port()}),
            summary: "FTP OK - 220 ",
            labels: &["time", "connect_time"],
        },
    ];
    let _services: Vec<Service> = cases
        .iter()
        .map(|c| {
            service(
                &dist,
                c.svc,
                json!({"check_command": c.command, "vars": c.vars}),
            )
        })
        .collect();

    let mut report = Vec::new();
    for c in &cases {
        let bin = dist.bin(c.command);
        let mut visible = Vec::new();
        let mut to_start = Vec::new();
        let mut runtime = Vec::new();
        let mut last = Value::Null;
        for run in 0..RUNS {
            let (a, dt, t0) = dist.force_wait(c.svc, WAIT).unwrap_or_else(|| {
                panic!(
                    "no result for forced check {run} of {}{}",
                    c.svc,
                    dist.diagnose(c.svc)
                )
            });
            let cr = &a["last_check_result"];
            let f = |k: &str| cr[k].as_f64().unwrap_or(0.0);
            visible.push(dt);
            to_start.push(f("execution_start") - t0);
            runtime.push(f("execution_end") - f("execution_start"));
            // state, output, performance data and the command line, as the master has them
            let output = cr["output"].as_str().unwrap_or("");
            assert_eq!(
                (a["state"].as_f64(), cr["exit_status"].as_f64()),
                (Some(0.0), Some(0.0)),
                "{}: not OK on the master: {output}{}",
                c.svc,
                dist.diagnose(c.svc)
            );
            assert!(
                output.starts_with(c.summary),
                "{}: output {output:?} does not start with {:?}",
                c.svc,
                c.summary
            );
            let perf: Vec<String> = cr["performance_data"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .filter_map(|p| p.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let labels: Vec<String> = parse_perfdata(&perf.join(" "))
                .unwrap_or_else(|e| panic!("{}: performance data {perf:?}: {e}", c.svc))
                .into_iter()
                .map(|p| p.label)
                .collect();
            assert_eq!(labels, c.labels, "{}: performance data {perf:?}", c.svc);
            let argv: Vec<String> = cr["command"]
                .as_array()
                .map(|v| {
                    v.iter()
                        .filter_map(|w| w.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(
                argv.first(),
                Some(&bin),
                "{}: command {argv:?} is not our {bin}",
                c.svc
            );
            // The agent ran exactly this command line, once more than before (not the
            // master: see below).
            let line = running_line(&argv);
            dist.wait(
                c.svc,
                &format!(
                    "run {} of {line:?} in the agent's log {}",
                    run + 1,
                    dist.agent_log.display()
                ),
                Duration::from_secs(10),
                || {
                    (dist
                        .agent_log()
                        .lines()
                        .filter(|l| l.contains(&line))
                        .count()
                        > run)
                        .then_some(())
                },
            );
            last = a;
            std::thread::sleep(Duration::from_millis(200));
        }
        let cr = &last["last_check_result"];
        report.push(format!(
            "  {:<14} POST -> result visible on the master: {}\n  {:<14} POST -> plugin start on the agent: {}; plugin run: {}\n  {:<14} last: {} | {} (check_source {}, command {})",
            c.command,
            stats(&visible),
            "",
            stats(&to_start),
            stats(&runtime),
            "",
            cr["output"].as_str().unwrap_or("").trim_end(),
            cr["performance_data"]
                .as_array()
                .map(|v| v.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "))
                .unwrap_or_default(),
            cr["check_source"].as_str().unwrap_or(""),
            cr["command"]
        ));
    }
    let ran = dist.master_ran_ours();
    assert!(
        ran.is_empty(),
        "the master ran our binaries itself:\n{}",
        ran.join("\n")
    );
    eprintln!(
        "distributed: master {} scheduled, agent {} ran {RUNS} forced checks of each plugin (agent log {}):\n{}",
        dist.get("MASTER"),
        dist.get("AGENT"),
        dist.agent_log.display(),
        report.join("\n")
    );
}

// -------------------------------------------------------------------------------------------
// b. The agent runs the restart handler: a killed FTP server comes back
// -------------------------------------------------------------------------------------------

#[test]
fn the_agent_restarts_a_killed_ftp_server_through_its_event_handler() {
    let _turn = turn();
    let Some(dist) = dist() else { return };
    let _ftp = RestoreFtp;
    let (_sudo, _svc) = ftp_with_handler(&dist);
    // The handler's run on the first result (PENDING -> OK) ends before the kill.
    handler_runs_ended(&dist, dist.syslog_from);
    let before = dist.service(FTP_SVC).expect("ftp-agent on the master");
    let before_change = before["last_state_change"].as_f64().unwrap_or(0.0);
    let old = ftp_running();
    let syslog_from = file_len(&dist.syslog);
    let master_from = file_len(&dist.master_log);

    let killed_at = epoch();
    let t0 = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(old as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap_or_else(|e| panic!("kill -9 {old}: {e}"));
    let gone = Instant::now();
    while ftp_up() {
        assert!(
            gone.elapsed() < Duration::from_secs(5),
            "still listening after kill -9 {old}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    dist.reschedule("Service", &format!("{}!{FTP_SVC}", dist.host));

    // The master saw it fail (CRITICAL), then OK again with a new server.
    let (after, new) = dist.wait(
        FTP_SVC,
        "OK again on the master, with a new pid in the pid file and a listening port, after kill -9",
        WAIT,
        || {
            let a = dist.service(FTP_SVC)?;
            let pid = ftp_pid()?;
            (a["state"].as_f64() == Some(0.0)
                && a["last_state_change"].as_f64().unwrap_or(0.0) > before_change
                && pid != old
                && alive(pid)
                && ftp_up())
            .then_some((a, pid))
        },
    );
    let seen_ok = t0.elapsed().as_secs_f64();
    let stamped = after["last_state_change"].as_f64().unwrap_or(0.0) - killed_at;

    // The handler ran on the agent, with the CRITICAL the master saw.
    let handler = dist.bin("restart_service_rs");
    let line = dist.wait(
        FTP_SVC,
        &format!("the agent's log shows it ran {handler} for CRITICAL SOFT 1"),
        Duration::from_secs(10),
        || {
            dist.agent_log()
                .lines()
                .find(|l| {
                    l.contains(&format!("Running command '{handler}' "))
                        && l.contains("'--state' 'CRITICAL'")
                        && l.contains("'--state-type' 'SOFT'")
                        && l.contains("'--attempt' '1'")
                        && l.contains(&format!("'--service' '{FTP_SVC}'"))
                })
                .map(str::to_string)
        },
    );
    let lines = dist.wait(
        FTP_SVC,
        "syslog lines of the restart (restarting, restarted and validated)",
        Duration::from_secs(10),
        || {
            let l = dist.syslog_lines(syslog_from, "restart_service_rs", FTP_SVC);
            let restarting = l.iter().any(|x| {
                x.contains(&format!(
                    "restart_service_rs: {FTP_SVC}: CRITICAL SOFT 1: restarting"
                ))
            });
            let done = l.iter().any(|x| {
                x.contains(&format!(
                    ": {FTP_SVC}: OK: {FTP_SVC} restarted and validated: FTP OK"
                ))
            });
            (restarting && done).then_some(l)
        },
    );
    let failures: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("failed") || l.contains("storm guard"))
        .collect();
    assert!(
        failures.is_empty(),
        "the handler reported failures: {failures:#?}{}",
        dist.diagnose(FTP_SVC)
    );
    // The master decided to run it (the event) and sent it to the agent, never ran it.
    let master = read_since(&dist.master_log, master_from);
    let ran = dist.master_ran_ours();
    assert!(
        ran.is_empty(),
        "the master ran our binaries itself:\n{}",
        ran.join("\n")
    );
    assert!(
        master.contains(&format!(
            "Executing event handler 'restart-service-rs' for checkable '{}!{FTP_SVC}'",
            dist.host
        )),
        "the master's log does not show it triggered the event handler{}",
        dist.diagnose(FTP_SVC)
    );
    handler_runs_ended(&dist, syslog_from);
    eprintln!(
        "distributed: kill -9 of the agent's vsftpd (pid {old}) -> OK on the master again (new pid {new}) through restart_service_rs on the agent: {seen_ok:.2} s as seen by the test, {stamped:.2} s by the master's state-change time; master output: {}\n  agent log: {}",
        after["last_check_result"]["output"].as_str().unwrap_or("").trim_end(),
        line.split("notice/Process: ").nth(1).unwrap_or(&line)
    );
}

// -------------------------------------------------------------------------------------------
// c. The agent stopped: Icinga's verdicts on the master, no handler on the master
// -------------------------------------------------------------------------------------------

#[test]
fn the_agent_stopped_the_master_reports_it_and_runs_no_handler() {
    let _turn = turn();
    let Some(dist) = dist() else { return };
    let _ftp = RestoreFtp;
    let (_sudo, _svc) = ftp_with_handler(&dist);
    handler_runs_ended(&dist, dist.syslog_from);
    let master = dist.get("MASTER");
    let agent = dist.get("AGENT");

    // Icinga makes the "not connected" result only for a master older than 300 s.
    let age = epoch() - dist.master_start();
    if age < COLD_START_S + 2.0 {
        let rest = COLD_START_S + 2.0 - age;
        assert!(rest <= 305.0, "master age {age:.0} s");
        eprintln!(
            "distributed: the master runs its configuration for {age:.0} s only: waiting {rest:.0} s for Icinga's 300 s cold-start window to pass"
        );
        std::thread::sleep(Duration::from_secs_f64(rest));
    }
    let agent_pid: u32 = std::fs::read_to_string(dist.get("AGENT_PIDFILE"))
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .expect("the agent's pid file");
    let syslog_from = file_len(&dist.syslog);
    let master_from = file_len(&dist.master_log);
    let agent_from = file_len(&dist.agent_log);

    // Stop the agent; time its exit and the master noticing.
    let _back = AgentBack(&dist);
    let t0 = Instant::now();
    let mut child = dist.spawn_script("stop-agent");
    let mut exited = None;
    let mut disconnected = None;
    while exited.is_none() || disconnected.is_none() {
        if exited.is_none() && !alive(agent_pid) {
            exited = Some(t0.elapsed().as_secs_f64());
        }
        if disconnected.is_none() && !dist.connected() {
            disconnected = Some(t0.elapsed().as_secs_f64());
        }
        let failed = matches!(child.try_wait(), Ok(Some(st)) if !st.success());
        if failed || t0.elapsed() > WAIT {
            let why = match child.try_wait() {
                Ok(Some(_)) => wait_script(child, "stop-agent").err().unwrap_or_default(),
                _ => "`distributed.sh stop-agent` still runs".to_string(),
            };
            panic!(
                "after {:.1} s: agent pid {agent_pid} exited: {exited:?}, the master shows it disconnected: {disconnected:?}\n{why}{}",
                t0.elapsed().as_secs_f64(),
                dist.diagnose(FTP_SVC)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    wait_script(child, "stop-agent").unwrap_or_else(|e| panic!("{e}"));
    let (exited, disconnected) = (exited.unwrap(), disconnected.unwrap());
    assert!(!dist.connected(), "the master shows {agent} connected");

    // The agent's host, checked by the master itself: DOWN.
    let h = dist
        .force_host(WAIT)
        .unwrap_or_else(|| panic!("no host check result{}", dist.diagnose(FTP_SVC)));
    let host_out = h["last_check_result"]["output"].as_str().unwrap_or("");
    assert_eq!(
        h["state"].as_f64(),
        Some(1.0),
        "host {agent} not DOWN: {host_out}"
    );
    assert!(
        host_out.contains(&format!(
            "Zone '{}' is not connected",
            dist.get("AGENT_ZONE")
        )),
        "host {agent}: {host_out}"
    );

    // A forced check of the agent's service: Icinga's UNKNOWN, made by the master.
    let (a, dt, _) = dist.force_wait(FTP_SVC, WAIT).unwrap_or_else(|| {
        panic!(
            "no result while the agent is stopped{}",
            dist.diagnose(FTP_SVC)
        )
    });
    let out = a["last_check_result"]["output"].as_str().unwrap_or("");
    assert_eq!(
        (a["state"].as_f64(), out),
        (
            Some(3.0),
            format!("Remote Icinga instance '{agent}' is not connected to '{master}'").as_str()
        ),
        "{FTP_SVC} while the agent is stopped{}",
        dist.diagnose(FTP_SVC)
    );
    // That UNKNOWN is a state change: the master triggers the service's event handler...
    dist.wait(
        FTP_SVC,
        "the master's log shows it triggered the event handler for the UNKNOWN",
        Duration::from_secs(10),
        || {
            read_since(&dist.master_log, master_from)
                .contains(&format!(
                    "Executing event handler 'restart-service-rs' for checkable '{}!{FTP_SVC}'",
                    dist.host
                ))
                .then_some(())
        },
    );
    // ... and only sends it to the agent, which is not there: nothing runs it. A run anywhere
    // would log to syslog (restart_service_rs logs every decision, "no action" too).
    std::thread::sleep(Duration::from_secs(2));
    let ran: Vec<String> = read_since(&dist.master_log, master_from)
        .lines()
        .filter(|l| l.contains("Running command") && l.contains("restart_service_rs"))
        .map(str::to_string)
        .collect();
    assert!(
        ran.is_empty(),
        "the master ran the handler itself:\n{}",
        ran.join("\n")
    );
    let ran = dist.master_ran_ours();
    assert!(
        ran.is_empty(),
        "the master ran our binaries:\n{}",
        ran.join("\n")
    );
    let logged = dist.syslog_lines(syslog_from, "restart_service_rs", FTP_SVC);
    assert!(
        logged.is_empty(),
        "restart_service_rs ran while the agent was stopped:\n{}",
        logged.join("\n")
    );

    // The agent back: connected again, and the check OK again.
    let t1 = Instant::now();
    let child = dist.spawn_script("start-agent");
    let reconnected = dist.wait(
        FTP_SVC,
        "the master connected to the agent again",
        WAIT,
        || dist.connected().then(|| t1.elapsed().as_secs_f64()),
    );
    wait_script(child, "start-agent").unwrap_or_else(|e| panic!("{e}"));
    dist.wait(FTP_SVC, "OK again after the agent's start", WAIT, || {
        let (a, _, _) = dist.force_wait(FTP_SVC, Duration::from_secs(5))?;
        (a["state"].as_f64() == Some(0.0)).then_some(())
    });
    let ok_again = t1.elapsed().as_secs_f64();
    handler_runs_ended(&dist, syslog_from);
    // Nor did the agent get the UNKNOWN's handler later: commands are not replayed.
    std::thread::sleep(Duration::from_secs(2));
    let handler = format!("Running command '{}' ", dist.bin("restart_service_rs"));
    let late: Vec<String> = read_since(&dist.agent_log, agent_from)
        .lines()
        .filter(|l| l.contains(&handler) && l.contains("'--state' 'UNKNOWN'"))
        .map(str::to_string)
        .collect();
    assert!(
        late.is_empty(),
        "the agent ran the handler for the UNKNOWN of its absence after it came back:\n{}",
        late.join("\n")
    );
    eprintln!(
        "distributed: agent stopped (master running {:.0} s): its umbrella process gone {exited:.2} s after `distributed.sh stop-agent` began, the master's endpoint connected=false at {disconnected:.2} s; host {agent} DOWN ({host_out}); forced {FTP_SVC} -> UNKNOWN '{out}' visible in {dt:.3} s; the master triggered restart-service-rs, nothing ran it (nor the agent once back); agent started again: connected after {reconnected:.2} s, forced check OK after {ok_again:.2} s",
        epoch() - dist.master_start(),
    );
}
