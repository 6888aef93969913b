//! Which mounts to check (paths, regular expressions, filters) and getting
//! their numbers within the deadline.

use std::collections::hash_map::Entry as MapEntry;
use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use regex::Regex;
use rsplugins::State;

use crate::limits::FsStats;
use crate::mounts::{
    answers_at_once, containing, exact, is_pseudo, is_remote, normalize, visible, Mount,
};
use crate::stat::{describe, run_with_deadline, FsAccess, Job};

/// Why a mount is not checked (shown with `-vv`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// `-x`.
    ExcludedDevice,
    /// `-i` / `-I`.
    Ignored,
    /// `-l` on a network file system.
    Remote,
    /// `-X`.
    ExcludedType,
    /// `-N` given and the type does not match.
    NotIncluded,
    /// A pseudo file system, not asked for by -p, -r/-R/-A or -N.
    Pseudo,
    /// Another mount of the same device is checked.
    Duplicate,
    /// No blocks at all (selected by pattern, not by name).
    NoBlocks,
}

impl Skip {
    /// The reason in words.
    pub fn reason(self) -> &'static str {
        match self {
            Skip::ExcludedDevice => "excluded by -x",
            Skip::Ignored => "ignored by -i/-I",
            Skip::Remote => "network file system (-l)",
            Skip::ExcludedType => "type excluded by -X",
            Skip::NotIncluded => "type not included by -N",
            Skip::Pseudo => "pseudo file system (name it with -p or -r, or its type with -N)",
            Skip::Duplicate => "same device as another checked mount",
            Skip::NoBlocks => "no blocks",
        }
    }
}

/// Filters every candidate mount goes through.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// `-x`: devices or mount points, exact.
    pub exclude_devices: Vec<String>,
    /// `-X`: types (whole-name regular expressions).
    pub exclude_types: Vec<Regex>,
    /// `-N`: types (whole-name regular expressions).
    pub include_types: Vec<Regex>,
    /// `-i`/`-I`: mount points or devices.
    pub ignore: Vec<Regex>,
    /// `-l`.
    pub local_only: bool,
}

/// Whether a path pattern matches a mount's mount point or device.
pub fn matches(re: &Regex, mount: &Mount) -> bool {
    re.is_match(&mount.mount_point) || re.is_match(&mount.source)
}

impl Filters {
    /// Why `mount` is skipped, if it is. `named`: asked for with `-p` or
    /// matched by `-r`/`-R`/`-A`, which lifts the pseudo file system rule (a
    /// pattern that matches a mount names it, as in C).
    pub fn skip(&self, mount: &Mount, named: bool) -> Option<Skip> {
        let type_matches = |list: &[Regex]| list.iter().any(|re| re.is_match(&mount.fs_type));
        if self
            .exclude_devices
            .iter()
            .any(|x| normalize(x) == mount.mount_point || *x == mount.source)
        {
            Some(Skip::ExcludedDevice)
        } else if self.ignore.iter().any(|re| matches(re, mount)) {
            Some(Skip::Ignored)
        } else if self.local_only && is_remote(mount) {
            Some(Skip::Remote)
        } else if type_matches(&self.exclude_types) {
            Some(Skip::ExcludedType)
        } else if !self.include_types.is_empty() {
            if type_matches(&self.include_types) {
                None
            } else {
                Some(Skip::NotIncluded)
            }
        } else if !named && mount.mount_point != "/" && is_pseudo(&mount.fs_type) {
            // The root is real data even when it is an overlay or tmpfs (containers, live systems).
            Some(Skip::Pseudo)
        } else {
            None
        }
    }
}

/// A `-r`/`-R`/`-A` pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    /// As given (`.*` for `-A`).
    pub text: String,
    /// Compiled.
    pub regex: Regex,
    /// Its thresholds (index in the settings' groups).
    pub group: usize,
}

/// What to check.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `-p`, in order, with the index of their thresholds in the settings' groups.
    pub paths: Vec<(String, usize)>,
    /// `-r`/`-R`/`-A`, in order.
    pub patterns: Vec<Pattern>,
    /// `-E`: `-p` must name a mount point or device exactly.
    pub exact: bool,
    /// `-n`.
    pub ignore_missing: bool,
    /// `-L`: statvfs network file systems skipped by `-l`, to catch hanging ones.
    pub stat_remote: bool,
    /// The filters.
    pub filters: Filters,
}

/// What asking a file system gave.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// statvfs answered.
    Stats(FsStats),
    /// statvfs failed.
    Failed {
        /// CRITICAL, or UNKNOWN for a permission problem.
        state: State,
        /// The system's reason.
        reason: String,
    },
    /// No answer before the deadline.
    NotResponding,
}

/// A mount that was asked.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The mount.
    pub mount: Mount,
    /// What it answered.
    pub outcome: Outcome,
    /// Named with `-p`.
    pub named: bool,
    /// Only asked whether it answers (`-L`): no thresholds, not listed when fine.
    pub probe_only: bool,
    /// Its thresholds: the group of its last selection; `None` when checked
    /// without -p/-r/-R/-A.
    pub group: Option<usize>,
}

/// A path or pattern that could not be checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// How bad.
    pub state: State,
    /// One-line text.
    pub message: String,
}

/// A mount left out, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// Mount point.
    pub mount_point: String,
    /// Type.
    pub fs_type: String,
    /// Why.
    pub reason: Skip,
}

/// Everything acquired.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DiskData {
    /// The mounts asked, in report order (named paths first).
    pub checked: Vec<Checked>,
    /// Paths and patterns that failed.
    pub problems: Vec<Problem>,
    /// Paths and patterns that failed but `-n` ignores.
    pub ignored: Vec<String>,
    /// Mounts left out.
    pub skipped: Vec<Skipped>,
    /// How long file systems were given to answer.
    pub waited: Duration,
}

impl DiskData {
    fn skip(&mut self, mount: &Mount, reason: Skip) {
        self.skipped.push(Skipped {
            mount_point: mount.mount_point.clone(),
            fs_type: mount.fs_type.clone(),
            reason,
        });
    }

    fn missing(&mut self, ignore: bool, state: State, name: &str, message: String) {
        if ignore {
            self.ignored.push(name.to_string());
        } else {
            self.problems.push(Problem { state, message });
        }
    }
}

/// A mount to ask, or a `-p` path to resolve first.
enum Plan {
    Mount {
        mount: Mount,
        named: bool,
        probe_only: bool,
        group: Option<usize>,
    },
    Path(String, usize),
}

/// What a thread reports.
enum Answer {
    Stats(io::Result<FsStats>),
    Resolved {
        mount: Mount,
        probe_only: bool,
        stats: io::Result<FsStats>,
    },
    Skipped(Mount, Skip),
    Missing(String),
}

fn outcome(result: io::Result<FsStats>) -> Outcome {
    match result {
        Ok(stats) => Outcome::Stats(stats),
        Err(e) => Outcome::Failed {
            state: if e.kind() == io::ErrorKind::PermissionDenied {
                State::Unknown
            } else {
                State::Critical
            },
            reason: describe(&e),
        },
    }
}

/// The plan for a mount that passed or failed the filters.
fn plan_mount(
    sel: &Selection,
    data: &mut DiskData,
    plans: &mut Vec<Plan>,
    mount: &Mount,
    group: usize,
) {
    match sel.filters.skip(mount, true) {
        None => plans.push(Plan::Mount {
            mount: mount.clone(),
            named: true,
            probe_only: false,
            group: Some(group),
        }),
        Some(Skip::Remote) if sel.stat_remote => plans.push(Plan::Mount {
            mount: mount.clone(),
            named: true,
            probe_only: true,
            group: Some(group),
        }),
        Some(reason) => data.skip(mount, reason),
    }
}

/// Mounts selected by pattern or by default, before the filters, with the
/// group of the last pattern that matched (`None`: selected by default).
fn candidates<'a>(
    sel: &Selection,
    mounts: &'a [Mount],
    data: &mut DiskData,
) -> Vec<(&'a Mount, Option<usize>)> {
    if !sel.patterns.is_empty() {
        for p in &sel.patterns {
            if !mounts.iter().any(|m| matches(&p.regex, m)) {
                data.missing(
                    sel.ignore_missing,
                    State::Unknown,
                    &p.text,
                    format!(
                        "Regular expression did not match any path or disk - {}",
                        p.text
                    ),
                );
            }
        }
        mounts
            .iter()
            .filter_map(|m| {
                let group = sel
                    .patterns
                    .iter()
                    .filter(|p| matches(&p.regex, m))
                    .map(|p| p.group)
                    .max()?;
                Some((m, Some(group)))
            })
            .collect()
    } else if sel.paths.is_empty() {
        mounts.iter().map(|m| (m, None)).collect()
    } else {
        Vec::new()
    }
}

/// Plans the mounts selected by pattern or default: filtered, one per device
/// (preferring a mount of the whole file system over a bind mount).
fn plan_selected(sel: &Selection, mounts: &[Mount], data: &mut DiskData, plans: &mut Vec<Plan>) {
    let mut kept: Vec<(&Mount, bool, Option<usize>)> = Vec::new();
    for (mount, group) in candidates(sel, mounts, data) {
        // A pattern that matches a mount names it: pseudo file systems included.
        match sel.filters.skip(mount, group.is_some()) {
            None => kept.push((mount, false, group)),
            Some(Skip::Remote) if sel.stat_remote => kept.push((mount, true, group)),
            Some(reason) => data.skip(mount, reason),
        }
    }
    let mut chosen: HashMap<(u32, u32), usize> = HashMap::new();
    for (i, (mount, probe_only, _)) in kept.iter().enumerate() {
        if *probe_only {
            continue;
        }
        match chosen.entry(mount.device()) {
            MapEntry::Vacant(e) => {
                e.insert(i);
            }
            MapEntry::Occupied(mut e) => {
                if kept[*e.get()].0.root != "/" && mount.root == "/" {
                    e.insert(i);
                }
            }
        }
    }
    for (i, (mount, probe_only, group)) in kept.iter().enumerate() {
        if *probe_only || chosen.get(&mount.device()) == Some(&i) {
            plans.push(Plan::Mount {
                mount: (*mount).clone(),
                named: false,
                probe_only: *probe_only,
                group: *group,
            });
        } else {
            data.skip(mount, Skip::Duplicate);
        }
    }
}

fn job(
    plan: &Plan,
    sel: &Selection,
    mounts: &Arc<Vec<Mount>>,
    fs: &Arc<dyn FsAccess>,
) -> Job<Answer> {
    let fs = Arc::clone(fs);
    match plan {
        Plan::Mount { mount, .. } => {
            let point = mount.mount_point.clone();
            Box::new(move || Answer::Stats(fs.statvfs(Path::new(&point))))
        }
        Plan::Path(path, _) => {
            let path = path.clone();
            let mounts = Arc::clone(mounts);
            let filters = sel.filters.clone();
            let stat_remote = sel.stat_remote;
            Box::new(move || {
                let canonical = match fs.canonicalize(Path::new(&path)) {
                    Ok(c) => c.to_string_lossy().into_owned(),
                    Err(e) => {
                        return Answer::Missing(format!("is not accessible: {}", describe(&e)))
                    }
                };
                let Some(mount) =
                    exact(&mounts, &canonical).or_else(|| containing(&mounts, &canonical))
                else {
                    return Answer::Missing("not found".to_string());
                };
                let probe_only = match filters.skip(mount, true) {
                    None => false,
                    Some(Skip::Remote) if stat_remote => true,
                    Some(reason) => return Answer::Skipped(mount.clone(), reason),
                };
                Answer::Resolved {
                    mount: mount.clone(),
                    probe_only,
                    stats: fs.statvfs(Path::new(&mount.mount_point)),
                }
            })
        }
    }
}

/// Selects the mounts and asks each, in parallel, until `deadline`.
pub fn acquire(
    sel: &Selection,
    mount_table: &[Mount],
    fs: Arc<dyn FsAccess>,
    deadline: Instant,
) -> DiskData {
    let started = Instant::now();
    let mounts = Arc::new(visible(mount_table));
    let mut data = DiskData::default();
    let mut plans = Vec::new();

    for (path, group) in &sel.paths {
        if let Some(mount) = exact(&mounts, path) {
            plan_mount(sel, &mut data, &mut plans, mount, *group);
        } else if sel.exact {
            data.missing(
                sel.ignore_missing,
                State::Critical,
                path,
                format!("{path} not found"),
            );
        } else {
            plans.push(Plan::Path(path.clone(), *group));
        }
    }
    plan_selected(sel, &mounts, &mut data, &mut plans);

    // Local disks and memory answer at once, here; the rest on a worker
    // thread with the deadline (a thread costs more than such a call).
    let mut answers: Vec<Option<Answer>> = Vec::with_capacity(plans.len());
    let mut later: Vec<(usize, Job<Answer>)> = Vec::new();
    for (i, plan) in plans.iter().enumerate() {
        let job = job(plan, sel, &mounts, &fs);
        if matches!(plan, Plan::Mount { mount, .. } if answers_at_once(mount)) {
            answers.push(Some(job()));
        } else {
            answers.push(None);
            later.push((i, job));
        }
    }
    let (at, jobs): (Vec<usize>, Vec<Job<Answer>>) = later.into_iter().unzip();
    for (i, answer) in at.into_iter().zip(run_with_deadline(jobs, deadline)) {
        answers[i] = answer;
    }
    data.waited = deadline.saturating_duration_since(started);

    // Mount point -> where it is in `data.checked` (None: skipped).
    let mut points: HashMap<String, Option<usize>> = HashMap::new();
    for (plan, answer) in plans.into_iter().zip(answers) {
        let checked = match (plan, answer) {
            (
                Plan::Mount {
                    mount,
                    named,
                    probe_only,
                    group,
                },
                answer,
            ) => Checked {
                mount,
                named,
                probe_only,
                group,
                outcome: match answer {
                    Some(Answer::Stats(r)) => outcome(r),
                    _ => Outcome::NotResponding,
                },
            },
            (Plan::Path(path, _), None) => {
                data.problems.push(Problem {
                    state: State::Critical,
                    message: format!("{path} not responding"),
                });
                continue;
            }
            (Plan::Path(path, _), Some(Answer::Missing(why))) => {
                data.missing(
                    sel.ignore_missing,
                    State::Critical,
                    &path,
                    format!("{path} {why}"),
                );
                continue;
            }
            (Plan::Path(..), Some(Answer::Skipped(mount, reason))) => {
                data.skip(&mount, reason);
                continue;
            }
            (
                Plan::Path(_, group),
                Some(Answer::Resolved {
                    mount,
                    probe_only,
                    stats,
                }),
            ) => Checked {
                mount,
                named: true,
                probe_only,
                group: Some(group),
                outcome: outcome(stats),
            },
            (Plan::Path(..), Some(Answer::Stats(_))) => continue,
        };
        match points.entry(checked.mount.mount_point.clone()) {
            MapEntry::Occupied(e) => {
                // Checked once, with the thresholds of its last selection (C
                // overwrites them); groups grow along the command line.
                if let Some(first) = e.get().and_then(|i| data.checked.get_mut(i)) {
                    first.group = first.group.max(checked.group);
                }
                continue;
            }
            MapEntry::Vacant(e) => {
                if let Outcome::Stats(s) = &checked.outcome {
                    if s.blocks == 0 && !checked.named && !checked.probe_only {
                        e.insert(None);
                        data.skip(&checked.mount, Skip::NoBlocks);
                        continue;
                    }
                }
                e.insert(Some(data.checked.len()));
            }
        }
        data.checked.push(checked);
    }
    data
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mounts::parse_mountinfo;
    use std::path::PathBuf;

    const TABLE: &str = "\
22 27 0:21 / /proc rw - proc proc rw
24 27 0:6 / /dev rw - devtmpfs devtmpfs rw
25 24 0:23 / /dev/shm rw - tmpfs tmpfs rw
27 1 8:1 / / rw - ext4 /dev/sda1 rw
28 27 8:17 / /data rw - xfs /dev/sdb1 rw
29 27 8:1 /srv /srv/bind rw - ext4 /dev/sda1 rw
30 27 0:50 / /mnt/nfs rw - nfs4 filer:/export rw
31 27 0:51 / /mnt/hang rw - nfs4 filer:/hang rw
32 27 0:52 / /mnt/denied rw - fuse.sshfs me@host: rw
33 27 0:53 / /mnt/empty rw - fuse.empty empty rw
";

    /// A fake system: every mount has stats, /mnt/hang never answers,
    /// /mnt/denied refuses, /mnt/empty has no blocks.
    struct FakeFs;

    fn stats(blocks: u64) -> FsStats {
        FsStats {
            fragment_size: 4096,
            blocks,
            blocks_free: blocks / 2,
            blocks_available: blocks / 2,
            files: 1000,
            files_free: 900,
        }
    }

    impl FsAccess for FakeFs {
        fn statvfs(&self, path: &Path) -> io::Result<FsStats> {
            match path.to_str().unwrap() {
                "/mnt/hang" => {
                    std::thread::sleep(Duration::from_secs(3600));
                    Ok(stats(1))
                }
                "/mnt/denied" => Err(io::Error::from_raw_os_error(13)),
                "/mnt/empty" | "/proc" => Ok(stats(0)),
                _ => Ok(stats(1000)),
            }
        }

        fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
            match path.to_str().unwrap() {
                "/missing" => Err(io::Error::from_raw_os_error(2)),
                "/mnt/hang/dir" => {
                    std::thread::sleep(Duration::from_secs(3600));
                    Ok(path.into())
                }
                "/link" => Ok("/data/real".into()),
                p => Ok(p.into()),
            }
        }
    }

    fn paths(list: &[&str]) -> Vec<(String, usize)> {
        list.iter().map(|p| (p.to_string(), 0)).collect()
    }

    fn pattern(text: &str, group: usize) -> Pattern {
        Pattern {
            text: text.into(),
            regex: Regex::new(text).unwrap(),
            group,
        }
    }

    fn run(sel: &Selection) -> DiskData {
        acquire(
            sel,
            &parse_mountinfo(TABLE),
            Arc::new(FakeFs),
            Instant::now() + Duration::from_millis(300),
        )
    }

    fn points(data: &DiskData) -> Vec<&str> {
        data.checked
            .iter()
            .map(|c| c.mount.mount_point.as_str())
            .collect()
    }

    fn outcome_of<'a>(data: &'a DiskData, point: &str) -> &'a Outcome {
        &data
            .checked
            .iter()
            .find(|c| c.mount.mount_point == point)
            .unwrap()
            .outcome
    }

    /// Records the thread each statvfs ran on.
    #[derive(Default)]
    struct WhereFs(std::sync::Mutex<Vec<(String, Option<String>)>>);

    impl FsAccess for WhereFs {
        fn statvfs(&self, path: &Path) -> io::Result<FsStats> {
            let thread = std::thread::current().name().map(str::to_string);
            let path = path.display().to_string();
            self.0.lock().unwrap().push((path, thread));
            Ok(stats(1000))
        }

        fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
            Ok(path.into())
        }
    }

    #[test]
    fn local_disks_are_asked_at_once_the_rest_on_a_worker() {
        let fs = Arc::new(WhereFs::default());
        let data = acquire(
            &Selection::default(),
            &parse_mountinfo(TABLE),
            Arc::clone(&fs) as Arc<dyn FsAccess>,
            Instant::now() + Duration::from_secs(10),
        );
        assert_eq!(data.checked.len(), 6, "{:?}", points(&data));
        let here = std::thread::current().name().map(str::to_string);
        let worker = Some("fs-0".to_string());
        let mut seen = fs.0.lock().unwrap().clone();
        seen.sort();
        let expected: Vec<(String, Option<String>)> = [
            ("/", &here),
            ("/data", &here),
            ("/mnt/denied", &worker),
            ("/mnt/empty", &worker),
            ("/mnt/hang", &worker),
            ("/mnt/nfs", &worker),
        ]
        .into_iter()
        .map(|(p, t)| (p.to_string(), t.clone()))
        .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn default_selection_skips_pseudo_duplicates_and_empty() {
        let start = Instant::now();
        let data = run(&Selection::default());
        assert!(start.elapsed() < Duration::from_secs(2));
        assert_eq!(
            points(&data),
            vec!["/", "/data", "/mnt/nfs", "/mnt/hang", "/mnt/denied"]
        );
        assert_eq!(outcome_of(&data, "/mnt/hang"), &Outcome::NotResponding);
        assert_eq!(
            outcome_of(&data, "/mnt/denied"),
            &Outcome::Failed {
                state: State::Unknown,
                reason: "Permission denied".into()
            }
        );
        assert!(matches!(outcome_of(&data, "/"), Outcome::Stats(_)));
        let reasons: Vec<(&str, Skip)> = data
            .skipped
            .iter()
            .map(|s| (s.mount_point.as_str(), s.reason))
            .collect();
        assert_eq!(
            reasons,
            vec![
                ("/proc", Skip::Pseudo),
                ("/dev", Skip::Pseudo),
                ("/dev/shm", Skip::Pseudo),
                ("/srv/bind", Skip::Duplicate),
                ("/mnt/empty", Skip::NoBlocks),
            ]
        );
        assert!(data.problems.is_empty());
        assert!(data.waited <= Duration::from_millis(300));
    }

    #[test]
    fn named_paths_resolve_to_their_mount() {
        let sel = Selection {
            paths: paths(&["/tmp", "/dev/shm", "/link", "/dev/sda1", "/data/x", "/proc"]),
            ..Selection::default()
        };
        let data = run(&sel);
        // /dev/sda1 is the device of /; /data/x repeats /link's mount; named
        // pseudo and empty file systems are checked.
        assert_eq!(points(&data), vec!["/", "/dev/shm", "/data", "/proc"]);
        assert!(data.checked.iter().all(|c| c.named));
        assert!(data.problems.is_empty());
    }

    #[test]
    fn missing_paths_are_critical_unless_ignored() {
        let mut sel = Selection {
            paths: paths(&["/missing", "/"]),
            ..Selection::default()
        };
        let data = run(&sel);
        assert_eq!(points(&data), vec!["/"]);
        assert_eq!(
            data.problems,
            vec![Problem {
                state: State::Critical,
                message: "/missing is not accessible: No such file or directory".into()
            }]
        );
        sel.ignore_missing = true;
        let data = run(&sel);
        assert!(data.problems.is_empty());
        assert_eq!(data.ignored, vec!["/missing".to_string()]);
    }

    #[test]
    fn exact_match_wants_a_mount_point_or_device() {
        let sel = Selection {
            paths: paths(&["/tmp", "/data"]),
            exact: true,
            ..Selection::default()
        };
        let data = run(&sel);
        assert_eq!(points(&data), vec!["/data"]);
        assert_eq!(data.problems[0].message, "/tmp not found");
        assert_eq!(data.problems[0].state, State::Critical);
    }

    #[test]
    fn a_hanging_path_lookup_is_critical_and_the_rest_is_checked() {
        let sel = Selection {
            paths: paths(&["/mnt/hang/dir", "/data"]),
            ..Selection::default()
        };
        let start = Instant::now();
        let data = run(&sel);
        assert!(start.elapsed() < Duration::from_secs(2));
        assert_eq!(points(&data), vec!["/data"]);
        assert_eq!(data.problems[0].message, "/mnt/hang/dir not responding");
    }

    #[test]
    fn patterns_and_filters() {
        let re = |s: &str| Regex::new(s).unwrap();
        let whole = |s: &str| Regex::new(&format!("^(?:{s})$")).unwrap();
        let sel = Selection {
            patterns: vec![pattern("^/mnt", 0), pattern("^/nomatch", 0)],
            ..Selection::default()
        };
        let data = run(&sel);
        assert_eq!(points(&data), vec!["/mnt/nfs", "/mnt/hang", "/mnt/denied"]);
        assert_eq!(data.problems[0].state, State::Unknown);
        assert_eq!(
            data.problems[0].message,
            "Regular expression did not match any path or disk - ^/nomatch"
        );

        let local = Selection {
            filters: Filters {
                local_only: true,
                ..Filters::default()
            },
            ..Selection::default()
        };
        assert_eq!(points(&run(&local)), vec!["/", "/data"]);

        let by_type = Selection {
            filters: Filters {
                exclude_types: vec![whole("xfs|nfs4")],
                exclude_devices: vec!["/mnt/denied/".into()],
                ..Filters::default()
            },
            ..Selection::default()
        };
        assert_eq!(points(&run(&by_type)), vec!["/"]);

        let include = Selection {
            filters: Filters {
                include_types: vec![whole("tmpfs"), whole("ext4")],
                ..Filters::default()
            },
            ..Selection::default()
        };
        assert_eq!(points(&run(&include)), vec!["/dev/shm", "/"]);

        let all_ignoring = Selection {
            patterns: vec![pattern("^/$|^/data$|^/mnt", 0)],
            filters: Filters {
                ignore: vec![re("^/mnt"), re("sdb")],
                ..Filters::default()
            },
            ..Selection::default()
        };
        assert_eq!(points(&run(&all_ignoring)), vec!["/"]);
    }

    #[test]
    fn patterns_name_pseudo_file_systems_and_the_last_selection_wins() {
        // As C: a pattern that matches a pseudo file system checks it.
        let sel = Selection {
            patterns: vec![pattern("^/dev/shm$", 0)],
            ..Selection::default()
        };
        let data = run(&sel);
        assert_eq!(points(&data), vec!["/dev/shm"]);
        assert_eq!(data.checked[0].group, Some(0));
        // '.*' (-A) takes every mount with blocks, pseudo or not.
        let sel = Selection {
            patterns: vec![pattern(".*", 0), pattern("^/data$", 1)],
            paths: vec![("/data".into(), 2), ("/".into(), 0)],
            ..Selection::default()
        };
        let data = run(&sel);
        assert_eq!(
            points(&data),
            vec![
                "/data",
                "/",
                "/dev",
                "/dev/shm",
                "/mnt/nfs",
                "/mnt/hang",
                "/mnt/denied"
            ]
        );
        let skipped: Vec<(&str, Skip)> = data
            .skipped
            .iter()
            .map(|s| (s.mount_point.as_str(), s.reason))
            .collect();
        assert_eq!(
            skipped,
            vec![
                ("/srv/bind", Skip::Duplicate),
                ("/proc", Skip::NoBlocks),
                ("/mnt/empty", Skip::NoBlocks)
            ]
        );
        // Checked once each, with the group of the last selection.
        let groups: Vec<Option<usize>> = data.checked.iter().map(|c| c.group).collect();
        assert_eq!(groups[..2], [Some(2), Some(0)]);
        let sel = Selection {
            patterns: vec![pattern("^/data$", 3)],
            paths: vec![("/data".into(), 1)],
            ..Selection::default()
        };
        let data = run(&sel);
        assert_eq!(points(&data), vec!["/data"]);
        assert_eq!(data.checked[0].group, Some(3));
        // Checked without a selection: no group.
        assert!(run(&Selection::default())
            .checked
            .iter()
            .all(|c| c.group.is_none()));
    }

    #[test]
    fn stat_remote_probes_network_file_systems() {
        let sel = Selection {
            stat_remote: true,
            filters: Filters {
                local_only: true,
                ..Filters::default()
            },
            ..Selection::default()
        };
        let data = run(&sel);
        let probes: Vec<(&str, bool)> = data
            .checked
            .iter()
            .map(|c| (c.mount.mount_point.as_str(), c.probe_only))
            .collect();
        assert_eq!(
            probes,
            vec![
                ("/", false),
                ("/data", false),
                ("/mnt/nfs", true),
                ("/mnt/hang", true),
                ("/mnt/denied", true)
            ]
        );
        assert_eq!(outcome_of(&data, "/mnt/hang"), &Outcome::NotResponding);
    }
}
