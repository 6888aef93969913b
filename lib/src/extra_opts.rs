//! `--extra-opts=[section][@file]`: options read from an ini file, as the
//! monitoring-plugins do, so that passwords and long option lists can live
//! outside the command definition.
//!
//! Each `key=value` line of the section becomes `--key=value` (a one-letter
//! key becomes `-k value`), a bare `key` becomes `--key`. The ini options come
//! before the command line's, so the command line wins for single-value options.

use std::fmt;
use std::path::{Path, PathBuf};

/// Files searched, in order, when `--extra-opts` names none.
const DEFAULT_FILES: &[&str] = &[
    "/etc/monitoring-plugins/monitoring-plugins.ini",
    "/etc/nagios/plugins.ini",
    "/usr/local/nagios/etc/plugins.ini",
    "/usr/local/etc/nagios/plugins.ini",
    "/etc/opt/nagios/plugins.ini",
    "/etc/nagios-plugins.ini",
    "/usr/local/etc/nagios-plugins.ini",
    "/etc/opt/nagios-plugins.ini",
];

/// The most an ini file may hold: far more than any real one, and a bound
/// on what `--extra-opts=@/dev/zero` can make us read.
const FILE_LIMIT: usize = 1024 * 1024;

/// File names looked for in each directory of `NAGIOS_CONFIG_PATH`.
const CONFIG_PATH_NAMES: &[&str] = &[
    "plugins.ini",
    "nagios-plugins.ini",
    "monitoring-plugins.ini",
];

/// Why the extra options could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExtraOptsError {
    /// No file was named and none of the default files exists.
    NoDefaultFile,
    /// The file could not be read.
    Read { path: String, reason: String },
    /// The file has no such section.
    NoSection { path: String, section: String },
    /// A line is neither a section, a comment nor an option.
    Syntax { path: String, line: usize },
}

impl fmt::Display for ExtraOptsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExtraOptsError::NoDefaultFile => {
                write!(
                    f,
                    "--extra-opts: no ini file given and none of {} exists",
                    DEFAULT_FILES.join(", ")
                )
            }
            ExtraOptsError::Read { path, reason } => {
                write!(f, "--extra-opts: cannot read {path}: {reason}")
            }
            ExtraOptsError::NoSection { path, section } => {
                write!(f, "--extra-opts: no section [{section}] in {path}")
            }
            ExtraOptsError::Syntax { path, line } => {
                write!(
                    f,
                    "--extra-opts: {path} line {line}: expected [section], key=value or key"
                )
            }
        }
    }
}

impl std::error::Error for ExtraOptsError {}

/// Plugins whose C counterpart is not simply their name without `_rs`.
const C_NAMES: &[(&str, &str)] = &[
    ("check_proc_rs", "check_procs"),
    ("check_pop3_rs", "check_pop"),
];

/// Expands every `--extra-opts[=...]` in `args` (program name first).
///
/// `plugin` is the binary's name; when its section is missing, the C plugin's
/// name (without `_rs`) is tried, so an existing ini file keeps working.
pub fn expand(args: Vec<String>, plugin: &str) -> Result<Vec<String>, ExtraOptsError> {
    let mut program = Vec::new();
    let mut from_ini = Vec::new();
    let mut rest = Vec::new();
    let mut after_double_dash = false;
    for (i, arg) in args.into_iter().enumerate() {
        if i == 0 {
            program.push(arg);
            continue;
        }
        if after_double_dash {
            rest.push(arg);
            continue;
        }
        if arg == "--" {
            after_double_dash = true;
            rest.push(arg);
        } else if arg == "--extra-opts" {
            from_ini.extend(read_spec("", plugin)?);
        } else if let Some(spec) = arg.strip_prefix("--extra-opts=") {
            from_ini.extend(read_spec(spec, plugin)?);
        } else {
            rest.push(arg);
        }
    }
    program.extend(from_ini);
    program.extend(rest);
    Ok(program)
}

fn read_spec(spec: &str, plugin: &str) -> Result<Vec<String>, ExtraOptsError> {
    let (section, file) = match spec.split_once('@') {
        Some((section, file)) => (section, Some(file)),
        None => (spec, None),
    };
    let path = match file {
        Some(f) if !f.is_empty() => PathBuf::from(f),
        _ => default_file().ok_or(ExtraOptsError::NoDefaultFile)?,
    };
    let text = crate::userfile::read_text(&path, FILE_LIMIT).map_err(|e| ExtraOptsError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let candidates: Vec<String> = if section.is_empty() {
        let mut names = vec![plugin.to_string()];
        let c_name = C_NAMES
            .iter()
            .find(|(ours, _)| *ours == plugin)
            .map(|(_, c)| *c)
            .or_else(|| plugin.strip_suffix("_rs"));
        if let Some(c_name) = c_name {
            names.push(c_name.to_string());
        }
        names
    } else {
        vec![section.to_string()]
    };
    for name in &candidates {
        if let Some(options) = parse_section(&text, name, &path)? {
            return Ok(options);
        }
    }
    Err(ExtraOptsError::NoSection {
        path: path.display().to_string(),
        section: candidates[0].clone(),
    })
}

fn default_file() -> Option<PathBuf> {
    if let Ok(dirs) = std::env::var("NAGIOS_CONFIG_PATH") {
        for dir in dirs.split(':').filter(|d| !d.is_empty()) {
            for name in CONFIG_PATH_NAMES {
                let path = Path::new(dir).join(name);
                if path.is_file() {
                    return Some(path);
                }
            }
        }
    }
    DEFAULT_FILES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// The options of `section` in ini `text`, or `None` when there is no such section.
fn parse_section(
    text: &str,
    section: &str,
    path: &Path,
) -> Result<Option<Vec<String>>, ExtraOptsError> {
    let mut current: Option<&str> = None;
    let mut found = false;
    let mut options = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            let name = name
                .strip_suffix(']')
                .ok_or_else(|| ExtraOptsError::Syntax {
                    path: path.display().to_string(),
                    line: index + 1,
                })?;
            current = Some(name.trim());
            found |= name.trim() == section;
            continue;
        }
        if current != Some(section) {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (line, None),
        };
        if key.is_empty() {
            return Err(ExtraOptsError::Syntax {
                path: path.display().to_string(),
                line: index + 1,
            });
        }
        match (key.chars().count(), value) {
            (1, Some(v)) => {
                options.push(format!("-{key}"));
                options.push(v.to_string());
            }
            (1, None) => options.push(format!("-{key}")),
            (_, Some(v)) => options.push(format!("--{key}={v}")),
            (_, None) => options.push(format!("--{key}")),
        }
    }
    Ok(found.then_some(options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn ini(text: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text.as_bytes()).unwrap();
        f
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    const INI: &str = "# comment\n[check_load]\nwarning=5,4,3\n; other comment\ncritical = 10,8,6\npercpu\n\n[other]\nw=1\nt=5\n";

    #[test]
    fn ini_options_come_first() {
        let f = ini(INI);
        let spec = format!("--extra-opts=check_load@{}", f.path().display());
        let out = expand(
            args(&["check_load_rs", "-v", &spec, "-t", "3"]),
            "check_load_rs",
        )
        .unwrap();
        assert_eq!(
            out,
            args(&[
                "check_load_rs",
                "--warning=5,4,3",
                "--critical=10,8,6",
                "--percpu",
                "-v",
                "-t",
                "3"
            ])
        );
    }

    #[test]
    fn section_defaults_to_plugin_then_c_name() {
        let f = ini(INI);
        let spec = format!("--extra-opts=@{}", f.path().display());
        let out = expand(args(&["check_load_rs", &spec]), "check_load_rs").unwrap();
        assert_eq!(out[1], "--warning=5,4,3");
    }

    #[test]
    fn c_names_that_differ() {
        let f = ini("[check_procs]\nwarning=5\n");
        let spec = format!("--extra-opts=@{}", f.path().display());
        let out = expand(args(&["check_proc_rs", &spec]), "check_proc_rs").unwrap();
        assert_eq!(out[1], "--warning=5");
    }

    #[test]
    fn one_letter_keys_become_short_options() {
        let f = ini(INI);
        let spec = format!("--extra-opts=other@{}", f.path().display());
        let out = expand(args(&["p", &spec]), "p").unwrap();
        assert_eq!(out, args(&["p", "-w", "1", "-t", "5"]));
    }

    #[test]
    fn errors_name_the_problem() {
        let f = ini(INI);
        let spec = format!("--extra-opts=nosuch@{}", f.path().display());
        assert!(matches!(
            expand(args(&["p", &spec]), "p"),
            Err(ExtraOptsError::NoSection { .. })
        ));
        assert!(matches!(
            expand(args(&["p", "--extra-opts=x@/nonexistent/file.ini"]), "p"),
            Err(ExtraOptsError::Read { .. })
        ));
        let bad = ini("[s]\n=oops\n");
        let spec = format!("--extra-opts=s@{}", bad.path().display());
        assert!(matches!(
            expand(args(&["p", &spec]), "p"),
            Err(ExtraOptsError::Syntax { line: 2, .. })
        ));
    }

    #[test]
    fn untouched_without_extra_opts_and_after_double_dash() {
        let a = args(&["p", "-w", "1", "--", "--extra-opts=x"]);
        assert_eq!(expand(a.clone(), "p").unwrap(), a);
    }
}
