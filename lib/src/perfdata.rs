//! Performance data: `'label'=value[UOM];[warn];[crit];[min];[max]`.

use std::fmt;

use crate::number::format_number;
use crate::range::Range;
use crate::thresholds::Thresholds;

/// Units of measurement the plugin guidelines allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Uom {
    /// A plain number.
    #[default]
    None,
    /// Seconds.
    Seconds,
    /// Milliseconds.
    Milliseconds,
    /// Microseconds.
    Microseconds,
    /// Percent.
    Percent,
    /// Bytes.
    Bytes,
    /// Kilobytes.
    Kilobytes,
    /// Megabytes.
    Megabytes,
    /// Gigabytes.
    Gigabytes,
    /// Terabytes.
    Terabytes,
    /// A continuous counter.
    Counter,
}

impl Uom {
    /// The suffix printed after the value.
    pub fn suffix(self) -> &'static str {
        match self {
            Uom::None => "",
            Uom::Seconds => "s",
            Uom::Milliseconds => "ms",
            Uom::Microseconds => "us",
            Uom::Percent => "%",
            Uom::Bytes => "B",
            Uom::Kilobytes => "KB",
            Uom::Megabytes => "MB",
            Uom::Gigabytes => "GB",
            Uom::Terabytes => "TB",
            Uom::Counter => "c",
        }
    }
}

/// One performance data point.
#[derive(Debug, Clone, PartialEq)]
pub struct Perfdata {
    /// Metric name.
    pub label: String,
    /// The value; `None` prints as `U` (could not be measured).
    pub value: Option<f64>,
    /// Unit of the value, warn, crit, min and max.
    pub uom: Uom,
    /// Warning range.
    pub warning: Option<Range>,
    /// Critical range.
    pub critical: Option<Range>,
    /// Smallest possible value.
    pub min: Option<f64>,
    /// Largest possible value.
    pub max: Option<f64>,
}

impl Perfdata {
    /// A point with a value and unit, no thresholds or bounds.
    pub fn new(label: impl Into<String>, value: f64, uom: Uom) -> Perfdata {
        Perfdata {
            label: label.into(),
            value: Some(value),
            uom,
            warning: None,
            critical: None,
            min: None,
            max: None,
        }
    }

    /// A duration in seconds, to the microsecond (`time=0.000104s`).
    pub fn seconds(label: impl Into<String>, duration: std::time::Duration) -> Perfdata {
        let micros = duration.as_micros() as f64;
        Perfdata::new(label, micros / 1e6, Uom::Seconds).min(0.0)
    }

    /// A point whose value could not be measured (`U`).
    pub fn unknown(label: impl Into<String>, uom: Uom) -> Perfdata {
        Perfdata {
            value: None,
            ..Perfdata::new(label, 0.0, uom)
        }
    }

    /// Attaches warning and critical ranges.
    pub fn thresholds(mut self, thresholds: &Thresholds) -> Perfdata {
        self.warning = thresholds.warning;
        self.critical = thresholds.critical;
        self
    }

    /// Warning and critical as plain upper bounds (used-byte levels, say),
    /// which every perfdata consumer parses.
    pub fn levels(mut self, warning: Option<f64>, critical: Option<f64>) -> Perfdata {
        self.warning = warning.map(Range::upto);
        self.critical = critical.map(Range::upto);
        self
    }

    /// Sets the minimum.
    pub fn min(mut self, min: f64) -> Perfdata {
        self.min = Some(min);
        self
    }

    /// Sets the maximum.
    pub fn max(mut self, max: f64) -> Perfdata {
        self.max = Some(max);
        self
    }

    fn quoted_label(&self) -> String {
        let needs_quotes = self.label.is_empty()
            || self
                .label
                .chars()
                .any(|c| c.is_whitespace() || matches!(c, '\'' | '=' | '|' | ';'));
        if needs_quotes {
            format!("'{}'", self.label.replace('\'', "''"))
        } else {
            self.label.clone()
        }
    }
}

impl fmt::Display for Perfdata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let value = match self.value {
            Some(v) if v.is_finite() => format!("{}{}", format_number(v), self.uom.suffix()),
            _ => "U".to_string(),
        };
        let fields = [
            self.warning.map(|r| r.perfdata_text()),
            self.critical.map(|r| r.perfdata_text()),
            self.min.map(format_number),
            self.max.map(format_number),
        ];
        let used = fields
            .iter()
            .rposition(Option::is_some)
            .map_or(0, |i| i + 1);
        write!(f, "{}={value}", self.quoted_label())?;
        for field in &fields[..used] {
            write!(f, ";{}", field.as_deref().unwrap_or(""))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_point() {
        let th = Thresholds::new(Some("5".parse().unwrap()), Some("10".parse().unwrap()));
        let p = Perfdata::new("load1", 0.12, Uom::None)
            .thresholds(&th)
            .min(0.0);
        assert_eq!(p.to_string(), "load1=0.12;5;10;0");
    }

    #[test]
    fn drops_trailing_empty_fields_only() {
        assert_eq!(Perfdata::new("a", 1.0, Uom::None).to_string(), "a=1");
        let p = Perfdata::new("procs", 3.0, Uom::None).min(0.0);
        assert_eq!(p.to_string(), "procs=3;;;0");
        let th = Thresholds::new(None, Some("1:".parse().unwrap()));
        let p = Perfdata::new("procs", 3.0, Uom::None)
            .thresholds(&th)
            .min(0.0);
        assert_eq!(p.to_string(), "procs=3;;1:;0");
    }

    #[test]
    fn quotes_labels_when_needed() {
        assert_eq!(
            Perfdata::new("/var lib", 1.0, Uom::Bytes).to_string(),
            "'/var lib'=1B"
        );
        assert_eq!(
            Perfdata::new("it's", 1.0, Uom::None).to_string(),
            "'it''s'=1"
        );
        assert_eq!(Perfdata::new("a=b", 1.0, Uom::None).to_string(), "'a=b'=1");
        assert_eq!(Perfdata::new("/", 1.0, Uom::None).to_string(), "/=1");
    }

    #[test]
    fn tiny_times_are_not_scientific() {
        let p = Perfdata::new("time", 0.000004, Uom::Seconds);
        assert_eq!(p.to_string(), "time=0.000004s");
    }

    #[test]
    fn durations_in_seconds() {
        let p = Perfdata::seconds("time", std::time::Duration::from_nanos(104_400));
        assert_eq!(p.to_string(), "time=0.000104s;;;0");
    }

    #[test]
    fn unknown_value() {
        let p = Perfdata::unknown("time", Uom::Seconds).min(0.0);
        assert_eq!(p.to_string(), "time=U;;;0");
        let p = Perfdata::new("x", f64::NAN, Uom::None);
        assert_eq!(p.to_string(), "x=U");
    }

    #[test]
    fn every_uom() {
        let cases = [
            (Uom::None, ""),
            (Uom::Seconds, "s"),
            (Uom::Milliseconds, "ms"),
            (Uom::Microseconds, "us"),
            (Uom::Percent, "%"),
            (Uom::Bytes, "B"),
            (Uom::Kilobytes, "KB"),
            (Uom::Megabytes, "MB"),
            (Uom::Gigabytes, "GB"),
            (Uom::Terabytes, "TB"),
            (Uom::Counter, "c"),
        ];
        for (uom, suffix) in cases {
            assert_eq!(
                Perfdata::new("v", 2.0, uom).to_string(),
                format!("v=2{suffix}")
            );
        }
    }

    #[test]
    fn ranges_that_are_not_upper_bounds_keep_range_syntax() {
        let th = Thresholds::new(
            Some("~:20".parse().unwrap()),
            Some("@10:20".parse().unwrap()),
        );
        let p = Perfdata::new("x", 1.0, Uom::None).thresholds(&th);
        assert_eq!(p.to_string(), "x=1;20;@10:20");
        let th = Thresholds::new(Some("10:".parse().unwrap()), Some("0:30".parse().unwrap()));
        let p = Perfdata::new("x", 1.0, Uom::None)
            .thresholds(&th)
            .max(100.0);
        assert_eq!(p.to_string(), "x=1;10:;30;;100");
    }
}
