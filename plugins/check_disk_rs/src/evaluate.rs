//! Turning the acquired numbers into the result (pure).

use rsplugins::number::format_number;
use rsplugins::{CheckResult, Perfdata, State, Uom};

use crate::limits::{LevelLimit, Usage};
use crate::select::{Checked, DiskData, Outcome};
use crate::Settings;

/// The name a mount is reported under: its mount point, or its device with `-M`.
fn label<'a>(settings: &Settings, checked: &'a Checked) -> &'a str {
    if settings.show_device {
        &checked.mount.source
    } else {
        &checked.mount.mount_point
    }
}

/// The `-v` line of a mount with numbers.
fn detail(settings: &Settings, checked: &Checked, usage: &Usage) -> String {
    let unit = settings.limits.unit;
    let mut line = format!(
        "{} [{} on {}]: free {}{} of {}{} usable ({}%), total {}{}",
        label(settings, checked),
        checked.mount.fs_type,
        checked.mount.source,
        unit.whole(usage.free),
        unit.label,
        unit.whole(usage.capacity),
        unit.label,
        usage.free_percent(),
        unit.whole(usage.total),
        unit.label,
    );
    if usage.inodes > 0 {
        line.push_str(&format!(
            ", inodes free {} of {} ({}%)",
            usage.inodes_free,
            usage.inodes,
            usage.inodes_free_percent()
        ));
    }
    let limit = |name: &str, level: &LevelLimit| {
        level
            .free_bytes(usage.capacity)
            .map(|b| format!("{name} at {}{} or less", unit.whole(b), unit.label))
    };
    let limits = settings.limits_for(checked.group);
    let limits: Vec<String> = [
        limit("warning", &limits.warning),
        limit("critical", &limits.critical),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !limits.is_empty() {
        line.push_str(&format!("; {}", limits.join(", ")));
    }
    line
}

fn perfdata(settings: &Settings, checked: &Checked, usage: &Usage, result: &mut CheckResult) {
    let limits = settings.limits_for(checked.group);
    let name = label(settings, checked);
    let level = |l: &LevelLimit| l.used_level(usage.capacity).map(|l| l as f64);
    result.perf(
        Perfdata::new(name, usage.used as f64, Uom::Bytes)
            .levels(level(&limits.warning), level(&limits.critical))
            .min(0.0)
            .max(usage.total as f64),
    );
    if settings.inode_perfdata {
        result.perf(
            Perfdata::new(
                format!("{name} (inodes)"),
                usage.inodes_used() as f64,
                Uom::None,
            )
            .levels(
                limits.inode_used_level(limits.inode_warning, usage),
                limits.inode_used_level(limits.inode_critical, usage),
            )
            .min(0.0)
            .max(usage.inodes as f64),
        );
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Turns the data into a result: the summary lists each file system (only
/// the failing ones with `-e`), perfdata carries used bytes for all.
pub fn evaluate(settings: &Settings, data: &DiskData) -> CheckResult {
    let mut result = CheckResult::new(String::new());
    // (state, text) of each summary item.
    let mut items: Vec<(State, String)> = data
        .problems
        .iter()
        .map(|p| (p.state, p.message.clone()))
        .collect();
    let mut checked_disks = 0usize;
    let mut measured = 0usize;

    for checked in &data.checked {
        let name = label(settings, checked);
        let desc = format!(
            "{} [{} on {}]",
            name, checked.mount.fs_type, checked.mount.source
        );
        match &checked.outcome {
            Outcome::Stats(_) if checked.probe_only => {
                if settings.verbosity >= 1 {
                    result.detail(format!(
                        "{desc}: responding (network file system, not checked with -l)"
                    ));
                }
            }
            Outcome::Stats(stats) if stats.blocks == 0 => {
                // Only a file system named with -p gets here (C: UNKNOWN too).
                checked_disks += 1;
                items.push((
                    State::Unknown,
                    format!("{name} has no blocks to check ({})", checked.mount.fs_type),
                ));
            }
            Outcome::Stats(stats) => {
                checked_disks += 1;
                measured += 1;
                let usage = Usage::new(stats, settings.ignore_reserved);
                let state = settings.limits_for(checked.group).state(&usage);
                perfdata(settings, checked, &usage, &mut result);
                items.push((
                    state,
                    format!(
                        "{} {}{} ({}% inode={}%)",
                        name,
                        settings.limits.unit.whole(usage.free),
                        settings.limits.unit.label,
                        usage.free_percent(),
                        usage.inodes_free_percent()
                    ),
                ));
                if settings.verbosity >= 1 {
                    result.detail(detail(settings, checked, &usage));
                }
            }
            Outcome::Failed { state, reason } => {
                checked_disks += usize::from(!checked.probe_only);
                items.push((*state, format!("{name} is not accessible: {reason}")));
                if settings.verbosity >= 1 {
                    result.detail(format!("{desc}: {reason}"));
                }
            }
            Outcome::NotResponding => {
                checked_disks += usize::from(!checked.probe_only);
                items.push((
                    State::Critical,
                    format!(
                        "{name} not responding (no answer within {}s)",
                        format_number((data.waited.as_secs_f64() * 10.0).round() / 10.0)
                    ),
                ));
                if settings.verbosity >= 1 {
                    result.detail(format!("{desc}: statvfs did not return"));
                }
            }
        }
    }
    if settings.verbosity >= 2 {
        for s in &data.skipped {
            result.detail(format!(
                "skipped {} [{}]: {}",
                s.mount_point,
                s.fs_type,
                s.reason.reason()
            ));
        }
    }

    let mut state = State::worst_of(items.iter().map(|(s, _)| *s));
    let shown: Vec<&(State, String)> = items
        .iter()
        .filter(|(s, _)| !settings.errors_only || *s != State::Ok)
        .collect();
    let marked = shown.len() > 1;
    let parts: Vec<String> = shown
        .iter()
        .map(|(s, text)| {
            if marked && *s != State::Ok {
                format!("{text} [{s}]")
            } else {
                text.clone()
            }
        })
        .collect();

    let mut summary = if checked_disks == 0 && data.problems.is_empty() {
        if !settings.ignore_missing {
            state = state.worst(State::Unknown);
        }
        "No disks were found for provided parameters".to_string()
    } else if parts.is_empty() && settings.errors_only {
        // C check_disk -e prints nothing but the state when all is well.
        String::new()
    } else if parts.is_empty() {
        format!("free space: all {} OK", plural(checked_disks, "disk"))
    } else if measured == 0 {
        parts.join("; ")
    } else {
        format!("free space: {}", parts.join("; "))
    };
    if !data.ignored.is_empty() {
        if !summary.is_empty() {
            summary.push_str("; ");
        }
        summary.push_str(&format!("ignored paths: {}", data.ignored.join(", ")));
    }
    result.summary = summary;
    result.set_state(state);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::FsStats;
    use crate::mounts::Mount;
    use crate::select::{Problem, Skip, Skipped};
    use crate::{validate, Args};
    use clap::Parser;
    use rsplugins::output::render_text;
    use std::time::Duration;

    fn settings(list: &[&str]) -> Settings {
        let mut argv = vec!["check_disk_rs"];
        argv.extend_from_slice(list);
        validate(&Args::try_parse_from(argv).unwrap()).unwrap()
    }

    fn mount(point: &str, fs_type: &str, source: &str) -> Mount {
        Mount {
            id: 1,
            parent: 0,
            major: 8,
            minor: 1,
            root: "/".into(),
            mount_point: point.into(),
            fs_type: fs_type.into(),
            source: source.into(),
        }
    }

    /// The reference C output's `/`: 81292MiB (87%) free, inodes 97% free.
    fn root_stats() -> FsStats {
        FsStats {
            fragment_size: 4096,
            blocks: 66052864,
            blocks_free: 63042816,
            blocks_available: 20810993,
            files: 16777216,
            files_free: 16387385,
        }
    }

    fn checked(point: &str, outcome: Outcome) -> Checked {
        Checked {
            mount: mount(point, "ext4", "/dev/vda"),
            outcome,
            named: true,
            probe_only: false,
            group: None,
        }
    }

    fn data(checked: Vec<Checked>) -> DiskData {
        DiskData {
            checked,
            waited: Duration::from_secs(9),
            ..DiskData::default()
        }
    }

    fn small(free_blocks: u64) -> FsStats {
        FsStats {
            fragment_size: 1 << 20,
            blocks: 1000,
            blocks_free: free_blocks,
            blocks_available: free_blocks,
            files: 100,
            files_free: 50,
        }
    }

    #[test]
    fn c_compatible_line() {
        let r = evaluate(
            &settings(&["-w", "20%", "-c", "10%", "-p", "/"]),
            &data(vec![checked("/", Outcome::Stats(root_stats()))]),
        );
        // Levels are relative to the usable space (used + available), so the
        // graph crosses them exactly when the alert fires.
        let capacity = 12329156608u64 + 85241827328;
        assert_eq!(
            render_text("DISK", &r),
            format!(
                "DISK OK - free space: / 81292MiB (87% inode=97%) | /=12329156608B;{};{};0;270552530944\n",
                capacity - capacity / 5 - 1,
                capacity - capacity / 10 - 1
            )
        );
    }

    #[test]
    fn states_and_markers() {
        let s = settings(&["-w", "300", "-c", "100"]);
        let d = data(vec![
            checked("/", Outcome::Stats(small(500))),
            checked("/a", Outcome::Stats(small(200))),
            checked("/b", Outcome::Stats(small(50))),
        ]);
        let r = evaluate(&s, &d);
        assert_eq!(r.state(), State::Critical);
        assert_eq!(
            r.summary,
            "free space: / 500MiB (50% inode=50%); /a 200MiB (20% inode=50%) [WARNING]; \
             /b 50MiB (5% inode=50%) [CRITICAL]"
        );
        let perf: Vec<String> = r.perfdata.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            perf[1],
            format!(
                "/a=838860800B;{};{};0;1048576000",
                (700 << 20) - 1,
                (900 << 20) - 1
            )
        );
        // -e: only the failing ones, perfdata for all.
        let r = evaluate(&settings(&["-w", "300", "-c", "100", "-e"]), &d);
        assert_eq!(
            r.summary,
            "free space: /a 200MiB (20% inode=50%) [WARNING]; /b 50MiB (5% inode=50%) [CRITICAL]"
        );
        assert_eq!(r.perfdata.len(), 3);
        let ok = data(vec![checked("/", Outcome::Stats(small(500)))]);
        let r = evaluate(&settings(&["-w", "300"]), &ok);
        assert_eq!(r.summary, "free space: / 500MiB (50% inode=50%)");
        // -e with everything OK: C prints the state alone ("DISK OK").
        let r = evaluate(&settings(&["-w", "300", "-e"]), &ok);
        assert_eq!((r.state(), r.summary.as_str()), (State::Ok, ""));
        assert_eq!(r.perfdata.len(), 1);
    }

    #[test]
    fn units_inodes_device_names_and_reserve() {
        let d = data(vec![checked("/", Outcome::Stats(root_stats()))]);
        let r = evaluate(
            &settings(&["-u", "GB", "-W", "98", "-K", "90%", "-P", "-M"]),
            &d,
        );
        assert_eq!(r.state(), State::Warning);
        assert_eq!(r.summary, "free space: /dev/vda 79GiB (87% inode=97%)");
        let perf: Vec<String> = r.perfdata.iter().map(|p| p.to_string()).collect();
        assert_eq!(perf[0], "/dev/vda=12329156608B;;;0;270552530944");
        let used = 16777216 - 16387385;
        assert_eq!(
            perf[1],
            format!(
                "'/dev/vda (inodes)'={used};{};{};0;16777216",
                (16777216.0f64 * 0.02).floor(),
                (16777216.0f64 * 0.1).floor()
            )
        );
        // -f: the total leaves out root's reserve, as C.
        let r = evaluate(&settings(&["-f"]), &d);
        assert_eq!(r.perfdata[0].to_string(), "/=12329156608B;;;0;97570983936");
    }

    #[test]
    fn failures_and_missing_paths() {
        let mut d = data(vec![
            checked("/", Outcome::Stats(small(500))),
            checked("/mnt/nfs", Outcome::NotResponding),
            checked(
                "/mnt/x",
                Outcome::Failed {
                    state: State::Critical,
                    reason: "Stale file handle".into(),
                },
            ),
        ]);
        d.problems.push(Problem {
            state: State::Critical,
            message: "/nonexistent is not accessible: No such file or directory".into(),
        });
        let r = evaluate(&settings(&["-w", "10%", "-c", "5%"]), &d);
        assert_eq!(r.state(), State::Critical);
        assert_eq!(
            r.summary,
            "free space: /nonexistent is not accessible: No such file or directory [CRITICAL]; \
             / 500MiB (50% inode=50%); \
             /mnt/nfs not responding (no answer within 9s) [CRITICAL]; \
             /mnt/x is not accessible: Stale file handle [CRITICAL]"
        );
        assert_eq!(r.perfdata.len(), 1, "no numbers, no perfdata");
    }

    #[test]
    fn only_problems_no_free_space_prefix() {
        let mut d = data(Vec::new());
        d.problems.push(Problem {
            state: State::Critical,
            message: "/nonexistent is not accessible: No such file or directory".into(),
        });
        let r = evaluate(&settings(&["-w", "10%"]), &d);
        assert_eq!(
            (r.state(), r.summary.as_str()),
            (
                State::Critical,
                "/nonexistent is not accessible: No such file or directory"
            )
        );
    }

    #[test]
    fn a_named_file_system_without_blocks_is_unknown() {
        let mut proc = checked("/proc", Outcome::Stats(FsStats::default()));
        proc.mount.fs_type = "proc".into();
        let r = evaluate(&settings(&["-w", "10%"]), &data(vec![proc]));
        assert_eq!(r.state(), State::Unknown);
        assert_eq!(r.summary, "/proc has no blocks to check (proc)");
        assert!(r.perfdata.is_empty());
    }

    #[test]
    fn nothing_found() {
        let mut d = data(Vec::new());
        let r = evaluate(&settings(&["-w", "10%"]), &d);
        assert_eq!(r.state(), State::Unknown);
        assert_eq!(r.summary, "No disks were found for provided parameters");
        d.ignored.push("/nonexistent".into());
        let r = evaluate(&settings(&["-n", "-p", "/nonexistent"]), &d);
        assert_eq!(r.state(), State::Ok);
        assert_eq!(
            r.summary,
            "No disks were found for provided parameters; ignored paths: /nonexistent"
        );
    }

    #[test]
    fn probes_show_only_when_failing() {
        let mut ok = checked("/mnt/nfs", Outcome::Stats(small(1)));
        ok.probe_only = true;
        let mut hung = checked("/mnt/hung", Outcome::NotResponding);
        hung.probe_only = true;
        let s = settings(&["-w", "10%", "-l", "-L"]);
        let r = evaluate(
            &s,
            &data(vec![checked("/", Outcome::Stats(small(500))), ok.clone()]),
        );
        assert_eq!(r.state(), State::Ok);
        assert_eq!(r.summary, "free space: / 500MiB (50% inode=50%)");
        assert_eq!(r.perfdata.len(), 1);
        let r = evaluate(
            &s,
            &data(vec![checked("/", Outcome::Stats(small(500))), ok, hung]),
        );
        assert_eq!(r.state(), State::Critical);
        assert!(r
            .summary
            .ends_with("/mnt/hung not responding (no answer within 9s) [CRITICAL]"));
    }

    #[test]
    fn verbose_details() {
        let mut d = data(vec![checked("/", Outcome::Stats(small(500)))]);
        d.skipped.push(Skipped {
            mount_point: "/proc".into(),
            fs_type: "proc".into(),
            reason: Skip::Pseudo,
        });
        let r = evaluate(&settings(&["-w", "20%", "-c", "100", "-vv"]), &d);
        assert_eq!(
            r.details,
            vec![
                "/ [ext4 on /dev/vda]: free 500MiB of 1000MiB usable (50%), total 1000MiB, \
                 inodes free 50 of 100 (50%); warning at 200MiB or less, critical at 100MiB or less"
                    .to_string(),
                "skipped /proc [proc]: pseudo file system (name it with -p or -r, or its type \
                 with -N)"
                    .to_string()
            ]
        );
        let r = evaluate(&settings(&["-w", "20%", "-v"]), &d);
        assert_eq!(r.details.len(), 1);
    }
}
