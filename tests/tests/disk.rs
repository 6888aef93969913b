//! check_disk_rs on this machine's file systems and on fixture mount tables.
//!
//! A mount that hangs cannot be made here (no FUSE, no NFS server): the
//! "not responding" path is proven by the plugin's unit tests, which inject
//! a statvfs that blocks.

use std::io::Write;
use std::path::Path;
use std::process::Command as StdCommand;

use predicates::prelude::*;
use rsplugins_tests::plugin;

const C_CHECK_DISK: &str = "/usr/lib/nagios/plugins/check_disk";

fn disk() -> assert_cmd::Command {
    plugin("check_disk_rs")
}

/// The first output line of a run.
fn first_line(args: &[&str]) -> (i32, String) {
    let out = disk().args(args).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    (
        out.status.code().unwrap(),
        text.lines().next().unwrap_or("").to_string(),
    )
}

/// The perfdata labels of the first line, in order (ours: ` | `, C: `;| `).
fn labels(line: &str) -> Vec<String> {
    match line.split_once('|') {
        Some((_, perf)) => perf
            .split_whitespace()
            .map(|p| p.split('=').next().unwrap().to_string())
            .collect(),
        None => Vec::new(),
    }
}

#[test]
fn root_with_c_format() {
    let (code, line) = first_line(&["-w", "0%", "-c", "0%", "-p", "/"]);
    assert_eq!(code, 0, "{line}");
    let c_like = predicate::str::is_match(
        r"^DISK OK - free space: / \d+MiB \(\d+% inode=\d+%\) \| /=\d+B;\d+;\d+;0;\d+$",
    )
    .unwrap();
    assert!(c_like.eval(line.as_str()), "{line}");
    // Without thresholds: OK with perfdata.
    disk().args(["-p", "/"]).assert().code(0).stdout(
        predicate::str::is_match(r"^DISK OK - free space: / \d+MiB .* \| /=\d+B;;;0;\d+\n$")
            .unwrap(),
    );
}

#[test]
fn a_path_inside_a_mount_reports_that_mount() {
    // df tells which mount holds /tmp on this machine (/ here, maybe a tmpfs elsewhere).
    let df = StdCommand::new("df")
        .args(["--output=target", "/tmp"])
        .output()
        .unwrap();
    let target = String::from_utf8(df.stdout)
        .unwrap()
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    let (code, line) = first_line(&["-w", "0%", "-c", "0%", "-p", "/tmp"]);
    assert_eq!(code, 0, "{line}");
    assert_eq!(labels(&line), vec![target.clone()], "{line}");
    assert!(
        line.starts_with(&format!("DISK OK - free space: {target} ")),
        "{line}"
    );
    // The same mount named twice (by a path and by its mount point) is reported once.
    let (_, line) = first_line(&["-p", "/tmp", "-p", &target]);
    assert_eq!(labels(&line), vec![target]);
}

#[test]
fn nearly_everything_free_is_critical() {
    disk()
        .args(["-w", "99%", "-c", "98%", "-p", "/"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "DISK CRITICAL - free space: / ",
        ));
    // Either kind of limit alerts: an absurd amount in GiB warns.
    disk()
        .args(["-w", "1000000", "-u", "GB", "-p", "/"])
        .assert()
        .code(1)
        .stdout(predicate::str::is_match(r"^DISK WARNING - free space: / \d+GiB ").unwrap());
}

#[test]
fn missing_paths() {
    disk()
        .args(["-w", "10%", "-c", "5%", "-p", "/nonexistent/check_disk_rs"])
        .assert()
        .code(2)
        .stdout("DISK CRITICAL - /nonexistent/check_disk_rs is not accessible: No such file or directory\n");
    disk()
        .args(["-n", "-p", "/nonexistent/check_disk_rs"])
        .assert()
        .code(0)
        .stdout("DISK OK - No disks were found for provided parameters; ignored paths: /nonexistent/check_disk_rs\n");
    // The rest is still checked.
    disk()
        .args(["-w", "0%", "-p", "/nonexistent/x", "-p", "/"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "DISK CRITICAL - free space: /nonexistent/x is not accessible: No such file or directory [CRITICAL]; / ",
        ));
    disk()
        .args(["-n", "-w", "0%", "-p", "/nonexistent/x", "-p", "/"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "; ignored paths: /nonexistent/x | /=",
        ));
}

#[test]
fn unsupported_and_bad_options_are_unknown_with_a_reason() {
    for (args, reason) in [
        (&["-g", "grp", "-p", "/"][..], "-g/--group is not supported"),
        (&["--group=grp"], "-g/--group is not supported"),
        (
            &["-w", "20%", "-C", "-w", "5%"],
            "-C/--clear is not supported",
        ),
        (&["80", "90", "/"], "positional arguments are not supported"),
        (
            &["-w", "1%", "-p", "/", "-w", "2%", "-p", "/tmp", "-c", "5%"],
            "'-c 5%' comes after the last -p/-r/-R/-A and would apply to nothing",
        ),
        (&["-w", "abc"], "invalid -w 'abc'"),
        // A value starting with '-' gets its own check's reason, not "unexpected argument".
        (
            &["-w", "-5%"],
            "invalid -w '-5%': '-5%' must lie between 0% and 100%",
        ),
        (&["-c", "-5"], "invalid -c '-5': '-5' is not a size"),
        (&["-W", "-5%"], "invalid value '-5%' for '--iwarning"),
        (
            &["-K", "-1", "-p", "/"],
            "invalid value '-1' for '--icritical",
        ),
        (&["-w", "120%"], "invalid -w '120%'"),
        (&["-u", "parsecs"], "unit 'parsecs' is not known"),
        (&["-r", "("], "-r '(' is not a valid regular expression"),
        (&["--bogus"], "unexpected argument '--bogus'"),
    ] {
        disk()
            .args(args)
            .assert()
            .code(3)
            .stdout(predicate::str::starts_with("DISK UNKNOWN - "))
            .stdout(predicate::str::contains(reason));
    }
}

#[test]
fn pattern_that_matches_nothing() {
    disk()
        .args(["-w", "10%", "-r", "^/no/such/mount$"])
        .assert()
        .code(3)
        .stdout(
            "DISK UNKNOWN - Regular expression did not match any path or disk - ^/no/such/mount$\n",
        );
    disk()
        .args(["-n", "-w", "10%", "-r", "^/no/such/mount$"])
        .assert()
        .code(0);
}

#[test]
fn json_output() {
    let out = disk()
        .args(["--output-format=json", "-w", "99%", "-c", "98%", "-p", "/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["service"], "DISK");
    assert_eq!(v["state"], "CRITICAL");
    assert_eq!(v["perfdata"][0]["label"], "/");
    assert_eq!(v["perfdata"][0]["uom"], "B");
}

/// A mount table whose mount points exist on any Linux machine, so statvfs
/// answers; types and devices are made up to drive the selection.
const TABLE: &str = "\
20 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
21 20 0:5 / /proc rw - proc proc rw
22 20 0:6 / /sys rw - sysfs sysfs rw
23 20 0:7 / /dev rw - devtmpfs udev rw
24 20 0:40 / /etc rw - nfs4 filer:/export rw
25 20 0:41 / /usr rw - cifs //winbox/share rw
26 20 8:17 / /var rw - xfs /dev/sdb1 rw
27 20 0:30 / /tmp rw - tmpfs tmpfs rw
28 20 8:1 /srv /srv/bind\\040mount rw - ext4 /dev/sda1 rw
";

fn table() -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(TABLE.as_bytes()).unwrap();
    f
}

fn selected(table: &Path, args: &[&str]) -> Vec<String> {
    let mountinfo = format!("--mountinfo={}", table.display());
    let mut all = vec![mountinfo.as_str()];
    all.extend_from_slice(args);
    let (code, line) = first_line(&all);
    assert_eq!(code, 0, "{args:?}: {line}");
    labels(&line)
}

#[test]
fn selection_on_a_fixture_mount_table() {
    let t = table();
    let p = t.path();
    // Pseudo file systems and the bind mount of /dev/sda1 are left out.
    assert_eq!(selected(p, &[]), ["/", "/etc", "/usr", "/var"]);
    assert_eq!(selected(p, &["-l"]), ["/", "/var"]);
    assert_eq!(selected(p, &["-X", "xfs", "-X", "nfs4|cifs"]), ["/"]);
    assert_eq!(
        selected(p, &["-X", "xf"]),
        ["/", "/etc", "/usr", "/var"],
        "-X matches whole type names"
    );
    assert_eq!(selected(p, &["-N", "tmpfs"]), ["/tmp"]);
    assert_eq!(selected(p, &["-N", "ext4|xfs"]), ["/", "/var"]);
    assert_eq!(
        selected(p, &["-x", "/var", "-x", "filer:/export"]),
        ["/", "/usr"]
    );
    // -A (as C) includes pseudo file systems with blocks: /dev and /tmp.
    assert_eq!(
        selected(p, &["-A", "-i", "^/(etc|usr)$"]),
        ["/", "/dev", "/var", "/tmp"]
    );
    assert_eq!(selected(p, &["-I", "SDB"]), ["/", "/etc", "/usr"]);
    assert_eq!(selected(p, &["-r", "^/(etc|var)$"]), ["/etc", "/var"]);
    assert_eq!(selected(p, &["-R", "^/ETC$", "-r", "sda"]), ["/", "/etc"]);
    // Named paths: a pseudo file system by name, a path inside a mount, a device.
    assert_eq!(
        selected(p, &["-p", "/tmp", "-p", "/usr/bin", "-p", "/dev/sdb1"]),
        ["/tmp", "/usr", "/var"]
    );
    assert_eq!(
        selected(p, &["-M", "-p", "/etc", "-p", "/var"]),
        ["filer:/export", "/dev/sdb1"]
    );
}

#[test]
fn exact_match_and_verbose_reasons_on_a_fixture() {
    let t = table();
    let mountinfo = format!("--mountinfo={}", t.path().display());
    disk()
        .args([&mountinfo, "-w", "0%", "-E", "-p", "/usr/bin"])
        .assert()
        .code(2)
        .stdout("DISK CRITICAL - /usr/bin not found\n");
    let out = disk().args([&mountinfo, "-vv", "-l"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "/ [ext4 on /dev/sda1]: free ",
        "skipped /proc [proc]: pseudo file system",
        "skipped /etc [nfs4]: network file system (-l)",
        "skipped /usr [cifs]: network file system (-l)",
        "skipped /srv/bind mount [ext4]: same device as another checked mount",
    ] {
        assert!(text.lines().any(|l| l.starts_with(line)), "{line}\n{text}");
    }
}

/// Exit codes agree with C check_disk where both support the case.
#[test]
fn exit_codes_match_c_check_disk() {
    if !c_installed() {
        return;
    }
    let cases: &[&[&str]] = &[
        &["-w", "20%", "-c", "10%", "-p", "/"],
        &["-w", "99%", "-c", "98%", "-p", "/"],
        &["-w", "1000000", "-c", "1", "-u", "GB", "-p", "/"],
        &["-W", "100", "-K", "100", "-p", "/"],
        &["-w", "10%", "-c", "5%", "-p", "/nonexistent/check_disk_rs"],
        &["-w", "10%", "-c", "5%", "-r", "^/no/such/mount$"],
        &["-w", "10%", "-c", "5%", "-u", "parsecs", "-p", "/"],
        &["-w", "10%", "-c", "5%", "-p", "/", "-X", "ext4"],
        &["--bogus"],
    ];
    for args in cases {
        let c = StdCommand::new(C_CHECK_DISK).args(*args).output().unwrap();
        let rs = disk().args(*args).output().unwrap();
        assert_eq!(
            rs.status.code(),
            c.status.code(),
            "{args:?}\nC:  {}\nRS: {}",
            String::from_utf8_lossy(&c.stdout),
            String::from_utf8_lossy(&rs.stdout)
        );
    }
}

fn c_installed() -> bool {
    rsplugins_tests::available(C_CHECK_DISK, Path::new(C_CHECK_DISK).exists())
}

fn c_check_disk() -> Option<StdCommand> {
    c_installed().then(|| StdCommand::new(C_CHECK_DISK))
}

/// Exit code and first line of C check_disk.
fn c_first_line(args: &[&str]) -> Option<(i32, String)> {
    let out = c_check_disk()?.args(args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Some((
        out.status.code().unwrap_or(-1),
        text.lines().next().unwrap_or("").to_string(),
    ))
}

/// The summary items of a first line without perfdata, C's trailing ';' and
/// our state markers: `["/ 75910MiB (81% inode=97%)", ...]`.
fn items(line: &str) -> Vec<String> {
    let text = line.split('|').next().unwrap_or("");
    let text = text.split_once(" free space: ").map_or("", |(_, t)| t);
    text.split(';')
        .map(|i| {
            let i = i.trim();
            i.split(" [").next().unwrap_or(i).to_string()
        })
        .filter(|i| !i.is_empty())
        .collect()
}

/// The name of each summary item and whether ours marks it as failing.
fn marked(line: &str) -> Vec<(String, bool)> {
    let text = line.split(" | ").next().unwrap_or("");
    let text = text.split_once(" free space: ").map_or("", |(_, t)| t);
    text.split("; ")
        .map(|i| {
            let name = i.split(' ').next().unwrap_or("").to_string();
            (
                name,
                i.ends_with(" [CRITICAL]") || i.ends_with(" [WARNING]"),
            )
        })
        .collect()
}

/// A regular expression that names a pseudo file system checks it, as C.
#[test]
fn a_pattern_selects_a_pseudo_file_system_like_c() {
    let args = ["-w", "10%", "-r", "^/dev/shm$"];
    let (code, line) = first_line(&args);
    assert_eq!(code, 0, "{line}");
    assert_eq!(labels(&line), ["/dev/shm"], "{line}");
    if let Some((c_code, c_line)) = c_first_line(&args) {
        assert_eq!(
            (code, labels(&line)),
            (c_code, labels(&c_line)),
            "C: {c_line}"
        );
    }
    // On a fixture: -r and -A take the tmpfs /tmp; /proc and /sys have no blocks.
    let t = table();
    let p = t.path();
    assert_eq!(selected(p, &["-r", "^/tmp$"]), ["/tmp"]);
    assert_eq!(selected(p, &["-R", "^/(TMP|var)$"]), ["/var", "/tmp"]);
    assert_eq!(
        selected(p, &["-A"]),
        ["/", "/dev", "/etc", "/usr", "/var", "/tmp"]
    );
    // Without a selection they are still skipped.
    assert!(!selected(p, &[]).contains(&"/tmp".to_string()));
}

/// `-r '.*'` and `-A` check the same mounts as C (pseudo file systems with
/// blocks included); only the order may differ.
#[test]
fn match_everything_like_c() {
    for args in [&["-w", "0%", "-r", ".*"][..], &["-w", "0%", "-A"]] {
        let Some((c_code, c_line)) = c_first_line(args) else {
            return;
        };
        let (code, line) = first_line(args);
        assert_eq!(code, c_code, "{args:?}\nC:  {c_line}\nRS: {line}");
        let mut ours = labels(&line);
        let mut theirs = labels(&c_line);
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs, "{args:?}\nC:  {c_line}\nRS: {line}");
    }
}

/// The thresholds before each -p are that path's (C's order semantics).
#[test]
fn thresholds_per_path_like_c() {
    let shm_fails: &[&str] = &[
        "-w", "1%", "-c", "1%", "-p", "/", "-w", "100%", "-c", "100%", "-p", "/dev/shm",
    ];
    let root_fails: &[&str] = &[
        "-w", "100%", "-c", "100%", "-p", "/", "-w", "1%", "-c", "1%", "-p", "/dev/shm",
    ];
    let warn_only: &[&str] = &[
        "-w", "1%", "-c", "1%", "-p", "/", "-w", "100%", "-c", "0%", "-p", "/dev/shm",
    ];
    for (args, state, failing) in [
        (shm_fails, 2, "/dev/shm"),
        (root_fails, 2, "/"),
        (warn_only, 1, "/dev/shm"),
    ] {
        let (code, line) = first_line(args);
        assert_eq!(code, state, "{args:?}: {line}");
        let expected: Vec<(String, bool)> = ["/", "/dev/shm"]
            .iter()
            .map(|m| (m.to_string(), *m == failing))
            .collect();
        assert_eq!(marked(&line), expected, "{line}");
        if let Some((c_code, c_line)) = c_first_line(args) {
            assert_eq!(code, c_code, "{args:?}\nC:  {c_line}\nRS: {line}");
            assert_eq!(items(&line), items(&c_line), "C:  {c_line}\nRS: {line}");
        }
    }
    // Perfdata levels follow each path's thresholds: 100% free on /dev/shm is level 0
    // (its usage varies: PostgreSQL keeps shared memory there).
    let (_, line) = first_line(shm_fails);
    let levels = predicates::str::is_match(r" /dev/shm=\d+B;0;0;0;").unwrap();
    assert!(
        predicates::Predicate::eval(&levels, line.as_str()),
        "{line}"
    );
}

/// -e with everything fine: C prints the state alone, no summary.
#[test]
fn errors_only_and_all_ok_prints_just_the_state() {
    let (code, line) = first_line(&["-e", "-w", "0%", "-c", "0%", "-p", "/"]);
    assert_eq!(code, 0, "{line}");
    assert!(!line.contains("free space"), "{line}");
    let state_alone = predicate::str::is_match(r"^DISK OK \| /=\d+B;").unwrap();
    assert!(state_alone.eval(line.as_str()), "{line}");
    if let Some((c_code, c_line)) = c_first_line(&["-e", "-w", "0%", "-c", "0%", "-p", "/"]) {
        assert_eq!(c_code, 0);
        assert!(c_line.starts_with("DISK OK|"), "{c_line}");
    }
    // With a problem, -e lists it.
    let (code, line) = first_line(&["-e", "-w", "100%", "-p", "/"]);
    assert_eq!(code, 1);
    assert!(line.starts_with("DISK WARNING - free space: / "), "{line}");
}

/// Exit codes of C check_disk and ours on a tmpfs of `size` with `fill`
/// bytes used, for each argument list (`PATH` stands for the mount), in a
/// private mount namespace so no other test sees the mount. `None` when that
/// cannot be done here (not root, no unshare, no C check_disk).
fn on_tmpfs(size: &str, fill: usize, cases: &[&[&str]]) -> Option<Vec<(i32, i32, String)>> {
    if !c_installed() {
        return None;
    }
    let ours = rsplugins_tests::binary("check_disk_rs");
    let mut script = format!(
        "set -e; d=$(mktemp -d); mount -t tmpfs -o size={size} tmpfs \"$d\"; \
         head -c {fill} /dev/zero > \"$d/fill\"; set +e\n"
    );
    for args in cases {
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                if *a == "PATH" {
                    "\"$d\"".into()
                } else {
                    format!("'{a}'")
                }
            })
            .collect();
        let args = args.join(" ");
        script.push_str(&format!(
            "{C_CHECK_DISK} {args} >/dev/null; c=$?; out=$({} {args}); echo \"$c $? $out\"\n",
            ours.display()
        ));
    }
    let out = StdCommand::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<(i32, i32, String)> = text
        .lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ' ');
            let c = f.next()?.parse().ok()?;
            let rs = f.next()?.parse().ok()?;
            Some((c, rs, f.next().unwrap_or("").to_string()))
        })
        .collect();
    let mounted = out.status.success() && rows.len() == cases.len();
    if !rsplugins_tests::available(
        "a tmpfs in a private mount namespace (root, unshare)",
        mounted,
    ) {
        return None;
    }
    Some(rows)
}

/// Exactly at a limit alerts (free <= limit), as in C check_disk 2.3.3.
#[test]
fn exact_boundaries_like_c() {
    const MIB: usize = 1 << 20;
    // 4 MiB with exactly 1 MiB free: -w 3 -c 1 (MB) is CRITICAL.
    let cases: &[(&[&str], i32)] = &[
        (&["-w", "3", "-c", "1", "-p", "PATH"], 2),
        (&["-w", "3", "-c", "0", "-p", "PATH"], 1),
        (&["-w", "1", "-c", "0", "-p", "PATH"], 1),
        (&["-w", "25%", "-c", "10%", "-p", "PATH"], 1),
        (&["-w", "24%", "-c", "10%", "-p", "PATH"], 0),
    ];
    let args: Vec<&[&str]> = cases.iter().map(|(a, _)| *a).collect();
    if let Some(rows) = on_tmpfs("4M", 3 * MIB, &args) {
        for ((args, state), (c, rs, line)) in cases.iter().zip(rows) {
            assert_eq!((rs, c), (*state, *state), "{args:?}: {line}");
        }
    }
    // 10 MiB with exactly 10% free: -c 10% is CRITICAL; inodes too.
    let cases: &[(&[&str], i32)] = &[
        (&["-w", "20%", "-c", "10%", "-p", "PATH"], 2),
        (&["-w", "10%", "-c", "9%", "-p", "PATH"], 1),
        (&["-w", "9%", "-c", "1", "-p", "PATH"], 2),
    ];
    let args: Vec<&[&str]> = cases.iter().map(|(a, _)| *a).collect();
    if let Some(rows) = on_tmpfs("10M", 9 * MIB, &args) {
        for ((args, state), (c, rs, line)) in cases.iter().zip(rows) {
            assert_eq!((rs, c), (*state, *state), "{args:?}: {line}");
        }
    }
}
