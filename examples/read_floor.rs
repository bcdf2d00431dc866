//! The reading floor: walk every record of a capture file with wshs-sniff's own
//! reader (mapped windows, record parsing) and do nothing else.
//!
//! ```text
//! cargo run --release --example read_floor -- [--decode] FILE
//! ```
//!
//! `benches/compare.sh` runs it beside the libpcap read loop and the full
//! analysis, so the cost of reading and the cost of analysis show apart.
//! Prints `PACKETS packets BYTES bytes` (captured bytes), like the libpcap
//! floor. With `--decode` it also decodes every packet to its TCP segment (the
//! rest of what the capture thread does before handing packets over), so the
//! cost of decoding shows apart from reading's and analysis's.

use std::process::ExitCode;

use wshs_sniff::capture::FileSource;
use wshs_sniff::decode::Decoded;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let (decode, path) = match (args.next(), args.next(), args.next()) {
        (Some(flag), Some(path), None) if flag == "--decode" => (true, path),
        (Some(path), None, None) => (false, path),
        _ => {
            eprintln!("usage: read_floor [--decode] FILE");
            return ExitCode::from(1);
        }
    };
    // Files are mapped under the guard, as the binary maps them.
    wshs_sniff::capture::mapped::install_guard();
    let mut src = match FileSource::open(&path) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("read_floor: {e}");
            return ExitCode::from(1);
        }
    };
    let (mut packets, mut bytes, mut tcp, mut payload) = (0u64, 0u64, 0u64, 0u64);
    loop {
        match src.next_packet() {
            Ok(Some(p)) => {
                packets += 1;
                bytes += p.data.len() as u64;
                if decode {
                    if let Decoded::Tcp(seg) =
                        wshs_sniff::decode::decode(p.linktype, p.data, p.orig_len)
                    {
                        tcp += 1;
                        payload += seg.payload.len() as u64;
                    }
                }
            }
            Ok(None) => break,
            Err(e) => {
                eprintln!("read_floor: {e}");
                return ExitCode::from(1);
            }
        }
    }
    println!("{packets} packets {bytes} bytes");
    if decode {
        println!("{tcp} TCP segments {payload} payload bytes");
    }
    ExitCode::SUCCESS
}
