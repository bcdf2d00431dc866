//! HTTP/2 in a capture that began after its connection did: the recorded
//! h2c connection of `fixtures/hypercorn-h2c__ok-and-origin-rejected.pcap`
//! (an accepted extended CONNECT on stream 1, an Origin refused with 403 on
//! stream 3) cut so that it starts after the client's preface. No preface
//! shows; the frames do. What stands alone is reported; what needs the
//! HPACK table the capture missed is never guessed.

mod common;

use std::path::{Path, PathBuf};

use common::run::json_lines;

const FIXTURE: &str = "fixtures/hypercorn-h2c__ok-and-origin-rejected.pcap";

/// The fixture without its first `skip` packets (a classic pcap: a 24-byte
/// file header, then records of a 16-byte header and the captured bytes).
fn cut(skip: usize) -> PathBuf {
    let bytes = std::fs::read(FIXTURE).expect("fixture");
    let mut out = bytes[..24].to_vec();
    let mut at = 24;
    let mut n = 0;
    while at + 16 <= bytes.len() {
        let incl = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        let end = at + 16 + incl;
        if n >= skip {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
        n += 1;
    }
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("h2-mid");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("from-{skip}.pcap"));
    std::fs::write(&p, out).unwrap();
    p
}

fn records(p: &Path) -> Vec<serde_json::Value> {
    json_lines(&["-r", p.to_str().unwrap(), "--json", "--all"])
}

#[test]
fn a_capture_begun_after_the_preface_still_shows_the_http2_attempt() {
    // From the client's SETTINGS acknowledgement on: stream 1's request is
    // all literals and static entries, so it reads in full.
    let recs = records(&cut(10));
    assert_eq!(recs.len(), 1, "{recs:#?}");
    let r = &recs[0];
    assert_eq!(r["http_version"], "2");
    assert_eq!(r["stream_id"], 1);
    assert_eq!(r["method"], "CONNECT");
    assert_eq!(r["status"], 200);
    assert_eq!(r["outcome"], "accepted");
    assert_eq!(
        r["client"], "127.0.0.1:40664",
        "the client is told from its request"
    );
}

#[test]
fn fields_from_the_missed_hpack_table_are_never_guessed() {
    // From just after stream 1's answer: stream 3's request names its
    // method and protocol through the dynamic table the capture missed, so
    // its 403 cannot be known for an upgrade and is not reported as one.
    let recs = records(&cut(14));
    assert!(recs.is_empty(), "{recs:#?}");
}
