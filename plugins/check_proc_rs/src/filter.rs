//! Which processes a run looks at: the filter options as given, and the same
//! resolved once (user looked up, regex compiled, description built).

use clap::parser::ValueSource;
use clap::{ArgMatches, Command, FromArgMatches};
use nix::unistd::{Uid, User};
use regex::Regex;
use rsplugins::procfs::{Process, PS_STAT_LETTERS};
use rsplugins::CheckError;

/// The filter options of the command line. Filters combine with AND.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Only processes with one or more of these ps STAT letters: R S D T t Z X
    /// I P W (state), < N (nice below/above 0), L (locked pages), s (session
    /// leader), l (multi-threaded), + (foreground process group); e.g. Z, RSD
    #[arg(
        short = 's',
        long = "state",
        visible_alias = "status",
        value_name = "STATUSFLAGS",
        value_parser = parse_states
    )]
    pub state: Option<String>,

    /// Only children of the process with this id
    #[arg(short = 'p', long = "ppid", value_name = "PPID")]
    pub ppid: Option<u32>,

    /// Only processes with a virtual size of at least VSZ kB
    #[arg(short = 'z', long = "vsz", value_name = "VSZ")]
    pub vsz: Option<u64>,

    /// Only processes with a resident size of at least RSS kB
    #[arg(short = 'r', long = "rss", value_name = "RSS")]
    pub rss: Option<u64>,

    /// Only processes using at least PCPU percent CPU (CPU time over their lifetime, as ps)
    #[arg(short = 'P', long = "pcpu", value_name = "PCPU", value_parser = parse_pcpu)]
    pub pcpu: Option<f64>,

    /// Only processes of this user (name or numeric id)
    #[arg(short = 'u', long = "user", value_name = "USER")]
    pub user: Option<String>,

    /// Only processes whose command line contains STRING
    #[arg(
        short = 'a',
        long = "argument-array",
        value_name = "STRING",
        allow_hyphen_values = true
    )]
    pub argument_array: Option<String>,

    /// Only processes whose command line matches the regular expression REGEX
    #[arg(
        long = "ereg-argument-array",
        value_name = "REGEX",
        allow_hyphen_values = true
    )]
    pub ereg_argument_array: Option<String>,

    /// Only processes named exactly COMMAND (without path; names longer than
    /// the kernel's 15 characters match too)
    #[arg(short = 'C', long = "command", value_name = "COMMAND")]
    pub command: Option<String>,

    /// Leave out processes with these names (comma-separated)
    #[arg(short = 'X', long = "exclude-process", value_name = "NAME,...")]
    pub exclude_process: Option<String>,

    /// Leave out kernel threads
    #[arg(short = 'k', long = "no-kthreads")]
    pub no_kthreads: bool,

    /// Only processes running for at least SECONDS
    #[arg(long = "older-than", value_name = "SECONDS")]
    pub older_than: Option<u64>,

    /// Only orphaned processes: adopted by init (parent id 1), kernel threads left out
    #[arg(long = "orphaned")]
    pub orphaned: bool,
}

fn parse_states(text: &str) -> Result<String, String> {
    let letters = text.trim();
    if letters.is_empty() {
        return Err("no state letters given (use e.g. Z, D, R, RSD)".to_string());
    }
    // A letter ps never shows would silently match nothing.
    if let Some(bad) = letters.chars().find(|c| !PS_STAT_LETTERS.contains(*c)) {
        return Err(format!(
            "'{bad}' is not a ps state letter (use {})",
            PS_STAT_LETTERS
                .chars()
                .map(String::from)
                .collect::<Vec<_>>()
                .join(" ")
        ));
    }
    Ok(letters.to_string())
}

fn parse_pcpu(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("'{text}' is not a CPU percentage")),
    }
}

/// Ids of the filter options, for their command-line order.
const FILTER_IDS: [&str; 13] = [
    "state",
    "ppid",
    "vsz",
    "rss",
    "pcpu",
    "user",
    "argument_array",
    "ereg_argument_array",
    "command",
    "exclude_process",
    "no_kthreads",
    "older_than",
    "orphaned",
];

/// [`FilterArgs`] plus the order the filters were given in: C check_procs
/// describes them in that order (`with args 'x', UID = 0 (root)`).
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// The options.
    pub args: FilterArgs,
    /// Ids of the filters given on the command line, in their order.
    pub order: Vec<&'static str>,
}

fn order_of(matches: &ArgMatches) -> Vec<&'static str> {
    let mut given: Vec<(usize, &'static str)> = FILTER_IDS
        .iter()
        .filter(|id| matches.value_source(id) == Some(ValueSource::CommandLine))
        .filter_map(|id| matches.index_of(id).map(|i| (i, *id)))
        .collect();
    given.sort_unstable();
    given.into_iter().map(|(_, id)| id).collect()
}

impl FromArgMatches for Filters {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        Ok(Filters {
            args: FilterArgs::from_arg_matches(matches)?,
            order: order_of(matches),
        })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.args.update_from_arg_matches(matches)?;
        self.order = order_of(matches);
        Ok(())
    }
}

impl clap::Args for Filters {
    fn augment_args(cmd: Command) -> Command {
        <FilterArgs as clap::Args>::augment_args(cmd)
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        <FilterArgs as clap::Args>::augment_args_for_update(cmd)
    }
}

/// What the system says about a `-u` value: the uid and, when known, the name.
pub type UserEntry = (u32, Option<String>);

/// Resolves a user name or numeric id through the system's user database.
///
/// A numeric id without an entry is accepted (containers often run such
/// ids); an unknown name is an error.
pub fn lookup_user(text: &str) -> Result<UserEntry, CheckError> {
    if let Ok(uid) = text.parse::<u32>() {
        let name = User::from_uid(Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(|u| u.name);
        return Ok((uid, name));
    }
    match User::from_name(text) {
        Ok(Some(user)) => Ok((user.uid.as_raw(), Some(user.name))),
        Ok(None) => Err(CheckError::unknown(format!("user '{text}' was not found"))),
        Err(e) => Err(CheckError::unknown(format!(
            "cannot look up user '{text}': {e}"
        ))),
    }
}

/// The system values a filter or metric derives from /proc/PID/stat.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sys {
    /// Seconds since boot.
    pub uptime: f64,
    /// Clock ticks per second.
    pub ticks_per_second: f64,
    /// Page size in bytes.
    pub page_size: u64,
}

impl Sys {
    /// Virtual size in kB, as ps shows VSZ.
    pub fn vsz_kb(&self, p: &Process) -> u64 {
        p.vsize / 1024
    }

    /// Resident size in kB, as ps shows RSS.
    pub fn rss_kb(&self, p: &Process) -> u64 {
        p.rss_pages.saturating_mul(self.page_size) / 1024
    }

    /// CPU percent, as ps shows %CPU (CPU time over the process's lifetime).
    pub fn cpu(&self, p: &Process) -> f64 {
        p.cpu_percent(self.uptime, self.ticks_per_second)
    }

    /// Whole seconds since the process started.
    pub fn elapsed(&self, p: &Process) -> u64 {
        p.elapsed_seconds(self.uptime, self.ticks_per_second)
            .floor() as u64
    }
}

/// The filters, resolved and ready to test processes with.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// ps STAT letters (`-s`), any of which selects a process.
    pub states: Option<String>,
    /// Parent id (`-p`).
    pub ppid: Option<u32>,
    /// Minimum VSZ in kB (`-z`).
    pub vsz_kb: Option<u64>,
    /// Minimum RSS in kB (`-r`).
    pub rss_kb: Option<u64>,
    /// Minimum CPU percent (`-P`).
    pub pcpu: Option<f64>,
    /// Effective user id (`-u`), as `ps -u` and C check_procs select.
    pub uid: Option<u32>,
    /// Substring of the command line (`-a`).
    pub args: Option<String>,
    /// Regular expression on the command line (`--ereg-argument-array`).
    pub regex: Option<Regex>,
    /// Exact program name (`-C`).
    pub command: Option<String>,
    /// Program names left out (`-X`).
    pub exclude: Vec<String>,
    /// Leave out kernel threads (`-k`).
    pub no_kthreads: bool,
    /// Minimum age in seconds (`--older-than`).
    pub older_than: Option<u64>,
    /// Only orphans (`--orphaned`).
    pub orphaned: bool,
    /// The C-style description: `command name 'sshd', UID = 0 (root)`.
    pub description: String,
}

/// The regex error's own reason, on one line.
fn regex_reason(e: &regex::Error) -> String {
    let text = e.to_string();
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid")
        .trim()
        .trim_start_matches("error: ")
        .to_string()
}

/// Whether comm may be the kernel's 15-character cut of `name`.
fn may_be_cut_of(comm: &str, name: &str) -> bool {
    comm.len() >= 15 && name.len() > comm.len() && name.starts_with(comm)
}

impl Filter {
    /// Resolves the options: looks the user up with `lookup`, compiles the
    /// regex, builds the description in command-line order.
    pub fn resolve(
        filters: &Filters,
        lookup: impl Fn(&str) -> Result<UserEntry, CheckError>,
    ) -> Result<Filter, CheckError> {
        let a = &filters.args;
        let user = a.user.as_deref().map(lookup).transpose()?;
        let regex = match &a.ereg_argument_array {
            Some(text) => Some(Regex::new(text).map_err(|e| {
                CheckError::unknown(format!(
                    "could not compile regular expression '{text}': {}",
                    regex_reason(&e)
                ))
            })?),
            None => None,
        };
        let exclude: Vec<String> = a
            .exclude_process
            .iter()
            .flat_map(|list| list.split(','))
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string)
            .collect();

        let mut parts: Vec<String> = Vec::new();
        for id in &filters.order {
            let part = match *id {
                "state" => a.state.as_ref().map(|s| format!("STATE = {s}")),
                "ppid" => a.ppid.map(|p| format!("PPID = {p}")),
                "vsz" => a.vsz.map(|v| format!("VSZ >= {v}")),
                "rss" => a.rss.map(|v| format!("RSS >= {v}")),
                "pcpu" => a.pcpu.map(|v| format!("PCPU >= {v:.2}")),
                "user" => user.as_ref().map(|(uid, name)| match name {
                    Some(name) => format!("UID = {uid} ({name})"),
                    None => format!("UID = {uid}"),
                }),
                "argument_array" => a.argument_array.as_ref().map(|s| format!("args '{s}'")),
                // C swaps `|` for `,`: engines cut the output at `|`.
                "ereg_argument_array" => a
                    .ereg_argument_array
                    .as_ref()
                    .map(|s| format!("regex args '{}'", s.replace('|', ","))),
                "command" => a.command.as_ref().map(|s| format!("command name '{s}'")),
                "exclude_process" => a
                    .exclude_process
                    .as_ref()
                    .map(|s| format!("exclude progs '{s}'")),
                "older_than" => a.older_than.map(|s| format!("ELAPSED >= {s}")),
                "orphaned" => a.orphaned.then(|| "orphaned (PPID = 1)".to_string()),
                // -k is not described, as in C.
                _ => None,
            };
            parts.extend(part);
        }

        Ok(Filter {
            states: a.state.clone(),
            ppid: a.ppid,
            vsz_kb: a.vsz,
            rss_kb: a.rss,
            pcpu: a.pcpu,
            uid: user.map(|(uid, _)| uid),
            args: a.argument_array.clone(),
            regex,
            command: a.command.clone(),
            exclude,
            no_kthreads: a.no_kthreads,
            older_than: a.older_than,
            orphaned: a.orphaned,
            description: parts.join(", "),
        })
    }

    /// The tests that need only /proc/PID/stat (and status, when
    /// [`Filter::needs_status`]). A process failing them fails the filter; one
    /// passing them may still fail on its command line ([`Filter::matches_cmdline`]).
    pub fn matches_stat(&self, p: &Process, sys: &Sys) -> bool {
        self.matches_stat_fields(p, sys) && self.matches_status(p)
    }

    /// The tests on what status gives: the effective uid, and the STAT
    /// letters (`L` needs the locked memory).
    pub fn matches_status(&self, p: &Process) -> bool {
        if let Some(states) = &self.states {
            // Any of the letters, as C documents ("one or more of the status flags").
            let stat = p.ps_stat();
            if !states.chars().any(|c| stat.contains(c)) {
                return false;
            }
        }
        self.uid.is_none_or(|uid| p.uid == uid)
    }

    /// The tests on /proc/PID/stat alone: the scan reads status only for
    /// processes that pass them.
    pub fn matches_stat_fields(&self, p: &Process, sys: &Sys) -> bool {
        if self.ppid.is_some_and(|ppid| p.ppid != ppid) {
            return false;
        }
        if (self.no_kthreads || self.orphaned) && p.is_kernel_thread() {
            return false;
        }
        if self.orphaned && p.ppid != 1 {
            return false;
        }
        if let Some(command) = &self.command {
            if p.comm != *command && !may_be_cut_of(&p.comm, command) {
                return false;
            }
        }
        if self.exclude.contains(&p.comm) {
            return false;
        }
        if self.vsz_kb.is_some_and(|v| sys.vsz_kb(p) < v) {
            return false;
        }
        if self.rss_kb.is_some_and(|v| sys.rss_kb(p) < v) {
            return false;
        }
        if self.older_than.is_some_and(|s| sys.elapsed(p) < s) {
            return false;
        }
        if self.pcpu.is_some_and(|v| sys.cpu(p) < v) {
            return false;
        }
        true
    }

    /// Whether the filters need /proc/PID/status: the effective uid, or the
    /// locked memory behind the STAT letter `L`.
    pub fn needs_status(&self) -> bool {
        self.uid.is_some() || self.states.as_ref().is_some_and(|s| s.contains('L'))
    }

    /// Whether deciding on `p` (which passed [`Filter::matches_stat`]) needs its command line.
    pub fn needs_cmdline(&self, p: &Process) -> bool {
        self.args.is_some()
            || self.regex.is_some()
            || self
                .command
                .as_ref()
                .is_some_and(|c| p.comm != *c && may_be_cut_of(&p.comm, c))
            || self.exclude.iter().any(|e| may_be_cut_of(&p.comm, e))
    }

    /// Whether the only filters are on the arguments (`-a`, `--ereg-argument-array`):
    /// then the command line alone decides, and only matching processes need their stat.
    pub fn on_arguments_only(&self) -> bool {
        (self.args.is_some() || self.regex.is_some())
            && self.states.is_none()
            && self.ppid.is_none()
            && self.vsz_kb.is_none()
            && self.rss_kb.is_none()
            && self.pcpu.is_none()
            && self.uid.is_none()
            && self.command.is_none()
            && self.exclude.is_empty()
            && !self.no_kthreads
            && self.older_than.is_none()
            && !self.orphaned
    }

    /// The `-a` and `--ereg-argument-array` tests on the arguments as ps shows them.
    pub fn matches_arguments(&self, args: &str) -> bool {
        self.args.as_ref().is_none_or(|s| args.contains(s.as_str()))
            && self.regex.as_ref().is_none_or(|re| re.is_match(args))
    }

    /// The tests on the command line and the full program name.
    pub fn matches_cmdline(&self, p: &Process) -> bool {
        let needs_args = self.args.is_some() || self.regex.is_some();
        if needs_args && !self.matches_arguments(&p.args()) {
            return false;
        }
        if let Some(command) = &self.command {
            if p.comm != *command && p.name() != *command {
                return false;
            }
        }
        if !self.exclude.is_empty() && self.exclude.contains(&p.name()) {
            return false;
        }
        true
    }

    /// Whether `p` passes every filter.
    pub fn matches(&self, p: &Process, sys: &Sys) -> bool {
        self.matches_stat(p, sys) && self.matches_cmdline(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proc_(pid: u32, comm: &str, state: char, cmdline: &[&str]) -> Process {
        Process {
            pid,
            ppid: 1,
            comm: comm.to_string(),
            state,
            uid: 1000,
            flags: 0,
            cpu_ticks: 0,
            start_ticks: 0,
            vsize: 0,
            rss_pages: 0,
            threads: 1,
            cmdline: cmdline.iter().map(|s| s.to_string()).collect(),
            pgrp: pid,
            session: 1,
            tpgid: -1,
            nice: 0,
            locked_kb: 0,
        }
    }

    const SYS: Sys = Sys {
        uptime: 1000.0,
        ticks_per_second: 100.0,
        page_size: 4096,
    };

    fn filter(build: impl FnOnce(&mut FilterArgs)) -> Filter {
        let mut args = FilterArgs::default();
        build(&mut args);
        let filters = Filters {
            args,
            order: FILTER_IDS.to_vec(),
        };
        Filter::resolve(&filters, |u| Ok((42, Some(format!("{u}-name"))))).unwrap()
    }

    #[test]
    fn no_filter_matches_everything() {
        let f = filter(|_| {});
        assert!(f.matches(&proc_(5, "x", 'Z', &[]), &SYS));
        assert_eq!(f.description, "");
    }

    #[test]
    fn state_letters_are_a_set() {
        let f = filter(|a| a.state = Some("DZ".into()));
        assert!(f.matches(&proc_(5, "x", 'Z', &[]), &SYS));
        assert!(f.matches(&proc_(5, "x", 'D', &[]), &SYS));
        assert!(!f.matches(&proc_(5, "x", 'S', &[]), &SYS));
        assert_eq!(f.description, "STATE = DZ");
    }

    #[test]
    fn ps_stat_modifiers_select_too() {
        let mut leader = proc_(1, "sshd", 'S', &[]);
        leader.session = 1;
        let mut niced = proc_(2, "ksmd", 'S', &[]);
        niced.nice = 5;
        let mut fg = proc_(3, "vim", 'S', &[]);
        (fg.pgrp, fg.tpgid, fg.threads) = (3, 3, 4);
        let mut locked = proc_(4, "rt", 'R', &[]);
        (locked.nice, locked.locked_kb) = (-10, 128);
        let all = [leader, niced, fg, locked];
        let selected = |letters: &str| -> Vec<u32> {
            let f = filter(|a| a.state = Some(parse_states(letters).unwrap()));
            all.iter()
                .filter(|p| f.matches(p, &SYS))
                .map(|p| p.pid)
                .collect()
        };
        assert_eq!(selected("s"), [1]);
        assert_eq!(selected("N"), [2]);
        assert_eq!(selected("+"), [3]);
        assert_eq!(selected("l"), [3]);
        assert_eq!(selected("<"), [4]);
        assert_eq!(selected("L"), [4]);
        assert_eq!(selected("R"), [4]);
        assert_eq!(selected("Ns"), [1, 2]);
        assert_eq!(selected(" S "), [1, 2, 3]);
        assert!(selected("Z").is_empty());
        assert!(filter(|a| a.state = Some("SL".into())).needs_status());
        assert!(!filter(|a| a.state = Some("Ss".into())).needs_status());
    }

    #[test]
    fn unknown_state_letters_are_refused() {
        for letters in PS_STAT_LETTERS.chars() {
            assert!(parse_states(&letters.to_string()).is_ok(), "{letters}");
        }
        let err = parse_states("Sq").unwrap_err();
        assert_eq!(
            err,
            "'q' is not a ps state letter (use R S D T t Z X I P W < N L s l +)"
        );
        assert!(parse_states("R S").is_err());
        assert!(parse_states("  ").is_err());
    }

    #[test]
    fn long_command_names_come_from_the_command_line() {
        let f = filter(|a| a.command = Some("systemd-journald".into()));
        let mut p = proc_(7, "systemd-journal", 'S', &[]);
        assert!(f.matches_stat(&p, &SYS));
        assert!(f.needs_cmdline(&p));
        // Without its command line the cut name alone does not decide.
        assert!(!f.matches_cmdline(&p));
        p.cmdline = vec!["/lib/systemd/systemd-journald".into()];
        assert!(f.matches(&p, &SYS));
        // The kernel's cut name is accepted too (C check_procs compares with it).
        let f = filter(|a| a.command = Some("systemd-journal".into()));
        assert!(f.matches(&p, &SYS));
        assert!(!f.needs_cmdline(&p));
        // Short names never need the command line.
        let f = filter(|a| a.command = Some("sshd".into()));
        let q = proc_(8, "sshd", 'S', &[]);
        assert!(!f.needs_cmdline(&q));
        assert!(f.matches(&q, &SYS));
        assert!(!f.matches_stat(&proc_(9, "bash", 'S', &[]), &SYS));
    }

    #[test]
    fn args_substring_and_regex() {
        let p = proc_(
            3,
            "python3",
            'S',
            &["/usr/bin/python3", "/opt/app.py", "--port=8080"],
        );
        let f = filter(|a| a.argument_array = Some("app.py --port".into()));
        assert!(f.matches(&p, &SYS));
        let f = filter(|a| a.argument_array = Some("other".into()));
        assert!(!f.matches(&p, &SYS));
        let f = filter(|a| a.ereg_argument_array = Some("port=80[0-9]0$".into()));
        assert!(f.matches(&p, &SYS));
        let f = filter(|a| a.ereg_argument_array = Some("^/opt".into()));
        assert!(!f.matches(&p, &SYS));
        // Kernel threads show as [comm], as ps prints them.
        let f = filter(|a| a.argument_array = Some("[kworker".into()));
        assert!(f.matches(&proc_(4, "kworker/0:1", 'I', &[]), &SYS));
    }

    #[test]
    fn bad_regex_is_unknown_on_one_line() {
        let filters = Filters {
            args: FilterArgs {
                ereg_argument_array: Some("a(b".into()),
                ..FilterArgs::default()
            },
            order: vec!["ereg_argument_array"],
        };
        let err = Filter::resolve(&filters, lookup_user).unwrap_err();
        assert_eq!(err.state, rsplugins::State::Unknown);
        assert!(
            err.message
                .starts_with("could not compile regular expression 'a(b': "),
            "{}",
            err.message
        );
        assert!(!err.message.contains('\n'));
    }

    #[test]
    fn exclusions_by_comm_and_full_name() {
        let f = filter(|a| a.exclude_process = Some("bash, systemd-journald".into()));
        assert_eq!(f.exclude, vec!["bash", "systemd-journald"]);
        assert!(!f.matches(&proc_(1, "bash", 'S', &[]), &SYS));
        assert!(f.matches(&proc_(1, "zsh", 'S', &[]), &SYS));
        let p = proc_(
            2,
            "systemd-journal",
            'S',
            &["/lib/systemd/systemd-journald"],
        );
        assert!(f.needs_cmdline(&p));
        assert!(!f.matches(&p, &SYS));
    }

    #[test]
    fn sizes_cpu_age_and_relatives() {
        let mut p = proc_(10, "big", 'R', &[]);
        p.vsize = 2048 * 1024;
        p.rss_pages = 256; // 1024 kB
        p.start_ticks = 50_000; // started at 500 s: 500 s old
        p.cpu_ticks = 25_000; // 250 s of CPU: 50 %
        p.ppid = 77;
        assert_eq!(SYS.vsz_kb(&p), 2048);
        assert_eq!(SYS.rss_kb(&p), 1024);
        assert_eq!(SYS.elapsed(&p), 500);
        assert!((SYS.cpu(&p) - 50.0).abs() < 1e-9);
        assert!(filter(|a| a.vsz = Some(2048)).matches(&p, &SYS));
        assert!(!filter(|a| a.vsz = Some(2049)).matches(&p, &SYS));
        assert!(filter(|a| a.rss = Some(1024)).matches(&p, &SYS));
        assert!(!filter(|a| a.rss = Some(1025)).matches(&p, &SYS));
        assert!(filter(|a| a.pcpu = Some(50.0)).matches(&p, &SYS));
        assert!(!filter(|a| a.pcpu = Some(50.5)).matches(&p, &SYS));
        assert!(filter(|a| a.older_than = Some(500)).matches(&p, &SYS));
        assert!(!filter(|a| a.older_than = Some(501)).matches(&p, &SYS));
        assert!(filter(|a| a.ppid = Some(77)).matches(&p, &SYS));
        assert!(!filter(|a| a.ppid = Some(1)).matches(&p, &SYS));
        assert!(!filter(|a| a.orphaned = true).matches(&p, &SYS));
        p.ppid = 1;
        assert!(filter(|a| a.orphaned = true).matches(&p, &SYS));
        assert!(!filter(|a| a.user = Some("x".into())).matches(&proc_(1, "a", 'S', &[]), &SYS));
        let mut mine = proc_(1, "a", 'S', &[]);
        mine.uid = 42;
        assert!(filter(|a| a.user = Some("x".into())).matches(&mine, &SYS));
    }

    #[test]
    fn kernel_threads() {
        let mut k = proc_(20, "kworker/0:1", 'I', &[]);
        k.ppid = 2;
        assert!(filter(|_| {}).matches(&k, &SYS));
        assert!(!filter(|a| a.no_kthreads = true).matches(&k, &SYS));
        k.ppid = 1;
        k.flags = 0x0020_0000;
        assert!(!filter(|a| a.orphaned = true).matches(&k, &SYS));
    }

    #[test]
    fn description_follows_the_given_order() {
        let filters = Filters {
            args: FilterArgs {
                state: Some("Z".into()),
                ppid: Some(1),
                vsz: Some(10),
                rss: Some(20),
                pcpu: Some(1.5),
                user: Some("mysql".into()),
                argument_array: Some("x".into()),
                ereg_argument_array: Some("a|b".into()),
                command: Some("sshd".into()),
                exclude_process: Some("a,b".into()),
                no_kthreads: true,
                older_than: Some(60),
                orphaned: true,
            },
            order: vec![
                "command",
                "user",
                "state",
                "ppid",
                "vsz",
                "rss",
                "pcpu",
                "argument_array",
                "ereg_argument_array",
                "exclude_process",
                "no_kthreads",
                "older_than",
                "orphaned",
            ],
        };
        let f = Filter::resolve(&filters, |_| Ok((108, Some("mysql".into())))).unwrap();
        assert_eq!(
            f.description,
            "command name 'sshd', UID = 108 (mysql), STATE = Z, PPID = 1, VSZ >= 10, RSS >= 20, \
             PCPU >= 1.50, args 'x', regex args 'a,b', exclude progs 'a,b', ELAPSED >= 60, \
             orphaned (PPID = 1)"
        );
        let f = Filter::resolve(&filters, |_| Ok((4321, None))).unwrap();
        assert!(f.description.contains("UID = 4321, "));
    }

    #[test]
    fn users() {
        assert_eq!(lookup_user("0").unwrap(), (0, Some("root".to_string())));
        assert_eq!(lookup_user("root").unwrap().0, 0);
        // An id without an entry is kept; an unknown name is an error.
        assert_eq!(lookup_user("3999999").unwrap(), (3_999_999, None));
        let err = lookup_user("no-such-user-rsplugins").unwrap_err();
        assert_eq!(err.message, "user 'no-such-user-rsplugins' was not found");
    }
}
