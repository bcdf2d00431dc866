//! How an upgraded connection ended (`--sessions`). A browser reports every
//! abnormal end as close code 1006 and nothing more; the capture shows who
//! ended the session, how (a close frame, a FIN without one, a reset), with
//! which code, and how long the connection had been idle: the same idle gap
//! on many connections is a proxy's idle timeout.
//!
//! Pure: frame headers are read from the bytes of each side (RFC 6455 §5.2),
//! payloads are skipped, only close payloads are kept.

use super::ws_frame;
use super::Attempt;
use crate::capture::Timestamp;
use crate::decode::{BySide, Side};

/// Who ended a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedBy {
    Client,
    Server,
}

impl EndedBy {
    pub fn code(self) -> &'static str {
        match self {
            EndedBy::Client => "client",
            EndedBy::Server => "server",
        }
    }
}

/// How a session ended on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndHow {
    /// A close frame, then the connection closed.
    CloseFrame,
    /// A FIN with no close frame before it from that side.
    Fin,
    Reset,
}

impl EndHow {
    pub fn code(self) -> &'static str {
        match self {
            EndHow::CloseFrame => "close-frame",
            EndHow::Fin => "fin",
            EndHow::Reset => "reset",
        }
    }
}

/// The end of an upgraded session that was not the normal closing handshake
/// (RFC 6455 §7: a close frame with 1000 or 1001, then TCP closed).
#[derive(Debug, Clone)]
pub struct SessionEnd {
    /// The accepted attempt that opened the session.
    pub attempt: Box<Attempt>,
    /// Time of the 101.
    pub started: Timestamp,
    /// Time of the close frame, FIN or reset that ended it.
    pub ended: Timestamp,
    /// Time of the last frame bytes before the end, either side (the 101 if
    /// none followed).
    pub last_data: Timestamp,
    pub by: EndedBy,
    pub how: EndHow,
    /// The close frame's code and reason (1005: a close frame without a code).
    pub close: Option<(u16, String)>,
    /// Global number of the packet that ended it, which orders the output.
    pub completed_at: u64,
}

impl SessionEnd {
    /// Seconds from the 101 to the end.
    pub fn duration_secs(&self) -> f64 {
        self.ended.secs_since(self.started)
    }

    /// Seconds without frame bytes before the end.
    pub fn idle_secs(&self) -> f64 {
        self.ended.secs_since(self.last_data)
    }
}

/// Close codes of a normal end: done (1000), going away (1001).
fn is_normal_code(code: u16) -> bool {
    matches!(code, 1000 | 1001)
}

/// The frame reader of one side.
#[derive(Debug, Default)]
struct FrameReader {
    /// Header bytes (and a close frame's payload) collected so far.
    buf: Vec<u8>,
    /// Payload bytes of a non-close frame still to skip.
    skip: u64,
    /// Lost its place (a gap in the stream, a frame that cannot be): frame
    /// boundaries are unknown from here on.
    lost: bool,
}

/// Bytes kept of a close frame's payload.
const MAX_CLOSE: u64 = ws_frame::MAX_CONTROL_PAYLOAD;

impl FrameReader {
    /// Read frames from `data`; the first close frame's code and reason.
    fn read(&mut self, mut data: &[u8]) -> Option<(u16, String)> {
        while !data.is_empty() && !self.lost {
            if self.skip > 0 {
                let n = self.skip.min(data.len() as u64) as usize;
                self.skip -= n as u64;
                data = &data[n..];
                continue;
            }
            let need = ws_frame::header_len(&self.buf);
            let Some(frame) = ws_frame::parse_header(&self.buf) else {
                let n = (need - self.buf.len()).min(data.len());
                self.buf.extend_from_slice(&data[..n]);
                data = &data[n..];
                continue;
            };
            if !frame.plausible() {
                // Not a frame: the place in the stream is lost.
                self.lost = true;
                return None;
            }
            if !frame.is_close() {
                self.skip = frame.payload_len;
                self.buf.clear();
                continue;
            }
            if frame.payload_len > MAX_CLOSE {
                self.lost = true;
                return None;
            }
            let have = (self.buf.len() - need) as u64;
            if have < frame.payload_len {
                let n = ((frame.payload_len - have) as usize).min(data.len());
                self.buf.extend_from_slice(&data[..n]);
                data = &data[n..];
                if ((self.buf.len() - need) as u64) < frame.payload_len {
                    continue;
                }
            }
            let mut payload = self.buf[need..].to_vec();
            if frame.masked {
                // The mask key is the header's last four bytes (§5.3).
                let key = &self.buf[need - 4..need];
                for (i, b) in payload.iter_mut().enumerate() {
                    *b ^= key[i % 4];
                }
            }
            self.buf.clear();
            // Nothing after a close frame is read.
            self.lost = true;
            // A payload no endpoint could send is not a close either.
            return ws_frame::valid_close(&payload);
        }
        None
    }
}

/// An upgraded session being followed to its end.
#[derive(Debug)]
pub struct Session {
    attempt: Box<Attempt>,
    server: Side,
    started: Timestamp,
    last_data: Timestamp,
    readers: BySide<FrameReader>,
    /// The first close frame: its sender, code and reason.
    close: Option<(Side, u16, String)>,
    ended: bool,
}

impl Session {
    /// Follow the session an accepted attempt opened; `server` is the side
    /// that sent the 101, at `started`.
    pub fn new(attempt: Box<Attempt>, server: Side, started: Timestamp) -> Self {
        Session {
            attempt,
            server,
            started,
            last_data: started,
            readers: BySide::default(),
            close: None,
            ended: false,
        }
    }

    /// Whether the sides' bytes are still of use: until the end, since a
    /// direction that is no longer read delivers no FIN either.
    pub fn wants_bytes(&self) -> bool {
        !self.ended
    }

    /// Frame bytes of side `d`.
    pub fn on_data(&mut self, d: Side, data: &[u8], ts: Timestamp) {
        if self.ended || data.is_empty() {
            return;
        }
        self.last_data = self.last_data.max(ts);
        if let Some((code, reason)) = self.readers[d].read(data) {
            self.close.get_or_insert((d, code, reason));
        }
    }

    /// Bytes of side `d` were lost: its frame boundaries are unknown now.
    pub fn on_gap(&mut self, d: Side) {
        self.readers[d].lost = true;
    }

    /// Side `d` closed its half (`reset`: reset the connection) at `ts`: the
    /// session's end, reported when it was not the normal closing handshake.
    pub fn on_close(
        &mut self,
        d: Side,
        reset: bool,
        ts: Timestamp,
        packet_no: u64,
    ) -> Option<SessionEnd> {
        if self.ended {
            return None;
        }
        self.ended = true;
        let who = |s: Side| {
            if s == self.server {
                EndedBy::Server
            } else {
                EndedBy::Client
            }
        };
        let (by, how, close) = match (&self.close, reset) {
            // The closing handshake was done: the client already saw its
            // code, whatever ends TCP after it (servers that reset after the
            // close frame are common).
            (Some((_, code, _)), _) if is_normal_code(*code) => return None,
            (_, true) => (who(d), EndHow::Reset, self.close_of()),
            (Some((s, _, _)), false) => (who(*s), EndHow::CloseFrame, self.close_of()),
            (None, false) => (who(d), EndHow::Fin, None),
        };
        Some(SessionEnd {
            attempt: self.attempt.clone(),
            started: self.started,
            ended: ts,
            last_data: self.last_data,
            by,
            how,
            close,
            completed_at: packet_no,
        })
    }

    fn close_of(&self) -> Option<(u16, String)> {
        self.close.as_ref().map(|(_, c, r)| (*c, r.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        let ep = |port| crate::decode::Endpoint {
            ip: std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
            port,
        };
        let attempt = Attempt::for_test(ep(40000), ep(80), "/ws");
        Session::new(Box::new(attempt), Side::Hi, Timestamp::new(100, 0))
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::new(s, 0)
    }

    /// A server text frame, then a close frame with `code`.
    fn server_close(code: u16, reason: &[u8]) -> Vec<u8> {
        let mut v = vec![0x81, 3, b'h', b'e', b'y'];
        v.push(0x88);
        v.push(2 + reason.len() as u8);
        v.extend(code.to_be_bytes());
        v.extend(reason);
        v
    }

    /// A masked client close frame with `code`.
    fn client_close(code: u16) -> Vec<u8> {
        let key = [1u8, 2, 3, 4];
        let mut v = vec![0x88, 0x80 | 2];
        v.extend(key);
        for (i, b) in code.to_be_bytes().iter().enumerate() {
            v.push(b ^ key[i]);
        }
        v
    }

    #[test]
    fn the_normal_closing_handshake_is_not_reported() {
        let mut s = session();
        s.on_data(Side::Lo, &client_close(1000), at(110));
        s.on_data(Side::Hi, &server_close(1000, b""), at(110));
        assert!(s.on_close(Side::Hi, false, at(110), 9).is_none());
    }

    #[test]
    fn a_fin_without_a_close_frame_names_the_side_and_the_idle_time() {
        let mut s = session();
        s.on_data(Side::Lo, &[0x81, 0x80, 0, 0, 0, 0], at(105));
        let end = s.on_close(Side::Hi, false, at(165), 42).expect("an end");
        assert_eq!((end.by, end.how), (EndedBy::Server, EndHow::Fin));
        assert_eq!(end.close, None);
        assert_eq!(end.idle_secs(), 60.0);
        assert_eq!(end.duration_secs(), 65.0);
        assert_eq!(end.completed_at, 42);
        // One end per session.
        assert!(s.on_close(Side::Lo, false, at(166), 43).is_none());
    }

    #[test]
    fn an_abnormal_close_code_is_reported_with_its_reason_from_either_side() {
        let mut s = session();
        s.on_data(Side::Hi, &server_close(1011, b"internal"), at(120));
        let end = s.on_close(Side::Hi, false, at(120), 1).expect("an end");
        assert_eq!(end.by, EndedBy::Server);
        assert_eq!(end.how, EndHow::CloseFrame);
        assert_eq!(end.close, Some((1011, "internal".to_string())));
        let mut s = session();
        s.on_data(Side::Lo, &client_close(1002), at(120));
        let end = s.on_close(Side::Hi, false, at(121), 1).expect("an end");
        assert_eq!(end.by, EndedBy::Client);
        assert_eq!(end.close, Some((1002, String::new())));
    }

    #[test]
    fn frames_split_anywhere_are_read_the_same() {
        let bytes = server_close(4000, b"bye");
        for cut in 0..bytes.len() {
            let mut s = session();
            s.on_data(Side::Hi, &bytes[..cut], at(101));
            s.on_data(Side::Hi, &bytes[cut..], at(102));
            let end = s.on_close(Side::Hi, false, at(103), 1).expect("an end");
            assert_eq!(end.close, Some((4000, "bye".to_string())), "cut {cut}");
        }
    }

    #[test]
    fn a_reset_is_reported_unless_the_closing_handshake_was_done() {
        let mut s = session();
        s.on_data(Side::Hi, &[0x81, 1, b'x'], at(101));
        let end = s.on_close(Side::Hi, true, at(102), 1).expect("an end");
        assert_eq!((end.by, end.how), (EndedBy::Server, EndHow::Reset));
        let mut s = session();
        s.on_data(Side::Hi, &server_close(1000, b""), at(101));
        assert!(s.on_close(Side::Hi, true, at(101), 1).is_none());
    }

    #[test]
    fn a_gap_stops_frame_reading_but_not_the_end() {
        let mut s = session();
        s.on_gap(Side::Hi);
        assert!(s.wants_bytes());
        s.on_data(Side::Hi, &server_close(1000, b""), at(130));
        let end = s.on_close(Side::Hi, false, at(131), 1).expect("an end");
        assert_eq!(end.how, EndHow::Fin);
        assert_eq!(end.idle_secs(), 1.0);
    }

    #[test]
    fn bytes_that_cannot_be_frames_are_not_read_as_a_close() {
        // A close whose reason is not UTF-8, and a reserved opcode before a
        // well-formed close: neither is reported as the close; the end is
        // the FIN.
        for bytes in [
            server_close(1008, b"\xff\xfe"),
            [&[0x83u8, 0x00][..], &server_close(1008, b"policy")].concat(),
        ] {
            let mut s = session();
            s.on_data(Side::Hi, &bytes, at(101));
            let end = s.on_close(Side::Hi, false, at(102), 1).expect("an end");
            assert_eq!((end.how, end.close), (EndHow::Fin, None), "{bytes:x?}");
        }
    }

    #[test]
    fn a_long_payload_is_skipped_without_being_kept() {
        let mut s = session();
        let mut big = vec![0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0];
        big.extend(vec![0u8; 65536]);
        big.extend(server_close(1006, b""));
        s.on_data(Side::Hi, &big, at(101));
        assert!(s.readers[Side::Hi].buf.capacity() <= 256);
        let end = s.on_close(Side::Hi, false, at(102), 1).expect("an end");
        assert_eq!(end.close, Some((1006, String::new())));
    }
}
