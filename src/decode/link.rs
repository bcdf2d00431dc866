//! Link layers: from a capture's link type to the network-layer bytes.
//!
//! Hand-written slicing: each of these headers is a fixed offset or a short
//! loop, cheaper to skip directly than through a general-purpose packet slicer,
//! and several (NFLOG, radiotap, SLL2) are not covered by one anyway.

use super::ip::{self, Ctx};
use super::wire::{be16, rest, u8_at, Fault, Res};
use super::{Decoded, Layer};
use crate::capture::LinkType;

pub const ETH_IPV4: u16 = 0x0800;
pub const ETH_IPV6: u16 = 0x86dd;
pub const ETH_VLAN: u16 = 0x8100;
const ETH_QINQ: u16 = 0x88a8;
const ETH_QINQ_OLD: u16 = 0x9100;
const ETH_QINQ_OLD2: u16 = 0x9200;
const ETH_MPLS: u16 = 0x8847;
const ETH_MPLS_MULTICAST: u16 = 0x8848;
const ETH_PPPOE_SESSION: u16 = 0x8864;
/// Transparent Ethernet bridging: a whole Ethernet frame follows (GRE, NVGRE).
pub const ETH_BRIDGED: u16 = 0x6558;
pub const ETH_PPP: u16 = 0x880b;

/// Below this an Ethernet type field is an 802.3 length, followed by LLC.
const ETH_MIN_TYPE: u16 = 0x0600;

/// Decode a packet of the given link type.
pub fn by_linktype(linktype: LinkType, d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    by_linktype_in(linktype, d, ctx).map_err(Fault::in_layer(Layer::Link))
}

fn by_linktype_in(linktype: LinkType, d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    match linktype {
        LinkType::ETHERNET => ethernet(d, ctx),
        LinkType::NULL => null(d, ctx),
        LinkType::LOOP => loopback(d, ctx),
        LinkType::RAW | LinkType::RAW_OPENBSD | LinkType::RAW_BSDOS => ip::by_version(d, ctx),
        LinkType::IPV4 => ip::ipv4(d, ctx),
        LinkType::IPV6 => ip::ipv6(d, ctx),
        LinkType::LINUX_SLL => ether_type(be16(d, 14, "short SLL header")?, rest(d, 16, "")?, ctx),
        LinkType::LINUX_SLL2 => ether_type(
            be16(d, 0, "short SLL2 header")?,
            rest(d, 20, "short SLL2 header")?,
            ctx,
        ),
        LinkType::NFLOG => nflog(d, ctx),
        LinkType::IEEE802_11_RADIOTAP => radiotap(d, ctx),
        other => Ok(Decoded::UnsupportedLink(other)),
    }
}

/// An Ethernet II frame, with any number of VLAN tags (bounded by the depth).
pub fn ethernet(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    ethernet_in(d, ctx).map_err(Fault::in_layer(Layer::Link))
}

fn ethernet_in(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    let ty = be16(d, 12, "short Ethernet header")?;
    ether_type(ty, rest(d, 14, "short Ethernet header")?, ctx)
}

/// Dispatch on an Ethernet type, the common currency of link layers and tunnels.
pub fn ether_type(mut ty: u16, mut d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    // VLAN tags are peeled in a loop; the bound keeps a crafted stack of tags
    // from costing more than a real one could.
    for _ in 0..ip::MAX_DEPTH {
        match ty {
            ETH_VLAN | ETH_QINQ | ETH_QINQ_OLD | ETH_QINQ_OLD2 => {
                ty = be16(d, 2, "short VLAN tag")?;
                d = rest(d, 4, "short VLAN tag")?;
            }
            _ => break,
        }
    }
    match ty {
        ETH_IPV4 => ip::ipv4(d, ctx),
        ETH_IPV6 => ip::ipv6(d, ctx),
        ETH_MPLS | ETH_MPLS_MULTICAST => mpls(d, ctx.deeper()?),
        ETH_PPPOE_SESSION => ppp(rest(d, 6, "short PPPoE header")?, ctx),
        ETH_BRIDGED => ethernet(d, ctx.deeper()?),
        ETH_PPP => ppp(d, ctx),
        t if t < ETH_MIN_TYPE => llc(d, ctx),
        _ => Ok(Decoded::Other),
    }
}

/// 802.2 LLC; only SNAP carries an Ethernet type that can lead to IP.
fn llc(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    match d.get(..3) {
        Some([0xaa, 0xaa, 0x03]) => ether_type(
            be16(d, 6, "short SNAP header")?,
            rest(d, 8, "")?,
            ctx.deeper()?,
        ),
        _ => Ok(Decoded::Other),
    }
}

/// An MPLS label stack. What follows the bottom label is not announced; like
/// other analyzers, guess from the first nibble (4, 6, or 0 for a pseudowire
/// control word followed by Ethernet).
fn mpls(mut d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    for _ in 0..16 {
        let bottom = u8_at(d, 2, "short MPLS label")? & 1 != 0;
        d = rest(d, 4, "short MPLS label")?;
        if bottom {
            return match d.first().map(|b| b >> 4) {
                Some(4) => ip::ipv4(d, ctx),
                Some(6) => ip::ipv6(d, ctx),
                Some(0) => ethernet(rest(d, 4, "short pseudowire control word")?, ctx.deeper()?),
                _ => Ok(Decoded::Other),
            };
        }
    }
    Err(Fault::at(d, 0, "MPLS label stack too deep"))
}

/// A PPP frame (PPPoE, L2TP, PPTP): optional address/control bytes, then a
/// one- or two-byte protocol field.
pub fn ppp(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    ppp_in(d, ctx).map_err(Fault::in_layer(Layer::Link))
}

fn ppp_in(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    let d = match d.get(..2) {
        Some([0xff, 0x03]) => rest(d, 2, "")?,
        _ => d,
    };
    let first = u8_at(d, 0, "short PPP header")?;
    // Protocol-field compression: an odd first byte is a one-byte protocol.
    let (proto, payload) = if first & 1 == 1 {
        (u16::from(first), rest(d, 1, "")?)
    } else {
        (
            be16(d, 0, "short PPP header")?,
            rest(d, 2, "short PPP header")?,
        )
    };
    match proto {
        0x0021 => ip::ipv4(payload, ctx),
        0x0057 => ip::ipv6(payload, ctx),
        _ => Ok(Decoded::Other),
    }
}

/// BSD loopback: an address family in the writer's byte order, which the file
/// does not tell, so both orders are tried.
fn null(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    let af = super::wire::array::<4>(d, 0, "short loopback header")?;
    let payload = rest(d, 4, "")?;
    af_dispatch(u32::from_le_bytes(af), payload, ctx)
        .or_else(|| af_dispatch(u32::from_be_bytes(af), payload, ctx))
        .unwrap_or(Ok(Decoded::Other))
}

/// OpenBSD loopback: the address family in network order.
fn loopback(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    let af = super::wire::be32(d, 0, "short loopback header")?;
    af_dispatch(af, rest(d, 4, "")?, ctx).unwrap_or(Ok(Decoded::Other))
}

fn af_dispatch(af: u32, d: &[u8], ctx: Ctx) -> Option<Res<Decoded<'_>>> {
    match af {
        2 => Some(ip::ipv4(d, ctx)),
        // AF_INET6 differs between BSDs (24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS)
        // and Linux (10).
        10 | 24 | 28 | 30 => Some(ip::ipv6(d, ctx)),
        _ => None,
    }
}

/// Linux NFLOG: a 4-byte header, then TLVs in the writer's byte order; the
/// packet is the payload TLV (type 9).
fn nflog(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    let mut tlvs = rest(d, 4, "short NFLOG header")?;
    // The byte order is the writer's; the first TLV's length tells which one
    // makes sense.
    let le = match super::wire::array::<2>(tlvs, 0, "short NFLOG TLV") {
        Ok(b) => {
            let l = usize::from(u16::from_le_bytes(b));
            (4..=tlvs.len()).contains(&l)
        }
        Err(_) => return Ok(Decoded::Other),
    };
    let read16 = |b: [u8; 2]| {
        if le {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        }
    };
    while tlvs.len() >= 4 {
        let len = usize::from(read16(super::wire::array(tlvs, 0, "")?));
        let ty = read16(super::wire::array(tlvs, 2, "")?) & 0x7fff;
        if len < 4 {
            return Err(Fault::at(tlvs, 0, "bad NFLOG TLV length"));
        }
        let value = tlvs
            .get(4..len)
            .ok_or_else(|| Fault::at(tlvs, 4, "NFLOG TLV runs past the packet"))?;
        if ty == 9 {
            return ip::by_version(value, ctx);
        }
        tlvs = tlvs.get((len + 3) & !3..).unwrap_or(&[]);
    }
    Ok(Decoded::Other)
}

/// Radiotap, then an 802.11 data frame, then LLC/SNAP.
fn radiotap(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    let rt_len = usize::from(u16::from_le_bytes(super::wire::array(
        d,
        2,
        "short radiotap header",
    )?));
    let f = rest(d, rt_len, "radiotap header runs past the packet")?;
    let fc0 = u8_at(f, 0, "short 802.11 header")?;
    let fc1 = u8_at(f, 1, "short 802.11 header")?;
    let frame_type = (fc0 >> 2) & 3;
    let subtype = fc0 >> 4;
    // Only data frames carry IP; null-data subtypes (bit 2) carry nothing, and
    // protected frames cannot be read without keys.
    if frame_type != 2 || subtype & 0x4 != 0 || fc1 & 0x40 != 0 {
        return Ok(Decoded::Other);
    }
    let mut hlen = 24;
    if fc1 & 0x03 == 0x03 {
        hlen += 6; // fourth address, between access points
    }
    if subtype & 0x8 != 0 {
        hlen += 2; // QoS control
        if fc1 & 0x80 != 0 {
            hlen += 4; // HT control
        }
    }
    llc(rest(f, hlen, "short 802.11 header")?, ctx)
}
