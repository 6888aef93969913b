//! check_swap_rs: free swap space, compatible with C check_swap.

use clap::{ArgAction, Parser};
use rsplugins::bytes::{human, used_level, FreeLimit};
use rsplugins::number::format_fixed;
use rsplugins::options::{CommonArgs, ProcRootArgs};
use rsplugins::procfs::ProcFs;
use rsplugins::{CheckError, CheckResult, Perfdata, State, Uom};

/// Service name on the first output line.
pub const SERVICE: &str = "SWAP";

/// Check free swap space.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_swap_rs",
    version,
    about = "Check free swap space (drop-in for check_swap)",
    after_help = "Limits are free swap that must remain: a percent of the total (20%) or a size \
                  (bytes, or with a unit: 512M, 2G); free swap at or below a limit alerts, as in \
                  C check_swap. -w and -c may each be given more than once (e.g. a percent and a \
                  size); every limit is checked.\n\n\
                  -v lists each swap device from /proc/swaps, -vv adds the thresholds in \
                  effect, -vvv what was read from /proc."
)]
pub struct Args {
    /// WARNING when free swap is at or below this (percent or size; repeatable)
    #[arg(short = 'w', long = "warning", value_name = "FREE", action = ArgAction::Append)]
    pub warning: Vec<FreeLimit>,

    /// CRITICAL when free swap is at or below this (percent or size; repeatable)
    #[arg(short = 'c', long = "critical", value_name = "FREE", action = ArgAction::Append)]
    pub critical: Vec<FreeLimit>,

    /// Check every swap device on its own (from /proc/swaps)
    #[arg(short = 'a', long = "allswaps")]
    pub allswaps: bool,

    /// State when there is no swap at all
    #[arg(
        short = 'n',
        long = "no-swap",
        value_name = "STATE",
        default_value = "critical"
    )]
    pub no_swap: State,

    #[command(flatten)]
    pub proc: ProcRootArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

rsplugins::plugin_entry!(Args, SERVICE, check);

/// One swap area (or the sum of all), in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwapArea {
    /// Device name, or empty for the total.
    pub name: String,
    /// Size.
    pub total: u64,
    /// Free bytes.
    pub free: u64,
}

/// Acquires and evaluates.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let proc = args.proc.procfs();
    let (total, devices) = acquire(&proc, args.allswaps)?;
    let mut result = evaluate(&args, &total, &devices);
    let listed = if args.allswaps {
        Ok(devices)
    } else if args.common.verbosity() >= 1 {
        // Only for the -v lines: a failure to read them must not change the state.
        proc.swaps()
            .map(|list| list.into_iter().map(device_area).collect())
            .map_err(|e| e.to_string())
    } else {
        Ok(Vec::new())
    };
    let root = proc.root().display().to_string();
    for line in details(&args, &total, &listed, &root) {
        result.detail(line);
    }
    Ok(result)
}

fn device_area(d: rsplugins::procfs::SwapDevice) -> SwapArea {
    SwapArea {
        name: d.name,
        total: d.size,
        free: d.size.saturating_sub(d.used),
    }
}

/// The totals from /proc/meminfo and, with `-a`, each device from /proc/swaps.
pub fn acquire(proc: &ProcFs, per_device: bool) -> Result<(SwapArea, Vec<SwapArea>), CheckError> {
    let info = proc.meminfo()?;
    let total = SwapArea {
        name: String::new(),
        total: info.get("SwapTotal").copied().unwrap_or(0),
        free: info.get("SwapFree").copied().unwrap_or(0),
    };
    let devices = if per_device {
        proc.swaps()?.into_iter().map(device_area).collect()
    } else {
        Vec::new()
    };
    Ok((total, devices))
}

fn area_state(args: &Args, area: &SwapArea) -> State {
    if args
        .critical
        .iter()
        .any(|l| l.breached(area.free, area.total))
    {
        State::Critical
    } else if args
        .warning
        .iter()
        .any(|l| l.breached(area.free, area.total))
    {
        State::Warning
    } else {
        State::Ok
    }
}

fn describe(area: &SwapArea) -> String {
    let percent = if area.total > 0 {
        area.free as f64 / area.total as f64 * 100.0
    } else {
        0.0
    };
    format!(
        "{}% free ({} out of {})",
        format_fixed(percent, 0),
        human(area.free),
        human(area.total)
    )
}

fn perfdata(args: &Args, label: &str, area: &SwapArea) -> [Perfdata; 2] {
    let level = |limits: &[FreeLimit]| used_level(limits, area.total).map(|u| u as f64);
    let used = Perfdata::new(
        format!("{label}_used"),
        area.total.saturating_sub(area.free) as f64,
        Uom::Bytes,
    )
    .levels(level(&args.warning), level(&args.critical))
    .min(0.0)
    .max(area.total as f64);
    // `swap` (free bytes) keeps the C plugin's graph label.
    let free = Perfdata::new(label, area.free as f64, Uom::Bytes)
        .min(0.0)
        .max(area.total as f64);
    [free, used]
}

fn limits_text(limits: &[FreeLimit], total: u64) -> String {
    limits
        .iter()
        .map(|l| match l {
            FreeLimit::Percent(_) => format!("{l} ({})", human(l.bytes_of(total))),
            FreeLimit::Bytes(_) => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The `-v` lines (pure): 1 each device of /proc/swaps (they are subchecks
/// with `-a`), 2 the thresholds in effect, 3 what was read. `devices`: what
/// /proc/swaps gave, or why it could not be read.
pub fn details(
    args: &Args,
    total: &SwapArea,
    devices: &Result<Vec<SwapArea>, String>,
    proc_root: &str,
) -> Vec<String> {
    let verbosity = args.common.verbosity();
    let mut lines = Vec::new();
    if verbosity >= 1 && !args.allswaps {
        match devices {
            Ok(list) if list.is_empty() => lines.push("no swap devices in /proc/swaps".into()),
            Ok(list) => lines.extend(list.iter().map(|d| format!("{} {}", d.name, describe(d)))),
            Err(e) => lines.push(format!("swap devices unknown: {e}")),
        }
    }
    if verbosity >= 2 {
        for (name, limits) in [("warning", &args.warning), ("critical", &args.critical)] {
            if limits.is_empty() {
                lines.push(format!("{name}: not set"));
            } else {
                let scope = if args.allswaps {
                    "of each device"
                } else {
                    "in total"
                };
                lines.push(format!(
                    "{name} when free swap {scope} is at or below {}",
                    limits_text(limits, total.total)
                ));
            }
        }
        lines.push(format!("no swap at all: {}", args.no_swap));
    }
    if verbosity >= 3 {
        lines.push(format!(
            "read {proc_root}/meminfo: SwapTotal {} bytes, SwapFree {} bytes",
            total.total, total.free
        ));
        if let Ok(list) = devices {
            lines.push(format!(
                "read {proc_root}/swaps: {} device{}",
                list.len(),
                if list.len() == 1 { "" } else { "s" }
            ));
        }
    }
    lines
}

/// Turns the figures into a result (pure).
pub fn evaluate(args: &Args, total: &SwapArea, devices: &[SwapArea]) -> CheckResult {
    if total.total == 0 {
        let mut result = CheckResult::with_state(
            args.no_swap,
            "no swap: swap is either disabled, not present, or of zero size",
        );
        result.perf(Perfdata::new("swap", 0.0, Uom::Bytes).min(0.0).max(0.0));
        return result;
    }
    let mut result = CheckResult::new(describe(total));
    let [free, used] = perfdata(args, "swap", total);
    result.perf(free);
    result.perf(used);
    if args.allswaps {
        // Each device is judged on its own; the total is only reported.
        for device in devices {
            let mut sub = CheckResult::with_state(
                area_state(args, device),
                format!("{} {}", device.name, describe(device)),
            );
            let [free, used] = perfdata(args, &format!("swap {}", device.name), device);
            sub.perf(free);
            sub.perf(used);
            result.subcheck(sub);
        }
        if devices.is_empty() {
            result.set_state(area_state(args, total));
        }
    } else {
        result.set_state(area_state(args, total));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsplugins::output::render_text;

    const MIB: u64 = 1 << 20;

    fn args(list: &[&str]) -> Args {
        let mut argv = vec!["check_swap_rs"];
        argv.extend_from_slice(list);
        Args::try_parse_from(argv).unwrap()
    }

    fn area(name: &str, total: u64, free: u64) -> SwapArea {
        SwapArea {
            name: name.into(),
            total,
            free,
        }
    }

    #[test]
    fn no_swap_is_critical_unless_told() {
        let none = area("", 0, 0);
        let r = evaluate(&args(&["-w", "50%", "-c", "25%"]), &none, &[]);
        assert_eq!(r.state(), State::Critical);
        assert_eq!(
            render_text(SERVICE, &r),
            "SWAP CRITICAL - no swap: swap is either disabled, not present, or of zero size | swap=0B;;;0;0\n"
        );
        let r = evaluate(&args(&["-n", "ok", "-w", "50%"]), &none, &[]);
        assert_eq!(r.state(), State::Ok);
    }

    #[test]
    fn percent_and_size_limits_all_count() {
        let a = args(&["-w", "50%", "-w", "600M", "-c", "10%"]);
        assert_eq!(
            evaluate(&a, &area("", 1000 * MIB, 700 * MIB), &[]).state(),
            State::Ok
        );
        // 55% free passes the percent but not the size limit.
        assert_eq!(
            evaluate(&a, &area("", 1000 * MIB, 550 * MIB), &[]).state(),
            State::Warning
        );
        assert_eq!(
            evaluate(&a, &area("", 1000 * MIB, 50 * MIB), &[]).state(),
            State::Critical
        );
    }

    #[test]
    fn exact_limits_alert_like_c() {
        // C check_swap 2.3.3: exactly 25% free with -c 25% is CRITICAL.
        let a = args(&["-w", "50%", "-c", "25%"]);
        let state = |free| evaluate(&a, &area("", 1000 * MIB, free), &[]).state();
        assert_eq!(state(250 * MIB), State::Critical);
        assert_eq!(state(250 * MIB + 1), State::Warning);
        assert_eq!(state(500 * MIB), State::Warning);
        assert_eq!(state(500 * MIB + 1), State::Ok);
        let a = args(&["-w", "512M", "-c", "100"]);
        let state = |free| evaluate(&a, &area("", 1000 * MIB, free), &[]).state();
        assert_eq!(state(512 * MIB), State::Warning);
        assert_eq!(state(512 * MIB + 1), State::Ok);
        assert_eq!(state(100), State::Critical);
        assert_eq!(state(101), State::Warning);
    }

    #[test]
    fn verbose_levels() {
        let total = area("", 3 * MIB, 2 * MIB);
        let devices = Ok(vec![
            area("/dev/vda2", 2 * MIB, 2 * MIB),
            area("/swapfile", MIB, 0),
        ]);
        let lines = |list: &[&str]| details(&args(list), &total, &devices, "/proc");
        assert!(lines(&["-w", "50%"]).is_empty());
        assert_eq!(
            lines(&["-v", "-w", "50%"]),
            [
                "/dev/vda2 100% free (2.0 MiB out of 2.0 MiB)",
                "/swapfile 0% free (0 B out of 1.0 MiB)"
            ]
        );
        assert_eq!(
            lines(&["-vv", "-w", "50%", "-w", "1M", "-n", "ok"])[2..],
            [
                "warning when free swap in total is at or below 50% (1.5 MiB) or 1.0 MiB",
                "critical: not set",
                "no swap at all: OK"
            ]
        );
        let all = lines(&["-vvv", "-a", "-c", "10%"]);
        assert_eq!(
            all,
            [
                "warning: not set",
                "critical when free swap of each device is at or below 10% (307.2 KiB)",
                "no swap at all: CRITICAL",
                "read /proc/meminfo: SwapTotal 3145728 bytes, SwapFree 2097152 bytes",
                "read /proc/swaps: 2 devices"
            ]
        );
        let broken = Err("cannot read /proc/swaps: gone".to_string());
        assert_eq!(
            details(&args(&["-v"]), &total, &broken, "/proc"),
            ["swap devices unknown: cannot read /proc/swaps: gone"]
        );
        let none = Ok(Vec::new());
        assert_eq!(
            details(&args(&["-v"]), &total, &none, "/proc"),
            ["no swap devices in /proc/swaps"]
        );
    }

    #[test]
    fn output_form() {
        let a = args(&["-w", "50%", "-c", "25%"]);
        let r = evaluate(&a, &area("", 1024 * MIB, 768 * MIB), &[]);
        assert_eq!(
            render_text(SERVICE, &r),
            "SWAP OK - 75% free (768.0 MiB out of 1.0 GiB) | swap=805306368B;;;0;1073741824 swap_used=268435456B;536870911;805306367;0;1073741824\n"
        );
    }

    #[test]
    fn allswaps_judges_each_device() {
        let a = args(&["-a", "-w", "50%", "-c", "25%"]);
        let devices = [
            area("/dev/sda2", 1000 * MIB, 900 * MIB),
            area("/swapfile", 1000 * MIB, 200 * MIB),
        ];
        let total = area("", 2000 * MIB, 1100 * MIB);
        let r = evaluate(&a, &total, &devices);
        assert_eq!(r.state(), State::Critical);
        let text = render_text(SERVICE, &r);
        assert!(text.contains("\\_ [OK] /dev/sda2 90% free"), "{text}");
        assert!(text.contains("\\_ [CRITICAL] /swapfile 20% free"), "{text}");
        assert!(text.contains("'swap /swapfile'=209715200B"), "{text}");
    }

    #[test]
    fn bad_options() {
        assert!(Args::try_parse_from(["x", "-n", "maybe"]).is_err());
        assert!(Args::try_parse_from(["x", "-w", "150%"]).is_err());
    }
}
