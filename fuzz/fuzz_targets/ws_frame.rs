//! WebSocket frame headers and close payloads on arbitrary bytes: the parsed
//! header must agree with the length the first two bytes announce.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wshs_sniff::http::ws_frame;

fuzz_target!(|data: &[u8]| {
    let need = ws_frame::header_len(data);
    match ws_frame::parse_header(data) {
        Some(h) => {
            assert_eq!(h.header_len, need);
            assert!(need <= data.len());
            if h.is_close() && h.payload_len <= ws_frame::MAX_CONTROL_PAYLOAD {
                let end = (need + h.payload_len as usize).min(data.len());
                let payload = &data[need..end];
                // What the analysis takes for a close is what the plain
                // reading of the payload says.
                if let Some(valid) = ws_frame::valid_close(payload) {
                    assert_eq!(valid, ws_frame::close_reason(payload));
                }
            }
        }
        None => assert!(data.len() < need),
    }
});
