//! check_dns_rs against the testbed's BIND (127.0.0.1:53 and [::1]:53, a
//! secondary on port 5300) and against hostile in-process DNS peers; side
//! by side with C check_dns where both can run.
//!
//! Every test names its server: the machine's resolver is never asked.

use std::time::Duration;

use predicates::prelude::*;
use rsplugins_tests::dns_peer::{self, a, aaaa, handler, send, Action, DnsPeer, Record, Reply};
use rsplugins_tests::{available, plugin, testbed_bind, testbed_env, testbed_ipv6, within};

fn dns() -> assert_cmd::Command {
    plugin("check_dns_rs")
}

/// check_dns_rs asking `peer`.
fn dns_at(peer: &DnsPeer) -> assert_cmd::Command {
    let mut cmd = dns();
    cmd.args([
        "-s",
        &peer.addr.ip().to_string(),
        "-p",
        &peer.port.to_string(),
    ]);
    cmd
}

fn re(pattern: &str) -> predicates::str::RegexPredicate {
    predicate::str::is_match(pattern).unwrap()
}

/// check_dns_rs asking the testbed's primary at `server` (127.0.0.1, ::1).
fn at_bind(server: &str, name: &str) -> assert_cmd::Command {
    let mut cmd = dns();
    cmd.args(["-s", server, "-H", name]);
    cmd
}

const TIME: &str = r"\d\.\d{3} seconds response time";

// ---- the real BIND of tests/testbed ----

#[test]
fn several_addresses_of_both_families_in_address_order() {
    if !testbed_bind() {
        return;
    }
    let expected = format!(
        r"^DNS OK: {TIME}\. www\.example\.test returns 192\.0\.2\.10,192\.0\.2\.11,192\.0\.2\.12,2001:db8::10,2001:db8::11 \| time=\d+\.\d+s;;;0\n$"
    );
    at_bind("127.0.0.1", "www.example.test")
        .assert()
        .code(0)
        .stdout(re(&expected));
    if testbed_ipv6() {
        at_bind("::1", "www.example.test")
            .assert()
            .code(0)
            .stdout(re(&expected));
        at_bind("::1", "www.example.test")
            .arg("-6")
            .assert()
            .code(0);
    }
    // Only the A records, asked for.
    at_bind("127.0.0.1", "www.example.test")
        .args(["-q", "A"])
        .assert()
        .code(0)
        .stdout(re(&format!(
            r"^DNS OK: {TIME}\. www\.example\.test returns 192\.0\.2\.10,192\.0\.2\.11,192\.0\.2\.12 \| "
        )));
    // A name with A but no AAAA: fine by default, CRITICAL when AAAA is asked.
    at_bind("127.0.0.1", "v4only.example.test")
        .assert()
        .code(0)
        .stdout(re(&format!(
            r"^DNS OK: {TIME}\. v4only\.example\.test returns 192\.0\.2\.20 \| "
        )));
    at_bind("127.0.0.1", "v4only.example.test")
        .args(["-q", "AAAA"])
        .assert()
        .code(2)
        .stdout(re(
            r"^DNS CRITICAL - v4only\.example\.test has no AAAA records \| time=",
        ));
}

#[test]
fn expected_addresses_as_sets_with_cidr_and_ipv6_spellings() {
    if !testbed_bind() {
        return;
    }
    // Any one expected value present is enough without -L, as in C.
    at_bind("127.0.0.1", "www.example.test")
        .args(["-a", "192.0.2.11"])
        .assert()
        .code(0);
    // IPv6 compared as an address, not as a string.
    at_bind("127.0.0.1", "www.example.test")
        .args(["-a", "2001:0DB8:0:0::0011"])
        .assert()
        .code(0);
    // -L: exactly the set, in any order, in any split of -a.
    at_bind("127.0.0.1", "www.example.test")
        .args([
            "-L",
            "-a",
            "2001:db8::11,192.0.2.12",
            "-a",
            "192.0.2.10,192.0.2.11",
        ])
        .args(["-a", "2001:db8::10"])
        .assert()
        .code(0);
    at_bind("127.0.0.1", "www.example.test")
        .args(["-L", "-a", "192.0.2.0/24,2001:db8::/32"])
        .assert()
        .code(0);
    // Something missing and something extra, both named.
    at_bind("127.0.0.1", "www.example.test")
        .args(["-q", "A", "-L", "-a", "192.0.2.10,192.0.2.11,192.0.2.99"])
        .assert()
        .code(2)
        .stdout(re(
            r"^DNS CRITICAL - expected '192\.0\.2\.10; 192\.0\.2\.11; 192\.0\.2\.99' but got '192\.0\.2\.10,192\.0\.2\.11,192\.0\.2\.12' \(missing 192\.0\.2\.99; unexpected 192\.0\.2\.12\) \| time=",
        ));
    // A block that holds only part of the answer.
    at_bind("127.0.0.1", "www.example.test")
        .args(["-L", "-a", "192.0.2.0/24"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "(unexpected 2001:db8::10, 2001:db8::11)",
        ));
    // C's wording when nothing expected is there; 192.0.2.2 is not a
    // substring match of 192.0.2.25.
    at_bind("127.0.0.1", "mail.example.test")
        .args(["-a", "192.0.2.2"])
        .assert()
        .code(2)
        .stdout(re(
            r"^DNS CRITICAL - expected '192\.0\.2\.2' but got '192\.0\.2\.25' \| time=",
        ));
}

#[test]
fn cname_chains_are_followed_and_shown() {
    if !testbed_bind() {
        return;
    }
    at_bind("127.0.0.1", "alias.example.test")
        .args(["-q", "A"])
        .assert()
        .code(0)
        .stdout(re(&format!(
            r"^DNS OK: {TIME}\. alias\.example\.test returns web\.example\.test\. -> www\.example\.test\. -> 192\.0\.2\.10,192\.0\.2\.11,192\.0\.2\.12 \| "
        )));
    // A name of the chain may be expected; -L then still wants the addresses.
    at_bind("127.0.0.1", "alias.example.test")
        .args(["-a", "www.example.test."])
        .assert()
        .code(0);
    at_bind("127.0.0.1", "alias.example.test")
        .args(["-q", "CNAME", "-a", "web.example.test.", "-L"])
        .assert()
        .code(0)
        .stdout(re(&format!(
            r"^DNS OK: {TIME}\. alias\.example\.test returns web\.example\.test\. \| "
        )));
}

#[test]
fn record_types() {
    if !testbed_bind() {
        return;
    }
    let ok = |name: &str, qtype: &str, returns: &str| {
        at_bind("127.0.0.1", name)
            .args(["-q", qtype])
            .assert()
            .code(0)
            .stdout(predicate::str::contains(format!(
                " {name} returns {returns} | time="
            )));
    };
    ok(
        "example.test",
        "MX",
        "10 mail.example.test.,20 mail2.example.test.",
    );
    ok("example.test", "ns", "ns1.example.test.,ns2.example.test.");
    ok("example.test", "TXT", "\"v=spf1 -all\"");
    ok(
        "txt.example.test",
        "TXT",
        "\"hello world\" \"second string\"",
    );
    ok(
        "_sip._udp.example.test",
        "SRV",
        "10 60 5060 sip.example.test.",
    );
    ok("example.test", "CAA", "0 issue \"ca.example.net\"");
    ok(
        "example.test",
        "SOA",
        "ns1.example.test. hostmaster.example.test. 2026120101 3600 600 86400 300",
    );
    // Targets by name, texts by their text.
    for (qtype, expected) in [
        ("MX", "mail2.example.test."),
        ("MX", "10 mail.example.test."),
        ("TXT", "v=spf1 -all"),
        ("CAA", "0 issue \"ca.example.net\""),
    ] {
        at_bind("127.0.0.1", "example.test")
            .args(["-q", qtype, "-a", expected])
            .assert()
            .code(0);
    }
    // Any other type, by name or number, for presence.
    at_bind("127.0.0.1", "example.test")
        .args(["-q", "NAPTR"])
        .assert()
        .code(2)
        .stdout(re(
            r"^DNS CRITICAL - example\.test has no NAPTR records \| ",
        ));
    at_bind("127.0.0.1", "example.test")
        .args(["-q", "TYPE15"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("returns 10 mail.example.test.,"));
    dns()
        .args(["-s", "127.0.0.1", "-H", "example.test", "-q", "BOGUS"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("'BOGUS' is not a record type"));
}

#[test]
fn addresses_are_looked_up_as_ptr() {
    if !testbed_bind() {
        return;
    }
    at_bind("127.0.0.1", "192.0.2.10")
        .assert()
        .code(0)
        .stdout(re(&format!(
            r"^DNS OK: {TIME}\. 192\.0\.2\.10 returns www\.example\.test\. \| "
        )));
    at_bind("127.0.0.1", "2001:db8::10")
        .args(["-a", "www.example.test."])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "2001:db8::10 returns www.example.test. |",
        ));
    at_bind("127.0.0.1", "192.0.2.99")
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "DNS CRITICAL - Domain '192.0.2.99' was not found by the server | time=",
        ));
}

#[test]
fn response_codes_are_named_with_their_state() {
    if !testbed_bind() {
        return;
    }
    // C's wording for a missing name.
    at_bind("127.0.0.1", "nonexist.example.test")
        .assert()
        .code(2)
        .stdout(re(
            r"^DNS CRITICAL - Domain 'nonexist\.example\.test' was not found by the server \| time=\d+\.\d+s;;;0\n$",
        ));
    at_bind("127.0.0.1", "nonexist.example.test")
        .arg("-n")
        .assert()
        .code(0)
        .stdout(re(&format!(
            r"^DNS OK: {TIME}\. nonexist\.example\.test returns NXDOMAIN \| time="
        )));
    at_bind("127.0.0.1", "mail.example.test")
        .arg("-n")
        .assert()
        .code(2)
        .stdout(re(
            r"^DNS CRITICAL - Domain 'mail\.example\.test' was found by the server: '192\.0\.2\.25' \| ",
        ));
    // Outside BIND's zones, with recursion off: REFUSED (nothing leaves the box).
    at_bind("127.0.0.1", "outside.invalid")
        .args(["-q", "A"])
        .assert()
        .code(2)
        .stdout(re(
            r"^DNS CRITICAL - server 127\.0\.0\.1 answered REFUSED for outside\.invalid \(A\) \| ",
        ));
    // -n with -a is refused, as in C.
    at_bind("127.0.0.1", "x.example.test")
        .args(["-n", "-a", "192.0.2.1"])
        .assert()
        .code(3);
}

#[test]
fn authority_and_response_time() {
    if !testbed_bind() {
        return;
    }
    at_bind("127.0.0.1", "example.test")
        .arg("-A")
        .assert()
        .code(0)
        .stdout(re(&format!(
            r"^DNS OK: {TIME}\. example\.test returns 192\.0\.2\.1,2001:db8::1 \| "
        )));
    // C's line with the state from the time, and the thresholds in perfdata.
    at_bind("127.0.0.1", "mail.example.test")
        .args(["-w", "0.000001", "-c", "5"])
        .assert()
        .code(1)
        .stdout(re(&format!(
            r"^DNS WARNING: {TIME}\. mail\.example\.test returns 192\.0\.2\.25 \| time=\d+\.\d+s;0\.000001;5;0\n$"
        )));
}

#[test]
fn truncated_udp_is_asked_again_over_tcp_and_tcp_can_be_forced() {
    if !testbed_bind() {
        return;
    }
    // 90 addresses do not fit 1232 bytes: BIND sets TC.
    at_bind("127.0.0.1", "many.example.test")
        .args(["-q", "A", "-v", "-L", "-a", "192.0.2.0/24"])
        .assert()
        .code(0)
        .stdout(re(&format!(
            r"^DNS OK: {TIME}\. many\.example\.test returns 192\.0\.2\.101,192\.0\.2\.102,.*,192\.0\.2\.120,\.\.\. \(90 in all\) \| time="
        )))
        .stdout(predicate::str::contains(
            "many.example.test. A asked of 127.0.0.1 port 53 over UDP (truncated), then TCP: NOERROR, flags qr aa rd, 90 answers",
        ));
    at_bind("127.0.0.1", "www.example.test")
        .args(["--tcp", "-q", "AAAA", "-v"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "www.example.test. AAAA asked of 127.0.0.1 port 53 over TCP: NOERROR, flags qr aa rd, 2 answers",
        ))
        .stdout(predicate::str::contains(
            "\n  ANSWER: www.example.test. 300 IN AAAA 2001:db8::10\n",
        ));
}

#[test]
fn verbose_and_json_show_the_records() {
    if !testbed_bind() {
        return;
    }
    at_bind("127.0.0.1", "alias.example.test")
        .args(["-q", "A", "-v"])
        .assert()
        .code(0)
        .stdout(re(
            r"\nalias\.example\.test\. A asked of 127\.0\.0\.1 port 53 over UDP: NOERROR, flags qr aa rd, 5 answers, 0 authority, 0 additional, \d+\.\d+ s\n  ANSWER: alias\.example\.test\. 300 IN CNAME web\.example\.test\.\n  ANSWER: web\.example\.test\. 300 IN CNAME www\.example\.test\.\n",
        ));
    let out = at_bind("127.0.0.1", "mail.example.test")
        .args(["-q", "A", "--output-format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["state"], "OK");
    // The records are data, whole, without -v.
    let a = &v["data"]["lookups"][0];
    assert_eq!(
        (&a["name"], &a["type"], &a["rcode"]),
        (&"mail.example.test.".into(), &"A".into(), &"NOERROR".into())
    );
    assert_eq!(
        a["answer"],
        serde_json::json!([{"name": "mail.example.test.", "ttl": 300, "class": "IN",
                            "type": "A", "data": "192.0.2.25"}]),
        "{v}"
    );
    // Without -v the text has no record lines.
    at_bind("127.0.0.1", "mail.example.test")
        .assert()
        .stdout(predicate::str::contains("ANSWER").not());
}

#[test]
fn default_server_from_an_injected_resolv_conf() {
    if !testbed_bind() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("resolv.conf");
    std::fs::write(&conf, "# test\nsearch example.test\nnameserver 127.0.0.1\n").unwrap();
    dns()
        .args(["-H", "mail.example.test", "--resolv-conf"])
        .arg(&conf)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "mail.example.test returns 192.0.2.25 |",
        ));
    std::fs::write(&conf, "search example.test\n").unwrap();
    dns()
        .args(["-H", "mail.example.test", "--resolv-conf"])
        .arg(&conf)
        .assert()
        .code(3)
        .stdout(format!(
            "DNS UNKNOWN - no nameserver in {} (name the server with -s)\n",
            conf.display()
        ));
}

#[test]
fn address_family_of_the_server() {
    if !testbed_bind() {
        return;
    }
    at_bind("::1", "www.example.test")
        .arg("-4")
        .assert()
        .code(3)
        .stdout("DNS UNKNOWN - ::1 has no IPv4 address\n");
    // localhost is 127.0.0.1 in /etc/hosts.
    at_bind("localhost", "www.example.test")
        .arg("-4")
        .assert()
        .code(0);
}

#[test]
fn serials_in_sync() {
    if !testbed_bind() {
        return;
    }
    let secondary =
        testbed_env("RSPLUGINS_TESTBED_DNS_SECONDARY_PORT").unwrap_or_else(|| "5300".into());
    let mut others = format!("127.0.0.1:{secondary}");
    if testbed_ipv6() {
        others.push_str(&format!(",[::1]:{secondary}"));
    }
    at_bind("127.0.0.1", "www.example.test")
        .args(["-q", "A", "--compare-serial", &others])
        .assert()
        .code(0)
        .stdout(re(&format!(
            r"^DNS OK: {TIME}\. www\.example\.test returns 192\.0\.2\.10,192\.0\.2\.11,192\.0\.2\.12, example\.test\. serial 2026120101 on 127\.0\.0\.1, {} \| serial_127\.0\.0\.1=2026120101 serial_127\.0\.0\.1:{secondary}=2026120101 ",
            regex_escape(&others.replace(',', ", "))
        )));
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                vec!['\\', c]
            } else {
                vec![c]
            }
        })
        .collect()
}

/// Bumps the primary's serial of lag.test with a dynamic update; the
/// secondary (NOTIFY off, daily refresh) stays behind.
pub fn bump_lag_zone() -> bool {
    if !available(
        "nsupdate",
        std::path::Path::new("/usr/bin/nsupdate").exists(),
    ) {
        return false;
    }
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let script = format!(
        "server 127.0.0.1 53\nzone lag.test\nupdate delete bump.lag.test. TXT\nupdate add bump.lag.test. 60 TXT \"{stamp}\"\nsend\n"
    );
    let mut child = std::process::Command::new("/usr/bin/nsupdate")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), script.as_bytes()).unwrap();
    drop(child.stdin.take());
    assert!(child.wait().unwrap().success(), "nsupdate failed");
    true
}

/// `dig +short SOA lag.test` serial on a port.
fn dig_serial(port: &str) -> u32 {
    let out = std::process::Command::new("dig")
        .args(["+short", "-p", port, "@127.0.0.1", "SOA", "lag.test"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace().nth(2).unwrap().parse().unwrap()
}

#[test]
fn a_lagging_secondary_is_named_with_how_far_behind() {
    if !testbed_bind() || !bump_lag_zone() {
        return;
    }
    let secondary =
        testbed_env("RSPLUGINS_TESTBED_DNS_SECONDARY_PORT").unwrap_or_else(|| "5300".into());
    let behind = dig_serial(&secondary);
    let out = at_bind("127.0.0.1", "lag.test")
        .args([
            "-q",
            "SOA",
            "--compare-serial",
            &format!("127.0.0.1:{secondary}"),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(1), "{text}");
    // "DNS WARNING - 127.0.0.1:5300 serial N of lag.test. is K behind
    // 127.0.0.1 (M) | serial_127.0.0.1=M serial_127.0.0.1:5300=N time=..."
    let prefix = format!("DNS WARNING - 127.0.0.1:{secondary} serial ");
    let rest = text
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{text}"));
    let numbers: Vec<u64> = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse().unwrap())
        .collect();
    // N, K, 127 0 0 1 (the main server), M, then the perfdata.
    let (n, k, m) = (numbers[0], numbers[1], numbers[6]);
    assert!(
        rest.starts_with(&format!(
            "{n} of lag.test. is {k} behind 127.0.0.1 ({m}), lag.test returns "
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            " | serial_127.0.0.1={m} serial_127.0.0.1:{secondary}={n} time="
        )),
        "{text}"
    );
    assert_eq!(n, u64::from(behind));
    assert!(k >= 1 && k == m - n, "{text}");
    at_bind("127.0.0.1", "lag.test")
        .args(["-q", "SOA", "--serial-critical", "--compare-serial"])
        .arg(format!("127.0.0.1:{secondary}"))
        .assert()
        .code(2);
}

// ---- side by side with C check_dns ----

const C_CHECK_DNS: &str = "/usr/lib/nagios/plugins/check_dns";

#[test]
fn same_exit_codes_as_c() {
    if !testbed_bind()
        || !available(
            "C check_dns and nslookup",
            std::path::Path::new(C_CHECK_DNS).exists()
                && std::path::Path::new("/usr/bin/nslookup").exists(),
        )
    {
        return;
    }
    let cases: [&[&str]; 7] = [
        &["-H", "mail.example.test"],
        &["-H", "mail.example.test", "-a", "192.0.2.25"],
        &["-H", "mail.example.test", "-a", "192.0.2.99"],
        &["-H", "www.example.test", "-a", "192.0.2.10"],
        &["-H", "nonexist.example.test"],
        &["-H", "example.test", "-A"],
        &["-H", "mail.example.test", "-w", "0.000001", "-c", "5"],
    ];
    for case in cases {
        let c = std::process::Command::new(C_CHECK_DNS)
            .args(["-s", "127.0.0.1"])
            .args(case)
            .output()
            .unwrap();
        let ours = dns().args(["-s", "127.0.0.1"]).args(case).output().unwrap();
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

/// The right answer to an A question.
fn answer(q: &dns_peer::Query) -> Reply {
    Reply::to(q).answer(a("192.0.2.7"))
}

#[test]
fn silence_ends_in_the_timeout_state_within_t() {
    let peer = DnsPeer::udp(handler(|_| vec![]));
    within(
        Duration::from_secs(5),
        dns_at(&peer).args(["-H", "www.example.test", "-q", "A", "-t", "2"]),
    )
    .code(2)
    .stdout(format!(
        "DNS CRITICAL - timed out after 2 seconds waiting for the reply to www.example.test. A from 127.0.0.1 port {}\n",
        peer.port
    ));
    // Asked again within -t (a lost datagram is resent).
    assert!(peer.queries().len() >= 2, "{:?}", peer.queries());
    within(
        Duration::from_secs(5),
        dns_at(&peer).args(["-H", "www.example.test", "-t", "2:unknown"]),
    )
    .code(3);
}

#[test]
fn wrong_id_and_wrong_question_are_ignored() {
    // Strays first, the real answer last: OK, the strays named with -v.
    // Each stray carries another address: taking one for the answer would
    // fail -L.
    let peer = DnsPeer::udp(handler(|q| {
        let stray = || Reply::to(q).answer(a("198.51.100.66"));
        vec![
            send(stray().id(q.id ^ 0x5a5a)),
            send(stray().question("evil.example.test", dns_peer::A)),
            send(stray().question(&q.name, dns_peer::AAAA)),
            send(stray().id(q.id.wrapping_add(1))),
            send(answer(q)),
        ]
    }));
    dns_at(&peer)
        .args([
            "-H",
            "www.example.test",
            "-q",
            "A",
            "-v",
            "-L",
            "-a",
            "192.0.2.7",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "www.example.test returns 192.0.2.7 |",
        ))
        .stdout(predicate::str::contains("ignored: a message with ID "))
        .stdout(predicate::str::contains(
            "ignored: a reply to another question (evil.example.test. IN A)",
        ))
        .stdout(predicate::str::contains(
            "ignored: a reply to another question (www.example.test. IN AAAA)",
        ));
    // Only strays: they never become the answer; the time-out comes.
    let peer = DnsPeer::udp(handler(|q| {
        vec![
            send(answer(q).id(q.id ^ 1)),
            send(answer(q).question("www.example.test.evil", dns_peer::A)),
        ]
    }));
    within(
        Duration::from_secs(5),
        dns_at(&peer).args(["-H", "www.example.test", "-q", "A", "-t", "2"]),
    )
    .code(2)
    .stdout(predicate::str::starts_with(
        "DNS CRITICAL - timed out after 2 seconds",
    ));
}

#[test]
fn truncated_then_tcp() {
    let peer = DnsPeer::udp_and_tcp(
        handler(|q| vec![send(Reply::to(q).truncated())]),
        handler(|q| vec![send(answer(q).answer(a("192.0.2.8")))]),
    );
    dns_at(&peer)
        .args(["-H", "www.example.test", "-q", "A", "-v"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "www.example.test returns 192.0.2.7,192.0.2.8 |",
        ))
        .stdout(predicate::str::contains(
            "over UDP (truncated), then TCP: NOERROR",
        ));
    let asked: Vec<bool> = peer.queries().iter().map(|q| q.tcp).collect();
    assert_eq!(asked, [false, true]);
    // --tcp: no UDP at all.
    let peer = DnsPeer::udp_and_tcp(
        handler(|q| vec![send(answer(q))]),
        handler(|q| vec![send(answer(q))]),
    );
    dns_at(&peer)
        .args(["-H", "www.example.test", "-q", "A", "--tcp"])
        .assert()
        .code(0);
    assert!(peer.queries().iter().all(|q| q.tcp));
}

#[test]
fn truncated_and_tcp_refused_or_broken() {
    let peer = DnsPeer::udp(handler(|q| vec![send(Reply::to(q).truncated())]));
    within(
        Duration::from_secs(5),
        dns_at(&peer).args(["-H", "www.example.test", "-q", "A"]),
    )
    .code(2)
    .stdout(format!(
        "DNS CRITICAL - connect to 127.0.0.1 port {0}: Connection refused while asking again over TCP after a truncated UDP reply\n",
        peer.port
    ));
    // A TCP length that promises more than comes.
    let peer = DnsPeer::udp_and_tcp(
        handler(|q| vec![send(Reply::to(q).truncated())]),
        handler(|q| {
            let mut raw = vec![0xff, 0xff];
            raw.extend(answer(q).bytes());
            vec![Action::Raw(raw), Action::Close]
        }),
    );
    within(
        Duration::from_secs(5),
        dns_at(&peer).args(["-H", "www.example.test", "-q", "A"]),
    )
    .code(2)
    .stdout(
        "DNS CRITICAL - connection closed by the server while asking again over TCP after a truncated UDP reply\n",
    );
}

#[test]
fn garbage() {
    // Our ID, then bytes that are no DNS message: CRITICAL at once.
    let peer = DnsPeer::udp(handler(|q| {
        let mut junk = q.id.to_be_bytes().to_vec();
        junk.extend_from_slice(&[0x84, 0x00, 0, 1, 0, 9, 0, 0, 0, 0]);
        junk.extend_from_slice(&q.question);
        junk.extend_from_slice(b"\x07garbage\xff\xfe");
        vec![Action::Raw(junk)]
    }));
    within(
        Duration::from_secs(4),
        dns_at(&peer).args(["-H", "www.example.test", "-q", "A", "-t", "10"]),
    )
    .code(2)
    .stdout(re(&format!(
        r"^DNS CRITICAL - the reply from 127\.0\.0\.1 port {}: not a valid DNS message \(.+\)\n$",
        peer.port
    )));
    // Noise without our ID never counts: the time-out state.
    let peer = DnsPeer::udp(handler(|_| {
        vec![Action::Raw(b"\x00".to_vec()), Action::Raw(vec![0xab; 700])]
    }));
    within(
        Duration::from_secs(5),
        dns_at(&peer).args(["-H", "www.example.test", "-q", "A", "-t", "2:warning"]),
    )
    .code(1)
    .stdout(predicate::str::starts_with(
        "DNS WARNING - timed out after 2 seconds",
    ));
}

#[test]
fn error_codes() {
    for (rcode, name) in [
        (dns_peer::SERVFAIL, "SERVFAIL"),
        (dns_peer::REFUSED, "REFUSED"),
        (dns_peer::NOTIMP, "NOTIMP"),
    ] {
        let peer = DnsPeer::udp(handler(move |q| vec![send(Reply::to(q).rcode(rcode))]));
        dns_at(&peer)
            .args(["-H", "www.example.test", "-q", "A"])
            .assert()
            .code(2)
            .stdout(re(&format!(
                r"^DNS CRITICAL - server 127\.0\.0\.1:{} answered {name} for www\.example\.test \(A\) \| time=",
                peer.port
            )));
    }
    // FORMERR without EDNS in the reply: an old server; asked again without
    // EDNS, and its answer counts.
    let peer = DnsPeer::udp(handler(|q| {
        if q.edns {
            vec![send(
                Reply::to(q)
                    .rcode(dns_peer::FORMERR)
                    .without_edns()
                    .no_question(),
            )]
        } else {
            vec![send(answer(q))]
        }
    }));
    dns_at(&peer)
        .args(["-H", "www.example.test", "-q", "A", "-v"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "the server refused EDNS: asked again without it",
        ));
    let edns: Vec<bool> = peer.queries().iter().map(|q| q.edns).collect();
    assert_eq!(edns, [true, false]);
    // FORMERR every time.
    let peer = DnsPeer::udp(handler(|q| {
        vec![send(Reply::to(q).rcode(dns_peer::FORMERR).without_edns())]
    }));
    dns_at(&peer)
        .args(["-H", "www.example.test", "-q", "A"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "answered FORMERR for www.example.test (A)",
        ));
    // NXDOMAIN and a non-authoritative answer.
    let peer = DnsPeer::udp(handler(|q| {
        vec![send(Reply::to(q).rcode(dns_peer::NXDOMAIN))]
    }));
    dns_at(&peer)
        .args(["-H", "gone.example.test"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "DNS CRITICAL - Domain 'gone.example.test' was not found by the server | time=",
        ));
    let peer = DnsPeer::udp(handler(|q| vec![send(answer(q).not_authoritative())]));
    dns_at(&peer)
        .args(["-H", "www.example.test", "-q", "A", "-A"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(format!(
            "DNS CRITICAL - server 127.0.0.1:{} is not authoritative for www.example.test, www.example.test returns 192.0.2.7 | time=",
            peer.port
        )));
}

#[test]
fn five_hundred_records_and_a_reply_larger_than_announced() {
    let peer = DnsPeer::udp(handler(|q| {
        let mut reply = Reply::to(q);
        for i in 0..500u32 {
            let addr = std::net::Ipv4Addr::from(0xc633_6400 + i); // 198.51.100.0 on
            reply = reply.answer(Record::at_qname(dns_peer::A, addr.octets().to_vec()));
        }
        vec![send(reply)]
    }));
    dns_at(&peer)
        .args([
            "-H",
            "many.peer.test",
            "-q",
            "A",
            "-a",
            "198.51.100.0/22",
            "-L",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "many.peer.test returns 198.51.100.0,198.51.100.1,",
        ))
        .stdout(predicate::str::contains(",... (500 in all) | time="));
    // -v lists the first 100 records and counts the rest.
    let out = dns_at(&peer)
        .args(["-H", "many.peer.test", "-q", "A", "-v"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        text.matches("\n  ANSWER: many.peer.test. 300 IN A ")
            .count(),
        100,
        "{text}"
    );
    assert!(
        text.ends_with("\n  ANSWER: ... 400 more records not listed\n"),
        "{text}"
    );
    // 40 TXT strings of 250 bytes: 10 KB in one datagram, far beyond the
    // 1232 bytes we announce. The whole reply is read and judged.
    let peer = DnsPeer::udp(handler(|q| {
        let mut reply = Reply::to(q);
        for i in 0..40 {
            reply = reply.answer(dns_peer::txt(&format!("{i:03}{}", "x".repeat(247))));
        }
        vec![send(reply)]
    }));
    dns_at(&peer)
        .args(["-H", "big.peer.test", "-q", "TXT", "-v"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "big.peer.test returns \"000xxxxxxxx",
        ))
        .stdout(predicate::str::contains(
            "NOERROR, flags qr aa rd, 40 answers",
        ));
}

#[test]
fn compression_pointer_loop_and_cname_loop() {
    // An answer whose owner name points at itself.
    let peer = DnsPeer::udp(handler(|q| {
        let mut bytes = Reply::to(q).without_edns().bytes();
        bytes[7] = 1; // one answer
        let here = bytes.len() as u16;
        bytes.extend_from_slice(&(0xc000 | here).to_be_bytes());
        bytes.extend_from_slice(&[0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 1]);
        vec![Action::Raw(bytes)]
    }));
    within(
        Duration::from_secs(4),
        dns_at(&peer).args(["-H", "loop.peer.test", "-q", "A"]),
    )
    .code(2)
    .stdout(re(&format!(
        r"^DNS CRITICAL - the reply from 127\.0\.0\.1 port {}: not a valid DNS message \(.*\)\n$",
        peer.port
    )));
    // CNAMEs that go round in a circle.
    let peer = DnsPeer::udp(handler(|q| {
        vec![send(
            Reply::to(q)
                .answer(Record::at_qname(
                    dns_peer::CNAME,
                    dns_peer::name("b.peer.test"),
                ))
                .answer(Record::at(
                    "b.peer.test",
                    dns_peer::CNAME,
                    dns_peer::name(&q.name),
                )),
        )]
    }));
    dns_at(&peer)
        .args(["-H", "a.peer.test", "-q", "A"])
        .assert()
        .code(2)
        .stdout(re(
            r"^DNS CRITICAL - a\.peer\.test: CNAME loop at a\.peer\.test\. \| ",
        ));
}

#[test]
fn ipv6_peer_and_default_server_from_resolv_conf() {
    if !testbed_ipv6() {
        return;
    }
    let reply = |q: &dns_peer::Query| vec![send(Reply::to(q).answer(aaaa("2001:db8::7")))];
    let peer = DnsPeer::v6(handler(reply), handler(reply));
    dns()
        .args([
            "-s",
            "::1",
            "-p",
            &peer.port.to_string(),
            "-H",
            "v6.peer.test",
            "-q",
            "AAAA",
        ])
        .args(["-a", "2001:db8:0:0:0:0:0:7", "-6"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "v6.peer.test returns 2001:db8::7 |",
        ));
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("resolv.conf");
    std::fs::write(&conf, "nameserver ::1\n").unwrap();
    dns()
        .args([
            "-p",
            &peer.port.to_string(),
            "-H",
            "v6.peer.test",
            "-q",
            "AAAA",
        ])
        .arg("--resolv-conf")
        .arg(&conf)
        .assert()
        .code(0);
}

#[test]
fn bad_options_exit_3() {
    dns().assert().code(3);
    dns()
        .args(["-H", "x", "-s", "127.0.0.1", "-a", "192.0.2.0/40"])
        .assert()
        .code(3);
    dns()
        .args(["-H", "x y", "-s", "127.0.0.1"])
        .assert()
        .code(3);
    dns().args(["-H", "x", "-s", "[::1"]).assert().code(3);
    dns()
        .args(["-H", "x", "-s", "127.0.0.1", "-4", "-6"])
        .assert()
        .code(3);
    dns()
        .args(["-H", "x", "-s", "127.0.0.1", "--serial-critical"])
        .assert()
        .code(3);
}
