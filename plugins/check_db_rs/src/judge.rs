//! Judging the facts of a session: check_db_rs's evaluate, and the parts
//! the C drop-ins share with it (a query's number, replication).

use rsplugins::perfdata::{Perfdata, Uom};
use rsplugins::thresholds::Thresholds;
use rsplugins::{CheckResult, State};

use crate::facts::{Facts, QueryFacts, ReplicaFacts, Replication};
use crate::target::Target;
use crate::Args;

/// The number a query returned, or why there is none.
pub fn query_number(query: &Result<QueryFacts, String>) -> Result<(f64, &QueryFacts), String> {
    let q = query.as_ref().map_err(|e| format!("query failed: {e}"))?;
    if !q.has_row {
        return Err("query returned no rows".to_string());
    }
    let text = q
        .first
        .as_deref()
        .ok_or_else(|| "query returned NULL".to_string())?;
    let n = text
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("query returned '{text}', not a number"))?;
    Ok((n, q))
}

/// A number as C prints a query result (`5`, `0.25`).
pub fn number_text(n: f64) -> String {
    rsplugins::number::format_number(n)
}

fn query_part(args: &Args, query: &Result<QueryFacts, String>) -> CheckResult {
    let name = args.queryname.as_deref().unwrap_or("query");
    match query_number(query) {
        Err(why) => CheckResult::with_state(State::Critical, format!("{name}: {why}")),
        Ok((n, q)) => {
            let thresholds = Thresholds::new(args.query_warning, args.query_critical);
            let mut text = format!("{name} returned {}", number_text(n));
            if let Some(second) = q.second.as_deref().filter(|s| !s.is_empty()) {
                text.push_str(&format!(" ({second})"));
            }
            let mut part = CheckResult::with_state(thresholds.evaluate(n), text);
            part.perf(Perfdata::new(name, n, Uom::None).thresholds(&thresholds));
            part
        }
    }
}

/// A replica's part: threads running and lag within `lag` thresholds.
pub fn replica_part(r: &ReplicaFacts, lag: &Thresholds, mysql: bool) -> CheckResult {
    let lag_text = r.lag.map_or("lag unknown".to_string(), |l| {
        format!("{} s behind", number_text(l))
    });
    let running = if mysql {
        format!(
            "IO thread {}, SQL thread {}",
            r.receiver_state,
            if r.applying { "Yes" } else { "No" }
        )
    } else {
        format!("WAL receiver {}", r.receiver_state)
    };
    let (state, mut text) = if !r.receiving || !r.applying {
        (State::Critical, format!("replica {running}"))
    } else {
        let state = r.lag.map_or(State::Critical, |l| lag.evaluate(l));
        (state, format!("replica {running}, {lag_text}"))
    };
    if let Some(e) = r.error.as_deref().filter(|e| !e.is_empty()) {
        text.push_str(&format!(": {e}"));
    }
    let mut part = CheckResult::with_state(state, text);
    if let Some(l) = r.lag {
        part.perf(Perfdata::new("lag", l, Uom::Seconds).thresholds(lag));
    }
    part
}

fn replication_part(args: &Args, found: &Result<Replication, String>, mysql: bool) -> CheckResult {
    let lag = Thresholds::new(args.replication_warning, args.replication_critical);
    match found {
        Err(e) => CheckResult::with_state(
            State::Unknown,
            format!("cannot read the replication status: {e}"),
        ),
        Ok(Replication::None) => CheckResult::with_state(
            State::Critical,
            "no replication: not a replica, and no replica attached",
        ),
        Ok(Replication::Replica(r)) => replica_part(r, &lag, mysql),
        Ok(Replication::Primary(links)) => {
            let mut state = State::Ok;
            let mut shown = Vec::new();
            let mut perf = Vec::new();
            for link in links {
                let l = link.lag.unwrap_or(0.0);
                let s = if link.state == "streaming" {
                    lag.evaluate(l)
                } else {
                    State::Warning
                };
                state = state.worst(s);
                shown.push(format!("{} {} {} s", link.name, link.state, number_text(l)));
                perf.push(
                    Perfdata::new(format!("lag_{}", link.name), l, Uom::Seconds).thresholds(&lag),
                );
            }
            let mut part = CheckResult::with_state(
                state,
                format!(
                    "primary with {} replica{}: {}",
                    links.len(),
                    if links.len() == 1 { "" } else { "s" },
                    shown.join(", ")
                ),
            );
            part.perfdata = perf;
            part
        }
    }
}

fn connections_part(args: &Args, found: &Result<(u64, u64), String>) -> CheckResult {
    match found {
        Err(e) => CheckResult::with_state(State::Unknown, format!("cannot count connections: {e}")),
        Ok((used, max)) => {
            let pct = if *max == 0 {
                0.0
            } else {
                (*used as f64 * 10_000.0 / *max as f64).round() / 100.0
            };
            let thresholds = Thresholds::new(args.connections_warning, args.connections_critical);
            let mut part = CheckResult::with_state(
                thresholds.evaluate(pct),
                format!("{used} of {max} connections ({pct:.0}%)"),
            );
            part.perf(
                Perfdata::new("connections", *used as f64, Uom::None)
                    .min(0.0)
                    .max(*max as f64),
            );
            part.perf(Perfdata::new("connections_pct", pct, Uom::Percent).thresholds(&thresholds));
            part
        }
    }
}

/// The server as the summary starts: `MariaDB 10.11.19 on 127.0.0.1 port 3306 (monitest), TLSv1.3`.
fn server_part(target: &Target, facts: &Facts) -> CheckResult {
    let engine = if facts.version.contains("MariaDB") {
        "MariaDB"
    } else {
        facts.engine.unwrap_or(target.engine).name()
    };
    let mut text = format!("{engine} {} on {}", facts.version, target.place());
    if !facts.database.is_empty() {
        text.push_str(&format!(" ({})", facts.database));
    }
    if let Some(tls) = &facts.tls {
        text.push_str(&format!(", {tls}"));
    }
    CheckResult::with_state(State::Ok, text)
}

/// Judges check_db_rs's facts: the login, then each part asked for.
pub fn evaluate(args: &Args, target: &Target, facts: &Facts) -> CheckResult {
    let mysql = target.engine == crate::facts::Engine::Mysql;
    let mut parts = vec![server_part(target, facts)];
    if let Some(q) = &facts.query {
        parts.push(query_part(args, q));
    }
    if let Some(r) = &facts.replication {
        parts.push(replication_part(args, r, mysql));
    }
    if let Some(c) = &facts.connections {
        parts.push(connections_part(args, c));
    }
    let thresholds = args.thresholds.thresholds();
    let seconds = facts.connect.as_secs_f64();
    let mut time = CheckResult::with_state(thresholds.evaluate(seconds), format!("{seconds:.3} s"));
    time.perf(Perfdata::seconds("time", facts.connect).thresholds(&thresholds));
    parts.push(time);
    CheckResult::of_parts(parts)
}
