//! Decoding hand-built packets of every supported link type and tunnel, and
//! checking that damaged or random bytes never panic.

use etherparse::{IpNumber, PacketBuilder};

use super::*;

const GET: &[u8] = b"GET /chat HTTP/1.1\r\nUpgrade: websocket\r\n\r\n";

fn ip4_tcp(payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
        .tcp(40000, 80, 1000, 512)
        .psh()
        .ack(77);
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

fn ip6_tcp(payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ipv6([1; 16], [2; 16], 64).tcp(40000, 443, 5, 512);
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

fn ip4_udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let b = PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64).udp(sport, dport);
    let mut v = Vec::new();
    b.write(&mut v, payload).unwrap();
    v
}

fn ip4_raw(proto: IpNumber, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    PacketBuilder::ipv4([172, 16, 0, 1], [172, 16, 0, 2], 64)
        .write(&mut v, proto, payload)
        .unwrap();
    v
}

fn eth(ty: u16, body: &[u8]) -> Vec<u8> {
    let mut v = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
    v.extend(ty.to_be_bytes());
    v.extend(body);
    v
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[track_caller]
fn seg(d: Decoded<'_>) -> TcpSegment<'_> {
    match d {
        Decoded::Tcp(s) => s,
        other => panic!("expected TCP, got {other:?}"),
    }
}

#[track_caller]
fn expect_get(linktype: LinkType, data: &[u8]) {
    let s = seg(decode(linktype, data, data.len() as u32));
    assert_eq!(s.payload, GET);
    assert!(!s.truncated);
}

#[test]
fn ethernet_ipv4_tcp_fields() {
    let pkt = eth(0x0800, &ip4_tcp(GET));
    let s = seg(decode(LinkType::ETHERNET, &pkt, pkt.len() as u32));
    assert_eq!(s.src.to_string(), "10.0.0.1:40000");
    assert_eq!(s.dst.to_string(), "10.0.0.2:80");
    assert_eq!((s.seq, s.ack), (1000, 77));
    assert!(s.flags.ack() && !s.flags.syn() && s.flags.0 & TcpFlags::PSH != 0);
    assert_eq!(s.payload, GET);
}

#[test]
fn ethernet_padding_is_trimmed() {
    let pkt = cat(&[&eth(0x0800, &ip4_tcp(b"")), &[0; 6]]);
    let s = seg(decode(LinkType::ETHERNET, &pkt, pkt.len() as u32));
    assert!(s.payload.is_empty());
}

#[test]
fn ipv6_and_extension_headers() {
    let pkt = eth(0x86dd, &ip6_tcp(GET));
    let s = seg(decode(LinkType::ETHERNET, &pkt, pkt.len() as u32));
    assert_eq!(s.dst.to_string(), "[202:202:202:202:202:202:202:202]:443");
    // Insert a hop-by-hop header in front of TCP.
    let mut v6 = ip6_tcp(GET);
    let tcp = v6.split_off(40);
    v6[6] = 0;
    let plen = u16::from_be_bytes([v6[4], v6[5]]) + 8;
    v6[4..6].copy_from_slice(&plen.to_be_bytes());
    let v6 = cat(&[&v6, &[6, 0, 1, 4, 0, 0, 0, 0], &tcp]);
    expect_get(LinkType::IPV6, &v6);
    // A fragment header.
    let mut frag = v6.clone();
    frag[6] = 44;
    assert!(matches!(
        decode(LinkType::IPV6, &frag, frag.len() as u32),
        Decoded::Fragment(_)
    ));
    // A fragment header with offset 0 and no more fragments: the whole packet
    // (an atomic fragment), read on. The reserved bits do not matter.
    let mut atomic = frag.clone();
    atomic[40 + 2..40 + 4].copy_from_slice(&[0, 0b110]);
    expect_get(LinkType::IPV6, &atomic);
    // A first fragment (offset 0, more to come) is still a fragment.
    atomic[40 + 3] = 1;
    atomic[40 + 4..40 + 8].copy_from_slice(&[1, 2, 3, 4]);
    let Decoded::Fragment(f) = decode(LinkType::IPV6, &atomic, atomic.len() as u32) else {
        panic!("a first fragment");
    };
    // The protocol is the fragment header's next header; the bytes follow it.
    assert_eq!((f.id, f.proto, f.offset, f.more), (0x0102_0304, 6, 0, true));
    assert_eq!(f.data, &atomic[48..]);
    // Offset 2 (16 bytes), the last fragment.
    atomic[40 + 2..40 + 4].copy_from_slice(&[0, 16]);
    let Decoded::Fragment(f) = decode(LinkType::IPV6, &atomic, atomic.len() as u32) else {
        panic!("a last fragment");
    };
    assert_eq!((f.offset, f.more), (16, false));
}

#[test]
fn ipv4_fragments() {
    let mut pkt = ip4_tcp(GET);
    pkt[6] = 0x20; // more fragments
    pkt[4..6].copy_from_slice(&[0xab, 0xcd]);
    let Decoded::Fragment(f) = decode(LinkType::IPV4, &pkt, pkt.len() as u32) else {
        panic!("a first fragment");
    };
    // What reassembly needs: the identification, the protocol, where the
    // bytes go, and the bytes after the IP header, the TCP header among them.
    assert_eq!(
        (f.id, f.proto, f.offset, f.more, f.cut),
        (0xabcd, 6, 0, true, false)
    );
    assert_eq!(f.data, &pkt[20..]);
    assert_eq!(f.src.to_string(), "10.0.0.1");
    // Cut by the snap length: marked, so its datagram is given up.
    let short = &pkt[..pkt.len() - 3];
    let Decoded::Fragment(f) = decode(LinkType::IPV4, short, pkt.len() as u32) else {
        panic!("still a fragment");
    };
    assert!(f.cut);
    pkt[7] = 0x03; // offset 3 (24 bytes), more fragments
    let Decoded::Fragment(f) = decode(LinkType::IPV4, &pkt, pkt.len() as u32) else {
        panic!("a middle fragment");
    };
    assert_eq!((f.offset, f.more), (24, true));
    pkt[7] = 0;
    pkt[6] = 0x00;
    pkt[7] = 0x10; // offset
    assert!(matches!(
        decode(LinkType::IPV4, &pkt, pkt.len() as u32),
        Decoded::Fragment(_)
    ));
    pkt[6] = 0x40; // don't fragment only
    pkt[7] = 0;
    expect_get(LinkType::IPV4, &pkt);
}

#[test]
fn vlan_stacks() {
    let ip = ip4_tcp(GET);
    let tag = |next: u16| {
        let mut t = vec![0x00, 0x05];
        t.extend(next.to_be_bytes());
        t
    };
    expect_get(LinkType::ETHERNET, &eth(0x8100, &cat(&[&tag(0x0800), &ip])));
    expect_get(
        LinkType::ETHERNET,
        &eth(0x88a8, &cat(&[&tag(0x8100), &tag(0x0800), &ip])),
    );
    expect_get(
        LinkType::ETHERNET,
        &eth(
            0x9100,
            &cat(&[&tag(0x88a8), &tag(0x8100), &tag(0x86dd), &ip6_tcp(GET)]),
        ),
    );
}

#[test]
fn mpls_and_pseudowire() {
    let labels = [0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40];
    expect_get(
        LinkType::ETHERNET,
        &eth(0x8847, &cat(&[&labels, &ip4_tcp(GET)])),
    );
    expect_get(
        LinkType::ETHERNET,
        &eth(0x8848, &cat(&[&labels, &ip6_tcp(GET)])),
    );
    let pw = cat(&[&labels, &[0, 0, 0, 0], &eth(0x0800, &ip4_tcp(GET))]);
    expect_get(LinkType::ETHERNET, &eth(0x8847, &pw));
}

#[test]
fn pppoe_session() {
    let hdr = [0x11, 0x00, 0x12, 0x34, 0x00, 0x40];
    expect_get(
        LinkType::ETHERNET,
        &eth(0x8864, &cat(&[&hdr, &[0x00, 0x21], &ip4_tcp(GET)])),
    );
    expect_get(
        LinkType::ETHERNET,
        &eth(0x8864, &cat(&[&hdr, &[0x00, 0x57], &ip6_tcp(GET)])),
    );
}

#[test]
fn loopback_both_orders() {
    for af in [2u32.to_le_bytes(), 2u32.to_be_bytes()] {
        expect_get(LinkType::NULL, &cat(&[&af, &ip4_tcp(GET)]));
    }
    for af in [24u32, 28, 30] {
        expect_get(LinkType::NULL, &cat(&[&af.to_le_bytes(), &ip6_tcp(GET)]));
        expect_get(LinkType::NULL, &cat(&[&af.to_be_bytes(), &ip6_tcp(GET)]));
        expect_get(LinkType::LOOP, &cat(&[&af.to_be_bytes(), &ip6_tcp(GET)]));
    }
    let arp = cat(&[&7u32.to_le_bytes(), &ip4_tcp(GET)]);
    assert!(matches!(decode(LinkType::NULL, &arp, 0), Decoded::Other));
}

#[test]
fn raw_ip_link_types() {
    for lt in [LinkType::RAW, LinkType::RAW_OPENBSD, LinkType::RAW_BSDOS] {
        expect_get(lt, &ip4_tcp(GET));
        expect_get(lt, &ip6_tcp(GET));
    }
    expect_get(LinkType::IPV4, &ip4_tcp(GET));
    expect_get(LinkType::IPV6, &ip6_tcp(GET));
    assert!(matches!(
        decode(LinkType::IPV4, &ip6_tcp(GET), 0),
        Decoded::Malformed(_)
    ));
}

#[test]
fn linux_cooked() {
    let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
    sll.extend(0x0800u16.to_be_bytes());
    expect_get(LinkType::LINUX_SLL, &cat(&[&sll, &ip4_tcp(GET)]));
    let mut sll2 = 0x86ddu16.to_be_bytes().to_vec();
    sll2.extend([0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0]);
    expect_get(LinkType::LINUX_SLL2, &cat(&[&sll2, &ip6_tcp(GET)]));
}

#[test]
fn nflog_payload_tlv() {
    let ip = ip4_tcp(GET);
    for le in [true, false] {
        let w16 = |x: u16| if le { x.to_le_bytes() } else { x.to_be_bytes() };
        let mut v = vec![2, 0, 0, 1];
        // A prefix TLV (8 bytes), then the payload TLV, padded.
        v.extend(w16(8));
        v.extend(w16(1));
        v.extend([0, 0, 0, 0]);
        v.extend(w16(4 + ip.len() as u16));
        v.extend(w16(9));
        v.extend(&ip);
        expect_get(LinkType::NFLOG, &v);
    }
}

#[test]
fn radiotap_80211_qos_data() {
    let radiotap = [0, 0, 8, 0, 0, 0, 0, 0];
    // QoS data (subtype 8), from the distribution system.
    let mut wlan = vec![0x88, 0x02, 0, 0];
    wlan.extend([0xaa; 18]);
    wlan.extend([0x10, 0x00]); // sequence control
    wlan.extend([0x00, 0x00]); // QoS control
    let snap = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];
    let pkt = cat(&[&radiotap, &wlan, &snap, &ip4_tcp(GET), &[1, 2, 3, 4]]);
    expect_get(LinkType::IEEE802_11_RADIOTAP, &pkt);
    // Plain data (no QoS) works too; protected frames are not readable.
    let mut plain = cat(&[
        &radiotap,
        &[0x08, 0x01, 0, 0],
        &[0xbb; 20],
        &snap,
        &ip4_tcp(GET),
    ]);
    expect_get(LinkType::IEEE802_11_RADIOTAP, &plain);
    plain[9] |= 0x40;
    assert!(matches!(
        decode(LinkType::IEEE802_11_RADIOTAP, &plain, 0),
        Decoded::Other
    ));
}

#[test]
fn gtpu_with_optional_fields_and_extension() {
    let inner = ip4_tcp(GET);
    let mut gtp = vec![0x34, 0xff];
    gtp.extend(((inner.len() + 4 + 4) as u16).to_be_bytes());
    gtp.extend([0, 0, 0, 1]); // TEID
    gtp.extend([0, 7, 0, 0x85]); // seq, N-PDU, next: PDU session container
    gtp.extend([1, 0x10, 0x01, 0x00]); // one 4-byte extension, then none
    let outer = eth(0x0800, &ip4_udp(2152, 2152, &cat(&[&gtp, &inner])));
    expect_get(LinkType::ETHERNET, &outer);
    let mut plain = vec![0x30, 0xff, 0, 0, 0, 0, 0, 1];
    plain.extend(ip6_tcp(GET));
    expect_get(LinkType::RAW, &ip4_udp(2152, 2152, &plain));
}

#[test]
fn vxlan_and_tzsp() {
    let inner = eth(0x0800, &ip4_tcp(GET));
    let vx = cat(&[&[0x08, 0, 0, 0, 0, 0, 0x2a, 0], &inner]);
    expect_get(LinkType::ETHERNET, &eth(0x0800, &ip4_udp(50000, 4789, &vx)));
    let tz = cat(&[&[1, 0, 0, 1, 0, 10, 2, 0xab, 0xcd, 1], &inner]);
    expect_get(
        LinkType::ETHERNET,
        &eth(0x0800, &ip4_udp(50000, 37008, &tz)),
    );
}

#[test]
fn l2tp_ppp() {
    // Length present, sequence present, offset with 2 bytes of padding.
    let mut l2 = vec![0x4a, 0x02, 0, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0, 2, 0, 0];
    l2.extend([0xff, 0x03, 0x00, 0x57]);
    l2.extend(ip6_tcp(GET));
    expect_get(LinkType::ETHERNET, &eth(0x0800, &ip4_udp(1701, 1701, &l2)));
    // Compressed protocol field.
    let l2 = cat(&[&[0x00, 0x02, 0, 1, 0, 2, 0x21], &ip4_tcp(GET)[..]]);
    expect_get(LinkType::ETHERNET, &eth(0x0800, &ip4_udp(1701, 1701, &l2)));
}

#[test]
fn gre_variants() {
    // Checksum, key and sequence present.
    let gre = cat(&[&[0xb0, 0x00, 0x08, 0x00], &[0; 12], &ip4_tcp(GET)]);
    expect_get(LinkType::RAW, &ip4_raw(IpNumber::GRE, &gre));
    let gre = cat(&[
        &[0x20, 0x00, 0x65, 0x58, 0, 0, 0, 9],
        &eth(0x86dd, &ip6_tcp(GET)),
    ]);
    expect_get(LinkType::RAW, &ip4_raw(IpNumber::GRE, &gre));
    // PPTP's enhanced GRE with PPP inside.
    let gre = cat(&[
        &[0x30, 0x81, 0x88, 0x0b, 0, 10, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0],
        &[0xff, 0x03, 0x00, 0x21],
        &ip4_tcp(GET),
    ]);
    expect_get(LinkType::RAW, &ip4_raw(IpNumber::GRE, &gre));
}

#[test]
fn ip_in_ip_and_depth_bound() {
    expect_get(LinkType::RAW, &ip4_raw(IpNumber::IPV4, &ip4_tcp(GET)));
    expect_get(LinkType::RAW, &ip4_raw(IpNumber::IPV6, &ip6_tcp(GET)));
    let mut pkt = ip4_tcp(GET);
    for _ in 0..ip::MAX_DEPTH {
        pkt = ip4_raw(IpNumber::IPV4, &pkt);
    }
    expect_get(LinkType::RAW, &pkt);
    let pkt = ip4_raw(IpNumber::IPV4, &pkt);
    assert!(matches!(
        decode(LinkType::RAW, &pkt, pkt.len() as u32),
        Decoded::Malformed(_)
    ));
}

#[test]
fn snaplen_cut_payload_is_truncated() {
    let full = eth(0x0800, &ip4_tcp(GET));
    let cut = &full[..full.len() - 10];
    let s = seg(decode(LinkType::ETHERNET, cut, full.len() as u32));
    assert!(s.truncated);
    assert_eq!(s.payload, &GET[..GET.len() - 10]);
    // Cut inside the TCP header: nothing usable.
    assert!(matches!(
        decode(LinkType::ETHERNET, &full[..14 + 20 + 10], full.len() as u32),
        Decoded::Malformed(_)
    ));
    // A zero IP length (offloaded capture) relies on the capture's lengths.
    let mut tso = full.clone();
    tso[16] = 0;
    tso[17] = 0;
    let s = seg(decode(
        LinkType::ETHERNET,
        &tso[..tso.len() - 4],
        tso.len() as u32,
    ));
    assert!(s.truncated);
    let s = seg(decode(LinkType::ETHERNET, &tso, tso.len() as u32));
    assert!(!s.truncated && s.payload == GET);
}

#[test]
fn bad_tcp_data_offset() {
    let mut pkt = ip4_tcp(GET);
    pkt[20 + 12] = 0x40;
    assert!(matches!(
        decode(LinkType::IPV4, &pkt, 0),
        Decoded::Malformed(_)
    ));
    pkt[20 + 12] = 0xf0;
    let short = ip4_tcp(b"");
    let mut short = short;
    short[20 + 12] = 0xf0;
    assert!(matches!(
        decode(LinkType::IPV4, &short, 0),
        Decoded::Malformed(_)
    ));
}

#[test]
fn unsupported_link() {
    assert!(matches!(
        decode(LinkType(7), &[1, 2, 3], 3),
        Decoded::UnsupportedLink(LinkType(7))
    ));
}

const ALL_LINKS: [LinkType; 14] = [
    LinkType::NULL,
    LinkType::ETHERNET,
    LinkType::RAW_OPENBSD,
    LinkType::RAW_BSDOS,
    LinkType::LOOP,
    LinkType::RAW,
    LinkType::LINUX_SLL,
    LinkType::IEEE802_11_RADIOTAP,
    LinkType::NFLOG,
    LinkType::IPV4,
    LinkType::IPV6,
    LinkType::LINUX_SLL2,
    LinkType(7),
    LinkType(u32::MAX),
];

#[test]
fn every_prefix_and_bit_flip_is_safe() {
    let samples = [
        eth(
            0x0800,
            &ip4_udp(
                2152,
                2152,
                &cat(&[
                    &[0x34, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0, 0, 0],
                    &ip4_tcp(GET),
                ]),
            ),
        ),
        eth(
            0x8100,
            &cat(&[
                &[0, 1, 0x88, 0x64, 0x11, 0, 0, 1, 0, 0, 0, 0x57],
                &ip6_tcp(GET),
            ]),
        ),
        ip4_raw(
            IpNumber::GRE,
            &cat(&[
                &[0x20, 0, 0x65, 0x58, 0, 0, 0, 0],
                &eth(0x0800, &ip4_tcp(GET)),
            ]),
        ),
        cat(&[
            &[0, 0, 8, 0, 0, 0, 0, 0, 0x88, 0x03],
            &[0; 28],
            &[0xaa, 0xaa, 3, 0, 0, 0, 8, 0],
            &ip4_tcp(GET),
        ]),
    ];
    for s in &samples {
        for cut in 0..=s.len() {
            for lt in ALL_LINKS {
                let _ = decode(lt, &s[..cut], s.len() as u32);
            }
        }
        for bit in 0..s.len() * 8 {
            let mut m = s.clone();
            m[bit / 8] ^= 1 << (bit % 8);
            for lt in ALL_LINKS {
                let _ = decode(lt, &m, m.len() as u32);
            }
        }
    }
}

#[test]
fn random_bytes_are_safe() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut buf = [0u8; 256];
    for round in 0..20_000 {
        let len = (next() % 256) as usize;
        for b in buf.iter_mut().take(len) {
            *b = next() as u8;
        }
        // Bias the start towards real headers so the random bytes reach the
        // deeper layers.
        if len > 20 && round % 2 == 0 {
            buf[0] = 0x45;
            buf[9] = [6, 17, 47, 4, 41][round % 5];
        }
        for lt in ALL_LINKS {
            let _ = decode(lt, &buf[..len], next() as u32);
        }
    }
}

#[test]
fn fuzz_entry_picks_link_type() {
    let input = cat(&[&[0, 101], &ip4_tcp(GET)]);
    assert_eq!(seg(decode_fuzz_input(&input)).payload, GET);
    assert!(matches!(decode_fuzz_input(&[1]), Decoded::Malformed(_)));
}

#[track_caller]
fn malformed(linktype: LinkType, pkt: &[u8]) -> Malformed {
    match decode(linktype, pkt, pkt.len() as u32) {
        Decoded::Malformed(m) => m,
        other => panic!("expected damage, got {other:?}"),
    }
}

#[test]
fn damage_names_its_layer_and_the_byte_in_the_packet() {
    // An IPv4 header length below 20, behind a 14-byte Ethernet header.
    let mut pkt = eth(0x0800, &ip4_tcp(GET));
    pkt[14] = 0x44;
    let m = malformed(LinkType::ETHERNET, &pkt);
    assert_eq!((m.layer, m.offset), (Layer::Ip, Some(14)));
    assert_eq!(m.to_string(), "ip at byte 14: bad IPv4 header length");
    // A TCP data offset below 5: byte 12 of the TCP header.
    let mut pkt = eth(0x0800, &ip4_tcp(GET));
    pkt[14 + 20 + 12] = 0x40;
    let m = malformed(LinkType::ETHERNET, &pkt);
    assert_eq!((m.layer, m.offset), (Layer::Tcp, Some(14 + 20 + 12)));
    // An Ethernet header cut short.
    let m = malformed(LinkType::ETHERNET, &[0u8; 10]);
    assert_eq!((m.layer, m.offset), (Layer::Link, Some(12)));
    // A VXLAN header cut short is the tunnel's; the frame inside it is a link.
    let short_vxlan = eth(0x0800, &ip4_udp(5000, 4789, &[8, 0, 0]));
    let m = malformed(LinkType::ETHERNET, &short_vxlan);
    assert_eq!(m.layer, Layer::Tunnel);
    let inner = eth(
        0x0800,
        &ip4_udp(5000, 4789, &[8, 0, 0, 0, 0, 0, 1, 0, 2, 0]),
    );
    let m = malformed(LinkType::ETHERNET, &inner);
    assert_eq!(m.layer, Layer::Link);
    // 14 + 20 (IP) + 8 (UDP) + 8 (VXLAN): the inner frame's type field.
    assert_eq!(m.offset, Some(14 + 20 + 8 + 8 + 12));
    // Nesting too deep has no one place.
    let mut deep = ip4_tcp(GET);
    for _ in 0..=ip::MAX_DEPTH {
        deep = ip4_raw(IpNumber::IPV4, &deep);
    }
    let m = malformed(LinkType::RAW, &deep);
    assert_eq!(m.offset, None);
}

#[test]
fn bare_acks_are_told_from_segments_that_matter() {
    let with_flags = |syn: bool, fin: bool, rst: bool, payload: &[u8]| {
        let mut b = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64)
            .tcp(40000, 80, 1000, 512)
            .ack(77);
        if syn {
            b = b.syn();
        }
        if fin {
            b = b.fin();
        }
        if rst {
            b = b.rst();
        }
        let mut v = Vec::new();
        b.write(&mut v, payload).unwrap();
        v
    };
    let bare = with_flags(false, false, false, b"");
    assert!(seg(decode(LinkType::RAW, &bare, bare.len() as u32)).is_bare_ack());
    for (syn, fin, rst, payload) in [
        (true, false, false, &b""[..]),
        (false, true, false, b""),
        (false, false, true, b""),
        (false, false, false, b"x"),
    ] {
        let p = with_flags(syn, fin, rst, payload);
        let s = seg(decode(LinkType::RAW, &p, p.len() as u32));
        assert!(
            !s.is_bare_ack(),
            "syn {syn} fin {fin} rst {rst} {payload:?}"
        );
    }
    // A payload cut off entirely by the snap length was there: not bare.
    let cut = with_flags(false, false, false, b"data");
    let short = &cut[..cut.len() - 4];
    let s = seg(decode(LinkType::RAW, short, cut.len() as u32));
    assert!(s.truncated && s.payload.is_empty());
    assert!(!s.is_bare_ack());
    // IPv6 too.
    let v6 = ip6_tcp(b"");
    assert!(seg(decode(LinkType::RAW, &v6, v6.len() as u32)).is_bare_ack());
}
