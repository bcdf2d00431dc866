//! One direction of a TCP connection.
//!
//! Positions are kept as 64-bit offsets from the first byte of the stream (the byte
//! after the SYN, or the first byte seen when the capture picked the connection up
//! mid-way). A sequence number is placed by its signed 32-bit distance from the next
//! expected sequence number, so wrapping past 2^32 needs no special case and a stream
//! may carry any number of bytes.
//!
//! Policies, chosen so that a reader of the output can predict it:
//!
//! - **Overlaps: first copy wins.** Bytes already delivered or already buffered are
//!   never replaced by a later copy, as most end hosts do. A later copy whose bytes
//!   differ from a buffered copy is counted in
//!   [`ReassemblyStats::overlap_conflicts`] (per differing byte). Delivered bytes are
//!   not kept (the in-order path does not copy), so a differing copy of them cannot
//!   be detected and is counted only as a retransmission.
//! - **Gaps.** A hole is given up (reported as [`Chunk::Gap`], then the data after it
//!   delivered) when the bytes waiting behind it would exceed
//!   [`Limits::max_buffer_per_direction`], on [`Stream::flush`], and at the first
//!   packet after [`Stream::shed`] dropped what was behind it. Bytes of a hole that
//!   arrive after it was given up are below the delivered point and are dropped as
//!   retransmissions.
//! - **FIN.** Its position is fixed by the first FIN seen; bytes at or beyond it are
//!   ignored, and [`Chunk::Fin`] is the last chunk a stream ever emits.

use std::collections::BTreeMap;

use super::{Chunk, Limits, ReassemblyStats};

/// Segments farther than this from the next expected byte are not part of this
/// stream as we know it (a different connection reusing the ports, a corrupt
/// header): they are ignored rather than allowed to open a huge hole.
const MAX_DISTANCE: i128 = 1 << 30;

/// Bookkeeping charged per buffered island on top of its bytes, so that a sender
/// scattering one-byte segments cannot hold far more memory than the cap says.
const ISLAND_COST: usize = 64;

/// A stream offset that may be absent, in 8 bytes instead of an `Option`'s
/// 16: a flow holds four of these and a table holds a hundred thousand flows.
/// Stored plus one, so that zero means absent (an offset of `u64::MAX` is
/// beyond any stream and reads as absent too).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Offset(Option<std::num::NonZeroU64>);

impl Offset {
    const NONE: Offset = Offset(None);

    fn of(at: u64) -> Self {
        Offset(std::num::NonZeroU64::new(at.wrapping_add(1)))
    }

    fn get(self) -> Option<u64> {
        self.0.map(|n| n.get() - 1)
    }
}

/// Out-of-order data of one direction, boxed behind an `Option` in
/// [`Stream`]: few flows ever hold any, and the map and its count inline
/// would cost every flow in a table of a hundred thousand 24 bytes more per
/// direction.
#[derive(Debug, Default)]
struct Islands {
    /// By start offset: disjoint, non-adjacent, all above the delivered point,
    /// never empty.
    map: BTreeMap<u64, Vec<u8>>,
    /// Payload bytes in `map`.
    held: usize,
}

/// What a stream with nothing buffered reads as its islands.
static NO_ISLANDS: BTreeMap<u64, Vec<u8>> = BTreeMap::new();

/// Rebuilds one direction's byte stream from segments.
///
/// Holds no heap memory until a segment arrives ahead of a hole, so an idle flow
/// costs only the struct itself.
#[derive(Debug, Default)]
pub struct Stream {
    /// Sequence number of offset 0; `None` until the SYN or the first segment.
    origin: Option<u32>,
    /// Offset of the next byte to deliver: everything below was delivered or gapped.
    next: u64,
    /// Data waiting behind a hole; `None` whenever nothing waits.
    ooo: Option<Box<Islands>>,
    /// Offset of the FIN, once one was seen.
    fin_at: Offset,
    fin_sent: bool,
    /// Data up to this offset was buffered and then shed: it will not come again,
    /// so the next packet gives the hole up.
    lost_to: Offset,
    discarding: bool,
}

impl Stream {
    /// The sender's SYN: data starts at `isn + 1`. A SYN seen after data (or a
    /// second, different SYN) must not corrupt state, so once the stream has an
    /// origin any SYN is ignored; a connection reusing the same ports is the flow
    /// table's business, not the stream's.
    pub fn syn(&mut self, isn: u32) {
        if self.origin.is_none() {
            self.origin = Some(isn.wrapping_add(1));
        }
    }

    /// Whether this direction began with another initial sequence number than
    /// `isn` (a retransmitted SYN has the same one).
    pub fn began_elsewhere(&self, isn: u32) -> bool {
        self.origin.is_some_and(|o| o != isn.wrapping_add(1))
    }

    /// Feed one segment (payload may be empty, e.g. a bare FIN). In-order bytes,
    /// gaps and the FIN go to `sink`, in stream order.
    ///
    /// Payload carried on a SYN starts at `isn + 1`: call [`Stream::syn`] and then
    /// push it with that sequence number.
    pub fn push(
        &mut self,
        seq: u32,
        payload: &[u8],
        fin: bool,
        limits: &Limits,
        stats: &mut ReassemblyStats,
        sink: &mut dyn FnMut(Chunk<'_>),
    ) {
        if self.fin_sent || (payload.is_empty() && !fin) {
            return;
        }
        let Some(mut start) = self.place(seq, stats) else {
            return;
        };
        let end = start + payload.len() as i128;
        let mut data = payload;
        if start < 0 {
            // Bytes before the origin of a stream picked up mid-way: never deliverable.
            let cut = (-start).min(data.len() as i128);
            data = data.get(cut as usize..).unwrap_or_default();
            start += cut;
        }
        let start = start.max(0) as u64;
        let end = end.max(0) as u64;
        if fin && self.fin_at.get().is_none() {
            self.set_fin(end.max(self.next));
        }
        if let Some(f) = self.fin_at.get() {
            let keep = f.saturating_sub(start).min(data.len() as u64) as usize;
            data = data.get(..keep).unwrap_or_default();
        }

        if self.discarding {
            if !data.is_empty() {
                self.next = self.next.max(start + data.len() as u64);
            }
            // The end still counts: it is what lets the connection leave
            // the table when both sides close, instead of idling out.
            if !self.fin_sent && self.fin_at.get().is_some_and(|f| f <= self.next) {
                self.fin_sent = true;
                sink(Chunk::Fin);
            }
            return;
        }

        if self.lost_to.get().is_some() && start > self.next {
            self.give_up_lost(stats, sink);
        }
        let raw_end = end;
        let end = start + data.len() as u64;
        if data.is_empty() {
            // A bare FIN, data entirely beyond the FIN, or bytes from before the
            // origin of a stream picked up mid-way (a retransmission we never saw).
            if !payload.is_empty() && raw_end <= self.next {
                stats.retransmitted_segments += 1;
            }
        } else if end <= self.next {
            stats.retransmitted_segments += 1;
        } else if start <= self.next {
            self.deliver_in_order(start, data, stats, sink);
        } else {
            self.buffer_out_of_order(start, data, limits, stats, sink);
        }
        if self.lost_to.get().is_some() {
            self.give_up_lost(stats, sink);
        }
        self.maybe_fin(sink);
    }

    /// The other side acknowledged every byte of this direction before `ack`
    /// (a segment that carries data or a FIN, read before its bytes). A hole
    /// below that point will never be filled: the receiver got those bytes,
    /// the sender will not send them again, and only the capture missed them
    /// (a kernel drop, a lossy tap). It is given up now, so the bytes buffered
    /// after it (the next request) are read before the answer this segment
    /// may carry, not at the end of the capture. Wireshark marks such a
    /// segment "ACKed unseen segment"; Zeek skips the hole the same way. A
    /// direction with nothing buffered has no hole to give up.
    pub fn acknowledged(
        &mut self,
        ack: u32,
        stats: &mut ReassemblyStats,
        sink: &mut dyn FnMut(Chunk<'_>),
    ) {
        if !self.waits_behind_a_hole() {
            return;
        }
        self.give_up_acknowledged(ack, stats, sink);
    }

    /// The sender is at or past `ack` (a segment of its own starts there)
    /// and the other side acknowledged every byte before it: bytes before it
    /// that were not shown were lost by the capture even when nothing waits
    /// beyond them yet, and are given up now. Answers held for those bytes
    /// (`reassembly::early`) are then read after the place of what they
    /// answer, as without the loss.
    pub fn passed(
        &mut self,
        ack: u32,
        stats: &mut ReassemblyStats,
        sink: &mut dyn FnMut(Chunk<'_>),
    ) {
        self.give_up_acknowledged(ack, stats, sink);
    }

    fn give_up_acknowledged(
        &mut self,
        ack: u32,
        stats: &mut ReassemblyStats,
        sink: &mut dyn FnMut(Chunk<'_>),
    ) {
        let fin_at = self.fin_at.get();
        if self.discarding || self.fin_sent {
            return;
        }
        let Some(origin) = self.origin else {
            return;
        };
        let distance = self.distance(origin, ack);
        if distance <= 0 || distance > MAX_DISTANCE {
            return;
        }
        // The FIN takes a sequence number of its own: an acknowledgement of
        // it covers the bytes up to it.
        let acked = fin_at.map_or(self.next + distance as u64, |f| {
            f.min(self.next + distance as u64)
        });
        if self.next < acked {
            stats.acked_unseen += 1;
        }
        while self.next < acked {
            match self.islands().keys().next() {
                Some(&k) if k <= acked => self.give_up_first_hole(stats, sink),
                // The acknowledgement ends inside the hole (or only the FIN
                // waits behind it): its start is lost, the rest may still
                // come.
                _ => self.gap(acked - self.next, stats, sink),
            }
        }
        self.maybe_fin(sink);
    }

    /// Whether `ack` acknowledges bytes this direction has not shown: beyond
    /// all it delivered (its FIN included), with nothing buffered beyond
    /// them either. Nothing shown beyond means the bytes may still come (a
    /// merged capture's clock skew put the acknowledgement first); bytes
    /// shown beyond mean a hole the capture lost, which
    /// [`Stream::acknowledged`] gives up. Of a direction that showed nothing
    /// yet, not even its SYN, nothing can be said: every connection a
    /// capture picks up mid-way starts so, and holding their first segments
    /// would cost more than the few skewed captures whose answer comes
    /// before the client's SYN.
    #[inline]
    pub fn lacks(&self, ack: u32) -> bool {
        let Some(origin) = self.origin else {
            return false;
        };
        // Most acknowledgements are of what was shown: settled in one
        // comparison.
        let distance = self.distance(origin, ack);
        if distance <= 0 || distance > MAX_DISTANCE {
            return false;
        }
        if self.waits_behind_a_hole() || self.lost_to.get().is_some() {
            return false;
        }
        // The FIN takes a sequence number of its own.
        distance > i128::from(self.fin_at.get().is_some())
    }

    /// Bytes or a FIN were shown beyond the delivered point: there is a hole.
    fn waits_behind_a_hole(&self) -> bool {
        self.ooo.is_some() || self.fin_at.get().is_some_and(|f| f > self.next)
    }

    /// The out-of-order islands, empty when nothing waits.
    fn islands(&self) -> &BTreeMap<u64, Vec<u8>> {
        self.ooo.as_ref().map_or(&NO_ISLANDS, |i| &i.map)
    }

    /// Where a segment starting at `seq` begins in the stream's bytes
    /// (negative before the origin of a stream picked up mid-way); the
    /// first segment seen sets the origin. `None`, counted, for a segment
    /// out of any window.
    #[inline(always)]
    fn place(&mut self, seq: u32, stats: &mut ReassemblyStats) -> Option<i128> {
        let origin = *self.origin.get_or_insert(seq);
        let distance = self.distance(origin, seq);
        if distance.abs() > MAX_DISTANCE {
            stats.out_of_window_segments += 1;
            return None;
        }
        Some(i128::from(self.next) + distance)
    }

    /// How far sequence number `seq` lies from the next byte to deliver:
    /// the signed 32-bit distance, so wrapping past 2^32 needs no case.
    fn distance(&self, origin: u32, seq: u32) -> i128 {
        let next_seq = origin.wrapping_add(self.next as u32);
        i128::from(seq.wrapping_sub(next_seq) as i32)
    }

    /// Give up on any hole now (connection closing/RST, flow evicted, capture
    /// ended): emit Gap for each hole and deliver everything buffered, in order.
    pub fn flush(&mut self, stats: &mut ReassemblyStats, sink: &mut dyn FnMut(Chunk<'_>)) {
        if self.discarding || self.fin_sent {
            return;
        }
        while self.ooo.is_some() {
            self.give_up_first_hole(stats, sink);
        }
        if self.lost_to.get().is_some() {
            self.give_up_lost(stats, sink);
        }
        if let Some(f) = self.fin_at.get() {
            let len = f.saturating_sub(self.next);
            self.gap(len, stats, sink);
            self.maybe_fin(sink);
        }
    }

    /// Stop buffering this direction for good (after a WebSocket 101 the analyzer
    /// no longer needs the bytes): drop buffered data, and from now on push() only
    /// counts bytes and copies nothing; of what it receives it delivers only the
    /// FIN, once the bytes before it have been seen.
    pub fn discard(&mut self) {
        self.discarding = true;
        self.ooo = None;
        self.lost_to = Offset::NONE;
    }

    pub fn is_discarding(&self) -> bool {
        self.discarding
    }

    /// Discarding, with no FIN shown: a segment of bytes alone only moves
    /// this direction's end ([`Stream::push`] delivers nothing, holds
    /// nothing).
    pub fn passes_over(&self) -> bool {
        self.discarding && self.fin_at.get().is_none()
    }

    /// A segment of `len` bytes (no FIN) on a direction that
    /// [`Stream::passes_over`]: what [`Stream::push`] does there, its end
    /// moved and nothing else, without the general way's cases for holes,
    /// FINs and streams picked up mid-way. On settled WebSocket sessions
    /// this is every packet, and push's own prologue and cases cost about as
    /// much as the rest of their way through the worker.
    #[inline]
    pub fn pass_over(&mut self, seq: u32, len: usize, stats: &mut ReassemblyStats) {
        debug_assert!(self.passes_over());
        let Some(start) = self.place(seq, stats) else {
            return;
        };
        // Bytes before the origin (a stream picked up mid-way) end below 0.
        let end = start + len as i128;
        self.next = self.next.max(end.max(0) as u64);
    }

    /// Drop buffered out-of-order data to free memory (the table sheds under
    /// pressure). The dropped bytes will not be sent again, so the next packet
    /// gives their range up: it delivers what it brings in order before the range,
    /// then a Gap up to the end of the dropped data, then what follows.
    /// Returns the bytes freed, as counted by [`Stream::buffered`].
    pub fn shed(&mut self) -> usize {
        let freed = self.buffered();
        if let Some((&k, v)) = self.islands().iter().next_back() {
            let end = k + v.len() as u64;
            self.lost_to = Offset::of(self.lost_to.get().map_or(end, |l| l.max(end)));
        }
        self.ooo = None;
        freed
    }

    /// Memory held for out-of-order data: its bytes plus a fixed charge per
    /// island, which is what the per-direction cap and the table's budget count.
    pub fn buffered(&self) -> usize {
        self.ooo
            .as_ref()
            .map_or(0, |i| i.held + i.map.len() * ISLAND_COST)
    }

    /// Payload bytes delivered or skipped so far (gaps included; in discard mode,
    /// up to the highest byte seen).
    pub fn bytes_seen(&self) -> u64 {
        self.next
    }

    /// The sequence number of this direction's first byte (its SYN's plus
    /// one); `None` before its first SYN or segment.
    pub fn start_seq(&self) -> Option<u32> {
        self.origin
    }

    /// The sequence number just past everything this direction sent, its FIN
    /// included; `None` before its first SYN or segment.
    pub fn end_seq(&self) -> Option<u32> {
        let end = self
            .fin_at
            .get()
            .map_or(self.next, |f| (f + 1).max(self.next));
        self.origin.map(|o| o.wrapping_add(end as u32))
    }

    /// The buffer's shape that the delivery code relies on: islands disjoint, not
    /// touching, all above the delivered point, and `held` their exact size.
    #[cfg(test)]
    fn invariants_hold(&self) -> bool {
        let mut floor = self.next;
        let mut first = true;
        if self.ooo.as_ref().is_some_and(|i| i.map.is_empty()) {
            return false;
        }
        for (&k, v) in self.islands() {
            if v.is_empty() || k < floor || (k == floor && !first) || k == self.next {
                return false;
            }
            floor = k + v.len() as u64;
            first = false;
        }
        self.ooo.as_ref().map_or(0, |i| i.held)
            == self.islands().values().map(Vec::len).sum::<usize>()
            && self.fin_at.get().is_none_or(|f| floor <= f)
    }

    /// The segment reaches the delivered point: hand its new part through, letting
    /// any buffered island it overlaps win (it arrived first).
    fn deliver_in_order(
        &mut self,
        start: u64,
        data: &[u8],
        stats: &mut ReassemblyStats,
        sink: &mut dyn FnMut(Chunk<'_>),
    ) {
        let end = start + data.len() as u64;
        if self.ooo.is_none() {
            let from = (self.next - start) as usize;
            self.next = end;
            sink(Chunk::Data(data.get(from..).unwrap_or_default()));
            return;
        }
        loop {
            self.drain_ready(Some((start, data)), stats, sink);
            if self.next >= end {
                break;
            }
            let until = self.islands().keys().next().map_or(end, |&k| k.min(end));
            let from = (self.next - start) as usize;
            let to = (until - start) as usize;
            self.next = until;
            sink(Chunk::Data(data.get(from..to).unwrap_or_default()));
        }
    }

    fn buffer_out_of_order(
        &mut self,
        start: u64,
        data: &[u8],
        limits: &Limits,
        stats: &mut ReassemblyStats,
        sink: &mut dyn FnMut(Chunk<'_>),
    ) {
        let end = start + data.len() as u64;
        while self.buffered() + data.len() + ISLAND_COST > limits.max_buffer_per_direction {
            stats.buffer_caps_hit += 1;
            if self.ooo.is_none() {
                // This segment alone is more than may wait behind the hole: give
                // the hole up and pass the segment through without copying it.
                self.gap(start - self.next, stats, sink);
                self.next = end;
                sink(Chunk::Data(data));
                return;
            }
            self.give_up_first_hole(stats, sink);
            if end <= self.next {
                stats.retransmitted_segments += 1;
                return;
            }
            if start <= self.next {
                self.deliver_in_order(start, data, stats, sink);
                return;
            }
        }
        stats.out_of_order_segments += 1;
        self.insert(start, data, stats);
    }

    /// Buffer the parts of `data` not already buffered (first copy wins), counting
    /// the overlapping bytes that differ.
    fn insert(&mut self, start: u64, data: &[u8], stats: &mut ReassemblyStats) {
        let end = start + data.len() as u64;
        let mut pos = start;
        if let Some((&k, v)) = self.islands().range(..pos).next_back() {
            let e = k + v.len() as u64;
            if e > pos {
                let hi = e.min(end);
                stats.overlap_conflicts += differing(
                    slice(v, pos - k, hi - k),
                    slice(data, pos - start, hi - start),
                );
                pos = hi;
            }
        }
        while pos < end {
            let found = self.islands().range(pos..end).next().map(|(&k, v)| {
                let hi = (k + v.len() as u64).min(end);
                let conflicts = differing(slice(v, 0, hi - k), slice(data, k - start, hi - start));
                (k, hi, conflicts)
            });
            match found {
                None => {
                    self.put(pos, slice(data, pos - start, end - start));
                    pos = end;
                }
                Some((k, hi, conflicts)) => {
                    stats.overlap_conflicts += conflicts;
                    if k > pos {
                        self.put(pos, slice(data, pos - start, k - start));
                    }
                    pos = hi;
                }
            }
        }
    }

    /// Store bytes at an offset known to be free, merging with islands that touch
    /// it so that contiguous data is one island.
    fn put(&mut self, at: u64, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let islands = self.ooo.get_or_insert_with(Box::default);
        islands.held += bytes.len();
        let right = islands.map.remove(&(at + bytes.len() as u64));
        let left = islands
            .map
            .range_mut(..at)
            .next_back()
            .filter(|(&k, v)| k + v.len() as u64 == at)
            .map(|(_, v)| v);
        match left {
            Some(v) => {
                v.extend_from_slice(bytes);
                if let Some(r) = right {
                    v.extend_from_slice(&r);
                }
            }
            None => {
                let mut v = Vec::with_capacity(bytes.len() + right.as_ref().map_or(0, Vec::len));
                v.extend_from_slice(bytes);
                if let Some(r) = right {
                    v.extend_from_slice(&r);
                }
                islands.map.insert(at, v);
            }
        }
    }

    /// Deliver the islands that now start at or below the delivered point.
    /// `seg` is the segment being delivered alongside, whose overlap with an island
    /// is checked for conflicts (the island wins).
    fn drain_ready(
        &mut self,
        seg: Option<(u64, &[u8])>,
        stats: &mut ReassemblyStats,
        sink: &mut dyn FnMut(Chunk<'_>),
    ) {
        while let Some(islands) = self.ooo.as_deref_mut() {
            let Some(entry) = islands.map.first_entry() else {
                break;
            };
            let k = *entry.key();
            if k > self.next {
                break;
            }
            let v = entry.remove();
            islands.held = islands.held.saturating_sub(v.len());
            if islands.map.is_empty() {
                self.ooo = None;
            }
            let e = k + v.len() as u64;
            if e <= self.next {
                continue;
            }
            if let Some((s, d)) = seg {
                let lo = self.next.max(s);
                let hi = e.min(s + d.len() as u64);
                if lo < hi {
                    stats.overlap_conflicts +=
                        differing(slice(&v, lo - k, hi - k), slice(d, lo - s, hi - s));
                }
            }
            let from = (self.next - k) as usize;
            self.next = e;
            sink(Chunk::Data(v.get(from..).unwrap_or_default()));
        }
    }

    fn give_up_first_hole(&mut self, stats: &mut ReassemblyStats, sink: &mut dyn FnMut(Chunk<'_>)) {
        if let Some(&k) = self.islands().keys().next() {
            self.gap(k.saturating_sub(self.next), stats, sink);
            self.drain_ready(None, stats, sink);
        }
    }

    fn give_up_lost(&mut self, stats: &mut ReassemblyStats, sink: &mut dyn FnMut(Chunk<'_>)) {
        if let Some(l) = std::mem::take(&mut self.lost_to).get() {
            let l = self.fin_at.get().map_or(l, |f| l.min(f));
            self.gap(l.saturating_sub(self.next), stats, sink);
            self.drain_ready(None, stats, sink);
        }
    }

    fn gap(&mut self, len: u64, stats: &mut ReassemblyStats, sink: &mut dyn FnMut(Chunk<'_>)) {
        if len == 0 {
            return;
        }
        stats.gaps += 1;
        stats.gap_bytes += len;
        self.next += len;
        sink(Chunk::Gap(len));
    }

    /// Fix the FIN's position and forget anything buffered beyond it.
    fn set_fin(&mut self, at: u64) {
        self.fin_at = Offset::of(at);
        let Some(islands) = self.ooo.as_deref_mut() else {
            return;
        };
        let beyond = islands.map.split_off(&at);
        islands.held = islands
            .held
            .saturating_sub(beyond.values().map(Vec::len).sum());
        if let Some((&k, v)) = islands.map.iter_mut().next_back() {
            let keep = (at - k) as usize;
            if v.len() > keep {
                islands.held = islands.held.saturating_sub(v.len() - keep);
                v.truncate(keep);
            }
        }
        if islands.map.is_empty() {
            self.ooo = None;
        }
    }

    fn maybe_fin(&mut self, sink: &mut dyn FnMut(Chunk<'_>)) {
        if !self.fin_sent && self.fin_at.get().is_some_and(|f| f <= self.next) {
            self.fin_sent = true;
            self.ooo = None;
            sink(Chunk::Fin);
        }
    }
}

/// `bytes[from..to]`, empty when out of range (offsets come from arithmetic on
/// wire values; an inconsistency must cost data, never a panic).
fn slice(bytes: &[u8], from: u64, to: u64) -> &[u8] {
    bytes.get(from as usize..to as usize).unwrap_or_default()
}

fn differing(a: &[u8], b: &[u8]) -> u64 {
    a.iter().zip(b).filter(|(x, y)| x != y).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An owned copy of a chunk, so tests can collect what a stream emitted.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Out {
        Data(Vec<u8>),
        Gap(u64),
        Fin,
    }

    /// Drives one stream and records its output, merging adjacent data chunks
    /// (how a stream splits its deliveries is not part of the contract).
    struct Rig {
        s: Stream,
        limits: Limits,
        stats: ReassemblyStats,
        out: Vec<Out>,
    }

    impl Rig {
        fn new() -> Self {
            Rig::with_limits(Limits::default())
        }

        fn with_limits(limits: Limits) -> Self {
            Rig {
                s: Stream::default(),
                limits,
                stats: ReassemblyStats::default(),
                out: Vec::new(),
            }
        }

        fn record(out: &mut Vec<Out>, c: Chunk<'_>) {
            match c {
                Chunk::Data(d) => {
                    if let Some(Out::Data(prev)) = out.last_mut() {
                        prev.extend_from_slice(d);
                    } else {
                        out.push(Out::Data(d.to_vec()));
                    }
                }
                Chunk::Gap(n) => out.push(Out::Gap(n)),
                Chunk::Fin => out.push(Out::Fin),
            }
        }

        fn push(&mut self, seq: u32, payload: &[u8], fin: bool) -> &mut Self {
            let out = &mut self.out;
            self.s
                .push(seq, payload, fin, &self.limits, &mut self.stats, &mut |c| {
                    Rig::record(out, c)
                });
            self
        }

        fn flush(&mut self) -> &mut Self {
            let out = &mut self.out;
            self.s.flush(&mut self.stats, &mut |c| Rig::record(out, c));
            self
        }

        fn ack(&mut self, ack: u32) -> &mut Self {
            let out = &mut self.out;
            self.s
                .acknowledged(ack, &mut self.stats, &mut |c| Rig::record(out, c));
            self
        }

        fn take(&mut self) -> Vec<Out> {
            std::mem::take(&mut self.out)
        }
    }

    fn data(b: &[u8]) -> Out {
        Out::Data(b.to_vec())
    }

    #[test]
    fn in_order_segments_pass_through_without_copy() {
        let mut s = Stream::default();
        let mut stats = ReassemblyStats::default();
        s.syn(1000);
        let payload = b"GET / HTTP/1.1\r\n".to_vec();
        let mut seen: Vec<*const u8> = Vec::new();
        s.push(
            1001,
            &payload,
            false,
            &Limits::default(),
            &mut stats,
            &mut |c| {
                if let Chunk::Data(d) = c {
                    seen.push(d.as_ptr());
                }
            },
        );
        assert_eq!(seen, vec![payload.as_ptr()]);
        assert_eq!(s.bytes_seen(), payload.len() as u64);
        assert_eq!(s.buffered(), 0);
    }

    #[test]
    fn an_acknowledged_hole_is_given_up_at_once() {
        let mut r = Rig::new();
        r.s.syn(1000);
        // Bytes 4..10 never captured; the receiver acknowledges up to 14.
        r.push(1001, b"abcd", false).push(1011, b"klmn", false);
        assert_eq!(r.take(), vec![data(b"abcd")]);
        r.ack(1001 + 14);
        assert_eq!(r.take(), vec![Out::Gap(6), data(b"klmn")]);
        assert_eq!((r.stats.gaps, r.stats.acked_unseen), (1, 1));
        assert_eq!(r.s.buffered(), 0);
        // A late copy of the lost bytes is a retransmission now.
        r.push(1005, b"efghij", false);
        assert_eq!(r.take(), vec![]);
        assert_eq!(r.stats.retransmitted_segments, 1);
    }

    #[test]
    fn an_acknowledgement_inside_a_hole_gives_up_only_what_it_covers() {
        let mut r = Rig::new();
        r.s.syn(1000);
        r.push(1001, b"ab", false).push(1011, b"kl", false);
        // Received up to 6: bytes 2..6 are lost, 6..10 may still come.
        r.ack(1001 + 6);
        assert_eq!(r.take(), vec![data(b"ab"), Out::Gap(4)]);
        r.push(1007, b"ghij", false);
        assert_eq!(r.take(), vec![data(b"ghijkl")]);
        assert_eq!(r.stats.acked_unseen, 1);
    }

    #[test]
    fn acknowledgements_that_cover_no_hole_change_nothing() {
        let mut r = Rig::new();
        r.s.syn(1000);
        // Nothing buffered: an acknowledgement past the delivered point (of
        // bytes yet to be captured) gives nothing up.
        r.push(1001, b"abcd", false).ack(1001 + 10);
        r.push(1005, b"ef", false);
        assert_eq!(r.take(), vec![data(b"abcdef")]);
        // A hole, and acknowledgements at, below or far from the delivered
        // point.
        r.push(1011, b"kl", false);
        for ack in [1007, 1003, 1007u32.wrapping_add(1 << 31)] {
            r.ack(ack);
        }
        assert_eq!(r.take(), vec![]);
        assert_eq!(r.stats.acked_unseen, 0);
        assert_eq!(r.s.buffered(), 2 + ISLAND_COST);
    }

    #[test]
    fn in_order_then_fin() {
        let mut r = Rig::new();
        r.s.syn(1000);
        r.push(1001, b"hello", false).push(1006, b" world", true);
        assert_eq!(r.take(), vec![data(b"hello world"), Out::Fin]);
        assert_eq!(r.stats, ReassemblyStats::default());
    }

    #[test]
    fn out_of_order_is_held_until_the_hole_fills() {
        let mut r = Rig::new();
        r.s.syn(0);
        r.push(7, b"world", false);
        assert!(r.take().is_empty());
        assert_eq!(r.s.buffered(), 5 + ISLAND_COST);
        r.push(1, b"hello ", false);
        assert_eq!(r.take(), vec![data(b"hello world")]);
        assert_eq!(r.s.buffered(), 0);
        assert_eq!(r.stats.out_of_order_segments, 1);
        assert_eq!(r.stats.gaps, 0);
    }

    #[test]
    fn adjacent_islands_are_merged() {
        let mut r = Rig::new();
        r.s.syn(0);
        r.push(5, b"ef", false)
            .push(9, b"ij", false)
            .push(7, b"gh", false);
        assert_eq!(r.s.buffered(), 6 + ISLAND_COST);
        r.push(1, b"abcd", false);
        assert_eq!(r.take(), vec![data(b"abcdefghij")]);
    }

    #[test]
    fn duplicates_are_dropped_and_counted() {
        let mut r = Rig::new();
        r.s.syn(0);
        r.push(1, b"abc", false)
            .push(1, b"abc", false)
            .push(2, b"b", false);
        assert_eq!(r.take(), vec![data(b"abc")]);
        assert_eq!(r.stats.retransmitted_segments, 2);
        // A duplicate of a buffered island adds nothing either.
        r.push(10, b"jk", false).push(10, b"jk", false);
        assert_eq!(r.s.buffered(), 2 + ISLAND_COST);
        assert_eq!(r.stats.overlap_conflicts, 0);
    }

    #[test]
    fn segment_straddling_the_delivered_point_delivers_only_new_bytes() {
        let mut r = Rig::new();
        r.s.syn(0);
        r.push(1, b"abcd", false).push(3, b"cdef", false);
        assert_eq!(r.take(), vec![data(b"abcdef")]);
        assert_eq!(r.stats.retransmitted_segments, 0);
    }

    #[test]
    fn overlap_first_copy_wins_and_conflicts_are_counted() {
        let mut r = Rig::new();
        r.s.syn(0);
        // Island at offsets 5..8 arrives first.
        r.push(6, b"XYZ", false);
        // A differing copy covering it and more: only its uncovered bytes are kept.
        r.push(5, b"eQRSi", false);
        assert_eq!(r.stats.overlap_conflicts, 3);
        // The in-order segment also disagrees on the island: the island still wins.
        r.push(1, b"abcdeQRS", false);
        assert_eq!(r.take(), vec![data(b"abcdeXYZi")]);
        assert_eq!(r.stats.overlap_conflicts, 6);
    }

    #[test]
    fn sequence_numbers_wrap_past_2_pow_32() {
        let mut r = Rig::new();
        let isn = u32::MAX - 3;
        r.s.syn(isn);
        let base = isn.wrapping_add(1);
        // The second segment crosses zero and arrives first.
        r.push(base.wrapping_add(2), b"cdef", false);
        r.push(base, b"ab", false);
        r.push(base.wrapping_add(6), b"gh", true);
        assert_eq!(r.take(), vec![data(b"abcdefgh"), Out::Fin]);
        assert_eq!(r.s.bytes_seen(), 8);
    }

    #[test]
    fn stream_picked_up_mid_way_starts_at_first_segment() {
        let mut r = Rig::new();
        r.push(5000, b"HTTP/1.1 400", false);
        r.push(4990, b"0123456789", false); // before the first byte seen
        r.push(4995, b"56789HTTP/", false); // straddles the origin, all old
        r.push(5012, b" Bad", false);
        assert_eq!(r.take(), vec![data(b"HTTP/1.1 400 Bad")]);
        assert_eq!(r.stats.retransmitted_segments, 2);
    }

    #[test]
    fn late_or_second_syn_does_not_move_the_stream() {
        let mut r = Rig::new();
        r.s.syn(100);
        r.push(101, b"ab", false);
        r.s.syn(100);
        r.s.syn(5000);
        r.push(103, b"cd", false);
        assert_eq!(r.take(), vec![data(b"abcd")]);

        let mut r = Rig::new();
        r.push(101, b"ab", false);
        r.s.syn(50);
        r.push(103, b"cd", false);
        assert_eq!(r.take(), vec![data(b"abcd")]);
    }

    #[test]
    fn segments_far_outside_the_window_are_ignored() {
        let mut r = Rig::new();
        r.s.syn(0);
        r.push(1, b"ab", false);
        r.push(1u32.wrapping_add(1 << 31), b"zz", false);
        r.push(3u32.wrapping_sub(1 << 30).wrapping_sub(10), b"zz", false);
        assert_eq!(r.s.buffered(), 0);
        assert_eq!(r.stats.out_of_window_segments, 2);
        r.push(3, b"cd", false);
        assert_eq!(r.take(), vec![data(b"abcd")]);
    }

    #[test]
    fn hole_that_never_fills_is_given_up_at_the_cap() {
        let limits = Limits {
            max_buffer_per_direction: 2 * (100 + ISLAND_COST),
            ..Limits::default()
        };
        let mut r = Rig::with_limits(limits);
        r.s.syn(0);
        r.push(1, b"head", false);
        // Bytes 4..10 are lost; 100-byte segments pile up behind the hole.
        let body: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        r.push(11, &body[..100], false);
        r.push(111, &body[100..200], false);
        assert_eq!(r.take(), vec![data(b"head")]);
        r.push(211, &body[200..], false);
        assert_eq!(r.take(), vec![Out::Gap(6), data(&body)]);
        assert_eq!(r.stats.gaps, 1);
        assert_eq!(r.stats.gap_bytes, 6);
        assert_eq!(r.stats.buffer_caps_hit, 1);
        assert_eq!(r.s.buffered(), 0);
        // The lost bytes arriving late are old news.
        r.push(5, b"xxxxxx", false);
        assert!(r.take().is_empty());
        assert_eq!(r.s.bytes_seen(), 310);
    }

    #[test]
    fn segment_larger_than_the_cap_gives_the_hole_up_without_copying() {
        let limits = Limits {
            max_buffer_per_direction: 16,
            ..Limits::default()
        };
        let mut r = Rig::with_limits(limits);
        r.s.syn(0);
        r.push(11, &[7u8; 40], false);
        assert_eq!(r.take(), vec![Out::Gap(10), data(&[7u8; 40])]);
        assert_eq!(r.s.buffered(), 0);
    }

    #[test]
    fn fin_waits_for_the_bytes_before_it() {
        let mut r = Rig::new();
        r.s.syn(0);
        r.push(4, b"def", true);
        r.push(7, b"", true); // retransmitted bare FIN
        assert!(r.take().is_empty());
        r.push(1, b"abc", false);
        assert_eq!(r.take(), vec![data(b"abcdef"), Out::Fin]);
        // Nothing after the FIN, ever.
        r.push(7, b"late", false).push(1, b"abc", false).flush();
        assert!(r.take().is_empty());
    }

    #[test]
    fn data_beyond_the_fin_is_ignored() {
        let mut r = Rig::new();
        r.s.syn(0);
        r.push(6, b"fgh", false); // buffered, then cut by the FIN
        r.push(4, b"d", true);
        r.push(1, b"abc", false);
        assert_eq!(r.take(), vec![data(b"abcd"), Out::Fin]);
    }

    #[test]
    fn flush_gives_up_every_hole_in_order() {
        let mut r = Rig::new();
        r.s.syn(0);
        r.push(1, b"ab", false)
            .push(5, b"ef", false)
            .push(9, b"ij", false)
            .push(13, b"", true);
        assert_eq!(r.take(), vec![data(b"ab")]);
        r.flush();
        assert_eq!(
            r.take(),
            vec![
                Out::Gap(2),
                data(b"ef"),
                Out::Gap(2),
                data(b"ij"),
                Out::Gap(2),
                Out::Fin
            ]
        );
        assert_eq!(r.stats.gaps, 3);
        assert_eq!(r.stats.gap_bytes, 6);
        assert_eq!(r.stats.buffer_caps_hit, 0);
    }

    #[test]
    fn flush_without_holes_emits_nothing_and_stream_continues() {
        let mut r = Rig::new();
        r.s.syn(0);
        r.push(1, b"ab", false).flush();
        r.push(3, b"cd", false);
        assert_eq!(r.take(), vec![data(b"abcd")]);
    }

    #[test]
    fn discard_counts_bytes_and_delivers_only_the_fin() {
        let mut r = Rig::new();
        r.s.syn(0);
        r.push(1, b"HTTP/1.1 101\r\n\r\n", false);
        r.push(40, b"later", false);
        assert!(r.s.buffered() > 0);
        r.take();
        r.s.discard();
        assert!(r.s.is_discarding());
        assert_eq!(r.s.buffered(), 0);
        r.push(17, &[0x81, 0x05, b'h', b'e', b'l', b'l', b'o'], false);
        assert!(r.take().is_empty());
        r.push(60, b"frame", true);
        r.push(60, b"frame", true);
        r.flush();
        assert_eq!(r.take(), vec![Out::Fin], "the FIN, once");
        assert_eq!(r.s.buffered(), 0);
        assert_eq!(r.s.bytes_seen(), 64);
    }

    #[test]
    fn passing_over_moves_the_end_only() {
        let mut r = Rig::new();
        r.s.syn(u32::MAX - 2);
        r.push(u32::MAX - 1, b"HTTP/1.1 101\r\n\r\n", false);
        r.take();
        r.s.discard();
        assert!(r.s.passes_over());
        // In order, across the wrap of sequence numbers.
        r.s.pass_over(14, 5, &mut r.stats);
        assert_eq!(r.s.bytes_seen(), 21);
        // A retransmission, and bytes past a hole the capture missed.
        r.s.pass_over(10, 3, &mut r.stats);
        assert_eq!(r.s.bytes_seen(), 21);
        r.s.pass_over(40, 10, &mut r.stats);
        assert_eq!(r.s.bytes_seen(), 52);
        // Out of any window: counted, not taken.
        r.s.pass_over(1 << 31, 10, &mut r.stats);
        assert_eq!(r.s.bytes_seen(), 52);
        assert_eq!(r.stats.out_of_window_segments, 1);
        assert!(r.take().is_empty(), "nothing delivered");
        assert!(r.s.passes_over());

        // A direction picked up mid-way: its first segment sets the origin.
        let mut m = Rig::new();
        m.s.discard();
        m.s.pass_over(1000, 7, &mut m.stats);
        assert_eq!(m.s.bytes_seen(), 7);
        m.s.pass_over(990, 5, &mut m.stats);
        assert_eq!(m.s.bytes_seen(), 7, "bytes before the origin");
    }

    #[test]
    fn shed_frees_memory_and_reports_the_lost_range_as_a_gap() {
        let mut r = Rig::new();
        r.s.syn(0);
        r.push(1, b"ab", false).push(5, b"efgh", false);
        let held = r.s.buffered();
        assert_eq!(r.s.shed(), held);
        assert_eq!(r.s.buffered(), 0);
        assert_eq!(r.s.shed(), 0);
        // The hole filling arrives: delivered, then the shed bytes are a gap.
        r.push(3, b"cd", false);
        r.push(9, b"ij", false);
        assert_eq!(r.take(), vec![data(b"abcd"), Out::Gap(4), data(b"ij")]);
    }

    #[test]
    fn shed_then_newer_data_is_preceded_by_the_gap() {
        let mut r = Rig::new();
        r.s.syn(0);
        r.push(1, b"ab", false).push(5, b"efgh", false);
        r.s.shed();
        r.push(9, b"ij", false);
        assert_eq!(r.take(), vec![data(b"ab"), Out::Gap(6), data(b"ij")]);
    }

    #[test]
    fn an_acknowledgement_beyond_what_was_shown_is_lacking() {
        let mut r = Rig::new();
        r.s.syn(1000);
        assert!(!r.s.lacks(1001), "nothing sent, nothing lacking");
        assert!(r.s.lacks(1011), "ten bytes acknowledged, none shown");
        r.push(1001, b"GET / HTTP", false);
        assert!(!r.s.lacks(1011));
        assert!(r.s.lacks(1012));
        // Bytes shown beyond the acknowledged ones: a hole, not a wait.
        r.push(1020, b"xyz", false);
        assert!(!r.s.lacks(1015));
        // Its FIN counts as one sequence number.
        let mut f = Rig::new();
        f.s.syn(1000);
        f.push(1001, b"abc", true);
        assert!(!f.s.lacks(1005));
        assert!(f.s.lacks(1006));
        // Stale or far-off numbers are not lacking.
        assert!(!f.s.lacks(900));
        assert!(!f.s.lacks(1001u32.wrapping_add(1 << 31)));
        // Nothing shown at all: nothing can be said.
        assert!(!Stream::default().lacks(5));
    }

    #[test]
    fn idle_stream_holds_no_heap_memory() {
        let s = Stream::default();
        assert_eq!(s.buffered(), 0);
        assert!(std::mem::size_of::<Stream>() <= 48);
    }

    /// Properties over arbitrary streams, segmentations and arrival orders.
    mod props {
        use super::*;
        use proptest::prelude::*;
        use proptest::sample::Index;

        /// ISNs anywhere, with extra weight just below 2^32 so streams wrap.
        fn isn() -> impl Strategy<Value = u32> {
            prop_oneof![any::<u32>(), (u32::MAX - 4096)..=u32::MAX]
        }

        /// Splits `0..len` at the given cut points into non-empty pieces.
        fn pieces(len: usize, cuts: &[Index]) -> Vec<(usize, usize)> {
            let mut at: Vec<usize> = cuts.iter().map(|i| i.index(len + 1)).collect();
            at.push(0);
            at.push(len);
            at.sort_unstable();
            at.dedup();
            at.windows(2).map(|w| (w[0], w[1])).collect()
        }

        /// A range of `0..len` from two picks, `None` when empty.
        fn range(len: usize, a: &Index, b: &Index) -> Option<(usize, usize)> {
            let (x, y) = (a.index(len + 1), b.index(len + 1));
            (x != y).then(|| (x.min(y), x.max(y)))
        }

        /// Fisher-Yates driven by xorshift, so a failing case replays from its seed.
        fn shuffle<T>(v: &mut [T], seed: u64) {
            let mut x = seed | 1;
            for i in (1..v.len()).rev() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                v.swap(i, (x % (i as u64 + 1)) as usize);
            }
        }

        /// Pushes `(from, to, fin)` ranges of `bytes` as segments of a stream
        /// whose SYN carried `isn`.
        fn replay(isn: u32, bytes: &[u8], segs: &[(usize, usize, bool)]) -> Rig {
            let mut r = Rig::new();
            r.s.syn(isn);
            for &(a, b, fin) in segs {
                r.push(
                    isn.wrapping_add(1).wrapping_add(a as u32),
                    &bytes[a..b],
                    fin,
                );
            }
            r
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn any_arrival_order_rebuilds_the_stream(
                bytes in proptest::collection::vec(any::<u8>(), 0..3000),
                isn in isn(),
                cuts in proptest::collection::vec(any::<Index>(), 0..48),
                extras in proptest::collection::vec((any::<Index>(), any::<Index>()), 0..12),
                bare_fin in any::<bool>(),
                seed in any::<u64>(),
            ) {
                let len = bytes.len();
                let mut segs: Vec<(usize, usize, bool)> =
                    pieces(len, &cuts).into_iter().map(|(a, b)| (a, b, false)).collect();
                match segs.last_mut() {
                    Some(last) if !bare_fin => last.2 = true,
                    _ => segs.push((len, len, true)),
                }
                // Duplicates and overlapping retransmissions of the same bytes.
                segs.extend(extras.iter().filter_map(|(a, b)| range(len, a, b)).map(|(a, b)| (a, b, false)));
                shuffle(&mut segs, seed);

                let r = replay(isn, &bytes, &segs);
                let mut want = Vec::new();
                if len > 0 {
                    want.push(Out::Data(bytes.clone()));
                }
                want.push(Out::Fin);
                prop_assert_eq!(&r.out, &want);
                prop_assert_eq!(r.stats.gaps, 0);
                prop_assert_eq!(r.stats.overlap_conflicts, 0);
                prop_assert!(r.s.invariants_hold());
                prop_assert_eq!(r.s.buffered(), 0);
                prop_assert_eq!(r.s.bytes_seen(), len as u64);
            }

            #[test]
            fn a_lost_segment_becomes_a_gap_of_its_length(
                bytes in proptest::collection::vec(any::<u8>(), 1..3000),
                isn in isn(),
                cuts in proptest::collection::vec(any::<Index>(), 0..48),
                lost in any::<Index>(),
                dups in proptest::collection::vec(any::<Index>(), 0..8),
                seed in any::<u64>(),
                acknowledged in any::<bool>(),
            ) {
                let len = bytes.len();
                let all = pieces(len, &cuts);
                let lost = lost.index(all.len());
                let (a, b) = all[lost];
                let kept: Vec<(usize, usize)> =
                    all.iter().enumerate().filter(|&(i, _)| i != lost).map(|(_, p)| *p).collect();
                let mut segs: Vec<(usize, usize, bool)> = kept.iter().map(|&(x, y)| (x, y, false)).collect();
                if !kept.is_empty() {
                    segs.extend(dups.iter().map(|i| { let (x, y) = kept[i.index(kept.len())]; (x, y, false) }));
                }
                segs.push((len, len, true));
                shuffle(&mut segs, seed);

                let mut r = replay(isn, &bytes, &segs);
                let delivered: u64 = r.out.iter().map(|c| match c {
                    Out::Data(d) => d.len() as u64,
                    _ => 0,
                }).sum();
                prop_assert_eq!(delivered, a as u64);
                // Given up at the end of the capture, or as soon as the
                // receiver acknowledges the whole stream (its FIN too).
                if acknowledged {
                    r.ack(isn.wrapping_add(len as u32).wrapping_add(2));
                } else {
                    r.flush();
                }
                prop_assert_eq!(r.stats.acked_unseen, u64::from(acknowledged));
                let mut want = Vec::new();
                if a > 0 {
                    want.push(Out::Data(bytes[..a].to_vec()));
                }
                want.push(Out::Gap((b - a) as u64));
                if b < len {
                    want.push(Out::Data(bytes[b..].to_vec()));
                }
                want.push(Out::Fin);
                prop_assert_eq!(&r.out, &want);
                prop_assert_eq!(r.stats.gaps, 1);
                prop_assert_eq!(r.stats.gap_bytes, (b - a) as u64);
                prop_assert_eq!(r.s.buffered(), 0);
            }

            #[test]
            fn passing_over_does_what_push_does_there(
                isn in isn(),
                syn_first in any::<bool>(),
                ops in proptest::collection::vec(
                    (0u8..10, any::<u32>(), -3000i32..3000, 0usize..1500, any::<bool>()),
                    0..80,
                ),
            ) {
                // Two copies of a stream fed alike, but for bytes alone on a
                // direction that passes over: push on one, pass_over on the other.
                let (mut a, mut b) = (Rig::new(), Rig::new());
                if syn_first {
                    a.s.syn(isn);
                    b.s.syn(isn);
                }
                let bytes = vec![7u8; 1500];
                for (op, wild, near, len, fin) in ops {
                    let seq = if op == 9 { wild } else { isn.wrapping_add(near as u32) };
                    match op {
                        0 => {
                            a.s.discard();
                            b.s.discard();
                        }
                        1 | 2 => {
                            a.ack(seq);
                            b.ack(seq);
                        }
                        _ if b.s.passes_over() && len > 0 && !(fin && op == 3) => {
                            a.push(seq, &bytes[..len], false);
                            b.s.pass_over(seq, len, &mut b.stats);
                        }
                        _ => {
                            a.push(seq, &bytes[..len], fin && op == 3);
                            b.push(seq, &bytes[..len], fin && op == 3);
                        }
                    }
                    prop_assert_eq!(format!("{:?}", a.s), format!("{:?}", b.s));
                    prop_assert_eq!(a.stats, b.stats);
                    prop_assert_eq!(&a.out, &b.out);
                }
            }

            #[test]
            fn arbitrary_input_never_breaks_the_invariants(
                isn in isn(),
                syn_first in any::<bool>(),
                ops in proptest::collection::vec(
                    (0u8..16, any::<u32>(), 0i32..600, proptest::collection::vec(any::<u8>(), 0..120), any::<bool>()),
                    0..80,
                ),
            ) {
                let limits = Limits { max_buffer_per_direction: 512, ..Limits::default() };
                let mut r = Rig::with_limits(limits);
                if syn_first {
                    r.s.syn(isn);
                }
                for (op, wild, near, payload, fin) in ops {
                    match op {
                        0 => { r.flush(); }
                        1 => { r.s.shed(); }
                        2 => r.s.discard(),
                        3 => r.s.syn(wild),
                        4 => { r.push(wild, &payload, fin); }
                        5 => { r.ack(wild); }
                        6 => { r.ack(isn.wrapping_add(near as u32)); }
                        _ => { r.push(isn.wrapping_add(near as u32), &payload, fin); }
                    }
                    prop_assert!(r.s.buffered() <= limits.max_buffer_per_direction);
                    prop_assert!(r.s.invariants_hold());
                }
                let fins = r.out.iter().filter(|c| **c == Out::Fin).count();
                prop_assert!(fins <= 1);
                if fins == 1 {
                    prop_assert_eq!(r.out.last(), Some(&Out::Fin));
                }
                let delivered: u64 = r.out.iter().map(|c| match c {
                    Out::Data(d) => d.len() as u64,
                    Out::Gap(n) => *n,
                    Out::Fin => 0,
                }).sum();
                if !r.s.is_discarding() {
                    prop_assert_eq!(delivered, r.s.bytes_seen());
                }
                prop_assert_eq!(r.stats.gap_bytes >= r.stats.gaps, true);
            }
        }
    }
}
