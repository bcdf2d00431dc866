//! The kernel filter a live capture uses by default (`cli::ANALYSED_TCP`)
//! leaves out bare ACKs. Checked on every recorded fixture: the filter drops
//! exactly the IPv4 TCP segments with no payload and no SYN, FIN or RST, keeps
//! every IP fragment, and nothing found (attempts, causes, evidence, sessions)
//! changes without them.

use std::path::{Path, PathBuf};

use wshs_sniff::capture::{or_fragments, BpfFilter, FileSource, Next, PacketSource};
use wshs_sniff::cli::ANALYSED_TCP;
use wshs_sniff::decode::{decode, Decoded};
use wshs_sniff::pipeline::Config;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    out.sort();
    assert!(out.len() > 50, "fixtures missing: {}", out.len());
    out
}

#[test]
fn the_filter_drops_exactly_the_bare_ipv4_acks() {
    let mut tcp = BpfFilter::new("tcp").expect("compiles");
    let mut analysed = BpfFilter::new(ANALYSED_TCP).expect("compiles");
    let (mut bare, mut kept) = (0u64, 0u64);
    for path in fixtures() {
        let mut src = FileSource::open(path.to_str().expect("UTF-8 path")).expect("opens");
        let mut no = 0u64;
        loop {
            let p = match src.next() {
                Ok(Next::Packet(p)) => p,
                Ok(Next::Idle | Next::Secrets(_)) => continue,
                Ok(Next::End) | Err(_) => break,
            };
            no += 1;
            // Packets the plain "tcp" filter passes (not tunnelled, not tagged
            // in the frame): the new filter may only take bare ACKs from them.
            if !tcp.matches(p.linktype, p.data).expect("applies") {
                continue;
            }
            let Decoded::Tcp(seg) = decode(p.linktype, p.data, p.orig_len) else {
                continue;
            };
            let is_bare = seg.payload.is_empty()
                && !seg.flags.syn()
                && !seg.flags.fin()
                && !seg.flags.rst()
                && seg.src.ip.is_ipv4()
                && !seg.truncated;
            let passes = analysed.matches(p.linktype, p.data).expect("applies");
            assert_eq!(
                passes,
                !is_bare,
                "{} packet {no}: bare ACK {is_bare}, filter passes {passes}",
                path.display()
            );
            if is_bare {
                bare += 1;
            } else {
                kept += 1;
            }
        }
    }
    assert!(bare > 1000 && kept > 1000, "bare {bare}, kept {kept}");
}

/// An IPv4 fragment of a TCP datagram: `offset` in 8-byte units, `payload`
/// its bytes after the IP header, in an Ethernet frame.
fn ipv4_fragment(offset: u16, more: bool, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + payload.len()) as u16;
    let flags = offset | if more { 0x2000 } else { 0 };
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0x12, 0x34]);
    f.extend_from_slice(&flags.to_be_bytes());
    f.extend_from_slice(&[64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2]);
    f.extend_from_slice(payload);
    f
}

#[test]
fn the_filter_keeps_every_fragment() {
    let mut analysed = BpfFilter::new(ANALYSED_TCP).expect("compiles");
    let mut fragments = 0;
    for path in fixtures() {
        let mut src = FileSource::open(path.to_str().expect("UTF-8 path")).expect("opens");
        loop {
            let p = match src.next() {
                Ok(Next::Packet(p)) => p,
                Ok(Next::Idle | Next::Secrets(_)) => continue,
                Ok(Next::End) | Err(_) => break,
            };
            if let Decoded::Fragment(_) = decode(p.linktype, p.data, p.orig_len) {
                fragments += 1;
                assert!(
                    analysed.matches(p.linktype, p.data).expect("applies"),
                    "{}: a fragment filtered out",
                    path.display()
                );
            }
        }
    }
    assert!(
        fragments >= 12,
        "the fragment fixture is missing: {fragments}"
    );
    // A last fragment whose 13th byte, read as a TCP data offset, makes the
    // length test come out zero: 24 bytes, 0x60 there (24 bytes of header).
    let mut payload = [0u8; 24];
    payload[12] = 0x60;
    let tail = ipv4_fragment(10, false, &payload);
    let linktype = wshs_sniff::capture::LinkType::ETHERNET;
    assert!(matches!(
        decode(linktype, &tail, tail.len() as u32),
        Decoded::Fragment(_)
    ));
    assert!(analysed.matches(linktype, &tail).expect("applies"));
    // With a user's port filter, as `-i IFACE port 80` builds it: the tail has
    // no port, yet passes (its datagram is checked once rebuilt).
    let with_port = format!("{ANALYSED_TCP} and ({})", or_fragments("port 80"));
    let mut with_port = BpfFilter::new(&with_port).expect("compiles");
    assert!(with_port.matches(linktype, &tail).expect("applies"));
    let mut without = BpfFilter::new(&format!("{ANALYSED_TCP} and (port 80)")).expect("compiles");
    assert!(!without.matches(linktype, &tail).expect("applies"));
}

#[test]
fn nothing_found_changes_without_bare_acks() {
    let mut filtered_total = 0;
    for path in fixtures() {
        let mut cfg = Config::default();
        cfg.http.sessions = true;
        if let Ok(text) = std::fs::read(path.with_extension("keylog")) {
            cfg.http.tls_keys = Some(std::sync::Arc::new(wshs_sniff::tls::KeyLog::parse(&text)));
        }
        let name = path.to_string_lossy();
        let all = wshs_sniff::analyze_files(&[&name], &cfg).expect("opens");
        cfg.filter = Some(ANALYSED_TCP.to_string());
        let some = wshs_sniff::analyze_files(&[&name], &cfg).expect("opens");
        assert_eq!(
            String::from_utf8_lossy(&all.output),
            String::from_utf8_lossy(&some.output),
            "{name}: findings differ without bare ACKs"
        );
        filtered_total += some.summary.capture.filtered_out;
    }
    assert!(filtered_total > 1000, "filtered {filtered_total}");
}
