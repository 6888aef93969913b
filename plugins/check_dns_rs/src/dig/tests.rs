//! check_dig_rs's evaluate on hand-made facts: exact output and state.

use super::*;
use crate::engine::{Flags, Reply, Transport, NXDOMAIN};
use crate::serial::ServerSerial;
use rsplugins::output::render_text;

fn args(extra: &[&str]) -> Args {
    let mut argv = vec!["check_dig_rs", "-H", "127.0.0.1", "-l", "www.example.test"];
    argv.extend_from_slice(extra);
    Args::try_parse_from(argv).unwrap()
}

fn addr(name: &str, text: &str) -> Rr {
    Rr::address(name, 300, text.parse().unwrap())
}

fn facts(rtype: &str, rcode: u16, answers: Vec<Rr>) -> Facts {
    Facts {
        exchange: Exchange {
            name: "www.example.test.".into(),
            rtype: rtype.into(),
            server: "127.0.0.1".into(),
            target: "127.0.0.1 port 53".into(),
            transport: Transport::Udp,
            elapsed: Duration::from_micros(2345),
            reply: Reply {
                rcode,
                flags: Flags {
                    aa: true,
                    rd: true,
                    ..Flags::default()
                },
                answers,
                ..Reply::default()
            },
            ..Exchange::default()
        },
        serials: None,
    }
}

fn www() -> Facts {
    facts(
        "A",
        NOERROR,
        vec![
            addr("www.example.test", "192.0.2.11"),
            addr("www.example.test", "192.0.2.10"),
        ],
    )
}

fn text(args: &Args, facts: &Facts) -> (State, String) {
    let r = evaluate(args, facts);
    (r.state(), render_text(SERVICE, &r))
}

#[test]
fn c_output_form() {
    // The first record in value order, whatever order the server chose.
    assert_eq!(
        text(&args(&[]), &www()),
        (
            State::Ok,
            "DNS OK - 0.002 seconds response time (www.example.test. 300 IN A 192.0.2.10) \
             | time=0.002345s;;;0\n"
                .into()
        )
    );
}

#[test]
fn expected_value_is_exact() {
    assert_eq!(
        text(&args(&["-a", "192.0.2.11"]), &www()).1,
        "DNS OK - 0.002 seconds response time (www.example.test. 300 IN A 192.0.2.11) \
         | time=0.002345s;;;0\n"
    );
    // C matched a substring of the answer line: 192.0.2.1 is not 192.0.2.10.
    assert_eq!(
        text(&args(&["-a", "192.0.2.1"]), &www()),
        (
            State::Warning,
            "DNS WARNING - 0.002 seconds response time (Server not found in ANSWER SECTION: \
             expected '192.0.2.1' but got '192.0.2.10,192.0.2.11') | time=0.002345s;;;0\n"
                .into()
        )
    );
    assert_eq!(text(&args(&["-a", "192.0.2.0/24"]), &www()).0, State::Ok);
    let mx = facts(
        "MX",
        NOERROR,
        vec![Rr::pointing(
            "www.example.test",
            300,
            "MX",
            "10 mail.example.test.",
            "mail.example.test.",
        )],
    );
    for value in [
        "mail.example.test",
        "mail.example.test.",
        "10 mail.example.test.",
    ] {
        assert_eq!(
            text(&args(&["-T", "MX", "-a", value]), &mx).0,
            State::Ok,
            "{value}"
        );
    }
    assert_eq!(
        text(&args(&["-T", "MX", "-a", "mail.example"]), &mx).0,
        State::Warning
    );
}

#[test]
fn no_answer_section() {
    assert_eq!(
        text(&args(&[]), &facts("A", NXDOMAIN, vec![])),
        (
            State::Critical,
            "DNS CRITICAL - 0.002 seconds response time (No ANSWER SECTION found: server \
             127.0.0.1 answered NXDOMAIN for www.example.test. A) | time=0.002345s;;;0\n"
                .into()
        )
    );
    assert_eq!(
        text(&args(&["-T", "AAAA"]), &facts("AAAA", NOERROR, vec![])).1,
        "DNS CRITICAL - 0.002 seconds response time (No ANSWER SECTION found: \
         www.example.test. has no AAAA records) | time=0.002345s;;;0\n"
    );
}

#[test]
fn cname_chain_before_the_record() {
    let chain = facts(
        "A",
        NOERROR,
        vec![
            Rr::pointing(
                "www.example.test",
                300,
                "CNAME",
                "web.example.test.",
                "web.example.test.",
            ),
            Rr::pointing(
                "web.example.test",
                300,
                "CNAME",
                "host.example.test.",
                "host.example.test.",
            ),
            addr("host.example.test", "192.0.2.10"),
        ],
    );
    assert_eq!(
        text(&args(&[]), &chain).1,
        "DNS OK - 0.002 seconds response time (www.example.test. -> web.example.test. -> \
         host.example.test. 300 IN A 192.0.2.10) | time=0.002345s;;;0\n"
    );
    // The chain alone, leaving the answer.
    let dangling = facts(
        "A",
        NOERROR,
        vec![Rr::pointing(
            "www.example.test",
            300,
            "CNAME",
            "x.example.net.",
            "x.example.net.",
        )],
    );
    assert_eq!(
        text(&args(&[]), &dangling).1,
        "DNS CRITICAL - 0.002 seconds response time (No ANSWER SECTION found: \
         www.example.test. -> x.example.net. has no A records) | time=0.002345s;;;0\n"
    );
}

#[test]
fn required_and_forbidden_flags() {
    assert_eq!(
        text(&args(&["-E", "aa,rd", "-X", "ra,tc"]), &www()).0,
        State::Ok
    );
    assert_eq!(
        text(&args(&["-E", "aa,ra", "-E", "ad", "-X", "rd"]), &www()),
        (
            State::Critical,
            "DNS CRITICAL - 0.002 seconds response time (flags ra,ad not set, forbidden flags rd \
             set (flags: qr aa rd), www.example.test. 300 IN A 192.0.2.10) | time=0.002345s;;;0\n"
                .into()
        )
    );
    assert!(Args::try_parse_from(["check_dig_rs", "-l", "x", "-E", "zz"]).is_err());
}

#[test]
fn response_time_and_serials() {
    assert_eq!(
        text(&args(&["-w", "0.001", "-c", "0.002"]), &www()),
        (
            State::Critical,
            "DNS CRITICAL - 0.002 seconds response time (www.example.test. 300 IN A 192.0.2.10) \
             | time=0.002345s;0.001;0.002;0\n"
                .into()
        )
    );
    let mut f = www();
    f.serials = Some(SerialFacts {
        zone: "example.test.".into(),
        main: ServerSerial {
            server: "127.0.0.1".into(),
            serial: Ok(10),
        },
        others: vec![ServerSerial {
            server: "ns2".into(),
            serial: Ok(9),
        }],
    });
    assert_eq!(
        text(&args(&["--compare-serial", "ns2"]), &f),
        (
            State::Warning,
            "DNS WARNING - 0.002 seconds response time (ns2 serial 9 of example.test. is 1 behind \
             127.0.0.1 (10), www.example.test. 300 IN A 192.0.2.10) | serial_127.0.0.1=10 \
             serial_ns2=9 time=0.002345s;;;0\n"
                .into()
        )
    );
}

#[test]
fn dig_arguments() {
    assert_eq!(
        parse_dig_arguments("+tcp +norecurse +dnssec"),
        Ok(DigArguments {
            tcp: Some(true),
            recurse: Some(false),
            dnssec: Some(true),
        })
    );
    assert_eq!(
        parse_dig_arguments("+vc +norec +rec +nodnssec"),
        Ok(DigArguments {
            tcp: Some(true),
            recurse: Some(true),
            dnssec: Some(false),
        })
    );
    assert_eq!(parse_dig_arguments(""), Ok(DigArguments::default()));
    assert_eq!(
        parse_dig_arguments("+tcp +short -x +re"),
        Err(
            "unsupported dig arguments +short -x +re (supported: +tcp, +notcp, +vc, \
             +norecurse, +recurse, +dnssec, +nodnssec)"
                .into()
        )
    );
    let a = args(&["-A", "+norecurse +tcp"]);
    assert_eq!(
        options(&a),
        Options {
            recursion: false,
            dnssec: false,
            tcp: true
        }
    );
    assert!(options(&args(&["--tcp"])).tcp);
    assert_eq!(options(&args(&[])), Options::default());
}

#[test]
fn server_defaults_like_c() {
    let s = |argv: &[&str]| {
        let mut all = vec!["check_dig_rs", "-l", "x"];
        all.extend_from_slice(argv);
        server(&Args::try_parse_from(all).unwrap()).map(|s| s.to_string())
    };
    assert_eq!(s(&[]), Ok("127.0.0.1".into()));
    assert_eq!(s(&["-6"]), Ok("::1".into()));
    assert_eq!(s(&["-H", "ns1", "-p", "5300"]), Ok("ns1:5300".into()));
    assert_eq!(s(&["ns2"]), Ok("ns2".into()));
    assert!(s(&["-H", "ns1", "ns2"]).is_err());
    assert!(
        Args::try_parse_from(["check_dig_rs", "-H", "x"]).is_err(),
        "-l is required"
    );
}
