//! check_dig_rs: C check_dig's options and output on the shared engine.
//! `-H` is the server (default 127.0.0.1, ::1 with -6), `-l` the name,
//! `-T` the type, `-a` an exact record value (C: a substring of any answer
//! line).

use std::time::{Duration, Instant};

use clap::{ArgAction, Parser};
use hickory_proto::rr::RecordType;
use rsplugins::net::runtime::block_on;
use rsplugins::net::{AddressFamily, Deadline, Failure};
use rsplugins::options::{CommonArgs, ThresholdArgs};
use rsplugins::{CheckError, CheckResult, State};

use crate::engine::{self, Exchange, Options, Question, FLAG_NAMES, NOERROR};
use crate::expect::{Comparison, Expected};
use crate::records::{self, AnswerSet, Rr};
use crate::serial::{self, SerialArgs, SerialFacts};
use crate::server::{self, Server};
use crate::{flatten_expected, parse_expected, ExpectedList};

/// Service name on the first output line (C's).
pub const SERVICE: &str = "DNS";

/// What `-A` may pass, as dig spells it.
const SUPPORTED_DIG_ARGUMENTS: &str = "+tcp, +notcp, +vc, +norecurse, +recurse, +dnssec, +nodnssec";

/// Check a DNS query's answer as C check_dig does.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_dig_rs",
    version,
    about = "Check that a DNS query of a type gets the expected answer from a server \
             (drop-in for check_dig)"
)]
pub struct Args {
    /// The server to ask: HOST, HOST:PORT or [IPv6]:PORT (default: 127.0.0.1, ::1 with -6)
    #[arg(short = 'H', long = "hostname", value_name = "ADDRESS")]
    pub hostname: Option<String>,

    /// The server's port (default: 53)
    #[arg(short = 'p', long = "port", value_name = "INTEGER", value_parser = rsplugins::options::parse_port)]
    pub port: Option<u16>,

    /// The name to look up
    #[arg(short = 'l', long = "query_address", value_name = "NAME")]
    pub query_address: String,

    /// Record type: A, AAAA, CNAME, MX, NS, SOA, TXT, PTR, SRV, CAA, any other by name or as
    /// TYPE123 (default: A)
    #[arg(
        short = 'T',
        long = "record_type",
        value_name = "TYPE",
        default_value = "A",
        value_parser = records::parse_type
    )]
    pub record_type: RecordType,

    /// An expected record value, exact (not a substring): an address, a CIDR block, a target
    /// name, or the record's text as dig shows it; comma-separated, repeatable, any one suffices
    #[arg(
        short = 'a',
        long = "expected_address",
        value_name = "VALUE",
        action = ArgAction::Append,
        value_parser = parse_expected
    )]
    pub expected: Vec<ExpectedList>,

    /// Header flags the reply must have (aa, ad, tc, rd, ra, cd, qr), comma-separated
    #[arg(short = 'E', long = "require-flags", value_name = "FLAGS", action = ArgAction::Append, value_parser = parse_flags)]
    pub require_flags: Vec<FlagList>,

    /// Header flags the reply must not have, comma-separated
    #[arg(short = 'X', long = "forbid-flags", value_name = "FLAGS", action = ArgAction::Append, value_parser = parse_flags)]
    pub forbid_flags: Vec<FlagList>,

    /// dig options to honour: +tcp, +norecurse, +dnssec (and their opposites); others are
    /// refused
    #[arg(short = 'A', long = "dig-arguments", value_name = "STRING", value_parser = parse_dig_arguments)]
    pub dig_arguments: Option<DigArguments>,

    /// Response time (seconds) thresholds
    #[command(flatten)]
    pub thresholds: ThresholdArgs,

    /// Ask the server over IPv4 only
    #[arg(short = '4', long = "use-ipv4", conflicts_with = "use_ipv6")]
    pub use_ipv4: bool,

    /// Ask the server over IPv6 only
    #[arg(short = '6', long = "use-ipv6")]
    pub use_ipv6: bool,

    /// Ask over TCP (as +tcp)
    #[arg(long = "tcp")]
    pub tcp: bool,

    #[command(flatten)]
    pub serials: SerialArgs,

    #[command(flatten)]
    pub common: CommonArgs,

    /// The server after the options, as C check_dig accepts it
    #[arg(value_name = "SERVER", hide = true, id = "positional")]
    pub positional: Option<String>,
}

rsplugins::plugin_entry!(Args, SERVICE, check);

/// Flags of one `-E`/`-X`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagList(pub Vec<&'static str>);

/// `aa,rd`: dig's flag names.
pub fn parse_flags(text: &str) -> Result<FlagList, String> {
    text.split([',', ' '])
        .filter(|f| !f.is_empty())
        .map(|f| {
            let lower = f.to_ascii_lowercase();
            FLAG_NAMES
                .iter()
                .find(|n| **n == lower)
                .copied()
                .ok_or_else(|| format!("'{f}' is not a flag (use {})", FLAG_NAMES.join(", ")))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(FlagList)
}

/// What `-A` asks of the query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DigArguments {
    /// `+tcp`/`+vc`.
    pub tcp: Option<bool>,
    /// `+recurse`/`+norecurse`.
    pub recurse: Option<bool>,
    /// `+dnssec`.
    pub dnssec: Option<bool>,
}

/// Parses `-A`: the dig options we can honour (dig's unique prefixes of
/// them too, e.g. `+norec`); any other is refused, named.
pub fn parse_dig_arguments(text: &str) -> Result<DigArguments, String> {
    let mut out = DigArguments::default();
    let mut refused = Vec::new();
    for word in text.split_whitespace() {
        let option = word.strip_prefix('+').map(|o| o.to_ascii_lowercase());
        let (negated, name) = match option.as_deref() {
            Some(o) => match o.strip_prefix("no") {
                Some(rest) => (true, rest.to_string()),
                None => (false, o.to_string()),
            },
            None => (false, String::new()),
        };
        // dig accepts an option shortened while it stays unambiguous.
        let is = |full: &str, min: usize| name.len() >= min && full.starts_with(name.as_str());
        if option.is_some() && (is("tcp", 3) || is("vc", 2)) {
            out.tcp = Some(!negated);
        } else if option.is_some() && is("recurse", 3) {
            out.recurse = Some(!negated);
        } else if option.is_some() && is("dnssec", 3) {
            out.dnssec = Some(!negated);
        } else {
            refused.push(word.to_string());
        }
    }
    if refused.is_empty() {
        Ok(out)
    } else {
        Err(format!(
            "unsupported dig argument{} {} (supported: {SUPPORTED_DIG_ARGUMENTS})",
            if refused.len() == 1 { "" } else { "s" },
            refused.join(" ")
        ))
    }
}

/// What was asked and answered.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    /// The exchange.
    pub exchange: Exchange,
    /// `--compare-serial`'s findings.
    pub serials: Option<SerialFacts>,
}

/// The server: `-H`, else the word after the options, else loopback of
/// the family asked for.
pub fn server(args: &Args) -> Result<Server, CheckError> {
    let port = args.port.unwrap_or(server::DNS_PORT);
    let host = match (&args.hostname, &args.positional) {
        (Some(h), None) | (None, Some(h)) => h.clone(),
        (Some(_), Some(word)) => {
            return Err(CheckError::unknown(format!(
                "unexpected argument '{word}' (the server is given with -H)"
            )))
        }
        (None, None) if args.use_ipv6 => "::1".to_string(),
        (None, None) => "127.0.0.1".to_string(),
    };
    Server::parse(&host, port).map_err(CheckError::unknown)
}

/// The query options from `--tcp` and `-A`.
pub fn options(args: &Args) -> Options {
    let dig = args.dig_arguments.unwrap_or_default();
    let base = Options::default();
    Options {
        tcp: args.tcp || dig.tcp.unwrap_or(base.tcp),
        recursion: dig.recurse.unwrap_or(base.recursion),
        dnssec: dig.dnssec.unwrap_or(base.dnssec),
    }
}

/// Asks the question, then (with `--compare-serial`) the serials.
pub async fn acquire(
    args: &Args,
    server: &Server,
    question: &Question,
    compare: &[Server],
    deadline: Deadline,
) -> Result<Facts, Failure> {
    let family = AddressFamily::from_flags(args.use_ipv4, args.use_ipv6);
    let options = options(args);
    let exchange = engine::ask(server, family, question, options, &deadline).await?;
    let serials = if compare.is_empty() {
        None
    } else {
        Some(
            serial::acquire(
                &question.name_text(),
                server,
                compare,
                family,
                Options {
                    dnssec: false,
                    ..options
                },
                &deadline,
            )
            .await,
        )
    };
    Ok(Facts { exchange, serials })
}

/// Parses, asks and evaluates; a failed exchange by the one failure policy.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let question =
        Question::new(&args.query_address, args.record_type).map_err(CheckError::unknown)?;
    let server = server(&args)?;
    let compare = crate::compare_servers(
        &args.serials.compare_serial,
        args.port.unwrap_or(server::DNS_PORT),
    )?;
    let timeout = args.common.timeout;
    let deadline = Deadline::from_timeout(&timeout);
    let started = Instant::now();
    match block_on(acquire(&args, &server, &question, &compare, deadline))? {
        Ok(facts) => Ok(evaluate(&args, &facts)),
        // C's form even then: the time it took, then what went wrong.
        Err(failure) => Err(CheckError::new(
            failure.state(&timeout, State::Critical),
            format!(
                "{:.3} seconds response time ({})",
                started.elapsed().as_secs_f64(),
                failure.message(false)
            ),
        )),
    }
}

/// A record as the summary shows it, behind the CNAME chain that led to it:
/// `alias.example.test. -> web.example.test. -> www.example.test. 300 IN A ...`.
fn shown(qname: &str, set: &AnswerSet, rr: &Rr) -> String {
    let mut hops: Vec<&str> = vec![qname];
    hops.extend(set.chain.iter().map(String::as_str));
    // The record's own line starts with the chain's last name.
    hops.pop();
    let mut text: String = hops.iter().map(|h| format!("{h} -> ")).collect();
    text.push_str(&rr.line());
    text
}

/// The answer part, in C's words: the record found, `Server not found in
/// ANSWER SECTION` (WARNING) when records came but not the expected one,
/// `No ANSWER SECTION found` (CRITICAL) when none came.
fn answer_part(args: &Args, exchange: &Exchange) -> CheckResult {
    let reply = &exchange.reply;
    let critical = |text: String| {
        CheckResult::with_state(State::Critical, format!("No ANSWER SECTION found: {text}"))
    };
    if reply.rcode != NOERROR {
        return critical(format!(
            "server {} answered {} for {} {}",
            exchange.server,
            reply.rcode_name(),
            exchange.name,
            exchange.rtype
        ));
    }
    let set = AnswerSet::follow(&exchange.name, &exchange.rtype, &reply.answers);
    if let Some(broken) = &set.broken {
        return critical(format!("{}: {broken}", exchange.name));
    }
    let mut records = set.records.clone();
    records.sort_by(|a, b| (a.addr, &a.data).cmp(&(b.addr, &b.data)));
    let Some(first) = records.first() else {
        let via = if set.chain.is_empty() {
            String::new()
        } else {
            format!("-> {} ", set.chain_text())
        };
        return critical(format!(
            "{} {via}has no {} records",
            exchange.name, exchange.rtype
        ));
    };
    let expected = flatten_expected(&args.expected);
    if expected.is_empty() {
        return CheckResult::with_state(State::Ok, shown(&exchange.name, &set, first));
    }
    let comparison = Comparison::of(&expected, &records, &set.chain);
    match comparison.matched.first() {
        Some(hit) => CheckResult::with_state(State::Ok, shown(&exchange.name, &set, hit)),
        None if comparison.any => {
            CheckResult::with_state(State::Ok, shown(&exchange.name, &set, first))
        }
        None => {
            let wanted: Vec<String> = expected.iter().map(Expected::to_string).collect();
            CheckResult::with_state(
                State::Warning,
                format!(
                    "Server not found in ANSWER SECTION: expected '{}' but got '{}'",
                    wanted.join("; "),
                    crate::values_text(&records)
                ),
            )
        }
    }
}

/// `-E`/`-X`: flags that must or must not be set.
fn flags_part(args: &Args, exchange: &Exchange) -> CheckResult {
    let flags = &exchange.reply.flags;
    let missing: Vec<&str> = args
        .require_flags
        .iter()
        .flat_map(|l| l.0.iter().copied())
        .filter(|f| !flags.has(f))
        .collect();
    let present: Vec<&str> = args
        .forbid_flags
        .iter()
        .flat_map(|l| l.0.iter().copied())
        .filter(|f| flags.has(f))
        .collect();
    let mut problems = Vec::new();
    if !missing.is_empty() {
        problems.push(format!("flags {} not set", missing.join(",")));
    }
    if !present.is_empty() {
        problems.push(format!("forbidden flags {} set", present.join(",")));
    }
    if problems.is_empty() {
        CheckResult::with_state(State::Ok, "")
    } else {
        CheckResult::with_state(
            State::Critical,
            format!("{} (flags: {})", problems.join(", "), flags.text()),
        )
    }
}

/// Judges the facts in C check_dig's form, `0.002 seconds response time
/// (www.example.test. 300 IN A 192.0.2.10)`: what is wrong first inside the
/// brackets, the state the worst of the answer, the flags, the serials and
/// the response time, folded by [`CheckResult::of_parts`].
pub fn evaluate(args: &Args, facts: &Facts) -> CheckResult {
    let exchange = &facts.exchange;
    let mut parts = vec![answer_part(args, exchange), flags_part(args, exchange)];
    if let Some(s) = &facts.serials {
        parts.extend(serial::parts(
            s,
            args.serials.critical,
            &args.common.timeout,
        ));
    }
    let inner = CheckResult::of_parts(parts.clone()).summary;
    let elapsed: Duration = exchange.elapsed;
    let time = crate::time_part(&args.thresholds, elapsed, String::new());
    parts.push(time);
    let mut result = CheckResult::of_parts(parts);
    result.summary = format!(
        "{:.3} seconds response time ({inner})",
        elapsed.as_secs_f64()
    );
    if args.common.verbosity() > 0 {
        result.details.extend(exchange.details());
        if let Some(s) = &facts.serials {
            result.details.extend(serial::details(s));
        }
    }
    result.datum("exchange", exchange.data());
    if let Some(s) = &facts.serials {
        result.datum("serials", serial::data(s));
    }
    result
}

#[cfg(test)]
mod tests;
