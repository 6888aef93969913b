//! `--compare-serial`: the SOA serial of the zone on the main server and on
//! each listed server; a server that lags (or runs ahead) is named with how
//! far, in RFC 1982 serial arithmetic (a serial that wrapped past 2^32 is
//! still ahead).

use clap::{ArgAction, Args};
use rsplugins::net::{AddressFamily, Deadline, Failure};
use rsplugins::timeout::TimeoutSpec;
use rsplugins::{CheckResult, Perfdata, State, Uom};

use crate::engine::{self, Exchange, Options, Question};
use crate::records::absolute;
use crate::server::Server;

/// `--compare-serial` and `--serial-critical`, the same in both binaries.
#[derive(Args, Debug, Clone, Default)]
pub struct SerialArgs {
    /// Also compare the SOA serial of the name's zone on these servers (HOST, HOST:PORT,
    /// comma-separated, repeatable) with the main server's: WARNING when one lags or runs ahead
    #[arg(
        long = "compare-serial",
        value_name = "SERVER[,SERVER...]",
        action = ArgAction::Append
    )]
    pub compare_serial: Vec<String>,

    /// A serial that differs is CRITICAL instead of WARNING
    #[arg(
        id = "serial_critical",
        long = "serial-critical",
        requires = "compare_serial"
    )]
    pub critical: bool,
}

/// One server's serial, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerSerial {
    /// The server as the user named it.
    pub server: String,
    /// Its serial of the zone.
    pub serial: Result<u32, Failure>,
}

/// What the comparison found.
#[derive(Debug, Clone, PartialEq)]
pub struct SerialFacts {
    /// The zone compared (`example.test.`), or the name asked when its zone
    /// could not be found.
    pub zone: String,
    /// The main server's serial.
    pub main: ServerSerial,
    /// The listed servers', in the order given.
    pub others: Vec<ServerSerial>,
}

/// The SOA of `zone` in a reply: in the answer when the question was the
/// zone's apex, else in the authority section (a NODATA or NXDOMAIN reply
/// of an authoritative server carries its zone's SOA there).
fn soa_of(exchange: &Exchange, zone: Option<&str>) -> Option<(String, u32)> {
    let reply = &exchange.reply;
    reply
        .answers
        .iter()
        .chain(reply.authorities.iter())
        .filter(|r| r.rtype == "SOA")
        .filter(|r| zone.is_none_or(|z| r.name == z))
        .find_map(|r| r.serial.map(|s| (r.name.clone(), s)))
}

fn no_soa(exchange: &Exchange) -> Failure {
    Failure::Protocol {
        step: format!("answered {}", exchange.reply.rcode_name()),
        what: "no SOA record".to_string(),
    }
}

/// Asks the main server for the SOA of `name` (its zone is where the SOA
/// is), then each of `others` for the SOA of that zone, side by side.
pub async fn acquire(
    name: &str,
    main: &Server,
    others: &[Server],
    family: AddressFamily,
    options: Options,
    deadline: &Deadline,
) -> SerialFacts {
    let soa = |zone: &str| Question::new(zone, hickory_proto::rr::RecordType::SOA);
    let question = match soa(name) {
        Ok(q) => q,
        Err(e) => {
            return SerialFacts {
                zone: name.to_string(),
                main: ServerSerial {
                    server: main.to_string(),
                    serial: Err(Failure::Protocol {
                        step: "the SOA question".into(),
                        what: e,
                    }),
                },
                others: Vec::new(),
            }
        }
    };
    let first = engine::ask(main, family, &question, options, deadline).await;
    let found = first.and_then(|x| soa_of(&x, None).ok_or_else(|| no_soa(&x)));
    let (zone, serial) = match found {
        Ok((zone, serial)) => (zone, Ok(serial)),
        Err(f) => (absolute(name), Err(f)),
    };
    let main = ServerSerial {
        server: main.to_string(),
        serial,
    };
    if main.serial.is_err() {
        return SerialFacts {
            zone,
            main,
            others: Vec::new(),
        };
    }
    let asks = others
        .iter()
        .map(|server| {
            let zone = zone.clone();
            async move {
                let serial = match soa(&zone) {
                    Ok(q) => engine::ask(server, family, &q, options, deadline)
                        .await
                        .and_then(|x| {
                            soa_of(&x, Some(&zone))
                                .map(|(_, s)| s)
                                .ok_or_else(|| no_soa(&x))
                        }),
                    Err(e) => Err(Failure::Protocol {
                        step: "the SOA question".into(),
                        what: e,
                    }),
                };
                ServerSerial {
                    server: server.to_string(),
                    serial,
                }
            }
        })
        .collect();
    SerialFacts {
        zone,
        main,
        others: engine::join_all(asks).await,
    }
}

/// How far `other` is behind `main` in serial arithmetic (negative: ahead).
pub fn behind(main: u32, other: u32) -> i64 {
    i64::from(main.wrapping_sub(other) as i32)
}

/// The comparison as parts: one per server that lags, runs ahead or could
/// not be asked (WARNING, or CRITICAL with `critical`; a failure by the one
/// failure policy), else one OK part naming the serial everyone serves.
/// Perfdata `serial_<server>` for each server that answered.
pub fn parts(facts: &SerialFacts, critical: bool, timeout: &TimeoutSpec) -> Vec<CheckResult> {
    let lag_state = if critical {
        State::Critical
    } else {
        State::Warning
    };
    let failed = |s: &ServerSerial, f: &Failure| {
        CheckResult::with_state(
            f.state(timeout, State::Critical),
            format!(
                "no SOA serial of {} from {}: {}",
                facts.zone,
                s.server,
                f.message(false)
            ),
        )
    };
    let main = match &facts.main.serial {
        Ok(serial) => *serial,
        Err(f) => return vec![failed(&facts.main, f)],
    };
    let mut perf = CheckResult::new("");
    perf.perf(serial_point(&facts.main.server, main));
    let mut parts = Vec::new();
    let mut in_sync = vec![facts.main.server.clone()];
    for other in &facts.others {
        match &other.serial {
            Err(f) => parts.push(failed(other, f)),
            Ok(serial) => {
                perf.perf(serial_point(&other.server, *serial));
                let lag = behind(main, *serial);
                let relation = match lag {
                    0 => {
                        in_sync.push(other.server.clone());
                        continue;
                    }
                    n if n > 0 => format!("{n} behind"),
                    n => format!("{} ahead of", -n),
                };
                parts.push(CheckResult::with_state(
                    lag_state,
                    format!(
                        "{} serial {serial} of {} is {relation} {} ({main})",
                        other.server, facts.zone, facts.main.server
                    ),
                ));
            }
        }
    }
    if parts.is_empty() {
        perf.summary = format!("{} serial {main} on {}", facts.zone, in_sync.join(", "));
    }
    perf.set_state(State::Ok);
    parts.push(perf);
    parts
}

fn serial_point(server: &str, serial: u32) -> Perfdata {
    Perfdata::new(format!("serial_{server}"), f64::from(serial), Uom::None)
}

/// The serials as data (JSON output): per server, the serial or why not.
pub fn data(facts: &SerialFacts) -> serde_json::Value {
    let servers: Vec<serde_json::Value> = std::iter::once(&facts.main)
        .chain(facts.others.iter())
        .map(|s| match &s.serial {
            Ok(serial) => serde_json::json!({"server": s.server, "serial": serial}),
            Err(f) => serde_json::json!({"server": s.server, "error": f.message(false)}),
        })
        .collect();
    serde_json::json!({"zone": facts.zone, "servers": servers})
}

/// What `-v` shows of the comparison.
pub fn details(facts: &SerialFacts) -> Vec<String> {
    std::iter::once(&facts.main)
        .chain(facts.others.iter())
        .map(|s| match &s.serial {
            Ok(serial) => format!("SOA serial of {} on {}: {serial}", facts.zone, s.server),
            Err(f) => format!(
                "SOA serial of {} on {}: {}",
                facts.zone,
                s.server,
                f.message(false)
            ),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsplugins::net::NetError;

    fn facts(main: u32, others: &[(&str, Result<u32, Failure>)]) -> SerialFacts {
        SerialFacts {
            zone: "example.test.".into(),
            main: ServerSerial {
                server: "127.0.0.1".into(),
                serial: Ok(main),
            },
            others: others
                .iter()
                .map(|(s, r)| ServerSerial {
                    server: s.to_string(),
                    serial: r.clone(),
                })
                .collect(),
        }
    }

    fn shown(parts: &[CheckResult]) -> Vec<(State, String)> {
        parts
            .iter()
            .map(|p| (p.state(), p.summary.clone()))
            .collect()
    }

    fn perf(parts: &[CheckResult]) -> Vec<String> {
        parts
            .iter()
            .flat_map(|p| p.perfdata.iter().map(|d| d.to_string()))
            .collect()
    }

    #[test]
    fn serial_arithmetic() {
        assert_eq!(behind(5, 3), 2);
        assert_eq!(behind(3, 5), -2);
        // The main server wrapped past 2^32: still ahead by 2.
        assert_eq!(behind(1, u32::MAX), 2);
        assert_eq!(behind(u32::MAX, 1), -2);
    }

    #[test]
    fn in_sync_lagging_ahead_and_failed() {
        let t = TimeoutSpec::default();
        let p = parts(
            &facts(2026120101, &[("127.0.0.1:5300", Ok(2026120101))]),
            false,
            &t,
        );
        assert_eq!(
            shown(&p),
            [(
                State::Ok,
                "example.test. serial 2026120101 on 127.0.0.1, 127.0.0.1:5300".into()
            )]
        );
        assert_eq!(
            perf(&p),
            [
                "serial_127.0.0.1=2026120101",
                "serial_127.0.0.1:5300=2026120101"
            ]
        );
        let p = parts(
            &facts(
                7,
                &[
                    ("a", Ok(4)),
                    ("b", Ok(7)),
                    ("c", Ok(9)),
                    (
                        "d",
                        Err(Failure::from(NetError::timeout(
                            "waiting for the reply",
                            std::time::Duration::from_secs(10),
                        ))),
                    ),
                ],
            ),
            false,
            &t,
        );
        assert_eq!(
            shown(&p),
            [
                (
                    State::Warning,
                    "a serial 4 of example.test. is 3 behind 127.0.0.1 (7)".into()
                ),
                (
                    State::Warning,
                    "c serial 9 of example.test. is 2 ahead of 127.0.0.1 (7)".into()
                ),
                (
                    State::Critical,
                    "no SOA serial of example.test. from d: timed out after 10 seconds waiting for the reply"
                        .into()
                ),
                (State::Ok, String::new()),
            ]
        );
        assert_eq!(
            perf(&p),
            [
                "serial_127.0.0.1=7",
                "serial_a=4",
                "serial_b=7",
                "serial_c=9"
            ]
        );
        let p = parts(&facts(7, &[("a", Ok(4))]), true, &t);
        assert_eq!(p[0].state(), State::Critical);
    }

    #[test]
    fn main_server_without_serial() {
        let mut f = facts(1, &[("a", Ok(1))]);
        f.main.serial = Err(Failure::Protocol {
            step: "answered REFUSED".into(),
            what: "no SOA record".into(),
        });
        assert_eq!(
            shown(&parts(&f, false, &TimeoutSpec::default())),
            [(
                State::Critical,
                "no SOA serial of example.test. from 127.0.0.1: answered REFUSED: no SOA record"
                    .into()
            )]
        );
    }
}
