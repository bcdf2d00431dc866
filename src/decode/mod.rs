//! Link layer → IP → TCP decoding, from captured bytes to a [`TcpSegment`].
//!
//! Pure functions over byte slices: no allocation, no I/O, no panics on any input.

pub mod common_case;
pub mod flow;
mod ip;
mod link;
mod tunnel;
mod wire;

#[cfg(test)]
mod tests;

pub use flow::{BySide, Endpoint, FlowKey, Side};

use std::net::IpAddr;

use crate::capture::LinkType;

/// Decode one captured packet down to TCP.
///
/// `orig_len` is the packet's length on the wire; when the capture kept fewer
/// bytes, the IP length fields tell whether the cut reached the TCP payload,
/// which then comes back with `truncated` set. Never panics, never allocates:
/// this runs for every packet, and is the entry point for fuzzing.
#[inline(always)]
pub fn decode(linktype: LinkType, data: &[u8], orig_len: u32) -> Decoded<'_> {
    // Ethernet first and on its own: the result is built in place, where a
    // shared Option for all link types cost each Ethernet packet a copy.
    if linktype == LinkType::ETHERNET {
        if let Some(d) = common_case::ethernet_ip_tcp(data) {
            return d;
        }
    } else if let Some(d) = common_case::other_link_ip_tcp(linktype, data) {
        return d;
    }
    decode_layers(linktype, data, orig_len)
}

/// Layer by layer, every link type and tunnel: what [`decode`] does for the
/// packets its one-pass common case leaves alone (and, in tests, for all, to
/// check the two agree).
pub fn decode_layers(linktype: LinkType, data: &[u8], orig_len: u32) -> Decoded<'_> {
    let ctx = ip::Ctx::new(orig_len as usize > data.len());
    match link::by_linktype(linktype, data, ctx) {
        Ok(d) => d,
        Err(f) => Decoded::Malformed(Malformed {
            layer: f.layer.unwrap_or(Layer::Link),
            what: f.what,
            // May lie past the captured bytes: where a field that is
            // missing would have been.
            offset: f.addr.and_then(|a| a.checked_sub(data.as_ptr() as usize)),
        }),
    }
}

/// The layer of a packet where decoding stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// The capture's link layer (Ethernet, VLAN, SLL, PPP, …), also inside a
    /// tunnel.
    Link,
    Ip,
    /// A tunnel's own headers (UDP-based ones, GRE).
    Tunnel,
    Tcp,
}

impl Layer {
    pub const ALL: [Layer; 4] = [Layer::Link, Layer::Ip, Layer::Tunnel, Layer::Tcp];

    pub fn name(self) -> &'static str {
        match self {
            Layer::Link => "link",
            Layer::Ip => "ip",
            Layer::Tunnel => "tunnel",
            Layer::Tcp => "tcp",
        }
    }
}

/// Bytes that do not parse as what the headers claim: where and why, so a
/// damaged capture can be looked at in Wireshark at the right byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Malformed {
    pub layer: Layer,
    pub what: &'static str,
    /// Byte offset from the start of the captured packet, when the problem
    /// has one place.
    pub offset: Option<usize>,
}

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.offset {
            Some(o) => write!(f, "{} at byte {o}: {}", self.layer.name(), self.what),
            None => write!(f, "{}: {}", self.layer.name(), self.what),
        }
    }
}

/// TCP flags as they appear in byte 13 of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
}

/// A decoded TCP segment: the directed 4-tuple, sequence numbers, flags and payload.
#[derive(Debug, Clone, Copy)]
pub struct TcpSegment<'a> {
    pub src: Endpoint,
    pub dst: Endpoint,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub payload: &'a [u8],
    /// True when the snap length cut the payload short: `payload` is a prefix of
    /// what was sent, and the rest must be treated as a gap.
    pub truncated: bool,
}

impl TcpSegment<'_> {
    /// A segment that only acknowledges: no payload (none cut off by the snap
    /// length either) and no SYN, FIN or RST. It moves no stream forward and
    /// opens or ends nothing, so the analysis has no use for it; a third of a
    /// busy host's packets are such.
    pub fn is_bare_ack(&self) -> bool {
        self.payload.is_empty()
            && !self.truncated
            && self.flags.0 & (TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST) == 0
    }
}

/// What a packet turned out to be.
#[derive(Debug, Clone, Copy)]
pub enum Decoded<'a> {
    Tcp(TcpSegment<'a>),
    /// Valid, but not TCP over IP (ARP, UDP that is no tunnel, ICMP, …).
    Other,
    /// A piece of a fragmented IP datagram, for the capture stage to
    /// reassemble (see [`reassembled`]).
    Fragment(Fragment<'a>),
    /// A link type this build cannot decode.
    UnsupportedLink(LinkType),
    /// Bytes that do not parse as what the headers claim.
    Malformed(Malformed),
}

/// One fragment of an IPv4 or IPv6 datagram: what its reassembly needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The IPv4 identification (16 bits) or the IPv6 fragment header's (32).
    pub id: u32,
    /// The protocol of the whole datagram's payload (IPv6: the fragment
    /// header's next header).
    pub proto: u8,
    /// Where `data` starts in the datagram's payload, in bytes.
    pub offset: u32,
    /// More fragments follow this one.
    pub more: bool,
    /// The fragment's bytes, up to its IP length.
    pub data: &'a [u8],
    /// The capture kept fewer bytes than the IP length says: the datagram
    /// cannot be rebuilt whole.
    pub cut: bool,
}

/// Decode a datagram rebuilt from its fragments (its payload, carrying
/// `proto`) down to TCP, as [`decode`] does a whole packet: tunnels inside
/// are followed, and a fragment nested in it comes back as one.
pub fn reassembled(proto: u8, src: IpAddr, dst: IpAddr, payload: &[u8]) -> Decoded<'_> {
    // Whole: a fragment cut short never completes its datagram.
    match ip::transport(proto, src, dst, payload, ip::Ctx::new(false)) {
        Ok(d) => d,
        Err(f) => Decoded::Malformed(Malformed {
            layer: f.layer.unwrap_or(Layer::Ip),
            what: f.what,
            // Offsets into the rebuilt datagram match no captured packet.
            offset: None,
        }),
    }
}

/// Entry point for fuzzers: the first two bytes (big-endian) pick the link
/// type, the rest is the packet, captured whole.
pub fn decode_fuzz_input(input: &[u8]) -> Decoded<'_> {
    match input {
        [a, b, data @ ..] => {
            let linktype = LinkType(u32::from(u16::from_be_bytes([*a, *b])));
            decode(linktype, data, data.len() as u32)
        }
        _ => Decoded::Malformed(Malformed {
            layer: Layer::Link,
            what: "fuzz input shorter than its link type",
            offset: None,
        }),
    }
}
