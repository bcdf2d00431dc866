//! The PROXY protocol header (HAProxy's specification, versions 1 and 2)
//! that load balancers put before the first byte of a connection to tell
//! the server the client's address. A server set up for it reads the header
//! and then HTTP; any other server reads the header as a malformed request
//! line and answers 400 to a request that is valid in the capture. Parsed
//! from bytes alone, apart from the conversation, so that it can be tested
//! and fuzzed on byte arrays.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use nom::bytes::complete::{tag, take};
use nom::number::complete::{be_u16, be_u8};
use nom::Parser;

use crate::decode::Endpoint;

/// The first bytes of every version 1 header.
const V1_START: &[u8] = b"PROXY ";

/// A version 1 header is one line of at most this many bytes, CRLF included.
const V1_MAX: usize = 107;

/// The twelve bytes that open a version 2 header: chosen to be invalid as
/// the start of any text protocol.
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";

/// Bytes of a version 2 header before its address block.
const V2_FIXED: usize = 16;

/// What a connection's first bytes say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// Not a PROXY protocol header: read the bytes as HTTP.
    No,
    /// The start of a header, or of what could still be one: wait for more.
    Partial,
    /// A whole header of this many bytes; what follows is the client's.
    Header(ProxyHeader, usize),
}

/// What the header told the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxyHeader {
    /// 1 (text) or 2 (binary).
    pub version: u8,
    /// The client's address as the proxy reports it, when the header carries
    /// one (not for `UNKNOWN`, `LOCAL`, or UNIX sockets).
    pub source: Option<Endpoint>,
    pub destination: Option<Endpoint>,
}

impl ProxyHeader {
    /// The header as a person reads it, for evidence: version 1's own line,
    /// version 2's fields written the same way.
    pub fn describe(&self) -> String {
        let addresses = match (self.source, self.destination) {
            (Some(s), Some(d)) => format!(" from {s} to {d}"),
            _ => String::new(),
        };
        format!("PROXY protocol v{} header{addresses}", self.version)
    }
}

/// Read the header at the start of `buf`, the first bytes a client sent.
pub fn parse(buf: &[u8]) -> Found {
    if buf.starts_with(V1_START) {
        return parse_v1(buf);
    }
    if V1_START.starts_with(buf) && !buf.is_empty() {
        return Found::Partial;
    }
    let n = buf.len().min(V2_SIGNATURE.len());
    if n == 0 || buf[..n] != V2_SIGNATURE[..n] {
        return Found::No;
    }
    if buf.len() < V2_FIXED {
        return Found::Partial;
    }
    parse_v2(buf)
}

/// `PROXY TCP4 192.0.2.1 192.0.2.2 56324 443\r\n`; `PROXY UNKNOWN …\r\n`
/// carries no addresses. A line that starts like a header but does not parse
/// is still one to the server that receives it (a proxy wrote it there), so
/// it is taken whole, without addresses.
fn parse_v1(buf: &[u8]) -> Found {
    let window = &buf[..buf.len().min(V1_MAX)];
    let Some(lf) = memchr::memchr(b'\n', window) else {
        return if buf.len() < V1_MAX {
            Found::Partial
        } else {
            Found::No
        };
    };
    let line = &window[V1_START.len()..lf];
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let (source, destination) = v1_addresses(line).unzip();
    Found::Header(
        ProxyHeader {
            version: 1,
            source,
            destination,
        },
        lf + 1,
    )
}

fn v1_addresses(line: &[u8]) -> Option<(Endpoint, Endpoint)> {
    let text = std::str::from_utf8(line).ok()?;
    let mut words = text.split(' ');
    let family = words.next()?;
    let (src, dst, sport, dport) = (words.next()?, words.next()?, words.next()?, words.next()?);
    if words.next().is_some() {
        return None;
    }
    let ip = |s: &str| -> Option<IpAddr> {
        match family {
            "TCP4" => s.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
            "TCP6" => s.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
            _ => None,
        }
    };
    let port = |s: &str| s.parse::<u16>().ok();
    Some((
        Endpoint {
            ip: ip(src)?,
            port: port(sport)?,
        },
        Endpoint {
            ip: ip(dst)?,
            port: port(dport)?,
        },
    ))
}

type PResult<'a, T> = nom::IResult<&'a [u8], T, nom::error::Error<&'a [u8]>>;

/// The signature, version and command, family and protocol, the length of
/// what follows, then the address block (TLVs after it are passed over).
fn parse_v2(buf: &[u8]) -> Found {
    let fixed: PResult<'_, (&[u8], u8, u8, u16)> =
        (tag(&V2_SIGNATURE[..]), be_u8, be_u8, be_u16).parse(buf);
    let Ok((rest, (_, version_command, family, len))) = fixed else {
        return Found::No;
    };
    if version_command >> 4 != 2 {
        return Found::No;
    }
    let Ok((_, block)) = take::<_, _, nom::error::Error<&[u8]>>(len).parse(rest) else {
        return Found::Partial;
    };
    // LOCAL (command 0): the proxy's own connection, e.g. a health check;
    // the addresses, if any, are not a client's.
    let proxied = version_command & 0x0f == 1;
    let (source, destination) = proxied
        .then(|| v2_addresses(family, block))
        .flatten()
        .unzip();
    Found::Header(
        ProxyHeader {
            version: 2,
            source,
            destination,
        },
        V2_FIXED + usize::from(len),
    )
}

fn v2_addresses(family: u8, block: &[u8]) -> Option<(Endpoint, Endpoint)> {
    let parsed: PResult<'_, (IpAddr, IpAddr, u16, u16)> = match family >> 4 {
        1 => (take(4usize), take(4usize), be_u16, be_u16)
            .map(|(s, d, sp, dp): (&[u8], &[u8], u16, u16)| {
                (ipv4(s).into(), ipv4(d).into(), sp, dp)
            })
            .parse(block),
        2 => (take(16usize), take(16usize), be_u16, be_u16)
            .map(|(s, d, sp, dp): (&[u8], &[u8], u16, u16)| {
                (ipv6(s).into(), ipv6(d).into(), sp, dp)
            })
            .parse(block),
        _ => return None,
    };
    let (_, (src, dst, sport, dport)) = parsed.ok()?;
    Some((
        Endpoint {
            ip: src,
            port: sport,
        },
        Endpoint {
            ip: dst,
            port: dport,
        },
    ))
}

fn ipv4(b: &[u8]) -> Ipv4Addr {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    Ipv4Addr::from(a)
}

fn ipv6(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(&b[..16]);
    Ipv6Addr::from(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(s: &str) -> Endpoint {
        let (ip, port) = s.rsplit_once(':').expect("ip:port");
        let ip = ip.trim_start_matches('[').trim_end_matches(']');
        Endpoint {
            ip: ip.parse().expect("ip"),
            port: port.parse().expect("port"),
        }
    }

    #[test]
    fn version_1_tcp4_and_tcp6() {
        let line = b"PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET / HTTP/1.1\r\n";
        let Found::Header(h, n) = parse(line) else {
            panic!("not a header");
        };
        assert_eq!(&line[n..n + 3], b"GET");
        assert_eq!(h.version, 1);
        assert_eq!(h.source, Some(ep("192.0.2.1:56324")));
        assert_eq!(h.destination, Some(ep("198.51.100.2:443")));
        assert_eq!(
            h.describe(),
            "PROXY protocol v1 header from 192.0.2.1:56324 to 198.51.100.2:443"
        );
        let six = b"PROXY TCP6 2001:db8::1 2001:db8::2 4000 80\r\n";
        let Found::Header(h, n) = parse(six) else {
            panic!("not a header");
        };
        assert_eq!(n, six.len());
        assert_eq!(h.source, Some(ep("[2001:db8::1]:4000")));
    }

    #[test]
    fn version_1_unknown_or_odd_is_a_header_without_addresses() {
        for line in [
            &b"PROXY UNKNOWN\r\n"[..],
            b"PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n",
            b"PROXY TCP4 999.0.0.1 1.2.3.4 1 2\r\n",
            b"PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3\r\n",
        ] {
            match parse(line) {
                Found::Header(h, n) => {
                    assert_eq!(n, line.len(), "{line:?}");
                    assert_eq!(h.source, None, "{line:?}");
                }
                other => panic!("{line:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn version_1_waits_for_its_line_end_within_the_limit() {
        assert_eq!(parse(b"PRO"), Found::Partial);
        assert_eq!(parse(b"PROXY TCP4 192.0.2.1 "), Found::Partial);
        let endless = [b"PROXY ".as_slice(), &[b'a'; 200]].concat();
        assert_eq!(parse(&endless), Found::No);
        assert_eq!(parse(b"GET / HTTP/1.1\r\n"), Found::No);
        assert_eq!(parse(b"PROXIMITY"), Found::No);
        assert_eq!(parse(b""), Found::No);
    }

    fn v2(command: u8, family: u8, block: &[u8]) -> Vec<u8> {
        let mut b = V2_SIGNATURE.to_vec();
        b.push(0x20 | command);
        b.push(family);
        b.extend_from_slice(&(block.len() as u16).to_be_bytes());
        b.extend_from_slice(block);
        b
    }

    #[test]
    fn version_2_inet_inet6_and_tlvs() {
        let mut block = vec![192, 0, 2, 1, 198, 51, 100, 2];
        block.extend_from_slice(&56324u16.to_be_bytes());
        block.extend_from_slice(&443u16.to_be_bytes());
        // A TLV after the addresses (PP2_TYPE_AUTHORITY "a.test").
        block.extend_from_slice(&[0x02, 0x00, 0x06]);
        block.extend_from_slice(b"a.test");
        let mut bytes = v2(1, 0x11, &block);
        let header_len = bytes.len();
        bytes.extend_from_slice(b"GET / HTTP/1.1\r\n");
        let Found::Header(h, n) = parse(&bytes) else {
            panic!("not a header");
        };
        assert_eq!(n, header_len);
        assert_eq!(h.version, 2);
        assert_eq!(h.source, Some(ep("192.0.2.1:56324")));
        assert_eq!(h.destination, Some(ep("198.51.100.2:443")));

        let mut block6 = vec![0x20, 0x01, 0x0d, 0xb8];
        block6.extend_from_slice(&[0; 11]);
        block6.push(1);
        block6.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        block6.extend_from_slice(&[0; 11]);
        block6.push(2);
        block6.extend_from_slice(&[0x0f, 0xa0, 0x00, 0x50]);
        let Found::Header(h, _) = parse(&v2(1, 0x21, &block6)) else {
            panic!("not a header");
        };
        assert_eq!(h.source, Some(ep("[2001:db8::1]:4000")));
        assert_eq!(h.destination, Some(ep("[2001:db8::2]:80")));
    }

    #[test]
    fn version_2_local_unix_and_short_blocks() {
        let Found::Header(h, n) = parse(&v2(0, 0x00, &[])) else {
            panic!("LOCAL is a header");
        };
        assert_eq!((h.source, n), (None, 16));
        let Found::Header(h, _) = parse(&v2(1, 0x31, &[0; 216])) else {
            panic!("UNIX is a header");
        };
        assert_eq!(h.source, None);
        // An address block shorter than its family needs: no addresses.
        let Found::Header(h, n) = parse(&v2(1, 0x11, &[1, 2, 3])) else {
            panic!("still a header");
        };
        assert_eq!((h.source, n), (None, 19));
        let whole = v2(1, 0x11, &[0; 12]);
        for cut in 1..whole.len() {
            assert_eq!(parse(&whole[..cut]), Found::Partial, "{cut}");
        }
        let mut wrong_version = whole.clone();
        wrong_version[12] = 0x11;
        assert_eq!(parse(&wrong_version), Found::No);
        assert_eq!(parse(b"\r\nGET / HTTP/1.1\r\n"), Found::No);
    }
}
