//! Link layer → IP → TCP decoding, from captured bytes to a [`TcpSegment`].
//!
//! Pure functions over byte slices: no allocation, no I/O, no panics on any input.

pub mod flow;

pub use flow::{Endpoint, FlowKey};

use crate::capture::LinkType;

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

/// What a packet turned out to be.
#[derive(Debug, Clone, Copy)]
pub enum Decoded<'a> {
    Tcp(TcpSegment<'a>),
    /// Valid, but not TCP over IP (ARP, UDP that is no tunnel, ICMP, …).
    Other,
    /// An IP fragment (not reassembled: HTTP heads of real handshakes do not fragment).
    Fragment,
    /// A link type this build cannot decode.
    UnsupportedLink(LinkType),
    /// Bytes that do not parse as what the headers claim.
    Malformed(&'static str),
}
