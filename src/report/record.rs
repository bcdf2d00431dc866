//! The output contract (DESIGN.md §2): one record per upgrade request, with
//! every field present (`null` when absent) and secrets redacted.

use serde::Serialize;

use super::redact;
use crate::capture::Timestamp;
use crate::classify::correlate::Judged;
use crate::classify::{advice, printable, Cause, Confidence, Outcome};
use crate::http::Headers;

/// Version of the JSON contract; bumped when fields are added. 1.1 added
/// `confidence`; 1.2 added `kind`, `ws_key`, `proxy`, `tls`, `sni`, `alpn`,
/// `stream_id` and the `session_end` fields (`ended_by`, `end`,
/// `close_code`, `close_reason`, `duration_secs`, `idle_secs`).
pub const CONTRACT_VERSION: &str = "1.2";

/// What a record describes. Consumers that read several record kinds from one
/// stream switch on it; every record of contract 1.1 was a handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// One WebSocket upgrade request and its answer.
    Handshake,
    /// The abnormal end of an accepted session (`--sessions`): the handshake
    /// fields describe the attempt that opened it, `ts` is the end.
    SessionEnd,
}

/// One line of `--json` output. Field order is the contract's.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Record {
    pub ts: String,
    pub client: String,
    pub server: String,
    pub method: String,
    pub target: String,
    pub http_version: String,
    pub host: Option<String>,
    pub origin: Option<String>,
    pub status: Option<u16>,
    pub reason: Option<String>,
    pub outcome: Outcome,
    pub cause: Cause,
    pub header: Option<&'static str>,
    pub evidence: String,
    pub fix: Option<&'static str>,
    pub leg: &'static str,
    pub peer: Option<String>,
    pub server_software: Option<String>,
    pub body_excerpt: Option<String>,
    pub confidence: Confidence,
    pub kind: Kind,
    /// The `Sec-WebSocket-Key` nonce as sent. Not a secret (it only proves the
    /// server read the request), and random per attempt, so downstream tools can
    /// join the legs of one attempt captured on different hosts.
    pub ws_key: Option<String>,
    /// The proxy family that answered or forwarded the attempt, when the
    /// traffic names it.
    pub proxy: Option<&'static str>,
    /// The request was read from decrypted TLS.
    pub tls: bool,
    /// TLS server name the client asked for.
    pub sni: Option<String>,
    /// ALPN protocols: the one selected when known, else those offered.
    pub alpn: Option<String>,
    /// HTTP/2 stream that carried an RFC 8441 extended CONNECT.
    pub stream_id: Option<u32>,
    /// `session_end`: `server` or `client`, the side that ended the session.
    pub ended_by: Option<&'static str>,
    /// `session_end`: `close-frame`, `fin` or `reset`.
    pub end: Option<&'static str>,
    /// `session_end`: the close frame's code and reason, when one was sent.
    pub close_code: Option<u16>,
    pub close_reason: Option<String>,
    /// `session_end`: seconds from the 101 to the end.
    pub duration_secs: Option<f64>,
    /// `session_end`: seconds without a frame in either direction before the
    /// end (what an idle timeout counts).
    pub idle_secs: Option<f64>,
}

/// RFC 3339 in UTC; microseconds unless the capture has finer timestamps.
pub fn rfc3339(ts: Timestamp) -> String {
    let days = ts.secs.div_euclid(86_400);
    let sod = ts.secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (sod / 3600, (sod / 60) % 60, sod % 60);
    // Every record carries one: digits written directly for the years a
    // capture really has, the formatting machinery for the rest (damaged
    // timestamps), which it pads and signs the same way.
    if (0..=9999).contains(&y) && ts.nanos < 1_000_000_000 {
        // Every field has a fixed width here: the digits go straight into
        // their places in a buffer, which is copied into the string once.
        let mut buf = *b"0000-00-00T00:00:00.000000000Z";
        let fraction = if ts.nanos % 1000 == 0 {
            (ts.nanos / 1000, 6)
        } else {
            (ts.nanos, 9)
        };
        for (at, v, width) in [
            (0, y as u32, 4),
            (5, m, 2),
            (8, d, 2),
            (11, hh as u32, 2),
            (14, mm as u32, 2),
            (17, ss as u32, 2),
            (20, fraction.0, fraction.1),
        ] {
            put_fixed(&mut buf, at, v, width);
        }
        let len = 20 + fraction.1;
        if let Some(z) = buf.get_mut(len) {
            *z = b'Z';
        }
        if let Ok(text) = std::str::from_utf8(buf.get(..=len).unwrap_or(&[])) {
            return text.to_string();
        }
    }
    if ts.nanos % 1000 == 0 {
        format!(
            "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{:06}Z",
            ts.nanos / 1000
        )
    } else {
        format!(
            "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{:09}Z",
            ts.nanos
        )
    }
}

/// `v` in decimal, zero-padded to `width` digits, written at `at` in `buf`
/// (the caller knows it fits: a value too wide keeps its low digits).
fn put_fixed(buf: &mut [u8], at: usize, v: u32, width: usize) {
    let mut v = v;
    for slot in buf.iter_mut().skip(at).take(width).rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// well-known algorithm), so no date crate is needed for one conversion.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl Record {
    /// The confidence as its output word.
    pub fn confidence_str(&self) -> &'static str {
        match self.confidence {
            Confidence::High => "high",
            Confidence::Medium => "medium",
            Confidence::Low => "low",
        }
    }

    /// Build the record; with `redact` (the default) secrets are masked in every
    /// text field.
    pub fn new(j: &Judged, redact: bool) -> Record {
        let a = &j.attempt;
        let v = &j.verdict;
        let secrets = if redact {
            redact::secrets_of(&a.request)
        } else {
            Vec::new()
        };
        let clean = |s: String| {
            if redact {
                redact::scrub(s, &secrets)
            } else {
                s
            }
        };
        let hv = |name: &str| {
            a.request
                .header(name)
                .map(|h| clean(printable(h.value, 200)))
        };
        let target = if redact {
            redact::redact_target(&a.request.target)
        } else {
            a.request.target.clone()
        };
        let resp = a.response.as_ref();
        let body_excerpt = a.body_excerpt.as_ref().map(|b| {
            let b = &b[..b.len().min(crate::http::body::EXCERPT_LEN)];
            let text = crate::text::lossy(b);
            let t: String = text
                .chars()
                .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
                .take(200)
                .collect();
            clean(t)
        });
        let session = j.session.as_deref();
        // Three decimals: the capture's precision is finer, a reader's need is not.
        let secs = |x: f64| (x * 1000.0).round() / 1000.0;
        Record {
            ts: rfc3339(session.map_or(a.ts, |s| s.ended)),
            client: a.client.text(),
            server: a.server.text(),
            method: clean(printable(a.request.method.as_bytes(), 32)),
            target: clean(printable(target.as_bytes(), 2048)),
            http_version: match a.h2 {
                Some(_) => "2".to_string(),
                None => a.request.http_version(),
            },
            host: hv("host"),
            origin: hv("origin"),
            status: resp.map(|r| r.status),
            reason: resp.map(|r| clean(printable(r.reason.as_bytes(), 100))),
            outcome: v.outcome,
            cause: v.cause,
            header: v.header,
            evidence: clean(v.evidence.clone()),
            fix: advice::fix_for(v.cause, j.proxy, resp.map(|r| r.status)),
            leg: j.leg.code(),
            peer: j.peer.clone(),
            server_software: resp
                .and_then(|r| r.header("server"))
                .map(|h| clean(printable(h.value, 100))),
            body_excerpt,
            confidence: v.confidence,
            kind: if session.is_some() {
                Kind::SessionEnd
            } else {
                Kind::Handshake
            },
            ws_key: a
                .request
                .header("sec-websocket-key")
                .map(|h| printable(h.value, 64)),
            proxy: j.proxy,
            tls: a.tls.as_ref().is_some_and(|t| t.decrypted),
            sni: a
                .tls
                .as_ref()
                .and_then(|t| t.sni.as_ref())
                .map(|s| clean(printable(s.as_bytes(), 255))),
            alpn: a.tls.as_ref().and_then(|t| {
                let list = match &t.alpn {
                    Some(chosen) => chosen.clone(),
                    None => t.alpn_offered.join(","),
                };
                (!list.is_empty()).then(|| clean(printable(list.as_bytes(), 100)))
            }),
            stream_id: a.h2.as_ref().map(|h| h.stream_id),
            ended_by: session.map(|s| s.by.code()),
            end: session.map(|s| s.how.code()),
            close_code: session.and_then(|s| s.close.as_ref().map(|c| c.0)),
            close_reason: session.and_then(|s| {
                s.close
                    .as_ref()
                    .map(|c| clean(printable(c.1.as_bytes(), 125)))
            }),
            duration_secs: session.map(|s| secs(s.duration_secs())),
            idle_secs: session.map(|s| secs(s.idle_secs())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The digit-by-digit form is the formatting machinery's, for any
        /// time a capture can hold (damaged ones included).
        #[test]
        fn timestamps_print_as_format_would(
            // Years from about -560 to 11 500: both sides of 0 and 9999.
            secs in -80_000_000_000i64..300_000_000_000,
            nanos in 0u32..1_000_000_000,
            micro: bool,
        ) {
            let nanos = if micro { nanos / 1000 * 1000 } else { nanos };
            let ts = Timestamp::new(secs, nanos);
            let days = ts.secs.div_euclid(86_400);
            let sod = ts.secs.rem_euclid(86_400);
            let (y, m, d) = civil_from_days(days);
            let (hh, mm, ss) = (sod / 3600, (sod / 60) % 60, sod % 60);
            let want = if nanos % 1000 == 0 {
                format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{:06}Z", nanos / 1000)
            } else {
                format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{nanos:09}Z")
            };
            proptest::prop_assert_eq!(rfc3339(ts), want);
        }
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(Timestamp::new(0, 0)), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            rfc3339(Timestamp::new(1_795_482_895, 123_456_000)),
            "2026-11-24T01:14:55.123456Z"
        );
        assert_eq!(
            rfc3339(Timestamp::new(951_782_400, 1)),
            "2000-02-29T00:00:00.000000001Z"
        );
    }
}
