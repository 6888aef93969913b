//! Option groups every plugin shares, as clap pieces to `#[command(flatten)]`.
//!
//! Names follow the C monitoring-plugins so a command definition keeps
//! working when `check_x` is swapped for `check_x_rs`.

use clap::{ArgAction, Args};

use crate::output::OutputFormat;
use crate::range::Range;
use crate::thresholds::Thresholds;
use crate::timeout::TimeoutSpec;

/// Options of every plugin: `-v`, `-t`, `--output-format`, `--extra-opts`.
/// (`-h/--help` and `-V/--version` come from clap.)
#[derive(Args, Debug, Clone, Default)]
pub struct CommonArgs {
    /// Show details for command-line debugging (repeat up to 3 times)
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count)]
    pub verbose: u8,

    /// Seconds before the plugin gives up, and the state it then ends in
    /// (default CRITICAL), e.g. 20, 20:UNKNOWN, :warning
    #[arg(
        short = 't',
        long = "timeout",
        value_name = "SECONDS[:STATE]",
        default_value = "10"
    )]
    pub timeout: TimeoutSpec,

    /// Output format: the classic plugin text, or the same result as JSON
    #[arg(long = "output-format", value_name = "FORMAT", default_value = "text")]
    pub output_format: OutputFormat,

    /// Read options from section SECTION (default: the plugin's name) of an
    /// ini FILE (default: the monitoring-plugins locations); they come before
    /// the command line's
    #[arg(long = "extra-opts", value_name = "[SECTION][@FILE]", num_args = 0..=1, require_equals = true)]
    pub extra_opts: Option<Option<String>>,
}

impl CommonArgs {
    /// Verbosity 0-3 (more `-v` counts as 3).
    pub fn verbosity(&self) -> u8 {
        self.verbose.min(3)
    }
}

/// Options of network plugins: `-H`, `-p`, `-4`, `-6`.
#[derive(Args, Debug, Clone, Default)]
pub struct NetArgs {
    /// Host name or address of the server
    #[arg(short = 'H', long = "hostname", value_name = "ADDRESS")]
    pub hostname: String,

    /// Port number (default: the protocol's)
    #[arg(short = 'p', long = "port", value_name = "INTEGER", value_parser = parse_port)]
    pub port: Option<u16>,

    /// Use IPv4 only
    #[arg(short = '4', long = "use-ipv4", conflicts_with = "use_ipv6")]
    pub use_ipv4: bool,

    /// Use IPv6 only
    #[arg(short = '6', long = "use-ipv6")]
    pub use_ipv6: bool,
}

/// A TCP or UDP port as the C plugins accept it: 1 to 65535 (0 is refused,
/// as C's `is_intpos` does).
pub fn parse_port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u32>() {
        Ok(port @ 1..=65535) => Ok(port as u16),
        _ => Err("a port is a number from 1 to 65535".to_string()),
    }
}

/// Where local plugins read the kernel's files; only tests point it elsewhere.
#[derive(Args, Debug, Clone)]
pub struct ProcRootArgs {
    /// Root of the /proc tree to read (for tests on fixtures)
    #[arg(
        long = "proc-root",
        value_name = "DIR",
        default_value = "/proc",
        hide = true
    )]
    pub proc_root: std::path::PathBuf,
}

impl ProcRootArgs {
    /// A reader at that root.
    pub fn procfs(&self) -> crate::procfs::ProcFs {
        crate::procfs::ProcFs::new(&self.proc_root)
    }
}

/// `-w/--warning` and `-c/--critical` as single ranges.
#[derive(Args, Debug, Clone, Default)]
pub struct ThresholdArgs {
    /// Warning range ([@][start:][end], e.g. 10, 10:, ~:10, 10:20, @10:20)
    #[arg(
        short = 'w',
        long = "warning",
        value_name = "RANGE",
        allow_hyphen_values = true
    )]
    pub warning: Option<Range>,

    /// Critical range ([@][start:][end])
    #[arg(
        short = 'c',
        long = "critical",
        value_name = "RANGE",
        allow_hyphen_values = true
    )]
    pub critical: Option<Range>,
}

impl ThresholdArgs {
    /// The pair as thresholds.
    pub fn thresholds(&self) -> Thresholds {
        Thresholds::new(self.warning, self.critical)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::State;
    use clap::Parser;

    #[derive(Parser, Debug)]
    struct Demo {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        net: NetArgs,
        #[command(flatten)]
        th: ThresholdArgs,
    }

    #[test]
    fn common_defaults() {
        let d = Demo::try_parse_from(["demo", "-H", "x"]).unwrap();
        assert_eq!(d.common.timeout, TimeoutSpec::default());
        assert_eq!(d.common.output_format, OutputFormat::Text);
        assert_eq!(d.common.verbosity(), 0);
        assert!(!d.th.thresholds().is_set());
    }

    #[test]
    fn c_plugin_option_names() {
        let d = Demo::try_parse_from([
            "demo",
            "-H",
            "mail",
            "-p",
            "25",
            "-4",
            "-t",
            "20:UNKNOWN",
            "-vvvv",
            "-w",
            "~:-5",
            "-c",
            "@10:20",
        ])
        .unwrap();
        assert_eq!(d.net.hostname, "mail");
        assert_eq!(d.net.port, Some(25));
        assert!(d.net.use_ipv4);
        assert_eq!(d.common.timeout.state, State::Unknown);
        assert_eq!(d.common.verbosity(), 3);
        assert_eq!(d.th.warning.unwrap().end, -5.0);
        assert!(d.th.critical.unwrap().inside);
    }

    #[test]
    fn bad_values_are_errors() {
        assert!(Demo::try_parse_from(["demo", "-H", "x", "-4", "-6"]).is_err());
        assert!(Demo::try_parse_from(["demo", "-H", "x", "-w", "2:1"]).is_err());
        assert!(Demo::try_parse_from(["demo", "-H", "x", "-t", "0"]).is_err());
        assert!(Demo::try_parse_from(["demo", "-H", "x", "-p", "70000"]).is_err());
        assert!(Demo::try_parse_from(["demo", "-H", "x", "-p", "0"]).is_err());
        assert_eq!(parse_port("65535"), Ok(65535));
        assert_eq!(
            parse_port("0"),
            Err("a port is a number from 1 to 65535".into())
        );
    }
}
