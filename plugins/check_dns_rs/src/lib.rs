//! check_dns_rs and check_dig_rs: DNS checks that speak DNS themselves (C's
//! run nslookup and dig and read their text), on one query engine.
//!
//! check_dns_rs (this module, C check_dns's options) asks "does this name
//! resolve, to exactly what, from this server, authoritatively?";
//! check_dig_rs ([`dig`], C check_dig's options) asks "does this query of
//! this type get this answer?". Both: acquire (the engine asks, returns
//! plain facts) then a pure `evaluate` of those facts.

pub mod dig;
pub mod engine;
pub mod expect;
pub mod records;
pub mod serial;
pub mod server;

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::{ArgAction, Parser};
use hickory_proto::rr::RecordType;
use rsplugins::net::runtime::block_on;
use rsplugins::net::{AddressFamily, Deadline, Failure};
use rsplugins::options::{CommonArgs, ThresholdArgs};
use rsplugins::{CheckError, CheckResult, Perfdata, State};

use engine::{Exchange, Options, Question, NOERROR, NXDOMAIN};
use expect::{Comparison, Expected};
use records::{AnswerSet, Rr};
use serial::{SerialArgs, SerialFacts};
use server::Server;

/// Service name on the first output line (C's).
pub const SERVICE: &str = "DNS";

/// Most answer values shown on the first line (all are in `-v`).
pub const SHOWN_VALUES: usize = 20;

/// Check a DNS server as C check_dns does.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "check_dns_rs",
    version,
    about = "Check that a name resolves on a DNS server, to exactly the expected answer, \
             authoritatively if asked (drop-in for check_dns)"
)]
pub struct Args {
    /// The name to look up; an IPv4 or IPv6 address is looked up as its PTR record
    #[arg(short = 'H', long = "hostname", value_name = "NAME")]
    pub hostname: String,

    /// The server to ask: HOST, HOST:PORT or [IPv6]:PORT (default: the first nameserver of
    /// /etc/resolv.conf)
    #[arg(short = 's', long = "server", value_name = "HOST")]
    pub server: Option<String>,

    /// The server's port (default: 53)
    #[arg(short = 'p', long = "port", value_name = "INTEGER", value_parser = rsplugins::options::parse_port)]
    pub port: Option<u16>,

    /// Record type to ask for: A, AAAA, CNAME, MX, NS, SOA, TXT, PTR, SRV, CAA, any other by
    /// name or as TYPE123 (default: A and AAAA, as C's check_dns)
    #[arg(short = 'q', long = "querytype", value_name = "TYPE", value_parser = records::parse_type)]
    pub querytype: Option<RecordType>,

    /// An expected answer: an address, a CIDR block (IPv4 or IPv6), a name ending in a dot (a
    /// CNAME, MX, NS, PTR or SRV target), or a record's text; comma-separated, repeatable. OK when
    /// any is in the answer (all of them and nothing else with -L)
    #[arg(
        short = 'a',
        long = "expected-address",
        value_name = "ADDRESS|CIDR|NAME.",
        action = ArgAction::Append,
        value_parser = parse_expected
    )]
    pub expected: Vec<ExpectedList>,

    /// The answer must be exactly the expected set: nothing missing, nothing extra
    #[arg(short = 'L', long = "all")]
    pub all: bool,

    /// Expect the server to answer NXDOMAIN (the name does not exist)
    #[arg(short = 'n', long = "expect-nxdomain", conflicts_with = "expected")]
    pub expect_nxdomain: bool,

    /// Expect the server to be authoritative (the AA flag) for the name
    #[arg(short = 'A', long = "expect-authority")]
    pub expect_authority: bool,

    /// Response time (seconds) thresholds
    #[command(flatten)]
    pub thresholds: ThresholdArgs,

    /// Ask the server over IPv4 only
    #[arg(short = '4', long = "use-ipv4", conflicts_with = "use_ipv6")]
    pub use_ipv4: bool,

    /// Ask the server over IPv6 only
    #[arg(short = '6', long = "use-ipv6")]
    pub use_ipv6: bool,

    /// Ask over TCP (without it: UDP, and TCP again when the reply is truncated)
    #[arg(long = "tcp")]
    pub tcp: bool,

    #[command(flatten)]
    pub serials: SerialArgs,

    /// The resolver configuration the default server is read from (for tests)
    #[arg(
        long = "resolv-conf",
        value_name = "FILE",
        default_value = "/etc/resolv.conf",
        hide = true
    )]
    pub resolv_conf: PathBuf,

    #[command(flatten)]
    pub common: CommonArgs,
}

// C's form is `DNS CRITICAL - what is wrong`; the colon form only for a
// right answer (evaluate sets it).
rsplugins::plugin_entry!(Args, SERVICE, check);

/// The clap definitions of both binaries (check_dns_rs, then check_dig_rs),
/// for the man pages and command definitions: this crate builds two plugins.
pub fn commands() -> Vec<clap::Command> {
    vec![command(), dig::command()]
}

/// The values of one `-a`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedList(pub Vec<Expected>);

/// `-a` values: comma-separated expectations.
pub fn parse_expected(text: &str) -> Result<ExpectedList, String> {
    Expected::parse_all(&[text.to_string()]).map(ExpectedList)
}

/// All expectations of repeated `-a`s.
pub fn flatten_expected(lists: &[ExpectedList]) -> Vec<Expected> {
    lists.iter().flat_map(|l| l.0.iter().cloned()).collect()
}

/// What was asked and answered: plain facts, judged by [`evaluate`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Facts {
    /// One exchange per type asked (A and AAAA by default).
    pub lookups: Vec<Exchange>,
    /// From the first question sent to the last reply.
    pub elapsed: Duration,
    /// `--compare-serial`'s findings.
    pub serials: Option<SerialFacts>,
}

/// The questions `-H` and `-q` ask: an address is looked up as its PTR
/// record (as nslookup does for A, AAAA and PTR); a name without `-q` as
/// A and AAAA, as nslookup does for C's check_dns.
pub fn questions(args: &Args) -> Result<Vec<Question>, CheckError> {
    let name = args.hostname.trim();
    if let Ok(addr) = name.parse::<IpAddr>() {
        if matches!(
            args.querytype,
            None | Some(RecordType::A | RecordType::AAAA | RecordType::PTR)
        ) {
            return Ok(vec![Question::reverse(addr)]);
        }
    }
    let types = match args.querytype {
        Some(t) => vec![t],
        None => vec![RecordType::A, RecordType::AAAA],
    };
    types
        .into_iter()
        .map(|t| Question::new(name, t).map_err(CheckError::unknown))
        .collect()
}

/// The server `-s` names, or the first nameserver of resolv.conf.
pub fn server(args: &Args) -> Result<Server, CheckError> {
    let port = args.port.unwrap_or(server::DNS_PORT);
    match &args.server {
        Some(s) => Server::parse(s, port),
        None => server::from_resolv_conf(&args.resolv_conf, port),
    }
    .map_err(CheckError::unknown)
}

/// Servers named by `--compare-serial`.
pub fn compare_servers(values: &[String], port: u16) -> Result<Vec<Server>, CheckError> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|s| Server::parse(s, port).map_err(CheckError::unknown))
        .collect()
}

/// Asks the questions side by side, then (with `--compare-serial`) the
/// serials.
pub async fn acquire(
    args: &Args,
    server: &Server,
    questions: &[Question],
    compare: &[Server],
    deadline: Deadline,
) -> Result<Facts, Failure> {
    let family = AddressFamily::from_flags(args.use_ipv4, args.use_ipv6);
    let options = Options {
        tcp: args.tcp,
        ..Options::default()
    };
    let started = Instant::now();
    let asks = questions
        .iter()
        .map(|q| engine::ask(server, family, q, options, &deadline))
        .collect();
    let lookups = engine::join_all(asks)
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    let elapsed = started.elapsed();
    let serials = if compare.is_empty() {
        None
    } else {
        let name = questions
            .first()
            .map(Question::name_text)
            .unwrap_or_default();
        Some(serial::acquire(&name, server, compare, family, options, &deadline).await)
    };
    Ok(Facts {
        lookups,
        elapsed,
        serials,
    })
}

/// Parses, asks and evaluates; a failed exchange (time-out, refusal,
/// malformed reply) by the one failure policy.
pub fn check(args: Args) -> Result<CheckResult, CheckError> {
    let questions = questions(&args)?;
    let server = server(&args)?;
    let port = args.port.unwrap_or(server::DNS_PORT);
    let compare = compare_servers(&args.serials.compare_serial, port)?;
    let timeout = args.common.timeout;
    let deadline = Deadline::from_timeout(&timeout);
    match block_on(acquire(&args, &server, &questions, &compare, deadline))? {
        Ok(facts) => Ok(evaluate(&args, &facts)),
        Err(failure) => Err(failure.into_check_error(&timeout, State::Critical, false)),
    }
}

/// `0.025 seconds response time` (C's `second` for 1.x s, as its ngettext).
pub fn response_time(elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let unit = if secs as u64 == 1 {
        "second"
    } else {
        "seconds"
    };
    format!("{secs:.3} {unit} response time")
}

/// Answer values as the first line shows them: addresses first, in address
/// order (IPv4 before IPv6), then the other records by text; at most
/// [`SHOWN_VALUES`], with the count of the rest.
pub fn values_text(records: &[Rr]) -> String {
    let mut addrs: Vec<IpAddr> = records.iter().filter_map(|r| r.addr).collect();
    addrs.sort_by_key(|a| (a.is_ipv6(), *a));
    addrs.dedup();
    let mut others: Vec<&str> = records
        .iter()
        .filter(|r| r.addr.is_none())
        .map(|r| r.data.as_str())
        .collect();
    others.sort_unstable();
    others.dedup();
    let all: Vec<String> = addrs
        .iter()
        .map(IpAddr::to_string)
        .chain(others.iter().map(|s| s.to_string()))
        .collect();
    if all.len() > SHOWN_VALUES {
        format!(
            "{},... ({} in all)",
            all[..SHOWN_VALUES].join(","),
            all.len()
        )
    } else {
        all.join(",")
    }
}

/// Record values in the order the first line shows them: addresses in
/// address order (IPv4 first), then the rest by text; duplicates once.
pub fn in_value_order(values: &[String]) -> Vec<String> {
    let mut sorted: Vec<&String> = values.iter().collect();
    sorted.sort_by_key(|v| match v.parse::<IpAddr>() {
        Ok(a) => (0, a.is_ipv6(), Some(a), String::new()),
        Err(_) => (1, false, None, v.to_string()),
    });
    sorted.dedup();
    sorted.into_iter().cloned().collect()
}

/// The time part: judged by `-w`/`-c`, with C's perfdata point.
pub fn time_part(thresholds: &ThresholdArgs, elapsed: Duration, text: String) -> CheckResult {
    let thresholds = thresholds.thresholds();
    let mut part = CheckResult::with_state(thresholds.evaluate(elapsed.as_secs_f64()), text);
    part.perf(Perfdata::seconds("time", elapsed).thresholds(&thresholds));
    part
}

fn type_list(lookups: &[Exchange]) -> String {
    lookups
        .iter()
        .map(|l| l.rtype.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The answer part: the response code, the records (through CNAMEs),
/// `-n`, and `-a` with or without `-L`.
fn answer_part(args: &Args, facts: &Facts) -> CheckResult {
    let name = args.hostname.trim();
    let lookups = &facts.lookups;
    let critical = |text: String| CheckResult::with_state(State::Critical, text);
    if let Some(bad) = lookups
        .iter()
        .find(|l| l.reply.rcode != NOERROR && l.reply.rcode != NXDOMAIN)
    {
        return critical(format!(
            "server {} answered {} for {name} ({})",
            bad.server,
            bad.reply.rcode_name(),
            bad.rtype
        ));
    }
    if lookups.iter().any(|l| l.reply.rcode == NXDOMAIN) {
        return if args.expect_nxdomain {
            CheckResult::with_state(State::Ok, format!("{name} returns NXDOMAIN"))
        } else {
            critical(format!("Domain '{name}' was not found by the server"))
        };
    }
    let sets: Vec<AnswerSet> = lookups
        .iter()
        .map(|l| AnswerSet::follow(&l.name, &l.rtype, &l.reply.answers))
        .collect();
    if let Some(broken) = sets.iter().find_map(|s| s.broken.clone()) {
        return critical(format!("{name}: {broken}"));
    }
    let records: Vec<Rr> = sets.iter().flat_map(|s| s.records.clone()).collect();
    let chain = sets
        .iter()
        .find(|s| !s.chain.is_empty())
        .map(|s| s.chain.clone())
        .unwrap_or_default();
    let values = values_text(&records);
    let via = if chain.is_empty() {
        String::new()
    } else {
        format!("{} -> ", chain.join(" -> "))
    };
    if args.expect_nxdomain {
        return critical(format!(
            "Domain '{name}' was found by the server: '{via}{values}'"
        ));
    }
    if records.is_empty() {
        return critical(format!(
            "{name} {}has no {} records",
            via,
            type_list(lookups)
        ));
    }
    let expected = flatten_expected(&args.expected);
    if !expected.is_empty() {
        let comparison = Comparison::of(&expected, &records, &chain);
        if !comparison.ok(args.all) {
            let wanted: Vec<String> = expected.iter().map(Expected::to_string).collect();
            let mut text = format!("expected '{}' but got '{via}{values}'", wanted.join("; "));
            if args.all {
                let mut gaps = Vec::new();
                if !comparison.missing.is_empty() {
                    gaps.push(format!("missing {}", comparison.missing.join(", ")));
                }
                if !comparison.unexpected.is_empty() {
                    gaps.push(format!(
                        "unexpected {}",
                        in_value_order(&comparison.unexpected).join(", ")
                    ));
                }
                text.push_str(&format!(" ({})", gaps.join("; ")));
            }
            return critical(text);
        }
    }
    CheckResult::with_state(State::Ok, format!("{name} returns {via}{values}"))
}

/// `-A`: every reply must carry the AA flag.
fn authority_part(args: &Args, facts: &Facts) -> CheckResult {
    let name = args.hostname.trim();
    match facts.lookups.iter().find(|l| !l.reply.flags.aa) {
        Some(l) if args.expect_authority => CheckResult::with_state(
            State::Critical,
            format!("server {} is not authoritative for {name}", l.server),
        ),
        _ => CheckResult::with_state(State::Ok, ""),
    }
}

/// Judges the facts in C check_dns's words:
/// `0.025 seconds response time. www.example.test returns 192.0.2.10,...`
/// when the answer is right (the state then from `-w`/`-c`), else what is
/// wrong first (`expected '...' but got '...'`, `Domain '...' was not
/// found by the server`, `server ... is not authoritative for ...`),
/// folded by [`CheckResult::of_parts`]. `-v` (and JSON) add every record.
pub fn evaluate(args: &Args, facts: &Facts) -> CheckResult {
    let answer = answer_part(args, facts);
    let authority = authority_part(args, facts);
    // The time is named only where it counts: in C's line, or when slow.
    let mut time = time_part(&args.thresholds, facts.elapsed, String::new());
    if time.state() != State::Ok {
        time.summary = response_time(facts.elapsed);
    }
    let serials = facts
        .serials
        .as_ref()
        .map(|s| serial::parts(s, args.serials.critical, &args.common.timeout))
        .unwrap_or_default();
    let answer_fine = answer.state() == State::Ok
        && authority.state() == State::Ok
        && serials.iter().all(|p| p.state() == State::Ok);
    // C's line when the answer is right: the time, then the answer.
    let c_line = answer_fine.then(|| {
        std::iter::once(format!(
            "{}. {}",
            response_time(facts.elapsed),
            answer.summary
        ))
        .chain(serials.iter().map(|p| p.summary.clone()))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(rsplugins::result::JOINER)
    });
    let mut parts = vec![answer, authority];
    parts.extend(serials);
    parts.push(time);
    let mut result = CheckResult::of_parts(parts);
    if let Some(line) = c_line {
        result.summary = line;
        result.first_line = Some(rsplugins::output::FirstLine::Colon);
    }
    if args.common.verbosity() > 0 {
        for lookup in &facts.lookups {
            result.details.extend(lookup.details());
        }
        if let Some(s) = &facts.serials {
            result.details.extend(serial::details(s));
        }
    }
    let lookups: Vec<_> = facts.lookups.iter().map(Exchange::data).collect();
    result.datum("lookups", serde_json::Value::Array(lookups));
    if let Some(s) = &facts.serials {
        result.datum("serials", serial::data(s));
    }
    result
}

#[cfg(test)]
mod tests;
