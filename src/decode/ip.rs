//! IPv4 and IPv6 (with extension headers) down to TCP, and the IP protocols
//! that carry tunnels.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::tunnel;
use super::wire::{array, be16, be32, rest, u8_at, Fault, Res};
use super::{Decoded, Endpoint, Fragment, Layer, TcpFlags, TcpSegment};

/// How many encapsulations may nest. Real captures need three or four (VLAN,
/// GTP-U, IP); the bound keeps crafted packets from recursing without end.
pub const MAX_DEPTH: u8 = 8;

const PROTO_HOPOPTS: u8 = 0;
const PROTO_IPIP: u8 = 4;
pub(super) const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;
const PROTO_IPV6: u8 = 41;
const PROTO_ROUTING: u8 = 43;
const PROTO_FRAGMENT: u8 = 44;
const PROTO_GRE: u8 = 47;
const PROTO_AH: u8 = 51;
const PROTO_DSTOPTS: u8 = 60;

/// State carried down through the layers of one packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ctx {
    depth: u8,
    /// Some layer above says bytes are missing from the end of this one.
    cut: bool,
    /// The capture's snap length cut the packet: what decides truncation when
    /// no IP length field can (TSO captures, jumbograms).
    snapped: bool,
}

impl Ctx {
    pub fn new(snapped: bool) -> Ctx {
        Ctx {
            snapped,
            ..Ctx::default()
        }
    }

    /// One more encapsulation level; an error past [`MAX_DEPTH`].
    pub fn deeper(self) -> Res<Ctx> {
        if self.depth >= MAX_DEPTH {
            return Err(Fault::unplaced("encapsulation nested too deep"));
        }
        Ok(Ctx {
            depth: self.depth + 1,
            ..self
        })
    }

    fn cut(self, cut: bool) -> Ctx {
        Ctx {
            cut: self.cut || cut,
            ..self
        }
    }
}

/// IP of either version, told apart by the first nibble (raw IP link types,
/// tunnels that do not announce what they carry).
pub fn by_version(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    match u8_at(d, 0, "empty IP packet")? >> 4 {
        4 => ipv4(d, ctx),
        6 => ipv6(d, ctx),
        _ => Ok(Decoded::Other),
    }
}

/// The part of `d` the IP length field covers: trailing bytes (Ethernet padding,
/// an FCS) are dropped; missing bytes mark the rest as cut.
#[inline(always)]
pub(super) fn bounded(d: &[u8], claimed: usize) -> (&[u8], bool) {
    match d.get(..claimed) {
        Some(s) => (s, false),
        None => (d, true),
    }
}

pub fn ipv4(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    ipv4_in(d, ctx).map_err(Fault::in_layer(Layer::Ip))
}

fn ipv4_in(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    let vihl = u8_at(d, 0, "short IPv4 header")?;
    if vihl >> 4 != 4 {
        return Err(Fault::at(d, 0, "not IPv4"));
    }
    let hlen = usize::from(vihl & 0x0f) * 4;
    if hlen < 20 || d.len() < hlen {
        return Err(Fault::at(d, 0, "bad IPv4 header length"));
    }
    let total = usize::from(be16(d, 2, "")?);
    // A zero total length comes from captures taken before TCP segmentation
    // offload filled it in: the captured bytes are all there is.
    let (pkt, cut) = if total == 0 {
        (d, ctx.snapped)
    } else if total < hlen {
        return Err(Fault::at(d, 2, "IPv4 total length shorter than its header"));
    } else {
        bounded(d, total)
    };
    let frag = be16(d, 6, "")?;
    let proto = u8_at(d, 9, "")?;
    let src = IpAddr::V4(Ipv4Addr::from(array::<4>(d, 12, "")?));
    let dst = IpAddr::V4(Ipv4Addr::from(array::<4>(d, 16, "")?));
    let body = rest(pkt, hlen, "")?;
    if frag & 0x3fff != 0 {
        return Ok(Decoded::Fragment(Fragment {
            src,
            dst,
            id: u32::from(be16(d, 4, "")?),
            proto,
            offset: u32::from(frag & 0x1fff) * 8,
            more: frag & 0x2000 != 0,
            data: body,
            cut: ctx.cut || cut,
        }));
    }
    transport(proto, src, dst, body, ctx.cut(cut))
}

pub fn ipv6(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    ipv6_in(d, ctx).map_err(Fault::in_layer(Layer::Ip))
}

fn ipv6_in(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    if u8_at(d, 0, "short IPv6 header")? >> 4 != 6 {
        return Err(Fault::at(d, 0, "not IPv6"));
    }
    let plen = usize::from(be16(d, 4, "short IPv6 header")?);
    let mut next = u8_at(d, 6, "short IPv6 header")?;
    let src = IpAddr::V6(Ipv6Addr::from(array::<16>(d, 8, "short IPv6 header")?));
    let dst = IpAddr::V6(Ipv6Addr::from(array::<16>(d, 24, "short IPv6 header")?));
    let body = rest(d, 40, "short IPv6 header")?;
    // Payload length 0 is a jumbogram (or offload): take what was captured.
    let (mut body, cut) = if plen == 0 {
        (body, ctx.snapped)
    } else {
        bounded(body, plen)
    };
    for _ in 0..MAX_DEPTH {
        let ext_len = match next {
            PROTO_HOPOPTS | PROTO_ROUTING | PROTO_DSTOPTS => {
                (usize::from(u8_at(body, 1, "short IPv6 extension header")?) + 1) * 8
            }
            PROTO_AH => (usize::from(u8_at(body, 1, "short IPv6 extension header")?) + 2) * 4,
            // An atomic fragment (offset 0, no more to come; RFC 6946) is the
            // whole packet: senders add the header after an ICMPv6 "packet
            // too big" naming an MTU below 1280, and a receiver reads on.
            PROTO_FRAGMENT => {
                let offset_and_more = be16(body, 2, "short IPv6 fragment header")?;
                if offset_and_more & 0xfff9 != 0 {
                    return Ok(Decoded::Fragment(Fragment {
                        src,
                        dst,
                        id: be32(body, 4, "short IPv6 fragment header")?,
                        proto: u8_at(body, 0, "")?,
                        offset: u32::from(offset_and_more & 0xfff8),
                        more: offset_and_more & 1 != 0,
                        data: rest(body, 8, "")?,
                        cut: ctx.cut || cut,
                    }));
                }
                8
            }
            _ => return transport(next, src, dst, body, ctx.cut(cut)),
        };
        next = u8_at(body, 0, "")?;
        body = rest(body, ext_len, "IPv6 extension header runs past the packet")?;
    }
    Err(Fault::at(body, 0, "too many IPv6 extension headers"))
}

/// What IP carries, decoded from the transport layer on (also the payload
/// of a datagram rebuilt from fragments).
pub(super) fn transport(
    proto: u8,
    src: IpAddr,
    dst: IpAddr,
    d: &[u8],
    ctx: Ctx,
) -> Res<Decoded<'_>> {
    match proto {
        PROTO_TCP => tcp(src, dst, d, ctx),
        PROTO_UDP => tunnel::udp(d, ctx),
        PROTO_GRE => tunnel::gre(d, ctx.deeper()?),
        PROTO_IPIP => ipv4(d, ctx.deeper()?),
        PROTO_IPV6 => ipv6(d, ctx.deeper()?),
        _ => Ok(Decoded::Other),
    }
}

fn tcp(src: IpAddr, dst: IpAddr, d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    tcp_in(src, dst, d, ctx).map_err(Fault::in_layer(Layer::Tcp))
}

fn tcp_in(src: IpAddr, dst: IpAddr, d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    let doff = usize::from(u8_at(d, 12, "short TCP header")? >> 4) * 4;
    if doff < 20 {
        return Err(Fault::at(d, 12, "TCP data offset below 5"));
    }
    let payload = rest(d, doff, "TCP header runs past the packet")?;
    Ok(Decoded::Tcp(TcpSegment {
        src: Endpoint {
            ip: src,
            port: be16(d, 0, "")?,
        },
        dst: Endpoint {
            ip: dst,
            port: be16(d, 2, "")?,
        },
        seq: be32(d, 4, "")?,
        ack: be32(d, 8, "")?,
        flags: TcpFlags(u8_at(d, 13, "")?),
        payload,
        truncated: ctx.cut,
    }))
}
