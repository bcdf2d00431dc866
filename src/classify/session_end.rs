//! Why an accepted session ended abnormally. The strongest evidence of a
//! proxy's idle timeout is repetition: several sessions to one server that
//! all end the same number of seconds after their last frame. A single end
//! after a well-known default, or after a whole number of seconds (timeouts
//! are configured in seconds; a crash lands anywhere), is a likelier timer
//! than a bare FIN.

use std::collections::{HashMap, VecDeque};

use super::{Cause, Confidence, Outcome, Verdict};
use crate::decode::Endpoint;
use crate::http::session::{EndHow, EndedBy, SessionEnd};

/// Idle times shorter than this are traffic, not a timeout.
const MIN_IDLE_SECS: f64 = 1.0;
/// Two idle gaps this close are "the same".
const SAME_IDLE_SECS: f64 = 0.5;
/// How close to a whole number of seconds a timer's gap lands: the timer's
/// own slack plus the time from the last frame to its capture.
const WHOLE_SECS_SLACK: f64 = 0.05;
/// Earlier ends with the same gap that make a timeout certain.
const REPEATS_FOR_HIGH: usize = 2;
/// Idle gaps remembered per server, and servers remembered.
const MAX_GAPS: usize = 32;
const MAX_SERVERS: usize = 4096;

/// Idle timeouts that ship as defaults, and who ships them.
const DEFAULT_TIMEOUTS: &[(f64, &str)] = &[
    (
        60.0,
        "nginx proxy_read_timeout, AWS ALB and ingress-nginx default to 60 s",
    ),
    (100.0, "Cloudflare closes idle WebSockets after 100 s"),
    (350.0, "AWS NAT gateways drop idle connections after 350 s"),
    (30.0, "many proxy and load-balancer samples use 30 s"),
];

/// Judges session ends, remembering the idle gaps seen per server.
#[derive(Debug, Default)]
pub struct SessionJudge {
    gaps: HashMap<Endpoint, VecDeque<f64>>,
    order: VecDeque<Endpoint>,
}

impl SessionJudge {
    /// `closer_is_proxy`: the side that ended the session is a proxy (its
    /// timers are the usual suspects).
    pub fn judge(&mut self, end: &SessionEnd, closer_is_proxy: bool) -> Verdict {
        let idle = end.idle_secs();
        let server = end.attempt.server;
        let closer = who(end.by);
        let timed_out = idle >= MIN_IDLE_SECS && end.how != EndHow::CloseFrame;
        let repeats = if timed_out {
            self.gaps.get(&server).map_or(0, |g| {
                g.iter()
                    .filter(|x| (*x - idle).abs() <= SAME_IDLE_SECS)
                    .count()
            })
        } else {
            0
        };
        if timed_out {
            self.remember(server, idle);
        }
        let default = DEFAULT_TIMEOUTS
            .iter()
            .find(|(t, _)| (t - idle).abs() <= SAME_IDLE_SECS)
            .map(|(_, who)| *who);
        let whole = closer_is_proxy && (idle - idle.round()).abs() <= WHOLE_SECS_SLACK;
        let life = format!("{:.1} s into the session", end.duration_secs());
        if timed_out && (repeats > 0 || default.is_some() || whole) {
            let confidence = if repeats >= REPEATS_FOR_HIGH {
                Confidence::High
            } else if repeats > 0 || default.is_some() {
                Confidence::Medium
            } else {
                Confidence::Low
            };
            let mut evidence = format!(
                "the {closer} side ended the session ({}) {idle:.1} s after the last frame in either direction, {life}",
                how_words(end.how)
            );
            if repeats > 0 {
                evidence.push_str(&format!(
                    "; {repeats} earlier session(s) to {server} ended after the same idle time"
                ));
            }
            if let Some(d) = default {
                evidence.push_str(&format!("; {d}"));
            } else if repeats == 0 {
                evidence.push_str("; a proxy closed it after a whole number of seconds, as a configured timer does");
            }
            return verdict(Cause::IdleTimeout, evidence, confidence);
        }
        match (end.how, &end.close) {
            (EndHow::CloseFrame, Some((code, reason))) => {
                let said = if reason.is_empty() {
                    String::new()
                } else {
                    format!(" '{}'", super::printable(reason.as_bytes(), 120))
                };
                verdict(
                    Cause::AbnormalCloseCode,
                    format!(
                        "the {closer} sent close {code}{said} ({}), {life}",
                        code_meaning(*code)
                    ),
                    Confidence::High,
                )
            }
            (EndHow::Reset, _) => verdict(
                Cause::SessionReset,
                format!(
                    "the {closer} reset the connection {idle:.1} s after the last frame, {life}, without a close frame",
                ),
                if end.by == EndedBy::Server {
                    Confidence::High
                } else {
                    Confidence::Medium
                },
            ),
            _ => verdict(
                Cause::NoCloseFrame,
                format!(
                    "the {closer} closed TCP (FIN) {idle:.1} s after the last frame, {life}, without a close frame"
                ),
                Confidence::Medium,
            ),
        }
    }

    fn remember(&mut self, server: Endpoint, idle: f64) {
        if !self.gaps.contains_key(&server) {
            if self.order.len() >= MAX_SERVERS {
                if let Some(old) = self.order.pop_front() {
                    self.gaps.remove(&old);
                }
            }
            self.order.push_back(server);
        }
        let g = self.gaps.entry(server).or_default();
        if g.len() >= MAX_GAPS {
            g.pop_front();
        }
        g.push_back(idle);
    }
}

fn who(by: EndedBy) -> &'static str {
    match by {
        EndedBy::Server => "server",
        EndedBy::Client => "client",
    }
}

fn how_words(how: EndHow) -> &'static str {
    match how {
        EndHow::CloseFrame => "close frame",
        EndHow::Fin => "FIN, no close frame",
        EndHow::Reset => "reset, no close frame",
    }
}

/// What a close code means (RFC 6455 §7.4.1, IANA registry).
fn code_meaning(code: u16) -> &'static str {
    match code {
        1002 => "protocol error",
        1003 => "unsupported data",
        1005 | 1006 | 1015 => "a reserved code that must never be sent",
        1007 => "invalid payload data",
        1008 => "policy violation",
        1009 => "message too big",
        1010 => "the client needed an extension the server did not accept",
        1011 => "internal server error",
        1012 => "service restart",
        1013 => "try again later",
        1014 => "bad gateway",
        3000..=3999 => "registered by a library or framework",
        4000..=4999 => "defined by the application",
        _ => "not a defined close code",
    }
}

fn verdict(cause: Cause, evidence: String, confidence: Confidence) -> Verdict {
    Verdict {
        outcome: Outcome::AbnormalEnd,
        cause,
        header: None,
        evidence,
        confidence,
        warnings: Vec::new(),
        defects: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::Timestamp;
    use crate::http::Attempt;

    fn end(server_port: u16, last: i64, ended: i64, how: EndHow, close: Option<u16>) -> SessionEnd {
        let ep = |port| Endpoint {
            ip: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            port,
        };
        let attempt = Attempt::for_test(ep(40000), ep(server_port), "/ws");
        SessionEnd {
            attempt: Box::new(attempt),
            started: Timestamp::new(100, 0),
            ended: Timestamp::new(ended, 0),
            last_data: Timestamp::new(last, 0),
            by: EndedBy::Server,
            how,
            close: close.map(|c| (c, String::new())),
            completed_at: 1,
        }
    }

    #[test]
    fn the_same_idle_gap_on_several_sessions_is_a_timeout() {
        let mut j = SessionJudge::default();
        // 7 s is no default: the first end is a timer by its whole seconds
        // alone, repeats make it likely, then certain.
        let v = j.judge(&end(8080, 110, 117, EndHow::Fin, None), true);
        assert_eq!(
            (v.cause, v.confidence),
            (Cause::IdleTimeout, Confidence::Low)
        );
        let v = j.judge(&end(8080, 120, 127, EndHow::Fin, None), true);
        assert_eq!(
            (v.cause, v.confidence),
            (Cause::IdleTimeout, Confidence::Medium)
        );
        let v = j.judge(&end(8080, 130, 137, EndHow::Reset, None), true);
        assert_eq!(
            (v.cause, v.confidence),
            (Cause::IdleTimeout, Confidence::High)
        );
        assert!(
            v.evidence.contains("2 earlier session(s)"),
            "{}",
            v.evidence
        );
        // Another server has its own history.
        let v = j.judge(&end(9090, 130, 137, EndHow::Fin, None), true);
        assert_eq!(v.confidence, Confidence::Low);
    }

    #[test]
    fn a_gap_of_no_whole_seconds_seen_once_is_no_timer() {
        let mut j = SessionJudge::default();
        let mut e = end(8080, 110, 117, EndHow::Fin, None);
        e.ended = Timestamp::new(117, 400_000_000);
        assert_eq!(j.judge(&e, false).cause, Cause::NoCloseFrame);
        // The same gap again on that server is.
        e.last_data = Timestamp::new(200, 0);
        e.ended = Timestamp::new(207, 350_000_000);
        assert_eq!(j.judge(&e, false).cause, Cause::IdleTimeout);
    }

    #[test]
    fn whole_seconds_count_only_when_a_proxy_closed() {
        let mut j = SessionJudge::default();
        let e = end(8080, 110, 111, EndHow::Fin, None);
        assert_eq!(j.judge(&e, false).cause, Cause::NoCloseFrame);
        let mut j = SessionJudge::default();
        assert_eq!(j.judge(&e, true).cause, Cause::IdleTimeout);
    }

    #[test]
    fn a_well_known_default_alone_is_a_likely_timeout() {
        let mut j = SessionJudge::default();
        let v = j.judge(&end(8080, 110, 170, EndHow::Fin, None), true);
        assert_eq!(
            (v.cause, v.confidence),
            (Cause::IdleTimeout, Confidence::Medium)
        );
        assert!(
            v.evidence.contains("nginx proxy_read_timeout"),
            "{}",
            v.evidence
        );
    }

    #[test]
    fn close_codes_resets_and_busy_ends() {
        let mut j = SessionJudge::default();
        let v = j.judge(&end(8080, 110, 110, EndHow::CloseFrame, Some(1011)), true);
        assert_eq!(v.cause, Cause::AbnormalCloseCode);
        assert!(
            v.evidence.contains("close 1011 (internal server error)"),
            "{}",
            v.evidence
        );
        let v = j.judge(&end(8080, 110, 110, EndHow::Reset, None), true);
        assert_eq!(
            (v.cause, v.confidence),
            (Cause::SessionReset, Confidence::High)
        );
        // A FIN right after traffic is no timeout even at a default's length.
        let v = j.judge(&end(8080, 160, 160, EndHow::Fin, None), true);
        assert_eq!(v.cause, Cause::NoCloseFrame);
        assert_eq!(v.outcome, Outcome::AbnormalEnd);
    }
}
