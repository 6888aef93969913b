//! rsplugins: the conventions every plugin of the suite shares.
//!
//! A plugin declares its options (clap), acquires data and evaluates it into a
//! [`CheckResult`]; everything else (states, ranges, perfdata, output, exit
//! codes, timeouts, signals, secrets, `--extra-opts`) lives here, once.

pub mod alarm;
pub mod argv;
pub mod bytes;
pub mod clock;
pub mod error;
pub mod exec;
pub mod extra_opts;
#[cfg(feature = "net")]
pub mod net;
pub mod number;
pub mod options;
pub mod output;
pub mod perfdata;
pub mod procfs;
pub mod range;
pub mod result;
pub mod runner;
pub mod secret;
pub mod state;
pub mod statefile;
pub mod syslog;
pub mod thresholds;
pub mod timeout;
#[cfg(feature = "tls")]
pub mod tls;
pub mod userfile;

pub use clap;
pub use error::CheckError;
pub use perfdata::{Perfdata, Uom};
pub use range::Range;
pub use result::CheckResult;
pub use state::State;
pub use thresholds::Thresholds;
