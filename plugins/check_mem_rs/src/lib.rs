//! check_mem_rs: memory really available to new work (the kernel's MemAvailable).

use clap::Parser;
use rsplugins::bytes::{human, used_level, FreeLimit};
use rsplugins::number::format_fixed;
use rsplugins::options::{CommonArgs, ProcRootArgs};
use rsplugins::procfs::{MemInfo, ProcFs};
use rsplugins::{CheckError, CheckResult, Perfdata, State, Uom};

/// Service name on the first output line.
pub const SERVICE: &str = "MEM";

/// Check the memory available to new work.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_mem_rs",
    version,
    about = "Check the memory available to new work (the kernel's MemAvailable)",
    after_help = "Limits are free memory that must remain: a percent of the total (10%) or a size \
                  (512M, 2G, 1073741824; units are binary multiples, no unit means bytes). The \
                  check alerts when available memory is at or below them."
)]
pub struct Args {
    /// WARNING when available memory is at or below this (percent or size)
    #[arg(short = 'w', long = "warning", value_name = "FREE")]
    pub warning: Option<FreeLimit>,

    /// CRITICAL when available memory is at or below this (percent or size)
    #[arg(short = 'c', long = "critical", value_name = "FREE")]
    pub critical: Option<FreeLimit>,

    #[command(flatten)]
    pub proc: ProcRootArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

rsplugins::plugin_entry!(Args, SERVICE, check);

/// Memory figures in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// MemTotal.
    pub total: u64,
    /// MemAvailable (estimated on kernels without it).
    pub available: u64,
    /// MemFree.
    pub free: u64,
    /// Buffers plus Cached.
    pub cache: u64,
    /// Whether `available` had to be estimated (kernel before 3.14).
    pub estimated: bool,
}

/// Acquires and evaluates.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let memory = acquire(&args.proc.procfs())?;
    Ok(evaluate(&args, &memory))
}

/// Reads /proc/meminfo.
pub fn acquire(proc: &ProcFs) -> Result<Memory, CheckError> {
    memory_from(&proc.meminfo()?)
}

fn memory_from(info: &MemInfo) -> Result<Memory, CheckError> {
    let get = |key: &str| info.get(key).copied();
    let total = get("MemTotal")
        .filter(|t| *t > 0)
        .ok_or_else(|| CheckError::unknown("meminfo has no MemTotal"))?;
    let free = get("MemFree").unwrap_or(0);
    let cache = get("Buffers").unwrap_or(0) + get("Cached").unwrap_or(0);
    let (available, estimated) = match get("MemAvailable") {
        Some(a) => (a, false),
        None => ((free + cache).min(total), true),
    };
    Ok(Memory {
        total,
        available,
        free,
        cache,
        estimated,
    })
}

/// Turns the figures into a result (pure).
pub fn evaluate(args: &Args, m: &Memory) -> CheckResult {
    let state = if args
        .critical
        .is_some_and(|l| l.breached(m.available, m.total))
    {
        State::Critical
    } else if args
        .warning
        .is_some_and(|l| l.breached(m.available, m.total))
    {
        State::Warning
    } else {
        State::Ok
    };
    let percent = m.available as f64 / m.total as f64 * 100.0;
    let used = m.total - m.available.min(m.total);
    let mut result = CheckResult::with_state(
        state,
        format!(
            "{} available of {} ({}%)",
            human(m.available),
            human(m.total),
            format_fixed(percent, 1)
        ),
    );
    let level = |limit: Option<FreeLimit>| {
        limit
            .and_then(|l| used_level(&[l], m.total))
            .map(|u| u as f64)
    };
    result.perf(
        Perfdata::new("used", used as f64, Uom::Bytes)
            .levels(level(args.warning), level(args.critical))
            .min(0.0)
            .max(m.total as f64),
    );
    result.perf(
        Perfdata::new("available", m.available as f64, Uom::Bytes)
            .min(0.0)
            .max(m.total as f64),
    );
    result.perf(
        // Two decimals are all a graph needs.
        Perfdata::new(
            "available_pct",
            (percent * 100.0).round() / 100.0,
            Uom::Percent,
        )
        .min(0.0)
        .max(100.0),
    );
    if args.common.verbosity() > 0 {
        result.detail(format!(
            "total {}, available {}, free {}, buffers+cache {}",
            human(m.total),
            human(m.available),
            human(m.free),
            human(m.cache)
        ));
    }
    if m.estimated {
        result.detail(
            "MemAvailable missing (kernel before 3.14): estimated as MemFree + Buffers + Cached",
        );
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsplugins::output::render_text;

    fn args(list: &[&str]) -> Args {
        let mut argv = vec!["check_mem_rs"];
        argv.extend_from_slice(list);
        Args::try_parse_from(argv).unwrap()
    }

    const GIB: u64 = 1 << 30;

    fn mem(total: u64, available: u64) -> Memory {
        Memory {
            total,
            available,
            free: available / 2,
            cache: available / 2,
            estimated: false,
        }
    }

    #[test]
    fn percent_limits() {
        let a = args(&["-w", "20%", "-c", "10%"]);
        assert_eq!(evaluate(&a, &mem(10 * GIB, 5 * GIB)).state(), State::Ok);
        assert_eq!(
            evaluate(&a, &mem(10 * GIB, 19 * GIB / 10)).state(),
            State::Warning
        );
        assert_eq!(
            evaluate(&a, &mem(10 * GIB, GIB / 2)).state(),
            State::Critical
        );
    }

    #[test]
    fn exact_limits_alert() {
        // As the swap and disk plugins (C check_swap/check_disk): at the limit alerts.
        let a = args(&["-w", "20%", "-c", "1G"]);
        assert_eq!(
            evaluate(&a, &mem(10 * GIB, 2 * GIB)).state(),
            State::Warning
        );
        assert_eq!(evaluate(&a, &mem(10 * GIB, 2 * GIB + 1)).state(), State::Ok);
        assert_eq!(evaluate(&a, &mem(10 * GIB, GIB)).state(), State::Critical);
    }

    #[test]
    fn size_limits() {
        let a = args(&["-w", "2G", "-c", "512M"]);
        assert_eq!(evaluate(&a, &mem(10 * GIB, GIB)).state(), State::Warning);
        assert_eq!(
            evaluate(&a, &mem(10 * GIB, GIB / 4)).state(),
            State::Critical
        );
    }

    #[test]
    fn output_and_perfdata_levels_in_used_bytes() {
        let a = args(&["-w", "20%", "-c", "10%"]);
        let r = evaluate(&a, &mem(10 * GIB, 5 * GIB));
        assert_eq!(
            render_text(SERVICE, &r),
            "MEM OK - 5.0 GiB available of 10.0 GiB (50.0%) | used=5368709120B;8589934591;9663676415;0;10737418240 available=5368709120B;;;0;10737418240 available_pct=50%;;;0;100\n"
        );
    }

    #[test]
    fn old_kernels_estimate_available() {
        let mut info = MemInfo::new();
        info.insert("MemTotal".into(), 1000);
        info.insert("MemFree".into(), 100);
        info.insert("Buffers".into(), 50);
        info.insert("Cached".into(), 250);
        let m = memory_from(&info).unwrap();
        assert_eq!(m.available, 400);
        assert!(m.estimated);
        assert!(memory_from(&MemInfo::new()).is_err());
    }

    #[test]
    fn bad_limits_are_rejected() {
        assert!(Args::try_parse_from(["x", "-w", "120%"]).is_err());
        assert!(Args::try_parse_from(["x", "-w", "lots"]).is_err());
    }
}
