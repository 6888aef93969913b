//! check_disk_rs: free space and inodes of mounted file systems, compatible
//! with C check_disk.
//!
//! Mounts come from /proc/self/mountinfo; each statvfs (and each lookup of a
//! `-p` path) runs in a thread of its own with a deadline inside the `-t`
//! budget, so a hanging network mount is reported CRITICAL instead of
//! hanging the check.

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
use select::{Filters, Selection};
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
                  Without -p, -r, -R or -A all mounts are checked except pseudo file systems \
                  (tmpfs, devtmpfs, proc, sysfs, cgroup, overlay, squashfs, ...; the root is \
                  always kept); name one with -p or include its type with -N. A -p path that \
                  is not a mount point stands for the mount holding it. Mounts of the same \
                  device are checked once.\n\n\
                  A file system that does not answer before the time-out (-t, less a margin) is \
                  CRITICAL 'not responding'; the others are still reported.\n\n\
                  Not supported (exit UNKNOWN): -g/--group, -C/--clear (per-path thresholds) \
                  and the positional form 'check_disk WARN CRIT PATH'."
)]
pub struct Args {
    /// WARNING when free space is at or below an amount in units (-u; or with a suffix K, M, G,
    /// T) or a percentage, e.g. 100, 5G or 20%
    #[arg(short = 'w', long = "warning", value_name = "LIMIT")]
    pub warning: Vec<String>,

    /// CRITICAL when free space is at or below an amount in units (-u) or a percentage
    #[arg(short = 'c', long = "critical", value_name = "LIMIT")]
    pub critical: Vec<String>,

    /// WARNING when free inodes are at or below this percentage
    #[arg(short = 'W', long = "iwarning", value_name = "PERCENT%")]
    pub iwarning: Option<InodePercent>,

    /// CRITICAL when free inodes are at or below this percentage
    #[arg(short = 'K', long = "icritical", value_name = "PERCENT%")]
    pub icritical: Option<InodePercent>,

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

    /// Select all mounts explicitly (the same as -R '.*'), e.g. to combine with -i/-I
    #[arg(short = 'A', long = "all")]
    pub all: bool,

    /// Select mounts whose mount point or device matches this regular expression (may be repeated)
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

/// The options, checked and compiled.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Thresholds and unit.
    pub limits: Limits,
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
    let bytes = std::fs::read(path).map_err(|e| {
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
            "-C/--clear is not supported (per-path thresholds): run one check per set of \
             thresholds",
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
    let level = |texts: &[String], option: &str| {
        LevelLimit::parse(texts, option, unit).map_err(CheckError::unknown)
    };
    let limits = Limits {
        warning: level(&args.warning, "-w")?,
        critical: level(&args.critical, "-c")?,
        inode_warning: args.iwarning.map(|p| p.0),
        inode_critical: args.icritical.map(|p| p.0),
        unit,
    };

    let mut patterns = Vec::new();
    for (texts, option, ignore_case) in [
        (&args.ereg_path, "-r", false),
        (&args.eregi_path, "-R", true),
    ] {
        let compiled = compile(texts, option, ignore_case, false)?;
        patterns.extend(texts.iter().cloned().zip(compiled));
    }
    let mut ignore = compile(&args.ignore_ereg_path, "-i", false, false)?;
    ignore.extend(compile(&args.ignore_eregi_path, "-I", true, false)?);

    let selection = Selection {
        paths: args.paths.clone(),
        patterns,
        all: args.all,
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
        assert_eq!(s.selection.patterns.len(), 3);
        assert!(s.selection.patterns[2].1.is_match("/c"), "-R ignores case");
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
        for bad in [&["-w", "abc"][..], &["-w", "120%"], &["-c", "5", "-c", "6"]] {
            let e = settings(bad).unwrap_err();
            assert_eq!(e.state, rsplugins::State::Unknown);
            assert!(!e.message.contains('\n'));
        }
        for bad in [
            &["-c", "-5"][..],
            &["-W", "x"],
            &["-u", "foo"],
            &["-t", "0"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let e = settings(&["-w", "20%", "-w", "10%"]).unwrap_err();
        assert!(e.message.contains("per-path thresholds"), "{}", e.message);
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
