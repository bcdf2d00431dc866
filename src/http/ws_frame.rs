//! The WebSocket frame header (RFC 6455 §5.2), parsed from bytes alone: the
//! conversation watches a server's first frames after a 101 for a policy
//! close, and the frame grammar is kept apart so it can be tested and fuzzed
//! on byte arrays.

/// Opcode of a close frame.
pub const OPCODE_CLOSE: u8 = 0x8;

/// Close payloads are at most this long (control frames, §5.5).
pub const MAX_CONTROL_PAYLOAD: u64 = 125;

/// Status code of a close frame without a payload (§7.1.5).
const NO_STATUS: u16 = 1005;

/// A parsed frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub fin: bool,
    pub opcode: u8,
    pub masked: bool,
    /// Payload length as declared (up to 2^64 - 1 with the 8-byte form).
    pub payload_len: u64,
    /// Bytes of the header itself, extended length and mask included.
    pub header_len: usize,
}

impl FrameHeader {
    pub fn is_close(&self) -> bool {
        self.opcode == OPCODE_CLOSE
    }

    /// Whether a server could have sent this header (§5.1-5.5): unmasked, a
    /// defined opcode, and a control frame whole (FIN set) and short. Bytes
    /// that fail this are not frames being followed (a stream joined after a
    /// hole, another protocol), and reading a close out of them would invent
    /// a refusal.
    pub fn plausible_from_server(&self) -> bool {
        !self.masked && self.plausible()
    }

    /// Whether either endpoint could have sent this header: a defined
    /// opcode, and a control frame whole (FIN set) and short.
    pub fn plausible(&self) -> bool {
        let defined = matches!(self.opcode, 0x0..=0x2 | 0x8..=0xa);
        let control = self.opcode >= 0x8;
        defined && (!control || (self.fin && self.payload_len <= MAX_CONTROL_PAYLOAD))
    }
}

/// Bytes of the header that starts `buf`, as far as its first two bytes tell:
/// 2 until they are there, then 2 plus the extended length and the mask key.
pub fn header_len(buf: &[u8]) -> usize {
    match buf {
        [_, b1, ..] => {
            let ext = match b1 & 0x7f {
                126 => 2,
                127 => 8,
                _ => 0,
            };
            2 + ext + if b1 & 0x80 != 0 { 4 } else { 0 }
        }
        _ => 2,
    }
}

/// The header at the start of `buf`, or `None` while `buf` holds fewer bytes
/// than [`header_len`] asks for.
pub fn parse_header(buf: &[u8]) -> Option<FrameHeader> {
    let header_len = header_len(buf);
    let head = buf.get(..header_len)?;
    let (b0, b1) = (head[0], head[1]);
    let payload_len = match b1 & 0x7f {
        126 => u16::from_be_bytes([head[2], head[3]]) as u64,
        127 => head[2..10]
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | *b as u64),
        n => n as u64,
    };
    Some(FrameHeader {
        fin: b0 & 0x80 != 0,
        opcode: b0 & 0x0f,
        masked: b1 & 0x80 != 0,
        payload_len,
        header_len,
    })
}

/// Whether `data` is whole WebSocket frames end to end: each header one an
/// endpoint could send (RSV1 only on a message's first data frame, as
/// permessage-deflate sets it; RSV2 and RSV3 never, no extension in use
/// defines them), all masked alike (one sender), the last ending exactly
/// where `data` does. Bytes of other protocols, and a frame's middle, almost
/// never chain like this: a text protocol's first byte (an HTTP method or
/// status line) is a reserved opcode or sets RSV3.
pub fn whole_frames(data: &[u8]) -> bool {
    let mut at = 0usize;
    let mut masked = None;
    while at < data.len() {
        let rest = &data[at..];
        let Some(h) = parse_header(rest) else {
            return false;
        };
        let rsv = rest[0] & 0x70;
        let rsv_ok = rsv == 0 || (rsv == 0x40 && matches!(h.opcode, 0x1 | 0x2));
        if !h.plausible() || !rsv_ok || *masked.get_or_insert(h.masked) != h.masked {
            return false;
        }
        let end = usize::try_from(h.payload_len)
            .ok()
            .and_then(|n| (at + h.header_len).checked_add(n));
        match end {
            Some(end) if end <= data.len() => at = end,
            _ => return false,
        }
    }
    masked.is_some()
}

/// The status code and reason of a close frame's payload (1005 when empty),
/// or `None` when it cannot be a close (§5.5.1, §7.4): a one-byte payload, a
/// code outside 1000-4999, or a reason that is not UTF-8. Codes the RFC
/// reserves for reports (1005, 1006) are kept: buggy servers do send them,
/// and the capture should show what they sent.
pub fn valid_close(payload: &[u8]) -> Option<(u16, String)> {
    if payload.len() == 1 || std::str::from_utf8(payload.get(2..).unwrap_or(&[])).is_err() {
        return None;
    }
    let (code, reason) = close_reason(payload);
    (1000..=4999).contains(&code).then_some((code, reason))
}

/// The status code and reason of a close frame's payload (1005 when empty).
pub fn close_reason(payload: &[u8]) -> (u16, String) {
    let code = match payload {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => NO_STATUS,
    };
    let reason = payload
        .get(2..)
        .map(|r| crate::text::lossy(r).into_owned())
        .unwrap_or_default();
    (code, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_header_of_a_server_close() {
        let h = parse_header(&[0x88, 0x02, 0x03, 0xf0]).unwrap();
        assert_eq!(
            h,
            FrameHeader {
                fin: true,
                opcode: OPCODE_CLOSE,
                masked: false,
                payload_len: 2,
                header_len: 2,
            }
        );
        assert!(h.is_close());
        assert_eq!(close_reason(&[0x03, 0xf0]), (1008, String::new()));
    }

    #[test]
    fn whole_frames_chain_to_the_end() {
        let text = |s: &[u8]| [&[0x81, s.len() as u8][..], s].concat();
        let masked = |s: &[u8]| [&[0x81, 0x80 | s.len() as u8, 1, 2, 3, 4][..], s].concat();
        assert!(whole_frames(&text(b"hi")));
        assert!(whole_frames(
            &[text(b"a"), text(b"bc"), vec![0x89, 0]].concat()
        ));
        assert!(whole_frames(&[masked(b"a"), masked(b"")].concat()));
        // Compressed (RSV1) data frames; 16-bit lengths.
        let mut big = vec![0xc2, 126, 0x01, 0x00];
        big.extend_from_slice(&[7; 256]);
        assert!(whole_frames(&big));
        // Cut, overlong, mixed masking, reserved bits or opcodes.
        assert!(!whole_frames(&text(b"hi")[..3]));
        assert!(!whole_frames(&[text(b"hi"), vec![0]].concat()));
        assert!(!whole_frames(&[text(b"a"), masked(b"b")].concat()));
        assert!(!whole_frames(&[0x91, 1, b'x']));
        assert!(!whole_frames(&[0xc8, 0]));
        assert!(!whole_frames(&[0x83, 1, b'x']));
        assert!(!whole_frames(&[]));
        for http in [
            &b"GET / HTTP/1.1\r\n"[..],
            b"HTTP/1.1 200 OK\r\n",
            b"POST /x HTTP/1.1\r\n",
            b"PUT /",
            b"DELETE /",
            b"OPTIONS *",
            b"HEAD /",
            b"PATCH /",
            b"CONNECT a:1",
        ] {
            assert!(!whole_frames(http), "{http:?}");
        }
    }

    #[test]
    fn extended_lengths_and_mask() {
        assert_eq!(header_len(&[0x81]), 2);
        assert_eq!(header_len(&[0x82, 126]), 4);
        assert_eq!(header_len(&[0x82, 127]), 10);
        assert_eq!(header_len(&[0x82, 0x80 | 127]), 14);
        assert_eq!(parse_header(&[0x82, 126, 0x01]), None);
        let h = parse_header(&[0x02, 126, 0x01, 0x00]).unwrap();
        assert_eq!((h.fin, h.payload_len, h.header_len), (false, 256, 4));
        let long = [0x82, 127, 0, 0, 0, 1, 0, 0, 0, 0];
        assert_eq!(parse_header(&long).map(|h| h.payload_len), Some(1 << 32));
        let masked = [0x81, 0x85, 1, 2, 3, 4];
        let h = parse_header(&masked).unwrap();
        assert!(h.masked);
        assert_eq!((h.payload_len, h.header_len), (5, 6));
    }

    #[test]
    fn only_frames_a_server_could_send_are_plausible() {
        let h = |b: &[u8]| parse_header(b).unwrap();
        assert!(h(&[0x88, 0x02, 0x03, 0xf0]).plausible_from_server());
        assert!(
            h(&[0x82, 0x7e, 0x01, 0x00]).plausible_from_server(),
            "binary, 256 bytes"
        );
        assert!(h(&[0x01, 0x05]).plausible_from_server(), "a text fragment");
        assert!(
            !h(&[0x88, 0x82, 1, 2, 3, 4]).plausible_from_server(),
            "masked"
        );
        assert!(!h(&[0x83, 0x05]).plausible_from_server(), "reserved opcode");
        assert!(
            !h(&[0x08, 0x02]).plausible_from_server(),
            "fragmented close"
        );
        assert!(
            !h(&[0x89, 0x7e, 0x01, 0x00]).plausible_from_server(),
            "256-byte ping"
        );
    }

    #[test]
    fn only_closes_an_endpoint_could_send_are_valid() {
        assert_eq!(valid_close(&[]), Some((1005, String::new())));
        assert_eq!(valid_close(&[0x03]), None);
        assert_eq!(
            valid_close(b"\x03\xf0policy"),
            Some((1008, "policy".to_string()))
        );
        assert_eq!(valid_close(b"\x0f\xa0app"), Some((4000, "app".to_string())));
        assert_eq!(
            valid_close(b"\x03\xee"),
            Some((1006, String::new())),
            "sent by buggy servers"
        );
        assert_eq!(valid_close(b"\x13\x88"), None, "code 5000");
        assert_eq!(valid_close(b"\x00\x10"), None, "code 16");
        assert_eq!(valid_close(b"\x03\xea\xff\xfe"), None, "reason not UTF-8");
    }

    #[test]
    fn close_reasons() {
        assert_eq!(close_reason(&[]), (1005, String::new()));
        assert_eq!(close_reason(&[0x03]), (1005, String::new()));
        assert_eq!(
            close_reason(b"\x03\xf0policy"),
            (1008, "policy".to_string())
        );
    }
}
