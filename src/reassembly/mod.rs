//! TCP reassembly: per-direction byte streams rebuilt from segments, and the flow
//! table that owns them under hard memory limits.
//!
//! A [`Stream`] turns segments (any order, retransmitted, overlapping, wrapping past
//! 2^32) into in-order [`Chunk`]s. The in-order fast path hands the segment's own
//! payload through without copying; only segments that arrive ahead of a hole are
//! copied, and only up to [`Limits::max_buffer_per_direction`]. The [`FlowTable`]
//! keeps at most [`Limits::max_flows`] connections, evicts the idlest when full,
//! expires idle ones in packet time and sheds buffered bytes above
//! [`Limits::max_total_buffered`], so memory is bounded whatever the traffic.

pub mod early;
mod flow_map;
pub mod ip_fragments;
pub mod stream;
pub mod table;

pub use stream::Stream;
pub use table::{EvictReason, Flow, FlowState, FlowTable, Hashed, Kept};

/// In-order output of a [`Stream`].
#[derive(Debug, PartialEq, Eq)]
pub enum Chunk<'a> {
    /// The next bytes of the stream.
    Data(&'a [u8]),
    /// `n` bytes of the stream will not be delivered (lost on the wire or by the
    /// capture, or given up: the hole did not fill before the buffer cap, the
    /// stream was flushed, or its buffer was shed); the consumer must resynchronise.
    Gap(u64),
    /// The sender's FIN: no more bytes follow.
    Fin,
}

/// Memory and time bounds of reassembly. All three are user-configurable
/// (`--max-flows`, `--max-buffer`, `--idle-timeout`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes buffered ahead of a hole in one direction before the hole is given up
    /// as a gap. 256 KiB covers a full receive window of a handshake-sized exchange.
    pub max_buffer_per_direction: usize,
    /// Connections tracked at once; when full the idlest are evicted.
    pub max_flows: usize,
    /// Seconds of packet time without a packet after which a flow is expired.
    pub idle_timeout_secs: u64,
    /// Bytes buffered across all flows (out-of-order data plus what the flow state
    /// reports through [`FlowState::buffered_bytes`]); above it the flows holding
    /// the most are shed.
    pub max_total_buffered: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_buffer_per_direction: 256 * 1024,
            max_flows: 100_000,
            idle_timeout_secs: 120,
            // A full table of 100 000 flows takes about 25 MiB; with this
            // budget the process stays under 64 MiB under the floods of
            // tests/hostile.rs. Tens of thousands of connections with their
            // HTTP state built take it to 80-100 MB (BENCHMARKS.md), bounded
            // whatever the capture's size.
            // Handshakes need a few KiB of reordering at most, and shedding
            // takes from the flows holding the most (bulk transfers behind a
            // hole), which are rarely handshakes.
            max_total_buffered: 8 * 1024 * 1024,
        }
    }
}

/// Counters a user needs to judge how far the analysis can be trusted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReassemblyStats {
    /// Segments that arrived ahead of a hole and were buffered.
    pub out_of_order_segments: u64,
    /// Segments entirely below the delivered point (pure retransmissions).
    pub retransmitted_segments: u64,
    /// Segments more than 1 GiB of sequence space away from the next expected byte:
    /// ignored (a reused port pair, a corrupt header), never buffered.
    pub out_of_window_segments: u64,
    /// Late copies of segments (with data or a FIN) of connections that had
    /// already ended (FIN both ways or reset) and left the table: dropped,
    /// never taken for a new connection.
    pub late_segments: u64,
    /// Connections opened (a SYN with a new initial sequence number) on the
    /// ports of one still in the table, whose end was not seen: the old one
    /// was ended there.
    pub port_reuses: u64,
    /// Overlapping bytes whose content differed from what was kept (first copy
    /// wins, as most end hosts do; the differing copy is counted and dropped).
    pub overlap_conflicts: u64,
    /// Holes skipped, and the bytes they covered.
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Acknowledgements of bytes the capture never held: the holes below
    /// them were given up at once (see [`Stream::acknowledged`]).
    pub acked_unseen: u64,
    /// Times a direction hit its buffer cap and its hole was given up.
    pub buffer_caps_hit: u64,
    /// Flows evicted because the table was full, expired idle, and shed for memory.
    pub flows_evicted: u64,
    pub flows_expired: u64,
    pub flows_shed: u64,
    /// Most flows tracked at once. Merging sums the workers' peaks: an upper
    /// bound of the true peak, as the workers' peaks need not coincide.
    pub peak_flows: u64,
}

impl ReassemblyStats {
    /// Adds another worker's counters, for the end-of-run summary.
    pub fn merge(&mut self, o: &ReassemblyStats) {
        self.out_of_order_segments += o.out_of_order_segments;
        self.retransmitted_segments += o.retransmitted_segments;
        self.out_of_window_segments += o.out_of_window_segments;
        self.late_segments += o.late_segments;
        self.port_reuses += o.port_reuses;
        self.acked_unseen += o.acked_unseen;
        self.overlap_conflicts += o.overlap_conflicts;
        self.gaps += o.gaps;
        self.gap_bytes += o.gap_bytes;
        self.buffer_caps_hit += o.buffer_caps_hit;
        self.flows_evicted += o.flows_evicted;
        self.flows_expired += o.flows_expired;
        self.flows_shed += o.flows_shed;
        self.peak_flows += o.peak_flows;
    }
}
