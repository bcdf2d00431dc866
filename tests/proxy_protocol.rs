//! A load balancer that sends the PROXY protocol, seen from the server's
//! host: the recorded fixtures with the client's connections to the
//! balancer left out, as a capture on a host the balancer is not on holds
//! them. The header names the other leg of each attempt.

use std::path::{Path, PathBuf};

use etherparse::{NetSlice, SlicedPacket, TransportSlice};

/// `src` with only the packets to or from TCP `port`, written beside the
/// system's temporary files.
fn only_port(src: &Path, port: u16) -> PathBuf {
    let bytes = std::fs::read(src).expect("fixture");
    assert_eq!(
        &bytes[..4],
        &0xa1b2_c3d4u32.to_le_bytes(),
        "a little-endian pcap"
    );
    let mut out = bytes[..24].to_vec();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let caplen =
            u32::from_le_bytes(bytes[at + 8..at + 12].try_into().expect("4 bytes")) as usize;
        let record = &bytes[at..at + 16 + caplen];
        let packet = SlicedPacket::from_ethernet(&record[16..]).expect("an Ethernet frame");
        let keep = matches!(
            (&packet.net, &packet.transport),
            (Some(NetSlice::Ipv4(_)), Some(TransportSlice::Tcp(t)))
                if t.source_port() == port || t.destination_port() == port
        );
        if keep {
            out.extend_from_slice(record);
        }
        at += 16 + caplen;
    }
    let name = format!(
        "wshs-sniff-{}-{}-{port}.pcap",
        std::process::id(),
        src.file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("capture")
    );
    let path = std::env::temp_dir().join(name);
    std::fs::write(&path, out).expect("write the filtered capture");
    path
}

/// (client, leg, peer, cause) of each attempt `wshs-sniff` finds in `pcap`.
fn attempts(pcap: &Path) -> Vec<(String, String, Option<String>, String)> {
    let cfg = wshs_sniff::pipeline::Config::default();
    let a = wshs_sniff::analyze_files(&[pcap.to_string_lossy()], &cfg).expect("capture opens");
    let _ = std::fs::remove_file(pcap);
    a.records
        .iter()
        .map(|r| {
            (
                r.client.clone(),
                r.leg.to_string(),
                r.peer.clone(),
                r.cause.code().to_string(),
            )
        })
        .collect()
}

#[test]
fn a_backend_leg_behind_the_proxy_protocol_is_paired_with_the_balancers_client() {
    let fixture = Path::new("fixtures/haproxy-proxy-protocol__node-ws.pcap");
    let whole = attempts(&only_port(fixture, 18402));
    assert_eq!(whole.len(), 1, "{whole:?}");
    let (_, leg, peer, cause) = &whole[0];
    assert_eq!(leg, "backend");
    assert_eq!(cause, "unexpected-proxy-protocol");
    // The client's connection to HAProxy, as the full capture shows it.
    let full = attempts(&only_port(fixture, 18492));
    assert_eq!(full.len(), 1, "{full:?}");
    assert_eq!(
        peer.as_deref(),
        Some(format!("{}>127.0.0.1:18492", full[0].0).as_str())
    );
}

#[test]
fn a_client_that_bypasses_the_balancer_is_told_apart_from_its_legs() {
    let fixture = Path::new("fixtures/haproxy-proxy-protocol-expected__nginx-proxy-protocol.pcap");
    let seen = attempts(&only_port(fixture, 18494));
    let legs: Vec<(&str, &str)> = seen
        .iter()
        .map(|(_, l, _, c)| (l.as_str(), c.as_str()))
        .collect();
    assert_eq!(
        legs,
        [("backend", "ok"), ("direct", "missing-proxy-protocol")]
    );
    assert!(
        seen[0]
            .2
            .as_deref()
            .is_some_and(|p| p.ends_with(">127.0.0.1:18495")),
        "{seen:?}"
    );
}
