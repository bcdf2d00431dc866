//! A Prometheus text endpoint for alerting (`--metrics-addr`): counters of
//! attempts per outcome, cause and server endpoint, packets, kernel drops, flows
//! tracked and evicted. Served by a small HTTP server thread; the analysis never
//! waits on it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::gauges::Gauges;
use super::record::Record;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    outcome: String,
    cause: String,
    server: String,
}

/// The metrics of one run.
pub struct Metrics {
    registry: Registry,
    attempts: Family<AttemptLabels, Counter>,
    packets: Counter,
    bytes: Counter,
    kernel_received: Counter,
    kernel_dropped: Counter,
    flows_evicted: Counter,
    flows_tracked: Gauge,
    /// Values already added to the counters above, to add only the difference
    /// at the next scrape.
    shown: Mutex<[u64; 5]>,
    /// Server endpoints given their own label so far.
    servers: Mutex<std::collections::HashSet<String>>,
    gauges: Arc<Gauges>,
}

/// Server endpoints labelled one by one; past this they share one label, so a
/// scan of many ports cannot blow up the series count.
const MAX_SERVER_LABELS: usize = 1000;

impl Metrics {
    pub fn new(gauges: Arc<Gauges>) -> Metrics {
        let mut registry = Registry::with_prefix("wshs");
        let attempts = Family::<AttemptLabels, Counter>::default();
        registry.register(
            "upgrade_attempts",
            "WebSocket upgrade attempts seen, by outcome, cause and server endpoint",
            attempts.clone(),
        );
        let packets = Counter::default();
        registry.register("packets", "Packets captured", packets.clone());
        let bytes = Counter::default();
        registry.register("bytes", "Bytes captured (wire length)", bytes.clone());
        let kernel_received = Counter::default();
        registry.register(
            "kernel_received_packets",
            "Packets the kernel passed to the capture (pcap stats)",
            kernel_received.clone(),
        );
        let kernel_dropped = Counter::default();
        registry.register(
            "kernel_dropped_packets",
            "Packets the kernel dropped for lack of buffer space (pcap stats)",
            kernel_dropped.clone(),
        );
        let flows_evicted = Counter::default();
        registry.register(
            "flows_evicted",
            "Connections evicted because the flow table was full",
            flows_evicted.clone(),
        );
        let flows_tracked = Gauge::default();
        registry.register(
            "flows_tracked",
            "Connections tracked now",
            flows_tracked.clone(),
        );
        Metrics {
            registry,
            attempts,
            packets,
            bytes,
            kernel_received,
            kernel_dropped,
            flows_evicted,
            flows_tracked,
            shown: Mutex::new([0; 5]),
            servers: Mutex::new(Default::default()),
            gauges,
        }
    }

    /// Count one reported attempt.
    pub fn count(&self, r: &Record) {
        let server = match self.servers.lock() {
            Ok(mut seen) if seen.contains(&r.server) || seen.len() < MAX_SERVER_LABELS => {
                seen.insert(r.server.clone());
                r.server.clone()
            }
            _ => "other".to_string(),
        };
        self.attempts
            .get_or_create(&AttemptLabels {
                outcome: r.outcome.code().to_string(),
                cause: r.cause.code().to_string(),
                server,
            })
            .inc();
    }

    /// The text exposition, with the run's live counters brought up to date.
    pub fn render(&self) -> String {
        let g = &self.gauges;
        let now = [
            g.packets.load(Ordering::Relaxed),
            g.bytes.load(Ordering::Relaxed),
            g.kernel_received.load(Ordering::Relaxed),
            g.kernel_dropped.load(Ordering::Relaxed),
            g.flows_evicted.load(Ordering::Relaxed),
        ];
        if let Ok(mut shown) = self.shown.lock() {
            let counters = [
                &self.packets,
                &self.bytes,
                &self.kernel_received,
                &self.kernel_dropped,
                &self.flows_evicted,
            ];
            for (i, c) in counters.iter().enumerate() {
                if now[i] > shown[i] {
                    c.inc_by(now[i] - shown[i]);
                    shown[i] = now[i];
                }
            }
        }
        self.flows_tracked
            .set(g.flows_tracked.load(Ordering::Relaxed) as i64);
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Why the metrics endpoint could not start.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("cannot listen on {addr}: {msg}")]
    Listen { addr: String, msg: String },
}

/// Serve `/metrics` on `addr` until `stop` is set.
pub fn serve(
    addr: &str,
    metrics: Arc<Metrics>,
    stop: Arc<AtomicBool>,
) -> Result<std::thread::JoinHandle<()>, MetricsError> {
    let server = tiny_http::Server::http(addr).map_err(|e| MetricsError::Listen {
        addr: addr.to_string(),
        msg: e.to_string(),
    })?;
    Ok(std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let req = match server.recv_timeout(Duration::from_millis(200)) {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(_) => break,
            };
            let resp = if req.url() == "/metrics" || req.url().starts_with("/metrics?") {
                let body = metrics.render();
                let ct = tiny_http::Header::from_bytes(
                    &b"Content-Type"[..],
                    &b"application/openmetrics-text; version=1.0.0; charset=utf-8"[..],
                );
                let mut r = tiny_http::Response::from_string(body);
                if let Ok(h) = ct {
                    r.add_header(h);
                }
                r
            } else {
                tiny_http::Response::from_string("see /metrics\n").with_status_code(404)
            };
            let _ = req.respond(resp);
        }
    }))
}
