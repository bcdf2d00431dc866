//! How a TCP connection opened, or failed to: a SYN answered by a reset
//! (nothing listens there) or SYNs sent again and again with no answer (the
//! address drops them). A proxy's gateway error is explained best by its own
//! failed connect to the backend, which carries no HTTP at all, so the
//! handshake is watched here, beside the HTTP state, at one byte per flow.

use crate::capture::Timestamp;
use crate::decode::{Endpoint, Side, TcpFlags};

/// Why a connection never opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ConnectFailure {
    /// The server's side answered the SYN with a reset, no SYN-ACK.
    Refused,
    /// The client sent its SYN again and no SYN-ACK came: a connect that
    /// times out (reported at the first retransmission).
    Unanswered,
}

/// A connect that failed, for the correlator to set beside a gateway error
/// from the connecting host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectFailed {
    /// When the failure showed: the reset, or the first retransmitted SYN.
    pub ts: Timestamp,
    /// The side that sent the SYN (a proxy connecting to its backend).
    pub client: Endpoint,
    pub server: Endpoint,
    pub how: ConnectFailure,
}

/// The opening handshake so far, packed in one byte (every flow carries it):
/// SYNs seen (saturating at 3), the side that sent them, a SYN-ACK seen, and
/// whether a failure was already reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Opening(u8);

const SYNS: u8 = 0b0011;
const CLIENT_HI: u8 = 0b0100;
const SYN_ACKED: u8 = 0b1000;
const REPORTED: u8 = 0b1_0000;

impl Opening {
    fn client(self) -> Side {
        if self.0 & CLIENT_HI != 0 {
            Side::Hi
        } else {
            Side::Lo
        }
    }

    /// Note one packet sent by side `d` from `src` to `dst`; a failure of
    /// the opening comes out once.
    pub fn note(
        &mut self,
        d: Side,
        (src, dst): (Endpoint, Endpoint),
        flags: TcpFlags,
        ts: Timestamp,
    ) -> Option<ConnectFailed> {
        let (syn, ack, rst) = (flags.syn(), flags.ack(), flags.rst());
        let syns = self.0 & SYNS;
        if syn && !ack {
            if syns == 0 {
                if d == Side::Hi {
                    self.0 |= CLIENT_HI;
                }
            } else if self.client() != d {
                // A simultaneous open: not a client's connect.
                self.0 |= SYN_ACKED;
            }
            self.0 = (self.0 & !SYNS) | (syns + 1).min(SYNS);
            if syns >= 1 && self.0 & (SYN_ACKED | REPORTED) == 0 {
                self.0 |= REPORTED;
                return Some(ConnectFailed {
                    ts,
                    client: src,
                    server: dst,
                    how: ConnectFailure::Unanswered,
                });
            }
            return None;
        }
        if syns == 0 || self.0 & SYN_ACKED != 0 {
            return None;
        }
        if syn && ack && d != self.client() {
            self.0 |= SYN_ACKED;
            return None;
        }
        if rst && d != self.client() && self.0 & REPORTED == 0 {
            self.0 |= REPORTED;
            return Some(ConnectFailed {
                ts,
                client: dst,
                server: src,
                how: ConnectFailure::Refused,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(port: u16) -> Endpoint {
        Endpoint {
            ip: std::net::IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1)),
            port,
        }
    }

    const S: u8 = TcpFlags::SYN;
    const A: u8 = TcpFlags::ACK;
    const R: u8 = TcpFlags::RST;
    const P: Side = Side::Hi;
    const B: Side = Side::Lo;

    fn t(s: i64) -> Timestamp {
        Timestamp::new(s, 0)
    }

    #[test]
    fn a_syn_answered_by_a_reset_is_refused() {
        let (p, b) = (ep(50000), ep(8080));
        let mut o = Opening::default();
        assert_eq!(o.note(P, (p, b), TcpFlags(S), t(1)), None);
        let got = o.note(B, (b, p), TcpFlags(A | R), t(2));
        assert_eq!(
            got,
            Some(ConnectFailed {
                ts: t(2),
                client: p,
                server: b,
                how: ConnectFailure::Refused
            })
        );
    }

    #[test]
    fn a_reset_after_the_syn_ack_or_from_the_client_is_not_a_refusal() {
        let (p, b) = (ep(50000), ep(8080));
        let mut o = Opening::default();
        o.note(P, (p, b), TcpFlags(S), t(1));
        o.note(B, (b, p), TcpFlags(S | A), t(1));
        assert_eq!(o.note(B, (b, p), TcpFlags(A | R), t(2)), None);
        let mut o = Opening::default();
        o.note(P, (p, b), TcpFlags(S), t(1));
        assert_eq!(o.note(P, (p, b), TcpFlags(R), t(2)), None);
        // Picked up mid-way: no SYN seen, nothing to say.
        let mut o = Opening::default();
        assert_eq!(o.note(B, (b, p), TcpFlags(A | R), t(2)), None);
    }

    #[test]
    fn a_retransmitted_syn_without_answer_is_reported_once() {
        let (p, b) = (ep(50000), ep(8080));
        let mut o = Opening::default();
        assert_eq!(o.note(P, (p, b), TcpFlags(S), t(1)), None);
        let got = o.note(P, (p, b), TcpFlags(S), t(2));
        assert_eq!(
            got.map(|f| (f.how, f.ts)),
            Some((ConnectFailure::Unanswered, t(2)))
        );
        assert_eq!(o.note(P, (p, b), TcpFlags(S), t(4)), None);
        assert_eq!(o.note(P, (p, b), TcpFlags(S), t(8)), None);
        // A SYN sent again after the SYN-ACK (lost on its way) was answered.
        let mut o = Opening::default();
        o.note(P, (p, b), TcpFlags(S), t(1));
        o.note(B, (b, p), TcpFlags(S | A), t(1));
        assert_eq!(o.note(P, (p, b), TcpFlags(S), t(2)), None);
    }
}
