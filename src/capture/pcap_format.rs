//! Classic pcap: the file header and the per-record headers.
//!
//! Pure parsers over byte slices, kept apart from the reading loop in
//! [`super::file`] so they can be tested and fuzzed on byte arrays. Numbers are
//! read with the byte order the file's magic announced, because pcap files are
//! written in the writer's host order.

use nom::number::complete::{u16, u32};
use nom::number::Endianness;
use nom::Parser;

use super::{LinkType, Timestamp};

/// Bytes in the file header.
pub const FILE_HEADER_LEN: usize = 24;

const MAGIC_MICROS: u32 = 0xa1b2_c3d4;
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// Alexey Kuznetzov's patched libpcap: records carry 8 extra bytes.
const MAGIC_MODIFIED: u32 = 0xa1b2_cd34;

/// libpcap keeps only these bits as the link type; the upper bits carry the FCS
/// length and flag, which say nothing about how to decode the frame.
const LINKTYPE_MASK: u32 = 0x03ff_ffff;

type PResult<'a, T> = nom::IResult<&'a [u8], T, nom::error::Error<&'a [u8]>>;

/// What the file header says about every record that follows.
#[derive(Debug, Clone, Copy)]
pub struct PcapHeader {
    pub endian: Endianness,
    /// Fractional timestamps are nanoseconds (else microseconds).
    pub nanos: bool,
    /// 16, or 24 in the Kuznetzov format.
    pub record_header_len: usize,
    pub snaplen: u32,
    pub linktype: LinkType,
    /// Files before format 2.4 may have the captured and original lengths in
    /// the other order; libpcap swaps them back when captured > original.
    pub maybe_swapped_lengths: bool,
}

/// One record header, before its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub ts: Timestamp,
    pub caplen: u32,
    pub orig_len: u32,
}

/// Recognise a classic pcap magic: its byte order, whether it is nanosecond, and
/// whether it is the Kuznetzov format. `None` when these are not pcap magic bytes.
pub fn sniff_magic(first4: &[u8]) -> Option<(Endianness, bool, bool)> {
    let b: [u8; 4] = first4.get(..4)?.try_into().ok()?;
    for (endian, value) in [
        (Endianness::Big, u32::from_be_bytes(b)),
        (Endianness::Little, u32::from_le_bytes(b)),
    ] {
        match value {
            MAGIC_MICROS => return Some((endian, false, false)),
            MAGIC_NANOS => return Some((endian, true, false)),
            MAGIC_MODIFIED => return Some((endian, false, true)),
            _ => {}
        }
    }
    None
}

/// Parse the 24-byte file header. `None` when the magic is not pcap's or fewer
/// than 24 bytes are given.
pub fn parse_file_header(input: &[u8]) -> Option<PcapHeader> {
    let (endian, nanos, modified) = sniff_magic(input)?;
    let rest = input.get(4..FILE_HEADER_LEN)?;
    let r: PResult<'_, _> = (
        u16(endian),
        u16(endian),
        u32(endian),
        u32(endian),
        u32(endian),
        u32(endian),
    )
        .parse(rest);
    let (_, (major, minor, _thiszone, _sigfigs, snaplen, linktype)) = r.ok()?;
    Some(PcapHeader {
        endian,
        nanos,
        record_header_len: if modified { 24 } else { 16 },
        snaplen,
        linktype: LinkType(linktype & LINKTYPE_MASK),
        maybe_swapped_lengths: major == 2 && minor <= 3,
    })
}

/// The 32-bit word at byte `i` of a fixed-size header, in the file's byte
/// order. Called with constant offsets, so the bounds checks fold away.
#[inline(always)]
pub(super) fn word_at<const N: usize>(b: &[u8; N], i: usize, big: bool) -> u32 {
    let w = [b[i], b[i + 1], b[i + 2], b[i + 3]];
    if big {
        u32::from_be_bytes(w)
    } else {
        u32::from_le_bytes(w)
    }
}

/// Parse one record header (`hdr.record_header_len` bytes). `None` when too short.
#[inline]
pub fn parse_record_header(input: &[u8], hdr: &PcapHeader) -> Option<RecordHeader> {
    // This runs once per packet, so it reads four fixed words straight from
    // the array: nom's tuple of number parsers did not inline here and cost
    // the capture thread ~95 instructions a record, against ~20.
    if input.len() < hdr.record_header_len {
        return None;
    }
    let b: &[u8; 16] = input.first_chunk()?;
    let big = matches!(hdr.endian, Endianness::Big);
    let word = |i: usize| word_at(b, i, big);
    let (secs, frac, mut caplen, mut orig_len) = (word(0), word(4), word(8), word(12));
    if hdr.maybe_swapped_lengths && caplen > orig_len {
        std::mem::swap(&mut caplen, &mut orig_len);
    }
    let per_sec: u32 = if hdr.nanos { 1_000_000_000 } else { 1_000_000 };
    let scale = 1_000_000_000 / per_sec;
    // A fraction of a second or more in the fraction field is damage, but a
    // harmless one: carry it into the seconds instead of refusing the packet.
    let ts = if frac < per_sec {
        Timestamp::new(i64::from(secs), frac * scale)
    } else {
        Timestamp::new(
            i64::from(secs) + i64::from(frac / per_sec),
            (frac % per_sec) * scale,
        )
    };
    Some(RecordHeader {
        ts,
        caplen,
        orig_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(magic: [u8; 4], big: bool) -> Vec<u8> {
        let mut v = magic.to_vec();
        let put16 = |v: &mut Vec<u8>, x: u16| {
            v.extend(if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            })
        };
        put16(&mut v, 2);
        put16(&mut v, 2);
        for x in [0u32, 0, 65535, 0x1000_0001] {
            v.extend(if big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            });
        }
        v
    }

    #[test]
    fn magics_both_orders() {
        let h = parse_file_header(&header([0xd4, 0xc3, 0xb2, 0xa1], false)).unwrap();
        assert!(!h.nanos && h.record_header_len == 16 && h.snaplen == 65535);
        assert_eq!(h.linktype, LinkType::ETHERNET, "FCS bits are masked off");
        let h = parse_file_header(&header([0xa1, 0xb2, 0x3c, 0x4d], true)).unwrap();
        assert!(h.nanos && h.snaplen == 65535);
        let h = parse_file_header(&header([0x34, 0xcd, 0xb2, 0xa1], false)).unwrap();
        assert_eq!(h.record_header_len, 24);
        assert!(parse_file_header(b"GET / HTTP/1.1\r\n\r\n123456").is_none());
        assert!(parse_file_header(&header([0xd4, 0xc3, 0xb2, 0xa1], false)[..23]).is_none());
    }

    #[test]
    fn record_fraction_scaled() {
        let mut h = parse_file_header(&header([0xd4, 0xc3, 0xb2, 0xa1], false)).unwrap();
        let mut rec = Vec::new();
        for x in [10u32, 1_500_000, 60, 80] {
            rec.extend(x.to_le_bytes());
        }
        let r = parse_record_header(&rec, &h).unwrap();
        assert_eq!(r.ts, Timestamp::new(11, 500_000_000));
        assert_eq!((r.caplen, r.orig_len), (60, 80));
        h.nanos = true;
        h.maybe_swapped_lengths = true;
        rec[8] = 90;
        let r = parse_record_header(&rec, &h).unwrap();
        assert_eq!(r.ts, Timestamp::new(10, 1_500_000));
        assert_eq!(
            (r.caplen, r.orig_len),
            (80, 90),
            "old format: lengths swapped back"
        );
        h.record_header_len = 24;
        assert!(parse_record_header(&rec, &h).is_none());
    }
}
