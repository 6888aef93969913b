//! Threshold ranges in the monitoring-plugins syntax `[@][start:][end]`.
//!
//! `10` is `0:10`, `10:` is 10 to infinity, `~:10` is minus infinity to 10,
//! `10:20` is 10 to 20 (endpoints inclusive). A value outside the range
//! alerts; with a leading `@` a value inside it alerts.

use std::fmt;
use std::str::FromStr;

use crate::number::format_number;

/// A parsed threshold range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    /// Lower bound; `f64::NEG_INFINITY` for `~`.
    pub start: f64,
    /// Upper bound; `f64::INFINITY` when omitted after `:`.
    pub end: f64,
    /// `@`: alert when the value lies inside instead of outside.
    pub inside: bool,
}

/// Why a range text was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeError {
    /// The text was empty (or only `@`).
    Empty,
    /// A bound is not a number.
    BadNumber { range: String, part: String },
    /// The start lies above the end; never swapped silently.
    StartAfterEnd { range: String },
}

impl fmt::Display for RangeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeError::Empty => f.write_str("empty range"),
            RangeError::BadNumber { range, part } => {
                write!(f, "range '{range}': '{part}' is not a number")
            }
            RangeError::StartAfterEnd { range } => {
                write!(f, "range '{range}': start is greater than end")
            }
        }
    }
}

impl std::error::Error for RangeError {}

impl Range {
    /// The range `0:end` (what a bare number means).
    pub fn upto(end: f64) -> Range {
        Range {
            start: 0.0,
            end,
            inside: false,
        }
    }

    /// Whether `value` lies within the bounds (endpoints inclusive).
    pub fn contains(&self, value: f64) -> bool {
        value >= self.start && value <= self.end
    }

    /// Whether `value` should raise an alert under this range.
    pub fn alerts(&self, value: f64) -> bool {
        self.contains(value) == self.inside
    }

    /// True for `N`, `0:N` and `~:N`: ranges perfdata consumers (Icinga 2)
    /// need printed as the plain number N.
    pub fn is_simple_upper_bound(&self) -> bool {
        !self.inside
            && (self.start == 0.0 || self.start == f64::NEG_INFINITY)
            && self.end.is_finite()
    }

    /// The text perfdata carries for this range: a plain number for a simple
    /// upper bound, the range syntax otherwise.
    pub fn perfdata_text(&self) -> String {
        if self.is_simple_upper_bound() {
            format_number(self.end)
        } else {
            self.to_string()
        }
    }
}

fn parse_bound(range: &str, part: &str) -> Result<f64, RangeError> {
    let bad = || RangeError::BadNumber {
        range: range.to_string(),
        part: part.to_string(),
    };
    // Rust accepts "inf" and "NaN"; a threshold never means those.
    if !part
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'))
    {
        return Err(bad());
    }
    match part.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(bad()),
    }
}

impl FromStr for Range {
    type Err = RangeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let original = text;
        let text = text.trim();
        let (inside, body) = match text.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if body.is_empty() {
            return Err(RangeError::Empty);
        }
        let (start, end) = match body.split_once(':') {
            Some((start, end)) => {
                let start = match start {
                    "~" => f64::NEG_INFINITY,
                    "" => 0.0,
                    s => parse_bound(original, s)?,
                };
                let end = match end {
                    "" => f64::INFINITY,
                    e => parse_bound(original, e)?,
                };
                (start, end)
            }
            None => (0.0, parse_bound(original, body)?),
        };
        if start > end {
            return Err(RangeError::StartAfterEnd {
                range: original.to_string(),
            });
        }
        Ok(Range { start, end, inside })
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inside {
            f.write_str("@")?;
        }
        let end = if self.end.is_finite() {
            format_number(self.end)
        } else {
            String::new()
        };
        if self.start == f64::NEG_INFINITY {
            write!(f, "~:{end}")
        } else if self.start == 0.0 && self.end.is_finite() {
            f.write_str(&end)
        } else {
            write!(f, "{}:{end}", format_number(self.start))
        }
    }
}

/// Parses a comma-separated list of ranges (`5,4,3`), as check_load takes.
///
/// A list shorter than `count` repeats its last range; a longer one is an error.
pub fn parse_list(text: &str, count: usize) -> Result<Vec<Range>, RangeListError> {
    let mut ranges = Vec::with_capacity(count);
    for part in text.split(',') {
        ranges.push(part.parse::<Range>().map_err(RangeListError::Range)?);
    }
    if ranges.len() > count {
        return Err(RangeListError::TooMany {
            given: ranges.len(),
            max: count,
        });
    }
    while ranges.len() < count {
        let last = ranges[ranges.len() - 1];
        ranges.push(last);
    }
    Ok(ranges)
}

/// Why a list of ranges was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeListError {
    /// One element is not a valid range.
    Range(RangeError),
    /// More elements than the option takes.
    TooMany { given: usize, max: usize },
}

impl fmt::Display for RangeListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RangeListError::Range(e) => e.fmt(f),
            RangeListError::TooMany { given, max } => {
                write!(f, "{given} values given, at most {max} allowed")
            }
        }
    }
}

impl std::error::Error for RangeListError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Range {
        s.parse().unwrap()
    }

    #[test]
    fn bare_number_is_zero_to_n() {
        let range = r("6");
        assert_eq!((range.start, range.end, range.inside), (0.0, 6.0, false));
        assert!(!range.alerts(0.0));
        assert!(!range.alerts(6.0));
        assert!(range.alerts(6.1));
        assert!(range.alerts(-0.1));
    }

    #[test]
    fn negative_start() {
        let range = r("-7:23");
        assert_eq!((range.start, range.end), (-7.0, 23.0));
        assert!(!range.alerts(-7.0));
        assert!(range.alerts(-7.5));
        assert!(range.alerts(23.5));
    }

    #[test]
    fn empty_start_is_zero() {
        let range = r(":5.75");
        assert_eq!((range.start, range.end), (0.0, 5.75));
    }

    #[test]
    fn minus_infinity() {
        let range = r("~:-95.99");
        assert_eq!((range.start, range.end), (f64::NEG_INFINITY, -95.99));
        assert!(!range.alerts(-1000.0));
        assert!(range.alerts(-95.0));

        let range = r("~:0");
        assert!(range.alerts(0.5));
        assert!(!range.alerts(-10.0));
        assert!(!range.alerts(0.0));
    }

    #[test]
    fn open_end() {
        let range = r("10:");
        assert_eq!((range.start, range.end), (10.0, f64::INFINITY));
        assert!(range.alerts(9.9));
        assert!(!range.alerts(1e12));
    }

    #[test]
    fn inside_ranges() {
        let range = r("@0:657.8210567");
        assert!(range.inside);
        assert!(range.alerts(32.88));
        assert!(range.alerts(657.8210567));
        assert!(range.alerts(0.0));
        assert!(!range.alerts(-2.0));
        assert!(!range.alerts(657.83));

        let range = r("@1:1");
        assert!(range.alerts(1.0));
        assert!(!range.alerts(0.5));
        assert!(!range.alerts(1.5));
    }

    #[test]
    fn single_point() {
        let range = r("1:1");
        assert!(range.alerts(0.5));
        assert!(range.alerts(5.2));
        assert!(!range.alerts(1.0));
    }

    #[test]
    fn rejects_bad_ranges() {
        assert_eq!("".parse::<Range>(), Err(RangeError::Empty));
        assert_eq!("@".parse::<Range>(), Err(RangeError::Empty));
        assert!(matches!(
            "2:1".parse::<Range>(),
            Err(RangeError::StartAfterEnd { .. })
        ));
        assert!(matches!(
            "abc".parse::<Range>(),
            Err(RangeError::BadNumber { .. })
        ));
        assert!("inf".parse::<Range>().is_err());
        assert!("nan".parse::<Range>().is_err());
        assert!("1:2:3".parse::<Range>().is_err());
        assert!("~".parse::<Range>().is_err());
        assert!("5:~".parse::<Range>().is_err());
    }

    #[test]
    fn display_round_trips() {
        for text in [
            "6",
            "-7:23",
            "~:-95.99",
            "~:0",
            "@657.8210567",
            "@1:1",
            "1:1",
            "10:",
            "~:",
            "0:",
            "@10:20",
            "0.5",
        ] {
            let range = r(text);
            assert_eq!(range.to_string(), text, "display of {text}");
            assert_eq!(r(&range.to_string()), range, "round trip of {text}");
        }
        for (text, canonical) in [
            ("0:6", "6"),
            (":5.75", "5.75"),
            ("@0:657.8210567", "@657.8210567"),
        ] {
            let range = r(text);
            assert_eq!(range.to_string(), canonical);
            assert_eq!(r(canonical), range);
        }
    }

    #[test]
    fn perfdata_text_is_plain_for_upper_bounds() {
        assert_eq!(r("6").perfdata_text(), "6");
        assert_eq!(r("0:6").perfdata_text(), "6");
        assert_eq!(r("~:6").perfdata_text(), "6");
        assert_eq!(r("1:").perfdata_text(), "1:");
        assert_eq!(r("@0:6").perfdata_text(), "@6");
        assert_eq!(r("2:6").perfdata_text(), "2:6");
    }

    #[test]
    fn lists_repeat_their_last_value() {
        let list = parse_list("5,4", 3).unwrap();
        assert_eq!(list, vec![r("5"), r("4"), r("4")]);
        let list = parse_list("1:2", 3).unwrap();
        assert_eq!(list, vec![r("1:2"); 3]);
        assert_eq!(
            parse_list("1,2,3,4", 3),
            Err(RangeListError::TooMany { given: 4, max: 3 })
        );
        assert!(parse_list("1,,3", 3).is_err());
        assert!(parse_list("", 3).is_err());
    }
}
