//! The packet nearly every capture is made of (Ethernet II, IPv4 without
//! fragmentation, TCP), decoded in one pass with one length check up front.
//!
//! The general decoder walks layer by layer, each step a bounds-checked read
//! that can fail with a placed error; on the common packet that is about 200
//! instructions, the capture thread's largest cost after reading. Anything
//! this pass is not sure of (another link or IP version, options that do not
//! fit, a zero IPv4 length, a fragment, a short header) is left to the general
//! decoder, so the result is the same whichever decodes: the unit tests below
//! and the `decode_packet` fuzz target check that they agree.

use std::net::{IpAddr, Ipv4Addr};

use super::ip::PROTO_TCP;
use super::link::ETH_IPV4;
use super::{Decoded, Endpoint, TcpFlags, TcpSegment};

const ETH_HEADER: usize = 14;
const MIN_IPV4: usize = 20;
const MIN_TCP: usize = 20;

#[inline(always)]
fn v4(b: &[u8]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
}

/// An Ethernet II frame carrying an unfragmented IPv4 packet carrying TCP,
/// or `None` for the general decoder to handle.
#[inline(always)]
pub fn ethernet_ipv4_tcp(d: &[u8]) -> Option<Decoded<'_>> {
    let ip = d.get(ETH_HEADER..)?;
    if d.get(12..14)? != ETH_IPV4.to_be_bytes() || ip.len() < MIN_IPV4 + MIN_TCP {
        return None;
    }
    let hlen = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    let frag = u16::from_be_bytes([ip[6], ip[7]]);
    if ip[0] >> 4 != 4
        || hlen < MIN_IPV4
        || total < hlen
        || frag & 0x3fff != 0
        || ip[9] != PROTO_TCP
    {
        return None;
    }
    // Trailing bytes (padding, an FCS) are not the packet's; missing ones cut
    // the payload short.
    let (pkt, cut) = match ip.get(..total) {
        Some(p) => (p, false),
        None => (ip, true),
    };
    let t = pkt.get(hlen..)?;
    let doff = usize::from(*t.get(12)? >> 4) * 4;
    if doff < MIN_TCP {
        return None;
    }
    let payload = t.get(doff..)?;
    Some(Decoded::Tcp(TcpSegment {
        src: Endpoint {
            ip: v4(&ip[12..16]),
            port: u16::from_be_bytes([t[0], t[1]]),
        },
        dst: Endpoint {
            ip: v4(&ip[16..20]),
            port: u16::from_be_bytes([t[2], t[3]]),
        },
        seq: u32::from_be_bytes([t[4], t[5], t[6], t[7]]),
        ack: u32::from_be_bytes([t[8], t[9], t[10], t[11]]),
        flags: TcpFlags(t[13]),
        payload,
        truncated: cut,
    }))
}

/// Whether two decodings are the same: the same variant, fields and payload
/// (the same bytes of the same packet, not just equal ones).
pub fn same(a: &Decoded<'_>, b: &Decoded<'_>) -> bool {
    match (a, b) {
        (Decoded::Tcp(x), Decoded::Tcp(y)) => {
            x.src == y.src
                && x.dst == y.dst
                && x.seq == y.seq
                && x.ack == y.ack
                && x.flags == y.flags
                && x.truncated == y.truncated
                && std::ptr::eq(x.payload, y.payload)
        }
        (Decoded::Other, Decoded::Other) | (Decoded::Fragment, Decoded::Fragment) => true,
        (Decoded::UnsupportedLink(x), Decoded::UnsupportedLink(y)) => x == y,
        (Decoded::Malformed(x), Decoded::Malformed(y)) => x == y,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::LinkType;
    use crate::decode::{decode, decode_layers};
    use proptest::prelude::*;

    fn frame(ip_tcp: &[u8]) -> Vec<u8> {
        let mut v = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00];
        v.extend_from_slice(ip_tcp);
        v
    }

    fn ipv4_tcp(payload: &[u8]) -> Vec<u8> {
        let b = etherparse::PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 80, 1000, 512)
            .psh()
            .ack(77);
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        v
    }

    #[test]
    fn takes_the_common_packet_and_agrees_with_the_layers() {
        let f = frame(&ipv4_tcp(b"GET / HTTP/1.1\r\n\r\n"));
        let fast = ethernet_ipv4_tcp(&f).expect("the common case");
        let Decoded::Tcp(s) = fast else {
            panic!("not TCP: {fast:?}")
        };
        assert_eq!(s.payload, b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(
            (s.src.port, s.dst.port, s.seq, s.ack),
            (40000, 80, 1000, 77)
        );
        assert!(!s.truncated);
        assert!(same(
            &fast,
            &decode_layers(LinkType::ETHERNET, &f, f.len() as u32)
        ));
    }

    #[test]
    fn leaves_the_unusual_to_the_layers() {
        let good = frame(&ipv4_tcp(b"x"));
        let mut fragment = good.clone();
        fragment[14 + 6] = 0x20; // more fragments
        let mut zero_length = good.clone();
        zero_length[14 + 2..14 + 4].copy_from_slice(&[0, 0]);
        let mut udp = good.clone();
        udp[14 + 9] = 17;
        let mut vlan = good[..12].to_vec();
        vlan.extend_from_slice(&[0x81, 0x00, 0, 5]);
        vlan.extend_from_slice(&good[12..]);
        let mut short_offset = good.clone();
        short_offset[14 + 20 + 12] = 0x40;
        for d in [
            fragment,
            zero_length,
            udp,
            vlan,
            short_offset,
            good[..40].to_vec(),
        ] {
            assert!(ethernet_ipv4_tcp(&d).is_none(), "{d:02x?}");
        }
    }

    #[test]
    fn a_cut_packet_is_marked_truncated_like_the_layers_do() {
        let f = frame(&ipv4_tcp(&[7; 100]));
        let cut = &f[..f.len() - 30];
        let fast = ethernet_ipv4_tcp(cut).expect("the common case");
        let Decoded::Tcp(s) = fast else {
            panic!("not TCP")
        };
        assert!(s.truncated);
        assert_eq!(s.payload.len(), 70);
        assert!(same(
            &fast,
            &decode_layers(LinkType::ETHERNET, cut, f.len() as u32)
        ));
    }

    proptest! {
        /// Any bytes, and common packets with any byte changed or cut short:
        /// whatever the one pass takes, it decodes as the layers do.
        #[test]
        fn agrees_with_the_layers(
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            at in 0usize..120,
            value in any::<u8>(),
            keep in 0usize..140,
            random in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            let mut f = frame(&ipv4_tcp(&payload));
            if let Some(b) = f.get_mut(at) {
                *b = value;
            }
            let wire = f.len() as u32;
            f.truncate(keep.max(1));
            for d in [&f[..], &random[..]] {
                let layers = decode_layers(LinkType::ETHERNET, d, wire.max(d.len() as u32));
                let whole = decode(LinkType::ETHERNET, d, wire.max(d.len() as u32));
                prop_assert!(same(&whole, &layers), "{:?} vs {:?}", whole, layers);
            }
        }
    }
}
