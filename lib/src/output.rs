//! Rendering a result as plugin text or JSON.

use std::str::FromStr;

use serde_json::{json, Value};

use crate::perfdata::Perfdata;
use crate::result::CheckResult;
use crate::secret;
use crate::state::State;

/// How the result is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    /// The classic monitoring-plugins text.
    #[default]
    Text,
    /// The same result as one JSON object.
    Json,
}

impl FromStr for OutputFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(OutputFormat::Text),
            "json" => Ok(OutputFormat::Json),
            _ => Err(format!("'{s}' is not an output format (use text or json)")),
        }
    }
}

/// How the first line puts the state and the summary together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FirstLine {
    /// `SERVICE STATE - summary`, the library's form.
    #[default]
    Dash,
    /// `SERVICE STATE: summary`, the form of the C plugins that print it so
    /// (check_procs, check_dns, check_http): users' filters match it.
    Colon,
    /// The summary alone, as C check_mysql prints it (`Uptime: 81  Threads:
    /// 1 ...`, `Access denied for user ...`): the exit code carries the state.
    Bare,
}

impl FirstLine {
    fn separator(self) -> &'static str {
        match self {
            FirstLine::Dash => " - ",
            FirstLine::Colon => ": ",
            FirstLine::Bare => "",
        }
    }
}

/// The character that replaces `|` in texts: engines split perfdata at `|`.
const PIPE_REPLACEMENT: &str = "¦";

/// Makes a text safe for one output line: no `|`, no line breaks, no secrets.
pub fn clean_line(text: &str) -> String {
    let text = secret::redact(text);
    text.replace('|', PIPE_REPLACEMENT)
        .replace(['\r', '\n'], " ")
        .trim_end()
        .to_string()
}

fn clean_block(text: &str) -> Vec<String> {
    text.lines().map(clean_line).collect()
}

fn detail_lines(result: &CheckResult, depth: usize, out: &mut Vec<String>) {
    let indent = "  ".repeat(depth);
    for line in &result.details {
        for l in clean_block(line) {
            out.push(format!("{indent}{l}"));
        }
    }
    for sub in &result.subchecks {
        if result.folded {
            // Already on the line above: only what it adds below.
            detail_lines(sub, depth, out);
            continue;
        }
        out.push(format!(
            "{indent}\\_ [{}] {}",
            sub.state(),
            clean_line(&sub.summary)
        ));
        detail_lines(sub, depth + 1, out);
    }
}

/// The classic text: `SERVICE STATE - summary | perfdata`, details below.
pub fn render_text(service: &str, result: &CheckResult) -> String {
    render_text_as(service, FirstLine::Dash, result)
}

/// The text with the first line in `form`.
pub fn render_text_as(service: &str, form: FirstLine, result: &CheckResult) -> String {
    let form = result.first_line.unwrap_or(form);
    let mut first = if form == FirstLine::Bare {
        String::new()
    } else {
        format!("{} {}", service, result.state())
    };
    // An empty summary (check_disk -e with all well) is the state alone, as C.
    if !result.summary.is_empty() {
        first.push_str(form.separator());
        first.push_str(&clean_line(&result.summary));
    }
    let perf: Vec<String> = result
        .all_perfdata()
        .iter()
        .map(|p| secret::redact(&p.to_string()))
        .collect();
    if !perf.is_empty() {
        first.push_str(" | ");
        first.push_str(&perf.join(" "));
    }
    let mut lines = vec![first];
    detail_lines(result, 0, &mut lines);
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

fn perfdata_json(p: &Perfdata) -> Value {
    json!({
        "label": secret::redact(&p.label),
        "value": p.value.filter(|v| v.is_finite()),
        "uom": p.uom.suffix(),
        "warning": p.warning.map(|r| r.to_string()),
        "critical": p.critical.map(|r| r.to_string()),
        "min": p.min,
        "max": p.max,
        "text": secret::redact(&p.to_string()),
    })
}

fn result_json(result: &CheckResult) -> Value {
    let state = result.state();
    let mut value = json!({
        "state": state.name(),
        "exit_code": state.exit_code(),
        "summary": secret::redact(&result.summary),
        "details": result.details.iter().map(|d| secret::redact(d)).collect::<Vec<_>>(),
        "perfdata": result.perfdata.iter().map(perfdata_json).collect::<Vec<_>>(),
        "subchecks": result.subchecks.iter().map(result_json).collect::<Vec<_>>(),
    });
    if !result.data.is_empty() {
        value["data"] = redact_strings(Value::Object(result.data.clone()));
    }
    value
}

/// Every string in a data tree redacted, as the text fields are.
fn redact_strings(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(secret::redact(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_strings).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, redact_strings(v)))
                .collect(),
        ),
        other => other,
    }
}

/// The result as a JSON object with the service name; state and exit code
/// are the same the text form exits with.
pub fn render_json(service: &str, result: &CheckResult) -> String {
    let mut value = result_json(result);
    if let Value::Object(map) = &mut value {
        map.insert("service".to_string(), json!(service));
    }
    let mut text = value.to_string();
    text.push('\n');
    text
}

/// Renders in the chosen format (`form` is the text's first-line form).
pub fn render(
    format: OutputFormat,
    service: &str,
    form: FirstLine,
    result: &CheckResult,
) -> String {
    match format {
        OutputFormat::Text => render_text_as(service, form, result),
        OutputFormat::Json => render_json(service, result),
    }
}

/// A one-line result with a state (used for errors, time-outs, usage problems).
pub fn render_line(
    format: OutputFormat,
    service: &str,
    form: FirstLine,
    state: State,
    message: &str,
) -> String {
    render(
        format,
        service,
        form,
        &CheckResult::with_state(state, message),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perfdata::Uom;
    use crate::thresholds::Thresholds;

    fn sample() -> CheckResult {
        let th = Thresholds::new(Some("5".parse().unwrap()), Some("10".parse().unwrap()));
        let mut r = CheckResult::with_state(State::Ok, "load average: 0.12, 0.08, 0.05");
        r.perf(
            Perfdata::new("load1", 0.12, Uom::None)
                .thresholds(&th)
                .min(0.0),
        );
        r.perf(
            Perfdata::new("load5", 0.08, Uom::None)
                .thresholds(&th)
                .min(0.0),
        );
        r
    }

    #[test]
    fn classic_first_line() {
        assert_eq!(
            render_text("LOAD", &sample()),
            "LOAD OK - load average: 0.12, 0.08, 0.05 | load1=0.12;5;10;0 load5=0.08;5;10;0\n"
        );
    }

    #[test]
    fn first_line_in_c_s_colon_form() {
        let r = CheckResult::with_state(State::Ok, "3 processes");
        assert_eq!(
            render_text_as("PROCS", FirstLine::Colon, &r),
            "PROCS OK: 3 processes\n"
        );
        let line = render_line(
            OutputFormat::Text,
            "PROCS",
            FirstLine::Colon,
            State::Unknown,
            "bad",
        );
        assert_eq!(line, "PROCS UNKNOWN: bad\n");
    }

    #[test]
    fn no_perfdata_no_pipe() {
        let r = CheckResult::with_state(State::Critical, "down");
        assert_eq!(render_text("TCP", &r), "TCP CRITICAL - down\n");
    }

    #[test]
    fn pipes_and_newlines_cannot_break_the_format() {
        let mut r = CheckResult::with_state(State::Warning, "banner a|b\r\nsecond");
        r.detail("detail with | pipe\nand a second line");
        r.perf(Perfdata::new("x", 1.0, Uom::None));
        let text = render_text("SMTP", &r);
        assert_eq!(
            text,
            "SMTP WARNING - banner a¦b  second | x=1\ndetail with ¦ pipe\nand a second line\n"
        );
        assert_eq!(text.matches('|').count(), 1);
    }

    #[test]
    fn subchecks_render_below_with_their_state_and_all_perfdata_first() {
        let mut top = CheckResult::new("2 mounts checked");
        let mut a = CheckResult::with_state(State::Ok, "/ 10% used");
        a.perf(Perfdata::new("/", 10.0, Uom::Percent));
        let mut b = CheckResult::with_state(State::Critical, "/data 99% used");
        b.detail("inode use 5%");
        b.perf(Perfdata::new("/data", 99.0, Uom::Percent));
        top.subcheck(a);
        top.subcheck(b);
        assert_eq!(
            render_text("DISK", &top),
            "DISK CRITICAL - 2 mounts checked | /=10% /data=99%\n\\_ [OK] / 10% used\n\\_ [CRITICAL] /data 99% used\n  inode use 5%\n"
        );
    }

    #[test]
    fn the_bare_form_is_the_summary_alone() {
        let mut r = CheckResult::with_state(State::Critical, "Access denied");
        r.perf(Perfdata::new("x", 1.0, Uom::None));
        assert_eq!(
            render_text_as("MYSQL", FirstLine::Bare, &r),
            "Access denied | x=1\n"
        );
    }

    #[test]
    fn a_result_may_choose_its_first_line_form() {
        let mut r = CheckResult::with_state(State::Ok, "0.002 seconds response time");
        r.first_line = Some(FirstLine::Colon);
        assert_eq!(
            render_text_as("DNS", FirstLine::Dash, &r),
            "DNS OK: 0.002 seconds response time\n"
        );
    }

    #[test]
    fn json_carries_structured_data_redacted_and_text_does_not() {
        crate::secret::register("data-secret-31337");
        let mut r = CheckResult::new("answer");
        r.datum(
            "records",
            json!([{"name": "a.test.", "ttl": 300, "data": "x data-secret-31337"}]),
        );
        let v: Value = serde_json::from_str(&render_json("DNS", &r)).unwrap();
        assert_eq!(v["data"]["records"][0]["ttl"], 300);
        assert_eq!(
            v["data"]["records"][0]["data"],
            format!("x {}", crate::secret::MASK)
        );
        assert!(!render_text("DNS", &r).contains("records"));
        // No data, no key: results without it keep their shape.
        let v: Value = serde_json::from_str(&render_json("DNS", &sample())).unwrap();
        assert!(v.get("data").is_none());
    }

    #[test]
    fn json_has_the_same_state_and_data() {
        let text = render_json("LOAD", &sample());
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["service"], "LOAD");
        assert_eq!(v["state"], "OK");
        assert_eq!(v["exit_code"], 0);
        assert_eq!(v["perfdata"][0]["label"], "load1");
        assert_eq!(v["perfdata"][0]["value"], 0.12);
        assert_eq!(v["perfdata"][0]["warning"], "5");
        assert_eq!(v["perfdata"][1]["text"], "load5=0.08;5;10;0");
    }

    #[test]
    fn output_format_parses() {
        assert_eq!("JSON".parse(), Ok(OutputFormat::Json));
        assert_eq!("text".parse(), Ok(OutputFormat::Text));
        assert!("xml".parse::<OutputFormat>().is_err());
    }
}
