//! The terminal format: one aligned line per attempt, the facts of the JSON record
//! in the order a person reads them: when, who, what came back, why, the fix.

use super::record::Record;

use crate::classify::Outcome;

const RESET: &str = "\x1b[0m";

/// One line for a record, with ANSI colour when `color` (status and cause red
/// for refusals, yellow for unanswered, green for accepted; the fix dimmed).
pub fn line_colored(r: &Record, color: bool) -> String {
    if !color {
        return line(r);
    }
    let tint = match r.outcome {
        Outcome::Accepted => "\x1b[32m",
        Outcome::Rejected => "\x1b[1;31m",
        _ => "\x1b[33m",
    };
    let plain = line(r);
    let code = r.cause.code();
    let mut s = plain.replacen(code, &format!("{tint}{code}{RESET}"), 1);
    if let Some(i) = s.find(" — fix: ") {
        s.insert_str(i, "\x1b[2m");
        s.push_str(RESET);
    }
    s
}

/// One line for a record.
pub fn line(r: &Record) -> String {
    let status = super::legs::status(r);
    let conn = format!("{} > {}", r.client, r.server);
    let req = format!("{} {}", r.method, r.target);
    let header = r.header.map_or(String::new(), |h| format!(" [{h}]"));
    let leg = if r.leg == "direct" {
        String::new()
    } else {
        format!(" ({} leg)", r.leg)
    };
    let mut s = format!(
        "{ts}  {conn:<45} {req:<24} {status:<28} {cause}{header}{leg}: {ev}",
        ts = r.ts,
        cause = r.cause.code(),
        ev = r.evidence,
    );
    if let Some(fix) = r.fix {
        s.push_str(" — fix: ");
        s.push_str(fix);
    }
    s
}
