//! Units, free-space thresholds and the arithmetic that turns file system
//! numbers into free amounts, percentages and perfdata levels.

use std::str::FromStr;

use rsplugins::bytes::{used_level, FreeLimit};
use rsplugins::State;

/// Size unit of absolute thresholds and of the summary (`-u`).
///
/// As in C check_disk 2.3, `kB`, `MB`, `GB` and `TB` are powers of 1024 (the
/// same as `KiB` ... `TiB`), so `-w 100 -u MB` means what it meant there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unit {
    /// Bytes in one unit.
    pub bytes: u64,
    /// Printed after amounts.
    pub label: &'static str,
}

impl Unit {
    /// Bytes.
    pub const BYTES: Unit = Unit {
        bytes: 1,
        label: "B",
    };
    /// 1024 bytes.
    pub const KIB: Unit = Unit {
        bytes: 1 << 10,
        label: "KiB",
    };
    /// 1024 KiB (the default).
    pub const MIB: Unit = Unit {
        bytes: 1 << 20,
        label: "MiB",
    };
    /// 1024 MiB.
    pub const GIB: Unit = Unit {
        bytes: 1 << 30,
        label: "GiB",
    };
    /// 1024 GiB.
    pub const TIB: Unit = Unit {
        bytes: 1 << 40,
        label: "TiB",
    };
    /// 1024 TiB.
    pub const PIB: Unit = Unit {
        bytes: 1 << 50,
        label: "PiB",
    };

    /// Whole units in `bytes` (rounded down, as C prints them).
    pub fn whole(self, bytes: u64) -> u64 {
        bytes / self.bytes
    }
}

impl Default for Unit {
    fn default() -> Self {
        Unit::MIB
    }
}

impl FromStr for Unit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "b" | "byte" | "bytes" => Ok(Unit::BYTES),
            "kb" | "kib" => Ok(Unit::KIB),
            "mb" | "mib" => Ok(Unit::MIB),
            "gb" | "gib" => Ok(Unit::GIB),
            "tb" | "tib" => Ok(Unit::TIB),
            "pb" | "pib" => Ok(Unit::PIB),
            _ => Err(format!(
                "unit '{s}' is not known (use bytes, kB, MB, GB, TB, PB; all are powers of 1024)"
            )),
        }
    }
}

/// Parses a non-negative decimal number (no signs, no exponents, no `inf`).
fn plain_number(text: &str) -> Option<f64> {
    if text.is_empty() || !text.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A `-W` or `-K` value: percent of free inodes (the `%` is optional).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InodePercent(pub f64);

impl FromStr for InodePercent {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let text = s.trim();
        let number = text.strip_suffix('%').unwrap_or(text);
        match plain_number(number) {
            Some(v) if v <= 100.0 => Ok(InodePercent(v)),
            _ => Err(format!(
                "'{s}' is not an inode threshold (use a percentage between 0 and 100, e.g. 10%)"
            )),
        }
    }
}

/// The free-space limits of one level (`-w` or `-c`): a percentage of the
/// usable space, an amount, or both (either alerts).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LevelLimit(pub Vec<FreeLimit>);

impl LevelLimit {
    /// Parses the values given for one option: amounts without a unit
    /// suffix are in `unit`; a later value of the same kind (percentage or
    /// amount) replaces an earlier one, as in C.
    pub fn parse(texts: &[String], option: &str, unit: Unit) -> Result<LevelLimit, String> {
        let mut level = LevelLimit::default();
        for text in texts {
            level.set(Self::parse_one(text, option, unit)?);
        }
        Ok(level)
    }

    /// Parses one `-w`/`-c` value.
    pub fn parse_one(text: &str, option: &str, unit: Unit) -> Result<FreeLimit, String> {
        FreeLimit::parse_with_unit(text, unit.bytes).map_err(|e| {
            format!(
                "invalid {option} '{text}': {e}; use an amount (in {}) or a percentage such as \
                 20%",
                unit.label
            )
        })
    }

    /// Sets a limit, replacing the one of the same kind: C keeps one
    /// percentage and one amount per level.
    pub fn set(&mut self, limit: FreeLimit) {
        let same_kind = |l: &FreeLimit| {
            matches!(
                (l, &limit),
                (FreeLimit::Percent(_), FreeLimit::Percent(_))
                    | (FreeLimit::Bytes(_), FreeLimit::Bytes(_))
            )
        };
        match self.0.iter_mut().find(|l| same_kind(l)) {
            Some(old) => *old = limit,
            None => self.0.push(limit),
        }
    }

    /// Whether any limit is set.
    pub fn is_set(&self) -> bool {
        !self.0.is_empty()
    }

    /// Whether `free` bytes of `capacity` breach a limit (free at or below it).
    pub fn breached(&self, free: u64, capacity: u64) -> bool {
        self.0.iter().any(|l| l.breached(free, capacity))
    }

    /// The free bytes at or below which this level alerts; `None` when unset.
    pub fn free_bytes(&self, capacity: u64) -> Option<u64> {
        self.0.iter().map(|l| l.bytes_of(capacity)).max()
    }

    /// The used bytes above which this level alerts (perfdata).
    pub fn used_level(&self, capacity: u64) -> Option<u64> {
        used_level(&self.0, capacity)
    }
}

/// What statvfs reports, in blocks of `fragment_size` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FsStats {
    /// Block size of the counts (f_frsize).
    pub fragment_size: u64,
    /// Total blocks (f_blocks).
    pub blocks: u64,
    /// Free blocks, root's reserve included (f_bfree).
    pub blocks_free: u64,
    /// Blocks free for unprivileged users (f_bavail).
    pub blocks_available: u64,
    /// Total inodes (f_files); 0 where the file system has no fixed count.
    pub files: u64,
    /// Free inodes (f_ffree).
    pub files_free: u64,
}

/// Sizes in bytes and inode counts derived from [`FsStats`], as C check_disk computes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// All blocks (perfdata maximum), or the usable space with `-f`.
    pub total: u64,
    /// Used: all blocks less the free ones (root's reserve counts as free).
    pub used: u64,
    /// Free for unprivileged users.
    pub free: u64,
    /// used + free: what percentages and levels are relative to.
    pub capacity: u64,
    /// Total inodes (0: no fixed count).
    pub inodes: u64,
    /// Free inodes.
    pub inodes_free: u64,
}

impl Usage {
    /// Computes the usage; `ignore_reserved` (-f) drops root's reserve from the total.
    pub fn new(stats: &FsStats, ignore_reserved: bool) -> Usage {
        let size = stats.fragment_size;
        let bytes = |blocks: u64| blocks.saturating_mul(size);
        // Some systems report more available than free blocks; never more.
        let available = stats.blocks_available.min(stats.blocks_free);
        let used = bytes(stats.blocks.saturating_sub(stats.blocks_free));
        let free = bytes(available);
        let capacity = used.saturating_add(free);
        Usage {
            total: if ignore_reserved {
                capacity
            } else {
                bytes(stats.blocks)
            },
            used,
            free,
            capacity,
            inodes: stats.files,
            inodes_free: stats.files_free.min(stats.files),
        }
    }

    /// Free percent of the capacity, rounded down (100 for an empty file system).
    pub fn free_percent(&self) -> u64 {
        floor_percent(self.free, self.capacity)
    }

    /// Free inode percent, rounded down (100 without a fixed inode count).
    pub fn inodes_free_percent(&self) -> u64 {
        floor_percent(self.inodes_free, self.inodes)
    }

    /// Used inodes.
    pub fn inodes_used(&self) -> u64 {
        self.inodes - self.inodes_free
    }
}

fn floor_percent(part: u64, whole: u64) -> u64 {
    if whole == 0 {
        100
    } else {
        (part as u128 * 100 / whole as u128) as u64
    }
}

/// All thresholds of a check.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Limits {
    /// -w.
    pub warning: LevelLimit,
    /// -c.
    pub critical: LevelLimit,
    /// -W: free inode percent.
    pub inode_warning: Option<f64>,
    /// -K: free inode percent.
    pub inode_critical: Option<f64>,
    /// -u.
    pub unit: Unit,
}

impl Limits {
    /// Free inodes at or below which `percent` alerts (rounded down, exact for
    /// whole percents); none without a fixed inode count.
    fn inode_limit(usage: &Usage, percent: Option<f64>) -> Option<u64> {
        if usage.inodes == 0 {
            return None;
        }
        percent.map(|p| FreeLimit::Percent(p).bytes_of(usage.inodes))
    }

    fn inodes_low(usage: &Usage, percent: Option<f64>) -> bool {
        Self::inode_limit(usage, percent).is_some_and(|l| usage.inodes_free <= l)
    }

    /// The state of a file system: CRITICAL, else WARNING, else OK. Free
    /// space or inodes at or below a limit alert, as in C check_disk 2.3.3.
    pub fn state(&self, usage: &Usage) -> State {
        if self.critical.breached(usage.free, usage.capacity)
            || Self::inodes_low(usage, self.inode_critical)
        {
            State::Critical
        } else if self.warning.breached(usage.free, usage.capacity)
            || Self::inodes_low(usage, self.inode_warning)
        {
            State::Warning
        } else {
            State::Ok
        }
    }

    /// The used-inodes level above which a free inode percent alerts (perfdata).
    pub fn inode_used_level(&self, percent: Option<f64>, usage: &Usage) -> Option<f64> {
        Self::inode_limit(usage, percent)
            .map(|free| usage.inodes.saturating_sub(free).saturating_sub(1) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_binary_like_c_2_3() {
        assert_eq!("MB".parse(), Ok(Unit::MIB));
        assert_eq!("MiB".parse(), Ok(Unit::MIB));
        assert_eq!("kB".parse(), Ok(Unit::KIB));
        assert_eq!("KiB".parse(), Ok(Unit::KIB));
        assert_eq!("GB".parse(), Ok(Unit::GIB));
        assert_eq!("TiB".parse(), Ok(Unit::TIB));
        assert_eq!("bytes".parse(), Ok(Unit::BYTES));
        assert!("foo".parse::<Unit>().is_err());
        assert_eq!(Unit::default(), Unit::MIB);
        assert_eq!(Unit::MIB.whole(3 * 1048576 - 1), 2);
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn free_limits_take_the_unit() {
        let l = LevelLimit::parse(&strings(&["20%", "100"]), "-w", Unit::MIB).unwrap();
        assert_eq!(
            l.0,
            vec![FreeLimit::Percent(20.0), FreeLimit::Bytes(100 << 20)]
        );
        let l = LevelLimit::parse(&strings(&["2.5%", "1.5G"]), "-w", Unit::KIB).unwrap();
        assert_eq!(
            l.0,
            vec![FreeLimit::Percent(2.5), FreeLimit::Bytes(3 << 29)]
        );
        let l = LevelLimit::parse(&strings(&["0"]), "-c", Unit::BYTES).unwrap();
        assert_eq!(l.0, vec![FreeLimit::Bytes(0)]);
        assert!(!LevelLimit::default().is_set());
        for bad in ["", "%", "abc", "-5", "120%", "20%x", "1e3", "inf", "@20%"] {
            let e = LevelLimit::parse(&strings(&[bad]), "-w", Unit::MIB).unwrap_err();
            assert!(e.starts_with(&format!("invalid -w '{bad}'")), "{e}");
        }
        assert_eq!("10".parse(), Ok(InodePercent(10.0)));
        assert_eq!("10%".parse(), Ok(InodePercent(10.0)));
        assert!("101%".parse::<InodePercent>().is_err());
        assert!("-1".parse::<InodePercent>().is_err());
    }

    #[test]
    fn one_percentage_and_one_amount_per_option() {
        // As in C: a later value of the same kind replaces the earlier one.
        let l = LevelLimit::parse(&strings(&["20%", "100", "5%"]), "-w", Unit::MIB).unwrap();
        assert_eq!(
            l.0,
            vec![FreeLimit::Percent(5.0), FreeLimit::Bytes(100 << 20)]
        );
        let l = LevelLimit::parse(&strings(&["1", "5G"]), "-c", Unit::MIB).unwrap();
        assert_eq!(l.0, vec![FreeLimit::Bytes(5 << 30)]);
    }

    /// The numbers of the reference C output: / on a 4 KiB ext4.
    fn reference() -> FsStats {
        FsStats {
            fragment_size: 4096,
            blocks: 66052864,
            blocks_free: 63042816,
            blocks_available: 20810993,
            files: 16777216,
            files_free: 16387385,
        }
    }

    #[test]
    fn usage_like_c() {
        let u = Usage::new(&reference(), false);
        assert_eq!(u.total, 270552530944);
        assert_eq!(u.used, 12329156608);
        assert_eq!(u.free, 85241827328);
        assert_eq!(u.capacity, u.used + u.free);
        assert_eq!(Unit::MIB.whole(u.free), 81292);
        assert_eq!(u.free_percent(), 87);
        assert_eq!(u.inodes_free_percent(), 97);
        assert_eq!(u.inodes_used(), 389831);
        // -f: root's reserve leaves the total.
        assert_eq!(Usage::new(&reference(), true).total, u.capacity);
    }

    #[test]
    fn empty_and_odd_file_systems() {
        let u = Usage::new(&FsStats::default(), false);
        assert_eq!(
            (u.total, u.free_percent(), u.inodes_free_percent()),
            (0, 100, 100)
        );
        let odd = FsStats {
            fragment_size: 1,
            blocks: 10,
            blocks_free: 2,
            blocks_available: 5,
            files: 3,
            files_free: 9,
        };
        let u = Usage::new(&odd, false);
        assert_eq!((u.used, u.free, u.inodes_free), (8, 2, 3));
    }

    fn limits(w: &[&str], c: &[&str]) -> Limits {
        Limits {
            warning: LevelLimit::parse(&strings(w), "-w", Unit::MIB).unwrap(),
            critical: LevelLimit::parse(&strings(c), "-c", Unit::MIB).unwrap(),
            ..Limits::default()
        }
    }

    fn fs(capacity: u64, free: u64) -> Usage {
        Usage {
            total: capacity,
            used: capacity - free,
            free,
            capacity,
            inodes: 0,
            inodes_free: 0,
        }
    }

    #[test]
    fn free_at_or_below_the_limit_alerts() {
        let l = limits(&["20%"], &["10%"]);
        assert_eq!(l.state(&fs(1000, 201)), State::Ok);
        assert_eq!(l.state(&fs(1000, 200)), State::Warning);
        assert_eq!(l.state(&fs(1000, 101)), State::Warning);
        assert_eq!(l.state(&fs(1000, 100)), State::Critical);
        assert_eq!(limits(&[], &[]).state(&fs(0, 0)), State::Ok);
    }

    #[test]
    fn exact_boundaries_like_c() {
        // C check_disk 2.3.3 (see the README): exactly 1 MiB free with
        // -w 3 -c 1 is CRITICAL, exactly 10% free with -c 10% too.
        let mib = 1 << 20;
        let l = limits(&["3"], &["1"]);
        assert_eq!(l.state(&fs(4 * mib, mib)), State::Critical);
        assert_eq!(l.state(&fs(4 * mib, mib + 1)), State::Warning);
        assert_eq!(l.state(&fs(4 * mib, 3 * mib)), State::Warning);
        assert_eq!(l.state(&fs(4 * mib, 3 * mib + 1)), State::Ok);
        let l = limits(&["20%"], &["10%"]);
        assert_eq!(l.state(&fs(10 * mib, mib)), State::Critical);
        assert_eq!(l.state(&fs(10 * mib, mib + 4096)), State::Warning);
        // 10% of a size where a floating-point product lands below the limit.
        assert_eq!(l.state(&fs(3 * 4096 * 10, 3 * 4096)), State::Critical);
        // -c 0%: CRITICAL only when full.
        let l = limits(&[], &["0%"]);
        assert_eq!(l.state(&fs(1000, 0)), State::Critical);
        assert_eq!(l.state(&fs(1000, 1)), State::Ok);
    }

    #[test]
    fn amounts_are_in_units_and_either_kind_alerts() {
        let l = limits(&["100", "1%"], &["50"]);
        let mib = 1 << 20;
        assert_eq!(l.state(&fs(1000 * mib, 100 * mib + 1)), State::Ok);
        assert_eq!(l.state(&fs(1000 * mib, 100 * mib)), State::Warning);
        assert_eq!(l.state(&fs(1000 * mib, 50 * mib)), State::Critical);
        // 1% of 100 GiB is above 100 MiB: the larger free limit wins.
        assert_eq!(l.state(&fs(102400 * mib, 1000 * mib)), State::Warning);
        assert_eq!(l.warning.free_bytes(102400 * mib), Some(1024 * mib));
    }

    #[test]
    fn inode_limits() {
        let l = Limits {
            inode_warning: Some(20.0),
            inode_critical: Some(10.0),
            ..Limits::default()
        };
        let mut u = fs(1000, 1000);
        u.inodes = 100;
        u.inodes_free = 21;
        assert_eq!(l.state(&u), State::Ok);
        u.inodes_free = 20;
        assert_eq!(l.state(&u), State::Warning, "exactly 20% free warns, as C");
        u.inodes_free = 10;
        assert_eq!(l.state(&u), State::Critical);
        // Used above 89 means free at or below 10.
        assert_eq!(l.inode_used_level(Some(10.0), &u), Some(89.0));
        u.inodes = 0;
        u.inodes_free = 0;
        assert_eq!(l.state(&u), State::Ok, "no fixed inode count: no alert");
        assert_eq!(l.inode_used_level(Some(10.0), &u), None);
    }

    #[test]
    fn perfdata_levels_agree_with_the_alerts() {
        let l = limits(&["20%"], &["10%"]);
        let u = Usage::new(&reference(), false);
        let warn = l.warning.used_level(u.capacity).unwrap();
        let crit = l.critical.used_level(u.capacity).unwrap();
        assert_eq!(warn, u.capacity - u.capacity / 5 - 1);
        assert_eq!(crit, u.capacity - u.capacity / 10 - 1);
        // Walk the used space across the levels block by block: the alert
        // state and "used above the level" agree.
        for step in [-2i64, -1, 0, 1, 2] {
            for level in [warn, crit] {
                let used = (level as i64 / 4096 + step) as u64 * 4096;
                // Also the exact byte at and after the level.
                let used = if step == 0 { level } else { used };
                let probe = fs(u.capacity, u.capacity - used);
                let alert = l.state(&probe);
                assert_eq!(alert != State::Ok, probe.used > warn, "used {used}");
                assert_eq!(alert == State::Critical, probe.used > crit, "used {used}");
            }
        }
        // A limit at or above the capacity gives level 0, not a negative number.
        let big = limits(&["10"], &[]);
        assert_eq!(big.warning.used_level(1024), Some(0));
        let exact = limits(&["1"], &[]);
        assert_eq!(exact.warning.used_level(1 << 20), Some(0));
        assert_eq!(big.critical.used_level(1024), None);
    }
}
