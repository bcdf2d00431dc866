//! The threads: a capture thread reads and decodes packets and hands them, in
//! batches, to N flow workers sharded by a symmetric flow hash; each worker owns a
//! flow table (reassembly + HTTP) and reports completed attempts, each
//! classified on its own as it completes; a judge thread merges the reports
//! and correlates (proxy legs, accepted spellings, sessions); the calling
//! thread writes the output, in the order the judge gives.
//!
//! Output is the same bytes whatever the worker count: the capture thread cuts
//! the packet sequence into ticks at fixed packet counts and every worker reports
//! every tick, so the reporter merges exactly the attempts completed in a tick and
//! orders them by the global number of the packet that completed them.

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::allocator_decay;
use crate::analyzer::{FlowAnalyzer, Segment, Totals};
use crate::capture::{
    BpfFilter, CaptureStats, FilterError, LinkType, Next, PacketSource, RawPacket, SharedBytes,
    Timestamp,
};
use crate::classify::correlate::{Classified, Correlator, Judged};
use crate::classify::Verdict;
use crate::coarse_clock::CoarseInstant;
use crate::decode::{self, Decoded, Endpoint, FlowKey, Fragment, Side, TcpFlags, TcpSegment};
use crate::error::{panicked, Error};
use crate::http::session::SessionEnd;
use crate::http::{ConnectFailed, HttpLimits, HttpStats, SidIssued, TlsSighting};
use crate::reassembly::ip_fragments::{Datagram, Defragmenter};
use crate::reassembly::{Hashed, Limits, ReassemblyStats};
use crate::report::gauges::Gauges;
use crate::report::OutputError;
use crate::tls::{InBandKeys, KeyChain, SharedKeys};

/// Tuning of a run.
#[derive(Debug, Clone)]
pub struct Config {
    pub limits: Limits,
    pub http: HttpLimits,
    pub workers: usize,
    /// Packets per tick: the granularity of deterministic merging and of idle
    /// expiry.
    pub tick_packets: u64,
    /// An optional BPF filter applied to every packet (tcpdump syntax),
    /// checked when the configuration was made. IP fragments pass it (see
    /// [`crate::capture::or_fragments`]); the datagrams rebuilt from them
    /// are checked against it, or against `datagram_filter` when given.
    pub filter: Option<String>,
    /// The filter rebuilt datagrams must pass when `filter` is not applied
    /// here (a live capture applies the user's filter in the kernel).
    pub datagram_filter: Option<String>,
    /// Live counters for progress and metrics.
    pub gauges: Arc<Gauges>,
    /// The process ends soon after the run: the reporter's memory of recent
    /// attempts (thousands of copies, each many small allocations) is left
    /// to the exit instead of freed piece by piece, which was 8 % of the
    /// reporter's time on a capture dense in handshakes.
    pub exiting: bool,
    #[cfg(any(test, feature = "fault-injection"))]
    pub fault: Option<Fault>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            limits: Limits::default(),
            http: HttpLimits::default(),
            workers: default_workers(),
            tick_packets: 8192,
            filter: None,
            datagram_filter: None,
            gauges: Arc::new(Gauges::default()),
            exiting: false,
            #[cfg(any(test, feature = "fault-injection"))]
            fault: None,
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
    ack: u32,
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
    /// TLS key log texts found in the input, each with the index in `pkts`
    /// of the packet it comes before.
    secrets: Vec<(usize, Vec<u8>)>,
    /// The last part of its tick: the worker reports after it. A tick is sent
    /// in parts so that the input a batch keeps alive (its blocks) stays small.
    ends_tick: bool,
    last: bool,
}

/// A batch for `tick`: a returned one emptied, or a new one.
fn new_or_reused(reused: Option<Batch>, tick: u64) -> Batch {
    match reused {
        Some(mut b) => {
            b.tick = tick;
            b.time = Timestamp::default();
            b.pkts.clear();
            b.blocks.clear();
            b.data.clear();
            b.secrets.clear();
            b.ends_tick = false;
            b.last = false;
            b
        }
        None => Batch {
            tick,
            time: Timestamp::default(),
            pkts: Vec::with_capacity(1024),
            blocks: Vec::new(),
            data: Vec::new(),
            secrets: Vec::new(),
            ends_tick: false,
            last: false,
        },
    }
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
    /// Part of its tick, handed over early (see [`MAX_COMPLETED_BYTES`]): more
    /// reports of the same tick follow from this worker, the last one whole.
    early: bool,
    time: Timestamp,
    attempts: Vec<Classified>,
    tls: Vec<TlsSighting>,
    connects: Vec<ConnectFailed>,
    sids: Vec<SidIssued>,
    sessions: Vec<SessionEnd>,
    done: Option<Box<Totals>>,
}

/// What a run found besides the attempts.
#[derive(Debug, Default)]
pub struct RunStats {
    pub capture: CaptureStats,
    pub reassembly: ReassemblyStats,
    pub http: HttpStats,
    pub flows: u64,
    /// The first error: damaged input, a failed capture, output that could
    /// not be written, a thread that panicked.
    pub error: Option<Error>,
    pub interrupted: bool,
}

impl RunStats {
    fn fail(&mut self, e: impl Into<Error>) {
        self.error.get_or_insert(e.into());
    }
}

/// A panic injected into one thread of a run, to test that a bug loses
/// nothing found before it and still ends in an error (tests, and builds
/// with the `fault-injection` feature; never in a release binary).
#[cfg(any(test, feature = "fault-injection"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The capture thread, at this packet number.
    Capture(u64),
    /// The flow worker handling this packet number.
    Worker(u64),
    /// The reporter's writing thread, at this judged attempt (counted from 0).
    Reporter(u64),
    /// The reporter's judge thread, at this batch of judged attempts
    /// (counted from 0).
    Judge(u64),
}

#[cfg(any(test, feature = "fault-injection"))]
impl Fault {
    /// `capture:N`, `worker:N`, `reporter:N` or `judge:N` (the `WSHS_FAULT` variable of
    /// a `fault-injection` build).
    pub fn parse(s: &str) -> Option<Fault> {
        let (site, n) = s.split_once(':')?;
        let n = n.parse().ok()?;
        match site {
            "capture" => Some(Fault::Capture(n)),
            "worker" => Some(Fault::Worker(n)),
            "reporter" => Some(Fault::Reporter(n)),
            "judge" => Some(Fault::Judge(n)),
            _ => None,
        }
    }
}

#[cfg(any(test, feature = "fault-injection"))]
type FaultHook = Option<Fault>;
#[cfg(not(any(test, feature = "fault-injection")))]
type FaultHook = Option<()>;

/// Panic when the fault is due (no code at all without the hook).
macro_rules! inject {
    ($cfg_fault:expr, $variant:ident, $n:expr) => {
        #[cfg(any(test, feature = "fault-injection"))]
        if $cfg_fault == Some(Fault::$variant($n)) {
            panic!("injected fault");
        }
        #[cfg(not(any(test, feature = "fault-injection")))]
        let _ = (&$cfg_fault, &$n);
    };
}

/// Where judged attempts go. Attempts come out in bursts (a tick's worth at
/// once), so a writer can buffer them and push them out once per burst
/// instead of once per attempt: `flush` ends each burst.
pub trait Sink {
    fn attempt(&mut self, j: &Judged) -> std::io::Result<()>;
    /// Every attempt released so far has been handed over.
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<F: FnMut(&Judged) -> std::io::Result<()>> Sink for F {
    fn attempt(&mut self, j: &Judged) -> std::io::Result<()> {
        self(j)
    }
}

/// Run the whole analysis over `feed`, handing each judged attempt to `sink` in
/// deterministic order. `stop` ends the capture early (Ctrl-C, output closed);
/// what was seen is still reported.
pub fn run(
    feed: Box<dyn PacketSource>,
    cfg: &Config,
    stop: Arc<AtomicBool>,
    sink: &mut dyn Sink,
) -> RunStats {
    let n = cfg.workers.max(1);
    let (report_tx, report_rx) = bounded::<Report>(n * 2);
    let mut batch_txs = Vec::with_capacity(n);
    let mut handles = Vec::with_capacity(n);
    #[cfg(any(test, feature = "fault-injection"))]
    let fault: FaultHook = cfg.fault;
    #[cfg(not(any(test, feature = "fault-injection")))]
    let fault: FaultHook = None;
    // Emptied batches go back to the capture thread, so their buffers are
    // reused instead of allocated (and page-faulted in) again every tick.
    let (free_tx, free_rx) = bounded::<Batch>(n * 8);
    for i in 0..n {
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
        let name = format!("flow worker {}", i + 1);
        let thread = std::thread::Builder::new()
            .name(name.clone())
            .spawn(move || {
                std::panic::catch_unwind(AssertUnwindSafe(|| {
                    worker(rx, rtx, ftx, shard_limits, http, gauges, fault);
                }))
                .map_err(|p| panicked(&name, p.as_ref()))
            });
        handles.push(thread);
    }
    drop(report_tx);
    drop(free_tx);

    let capture_stop = stop.clone();
    let reading = Reading {
        tick_packets: cfg.tick_packets.max(1),
        filter: cfg.filter.clone(),
        datagram_filter: cfg.datagram_filter.clone().or_else(|| cfg.filter.clone()),
        fault,
    };
    let gauges = cfg.gauges.clone();
    let capture = std::thread::Builder::new()
        .name("capture".to_string())
        .spawn(move || {
            std::panic::catch_unwind(AssertUnwindSafe(|| {
                capture_loop(feed, batch_txs, free_rx, reading, capture_stop, gauges)
            }))
            .map_err(|p| panicked("capture", p.as_ref()))
        });

    // The reporter is two threads: this one writes what the judge thread
    // has judged. Writing a record (redaction, formatting, the write
    // itself) is about two fifths of the reporter's work, and on a storm of
    // handshakes the reporter sets the pace; the sink stays on the caller's
    // thread. Both keep the order the judge gives.
    let (judged_tx, judged_rx) = bounded::<Vec<Judged>>(QUEUED_JUDGED);
    let exiting = cfg.exiting;
    let judge_stop = stop.clone();
    let judge = std::thread::Builder::new()
        .name("judge".to_string())
        .spawn(move || judge_reports(report_rx, judged_tx, n, exiting, judge_stop, fault));
    let mut errors = Vec::new();
    let mut output_error: Option<std::io::Error> = None;
    let mut emitted = 0u64;
    let written = std::panic::catch_unwind(AssertUnwindSafe(|| {
        for js in judged_rx.iter() {
            if output_error.is_some() {
                continue;
            }
            let mut write = || {
                for j in &js {
                    inject!(fault, Reporter, emitted);
                    emitted += 1;
                    sink.attempt(j)?;
                }
                sink.flush()
            };
            if let Err(e) = write() {
                output_error = Some(e);
                stop.store(true, Ordering::Relaxed);
            }
        }
    }));
    if let Err(p) = written {
        errors.push(panicked("reporter", p.as_ref()));
        stop.store(true, Ordering::Relaxed);
        // Let the judge, the workers and the capture thread finish.
        for _ in judged_rx.iter() {}
    }
    let totals = match judge.map(|h| h.join()) {
        Ok(Ok((totals, panic))) => {
            if let Some(e) = panic {
                errors.push(e);
            }
            totals
        }
        // Gone by a panic outside its own catch.
        Ok(Err(p)) => {
            errors.push(panicked("reporter", p.as_ref()));
            Totals::default()
        }
        // Never started: nothing was judged.
        Err(e) => {
            errors.push(Error::Panic {
                thread: "reporter".to_string(),
                message: format!("cannot start the judge thread: {e}"),
            });
            Totals::default()
        }
    };
    for h in handles {
        if let Ok(Err(e)) = h.map(|h| h.join().unwrap_or(Ok(()))) {
            errors.push(e);
        }
    }
    let mut stats = match capture.map(|c| c.join()) {
        Ok(Ok(Ok(s))) => s,
        Ok(Ok(Err(e))) => {
            errors.insert(0, e);
            RunStats::default()
        }
        _ => RunStats::default(),
    };
    stats.reassembly = totals.reassembly;
    stats.http = totals.http;
    stats.flows = totals.flows;
    stats.interrupted = stop.load(Ordering::Relaxed) && output_error.is_none();
    // A bug comes first: the analysis is incomplete whatever else happened.
    if let Some(e) = errors.into_iter().next() {
        stats.error = Some(e);
    }
    if let Some(e) = output_error {
        stats.fail(OutputError::Stdout(e));
    }
    stats
}

/// `from` added to the end of `into`. The first part of a tick (with one
/// worker, the only one) is taken whole instead of copied: an attempt is
/// some 400 bytes, and a storm's tick holds thousands.
fn append<T>(into: &mut Vec<T>, mut from: Vec<T>) {
    if into.is_empty() {
        std::mem::swap(into, &mut from);
    } else {
        into.append(&mut from);
    }
}

/// The judge thread: gathers each tick's reports from the `n` workers, judges
/// the attempts in a fixed order and hands them to the writing thread. What
/// the workers counted, and the judge's own panic if it had one (what was
/// judged before it is still written).
fn judge_reports(
    report_rx: Receiver<Report>,
    judged_tx: Sender<Vec<Judged>>,
    n: usize,
    exiting: bool,
    stop: Arc<AtomicBool>,
    fault: FaultHook,
) -> (Totals, Option<Error>) {
    let mut correlator = Correlator::new();
    let mut pending: BTreeMap<u64, TickParts> = Default::default();
    // The tick judged next: every earlier one is done.
    let mut next_tick = 0u64;
    let mut totals = Totals::default();
    // The writer drains the channel until it closes, even after an output
    // error or its own panic: a send fails only if it is gone.
    let mut batches = 0u64;
    let mut out = |js: Vec<Judged>| {
        if !js.is_empty() {
            inject!(fault, Judge, batches);
            batches += 1;
            let _ = judged_tx.send(js);
        }
    };
    let judged = std::panic::catch_unwind(AssertUnwindSafe(|| {
        for r in report_rx.iter() {
            if let Some(d) = r.done {
                totals.reassembly.merge(&d.reassembly);
                totals.http.merge(&d.http);
                totals.flows += d.flows;
            }
            let e = pending.entry(r.tick).or_insert_with(|| TickParts {
                reports: 0,
                time: r.time,
                attempts: Vec::new(),
                tls: Vec::new(),
                connects: Vec::new(),
                sids: Vec::new(),
                sessions: Vec::new(),
            });
            if !r.early {
                e.reports += 1;
                e.time = r.time;
            }
            append(&mut e.attempts, r.attempts);
            append(&mut e.tls, r.tls);
            append(&mut e.connects, r.connects);
            append(&mut e.sids, r.sids);
            append(&mut e.sessions, r.sessions);
            // An early part of the tick being judged is judged now, or the
            // reporter would hold what the worker let go of. With one worker
            // the result is the same as judging the whole tick at once: its
            // attempts complete in packet order, so the parts are already in
            // the order the tick's sort gives. With several, a tick that
            // large comes out in the order its parts arrived.
            if r.early && r.tick == next_tick {
                out(judge_early(&mut correlator, e));
            }
            // Ticks complete in order, since each worker reports them in order.
            while let Some(entry) = pending.first_entry() {
                if entry.get().reports < n {
                    break;
                }
                next_tick = *entry.key() + 1;
                out(judge_tick(&mut correlator, entry.remove()));
            }
        }
        // A worker that failed leaves its ticks incomplete: what the others
        // found is still reported, in order.
        while let Some(entry) = pending.first_entry() {
            out(judge_tick(&mut correlator, entry.remove()));
        }
        out(correlator.release(None));
        if exiting {
            std::mem::forget(std::mem::take(&mut correlator));
        }
    }));
    let panic = judged.err().map(|p| {
        let e = panicked("reporter", p.as_ref());
        stop.store(true, Ordering::Relaxed);
        // Let the workers and the capture thread finish.
        for _ in report_rx.iter() {}
        e
    });
    (totals, panic)
}

/// The attempts of a tick from every worker, with its TLS sightings, judged
/// in a fixed order.
/// What the workers reported for one tick, gathered until every worker has.
struct TickParts {
    reports: usize,
    time: Timestamp,
    attempts: Vec<Classified>,
    tls: Vec<TlsSighting>,
    connects: Vec<ConnectFailed>,
    sids: Vec<SidIssued>,
    sessions: Vec<SessionEnd>,
}

fn judge_tick(correlator: &mut Correlator, mut parts: TickParts) -> Vec<Judged> {
    let mut js = judge_attempts(correlator, &mut parts);
    js.extend(correlator.release(Some(parts.time)));
    correlator.note_opened(&js);
    let mut sessions = parts.sessions;
    sessions.sort_by_key(|s| (s.completed_at, s.ended, s.attempt.client, s.attempt.server));
    js.extend(sessions.into_iter().map(|s| correlator.judge_session(s)));
    js
}

/// The attempts a tick has gathered so far, judged before the tick ends; what
/// comes later in the tick is judged after them.
fn judge_early(correlator: &mut Correlator, parts: &mut TickParts) -> Vec<Judged> {
    let js = judge_attempts(correlator, parts);
    correlator.note_opened(&js);
    js
}

/// The sightings, then the attempts, that `parts` holds (taking them), each
/// in a fixed order.
fn judge_attempts(correlator: &mut Correlator, parts: &mut TickParts) -> Vec<Judged> {
    let mut tls = std::mem::take(&mut parts.tls);
    let mut connects = std::mem::take(&mut parts.connects);
    let mut sids = std::mem::take(&mut parts.sids);
    let mut attempts = std::mem::take(&mut parts.attempts);
    tls.sort_by_key(|t| (t.ts, t.no, t.client, t.server));
    for t in tls {
        correlator.note_tls(t);
    }
    connects.sort_by_key(|f| (f.ts, f.client, f.server, f.how));
    for f in connects {
        correlator.note_connect(f);
    }
    sids.sort();
    for s in sids {
        correlator.note_sid(s);
    }
    crate::order::sort_by_key_moving_once(&mut attempts, |c| {
        let a = &c.attempt;
        (a.completed_at, a.ts, a.client, a.server, a.request_index)
    });
    // Most attempts come out of the correlator as they go in, or soon after.
    let mut js = Vec::with_capacity(attempts.len());
    for c in attempts {
        js.extend(correlator.push_classified(c));
    }
    js
}

/// How the capture thread reads.
struct Reading {
    tick_packets: u64,
    filter: Option<String>,
    datagram_filter: Option<String>,
    fault: FaultHook,
}

fn capture_loop(
    mut feed: Box<dyn PacketSource>,
    txs: Vec<Sender<Batch>>,
    free: Receiver<Batch>,
    reading: Reading,
    stop: Arc<AtomicBool>,
    gauges: Arc<Gauges>,
) -> RunStats {
    let mut c = Capturing::new(txs, free, reading, feed.is_live(), gauges);
    // A filter that does not compile reads nothing.
    while !c.done && !stop.load(Ordering::Relaxed) {
        // A source hands over everything it has ready in one call (a live
        // capture: the packets of its kernel blocks, read in place); the
        // gauges and the kernel's counters are read between calls.
        if let Err(e) = feed.each_ready(&mut |next| c.take(next)) {
            c.stats.capture.damage.push(e.to_string());
            c.stats.fail(e);
            // A live capture (or its recording) that fails does not
            // recover; a damaged file ends, and the next one goes on.
            if c.live {
                break;
            }
        }
        if c.publish_due {
            c.publish_due = false;
            c.publish(&mut feed);
        }
    }
    c.publish(&mut feed);
    if let Some(k) = feed.kernel_stats() {
        c.gauges
            .kernel_received
            .store(k.received, Ordering::Relaxed);
        c.gauges.kernel_dropped.store(k.dropped, Ordering::Relaxed);
        c.stats.capture.kernel_received = Some(k.received);
        c.stats.capture.kernel_dropped = Some(k.dropped);
        c.stats.capture.if_dropped = Some(k.dropped_by_interface);
    }
    c.stats.interrupted = stop.load(Ordering::Relaxed);
    c.defrag.finish();
    let f = c.defrag.stats();
    c.stats.capture.datagrams_reassembled = f.reassembled;
    c.stats.capture.fragments_discarded = f.discarded;
    let last_ts = c.last_ts;
    c.send_tick(last_ts, true);
    c.stats
}

/// The capture thread between two packets: the batches being filled, one per
/// worker, and where the current tick and part stand.
struct Capturing {
    txs: Vec<Sender<Batch>>,
    free: Receiver<Batch>,
    /// Batches come back from the workers still holding their input blocks.
    /// Each new batch first takes every returned one and lets go of its
    /// blocks, so a block goes back to the reader's pool as soon as no batch
    /// in flight reads it (idle batches would otherwise keep the reader
    /// allocating new ones).
    spare: Vec<Batch>,
    batches: Vec<Batch>,
    filter: Option<BpfFilter>,
    /// What a datagram rebuilt from fragments must pass (the user's filter).
    datagram_filter: Option<BpfFilter>,
    fault: FaultHook,
    tick_packets: u64,
    live: bool,
    gauges: Arc<Gauges>,
    stats: RunStats,
    tick: u64,
    in_tick: u64,
    in_part: u64,
    in_part_bytes: usize,
    secrets_held: usize,
    last_ts: Timestamp,
    last_ts_wall: CoarseInstant,
    last_tick_wall: CoarseInstant,
    last_kernel_check: CoarseInstant,
    /// A tick went out: the gauges are refreshed once the source returns.
    publish_due: bool,
    /// Nothing more is read: a worker is gone, or the filter cannot apply.
    done: bool,
    /// IP datagrams whose fragments are still coming.
    defrag: Defragmenter,
}

impl Capturing {
    fn new(
        txs: Vec<Sender<Batch>>,
        free: Receiver<Batch>,
        reading: Reading,
        live: bool,
        gauges: Arc<Gauges>,
    ) -> Capturing {
        let Reading {
            tick_packets,
            filter,
            datagram_filter,
            fault,
        } = reading;
        let mut stats = RunStats::default();
        let mut compiled = |f: Option<Result<BpfFilter, FilterError>>| match f {
            Some(Ok(f)) => Some(f),
            Some(Err(e)) => {
                stats.fail(e);
                None
            }
            None => None,
        };
        let filter = compiled(filter.as_deref().map(BpfFilter::or_fragments));
        let datagram_filter = compiled(datagram_filter.as_deref().map(BpfFilter::new));
        let done = stats.error.is_some();
        let n = txs.len();
        let mut c = Capturing {
            txs,
            free,
            spare: Vec::new(),
            batches: Vec::with_capacity(n),
            filter,
            datagram_filter,
            fault,
            tick_packets,
            live,
            gauges,
            stats,
            tick: 0,
            in_tick: 0,
            in_part: 0,
            in_part_bytes: 0,
            secrets_held: 0,
            last_ts: Timestamp::default(),
            last_ts_wall: CoarseInstant::now(),
            last_tick_wall: CoarseInstant::now(),
            last_kernel_check: CoarseInstant::now(),
            publish_due: false,
            done,
            defrag: Defragmenter::new(),
        };
        for _ in 0..n {
            let b = c.new_batch(0);
            c.batches.push(b);
        }
        c
    }

    fn new_batch(&mut self, tick: u64) -> Batch {
        while let Ok(mut b) = self.free.try_recv() {
            b.blocks.clear();
            self.spare.push(b);
        }
        new_or_reused(self.spare.pop(), tick)
    }

    fn publish(&mut self, feed: &mut Box<dyn PacketSource>) {
        let g = &self.gauges;
        g.packets
            .store(self.stats.capture.packets, Ordering::Relaxed);
        g.bytes.store(self.stats.capture.bytes, Ordering::Relaxed);
        let (pos, total) = feed.progress();
        g.position.store(pos, Ordering::Relaxed);
        if let Some(t) = total {
            g.total.store(t, Ordering::Relaxed);
        }
        if self.live && self.last_kernel_check.elapsed() >= Duration::from_secs(1) {
            self.last_kernel_check = CoarseInstant::now();
            if let Some(k) = feed.kernel_stats() {
                g.kernel_received.store(k.received, Ordering::Relaxed);
                g.kernel_dropped.store(k.dropped, Ordering::Relaxed);
            }
        }
    }

    /// Every worker gets its batch, which ends the tick; false when a worker
    /// is gone.
    fn send_tick(&mut self, time: Timestamp, last: bool) -> bool {
        let mut ok = true;
        for i in 0..self.batches.len() {
            let fresh = self.new_batch(self.tick + 1);
            let mut full = std::mem::replace(&mut self.batches[i], fresh);
            full.time = time;
            full.ends_tick = true;
            full.last = last;
            if self.txs[i].send(full).is_err() {
                ok = false;
            }
        }
        self.tick += 1;
        self.in_tick = 0;
        self.in_part = 0;
        self.in_part_bytes = 0;
        self.last_tick_wall = CoarseInstant::now();
        self.publish_due = true;
        ok
    }

    /// A part of a tick: only workers with packets get one, and none reports.
    fn send_part(&mut self) -> bool {
        self.in_part = 0;
        self.in_part_bytes = 0;
        let mut ok = true;
        for i in 0..self.batches.len() {
            let b = &self.batches[i];
            if b.pkts.is_empty() && b.secrets.is_empty() {
                continue;
            }
            let fresh = self.new_batch(self.tick);
            let part = std::mem::replace(&mut self.batches[i], fresh);
            if self.txs[i].send(part).is_err() {
                ok = false;
            }
        }
        ok
    }

    /// Take what the source handed over; false once nothing more should be
    /// read.
    fn take(&mut self, next: Next<'_>) -> bool {
        if self.done {
            return false;
        }
        let go_on = match next {
            Next::End => false,
            Next::Secrets(text) => self.secrets(text),
            Next::Idle => {
                // Packet time moves on with the wall clock while the wire is
                // quiet, so waiting attempts are released.
                !(self.live && self.last_tick_wall.elapsed() >= Duration::from_millis(100))
                    || self.send_tick(self.last_ts + self.last_ts_wall.elapsed(), false)
            }
            Next::Packet(p) => self.packet(p),
        };
        self.done = !go_on;
        go_on
    }

    /// Every worker learns them at this point of its packets.
    fn secrets(&mut self, text: &[u8]) -> bool {
        if self.secrets_held + text.len() > MAX_IN_BAND_SECRETS {
            self.stats.capture.secrets_ignored += text.len() as u64;
            return true;
        }
        self.secrets_held += text.len();
        for b in self.batches.iter_mut() {
            b.secrets.push((b.pkts.len(), text.to_vec()));
        }
        // Secrets with no packets after them still leave in parts.
        self.in_part_bytes += text.len();
        self.in_part_bytes < PART_BYTES || self.send_part()
    }

    fn packet(&mut self, p: RawPacket<'_>) -> bool {
        let no = self.stats.capture.packets;
        inject!(self.fault, Capture, no);
        let cs = &mut self.stats.capture;
        cs.packets += 1;
        cs.bytes += p.orig_len as u64;
        self.in_part_bytes += p.data.len();
        if p.ts > self.last_ts {
            self.last_ts = p.ts;
        }
        if self.live {
            self.last_ts_wall = CoarseInstant::now();
        }
        let keep = match self.filter.as_mut().map(|f| f.matches(p.linktype, p.data)) {
            None | Some(Ok(true)) => true,
            Some(Ok(false)) => false,
            // A filter that cannot apply ends the run: letting every
            // packet through would answer about the wrong traffic.
            Some(Err(e)) => {
                self.stats.fail(e);
                return false;
            }
        };
        let cs = &mut self.stats.capture;
        if !keep {
            cs.filtered_out += 1;
        } else {
            match decode::decode(p.linktype, p.data, p.orig_len) {
                Decoded::Tcp(seg) => self.take_segment(no, p.ts, &seg, p.backing),
                d => self.take_other(no, p.ts, d),
            }
        }
        self.in_tick += 1;
        let due = self.in_tick >= self.tick_packets
            || (self.live && self.last_tick_wall.elapsed() >= Duration::from_millis(100));
        if due {
            return self.send_tick(self.last_ts, false);
        }
        self.in_part += 1;
        if self.in_part >= PART_PACKETS || self.in_part_bytes >= PART_BYTES {
            return self.send_part();
        }
        true
    }

    /// A segment to its worker; a bare ACK only counted. Every packet of a
    /// capture comes this way: kept inline in the packet loop.
    #[inline(always)]
    fn take_segment(
        &mut self,
        no: u64,
        ts: Timestamp,
        seg: &TcpSegment<'_>,
        backing: Option<&SharedBytes>,
    ) {
        let cs = &mut self.stats.capture;
        cs.tcp_packets += 1;
        if seg.is_bare_ack() {
            // Nothing the analysis reads is in it (the kernel filter leaves
            // these out of a live capture): the flow lookup it would cost is
            // the workers' largest expense, and a third of the packets.
            return;
        }
        if seg.truncated {
            cs.truncated += 1;
        }
        self.push_segment(no, ts, seg, backing);
    }

    /// Whatever else a packet decoded to: a fragment to the defragmenter
    /// (and the datagram it completes, decoded, on again), the rest counted.
    #[inline(never)]
    fn take_other(&mut self, no: u64, ts: Timestamp, d: Decoded<'_>) {
        let cs = &mut self.stats.capture;
        match d {
            // Only from a rebuilt datagram: its bytes are copied into the
            // batch (no shared backing).
            Decoded::Tcp(seg) => self.take_segment(no, ts, &seg, None),
            Decoded::Other => {}
            Decoded::Fragment(f) => {
                cs.fragments += 1;
                self.take_fragment(no, ts, &f);
            }
            Decoded::UnsupportedLink(_) => cs.unsupported_link += 1,
            Decoded::Malformed(m) => cs.note_malformed(no + 1, m),
        }
    }

    /// A fragment into its datagram; a datagram it completes goes on as the
    /// packet `no`. A datagram may carry a tunnel whose inner packet is a
    /// fragment again: each round is smaller than the last, and bounded.
    fn take_fragment(&mut self, no: u64, ts: Timestamp, f: &Fragment<'_>) {
        let mut done = self.defrag.add(f, self.last_ts);
        for _ in 0..MAX_NESTED_FRAGMENTS {
            let Some(dg) = done.take() else {
                return;
            };
            if !self.datagram_passes(&dg) {
                return;
            }
            match dg.decode() {
                Decoded::Fragment(inner) => {
                    self.stats.capture.fragments += 1;
                    done = self.defrag.add(&inner, self.last_ts);
                }
                d => {
                    self.take_other(no, ts, d);
                    return;
                }
            }
        }
    }

    /// Whether a rebuilt datagram passes the user's filter, checked on it as
    /// a raw IP packet. A filter that names link-layer fields cannot be
    /// checked there: its datagrams are left out, as their fragments were
    /// before they were let through, never analysed unchecked.
    fn datagram_passes(&mut self, dg: &Datagram) -> bool {
        let Some(f) = self.datagram_filter.as_mut() else {
            return true;
        };
        let passes = matches!(f.matches(LinkType::RAW, &dg.as_ip_packet()), Ok(true));
        if !passes {
            self.stats.capture.filtered_out += 1;
        }
        passes
    }

    /// A segment into the batch of the worker that owns its flow.
    #[inline(always)]
    fn push_segment(
        &mut self,
        no: u64,
        ts: Timestamp,
        seg: &TcpSegment<'_>,
        backing: Option<&SharedBytes>,
    ) {
        // One worker (the default on two cores) needs no shard.
        let n = self.batches.len();
        let w = if n == 1 {
            0
        } else {
            let (key, _) = FlowKey::of(seg.src, seg.dst);
            (key.shard_hash() % n as u64) as usize
        };
        let b = &mut self.batches[w];
        let (block, off) = b.place(seg.payload, backing);
        b.pkts.push(Pkt {
            no,
            ts,
            src: seg.src,
            dst: seg.dst,
            seq: seg.seq,
            ack: seg.ack,
            flags: seg.flags,
            block,
            off,
            len: seg.payload.len() as u32,
        });
    }
}
/// Tunnels inside reassembled datagrams whose inner packets are fragments
/// again, followed at most this deep.
const MAX_NESTED_FRAGMENTS: usize = 4;

/// Packets per part of a tick (see `Batch::ends_tick`): the input of about
/// 2048 packets, a couple of MiB, is held per batch in flight instead of a
/// whole tick's.
const PART_PACKETS: u64 = 2048;

/// Input bytes per part at most, whatever the packet sizes: full-sized
/// segments would otherwise make each part hold 3 MiB of the file, and the
/// parts in flight keep all of it alive.
const PART_BYTES: usize = 512 << 10;

/// TLS key log text taken from a capture at most: every flow worker keeps
/// all of it, parsed, and a crafted capture must not make memory grow without
/// bound. A connection's secrets take 180-900 bytes of text, so this covers
/// some tens of thousands of decryptable connections.
pub const MAX_IN_BAND_SECRETS: usize = 8 << 20;

/// Packets whose flows a worker loads together, one group ahead of the group
/// it works on.
const PREFETCH_GROUP: usize = 16;

/// Flows are loaded ahead only when their structure outgrows about a core's
/// private cache (L2 holds 0.5-2 MiB on current x86 cores). Below it the
/// entries are found in cache anyway, and the look-ups made to load them
/// ahead only cost: measured against loading always (medians of alternating
/// rounds), 7 % less CPU with 300 settled WebSocket connections and 3 % with
/// 3000 (800 KB of structure), while the 1 GiB generated capture (1.9 MB)
/// took 4 % more CPU and its 10 000-connection variant (5.4 MB) 15 % more
/// without loading ahead.
const PREFETCH_FROM_BYTES: usize = 1 << 20;

/// Batches waiting for each worker.
const QUEUED_PARTS: usize = 3;

/// Judged batches (a tick's worth, or an early part of one) waiting to be
/// written: one, so the judge works on the next while the writer writes,
/// and no more is held.
const QUEUED_JUDGED: usize = 1;

/// Completed attempts a worker holds within a tick, in heap bytes, before it
/// reports them early. A tick is 8192 packets, and on one connection with
/// pipelined requests those complete an attempt every few dozen bytes of
/// input: 8 MB of such a capture held 100 MB of attempts in one report.
/// A browser's handshake storm reaches a few MiB a tick.
const MAX_COMPLETED_BYTES: usize = 1 << 20;

/// Batches whose buffers grew beyond this are not returned for reuse, so a
/// burst does not keep its memory for the rest of the run.
const MAX_REUSED_BATCH_BYTES: usize = 16 << 20;

/// Classify the attempts completed since the last call: right after the
/// packet that completed them, their bytes are still in this core's cache.
/// On the judge, where classification ran before, reading every attempt
/// a worker had written was most of its cost on handshake storms, and the
/// judge is one thread however many workers there are.
fn classify_new(w: &FlowAnalyzer, verdicts: &mut Vec<Verdict>) {
    if let Some(new) = w.attempts().get(verdicts.len()..) {
        verdicts.extend(new.iter().map(|a| crate::classify::classify(a)));
    }
}

/// The attempts completed since the last take, each with its verdict (those
/// completed as flows ended, which no packet completed, classified now).
fn take_classified(w: &mut FlowAnalyzer, verdicts: &mut Vec<Verdict>) -> Vec<Classified> {
    classify_new(w, verdicts);
    w.drain_attempts()
        .zip(verdicts.drain(..))
        .map(|(attempt, verdict)| Classified { attempt, verdict })
        .collect()
}

fn worker(
    rx: Receiver<Batch>,
    tx: Sender<Report>,
    free: Sender<Batch>,
    limits: Limits,
    http: HttpLimits,
    gauges: Arc<Gauges>,
    fault: FaultHook,
) {
    let (mut shown_flows, mut shown_evicted) = (0u64, 0u64);
    let mut keys: Vec<(Hashed, Side)> = Vec::new();
    let in_band = Arc::new(InBandKeys::default());
    let mut http = http;
    let mut chain: Vec<SharedKeys> = http.tls_keys.take().into_iter().collect();
    chain.push(in_band.clone());
    http.tls_keys = Some(Arc::new(KeyChain(chain)));
    let mut w = FlowAnalyzer::new(limits, http);
    // The verdicts of the attempts `w` holds, in its order.
    let mut verdicts: Vec<Verdict> = Vec::new();
    // The number of this tick's last packet seen by this worker.
    let mut tick_last_no = 0;
    let mut load = allocator_decay::Load::default();
    for batch in rx.iter() {
        load.note(w.table_is_loaded(load.is_loaded()));
        keys.clear();
        keys.extend(batch.pkts.iter().map(|p| {
            let (key, side) = FlowKey::of(p.src, p.dst);
            (w.hashed(key), side)
        }));
        let prefetch = w.structure_bytes() >= PREFETCH_FROM_BYTES;
        // The first two groups' entries: the loop below starts two groups
        // ahead, and takes the second group's parts from these.
        if prefetch {
            w.prefetch(keys.iter().take(2 * PREFETCH_GROUP).map(|(k, _)| k));
        }
        let mut secrets = batch.secrets.iter().peekable();
        for (i, (p, (key, side))) in batch.pkts.iter().zip(keys.iter()).enumerate() {
            while let Some((_, text)) = secrets.next_if(|(at, _)| *at == i) {
                in_band.add(text);
            }
            if prefetch && i % PREFETCH_GROUP == 0 {
                // Two groups ahead the flows' entries, one group ahead what
                // those entries point to: each step's loads overlap.
                let far = keys
                    .iter()
                    .skip(i + 2 * PREFETCH_GROUP)
                    .take(PREFETCH_GROUP);
                w.prefetch(far.map(|(k, _)| k));
                let near = keys.iter().skip(i + PREFETCH_GROUP).take(PREFETCH_GROUP);
                w.prefetch_parts(near.map(|(k, _)| k));
            }
            inject!(fault, Worker, p.no);
            let seg = Segment {
                no: p.no,
                ts: p.ts,
                src: p.src,
                dst: p.dst,
                seq: p.seq,
                ack: p.flags.ack().then_some(p.ack),
                flags: p.flags,
                payload: batch.payload(p),
            };
            w.segment_of(&seg, key, *side);
            classify_new(&w, &mut verdicts);
            if w.completed_bytes() >= MAX_COMPLETED_BYTES {
                let early = Report {
                    tick: batch.tick,
                    early: true,
                    time: batch.time,
                    attempts: take_classified(&mut w, &mut verdicts),
                    tls: w.take_tls(),
                    connects: w.take_connects(),
                    sids: w.take_sids(),
                    sessions: Vec::new(),
                    done: None,
                };
                if tx.send(early).is_err() {
                    return;
                }
            }
        }
        for (_, text) in secrets {
            in_band.add(text);
        }
        if let Some(p) = batch.pkts.last() {
            tick_last_no = p.no;
        }
        if !batch.ends_tick {
            let _ = free.try_send(batch);
            continue;
        }
        w.advance(batch.time, tick_last_no);
        tick_last_no = 0;
        let (flows, evicted) = (w.flows_tracked() as u64, w.flows_evicted());
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
            w.finish();
            Some(Box::new(w.totals()))
        } else {
            None
        };
        let report = Report {
            tick: batch.tick,
            early: false,
            time: batch.time,
            attempts: take_classified(&mut w, &mut verdicts),
            tls: w.take_tls(),
            connects: w.take_connects(),
            sids: w.take_sids(),
            sessions: w.take_sessions(),
            done,
        };
        let last = batch.last;
        // The batch goes back with its input blocks: the capture thread lets
        // go of them on its next batch, so they return to the reader's pool
        // (or are freed) on the thread that allocated them.
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
