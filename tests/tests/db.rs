//! check_db_rs and the C drop-ins check_mysql_rs, check_mysql_query_rs and
//! check_pgsql_rs against the testbed's MariaDB (primary 3306, replica
//! 3307) and PostgreSQL (primary 5432, standby 5433), and against hostile
//! peers; exit codes side by side with the C plugins where both run.

use std::process::Command;
use std::time::Duration;

use predicates::prelude::*;
use rsplugins_tests::peer::{closed_port, Peer, Step};
use rsplugins_tests::{plugin, testbed_ca, testbed_db, testbed_env, testbed_ipv6, within};

fn env(key: &str) -> String {
    testbed_env(&format!("RSPLUGINS_TESTBED_{key}"))
        .unwrap_or_else(|| panic!("/etc/rsplugins-testbed.env has no RSPLUGINS_TESTBED_{key}"))
}

fn re(pattern: &str) -> predicates::str::RegexPredicate {
    predicate::str::is_match(pattern).unwrap()
}

/// check_db_rs logged in as the monitoring user on `engine` at 127.0.0.1:`port`.
fn db(engine: &str, port: &str) -> assert_cmd::Command {
    let mut cmd = plugin("check_db_rs");
    cmd.args(["--type", engine, "-H", "127.0.0.1", "-p", port])
        .args([
            "-u",
            &env("DB_USER"),
            "-P",
            &env("DB_PASS"),
            "-d",
            &env("DB_NAME"),
        ]);
    cmd
}

fn mysql() -> assert_cmd::Command {
    db("mysql", &env("MYSQL_PORT"))
}

fn pgsql() -> assert_cmd::Command {
    db("pgsql", &env("PGSQL_PORT"))
}

/// The C plugin's exit code for the same check.
fn c_code(name: &str, args: &[&str]) -> Option<i32> {
    Command::new(format!("/usr/lib/nagios/plugins/{name}"))
        .args(args)
        .output()
        .ok()
        .and_then(|o| o.status.code())
}

// ---- MariaDB ----

#[test]
fn mysql_login_over_tcp_the_socket_and_tls() {
    if !testbed_db() {
        return;
    }
    mysql().assert().code(0).stdout(re(
        r"^MYSQL OK - MariaDB 10\.\S+ on 127\.0\.0\.1 port 3306 \(monitest\), \d+\.\d{3} s \| time=[0-9.]+s;;;0\n$",
    ));
    plugin("check_db_rs")
        .args(["--type", "mysql", "--socket", &env("MYSQL_SOCKET")])
        .args(["-u", &env("DB_USER"), "-P", &env("DB_PASS")])
        .assert()
        .code(0)
        .stdout(re(
            r"^MYSQL OK - MariaDB \S+ on the socket /run/mysqld/mysqld\.sock, ",
        ));
    mysql()
        .arg("--tls")
        .assert()
        .code(0)
        .stdout(re(r"\(monitest\), TLSv1\.[23], "));
    // A client certificate is presented: the server checks it and refuses the testbed's
    // server certificate, which is not made for clients (an unreadable one fails too).
    mysql()
        .args(["--client-cert", "/etc/ssl/rsplugins-test/cert.pem"])
        .args(["--client-key", "/etc/ssl/rsplugins-test/key.pem"])
        .assert()
        .code(2)
        .stdout(re(
            r"^MYSQL CRITICAL - TLS failed with 127\.0\.0\.1 port 3306: .*UnsupportedCertificate",
        ));
    mysql()
        .args([
            "--client-cert",
            "/nonexistent.pem",
            "--client-key",
            "/nonexistent.key",
        ])
        .assert()
        .code(3)
        .stdout(predicate::str::starts_with(
            "MYSQL UNKNOWN - cannot read /nonexistent.pem: ",
        ));
    // Verified against the test CA (the certificate names 127.0.0.1).
    mysql()
        .args(["--ca-file", &testbed_ca()])
        .assert()
        .code(0)
        .stdout(re(r", TLSv1\.[23], "));
}

#[test]
fn mysql_failures_are_named_and_never_show_the_password() {
    if !testbed_db() {
        return;
    }
    plugin("check_db_rs")
        .args([
            "--type",
            "mysql",
            "-H",
            "127.0.0.1",
            "-u",
            "monitor",
            "-P",
            "s3cr3t-wrong",
        ])
        .assert()
        .code(2)
        .stdout(
            "MYSQL CRITICAL - Access denied for user 'monitor'@'127.0.0.1' (using password: YES)\n",
        );
    mysql()
        .args(["-d", "no_such_db"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("Unknown database 'no_such_db'"));
    plugin("check_db_rs")
        .args(["--type", "mysql", "-H", "127.0.0.1", "-p", &closed_port().to_string()])
        .assert()
        .code(2)
        .stdout(re(r"^MYSQL CRITICAL - Can't connect to server on 127\.0\.0\.1 port \d+: Connection refused\n$"));
    // sshd speaks first, and not MySQL.
    within(
        Duration::from_secs(5),
        plugin("check_db_rs").args([
            "--type",
            "mysql",
            "-H",
            "127.0.0.1",
            "-p",
            "22",
            "-u",
            "monitor",
            "-P",
            "x",
            "-t",
            "3",
        ]),
    )
    .code(2)
    .stdout(predicate::str::contains(
        "does not speak the MySQL protocol",
    ));
    assert_eq!(
        c_code(
            "check_mysql",
            &["-H", "127.0.0.1", "-u", "monitor", "-p", "wrong"]
        ),
        Some(2)
    );
}

#[test]
fn a_silent_peer_ends_in_the_timeout_state() {
    for engine in ["mysql", "pgsql"] {
        let peer = Peer::spawn(vec![Step::Hang]);
        within(
            Duration::from_secs(4),
            plugin("check_db_rs").args([
                "--type",
                engine,
                "-H",
                "127.0.0.1",
                "-p",
                &peer.port.to_string(),
                "-u",
                "monitor",
                "-P",
                "x",
                "-t",
                "2:unknown",
            ]),
        )
        .code(3)
        .stdout(predicate::str::contains("timed out after 2 seconds"));
    }
}

#[test]
fn mysql_query_numbers_and_what_is_not_a_number() {
    if !testbed_db() {
        return;
    }
    mysql()
        .args([
            "--query",
            "select n, name from counts where name = 'answer'",
        ])
        .args(["--query-warning", "40", "--queryname", "answer"])
        .assert()
        .code(1)
        .stdout(re(
            r"^MYSQL WARNING - answer returned 42 \(answer\), MariaDB .* \| answer=42;40 time=",
        ));
    mysql()
        .args(["--query", "select n from counts where name = 'text'"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("query: query returned NULL"));
    mysql()
        .args(["--query", "select n from counts where name = 'none'"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("query: query returned no rows"));
    mysql()
        .args(["--query", "select 'abc'"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "query returned 'abc', not a number",
        ));
    mysql()
        .args(["--query", "select * from no_such_table"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "query failed: Table 'monitest.no_such_table' doesn't exist",
        ));
}

#[test]
fn mysql_connections_against_max_connections() {
    if !testbed_db() {
        return;
    }
    mysql()
        .args(["--connections", "--connections-warning", "90"])
        .assert()
        .code(0)
        .stdout(re(r", \d+ of \d+ connections \(\d+%\), .*connections=\d+;;;0;\d+ connections_pct=[0-9.]+%;90 "));
    // Any connection at all is more than 0%: the threshold is judged.
    mysql()
        .args(["--connections", "--connections-critical", "0"])
        .assert()
        .code(2);
}

/// `mariadb` as root on the replica's socket (unix_socket authentication).
fn on_replica(sql: &str) {
    let status = Command::new("mariadb")
        .args(["-S", &env("MYSQL_REPLICA_SOCKET"), "-e", sql])
        .status()
        .expect("mariadb client");
    assert!(status.success(), "{sql} failed on the replica");
}

#[test]
fn mysql_replication_running_stopped_and_absent() {
    if !testbed_db() {
        return;
    }
    let replica = env("MYSQL_REPLICA_PORT");
    db("mysql", &replica)
        .args(["--replication", "--replication-warning", "60"])
        .assert()
        .code(0)
        .stdout(re(
            r"replica IO thread Yes, SQL thread Yes, 0 s behind, .*\| lag=0s;60 ",
        ));
    plugin("check_mysql_rs")
        .args(["-H", "127.0.0.1", "-P", &replica, "-u", "monitor", "-p", "monpass", "-S"])
        .assert()
        .code(0)
        .stdout(re(r"^Uptime: \d+  Threads: .* Slave IO: Yes Slave SQL: Yes Seconds Behind Master: 0 \| Connections=\d+c "));
    on_replica("STOP SLAVE SQL_THREAD");
    let stopped = db("mysql", &replica).arg("--replication").assert();
    let stopped_c = c_code(
        "check_mysql",
        &[
            "-H",
            "127.0.0.1",
            "-P",
            &replica,
            "-u",
            "monitor",
            "-p",
            "monpass",
            "-S",
        ],
    );
    on_replica("START SLAVE SQL_THREAD");
    stopped.code(2).stdout(predicate::str::contains(
        "replica IO thread Yes, SQL thread No",
    ));
    assert_eq!(stopped_c, Some(2));
    // The primary is no replica and has no replica of its own to show.
    mysql()
        .arg("--replication")
        .assert()
        .code(2)
        .stdout(predicate::str::contains("no replication: not a replica"));
}

#[test]
fn mysql_passwords_from_the_environment_and_files() {
    if !testbed_db() {
        return;
    }
    let base = ["--type", "mysql", "-H", "127.0.0.1", "-u", "monitor"];
    plugin("check_db_rs")
        .args(base)
        .env("MYSQL_PWD", "monpass")
        .assert()
        .code(0);
    plugin("check_db_rs")
        .args(base)
        .args(["-P", "env:RSPLUGINS_TEST_DB_PASS"])
        .env("RSPLUGINS_TEST_DB_PASS", "monpass")
        .assert()
        .code(0);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pass");
    std::fs::write(&file, "monpass\n").unwrap();
    plugin("check_db_rs")
        .args(base)
        .args(["-P", &format!("file:{}", file.display())])
        .assert()
        .code(0);
    // An option file's [client] group, as C's -f reads it.
    let cnf = dir.path().join("my.cnf");
    std::fs::write(
        &cnf,
        "[client]\nuser = monitor\npassword = \"monpass\"\nhost=127.0.0.1\n",
    )
    .unwrap();
    plugin("check_mysql_rs")
        .args(["-f", &cnf.display().to_string()])
        .assert()
        .code(0)
        .stdout(re(r"^Uptime: "));
}

#[test]
fn check_mysql_and_check_mysql_query_in_c_s_words() {
    if !testbed_db() {
        return;
    }
    let login = ["-H", "127.0.0.1", "-u", "monitor", "-p", "monpass"];
    plugin("check_mysql_rs").args(login).assert().code(0).stdout(re(
        r"^Uptime: \d+  Threads: \d+  Questions: \d+  Slow queries: \d+  Opens: \d+  Open tables: \d+  Queries per second avg: [0-9.]+ \| Connections=\d+c Open_files=\d+ .*Uptime=\d+c\n$",
    ));
    plugin("check_mysql_rs")
        .args(["-H", "127.0.0.1", "-u", "monitor", "-p", "wrong"])
        .assert()
        .code(2)
        .stdout("Access denied for user 'monitor'@'127.0.0.1' (using password: YES)\n");
    // -n: a refused login still shows the server is up.
    plugin("check_mysql_rs")
        .args(["-H", "127.0.0.1", "-u", "monitor", "-p", "wrong", "-n"])
        .assert()
        .code(0);
    plugin("check_mysql_query_rs")
        .args(login)
        .args(["-q", "select 5", "-w", "3", "-c", "10"])
        .assert()
        .code(1)
        .stdout("QUERY WARNING: 'select 5' returned 5.000000 | result=5;3;10\n");
    assert_eq!(
        c_code(
            "check_mysql_query",
            &[
                "-H",
                "127.0.0.1",
                "-u",
                "monitor",
                "-p",
                "monpass",
                "-q",
                "select 5",
                "-w",
                "3",
                "-c",
                "10"
            ]
        ),
        Some(1)
    );
    plugin("check_mysql_query_rs")
        .args(login)
        .args(["-q", "select 'x'"])
        .assert()
        .code(2)
        .stdout("QUERY CRITICAL: Is not a numeric - 'x'\n");
    plugin("check_mysql_query_rs")
        .args(login)
        .args(["-q", "select 1 from dual where 1 = 0"])
        .assert()
        .code(1)
        .stdout("QUERY WARNING: No rows returned\n");
    plugin("check_mysql_query_rs")
        .args(login)
        .args(["-q", "select nope"])
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with(
            "QUERY CRITICAL: Error with query - Unknown column 'nope'",
        ));
}

// ---- PostgreSQL ----

#[test]
fn pgsql_login_tls_and_verification() {
    if !testbed_db() {
        return;
    }
    pgsql().assert().code(0).stdout(re(
        r"^PGSQL OK - PostgreSQL 15\.\S+ .*on 127\.0\.0\.1 port 5432 \(monitest\), TLSv1\.3, \d+\.\d{3} s \| time=",
    ));
    pgsql()
        .args(["--ca-file", &testbed_ca()])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(", TLSv1.3, "));
    // sslmode=disable: no TLS in the line.
    plugin("check_db_rs")
        .args([
            "--url",
            "postgres://monitor@127.0.0.1/monitest?sslmode=disable",
            "-P",
            "monpass",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("TLS").not());
    plugin("check_db_rs")
        .args([
            "--type",
            "pgsql",
            "-H",
            "127.0.0.1",
            "-u",
            "monitor",
            "-P",
            "s3cr3t-wrong",
            "-v",
        ])
        .assert()
        .code(2)
        .stdout(predicate::str::contains(
            "password authentication failed for user \"monitor\"",
        ))
        .stdout(predicate::str::contains("s3cr3t-wrong").not());
    plugin("check_db_rs")
        .args([
            "--type",
            "pgsql",
            "-H",
            "127.0.0.1",
            "-p",
            &closed_port().to_string(),
        ])
        .assert()
        .code(2)
        .stdout(re(
            r"^PGSQL CRITICAL - connect to 127\.0\.0\.1 port \d+: Connection refused\n$",
        ));
}

#[test]
fn pgsql_query_connections_and_passwords_from_pgpass() {
    if !testbed_db() {
        return;
    }
    pgsql()
        .args([
            "--query",
            "select n, 'the answer' from counts where name = 'answer'",
        ])
        .args(["--query-critical", "@40:50"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("query returned 42 (the answer)"));
    pgsql()
        .arg("--connections")
        .assert()
        .code(0)
        .stdout(re(r", \d+ of 100 connections \(\d+%\), "));
    let dir = tempfile::tempdir().unwrap();
    let pass = dir.path().join("pgpass");
    std::fs::write(&pass, "127.0.0.1:5432:monitest:monitor:monpass\n").unwrap();
    plugin("check_db_rs")
        .args([
            "--type",
            "pgsql",
            "-H",
            "127.0.0.1",
            "-u",
            "monitor",
            "-d",
            "monitest",
        ])
        .env("PGPASSFILE", &pass)
        .env_remove("PGPASSWORD")
        .assert()
        .code(0);
    plugin("check_db_rs")
        .args([
            "--type",
            "pgsql",
            "-H",
            "127.0.0.1",
            "-u",
            "monitor",
            "-d",
            "monitest",
        ])
        .env("PGPASSWORD", "monpass")
        .assert()
        .code(0);
}

#[test]
fn pgsql_standby_and_primary_replication() {
    if !testbed_db() {
        return;
    }
    db("pgsql", &env("PGSQL_STANDBY_PORT"))
        .args(["--replication", "--replication-critical", "300"])
        .assert()
        .code(0)
        .stdout(re(
            r"replica WAL receiver streaming, [0-9.]+ s behind, .*\| lag=[0-9.]+s;;300 ",
        ));
    pgsql()
        .arg("--replication")
        .assert()
        .code(0)
        .stdout(re(r"primary with 1 replica: \S+ streaming [0-9.]+ s, "));
}

#[test]
fn check_pgsql_in_c_s_words() {
    if !testbed_db() {
        return;
    }
    let login = [
        "-H",
        "127.0.0.1",
        "-l",
        "monitor",
        "-p",
        "monpass",
        "-d",
        "monitest",
    ];
    plugin("check_pgsql_rs")
        .args(login)
        .assert()
        .code(0)
        .stdout(re(
            r"^ OK - database monitest \(\d+\.\d{6} sec\.\) \| time=[0-9.]+s;2;8;0\n$",
        ));
    plugin("check_pgsql_rs")
        .args(login)
        .args(["-q", "select 5", "-W", "3", "-C", "10"])
        .assert()
        .code(1)
        .stdout(re(
            r"^ WARNING - database monitest \(\d+\.\d{6} sec\.\) \| time=[0-9.]+s;2;8;0 query=5;3;10\nQUERY WARNING - 'select 5' returned 5\.000000\n$",
        ));
    assert_eq!(
        c_code(
            "check_pgsql",
            &[
                "-H",
                "127.0.0.1",
                "-l",
                "monitor",
                "-p",
                "monpass",
                "-d",
                "monitest",
                "-q",
                "select 5",
                "-W",
                "3",
                "-C",
                "10"
            ]
        ),
        Some(1)
    );
    plugin("check_pgsql_rs")
        .args(["-H", "127.0.0.1", "-l", "monitor", "-p", "wrong", "-d", "monitest"])
        .assert()
        .code(2)
        .stdout(
            "CRITICAL - no connection to 'monitest' (FATAL: password authentication failed for user \"monitor\").\n",
        );
    // -w in seconds: any login takes longer than 0.
    plugin("check_pgsql_rs")
        .args(login)
        .args(["-w", "0", "-c", "100"])
        .assert()
        .code(1);
}

/// A MySQL handshake (protocol 10) from a server without TLS (no CLIENT_SSL).
fn mysql_greeting_without_tls() -> Vec<u8> {
    let mut p = vec![10u8];
    p.extend_from_slice(b"5.5.5-10.11.0-MariaDB-fake\0");
    p.extend_from_slice(&1u32.to_le_bytes());
    p.extend_from_slice(b"abcdefgh\0");
    // PROTOCOL_41 | SECURE_CONNECTION | LONG_PASSWORD, not SSL (0x0800).
    p.extend_from_slice(&(0x0200u16 | 0x8000 | 0x0001).to_le_bytes());
    p.push(33);
    p.extend_from_slice(&2u16.to_le_bytes());
    p.extend_from_slice(&0x0008u16.to_le_bytes()); // PLUGIN_AUTH
    p.push(21);
    p.extend_from_slice(&[0; 10]);
    p.extend_from_slice(b"ijklmnopqrst\0");
    p.extend_from_slice(b"mysql_native_password\0");
    let mut packet = (p.len() as u32).to_le_bytes()[..3].to_vec();
    packet.push(0);
    packet.extend_from_slice(&p);
    packet
}

#[test]
fn tls_required_but_not_offered_is_critical() {
    use rsplugins_tests::http_peer::RawPeer;
    use std::io::{Read, Write};
    // PostgreSQL: the server answers the SSLRequest with N.
    let pg = RawPeer::spawn(1, |_, mut stream, _| {
        let mut request = [0u8; 8];
        if stream.read_exact(&mut request).is_ok() {
            let _ = stream.write_all(b"N");
            std::thread::sleep(Duration::from_millis(500));
        }
    });
    plugin("check_db_rs")
        .args([
            "--type",
            "pgsql",
            "-H",
            "127.0.0.1",
            "-p",
            &pg.port.to_string(),
        ])
        .args(["-u", "monitor", "-P", "x", "--tls"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("TLS"));
    pg.finish();
    // MySQL: the greeting lacks the SSL capability.
    let my = RawPeer::spawn(1, |_, mut stream, _| {
        let _ = stream.write_all(&mysql_greeting_without_tls());
        std::thread::sleep(Duration::from_millis(500));
    });
    plugin("check_db_rs")
        .args([
            "--type",
            "mysql",
            "-H",
            "127.0.0.1",
            "-p",
            &my.port.to_string(),
        ])
        .args(["-u", "monitor", "-P", "x", "--tls"])
        .assert()
        .code(2)
        .stdout(predicate::str::contains("TLS required, but 127.0.0.1 port"));
    my.finish();
}

#[test]
fn ipv6_and_the_postgresql_socket() {
    if !testbed_db() {
        return;
    }
    if testbed_ipv6() {
        for (engine, port) in [("mysql", env("MYSQL_PORT")), ("pgsql", env("PGSQL_PORT"))] {
            plugin("check_db_rs")
                .args(["--type", engine, "-H", "::1", "-p", &port])
                .args(["-u", "monitor", "-P", "monpass", "-d", "monitest"])
                .assert()
                .code(0)
                .stdout(predicate::str::contains(format!(
                    " on ::1 port {port} (monitest)"
                )));
        }
    }
    // No -H: the local socket, as C's check_pgsql (password login is allowed there).
    plugin("check_pgsql_rs")
        .args(["-l", "monitor", "-p", "monpass", "-d", "monitest"])
        .assert()
        .code(0)
        .stdout(re(r"^ OK - database monitest \("));
    plugin("check_db_rs")
        .args(["--type", "pgsql", "--socket", &env("PGSQL_SOCKET_DIR")])
        .args(["-u", "monitor", "-P", "monpass", "-d", "monitest"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "on the socket /run/postgresql/.s.PGSQL.5432 (monitest)",
        ));
}

#[test]
fn usage_errors_are_unknown() {
    plugin("check_db_rs")
        .args(["-H", "127.0.0.1"])
        .assert()
        .code(3)
        .stdout("DB UNKNOWN - say which server: --type mysql|pgsql, or --url\n".replace('|', "¦"));
    plugin("check_db_rs")
        .args(["--url", "ftp://x"])
        .assert()
        .code(3);
    plugin("check_mysql_rs")
        .args(["-H", "127.0.0.1", "-D", "/etc/ssl/certs"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "-D (a CA directory; use -C) is not supported",
        ));
    // A key without its certificate is a usage error.
    plugin("check_mysql_rs")
        .args(["-H", "127.0.0.1", "-k", "/tmp/key.pem"])
        .assert()
        .code(3);
    plugin("check_mysql_query_rs").assert().code(3);
}
