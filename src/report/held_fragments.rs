//! The fragments of IP datagrams, held by the file writers until the datagram
//! is whole: only then is it known which connection they belong to (a later
//! fragment has no ports), so whether to keep them, and which secrets they
//! carry across their boundaries.
//!
//! Pieces are written with the bytes the masking gave the whole datagram,
//! each at its place, so a secret split between two fragments is masked in
//! both. Fragments of a datagram that never completed cannot be tied to a
//! connection: a file of chosen connections leaves them out, and a file of
//! every packet keeps them only when nothing is masked (blanked otherwise,
//! since they may hold a secret of a connection whose first fragment is
//! gone). The defragmenter's limits bound what is held.

use std::collections::HashMap;

use crate::capture::{LinkType, Timestamp};
use crate::decode::{self, Decoded, Fragment, TcpSegment};
use crate::reassembly::ip_fragments::{Defragmenter, Key};

/// One fragment's packet, copied.
#[derive(Debug, Clone)]
pub struct HeldPacket {
    pub ts: Timestamp,
    pub linktype: LinkType,
    pub data: Vec<u8>,
    pub orig_len: u32,
    /// Its number among all packets read (for the annotations).
    pub no: u64,
    /// Where the fragment's bytes start in `data`, and where they go in the
    /// datagram.
    at: usize,
    offset: u32,
    len: usize,
}

/// What became of held fragments.
pub enum Release<'a> {
    /// Their datagram is whole and carries this TCP segment (decoded from
    /// `payload`, the datagram's transport bytes).
    Whole {
        pieces: Vec<HeldPacket>,
        seg: TcpSegment<'a>,
        payload: &'a [u8],
    },
    /// Whole, but not a TCP segment this tool reads.
    NotTcp(Vec<HeldPacket>),
    /// Their datagram was given up.
    GivenUp(Vec<HeldPacket>),
}

#[derive(Debug)]
pub struct HeldFragments {
    defrag: Defragmenter,
    held: HashMap<Key, Vec<HeldPacket>>,
    /// The last datagram completed, kept so a release can lend its bytes.
    done: Vec<u8>,
}

impl Default for HeldFragments {
    fn default() -> Self {
        HeldFragments {
            defrag: Defragmenter::listing_given_up(),
            held: HashMap::new(),
            done: Vec::new(),
        }
    }
}

impl HeldFragments {
    /// Hold the fragment `f` of `packet`; the fragments given up meanwhile,
    /// and those of the datagram it completes.
    pub fn add(
        &mut self,
        packet: (&[u8], Timestamp, LinkType, u32, u64),
        f: &Fragment<'_>,
    ) -> Vec<Release<'_>> {
        let (data, ts, linktype, orig_len, no) = packet;
        let at = (f.data.as_ptr() as usize)
            .checked_sub(data.as_ptr() as usize)
            .filter(|at| at + f.data.len() <= data.len())
            .unwrap_or(0);
        let key = Key::of(f);
        self.held.entry(key).or_default().push(HeldPacket {
            ts,
            linktype,
            data: data.to_vec(),
            orig_len,
            no,
            at,
            offset: f.offset,
            len: f.data.len(),
        });
        let completed = self.defrag.add(f, ts);
        let mut out = self.given_up();
        if let Some(dg) = completed {
            let pieces = self.held.remove(&dg.key).unwrap_or_default();
            self.done = dg.payload;
            out.push(
                match decode::reassembled(dg.key.proto, dg.key.src, dg.key.dst, &self.done) {
                    Decoded::Tcp(seg) => Release::Whole {
                        pieces,
                        seg,
                        payload: &self.done,
                    },
                    _ => Release::NotTcp(pieces),
                },
            );
        }
        out
    }

    /// Everything still held, given up (the input ended).
    pub fn finish(&mut self) -> Vec<Release<'_>> {
        self.defrag.finish();
        self.given_up()
    }

    fn given_up(&mut self) -> Vec<Release<'static>> {
        self.defrag
            .take_given_up()
            .into_iter()
            .filter_map(|k| self.held.remove(&k))
            .map(Release::GivenUp)
            .collect()
    }
}

impl HeldPacket {
    /// The packet with its fragment's bytes taken from `datagram` (the
    /// whole datagram's transport bytes, masked), or blanked when `None`.
    pub fn with_bytes(&self, datagram: Option<&[u8]>) -> Vec<u8> {
        let mut out = self.data.clone();
        let Some(dst) = out.get_mut(self.at..self.at + self.len) else {
            return out;
        };
        let from = self.offset as usize;
        match datagram.and_then(|d| d.get(from..from + self.len)) {
            Some(src) => dst.copy_from_slice(src),
            None => dst.fill(0),
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    /// A packet whose fragment bytes start at byte 10 (a stand-in header).
    fn packet(data: &[u8]) -> Vec<u8> {
        let mut p = vec![0xee; 10];
        p.extend_from_slice(data);
        p
    }

    fn fragment(p: &[u8], offset: u32, more: bool) -> Fragment<'_> {
        Fragment {
            src: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            dst: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2)),
            id: 1,
            proto: 6,
            offset,
            more,
            data: &p[10..],
            cut: false,
        }
    }

    #[test]
    fn pieces_come_back_with_the_datagram_or_given_up() {
        let mut tcp = vec![0u8; 20];
        tcp[12] = 5 << 4;
        tcp[13] = 0x18;
        tcp.extend_from_slice(b"GET /ws HTTP/1.1\r\n\r\n");
        let (a, b) = (packet(&tcp[..16]), packet(&tcp[16..]));
        let mut h = HeldFragments::default();
        let ts = Timestamp::new(1, 0);
        let lt = LinkType::RAW;
        assert!(h
            .add((&b, ts, lt, b.len() as u32, 1), &fragment(&b, 16, false))
            .is_empty());
        let out = h.add((&a, ts, lt, a.len() as u32, 0), &fragment(&a, 0, true));
        let [Release::Whole {
            pieces,
            seg,
            payload,
        }] = &out[..]
        else {
            panic!("one whole datagram");
        };
        assert_eq!(seg.payload, b"GET /ws HTTP/1.1\r\n\r\n");
        assert_eq!(pieces.iter().map(|p| p.no).collect::<Vec<_>>(), [1, 0]);
        // Each piece takes its own range of the (here unchanged) datagram.
        assert_eq!(pieces[0].with_bytes(Some(payload)), b);
        let mut masked = payload.to_vec();
        masked[20..23].copy_from_slice(b"XXX");
        // Datagram bytes 20..23 are the second fragment's 4..7 (after its
        // 10-byte header).
        assert_eq!(&pieces[0].with_bytes(Some(&masked))[14..17], b"XXX");
        assert_eq!(pieces[1].with_bytes(Some(&masked)), a);
        drop(out);
        // A datagram that never completes comes back given up, blankable.
        let c = packet(&tcp[..16]);
        assert!(h
            .add((&c, ts, lt, c.len() as u32, 2), &fragment(&c, 0, true))
            .is_empty());
        let out = h.finish();
        let [Release::GivenUp(pieces)] = &out[..] else {
            panic!("one given up");
        };
        let blank = pieces[0].with_bytes(None);
        assert_eq!(&blank[..10], &c[..10], "headers kept");
        assert!(blank[10..].iter().all(|&x| x == 0), "bytes blanked");
        assert!(h.held.is_empty());
    }
}
