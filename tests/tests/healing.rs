//! The self-healing binaries on this machine, without an engine (the
//! engines run them in healing_engines.rs): restart_service_rs against the
//! testbed's `rsplugins-heal-ftp` service (vsftpd under a System V init
//! script) and `rsplugins-heal-broken` (a start that always fails),
//! shed_load_rs, reap_procs_rs and watchdog_rs. They run as root: they stop
//! and start services and end processes.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rsplugins_tests::system::{self, pid_file, port_open};
use rsplugins_tests::{binary, testbed_healing, testbed_var};

/// Tests that stop, kill or restart rsplugins-heal-ftp take turns.
static HEAL_FTP: Mutex<()> = Mutex::new(());

fn heal_ftp_lock() -> MutexGuard<'static, ()> {
    HEAL_FTP.lock().unwrap_or_else(|e| e.into_inner())
}

fn env(key: &str) -> String {
    testbed_var(key)
}

fn bin(name: &str) -> String {
    let path = binary(name);
    assert!(
        path.exists(),
        "{} is not built (cargo build --workspace --bins)",
        path.display()
    );
    path.display().to_string()
}

/// Runs `argv`; exit code and stdout.
fn run(argv: &[&str]) -> (i32, String) {
    let out = Command::new(argv[0])
        .args(&argv[1..])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {argv:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.is_empty(), "{argv:?} wrote to stderr: {stderr}");
    (out.status.code().unwrap_or(-1), stdout)
}

fn ftp_port() -> u16 {
    env("RSPLUGINS_TESTBED_HEAL_FTP_PORT").parse().unwrap()
}

fn ftp_up() -> bool {
    port_open(ftp_port())
}

fn heal_pid() -> Option<u32> {
    pid_file(env("RSPLUGINS_TESTBED_HEAL_FTP_PIDFILE"))
}

fn service(verb: &str) {
    let unit = env("RSPLUGINS_TESTBED_HEAL_FTP_UNIT");
    assert!(system::service(&unit, verb), "service {unit} {verb} failed");
}

fn wait_for(what: &str, limit: Duration, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Leaves rsplugins-heal-ftp running, whatever the test did to it.
struct RestoreFtp;

impl Drop for RestoreFtp {
    fn drop(&mut self) {
        if !ftp_up() {
            service("start");
            wait_for("rsplugins-heal-ftp back", Duration::from_secs(10), ftp_up);
        }
    }
}

/// The service up, ours to break.
fn ftp_running() -> RestoreFtp {
    if !ftp_up() {
        service("start");
    }
    wait_for("rsplugins-heal-ftp up", Duration::from_secs(10), ftp_up);
    RestoreFtp
}

/// A fresh state directory (0700, ours).
fn state_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

fn syslog() -> String {
    fs::read_to_string(env("RSPLUGINS_TESTBED_SYSLOG_LOG")).unwrap_or_default()
}

/// Waits until syslog has a line containing every one of `parts`.
fn wait_syslog(parts: &[&str]) {
    let start = Instant::now();
    loop {
        let text = syslog();
        if text
            .lines()
            .any(|l| l.contains("rsplugins[") && parts.iter().all(|p| l.contains(p)))
        {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "no syslog line with {parts:?}; last lines:\n{}",
            text.lines().rev().take(15).collect::<Vec<_>>().join("\n")
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn check_ftp() -> String {
    format!(
        "{} -H 127.0.0.1 -p {} -t 3",
        bin("check_ftp_rs"),
        ftp_port()
    )
}

/// The restart handler's options for rsplugins-heal-ftp, as root (no sudo).
fn restart_ftp_args(service_name: &str, state: &Path) -> Vec<String> {
    [
        bin("restart_service_rs").as_str(),
        "--service",
        service_name,
        "--unit",
        &env("RSPLUGINS_TESTBED_HEAL_FTP_UNIT"),
        "--manager",
        "service",
        "--pidfile",
        &env("RSPLUGINS_TESTBED_HEAL_FTP_PIDFILE"),
        "--check",
        &check_ftp(),
        "--state-dir",
        &state.display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn run_owned(argv: &[String]) -> (i32, String) {
    let words: Vec<&str> = argv.iter().map(String::as_str).collect();
    run(&words)
}

fn with(mut argv: Vec<String>, more: &[&str]) -> Vec<String> {
    argv.extend(more.iter().map(|s| s.to_string()));
    argv
}

#[test]
fn restart_brings_a_killed_service_back_with_a_new_pid_and_logs_to_syslog() {
    if !testbed_healing() {
        return;
    }
    let _turn = heal_ftp_lock();
    let _restore = ftp_running();
    let state = state_dir();
    let old = heal_pid().expect("pid file of rsplugins-heal-ftp");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(old as i32),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    wait_for("the killed vsftpd gone", Duration::from_secs(5), || {
        !ftp_up()
    });
    let args = with(
        restart_ftp_args("heal-ftp-local", state.path()),
        &[
            "--state",
            "CRITICAL",
            "--state-type",
            "HARD",
            "--attempt",
            "3",
        ],
    );
    let start = Instant::now();
    let (code, out) = run_owned(&args);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("RESTART OK - heal-ftp-local restarted and validated: FTP OK - "),
        "{out}"
    );
    assert!(
        out.contains("\nCRITICAL HARD 3: restarting (rule: CRITICAL HARD)\n"),
        "{out}"
    );
    assert!(
        out.contains("\nstop: /usr/sbin/service rsplugins-heal-ftp stop\n"),
        "{out}"
    );
    assert!(out.contains("\nstart: exit 0\n"), "{out}");
    // The check's perfdata is not mixed into ours.
    let first = out.lines().next().unwrap();
    assert_eq!(first.matches('|').count(), 1, "{first}");
    assert!(first.contains("| time="), "{first}");
    let new = heal_pid().expect("pid file after the restart");
    assert_ne!(new, old, "same pid after the restart");
    assert!(ftp_up());
    eprintln!(
        "restart by hand: {:?} from handler start to validated",
        start.elapsed()
    );
    wait_syslog(&["restart_service_rs: heal-ftp-local: CRITICAL HARD 3: restarting"]);
    wait_syslog(&["restart_service_rs: heal-ftp-local: validated after"]);
    // A state file records the restart (the storm guard's ledger), private.
    let ledger = state.path().join("rsplugins-heal-ftp.json");
    let mode = fs::metadata(&ledger).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(fs::read_to_string(&ledger)
        .unwrap()
        .contains("\"restarts\":["));
}

#[test]
fn no_action_before_the_rule_says_so_and_a_dry_run_changes_nothing() {
    if !testbed_healing() {
        return;
    }
    let _turn = heal_ftp_lock();
    let _restore = ftp_running();
    let state = state_dir();
    let pid = heal_pid();
    let base = restart_ftp_args("heal-ftp-quiet", state.path());
    for event in [
        ["CRITICAL", "SOFT", "1"],
        ["WARNING", "HARD", "3"],
        ["OK", "HARD", "1"],
    ] {
        let (code, out) = run_owned(&with(
            base.clone(),
            &[
                "--state",
                event[0],
                "--state-type",
                event[1],
                "--attempt",
                event[2],
            ],
        ));
        assert_eq!(code, 0, "{out}");
        assert_eq!(
            out.lines().next().unwrap(),
            format!(
                "RESTART OK - heal-ftp-quiet: {} {} {}, no action (acting on CRITICAL HARD)",
                event[0], event[1], event[2]
            )
        );
    }
    // --on-attempt 2 acts on exactly SOFT 2 (dry run: the plan only, and
    // not even the state directory is created).
    let absent = state.path().join("absent");
    let (code, out) = run_owned(&with(
        base.clone(),
        &[
            "--state",
            "CRITICAL",
            "--state-type",
            "SOFT",
            "--attempt",
            "2",
            "--on-attempt",
            "2",
            "--dry-run",
            "--state-dir",
            &absent.display().to_string(),
        ],
    ));
    assert!(!absent.exists(), "a dry run created the state directory");
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("RESTART OK - heal-ftp-quiet: dry run, nothing changed"),
        "{out}"
    );
    assert!(
        out.contains("\nwould stop: /usr/sbin/service rsplugins-heal-ftp stop\n"),
        "{out}"
    );
    assert!(
        out.contains("\nwould start: /usr/sbin/service rsplugins-heal-ftp start\n"),
        "{out}"
    );
    assert!(out.contains("\nwould validate: "), "{out}");
    assert_eq!(heal_pid(), pid, "a dry run restarted the service");
    assert!(ftp_up());
    assert!(
        !state.path().join("rsplugins-heal-ftp.json").exists(),
        "a dry run wrote the ledger"
    );
}

/// A copy of `sleep` under another name, in a directory everyone can reach.
fn fake_binary(dir: &Path, name: &str) -> PathBuf {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    let path = dir.join(name);
    fs::copy("/usr/bin/sleep", &path).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn still_running(child: &mut Child) -> bool {
    child.try_wait().unwrap().is_none()
}

#[test]
fn a_leftover_ignoring_sigterm_is_killed_and_look_alikes_are_untouched() {
    if !testbed_healing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_binary(dir.path(), "rsfakesvc");
    let other_name = fake_binary(dir.path(), "rsfakesvc2");
    // The service's leftover: root, the exact executable, SIGTERM ignored
    // (an ignored signal stays ignored across exec).
    let mut stubborn = Command::new("bash")
        .args(["-c", &format!("trap '' TERM; exec {} 600", fake.display())])
        .spawn()
        .unwrap();
    // Same executable, another user: not the service's.
    let mut other_user = Command::new("setpriv")
        .args([
            "--reuid",
            "nobody",
            "--regid",
            "nogroup",
            "--clear-groups",
            "--",
        ])
        .arg(&fake)
        .arg("600")
        .spawn()
        .unwrap();
    // A similar name, root: not the service's executable.
    let mut similar = Command::new(&other_name).arg("600").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let state = state_dir();
    let (code, out) = run(&[
        &bin("restart_service_rs"),
        "--service",
        "fakesvc",
        "--start",
        "/bin/true",
        "--exe",
        &fake.display().to_string(),
        "--user",
        "root",
        "--grace",
        "1",
        "--state",
        "CRITICAL",
        "--state-type",
        "HARD",
        "--state-dir",
        &state.path().display().to_string(),
    ]);
    assert_eq!(code, 0, "{out}");
    let pid = stubborn.id();
    assert!(
        out.contains(&format!(
            "sent SIGTERM to {pid} (rsfakesvc, uid 0, executable)"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "sent SIGKILL to {pid} (rsfakesvc, uid 0, executable)"
        )),
        "{out}"
    );
    assert!(
        out.contains("fakesvc restarted (not validated: no --check)"),
        "{out}"
    );
    let status = stubborn.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "{status}"
    );
    assert!(
        still_running(&mut other_user),
        "another user's process was ended"
    );
    assert!(
        still_running(&mut similar),
        "a similarly named process was ended"
    );
    assert!(!out.contains(&other_user.id().to_string()), "{out}");
    for c in [&mut other_user, &mut similar] {
        let _ = c.kill();
        let _ = c.wait();
    }
}

#[test]
fn the_storm_guard_stops_restarts_and_notifies_once() {
    if !testbed_healing() {
        return;
    }
    let state = state_dir();
    let notified = state.path().join("notified.txt");
    let args: Vec<String> = [
        bin("restart_service_rs").as_str(),
        "--unit",
        &env("RSPLUGINS_TESTBED_HEAL_BROKEN_UNIT"),
        "--manager",
        "service",
        "--max-restarts",
        "2",
        "--window",
        "600",
        "--notify",
        &format!("/usr/bin/tee -a {}", notified.display()),
        "--state-dir",
        &state.path().display().to_string(),
        "--state",
        "CRITICAL",
        "--state-type",
        "HARD",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for _ in 0..2 {
        let (code, out) = run_owned(&args);
        assert_eq!(code, 2, "{out}");
        assert!(
            out.starts_with("RESTART CRITICAL - rsplugins-heal-broken: restart failed: start failed (exit 1: rsplugins-heal-broken: configuration missing, not starting)"),
            "{out}"
        );
        assert!(out.contains("\nnotified: /usr/bin/tee -a "), "{out}");
    }
    for round in 0..2 {
        let (code, out) = run_owned(&args);
        assert_eq!(code, 2, "{out}");
        assert!(
            out.starts_with("RESTART CRITICAL - rsplugins-heal-broken: storm guard: 2 restarts in the last 600 s (limit 2), not restarting, next allowed in "),
            "{out}"
        );
        assert!(
            !out.contains("\nstart: "),
            "started past the storm limit: {out}"
        );
        if round == 1 {
            assert!(out.contains("\nalready notified in this window\n"), "{out}");
        }
    }
    let text = fs::read_to_string(&notified).unwrap();
    let subjects: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("Subject: "))
        .collect();
    assert_eq!(subjects.len(), 3, "{text}");
    assert_eq!(
        subjects
            .iter()
            .filter(|s| s.contains(": storm guard "))
            .count(),
        1,
        "{text}"
    );
    wait_syslog(&["restart_service_rs: rsplugins-heal-broken: storm guard: not restarting"]);
}

#[test]
fn overlapping_runs_for_one_service_never_both_act() {
    if !testbed_healing() {
        return;
    }
    let state = state_dir();
    let dir = state.path().display().to_string();
    let args = |start: &str| -> Vec<String> {
        [
            bin("restart_service_rs").as_str(),
            "--service",
            "slow",
            "--start",
            start,
            "--state-dir",
            &dir,
            "--state",
            "CRITICAL",
            "--state-type",
            "HARD",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let first = Command::new(&args("/bin/sleep 3")[0])
        .args(&args("/bin/sleep 3")[1..])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let (code, out) = run_owned(&args("/bin/true"));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("RESTART OK - slow: another restart is in progress, nothing done"),
        "{out}"
    );
    let first = first.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&first.stdout);
    assert_eq!(first.status.code(), Some(0), "{text}");
    assert!(text.starts_with("RESTART OK - slow restarted"), "{text}");
}

#[test]
fn names_paths_and_state_directories_are_checked_before_anything_runs() {
    if !testbed_healing() {
        return;
    }
    let handler = bin("restart_service_rs");
    let state = state_dir();
    let dir = state.path().display().to_string();
    let marker = state.path().join("ran");
    let start = format!("/usr/bin/touch {}", marker.display());
    let event = ["--state", "CRITICAL", "--state-type", "HARD"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--unit", "vsftpd;reboot"],
            "'vsftpd;reboot' is not a valid unit name",
        ),
        (vec!["--unit", "$(id)"], "'$(id)' is not a valid unit name"),
        (
            vec!["--service", "x`id`", "--start", &start],
            "'x`id`' is not a valid service name",
        ),
        (
            vec![
                "--service",
                "x",
                "--start",
                &start,
                "--pidfile",
                "run/x.pid",
            ],
            "'run/x.pid' is not an absolute path",
        ),
        (
            vec!["--service", "x", "--start", "'unterminated"],
            "unbalanced quotes",
        ),
        (
            vec!["--service", "x"],
            "no way to start the service: give --unit or --start",
        ),
    ];
    for (extra, want) in cases {
        let mut argv = vec![handler.as_str()];
        argv.extend(&extra);
        argv.extend(event);
        argv.extend(["--state-dir", &dir]);
        let (code, out) = run(&argv);
        assert_eq!(code, 3, "{extra:?}: {out}");
        assert!(out.starts_with("RESTART UNKNOWN - "), "{out}");
        assert!(out.contains(want), "{extra:?}: want {want:?} in {out}");
    }
    // A symlinked or world-writable state directory is refused.
    let real = state.path().join("real");
    fs::create_dir(&real).unwrap();
    fs::set_permissions(&real, fs::Permissions::from_mode(0o700)).unwrap();
    let link = state.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let open = state.path().join("open");
    fs::create_dir(&open).unwrap();
    fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
    for (path, want) in [
        (&link, "is a symlink: refused"),
        (&open, "is writable by group or others (mode 777): refused"),
    ] {
        let (code, out) = run(&[
            &handler,
            "--service",
            "x",
            "--start",
            &start,
            "--state",
            "CRITICAL",
            "--state-type",
            "HARD",
            "--state-dir",
            &path.display().to_string(),
        ]);
        assert_eq!(code, 3, "{out}");
        assert!(out.contains(want), "{out}");
    }
    assert!(
        !marker.exists(),
        "a refused run still ran its start command"
    );
}

#[test]
fn print_sudoers_gives_exact_rules_that_sudo_accepts() {
    if !testbed_healing() {
        return;
    }
    let handler = bin("restart_service_rs");
    let (code, out) = run(&[
        &handler,
        "--unit",
        "rsplugins-heal-ftp",
        "--manager",
        "service",
        "--pidfile",
        "/run/rsplugins-heal-ftp.pid",
        "--also",
        "rsplugins-heal-broken",
        "--sudo",
        "--print-sudoers=monitor",
    ]);
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(
        lines,
        [
            "monitor ALL=(root) NOPASSWD: /usr/sbin/service rsplugins-heal-ftp stop".to_string(),
            format!("monitor ALL=(root) NOPASSWD: {handler} --kill-leftovers --unit rsplugins-heal-ftp --manager service --pidfile /run/rsplugins-heal-ftp.pid --grace 5"),
            "monitor ALL=(root) NOPASSWD: /usr/sbin/service rsplugins-heal-ftp start".to_string(),
            "monitor ALL=(root) NOPASSWD: /usr/sbin/service rsplugins-heal-broken restart".to_string(),
        ]
    );
    // Explicit commands and no unit: the root step names the service instead.
    let (code, out) = run(&[
        &handler,
        "--service",
        "my app",
        "--stop",
        "/usr/sbin/myapp-ctl stop",
        "--start",
        "/usr/sbin/myapp-ctl start",
        "--pidfile",
        "/run/myapp.pid",
        "--sudo",
        "--print-sudoers",
    ]);
    assert_eq!(code, 0, "{out}");
    let explicit: Vec<&str> = out.lines().skip(1).collect();
    assert_eq!(
        explicit,
        [
            "nagios ALL=(root) NOPASSWD: /usr/sbin/myapp-ctl stop".to_string(),
            format!("nagios ALL=(root) NOPASSWD: {handler} --kill-leftovers --service my\\ app --pidfile /run/myapp.pid --grace 5"),
            "nagios ALL=(root) NOPASSWD: /usr/sbin/myapp-ctl start".to_string(),
        ]
    );
    let mut lines = lines;
    lines.extend(explicit);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rules");
    fs::write(&file, format!("{}\n", lines.join("\n"))).unwrap();
    let (code, checked) = run(&["/usr/sbin/visudo", "-cf", &file.display().to_string()]);
    assert_eq!(code, 0, "{checked}");
}

#[test]
fn shedding_stops_marks_and_runs_then_recovery_undoes_exactly_that() {
    if !testbed_healing() {
        return;
    }
    let _turn = heal_ftp_lock();
    let _restore = ftp_running();
    let state = state_dir();
    let work = state.path();
    let throttle = work.join("throttle");
    let foreign = work.join("foreign-marker");
    fs::write(&foreign, "someone else's\n").unwrap();
    let ran = work.join("rule-added");
    let args = |event: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = [
            bin("shed_load_rs").as_str(),
            "--service",
            "memory",
            "--name",
            "t-mem",
            "--stop-unit",
            &env("RSPLUGINS_TESTBED_HEAL_FTP_UNIT"),
            "--stop-unit",
            &env("RSPLUGINS_TESTBED_HEAL_BROKEN_UNIT"),
            "--manager",
            "service",
            "--marker",
            &throttle.display().to_string(),
            "--marker",
            &foreign.display().to_string(),
            "--run",
            &format!("/usr/bin/touch {}", ran.display()),
            "--undo",
            &format!("/bin/rm {}", ran.display()),
            "--state-dir",
            &work.display().to_string(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(event.iter().map(|s| s.to_string()));
        v
    };
    let (code, out) = run_owned(&args(&[
        "--state",
        "WARNING",
        "--state-type",
        "SOFT",
        "--attempt",
        "1",
    ]));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("SHED OK - t-mem: WARNING SOFT 1, no action"),
        "{out}"
    );
    assert!(ftp_up() && !throttle.exists());

    let (code, out) = run_owned(&args(&[
        "--state",
        "CRITICAL",
        "--state-type",
        "HARD",
        "--attempt",
        "3",
    ]));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("SHED OK - t-mem: CRITICAL HARD 3, shedding: 1 units stopped, 1 markers created, 1 commands run"),
        "{out}"
    );
    assert!(
        out.contains("rsplugins-heal-broken is not running: left alone"),
        "{out}"
    );
    assert!(
        out.contains("already exists: not ours, left alone"),
        "{out}"
    );
    wait_for("the shed service stopped", Duration::from_secs(5), || {
        !ftp_up()
    });
    assert!(throttle.exists() && ran.exists());

    let (code, out) = run_owned(&args(&[
        "--state",
        "CRITICAL",
        "--state-type",
        "HARD",
        "--attempt",
        "3",
    ]));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("SHED OK - t-mem: CRITICAL HARD 3, already shedding"),
        "{out}"
    );

    let (code, out) = run_owned(&args(&[
        "--state",
        "OK",
        "--state-type",
        "HARD",
        "--attempt",
        "1",
    ]));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("SHED OK - t-mem: recovered, shedding undone"),
        "{out}"
    );
    assert!(
        out.contains("\nstart rsplugins-heal-ftp: /usr/sbin/service rsplugins-heal-ftp start\n"),
        "{out}"
    );
    assert!(!out.contains("start rsplugins-heal-broken"), "{out}");
    wait_for("the shed service back", Duration::from_secs(10), ftp_up);
    assert!(!throttle.exists() && !ran.exists());
    assert_eq!(fs::read_to_string(&foreign).unwrap(), "someone else's\n");
    assert!(
        !work.join("shed-t-mem.json").exists(),
        "the record outlived the recovery"
    );

    // A second OK has nothing left to undo.
    let (code, out) = run_owned(&args(&[
        "--state",
        "OK",
        "--state-type",
        "HARD",
        "--attempt",
        "1",
    ]));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("SHED OK - t-mem: OK HARD 1, no action"),
        "{out}"
    );
    wait_syslog(&["shed_load_rs: t-mem: removed marker"]);
}

#[test]
fn the_reaper_ends_old_processes_by_name_and_spares_young_ones() {
    if !testbed_healing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let fake = fake_binary(dir.path(), "rsreapme");
    let mut old = Command::new(&fake).arg("600").spawn().unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let mut young = Command::new(&fake).arg("600").spawn().unwrap();
    let reaper = bin("reap_procs_rs");

    let (code, out) = run(&[&reaper, "-C", "rsreapme"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("give --older-than, --orphaned or -s"), "{out}");
    let (code, out) = run(&[&reaper, "--older-than", "2"]);
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("give -C COMMAND"), "{out}");

    let (code, out) = run(&[&reaper, "-C", "rsreapme", "--older-than", "2", "--dry-run"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with(&format!("REAP OK - dry run: would end 1 processes with command name 'rsreapme', ELAPSED >= 2: {} (rsreapme, uid 0, matched) | reaped=0", old.id())),
        "{out}"
    );
    assert!(!out.contains(&young.id().to_string()), "{out}");
    assert!(still_running(&mut old));

    let (code, out) = run(&[
        &reaper,
        "-C",
        "rsreapme",
        "--older-than",
        "2",
        "--grace",
        "2",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("REAP OK - ended 1 processes"), "{out}");
    assert!(out.contains("| reaped=1\n"), "{out}");
    let status = old.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(15)
    );
    assert!(still_running(&mut young), "a young process was reaped");

    // --max stops a filter that matches too much.
    let mut more = Command::new(&fake).arg("600").spawn().unwrap();
    let (code, out) = run(&[&reaper, "-C", "rsreapme", "--older-than", "0", "--max", "1"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("2 processes match"), "{out}");
    assert!(still_running(&mut young) && still_running(&mut more));
    for c in [&mut young, &mut more] {
        let _ = c.kill();
        let _ = c.wait();
    }
}

#[test]
fn the_watchdog_restarts_a_stopped_service_on_the_configured_failure_count() {
    if !testbed_healing() {
        return;
    }
    let _turn = heal_ftp_lock();
    let _restore = ftp_running();
    let state = state_dir();
    let restart_state = state.path().join("restart");
    let config = state.path().join("watchdog.conf");
    fs::write(
        &config,
        format!(
            "# rsplugins test\n[heal-ftp]\ncheck = {check}\nfailures = 2\ntimeout = 5\naction = {restart} --unit {unit} --manager service --pidfile {pidfile}\n  --service $SERVICE$ --state $STATE$ --state-type $STATETYPE$ --attempt $ATTEMPT$\n  --check '{check}' --state-dir {rstate}\n\n[sshd]\ncheck = {tcp} -H 127.0.0.1 -p 22\n",
            check = check_ftp(),
            restart = bin("restart_service_rs"),
            unit = env("RSPLUGINS_TESTBED_HEAL_FTP_UNIT"),
            pidfile = env("RSPLUGINS_TESTBED_HEAL_FTP_PIDFILE"),
            rstate = restart_state.display(),
            tcp = bin("check_tcp_rs"),
        ),
    )
    .unwrap();
    fs::set_permissions(&config, fs::Permissions::from_mode(0o600)).unwrap();
    let watchdog = bin("watchdog_rs");
    let argv = [
        watchdog.as_str(),
        "--config",
        &config.display().to_string(),
        "--state-dir",
        &state.path().display().to_string(),
    ];
    let (code, out) = run(&argv);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("WATCHDOG OK - 2 checks OK |"), "{out}");

    service("stop");
    wait_for("rsplugins-heal-ftp stopped", Duration::from_secs(5), || {
        !ftp_up()
    });
    let old = heal_pid();
    let (code, out) = run(&argv);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.starts_with(
            "WATCHDOG CRITICAL - 1 of 2 checks failing: heal-ftp CRITICAL (1/2 failures): "
        ),
        "{out}"
    );
    assert!(
        out.contains("| heal-ftp_failures=1 sshd_failures=0\n"),
        "{out}"
    );
    assert!(!ftp_up(), "acted before the failure count");

    let (code, out) = run(&argv);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("WATCHDOG WARNING - 1 of 2 checks failing: heal-ftp CRITICAL (2/2 failures, action ran): "),
        "{out}"
    );
    assert!(
        out.contains(
            "\nheal-ftp action: exit 0: RESTART OK - heal-ftp restarted and validated: FTP OK"
        ),
        "{out}"
    );
    assert!(ftp_up(), "the action did not bring the service back");
    assert_ne!(heal_pid(), old);

    let (code, out) = run(&argv);
    assert_eq!(code, 0, "{out}");
    assert!(out.starts_with("WATCHDOG OK - 2 checks OK |"), "{out}");
    assert!(
        out.contains("| heal-ftp_failures=0 sshd_failures=0\n"),
        "{out}"
    );
    wait_syslog(&["watchdog_rs: watchdog: heal-ftp: CRITICAL (2/2 failures)"]);

    // A config others could change is refused.
    fs::set_permissions(&config, fs::Permissions::from_mode(0o666)).unwrap();
    let (code, out) = run(&argv);
    assert_eq!(code, 3, "{out}");
    assert!(
        out.contains("is writable by group or others (mode 666): refused"),
        "{out}"
    );
}

#[test]
fn dependent_units_restart_in_order_after_the_service() {
    if !testbed_healing() {
        return;
    }
    let _turn = heal_ftp_lock();
    let _restore = ftp_running();
    let state = state_dir();
    let before = heal_pid();
    let (code, out) = run(&[
        &bin("restart_service_rs"),
        "--service",
        "frontend",
        "--start",
        "/bin/true",
        "--manager",
        "service",
        "--also",
        &env("RSPLUGINS_TESTBED_HEAL_FTP_UNIT"),
        "--also",
        &env("RSPLUGINS_TESTBED_HEAL_BROKEN_UNIT"),
        "--state",
        "CRITICAL",
        "--state-type",
        "HARD",
        "--state-dir",
        &state.path().display().to_string(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.starts_with("RESTART WARNING - frontend restarted (not validated: no --check); dependent rsplugins-heal-broken failed to restart (exit 3)"),
        "{out}"
    );
    let ftp = out
        .find("\nrestart dependent rsplugins-heal-ftp: /usr/sbin/service rsplugins-heal-ftp restart\n")
        .expect(&out);
    let broken = out
        .find("\nrestart dependent rsplugins-heal-broken: /usr/sbin/service rsplugins-heal-broken restart\n")
        .expect(&out);
    let start = out.find("\nstart: /bin/true\n").expect(&out);
    assert!(start < ftp && ftp < broken, "{out}");
    wait_for(
        "the dependent service back",
        Duration::from_secs(10),
        ftp_up,
    );
    assert_ne!(heal_pid(), before, "the dependent unit was not restarted");
}

#[test]
fn the_root_step_ends_only_the_leftovers() {
    if !testbed_healing() {
        return;
    }
    // What `sudo -n restart_service_rs --kill-leftovers ...` runs as root.
    let dir = tempfile::tempdir().unwrap();
    let mut leftover = Command::new("bash")
        .args(["-c", "trap '' TERM; exec sleep 600"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let pidfile = dir.path().join("app.pid");
    fs::write(&pidfile, format!("{}\n", leftover.id())).unwrap();
    let (code, out) = run(&[
        &bin("restart_service_rs"),
        "--kill-leftovers",
        "--service",
        "my app",
        "--pidfile",
        &pidfile.display().to_string(),
        "--grace",
        "1",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("RESTART OK - my app: ended 1 leftover processes"),
        "{out}"
    );
    assert!(out.contains("sent SIGKILL to "), "{out}");
    let status = leftover.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    // Nothing to end: OK, and it says so.
    let (code, out) = run(&[
        &bin("restart_service_rs"),
        "--kill-leftovers",
        "--service",
        "my app",
        "--pidfile",
        &pidfile.display().to_string(),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with("RESTART OK - my app: no leftover processes"),
        "{out}"
    );
}
