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
}

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
            "{} ({}) {} {} {} {} 0 -1 {} 100 0 0 0 {} 0 0 0 20 0 1 0 {} {} {} 18446744073709551615 0 0 0 0 0 0 0 17 0 0 0\n",
            p.pid, p.comm, p.state, p.ppid, p.pid, p.pid, flags, utime, start, p.vsize, p.rss_pages
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
            ..p(2, "kthreadd", 'S', 0, UPTIME)
        },
        P {
            kthread: true,
            ..p(3, "kworker/0:1", 'I', 2, UPTIME)
        },
        P {
            cmdline: &["sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"],
            ..p(100, "sshd", 'S', 1, 90_000)
        },
        P {
            cmdline: &["sshd: admin [priv]"],
            ..p(101, "sshd", 'S', 100, 60)
        },
        P {
            cmdline: &["/usr/sbin/vsftpd", "/etc/vsftpd-monitest.conf"],
            ..p(200, "vsftpd", 'S', 1, 3600)
        },
        P {
            cpu: 3600,
            vsize: 4 * 1024 * 1024 * 1024,
            rss_pages: 500_000,
            cmdline: &["/usr/bin/java", "-Xmx4g", "-jar", "big.jar"],
            ..p(300, "java", 'S', 1, 7200)
        },
        P {
            vsize: 600 * 1024 * 1024,
            cmdline: &["/usr/bin/java", "-jar", "small.jar"],
            ..p(301, "java", 'S', 1, 60)
        },
        P {
            cmdline: &["/lib/systemd/systemd-journald"],
            ..p(400, "systemd-journal", 'S', 1, 99_000)
        },
        p(500, "worker", 'Z', 301, 5),
        P {
            cmdline: &["dd", "if=/dev/sda", "of=/dev/null"],
            ..p(501, "dd", 'D', 1, 30)
        },
        P {
            cmdline: &["./my (odd) proc", "--flag"],
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
fn counts_like_c_check_procs() {
    let dir = fixture();
    let root = dir.path();
    golden(root, &[], 0, "PROCS OK - 12 processes | procs=12;;;0\n");
    golden(
        root,
        &["-w", "250", "-c", "400"],
        0,
        "PROCS OK - 12 processes | procs=12;250;400;0\n",
    );
    golden(
        root,
        &["-w", "5", "-c", "400"],
        1,
        "PROCS WARNING - 12 processes | procs=12;5;400;0\n",
    );
    golden(
        root,
        &["-C", "vsftpd", "-c", "1:1"],
        0,
        "PROCS OK - 1 process with command name 'vsftpd' | procs=1;;1:1;0\n",
    );
    golden(
        root,
        &["-C", "sshd", "-c", "1:"],
        0,
        "PROCS OK - 2 processes with command name 'sshd' | procs=2;;1:;0\n",
    );
    golden(
        root,
        &["-C", "sshd", "-c", "1:1"],
        2,
        "PROCS CRITICAL - 2 processes with command name 'sshd' | procs=2;;1:1;0\n",
    );
    golden(
        root,
        &["-C", "nosuchproc", "-c", "1:"],
        2,
        "PROCS CRITICAL - 0 processes with command name 'nosuchproc' | procs=0;;1:;0\n",
    );
    golden(
        root,
        &["-a", "vsftpd-monitest", "-c", "1:"],
        0,
        "PROCS OK - 1 process with args 'vsftpd-monitest' | procs=1;;1:;0\n",
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
        "PROCS WARNING - 1 process with STATE = Z | procs=1;0;;0\n",
    );
    golden(
        root,
        &["--state", "D", "-c", "0"],
        2,
        "PROCS CRITICAL - 1 process with STATE = D | procs=1;;0;0\n",
    );
    golden(
        root,
        &["--status", "RDZ"],
        0,
        "PROCS OK - 3 processes with STATE = RDZ | procs=3;;;0\n",
    );
    golden(
        root,
        &["-s", "T", "-w", "0"],
        0,
        "PROCS OK - 0 processes with STATE = T | procs=0;0;;0\n",
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
            &format!("PROCS OK - {summary} | procs={count};;;0\n"),
        );
    }
}

#[test]
fn user_filter_on_fixture() {
    let dir = fixture();
    let uid = nix::unistd::geteuid();
    let described = match nix::unistd::User::from_uid(uid).ok().flatten() {
        Some(user) => format!("UID = {uid} ({})", user.name),
        None => format!("UID = {uid}"),
    };
    golden(
        dir.path(),
        &["-u", &uid.to_string(), "-c", "1:"],
        0,
        &format!("PROCS OK - 12 processes with {described} | procs=12;;1:;0\n"),
    );
    let other = if uid.is_root() { "65534" } else { "0" };
    procs(dir.path())
        .args(["-u", other])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(
            "PROCS OK - 0 processes with UID = ",
        ));
    golden(
        dir.path(),
        &["-u", "no-such-user-rsplugins"],
        3,
        "PROCS UNKNOWN - user 'no-such-user-rsplugins' was not found\n",
    );
}

#[test]
fn per_process_metrics() {
    let dir = fixture();
    let root = dir.path();
    golden(
        root,
        &["--metric=VSZ", "-w", "500000", "-c", "2000000"],
        2,
        "VSZ CRITICAL - 1 crit, 1 warn out of 12 processes | procs=12;;;0 procs_warn=1;;;0 procs_crit=1;;;0\n",
    );
    golden(
        root,
        &["-m", "VSZ", "-w", "500000", "-c", "5000000"],
        1,
        "VSZ WARNING - 2 warn out of 12 processes | procs=12;;;0 procs_warn=2;;;0 procs_crit=0;;;0\n",
    );
    // 500,000 pages are at least 2,000,000 kB whatever the page size.
    golden(
        root,
        &["--metric=RSS", "-w", "500000", "-c", "1000000"],
        2,
        "RSS CRITICAL - 1 crit, 0 warn out of 12 processes | procs=12;;;0 procs_warn=0;;;0 procs_crit=1;;;0\n",
    );
    golden(
        root,
        &["--metric=CPU", "-w", "10", "-c", "90"],
        1,
        "CPU WARNING - 1 warn out of 12 processes | procs=12;;;0 procs_warn=1;;;0 procs_crit=0;;;0\n",
    );
    golden(
        root,
        &["-m", "CPU", "-w", "50", "-c", "90"],
        0,
        "CPU OK - 12 processes | procs=12;;;0 procs_warn=0;;;0 procs_crit=0;;;0\n",
    );
    golden(
        root,
        &["-m", "ELAPSED", "-w", "3600", "-C", "java"],
        1,
        "ELAPSED WARNING - 1 warn out of 2 processes with command name 'java' | procs=2;;;0 procs_warn=1;;;0 procs_crit=0;;;0\n",
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
        "PROCS OK - 2 processes with command name 'sshd' | procs=2;;1:;0\n    \
         PID S     ELAPSED COMMAND\n    \
         100 S  1-01:00:00 sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups\n    \
         101 S       01:00 sshd: admin [priv]\n",
    );
    golden(
        root,
        &["-s", "ZD", "-v"],
        0,
        "PROCS OK - 2 processes with STATE = ZD | procs=2;;;0\n    \
         PID S     ELAPSED COMMAND\n    \
         500 Z       00:05 [worker]\n    \
         501 D       00:30 dd if=/dev/sda of=/dev/null\n",
    );
    golden(
        root,
        &["-m", "ELAPSED", "-C", "java", "-w", "3600", "-v"],
        1,
        "ELAPSED WARNING - 1 warn out of 2 processes with command name 'java' [java] | procs=2;;;0 procs_warn=1;;;0 procs_crit=0;;;0\n    \
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
        .stdout(predicate::str::starts_with("PROCS UNKNOWN - cannot read "));
    fs::write(dir.path().join("uptime"), "100.00 100.00\n").unwrap();
    golden(
        dir.path(),
        &[],
        3,
        &format!(
            "PROCS UNKNOWN - no processes found in {}\n",
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
        assert!(first.starts_with("PROCS UNKNOWN - "), "{args:?}: {text}");
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
            "PROCS OK - 1 process with command name 'sleep', args '{arg}' | procs=1;;1:1;0\n"
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
        format!("PROCS OK - 1 process with args '{arg}' | procs=1;;1:1;0\n")
    );
    let pattern = format!("^sleep {}$", arg.replace('.', "\\."));
    plugin("check_proc_rs")
        .args(["--ereg-argument-array", &pattern, "-s", "S", "-k"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(format!(
            "PROCS OK - 1 process with regex args '{pattern}', STATE = S | procs=1;"
        )));
    let me = std::process::id().to_string();
    let uid = nix::unistd::geteuid().to_string();
    plugin("check_proc_rs")
        .args(["-p", &me, "-u", &uid, "-a", arg])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with(format!(
            "PROCS OK - 1 process with PPID = {me}, UID = {uid}"
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
            "PROCS CRITICAL - 0 processes with args '{arg}' | procs=0;;1:;0\n"
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
            "PROCS WARNING - 1 process with STATE = Z, command name 'true', PPID = {me} | procs=1;0;;0\n"
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
            predicate::str::is_match(
                r"^PROCS OK - \d+ processes \| procs=\d+;1000000;2000000;0\n$",
            )
            .unwrap(),
        );
    for metric in ["VSZ", "RSS", "CPU", "ELAPSED"] {
        plugin("check_proc_rs")
            .args(["-m", metric, "-c", "0:"])
            .assert()
            .code(0)
            .stdout(predicate::str::starts_with(format!("{metric} OK - ")));
    }
}
