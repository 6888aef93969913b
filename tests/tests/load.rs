//! check_load_rs on fixtures (exact output) and on this machine's /proc.

use std::fs;
use std::path::Path;

use predicates::prelude::*;
use rsplugins_tests::plugin;

fn proc_fixture(loadavg: &str, cpus: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("loadavg"), loadavg).unwrap();
    let mut stat = String::from("cpu  1 1 1 1\n");
    for i in 0..cpus {
        stat.push_str(&format!("cpu{i} 1 1 1 1\n"));
    }
    fs::write(dir.path().join("stat"), stat).unwrap();
    fs::write(dir.path().join("uptime"), "1000.00 1000.00\n").unwrap();
    dir
}

fn load(root: &Path) -> assert_cmd::Command {
    let mut cmd = plugin("check_load_rs");
    cmd.arg(format!("--proc-root={}", root.display()));
    cmd
}

#[test]
fn ok_warning_critical_on_fixtures() {
    let dir = proc_fixture("0.36 0.40 0.22 1/100 999\n", 2);
    load(dir.path())
        .args(["-w", "5,4,3", "-c", "10,8,6"])
        .assert()
        .code(0)
        .stdout("LOAD OK - load average: 0.36, 0.40, 0.22 | load1=0.36;5;10;0 load5=0.4;4;8;0 load15=0.22;3;6;0\n");
    load(dir.path())
        .args(["-w", "0,0,0", "-c", "0.0001,0.0001,0.0001"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "LOAD CRITICAL - load average: 0.36, 0.40, 0.22 | ",
        ));
    load(dir.path())
        .args(["-w", "0.3", "-c", "1"])
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with("LOAD WARNING - "));
}

#[test]
fn percpu_scales_by_cpu_count() {
    let dir = proc_fixture("4.00 2.00 1.00 1/100 999\n", 4);
    load(dir.path())
        .args(["-r", "-w", "1,1,1", "-c", "2,2,2"])
        .assert()
        .code(0)
        .stdout("LOAD OK - scaled load average: 1.00, 0.50, 0.25 - load average: 4.00, 2.00, 1.00 (4 CPUs) | load1=4;;;0 scaled_load1=1;1;2;0 load5=2;;;0 scaled_load5=0.5;1;2;0 load15=1;;;0 scaled_load15=0.25;1;2;0\n");
}

#[test]
fn unreadable_proc_is_unknown() {
    let dir = tempfile::tempdir().unwrap();
    load(dir.path())
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with("LOAD UNKNOWN - cannot read "));
    fs::write(dir.path().join("loadavg"), "garbage\n").unwrap();
    load(dir.path())
        .assert()
        .code(3)
        .stdout(predicate::str::contains("unexpected format"));
}

#[test]
fn bad_options_exit_3() {
    for args in [
        vec!["-w", "1,2,3,4"],
        vec!["-w", "abc"],
        vec!["-w", "10", "-c", "5"],
        vec!["-w", "2:1"],
        vec!["--nonsense"],
        vec!["-t", "0"],
    ] {
        plugin("check_load_rs")
            .args(&args)
            .assert()
            .code(3)
            .stdout(predicate::str::starts_with("LOAD UNKNOWN - "));
    }
    plugin("check_load_rs").arg("--help").assert().code(3);
    plugin("check_load_rs").arg("--version").assert().code(3);
}

#[test]
fn real_proc_gives_ok_and_three_perfdata() {
    plugin("check_load_rs")
        .args(["-w", "1000", "-c", "2000"])
        .assert()
        .code(0)
        .stdout(predicate::str::is_match(r"^LOAD OK - load average: [0-9.]+, [0-9.]+, [0-9.]+ \| load1=[0-9.]+;1000;2000;0 load5=[0-9.]+;1000;2000;0 load15=[0-9.]+;1000;2000;0\n$").unwrap());
}

#[test]
fn top_processes_on_real_proc_never_list_the_plugin_itself() {
    // Other tests run check_load_rs at the same time: look for this run's own PID.
    let child = std::process::Command::new(rsplugins_tests::binary("check_load_rs"))
        .args(["-n", "500"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("processes by CPU:"));
    let listed_pids: Vec<&str> = text
        .lines()
        .skip(3)
        .filter_map(|l| l.split_whitespace().nth(1))
        .collect();
    assert!(listed_pids.len() > 1, "{text}");
    assert!(!listed_pids.contains(&pid.as_str()), "{text}");
}

#[test]
fn verbosity_levels_add_details_lines() {
    let dir = proc_fixture("0.36 0.40 0.22 2/100 999\n", 2);
    let first = "LOAD OK - load average: 0.36, 0.40, 0.22 | load1=0.36;5;10;0 load5=0.4;4;8;0 load15=0.22;3;6;0\n";
    let v1 = "/proc/loadavg: 0.36 0.40 0.22 2/100 999\nCPUs: 2\n";
    let v2 = "thresholds apply to the load averages as read (-r divides them by the CPUs)\n\
              load1: warning 5, critical 10\n\
              load5: warning 4, critical 8\n\
              load15: warning 3, critical 6\n";
    let v3 = "tasks: 2 running, 100 total, last PID 999\n\
              load1 0.36: OK\n\
              load5 0.40: OK\n\
              load15 0.22: OK\n";
    let run = |v: &str| {
        load(dir.path())
            .args(["-w", "5,4,3", "-c", "10,8,6", v])
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone()
    };
    assert_eq!(
        String::from_utf8(run("-v")).unwrap(),
        format!("{first}{v1}")
    );
    assert_eq!(
        String::from_utf8(run("-vv")).unwrap(),
        format!("{first}{v1}{v2}")
    );
    assert_eq!(
        String::from_utf8(run("-vvv")).unwrap(),
        format!("{first}{v1}{v2}{v3}")
    );
    // Without -v: the line alone, as before.
    load(dir.path())
        .args(["-w", "5,4,3", "-c", "10,8,6"])
        .assert()
        .stdout(first);
}

#[test]
fn verbosity_with_percpu_and_missing_thresholds() {
    let dir = proc_fixture("4.00 2.00 1.00\n", 4);
    load(dir.path())
        .args(["-r", "-w", "0.9", "-vvv"])
        .assert()
        .code(1)
        .stdout(
            "LOAD WARNING - scaled load average: 1.00, 0.50, 0.25 - load average: 4.00, 2.00, 1.00 (4 CPUs) | load1=4;;;0 scaled_load1=1;0.9;;0 load5=2;;;0 scaled_load5=0.5;0.9;;0 load15=1;;;0 scaled_load15=0.25;0.9;;0\n\
             /proc/loadavg: 4.00 2.00 1.00\n\
             CPUs: 4\n\
             thresholds apply to the load averages divided by the 4 CPUs (-r)\n\
             load1: warning 0.9, critical none\n\
             load5: warning 0.9, critical none\n\
             load15: warning 0.9, critical none\n\
             tasks: not in /proc/loadavg\n\
             load1 1.00: WARNING\n\
             load5 0.50: OK\n\
             load15 0.25: OK\n",
        );
}
