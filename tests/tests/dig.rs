//! check_dig_rs against the testbed's BIND and hostile in-process DNS
//! peers; side by side with C check_dig where both can run.
//!
//! Every test names its server or relies on check_dig's own default,
//! 127.0.0.1 (::1 with -6): the machine's resolver is never asked.

use std::time::Duration;

use predicates::prelude::*;
use rsplugins_tests::dns_peer::{self, a, handler, send, Action, DnsPeer, Reply};
use rsplugins_tests::{available, plugin, testbed_bind, testbed_env, testbed_ipv6, within};

fn dig() -> assert_cmd::Command {
    plugin("check_dig_rs")
}

/// check_dig_rs asking `peer` for `name`'s A record.
fn dig_at(peer: &DnsPeer, name: &str) -> assert_cmd::Command {
    let mut cmd = dig();
    cmd.args([
        "-H",
        &peer.addr.ip().to_string(),
        "-p",
        &peer.port.to_string(),
        "-l",
        name,
    ]);
    cmd
}

fn re(pattern: &str) -> predicates::str::RegexPredicate {
    predicate::str::is_match(pattern).unwrap()
}

/// check_dig_rs asking the testbed's primary at `server` for `name`.
fn at_bind(server: &str, name: &str) -> assert_cmd::Command {
    let mut cmd = dig();
    cmd.args(["-H", server, "-l", name]);
    cmd
}

const TIME: &str = r"\d\.\d{3} seconds response time";

/// `DNS <state> - <time> (<inner>) | time=...;;;0`, exactly.
fn line(state: &str, inner: &str) -> String {
    format!(r"^DNS {state} - {TIME} \({inner}\) \| time=\d+\.\d+s;;;0\n$")
}

// ---- the real BIND of tests/testbed ----

#[test]
fn c_form_for_each_record_type() {
    if !testbed_bind() {
        return;
    }
    for (name, rtype, record) in [
        (
            "example.test",
            "MX",
            r"example\.test\. 300 IN MX 10 mail\.example\.test\.",
        ),
        (
            "mail.example.test",
            "A",
            r"mail\.example\.test\. 300 IN A 192\.0\.2\.25",
        ),
        (
            "example.test",
            "AAAA",
            r"example\.test\. 300 IN AAAA 2001:db8::1",
        ),
        (
            "example.test",
            "NS",
            r"example\.test\. 300 IN NS ns1\.example\.test\.",
        ),
        (
            "txt.example.test",
            "TXT",
            r#"txt\.example\.test\. 300 IN TXT "hello world" "second string""#,
        ),
        (
            "_sip._udp.example.test",
            "SRV",
            r"_sip\._udp\.example\.test\. 300 IN SRV 10 60 5060 sip\.example\.test\.",
        ),
        (
            "example.test",
            "CAA",
            r#"example\.test\. 300 IN CAA 0 issue "ca\.example\.net""#,
        ),
        (
            "10.2.0.192.in-addr.arpa",
            "PTR",
            r"10\.2\.0\.192\.in-addr\.arpa\. 300 IN PTR www\.example\.test\.",
        ),
        (
            "example.test",
            "SOA",
            r"example\.test\. 300 IN SOA ns1\.example\.test\. hostmaster\.example\.test\. 2026120101 3600 600 86400 300",
        ),
    ] {
        at_bind("127.0.0.1", name)
            .args(["-T", rtype])
            .assert()
            .code(0)
            .stdout(re(&line("OK", record)));
    }
}

#[test]
fn json_has_the_exchange_as_data() {
    if !testbed_bind() {
        return;
    }
    let out = at_bind("127.0.0.1", "example.test")
        .args(["-T", "MX", "--output-format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let exchange = &v["data"]["exchange"];
    assert_eq!(exchange["transport"], "UDP", "{v}");
    assert_eq!(exchange["flags"], "qr aa rd", "{v}");
    let mx = serde_json::json!({"name": "example.test.", "ttl": 300, "class": "IN",
                                "type": "MX", "data": "10 mail.example.test."});
    let answers = exchange["answer"].as_array().unwrap();
    assert!(answers.contains(&mx), "{v}");
}

#[test]
fn expected_value_is_exact_not_a_substring() {
    if !testbed_bind() {
        return;
    }
    at_bind("127.0.0.1", "mail.example.test")
        .args(["-a", "192.0.2.25"])
        .assert()
        .code(0);
    // C's substring match took 192.0.2.2 for 192.0.2.25.
    at_bind("127.0.0.1", "mail.example.test")
        .args(["-a", "192.0.2.2"])
        .assert()
        .code(1)
        .stdout(re(&line(
            "WARNING",
            r"Server not found in ANSWER SECTION: expected '192\.0\.2\.2' but got '192\.0\.2\.25'",
        )));
    // Several records: the one expected is shown; IPv6 in any spelling.
    at_bind("127.0.0.1", "www.example.test")
        .args(["-a", "192.0.2.12"])
        .assert()
        .code(0)
        .stdout(re(&line(
            "OK",
            r"www\.example\.test\. 300 IN A 192\.0\.2\.12",
        )));
    at_bind("127.0.0.1", "www.example.test")
        .args(["-T", "AAAA", "-a", "2001:DB8:0:0::11"])
        .assert()
        .code(0)
        .stdout(re(&line(
            "OK",
            r"www\.example\.test\. 300 IN AAAA 2001:db8::11",
        )));
    // A target name, with or without its final dot; the full text.
    for value in [
        "mail2.example.test",
        "mail2.example.test.",
        "20 mail2.example.test.",
    ] {
        at_bind("127.0.0.1", "example.test")
            .args(["-T", "MX", "-a", value])
            .assert()
            .code(0)
            .stdout(re(&line(
                "OK",
                r"example\.test\. 300 IN MX 20 mail2\.example\.test\.",
            )));
    }
}

#[test]
fn cname_chain_and_missing_answers() {
    if !testbed_bind() {
        return;
    }
    at_bind("127.0.0.1", "alias.example.test")
        .args(["-a", "192.0.2.11"])
        .assert()
        .code(0)
        .stdout(re(&line(
            "OK",
            r"alias\.example\.test\. -> web\.example\.test\. -> www\.example\.test\. 300 IN A 192\.0\.2\.11",
        )));
    at_bind("127.0.0.1", "nonexist.example.test")
        .assert()
        .code(2)
        .stdout(re(&line(
            "CRITICAL",
            r"No ANSWER SECTION found: server 127\.0\.0\.1 answered NXDOMAIN for nonexist\.example\.test\. A",
        )));
    at_bind("127.0.0.1", "v4only.example.test")
        .args(["-T", "AAAA"])
        .assert()
        .code(2)
        .stdout(re(&line(
            "CRITICAL",
            r"No ANSWER SECTION found: v4only\.example\.test\. has no AAAA records",
        )));
    at_bind("127.0.0.1", "outside.invalid")
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "answered REFUSED for outside.invalid. A",
        ));
}

#[test]
fn flags_and_dig_arguments() {
    if !testbed_bind() {
        return;
    }
    // BIND is authoritative, does not recurse, echoes RD.
    at_bind("127.0.0.1", "mail.example.test")
        .args(["-E", "aa,rd", "-X", "ra"])
        .assert()
        .code(0);
    at_bind("127.0.0.1", "mail.example.test")
        .args(["-E", "ra"])
        .assert()
        .code(2)
        .stdout(re(&line(
            "CRITICAL",
            r"flags ra not set \(flags: qr aa rd\), mail\.example\.test\. 300 IN A 192\.0\.2\.25",
        )));
    // +norecurse is sent: RD comes back clear.
    at_bind("127.0.0.1", "mail.example.test")
        .args(["-A", "+norecurse", "-X", "rd", "-E", "aa"])
        .assert()
        .code(0);
    // +tcp and +dnssec are honoured.
    at_bind("127.0.0.1", "mail.example.test")
        .args(["-A", "+tcp +dnssec", "-v"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "\nmail.example.test. A asked of 127.0.0.1 port 53 over TCP: NOERROR",
        ));
    // Others are refused, named.
    at_bind("127.0.0.1", "mail.example.test")
        .args(["-A", "+short +tcp -x"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "unsupported dig arguments +short -x (supported: +tcp",
        ));
}

#[test]
fn truncated_reply_from_bind_is_asked_again_over_tcp() {
    if !testbed_bind() {
        return;
    }
    at_bind("127.0.0.1", "many.example.test")
        .args(["-a", "192.0.2.190", "-v"])
        .assert()
        .code(0)
        .stdout(re(&line(
            "OK",
            r"many\.example\.test\. 300 IN A 192\.0\.2\.190",
        )
        .replace(r"\n$", r"\n")))
        .stdout(predicate::str::contains(
            "over UDP (truncated), then TCP: NOERROR, flags qr aa rd, 90 answers",
        ));
}

#[test]
fn default_positional_and_ipv6_servers() {
    if !testbed_bind() {
        return;
    }
    // No -H: 127.0.0.1, as C.
    dig()
        .args(["-l", "mail.example.test"])
        .assert()
        .code(0)
        .stdout(re(&line(
            "OK",
            r"mail\.example\.test\. 300 IN A 192\.0\.2\.25",
        )));
    dig()
        .args(["-l", "mail.example.test", "127.0.0.1"])
        .assert()
        .code(0);
    if testbed_ipv6() {
        dig()
            .args(["-l", "example.test", "-T", "AAAA", "-6"])
            .assert()
            .code(0)
            .stdout(re(&line("OK", r"example\.test\. 300 IN AAAA 2001:db8::1")));
        at_bind("::1", "mail.example.test")
            .args(["-a", "192.0.2.25"])
            .assert()
            .code(0);
    }
}

#[test]
fn serials() {
    if !testbed_bind() {
        return;
    }
    let secondary =
        testbed_env("RSPLUGINS_TESTBED_DNS_SECONDARY_PORT").unwrap_or_else(|| "5300".into());
    at_bind("127.0.0.1", "example.test")
        .args(["-T", "NS", "--compare-serial", &format!("127.0.0.1:{secondary}")])
        .assert()
        .code(0)
        .stdout(re(&format!(
            r"^DNS OK - {TIME} \(example\.test\. 300 IN NS ns1\.example\.test\., example\.test\. serial 2026120101 on 127\.0\.0\.1, 127\.0\.0\.1:{secondary}\) \| serial_127\.0\.0\.1=2026120101 serial_127\.0\.0\.1:{secondary}=2026120101 time="
        )));
    // A secondary that is not there: its part is CRITICAL, the answer stands.
    let port = rsplugins_tests::peer::closed_port();
    at_bind("127.0.0.1", "example.test")
        .args(["-T", "NS", "--compare-serial", &format!("127.0.0.1:{port}")])
        .assert()
        .code(2)
        .stdout(predicate::str::contains(format!(
            "(no SOA serial of example.test. from 127.0.0.1:{port}: connect to 127.0.0.1 port {port}: Connection refused"
        )));
}

// ---- side by side with C check_dig ----

const C_CHECK_DIG: &str = "/usr/lib/nagios/plugins/check_dig";

#[test]
fn same_exit_codes_as_c() {
    if !testbed_bind()
        || !available(
            "C check_dig and dig",
            std::path::Path::new(C_CHECK_DIG).exists()
                && std::path::Path::new("/usr/bin/dig").exists(),
        )
    {
        return;
    }
    let cases: [&[&str]; 6] = [
        &["-l", "example.test", "-T", "MX"],
        &["-l", "mail.example.test", "-a", "192.0.2.25"],
        &["-l", "example.test", "-T", "AAAA", "-a", "2001:db8::1"],
        &["-l", "mail.example.test", "-a", "10.9.9.9"],
        &["-l", "nonexist.example.test"],
        &["-l", "mail.example.test", "-w", "0.000001", "-c", "5"],
    ];
    for case in cases {
        let c = std::process::Command::new(C_CHECK_DIG)
            .args(["-H", "127.0.0.1"])
            .args(case)
            .output()
            .unwrap();
        let ours = dig().args(["-H", "127.0.0.1"]).args(case).output().unwrap();
        assert_eq!(
            ours.status.code(),
            c.status.code(),
            "{case:?}: C said {} we said {}",
            String::from_utf8_lossy(&c.stdout),
            String::from_utf8_lossy(&ours.stdout)
        );
    }
}

// ---- hostile peers ----

fn answer(q: &dns_peer::Query) -> Reply {
    Reply::to(q).answer(a("192.0.2.7"))
}

#[test]
fn silence_and_time_out() {
    let peer = DnsPeer::udp(handler(|_| vec![]));
    within(
        Duration::from_secs(5),
        dig_at(&peer, "www.example.test").args(["-t", "2"]),
    )
    .code(2)
    .stdout(re(&format!(
        r"^DNS CRITICAL - [12]\.\d{{3}} seconds response time \(timed out after 2 seconds waiting for the reply to www\.example\.test\. A from 127\.0\.0\.1 port {}\)\n$",
        peer.port
    )));
}

#[test]
fn strays_truncation_and_what_is_sent() {
    let peer = DnsPeer::udp_and_tcp(
        handler(|q| {
            vec![
                send(Reply::to(q).answer(a("198.51.100.66")).id(q.id ^ 0xffff)),
                send(Reply::to(q).truncated()),
            ]
        }),
        handler(|q| vec![send(answer(q))]),
    );
    dig_at(&peer, "www.example.test")
        .args(["-a", "192.0.2.7", "-A", "+dnssec +norec", "-v"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "(www.example.test. 300 IN A 192.0.2.7)",
        ))
        .stdout(predicate::str::contains("ignored: a message with ID"))
        .stdout(predicate::str::contains("over UDP (truncated), then TCP"));
    let queries = peer.queries();
    assert_eq!(queries.len(), 2, "{queries:?}");
    assert!(queries.iter().all(|q| q.dnssec_ok && !q.rd && q.edns));
    assert!(!queries[0].tcp && queries[1].tcp);
}

#[test]
fn error_codes_and_malformed_replies() {
    let peer = DnsPeer::udp(handler(|q| {
        vec![send(Reply::to(q).rcode(dns_peer::SERVFAIL))]
    }));
    dig_at(&peer, "www.example.test")
        .assert()
        .code(2)
        .stdout(re(&line(
            "CRITICAL",
            &format!(
                r"No ANSWER SECTION found: server 127\.0\.0\.1:{} answered SERVFAIL for www\.example\.test\. A",
                peer.port
            ),
        )));
    let peer = DnsPeer::udp(handler(|q| {
        let mut bytes = Reply::to(q).without_edns().bytes();
        bytes[7] = 1;
        let here = bytes.len() as u16;
        bytes.extend_from_slice(&(0xc000 | here).to_be_bytes());
        bytes.extend_from_slice(&[0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1]);
        vec![Action::Raw(bytes)]
    }));
    within(Duration::from_secs(4), &mut dig_at(&peer, "loop.peer.test"))
        .code(2)
        .stdout(re(&format!(
            r"^DNS CRITICAL - {TIME} \(the reply from 127\.0\.0\.1 port {}: not a valid DNS message \(.*\)\)\n$",
            peer.port
        )));
}

#[test]
fn bad_options_exit_3() {
    dig().assert().code(3);
    dig().args(["-l", "x", "-T", "NOPE"]).assert().code(3);
    dig().args(["-l", "x", "-E", "zz"]).assert().code(3);
    dig().args(["-l", "x", "-p", "0"]).assert().code(3);
    dig().args(["-l", "x y"]).assert().code(3);
    dig()
        .args(["-l", "x", "-H", "127.0.0.1", "127.0.0.2"])
        .assert()
        .code(3);
}
