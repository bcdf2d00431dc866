//! The two legs of a proxied attempt side by side: each leg's request headers
//! (secrets masked), the pairing of legs released apart, and what the proxy
//! changed, header by header. Shared by the terminal blocks and the HTML report.

use super::record::Record;
use super::redact;
use crate::classify::correlate::Judged;
use crate::classify::printable;

/// Legs waiting for their other leg; past this the oldest goes on alone.
const MAX_PENDING: usize = 256;

/// One leg as the side-by-side view needs it.
#[derive(Debug, Clone)]
pub struct LegView {
    pub record: Record,
    /// Request headers in wire order, values masked like the record's.
    pub headers: Vec<(String, String)>,
}

impl LegView {
    pub fn new(j: &Judged, r: &Record, redact: bool) -> LegView {
        let secrets = if redact {
            redact::secrets_of(&j.attempt.request)
        } else {
            Vec::new()
        };
        let headers = j
            .attempt
            .request
            .headers
            .iter()
            .map(|h| {
                let v = printable(h.value, 200);
                let v = if redact {
                    redact::scrub(v, &secrets)
                } else {
                    v
                };
                (h.name.to_string(), v)
            })
            .collect();
        LegView {
            record: r.clone(),
            headers,
        }
    }

    fn conn(&self) -> String {
        format!("{}>{}", self.record.client, self.record.server)
    }

    /// All values of header `name`, joined; `(none)` when absent.
    fn value(&self, name: &str) -> String {
        let vs: Vec<&str> = self
            .headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect();
        if vs.is_empty() {
            "(none)".to_string()
        } else {
            vs.join(", ")
        }
    }
}

/// Holds a leg until its peer arrives. Each call returns the findings ready
/// to show: one leg alone, or two legs with the client leg first.
#[derive(Debug, Default)]
pub struct Pairing {
    pending: Vec<LegView>,
}

impl Pairing {
    pub fn push(&mut self, view: LegView) -> Vec<Vec<LegView>> {
        let Some(peer) = view.record.peer.clone() else {
            return vec![vec![view]];
        };
        if let Some(i) = self.pending.iter().position(|p| p.conn() == peer) {
            let other = self.pending.remove(i);
            let mut legs = vec![other, view];
            legs.sort_by_key(|l| l.record.leg != "client");
            return vec![legs];
        }
        self.pending.push(view);
        if self.pending.len() > MAX_PENDING {
            return vec![vec![self.pending.remove(0)]];
        }
        Vec::new()
    }

    /// The legs whose peer never came, each alone.
    pub fn drain(&mut self) -> Vec<Vec<LegView>> {
        std::mem::take(&mut self.pending)
            .into_iter()
            .map(|l| vec![l])
            .collect()
    }
}

/// One row of the side-by-side table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub name: String,
    pub left: String,
    pub right: String,
    /// The proxy changed it (the connection always differs and is not marked).
    pub changed: bool,
}

/// The connection, the request line, every header that differs and the
/// status; with the number of headers the proxy left alone.
pub fn changes(a: &LegView, b: &LegView) -> (Vec<Change>, usize) {
    let (ra, rb) = (&a.record, &b.record);
    let row = |name: &str, left: String, right: String, marked: bool| Change {
        name: name.to_string(),
        changed: marked && left != right,
        left,
        right,
    };
    let mut rows = vec![
        row(
            "connection",
            format!("{} → {}", ra.client, ra.server),
            format!("{} → {}", rb.client, rb.server),
            false,
        ),
        row(
            "request",
            format!("{} {} {}", ra.method, ra.target, ra.http_version),
            format!("{} {} {}", rb.method, rb.target, rb.http_version),
            true,
        ),
    ];
    let mut names: Vec<&str> = Vec::new();
    for (n, _) in a.headers.iter().chain(b.headers.iter()) {
        if !names.iter().any(|x| x.eq_ignore_ascii_case(n)) {
            names.push(n);
        }
    }
    let mut same = 0;
    for n in names {
        let (va, vb) = (a.value(n), b.value(n));
        if va == vb {
            same += 1;
        } else {
            rows.push(row(n, va, vb, true));
        }
    }
    rows.push(row("status", status(ra), status(rb), true));
    (rows, same)
}

/// `400 Bad Request`, or the outcome when nothing came back.
pub fn status(r: &Record) -> String {
    if let (Some(end), Some(by)) = (r.end, r.ended_by) {
        return format!("session ended: {end} by {by}");
    }
    match (r.status, &r.reason) {
        (Some(s), Some(reason)) if !reason.is_empty() => format!("{s} {reason}"),
        (Some(s), _) => s.to_string(),
        (None, _) => r.outcome.code().replace('_', " "),
    }
}

/// What makes two findings "the same": cause, server, header, leg and the
/// evidence with its numbers and quoted values blanked (ports, lengths and
/// keys differ from one repeat to the next).
pub fn fold_key(legs: &[LegView]) -> String {
    legs.iter()
        .map(|l| {
            let r = &l.record;
            format!(
                "{}|{}|{}|{}|{}",
                r.cause.code(),
                r.server,
                r.header.unwrap_or(""),
                r.leg,
                shape(&r.evidence)
            )
        })
        .collect::<Vec<_>>()
        .join("\u{1}")
}

/// The evidence with digit runs as `#` and quoted values as `'…'`.
pub fn shape(evidence: &str) -> String {
    let mut out = String::with_capacity(evidence.len());
    let mut quoted = false;
    let mut last_digit = false;
    for c in evidence.chars() {
        if c == '\'' {
            if !quoted {
                out.push_str("'…'");
            }
            quoted = !quoted;
            last_digit = false;
            continue;
        }
        if quoted {
            continue;
        }
        if c.is_ascii_digit() {
            if !last_digit {
                out.push('#');
            }
            last_digit = true;
            continue;
        }
        last_digit = false;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_ignore_numbers_and_quoted_values() {
        assert_eq!(
            shape("client leg 10.0.0.1:4242 sent Upgrade 'websocket'"),
            shape("client leg 10.0.0.9:5151 sent Upgrade 'WebSocket'")
        );
        assert_ne!(shape("no Origin"), shape("no Host"));
    }
}
