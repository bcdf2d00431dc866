//! Tunnels that carry whole packets: UDP-based (GTP-U, VXLAN, TZSP, L2TPv2) and
//! GRE. Real captures of mobile and data-centre networks carry WebSocket
//! handshakes inside them, and tshark decodes them by default, so we do too.

use super::ip::{self, Ctx};
use super::link;
use super::wire::{be16, rest, u8_at, Fault, Res};
use super::{Decoded, Layer};

const PORT_GTPU: u16 = 2152;
const PORT_VXLAN: u16 = 4789;
const PORT_TZSP: u16 = 37008;
const PORT_L2TP: u16 = 1701;

/// UDP: only tunnel ports lead anywhere; any other UDP is not our business.
pub fn udp(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    udp_in(d, ctx).map_err(Fault::in_layer(Layer::Tunnel))
}

fn udp_in(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    let sport = be16(d, 0, "short UDP header")?;
    let dport = be16(d, 2, "short UDP header")?;
    let len = usize::from(be16(d, 4, "short UDP header")?);
    let mut payload = rest(d, 8, "short UDP header")?;
    if len >= 8 {
        if let Some(p) = payload.get(..len - 8) {
            payload = p;
        }
    }
    let is = |port| sport == port || dport == port;
    if is(PORT_GTPU) {
        gtpu(payload, ctx.deeper()?)
    } else if is(PORT_VXLAN) {
        link::ethernet(rest(payload, 8, "short VXLAN header")?, ctx.deeper()?)
    } else if dport == PORT_TZSP {
        tzsp(payload, ctx.deeper()?)
    } else if is(PORT_L2TP) {
        l2tp(payload, ctx.deeper()?)
    } else {
        Ok(Decoded::Other)
    }
}

/// GTPv1-U: an 8-byte header, 4 more when any optional field is present, then a
/// chain of extension headers; G-PDUs (type 255) carry an IP packet.
fn gtpu(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    let flags = u8_at(d, 0, "short GTP-U header")?;
    if flags >> 5 != 1 || flags & 0x10 == 0 {
        return Ok(Decoded::Other);
    }
    if u8_at(d, 1, "short GTP-U header")? != 0xff {
        return Ok(Decoded::Other);
    }
    let mut at = 8;
    if flags & 0x07 != 0 {
        let mut next = u8_at(d, 11, "short GTP-U header")?;
        at = 12;
        // Extension headers only exist when the E flag is set.
        if flags & 0x04 == 0 {
            next = 0;
        }
        for _ in 0..ip::MAX_DEPTH {
            if next == 0 {
                break;
            }
            let units = usize::from(u8_at(d, at, "short GTP-U extension")?);
            if units == 0 {
                return Err(Fault::at(d, at, "GTP-U extension of length 0"));
            }
            at += units * 4;
            next = u8_at(d, at - 1, "GTP-U extension runs past the packet")?;
        }
        if next != 0 {
            return Err(Fault::at(d, at, "too many GTP-U extensions"));
        }
    }
    ip::by_version(rest(d, at, "short GTP-U header")?, ctx)
}

/// TZSP: version, type, encapsulation, tagged fields up to the end tag; only
/// Ethernet encapsulation is decoded.
fn tzsp(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    if u8_at(d, 0, "short TZSP header")? != 1 || be16(d, 2, "short TZSP header")? != 1 {
        return Ok(Decoded::Other);
    }
    let mut at = 4;
    loop {
        match u8_at(d, at, "TZSP tags run past the packet")? {
            0 => at += 1,
            1 => return link::ethernet(rest(d, at + 1, "")?, ctx),
            _ => at += 2 + usize::from(u8_at(d, at + 1, "TZSP tags run past the packet")?),
        }
    }
}

/// L2TPv2 data messages carry PPP. Control messages (T bit) carry nothing.
fn l2tp(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    let flags = be16(d, 0, "short L2TP header")?;
    if flags & 0x8000 != 0 || flags & 0x000f != 2 {
        return Ok(Decoded::Other);
    }
    let mut at = 2;
    if flags & 0x4000 != 0 {
        at += 2; // length
    }
    at += 4; // tunnel and session ids
    if flags & 0x0800 != 0 {
        at += 4; // Ns, Nr
    }
    if flags & 0x0200 != 0 {
        at += 2 + usize::from(be16(d, at, "short L2TP header")?);
    }
    link::ppp(rest(d, at, "short L2TP header")?, ctx)
}

/// GRE, version 0 (with checksum, key and sequence fields) and version 1 (PPTP's
/// enhanced GRE, carrying PPP).
pub fn gre(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    gre_in(d, ctx).map_err(Fault::in_layer(Layer::Tunnel))
}

fn gre_in(d: &[u8], ctx: Ctx) -> Res<Decoded<'_>> {
    let flags = be16(d, 0, "short GRE header")?;
    let proto = be16(d, 2, "short GRE header")?;
    let version = flags & 0x7;
    if flags & 0x4000 != 0 || version > 1 {
        // Source routing (deprecated) and unknown versions.
        return Ok(Decoded::Other);
    }
    let mut at = 4;
    for bit in [0x8000, 0x2000, 0x1000] {
        if flags & bit != 0 {
            at += 4;
        }
    }
    if version == 1 && flags & 0x0080 != 0 {
        at += 4; // acknowledgment number
    }
    link::ether_type(proto, rest(d, at, "short GRE header")?, ctx)
}
