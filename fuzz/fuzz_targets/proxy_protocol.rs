//! PROXY protocol headers on arbitrary bytes: a header found is never longer
//! than the bytes, and more bytes never change what a whole header was.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wshs_sniff::http::proxy_protocol::{self, Found};

fuzz_target!(|data: &[u8]| {
    match proxy_protocol::parse(data) {
        Found::Header(h, n) => {
            assert!(n <= data.len());
            assert!(h.version == 1 || h.version == 2);
            let mut longer = data.to_vec();
            longer.extend_from_slice(b"GET / HTTP/1.1\r\n\r\n");
            assert_eq!(proxy_protocol::parse(&longer), Found::Header(h, n));
        }
        Found::Partial => assert!(data.len() < 108 + 16 + usize::from(u16::MAX)),
        Found::No => {}
    }
});
