//! The stream harness of the `stream_http` fuzz target (which includes this
//! file), shared with the regression tests that replay its crash inputs. It
//! drives the shipped [`FlowAnalyzer`], as the flow workers do.

use std::net::{IpAddr, Ipv4Addr};

use wshs_sniff::analyzer::{FlowAnalyzer, Segment};
use wshs_sniff::capture::Timestamp;
use wshs_sniff::classify::correlate::Correlator;
use wshs_sniff::decode::{Endpoint, FlowKey, TcpFlags};
use wshs_sniff::http::HttpLimits;
use wshs_sniff::reassembly::Limits;
use wshs_sniff::report::Record;

/// A harness flag, not TCP's: the flow table sheds this flow's buffers.
const SHED: u8 = 0x80;

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
        sessions: hdr[3] & 0x80 != 0,
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
    let mut analyzer = FlowAnalyzer::new(limits, http);
    let (key, _) = FlowKey::of(ends[0], ends[1]);
    // Next sequence number each direction would send in order.
    let mut cursor = isn;
    let mut no = 0u64;
    while rest.len() >= 5 {
        let flags = rest[0];
        let d = usize::from(rest[1] & 1);
        let jitter = i32::from(i16::from_be_bytes([rest[2], rest[3]]));
        let len = usize::from(rest[4]).min(rest.len() - 5);
        let payload = &rest[5..5 + len];
        rest = &rest[5 + len..];
        no += 1;
        // Mostly near the in-order point; the jitter moves segments back and forth.
        let seq = cursor[d].wrapping_add(jitter as u32);
        if jitter == 0 {
            cursor[d] = cursor[d].wrapping_add(len as u32);
        }
        analyzer.segment(&Segment {
            no,
            // 20 ms apart: a segment held for the bytes it acknowledges
            // waits through a few packets (see reassembly::early).
            ts: Timestamp::new(1_000 + (no / 50) as i64, (no % 50) as u32 * 20_000_000),
            src: ends[d],
            dst: ends[1 - d],
            seq,
            // Near what the other side sent, so acknowledgements land below,
            // inside and above its holes.
            ack: (flags & TcpFlags::ACK != 0).then(|| cursor[1 - d].wrapping_add(jitter as u32)),
            flags: TcpFlags(flags & !SHED),
            payload,
        });
        if flags & SHED != 0 {
            analyzer.shed_streams(&key);
        }
    }
    analyzer.advance(Timestamp::new(1_000_000, 0), u64::MAX);
    analyzer.finish();
    let attempts = analyzer.take_attempts();
    let tls = analyzer.take_tls();
    let sids = analyzer.take_sids();
    let connects = analyzer.take_connects();

    let mut correlator = Correlator::new();
    for t in tls {
        correlator.note_tls(t);
    }
    for f in connects {
        correlator.note_connect(f);
    }
    for s in sids {
        correlator.note_sid(s);
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
