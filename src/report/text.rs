//! The terminal format: one aligned line per attempt, the facts of the JSON record
//! in the order a person reads them: when, who, what came back, why, the fix.

use super::record::Record;

/// One line for a record.
pub fn line(r: &Record) -> String {
    let status = match (r.status, &r.reason) {
        (Some(s), Some(reason)) if !reason.is_empty() => format!("{s} {reason}"),
        (Some(s), _) => s.to_string(),
        (None, _) => r.outcome.code().replace('_', " "),
    };
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
