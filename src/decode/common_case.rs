//! The packets nearly every capture is made of (Ethernet II with perhaps one
//! 802.1Q tag, Linux cooked, raw IP or BSD loopback; then IPv4 without
//! fragmentation or IPv6 without extension headers; then TCP), decoded in
//! one pass with one length check up front.
//!
//! The general decoder walks layer by layer, each step a bounds-checked read
//! that can fail with a placed error; on the common packet that is about 200
//! instructions, the capture thread's largest cost after reading. Anything
//! this pass is not sure of (another link type or IP version, options that do not
//! fit, a zero IPv4 length, a fragment, a short header) is left to the general
//! decoder, so the result is the same whichever decodes: the unit tests below
//! and the `decode_packet` fuzz target check that they agree.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::ip::{bounded, PROTO_TCP};
use super::link::{ETH_IPV4, ETH_IPV6, ETH_VLAN};
use super::{Decoded, Endpoint, TcpFlags, TcpSegment};
use crate::capture::LinkType;

const ETH_HEADER: usize = 14;
const VLAN_TAG: usize = 4;
const SLL_HEADER: usize = 16;
const SLL2_HEADER: usize = 20;
const MIN_IPV4: usize = 20;
const IPV6_HEADER: usize = 40;
const MIN_TCP: usize = 20;

#[inline(always)]
fn v4(b: &[u8]) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
}

/// The big-endian 16 bits at `at`, if there.
#[inline(always)]
fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

/// `b` is 16 bytes: the callers slice it out of a checked header.
#[inline(always)]
fn v6(b: &[u8]) -> IpAddr {
    let mut a = [0u8; 16];
    a.copy_from_slice(b);
    IpAddr::V6(Ipv6Addr::from(a))
}

/// TCP over IPv4 or IPv6 behind the other link layers captures are made
/// with: Linux cooked (`tcpdump -i any`, SLL and SLL2), raw IP, and BSD
/// loopback; `None` for anything else or anything unusual, which the
/// general decoder handles. Ethernet has [`ethernet_ip_tcp`], tried first.
#[inline(always)]
pub fn other_link_ip_tcp(linktype: LinkType, d: &[u8]) -> Option<Decoded<'_>> {
    match linktype {
        LinkType::LINUX_SLL => by_ether_type(be16(d, 14)?, d.get(SLL_HEADER..)?),
        LinkType::LINUX_SLL2 => by_ether_type(be16(d, 0)?, d.get(SLL2_HEADER..)?),
        LinkType::RAW | LinkType::RAW_OPENBSD | LinkType::RAW_BSDOS => match *d.first()? >> 4 {
            4 => ipv4_tcp(d),
            6 => ipv6_tcp(d),
            _ => None,
        },
        LinkType::IPV4 => ipv4_tcp(d),
        LinkType::IPV6 => ipv6_tcp(d),
        // The address family in the capturing host's byte order (NULL:
        // little-endian here, as the layers read it first; they try the
        // other order when this one names no IP) or in network order (LOOP).
        LinkType::NULL => by_family(
            u32::from_le_bytes(d.get(..4)?.try_into().ok()?),
            d.get(4..)?,
        ),
        LinkType::LOOP => by_family(
            u32::from_be_bytes(d.get(..4)?.try_into().ok()?),
            d.get(4..)?,
        ),
        _ => None,
    }
}

#[inline(always)]
fn by_ether_type(ty: u16, ip: &[u8]) -> Option<Decoded<'_>> {
    match ty {
        ETH_IPV4 => ipv4_tcp(ip),
        ETH_IPV6 => ipv6_tcp(ip),
        _ => None,
    }
}

/// AF_INET is 2 everywhere; AF_INET6 is 10 on Linux, 24, 28 or 30 on the
/// BSDs and macOS.
#[inline(always)]
fn by_family(af: u32, ip: &[u8]) -> Option<Decoded<'_>> {
    match af {
        2 => ipv4_tcp(ip),
        10 | 24 | 28 | 30 => ipv6_tcp(ip),
        _ => None,
    }
}

/// An Ethernet II frame, with at most one 802.1Q tag, carrying TCP over
/// IPv4 or IPv6 as [`ipv4_tcp`] and [`ipv6_tcp`] take them, or `None` for
/// the general decoder to handle.
#[inline(always)]
pub fn ethernet_ip_tcp(d: &[u8]) -> Option<Decoded<'_>> {
    let mut ty = be16(d, 12)?;
    let mut at = ETH_HEADER;
    if ty == ETH_VLAN {
        ty = be16(d, 16)?;
        at += VLAN_TAG;
    }
    by_ether_type(ty, d.get(at..)?)
}

/// An unfragmented IPv4 packet carrying TCP, or `None` for the general
/// decoder to handle.
#[inline(always)]
pub fn ipv4_tcp(ip: &[u8]) -> Option<Decoded<'_>> {
    if ip.len() < MIN_IPV4 + MIN_TCP {
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
    let (pkt, cut) = bounded(ip, total);
    tcp(pkt.get(hlen..)?, cut, || (v4(&ip[12..16]), v4(&ip[16..20])))
}

/// An IPv6 packet whose first next header is TCP, or `None` for the general
/// decoder to handle (extension headers; a zero payload length, which only
/// the snap length can bound). On a dual-stack host these are a good share
/// of the packets, and the walk through the layers costs them several times
/// what this pass does.
#[inline(always)]
pub fn ipv6_tcp(ip: &[u8]) -> Option<Decoded<'_>> {
    if ip.len() < IPV6_HEADER + MIN_TCP {
        return None;
    }
    let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
    if ip[0] >> 4 != 6 || plen == 0 || ip[6] != PROTO_TCP {
        return None;
    }
    let (t, cut) = bounded(&ip[IPV6_HEADER..], plen);
    tcp(t, cut, || (v6(&ip[8..24]), v6(&ip[24..40])))
}

/// The TCP header and payload in `t`, or `None` if its data offset is below
/// the minimum or runs past the bytes (the general decoder names those).
/// The addresses are built only once the checks pass: passing them in built
/// cost the capture thread a fifth more instructions (callgrind, the 1 GiB
/// generated capture).
#[inline(always)]
fn tcp(t: &[u8], cut: bool, addrs: impl FnOnce() -> (IpAddr, IpAddr)) -> Option<Decoded<'_>> {
    let doff = usize::from(*t.get(12)? >> 4) * 4;
    if doff < MIN_TCP {
        return None;
    }
    let payload = t.get(doff..)?;
    let (src, dst) = addrs();
    Some(Decoded::Tcp(TcpSegment {
        src: Endpoint {
            ip: src,
            port: u16::from_be_bytes([t[0], t[1]]),
        },
        dst: Endpoint {
            ip: dst,
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
        (Decoded::Other, Decoded::Other) => true,
        (Decoded::Fragment(x), Decoded::Fragment(y)) => x == y && std::ptr::eq(x.data, y.data),
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

    fn frame6(ip_tcp: &[u8]) -> Vec<u8> {
        let mut v = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x86, 0xdd];
        v.extend_from_slice(ip_tcp);
        v
    }

    fn ipv6_tcp(payload: &[u8]) -> Vec<u8> {
        let mut src = [0u8; 16];
        src[..2].copy_from_slice(&[0x20, 0x01]);
        src[15] = 1;
        let mut dst = src;
        dst[15] = 2;
        let b = etherparse::PacketBuilder::ipv6(src, dst, 64)
            .tcp(40000, 443, 1000, 512)
            .psh()
            .ack(77);
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        v
    }

    /// IPv4 and IPv6 alike: the fields as sent, the same decoding as the
    /// layers', and padding after the payload left out of it.
    #[test]
    fn takes_the_common_packets_and_agrees_with_the_layers() {
        let http = b"GET / HTTP/1.1\r\n\r\n";
        for (f, port, src, dst) in [
            (frame(&ipv4_tcp(http)), 80, "10.0.0.1", "10.0.0.2"),
            (frame6(&ipv6_tcp(http)), 443, "2001::1", "2001::2"),
        ] {
            let fast = ethernet_ip_tcp(&f).expect("the common case");
            let Decoded::Tcp(s) = fast else {
                panic!("not TCP: {fast:?}")
            };
            assert_eq!(s.payload, http);
            assert_eq!(
                (s.src.port, s.dst.port, s.seq, s.ack),
                (40000, port, 1000, 77)
            );
            assert_eq!(
                (s.src.ip.to_string(), s.dst.ip.to_string()),
                (src.to_string(), dst.to_string())
            );
            assert!(!s.truncated);
            assert!(same(
                &fast,
                &decode_layers(LinkType::ETHERNET, &f, f.len() as u32)
            ));
            let mut padded = f.clone();
            padded.extend_from_slice(&[0; 6]);
            let Some(Decoded::Tcp(p)) = ethernet_ip_tcp(&padded) else {
                panic!("padded frame not taken")
            };
            assert_eq!(p.payload, http);
        }
    }

    #[test]
    fn leaves_the_unusual_ipv6_to_the_layers() {
        let good = frame6(&ipv6_tcp(b"x"));
        let mut hop_by_hop = good.clone();
        hop_by_hop[14 + 6] = 0;
        let mut jumbo = good.clone();
        jumbo[14 + 4..14 + 6].copy_from_slice(&[0, 0]);
        let mut version = good.clone();
        version[14] = 0x40;
        let mut short_offset = good.clone();
        short_offset[14 + 40 + 12] = 0x40;
        let mut long_offset = good.clone();
        long_offset[14 + 40 + 12] = 0xf0;
        for d in [
            hop_by_hop,
            jumbo,
            version,
            short_offset,
            long_offset,
            good[..14 + 40 + 19].to_vec(),
        ] {
            assert!(ethernet_ip_tcp(&d).is_none(), "{d:02x?}");
        }
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
        let mut two_tags = good[..12].to_vec();
        two_tags.extend_from_slice(&[0x88, 0xa8, 0, 5, 0x81, 0x00, 0, 6]);
        two_tags.extend_from_slice(&good[12..]);
        let mut short_offset = good.clone();
        short_offset[14 + 20 + 12] = 0x40;
        for d in [
            fragment,
            zero_length,
            udp,
            two_tags,
            short_offset,
            good[..40].to_vec(),
        ] {
            assert!(ethernet_ip_tcp(&d).is_none(), "{d:02x?}");
        }
    }

    /// One 802.1Q tag, as a host on a trunk port or a capture on a VLAN
    /// interface's parent sees: taken, whichever IP version it carries.
    #[test]
    fn takes_one_vlan_tag() {
        for f in [
            tagged(&frame(&ipv4_tcp(b"hello"))),
            tagged(&frame6(&ipv6_tcp(b"hello"))),
        ] {
            let fast = ethernet_ip_tcp(&f).expect("the common case");
            let Decoded::Tcp(s) = fast else {
                panic!("not TCP")
            };
            assert_eq!(s.payload, b"hello");
            assert!(same(
                &fast,
                &decode_layers(LinkType::ETHERNET, &f, f.len() as u32)
            ));
        }
    }

    fn tagged(f: &[u8]) -> Vec<u8> {
        let mut v = f[..12].to_vec();
        v.extend_from_slice(&[0x81, 0x00, 0, 5]);
        v.extend_from_slice(&f[12..]);
        v
    }

    #[test]
    fn a_cut_packet_is_marked_truncated_like_the_layers_do() {
        for f in [frame(&ipv4_tcp(&[7; 100])), frame6(&ipv6_tcp(&[7; 100]))] {
            let cut = &f[..f.len() - 30];
            let fast = ethernet_ip_tcp(cut).expect("the common case");
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
    }

    /// The same IPv4 or IPv6 packet behind each other link type the one
    /// pass takes: (link type, the bytes before the IP packet).
    fn behind_links(v6: bool) -> Vec<(LinkType, Vec<u8>)> {
        let ty: [u8; 2] = if v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
        let mut sll = vec![0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];
        sll.extend_from_slice(&ty);
        let mut sll2 = ty.to_vec();
        sll2.extend_from_slice(&[0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
        let family: u32 = if v6 { 30 } else { 2 };
        vec![
            (LinkType::LINUX_SLL, sll),
            (LinkType::LINUX_SLL2, sll2),
            (LinkType::RAW, vec![]),
            (if v6 { LinkType::IPV6 } else { LinkType::IPV4 }, vec![]),
            (LinkType::NULL, family.to_le_bytes().to_vec()),
            // Written on a host of the other byte order: left to the layers.
            (LinkType::NULL, family.to_be_bytes().to_vec()),
            (LinkType::LOOP, family.to_be_bytes().to_vec()),
        ]
    }

    #[test]
    fn takes_tcp_behind_the_other_link_types_and_agrees_with_the_layers() {
        for v6 in [false, true] {
            let ip = if v6 {
                ipv6_tcp(b"hello")
            } else {
                ipv4_tcp(b"hello")
            };
            for (i, (link, head)) in behind_links(v6).into_iter().enumerate() {
                let mut f = head;
                f.extend_from_slice(&ip);
                let layers = decode_layers(link, &f, f.len() as u32);
                let Decoded::Tcp(s) = &layers else {
                    panic!("{link:?}: not TCP: {layers:?}")
                };
                assert_eq!(s.payload, b"hello");
                match other_link_ip_tcp(link, &f) {
                    Some(fast) => assert!(same(&fast, &layers), "{link:?}"),
                    // Only the family in the other byte order is left.
                    None => assert_eq!(i, 5, "{link:?} not taken"),
                }
            }
        }
    }

    proptest! {
        /// Behind every link type the one pass takes, packets with any byte
        /// changed or cut short decode as the layers decode them.
        #[test]
        fn agrees_with_the_layers_behind_every_link(
            v6 in any::<bool>(),
            link in 0usize..7,
            payload in proptest::collection::vec(any::<u8>(), 0..64),
            at in 0usize..140,
            value in any::<u8>(),
            keep in 0usize..160,
        ) {
            let (linktype, mut f) = behind_links(v6).swap_remove(link);
            f.extend_from_slice(&if v6 { ipv6_tcp(&payload) } else { ipv4_tcp(&payload) });
            if let Some(b) = f.get_mut(at) {
                *b = value;
            }
            let wire = f.len() as u32;
            f.truncate(keep.max(1));
            let layers = decode_layers(linktype, &f, wire);
            let whole = decode(linktype, &f, wire);
            prop_assert!(same(&whole, &layers), "{:?} vs {:?}", whole, layers);
        }
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
            tag in any::<bool>(),
        ) {
            let plain = frame(&ipv4_tcp(&payload));
            let plain6 = frame6(&ipv6_tcp(&payload));
            let (mut f, mut f6) = if tag { (tagged(&plain), tagged(&plain6)) } else { (plain, plain6) };
            let mut random6 = random.clone();
            if let Some(t) = random6.get_mut(12..14) {
                t.copy_from_slice(&[0x86, 0xdd]);
            }
            for f in [&mut f, &mut f6] {
                if let Some(b) = f.get_mut(at) {
                    *b = value;
                }
            }
            let wire = f.len() as u32;
            let wire6 = f6.len() as u32;
            f.truncate(keep.max(1));
            f6.truncate(keep.max(1));
            for (d, wire) in [(&f[..], wire), (&random[..], wire), (&f6[..], wire6), (&random6[..], wire6)] {
                let layers = decode_layers(LinkType::ETHERNET, d, wire.max(d.len() as u32));
                let whole = decode(LinkType::ETHERNET, d, wire.max(d.len() as u32));
                prop_assert!(same(&whole, &layers), "{:?} vs {:?}", whole, layers);
            }
        }
    }
}
