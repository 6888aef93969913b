//! check_proc_rs: counts processes, or checks each one's size, CPU or age,
//! compatible with C check_procs. Reads only the kernel's files under /proc.

pub mod filter;
pub mod scan;

use std::str::FromStr;

use clap::Parser;
use rsplugins::number::format_fixed;
use rsplugins::options::{CommonArgs, ProcRootArgs, ThresholdArgs};
use rsplugins::procfs::Process;
use rsplugins::{CheckError, CheckResult, Perfdata, State, Uom};

pub use filter::{lookup_user, Filter, FilterArgs, Filters, Sys};
pub use scan::{acquire, ProcData};

/// Service name on the first output line when counting processes.
pub const SERVICE: &str = "PROCS";

/// What the thresholds apply to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Metric {
    /// The number of matching processes.
    #[default]
    Procs,
    /// Each process's virtual size in kB.
    Vsz,
    /// Each process's resident size in kB.
    Rss,
    /// Each process's CPU percent.
    Cpu,
    /// Each process's age in seconds.
    Elapsed,
}

impl FromStr for Metric {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_uppercase().as_str() {
            "PROCS" => Ok(Metric::Procs),
            "VSZ" => Ok(Metric::Vsz),
            "RSS" => Ok(Metric::Rss),
            "CPU" => Ok(Metric::Cpu),
            "ELAPSED" => Ok(Metric::Elapsed),
            _ => Err(format!(
                "'{s}' is not a metric (use PROCS, VSZ, RSS, CPU or ELAPSED)"
            )),
        }
    }
}

impl Metric {
    /// The metric's name, which is also the service name of the output.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Procs => "PROCS",
            Metric::Vsz => "VSZ",
            Metric::Rss => "RSS",
            Metric::Cpu => "CPU",
            Metric::Elapsed => "ELAPSED",
        }
    }

    /// The value of a per-process metric (0 for PROCS).
    pub fn value(self, p: &Process, sys: &Sys) -> f64 {
        match self {
            Metric::Procs => 0.0,
            Metric::Vsz => sys.vsz_kb(p) as f64,
            Metric::Rss => sys.rss_kb(p) as f64,
            Metric::Cpu => sys.cpu(p),
            Metric::Elapsed => sys.elapsed(p) as f64,
        }
    }

    fn value_text(self, value: f64) -> String {
        match self {
            Metric::Cpu => format_fixed(value, 1),
            _ => format_fixed(value, 0),
        }
    }
}

/// Count processes or check each one's size, CPU or age.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_proc_rs",
    version,
    args_override_self = true,
    about = "Count processes, or check each one's VSZ, RSS, CPU or age (drop-in for check_procs)",
    after_help = "Filters combine with AND. The plugin never counts itself, its parent or its \
                  own children. With PROCS (the default) the thresholds apply to the number of \
                  matching processes: -c 1: is CRITICAL when none runs. With VSZ, RSS, CPU or \
                  ELAPSED each matching process is checked against them and the worst state \
                  wins. -v lists the matching processes (PID, state, elapsed time, command \
                  line) below the first line.\n\nExamples:\n  check_proc_rs -c 1: -C sshd\n  \
                  check_proc_rs -w 0 -s Z\n  check_proc_rs -m RSS -w 500000 -c 1000000 -C java\n  \
                  check_proc_rs -w 0 --orphaned -a my-worker --older-than 3600 -v"
)]
pub struct Args {
    #[command(flatten)]
    pub thresholds: ThresholdArgs,

    /// What the thresholds apply to: PROCS (number of processes, default),
    /// VSZ or RSS (kB), CPU (percent) or ELAPSED (seconds) of each process
    #[arg(
        short = 'm',
        long = "metric",
        value_name = "TYPE",
        default_value = "PROCS"
    )]
    pub metric: Metric,

    #[command(flatten)]
    pub filters: Filters,

    /// Accepted for compatibility: the plugin always recognises itself by process id
    #[arg(
        short = 'T',
        long = "traditional",
        alias = "traditional-filter",
        hide = true
    )]
    pub traditional: bool,

    #[command(flatten)]
    pub proc: ProcRootArgs,

    #[command(flatten)]
    pub common: CommonArgs,
}

// C check_procs prints `PROCS OK: 3 processes ...`; output filters and its
// own test suite match the colon.
rsplugins::plugin_entry!(
    Args,
    SERVICE,
    check,
    service = |args| Some(args.metric.name()),
    first_line = rsplugins::output::FirstLine::Colon
);

/// Validates, acquires and evaluates.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let filter = validate(&args)?;
    let data = acquire(&args.proc.procfs(), &filter, args.common.verbosity() > 0)?;
    Ok(evaluate(&args, &filter, &data))
}

/// Resolves the filters: an unknown user or a bad regex is UNKNOWN.
pub fn validate(args: &Args) -> Result<Filter, CheckError> {
    Filter::resolve(&args.filters, lookup_user)
}

/// `[[DD-]hh:]mm:ss`, as ps shows elapsed time.
pub fn etime(seconds: u64) -> String {
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (hours, rest) = (rest / 3600, rest % 3600);
    let (minutes, secs) = (rest / 60, rest % 60);
    if days > 0 {
        format!("{days}-{hours:02}:{minutes:02}:{secs:02}")
    } else if hours > 0 {
        format!("{hours:02}:{minutes:02}:{secs:02}")
    } else {
        format!("{minutes:02}:{secs:02}")
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        "process"
    } else {
        "processes"
    }
}

/// Turns the processes into a result (pure).
pub fn evaluate(args: &Args, filter: &Filter, data: &ProcData) -> CheckResult {
    let thresholds = args.thresholds.thresholds();
    let metric = args.metric;
    let sys = data.sys;
    let verbose = args.common.verbosity() > 0;

    let mut count = 0usize;
    let (mut warn, mut crit) = (0usize, 0usize);
    let mut worst = State::Ok;
    let mut fails: Vec<String> = Vec::new();
    let mut lines: Vec<String> = Vec::new();
    for p in &data.processes {
        if data.is_own(p) || !filter.matches(p, &sys) {
            continue;
        }
        count += 1;
        if metric == Metric::Procs {
            if verbose {
                lines.push(format!(
                    "{:>7} {} {:>11} {}",
                    p.pid,
                    p.state,
                    etime(sys.elapsed(p)),
                    p.args()
                ));
            }
            continue;
        }
        let value = metric.value(p, &sys);
        let state = thresholds.evaluate(value);
        match state {
            State::Warning => warn += 1,
            State::Critical => crit += 1,
            _ => {}
        }
        if state != State::Ok {
            worst = worst.worst(state);
            if verbose {
                fails.push(p.name());
            }
        }
        if verbose {
            lines.push(format!(
                "{:>7} {} {:>11} {:>10} {:<8} {}",
                p.pid,
                p.state,
                etime(sys.elapsed(p)),
                metric.value_text(value),
                state.name(),
                p.args()
            ));
        }
    }

    let mut summary = String::new();
    let mut result = CheckResult::new(String::new());
    if metric == Metric::Procs {
        worst = thresholds.evaluate(count as f64);
        result.perf(
            Perfdata::new("procs", count as f64, Uom::None)
                .thresholds(&thresholds)
                .min(0.0),
        );
    } else {
        match worst {
            State::Warning => summary.push_str(&format!("{warn} warn out of ")),
            State::Critical => summary.push_str(&format!("{crit} crit, {warn} warn out of ")),
            _ => {}
        }
        result.perf(Perfdata::new("procs", count as f64, Uom::None).min(0.0));
        result.perf(Perfdata::new("procs_warn", warn as f64, Uom::None).min(0.0));
        result.perf(Perfdata::new("procs_crit", crit as f64, Uom::None).min(0.0));
    }
    summary.push_str(&format!("{count} {}", plural(count)));
    if !filter.description.is_empty() {
        summary.push_str(" with ");
        summary.push_str(&filter.description);
    }
    if !fails.is_empty() {
        summary.push_str(&format!(" [{}]", fails.join(", ")));
    }
    result.summary = summary;
    result.set_state(worst);

    if verbose && !lines.is_empty() {
        let header = if metric == Metric::Procs {
            format!("{:>7} {} {:>11} {}", "PID", "S", "ELAPSED", "COMMAND")
        } else {
            format!(
                "{:>7} {} {:>11} {:>10} {:<8} {}",
                "PID",
                "S",
                "ELAPSED",
                metric.name(),
                "STATE",
                "COMMAND"
            )
        };
        result.detail(header);
        for line in lines {
            result.detail(line);
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsplugins::output::{render_text_as, FirstLine};
    use rsplugins::runner::PluginArgs;

    const SYS: Sys = Sys {
        uptime: 10_000.0,
        ticks_per_second: 100.0,
        page_size: 4096,
    };

    fn args(list: &[&str]) -> Args {
        let mut argv = vec!["check_proc_rs"];
        argv.extend_from_slice(list);
        Args::try_parse_from(argv).unwrap()
    }

    /// A process started `age` seconds ago.
    fn p(pid: u32, ppid: u32, comm: &str, state: char, cmdline: &str, age: u64) -> Process {
        Process {
            pid,
            ppid,
            comm: comm.to_string(),
            state,
            uid: 1000,
            flags: 0,
            cpu_ticks: 0,
            start_ticks: (SYS.uptime as u64 - age) * 100,
            vsize: 10 * 1024 * 1024,
            rss_pages: 100,
            threads: 1,
            cmdline: cmdline
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
            pgrp: pid,
            session: 1,
            tpgid: -1,
            nice: 0,
            locked_kb: 0,
        }
    }

    fn data() -> ProcData {
        let mut big = p(300, 1, "java", 'S', "/usr/bin/java -jar big.jar", 7200);
        big.rss_pages = 300_000; // 1,200,000 kB
        big.cpu_ticks = 360_000; // 3600 s of CPU over 7200 s: 50 %
        let mut medium = p(301, 1, "java", 'S', "/usr/bin/java -jar medium.jar", 60);
        medium.rss_pages = 150_000; // 600,000 kB
        let mut kthread = p(2, 0, "kthreadd", 'S', "", 9000);
        kthread.flags = 0x0020_0000;
        ProcData {
            sys: SYS,
            self_pid: Some(900),
            parent_pid: Some(899),
            processes: vec![
                p(1, 0, "systemd", 'S', "/sbin/init", 9000),
                kthread,
                p(3, 2, "kworker/0:1", 'I', "", 9000),
                p(100, 1, "sshd", 'S', "sshd: /usr/sbin/sshd -D", 8000),
                p(101, 100, "sshd", 'S', "sshd: admin [priv]", 30),
                p(200, 1, "defunct", 'Z', "", 5),
                p(201, 1, "dd", 'D', "dd if=/dev/sda of=/dev/null", 100),
                big,
                medium,
                // Ourselves, our parent (sh -c) and our child are never counted.
                p(899, 1, "sh", 'S', "sh -c check_proc_rs", 1),
                p(900, 899, "check_proc_rs", 'R', "check_proc_rs", 1),
                p(901, 900, "sshd", 'S', "sshd", 1),
            ],
        }
    }

    fn run(list: &[&str]) -> (String, State) {
        let a = args(list);
        let f = Filter::resolve(&a.filters, |u| match u {
            "mysql" | "108" => Ok((108, Some("mysql".into()))),
            "admin" => Ok((1000, Some("admin".into()))),
            _ => Err(CheckError::unknown(format!("user '{u}' was not found"))),
        })
        .unwrap();
        let r = evaluate(&a, &f, &data());
        (
            render_text_as(a.metric.name(), FirstLine::Colon, &r),
            r.state(),
        )
    }

    #[test]
    fn counts_everything_but_itself() {
        assert_eq!(
            run(&["-w", "250", "-c", "400"]),
            (
                "PROCS OK: 9 processes | procs=9;250;400;0\n".into(),
                State::Ok
            )
        );
        assert_eq!(run(&[]).0, "PROCS OK: 9 processes | procs=9;;;0\n");
    }

    #[test]
    fn command_name_singular_and_plural() {
        assert_eq!(
            run(&["-C", "sshd", "-c", "1:"]),
            (
                "PROCS OK: 2 processes with command name 'sshd' | procs=2;;1:;0\n".into(),
                State::Ok
            )
        );
        assert_eq!(
            run(&["-C", "systemd", "-c", "1:1"]),
            (
                "PROCS OK: 1 process with command name 'systemd' | procs=1;;1:1;0\n".into(),
                State::Ok
            )
        );
        assert_eq!(
            run(&["-C", "nosuchproc", "-c", "1:"]),
            (
                "PROCS CRITICAL: 0 processes with command name 'nosuchproc' | procs=0;;1:;0\n"
                    .into(),
                State::Critical
            )
        );
    }

    #[test]
    fn states_zombies_and_uninterruptible() {
        assert_eq!(
            run(&["-s", "Z", "-w", "0"]),
            (
                "PROCS WARNING: 1 process with STATE = Z | procs=1;0;;0\n".into(),
                State::Warning
            )
        );
        assert_eq!(run(&["--status", "DZ", "-c", "0"]).1, State::Critical);
    }

    #[test]
    fn args_user_and_combined_filters_in_given_order() {
        assert_eq!(
            run(&["-a", "-jar", "-u", "admin", "-w", "1"]),
            (
                "PROCS WARNING: 2 processes with args '-jar', UID = 1000 (admin) | procs=2;1;;0\n"
                    .into(),
                State::Warning
            )
        );
        assert_eq!(
            run(&["-u", "admin", "--ereg-argument-array", "medium|big"]).0,
            "PROCS OK: 2 processes with UID = 1000 (admin), regex args 'medium,big' | procs=2;;;0\n"
        );
        assert_eq!(
            run(&["-p", "100"]).0,
            "PROCS OK: 1 process with PPID = 100 | procs=1;;;0\n"
        );
        assert_eq!(
            run(&["-k", "-X", "sshd,java"]).0,
            "PROCS OK: 3 processes with exclude progs 'sshd,java' | procs=3;;;0\n"
        );
        assert_eq!(
            run(&["--orphaned", "--older-than", "100"]).0,
            "PROCS OK: 3 processes with orphaned (PPID = 1), ELAPSED >= 100 | procs=3;;;0\n"
        );
        assert_eq!(
            run(&["-r", "600000", "-z", "10240", "-P", "10"]).0,
            "PROCS OK: 1 process with RSS >= 600000, VSZ >= 10240, PCPU >= 10.00 | procs=1;;;0\n"
        );
    }

    #[test]
    fn rss_metric_counts_warn_and_crit() {
        assert_eq!(
            run(&["--metric=RSS", "-w", "500000", "-c", "1000000"]),
            (
                "RSS CRITICAL: 1 crit, 1 warn out of 9 processes | procs=9;;;0 procs_warn=1;;;0 procs_crit=1;;;0\n"
                    .into(),
                State::Critical
            )
        );
        assert_eq!(
            run(&["-m", "RSS", "-w", "700000", "-c", "2000000", "-C", "java"]),
            (
                "RSS WARNING: 1 warn out of 2 processes with command name 'java' | procs=2;;;0 procs_warn=1;;;0 procs_crit=0;;;0\n"
                    .into(),
                State::Warning
            )
        );
        assert_eq!(
            run(&["-m", "vsz", "-w", "50000"]).0,
            "VSZ OK: 9 processes | procs=9;;;0 procs_warn=0;;;0 procs_crit=0;;;0\n"
        );
    }

    #[test]
    fn cpu_and_elapsed_metrics() {
        assert_eq!(
            run(&["-m", "CPU", "-w", "10", "-c", "90"]).1,
            State::Warning
        );
        assert_eq!(
            run(&["-m", "ELAPSED", "-C", "sshd", "-w", "60"]).0,
            "ELAPSED WARNING: 1 warn out of 2 processes with command name 'sshd' | procs=2;;;0 procs_warn=1;;;0 procs_crit=0;;;0\n"
        );
    }

    #[test]
    fn verbose_lists_matching_processes() {
        assert_eq!(
            run(&["-C", "sshd", "-v"]).0,
            "PROCS OK: 2 processes with command name 'sshd' | procs=2;;;0\n    \
             PID S     ELAPSED COMMAND\n    \
             100 S    02:13:20 sshd: /usr/sbin/sshd -D\n    \
             101 S       00:30 sshd: admin [priv]\n"
        );
        assert_eq!(
            run(&["-m", "RSS", "-C", "java", "-w", "700000", "-v"]).0,
            "RSS WARNING: 1 warn out of 2 processes with command name 'java' [java] | procs=2;;;0 procs_warn=1;;;0 procs_crit=0;;;0\n    \
             PID S     ELAPSED        RSS STATE    COMMAND\n    \
             300 S    02:00:00    1200000 WARNING  /usr/bin/java -jar big.jar\n    \
             301 S       01:00     600000 OK       /usr/bin/java -jar medium.jar\n"
        );
        // Nothing matching: no table.
        assert_eq!(
            run(&["-C", "x", "-v"]).0,
            "PROCS OK: 0 processes with command name 'x' | procs=0;;;0\n"
        );
    }

    #[test]
    fn etime_like_ps() {
        assert_eq!(etime(0), "00:00");
        assert_eq!(etime(59), "00:59");
        assert_eq!(etime(3599), "59:59");
        assert_eq!(etime(3600), "01:00:00");
        assert_eq!(etime(86_399), "23:59:59");
        assert_eq!(etime(90_061), "1-01:01:01");
    }

    #[test]
    fn options_and_errors() {
        // Repeated options: the last one counts, as with C's getopt.
        let a = args(&[
            "--metric",
            "cpu",
            "-s",
            "Z",
            "-T",
            "--traditional-filter",
            "-w",
            "1",
            "-w",
            "2",
            "-vv",
        ]);
        assert_eq!(a.metric, Metric::Cpu);
        assert_eq!(a.thresholds.warning.unwrap().end, 2.0);
        assert_eq!(a.common.verbosity(), 2);
        assert!(Args::try_parse_from(["x", "-m", "FOO"]).is_err());
        assert!(Args::try_parse_from(["x", "-w", "2:1"]).is_err());
        assert!(Args::try_parse_from(["x", "-p", "abc"]).is_err());
        assert!(Args::try_parse_from(["x", "-P", "-1"]).is_err());
        assert!(Args::try_parse_from(["x", "-s", ""]).is_err());
        assert_eq!(
            args(&["-C", "a", "-s", "Z", "-u", "x"]).filters.order,
            vec!["command", "state", "user"]
        );
        let err = validate(&args(&["-u", "no-such-user-rsplugins"])).unwrap_err();
        assert_eq!(err.state, State::Unknown);
        assert!(validate(&args(&["--ereg-argument-array", "("])).is_err());
    }

    #[test]
    fn service_follows_the_metric() {
        assert_eq!(args(&[]).service(), Some("PROCS"));
        assert_eq!(args(&["-m", "RSS"]).service(), Some("RSS"));
        assert_eq!(args(&["--metric=elapsed"]).service(), Some("ELAPSED"));
    }

    #[test]
    fn the_command_definition_is_consistent() {
        command().debug_assert();
    }
}
