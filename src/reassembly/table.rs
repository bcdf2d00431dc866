//! The flow table: every tracked connection, under a cap on their number and on the
//! bytes they buffer, so memory stays bounded whatever the capture holds.
//!
//! All decisions are made in packet time and every choice between flows breaks ties
//! by key, so the same capture gives the same evictions, and hence the same output,
//! on every run.
//!
//! The keys are 4-tuples the sender chooses, so the map hashes them with a key
//! drawn at random per run: a crafted set of tuples cannot pile into one bucket
//! chain and turn each lookup into a scan. Nothing iterates the map in its own
//! order on the way to the output (every scan sorts what it collects).

use super::early::Early;
use super::flow_map::FlowMap;
pub use super::flow_map::Hashed;
use super::{Limits, ReassemblyStats, Stream};
use crate::capture::Timestamp;
use crate::decode::{BySide, FlowKey, Side};
use hashbrown::hash_table::{Entry, HashTable};

/// What the layer above keeps per connection. The table asks it for its memory so
/// that the global budget covers parser buffers too, and may ask it to let go.
pub trait FlowState: Default {
    /// Bytes held (buffered heads, partial messages), for the global budget.
    fn buffered_bytes(&self) -> usize {
        0
    }
    /// Drop what can be rebuilt or lost under memory pressure; returns bytes freed.
    fn shed(&mut self) -> usize {
        0
    }
    /// Heap bytes of the state's own structure (not its buffers): what the
    /// connection costs the table for as long as it is tracked, since it
    /// cannot be shed.
    fn structure_bytes(&self) -> usize {
        0
    }
    /// Ask the CPU to load the state's own heap parts (boxed layers), once
    /// the flow itself is cached: the second step of [`FlowTable::prefetch`].
    fn prefetch_parts(&self) {}
    /// Evicting the connection now would lose something to report (a request
    /// waiting for its answer, a head half read): a full table evicts such
    /// flows only once every other flow is gone.
    fn at_stake(&self) -> bool {
        false
    }
}

/// The table's per-connection memory, in bytes per `max_flows` slot: a
/// connection before its first byte of payload costs about 290 (its boxed
/// entry, its share of the index), so a full table of those fits, while
/// connections whose protocol state is built cost twice that and fewer of
/// them are kept (the idlest are evicted as when the table is full). At
/// 360 a flood of half-sent heads peaked at up to 62 MiB against the 64 MiB
/// budget; at 320 it peaks at 47-58 MiB (47-52 with the allocator's 5 ms
/// decay, see `main.rs`), and 50 000 concurrent real connections (upgraded
/// ones keep no HTTP state) still fit without an eviction.
const BYTES_PER_FLOW_SLOT: usize = 320;

/// A full table evicts this share of `max_flows` at once, idlest first (and
/// flows with something at stake last). Finding them reads every flow, so
/// under a flood of new connections the scan's cost per new connection is
/// this number of flow reads: at 16 the scan was 60 % of the time of a
/// two-million-SYN flood (2.2 µs a packet). The idlest quarter of a full
/// table is, under a flood, the flood's own connections.
const EVICT_SHARE: usize = 4;

/// What one tracked flow costs beyond its state's structure: its boxed entry
/// with the allocator's header, and its share of the index (8-byte buckets,
/// at most half full after growth).
fn entry_bytes<V>() -> usize {
    std::mem::size_of::<Flow<V>>() + 16 + 16
}

/// Hashes flow keys with a per-run random seed (see the module doc).
pub type FlowHasher = foldhash::fast::RandomState;

/// For users of the table that keep nothing per connection (tests, tools).
impl FlowState for () {}

/// Why a flow left the table before its connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictReason {
    /// Room was needed for a new flow; this was among the idlest.
    TableFull,
    /// No packet for longer than the idle timeout (in packet time).
    Idle,
}

/// One tracked connection.
#[derive(Debug)]
pub struct Flow<V> {
    /// Kept here, not beside the flow in the index (see `flow_map`).
    pub(super) key: FlowKey,
    /// 0: lo→hi, 1: hi→lo, per [`FlowKey`].
    pub dirs: BySide<Stream>,
    pub state: V,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// What this flow counted in the table's total at its last `account`.
    charged: usize,
    /// What this flow counted in the table's weight at its last `account`.
    weight: u32,
    /// Whether it held bytes or its state was [`FlowState::at_stake`] at its
    /// last `account`: kept here so that choosing what to evict reads the
    /// flows, not their states.
    at_stake: bool,
    /// Segments waiting for the bytes they acknowledge (see `early`).
    pub early: Option<Box<Early>>,
}

impl<V: FlowState> Flow<V> {
    /// A packet of the flow at `now`: its idle time starts again (packets
    /// out of order in time never turn it back).
    pub fn seen_at(&mut self, now: Timestamp) {
        if now > self.last_seen {
            self.last_seen = now;
        }
    }

    fn new(key: FlowKey, now: Timestamp) -> Self {
        Flow {
            key,
            dirs: Default::default(),
            state: V::default(),
            first_seen: now,
            last_seen: now,
            charged: 0,
            weight: 0,
            at_stake: false,
            early: None,
        }
    }

    fn holding(&self) -> usize {
        self.dirs[Side::Lo].buffered()
            + self.dirs[Side::Hi].buffered()
            + self.state.buffered_bytes()
            + self.early.as_ref().map_or(0, |e| e.bytes())
    }
}

/// Connections that ended (FIN both ways or a reset) are remembered this many at
/// a time per table, for at most the idle timeout: long enough for the late
/// copies of their segments that real captures hold, small whatever the rate
/// of connections (a few dozen bytes each).
const CLOSED_REMEMBERED: usize = 4096;

/// A connection that ended: where each direction's sequence space ended, so a
/// late copy of one of its segments is known for what it is.
#[derive(Debug, Clone, Copy)]
struct Closed {
    at: Timestamp,
    end: [Option<u32>; 2],
    /// Where each direction's bytes started (its SYN's number plus one).
    start: [Option<u32>; 2],
}

/// Segments this far (in sequence space) at or below a closed direction's end
/// are late copies; farther, or beyond the end, they start something new.
const LATE_WINDOW: i64 = 1 << 30;

/// Connections by key, with their limits and counters.
#[derive(Debug)]
pub struct FlowTable<V: FlowState> {
    /// Flows are boxed: removals leave tombstones, and a table more than half
    /// full grows instead of rehashing in place, so under churn (a SYN flood
    /// against a full table) it ends up with twice the buckets it needs; each
    /// bucket must stay small for memory to stay bounded.
    map: FlowMap<V>,
    limits: Limits,
    stats: ReassemblyStats,
    total: usize,
    /// Per-connection structure of all flows (see `BYTES_PER_FLOW_SLOT`).
    weights: usize,
    /// Packet time of the last idle scan; `None` before the first packet.
    last_scan: Option<Timestamp>,
    /// Recently closed connections, and the order they closed in.
    /// Found by the flow table's hash of the key (see [`Hashed`]).
    closed: HashTable<(FlowKey, Closed)>,
    closed_order: std::collections::VecDeque<(Timestamp, FlowKey)>,
}

/// The flow of `key`, created if new (and whether it was), its idle time
/// refreshed and the peak flow count kept. Over the fields, not `&mut self`,
/// so a caller can still update the table's totals while holding the flow.
fn lookup_or_create<'m, V: FlowState>(
    map: &'m mut FlowMap<V>,
    stats: &mut ReassemblyStats,
    k: &Hashed,
    now: Timestamp,
) -> (&'m mut Flow<V>, bool) {
    let before = map.len();
    let (flow, inserted) = map.get_or_insert_with(k, || Flow::new(k.key, now));
    flow.seen_at(now);
    let len = (before + usize::from(inserted)) as u64;
    if len > stats.peak_flows {
        stats.peak_flows = len;
    }
    (flow, inserted)
}

/// What a packet left its flow as (what [`FlowTable::update`]'s caller
/// returns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Still tracked, and what it holds may have changed: accounted again.
    Changed,
    /// Still tracked, holding what it held before: a packet its streams
    /// passed over. Accounting it again would find the same numbers; it is
    /// the most common packet on a busy host (TLS without keys, WebSocket
    /// frames after the handshake), and the accounting reads every part of
    /// the connection's state.
    Unchanged,
    /// Ended: removed, and remembered as closed.
    Ended,
}

/// Bring the table's totals of buffered bytes and of per-connection
/// structure up to date with what `flow` holds.
fn charge<V: FlowState>(total: &mut usize, weights: &mut usize, flow: &mut Flow<V>) {
    let held = flow.holding();
    *total = total.saturating_sub(flow.charged) + held;
    flow.charged = held;
    let weight =
        u32::try_from(entry_bytes::<V>() + flow.state.structure_bytes()).unwrap_or(u32::MAX);
    *weights = weights.saturating_sub(flow.weight as usize) + weight as usize;
    flow.weight = weight;
    // Bytes held ahead of a hole are at stake too: a request whose first
    // segment comes late.
    flow.at_stake = held > 0 || flow.state.at_stake();
}

impl<V: FlowState> Default for FlowTable<V> {
    fn default() -> Self {
        FlowTable::new(Limits::default())
    }
}

impl<V: FlowState> FlowTable<V> {
    pub fn new(limits: Limits) -> Self {
        FlowTable {
            map: FlowMap::default(),
            limits,
            stats: ReassemblyStats::default(),
            total: 0,
            weights: 0,
            last_scan: None,
            closed: HashTable::new(),
            closed_order: Default::default(),
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The key with its hash, for the look-ups of one packet.
    pub fn hashed(&self, key: FlowKey) -> Hashed {
        self.map.hashed(key)
    }

    /// Look the flow up (once per packet), creating it if new; if the table is
    /// full, first evict the idlest flows and pass each to `on_evict`.
    ///
    /// Eviction takes a quarter of `max_flows` at once, so its linear scan is
    /// paid once per many insertions (amortised O(1) per packet).
    pub fn get_or_insert(
        &mut self,
        key: FlowKey,
        now: Timestamp,
        on_evict: &mut dyn FnMut(FlowKey, Box<Flow<V>>, EvictReason),
    ) -> &mut Flow<V> {
        let k = self.map.hashed(key);
        self.make_room(&k, on_evict);
        lookup_or_create(&mut self.map, &mut self.stats, &k, now).0
    }

    /// Look the flow up once, creating it if new (evicting first as
    /// [`get_or_insert`](Self::get_or_insert) does), and let `f` update it; `f`
    /// is told whether the flow is new and returns what the packet left it
    /// as. A [`Kept::Changed`] flow is then accounted as
    /// [`account`](Self::account) would, on the same entry; an
    /// [`Kept::Ended`] one is removed. One hash lookup per packet instead of
    /// two (the second only for flows that end).
    #[inline(always)]
    pub fn update<R>(
        &mut self,
        k: &Hashed,
        now: Timestamp,
        on_evict: &mut dyn FnMut(FlowKey, Box<Flow<V>>, EvictReason),
        f: impl FnOnce(&mut Flow<V>, bool) -> (Kept, R),
    ) -> R {
        self.make_room(k, on_evict);
        let key = k.key;
        let (flow, inserted) = lookup_or_create(&mut self.map, &mut self.stats, k, now);
        let (kept, r) = f(flow, inserted);
        if kept == Kept::Unchanged {
            return r;
        }
        if kept == Kept::Changed {
            charge(&mut self.total, &mut self.weights, flow);
            if self.total > self.limits.max_total_buffered {
                self.shed_largest();
            }
        } else {
            let end = [flow.dirs[Side::Lo].end_seq(), flow.dirs[Side::Hi].end_seq()];
            let start = [
                flow.dirs[Side::Lo].start_seq(),
                flow.dirs[Side::Hi].start_seq(),
            ];
            self.remove(&key);
            self.remember_closed(
                k,
                Closed {
                    at: now,
                    end,
                    start,
                },
            );
        }
        r
    }

    /// Whether a segment (direction `d`: 0 lo→hi, 1 hi→lo; `len` counting
    /// its FIN) is a late copy from a connection that already ended and left
    /// the table: a retransmission of an answered request arriving after the
    /// FINs must not open a "new" connection picked up mid-way and be taken for
    /// a second attempt. A SYN with another initial sequence number, or bytes
    /// beyond where the old connection ended, start a new connection on the
    /// same ports: the memory is dropped. A SYN with the old one's number is a
    /// copy of it (a new connection on the same ports must start above the
    /// old one's sequence numbers): a second tap's copy of a whole connection,
    /// merged in after the first copy ended, is not a second connection.
    pub fn is_late_copy(&mut self, k: &Hashed, d: Side, seq: u32, len: u32, syn: bool) -> bool {
        let Ok(entry) = self.closed.find_entry(k.hash(), |(key, _)| *key == k.key) else {
            return false;
        };
        let c = &entry.get().1;
        let late = if syn {
            c.start[d.index()] == Some(seq.wrapping_add(1))
        } else {
            c.end.get(d.index()).copied().flatten().is_some_and(|end| {
                let past_end = i64::from(seq.wrapping_add(len).wrapping_sub(end) as i32);
                past_end <= 0 && past_end > -LATE_WINDOW
            })
        };
        if late {
            // The last ACK of a close is late too, and too usual to count.
            if len > 0 || syn {
                self.stats.late_segments += 1;
            }
        } else {
            entry.remove();
        }
        late
    }

    /// Take out the flow a SYN (without ACK) from side `d` reopens with a new
    /// initial sequence number: a new connection on the ports of one whose end
    /// the capture did not show (lost, or a proxy reusing its ports at once).
    /// Left in place, the new connection's bytes would land a random distance
    /// into the old stream, as a gap of up to 2 GiB or as segments out of the
    /// window, and its attempts would be lost.
    pub fn take_reused(&mut self, k: &Hashed, d: Side, isn: u32) -> Option<Box<Flow<V>>> {
        if !self.map.get(k)?.dirs[d].began_elsewhere(isn) {
            return None;
        }
        self.stats.port_reuses += 1;
        self.remove(&k.key)
    }

    fn remember_closed(&mut self, k: &Hashed, closed: Closed) {
        let now = closed.at;
        while self.closed_order.len() >= CLOSED_REMEMBERED {
            self.forget_oldest_closed();
        }
        let map = &self.map;
        let entry = self
            .closed
            .entry(k.hash(), |(key, _)| *key == k.key, |(key, _)| map.hash(key));
        match entry {
            Entry::Occupied(mut e) => e.get_mut().1 = closed,
            Entry::Vacant(e) => {
                e.insert((k.key, closed));
            }
        }
        self.closed_order.push_back((now, k.key));
    }

    fn forget_oldest_closed(&mut self) {
        if let Some((at, key)) = self.closed_order.pop_front() {
            // Only if not closed again since (a later entry took its place).
            let hash = self.map.hash(&key);
            if let Ok(e) = self
                .closed
                .find_entry(hash, |(k, c)| *k == key && c.at == at)
            {
                e.remove();
            }
        }
    }

    /// Evict the idlest flows when a new one would not fit.
    fn make_room(
        &mut self,
        k: &Hashed,
        on_evict: &mut dyn FnMut(FlowKey, Box<Flow<V>>, EvictReason),
    ) {
        let full = self.map.len() >= self.limits.max_flows.max(1)
            || self.weights >= self.limits.max_flows.saturating_mul(BYTES_PER_FLOW_SLOT);
        if full && !self.map.contains_key(k) {
            self.evict_idlest(on_evict);
        }
    }

    /// Start loading the flows the next packets belong to. Called for a group
    /// of packets at once, the lookups' cache misses overlap instead of each
    /// packet waiting for its flow in turn.
    pub fn prefetch<'k>(&self, keys: impl IntoIterator<Item = &'k Hashed>) {
        for k in keys {
            self.map.prefetch(k);
        }
    }

    /// The second step, for flows prefetched a group earlier: their entries
    /// are cached by now, so reading them to find their states' heap parts
    /// does not stall, and those parts load while the group before is worked.
    pub fn prefetch_parts<'k>(&self, keys: impl IntoIterator<Item = &'k Hashed>) {
        for k in keys {
            if let Some(f) = self.map.get(k) {
                f.state.prefetch_parts();
            }
        }
    }

    /// The flow a packet belongs to, if tracked, its idle time left for the
    /// caller to refresh (see [`Flow::seen_at`]). A tracked flow is never also
    /// remembered as closed (a segment that opens it again drops the memory
    /// first, see [`Self::is_late_copy`]), so none of its packets is a late
    /// copy; and the table need not make room for it.
    pub fn tracked_mut(&mut self, k: &Hashed) -> Option<&mut Flow<V>> {
        let flow = self.map.get_hashed_mut(k)?;
        debug_assert!(self
            .closed
            .find(k.hash(), |(key, _)| *key == k.key)
            .is_none());
        Some(flow)
    }

    /// The flow, if tracked, without creating it or touching its idle time (for
    /// timers that fire on quiet flows).
    pub fn get_mut(&mut self, key: &FlowKey) -> Option<&mut Flow<V>> {
        self.map.get_mut(key)
    }

    /// Bytes of per-connection structure the table holds (entries and
    /// states, not buffered stream bytes): how much of the core's cache its
    /// flows need.
    pub fn structure_bytes(&self) -> usize {
        self.weights
    }

    /// Must be called after the caller has finished updating a flow for this
    /// packet, so the table can keep the total of buffered bytes (streams +
    /// `V::buffered_bytes`) and shed the flows holding the most when above
    /// `limits.max_total_buffered`.
    pub fn account(&mut self, key: &FlowKey) {
        let Some(flow) = self.map.get_mut(key) else {
            return;
        };
        charge(&mut self.total, &mut self.weights, flow);
        if self.total > self.limits.max_total_buffered {
            self.shed_largest();
        }
    }

    /// The flow leaves the table still boxed: evictions pass on a pointer, so
    /// a full table evicting a quarter of its flows at once moves no flow.
    pub fn remove(&mut self, key: &FlowKey) -> Option<Box<Flow<V>>> {
        let flow = self.map.remove(key)?;
        self.total = self.total.saturating_sub(flow.charged);
        self.weights = self.weights.saturating_sub(flow.weight as usize);
        Some(flow)
    }

    /// Expire flows idle for more than `limits.idle_timeout_secs` of packet time.
    /// Cheap to call every packet: it only scans when enough packet time has passed
    /// since the last scan (a quarter of the timeout, between 1 and 5 seconds), so
    /// a flow outlives its timeout by at most that much.
    pub fn expire(
        &mut self,
        now: Timestamp,
        on_evict: &mut dyn FnMut(FlowKey, Box<Flow<V>>, EvictReason),
    ) {
        let Some(last) = self.last_scan else {
            self.last_scan = Some(now);
            return;
        };
        let interval = (self.limits.idle_timeout_secs / 4).clamp(1, 5) as i128 * 1_000_000_000;
        if now.as_nanos() - last.as_nanos() < interval {
            return;
        }
        self.last_scan = Some(now);
        let timeout = i128::from(self.limits.idle_timeout_secs) * 1_000_000_000;
        let cutoff = now.as_nanos() - timeout;
        while self
            .closed_order
            .front()
            .is_some_and(|(at, _)| at.as_nanos() < cutoff)
        {
            self.forget_oldest_closed();
        }
        let mut idle: Vec<(Timestamp, FlowKey)> = self
            .map
            .iter()
            .filter(|f| f.last_seen.as_nanos() < cutoff)
            .map(|f| (f.last_seen, f.key))
            .collect();
        idle.sort_unstable();
        for (_, key) in idle {
            if let Some(flow) = self.remove(&key) {
                self.stats.flows_expired += 1;
                on_evict(key, flow, EvictReason::Idle);
            }
        }
    }

    /// All remaining flows, in a deterministic order (sorted by `first_seen`, then
    /// key), for end of capture.
    pub fn drain(&mut self) -> impl Iterator<Item = (FlowKey, Box<Flow<V>>)> {
        let mut all: Vec<Box<Flow<V>>> = self.map.drain().collect();
        all.sort_unstable_by_key(|f| (f.first_seen, f.key));
        self.total = 0;
        self.weights = 0;
        all.into_iter().map(|f| (f.key, f))
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn stats(&self) -> &ReassemblyStats {
        &self.stats
    }

    pub fn stats_mut(&mut self) -> &mut ReassemblyStats {
        &mut self.stats
    }

    /// Whether the table holds enough that freed memory should go back to
    /// the system soon (see `allocator_decay`): a quarter of the structure
    /// its flows may take or half its budget of buffered bytes, and once
    /// loaded, until under half of those again, so that a table hovering
    /// at a threshold does not switch the allocator back and forth. A run
    /// over 10 000 connections holds 5.4 MB of the 32 MB of structure; a
    /// flood reaches a quarter within its first 30 000 connections.
    pub fn is_loaded(&self, was: bool) -> bool {
        let room = self.limits.max_flows.saturating_mul(BYTES_PER_FLOW_SLOT);
        let buffered = self.limits.max_total_buffered;
        let (structure, held) = if was {
            (room / 8, buffered / 4)
        } else {
            (room / 4, buffered / 2)
        };
        self.weights >= structure || self.total >= held
    }

    /// Bytes held across all flows as of their last [`FlowTable::account`].
    pub fn total_buffered(&self) -> usize {
        self.total
    }

    fn evict_idlest(&mut self, on_evict: &mut dyn FnMut(FlowKey, Box<Flow<V>>, EvictReason)) {
        let n = (self.limits.max_flows / EVICT_SHARE)
            .max(1)
            .min(self.map.len());
        if n == 0 {
            return;
        }
        // Flows with something at stake go last, whatever their idle time:
        // with tens of thousands of connections open, the idlest quarter
        // holds slow clients' requests still waiting for their answers.
        let mut by_idle: Vec<(bool, Timestamp, FlowKey)> = self
            .map
            .iter()
            .map(|f| (f.at_stake, f.last_seen, f.key))
            .collect();
        if n < by_idle.len() {
            by_idle.select_nth_unstable(n - 1);
            by_idle.truncate(n);
        }
        by_idle.sort_unstable();
        for (_, _, key) in by_idle {
            if let Some(flow) = self.remove(&key) {
                self.stats.flows_evicted += 1;
                on_evict(key, flow, EvictReason::TableFull);
            }
        }
    }

    /// Shed the flows holding the most until the total is back to three quarters
    /// of the budget; the margin keeps this linear scan from running every packet.
    fn shed_largest(&mut self) {
        let target = self.limits.max_total_buffered / 4 * 3;
        let mut heavy: Vec<(usize, FlowKey)> = self
            .map
            .iter()
            .filter(|f| f.charged > 0)
            .map(|f| (f.charged, f.key))
            .collect();
        heavy.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        // What waits on a loss first (bytes behind a hole, answers held for
        // bytes not shown): their connections have lost something already.
        // Heads half read go only if that is not enough: a connection that
        // lost nothing would lose its attempt.
        let mut counted = vec![false; heavy.len()];
        for heads_too in [false, true] {
            for ((_, key), counted) in heavy.iter().zip(counted.iter_mut()) {
                if self.total <= target {
                    return;
                }
                if let Some(flow) = self.map.get_mut(key) {
                    let (lo, hi) = (flow.dirs[Side::Lo].shed(), flow.dirs[Side::Hi].shed());
                    let held = flow.early.take().map_or(0, |e| e.bytes());
                    let heads = if heads_too { flow.state.shed() } else { 0 };
                    if lo + hi + held + heads == 0 {
                        continue;
                    }
                    let now = flow.holding();
                    self.total = self.total.saturating_sub(flow.charged) + now;
                    flow.charged = now;
                    if !*counted {
                        *counted = true;
                        self.stats.flows_shed += 1;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::Endpoint;
    use std::net::{IpAddr, Ipv4Addr};

    fn key(n: u16) -> FlowKey {
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        FlowKey::of(
            Endpoint { ip, port: 80 },
            Endpoint {
                ip,
                port: 10_000 + n,
            },
        )
        .0
    }

    fn at(secs: i64) -> Timestamp {
        Timestamp::new(secs, 0)
    }

    type Log = Vec<(FlowKey, EvictReason)>;

    fn table(limits: Limits) -> FlowTable<()> {
        FlowTable::new(limits)
    }

    /// Buffers `n` bytes out of order in direction 0 of the flow.
    fn hold(t: &mut FlowTable<()>, k: FlowKey, n: usize) {
        let limits = *t.limits();
        let mut stats = ReassemblyStats::default();
        let flow = t.get_or_insert(k, at(0), &mut |_, _, _| {});
        flow.dirs[Side::Lo].syn(0);
        flow.dirs[Side::Lo].push(100, &vec![1u8; n], false, &limits, &mut stats, &mut |_| {});
        t.account(&k);
    }

    /// Keys of one attacker's IPv6 /64 (the interface half of the address and
    /// the port are theirs to choose) that all hash alike under the unkeyed
    /// FxHash. Its state after each word is `(state + word) * K`; an endpoint
    /// is hashed as its discriminant, its address (the octets as a native u128:
    /// prefix word, then interface word) and its port, so choosing the
    /// interface word for each port lands every key on the same state.
    fn fx_colliding_keys(n: u16) -> Vec<FlowKey> {
        const K: u64 = 0xf135_7aea_2e62_a9c5;
        let mut inv = K;
        for _ in 0..6 {
            inv = inv.wrapping_mul(2u64.wrapping_sub(K.wrapping_mul(inv)));
        }
        let prefix = [0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00];
        let after_prefix = K.wrapping_add(u64::from_ne_bytes(prefix)).wrapping_mul(K);
        let server = Endpoint {
            ip: "2001:db8:ffff::1".parse().unwrap(),
            port: 443,
        };
        (0..n)
            .map(|port| {
                let after_iid = 0x1234_5678_9abc_def0u64.wrapping_sub(u64::from(port));
                let iid = after_iid.wrapping_mul(inv).wrapping_sub(after_prefix);
                let mut octets = [0u8; 16];
                octets[..8].copy_from_slice(&prefix);
                octets[8..].copy_from_slice(&iid.to_ne_bytes());
                let client = Endpoint {
                    ip: IpAddr::V6(octets.into()),
                    port,
                };
                FlowKey::of(client, server).0
            })
            .collect()
    }

    static EQ_CALLS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

    /// A flow key that hashes as itself and counts the comparisons a map makes.
    #[derive(Clone, Copy)]
    struct Counted(FlowKey);

    impl PartialEq for Counted {
        fn eq(&self, o: &Self) -> bool {
            EQ_CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.0 == o.0
        }
    }
    impl Eq for Counted {}
    impl std::hash::Hash for Counted {
        fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
            self.0.hash(h)
        }
    }

    /// Key comparisons made inserting every key and then finding each again.
    fn comparisons<S: std::hash::BuildHasher + Default>(keys: &[FlowKey]) -> u64 {
        let mut m: std::collections::HashMap<Counted, (), S> = Default::default();
        let before = EQ_CALLS.load(std::sync::atomic::Ordering::Relaxed);
        for k in keys {
            m.insert(Counted(*k), ());
        }
        for k in keys {
            assert!(m.contains_key(&Counted(*k)));
        }
        EQ_CALLS.load(std::sync::atomic::Ordering::Relaxed) - before
    }

    #[test]
    fn tuples_colliding_under_an_unkeyed_hash_stay_one_comparison_each() {
        use std::hash::BuildHasher;
        let keys = fx_colliding_keys(2000);
        let fx = rustc_hash::FxBuildHasher;
        let h0 = fx.hash_one(keys[0]);
        assert!(
            keys.iter().all(|k| fx.hash_one(k) == h0),
            "not a collision set"
        );
        let n = keys.len() as u64;
        // The unkeyed hash: each lookup walks every key inserted before it.
        let flooded = comparisons::<rustc_hash::FxBuildHasher>(&keys);
        assert!(flooded > n * n / 4, "{flooded} comparisons");
        // The table's hasher: about one comparison per insert and per lookup.
        let keyed = comparisons::<FlowHasher>(&keys);
        assert!(keyed <= 3 * n, "{keyed} comparisons for {n} keys");
        // And the table takes them all.
        let mut t = table(Limits::default());
        for k in &keys {
            t.get_or_insert(*k, at(0), &mut |_, _, _| {});
        }
        assert_eq!(t.len(), keys.len());
    }

    #[test]
    fn full_table_evicts_the_idlest_with_ties_broken_by_key() {
        let limits = Limits {
            max_flows: 32,
            ..Limits::default()
        };
        let mut t = table(limits);
        let mut log: Log = Vec::new();
        // Flows 0..32; 5 and 3 share the oldest time, 7 is next.
        for n in 0..32u16 {
            let secs = match n {
                5 | 3 => 1,
                7 => 2,
                _ => 10 + i64::from(n),
            };
            t.get_or_insert(key(n), at(secs), &mut |k, _, r| log.push((k, r)));
        }
        assert!(log.is_empty());
        // A packet refreshes flow 3: it is no longer idle.
        t.get_or_insert(key(3), at(50), &mut |k, _, r| log.push((k, r)));
        t.get_or_insert(key(100), at(60), &mut |k, _, r| log.push((k, r)));
        // 32 / EVICT_SHARE = 8 flows leave at once, idlest first.
        assert_eq!(EVICT_SHARE, 4);
        let idlest: Vec<_> = [5, 7, 0, 1, 2, 4, 6, 8]
            .into_iter()
            .map(|n| (key(n), EvictReason::TableFull))
            .collect();
        assert_eq!(log, idlest);
        assert_eq!(t.len(), 25);
        assert_eq!(t.stats().flows_evicted, 8);
        assert_eq!(t.stats().peak_flows, 32);
    }

    #[test]
    fn eviction_breaks_equal_idleness_by_key() {
        let limits = Limits {
            max_flows: 16,
            ..Limits::default()
        };
        let mut t = table(limits);
        for n in (0..16u16).rev() {
            t.get_or_insert(key(n), at(1), &mut |_, _, _| {});
        }
        let mut log: Log = Vec::new();
        t.get_or_insert(key(99), at(2), &mut |k, _, r| log.push((k, r)));
        let lowest: Vec<_> = (0..16 / EVICT_SHARE as u16)
            .map(|n| (key(n), EvictReason::TableFull))
            .collect();
        assert_eq!(log, lowest);
    }

    #[test]
    fn existing_flow_is_found_even_when_full() {
        let limits = Limits {
            max_flows: 2,
            ..Limits::default()
        };
        let mut t = table(limits);
        t.get_or_insert(key(1), at(1), &mut |_, _, _| {});
        t.get_or_insert(key(2), at(2), &mut |_, _, _| {});
        let mut evicted = 0;
        let f = t.get_or_insert(key(1), at(3), &mut |_, _, _| evicted += 1);
        assert_eq!(f.first_seen, at(1));
        assert_eq!(f.last_seen, at(3));
        assert_eq!(evicted, 0);
    }

    #[test]
    fn idle_flows_expire_in_packet_time() {
        let limits = Limits {
            idle_timeout_secs: 10,
            ..Limits::default()
        };
        let mut t = table(limits);
        let mut log: Log = Vec::new();
        t.get_or_insert(key(2), at(0), &mut |_, _, _| {});
        t.get_or_insert(key(1), at(0), &mut |_, _, _| {});
        t.get_or_insert(key(3), at(8), &mut |_, _, _| {});
        t.expire(at(8), &mut |k, _, r| log.push((k, r)));
        t.expire(at(10), &mut |k, _, r| log.push((k, r)));
        assert!(log.is_empty(), "not idle for more than 10 s yet");
        t.expire(at(11), &mut |k, _, r| log.push((k, r)));
        assert!(log.is_empty(), "scanned less than 2 s ago");
        t.expire(at(12), &mut |k, _, r| log.push((k, r)));
        assert_eq!(
            log,
            vec![(key(1), EvictReason::Idle), (key(2), EvictReason::Idle)]
        );
        assert_eq!(t.len(), 1);
        assert_eq!(t.stats().flows_expired, 2);
        t.get_or_insert(key(4), at(0), &mut |_, _, _| {});
        t.expire(at(13), &mut |k, _, r| log.push((k, r)));
        assert_eq!(log.len(), 2, "scanned less than 2 s ago");
        t.expire(at(14), &mut |k, _, r| log.push((k, r)));
        assert_eq!(log.len(), 3);
        assert_eq!(t.len(), 1, "flow 3 was seen 6 s ago");
    }

    #[test]
    fn drain_orders_by_first_seen_then_key() {
        let mut t = table(Limits::default());
        for (n, secs) in [(4u16, 2), (9, 1), (1, 2), (7, 3)] {
            t.get_or_insert(key(n), at(secs), &mut |_, _, _| {});
        }
        hold(&mut t, key(7), 10);
        let order: Vec<FlowKey> = t.drain().map(|(k, _)| k).collect();
        assert_eq!(order, vec![key(9), key(1), key(4), key(7)]);
        assert!(t.is_empty());
        assert_eq!(t.total_buffered(), 0);
    }

    #[test]
    fn total_buffered_follows_accounted_flows() {
        let mut t = table(Limits::default());
        hold(&mut t, key(1), 100);
        let one = t.total_buffered();
        assert!(one >= 100);
        hold(&mut t, key(2), 50);
        let two = t.total_buffered();
        assert!(two >= one + 50);
        // Buffering more in an already accounted flow is charged once.
        hold(&mut t, key(2), 50);
        assert_eq!(t.total_buffered(), two);
        let f = t.remove(&key(1));
        assert!(f.is_some());
        assert_eq!(t.total_buffered(), two - one);
        let mut evicted = Vec::new();
        let limits = Limits {
            idle_timeout_secs: 1,
            ..Limits::default()
        };
        t.limits = limits;
        t.expire(at(0), &mut |k, _, _| evicted.push(k));
        t.expire(at(100), &mut |k, _, _| evicted.push(k));
        assert_eq!(evicted, vec![key(2)]);
        assert_eq!(t.total_buffered(), 0);
        t.account(&key(2)); // gone: nothing to account
        assert_eq!(t.total_buffered(), 0);
    }

    /// A flow state that holds bytes of its own and gives them up when asked.
    #[derive(Default)]
    struct Heavy(usize);

    impl FlowState for Heavy {
        fn buffered_bytes(&self) -> usize {
            self.0
        }
        fn shed(&mut self) -> usize {
            std::mem::take(&mut self.0)
        }
    }

    /// A flow state that counts how often the table reads what it holds.
    #[derive(Default)]
    struct ReadCount {
        held: usize,
        reads: std::cell::Cell<usize>,
    }

    impl FlowState for ReadCount {
        fn buffered_bytes(&self) -> usize {
            self.reads.set(self.reads.get() + 1);
            self.held
        }
    }

    /// What a packet reports of its flow decides the accounting: a changed
    /// flow is accounted again, an unchanged one is not read at all (the
    /// point of saying so), an ended one leaves.
    #[test]
    fn a_flow_is_accounted_as_its_packet_left_it() {
        let mut t: FlowTable<ReadCount> = FlowTable::new(Limits::default());
        let k = t.hashed(key(1));
        let mut reads = 0;
        let mut packet = |t: &mut FlowTable<ReadCount>, held: usize, kept: Kept| {
            t.update(&k, at(0), &mut |_, _, _| {}, |f, _| {
                f.state.held = held;
                reads = f.state.reads.get();
                (kept, ())
            });
            t.get_mut(&k.key).map(|f| f.state.reads.get() - reads)
        };
        assert_eq!(packet(&mut t, 100, Kept::Changed), Some(1));
        assert_eq!(t.total_buffered(), 100);
        assert_eq!(packet(&mut t, 100, Kept::Unchanged), Some(0));
        assert_eq!(t.total_buffered(), 100);
        assert_eq!(packet(&mut t, 40, Kept::Changed), Some(1));
        assert_eq!(t.total_buffered(), 40);
        assert_eq!(packet(&mut t, 40, Kept::Ended), None);
        assert_eq!((t.len(), t.total_buffered()), (0, 0));
    }

    /// A flow state whose structure costs as much as ten empty flows.
    #[derive(Default)]
    struct Built;

    impl FlowState for Built {
        fn structure_bytes(&self) -> usize {
            10 * BYTES_PER_FLOW_SLOT
        }
    }

    #[test]
    fn heavier_connections_fill_the_table_sooner() {
        let limits = Limits {
            max_flows: 160,
            ..Limits::default()
        };
        let mut light = table(limits);
        let mut heavy: FlowTable<Built> = FlowTable::new(limits);
        let mut evicted = 0;
        for n in 0..160 {
            let k = light.hashed(key(n));
            light.update(&k, at(i64::from(n)), &mut |_, _, _| {}, |_, _| {
                (Kept::Changed, ())
            });
            let k = heavy.hashed(key(n));
            heavy.update(&k, at(i64::from(n)), &mut |_, _, _| evicted += 1, |_, _| {
                (Kept::Changed, ())
            });
        }
        assert_eq!(light.len(), 160);
        assert_eq!(light.stats().flows_evicted, 0);
        // Each costs ten slots and more: at most a tenth of the flows fit.
        assert!(heavy.len() <= 16, "{} flows kept", heavy.len());
        assert!(evicted > 0 && heavy.stats().flows_evicted == evicted);
        // The idlest went: the newest flow is kept.
        assert!(heavy.get_mut(&key(159)).is_some());
    }

    #[test]
    fn structure_bytes_follow_the_flows_held() {
        let mut t: FlowTable<Built> = FlowTable::new(Limits::default());
        assert_eq!(t.structure_bytes(), 0);
        for n in 0..3 {
            let k = t.hashed(key(n));
            t.update(&k, at(0), &mut |_, _, _| {}, |_, _| (Kept::Changed, ()));
        }
        let each = entry_bytes::<Built>() + 10 * BYTES_PER_FLOW_SLOT;
        assert_eq!(t.structure_bytes(), 3 * each);
        let k = t.hashed(key(1));
        t.update(&k, at(1), &mut |_, _, _| {}, |_, _| (Kept::Ended, ()));
        assert_eq!(t.structure_bytes(), 2 * each);
    }

    #[test]
    fn a_table_is_loaded_from_a_quarter_of_its_room_until_under_an_eighth() {
        // Room for 160 empty flows; each Built flow takes about eleven slots.
        let limits = Limits {
            max_flows: 160,
            ..Limits::default()
        };
        let room = 160 * BYTES_PER_FLOW_SLOT;
        let each = entry_bytes::<Built>() + 10 * BYTES_PER_FLOW_SLOT;
        let mut t: FlowTable<Built> = FlowTable::new(limits);
        let mut loaded = false;
        let mut trail = Vec::new();
        let mut step = |t: &mut FlowTable<Built>, n: u16, kept: Kept| {
            let k = t.hashed(key(n));
            t.update(&k, at(0), &mut |_, _, _| {}, |_, _| (kept, ()));
            loaded = t.is_loaded(loaded);
            (t.structure_bytes(), loaded)
        };
        for n in 0..6 {
            trail.push(step(&mut t, n, Kept::Changed));
        }
        for n in 0..6 {
            trail.push(step(&mut t, n, Kept::Ended));
        }
        for &(bytes, loaded) in &trail {
            if bytes >= room / 4 {
                assert!(loaded, "{bytes} of {room}: {trail:?}");
            }
            if bytes < room / 8 {
                assert!(!loaded, "{bytes} of {room}: {trail:?}");
            }
        }
        // Filling, it turned loaded only at a quarter; emptying, it stayed
        // loaded under a quarter until under an eighth.
        let first = trail
            .iter()
            .position(|&(_, l)| l)
            .expect("loaded at some point");
        assert!(trail[first].0 >= room / 4 && trail[first - 1].0 < room / 4);
        assert!(
            trail[6..].iter().any(|&(b, l)| l && b < room / 4),
            "no hysteresis: {trail:?}"
        );
        assert_eq!(trail.last(), Some(&(0, false)));
        assert!(each * 6 >= room / 4);
    }

    #[test]
    fn a_table_holding_half_its_buffered_budget_is_loaded() {
        let limits = Limits {
            max_total_buffered: 1000,
            ..Limits::default()
        };
        let mut t: FlowTable<ReadCount> = FlowTable::new(limits);
        let k = t.hashed(key(1));
        let hold = |t: &mut FlowTable<ReadCount>, held: usize| {
            t.update(&k, at(0), &mut |_, _, _| {}, |f, _| {
                f.state.held = held;
                (Kept::Changed, ())
            });
            assert_eq!(t.total_buffered(), held);
        };
        assert!(!t.is_loaded(false));
        hold(&mut t, 499);
        assert!(!t.is_loaded(false));
        hold(&mut t, 500);
        assert!(t.is_loaded(false));
        hold(&mut t, 250);
        assert!(t.is_loaded(true), "still loaded at a quarter");
        assert!(!t.is_loaded(false));
        hold(&mut t, 249);
        assert!(!t.is_loaded(true));
    }

    /// A flow state that says whether a request of it waits for its answer.
    #[derive(Default)]
    struct Waiting(bool);

    impl FlowState for Waiting {
        fn at_stake(&self) -> bool {
            self.0
        }
    }

    #[test]
    fn flows_with_something_at_stake_are_evicted_last() {
        let limits = Limits {
            max_flows: 8,
            ..Limits::default()
        };
        let mut t: FlowTable<Waiting> = FlowTable::new(limits);
        let mut evicted = Vec::new();
        // A packet of flow `n` at second `n`, leaving it waiting or not.
        let mut touch = |t: &mut FlowTable<Waiting>, n: u16, waiting: bool| {
            let k = t.hashed(key(n));
            t.update(
                &k,
                at(i64::from(n)),
                &mut |k, _, _| evicted.push(k),
                |f, _| {
                    f.state.0 = waiting;
                    (Kept::Changed, ())
                },
            );
        };
        // The two idlest wait for answers; the six after them do not. Full,
        // the next flow evicts a quarter, two flows, the idlest of those with
        // nothing at stake.
        for n in 0..9 {
            touch(&mut t, n, n < 2);
        }
        // Flow 0 no longer waits (its packet time stays the oldest), and the
        // table is full again two flows later.
        let k = t.hashed(key(0));
        t.update(&k, at(0), &mut |_, _, _| {}, |f, _| {
            f.state.0 = false;
            (Kept::Changed, ())
        });
        touch(&mut t, 9, false);
        touch(&mut t, 10, false);
        assert_eq!(evicted, vec![key(2), key(3), key(0), key(4)]);
        assert!(t.get_mut(&key(1)).is_some());
    }

    #[test]
    fn a_flow_holding_bytes_ahead_of_a_hole_is_evicted_last() {
        let mut t = table(Limits {
            max_flows: 4,
            ..Limits::default()
        });
        hold(&mut t, key(0), 100);
        let mut evicted = Vec::new();
        for n in 1..6 {
            let k = t.hashed(key(n));
            t.update(
                &k,
                at(i64::from(n)),
                &mut |k, _, _| evicted.push(k),
                |_, _| (Kept::Changed, ()),
            );
        }
        assert_eq!(evicted, vec![key(1), key(2)]);
        assert!(t.get_mut(&key(0)).is_some());
    }

    #[test]
    fn above_budget_the_flows_holding_most_are_shed() {
        let limits = Limits {
            max_total_buffered: 10_000,
            ..Limits::default()
        };
        let mut t: FlowTable<Heavy> = FlowTable::new(limits);
        for (n, bytes) in [(1u16, 3_000), (2, 5_000), (3, 1_000)] {
            t.get_or_insert(key(n), at(0), &mut |_, _, _| {}).state.0 = bytes;
            t.account(&key(n));
        }
        assert_eq!(t.total_buffered(), 9_000);
        assert_eq!(t.stats().flows_shed, 0);
        t.get_or_insert(key(4), at(0), &mut |_, _, _| {}).state.0 = 2_000;
        t.account(&key(4));
        // 11 000 > 10 000: shed the largest until at most 7 500 remain.
        assert_eq!(t.stats().flows_shed, 1);
        assert_eq!(t.total_buffered(), 6_000);
        let held =
            |t: &mut FlowTable<Heavy>, n| t.get_or_insert(key(n), at(0), &mut |_, _, _| {}).state.0;
        assert_eq!(held(&mut t, 2), 0);
        assert_eq!(held(&mut t, 1), 3_000);
    }

    #[test]
    fn bytes_behind_a_hole_are_shed_before_a_head_half_read() {
        let limits = Limits {
            max_total_buffered: 10_000,
            ..Limits::default()
        };
        let mut t: FlowTable<Heavy> = FlowTable::new(limits);
        let mut stats = ReassemblyStats::default();
        // Flow 1 holds a head half read (its state's bytes), the largest;
        // flow 2 holds bytes behind a hole.
        t.get_or_insert(key(1), at(0), &mut |_, _, _| {}).state.0 = 6_000;
        t.account(&key(1));
        let flow = t.get_or_insert(key(2), at(0), &mut |_, _, _| {});
        flow.dirs[Side::Lo].syn(0);
        let behind = vec![1u8; 4_500];
        flow.dirs[Side::Lo].push(100, &behind, false, &limits, &mut stats, &mut |_| {});
        t.account(&key(2));
        assert_eq!(t.stats().flows_shed, 1);
        assert!(t.total_buffered() <= 7_500, "{}", t.total_buffered());
        let f = t.remove(&key(2));
        assert_eq!(f.map(|f| f.dirs[Side::Lo].buffered()), Some(0));
        assert_eq!(t.remove(&key(1)).map(|f| f.state.0), Some(6_000));
    }

    #[test]
    fn shedding_frees_stream_buffers_too() {
        let limits = Limits {
            max_total_buffered: 1_000,
            ..Limits::default()
        };
        let mut t = table(limits);
        hold(&mut t, key(1), 500);
        hold(&mut t, key(2), 250);
        assert_eq!(t.stats().flows_shed, 0);
        hold(&mut t, key(3), 200);
        assert_eq!(t.stats().flows_shed, 1);
        let f = t.remove(&key(1));
        assert_eq!(f.map(|f| f.dirs[Side::Lo].buffered()), Some(0));
        assert!(t.total_buffered() <= 750);
    }
}
