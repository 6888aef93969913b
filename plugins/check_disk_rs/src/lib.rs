//! check_disk_rs: free space and inodes of mounted file systems, compatible
//! with C check_disk.
//!
//! Mounts come from /proc/self/mountinfo; each statvfs (and each lookup of a
//! `-p` path) runs on a worker thread with a deadline inside the `-t`
//! budget, a fresh worker taking the rest when a call stalls, so a hanging
//! network mount is reported CRITICAL instead of hanging the check.

pub mod evaluate;
pub mod limits;
pub mod mounts;
pub mod select;
pub mod stat;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use clap::{ArgAction, Parser};
use regex::{Regex, RegexBuilder};
use rsplugins::options::CommonArgs;
use rsplugins::{CheckError, CheckResult};

pub use evaluate::evaluate;
use limits::{InodePercent, LevelLimit, Limits, Unit};
use mounts::{parse_mountinfo, Mount};
use rsplugins::number::format_number;
use select::{Filters, Pattern, Selection};
use stat::SystemFs;

/// Service name on the first output line.
pub const SERVICE: &str = "DISK";

/// Check free disk space and inodes.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_disk_rs",
    version,
    about = "Check free space and inodes of mounted file systems (drop-in for check_disk)",
    args_override_self = true,
    after_help = "Thresholds are on FREE space: -w 20% warns when 20% or less of the space \
                  usable without root's reserve is free, -w 100 when 100 units (-u) or less are \
                  free, as in C; a percentage and an amount may both be given (either alerts). \
                  Perfdata is the used space in bytes with warning and critical levels as used \
                  bytes, so graphs cross the levels exactly when the alert fires.\n\n\
                  Thresholds given between paths make them per path, as in C: each -p, -r, -R \
                  and -A takes the thresholds given before it, so '-w 10% -c 5% -p / -w 20% \
                  -c 10% -p /var' checks / and /var with different limits (a mount selected \
                  twice takes those of its last selection); thresholds after the last one are \
                  then refused. Otherwise all thresholds apply to all paths, wherever they \
                  stand. A later -w or -c of the same kind (percentage or amount) replaces the \
                  earlier one.\n\n\
                  Without -p, -r, -R or -A all mounts are checked except pseudo file systems \
                  (tmpfs, devtmpfs, proc, sysfs, cgroup, overlay, squashfs, ...; the root is \
                  always kept); name one with -p, match it with -r/-R/-A (as in C, -A and \
                  -r '.*' include them) or include its type with -N. A -p path that is not a \
                  mount point stands for the mount holding it. Mounts of the same device are \
                  checked once.\n\n\
                  A file system that does not answer before the time-out (-t, less a margin) is \
                  CRITICAL 'not responding'; the others are still reported.\n\n\
                  Not supported (exit UNKNOWN): -g/--group, -C/--clear and the positional form \
                  'check_disk WARN CRIT PATH'."
)]
pub struct Args {
    /// The order of the options that apply to what follows them. Must stay
    /// the first field: the derived parser takes the other fields' values
    /// out of the matches, and their positions with them.
    #[command(flatten)]
    pub order: Order,

    /// WARNING when free space is at or below an amount in units (-u; or with a suffix K, M, G,
    /// T) or a percentage, e.g. 100, 5G or 20%; applies to the paths that follow
    // Hyphen values reach the value's own check (`-w -5%`: "invalid -w '-5%'").
    #[arg(
        short = 'w',
        long = "warning",
        value_name = "LIMIT",
        allow_hyphen_values = true
    )]
    pub warning: Vec<String>,

    /// CRITICAL when free space is at or below an amount in units (-u) or a percentage
    #[arg(
        short = 'c',
        long = "critical",
        value_name = "LIMIT",
        allow_hyphen_values = true
    )]
    pub critical: Vec<String>,

    /// WARNING when free inodes are at or below this percentage
    #[arg(
        short = 'W',
        long = "iwarning",
        value_name = "PERCENT%",
        allow_hyphen_values = true
    )]
    pub iwarning: Vec<InodePercent>,

    /// CRITICAL when free inodes are at or below this percentage
    #[arg(
        short = 'K',
        long = "icritical",
        value_name = "PERCENT%",
        allow_hyphen_values = true
    )]
    pub icritical: Vec<InodePercent>,

    /// Mount point, device, or a path inside a mount (may be repeated)
    #[arg(
        short = 'p',
        long = "path",
        visible_alias = "partition",
        value_name = "PATH"
    )]
    pub paths: Vec<String>,

    /// Skip this device or mount point (may be repeated)
    #[arg(
        short = 'x',
        long = "exclude-device",
        visible_alias = "exclude_device",
        value_name = "PATH"
    )]
    pub exclude_devices: Vec<String>,

    /// Skip file systems whose type matches this regular expression as a whole (may be repeated)
    #[arg(short = 'X', long = "exclude-type", value_name = "TYPE")]
    pub exclude_types: Vec<String>,

    /// Check only file systems whose type matches (whole name; may be repeated); includes pseudo types
    #[arg(short = 'N', long = "include-type", value_name = "TYPE")]
    pub include_types: Vec<String>,

    /// Only check local file systems (skip NFS, CIFS, sshfs, Ceph, GlusterFS, 9p, ...)
    #[arg(short = 'l', long = "local")]
    pub local: bool,

    /// Like -l, but still statvfs network file systems and report those that fail or hang
    #[arg(short = 'L', long = "stat-remote-fs")]
    pub stat_remote_fs: bool,

    /// Select all mounts, pseudo file systems included (the same as -R '.*', as in C)
    #[arg(short = 'A', long = "all")]
    pub all: bool,

    /// Select mounts whose mount point or device matches this regular expression, pseudo file
    /// systems included (may be repeated)
    #[arg(
        short = 'r',
        long = "ereg-path",
        visible_alias = "ereg-partition",
        value_name = "REGEX"
    )]
    pub ereg_path: Vec<String>,

    /// Like -r, ignoring case
    #[arg(
        short = 'R',
        long = "eregi-path",
        visible_alias = "eregi-partition",
        value_name = "REGEX"
    )]
    pub eregi_path: Vec<String>,

    /// Skip mounts whose mount point or device matches this regular expression (may be repeated)
    #[arg(
        short = 'i',
        long = "ignore-ereg-path",
        visible_alias = "ignore-ereg-partition",
        value_name = "REGEX"
    )]
    pub ignore_ereg_path: Vec<String>,

    /// Like -i, ignoring case
    #[arg(
        short = 'I',
        long = "ignore-eregi-path",
        visible_alias = "ignore-eregi-partition",
        value_name = "REGEX"
    )]
    pub ignore_eregi_path: Vec<String>,

    /// -p must name a mount point or device exactly
    #[arg(short = 'E', long = "exact-match")]
    pub exact_match: bool,

    /// List only file systems with problems (perfdata still covers all)
    #[arg(short = 'e', long = "errors-only")]
    pub errors_only: bool,

    /// The same as -e (C check_disk's -q)
    #[arg(short = 'q', long = "quiet", hide = true)]
    pub quiet: bool,

    /// Report the device instead of the mount point
    #[arg(short = 'M', long = "mountpoint")]
    pub mountpoint: bool,

    /// OK instead of an error when a -p path, -E name or -r/-R pattern finds nothing
    #[arg(short = 'n', long = "ignore-missing")]
    pub ignore_missing: bool,

    /// Leave root's reserved blocks out of the total in perfdata
    #[arg(short = 'f', long = "freespace-ignore-reserved")]
    pub freespace_ignore_reserved: bool,

    /// Add used inodes to the perfdata
    #[arg(short = 'P', long = "iperfdata")]
    pub iperfdata: bool,

    /// Unit of amounts: bytes, kB, MB (default), GB, TB; powers of 1024 as in C check_disk
    #[arg(short = 'u', long = "units", value_name = "UNIT")]
    pub units: Option<Unit>,

    /// The same as -u kB
    #[arg(short = 'k', long = "kilobytes")]
    pub kilobytes: bool,

    /// The same as -u MB
    #[arg(short = 'm', long = "megabytes")]
    pub megabytes: bool,

    /// The mount table to read (for tests on fixtures)
    #[arg(
        long = "mountinfo",
        value_name = "FILE",
        default_value = "/proc/self/mountinfo",
        hide = true
    )]
    pub mountinfo: PathBuf,

    /// Not supported: accepted to say so
    #[arg(short = 'g', long = "group", value_name = "NAME", hide = true)]
    pub group: Option<String>,

    /// Not supported: accepted to say so
    #[arg(short = 'C', long = "clear", action = ArgAction::Count, hide = true)]
    pub clear: u8,

    /// Not supported: the old positional form, accepted to say so
    #[arg(value_name = "ARGS", hide = true)]
    pub positional: Vec<String>,

    #[command(flatten)]
    pub common: CommonArgs,
}

rsplugins::plugin_entry!(Args, SERVICE, check);

/// An option whose meaning depends on where it stands on the command line.
#[derive(Debug, Clone, PartialEq)]
pub enum Ordered {
    /// `-w`.
    Warning(String),
    /// `-c`.
    Critical(String),
    /// `-W`.
    InodeWarning(f64),
    /// `-K`.
    InodeCritical(f64),
    /// `-p`.
    Path(String),
    /// `-r` (false) or `-R` (true).
    Pattern(String, bool),
    /// `-A`.
    All,
}

/// The thresholds and selections in command-line order (C applies the
/// thresholds in effect at each `-p`/`-r`/`-R`/`-A` to what it selects).
/// Filled from clap's value indices; defines no options of its own.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Order(pub Vec<Ordered>);

impl clap::FromArgMatches for Order {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut found: Vec<(usize, Ordered)> = Vec::new();
        let mut take = |id: &str, make: &dyn Fn(&clap::ArgMatches, usize) -> Option<Ordered>| {
            let indices = matches.indices_of(id).into_iter().flatten();
            for (n, index) in indices.enumerate() {
                if let Some(item) = make(matches, n) {
                    found.push((index, item));
                }
            }
        };
        // try_get_many: a missing or mistyped id is no value, never a panic.
        fn nth<T: Clone + Send + Sync + 'static>(
            m: &clap::ArgMatches,
            id: &str,
            n: usize,
        ) -> Option<T> {
            m.try_get_many::<T>(id).ok().flatten()?.nth(n).cloned()
        }
        take("warning", &|m, n| {
            nth::<String>(m, "warning", n).map(Ordered::Warning)
        });
        take("critical", &|m, n| {
            nth::<String>(m, "critical", n).map(Ordered::Critical)
        });
        take("iwarning", &|m, n| {
            nth::<InodePercent>(m, "iwarning", n).map(|p| Ordered::InodeWarning(p.0))
        });
        take("icritical", &|m, n| {
            nth::<InodePercent>(m, "icritical", n).map(|p| Ordered::InodeCritical(p.0))
        });
        take("paths", &|m, n| {
            nth::<String>(m, "paths", n).map(Ordered::Path)
        });
        take("ereg_path", &|m, n| {
            nth::<String>(m, "ereg_path", n).map(|t| Ordered::Pattern(t, false))
        });
        take("eregi_path", &|m, n| {
            nth::<String>(m, "eregi_path", n).map(|t| Ordered::Pattern(t, true))
        });
        take("all", &|m, _| {
            (m.try_get_one::<bool>("all").ok().flatten() == Some(&true)).then_some(Ordered::All)
        });
        found.sort_by_key(|(index, _)| *index);
        Ok(Order(found.into_iter().map(|(_, item)| item).collect()))
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for Order {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        cmd
    }
}

/// The options, checked and compiled.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Thresholds in effect after the last option, for the mounts checked
    /// without -p/-r/-R/-A; its unit is the unit of all.
    pub limits: Limits,
    /// Thresholds of each selection group; [`Selection`] refers to them by index.
    pub groups: Vec<Limits>,
    /// What to check.
    pub selection: Selection,
    /// -e / -q.
    pub errors_only: bool,
    /// -M.
    pub show_device: bool,
    /// -f.
    pub ignore_reserved: bool,
    /// -P.
    pub inode_perfdata: bool,
    /// -n.
    pub ignore_missing: bool,
    /// -v count.
    pub verbosity: u8,
}

impl Settings {
    /// The thresholds of a group (`None`: mounts checked without a selection).
    pub fn limits_for(&self, group: Option<usize>) -> &Limits {
        group
            .and_then(|g| self.groups.get(g))
            .unwrap_or(&self.limits)
    }
}

/// Validates, acquires and evaluates.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let start = Instant::now();
    let settings = validate(&args)?;
    let mounts = read_mounts(&args.mountinfo)?;
    let deadline = stat::deadline(start, args.common.timeout.duration());
    let data = select::acquire(&settings.selection, &mounts, Arc::new(SystemFs), deadline);
    Ok(evaluate(&settings, &data))
}

/// Reads and parses the mount table.
pub fn read_mounts(path: &Path) -> Result<Vec<Mount>, CheckError> {
    let bytes = rsplugins::procfs::read_pseudo(path).map_err(|e| {
        CheckError::unknown(format!(
            "cannot read {}: {}",
            path.display(),
            stat::describe(&e)
        ))
    })?;
    let mounts = parse_mountinfo(&String::from_utf8_lossy(&bytes));
    if mounts.is_empty() {
        return Err(CheckError::unknown(format!(
            "no mounts found in {}",
            path.display()
        )));
    }
    Ok(mounts)
}

fn compile(
    texts: &[String],
    option: &str,
    ignore_case: bool,
    whole: bool,
) -> Result<Vec<Regex>, CheckError> {
    texts
        .iter()
        .map(|text| {
            let pattern = if whole {
                format!("^(?:{text})$")
            } else {
                text.clone()
            };
            RegexBuilder::new(&pattern)
                .case_insensitive(ignore_case)
                .build()
                .map_err(|e| {
                    let reason = e.to_string();
                    let reason = reason.lines().last().unwrap_or("invalid").trim();
                    CheckError::unknown(format!(
                        "{option} '{text}' is not a valid regular expression: {reason}"
                    ))
                })
        })
        .collect()
}

/// A selection: a `-p` path or a `-r`/`-R`/`-A` pattern (with ignore-case).
enum Choice {
    Path(String),
    Pattern(String, bool),
}

/// Thresholds being built from the options in order.
#[derive(Default, Clone, PartialEq)]
struct Current {
    warning: LevelLimit,
    critical: LevelLimit,
    inode_warning: Option<f64>,
    inode_critical: Option<f64>,
}

impl Current {
    fn limits(&self, unit: Unit) -> Limits {
        Limits {
            warning: self.warning.clone(),
            critical: self.critical.clone(),
            inode_warning: self.inode_warning,
            inode_critical: self.inode_critical,
            unit,
        }
    }
}

/// The thresholds as the options in order give them.
struct Thresholds {
    /// In effect after the last option.
    last: Limits,
    /// Those of the selections.
    groups: Vec<Limits>,
    /// The selections, each with its index in `groups`.
    chosen: Vec<(Choice, usize)>,
}

/// C's order semantics: each selection takes the thresholds in effect where
/// it stands.
fn thresholds(order: &Order, unit: Unit) -> Result<Thresholds, CheckError> {
    let mut current = Current::default();
    // Snapshots of `current` taken at selections, deduplicated.
    let mut snapshots: Vec<Current> = Vec::new();
    let mut chosen = Vec::new();
    // Whether a threshold stands between two selections: only then do
    // thresholds depend on their place. Otherwise they are for all, so
    // generated command definitions (Icinga 2 sorts the arguments) work.
    let mut interleaved = false;
    // The first threshold option given after the last selection.
    let mut trailing: Option<String> = None;
    for item in &order.0 {
        let threshold = match item {
            Ordered::Warning(text) => {
                current
                    .warning
                    .set(LevelLimit::parse_one(text, "-w", unit).map_err(CheckError::unknown)?);
                Some(format!("-w {text}"))
            }
            Ordered::Critical(text) => {
                current
                    .critical
                    .set(LevelLimit::parse_one(text, "-c", unit).map_err(CheckError::unknown)?);
                Some(format!("-c {text}"))
            }
            Ordered::InodeWarning(p) => {
                current.inode_warning = Some(*p);
                Some(format!("-W {}%", format_number(*p)))
            }
            Ordered::InodeCritical(p) => {
                current.inode_critical = Some(*p);
                Some(format!("-K {}%", format_number(*p)))
            }
            Ordered::Path(_) | Ordered::Pattern(..) | Ordered::All => None,
        };
        if let Some(text) = threshold {
            trailing.get_or_insert(text);
            continue;
        }
        interleaved |= trailing.is_some() && !chosen.is_empty();
        trailing = None;
        if snapshots.last() != Some(&current) {
            snapshots.push(current.clone());
        }
        let group = snapshots.len() - 1;
        let choice = match item {
            Ordered::Path(path) => Choice::Path(path.clone()),
            Ordered::Pattern(text, ignore_case) => Choice::Pattern(text.clone(), *ignore_case),
            // -A is -R '.*', as in C.
            _ => Choice::Pattern(".*".to_string(), true),
        };
        chosen.push((choice, group));
    }
    let last = current.limits(unit);
    if let (Some(text), true) = (&trailing, interleaved) {
        return Err(CheckError::unknown(format!(
            "'{text}' comes after the last -p/-r/-R/-A and would apply to nothing: with \
             thresholds between paths, each path takes those given before it"
        )));
    }
    if !interleaved {
        // All thresholds before the first selection, after the last, or both
        // ('-p / -w 10%', which C refuses): for all of them.
        for (_, group) in &mut chosen {
            *group = 0;
        }
        return Ok(Thresholds {
            groups: vec![last.clone()],
            last,
            chosen,
        });
    }
    let groups = snapshots.iter().map(|c| c.limits(unit)).collect();
    Ok(Thresholds {
        last,
        groups,
        chosen,
    })
}

/// Rejects what is not supported and compiles the options.
pub fn validate(args: &Args) -> Result<Settings, CheckError> {
    if args.group.is_some() {
        return Err(CheckError::unknown(
            "-g/--group is not supported (thresholds on the sum of several file systems): \
             check the file systems one by one",
        ));
    }
    if args.clear > 0 {
        return Err(CheckError::unknown(
            "-C/--clear is not supported: give each -p the thresholds it needs before it",
        ));
    }
    if !args.positional.is_empty() {
        return Err(CheckError::unknown(format!(
            "positional arguments are not supported ('{}'): use -w/-c for thresholds and -p \
             for paths",
            args.positional.join(" ")
        )));
    }
    let unit = args.units.unwrap_or(if args.kilobytes && !args.megabytes {
        Unit::KIB
    } else {
        Unit::MIB
    });
    let Thresholds {
        last: limits,
        groups,
        chosen,
    } = thresholds(&args.order, unit)?;

    let mut paths = Vec::new();
    let mut patterns = Vec::new();
    for (item, group) in chosen {
        match item {
            Choice::Path(path) => paths.push((path, group)),
            Choice::Pattern(text, ignore_case) => {
                let option = if ignore_case { "-R" } else { "-r" };
                let mut compiled =
                    compile(std::slice::from_ref(&text), option, ignore_case, false)?;
                if let Some(regex) = compiled.pop() {
                    patterns.push(Pattern { text, regex, group });
                }
            }
        }
    }
    let mut ignore = compile(&args.ignore_ereg_path, "-i", false, false)?;
    ignore.extend(compile(&args.ignore_eregi_path, "-I", true, false)?);

    let selection = Selection {
        paths,
        patterns,
        exact: args.exact_match,
        ignore_missing: args.ignore_missing,
        stat_remote: args.stat_remote_fs,
        filters: Filters {
            exclude_devices: args.exclude_devices.clone(),
            exclude_types: compile(&args.exclude_types, "-X", false, true)?,
            include_types: compile(&args.include_types, "-N", false, true)?,
            ignore,
            local_only: args.local || args.stat_remote_fs,
        },
    };
    Ok(Settings {
        limits,
        groups,
        selection,
        errors_only: args.errors_only || args.quiet,
        show_device: args.mountpoint,
        ignore_reserved: args.freespace_ignore_reserved,
        inode_perfdata: args.iperfdata,
        ignore_missing: args.ignore_missing,
        verbosity: args.common.verbosity(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsplugins::bytes::FreeLimit;
    use std::io::Write;

    fn parse(list: &[&str]) -> Result<Args, clap::Error> {
        let mut argv = vec!["check_disk_rs"];
        argv.extend_from_slice(list);
        Args::try_parse_from(argv)
    }

    fn settings(list: &[&str]) -> Result<Settings, CheckError> {
        validate(&parse(list).unwrap())
    }

    #[test]
    fn c_option_names() {
        let a = parse(&[
            "-w",
            "20%",
            "-w",
            "100",
            "-c",
            "10%",
            "-W",
            "10",
            "-K",
            "5%",
            "-p",
            "/",
            "--partition",
            "/var",
            "-x",
            "/dev/sdb",
            "--exclude_device=/x",
            "-X",
            "tmpfs",
            "-N",
            "ext4",
            "-l",
            "-A",
            "-r",
            "^/a",
            "--ereg-partition",
            "^/b",
            "-R",
            "^/C",
            "-i",
            "x",
            "-I",
            "Y",
            "-E",
            "-e",
            "-M",
            "-n",
            "-f",
            "-P",
            "-u",
            "GB",
            "-t",
            "5",
            "-v",
        ])
        .unwrap();
        assert_eq!(a.paths, vec!["/", "/var"]);
        assert_eq!(a.exclude_devices, vec!["/dev/sdb", "/x"]);
        let s = validate(&a).unwrap();
        assert_eq!(
            s.limits.warning.0,
            vec![FreeLimit::Percent(20.0), FreeLimit::Bytes(100 << 30)]
        );
        assert_eq!(s.limits.critical.0, vec![FreeLimit::Percent(10.0)]);
        assert_eq!(s.limits.inode_warning, Some(10.0));
        assert_eq!(s.limits.unit, Unit::GIB);
        // -A is -R '.*', in its place on the command line.
        let texts: Vec<&str> = s
            .selection
            .patterns
            .iter()
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(texts, [".*", "^/a", "^/b", "^/C"]);
        assert!(
            s.selection.patterns[3].regex.is_match("/c"),
            "-R ignores case"
        );
        assert!(s.selection.filters.ignore[1].is_match("/y"));
        assert!(s.selection.filters.exclude_types[0].is_match("tmpfs"));
        assert!(
            !s.selection.filters.exclude_types[0].is_match("devtmpfs"),
            "types match as a whole"
        );
        assert!(s.selection.filters.local_only && s.errors_only && s.show_device);
        assert!(s.ignore_reserved && s.inode_perfdata && s.ignore_missing);
    }

    #[test]
    fn repeated_flags_are_fine_and_units_shortcuts() {
        let s = settings(&["-l", "-l", "-e", "-e", "-u", "kB", "-u", "TB"]).unwrap();
        assert_eq!(s.limits.unit, Unit::TIB);
        assert_eq!(settings(&["-k"]).unwrap().limits.unit, Unit::KIB);
        assert_eq!(settings(&["-m"]).unwrap().limits.unit, Unit::MIB);
        assert_eq!(settings(&[]).unwrap().limits.unit, Unit::MIB);
        assert!(settings(&["-q"]).unwrap().errors_only);
        assert!(settings(&["-L"]).unwrap().selection.filters.local_only);
    }

    #[test]
    fn bad_values_are_errors() {
        for bad in [
            &["-w", "abc"][..],
            &["-w", "120%"],
            &["-c", "-5"],
            &["-w", "-5%"],
        ] {
            let e = settings(bad).unwrap_err();
            assert_eq!(e.state, rsplugins::State::Unknown);
            assert!(!e.message.contains('\n'));
            // A value starting with '-' reaches its own check.
            let start = format!("invalid {} '{}': ", bad[0], bad[1]);
            assert!(e.message.starts_with(&start), "{}", e.message);
        }
        for bad in [
            &["-W", "x"][..],
            &["-u", "foo"],
            &["-t", "0"],
            &["-K", "-5%"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let e = parse(&["-K", "-5%"]).unwrap_err().to_string();
        assert!(e.contains("invalid value '-5%' for '--icritical"), "{e}");
        // C keeps the last value of a kind.
        let s = settings(&["-c", "5", "-c", "6", "-w", "20%", "-w", "10%"]).unwrap();
        assert_eq!(s.limits.critical.0, vec![FreeLimit::Bytes(6 << 20)]);
        assert_eq!(s.limits.warning.0, vec![FreeLimit::Percent(10.0)]);
        let e = settings(&["-r", "("]).unwrap_err();
        assert!(
            e.message
                .starts_with("-r '(' is not a valid regular expression"),
            "{}",
            e.message
        );
        assert!(!e.message.contains('\n'));
        assert!(settings(&["-X", "["]).is_err());
    }

    /// Each selection's thresholds group, in selection order.
    fn groups_of(s: &Settings) -> Vec<(String, Limits)> {
        let paths = s.selection.paths.iter().map(|(p, g)| (p.clone(), *g));
        let patterns = s
            .selection
            .patterns
            .iter()
            .map(|p| (p.text.clone(), p.group));
        paths
            .chain(patterns)
            .map(|(what, g)| (what, s.limits_for(Some(g)).clone()))
            .collect()
    }

    fn percent(w: f64, c: f64) -> (Vec<FreeLimit>, Vec<FreeLimit>) {
        (vec![FreeLimit::Percent(w)], vec![FreeLimit::Percent(c)])
    }

    fn levels(l: &Limits) -> (Vec<FreeLimit>, Vec<FreeLimit>) {
        (l.warning.0.clone(), l.critical.0.clone())
    }

    #[test]
    fn thresholds_apply_to_the_paths_that_follow_them() {
        let s = settings(&[
            "-w", "1%", "-c", "1%", "-p", "/", "-w", "100%", "-c", "100%", "-p", "/dev/shm",
        ])
        .unwrap();
        let g = groups_of(&s);
        assert_eq!(g[0].0, "/");
        assert_eq!(levels(&g[0].1), percent(1.0, 1.0));
        assert_eq!(g[1].0, "/dev/shm");
        assert_eq!(levels(&g[1].1), percent(100.0, 100.0));

        // A later value of one kind replaces it; the other kind stays; -W/-K too.
        let s = settings(&[
            "-w", "10%", "-w", "1G", "-W", "5", "-p", "/", "-w", "20%", "-r", "^/var", "-K", "1",
            "-A",
        ])
        .unwrap();
        let g = groups_of(&s);
        assert_eq!(
            g[0].1.warning.0,
            vec![FreeLimit::Percent(10.0), FreeLimit::Bytes(1 << 30)]
        );
        assert_eq!(g[1].0, "^/var");
        assert_eq!(
            g[1].1.warning.0,
            vec![FreeLimit::Percent(20.0), FreeLimit::Bytes(1 << 30)]
        );
        assert_eq!(
            (g[1].1.inode_warning, g[1].1.inode_critical),
            (Some(5.0), None)
        );
        assert_eq!(g[2].0, ".*");
        assert_eq!(
            (g[2].1.inode_warning, g[2].1.inode_critical),
            (Some(5.0), Some(1.0))
        );
        // Equal thresholds share a group.
        let s = settings(&["-w", "10%", "-p", "/", "-p", "/var"]).unwrap();
        assert_eq!(s.groups.len(), 1);
    }

    #[test]
    fn thresholds_not_between_paths_are_for_all() {
        // None between two paths: for all of them, wherever they stand (C
        // refuses the first form and ignores the -c of the second).
        for list in [
            &["-p", "/", "-p", "/var", "-w", "10%", "-c", "5%"][..],
            &["-w", "10%", "-p", "/", "-p", "/var", "-c", "5%"],
            // Icinga 2 sorts the arguments by name.
            &["-c", "5%", "-p", "/", "-p", "/var", "-w", "10%"],
        ] {
            let s = settings(list).unwrap();
            let g = groups_of(&s);
            assert_eq!(g.len(), 2);
            for (_, l) in g {
                assert_eq!(levels(&l), percent(10.0, 5.0), "{list:?}");
            }
        }
        // With thresholds between paths, trailing ones would apply to nothing: refused.
        let e = settings(&[
            "-w", "10%", "-p", "/", "-w", "20%", "-p", "/var", "-c", "5%",
        ])
        .unwrap_err();
        assert_eq!(
            e.message,
            "'-c 5%' comes after the last -p/-r/-R/-A and would apply to nothing: with \
             thresholds between paths, each path takes those given before it"
        );
        assert!(settings(&["-p", "/", "-w", "10%", "-p", "/var", "-K", "5"]).is_err());
        // No selection at all: the thresholds are for the mounts checked by default.
        let s = settings(&["-w", "10%", "-w", "20%"]).unwrap();
        assert_eq!(s.limits.warning.0, vec![FreeLimit::Percent(20.0)]);
        assert!(s.selection.paths.is_empty() && s.selection.patterns.is_empty());
    }

    #[test]
    fn unsupported_options_say_so() {
        for (args, word) in [
            (&["-g", "grp", "-p", "/"][..], "-g/--group is not supported"),
            (&["--group=grp"], "-g/--group is not supported"),
            (&["-C", "-w", "5%"], "-C/--clear is not supported"),
            (&["-C", "-C"], "-C/--clear is not supported"),
            (
                &["80", "90", "/"],
                "positional arguments are not supported ('80 90 /')",
            ),
        ] {
            let e = settings(args).unwrap_err();
            assert_eq!(e.state, rsplugins::State::Unknown);
            assert!(e.message.starts_with(word), "{}", e.message);
        }
    }

    #[test]
    fn mount_table_errors() {
        let e = read_mounts(Path::new("/nonexistent/mountinfo")).unwrap_err();
        assert_eq!(
            e.message,
            "cannot read /nonexistent/mountinfo: No such file or directory"
        );
        let mut f = tempfile::NamedTempFile::new().unwrap();
        writeln!(f, "nothing here").unwrap();
        let e = read_mounts(f.path()).unwrap_err();
        assert!(e.message.starts_with("no mounts found in"));
        let real = read_mounts(Path::new("/proc/self/mountinfo")).unwrap();
        assert!(real.iter().any(|m| m.mount_point == "/"));
    }
}
