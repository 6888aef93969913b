//! Byte sizes and "free space must not fall below" limits, shared by the
//! memory, swap and disk plugins.

use std::fmt;
use std::str::FromStr;

use crate::number::format_fixed;

const UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("K", 1 << 10),
    ("KB", 1 << 10),
    ("KIB", 1 << 10),
    ("M", 1 << 20),
    ("MB", 1 << 20),
    ("MIB", 1 << 20),
    ("G", 1 << 30),
    ("GB", 1 << 30),
    ("GIB", 1 << 30),
    ("T", 1 << 40),
    ("TB", 1 << 40),
    ("TIB", 1 << 40),
];

/// Parses `1048576`, `512K`, `1.5GiB`, `2 GB` into bytes (units are binary
/// multiples, as `free` and the kernel count them; no unit means `default_unit`).
pub fn parse_bytes(text: &str, default_unit: u64) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a size (e.g. 1024, 512M, 1.5G)"))?;
    let multiplier = match unit.trim().to_ascii_uppercase().as_str() {
        "" => default_unit,
        u => UNITS
            .iter()
            .find(|(name, _)| *name == u)
            .map(|(_, m)| *m)
            .ok_or_else(|| format!("'{unit}' is not a size unit (B, K, M, G, T)"))?,
    };
    let bytes = value * multiplier as f64;
    if !bytes.is_finite() || bytes > u64::MAX as f64 {
        return Err(format!("'{text}' is too large"));
    }
    Ok(bytes.round() as u64)
}

/// A size for people: `512 B`, `3.4 MiB`, `12.0 GiB`.
pub fn human(bytes: u64) -> String {
    const NAMES: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < NAMES.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{} {}", format_fixed(value, 1), NAMES[unit])
    }
}

/// "Alert when free space falls below this": a percent of the total or an
/// absolute size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FreeLimit {
    /// Percent of the total (`10%`).
    Percent(f64),
    /// Bytes.
    Bytes(u64),
}

impl FreeLimit {
    /// The limit in bytes for a given total: free space at or below it
    /// alerts. A percentage is rounded down to whole bytes (exactly for whole
    /// percents), so `free <= bytes_of(total)` is the same test as
    /// `free / total <= percent`.
    pub fn bytes_of(&self, total: u64) -> u64 {
        match self {
            FreeLimit::Percent(p) if p.fract() == 0.0 && (0.0..=100.0).contains(p) => {
                // Integer arithmetic: 10% of 1000 must be 100, not 99.99999.
                (u128::from(total) * (*p as u128) / 100) as u64
            }
            FreeLimit::Percent(p) => (total as f64 * p / 100.0).floor().max(0.0) as u64,
            FreeLimit::Bytes(b) => *b,
        }
    }

    /// Whether `free` bytes out of `total` breach the limit: free space at or
    /// below it, as C check_disk and check_swap 2.3.3 decide (`-c 25%` is
    /// CRITICAL at exactly 25% free).
    pub fn breached(&self, free: u64, total: u64) -> bool {
        free <= self.bytes_of(total)
    }

    /// Parses `N%` or a size with an optional unit (`default_unit` without one).
    pub fn parse_with_unit(text: &str, default_unit: u64) -> Result<FreeLimit, String> {
        let text = text.trim();
        if let Some(percent) = text.strip_suffix('%') {
            let p: f64 = percent
                .trim()
                .parse()
                .map_err(|_| format!("'{text}' is not a percentage"))?;
            if !(0.0..=100.0).contains(&p) {
                return Err(format!("'{text}' must lie between 0% and 100%"));
            }
            Ok(FreeLimit::Percent(p))
        } else {
            parse_bytes(text, default_unit).map(FreeLimit::Bytes)
        }
    }
}

impl FromStr for FreeLimit {
    type Err = String;

    /// `10%`, `512M`, `1073741824` (bytes).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        FreeLimit::parse_with_unit(text, 1)
    }
}

impl fmt::Display for FreeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FreeLimit::Percent(p) => write!(f, "{}%", crate::number::format_number(*p)),
            FreeLimit::Bytes(b) => f.write_str(&human(*b)),
        }
    }
}

/// The used-bytes level above which any of `limits` alerts, for perfdata
/// (Nagios levels alert above the value, so graphs of used bytes and the
/// alerts agree to the byte); `None` without limits.
pub fn used_level(limits: &[FreeLimit], total: u64) -> Option<u64> {
    limits
        .iter()
        .map(|l| l.bytes_of(total))
        .max()
        // free <= limit alerts, i.e. used >= total - limit, i.e. used > total - limit - 1.
        .map(|free| total.saturating_sub(free).saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("1024", 1), Ok(1024));
        assert_eq!(parse_bytes("512K", 1), Ok(512 * 1024));
        assert_eq!(parse_bytes("1.5GiB", 1), Ok(1_610_612_736));
        assert_eq!(parse_bytes("2 gb", 1), Ok(2 << 30));
        assert_eq!(parse_bytes("100", 1 << 20), Ok(100 << 20));
        assert!(parse_bytes("12X", 1).is_err());
        assert!(parse_bytes("", 1).is_err());
        assert!(parse_bytes("-5", 1).is_err());
    }

    #[test]
    fn human_sizes() {
        assert_eq!(human(512), "512 B");
        assert_eq!(human(1536), "1.5 KiB");
        assert_eq!(human(12 << 30), "12.0 GiB");
    }

    #[test]
    fn limits() {
        let p: FreeLimit = "10%".parse().unwrap();
        assert_eq!(p, FreeLimit::Percent(10.0));
        assert!(p.breached(99, 1000));
        assert!(!p.breached(101, 1000));
        assert!(p.breached(0, 0));
        assert_eq!(p.bytes_of(1000), 100);
        let b: FreeLimit = "1K".parse().unwrap();
        assert!(b.breached(1023, 10_000));
        assert!(!b.breached(1025, 10_000));
        assert!("101%".parse::<FreeLimit>().is_err());
        assert!("x%".parse::<FreeLimit>().is_err());
        assert_eq!(used_level(&[p, b], 10_000), Some(10_000 - 1024 - 1));
        assert_eq!(used_level(&[], 10_000), None);
        assert_eq!(used_level(&["100%".parse().unwrap()], 10), Some(0));
    }

    #[test]
    fn exact_boundaries_alert_as_in_c() {
        // C check_disk/check_swap 2.3.3: free <= limit alerts.
        let quarter: FreeLimit = "25%".parse().unwrap();
        assert!(quarter.breached(250, 1000));
        assert!(!quarter.breached(251, 1000));
        let tenth: FreeLimit = "10%".parse().unwrap();
        // 10% of sizes where floating point would land just below the limit.
        for total in [
            10u64,
            1000,
            3 << 30,
            0x7fff_ffff_ffff_fff6,
            u64::MAX / 10 * 10,
        ] {
            assert!(tenth.breached(total / 10, total), "{total}");
            assert!(!tenth.breached(total / 10 + 1, total), "{total}");
        }
        let mib = FreeLimit::Bytes(1 << 20);
        assert!(mib.breached(1 << 20, 4 << 20));
        assert!(!mib.breached((1 << 20) + 1, 4 << 20));
        let half: FreeLimit = "2.5%".parse().unwrap();
        assert!(half.breached(25, 1000));
        assert!(!half.breached(26, 1000));
        // Perfdata levels: alert exactly when used exceeds the level.
        for free in 240..260u64 {
            let level = used_level(&[quarter], 1000).unwrap();
            assert_eq!(quarter.breached(free, 1000), 1000 - free > level, "{free}");
        }
        assert_eq!(FreeLimit::Percent(0.0).bytes_of(1000), 0);
        assert!(FreeLimit::Percent(0.0).breached(0, 1000));
        assert!(!FreeLimit::Percent(0.0).breached(1, 1000));
    }
}
