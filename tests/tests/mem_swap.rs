//! check_mem_rs and check_swap_rs on fixtures and on this machine's /proc.

use std::fs;

use predicates::prelude::*;
use rsplugins_tests::plugin;

fn proc_with(meminfo: &str, swaps: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("meminfo"), meminfo).unwrap();
    fs::write(dir.path().join("swaps"), swaps).unwrap();
    dir
}

const SWAPS_HEADER: &str = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";

#[test]
fn mem_states_on_fixtures() {
    // 16 GiB total, 1.5 GiB available: below 10%, above 5%.
    let dir = proc_with(
        "MemTotal:       16777216 kB\nMemFree:          524288 kB\nMemAvailable:    1572864 kB\nBuffers:  1000 kB\nCached:  2000 kB\n",
        SWAPS_HEADER,
    );
    let root = format!("--proc-root={}", dir.path().display());
    plugin("check_mem_rs")
        .args([&root, "-w", "10%", "-c", "5%"])
        .assert()
        .code(1)
        .stdout("MEM WARNING - 1.5 GiB available of 16.0 GiB (9.4%) | used=15569256448B;15461882265;16320875724;0;17179869184 available=1610612736B;;;0;17179869184 available_pct=9.38%;;;0;100\n");
    plugin("check_mem_rs")
        .args([&root, "-w", "4G", "-c", "2G"])
        .assert()
        .code(2);
    plugin("check_mem_rs")
        .args([&root, "-w", "1G", "-c", "512M"])
        .assert()
        .code(0);
}

#[test]
fn mem_on_this_machine() {
    plugin("check_mem_rs")
        .args(["-w", "0%", "-c", "0%", "-v"])
        .assert()
        .code(0)
        .stdout(predicate::str::is_match(r"^MEM OK - [0-9.]+ [KMGT]iB available of [0-9.]+ [KMGT]iB \([0-9.]+%\) \| used=[0-9]+B;").unwrap())
        .stdout(predicate::str::contains("buffers+cache"));
    plugin("check_mem_rs")
        .args(["-w", "101%"])
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with(
            "MEM UNKNOWN - invalid command line",
        ));
}

#[test]
fn swap_devices_from_fixtures() {
    let dir = proc_with(
        "MemTotal: 1000 kB\nSwapTotal:       3072 kB\nSwapFree:        2048 kB\n",
        &format!("{SWAPS_HEADER}/dev/vda2 partition 2048 0 -2\n/swap\\040file file 1024 1024 -3\n"),
    );
    let root = format!("--proc-root={}", dir.path().display());
    plugin("check_swap_rs")
        .args([&root, "-w", "50%", "-c", "25%"])
        .assert()
        .code(0)
        .stdout("SWAP OK - 67% free (2.0 MiB out of 3.0 MiB) | swap=2097152B;;;0;3145728 swap_used=1048576B;1572863;2359295;0;3145728\n");
    plugin("check_swap_rs")
        .args([&root, "-a", "-w", "50%", "-c", "25%"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("\\_ [OK] /dev/vda2 100% free"))
        .stdout(predicate::str::contains(
            "\\_ [CRITICAL] /swap file 0% free",
        ));
    plugin("check_swap_rs")
        .args([&root, "-w", "80%", "-c", "10%"])
        .assert()
        .code(1);
}

/// Exactly at a limit alerts, as in C check_swap 2.3.3 (free <= limit).
#[test]
fn swap_exact_boundaries() {
    // 4096 kB, 1024 kB free: exactly 25%.
    let dir = proc_with(
        "MemTotal: 1000 kB\nSwapTotal: 4096 kB\nSwapFree: 1024 kB\n",
        &format!("{SWAPS_HEADER}/dev/vda2 partition 4096 3072 -2\n"),
    );
    let root = format!("--proc-root={}", dir.path().display());
    for (args, code) in [
        (&["-w", "50%", "-c", "25%"][..], 2),
        (&["-w", "25%", "-c", "10%"], 1),
        (&["-w", "24%", "-c", "10%"], 0),
        (&["-w", "1M", "-c", "1048575"], 1),
        (&["-c", "1048576"], 2),
        (&["-a", "-w", "50%", "-c", "25%"], 2),
    ] {
        plugin("check_swap_rs")
            .arg(&root)
            .args(args)
            .assert()
            .code(code);
    }
    // check_mem_rs decides its limits the same way.
    let dir = proc_with(
        "MemTotal: 1000 kB\nMemFree: 50 kB\nMemAvailable: 100 kB\n",
        SWAPS_HEADER,
    );
    let root = format!("--proc-root={}", dir.path().display());
    for (args, code) in [
        (["-w", "20%", "-c", "10%"], 2),
        (["-w", "10%", "-c", "9%"], 1),
    ] {
        plugin("check_mem_rs")
            .arg(&root)
            .args(args)
            .assert()
            .code(code);
    }
}

/// -v lists the devices, -vv adds the thresholds, -vvv what was read.
#[test]
fn swap_verbose_levels_on_fixtures() {
    let dir = proc_with(
        "MemTotal: 1000 kB\nSwapTotal:       3072 kB\nSwapFree:        2048 kB\n",
        &format!("{SWAPS_HEADER}/dev/vda2 partition 2048 0 -2\n/swap\\040file file 1024 1024 -3\n"),
    );
    let root = format!("--proc-root={}", dir.path().display());
    let first = "SWAP OK - 67% free (2.0 MiB out of 3.0 MiB) | swap=2097152B;;;0;3145728 swap_used=1048576B;1572863;2359295;0;3145728\n";
    let devices =
        "/dev/vda2 100% free (2.0 MiB out of 2.0 MiB)\n/swap file 0% free (0 B out of 1.0 MiB)\n";
    let thresholds = "warning when free swap in total is at or below 50% (1.5 MiB)\n\
                      critical when free swap in total is at or below 25% (768.0 KiB)\n\
                      no swap at all: CRITICAL\n";
    let read = format!(
        "read {}/meminfo: SwapTotal 3145728 bytes, SwapFree 2097152 bytes\nread {}/swaps: 2 devices\n",
        dir.path().display(),
        dir.path().display()
    );
    for (verbose, expected) in [
        ("-v", format!("{first}{devices}")),
        ("-vv", format!("{first}{devices}{thresholds}")),
        ("-vvv", format!("{first}{devices}{thresholds}{read}")),
    ] {
        plugin("check_swap_rs")
            .args([&root, verbose, "-w", "50%", "-c", "25%"])
            .assert()
            .code(0)
            .stdout(expected);
    }
    // With -a the devices are the subchecks; -v adds nothing more.
    let out = plugin("check_swap_rs")
        .args([&root, "-a", "-v", "-w", "50%", "-c", "25%"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().skip(1).collect();
    assert_eq!(
        lines,
        [
            "\\_ [OK] /dev/vda2 100% free (2.0 MiB out of 2.0 MiB)",
            "\\_ [CRITICAL] /swap file 0% free (0 B out of 1.0 MiB)"
        ]
    );
}

/// These machines have no swap: same exit codes as C check_swap on them.
#[test]
fn no_swap_on_this_machine_matches_c() {
    let has_swap = fs::read_to_string("/proc/swaps")
        .map(|s| s.lines().count() > 1)
        .unwrap_or(false);
    if has_swap {
        // Fixture: the same case without depending on the host.
        let dir = proc_with(
            "MemTotal: 1000 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n",
            SWAPS_HEADER,
        );
        let root = format!("--proc-root={}", dir.path().display());
        plugin("check_swap_rs")
            .args([&root, "-w", "50%", "-c", "25%"])
            .assert()
            .code(2);
        return;
    }
    plugin("check_swap_rs")
        .args(["-w", "50%", "-c", "25%"])
        .assert()
        .code(2)
        .stdout("SWAP CRITICAL - no swap: swap is either disabled, not present, or of zero size | swap=0B;;;0;0\n");
    plugin("check_swap_rs")
        .args(["-n", "ok", "-w", "50%", "-c", "25%"])
        .assert()
        .code(0);
    plugin("check_swap_rs")
        .args(["-n", "nonsense"])
        .assert()
        .code(3);
}
