//! Raw IP packets (IPv4 or IPv6, one after another, each prefixed by its
//! length) through the decoder and the defragmenter, as the capture stage
//! runs them: rebuilt datagrams are decoded again, nested fragments fed back.
//! No input may panic, and nothing may be rebuilt from bytes no fragment held.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wshs_sniff::capture::{LinkType, Timestamp};
use wshs_sniff::decode::{decode, Decoded};
use wshs_sniff::reassembly::ip_fragments::Defragmenter;

fuzz_target!(|data: &[u8]| {
    let mut d = Defragmenter::new();
    let mut rest = data;
    let mut secs = 0;
    let mut held = 0usize;
    while let [n, t, tail @ ..] = rest {
        let n = usize::from(*n) * 8;
        let (packet, after) = tail.split_at(n.min(tail.len()));
        rest = after;
        // A time step per packet, sometimes past the timeout.
        secs += i64::from(*t % 40);
        let now = Timestamp::new(secs, 0);
        let Decoded::Fragment(f) = decode(LinkType::RAW, packet, packet.len() as u32) else {
            continue;
        };
        held += f.data.len();
        let mut done = d.add(&f, now);
        for _ in 0..4 {
            let Some(dg) = done.take() else { break };
            assert!(
                dg.payload.len() <= held,
                "rebuilt more bytes than fragments held"
            );
            match dg.decode() {
                Decoded::Fragment(inner) => {
                    held += inner.data.len();
                    done = d.add(&inner, now);
                }
                Decoded::Tcp(seg) => {
                    assert!(seg.payload.len() <= dg.payload.len());
                    break;
                }
                _ => break,
            }
        }
    }
    d.finish();
});
