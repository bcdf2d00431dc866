//! The threads: a capture thread reads and decodes packets and hands them, in
//! batches, to N flow workers sharded by a symmetric flow hash; each worker owns a
//! flow table (reassembly + HTTP) and reports completed attempts; the calling
//! thread merges the reports, correlates and classifies, and writes output.
//!
//! Output is the same bytes whatever the worker count: the capture thread cuts
//! the packet sequence into ticks at fixed packet counts and every worker reports
//! every tick, so the reporter merges exactly the attempts completed in a tick and
//! orders them by the global number of the packet that completed them.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::capture::{CaptureError, PacketSource, RawPacket, SharedBytes, Timestamp};
use crate::classify::correlate::{Correlator, Judged};
use crate::decode::{self, Decoded, Endpoint, FlowKey, Side, TcpFlags};
use crate::http::conversation::Sink;
use crate::http::{Attempt, Conversation, Ending, HttpLimits, HttpStats, SidIssued, TlsSighting};
use crate::reassembly::table::EvictReason;
use crate::reassembly::{Flow, FlowTable, Limits, ReassemblyStats};
use crate::report::CaptureStats;

/// What the capture side yields: a packet, a quiet moment (live capture
/// timeout: time to release what waits), or the end.
pub enum Next<'a> {
    Packet(RawPacket<'a>),
    Idle,
    End,
}

/// A packet source as the pipeline sees it: files and live handles alike.
pub trait Feed: Send {
    fn next(&mut self) -> Result<Next<'_>, CaptureError>;
    /// Kernel counters (received, dropped, dropped by interface) for live capture.
    fn kernel_stats(&mut self) -> Option<(u64, u64, u64)> {
        None
    }
    /// Whether quiet moments should release waiting attempts by wall time.
    fn is_live(&self) -> bool {
        false
    }
    /// Input bytes consumed so far and the total, when known (for progress).
    fn progress(&self) -> (u64, Option<u64>) {
        (0, None)
    }
}

/// Several capture files read one after the other as one stream, so consecutive
/// slices of a rotated capture keep their connections.
pub struct FileFeed {
    sources: std::collections::VecDeque<Box<dyn PacketSource + Send>>,
    /// The front source ended (or failed) on the last call: drop it first.
    advance: bool,
    /// Bytes of the sources already finished, and the total of all.
    done_bytes: u64,
    total: Option<u64>,
}

impl FileFeed {
    pub fn new(sources: Vec<Box<dyn PacketSource + Send>>) -> Self {
        Self::with_total(sources, None)
    }

    /// With the total input size known, progress can show a fraction.
    pub fn with_total(sources: Vec<Box<dyn PacketSource + Send>>, total: Option<u64>) -> Self {
        FileFeed {
            sources: sources.into(),
            advance: false,
            done_bytes: 0,
            total,
        }
    }
}

impl Feed for FileFeed {
    fn next(&mut self) -> Result<Next<'_>, CaptureError> {
        if self.advance {
            if let Some(s) = self.sources.pop_front() {
                self.done_bytes += s.position();
            }
            self.advance = false;
        }
        let Some(src) = self.sources.front_mut() else {
            return Ok(Next::End);
        };
        match src.next_packet() {
            Ok(Some(p)) => Ok(Next::Packet(p)),
            // The next file continues the stream on the next call.
            Ok(None) => {
                self.advance = true;
                Ok(Next::Idle)
            }
            Err(e) => {
                self.advance = true;
                Err(e)
            }
        }
    }

    fn progress(&self) -> (u64, Option<u64>) {
        let cur = self.sources.front().map_or(0, |s| s.position());
        (self.done_bytes + cur, self.total)
    }
}

/// Counters shared with the progress bar and the metrics endpoint while a run
/// goes on; updated once per tick, not per packet.
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

/// Tuning of a run.
#[derive(Debug, Clone)]
pub struct Config {
    pub limits: Limits,
    pub http: HttpLimits,
    pub workers: usize,
    /// Packets per tick: the granularity of deterministic merging and of idle
    /// expiry.
    pub tick_packets: u64,
    /// An optional BPF filter applied to every packet (tcpdump syntax).
    pub filter: Option<String>,
    /// Live counters for progress and metrics.
    pub gauges: Arc<Gauges>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            http: HttpLimits::default(),
            workers: default_workers(),
            tick_packets: 8192,
            filter: None,
            gauges: Arc::new(Gauges::default()),
        }
    }
}

/// One worker per core besides the capture thread's.
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get().saturating_sub(1))
        .unwrap_or(1)
        .max(1)
}

/// A decoded TCP segment whose payload lies in one of the batch's shared input
/// blocks, or in its own byte arena.
#[derive(Debug, Clone, Copy)]
struct Pkt {
    no: u64,
    ts: Timestamp,
    src: Endpoint,
    dst: Endpoint,
    seq: u32,
    flags: TcpFlags,
    /// Index into `Batch::blocks`, or `IN_ARENA`.
    block: u32,
    off: u32,
    len: u32,
}

/// `Pkt::block` of a payload copied into the batch's arena.
const IN_ARENA: u32 = u32::MAX;

struct Batch {
    tick: u64,
    time: Timestamp,
    pkts: Vec<Pkt>,
    /// Input blocks the payloads point into: the capture file's bytes travel to
    /// the workers without a copy.
    blocks: Vec<SharedBytes>,
    /// Payloads of sources that cannot share their buffer (live capture).
    data: Vec<u8>,
    /// The last part of its tick: the worker reports after it. A tick is sent
    /// in parts so that the input a batch keeps alive (its blocks) stays small.
    ends_tick: bool,
    last: bool,
}

impl Batch {
    fn payload(&self, p: &Pkt) -> &[u8] {
        let range = p.off as usize..(p.off as usize + p.len as usize);
        let bytes = match p.block {
            IN_ARENA => self.data.as_slice(),
            i => self.blocks.get(i as usize).map_or(&[][..], |b| &b[..]),
        };
        bytes.get(range).unwrap_or(&[])
    }

    /// Where `payload` (a slice of a packet from `backing`) will be found by the
    /// worker: by reference into the shared block, or copied into the arena.
    fn place(&mut self, payload: &[u8], backing: Option<&SharedBytes>) -> (u32, u32) {
        if let Some(block) = backing {
            let base = block.as_ptr() as usize;
            let at = payload.as_ptr() as usize;
            if at >= base && at + payload.len() <= base + block.len() {
                if !self.blocks.last().is_some_and(|b| Arc::ptr_eq(b, block)) {
                    self.blocks.push(block.clone());
                }
                return ((self.blocks.len() - 1) as u32, (at - base) as u32);
            }
        }
        let off = self.data.len() as u32;
        self.data.extend_from_slice(payload);
        (IN_ARENA, off)
    }
}

struct Report {
    tick: u64,
    time: Timestamp,
    attempts: Vec<Attempt>,
    tls: Vec<TlsSighting>,
    sids: Vec<SidIssued>,
    done: Option<Box<WorkerTotals>>,
}

#[derive(Default)]
struct WorkerTotals {
    reassembly: ReassemblyStats,
    http: HttpStats,
    flows: u64,
}

/// What a run found besides the attempts.
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub capture: CaptureStats,
    pub reassembly: ReassemblyStats,
    pub http: HttpStats,
    pub flows: u64,
    /// The first input error (damaged file, failed capture).
    pub error: Option<String>,
    /// Whether the error was a capture failure (exit 2) rather than bad input.
    pub capture_failed: bool,
    pub interrupted: bool,
}

/// Compiled BPF filters per link type (a pcapng file may mix link types).
struct Filter {
    expr: String,
    progs: Vec<(u32, Option<pcap::BpfProgram>)>,
}

impl Filter {
    fn matches(&mut self, linktype: u32, data: &[u8]) -> bool {
        if let Some((_, p)) = self.progs.iter().find(|(l, _)| *l == linktype) {
            return p.as_ref().is_none_or(|p| p.filter(data));
        }
        let prog = pcap::Capture::dead(pcap::Linktype(linktype as i32))
            .ok()
            .and_then(|c| c.compile(&self.expr, true).ok());
        let ok = prog.as_ref().is_none_or(|p| p.filter(data));
        self.progs.push((linktype, prog));
        ok
    }
}

/// Check a filter expression compiles (for a clear usage error up front).
pub fn check_filter(expr: &str) -> Result<(), String> {
    let c = pcap::Capture::dead(pcap::Linktype(1)).map_err(|e| e.to_string())?;
    c.compile(expr, true)
        .map(|_| ())
        .map_err(|e| format!("bad filter '{expr}': {e}"))
}

/// Run the whole analysis over `feed`, calling `emit` for each judged attempt in
/// deterministic order. `stop` ends the capture early (Ctrl-C, output closed);
/// what was seen is still reported.
pub fn run(
    feed: Box<dyn Feed>,
    cfg: &Config,
    stop: Arc<AtomicBool>,
    emit: &mut dyn FnMut(&Judged) -> std::io::Result<()>,
) -> RunStats {
    let n = cfg.workers.max(1);
    let (report_tx, report_rx) = bounded::<Report>(n * 4);
    let mut batch_txs = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    // Emptied batches go back to the capture thread, so their buffers are
    // reused instead of allocated (and page-faulted in) again every tick.
    let (free_tx, free_rx) = bounded::<Batch>(n * 8);
    for _ in 0..n {
        // A few parts of a tick waiting per worker absorb the jitter between
        // the threads; more only hold memory (the input blocks a batch keeps
        // alive), which once kept peak RSS above 64 MiB on a 4 GiB capture.
        let (tx, rx) = bounded::<Batch>(QUEUED_PARTS);
        batch_txs.push(tx);
        let rtx = report_tx.clone();
        let ftx = free_tx.clone();
        let limits = cfg.limits;
        let http = cfg.http.clone();
        let shard_limits = Limits {
            max_flows: (limits.max_flows / n).max(1),
            max_total_buffered: (limits.max_total_buffered / n).max(1),
            ..limits
        };
        let gauges = cfg.gauges.clone();
        handles.push(std::thread::spawn(move || {
            worker(rx, rtx, ftx, shard_limits, http, gauges);
        }));
    }
    drop(report_tx);
    drop(free_tx);

    let capture_stop = stop.clone();
    let tick_packets = cfg.tick_packets.max(1);
    let filter = cfg.filter.clone();
    let gauges = cfg.gauges.clone();
    let capture = std::thread::spawn(move || {
        capture_loop(
            feed,
            batch_txs,
            free_rx,
            tick_packets,
            filter,
            capture_stop,
            gauges,
        )
    });

    let mut correlator = Correlator::new();
    type TickParts = (
        usize,
        Timestamp,
        Vec<Attempt>,
        Vec<TlsSighting>,
        Vec<SidIssued>,
    );
    let mut pending: std::collections::BTreeMap<u64, TickParts> = Default::default();
    let mut totals = WorkerTotals::default();
    let mut output_failed = false;
    let mut out = |js: Vec<Judged>, output_failed: &mut bool| {
        if *output_failed {
            return;
        }
        for j in &js {
            if emit(j).is_err() {
                *output_failed = true;
                stop.store(true, Ordering::Relaxed);
                return;
            }
        }
    };
    for r in report_rx.iter() {
        if let Some(d) = r.done {
            totals.reassembly.merge(&d.reassembly);
            totals.http.merge(&d.http);
            totals.flows += d.flows;
        }
        let e = pending
            .entry(r.tick)
            .or_insert((0, r.time, Vec::new(), Vec::new(), Vec::new()));
        e.0 += 1;
        e.2.extend(r.attempts);
        e.3.extend(r.tls);
        e.4.extend(r.sids);
        // Ticks complete in order, since each worker reports them in order.
        while let Some(entry) = pending.first_entry() {
            if entry.get().0 < n {
                break;
            }
            let (_, time, mut attempts, mut tls, mut sids) = entry.remove();
            tls.sort_by_key(|t| (t.ts, t.client, t.server));
            for t in tls {
                correlator.note_tls(t);
            }
            sids.sort();
            for s in sids {
                correlator.note_sid(s);
            }
            attempts.sort_by(|a, b| {
                (a.completed_at, a.ts, a.client, a.server, a.request_index).cmp(&(
                    b.completed_at,
                    b.ts,
                    b.client,
                    b.server,
                    b.request_index,
                ))
            });
            for a in attempts {
                let js = correlator.push(a);
                out(js, &mut output_failed);
            }
            let js = correlator.release(Some(time));
            out(js, &mut output_failed);
        }
    }
    let js = correlator.release(None);
    out(js, &mut output_failed);
    for h in handles {
        let _ = h.join();
    }
    let mut stats = match capture.join() {
        Ok(s) => s,
        Err(_) => RunStats {
            error: Some("capture thread failed".to_string()),
            ..Default::default()
        },
    };
    stats.reassembly = totals.reassembly;
    stats.http = totals.http;
    stats.flows = totals.flows;
    stats.interrupted = stop.load(Ordering::Relaxed) && !output_failed;
    stats
}

fn capture_loop(
    mut feed: Box<dyn Feed>,
    txs: Vec<Sender<Batch>>,
    free: Receiver<Batch>,
    tick_packets: u64,
    filter: Option<String>,
    stop: Arc<AtomicBool>,
    gauges: Arc<Gauges>,
) -> RunStats {
    let n = txs.len();
    let mut last_kernel_check = Instant::now();
    let publish = |feed: &mut Box<dyn Feed>, stats: &RunStats, last_kernel_check: &mut Instant| {
        let g = &gauges;
        g.packets.store(stats.capture.packets, Ordering::Relaxed);
        g.bytes.store(stats.capture.bytes, Ordering::Relaxed);
        let (pos, total) = feed.progress();
        g.position.store(pos, Ordering::Relaxed);
        if let Some(t) = total {
            g.total.store(t, Ordering::Relaxed);
        }
        if feed.is_live() && last_kernel_check.elapsed() >= Duration::from_secs(1) {
            *last_kernel_check = Instant::now();
            if let Some((recv, drop, _)) = feed.kernel_stats() {
                g.kernel_received.store(recv, Ordering::Relaxed);
                g.kernel_dropped.store(drop, Ordering::Relaxed);
            }
        }
    };
    let mut stats = RunStats::default();
    let mut filter = filter.map(|expr| Filter {
        expr,
        progs: Vec::new(),
    });
    let new_batch = |tick: u64| match free.try_recv() {
        Ok(mut b) => {
            b.tick = tick;
            b.time = Timestamp::default();
            b.pkts.clear();
            b.blocks.clear();
            b.data.clear();
            b.ends_tick = false;
            b.last = false;
            b
        }
        Err(_) => Batch {
            tick,
            time: Timestamp::default(),
            pkts: Vec::with_capacity(1024),
            blocks: Vec::new(),
            data: Vec::new(),
            ends_tick: false,
            last: false,
        },
    };
    let mut batches: Vec<Batch> = (0..n).map(|_| new_batch(0)).collect();
    let mut tick = 0u64;
    let mut in_tick = 0u64;
    let mut last_ts = Timestamp::default();
    let mut last_ts_wall = Instant::now();
    let mut last_tick_wall = Instant::now();
    let live = feed.is_live();
    let send_tick =
        |batches: &mut Vec<Batch>, tick: &mut u64, time: Timestamp, last: bool| -> bool {
            let mut ok = true;
            for (i, b) in batches.iter_mut().enumerate() {
                let mut full = std::mem::replace(b, new_batch(*tick + 1));
                full.time = time;
                full.ends_tick = true;
                full.last = last;
                if txs[i].send(full).is_err() {
                    ok = false;
                }
            }
            *tick += 1;
            ok
        };
    // A part of a tick: only workers with packets get one, and none reports.
    let send_part = |batches: &mut Vec<Batch>, tick: u64| -> bool {
        let mut ok = true;
        for (i, b) in batches.iter_mut().enumerate() {
            if b.pkts.is_empty() {
                continue;
            }
            let part = std::mem::replace(b, new_batch(tick));
            if txs[i].send(part).is_err() {
                ok = false;
            }
        }
        ok
    };
    let mut in_part = 0u64;
    loop {
        if stop.load(Ordering::Relaxed) {
            break;
        }
        let next = match feed.next() {
            Ok(n) => n,
            Err(e) => {
                let live_failure = live;
                stats.capture.damage.push(e.to_string());
                if stats.error.is_none() {
                    stats.error = Some(e.to_string());
                }
                if live_failure {
                    stats.capture_failed = true;
                    break;
                }
                continue;
            }
        };
        match next {
            Next::End => break,
            Next::Idle => {
                if live && last_tick_wall.elapsed() >= Duration::from_millis(100) {
                    // Packet time moves on with the wall clock while the wire is
                    // quiet, so waiting attempts are released.
                    let now = last_ts + last_ts_wall.elapsed();
                    if !send_tick(&mut batches, &mut tick, now, false) {
                        break;
                    }
                    in_tick = 0;
                    last_tick_wall = Instant::now();
                    publish(&mut feed, &stats, &mut last_kernel_check);
                }
            }
            Next::Packet(p) => {
                let no = stats.capture.packets;
                stats.capture.packets += 1;
                stats.capture.bytes += p.orig_len as u64;
                if p.ts > last_ts {
                    last_ts = p.ts;
                }
                if live {
                    last_ts_wall = Instant::now();
                }
                let keep = filter
                    .as_mut()
                    .is_none_or(|f| f.matches(p.linktype.0, p.data));
                if !keep {
                    stats.capture.filtered_out += 1;
                } else {
                    match decode::decode(p.linktype, p.data, p.orig_len) {
                        Decoded::Tcp(seg) => {
                            stats.capture.tcp_packets += 1;
                            if seg.truncated {
                                stats.capture.truncated += 1;
                            }
                            // One worker (the default on two cores) needs no shard.
                            let w = if n == 1 {
                                0
                            } else {
                                let (key, _) = FlowKey::of(seg.src, seg.dst);
                                (key.shard_hash() % n as u64) as usize
                            };
                            let b = &mut batches[w];
                            let (block, off) = b.place(seg.payload, p.backing);
                            b.pkts.push(Pkt {
                                no,
                                ts: p.ts,
                                src: seg.src,
                                dst: seg.dst,
                                seq: seg.seq,
                                flags: seg.flags,
                                block,
                                off,
                                len: seg.payload.len() as u32,
                            });
                        }
                        Decoded::Other => {}
                        Decoded::Fragment => stats.capture.fragments += 1,
                        Decoded::UnsupportedLink(_) => stats.capture.unsupported_link += 1,
                        Decoded::Malformed(_) => stats.capture.malformed += 1,
                    }
                }
                in_tick += 1;
                let due = in_tick >= tick_packets
                    || (live && last_tick_wall.elapsed() >= Duration::from_millis(100));
                if due {
                    if !send_tick(&mut batches, &mut tick, last_ts, false) {
                        break;
                    }
                    in_tick = 0;
                    in_part = 0;
                    last_tick_wall = Instant::now();
                    publish(&mut feed, &stats, &mut last_kernel_check);
                } else {
                    in_part += 1;
                    if in_part >= PART_PACKETS {
                        in_part = 0;
                        if !send_part(&mut batches, tick) {
                            break;
                        }
                    }
                }
            }
        }
    }
    publish(&mut feed, &stats, &mut last_kernel_check);
    if let Some((recv, drop, ifdrop)) = feed.kernel_stats() {
        gauges.kernel_received.store(recv, Ordering::Relaxed);
        gauges.kernel_dropped.store(drop, Ordering::Relaxed);
        stats.capture.kernel_received = Some(recv);
        stats.capture.kernel_dropped = Some(drop);
        stats.capture.if_dropped = Some(ifdrop);
    }
    stats.interrupted = stop.load(Ordering::Relaxed);
    send_tick(&mut batches, &mut tick, last_ts, true);
    stats
}

/// How the attempts of a flow that leaves the table unfinished end.
fn ending_of(why: EvictReason) -> Ending {
    match why {
        EvictReason::TableFull => Ending::Evicted,
        EvictReason::Idle => Ending::Expired,
    }
}

/// What the HTTP stage of a worker produces, kept apart from the flow table so
/// a sink can be lent while a flow of the table is borrowed.
struct HttpOut {
    limits: HttpLimits,
    stats: HttpStats,
    attempts: Vec<Attempt>,
    tls: Vec<TlsSighting>,
    sids: Vec<SidIssued>,
}

impl HttpOut {
    fn sink(&mut self, packet_no: u64) -> Sink<'_> {
        Sink {
            attempts: &mut self.attempts,
            tls: &mut self.tls,
            sids: &mut self.sids,
            stats: &mut self.stats,
            limits: &self.limits,
            packet_no,
        }
    }
}

/// The per-shard analysis: flow table, reassembly, HTTP.
struct Worker {
    table: FlowTable<Conversation>,
    http: HttpOut,
    stream_stats: ReassemblyStats,
    flows: u64,
    /// Accepted attempts watched after their 101, by deadline (deadlines are
    /// packet time plus a constant, so the queue stays ordered).
    watches: std::collections::VecDeque<(Timestamp, FlowKey)>,
}

/// Packets per part of a tick (see `Batch::ends_tick`): the input of about
/// 2048 packets, a couple of MiB, is held per batch in flight instead of a
/// whole tick's.
const PART_PACKETS: u64 = 2048;

/// Packets whose flows a worker loads together, one group ahead of the group
/// it works on.
const PREFETCH_GROUP: usize = 16;

/// Batches waiting for each worker.
const QUEUED_PARTS: usize = 3;

/// Batches whose buffers grew beyond this are not returned for reuse, so a
/// burst does not keep its memory for the rest of the run.
const MAX_REUSED_BATCH_BYTES: usize = 16 << 20;

fn worker(
    rx: Receiver<Batch>,
    tx: Sender<Report>,
    free: Sender<Batch>,
    limits: Limits,
    http: HttpLimits,
    gauges: Arc<Gauges>,
) {
    let (mut shown_flows, mut shown_evicted) = (0u64, 0u64);
    let mut keys: Vec<(FlowKey, Side)> = Vec::new();
    let mut w = Worker {
        table: FlowTable::new(limits),
        http: HttpOut {
            limits: http,
            stats: HttpStats::default(),
            attempts: Vec::new(),
            tls: Vec::new(),
            sids: Vec::new(),
        },
        stream_stats: ReassemblyStats::default(),
        flows: 0,
        watches: Default::default(),
    };
    // The number of this tick's last packet seen by this worker.
    let mut tick_last_no = 0;
    for batch in rx.iter() {
        keys.clear();
        keys.extend(batch.pkts.iter().map(|p| FlowKey::of(p.src, p.dst)));
        for (i, (p, &(key, side))) in batch.pkts.iter().zip(keys.iter()).enumerate() {
            if i % PREFETCH_GROUP == 0 {
                let ahead = keys.iter().skip(i + PREFETCH_GROUP).take(PREFETCH_GROUP);
                w.table.prefetch(ahead.map(|(k, _)| k));
            }
            w.packet(p, key, side, batch.payload(p));
        }
        if let Some(p) = batch.pkts.last() {
            tick_last_no = p.no;
        }
        if !batch.ends_tick {
            let _ = free.try_send(batch);
            continue;
        }
        w.expire(batch.time, tick_last_no);
        tick_last_no = 0;
        let (flows, evicted) = (w.table.len() as u64, w.table.stats().flows_evicted);
        if flows != shown_flows {
            gauges.flows_tracked.fetch_add(flows, Ordering::Relaxed);
            gauges
                .flows_tracked
                .fetch_sub(shown_flows, Ordering::Relaxed);
            shown_flows = flows;
        }
        if evicted != shown_evicted {
            gauges
                .flows_evicted
                .fetch_add(evicted - shown_evicted, Ordering::Relaxed);
            shown_evicted = evicted;
        }
        let done = if batch.last {
            w.drain();
            let mut reassembly = *w.table.stats();
            reassembly.merge(&w.stream_stats);
            Some(Box::new(WorkerTotals {
                reassembly,
                http: w.http.stats,
                flows: w.flows,
            }))
        } else {
            None
        };
        let report = Report {
            tick: batch.tick,
            time: batch.time,
            attempts: std::mem::take(&mut w.http.attempts),
            tls: std::mem::take(&mut w.http.tls),
            sids: std::mem::take(&mut w.http.sids),
            done,
        };
        let last = batch.last;
        // The batch goes back with its input blocks: the capture thread lets
        // go of them when it reuses the batch, so unmapping a file's windows
        // is its work, not this busier thread's.
        if batch.data.capacity() <= MAX_REUSED_BATCH_BYTES {
            // Full or closed: the batch is simply dropped.
            let _ = free.try_send(batch);
        }
        if tx.send(report).is_err() {
            return;
        }
        if last {
            return;
        }
    }
}

impl Worker {
    fn packet(&mut self, p: &Pkt, key: FlowKey, d: Side, payload: &[u8]) {
        let len = p.len + u32::from(p.flags.fin());
        if self.table.is_late_copy(&key, d, p.seq, len, p.flags.syn()) {
            return;
        }
        let mut evicted: Vec<(Flow<Conversation>, EvictReason)> = Vec::new();
        let limits = *self.table.limits();
        let mut sink = self.http.sink(p.no);
        let stream_stats = &mut self.stream_stats;
        let watches = &mut self.watches;
        // One lookup: the flow is updated, then accounted (or removed) in place.
        let inserted = self.table.update(
            key,
            p.ts,
            &mut |_, f, why| evicted.push((f, why)),
            |flow, inserted| {
                let Flow { dirs, state, .. } = flow;
                state.note_packet(d, p.src, p.dst, p.flags.syn(), p.flags.ack());
                if p.flags.syn() {
                    dirs[d].syn(p.seq);
                }
                let ts = p.ts;
                let seq = if p.flags.syn() {
                    p.seq.wrapping_add(1)
                } else {
                    p.seq
                };
                if !payload.is_empty() || p.flags.fin() {
                    dirs[d].push(
                        seq,
                        payload,
                        p.flags.fin(),
                        &limits,
                        stream_stats,
                        &mut |c| state.on_chunk(d, c, ts, &mut sink),
                    );
                }
                let mut remove = false;
                if p.flags.rst() {
                    for (i, dir) in dirs.sides_mut() {
                        dir.flush(stream_stats, &mut |c| state.on_chunk(i, c, ts, &mut sink));
                    }
                    state.on_reset(d, ts, &mut sink);
                    remove = true;
                } else if state.is_upgraded() {
                    for (i, dir) in dirs.sides_mut() {
                        if !state.wants_bytes(i) && !dir.is_discarding() {
                            dir.discard();
                        }
                    }
                }
                if let Some(deadline) = state.take_new_watch() {
                    watches.push_back((deadline, key));
                }
                if state.is_finished() {
                    remove = true;
                }
                (!remove, inserted)
            },
        );
        if inserted {
            self.flows += 1;
        }
        for (f, why) in evicted {
            self.finish_flow(f, ending_of(why), p.no);
        }
    }

    fn finish_flow(&mut self, mut f: Flow<Conversation>, ending: Ending, no: u64) {
        let ts = f.last_seen;
        let Flow { dirs, state, .. } = &mut f;
        let mut sink = self.http.sink(no);
        for (i, dir) in dirs.sides_mut() {
            dir.flush(&mut self.stream_stats, &mut |c| {
                state.on_chunk(i, c, ts, &mut sink)
            });
        }
        state.finish(ending, &mut sink);
    }

    /// Report accepted attempts whose watch time is up.
    fn release_watches(&mut self, now: Timestamp, no: u64) {
        while let Some(&(deadline, key)) = self.watches.front() {
            if deadline > now {
                break;
            }
            self.watches.pop_front();
            if let Some(flow) = self.table.get_mut(&key) {
                let mut sink = self.http.sink(no);
                flow.state.release_watch(now, &mut sink);
                if flow.state.is_upgraded() {
                    for (i, dir) in flow.dirs.sides_mut() {
                        if !flow.state.wants_bytes(i) && !dir.is_discarding() {
                            dir.discard();
                        }
                    }
                }
            }
        }
    }

    fn expire(&mut self, now: Timestamp, no: u64) {
        self.release_watches(now, no);
        let mut evicted = Vec::new();
        self.table
            .expire(now, &mut |_, f, why| evicted.push((f, why)));
        for (f, why) in evicted {
            self.finish_flow(f, ending_of(why), no);
        }
    }

    fn drain(&mut self) {
        for (_, f) in self.table.drain() {
            self.finish_flow(f, Ending::CaptureEnded, u64::MAX);
        }
    }
}
