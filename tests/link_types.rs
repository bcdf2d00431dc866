//! The same packets behind every link type a capture is commonly made with:
//! each recorded fixture (Ethernet) rewritten with a Linux cooked header (SLL
//! and SLL2, what `tcpdump -i any` writes), as raw IP, and behind BSD
//! loopback headers must give exactly the attempts the Ethernet original
//! gives. The decoder takes these link types in one pass and leaves the
//! unusual to a layer-by-layer walk; this holds the two to the same answer
//! on real traffic, end to end.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;
use common::run::BIN;

const SLL: u32 = 113;
const SLL2: u32 = 276;
const RAW: u32 = 101;
const NULL: u32 = 0;
const LOOP: u32 = 108;

/// One packet's link header for `linktype`, given the Ethernet frame's
/// source address and type, or `None` if the packet cannot be written with
/// that link type (raw IP and loopback carry IP only).
fn header(linktype: u32, src_mac: &[u8], ty: [u8; 2]) -> Option<Vec<u8>> {
    let family = |v6_family: u32| match ty {
        [0x08, 0x00] => Some(2u32),
        [0x86, 0xdd] => Some(v6_family),
        _ => None,
    };
    match linktype {
        SLL => {
            let mut h = vec![0, 0, 0, 1, 0, 6];
            h.extend_from_slice(src_mac);
            h.extend_from_slice(&[0, 0]);
            h.extend_from_slice(&ty);
            Some(h)
        }
        SLL2 => {
            // Type, reserved, interface index, ARPHRD_ETHER, packet type,
            // address length, then the address padded to 8 bytes.
            let mut h = ty.to_vec();
            h.extend_from_slice(&[0, 0, 0, 0, 0, 1, 0, 1, 0, 6]);
            h.extend_from_slice(src_mac);
            h.extend_from_slice(&[0, 0]);
            Some(h)
        }
        RAW => family(0).map(|_| Vec::new()),
        // Linux's AF_INET6 in the host's order, as a Linux host writes it.
        NULL => family(10).map(|f| f.to_le_bytes().to_vec()),
        // OpenBSD's, in network order.
        LOOP => family(24).map(|f| f.to_be_bytes().to_vec()),
        _ => None,
    }
}

/// `pcap` (little-endian, Ethernet) with every frame's Ethernet header
/// replaced by `linktype`'s; `None` if some frame cannot be.
fn relinked(pcap: &[u8], linktype: u32) -> Option<Vec<u8>> {
    assert_eq!(
        pcap[..4],
        [0xd4, 0xc3, 0xb2, 0xa1],
        "not a little-endian pcap"
    );
    assert_eq!(pcap[20..24], 1u32.to_le_bytes(), "not Ethernet");
    let mut out = pcap[..20].to_vec();
    out.extend_from_slice(&linktype.to_le_bytes());
    let mut off = 24;
    while off + 16 <= pcap.len() {
        let rec = &pcap[off..off + 16];
        let caplen = u32::from_le_bytes(rec[8..12].try_into().unwrap()) as usize;
        let orig = u32::from_le_bytes(rec[12..16].try_into().unwrap()) as usize;
        let frame = &pcap[off + 16..off + 16 + caplen];
        assert!(
            frame.len() >= 14,
            "a frame shorter than its Ethernet header"
        );
        let ty = [frame[12], frame[13]];
        let link = header(linktype, &frame[6..12], ty)?;
        let body = &frame[14..];
        let caplen = link.len() + body.len();
        let orig = orig - 14 + link.len();
        out.extend_from_slice(&rec[..8]);
        out.extend_from_slice(&(caplen as u32).to_le_bytes());
        out.extend_from_slice(&(orig as u32).to_le_bytes());
        out.extend_from_slice(&link);
        out.extend_from_slice(body);
        off += 16 + frame.len();
    }
    assert_eq!(off, pcap.len(), "trailing bytes");
    Some(out)
}

fn attempts(path: &Path) -> String {
    let out = Command::new(BIN)
        .args(["-r"])
        .arg(path)
        .args(["--json", "--all"])
        .output()
        .expect("run wshs-sniff");
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn fixtures() -> Vec<PathBuf> {
    common::fixture_pcaps()
}

#[test]
fn every_fixture_gives_the_same_attempts_behind_every_link_type() {
    let dir = std::env::temp_dir().join(format!("wshs-links-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (mut compared, mut with_attempts) = (0, 0);
    for fixture in fixtures() {
        let pcap = std::fs::read(&fixture).expect("read fixture");
        let want = attempts(&fixture);
        if !want.is_empty() {
            with_attempts += 1;
        }
        for linktype in [SLL, SLL2, RAW, NULL, LOOP] {
            // Raw IP and loopback hold IP only; SLL takes any frame, so
            // every fixture is compared at least twice.
            let Some(bytes) = relinked(&pcap, linktype) else {
                assert!(linktype != SLL && linktype != SLL2);
                continue;
            };
            let path = dir.join(format!("link{linktype}.pcap"));
            std::fs::write(&path, bytes).expect("write");
            let got = attempts(&path);
            assert!(
                got == want,
                "{} behind link type {linktype}:\n{got}\nagainst Ethernet:\n{want}",
                fixture.display()
            );
            compared += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        with_attempts > 100,
        "only {with_attempts} fixtures with attempts"
    );
    assert!(compared > 400, "only {compared} comparisons");
}

/// One of the live replay's rewriting scripts, `benches/support/SCRIPT IN OUT`.
fn rewrite(script: &str, src: &Path, out: &Path) {
    let status = Command::new("python3")
        .arg(Path::new("benches/support").join(script))
        .arg(src)
        .arg(out)
        .status()
        .expect("python3 runs (the test needs it, as .ci/run installs it)");
    assert!(status.success(), "{script} failed on {}", src.display());
}

/// `benches/support/to_ethernet.py`, which makes a capture of another link
/// type replayable onto a veth pair (`benches/live_replay.sh --capture`),
/// must give back Ethernet frames carrying the same attempts: a live run is
/// compared with the offline read of what was replayed.
#[test]
fn the_replay_converter_turns_every_link_type_into_the_same_ethernet_attempts() {
    let dir = std::env::temp_dir().join(format!("wshs-to-enet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut compared = 0;
    for fixture in fixtures().iter().step_by(7) {
        let pcap = std::fs::read(fixture).expect("read fixture");
        let want = attempts(fixture);
        for linktype in [SLL, SLL2, RAW, NULL, LOOP] {
            let Some(bytes) = relinked(&pcap, linktype) else {
                continue;
            };
            let src = dir.join(format!("in{linktype}.pcap"));
            let out = dir.join(format!("out{linktype}.pcap"));
            std::fs::write(&src, bytes).expect("write");
            rewrite("to_ethernet.py", &src, &out);
            let converted = std::fs::read(&out).expect("converted capture");
            assert_eq!(converted[20..24], 1u32.to_le_bytes(), "not Ethernet");
            let got = attempts(&out);
            assert!(
                got == want,
                "{} from link type {linktype} through to_ethernet.py:\n{got}\nagainst the original:\n{want}",
                fixture.display()
            );
            compared += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(compared > 40, "only {compared} comparisons");
}

/// The IPv4 source and destination of every frame of an Ethernet pcap
/// (little-endian), with whether its header checksum holds.
fn ipv4_ends(pcap: &[u8]) -> Vec<([u8; 4], [u8; 4], bool)> {
    let mut out = Vec::new();
    let mut off = 24;
    while off + 16 <= pcap.len() {
        let caplen = u32::from_le_bytes(pcap[off + 8..off + 12].try_into().unwrap()) as usize;
        let f = &pcap[off + 16..off + 16 + caplen];
        if f.len() >= 34 && f[12..14] == [8, 0] {
            let ihl = usize::from(f[14] & 15) * 4;
            let mut sum: u32 = f[14..14 + ihl]
                .chunks(2)
                .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
                .sum();
            while sum >> 16 != 0 {
                sum = (sum & 0xffff) + (sum >> 16);
            }
            let src: [u8; 4] = f[26..30].try_into().unwrap();
            let dst: [u8; 4] = f[30..34].try_into().unwrap();
            out.push((src, dst, sum == 0xffff));
        }
        off += 16 + caplen;
    }
    out
}

/// `benches/support/to_loopback.py`, the live replay's address rewrite, on
/// `cap`: the addresses of its frames, in order.
fn to_loopback(cap: &common::Cap, name: &str) -> Vec<([u8; 4], [u8; 4], bool)> {
    let dir = std::env::temp_dir().join(format!("wshs-lo-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (src, out) = (dir.join("in.pcap"), dir.join("out.pcap"));
    std::fs::write(&src, &cap.buf).expect("write");
    rewrite("to_loopback.py", &src, &out);
    let ends = ipv4_ends(&std::fs::read(&out).expect("rewritten capture"));
    let _ = std::fs::remove_dir_all(&dir);
    ends
}

/// Two hosts whose addresses share their low 24 bits (10.0.2.14 and
/// 192.0.2.14, which the single /8 rule made one) stay two; with few
/// networks each /16 gets a 127.N/16 and the low 16 bits stay; with more
/// than 256, hosts are numbered, still one address each.
#[test]
fn the_replay_address_rewrite_keeps_hosts_apart() {
    let mut cap = common::Cap::new();
    let (a, b, c) = (
        ([10, 0, 2, 14], 20000),
        ([192, 0, 2, 14], 443),
        ([192, 0, 2, 34], 80),
    );
    cap.tcp(a, b, 1, 0, common::SYN, b"");
    cap.tcp(b, c, 1, 0, common::SYN, b"");
    assert_eq!(
        to_loopback(&cap, "few"),
        [
            ([127, 0, 2, 14], [127, 1, 2, 14], true),
            ([127, 1, 2, 14], [127, 1, 2, 34], true),
        ]
    );

    let mut cap = common::Cap::new();
    for n in 0..300u16 {
        let [hi, lo] = n.to_be_bytes();
        cap.tcp(
            ([20 + hi, lo, 2, 14], 20000),
            ([192, 0, 2, 14], 443),
            1,
            0,
            common::SYN,
            b"",
        );
    }
    let ends = to_loopback(&cap, "many");
    let hosts: std::collections::BTreeSet<[u8; 4]> =
        ends.iter().flat_map(|&(s, d, _)| [s, d]).collect();
    assert_eq!(hosts.len(), 301, "one loopback address per host");
    assert!(hosts.iter().all(|h| h[0] == 127), "all in 127/8");
    assert!(ends.iter().all(|e| e.2), "IPv4 header checksums hold");
}
