//! A record as the contract's JSON line, written field by field into a byte
//! buffer. serde_json produces the same bytes, but through a call per key
//! and per value and a byte-at-a-time escaping loop: on a storm of
//! handshakes that was a seventh of the reporter's instructions, and the
//! reporter is the thread that sets the pace there. The derived `Serialize`
//! stays the reference: the tests hold this writer to its bytes.

use super::record::{Kind, Record};

/// Append `r` as one JSON object (no newline), byte for byte what
/// `serde_json::to_writer` writes for it.
pub fn write(out: &mut Vec<u8>, r: &Record) {
    out.extend_from_slice(b"{\"ts\":");
    string(out, &r.ts);
    out.extend_from_slice(b",\"client\":");
    string(out, &r.client);
    out.extend_from_slice(b",\"server\":");
    string(out, &r.server);
    out.extend_from_slice(b",\"method\":");
    string(out, &r.method);
    out.extend_from_slice(b",\"target\":");
    string(out, &r.target);
    out.extend_from_slice(b",\"http_version\":");
    string(out, &r.http_version);
    out.extend_from_slice(b",\"host\":");
    opt_string(out, r.host.as_deref());
    out.extend_from_slice(b",\"origin\":");
    opt_string(out, r.origin.as_deref());
    out.extend_from_slice(b",\"status\":");
    opt_number(out, r.status.map(u32::from));
    out.extend_from_slice(b",\"reason\":");
    opt_string(out, r.reason.as_deref());
    out.extend_from_slice(b",\"outcome\":");
    code(out, r.outcome.code());
    out.extend_from_slice(b",\"cause\":");
    code(out, r.cause.code());
    out.extend_from_slice(b",\"header\":");
    opt_string(out, r.header);
    out.extend_from_slice(b",\"evidence\":");
    string(out, &r.evidence);
    out.extend_from_slice(b",\"fix\":");
    opt_string(out, r.fix);
    out.extend_from_slice(b",\"leg\":");
    code(out, r.leg);
    out.extend_from_slice(b",\"peer\":");
    opt_string(out, r.peer.as_deref());
    out.extend_from_slice(b",\"server_software\":");
    opt_string(out, r.server_software.as_deref());
    out.extend_from_slice(b",\"body_excerpt\":");
    opt_string(out, r.body_excerpt.as_deref());
    out.extend_from_slice(b",\"confidence\":");
    code(out, r.confidence_str());
    out.extend_from_slice(b",\"kind\":");
    code(out, kind(r.kind));
    out.extend_from_slice(b",\"ws_key\":");
    opt_string(out, r.ws_key.as_deref());
    out.extend_from_slice(b",\"proxy\":");
    opt_string(out, r.proxy);
    out.extend_from_slice(if r.tls {
        b",\"tls\":true"
    } else {
        b",\"tls\":false"
    });
    out.extend_from_slice(b",\"sni\":");
    opt_string(out, r.sni.as_deref());
    out.extend_from_slice(b",\"alpn\":");
    opt_string(out, r.alpn.as_deref());
    out.extend_from_slice(b",\"stream_id\":");
    opt_number(out, r.stream_id);
    out.extend_from_slice(b",\"ended_by\":");
    opt_string(out, r.ended_by);
    out.extend_from_slice(b",\"end\":");
    opt_string(out, r.end);
    out.extend_from_slice(b",\"close_code\":");
    opt_number(out, r.close_code.map(u32::from));
    out.extend_from_slice(b",\"close_reason\":");
    opt_string(out, r.close_reason.as_deref());
    out.extend_from_slice(b",\"duration_secs\":");
    opt_float(out, r.duration_secs);
    out.extend_from_slice(b",\"idle_secs\":");
    opt_float(out, r.idle_secs);
    out.push(b'}');
}

fn kind(k: Kind) -> &'static str {
    match k {
        Kind::Handshake => "handshake",
        Kind::SessionEnd => "session_end",
    }
}

/// A code of the contract (an outcome, a cause, a confidence, a kind, a
/// leg): lower-case letters, digits, `-` and `_`, quoted without a search
/// for bytes to escape (the tests hold every code to serde_json's bytes).
fn code(out: &mut Vec<u8>, c: &'static str) {
    out.push(b'"');
    out.extend_from_slice(c.as_bytes());
    out.push(b'"');
}

fn opt_string(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn opt_number(out: &mut Vec<u8>, n: Option<u32>) {
    match n {
        Some(n) => {
            let mut digits = [0u8; 10];
            let len = crate::text::put_decimal(&mut digits, n);
            out.extend_from_slice(&digits[..len]);
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// Seconds of a session end: rare (one per abnormal end under `--sessions`),
/// so serde_json's own float formatting is used, shortest round-trip form
/// and `null` for what JSON cannot hold.
fn opt_float(out: &mut Vec<u8>, x: Option<f64>) {
    match x.map(|x| serde_json::to_string(&x)) {
        Some(Ok(text)) => out.extend_from_slice(text.as_bytes()),
        Some(Err(_)) | None => out.extend_from_slice(b"null"),
    }
}

/// Whether any byte of the word is a control character, `"` or `\`: the
/// bytes JSON strings must escape.
fn word_needs_escape(w: u64) -> bool {
    use crate::byte_word::{has_below, has_byte};
    has_below(w, 0x20) || has_byte(w, b'"') || has_byte(w, b'\\')
}

fn byte_needs_escape(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// `s` as a JSON string: serde_json's escapes (short forms for the five
/// that have one, `\u00xx` in lower-case hex for the other control
/// characters), everything else as it is.
fn string(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut run = 0;
    let mut i = next_escape(bytes, 0);
    while let Some(&b) = bytes.get(i) {
        out.extend_from_slice(&bytes[run..i]);
        escape(out, b);
        run = i + 1;
        i = next_escape(bytes, run);
    }
    out.extend_from_slice(&bytes[run..]);
    out.push(b'"');
}

/// Where the first byte at or after `from` that JSON must escape is, or
/// `bytes.len()` when there is none. Nearly every text of a record (the
/// evidence, the advice, a body excerpt) has none: on x86-64 sixteen bytes
/// are tested at once with SSE2, which every x86-64 processor has, then
/// eight at a time, then single bytes.
fn next_escape(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8, _mm_or_si128,
            _mm_set1_epi8,
        };
        // SAFETY: SSE2 is part of the x86-64 baseline, so the instructions
        // exist on every processor this runs on; each unaligned load reads
        // the sixteen bytes at `i`, inside `bytes` since `i + 16 <= len`.
        unsafe {
            let quote = _mm_set1_epi8(b'"' as i8);
            let backslash = _mm_set1_epi8(b'\\' as i8);
            let last_control = _mm_set1_epi8(0x1f);
            while i + 16 <= bytes.len() {
                let v = _mm_loadu_si128(bytes.as_ptr().add(i).cast());
                // Unsigned, v <= 0x1f exactly where min(v, 0x1f) == v.
                let control = _mm_cmpeq_epi8(_mm_min_epu8(v, last_control), v);
                let special = _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash));
                let mask = _mm_movemask_epi8(_mm_or_si128(control, special)) as u32;
                if mask != 0 {
                    return i + mask.trailing_zeros() as usize;
                }
                i += 16;
            }
        }
    }
    while let Some(w) = bytes.get(i..).and_then(crate::byte_word::load) {
        if word_needs_escape(w) {
            break;
        }
        i += 8;
    }
    while bytes.get(i).is_some_and(|&b| !byte_needs_escape(b)) {
        i += 1;
    }
    i
}

fn escape(out: &mut Vec<u8>, b: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    match b {
        b'"' => out.extend_from_slice(b"\\\""),
        b'\\' => out.extend_from_slice(b"\\\\"),
        0x08 => out.extend_from_slice(b"\\b"),
        0x0c => out.extend_from_slice(b"\\f"),
        b'\n' => out.extend_from_slice(b"\\n"),
        b'\r' => out.extend_from_slice(b"\\r"),
        b'\t' => out.extend_from_slice(b"\\t"),
        _ => out.extend_from_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 0xf)],
        ]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::correlate::Leg;
    use crate::classify::{Cause, Confidence, Outcome};
    use proptest::prelude::*;

    fn serde_bytes(r: &Record) -> Vec<u8> {
        serde_json::to_vec(r).expect("a record serializes")
    }

    fn ours(r: &Record) -> Vec<u8> {
        let mut out = Vec::new();
        write(&mut out, r);
        out
    }

    fn base() -> Record {
        Record {
            ts: "2026-12-02T03:39:13.000001Z".into(),
            client: "10.0.0.1:40000".into(),
            server: "[2001:db8::1]:443".into(),
            method: "GET".into(),
            target: "/chat?x=1".into(),
            http_version: "HTTP/1.1".into(),
            host: None,
            origin: None,
            status: None,
            reason: None,
            outcome: Outcome::Accepted,
            cause: Cause::Ok,
            header: None,
            evidence: String::new(),
            fix: None,
            leg: "direct",
            peer: None,
            server_software: None,
            body_excerpt: None,
            confidence: Confidence::High,
            kind: Kind::Handshake,
            ws_key: None,
            proxy: None,
            tls: false,
            sni: None,
            alpn: None,
            stream_id: None,
            ended_by: None,
            end: None,
            close_code: None,
            close_reason: None,
            duration_secs: None,
            idle_secs: None,
        }
    }

    #[test]
    fn every_cause_outcome_confidence_and_kind_is_spelled_as_serde_spells_it() {
        for &cause in Cause::ALL {
            for outcome in Outcome::ALL {
                for confidence in [Confidence::Low, Confidence::Medium, Confidence::High] {
                    for kind in [Kind::Handshake, Kind::SessionEnd] {
                        let r = Record {
                            cause,
                            outcome,
                            confidence,
                            kind,
                            ..base()
                        };
                        assert_eq!(ours(&r), serde_bytes(&r));
                    }
                }
            }
        }
        for leg in [Leg::Direct, Leg::Client, Leg::Backend] {
            let r = Record {
                leg: leg.code(),
                ..base()
            };
            assert_eq!(ours(&r), serde_bytes(&r));
        }
        // Every code is quoted as it is: nothing in one needs escaping.
        let codes = Cause::ALL
            .iter()
            .map(|c| c.code())
            .chain(Outcome::ALL.iter().map(|o| o.code()));
        for c in codes {
            assert!(
                c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{c}"
            );
        }
    }

    #[test]
    fn every_field_present_is_written_in_the_contracts_order() {
        let r = Record {
            host: Some("h".into()),
            origin: Some("o".into()),
            status: Some(65535),
            reason: Some("Bad \"Request\"".into()),
            header: Some("Sec-WebSocket-Key"),
            evidence: "tab\there, nul\0, del\u{7f}, é, 😀, back\\slash".into(),
            fix: Some("send it"),
            peer: Some("a>b".into()),
            server_software: Some("nginx".into()),
            body_excerpt: Some("line\r\nnext\u{1b}[0m".into()),
            ws_key: Some("dGhlIHNhbXBsZSBub25jZQ==".into()),
            proxy: Some("nginx"),
            tls: true,
            sni: Some("example.test".into()),
            alpn: Some("http/1.1".into()),
            stream_id: Some(u32::MAX),
            ended_by: Some("server"),
            end: Some("close-frame"),
            close_code: Some(0),
            close_reason: Some("bye".into()),
            duration_secs: Some(1.0),
            idle_secs: Some(0.125),
            ..base()
        };
        assert_eq!(ours(&r), serde_bytes(&r));
    }

    #[test]
    fn floats_json_cannot_hold_are_null() {
        let r = Record {
            duration_secs: Some(f64::NAN),
            idle_secs: Some(f64::INFINITY),
            ..base()
        };
        assert_eq!(ours(&r), serde_bytes(&r));
    }

    proptest! {
        /// Texts longer than a vector, with at most two bytes to escape
        /// anywhere in them: the bytes serde_json writes.
        #[test]
        fn long_texts_are_escaped_as_serde_json_escapes_them(
            text in proptest::string::string_regex(
                "[a-z é]{0,70}[\\x00-\\x1f\\x7f\"\\\\]?[a-z é]{0,70}[\\x00-\\x1f\"\\\\]?[a-z]{0,20}"
            ).expect("regex"),
        ) {
            let mut out = Vec::new();
            string(&mut out, &text);
            prop_assert_eq!(out, serde_json::to_vec(&text).expect("a string serializes"));
        }

        /// Any text (every control character, quotes, backslashes and
        /// multi-byte characters at every offset of the eight-byte words) and
        /// any number come out as serde_json writes them.
        #[test]
        fn any_record_is_written_as_serde_json_writes_it(
            texts in proptest::collection::vec(
                proptest::string::string_regex("[\\x00-\\x7f\"\\\\é😀]{0,40}").expect("regex"),
                12,
            ),
            status in proptest::option::of(any::<u16>()),
            stream in proptest::option::of(any::<u32>()),
            secs in proptest::option::of(any::<f64>()),
        ) {
            let r = Record {
                ts: texts[0].clone(),
                client: texts[1].clone(),
                server: texts[2].clone(),
                method: texts[3].clone(),
                target: texts[4].clone(),
                http_version: texts[5].clone(),
                host: Some(texts[6].clone()),
                reason: Some(texts[7].clone()),
                evidence: texts[8].clone(),
                body_excerpt: Some(texts[9].clone()),
                sni: Some(texts[10].clone()),
                close_reason: Some(texts[11].clone()),
                status,
                close_code: status,
                stream_id: stream,
                duration_secs: secs,
                idle_secs: secs.map(|s| s / 3.0),
                ..base()
            };
            prop_assert_eq!(ours(&r), serde_bytes(&r));
        }
    }
}
