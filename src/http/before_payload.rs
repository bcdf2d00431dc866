//! A connection before its first byte of payload: what its packets' flags
//! said, kept in four bytes instead of a whole [`Conversation`].
//!
//! Most flows a busy or hostile capture holds never carry a byte (SYN
//! floods, port scans, connections refused by a reset), and a table of a
//! hundred thousand of them must fit the memory budget. The conversation is
//! built at the first packet that carries bytes, by replaying the flags it
//! missed.
//!
//! The replay keeps each distinct (direction, SYN, ACK) combination once, in
//! the order it was first seen: what [`Conversation::note_packet`] does with a
//! packet depends only on whether that combination came before (a direction's
//! first packet, the first SYN that assigns roles), so repeating it changes
//! nothing. A test checks this against the conversation itself.

use super::conversation::Conversation;
use crate::decode::{Endpoint, Side};

/// Distinct flag combinations: two directions, SYN or not, ACK or not.
const KINDS: u32 = 8;

/// The endpoints are not kept: every packet of a flow has the same two, so
/// the packet that first carries bytes gives them for all the replayed
/// ones, and a table of a hundred thousand flows spends 40 bytes less on
/// each.
#[derive(Debug, Default)]
pub struct BeforePayload {
    /// Flag combinations in the order first seen, four bits each: bit 3 marks
    /// a slot as used, bits 0–2 hold the combination.
    events: u32,
}

fn kind(d: Side, syn: bool, ack: bool) -> u32 {
    u32::from(d == Side::Hi) | u32::from(syn) << 1 | u32::from(ack) << 2
}

impl BeforePayload {
    pub fn note_packet(&mut self, d: Side, syn: bool, ack: bool) {
        let k = kind(d, syn, ack);
        for slot in 0..KINDS {
            let v = (self.events >> (slot * 4)) & 0xf;
            if v == 0 {
                self.events |= (k | 8) << (slot * 4);
                return;
            }
            if v & 7 == k {
                return;
            }
        }
    }

    /// The conversation these packets would have built. `now` is a packet of
    /// the flow, by direction with its (sender, receiver): the other
    /// direction's endpoints are the same pair swapped. Without it the
    /// endpoints stay unknown.
    pub fn into_conversation(self, now: Option<(Side, Endpoint, Endpoint)>) -> Conversation {
        let mut c = Conversation::default();
        let Some((side, a, b)) = now else {
            return c;
        };
        for slot in 0..KINDS {
            let v = (self.events >> (slot * 4)) & 0xf;
            if v == 0 {
                break;
            }
            let d = if v & 1 == 1 { Side::Hi } else { Side::Lo };
            let (src, dst) = if d == side { (a, b) } else { (b, a) };
            c.note_packet(d, &src, &dst, v & 2 != 0, v & 4 != 0);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn ep(last: u8, port: u16) -> Endpoint {
        Endpoint {
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)),
            port,
        }
    }

    fn ends(d: Side) -> (Endpoint, Endpoint) {
        let (lo, hi) = (ep(1, 40_000), ep(2, 80));
        match d {
            Side::Lo => (lo, hi),
            Side::Hi => (hi, lo),
        }
    }

    proptest! {
        /// Replaying the distinct flags gives the conversation that every
        /// packet, repeats included, would have built.
        #[test]
        fn replay_builds_the_same_conversation(
            packets in proptest::collection::vec((any::<bool>(), any::<bool>(), any::<bool>()), 0..24),
            last_hi in any::<bool>(),
        ) {
            let mut direct = Conversation::default();
            let mut opening = BeforePayload::default();
            for &(hi, syn, ack) in &packets {
                let d = if hi { Side::Hi } else { Side::Lo };
                let (src, dst) = ends(d);
                direct.note_packet(d, &src, &dst, syn, ack);
                opening.note_packet(d, syn, ack);
            }
            // Built at a packet of either direction, after the others.
            let now = if last_hi { Side::Hi } else { Side::Lo };
            let (src, dst) = ends(now);
            direct.note_packet(now, &src, &dst, false, true);
            opening.note_packet(now, false, true);
            prop_assert_eq!(
                format!("{:?}", opening.into_conversation(Some((now, src, dst)))),
                format!("{direct:?}")
            );
        }
    }

    #[test]
    fn a_server_first_capture_keeps_its_endpoints_per_direction() {
        let mut o = BeforePayload::default();
        let (s, c) = ends(Side::Hi);
        o.note_packet(Side::Hi, true, true);
        o.note_packet(Side::Lo, false, true);
        let mut direct = Conversation::default();
        direct.note_packet(Side::Hi, &s, &c, true, true);
        direct.note_packet(Side::Lo, &c, &s, false, true);
        assert_eq!(
            format!("{:?}", o.into_conversation(Some((Side::Lo, c, s)))),
            format!("{direct:?}")
        );
    }

    #[test]
    fn it_stays_small() {
        assert!(std::mem::size_of::<BeforePayload>() <= 4);
    }
}
