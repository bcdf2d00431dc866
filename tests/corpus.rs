//! Every public capture in `../shared/corpus/` (see its SOURCES.md) through the
//! whole analysis: no panic in any thread, damaged files reported with what came
//! before the damage kept, the right number of WebSocket attempts per file and
//! the outcomes that matter; and the layers below on their own: every file reads
//! to its packet count, every tunnelled link decodes down to HTTP. Skips (with a
//! message) when the folder is absent, fails then under `WSHS_SHARED_REQUIRED=1`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use wshs_sniff::capture::file::FileSource;
use wshs_sniff::decode::{decode, Decoded};
use wshs_sniff::pipeline::Config;
use wshs_sniff::report::Record;
use wshs_sniff::Analysis;

mod common;
use common::shared::shared_dir;

/// WebSocket upgrade attempts per file (SOURCES.md, "WS upgrades" column); every
/// file not listed has none.
const WS_ATTEMPTS: &[(&str, usize)] = &[
    ("zeek-websocket-firefox-kaazing-echo.pcap", 1),
    ("zeek-websocket-broker.pcap", 1),
    ("zeek-websocket-fragmented-http-reply.pcap", 1),
    ("zeek-websocket-jupyter.pcap", 1),
    ("zeek-websocket-message-too-big-status.pcap", 1),
    ("zeek-websocket-oversized-close-frame.pcapng", 1),
    ("zeek-websocket-reply-ping-coalesced.pcap", 1),
    ("zeek-websocket-reply-ping-separate.pcap", 1),
    ("zeek-websocket-two-binary-fragments.pcap", 1),
    ("zeek-websocket-wrong-accept-header.pcap", 1),
    ("zeek-websocket-wstunnel-http.pcap", 1),
    ("zeek-websocket-wstunnel-https.pcap", 1),
    ("zeek-websocket-wstunnel-ssh.pcap", 2),
    ("suricata-websocket-basic.pcap", 1),
    ("suricata-websocket-permessage-deflate.pcap", 1),
    ("suricata-websocket-control-frame-injected.pcap", 1),
    ("suricata-websocket-ping-pong-linux-sll.pcap", 1),
    ("suricata-websocket-request-unanswered.pcap", 1),
    ("arkime-websocket.pcap", 1),
    ("arkime-synthetic-mixed-with-websocket.pcap", 1),
    ("ndpi-websocket-1kxun-mixed-http.pcap", 3),
    ("ndpi-websocket-in-gtpu-qinq-port443.pcapng", 1),
    ("ndpi-websocket-in-gtpu-qinq-origin-ne-host.pcap", 1),
    ("ndpi-websocket-vmess-linux-sll.pcapng", 1),
];

/// Files that end in a broken record, with the packets that come before it
/// (SOURCES.md, "Pkts" column, "read error"). Two differ from that column:
/// in `suricata-fuzz-invalid-caplen.pcap` the second record claims 1.4 GB, so
/// one packet is kept (Wireshark guesses another pcap variant and reads two);
/// `pcapparser-pcapng-no-interface-blocks.pcapng` holds custom blocks and no
/// interface description block, so it cannot hold a packet: reported as
/// damage, as tcpdump does.
const DAMAGED: &[(&str, u64)] = &[
    ("pcapparser-pcapng-no-interface-blocks.pcapng", 0),
    ("suricata-http-truncated-file-cut-short.pcap", 2696),
    ("suricata-fuzz-invalid-caplen.pcap", 1),
    ("ndpi-fuzz-cut-short-null.pcap", 1),
    ("dpkt-truncated-file-cut-short.pcap", 1),
];

static PANICS: AtomicUsize = AtomicUsize::new(0);
static PANIC_TEXT: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Count panics in any thread: the pipeline's workers run on their own threads,
/// where a panic would otherwise only lose their findings.
fn watch_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        PANIC_TEXT.lock().unwrap().push(info.to_string());
        default(info);
    }));
}

fn corpus_files(test: &str) -> Option<Vec<PathBuf>> {
    let dir = shared_dir("corpus", test)?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    files.sort();
    Some(files)
}

fn analyse(path: &Path, workers: usize) -> Analysis {
    let cfg = Config {
        workers,
        ..Config::default()
    };
    wshs_sniff::analyze_files(&[path.to_string_lossy()], &cfg)
        .unwrap_or_else(|e| panic!("{}: does not open: {e}", path.display()))
}

fn name_of(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().to_string()
}

fn one<'a>(a: &'a Analysis, name: &str) -> &'a Record {
    assert_eq!(a.records.len(), 1, "{name}: {:#?}", a.records);
    &a.records[0]
}

#[test]
fn every_corpus_capture_is_analysed_right() {
    let Some(files) = corpus_files("every_corpus_capture_is_analysed_right") else {
        return;
    };
    assert!(
        files.len() >= 60,
        "only {} captures in the corpus",
        files.len()
    );
    watch_panics();
    let mut problems = Vec::new();
    for path in &files {
        let name = name_of(path);
        for workers in [1, 3] {
            let a = analyse(path, workers);
            let want = WS_ATTEMPTS
                .iter()
                .find(|(n, _)| *n == name)
                .map_or(0, |(_, c)| *c);
            if a.records.len() != want {
                problems.push(format!(
                    "{name} (workers {workers}): {} attempts, want {want}",
                    a.records.len()
                ));
            }
            match DAMAGED.iter().find(|(n, _)| *n == name) {
                Some((_, before)) => {
                    if a.error.is_none() {
                        problems.push(format!("{name}: damage not reported"));
                    }
                    if a.summary.capture.damage.len() != 1 {
                        problems.push(format!(
                            "{name}: damage lines {:?}, want one",
                            a.summary.capture.damage
                        ));
                    }
                    if a.summary.capture.packets != *before {
                        problems.push(format!(
                            "{name}: {} packets kept before the damage, want {before}",
                            a.summary.capture.packets
                        ));
                    }
                    if !a.summary.render().contains("damage: ") {
                        problems.push(format!("{name}: summary does not show the damage"));
                    }
                }
                None => {
                    if let Some(e) = &a.error {
                        problems.push(format!("{name}: unexpected error {e}"));
                    }
                }
            }
        }
    }
    let panics = PANICS.load(Ordering::SeqCst);
    assert_eq!(panics, 0, "panics: {:?}", PANIC_TEXT.lock().unwrap());
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn corpus(name: &str) -> Option<Analysis> {
    let p = shared_dir("corpus", name)?.join(name);
    assert!(p.is_file(), "{} is absent from the corpus", p.display());
    Some(analyse(&p, 2))
}

#[test]
fn wrong_accept_header_is_a_rejection() {
    let name = "zeek-websocket-wrong-accept-header.pcap";
    let Some(a) = corpus(name) else { return };
    let r = one(&a, name);
    assert_eq!(r.status, Some(101));
    assert_eq!(r.outcome.code(), "rejected");
    assert_eq!(r.cause.code(), "invalid-sec-websocket-accept");
}

#[test]
fn unanswered_request_has_no_status() {
    let name = "suricata-websocket-request-unanswered.pcap";
    let Some(a) = corpus(name) else { return };
    let r = one(&a, name);
    assert_ne!(r.outcome.code(), "accepted");
    assert_eq!(r.status, None);
    let json = serde_json::to_value(r).unwrap();
    assert!(json["status"].is_null(), "{json}");
}

#[test]
fn non_websocket_upgrades_are_not_attempts() {
    for name in [
        "ndpi-http-upgrade-tls-gnutella-206.pcap",
        "suricata-http-upgrade-h2c-101-bsd-loopback.pcap",
        "suricata-malformed-h2c-101-corrupted-request.pcap",
        "zeek-http-upgrade-tcp-docker-101.pcap",
    ] {
        let Some(a) = corpus(name) else { continue };
        assert!(a.records.is_empty(), "{name}: {:#?}", a.records);
    }
}

#[test]
fn kaazing_nested_handshake_is_one_101() {
    let name = "zeek-websocket-firefox-kaazing-echo.pcap";
    let Some(a) = corpus(name) else { return };
    let r = one(&a, name);
    assert_eq!(r.status, Some(101));
    assert_eq!(r.outcome.code(), "accepted");
    assert_eq!(r.cause.code(), "ok");
    // The 101 echoed inside a WebSocket frame is neither a response nor unpaired.
    assert_eq!(a.summary.http.upgrades, 1, "{:?}", a.summary.http);
}

/// Packet counts from the corpus's SOURCES.md ("Pkts"), and whether the file
/// ends in a read error.
const CORPUS_COUNTS: &[(&str, u64, bool)] = &[
    ("zeek-websocket-firefox-kaazing-echo.pcap", 27, false),
    ("zeek-websocket-oversized-close-frame.pcapng", 8, false),
    ("ndpi-websocket-in-gtpu-qinq-port443.pcapng", 120, false),
    ("ndpi-websocket-vmess-linux-sll.pcapng", 100, false),
    ("suricata-http-truncated-file-cut-short.pcap", 2696, true),
    ("suricata-fuzz-invalid-caplen.pcap", 1, true),
    ("ndpi-fuzz-cut-short-null.pcap", 1, true),
    ("dpkt-truncated-file-cut-short.pcap", 1, true),
    ("ndpi-fuzz-big-endian-http.pcap", 131, false),
    ("arkime-empty-header-only.pcap", 0, false),
    ("pcapparser-pcapng-big-endian.pcapng", 4, false),
    ("pcapparser-pcapng-no-interface-blocks.pcapng", 0, true),
    ("pcapparser-pcapng-err-buffertoosmall.pcapng", 27, false),
    ("pcapparser-pcap-modified-kuznetzov.pcap", 1, false),
    ("pcapparser-ssdp-httpu-nanosecond.pcapng", 5898, false),
    ("lwerdna-http-tzsp.pcapng", 5, false),
    (
        "zeek-http-ipv6-1000-requests-one-dropped-response.pcap",
        4102,
        false,
    ),
];

#[test]
fn corpus_files_read_to_their_packet_counts() {
    let Some(files) = corpus_files("corpus_files_read_to_their_packet_counts") else {
        return;
    };
    let mut seen = 0;
    for path in &files {
        let name = name_of(path);
        let mut src = FileSource::open(path.to_str().unwrap()).unwrap();
        assert!(src.total_len().is_some());
        let mut n = 0u64;
        let err = loop {
            match src.next_packet() {
                Ok(Some(_)) => n += 1,
                Ok(None) => break None,
                Err(e) => break Some(e),
            }
        };
        if let Some((_, want, want_err)) = CORPUS_COUNTS.iter().find(|c| c.0 == name) {
            assert_eq!(n, *want, "{name}: {err:?}");
            assert_eq!(err.is_some(), *want_err, "{name}: {err:?}");
            seen += 1;
        }
    }
    assert_eq!(seen, CORPUS_COUNTS.len());
}

/// Captures whose HTTP travels through a link layer or tunnel that needs
/// decoding: each must yield TCP segments carrying `HTTP/1.`.
const MUST_SHOW_HTTP: &[&str] = &[
    "ndpi-websocket-in-gtpu-qinq-origin-ne-host.pcap",
    "ndpi-websocket-in-gtpu-qinq-port443.pcapng",
    "suricata-websocket-ping-pong-linux-sll.pcap",
    "suricata-http-upgrade-h2c-101-bsd-loopback.pcap",
    "suricata-http-ipv6-bsd-loopback.pcap",
    "lwerdna-http-linux-sll2.pcap",
    "suricata-http-linux-sll2.pcap",
    "zeek-http-rawip4-linktype228.pcap",
    "ndpi-http-rawip-dlt101.pcap",
    "zeek-http-vxlan.pcap",
    "dpkt-http-pppoe-l2tp-ipv6.pcap",
    "arkime-http-80211-radiotap.pcap",
    "zeek-http-nflog.pcap",
    "zeek-http-mpls-in-vlan.pcap",
    "zeek-http-vlan.pcap",
    "zeek-http-vlan-qinq.pcap",
    "zeek-http-vlan-qinqinq.pcap",
    "arkime-http-ipv6.pcap",
    "ndpi-websocket-vmess-linux-sll.pcapng",
];

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn tunnelled_corpus_captures_decode_down_to_http() {
    let Some(files) = corpus_files("tunnelled_corpus_captures_decode_down_to_http") else {
        return;
    };
    let mut checked = 0;
    for path in &files {
        let name = name_of(path);
        let mut src = FileSource::open(path.to_str().unwrap()).unwrap();
        let (mut tcp, mut http, mut other, mut bad) = (0, 0, 0, 0);
        while let Ok(Some(p)) = src.next_packet() {
            match decode(p.linktype, p.data, p.orig_len) {
                Decoded::Tcp(seg) => {
                    tcp += 1;
                    if contains(seg.payload, b"HTTP/1.") {
                        http += 1;
                    }
                }
                Decoded::Malformed(_) => bad += 1,
                _ => other += 1,
            }
        }
        println!("{name}: tcp {tcp} http {http} other {other} malformed {bad}");
        if MUST_SHOW_HTTP.contains(&name.as_str()) {
            assert!(http > 0, "{name}: no HTTP/1. in TCP payloads");
            checked += 1;
        }
    }
    assert_eq!(checked, MUST_SHOW_HTTP.len());
}

#[test]
fn malformed_packets_are_counted_by_layer_with_the_first_placed() {
    let name = "suricata-fuzz-invalid-caplen.pcap";
    let Some(a) = corpus(name) else { return };
    let c = &a.summary.capture;
    assert_eq!(c.malformed, 1);
    // Ethernet (14) + IPv4 (20) + byte 12 of the TCP header.
    let (frame, m) = c.first_malformed.expect("the damaged packet");
    assert_eq!(frame, 1);
    assert_eq!(m.to_string(), "tcp at byte 46: TCP data offset below 5");
    assert!(
        a.summary.render().contains(
            "1 malformed packets (tcp 1; first: frame 1, tcp at byte 46: TCP data offset below 5)"
        ),
        "{}",
        a.summary.render()
    );
}
