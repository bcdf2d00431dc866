//! A pcapng writer that can put a comment on a packet (`opt_comment` in the
//! Enhanced Packet Block), so a diagnosis travels inside the capture: Wireshark
//! shows it in the packet list and Expert Info, and `frame.comment` filters it.
//!
//! Block layout per the pcapng specification (IETF draft-ietf-opsawg-pcapng):
//! Section Header, one Interface Description per link type, then Enhanced
//! Packet Blocks, all in this machine's byte order with nanosecond timestamps.

use std::io::{self, Write};

use crate::capture::{LinkType, Timestamp};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const OPT_END: u16 = 0;
const OPT_COMMENT: u16 = 1;
const SHB_USERAPPL: u16 = 4;
const IF_TSRESOL: u16 = 9;
const SNAPLEN: u32 = 262_144;

/// One option: code, length, value padded to 32 bits.
fn option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    // Option lengths are 16-bit; a longer value (never a comment of ours) is cut.
    let value = &value[..value.len().min(usize::from(u16::MAX) - 3)];
    out.extend_from_slice(&code.to_ne_bytes());
    out.extend_from_slice(&(value.len() as u16).to_ne_bytes());
    out.extend_from_slice(value);
    pad(out);
}

fn pad(out: &mut Vec<u8>) {
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

/// A whole block around `body` (which must be padded): type, total length
/// before and after.
fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let total = (12 + body.len()) as u32;
    let mut b = Vec::with_capacity(total as usize);
    b.extend_from_slice(&kind.to_ne_bytes());
    b.extend_from_slice(&total.to_ne_bytes());
    b.extend_from_slice(body);
    b.extend_from_slice(&total.to_ne_bytes());
    b
}

/// Writes a pcapng file packet by packet.
pub struct PcapngWriter<W: Write> {
    w: W,
    /// Interface ids by position: one per link type met so far.
    ifaces: Vec<LinkType>,
}

impl<W: Write> PcapngWriter<W> {
    /// Start the file (its Section Header Block).
    pub fn new(mut w: W) -> io::Result<Self> {
        let mut body = Vec::new();
        body.extend_from_slice(&BYTE_ORDER_MAGIC.to_ne_bytes());
        body.extend_from_slice(&1u16.to_ne_bytes());
        body.extend_from_slice(&0u16.to_ne_bytes());
        // Section length unknown.
        body.extend_from_slice(&(-1i64).to_ne_bytes());
        let app = concat!("wshs-sniff ", env!("CARGO_PKG_VERSION"));
        option(&mut body, SHB_USERAPPL, app.as_bytes());
        option(&mut body, OPT_END, &[]);
        w.write_all(&block(SHB, &body))?;
        Ok(PcapngWriter {
            w,
            ifaces: Vec::new(),
        })
    }

    fn iface(&mut self, lt: LinkType) -> io::Result<u32> {
        if let Some(i) = self.ifaces.iter().position(|&l| l == lt) {
            return Ok(i as u32);
        }
        let mut body = Vec::new();
        // Link types are 16-bit in pcapng.
        body.extend_from_slice(&(lt.0 as u16).to_ne_bytes());
        body.extend_from_slice(&0u16.to_ne_bytes());
        body.extend_from_slice(&SNAPLEN.to_ne_bytes());
        option(&mut body, IF_TSRESOL, &[9]);
        option(&mut body, OPT_END, &[]);
        self.w.write_all(&block(IDB, &body))?;
        self.ifaces.push(lt);
        Ok((self.ifaces.len() - 1) as u32)
    }

    /// One packet, with a comment option per entry of `comments`.
    pub fn packet(
        &mut self,
        lt: LinkType,
        ts: Timestamp,
        data: &[u8],
        orig_len: u32,
        comments: &[String],
    ) -> io::Result<()> {
        let id = self.iface(lt)?;
        let data = &data[..data.len().min(SNAPLEN as usize)];
        let nanos = (ts.secs.max(0) as u64)
            .saturating_mul(1_000_000_000)
            .saturating_add(u64::from(ts.nanos));
        let mut body = Vec::with_capacity(20 + data.len() + 8);
        body.extend_from_slice(&id.to_ne_bytes());
        body.extend_from_slice(&((nanos >> 32) as u32).to_ne_bytes());
        body.extend_from_slice(&(nanos as u32).to_ne_bytes());
        body.extend_from_slice(&(data.len() as u32).to_ne_bytes());
        body.extend_from_slice(&orig_len.max(data.len() as u32).to_ne_bytes());
        body.extend_from_slice(data);
        pad(&mut body);
        if !comments.is_empty() {
            for c in comments {
                option(&mut body, OPT_COMMENT, c.as_bytes());
            }
            option(&mut body, OPT_END, &[]);
        }
        self.w.write_all(&block(EPB, &body))
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.w.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_padded_and_framed() {
        let mut w = PcapngWriter::new(Vec::new()).unwrap();
        w.packet(
            LinkType::ETHERNET,
            Timestamp::new(1, 5),
            &[1, 2, 3],
            3,
            &["abcde".to_string()],
        )
        .unwrap();
        let b = w.w;
        let shb_len = u32::from_ne_bytes(b[4..8].try_into().unwrap()) as usize;
        assert_eq!(shb_len % 4, 0);
        let idb = &b[shb_len..];
        assert_eq!(u32::from_ne_bytes(idb[0..4].try_into().unwrap()), IDB);
        let idb_len = u32::from_ne_bytes(idb[4..8].try_into().unwrap()) as usize;
        let epb = &idb[idb_len..];
        assert_eq!(u32::from_ne_bytes(epb[0..4].try_into().unwrap()), EPB);
        let epb_len = u32::from_ne_bytes(epb[4..8].try_into().unwrap()) as usize;
        assert_eq!(epb.len(), epb_len);
        // 28 fixed + 4 data (3 padded) + 12 comment option (5 padded) + 4 end + 4 trailer
        assert_eq!(epb_len, 28 + 4 + 12 + 4 + 4);
        assert_eq!(&epb[epb_len - 4..], &epb[4..8]);
    }
}
