//! One packet through decode: two bytes of link type, then the packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wshs_sniff::decode::{decode_fuzz_input, Decoded, FlowKey};

fuzz_target!(|data: &[u8]| {
    if let Decoded::Tcp(seg) = decode_fuzz_input(data) {
        let (key, _) = FlowKey::of(seg.src, seg.dst);
        let _ = key.shard_hash();
        let _ = seg.src.to_string();
    }
});
