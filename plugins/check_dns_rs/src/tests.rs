//! check_dns_rs's evaluate on hand-made facts: exact output and state.

use super::*;
use crate::engine::{Flags, Reply, Transport};
use crate::serial::ServerSerial;
use rsplugins::output::{render_json, render_text_as, FirstLine};

fn args(extra: &[&str]) -> Args {
    let mut argv = vec!["check_dns_rs", "-H", "www.example.test", "-s", "127.0.0.1"];
    argv.extend_from_slice(extra);
    Args::try_parse_from(argv).unwrap()
}

fn addr(text: &str) -> Rr {
    Rr::address("www.example.test", 300, text.parse().unwrap())
}

fn exchange(rtype: &str, rcode: u16, answers: Vec<Rr>) -> Exchange {
    Exchange {
        name: "www.example.test.".into(),
        rtype: rtype.into(),
        server: "127.0.0.1".into(),
        target: "127.0.0.1 port 53".into(),
        transport: Transport::Udp,
        elapsed: Duration::from_micros(1500),
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
    }
}

/// A and AAAA lookups of www.example.test: 192.0.2.10 and 2001:db8::10.
fn both() -> Facts {
    Facts {
        lookups: vec![
            exchange("A", NOERROR, vec![addr("192.0.2.10")]),
            exchange("AAAA", NOERROR, vec![addr("2001:db8::10")]),
        ],
        elapsed: Duration::from_micros(2345),
        serials: None,
    }
}

fn text(args: &Args, facts: &Facts) -> (State, String) {
    let r = evaluate(args, facts);
    (r.state(), render_text_as(SERVICE, FirstLine::Dash, &r))
}

#[test]
fn c_output_form() {
    assert_eq!(
        text(&args(&[]), &both()),
        (
            State::Ok,
            "DNS OK: 0.002 seconds response time. www.example.test returns \
             192.0.2.10,2001:db8::10 | time=0.002345s;;;0\n"
                .into()
        )
    );
}

#[test]
fn expected_values_any_or_all() {
    let mut facts = both();
    facts.lookups[0].reply.answers.push(addr("192.0.2.11"));
    assert_eq!(text(&args(&["-a", "2001:db8::10"]), &facts).0, State::Ok);
    assert_eq!(
        text(&args(&["-a", "192.0.2.9"]), &facts),
        (
            State::Critical,
            "DNS CRITICAL - expected '192.0.2.9' but got '192.0.2.10,192.0.2.11,2001:db8::10' \
             | time=0.002345s;;;0\n"
                .into()
        )
    );
    assert_eq!(
        text(
            &args(&["-L", "-a", "192.0.2.10,192.0.2.12", "-a", "2001:db8::/64"]),
            &facts
        ),
        (
            State::Critical,
            "DNS CRITICAL - expected '192.0.2.10; 192.0.2.12; 2001:db8::/64' but got \
             '192.0.2.10,192.0.2.11,2001:db8::10' (missing 192.0.2.12; unexpected 192.0.2.11) \
             | time=0.002345s;;;0\n"
                .into()
        )
    );
    assert_eq!(
        text(
            &args(&["-L", "-a", "192.0.2.10/31", "-a", "2001:db8::10"]),
            &facts
        )
        .0,
        State::Ok
    );
}

#[test]
fn nxdomain_and_expect_nxdomain() {
    let nx = Facts {
        lookups: vec![
            exchange("A", NXDOMAIN, vec![]),
            exchange("AAAA", NXDOMAIN, vec![]),
        ],
        elapsed: Duration::from_millis(3),
        serials: None,
    };
    assert_eq!(
        text(&args(&[]), &nx),
        (
            State::Critical,
            "DNS CRITICAL - Domain 'www.example.test' was not found by the server | time=0.003s;;;0\n"
                .into()
        )
    );
    assert_eq!(
        text(&args(&["-n"]), &nx),
        (
            State::Ok,
            "DNS OK: 0.003 seconds response time. www.example.test returns NXDOMAIN | time=0.003s;;;0\n"
                .into()
        )
    );
    assert_eq!(
        text(&args(&["-n"]), &both()).1,
        "DNS CRITICAL - Domain 'www.example.test' was found by the server: \
         '192.0.2.10,2001:db8::10' | time=0.002345s;;;0\n"
    );
}

#[test]
fn other_response_codes_and_no_records() {
    let mut facts = both();
    facts.lookups[1].reply.rcode = 2;
    assert_eq!(
        text(&args(&[]), &facts).1,
        "DNS CRITICAL - server 127.0.0.1 answered SERVFAIL for www.example.test (AAAA) \
         | time=0.002345s;;;0\n"
    );
    let mut facts = both();
    facts.lookups[0].reply.rcode = 5;
    assert_eq!(text(&args(&[]), &facts).0, State::Critical);
    let empty = Facts {
        lookups: vec![
            exchange("A", NOERROR, vec![]),
            exchange("AAAA", NOERROR, vec![]),
        ],
        ..both()
    };
    assert_eq!(
        text(&args(&[]), &empty).1,
        "DNS CRITICAL - www.example.test has no A or AAAA records | time=0.002345s;;;0\n"
    );
    // One family is enough by default.
    let v4only = Facts {
        lookups: vec![
            exchange("A", NOERROR, vec![addr("192.0.2.20")]),
            exchange("AAAA", NOERROR, vec![]),
        ],
        ..both()
    };
    assert_eq!(text(&args(&[]), &v4only).0, State::Ok);
}

#[test]
fn cname_chains_and_loops() {
    let cname = |from: &str, to: &str| Rr::pointing(from, 300, "CNAME", to, to);
    let mut facts = Facts {
        lookups: vec![exchange(
            "A",
            NOERROR,
            vec![
                cname("www.example.test", "web.example.test."),
                Rr::address("web.example.test", 300, "192.0.2.10".parse().unwrap()),
            ],
        )],
        ..both()
    };
    assert_eq!(
        text(&args(&["-q", "A", "-a", "web.example.test."]), &facts).1,
        "DNS OK: 0.002 seconds response time. www.example.test returns web.example.test. -> \
         192.0.2.10 | time=0.002345s;;;0\n"
    );
    facts.lookups[0].reply.answers = vec![
        cname("www.example.test", "web.example.test."),
        cname("web.example.test", "www.example.test."),
    ];
    assert_eq!(
        text(&args(&["-q", "A"]), &facts).1,
        "DNS CRITICAL - www.example.test: CNAME loop at www.example.test. | time=0.002345s;;;0\n"
    );
}

#[test]
fn authority_and_time() {
    let mut facts = both();
    facts.lookups[1].reply.flags.aa = false;
    assert_eq!(text(&args(&[]), &facts).0, State::Ok, "only with -A");
    assert_eq!(
        text(&args(&["-A"]), &facts),
        (
            State::Critical,
            "DNS CRITICAL - server 127.0.0.1 is not authoritative for www.example.test, \
             www.example.test returns 192.0.2.10,2001:db8::10 | time=0.002345s;;;0\n"
                .into()
        )
    );
    // A slow but right answer: C's line, in the time's state.
    assert_eq!(
        text(&args(&["-w", "0.001", "-c", "0.5"]), &both()),
        (
            State::Warning,
            "DNS WARNING: 0.002 seconds response time. www.example.test returns \
             192.0.2.10,2001:db8::10 | time=0.002345s;0.001;0.5;0\n"
                .into()
        )
    );
    // Slow and wrong: both named, the wrong answer first.
    assert_eq!(
        text(&args(&["-c", "0.001", "-a", "192.0.2.1"]), &both()).1,
        "DNS CRITICAL - expected '192.0.2.1' but got '192.0.2.10,2001:db8::10', 0.002 seconds \
         response time | time=0.002345s;;0.001;0\n"
    );
    assert_eq!(
        response_time(Duration::from_millis(1500)),
        "1.500 second response time"
    );
    assert_eq!(
        response_time(Duration::from_millis(2500)),
        "2.500 seconds response time"
    );
}

#[test]
fn serial_comparison_joins_the_line() {
    let serials = |other: u32| SerialFacts {
        zone: "example.test.".into(),
        main: ServerSerial {
            server: "127.0.0.1".into(),
            serial: Ok(5),
        },
        others: vec![ServerSerial {
            server: "127.0.0.1:5300".into(),
            serial: Ok(other),
        }],
    };
    let mut facts = both();
    facts.serials = Some(serials(5));
    let with = args(&["--compare-serial", "127.0.0.1:5300"]);
    assert_eq!(
        text(&with, &facts),
        (
            State::Ok,
            "DNS OK: 0.002 seconds response time. www.example.test returns \
             192.0.2.10,2001:db8::10, example.test. serial 5 on 127.0.0.1, 127.0.0.1:5300 | \
             serial_127.0.0.1=5 serial_127.0.0.1:5300=5 time=0.002345s;;;0\n"
                .into()
        )
    );
    facts.serials = Some(serials(3));
    assert_eq!(
        text(&with, &facts),
        (
            State::Warning,
            "DNS WARNING - 127.0.0.1:5300 serial 3 of example.test. is 2 behind 127.0.0.1 (5), \
             www.example.test returns 192.0.2.10,2001:db8::10 | serial_127.0.0.1=5 \
             serial_127.0.0.1:5300=3 time=0.002345s;;;0\n"
                .into()
        )
    );
    let critical = args(&["--compare-serial", "127.0.0.1:5300", "--serial-critical"]);
    assert_eq!(text(&critical, &facts).0, State::Critical);
}

#[test]
fn verbose_and_json_carry_the_records() {
    let mut facts = both();
    facts.lookups[0].ignored = vec!["a message with ID 7, not 8 (a stray or spoofed reply)".into()];
    let r = evaluate(&args(&["-v"]), &facts);
    assert_eq!(
        r.details,
        [
            "www.example.test. A asked of 127.0.0.1 port 53 over UDP: NOERROR, flags qr aa rd, \
             1 answer, 0 authority, 0 additional, 0.001500 s",
            "  ignored: a message with ID 7, not 8 (a stray or spoofed reply)",
            "  ANSWER: www.example.test. 300 IN A 192.0.2.10",
            "www.example.test. AAAA asked of 127.0.0.1 port 53 over UDP: NOERROR, flags qr aa rd, \
             1 answer, 0 authority, 0 additional, 0.001500 s",
            "  ANSWER: www.example.test. 300 IN AAAA 2001:db8::10",
        ]
    );
    assert!(evaluate(&args(&[]), &facts).details.is_empty());
    let json = render_json(
        SERVICE,
        &evaluate(&args(&["--output-format", "json"]), &facts),
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let aaaa = &v["data"]["lookups"][1];
    assert_eq!(aaaa["type"], "AAAA", "{json}");
    assert_eq!(aaaa["rcode"], "NOERROR");
    assert_eq!(
        aaaa["answer"][0],
        serde_json::json!({"name": "www.example.test.", "ttl": 300, "class": "IN",
                           "type": "AAAA", "data": "2001:db8::10"})
    );
    assert_eq!(
        v["data"]["lookups"][0]["ignored"][0],
        "a message with ID 7, not 8 (a stray or spoofed reply)"
    );
}

#[test]
fn questions_asked() {
    let q = |extra: &[&str]| {
        let mut argv = vec!["check_dns_rs", "-s", "127.0.0.1"];
        argv.extend_from_slice(extra);
        questions(&Args::try_parse_from(argv).unwrap())
            .unwrap()
            .iter()
            .map(|q| format!("{} {}", q.name_text(), q.type_text()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        q(&["-H", "www.example.test"]),
        ["www.example.test. A", "www.example.test. AAAA"]
    );
    assert_eq!(
        q(&["-H", "example.test.", "-q", "mx"]),
        ["example.test. MX"]
    );
    assert_eq!(q(&["-H", "192.0.2.10"]), ["10.2.0.192.in-addr.arpa. PTR"]);
    assert_eq!(
        q(&["-H", "192.0.2.10", "-q", "A"]),
        ["10.2.0.192.in-addr.arpa. PTR"]
    );
    assert_eq!(
        q(&["-H", "2001:db8::10"]),
        ["0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR"]
    );
    assert!(questions(&args(&[]).clone()).is_ok());
    let bad = Args::try_parse_from(["check_dns_rs", "-H", "a b"]).unwrap();
    assert!(questions(&bad).is_err());
}

#[test]
fn options_like_c() {
    let a = args(&[
        "-a",
        "192.0.2.1,192.0.2.2",
        "-a",
        "mail.example.test.",
        "-L",
        "-A",
        "-w",
        "1",
        "-c",
        "2",
        "-t",
        "5",
        "-q",
        "AAAA",
    ]);
    assert_eq!(flatten_expected(&a.expected).len(), 3);
    assert!(a.all && a.expect_authority);
    assert_eq!(a.querytype, Some(RecordType::AAAA));
    assert!(Args::try_parse_from(["check_dns_rs", "-H", "x", "-n", "-a", "192.0.2.1"]).is_err());
    assert!(Args::try_parse_from(["check_dns_rs", "-H", "x", "-q", "nonsense"]).is_err());
    assert!(Args::try_parse_from(["check_dns_rs", "-H", "x", "-a", "10.0.0.0/33"]).is_err());
    assert!(Args::try_parse_from(["check_dns_rs", "-H", "x", "--serial-critical"]).is_err());
    assert_eq!(
        server(&args(&["-p", "5353"])).unwrap().to_string(),
        "127.0.0.1:5353"
    );
    assert_eq!(
        compare_servers(&["a,b:5300".into(), "[::1]".into()], 53)
            .unwrap()
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
        ["a", "b:5300", "::1"]
    );
}

#[test]
fn values_in_address_order_bounded() {
    let records: Vec<Rr> = (0..30u8)
        .rev()
        .map(|i| addr(&format!("192.0.2.{i}")))
        .chain([addr("2001:db8::1"), addr("192.0.2.0")])
        .collect();
    let shown = values_text(&records);
    assert!(
        shown.starts_with("192.0.2.0,192.0.2.1,192.0.2.2,"),
        "{shown}"
    );
    assert!(shown.ends_with(",192.0.2.19,... (31 in all)"), "{shown}");
    assert_eq!(
        in_value_order(&[
            "b".into(),
            "2001:db8::1".into(),
            "192.0.2.9".into(),
            "a".into()
        ]),
        ["192.0.2.9", "2001:db8::1", "a", "b"]
    );
}

#[test]
fn both_binaries_have_a_definition() {
    let names: Vec<String> = commands()
        .iter()
        .map(|c| c.get_name().to_string())
        .collect();
    assert_eq!(names, ["check_dns_rs", "check_dig_rs"]);
    for c in commands() {
        c.debug_assert();
    }
}
