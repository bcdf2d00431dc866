//! The flow table: every tracked connection, under a cap on their number and on the
//! bytes they buffer, so memory stays bounded whatever the capture holds.
//!
//! All decisions are made in packet time and every choice between flows breaks ties
//! by key, so the same capture gives the same evictions, and hence the same output,
//! on every run.

use rustc_hash::FxHashMap;

use super::{Limits, ReassemblyStats, Stream};
use crate::capture::Timestamp;
use crate::decode::FlowKey;

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
}

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
    /// 0: lo→hi, 1: hi→lo, per [`FlowKey`].
    pub dirs: [Stream; 2],
    pub state: V,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// What this flow counted in the table's total at its last `account`.
    charged: usize,
}

impl<V: FlowState> Flow<V> {
    fn new(now: Timestamp) -> Self {
        Flow {
            dirs: Default::default(),
            state: V::default(),
            first_seen: now,
            last_seen: now,
            charged: 0,
        }
    }

    fn holding(&self) -> usize {
        self.dirs[0].buffered() + self.dirs[1].buffered() + self.state.buffered_bytes()
    }
}

/// Connections by key, with their limits and counters.
#[derive(Debug)]
pub struct FlowTable<V: FlowState> {
    map: FxHashMap<FlowKey, Flow<V>>,
    limits: Limits,
    stats: ReassemblyStats,
    total: usize,
    /// Packet time of the last idle scan; `None` before the first packet.
    last_scan: Option<Timestamp>,
}

impl<V: FlowState> FlowTable<V> {
    pub fn new(limits: Limits) -> Self {
        FlowTable {
            map: FxHashMap::default(),
            limits,
            stats: ReassemblyStats::default(),
            total: 0,
            last_scan: None,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Look the flow up (once per packet), creating it if new; if the table is
    /// full, first evict the idlest flows and pass each to `on_evict`.
    ///
    /// Eviction takes the idlest sixteenth at once, so its linear scan is paid once
    /// per many insertions (amortised O(1) per packet).
    pub fn get_or_insert(
        &mut self,
        key: FlowKey,
        now: Timestamp,
        on_evict: &mut dyn FnMut(FlowKey, Flow<V>, EvictReason),
    ) -> &mut Flow<V> {
        if self.map.len() >= self.limits.max_flows.max(1) && !self.map.contains_key(&key) {
            self.evict_idlest(on_evict);
        }
        let before = self.map.len();
        let mut inserted = false;
        let flow = self.map.entry(key).or_insert_with(|| {
            inserted = true;
            Flow::new(now)
        });
        if now > flow.last_seen {
            flow.last_seen = now;
        }
        let len = (before + usize::from(inserted)) as u64;
        if len > self.stats.peak_flows {
            self.stats.peak_flows = len;
        }
        flow
    }

    /// Must be called after the caller has finished updating a flow for this
    /// packet, so the table can keep the total of buffered bytes (streams +
    /// `V::buffered_bytes`) and shed the flows holding the most when above
    /// `limits.max_total_buffered`.
    pub fn account(&mut self, key: &FlowKey) {
        let Some(flow) = self.map.get_mut(key) else {
            return;
        };
        let now = flow.holding();
        self.total = self.total.saturating_sub(flow.charged) + now;
        flow.charged = now;
        if self.total > self.limits.max_total_buffered {
            self.shed_largest();
        }
    }

    pub fn remove(&mut self, key: &FlowKey) -> Option<Flow<V>> {
        let flow = self.map.remove(key)?;
        self.total = self.total.saturating_sub(flow.charged);
        Some(flow)
    }

    /// Expire flows idle for more than `limits.idle_timeout_secs` of packet time.
    /// Cheap to call every packet: it only scans when enough packet time has passed
    /// since the last scan (a quarter of the timeout, between 1 and 5 seconds), so
    /// a flow outlives its timeout by at most that much.
    pub fn expire(
        &mut self,
        now: Timestamp,
        on_evict: &mut dyn FnMut(FlowKey, Flow<V>, EvictReason),
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
        let mut idle: Vec<(Timestamp, FlowKey)> = self
            .map
            .iter()
            .filter(|(_, f)| f.last_seen.as_nanos() < cutoff)
            .map(|(k, f)| (f.last_seen, *k))
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
    pub fn drain(&mut self) -> Vec<(FlowKey, Flow<V>)> {
        let mut all: Vec<(FlowKey, Flow<V>)> = self.map.drain().collect();
        all.sort_unstable_by_key(|a| (a.1.first_seen, a.0));
        self.total = 0;
        all
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

    /// Bytes held across all flows as of their last [`FlowTable::account`].
    pub fn total_buffered(&self) -> usize {
        self.total
    }

    fn evict_idlest(&mut self, on_evict: &mut dyn FnMut(FlowKey, Flow<V>, EvictReason)) {
        let n = (self.limits.max_flows / 16).max(1).min(self.map.len());
        if n == 0 {
            return;
        }
        let mut by_idle: Vec<(Timestamp, FlowKey)> =
            self.map.iter().map(|(k, f)| (f.last_seen, *k)).collect();
        if n < by_idle.len() {
            by_idle.select_nth_unstable(n - 1);
            by_idle.truncate(n);
        }
        by_idle.sort_unstable();
        for (_, key) in by_idle {
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
            .filter(|(_, f)| f.charged > 0)
            .map(|(k, f)| (f.charged, *k))
            .collect();
        heavy.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, key) in heavy {
            if self.total <= target {
                break;
            }
            if let Some(flow) = self.map.get_mut(&key) {
                flow.dirs[0].shed();
                flow.dirs[1].shed();
                flow.state.shed();
                let now = flow.holding();
                self.total = self.total.saturating_sub(flow.charged) + now;
                flow.charged = now;
                self.stats.flows_shed += 1;
            }
        }
    }
}
