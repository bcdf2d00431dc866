//! Segments that answer bytes the capture has not shown yet.
//!
//! Two taps merged into one file (a client-side and a server-side capture
//! put together by timestamp), or one host whose interfaces' clocks
//! disagree, can stamp a server's answer a fraction of a millisecond before
//! the request it answers. Read in file order the answer comes first: a
//! response without a request, then a request without an answer. The
//! answer's ACK number says what it answers: every byte of the other
//! direction below it. A segment whose ACK lies beyond everything the other
//! direction has shown waits here, with the segments of its direction that
//! follow it, until the other direction catches up, or for [`HOLD`] of
//! packet time at most. A capture that lost those bytes instead reads on as
//! before: once the other direction shows bytes beyond them, or the time is
//! up, the held segments are read, and the hole is given up at their
//! acknowledgement.
//!
//! Live capture does not reorder a host's packets, so there only a loss
//! makes a segment wait, until the next packet of its connection shows it.

use std::time::Duration;

use crate::capture::Timestamp;
use crate::decode::Side;

/// Packet time a segment waits at most for the bytes it acknowledges: far
/// more than the skew of taps whose clocks are kept in step, and short
/// enough that a lost request costs its answer no more.
pub const HOLD: Duration = Duration::from_millis(100);

/// Bytes held per connection at most: a response head and the start of its
/// body. A segment that would pass it is read at once, after those held.
pub const MAX_HELD: usize = 64 << 10;

/// A segment as the flow reads it: where its bytes go, what it acknowledges.
#[derive(Debug, Clone, Copy)]
pub struct Carried<'a> {
    pub seq: u32,
    pub ack: Option<u32>,
    pub fin: bool,
    pub ts: Timestamp,
    /// Global number of its packet.
    pub no: u64,
    pub payload: &'a [u8],
}

/// A held segment, its payload copied.
#[derive(Debug)]
pub struct Held {
    pub seq: u32,
    pub ack: Option<u32>,
    pub fin: bool,
    pub ts: Timestamp,
    pub no: u64,
    pub payload: Vec<u8>,
}

impl Held {
    pub fn carried(&self) -> Carried<'_> {
        Carried {
            seq: self.seq,
            ack: self.ack,
            fin: self.fin,
            ts: self.ts,
            no: self.no,
            payload: &self.payload,
        }
    }
}

/// The segments of one direction waiting for the other direction to reach
/// `ack`, in the order they came.
#[derive(Debug)]
pub struct Early {
    side: Side,
    ack: u32,
    since: Timestamp,
    bytes: usize,
    held: Vec<Held>,
}

impl Early {
    /// Start holding at `first`, a segment of `side` that acknowledges
    /// bytes of the other direction not yet shown.
    pub fn new(side: Side, ack: u32, first: Carried<'_>) -> Self {
        let mut e = Early {
            side,
            ack,
            since: first.ts,
            bytes: 0,
            held: Vec::new(),
        };
        e.hold(first);
        e
    }

    /// The direction whose segments wait.
    pub fn side(&self) -> Side {
        self.side
    }

    /// What the other direction must reach for them to be read.
    pub fn ack(&self) -> u32 {
        self.ack
    }

    /// Whether the held segments acknowledge only bytes before `seq` of
    /// the other direction.
    pub fn answers_before(&self, seq: u32) -> bool {
        seq.wrapping_sub(self.ack) as i32 >= 0
    }

    /// Whether `n` more bytes fit.
    pub fn has_room(&self, n: usize) -> bool {
        self.bytes + n <= MAX_HELD
    }

    pub fn hold(&mut self, c: Carried<'_>) {
        self.bytes += c.payload.len();
        self.held.push(Held {
            seq: c.seq,
            ack: c.ack,
            fin: c.fin,
            ts: c.ts,
            no: c.no,
            payload: c.payload.to_vec(),
        });
    }

    /// Whether the segments waited long enough, at packet time `now`.
    pub fn overdue(&self, now: Timestamp) -> bool {
        now - self.since > HOLD
    }

    /// Payload bytes held, which the table counts with the flow's buffers.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    pub fn into_held(self) -> Vec<Held> {
        self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(ts_us: u32, payload: &[u8]) -> Carried<'_> {
        Carried {
            seq: 1,
            ack: Some(100),
            fin: false,
            ts: Timestamp::new(0, ts_us * 1000),
            no: 1,
            payload,
        }
    }

    #[test]
    fn held_segments_keep_their_order_and_are_counted() {
        let mut e = Early::new(Side::Hi, 100, seg(0, b"HTTP/1.1 "));
        e.hold(seg(10, b"101 Switching"));
        assert_eq!(e.bytes(), 22);
        assert_eq!(e.side(), Side::Hi);
        assert_eq!(e.ack(), 100);
        let held = e.into_held();
        assert_eq!(held[0].payload, b"HTTP/1.1 ");
        assert_eq!(held[1].carried().payload, b"101 Switching");
    }

    #[test]
    fn they_wait_a_bounded_time_and_size() {
        let e = Early::new(Side::Hi, 100, seg(0, b"x"));
        assert!(!e.overdue(Timestamp::new(0, 100_000_000)));
        assert!(e.overdue(Timestamp::new(0, 100_000_001)));
        assert!(e.has_room(MAX_HELD - 1));
        assert!(e.answers_before(100) && e.answers_before(5000));
        assert!(!e.answers_before(99) && !e.answers_before(100u32.wrapping_sub(1 << 20)));
        assert!(!e.has_room(MAX_HELD));
    }
}
