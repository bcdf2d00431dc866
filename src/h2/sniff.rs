//! HTTP/2 recognised in the middle of a connection, without its preface.
//!
//! A capture that begins after a connection did never shows the client's
//! preface, so the first bytes of each direction are all there is to go by.
//! They are taken for HTTP/2 only if every frame header in them is one a
//! peer may send at the default maximum frame size (RFC 9113 §4.2, §6):
//! known type, allowed stream id, fixed lengths where the type has one.
//! HTTP/1.x text fails at once (its fourth byte would be the frame type),
//! and so do TLS records and WebSocket frames (their first bytes read as a
//! length above 16,384).
//!
//! Which side is the client shows in a HEADERS frame whose block opens
//! with a pseudo-header from HPACK's static table: `:authority`, `:method`,
//! `:path` or `:scheme` (indexes 1–7) in requests, `:status` (8–14) in
//! responses. These need no dynamic table, so they read the same mid-way.

use super::frame::{parse_header, FLAG_PADDED, FLAG_PRIORITY, HEADERS, HEADER_LEN};

/// Largest frame a peer may send before SETTINGS_MAX_FRAME_SIZE raises it.
const DEFAULT_MAX_FRAME: usize = 1 << 14;

/// What the first bytes of a direction say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    /// `Some(true)` when a request's header block was seen, `Some(false)`
    /// for a response's, `None` when no HEADERS frame told.
    pub client: Option<bool>,
}

/// `Some` when `data` (a direction's first bytes seen) is a run of HTTP/2
/// frames, the last possibly cut short.
pub fn mid_connection(data: &[u8]) -> Option<Sniffed> {
    let mut pos = 0;
    let mut client = None;
    while let Some(h) = data.get(pos..).and_then(parse_header) {
        let reserved = data.get(pos + 5).is_some_and(|b| b & 0x80 != 0);
        if reserved || !allowed(h.kind, h.len, h.stream) {
            return None;
        }
        let payload = data.get(pos + HEADER_LEN..).unwrap_or_default();
        let payload = &payload[..payload.len().min(h.len)];
        if h.kind == HEADERS && client.is_none() {
            client = block_start(payload, h.flags).and_then(asks);
        }
        pos += HEADER_LEN + h.len;
    }
    // At least one whole frame header: nine bytes say little on their own,
    // but less says nothing.
    (pos > 0).then_some(Sniffed { client })
}

/// Whether a frame of this type, length and stream may be sent.
fn allowed(kind: u8, len: usize, stream: u32) -> bool {
    if len > DEFAULT_MAX_FRAME {
        return false;
    }
    match kind {
        // DATA, HEADERS, PUSH_PROMISE, CONTINUATION: on a stream.
        0 | 1 | 5 | 9 => stream != 0,
        // PRIORITY, RST_STREAM: on a stream, fixed length.
        2 => stream != 0 && len == 5,
        3 => stream != 0 && len == 4,
        // SETTINGS, PING, GOAWAY: on the connection.
        4 => stream == 0 && len % 6 == 0,
        6 => stream == 0 && len == 8,
        7 => stream == 0 && len >= 8,
        // WINDOW_UPDATE: either.
        8 => len == 4,
        _ => false,
    }
}

/// The first byte of a HEADERS frame's block, past padding and priority.
fn block_start(payload: &[u8], flags: u8) -> Option<u8> {
    let mut at = 0;
    if flags & FLAG_PADDED != 0 {
        at += 1;
    }
    if flags & FLAG_PRIORITY != 0 {
        at += 5;
    }
    payload.get(at).copied()
}

/// Whether a block opening with this byte is a request's (`true`) or a
/// response's (`false`), when its first field names a static pseudo-header.
fn asks(first: u8) -> Option<bool> {
    let index = if first & 0x80 != 0 {
        first & 0x7f // indexed field
    } else if first & 0xc0 == 0x40 {
        first & 0x3f // literal with incremental indexing, indexed name
    } else if first & 0xf0 == 0 || first & 0xf0 == 0x10 {
        first & 0x0f // literal without indexing / never indexed
    } else {
        return None; // a table size update: the next field would tell
    };
    match index {
        1..=7 => Some(true),
        8..=14 => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame::{encode, DATA, RST_STREAM, SETTINGS};
    use super::*;

    #[test]
    fn frames_are_recognised_and_the_asking_side_told() {
        // `:method GET` (index 2) then `:path /` (index 4).
        let req = [
            encode(8, 0, 0, &[0, 0, 0x10, 0]),
            encode(HEADERS, 0x4, 3, &[0x82, 0x84]),
        ]
        .concat();
        assert_eq!(mid_connection(&req), Some(Sniffed { client: Some(true) }));
        // `:status 200` (index 8), then half of a DATA frame.
        let mut resp = encode(HEADERS, 0x4, 3, &[0x88]);
        resp.extend_from_slice(&encode(DATA, 0, 3, &[7; 100])[..40]);
        assert_eq!(
            mid_connection(&resp),
            Some(Sniffed {
                client: Some(false)
            })
        );
        // Padded and prioritised: the block starts after both.
        let padded = encode(
            HEADERS,
            0x4 | FLAG_PADDED | FLAG_PRIORITY,
            5,
            &[0, 0, 0, 0, 0, 16, 0x83],
        );
        assert_eq!(
            mid_connection(&padded),
            Some(Sniffed { client: Some(true) })
        );
        // No HEADERS: HTTP/2, side unknown.
        let quiet = encode(RST_STREAM, 0, 3, &[0, 0, 0, 8]);
        assert_eq!(mid_connection(&quiet), Some(Sniffed { client: None }));
    }

    #[test]
    fn other_protocols_are_not_taken_for_frames() {
        for data in [
            &b"GET /chat HTTP/1.1\r\nHost: x\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\n\r\n",
            &[0x17, 0x03, 0x03, 0x00, 0x20, 1, 2, 3, 4, 5, 6, 7, 8],
            &[0x81, 0x05, b'h', b'e', b'l', b'l', b'o', 0, 0, 0],
            &[0x82, 0xfe, 0x01, 0x00, 1, 2, 3, 4, 5, 6, 7, 8],
            &[0, 0, 0, 4, 0, 0, 0, 0],
        ] {
            assert_eq!(mid_connection(data), None, "{data:?}");
        }
        // A SETTINGS frame on a stream, a PING of the wrong length.
        assert_eq!(mid_connection(&encode(SETTINGS, 0, 1, &[])), None);
        assert_eq!(mid_connection(&encode(6, 0, 0, &[0; 4])), None);
        // A good frame followed by garbage.
        let mut mixed = encode(SETTINGS, 1, 0, &[]);
        mixed.extend_from_slice(b"GET / HTTP/1.1\r\n");
        assert_eq!(mid_connection(&mixed), None);
    }
}
