//! RFC 8441 attempts: an extended CONNECT over HTTP/2 succeeds with
//! `:status 200`; there is no key, Upgrade or Connection to check, so of
//! the request rules only the version ones apply. A refusal is read with the
//! same server evidence as HTTP/1.1, plus the HTTP/2 ones: a reset stream,
//! and a server that never enabled the protocol.

use super::rules::{self, Defect};
use super::{unanswered, verdict, Cause, Confidence, Outcome, Verdict};
use crate::h2::frame::error_name;
use crate::http::{Attempt, Ending, H2Info};

/// The RFC 6455 rules that still hold over HTTP/2 (RFC 8441 §5).
pub fn defects(a: &Attempt) -> Vec<Defect> {
    let mut d = rules::check_request(&a.request);
    d.retain(|d| {
        matches!(
            d.cause,
            Cause::MissingSecWebSocketVersion | Cause::UnsupportedSecWebSocketVersion
        )
    });
    d
}

fn not_enabled(h2: &H2Info, answer: &str) -> Option<Verdict> {
    (h2.connect_enabled == Some(false)).then(|| {
        verdict(
            Outcome::Rejected,
            Cause::H2ConnectNotEnabled,
            None,
            format!(
                "extended CONNECT on stream {} {answer}, but the server's SETTINGS never set SETTINGS_ENABLE_CONNECT_PROTOCOL (0x8) to 1",
                h2.stream_id
            ),
            Confidence::High,
            Vec::new(),
        )
    })
}

/// The verdict for an HTTP/2 attempt, or `None` to let the HTTP/1.1 reading
/// of a refusal's status and body decide.
pub fn early_verdict(a: &Attempt, h2: &H2Info) -> Option<Verdict> {
    let note = h2
        .incomplete
        .as_ref()
        .map(|why| format!(" ({why})"))
        .unwrap_or_default();
    match (&a.response, h2.reset) {
        (Some(r), _) if r.status == 200 => Some(verdict(
            Outcome::Accepted,
            Cause::Ok,
            None,
            format!(
                ":status 200 to an extended CONNECT (RFC 8441) on stream {}{note}",
                h2.stream_id
            ),
            if note.is_empty() {
                Confidence::High
            } else {
                Confidence::Medium
            },
            defects(a),
        )),
        (Some(r), _) => not_enabled(h2, &format!("was answered {}", r.status)),
        (None, Some((by_server, code))) => {
            let who = if by_server { "server" } else { "client" };
            let answer = format!("was reset by the {who} with {}", error_name(code));
            Some(not_enabled(h2, &answer).unwrap_or_else(|| {
                verdict(
                    if by_server {
                        Outcome::Rejected
                    } else {
                        Outcome::Reset
                    },
                    Cause::Unknown,
                    None,
                    format!("stream {} {answer}{note}", h2.stream_id),
                    Confidence::Low,
                    defects(a),
                )
            }))
        }
        (None, None) if h2.incomplete.is_some() && a.ending == Ending::Answered => None,
        (None, None) => {
            let mut v = unanswered(a, outcome_of(a.ending), defects(a));
            if let Some(code) = h2.goaway {
                v.evidence = format!(
                    "server sent GOAWAY ({}) before answering stream {}",
                    error_name(code),
                    h2.stream_id
                );
            }
            if !note.is_empty() {
                v.evidence.push_str(&note);
            }
            Some(v)
        }
    }
}

fn outcome_of(e: Ending) -> Outcome {
    match e {
        Ending::Reset { .. } => Outcome::Reset,
        Ending::CaptureEnded | Ending::Evicted => Outcome::Incomplete,
        _ => Outcome::NoResponse,
    }
}
