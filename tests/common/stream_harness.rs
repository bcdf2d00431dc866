//! The stream harness of the `stream_http` fuzz target (which includes this
//! file), shared with the regression tests that replay its crash inputs.

use std::net::{IpAddr, Ipv4Addr};

use wshs_sniff::capture::Timestamp;
use wshs_sniff::classify::correlate::Correlator;
use wshs_sniff::decode::{BySide, Endpoint, Side};
use wshs_sniff::http::conversation::Sink;
use wshs_sniff::http::{Conversation, Ending, HttpLimits, HttpStats};
use wshs_sniff::reassembly::{Limits, ReassemblyStats, Stream};
use wshs_sniff::report::Record;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const ACK: u8 = 0x10;

/// Run one input; panics are the bugs looked for.
pub fn run(data: &[u8]) {
    if data.len() < 4 {
        return;
    }
    let (hdr, mut rest) = data.split_at(4);
    let isn = [
        u32::from(hdr[0])
            .wrapping_mul(0x0101_0101)
            .wrapping_add(0xffff_ff00),
        u32::from(hdr[1]).wrapping_mul(0x0100_0001),
    ];
    let limits = Limits {
        max_buffer_per_direction: 64 + usize::from(hdr[2]) * 16,
        max_flows: 4,
        idle_timeout_secs: 60,
        max_total_buffered: 1 << 16,
    };
    let http = HttpLimits {
        max_head: 64 + usize::from(hdr[3]) * 8,
        max_pending_attempts: 1 + usize::from(hdr[3] % 8),
        ..Default::default()
    };
    let ends = [
        Endpoint {
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            port: 40000,
        },
        Endpoint {
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            port: 80,
        },
    ];
    let mut dirs: BySide<Stream> = BySide::default();
    let mut conv = Conversation::default();
    let mut attempts = Vec::new();
    let mut tls = Vec::new();
    let mut sids = Vec::new();
    let mut http_stats = HttpStats::default();
    let mut stats = ReassemblyStats::default();
    // Next sequence number each direction would send in order.
    let mut cursor = isn;
    let mut no = 0u64;
    while rest.len() >= 5 {
        let flags = rest[0];
        let d = if rest[1] & 1 == 0 { Side::Lo } else { Side::Hi };
        let jitter = i32::from(i16::from_be_bytes([rest[2], rest[3]]));
        let len = usize::from(rest[4]).min(rest.len() - 5);
        let payload = &rest[5..5 + len];
        rest = &rest[5 + len..];
        no += 1;
        let ts = Timestamp::new(1_000 + no as i64, 0);
        let (syn, ack, fin, rst) = (
            flags & SYN != 0,
            flags & ACK != 0,
            flags & FIN != 0,
            flags & RST != 0,
        );
        // Mostly near the in-order point; the jitter moves segments back and forth.
        let seq = cursor[d.index()].wrapping_add(jitter as u32);
        if jitter == 0 {
            cursor[d.index()] = cursor[d.index()].wrapping_add(len as u32);
        }
        let mut sink = Sink {
            attempts: &mut attempts,
            tls: &mut tls,
            sids: &mut sids,
            stats: &mut http_stats,
            limits: &http,
            packet_no: no,
        };
        conv.note_packet(d, ends[d.index()], ends[d.other().index()], syn, ack);
        if syn {
            dirs[d].syn(seq);
        }
        let seq = if syn { seq.wrapping_add(1) } else { seq };
        if !payload.is_empty() || fin {
            dirs[d].push(seq, payload, fin, &limits, &mut stats, &mut |c| {
                conv.on_chunk(d, c, ts, &mut sink)
            });
        }
        if rst {
            for (i, dir) in dirs.sides_mut() {
                dir.flush(&mut stats, &mut |c| conv.on_chunk(i, c, ts, &mut sink));
            }
            conv.on_reset(d, ts, &mut sink);
            break;
        } else if conv.is_upgraded() {
            for dir in dirs.iter_mut() {
                if !dir.is_discarding() {
                    dir.discard();
                }
            }
        }
        if flags & 0x80 != 0 {
            // Memory pressure: the flow table sheds this flow's buffers.
            for dir in dirs.iter_mut() {
                dir.shed();
            }
        }
        if conv.is_finished() {
            break;
        }
    }
    let ts = Timestamp::new(1_000_000, 0);
    let mut sink = Sink {
        attempts: &mut attempts,
        tls: &mut tls,
        sids: &mut sids,
        stats: &mut http_stats,
        limits: &http,
        packet_no: u64::MAX,
    };
    for (i, dir) in dirs.sides_mut() {
        dir.flush(&mut stats, &mut |c| conv.on_chunk(i, c, ts, &mut sink));
    }
    conv.finish(Ending::CaptureEnded, &mut sink);

    let mut correlator = Correlator::new();
    for t in tls {
        correlator.note_tls(t);
    }
    let mut judged = Vec::new();
    for a in attempts {
        judged.extend(correlator.push(a));
    }
    judged.extend(correlator.release(None));
    for j in &judged {
        for redact in [true, false] {
            let r = Record::new(j, redact);
            let _ = serde_json::to_string(&r);
        }
    }
}
