//! A byte stream cut into arbitrary segments, with arbitrary sequence numbers,
//! flags and directions, through per-direction reassembly and the HTTP
//! conversation, wired as the flow workers wire them; the attempts found are
//! then classified, correlated and turned into output records.
//!
//! Input layout: a 4-byte header (two initial sequence numbers' low bytes and
//! a limits selector), then records of
//! `[flags, dir+jitter, seq offset (2 bytes, signed), len (1 byte)]` followed by
//! `len` payload bytes taken from the remaining input.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "../../tests/common/stream_harness.rs"]
mod stream_harness;

fuzz_target!(|data: &[u8]| stream_harness::run(data));
