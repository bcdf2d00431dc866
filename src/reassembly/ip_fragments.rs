//! IP datagrams rebuilt from their fragments, before TCP sees them.
//!
//! Handshakes seldom fragment, but a tunnel with a small MTU, an IPv6 path
//! past a small link or a tool evading inspection does fragment them, and
//! Wireshark and Zeek put the pieces back: a request split over fragments must
//! not vanish from the analysis.
//!
//! The host under watch decides what it read, so this does what Linux does
//! with what it receives: a datagram waits at most 30 s (its default
//! `ipfrag_time`) for the rest, and fragments that overlap with different bytes
//! make the whole datagram be dropped (RFC 5722 asks this for IPv6; Linux does
//! it for IPv4 too). Exact copies of a fragment are harmless.
//!
//! Memory stays bounded whatever the fragments claim: a cap on datagrams in
//! progress and on the bytes they hold, the oldest given up first. Pieces are
//! kept as they came, so a lone fragment far into a datagram costs its own
//! bytes, not the datagram's length. Decisions follow packet time and arrival
//! order only, so the same capture gives the same datagrams on every run.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use crate::capture::Timestamp;
use crate::decode::{Decoded, Fragment};
use crate::reassembly::table::FlowHasher;

/// Linux's default `ipfrag_time`.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Datagrams in progress at once. A host's real fragmented traffic has a
/// handful; a flood of first fragments that never complete is what reaches it.
const MAX_DATAGRAMS: usize = 4096;

/// Fragment bytes held at once: sixty-four datagrams of the largest size.
const MAX_BYTES: usize = 4 << 20;

/// A datagram's payload cannot reach past this (the IP length fields' limit).
const MAX_PAYLOAD: u32 = 65_535;

/// What each datagram in progress costs beyond its bytes, for the budget.
const DATAGRAM_OVERHEAD: usize = 128;

/// What the defragmenter did, for the run's summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FragmentStats {
    /// Datagrams rebuilt whole.
    pub reassembled: u64,
    /// Fragments given up: their datagram overlapped itself, outgrew the IP
    /// limit, was cut by the snap length, waited past the timeout, was
    /// evicted for room, or was still incomplete at the end.
    pub discarded: u64,
}

/// A datagram rebuilt whole: its payload, and what [`crate::decode::reassembled`]
/// needs to decode it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub key: Key,
    pub payload: Vec<u8>,
}

impl Datagram {
    /// The payload decoded from the transport layer on (see
    /// [`crate::decode::reassembled`]).
    pub fn decode(&self) -> Decoded<'_> {
        let k = &self.key;
        crate::decode::reassembled(k.proto, k.src, k.dst, &self.payload)
    }

    /// The datagram as one raw IP packet (a minimal header of its version
    /// before the payload), for checking a BPF filter against it.
    pub fn as_ip_packet(&self) -> Vec<u8> {
        let len = self.payload.len();
        let mut p = Vec::with_capacity(40 + len);
        match (self.key.src, self.key.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let total = u16::try_from(20 + len).unwrap_or(u16::MAX);
                p.extend_from_slice(&[0x45, 0]);
                p.extend_from_slice(&total.to_be_bytes());
                p.extend_from_slice(&[0, 0, 0, 0, 64, self.key.proto, 0, 0]);
                p.extend_from_slice(&s.octets());
                p.extend_from_slice(&d.octets());
            }
            (s, d) => {
                let v6 = |a: IpAddr| match a {
                    IpAddr::V6(a) => a.octets(),
                    IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
                };
                p.extend_from_slice(&[0x60, 0, 0, 0]);
                p.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
                p.extend_from_slice(&[self.key.proto, 64]);
                p.extend_from_slice(&v6(s));
                p.extend_from_slice(&v6(d));
            }
        }
        p.extend_from_slice(&self.payload);
        p
    }
}

/// Which datagram a fragment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub id: u32,
    pub proto: u8,
}

impl Key {
    pub fn of(f: &Fragment<'_>) -> Key {
        Key {
            src: f.src,
            dst: f.dst,
            id: f.id,
            proto: f.proto,
        }
    }
}

#[derive(Debug)]
struct Pending {
    /// Which arrival this is, so a stale entry of `order` is known.
    serial: u64,
    first_seen: Timestamp,
    /// The pieces received, sorted by offset, none overlapping another.
    pieces: Vec<(u32, Vec<u8>)>,
    /// The payload's length, once the last fragment came.
    total: Option<u32>,
    fragments: u64,
    bytes: usize,
}

impl Pending {
    /// Take in a fragment's bytes at `offset`; false when they overlap bytes
    /// already held with different ones.
    fn insert(&mut self, offset: u32, data: &[u8]) -> bool {
        let end = offset + data.len() as u32;
        // The gaps between the pieces held that the new bytes fill.
        let mut fresh = Vec::new();
        let mut from = offset;
        for (o, piece) in &self.pieces {
            let p_end = o + piece.len() as u32;
            if *o >= end {
                break;
            }
            if p_end <= offset {
                continue;
            }
            // The overlap must hold the same bytes.
            let (lo, hi) = (offset.max(*o), end.min(p_end));
            let mine = &data[(lo - offset) as usize..(hi - offset) as usize];
            let theirs = &piece[(lo - o) as usize..(hi - o) as usize];
            if mine != theirs {
                return false;
            }
            if *o > from {
                fresh.push((from, *o));
            }
            from = from.max(p_end);
        }
        if from < end {
            fresh.push((from, end));
        }
        for (a, b) in fresh {
            let bytes = data[(a - offset) as usize..(b - offset) as usize].to_vec();
            self.bytes += bytes.len();
            let pos = self.pieces.partition_point(|(o, _)| *o < a);
            self.pieces.insert(pos, (a, bytes));
        }
        true
    }

    /// The payload, when every byte up to the last fragment's end is here.
    fn whole(&self) -> Option<Vec<u8>> {
        let total = self.total?;
        let mut next = 0u32;
        for (o, piece) in &self.pieces {
            if *o != next {
                return None;
            }
            next += piece.len() as u32;
        }
        if next != total {
            return None;
        }
        let mut out = Vec::with_capacity(total as usize);
        for (_, piece) in &self.pieces {
            out.extend_from_slice(piece);
        }
        Some(out)
    }
}

/// IP datagrams in progress, by source, destination, protocol and
/// identification.
#[derive(Debug, Default)]
pub struct Defragmenter {
    pending: std::collections::HashMap<Key, Pending, FlowHasher>,
    /// Datagrams in the order their first fragment came: the oldest is
    /// given up first. Entries of datagrams already done are skipped.
    order: VecDeque<(u64, Key)>,
    serial: u64,
    bytes: usize,
    stats: FragmentStats,
    /// Datagrams given up since [`Defragmenter::take_given_up`], when asked
    /// to keep the list (a writer holding their packets needs it).
    given_up: Option<Vec<Key>>,
}

impl Defragmenter {
    pub fn new() -> Self {
        Self::default()
    }

    /// One that lists the datagrams it gives up, for [`Defragmenter::take_given_up`].
    pub fn listing_given_up() -> Self {
        Defragmenter {
            given_up: Some(Vec::new()),
            ..Self::default()
        }
    }

    /// The datagrams given up since the last call (see
    /// [`Defragmenter::listing_given_up`]).
    pub fn take_given_up(&mut self) -> Vec<Key> {
        self.given_up
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    pub fn stats(&self) -> FragmentStats {
        self.stats
    }

    /// Take in one fragment seen at `now` (the latest packet time so far);
    /// the datagram it completes, if it does.
    pub fn add(&mut self, f: &Fragment<'_>, now: Timestamp) -> Option<Datagram> {
        self.expire(now);
        let key = Key::of(f);
        let end = f.offset.checked_add(f.data.len() as u32);
        let fits = end.is_some_and(|e| e <= MAX_PAYLOAD);
        if f.cut || f.data.is_empty() || !fits {
            // A piece that cannot be placed dooms its datagram.
            self.stats.discarded += 1;
            if !self.drop_datagram(&key) {
                if let Some(list) = self.given_up.as_mut() {
                    list.push(key);
                }
            }
            return None;
        }
        let end = end.unwrap_or(MAX_PAYLOAD);
        if !self.pending.contains_key(&key) {
            self.make_room(f.data.len() + DATAGRAM_OVERHEAD);
            self.serial += 1;
            self.order.push_back((self.serial, key));
            self.bytes += DATAGRAM_OVERHEAD;
            self.pending.insert(
                key,
                Pending {
                    serial: self.serial,
                    first_seen: now,
                    pieces: Vec::new(),
                    total: None,
                    fragments: 0,
                    bytes: DATAGRAM_OVERHEAD,
                },
            );
        } else {
            self.make_room_keeping(f.data.len(), &key);
        }
        let p = self.pending.get_mut(&key)?;
        p.fragments += 1;
        let before = p.bytes;
        let placed = p.insert(f.offset, f.data);
        let beyond_end = |total: u32, p: &Pending| {
            p.pieces
                .last()
                .is_some_and(|(o, piece)| o + piece.len() as u32 > total)
        };
        let consistent = placed
            && match (f.more, p.total) {
                (false, Some(t)) => t == end,
                (false, None) => {
                    p.total = Some(end);
                    !beyond_end(end, p)
                }
                (true, Some(t)) => end <= t,
                (true, None) => true,
            };
        self.bytes += p.bytes - before;
        if !consistent {
            self.drop_datagram(&key);
            return None;
        }
        let payload = p.whole()?;
        if let Some(done) = self.pending.remove(&key) {
            self.bytes -= done.bytes;
        }
        self.stats.reassembled += 1;
        self.compact_order();
        Some(Datagram { key, payload })
    }

    /// Give up what is still incomplete (the input ended).
    pub fn finish(&mut self) {
        // In arrival order, for whoever lists them.
        while let Some((serial, key)) = self.order.pop_front() {
            if self.pending.get(&key).is_some_and(|p| p.serial == serial) {
                self.drop_datagram(&key);
            }
        }
        self.bytes = 0;
    }

    /// Give the datagram up (listing it); false when there was none.
    fn drop_datagram(&mut self, key: &Key) -> bool {
        let Some(p) = self.pending.remove(key) else {
            return false;
        };
        self.stats.discarded += p.fragments;
        self.bytes -= p.bytes;
        if let Some(list) = self.given_up.as_mut() {
            list.push(*key);
        }
        self.compact_order();
        true
    }

    /// Give up datagrams that waited longer than the timeout.
    fn expire(&mut self, now: Timestamp) {
        while let Some(&(serial, key)) = self.order.front() {
            match self.pending.get(&key) {
                Some(p) if p.serial == serial => {
                    if p.first_seen + TIMEOUT >= now {
                        return;
                    }
                    self.order.pop_front();
                    self.drop_datagram(&key);
                }
                _ => {
                    self.order.pop_front();
                }
            }
        }
    }

    /// Evict the oldest datagrams until a new one costing `need` fits.
    fn make_room(&mut self, need: usize) {
        while self.pending.len() >= MAX_DATAGRAMS || self.bytes + need > MAX_BYTES {
            if !self.evict_oldest(None) {
                return;
            }
        }
    }

    /// The same for `need` more bytes of `keep`, which stays.
    fn make_room_keeping(&mut self, need: usize, keep: &Key) {
        while self.bytes + need > MAX_BYTES {
            if !self.evict_oldest(Some(keep)) {
                return;
            }
        }
    }

    fn evict_oldest(&mut self, keep: Option<&Key>) -> bool {
        let mut kept = None;
        let mut evicted = false;
        while let Some((serial, key)) = self.order.pop_front() {
            let live = self.pending.get(&key).is_some_and(|p| p.serial == serial);
            if !live {
                continue;
            }
            if Some(&key) == keep {
                kept = Some((serial, key));
                continue;
            }
            self.drop_datagram(&key);
            evicted = true;
            break;
        }
        if let Some(k) = kept {
            self.order.push_front(k);
        }
        evicted
    }

    /// Forget entries of datagrams already done once they outnumber the
    /// live ones, so `order` stays as bounded as the datagrams are.
    fn compact_order(&mut self) {
        if self.order.len() > 2 * self.pending.len() + 64 {
            let pending = &self.pending;
            self.order
                .retain(|(serial, key)| pending.get(key).is_some_and(|p| p.serial == *serial));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn at(secs: i64) -> Timestamp {
        Timestamp::new(secs, 0)
    }

    fn frag(id: u32, offset: u32, more: bool, data: &[u8]) -> Fragment<'_> {
        Fragment {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            id,
            proto: 6,
            offset,
            more,
            data,
            cut: false,
        }
    }

    fn payload(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn pieces_in_any_order_make_the_datagram() {
        let p = payload(3000);
        let orders: [[usize; 3]; 3] = [[0, 1, 2], [2, 1, 0], [1, 2, 0]];
        for order in orders {
            let mut d = Defragmenter::new();
            let parts = [(0u32, true), (1480, true), (2960, false)];
            let mut got = None;
            for (n, &i) in order.iter().enumerate() {
                let (o, more) = parts[i];
                let end = if more { o as usize + 1480 } else { p.len() };
                let r = d.add(&frag(7, o, more, &p[o as usize..end]), at(1));
                if n < 2 {
                    assert!(r.is_none(), "complete too early in {order:?}");
                }
                got = got.or(r);
            }
            let got = got.expect("rebuilt");
            assert_eq!(got.payload, p, "{order:?}");
            assert_eq!(got.key.proto, 6);
            assert_eq!(d.stats().reassembled, 1);
            assert_eq!(d.bytes, 0, "nothing held after");
        }
    }

    #[test]
    fn an_exact_copy_is_harmless_a_differing_overlap_drops_the_datagram() {
        let p = payload(2000);
        let mut d = Defragmenter::new();
        assert!(d.add(&frag(1, 0, true, &p[..1000]), at(1)).is_none());
        assert!(d.add(&frag(1, 0, true, &p[..1000]), at(1)).is_none());
        // Overlapping the first half with the same bytes, then the rest.
        assert!(d.add(&frag(1, 504, true, &p[504..1200]), at(1)).is_none());
        let got = d.add(&frag(1, 1200, false, &p[1200..]), at(1));
        assert_eq!(got.map(|g| g.payload), Some(p.clone()));

        let mut other = p.clone();
        other[800] ^= 0xff;
        assert!(d.add(&frag(2, 0, true, &p[..1000]), at(1)).is_none());
        assert!(d
            .add(&frag(2, 800, true, &other[800..1200]), at(1))
            .is_none());
        // The datagram is gone: its last piece starts a new one that never ends.
        assert!(d.add(&frag(2, 1200, false, &p[1200..]), at(1)).is_none());
        assert_eq!(d.stats().reassembled, 1);
        assert_eq!(d.stats().discarded, 2);
    }

    #[test]
    fn a_datagram_waits_thirty_seconds_of_packet_time() {
        let p = payload(100);
        let mut d = Defragmenter::new();
        assert!(d.add(&frag(3, 0, true, &p[..48]), at(10)).is_none());
        assert!(d.add(&frag(3, 48, false, &p[48..]), at(40)).is_some());
        assert!(d.add(&frag(4, 0, true, &p[..48]), at(10)).is_none());
        assert!(d.add(&frag(4, 48, false, &p[48..]), at(41)).is_none());
        assert_eq!(d.stats().discarded, 1);
        d.finish();
        assert_eq!(
            d.stats().discarded,
            2,
            "the late last piece, incomplete at the end"
        );
    }

    #[test]
    fn inconsistent_ends_and_oversized_datagrams_are_dropped() {
        let p = payload(200);
        let mut d = Defragmenter::new();
        // Two different last fragments.
        assert!(d.add(&frag(5, 100, false, &p[100..]), at(1)).is_none());
        assert!(d.add(&frag(5, 100, false, &p[100..150]), at(1)).is_none());
        assert!(d.add(&frag(5, 0, true, &p[..100]), at(1)).is_none());
        // Past the IP limit.
        assert!(d.add(&frag(6, 65_528, true, &p[..16]), at(1)).is_none());
        // Cut by the snap length.
        let mut cut = frag(8, 0, true, &p[..64]);
        cut.cut = true;
        assert!(d.add(&cut, at(1)).is_none());
        assert_eq!(d.stats().reassembled, 0);
        assert!(d.stats().discarded >= 4);
    }

    #[test]
    fn a_flood_of_first_fragments_stays_within_the_budget() {
        let p = payload(1480);
        let mut d = Defragmenter::new();
        for id in 0..20_000u32 {
            assert!(d.add(&frag(id, 0, true, &p), at(1)).is_none());
            assert!(d.pending.len() <= MAX_DATAGRAMS);
            assert!(d.bytes <= MAX_BYTES);
            assert!(d.order.len() <= 2 * MAX_DATAGRAMS + 64);
        }
        // The newest datagrams are the ones kept: the last one completes.
        let last = d.add(&frag(19_999, 1480, false, &p[..20]), at(1));
        assert_eq!(last.map(|g| g.payload.len()), Some(1500));
        assert!(d.stats().discarded > 15_000);
    }

    #[test]
    fn held_bytes_are_accounted_back_to_zero() {
        let p = payload(5000);
        let mut d = Defragmenter::new();
        for id in 0..50u32 {
            d.add(&frag(id, 1000, true, &p[1000..2000]), at(1));
            d.add(&frag(id, 0, true, &p[..1000]), at(1));
        }
        for id in 0..50u32 {
            assert!(d.add(&frag(id, 2000, false, &p[2000..]), at(2)).is_some());
        }
        assert_eq!(d.bytes, 0);
        assert!(d.pending.is_empty());
    }
}
