//! One packet through decode: two bytes of link type, then the packet. The
//! packet is decoded both ways (the one-pass common case and the layers), as
//! that link type and as Ethernet, and the two must agree.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wshs_sniff::capture::LinkType;
use wshs_sniff::decode::common_case::same;
use wshs_sniff::decode::{decode, decode_fuzz_input, decode_layers, Decoded, FlowKey};

fuzz_target!(|data: &[u8]| {
    if let Decoded::Tcp(seg) = decode_fuzz_input(data) {
        let (key, _) = FlowKey::of(seg.src, seg.dst);
        let _ = key.shard_hash();
        let _ = seg.src.to_string();
    }
    let pkt = data.get(2..).unwrap_or_default();
    let wire = pkt.len() as u32;
    let given = match data {
        [a, b, ..] => LinkType(u32::from(u16::from_be_bytes([*a, *b]))),
        _ => LinkType::ETHERNET,
    };
    for link in [given, LinkType::ETHERNET] {
        let whole = decode(link, pkt, wire);
        let layers = decode_layers(link, pkt, wire);
        assert!(same(&whole, &layers), "{link:?}: {whole:?} vs {layers:?}");
    }
});
