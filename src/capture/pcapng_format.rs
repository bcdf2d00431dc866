//! pcapng blocks: section headers, interface descriptions, the three packet
//! block kinds and TLS key logs in Decryption Secrets Blocks, parsed from one
//! whole block held in a byte slice.
//!
//! The reading loop in [`super::file`] frames blocks and keeps per-section state;
//! these functions only interpret the bytes of one block, so damage in a block is
//! a value that the loop turns into a [`super::CaptureError`].

use nom::bytes::complete::take;
use nom::number::complete::{be_u32, le_u32, u16, u32, u64};
use nom::number::Endianness;
use nom::Parser;

use super::pcap_format::word_at;
use super::{LinkType, Timestamp};

pub const SHB_TYPE: u32 = 0x0a0d_0d0a;
const BYTE_ORDER_MAGIC: u32 = 0x1a2b_3c4d;
pub const IDB_TYPE: u32 = 1;
pub const OPB_TYPE: u32 = 2;
pub const SPB_TYPE: u32 = 3;
pub const EPB_TYPE: u32 = 6;
/// Decryption Secrets Block.
pub const DSB_TYPE: u32 = 0x0000_000a;
/// Secrets type of an NSS key log ("TLSK").
const TLS_KEY_LOG: u32 = 0x544c_534b;

/// Smallest possible block: type, length, trailing length.
pub const MIN_BLOCK_LEN: u32 = 12;

const OPT_END: u16 = 0;
const OPT_IF_TSRESOL: u16 = 9;
const OPT_IF_TSOFFSET: u16 = 14;

type PResult<'a, T> = nom::IResult<&'a [u8], T, nom::error::Error<&'a [u8]>>;

/// Byte order of the section a Section Header Block starts, from its first 12
/// bytes. `None` when the byte-order magic is neither order.
pub fn section_endian(first12: &[u8]) -> Option<Endianness> {
    let bom: [u8; 4] = first12.get(8..12)?.try_into().ok()?;
    if u32::from_be_bytes(bom) == BYTE_ORDER_MAGIC {
        Some(Endianness::Big)
    } else if u32::from_le_bytes(bom) == BYTE_ORDER_MAGIC {
        Some(Endianness::Little)
    } else {
        None
    }
}

/// Block type and total length from the first 8 bytes of a block.
#[inline]
pub fn block_header(input: &[u8], e: Endianness) -> Option<(u32, u32)> {
    // Once per block: fixed-order parsers inline, runtime-order ones do not.
    let r: PResult<'_, _> = match e {
        Endianness::Big => (be_u32, be_u32).parse(input),
        _ => (le_u32, le_u32).parse(input),
    };
    r.ok().map(|(_, v)| v)
}

/// Major version of a Section Header Block (only 1 exists).
pub fn shb_major(block: &[u8], e: Endianness) -> Option<u16> {
    let r: PResult<'_, u16> = u16(e).parse(block.get(12..)?);
    r.ok().map(|(_, v)| v)
}

/// One interface of the current section: what its packets need to be decoded and
/// timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interface {
    pub linktype: LinkType,
    /// 0 means no limit.
    pub snaplen: u32,
    /// Timestamp ticks per second (`if_tsresol`), 10^6 by default.
    pub ticks_per_sec: u64,
    /// Seconds added to every timestamp (`if_tsoffset`).
    pub offset_secs: i64,
}

impl Interface {
    /// Time of a packet whose timestamp is `ticks` in this interface's resolution.
    pub fn timestamp(&self, ticks: u64) -> Timestamp {
        // Microseconds and nanoseconds are nearly all real files: spare them
        // the general 128-bit division.
        let (secs, nanos) = match self.ticks_per_sec {
            1_000_000 => (ticks / 1_000_000, (ticks % 1_000_000) as u32 * 1000),
            1_000_000_000 => (ticks / 1_000_000_000, (ticks % 1_000_000_000) as u32),
            per => {
                let per = per.max(1);
                let frac = u128::from(ticks % per) * 1_000_000_000 / u128::from(per);
                (ticks / per, frac as u32)
            }
        };
        let secs = secs as i64;
        Timestamp::new(secs.saturating_add(self.offset_secs), nanos)
    }
}

/// Ticks per second for an `if_tsresol` byte: high bit set means a power of two,
/// else a power of ten. `None` when the resolution does not fit 64 bits.
pub fn ticks_per_sec(tsresol: u8) -> Option<u64> {
    let exp = u32::from(tsresol & 0x7f);
    if tsresol & 0x80 != 0 {
        1u64.checked_shl(exp).filter(|_| exp < 64)
    } else {
        10u64.checked_pow(exp)
    }
}

/// Walk an options area, calling `f(code, value)` for each option until
/// `opt_endofopt` or the end of the area.
fn for_each_option<'a>(
    mut opts: &'a [u8],
    e: Endianness,
    mut f: impl FnMut(u16, &'a [u8]) -> Result<(), &'static str>,
) -> Result<(), &'static str> {
    while opts.len() >= 4 {
        let r: PResult<'_, _> = (u16(e), u16(e)).parse(opts);
        let (rest, (code, len)) = r.map_err(|_| "option header")?;
        if code == OPT_END {
            break;
        }
        let padded = (usize::from(len) + 3) & !3;
        let value = rest
            .get(..usize::from(len))
            .ok_or("option runs past block")?;
        f(code, value)?;
        opts = rest.get(padded..).unwrap_or(&[]);
    }
    Ok(())
}

/// Parse an Interface Description Block body (the bytes between the 8-byte block
/// header and the trailing length).
pub fn parse_idb(body: &[u8], e: Endianness) -> Result<Interface, &'static str> {
    let r: PResult<'_, _> = (u16(e), u16(e), u32(e)).parse(body);
    let (opts, (linktype, _reserved, snaplen)) = r.map_err(|_| "interface block too short")?;
    let mut iface = Interface {
        linktype: LinkType(u32::from(linktype)),
        snaplen,
        ticks_per_sec: 1_000_000,
        offset_secs: 0,
    };
    for_each_option(opts, e, |code, value| {
        match code {
            OPT_IF_TSRESOL => {
                let b = *value.first().ok_or("empty if_tsresol")?;
                iface.ticks_per_sec = ticks_per_sec(b).ok_or("if_tsresol out of range")?;
            }
            OPT_IF_TSOFFSET => {
                let r: PResult<'_, u64> = u64(e).parse(value);
                let (_, v) = r.map_err(|_| "short if_tsoffset")?;
                iface.offset_secs = v as i64;
            }
            _ => {}
        }
        Ok(())
    })?;
    Ok(iface)
}

/// Where a packet block's data lies, relative to the start of the block body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketRecord {
    pub interface: u32,
    /// `None` for Simple Packet Blocks, which carry no time.
    pub ticks: Option<u64>,
    pub data_offset: usize,
    pub caplen: u32,
    pub orig_len: u32,
}

/// Parse an Enhanced (type 6) or obsolete Packet Block (type 2) body.
#[inline]
pub fn parse_packet_block(
    btype: u32,
    body: &[u8],
    e: Endianness,
) -> Result<PacketRecord, &'static str> {
    let head: PResult<'_, u32> = if btype == OPB_TYPE {
        (u16(e), u16(e))
            .map(|(iface, _drops)| u32::from(iface))
            .parse(body)
    } else {
        u32(e).parse(body)
    };
    let (rest, interface) = head.map_err(|_| "packet block too short")?;
    let r: PResult<'_, _> = match e {
        Endianness::Big => (be_u32, be_u32, be_u32, be_u32).parse(rest),
        _ => (le_u32, le_u32, le_u32, le_u32).parse(rest),
    };
    let (data, (hi, lo, caplen, orig_len)) = r.map_err(|_| "packet block too short")?;
    let r: PResult<'_, &[u8]> = take(caplen as usize).parse(data);
    r.map_err(|_| "captured length runs past the block")?;
    Ok(PacketRecord {
        interface,
        ticks: Some((u64::from(hi) << 32) | u64::from(lo)),
        data_offset: body.len() - data.len(),
        caplen,
        orig_len,
    })
}

/// Where an Enhanced Packet Block's data starts, counted from the start of
/// the block: type, length, interface, two timestamp words, two lengths.
pub const EPB_DATA_OFFSET: usize = 28;

/// An Enhanced Packet Block that lies whole in the bytes read so far, its
/// data at [`EPB_DATA_OFFSET`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WholeEpb {
    /// The whole block's length, trailing length included.
    pub len: usize,
    pub interface: u32,
    pub ticks: u64,
    pub caplen: u32,
    pub orig_len: u32,
}

/// The Enhanced Packet Block at the start of `input`, when it lies there
/// whole and its lengths hold together (at most `max_len` bytes, a multiple
/// of 4, its data inside it). `None` for anything else: other blocks, a
/// block cut by the end of `input`, damage, all of which the block loop
/// frames and reports.
#[inline]
pub fn whole_epb(input: &[u8], e: Endianness, max_len: u32) -> Option<WholeEpb> {
    // Nearly every block of a capture is one of these: seven fixed words read
    // straight from the array, as the classic record header is, instead of
    // the block loop's runtime-order parsers and error plumbing.
    let b: &[u8; EPB_DATA_OFFSET] = input.first_chunk()?;
    let big = matches!(e, Endianness::Big);
    let word = |i: usize| word_at(b, i, big);
    let blen = word(4);
    if word(0) != EPB_TYPE || blen < MIN_BLOCK_LEN || blen % 4 != 0 || blen > max_len {
        return None;
    }
    let len = blen as usize;
    // Room for the data: the block less its fixed words and trailing length.
    let room = len.checked_sub(EPB_DATA_OFFSET + 4)?;
    let caplen = word(20);
    if input.len() < len || caplen as usize > room {
        return None;
    }
    Some(WholeEpb {
        len,
        interface: word(8),
        ticks: (u64::from(word(12)) << 32) | u64::from(word(16)),
        caplen,
        orig_len: word(24),
    })
}

/// Parse a Simple Packet Block body. Its captured length is implied: the
/// original length, cut to the block and to interface 0's snap length.
pub fn parse_simple_packet_block(
    body: &[u8],
    e: Endianness,
    snaplen: u32,
) -> Result<PacketRecord, &'static str> {
    let r: PResult<'_, u32> = u32(e).parse(body);
    let (data, orig_len) = r.map_err(|_| "simple packet block too short")?;
    let mut caplen = orig_len.min(u32::try_from(data.len()).unwrap_or(u32::MAX));
    if snaplen != 0 {
        caplen = caplen.min(snaplen);
    }
    Ok(PacketRecord {
        interface: 0,
        ticks: None,
        data_offset: 4,
        caplen,
        orig_len,
    })
}

/// Where the TLS key log text of a Decryption Secrets Block body lies: its
/// offset in the body and its length. `None` for other kinds of secrets (SSH,
/// WireGuard…) and for a secrets length that runs past the block, which are
/// skipped like any block the reader has no use for.
pub fn dsb_tls_key_log(body: &[u8], e: Endianness) -> Option<(usize, usize)> {
    let r: PResult<'_, (u32, u32)> = (u32(e), u32(e)).parse(body);
    let (text, (kind, len)) = r.ok()?;
    if kind != TLS_KEY_LOG {
        return None;
    }
    let r: PResult<'_, &[u8]> = take(len as usize).parse(text);
    r.ok()?;
    Some((8, len as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decryption_secrets_blocks() {
        let mut body = Vec::new();
        body.extend_from_slice(&TLS_KEY_LOG.to_le_bytes());
        body.extend_from_slice(&5u32.to_le_bytes());
        body.extend_from_slice(b"KEYS\n\0\0\0");
        assert_eq!(
            dsb_tls_key_log(&body, Endianness::Little),
            Some((8, 5)),
            "a TLS key log"
        );
        assert_eq!(dsb_tls_key_log(&body, Endianness::Big), None, "other order");
        let mut big = Vec::new();
        big.extend_from_slice(&TLS_KEY_LOG.to_be_bytes());
        big.extend_from_slice(&5u32.to_be_bytes());
        big.extend_from_slice(b"KEYS\n\0\0\0");
        assert_eq!(dsb_tls_key_log(&big, Endianness::Big), Some((8, 5)));
        let mut ssh = body.clone();
        ssh[..4].copy_from_slice(&0x5353_484bu32.to_le_bytes());
        assert_eq!(dsb_tls_key_log(&ssh, Endianness::Little), None, "SSH keys");
        let mut long = body.clone();
        long[4..8].copy_from_slice(&9u32.to_le_bytes());
        assert_eq!(
            dsb_tls_key_log(&long, Endianness::Little),
            None,
            "length past the block"
        );
        assert_eq!(dsb_tls_key_log(&body[..6], Endianness::Little), None);
    }

    #[test]
    fn tsresol_forms() {
        assert_eq!(ticks_per_sec(6), Some(1_000_000));
        assert_eq!(ticks_per_sec(9), Some(1_000_000_000));
        assert_eq!(ticks_per_sec(0x80 | 10), Some(1024));
        assert_eq!(ticks_per_sec(20), None);
        assert_eq!(ticks_per_sec(0x80 | 64), None);
    }

    #[test]
    fn interface_timestamps() {
        let mut i = Interface {
            linktype: LinkType::ETHERNET,
            snaplen: 0,
            ticks_per_sec: 1024,
            offset_secs: 100,
        };
        assert_eq!(i.timestamp(2048 + 512), Timestamp::new(102, 500_000_000));
        i.ticks_per_sec = 1_000_000_000;
        i.offset_secs = 0;
        assert_eq!(i.timestamp(1_000_000_007), Timestamp::new(1, 7));
    }

    #[test]
    fn idb_options() {
        let mut b = vec![1, 0, 0, 0, 0xff, 0xff, 0, 0];
        b.extend([9, 0, 1, 0, 0x80 | 20, 0, 0, 0]);
        b.extend([14, 0, 8, 0, 5, 0, 0, 0, 0, 0, 0, 0]);
        b.extend([0, 0, 0, 0]);
        let i = parse_idb(&b, Endianness::Little).unwrap();
        assert_eq!(i.linktype, LinkType::ETHERNET);
        assert_eq!(i.snaplen, 65535);
        assert_eq!(i.ticks_per_sec, 1 << 20);
        assert_eq!(i.offset_secs, 5);
        // An option claiming more bytes than the block has.
        let mut bad = b[..8].to_vec();
        bad.extend([9, 0, 40, 0, 6, 0, 0, 0]);
        assert!(parse_idb(&bad, Endianness::Little).is_err());
        assert!(parse_idb(&b[..5], Endianness::Little).is_err());
    }

    /// An Enhanced Packet Block of `data` with `caplen` as its captured length.
    fn epb_bytes(big: bool, iface: u32, ticks: u64, caplen: u32, data: &[u8]) -> Vec<u8> {
        let len = (EPB_DATA_OFFSET + data.len().next_multiple_of(4) + 4) as u32;
        let words = [
            EPB_TYPE,
            len,
            iface,
            (ticks >> 32) as u32,
            ticks as u32,
            caplen,
            caplen + 1,
        ];
        let mut b = Vec::new();
        for w in words {
            b.extend(if big {
                w.to_be_bytes()
            } else {
                w.to_le_bytes()
            });
        }
        b.extend(data);
        b.resize(len as usize - 4, 0);
        b.extend(if big {
            len.to_be_bytes()
        } else {
            len.to_le_bytes()
        });
        b
    }

    #[test]
    fn whole_enhanced_packet_blocks() {
        for (big, e) in [(false, Endianness::Little), (true, Endianness::Big)] {
            let b = epb_bytes(big, 3, (7 << 32) | 9, 5, b"hello");
            assert_eq!(
                whole_epb(&b, e, 1 << 20),
                Some(WholeEpb {
                    len: 40,
                    interface: 3,
                    ticks: (7 << 32) | 9,
                    caplen: 5,
                    orig_len: 6,
                })
            );
            let with_more = [&b[..], b"next block"].concat();
            assert_eq!(whole_epb(&with_more, e, 1 << 20).map(|w| w.len), Some(40));
            assert_eq!(whole_epb(&b[..39], e, 1 << 20), None, "cut short");
            assert_eq!(whole_epb(&b, e, 36), None, "longer than allowed");
            let other = if big {
                Endianness::Little
            } else {
                Endianness::Big
            };
            assert_eq!(whole_epb(&b, other, 1 << 20), None, "other byte order");
            // Captured length up to the block's room (8 bytes here), not past it.
            let full = epb_bytes(big, 0, 1, 8, b"hello");
            assert_eq!(whole_epb(&full, e, 1 << 20).map(|w| w.caplen), Some(8));
            let past = epb_bytes(big, 0, 1, 9, b"hello");
            assert_eq!(whole_epb(&past, e, 1 << 20), None, "data past the block");
            let mut odd = b.clone();
            odd[if big { 7 } else { 4 }] = 41;
            assert_eq!(
                whole_epb(&odd, e, 1 << 20),
                None,
                "length not a multiple of 4"
            );
            let mut tiny = b.clone();
            tiny[if big { 7 } else { 4 }] = 28;
            assert_eq!(whole_epb(&tiny, e, 1 << 20), None, "no room for the words");
            let mut obsolete = b.clone();
            obsolete[if big { 3 } else { 0 }] = OPB_TYPE as u8;
            assert_eq!(whole_epb(&obsolete, e, 1 << 20), None, "not an EPB");
        }
    }

    #[test]
    fn packet_blocks() {
        let mut b = Vec::new();
        for x in [1u32, 0, 5, 3, 9] {
            b.extend(x.to_be_bytes());
        }
        b.extend([1, 2, 3, 0]);
        let p = parse_packet_block(EPB_TYPE, &b, Endianness::Big).unwrap();
        assert_eq!(p.interface, 1);
        assert_eq!(p.ticks, Some(5));
        assert_eq!((p.data_offset, p.caplen, p.orig_len), (20, 3, 9));
        b[15] = 5;
        assert!(parse_packet_block(EPB_TYPE, &b, Endianness::Big).is_err());
        let s = parse_simple_packet_block(&[100, 0, 0, 0, 1, 2, 3, 4], Endianness::Little, 2);
        assert_eq!(s.unwrap().caplen, 2);
    }
}
