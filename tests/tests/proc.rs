//! check_proc_rs on a synthetic /proc (exact output and exit code) and on
//! this machine's /proc (a `sleep` child with a distinctive argument).

use std::fs;
use std::path::Path;
use std::process::{Child, Command as StdCommand};
use std::time::{Duration, Instant};

use predicates::prelude::*;
use rsplugins_tests::plugin;

const UPTIME: u64 = 100_000;
const PF_KTHREAD: u64 = 0x0020_0000;

/// One synthetic process.
struct P {
    pid: u32,
    comm: &'static str,
    state: char,
    ppid: u32,
    kthread: bool,
    /// Seconds since start.
    age: u64,
    /// CPU seconds used.
    cpu: u64,
    vsize: u64,
    rss_pages: u64,
    cmdline: &'static [&'static str],
    /// Session id (0 for kernel threads; the pid itself for a session leader).
    session: u32,
    /// Process group and the terminal's foreground group (-1: no terminal).
    pgrp: u32,
    tpgid: i64,
    nice: i64,
    threads: u64,
    /// VmLck in kB.
    locked_kb: u64,
    /// Real and effective uid in /proc/PID/status. The directory is owned by
    /// whoever runs the tests, as the kernel shows root for a daemon that
    /// dropped privileges (non-dumpable): only status tells the truth.
    ruid: u32,
    euid: u32,
}

/// A user id no machine has: the daemon user of the fixture.
const DAEMON_UID: u32 = 3_999_101;

const fn p(pid: u32, comm: &'static str, state: char, ppid: u32, age: u64) -> P {
    P {
        pid,
        comm,
        state,
        ppid,
        kthread: false,
        age,
        cpu: 0,
        vsize: 10 * 1024 * 1024,
        rss_pages: 100,
        cmdline: &[],
        session: 1,
        pgrp: pid,
        tpgid: -1,
        nice: 0,
        threads: 1,
        locked_kb: 0,
        ruid: 0,
        euid: 0,
    }
}

fn write_process(root: &Path, p: &P) {
    let dir = root.join(p.pid.to_string());
    fs::create_dir(&dir).unwrap();
    let flags = if p.kthread {
        PF_KTHREAD | 0x40
    } else {
        0x0040_0100
    };
    // Clock ticks are 100 per second (USER_HZ) on Linux.
    let start = (UPTIME - p.age) * 100;
    let utime = p.cpu * 100;
    fs::write(
        dir.join("stat"),
        format!(
            "{} ({}) {} {} {} {} 0 {} {} 100 0 0 0 {} 0 0 0 {} {} {} 0 {} {} {} 18446744073709551615 0 0 0 0 0 0 0 17 0 0 0\n",
            p.pid, p.comm, p.state, p.ppid, p.pgrp, p.session, p.tpgid, flags, utime,
            20 + p.nice, p.nice, p.threads, start, p.vsize, p.rss_pages
        ),
    )
    .unwrap();
    let locked = if p.kthread {
        String::new()
    } else {
        format!("VmLck:\t{:>8} kB\n", p.locked_kb)
    };
    fs::write(
        dir.join("status"),
        format!(
            "Name:\t{}\nUmask:\t0022\nState:\t{}\nTgid:\t{}\nPid:\t{}\nPPid:\t{}\n\
             Uid:\t{}\t{}\t{}\t{}\nGid:\t0\t0\t0\t0\n{locked}Threads:\t{}\n",
            p.comm, p.state, p.pid, p.pid, p.ppid, p.ruid, p.euid, p.euid, p.euid, p.threads
        ),
    )
    .unwrap();
    let mut cmdline = Vec::new();
    for arg in p.cmdline {
        cmdline.extend_from_slice(arg.as_bytes());
        cmdline.push(0);
    }
    fs::write(dir.join("cmdline"), cmdline).unwrap();
}

/// A /proc tree of twelve processes: init, two kernel threads, two sshd,
/// vsftpd, a big and a small java, journald (a name longer than comm), a
/// zombie, a process in uninterruptible sleep and one with an odd name.
/// ps would show STAT: 1 Ss, 2 S, 3 I<, 100 Ss, 101 Ss, 200 Ss, 300 Ssl,
/// 301 SNl, 400 S<Ls, 500 Z, 501 D+, 600 R; and euid (ruid): 200 and 301
/// DAEMON_UID (200: 0), 600 0 (DAEMON_UID), all others 0.
fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("uptime"), format!("{UPTIME}.00 190000.00\n")).unwrap();
    let processes = [
        P {
            cmdline: &["/sbin/init", "splash"],
            ..p(1, "systemd", 'S', 0, UPTIME)
        },
        P {
            kthread: true,
            session: 0,
            ..p(2, "kthreadd", 'S', 0, UPTIME)
        },
        P {
            kthread: true,
            session: 0,
            nice: -20,
            ..p(3, "kworker/0:1", 'I', 2, UPTIME)
        },
        P {
            cmdline: &["sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"],
            session: 100,
            ..p(100, "sshd", 'S', 1, 90_000)
        },
        P {
            cmdline: &["sshd: admin [priv]"],
            session: 101,
            ..p(101, "sshd", 'S', 100, 60)
        },
        P {
            cmdline: &["/usr/sbin/vsftpd", "/etc/vsftpd-monitest.conf"],
            session: 200,
            // Dropped privileges: started by root, runs as the daemon user.
            euid: DAEMON_UID,
            ..p(200, "vsftpd", 'S', 1, 3600)
        },
        P {
            cpu: 3600,
            vsize: 4 * 1024 * 1024 * 1024,
            rss_pages: 500_000,
            cmdline: &["/usr/bin/java", "-Xmx4g", "-jar", "big.jar"],
            session: 300,
            threads: 40,
            ..p(300, "java", 'S', 1, 7200)
        },
        P {
            vsize: 600 * 1024 * 1024,
            cmdline: &["/usr/bin/java", "-jar", "small.jar"],
            session: 300,
            threads: 20,
            nice: 5,
            ruid: DAEMON_UID,
            euid: DAEMON_UID,
            ..p(301, "java", 'S', 1, 60)
        },
        P {
            cmdline: &["/lib/systemd/systemd-journald"],
            session: 400,
            nice: -1,
            locked_kb: 8192,
            ..p(400, "systemd-journal", 'S', 1, 99_000)
        },
        P {
            session: 300,
            ..p(500, "worker", 'Z', 301, 5)
        },
        P {
            cmdline: &["dd", "if=/dev/sda", "of=/dev/null"],
            // In the foreground of a terminal.
            session: 900,
            tpgid: 501,
            ..p(501, "dd", 'D', 1, 30)
        },
        P {
            cmdline: &["./my (odd) proc", "--flag"],
            // A set-uid root program the daemon user started.
            session: 900,
            tpgid: 501,
            ruid: DAEMON_UID,
            ..p(600, "my (odd) proc", 'R', 1, 10)
        },
    ];
    for process in &processes {
        write_process(root, process);
    }
    dir
}

fn procs(root: &Path) -> assert_cmd::Command {
    let mut cmd = plugin("check_proc_rs");
    cmd.arg(format!("--proc-root={}", root.display()));
    cmd
}

/// Runs on the fixture and checks exit code and exact output.
fn golden(root: &Path, args: &[&str], code: i32, stdout: &str) {
    procs(root)
        .args(args)
        .assert()
        .code(code)
        .stdout(stdout.to_string());
}

#[test]
fn check_procs_rs_is_the_same_plugin_under_c_s_name() {
    let dir = fixture();
    let root = format!("--proc-root={}", dir.path().display());
    plugin("check_procs_rs")
        .args([root.as_str(), "-C", "sshd", "-c", "1:"])
        .assert()
        .code(0)
        .stdout("PROCS OK: 2 processes with command name 'sshd' | procs=2;;1:;0\n");
}

#[test]
fn counts_like_c_check_procs() {
    let dir = fixture();
    let root = dir.path();
    golden(root, &[], 0, "PROCS OK: 12 processes | procs=12;;;0\n");
    golden(
        root,
        &["-w", "250", "-c", "400"],
        0,
        "PROCS OK: 12 processes | procs=12;250;400;0\n",
    );
    golden(
        root,
        &["-w", "5", "-c", "400"],
        1,
        "PROCS WARNING: 12 processes | procs=12;5;400;0\n",
    );
    golden(
        root,
        &["-C", "vsftpd", "-c", "1:1"],
        0,
        "PROCS OK: 1 process with command name 'vsftpd' | procs=1;;1:1;0\n",
    );
    golden(
        root,
        &["-C", "sshd", "-c", "1:"],
        0,
        "PROCS OK: 2 processes with command name 'sshd' | procs=2;;1:;0\n",
    );
    golden(
        root,
        &["-C", "sshd", "-c", "1:1"],
        2,
        "PROCS CRITICAL: 2 processes with command name 'sshd' | procs=2;;1:1;0\n",
    );
    golden(
        root,
        &["-C", "nosuchproc", "-c", "1:"],
        2,
        "PROCS CRITICAL: 0 processes with command name 'nosuchproc' | procs=0;;1:;0\n",
    );
    golden(
        root,
        &["-a", "vsftpd-monitest", "-c", "1:"],
        0,
        "PROCS OK: 1 process with args 'vsftpd-monitest' | procs=1;;1:;0\n",
    );
}

#[test]
fn states_zombies_and_uninterruptible() {
    let dir = fixture();
    let root = dir.path();
    golden(
        root,
        &["-s", "Z", "-w", "0"],
        1,
        "PROCS WARNING: 1 process with STATE = Z | procs=1;0;;0\n",
    );
    golden(
        root,
        &["--state", "D", "-c", "0"],
        2,
        "PROCS CRITICAL: 1 process with STATE = D | procs=1;;0;0\n",
    );
    golden(
        root,
        &["--status", "RDZ"],
        0,
        "PROCS OK: 3 processes with STATE = RDZ | procs=3;;;0\n",
    );
    golden(
        root,
        &["-s", "T", "-w", "0"],
        0,
        "PROCS OK: 0 processes with STATE = T | procs=0;0;;0\n",
    );
}

#[test]
fn every_filter_and_their_order() {
    let dir = fixture();
    let root = dir.path();
    let cases: [(&[&str], &str); 14] = [
        (&["-k"], "10 processes"),
        (&["-p", "1"], "7 processes with PPID = 1"),
        (&["-z", "1000000"], "1 process with VSZ >= 1000000"),
        (&["-r", "1000000"], "1 process with RSS >= 1000000"),
        (&["-P", "10"], "1 process with PCPU >= 10.00"),
        (
            &["-X", "sshd,java"],
            "8 processes with exclude progs 'sshd,java'",
        ),
        (
            &["--ereg-argument-array", "java .*-jar (big|huge)"],
            "1 process with regex args 'java .*-jar (big,huge)'",
        ),
        (
            &["-C", "systemd-journald"],
            "1 process with command name 'systemd-journald'",
        ),
        // C compares with the kernel's 15-character name: that matches too.
        (
            &["-C", "systemd-journal"],
            "1 process with command name 'systemd-journal'",
        ),
        (
            &["-C", "my (odd) proc"],
            "1 process with command name 'my (odd) proc'",
        ),
        (&["--orphaned"], "7 processes with orphaned (PPID = 1)"),
        (
            &["--orphaned", "--older-than", "3600"],
            "4 processes with orphaned (PPID = 1), ELAPSED >= 3600",
        ),
        (
            &["-a", "-jar", "-p", "1"],
            "2 processes with args '-jar', PPID = 1",
        ),
        (
            &["-p", "1", "-a", "-jar", "-X", "java"],
            "0 processes with PPID = 1, args '-jar', exclude progs 'java'",
        ),
    ];
    for (args, summary) in cases {
        let count = summary.split(' ').next().unwrap();
        golden(
            root,
            args,
            0,
            &format!("PROCS OK: {summary} | procs={count};;;0\n"),
        );
    }
}

#[test]
fn user_filter_takes_the_effective_uid_of_status() {
    let dir = fixture();
    let root = dir.path();
    // As `ps -u`: the effective uid, whoever owns /proc/PID and whatever the
    // real uid is (vsftpd dropped privileges, the odd proc is set-uid root).
    golden(
        root,
        &["-u", &DAEMON_UID.to_string(), "-c", "1:"],
        0,
        &format!("PROCS OK: 2 processes with UID = {DAEMON_UID} | procs=2;;1:;0\n"),
    );
    golden(
        root,
        &["-u", &DAEMON_UID.to_string(), "-C", "vsftpd", "-c", "1:1"],
        0,
        &format!(
            "PROCS OK: 1 process with UID = {DAEMON_UID}, command name 'vsftpd' | procs=1;;1:1;0\n"
        ),
    );
    golden(
        root,
        &["-u", "0", "-C", "my (odd) proc"],
        0,
        "PROCS OK: 1 process with UID = 0 (root), command name 'my (odd) proc' | procs=1;;;0\n",
    );
    golden(
        root,
        &["-u", "root", "-k"],
        0,
        "PROCS OK: 8 processes with UID = 0 (root) | procs=8;;;0\n",
    );
    golden(
        root,
        &["-u", "no-such-user-rsplugins"],
        3,
        "PROCS UNKNOWN: user 'no-such-user-rsplugins' was not found\n",
    );
}

#[test]
fn user_filter_skips_processes_gone_before_their_status_is_read() {
    let dir = fixture();
    fs::remove_file(dir.path().join("600/status")).unwrap();
    golden(
        dir.path(),
        &["-u", "0"],
        0,
        "PROCS OK: 9 processes with UID = 0 (root) | procs=9;;;0\n",
    );
    fs::write(dir.path().join("600/status"), "Name:\tx\nUid:\tnone\n").unwrap();
    procs(dir.path()).args(["-u", "0"]).assert().code(3).stdout(
        predicate::str::is_match(
            r"^PROCS UNKNOWN: unexpected format in .*/600/status: no valid Uid line\n$",
        )
        .unwrap(),
    );
}

#[test]
fn every_ps_stat_letter_on_fixture() {
    let dir = fixture();
    let root = dir.path();
    for (letters, count) in [
        ("s", 6),
        ("N", 1),
        ("<", 2),
        ("L", 1),
        ("l", 2),
        ("+", 1),
        ("I", 1),
        ("S", 8),
        ("R", 1),
        ("Ll", 3),
        ("W", 0),
        ("t", 0),
        ("X", 0),
        ("P", 0),
    ] {
        let plural = if count == 1 { "process" } else { "processes" };
        golden(
            root,
            &["-s", letters],
            0,
            &format!("PROCS OK: {count} {plural} with STATE = {letters} | procs={count};;;0\n"),
        );
    }
    golden(
        root,
        &["-s", "s", "-C", "java", "-v"],
        0,
        "PROCS OK: 1 process with STATE = s, command name 'java' | procs=1;;;0\n    \
         PID S     ELAPSED COMMAND\n    \
         300 S    02:00:00 /usr/bin/java -Xmx4g -jar big.jar\n",
    );
}

#[test]
fn unknown_state_letters_are_a_usage_error() {
    let dir = fixture();
    for bad in ["q", "Sq", "r", "R S", "<>"] {
        let out = procs(dir.path())
            .args(["-s", bad])
            .assert()
            .code(3)
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 1, "{bad}: {text}");
        assert!(
            text.starts_with("PROCS UNKNOWN: ") && text.contains("is not a ps state letter"),
            "{bad}: {text}"
        );
    }
}

#[test]
fn per_process_metrics() {
    let dir = fixture();
    let root = dir.path();
    golden(
        root,
        &["--metric=VSZ", "-w", "500000", "-c", "2000000"],
        2,
        "VSZ CRITICAL: 1 crit, 1 warn out of 12 processes | procs=12;;;0 procs_warn=1;;;0 procs_crit=1;;;0\n",
    );
    golden(
        root,
        &["-m", "VSZ", "-w", "500000", "-c", "5000000"],
        1,
        "VSZ WARNING: 2 warn out of 12 processes | procs=12;;;0 procs_warn=2;;;0 procs_crit=0;;;0\n",
    );
    // 500,000 pages are at least 2,000,000 kB whatever the page size.
    golden(
        root,
        &["--metric=RSS", "-w", "500000", "-c", "1000000"],
        2,
        "RSS CRITICAL: 1 crit, 0 warn out of 12 processes | procs=12;;;0 procs_warn=0;;;0 procs_crit=1;;;0\n",
    );
    golden(
        root,
        &["--metric=CPU", "-w", "10", "-c", "90"],
        1,
        "CPU WARNING: 1 warn out of 12 processes | procs=12;;;0 procs_warn=1;;;0 procs_crit=0;;;0\n",
    );
    golden(
        root,
        &["-m", "CPU", "-w", "50", "-c", "90"],
        0,
        "CPU OK: 12 processes | procs=12;;;0 procs_warn=0;;;0 procs_crit=0;;;0\n",
    );
    golden(
        root,
        &["-m", "ELAPSED", "-w", "3600", "-C", "java"],
        1,
        "ELAPSED WARNING: 1 warn out of 2 processes with command name 'java' | procs=2;;;0 procs_warn=1;;;0 procs_crit=0;;;0\n",
    );
}

#[test]
fn verbose_lists_pids_for_event_handlers() {
    let dir = fixture();
    let root = dir.path();
    golden(
        root,
        &["-C", "sshd", "-c", "1:", "-v"],
        0,
        "PROCS OK: 2 processes with command name 'sshd' | procs=2;;1:;0\n    \
         PID S     ELAPSED COMMAND\n    \
         100 S  1-01:00:00 sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups\n    \
         101 S       01:00 sshd: admin [priv]\n",
    );
    golden(
        root,
        &["-s", "ZD", "-v"],
        0,
        "PROCS OK: 2 processes with STATE = ZD | procs=2;;;0\n    \
         PID S     ELAPSED COMMAND\n    \
         500 Z       00:05 [worker]\n    \
         501 D       00:30 dd if=/dev/sda of=/dev/null\n",
    );
    golden(
        root,
        &["-m", "ELAPSED", "-C", "java", "-w", "3600", "-v"],
        1,
        "ELAPSED WARNING: 1 warn out of 2 processes with command name 'java' [java] | procs=2;;;0 procs_warn=1;;;0 procs_crit=0;;;0\n    \
         PID S     ELAPSED    ELAPSED STATE    COMMAND\n    \
         300 S    02:00:00       7200 WARNING  /usr/bin/java -Xmx4g -jar big.jar\n    \
         301 S       01:00         60 OK       /usr/bin/java -jar small.jar\n",
    );
}

#[test]
fn json_output() {
    let dir = fixture();
    let out = procs(dir.path())
        .args(["-C", "sshd", "-c", "3:", "--output-format=json"])
        .assert()
        .code(2)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["service"], "PROCS");
    assert_eq!(v["state"], "CRITICAL");
    assert_eq!(v["summary"], "2 processes with command name 'sshd'");
    assert_eq!(v["perfdata"][0]["text"], "procs=2;;3:;0");
}

#[test]
fn unreadable_or_empty_proc_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    procs(dir.path())
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with("PROCS UNKNOWN: cannot read "));
    fs::write(dir.path().join("uptime"), "100.00 100.00\n").unwrap();
    golden(
        dir.path(),
        &[],
        3,
        &format!(
            "PROCS UNKNOWN: no processes found in {}\n",
            dir.path().display()
        ),
    );
    fs::create_dir(dir.path().join("7")).unwrap();
    fs::write(dir.path().join("7/stat"), "7 (x) S 1\n").unwrap();
    procs(dir.path())
        .assert()
        .code(3)
        .stdout(predicate::str::contains("malformed stat line"));
}

#[test]
fn bad_options_exit_3_with_one_line() {
    let dir = fixture();
    for (args, reason) in [
        (vec!["-m", "FOO"], "'FOO' is not a metric"),
        (vec!["-w", "2:1"], "start is greater than end"),
        (vec!["-c", "abc"], "is not a number"),
        (vec!["-p", "x"], "--ppid"),
        (vec!["-P", "lots"], "is not a CPU percentage"),
        (vec!["-s", ""], "no state letters"),
        (
            vec!["--ereg-argument-array", "a(b"],
            "could not compile regular expression 'a(b'",
        ),
        (vec!["--nonsense"], "--nonsense"),
    ] {
        let out = procs(dir.path())
            .args(&args)
            .assert()
            .code(3)
            .get_output()
            .stdout
            .clone();
        let text = String::from_utf8(out).unwrap();
        let first = text.lines().next().unwrap_or_default();
        assert!(first.starts_with("PROCS UNKNOWN: "), "{args:?}: {text}");
        assert!(first.contains(reason), "{args:?}: {text}");
    }
}

// ---- This machine's /proc ----

/// A `sleep` child whose argument no other process has.
struct Sleeper {
    child: Child,
    arg: String,
}

impl Sleeper {
    fn start(tag: u32) -> Sleeper {
        let arg = format!("{}.{tag}", 700_000 + std::process::id());
        let child = StdCommand::new("sleep").arg(&arg).spawn().unwrap();
        let sleeper = Sleeper { child, arg };
        // Wait until it runs sleep (not the forked test binary any more).
        wait_for(|| {
            fs::read(format!("/proc/{}/cmdline", sleeper.child.id()))
                .is_ok_and(|c| c.starts_with(b"sleep\0"))
        });
        sleeper
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_for(mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(10), "timed out");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn real_proc_counts_a_sleep_child_exactly_once() {
    let sleeper = Sleeper::start(1);
    let arg = sleeper.arg.as_str();
    // The plugin's own command line contains the argument too: never counted.
    plugin("check_proc_rs")
        .args(["-C", "sleep", "-a", arg, "-c", "1:1"])
        .assert()
        .code(0)
        .stdout(format!(
            "PROCS OK: 1 process with command name 'sleep', args '{arg}' | procs=1;;1:1;0\n"
        ));
    // Nor is its parent, the `sh -c` wrapper an engine runs it under.
    let sh = format!(
        "{} -a {arg} -c 1:1",
        rsplugins_tests::binary("check_proc_rs").display()
    );
    let out = StdCommand::new("sh").args(["-c", &sh]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("PROCS OK: 1 process with args '{arg}' | procs=1;;1:1;0\n")
    );
    let pattern = format!("^sleep {}$", arg.replace('.', "\\."));
    plugin("check_proc_rs")
        .args(["--ereg-argument-array", &pattern, "-s", "S", "-k"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(format!(
            "PROCS OK: 1 process with regex args '{pattern}', STATE = S | procs=1;"
        )));
    let me = std::process::id().to_string();
    let uid = nix::unistd::geteuid().to_string();
    plugin("check_proc_rs")
        .args(["-p", &me, "-u", &uid, "-a", arg])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(format!(
            "PROCS OK: 1 process with PPID = {me}, UID = {uid}"
        )));
}

#[test]
fn real_proc_verbose_lists_the_pid() {
    let sleeper = Sleeper::start(2);
    let pid = sleeper.child.id();
    let out = plugin("check_proc_rs")
        .args(["-a", &sleeper.arg, "-v"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[1].split_whitespace().collect::<Vec<_>>(),
        ["PID", "S", "ELAPSED", "COMMAND"]
    );
    let fields: Vec<&str> = lines[2].split_whitespace().collect();
    assert_eq!(fields[0], pid.to_string(), "{text}");
    assert_eq!(fields[1], "S");
    assert_eq!(fields[3..], ["sleep", sleeper.arg.as_str()]);
}

#[test]
fn real_proc_gone_process_is_critical() {
    let mut sleeper = Sleeper::start(3);
    let arg = sleeper.arg.clone();
    plugin("check_proc_rs")
        .args(["-a", &arg, "-c", "1:"])
        .assert()
        .code(0);
    sleeper.child.kill().unwrap();
    sleeper.child.wait().unwrap();
    plugin("check_proc_rs")
        .args(["-a", &arg, "-c", "1:"])
        .assert()
        .code(2)
        .stdout(format!(
            "PROCS CRITICAL: 0 processes with args '{arg}' | procs=0;;1:;0\n"
        ));
}

#[test]
fn real_proc_sees_an_unreaped_zombie() {
    let mut child = StdCommand::new("true").spawn().unwrap();
    let pid = child.id();
    wait_for(|| {
        fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z'))
        })
    });
    let me = std::process::id().to_string();
    plugin("check_proc_rs")
        .args(["-s", "Z", "-C", "true", "-p", &me, "-w", "0"])
        .assert()
        .code(1)
        .stdout(format!(
            "PROCS WARNING: 1 process with STATE = Z, command name 'true', PPID = {me} | procs=1;0;;0\n"
        ));
    child.wait().unwrap();
}

#[test]
fn real_proc_metrics_and_totals() {
    plugin("check_proc_rs")
        .args(["-w", "1000000", "-c", "2000000"])
        .assert()
        .code(0)
        .stdout(
            predicate::str::is_match(r"^PROCS OK: \d+ processes \| procs=\d+;1000000;2000000;0\n$")
                .unwrap(),
        );
    for metric in ["VSZ", "RSS", "CPU", "ELAPSED"] {
        plugin("check_proc_rs")
            .args(["-m", metric, "-c", "0:"])
            .assert()
            .code(0)
            .stdout(predicate::str::starts_with(format!("{metric} OK: ")));
    }
}

// ---- The testbed's daemons, compared with C check_procs ----

const C_CHECK_PROCS: &str = "/usr/lib/nagios/plugins/check_procs";

/// The `procs=N` perfdata value of check_proc_rs's output.
fn procs_count(stdout: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(stdout);
    let (_, perf) = text.lines().next()?.split_once("| procs=")?;
    perf.split(';').next()?.parse().ok()
}

/// What C check_procs -vv counted, less its own `ps`: C runs it through
/// `sh -c` at times, and then counts that grandchild (root, state R).
fn c_count(args: &[&str]) -> u64 {
    let out = StdCommand::new(C_CHECK_PROCS)
        .args(args)
        .arg("-vv")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("Matched: "))
        .filter(|l| !l.contains(" prog=ps args=/bin/ps axwwo "))
        .count() as u64
}

/// Runs C check_procs and check_proc_rs with `args` in turns until both
/// count the same: processes come and go between two runs, so a few
/// differing rounds are tolerated, but a filter that counts wrong never agrees.
fn agrees_with_c(args: &[&str]) -> u64 {
    let mut seen = Vec::new();
    for _ in 0..10 {
        let c = c_count(args);
        let ours = plugin("check_proc_rs").args(args).output().unwrap();
        assert_eq!(ours.status.code(), Some(0), "{args:?}: {ours:?}");
        match procs_count(&ours.stdout) {
            Some(ours) if c == ours => return ours,
            ours => seen.push((c, ours)),
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{args:?}: (C, ours) never agreed: {seen:?}");
}

#[test]
fn testbed_user_is_the_effective_uid_of_daemons_that_dropped_privileges() {
    if !rsplugins_tests::testbed() {
        return;
    }
    // qmgr is started by postfix's master (root) and runs as postfix: its
    // /proc/PID belongs to root, as it is not dumpable.
    let postfix = nix::unistd::User::from_name("postfix")
        .unwrap()
        .expect("the testbed has a postfix user");
    plugin("check_proc_rs")
        .args(["-u", "postfix", "-C", "qmgr", "-c", "1:1"])
        .assert()
        .code(0)
        .stdout(format!(
            "PROCS OK: 1 process with UID = {} (postfix), command name 'qmgr' | procs=1;;1:1;0\n",
            postfix.uid
        ));
    plugin("check_proc_rs")
        .args(["-u", "root", "-C", "qmgr"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("PROCS OK: 0 processes with "));
    assert_eq!(agrees_with_c(&["-u", "postfix", "-C", "qmgr"]), 1);
    assert_eq!(agrees_with_c(&["-u", "postfix", "-C", "master"]), 0);
    assert!(agrees_with_c(&["-u", "postfix"]) >= 2);
    assert!(agrees_with_c(&["-u", "dovecot"]) >= 1);
    assert!(agrees_with_c(&["-u", "root"]) >= 1);
}

#[test]
fn testbed_ps_stat_letters_agree_with_c_check_procs() {
    if !rsplugins_tests::testbed() {
        return;
    }
    // postfix's master and dovecot lead their sessions; qmgr does not.
    assert_eq!(agrees_with_c(&["-s", "s", "-C", "master"]), 1);
    assert_eq!(agrees_with_c(&["-s", "s", "-C", "dovecot"]), 1);
    assert_eq!(agrees_with_c(&["-s", "s", "-C", "qmgr"]), 0);
    assert!(agrees_with_c(&["-s", "s"]) >= 2);
    for letters in ["N", "<", "l", "L", "+", "R", "S", "D", "I", "Z"] {
        agrees_with_c(&["-s", letters]);
    }
}
