//! The network core: connect within the time budget, speak line protocols
//! with bounded reads, and (with the `tls` feature) upgrade to TLS.
//!
//! Protocol code is written against any `AsyncRead + AsyncWrite` stream, so
//! it is tested on scripted streams and reused unchanged over TLS.

pub mod compose;
pub mod connect;
pub mod datagram;
pub mod deadline;
pub mod dialogue;
pub mod error;
pub mod failure;
pub mod lines;
pub mod probe;
pub mod runtime;
pub mod session;
pub mod stream;
pub mod tls_mode;
pub mod transcript;

pub use compose::{count_messages, Composer};
pub use connect::{connect, AddressFamily, Connected};
pub use datagram::{Datagrams, Resend};
pub use deadline::Deadline;
pub use dialogue::{Goodbye, Numeric, Protocol, Verdict};
pub use error::NetError;
pub use failure::Failure;
pub use lines::{printable, Limits, LineStream, Reply};
pub use probe::ProbeArgs;
pub use session::{Session, SessionFacts};
pub use stream::Stream;
pub use tls_mode::{TlsMode, TlsRequest};
pub use transcript::Transcript;
