//! Flow identity: endpoints and the direction-independent key used to shard flows
//! across workers and to look them up in the flow table.

use std::fmt;
use std::net::IpAddr;
use std::ops::{Deref, DerefMut, Index, IndexMut};

/// An IP address and TCP port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

impl fmt::Display for Endpoint {
    /// `ip:port`, IPv6 as `[ip]:port` (the output contract's form).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ip {
            IpAddr::V4(ip) => {
                let (buf, n) = v4_text(ip, self.port);
                f.write_str(std::str::from_utf8(&buf[..n]).map_err(|_| fmt::Error)?)
            }
            IpAddr::V6(ip) => write!(f, "[{}]:{}", ip, self.port),
        }
    }
}

impl Endpoint {
    /// The endpoint as its own string, as `to_string()` gives it. Every
    /// reported attempt names two endpoints, and going through the
    /// formatting machinery (a `Formatter` around a growing string) cost
    /// more than writing the IPv4 digits themselves.
    pub fn text(&self) -> String {
        match self.ip {
            IpAddr::V4(ip) => {
                let (buf, n) = v4_text(ip, self.port);
                std::str::from_utf8(&buf[..n])
                    .map(str::to_owned)
                    .unwrap_or_else(|_| self.to_string())
            }
            IpAddr::V6(_) => self.to_string(),
        }
    }
}

/// `a.b.c.d:port` written digit by digit into a buffer (21 bytes hold the
/// longest); the buffer and the length used.
fn v4_text(ip: std::net::Ipv4Addr, port: u16) -> ([u8; 21], usize) {
    use crate::text::put_decimal;
    let mut buf = [0u8; 21];
    let mut n = 0;
    for (i, octet) in ip.octets().into_iter().enumerate() {
        if i > 0 {
            buf[n] = b'.';
            n += 1;
        }
        n += put_decimal(&mut buf[n..], u32::from(octet));
    }
    buf[n] = b':';
    n += 1;
    n += put_decimal(&mut buf[n..], u32::from(port));
    (buf, n)
}

/// The two endpoints of a TCP connection in a canonical order (lower first), so
/// both directions of a connection map to the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FlowKey {
    pub lo: Endpoint,
    pub hi: Endpoint,
}

/// Which endpoint of a connection sent a segment: the one that sorts first in
/// the [`FlowKey`] or the other. Two values only, so "the other direction" can
/// never be computed wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Lo,
    Hi,
}

impl Side {
    pub const BOTH: [Side; 2] = [Side::Lo, Side::Hi];

    pub fn other(self) -> Side {
        match self {
            Side::Lo => Side::Hi,
            Side::Hi => Side::Lo,
        }
    }

    pub fn index(self) -> usize {
        match self {
            Side::Lo => 0,
            Side::Hi => 1,
        }
    }
}

/// One value per [`Side`] of a connection, indexed by side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BySide<T>(pub [T; 2]);

impl<T> BySide<T> {
    /// Each side with its value, `Lo` first.
    pub fn sides_mut(&mut self) -> impl Iterator<Item = (Side, &mut T)> {
        Side::BOTH.into_iter().zip(self.0.iter_mut())
    }
}

impl<T> Index<Side> for BySide<T> {
    type Output = T;
    fn index(&self, s: Side) -> &T {
        &self.0[s.index()]
    }
}

impl<T> IndexMut<Side> for BySide<T> {
    fn index_mut(&mut self, s: Side) -> &mut T {
        &mut self.0[s.index()]
    }
}

impl<T> Deref for BySide<T> {
    type Target = [T; 2];
    fn deref(&self) -> &[T; 2] {
        &self.0
    }
}

impl<T> DerefMut for BySide<T> {
    fn deref_mut(&mut self) -> &mut [T; 2] {
        &mut self.0
    }
}

impl FlowKey {
    /// The key of the connection `src → dst`, and the side `src` is on.
    pub fn of(src: Endpoint, dst: Endpoint) -> (FlowKey, Side) {
        if src <= dst {
            (FlowKey { lo: src, hi: dst }, Side::Lo)
        } else {
            (FlowKey { lo: dst, hi: src }, Side::Hi)
        }
    }

    /// A hash that is the same for both directions and stable across runs and
    /// platforms, so sharding (and hence output) is deterministic.
    pub fn shard_hash(&self) -> u64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        let mut eat = |b: u8| {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        };
        for ep in [&self.lo, &self.hi] {
            match ep.ip {
                IpAddr::V4(ip) => ip.octets().iter().for_each(|b| eat(*b)),
                IpAddr::V6(ip) => ip.octets().iter().for_each(|b| eat(*b)),
            }
            ep.port.to_be_bytes().iter().for_each(|b| eat(*b));
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str, port: u16) -> Endpoint {
        Endpoint {
            ip: s.parse().unwrap(),
            port,
        }
    }

    proptest::proptest! {
        /// The digit-by-digit IPv4 form is the standard library's.
        #[test]
        fn ipv4_endpoints_print_as_the_standard_library_does(a: [u8; 4], port: u16) {
            let ip = std::net::Ipv4Addr::from(a);
            let e = Endpoint { ip: IpAddr::V4(ip), port };
            proptest::prop_assert_eq!(e.to_string(), format!("{ip}:{port}"));
            proptest::prop_assert_eq!(e.text(), format!("{ip}:{port}"));
        }

        /// Either way of writing an endpoint gives the same text, IPv6 too.
        #[test]
        fn text_is_the_display_form(a: [u8; 16], v6: bool, port: u16) {
            let ip = if v6 {
                IpAddr::V6(std::net::Ipv6Addr::from(a))
            } else {
                IpAddr::V4(std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]))
            };
            let e = Endpoint { ip, port };
            proptest::prop_assert_eq!(e.text(), e.to_string());
        }
    }

    #[test]
    fn endpoints_print_as_the_output_contract_says() {
        assert_eq!(ep("0.0.0.0", 0).to_string(), "0.0.0.0:0");
        assert_eq!(
            ep("255.255.255.255", 65535).to_string(),
            "255.255.255.255:65535"
        );
        assert_eq!(ep("10.0.100.9", 80).to_string(), "10.0.100.9:80");
        assert_eq!(ep("2001:db8::1", 443).to_string(), "[2001:db8::1]:443");
        assert_eq!(ep("255.255.255.255", 65535).text(), "255.255.255.255:65535");
        assert_eq!(ep("2001:db8::1", 443).text(), "[2001:db8::1]:443");
    }

    #[test]
    fn key_is_direction_independent() {
        let a = ep("10.0.0.1", 5000);
        let b = ep("10.0.0.2", 80);
        let (k1, a_lo) = FlowKey::of(a, b);
        let (k2, b_lo) = FlowKey::of(b, a);
        assert_eq!(k1, k2);
        assert_ne!(a_lo, b_lo);
        assert_eq!(k1.shard_hash(), k2.shard_hash());
        assert_eq!(a_lo, Side::Lo);
        assert_eq!(b_lo.other(), a_lo);
    }

    #[test]
    fn by_side_indexes_each_side() {
        let mut v = BySide([1, 2]);
        v[Side::Hi] += 10;
        assert_eq!((v[Side::Lo], v[Side::Hi]), (1, 12));
        let seen: Vec<_> = v.sides_mut().map(|(s, x)| (s, *x)).collect();
        assert_eq!(seen, vec![(Side::Lo, 1), (Side::Hi, 12)]);
    }

    #[test]
    fn ipv6_endpoint_is_bracketed() {
        assert_eq!(ep("::1", 80).to_string(), "[::1]:80");
        assert_eq!(ep("127.0.0.1", 80).to_string(), "127.0.0.1:80");
    }
}
