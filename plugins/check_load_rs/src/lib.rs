//! check_load_rs: the system load average, compatible with C check_load.

use clap::Parser;
use rsplugins::number::format_fixed;
use rsplugins::options::{CommonArgs, ProcRootArgs};
use rsplugins::procfs::{clock_ticks, LoadAvg, ProcFs};
use rsplugins::range::{parse_list, Range};
use rsplugins::{CheckError, CheckResult, Perfdata, State, Thresholds, Uom};

/// Service name on the first output line.
pub const SERVICE: &str = "LOAD";

/// Three ranges for the 1, 5 and 15 minute averages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoadRanges(pub [Range; 3]);

impl std::str::FromStr for LoadRanges {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let list = parse_list(s, 3).map_err(|e| e.to_string())?;
        Ok(LoadRanges([list[0], list[1], list[2]]))
    }
}

/// Check the system load average against thresholds.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_load_rs",
    version,
    about = "Check the 1, 5 and 15 minute load averages (drop-in for check_load)",
    after_help = "Each list may hold fewer than three values: the last one repeats. Each value may \
                  also be a range ([@][start:][end]). Without -w and -c the plugin is OK and \
                  reports perfdata. -v adds the /proc/loadavg line and the CPU count, -vv the \
                  thresholds in effect, -vvv the task counts and each average's state."
)]
pub struct Args {
    /// Warning thresholds for the 1, 5 and 15 minute averages
    #[arg(short = 'w', long = "warning", value_name = "WLOAD1,WLOAD5,WLOAD15")]
    pub warning: Option<LoadRanges>,

    /// Critical thresholds for the 1, 5 and 15 minute averages
    #[arg(short = 'c', long = "critical", value_name = "CLOAD1,CLOAD5,CLOAD15")]
    pub critical: Option<LoadRanges>,

    /// Divide the load averages by the number of CPUs before comparing
    #[arg(short = 'r', long = "percpu")]
    pub percpu: bool,

    /// Show the N processes using the most CPU in the details
    #[arg(
        short = 'n',
        long = "procs-to-show",
        value_name = "N",
        default_value_t = 0
    )]
    pub procs_to_show: usize,

    #[command(flatten)]
    pub proc: ProcRootArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

rsplugins::plugin_entry!(Args, SERVICE, check);

/// What was read from the system.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadData {
    /// The averages.
    pub load: LoadAvg,
    /// The /proc/loadavg line they were read from (shown with -v).
    pub line: String,
    /// Online CPUs.
    pub cpus: usize,
    /// Top processes by CPU: (percent, pid, command line).
    pub top: Vec<(f64, u32, String)>,
}

/// Acquires and evaluates.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    validate(&args)?;
    let data = acquire(&args.proc.procfs(), args.procs_to_show)?;
    Ok(evaluate(&args, &data))
}

/// Rejects warning levels above critical ones, as C check_load does.
fn validate(args: &Args) -> Result<(), CheckError> {
    if let (Some(w), Some(c)) = (args.warning, args.critical) {
        for (i, (w, c)) in w.0.iter().zip(c.0.iter()).enumerate() {
            if w.is_simple_upper_bound() && c.is_simple_upper_bound() && w.end > c.end {
                return Err(CheckError::unknown(format!(
                    "warning threshold {} is above critical threshold {} for load{}",
                    w,
                    c,
                    [1, 5, 15][i]
                )));
            }
        }
    }
    Ok(())
}

/// Reads the averages, the CPU count and, when asked, the top processes.
pub fn acquire(proc: &ProcFs, top_n: usize) -> Result<LoadData, CheckError> {
    let (load, line) = proc.loadavg_line()?;
    let cpus = proc.cpu_count()?;
    let top = if top_n > 0 {
        // Other processes' command lines can block past any signal but SIGKILL.
        rsplugins::runner::supervise();
        top_processes(proc, top_n)?
    } else {
        Vec::new()
    };
    Ok(LoadData {
        load,
        line,
        cpus,
        top,
    })
}

fn top_processes(proc: &ProcFs, n: usize) -> Result<Vec<(f64, u32, String)>, CheckError> {
    let uptime = proc.uptime()?;
    let ticks = clock_ticks();
    let me = std::process::id();
    let mut list: Vec<(f64, u32, String)> = proc
        .processes(true)?
        .into_iter()
        .filter(|p| p.pid != me)
        .map(|p| (p.cpu_percent(uptime, ticks), p.pid, p.args()))
        .collect();
    list.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    list.truncate(n);
    Ok(list)
}

/// `running/total` and the last PID, the fields after the averages.
fn tasks_text(line: &str) -> Option<String> {
    let mut fields = line.split_whitespace().skip(3);
    let (running, total) = fields.next()?.split_once('/')?;
    let last = fields.next()?;
    let numbers = [running, total, last];
    if !numbers.iter().all(|n| n.parse::<u64>().is_ok()) {
        return None;
    }
    Some(format!(
        "tasks: {running} running, {total} total, last PID {last}"
    ))
}

fn threshold_text(range: Option<Range>) -> String {
    range.map_or_else(|| "none".to_string(), |r| r.to_string())
}

fn averages_text(values: [f64; 3]) -> String {
    values
        .iter()
        .map(|v| format_fixed(*v, 2))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Turns the data into a result (pure).
pub fn evaluate(args: &Args, data: &LoadData) -> CheckResult {
    let labels = ["load1", "load5", "load15"];
    let total = [data.load.one, data.load.five, data.load.fifteen];
    let cpus = data.cpus.max(1) as f64;
    let scaled = total.map(|v| v / cpus);
    let compared = if args.percpu { scaled } else { total };

    let mut result = CheckResult::new(String::new());
    let mut state = State::Ok;
    let mut states = [State::Ok; 3];
    for i in 0..3 {
        let thresholds =
            Thresholds::new(args.warning.map(|r| r.0[i]), args.critical.map(|r| r.0[i]));
        states[i] = thresholds.evaluate(compared[i]);
        state = state.worst(states[i]);
        if args.percpu {
            result.perf(Perfdata::new(labels[i], total[i], Uom::None).min(0.0));
            result.perf(
                Perfdata::new(format!("scaled_{}", labels[i]), scaled[i], Uom::None)
                    .thresholds(&thresholds)
                    .min(0.0),
            );
        } else {
            result.perf(
                Perfdata::new(labels[i], total[i], Uom::None)
                    .thresholds(&thresholds)
                    .min(0.0),
            );
        }
    }
    result.summary = if args.percpu {
        format!(
            "scaled load average: {} - load average: {} ({} CPUs)",
            averages_text(scaled),
            averages_text(total),
            data.cpus
        )
    } else {
        format!("load average: {}", averages_text(total))
    };
    result.set_state(state);
    // C's levels: 1 a little more, 2 the configuration and what was read,
    // 3 everything needed for diagnosis.
    let verbosity = args.common.verbosity();
    if verbosity >= 1 {
        result.detail(format!("/proc/loadavg: {}", data.line));
        result.detail(format!("CPUs: {}", data.cpus));
    }
    if verbosity >= 2 {
        result.detail(if args.percpu {
            format!(
                "thresholds apply to the load averages divided by the {} CPUs (-r)",
                data.cpus
            )
        } else {
            "thresholds apply to the load averages as read (-r divides them by the CPUs)"
                .to_string()
        });
        for (i, label) in labels.iter().enumerate() {
            result.detail(format!(
                "{label}: warning {}, critical {}",
                threshold_text(args.warning.map(|r| r.0[i])),
                threshold_text(args.critical.map(|r| r.0[i]))
            ));
        }
    }
    if verbosity >= 3 {
        result.detail(
            tasks_text(&data.line).unwrap_or_else(|| "tasks: not in /proc/loadavg".to_string()),
        );
        for (i, label) in labels.iter().enumerate() {
            result.detail(format!(
                "{label} {}: {}",
                format_fixed(compared[i], 2),
                states[i].name()
            ));
        }
    }
    if !data.top.is_empty() {
        result.detail(format!("Top {} processes by CPU:", data.top.len()));
        result.detail("  %CPU     PID COMMAND");
        for (cpu, pid, cmd) in &data.top {
            result.detail(format!("{:>6} {:>7} {}", format_fixed(*cpu, 1), pid, cmd));
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsplugins::output::render_text;

    fn args(list: &[&str]) -> Args {
        let mut argv = vec!["check_load_rs"];
        argv.extend_from_slice(list);
        Args::try_parse_from(argv).unwrap()
    }

    fn data(one: f64, five: f64, fifteen: f64, cpus: usize) -> LoadData {
        LoadData {
            load: LoadAvg { one, five, fifteen },
            line: format!("{one} {five} {fifteen} 1/99 1234"),
            cpus,
            top: Vec::new(),
        }
    }

    #[test]
    fn ok_with_thresholds() {
        let r = evaluate(
            &args(&["-w", "5,4,3", "-c", "10,8,6"]),
            &data(0.12, 0.08, 0.05, 2),
        );
        assert_eq!(
            render_text(SERVICE, &r),
            "LOAD OK - load average: 0.12, 0.08, 0.05 | load1=0.12;5;10;0 load5=0.08;4;8;0 load15=0.05;3;6;0\n"
        );
    }

    #[test]
    fn each_average_has_its_own_threshold() {
        let a = args(&["-w", "5,4,3", "-c", "10,8,6"]);
        assert_eq!(
            evaluate(&a, &data(1.0, 1.0, 3.5, 2)).state(),
            State::Warning
        );
        assert_eq!(
            evaluate(&a, &data(1.0, 8.5, 1.0, 2)).state(),
            State::Critical
        );
        assert_eq!(evaluate(&a, &data(5.0, 4.0, 3.0, 2)).state(), State::Ok);
    }

    #[test]
    fn short_lists_repeat_the_last_value() {
        let a = args(&["-w", "1", "-c", "2"]);
        assert_eq!(
            evaluate(&a, &data(0.5, 0.5, 1.5, 2)).state(),
            State::Warning
        );
        assert_eq!(
            evaluate(&a, &data(0.5, 0.5, 2.5, 2)).state(),
            State::Critical
        );
    }

    #[test]
    fn no_thresholds_is_ok_with_perfdata() {
        let r = evaluate(&args(&[]), &data(99.0, 99.0, 99.0, 1));
        assert_eq!(
            render_text(SERVICE, &r),
            "LOAD OK - load average: 99.00, 99.00, 99.00 | load1=99;;;0 load5=99;;;0 load15=99;;;0\n"
        );
    }

    #[test]
    fn percpu_compares_scaled_values() {
        let a = args(&["-r", "-w", "1,1,1", "-c", "2,2,2"]);
        let r = evaluate(&a, &data(3.0, 1.0, 0.5, 2));
        assert_eq!(r.state(), State::Warning);
        assert_eq!(
            render_text(SERVICE, &r),
            "LOAD WARNING - scaled load average: 1.50, 0.50, 0.25 - load average: 3.00, 1.00, 0.50 (2 CPUs) | load1=3;;;0 scaled_load1=1.5;1;2;0 load5=1;;;0 scaled_load5=0.5;1;2;0 load15=0.5;;;0 scaled_load15=0.25;1;2;0\n"
        );
    }

    #[test]
    fn full_ranges_are_accepted() {
        let a = args(&["-w", "@0:0.5", "-c", "~:100"]);
        assert_eq!(
            evaluate(&a, &data(0.2, 0.7, 0.7, 1)).state(),
            State::Warning
        );
    }

    #[test]
    fn option_errors() {
        assert!(Args::try_parse_from(["x", "-w", "1,2,3,4"]).is_err());
        assert!(Args::try_parse_from(["x", "-w", "a"]).is_err());
        assert!(Args::try_parse_from(["x", "-n", "-1"]).is_err());
        let a = args(&["-w", "10", "-c", "5"]);
        assert!(validate(&a).is_err());
        assert!(validate(&args(&["-w", "5", "-c", "10"])).is_ok());
    }

    #[test]
    fn verbosity_adds_details_level_by_level() {
        let d = data(1.5, 0.5, 0.25, 2);
        let details = |list: &[&str]| evaluate(&args(list), &d).details;
        assert!(details(&["-w", "1", "-c", "2"]).is_empty());
        assert_eq!(
            details(&["-w", "1", "-c", "2", "-v"]),
            ["/proc/loadavg: 1.5 0.5 0.25 1/99 1234", "CPUs: 2"]
        );
        let vv = details(&["-w", "1", "-c", "~:2", "-vv"]);
        assert_eq!(
            vv[2..],
            [
                "thresholds apply to the load averages as read (-r divides them by the CPUs)",
                "load1: warning 1, critical ~:2",
                "load5: warning 1, critical ~:2",
                "load15: warning 1, critical ~:2",
            ]
        );
        let vvv = details(&["-r", "-c", "0.5", "-vvv"]);
        assert_eq!(
            vvv[2..],
            [
                "thresholds apply to the load averages divided by the 2 CPUs (-r)",
                "load1: warning none, critical 0.5",
                "load5: warning none, critical 0.5",
                "load15: warning none, critical 0.5",
                "tasks: 1 running, 99 total, last PID 1234",
                "load1 0.75: CRITICAL",
                "load5 0.25: OK",
                "load15 0.12: OK",
            ]
        );
        // Verbose lines come before the top processes.
        let mut d = data(0.1, 0.1, 0.1, 1);
        d.top = vec![(1.0, 7, "x".into())];
        let r = evaluate(&args(&["-n", "1", "-v"]), &d);
        assert_eq!(r.details[1], "CPUs: 1");
        assert_eq!(r.details[2], "Top 1 processes by CPU:");
    }

    #[test]
    fn tasks_from_the_loadavg_line() {
        assert_eq!(
            tasks_text("0.1 0.2 0.3 3/250 4567").as_deref(),
            Some("tasks: 3 running, 250 total, last PID 4567")
        );
        assert_eq!(tasks_text("0.1 0.2 0.3"), None);
        assert_eq!(tasks_text("0.1 0.2 0.3 3-250 4567"), None);
        assert_eq!(tasks_text("0.1 0.2 0.3 x/250 4567"), None);
        assert_eq!(tasks_text("0.1 0.2 0.3 3/250"), None);
    }

    #[test]
    fn top_processes_in_details() {
        let mut d = data(0.1, 0.1, 0.1, 1);
        d.top = vec![(12.34, 77, "/usr/bin/busy --x".into())];
        let r = evaluate(&args(&["-n", "1"]), &d);
        assert_eq!(
            r.details,
            vec![
                "Top 1 processes by CPU:".to_string(),
                "  %CPU     PID COMMAND".to_string(),
                "  12.3      77 /usr/bin/busy --x".to_string()
            ]
        );
    }
}
