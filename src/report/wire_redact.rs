//! Secrets masked in the packets `--write-rejected` copies, since that file is
//! meant to be handed to a colleague: `Cookie`, `Authorization` and
//! `Proxy-Authorization` values and query-string credentials, wherever a
//! request carries them, and the secret strings of the connection's attempts
//! wherever else they appear (a server echoing the cookie in its error body).
//!
//! Masking keeps every length, so sequence numbers still hold and the file
//! reassembles as the original did; the TCP checksum is updated for the
//! changed bytes (RFC 1624), so a packet whose checksum was right stays right.

use std::collections::HashMap;

use super::redact::is_secret_param;
use crate::decode::{FlowKey, Side, TcpSegment};

/// What masked bytes become.
pub const MASK_BYTE: u8 = b'*';

/// Where a direction's scan of header lines stands between bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// At the start of a line, or inside its first word (in `Scanner::word`).
    Line,
    /// In the rest of a line of no interest.
    Rest,
    /// In a `Cookie` value (`in_value`: after a `=`, before the next `;`).
    Cookie {
        in_value: bool,
    },
    /// In an `Authorization` value: every byte but spaces is masked.
    Credentials,
    /// In a request target: its path, a query key (in `word`), a value of no
    /// interest, or the fragment.
    Path,
    QueryKey,
    QueryValue {
        secret: bool,
    },
    Fragment,
}

/// The scan of one direction of one connection.
#[derive(Debug, Clone)]
struct Scanner {
    at: At,
    word: Vec<u8>,
    /// Sequence number the scan continues at; a segment elsewhere (a copy, an
    /// out-of-order segment) is scanned from a fresh line only if it starts
    /// the stream (at `first_seq`), else from the middle of an unknown line.
    next_seq: u32,
    first_seq: u32,
}

/// Longest header name or query key looked at.
const MAX_WORD: usize = 64;

impl Scanner {
    /// A scan from the start of a stream, or from the first segment a capture
    /// picked up mid-way (most often a message start too).
    fn new(seq: u32) -> Self {
        Scanner {
            at: At::Line,
            word: Vec::new(),
            next_seq: seq,
            first_seq: seq,
        }
    }

    fn restart(&mut self, at: At) {
        self.at = at;
        self.word.clear();
    }

    /// Mask what `bytes` hold of secret header values and query credentials.
    fn mask(&mut self, bytes: &mut [u8]) {
        for b in bytes.iter_mut() {
            let c = *b;
            if c == b'\n' {
                self.restart(At::Line);
                continue;
            }
            match self.at {
                At::Line => match c {
                    b':' => {
                        let name = self.word.to_ascii_lowercase();
                        self.restart(match name.as_slice() {
                            b"cookie" => At::Cookie { in_value: false },
                            b"authorization" | b"proxy-authorization" => At::Credentials,
                            _ => At::Rest,
                        });
                    }
                    b' ' => {
                        let method = crate::http::head::looks_like_method(&self.word);
                        self.restart(if method { At::Path } else { At::Rest });
                    }
                    _ if self.word.len() < MAX_WORD => self.word.push(c),
                    _ => self.restart(At::Rest),
                },
                At::Rest => {}
                At::Cookie { in_value } => match c {
                    b'\r' => self.at = At::Rest,
                    b';' => self.at = At::Cookie { in_value: false },
                    b'=' if !in_value => self.at = At::Cookie { in_value: true },
                    b' ' => {}
                    _ if in_value => *b = MASK_BYTE,
                    _ => {}
                },
                At::Credentials => match c {
                    b'\r' => self.at = At::Rest,
                    b' ' | b'\t' => {}
                    _ => *b = MASK_BYTE,
                },
                At::Path | At::QueryKey | At::QueryValue { .. } | At::Fragment => {
                    self.target_byte(b);
                }
            }
        }
    }

    fn target_byte(&mut self, b: &mut u8) {
        let c = *b;
        match (self.at, c) {
            (_, b' ' | b'\r') => self.restart(At::Rest),
            (At::Fragment, _) => {}
            (_, b'#') => self.restart(At::Fragment),
            (At::Path, b'?') | (At::QueryKey | At::QueryValue { .. }, b'&') => {
                self.restart(At::QueryKey)
            }
            (At::Path, _) => {}
            (At::QueryKey, b'=') => {
                let secret = std::str::from_utf8(&self.word).is_ok_and(is_secret_param);
                self.restart(At::QueryValue { secret });
            }
            (At::QueryKey, _) if self.word.len() < MAX_WORD => self.word.push(c),
            (At::QueryValue { secret: true }, _) => *b = MASK_BYTE,
            _ => {}
        }
    }
}

/// Masks the packets of the connections being written, one after the other.
/// A direction's scan lives from the SYN-ACK (which tells both directions'
/// first sequence numbers) or its first payload, to its FIN or the
/// connection's RST: a copy of a whole capture (`--annotate`) holds scans
/// only for open connections, none for a flood of bare SYNs.
#[derive(Debug, Default)]
pub struct WireRedactor {
    scans: HashMap<(FlowKey, Side), Scanner>,
}

impl WireRedactor {
    /// Mask the payload of `seg`, at `payload_at` in `packet` (a copy of the
    /// captured bytes it was decoded from), in place, with `secrets` the
    /// strings the connection's attempts carried; fix the TCP checksum.
    /// Returns whether a byte changed.
    pub fn mask_packet(
        &mut self,
        packet: &mut [u8],
        seg: &TcpSegment<'_>,
        payload_at: usize,
        secrets: &[Vec<u8>],
    ) -> bool {
        // A SYN-ACK's own payload (rare, TCP Fast Open) is scanned after it
        // set the scans up; a FIN's before it ends them.
        if seg.flags.syn() {
            self.observe(seg);
            return self.mask_payload(packet, seg, payload_at, secrets);
        }
        let changed = self.mask_payload(packet, seg, payload_at, secrets);
        self.observe(seg);
        changed
    }

    /// Note a segment's flags (for one without payload, or not copied): a
    /// SYN-ACK starts both directions' scans at their first data bytes, a FIN
    /// or RST ends the scans it closes.
    pub fn observe(&mut self, seg: &TcpSegment<'_>) {
        let (key, side) = FlowKey::of(seg.src, seg.dst);
        if seg.flags.rst() {
            self.scans.remove(&(key, side));
            self.scans.remove(&(key, side.other()));
        } else if seg.flags.fin() {
            self.scans.remove(&(key, side));
        } else if seg.flags.syn() && seg.flags.ack() {
            let ours = seg.seq.wrapping_add(1);
            self.scans.insert((key, side), Scanner::new(ours));
            self.scans
                .insert((key, side.other()), Scanner::new(seg.ack));
        }
    }

    fn mask_payload(
        &mut self,
        packet: &mut [u8],
        seg: &TcpSegment<'_>,
        payload_at: usize,
        secrets: &[Vec<u8>],
    ) -> bool {
        let len = seg.payload.len();
        if len == 0 || payload_at + len > packet.len() {
            return false;
        }
        let data_seq = seg.seq.wrapping_add(u32::from(seg.flags.syn()));
        let scan = self
            .scans
            .entry(FlowKey::of(seg.src, seg.dst))
            .or_insert_with(|| Scanner::new(data_seq));
        let off = payload_at;
        let before = packet[off..off + len].to_vec();
        let payload = &mut packet[off..off + len];
        if data_seq != scan.next_seq {
            let from_start = scan.first_seq == data_seq;
            scan.restart(if from_start { At::Line } else { At::Rest });
        }
        scan.mask(payload);
        scan.next_seq = data_seq.wrapping_add(len as u32);
        mask_known(payload, secrets);
        if payload == before.as_slice() {
            return false;
        }
        if let Some(at) = checksum_offset(packet, off, seg) {
            let old = u16::from_be_bytes([packet[at], packet[at + 1]]);
            let new = updated_checksum(old, &before, &packet[off..off + len]);
            packet[at..at + 2].copy_from_slice(&new.to_be_bytes());
        }
        true
    }
}

/// Shortest piece of a known secret masked where a packet cuts it.
const MIN_CUT_SECRET: usize = 8;

/// Mask every occurrence of the known secrets, and the piece of one that a
/// packet boundary cuts (its start at the end of the payload, or its end at
/// the start).
fn mask_known(payload: &mut [u8], secrets: &[Vec<u8>]) {
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        let hits: Vec<usize> = memchr::memmem::find_iter(payload, s).collect();
        for i in hits {
            payload[i..i + s.len()].fill(MASK_BYTE);
        }
        let longest = (s.len() - 1).min(payload.len());
        if let Some(n) = (MIN_CUT_SECRET..=longest)
            .rev()
            .find(|&n| payload.ends_with(&s[..n]))
        {
            let from = payload.len() - n;
            payload[from..].fill(MASK_BYTE);
        }
        if let Some(n) = (MIN_CUT_SECRET..=longest)
            .rev()
            .find(|&n| payload.starts_with(&s[s.len() - n..]))
        {
            payload[..n].fill(MASK_BYTE);
        }
    }
}

/// Where the TCP checksum of the segment whose payload starts at `payload_at`
/// lies: its header is the one just before the payload whose data offset,
/// ports and sequence number match the segment.
fn checksum_offset(packet: &[u8], payload_at: usize, seg: &TcpSegment<'_>) -> Option<usize> {
    (5..=15usize).find_map(|words| {
        let start = payload_at.checked_sub(words * 4)?;
        let h = packet.get(start..start + 20)?;
        let fits = usize::from(h[12] >> 4) == words
            && h[0..2] == seg.src.port.to_be_bytes()
            && h[2..4] == seg.dst.port.to_be_bytes()
            && h[4..8] == seg.seq.to_be_bytes();
        fits.then_some(start + 16)
    })
}

/// The checksum after `old_bytes` became `new_bytes` (RFC 1624, eqn. 3:
/// HC' = ~(~HC + ~m + m')). The payload starts at an even offset of the TCP
/// header, so its 16-bit words are the checksum's words.
fn updated_checksum(checksum: u16, old_bytes: &[u8], new_bytes: &[u8]) -> u16 {
    let word = |c: &[u8]| u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)]);
    let mut sum = u32::from(!checksum);
    for (o, n) in old_bytes.chunks(2).zip(new_bytes.chunks(2)) {
        let (o, n) = (word(o), word(n));
        if o != n {
            sum += u32::from(!o) + u32::from(n);
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(parts: &[&[u8]]) -> Vec<u8> {
        let mut s = Scanner::new(0);
        let mut out = Vec::new();
        for p in parts {
            let mut b = p.to_vec();
            s.mask(&mut b);
            out.extend_from_slice(&b);
        }
        out
    }

    const REQ: &[u8] = b"GET /ws?room=1&token=s3cret&x=2#f HTTP/1.1\r\nHost: h\r\nCookie: a=b1; sid=xyz\r\nAuthorization: Bearer abc.def\r\nX-Token: keep\r\n\r\n";
    const MASKED: &[u8] = b"GET /ws?room=1&token=******&x=2#f HTTP/1.1\r\nHost: h\r\nCookie: a=**; sid=***\r\nAuthorization: ****** *******\r\nX-Token: keep\r\n\r\n";

    #[test]
    fn header_values_and_query_credentials_are_masked_at_the_same_length() {
        assert_eq!(scan_all(&[REQ]), MASKED);
    }

    #[test]
    fn masking_does_not_depend_on_where_segments_are_cut() {
        for cut in 1..REQ.len() {
            let (a, b) = REQ.split_at(cut);
            assert_eq!(scan_all(&[a, b]), MASKED, "cut at {cut}");
        }
    }

    #[test]
    fn known_secrets_are_masked_anywhere_and_where_cut() {
        let secrets = vec![b"c00kieS3CRETvalue".to_vec()];
        let mut body = b"seen: session=c00kieS3CRETvalue; and c00kieS3CR".to_vec();
        mask_known(&mut body, &secrets);
        assert_eq!(
            &body[..],
            &b"seen: session=*****************; and **********"[..]
        );
        let mut next = b"ETvalue and more".to_vec();
        mask_known(&mut next, &[b"c00kieS3CRETvalue".to_vec()]);
        // Only cut pieces of at least MIN_CUT_SECRET bytes are recognised.
        assert_eq!(&next[..], b"ETvalue and more");
        let mut next = b"S3CRETvalue and more".to_vec();
        mask_known(&mut next, &secrets);
        assert_eq!(&next[..], b"*********** and more");
    }

    /// The ones' complement sum of the bytes as 16-bit words.
    fn sum(bytes: &[u8]) -> u16 {
        let mut s: u32 = bytes
            .chunks(2)
            .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
            .sum();
        while s > 0xffff {
            s = (s & 0xffff) + (s >> 16);
        }
        s as u16
    }

    #[test]
    fn checksum_update_equals_a_recomputation() {
        let head = b"\x12\x34\xab\xcd pseudo and header".to_vec();
        let old = b"Cookie: sid=xyz\r\n odd".to_vec();
        let mut new = old.clone();
        mask_known(&mut new, &[b"sid=xyz".to_vec()]);
        let checksum = |payload: &[u8]| {
            let mut all = head.clone();
            all.extend_from_slice(payload);
            !sum(&all)
        };
        assert_eq!(updated_checksum(checksum(&old), &old, &new), checksum(&new));
    }

    /// An Ethernet/IPv4/TCP frame from 10.0.0.1:40000 to 10.0.0.2:80 carrying
    /// `payload`, with a right TCP checksum.
    fn frame(seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        let total = (40 + payload.len()) as u16;
        let mut ip = vec![
            0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        ip[2..4].copy_from_slice(&total.to_be_bytes());
        let c = !sum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        let mut tcp = vec![0u8; 20];
        tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&80u16.to_be_bytes());
        tcp[4..8].copy_from_slice(&seq.to_be_bytes());
        tcp[12] = 5 << 4;
        tcp[13] = 0x18;
        tcp.extend_from_slice(payload);
        let c = !tcp_sum(&ip, &tcp);
        tcp[16..18].copy_from_slice(&c.to_be_bytes());
        f.extend_from_slice(&ip);
        f.extend_from_slice(&tcp);
        f
    }

    /// The TCP checksum's sum: pseudo-header, then the segment.
    fn tcp_sum(ip: &[u8], tcp: &[u8]) -> u16 {
        let mut all = ip[12..20].to_vec();
        all.extend_from_slice(&[0, 6]);
        all.extend_from_slice(&(tcp.len() as u16).to_be_bytes());
        all.extend_from_slice(tcp);
        sum(&all)
    }

    #[test]
    fn scans_last_as_long_as_the_connection_and_bare_syns_start_none() {
        use crate::decode::{Endpoint, TcpFlags};
        let ep = |ip: [u8; 4], port| Endpoint {
            ip: ip.into(),
            port,
        };
        let seg = |src, dst, seq, ack, flags| TcpSegment {
            src,
            dst,
            seq,
            ack,
            flags: TcpFlags(flags),
            payload: b"",
            truncated: false,
        };
        let (syn, ack, fin, rst) = (TcpFlags::SYN, TcpFlags::ACK, TcpFlags::FIN, TcpFlags::RST);
        let (c, s) = (ep([10, 0, 0, 1], 40_000), ep([10, 0, 0, 2], 80));
        let mut r = WireRedactor::default();
        for i in 0..100 {
            r.observe(&seg(ep([10, 0, 1, i], 1000), s, 7, 0, syn));
        }
        assert_eq!(r.scans.len(), 0);
        r.observe(&seg(c, s, 1000, 0, syn));
        r.observe(&seg(s, c, 500, 1001, syn | ack));
        assert_eq!(r.scans.len(), 2);
        let (key, side) = FlowKey::of(c, s);
        assert_eq!(r.scans[&(key, side)].first_seq, 1001);
        assert_eq!(r.scans[&(key, side.other())].first_seq, 501);
        r.observe(&seg(c, s, 1001, 501, fin | ack));
        assert_eq!(r.scans.len(), 1);
        r.observe(&seg(s, c, 501, 1002, rst));
        assert_eq!(r.scans.len(), 0);
    }

    #[test]
    fn a_masked_packet_keeps_a_right_checksum() {
        use crate::decode::{decode, Decoded};
        let payload = b"GET /ws?token=abcdefgh HTTP/1.1\r\nCookie: s=1234567\r\n\r\n";
        let original = frame(1000, payload);
        let Decoded::Tcp(seg) = decode(
            crate::capture::LinkType::ETHERNET,
            &original,
            original.len() as u32,
        ) else {
            panic!("not TCP");
        };
        let mut copy = original.clone();
        let at = original.len() - payload.len();
        let mut r = WireRedactor::default();
        assert!(r.mask_packet(&mut copy, &seg, at, &[]));
        assert_eq!(copy.len(), original.len());
        let masked = &copy[at..];
        assert_eq!(
            masked,
            &b"GET /ws?token=******** HTTP/1.1\r\nCookie: s=*******\r\n\r\n"[..]
        );
        // The checksum verifies: the sum over pseudo-header and segment is all ones.
        assert_eq!(tcp_sum(&copy[14..34], &copy[34..]), 0xffff);
        assert_ne!(copy[34 + 16..34 + 18], original[34 + 16..34 + 18]);
    }
}
