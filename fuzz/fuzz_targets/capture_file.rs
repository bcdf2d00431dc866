//! A whole capture file (pcap or pcapng bytes) through the whole pipeline:
//! capture parsing, decode, reassembly, HTTP, classification, correlation,
//! and the JSON line of every record found.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wshs_sniff::http::HttpLimits;
use wshs_sniff::pipeline::Config;
use wshs_sniff::reassembly::Limits;

fuzz_target!(|data: &[u8]| {
    // Small limits so that eviction, caps and shedding are reached by small inputs.
    let cfg = Config {
        limits: Limits {
            max_buffer_per_direction: 4096,
            max_flows: 8,
            idle_timeout_secs: 30,
            max_total_buffered: 16 * 1024,
        },
        http: HttpLimits {
            max_head: 2048,
            ..HttpLimits::default()
        },
        workers: 1,
        tick_packets: 16,
        filter: None,
        ..Config::default()
    };
    if let Ok(a) = wshs_sniff::analyze_bytes("fuzz", data.to_vec(), &cfg) {
        // The hand-written JSON line is held to serde_json's bytes for
        // every record the pipeline makes of the input.
        for r in &a.records {
            let mut ours = Vec::new();
            wshs_sniff::report::json_line::write(&mut ours, r);
            let reference = serde_json::to_vec(r).expect("a record serializes");
            assert_eq!(ours, reference, "JSON line differs from serde_json's");
        }
        let _ = a.summary.render();
    }
});
