//! Counters shared with the progress bar and the metrics endpoint while a run
//! goes on: the running stages store into them, readers load them.

use std::sync::atomic::AtomicU64;

/// Live counters of a run, updated once per tick, not per packet.
#[derive(Debug, Default)]
pub struct Gauges {
    pub packets: AtomicU64,
    pub bytes: AtomicU64,
    /// Input bytes consumed, and the total when known (files).
    pub position: AtomicU64,
    pub total: AtomicU64,
    pub kernel_received: AtomicU64,
    pub kernel_dropped: AtomicU64,
    pub flows_tracked: AtomicU64,
    pub flows_evicted: AtomicU64,
    pub attempts: AtomicU64,
}
