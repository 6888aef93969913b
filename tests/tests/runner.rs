//! The runner's conventions, proven through a fixture plugin and check_load_rs.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use predicates::prelude::*;
use rsplugins_tests::plugin;

fn fixture() -> assert_cmd::Command {
    plugin("fixture_plugin")
}

/// The fixture started both ways: std's start-up and a supervisor thread
/// (check_proc_rs, the handlers), and `lean_main` (its own C main, the
/// time-out by signal: every other plugin).
const FIXTURES: [&str; 2] = ["fixture_plugin", "fixture_lean"];

#[test]
fn a_panic_is_one_unknown_line_and_exit_3() {
    fixture()
        .arg("--panic")
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with(
            "FIXTURE UNKNOWN - internal error: fixture asked to panic",
        ))
        .stdout(predicate::function(|s: &str| s.lines().count() == 1))
        .stderr("");
}

#[test]
fn help_and_version_exit_3_on_stdout() {
    for flag in ["--help", "-h"] {
        fixture()
            .arg(flag)
            .assert()
            .code(3)
            .stdout(predicate::str::contains("Usage: fixture_plugin"))
            .stderr("");
    }
    for flag in ["--version", "-V"] {
        fixture()
            .arg(flag)
            .assert()
            .code(3)
            .stdout("fixture_plugin 0.1.0\n");
    }
}

#[test]
fn unknown_option_and_bad_value_exit_3_with_a_reason() {
    fixture()
        .arg("--no-such-option")
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with(
        "FIXTURE UNKNOWN - invalid command line: unexpected argument '--no-such-option' found\n",
    ));
    fixture()
        .args(["-t", "abc"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "FIXTURE UNKNOWN - invalid command line",
        ))
        .stdout(predicate::str::contains("timeout 'abc'"));
}

#[test]
fn timeout_ends_the_plugin_in_the_default_critical_state() {
    for name in FIXTURES {
        // --sleep-unreachable: a call no signal interrupts, after runner::supervise()
        for sleep in ["--sleep", "--sleep-unreachable"] {
            let start = Instant::now();
            plugin(name)
                .args([sleep, "30", "-t", "1"])
                .assert()
                .code(2)
                .stdout("FIXTURE CRITICAL - Plugin timed out after 1 seconds\n");
            assert!(start.elapsed() < Duration::from_secs(5), "{name} {sleep}");
        }
    }
}

#[test]
fn timeout_state_can_be_chosen() {
    for name in FIXTURES {
        plugin(name)
            .args(["--sleep", "30", "-t", "1:UNKNOWN"])
            .assert()
            .code(3)
            .stdout("FIXTURE UNKNOWN - Plugin timed out after 1 seconds\n");
        plugin(name)
            .args(["--sleep", "30", "-t", "0.5:warning"])
            .assert()
            .code(1)
            .stdout("FIXTURE WARNING - Plugin timed out after 0.5 seconds\n");
    }
}

#[test]
fn timeout_output_follows_the_output_format() {
    for name in FIXTURES {
        let out = plugin(name)
            .args(["--sleep", "30", "-t", "0.5", "--output-format", "json"])
            .assert()
            .code(2)
            .get_output()
            .stdout
            .clone();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["state"], "CRITICAL", "{name}");
        assert_eq!(v["summary"], "Plugin timed out after 0.5 seconds", "{name}");
    }
}

#[test]
fn sigterm_ends_the_plugin_unknown() {
    for name in FIXTURES {
        for sleep in ["--sleep", "--sleep-unreachable"] {
            sigterm_ends_unknown(name, &[sleep, "30", "-t", "20"]);
        }
    }
}

#[test]
fn a_finished_check_is_not_cut_by_the_time_out() {
    // The check ends before the deadline: its own result, nothing after it.
    for name in FIXTURES {
        plugin(name)
            .args(["--sleep", "0.3", "-t", "1", "--fail", "warning"])
            .assert()
            .code(1)
            .stdout("FIXTURE WARNING - fixture failure\n");
    }
}

/// Starts `fixture` with `args`, sends SIGTERM after 300 ms and expects the
/// UNKNOWN line.
fn sigterm_ends_unknown(fixture: &str, args: &[&str]) {
    let child = std::process::Command::new(rsplugins_tests::binary(fixture))
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{fixture} {args:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "FIXTURE UNKNOWN - Plugin received SIGTERM, ending\n",
        "{fixture} {args:?}"
    );
}

#[test]
fn errors_keep_their_state() {
    fixture()
        .args(["--fail", "critical"])
        .assert()
        .code(2)
        .stdout("FIXTURE CRITICAL - fixture failure\n");
    fixture()
        .args(["--fail", "3"])
        .assert()
        .code(3)
        .stdout("FIXTURE UNKNOWN - fixture failure\n");
}

#[test]
fn secrets_never_reach_the_output() {
    fixture()
        .args(["--secret", "Pl41nT3xt"])
        .assert()
        .code(0)
        .stdout("FIXTURE OK - logged in with ********\npassword was ********\n");

    fixture()
        .args(["--secret", "env:RSPLUGINS_FIXTURE_PW"])
        .env("RSPLUGINS_FIXTURE_PW", "fr0m-env")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("fr0m-env").not())
        .stdout(predicate::str::contains("logged in with ********"));

    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "fr0m-file").unwrap();
    fixture()
        .arg(format!("--secret=file:{}", file.path().display()))
        .args(["--output-format", "json"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("fr0m-file").not())
        .stdout(predicate::str::contains(
            "\"summary\":\"logged in with ********\"",
        ));

    fixture()
        .args(["--secret", "env:RSPLUGINS_FIXTURE_UNSET"])
        .env_remove("RSPLUGINS_FIXTURE_UNSET")
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "environment variable RSPLUGINS_FIXTURE_UNSET is not set",
        ));
}

#[test]
fn extra_opts_come_from_an_ini_file() {
    let mut ini = tempfile::NamedTempFile::new().unwrap();
    write!(
        ini,
        "[fixture_plugin]\nfail=warning\n\n[slow]\nsleep=30\ntimeout=0.5:unknown\n"
    )
    .unwrap();
    fixture()
        .arg(format!("--extra-opts=@{}", ini.path().display()))
        .assert()
        .code(1)
        .stdout("FIXTURE WARNING - fixture failure\n");
    fixture()
        .arg(format!("--extra-opts=slow@{}", ini.path().display()))
        .assert()
        .code(3)
        .stdout("FIXTURE UNKNOWN - Plugin timed out after 0.5 seconds\n");
    // Command-line options come after the ini's and win.
    fixture()
        .arg(format!("--extra-opts=slow@{}", ini.path().display()))
        .args(["-t", "0.5:critical"])
        .assert()
        .code(2);
    fixture()
        .arg("--extra-opts=nosuch@/nonexistent/plugins.ini")
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with(
            "FIXTURE UNKNOWN - --extra-opts: cannot read /nonexistent/plugins.ini",
        ));
}

#[test]
fn missing_required_options_are_named_on_the_first_line() {
    plugin("check_tcp_rs")
        .args(["-H", "127.0.0.1"])
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with(
            "TCP UNKNOWN - invalid command line: the following required arguments were not provided: --port <INTEGER>\n",
        ));
}

/// A FIFO nobody writes to: opening it blocks, as a file on a hung mount does.
fn fifo(dir: &tempfile::TempDir) -> String {
    let path = dir.path().join("blocked");
    nix::unistd::mkfifo(&path, nix::sys::stat::Mode::S_IRWXU).unwrap();
    path.display().to_string()
}

#[test]
fn a_file_that_blocks_is_ended_by_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = fifo(&dir);
    let start = Instant::now();
    plugin("check_load_rs")
        .args([&format!("--extra-opts=@{fifo}"), "-t", "1"])
        .assert()
        .code(2)
        .stdout("LOAD CRITICAL - Plugin timed out after 1 seconds\n");
    for name in FIXTURES {
        plugin(name)
            .args(["--secret", &format!("file:{fifo}"), "-t", "1:UNKNOWN"])
            .assert()
            .code(3)
            .stdout("FIXTURE UNKNOWN - Plugin timed out after 1 seconds\n");
    }
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn sigterm_ends_a_plugin_blocked_on_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = fifo(&dir);
    for name in FIXTURES {
        sigterm_ends_unknown(name, &["--secret", &format!("file:{fifo}"), "-t", "30"]);
    }
}

#[test]
fn endless_files_are_read_with_a_bound() {
    plugin("check_load_rs")
        .arg("--extra-opts=@/dev/zero")
        .assert()
        .code(3)
        .stdout("LOAD UNKNOWN - --extra-opts: cannot read /dev/zero: larger than 1024 KiB\n");
    fixture()
        .args(["--secret", "file:/dev/zero"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "cannot read secret file /dev/zero: larger than 64 KiB",
        ));
}

#[test]
fn a_secret_may_look_like_an_option_and_is_never_echoed() {
    for pw in ["--s3cr3tPW", "-s3cr3tPW"] {
        fixture()
            .args(["--secret", pw])
            .assert()
            .code(0)
            .stdout("FIXTURE OK - logged in with ********\npassword was ********\n");
        // A usage error elsewhere on the line never shows the secret.
        fixture()
            .args(["--secret", pw, "--no-such-option"])
            .assert()
            .code(3)
            .stdout(predicate::str::contains("s3cr3tPW").not());
    }
    // A misplaced secret (no option before it) is masked in the error as well.
    fixture()
        .args(["--secret", "Hunter2-pw", "--sleep", "x", "Hunter2-pw"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("Hunter2-pw").not());
    // Its base64 form (what AUTH LOGIN sends) is masked too.
    fixture()
        .args(["--secret", "Secr3tPW", "--fail", "U2VjcjN0UFc="])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("U2VjcjN0UFc=").not());
}

#[test]
fn long_options_may_be_abbreviated_as_getopt_allows() {
    plugin("check_load_rs")
        .args([
            "--warn",
            "900,900,900",
            "--crit",
            "999,999,999",
            "--time",
            "5",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("LOAD OK - "));
    // An ambiguous abbreviation is a usage error (--ver: --verbose or --version).
    fixture()
        .arg("--ver")
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with(
            "FIXTURE UNKNOWN - invalid command line:",
        ));
}

#[test]
fn empty_words_and_old_spellings_are_read_as_c_reads_them() {
    // Debian's stock definitions pass '$ARG1$' quoted: an empty word when
    // unset, which C ignores; C still maps -wt, -ct and -to.
    plugin("check_load_rs")
        .args([
            "-wt",
            "900,900,900",
            "",
            "-ct",
            "999,999,999",
            "-to",
            "5",
            "",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("LOAD OK - "));
    // An empty value of an option stays that option's value (and its error).
    plugin("check_load_rs")
        .args(["-w", "", "-c", "999,999,999"])
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with("LOAD UNKNOWN - "));
}

#[test]
fn a_host_after_the_options_is_the_host_as_in_c_s_check_tcp_family() {
    use rsplugins_tests::peer::{send, Peer, Step};
    let peer = Peer::spawn(vec![
        send("220 mx ESMTP\r\n"),
        Step::Recv,
        send("250 mx\r\n"),
        Step::Recv,
        send("221 bye\r\n"),
    ]);
    let port = peer.port.to_string();
    plugin("check_smtp_rs")
        .args(["-p", &port, "-t", "5", "127.0.0.1"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("SMTP OK - 220 mx ESMTP, "));
}

#[test]
fn a_value_that_starts_with_a_dash_gets_its_own_reason() {
    fixture()
        .args(["-t", "-5"])
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with(
            "FIXTURE UNKNOWN - invalid command line: invalid value '-5' for '--timeout",
        ));
}

#[test]
fn port_zero_and_out_of_range_ports_are_usage_errors() {
    for port in ["0", "70000"] {
        plugin("check_tcp_rs")
            .args(["-H", "127.0.0.1", "-p", port])
            .assert()
            .code(3)
            .stdout(predicate::str::starts_with(format!(
                "TCP UNKNOWN - invalid command line: invalid value '{port}' for '--port <INTEGER>': a port is a number from 1 to 65535\n"
            )));
    }
}

#[test]
fn usage_errors_follow_the_output_format() {
    for args in [
        &["--output-format", "json", "--no-such-option"][..],
        &["--output-format=json", "-t", "abc"],
    ] {
        let out = fixture()
            .args(args)
            .assert()
            .code(3)
            .get_output()
            .stdout
            .clone();
        let v: serde_json::Value = serde_json::from_slice(&out)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out)));
        assert_eq!(v["state"], "UNKNOWN");
        assert!(
            v["summary"]
                .as_str()
                .unwrap()
                .starts_with("invalid command line:"),
            "{v}"
        );
    }
}

#[test]
fn plugins_take_c_abbreviations_and_dash_passwords() {
    // The abbreviations existing command definitions use.
    plugin("check_disk_rs")
        .args(["--path", "/", "--warn", "0%", "--crit", "0%"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("DISK OK - free space: / "));
    // A password that looks like an option is the password: the check runs
    // (to a closed port here) instead of failing with it on the output.
    for pw in ["--s3cr3tPW", "-s3cr3tPW"] {
        let port = rsplugins_tests::peer::closed_port().to_string();
        plugin("check_imap_rs")
            .args(["-H", "127.0.0.1", "-p", &port, "-U", "monitor", "-P", pw])
            .arg("--allow-plaintext")
            .assert()
            .code(2)
            .stdout(format!(
                "IMAP CRITICAL - connect to 127.0.0.1 port {port}: Connection refused\n"
            ));
    }
}
