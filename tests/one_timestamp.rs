//! Captures whose packets all carry one timestamp: what a generator writes
//! when it does not model time, and what a coarse clock gives a burst. The
//! two legs of a proxied attempt were told apart by their times alone, and
//! with equal times by their client addresses, which named the proxy's own
//! request the client's whenever its port sorted first; a TLS connection to
//! a proxy, or the proxy's HTTP/2 connection to its backend, was matched to
//! an attempt by time alone too. Every recorded fixture must keep the same
//! findings, legs and peers included, with its times flattened, but those
//! whose finding is a time: how long after its 101 a session ended.

use std::path::Path;

use serde_json::Value;

mod common;
use common::run::json_lines;

/// `pcap` (classic, either byte order) with every record stamped
/// `secs`.0 seconds.
fn flattened(pcap: &[u8], secs: u32) -> Vec<u8> {
    let little = match pcap[..4] {
        [0xd4, 0xc3, 0xb2, 0xa1] | [0x4d, 0x3c, 0xb2, 0xa1] => true,
        [0xa1, 0xb2, 0xc3, 0xd4] | [0xa1, 0xb2, 0x3c, 0x4d] => false,
        _ => panic!("not a classic pcap"),
    };
    let u32_at = |b: &[u8]| {
        let b: [u8; 4] = b.try_into().expect("4 bytes");
        if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let put = |x: u32| {
        if little {
            x.to_le_bytes()
        } else {
            x.to_be_bytes()
        }
    };
    let mut out = pcap[..24].to_vec();
    let mut off = 24;
    while off + 16 <= pcap.len() {
        let caplen = u32_at(&pcap[off + 8..off + 12]) as usize;
        out.extend_from_slice(&put(secs));
        out.extend_from_slice(&put(0));
        out.extend_from_slice(&pcap[off + 8..off + 16 + caplen]);
        off += 16 + caplen;
    }
    assert_eq!(off, pcap.len(), "trailing bytes");
    out
}

/// What must not depend on the times: who talked to whom, the verdict, and
/// which leg of a proxy each attempt is.
fn findings(path: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        json_lines(&["-r", path.to_str().expect("UTF-8 path"), "--json", "--all"])
            .iter()
            .map(|r| {
                let f = |k: &str| r.get(k).cloned().unwrap_or(Value::Null).to_string();
                [
                    "client", "server", "target", "status", "outcome", "cause", "header", "leg",
                    "peer",
                ]
                .map(f)
                .join(" ")
            })
            .collect();
    v.sort();
    v
}

#[test]
fn findings_keep_their_legs_and_peers_when_every_packet_has_one_time() {
    let dir = std::env::temp_dir().join(format!("wshs-one-ts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let fixtures = common::fixture_pcaps();
    let (mut compared, mut proxied) = (0, 0);
    for fixture in &fixtures {
        let name = fixture.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with("sessions__") {
            continue;
        }
        let want = findings(fixture);
        compared += 1;
        if want
            .iter()
            .any(|l| l.contains("\"client\"") || l.contains("\"backend\""))
        {
            proxied += 1;
        }
        let flat = dir.join("flat.pcap");
        let pcap = std::fs::read(fixture).expect("read fixture");
        std::fs::write(&flat, flattened(&pcap, 1_700_000_000)).expect("write");
        let got = findings(&flat);
        assert!(
            got == want,
            "{} with one timestamp:\n{}\nagainst its own times:\n{}",
            fixture.display(),
            got.join("\n"),
            want.join("\n")
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(compared >= 150, "only {compared} fixtures compared");
    assert!(proxied >= 20, "only {proxied} fixtures with proxy legs");
}
