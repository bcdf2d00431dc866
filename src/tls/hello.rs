//! Handshake messages: reassembled from record fragments, and the few read
//! here (ClientHello, ServerHello, EncryptedExtensions) for what they say in
//! clear: server name, ALPN, version, cipher suite and the randoms that key
//! the key log.

use super::{Cursor, TlsError};

pub const CLIENT_HELLO: u8 = 1;
pub const SERVER_HELLO: u8 = 2;
pub const NEW_SESSION_TICKET: u8 = 4;
pub const ENCRYPTED_EXTENSIONS: u8 = 8;
pub const FINISHED: u8 = 20;
pub const KEY_UPDATE: u8 = 24;

const EXT_SERVER_NAME: u16 = 0;
const EXT_ALPN: u16 = 16;
const EXT_SUPPORTED_VERSIONS: u16 = 43;

/// Larger messages (certificate chains of unusual size) end the reading of
/// that direction's handshake; nothing here needs them.
pub const MAX_MESSAGE: usize = 1 << 18;

/// RFC 8446 §4.1.3: a ServerHello with this random is a HelloRetryRequest.
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// Handshake messages out of the handshake-type fragments of one direction
/// (a message may span records, and a record may hold several).
#[derive(Debug, Default)]
pub struct HandshakeReader {
    buf: Vec<u8>,
    /// Bytes of `buf` already handed out. Kept as an offset rather than
    /// drained message by message: a record of thousands of empty messages
    /// would otherwise move the rest of the record once per message.
    start: usize,
}

impl HandshakeReader {
    pub fn push(&mut self, fragment: &[u8]) {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        self.buf.extend_from_slice(fragment);
    }

    /// Bytes of messages not yet whole.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next whole message: its type and body.
    pub fn next_message(&mut self) -> Result<Option<(u8, Vec<u8>)>, TlsError> {
        let rest = &self.buf[self.start..];
        let Some(h) = rest.get(..4) else {
            return Ok(None);
        };
        let len = usize::from(h[1]) << 16 | usize::from(h[2]) << 8 | usize::from(h[3]);
        if len > MAX_MESSAGE {
            return Err(TlsError::MessageTooLarge { len });
        }
        let Some(body) = rest.get(4..4 + len) else {
            return Ok(None);
        };
        let kind = h[0];
        let body = body.to_vec();
        self.start += 4 + len;
        Ok(Some((kind, body)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    pub legacy_version: u16,
    pub random: [u8; 32],
    pub cipher_suites: Vec<u16>,
    pub sni: Option<String>,
    pub alpn: Vec<String>,
    /// `supported_versions`, empty when the client sent none (TLS 1.2 and older).
    pub versions: Vec<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    pub random: [u8; 32],
    pub cipher_suite: u16,
    /// The negotiated version: `supported_versions` when present, else the
    /// legacy field.
    pub version: u16,
    /// The ALPN protocol chosen, carried here only up to TLS 1.2.
    pub alpn: Option<String>,
    pub retry_request: bool,
}

fn random(c: &mut Cursor<'_>) -> Result<[u8; 32], TlsError> {
    let mut r = [0u8; 32];
    r.copy_from_slice(c.take(32)?);
    Ok(r)
}

/// Each extension's type and body, in order.
fn extensions<'a>(
    c: &mut Cursor<'a>,
) -> Result<impl Iterator<Item = Result<(u16, Cursor<'a>), TlsError>>, TlsError> {
    // A hello may end without the extensions block at all (RFC 5246 §7.4.1.2).
    let mut block = if c.is_empty() {
        Cursor::new(&[], "extensions")
    } else {
        c.vec16()?
    };
    Ok(std::iter::from_fn(move || {
        if block.is_empty() {
            return None;
        }
        Some((|| {
            let kind = block.u16()?;
            let body = block.vec16()?;
            Ok((kind, body))
        })())
    }))
}

fn protocol_names(mut body: Cursor<'_>) -> Result<Vec<String>, TlsError> {
    let mut list = body.vec16()?;
    let mut names = Vec::new();
    while !list.is_empty() {
        names.push(crate::text::lossy(list.vec8()?).into_owned());
    }
    Ok(names)
}

fn server_name(mut body: Cursor<'_>) -> Result<Option<String>, TlsError> {
    let mut list = body.vec16()?;
    while !list.is_empty() {
        let kind = list.u8()?;
        let name = list.vec16()?.rest();
        if kind == 0 {
            return Ok(Some(crate::text::lossy(name).into_owned()));
        }
    }
    Ok(None)
}

pub fn parse_client_hello(body: &[u8]) -> Result<ClientHello, TlsError> {
    let mut c = Cursor::new(body, "ClientHello");
    let legacy_version = c.u16()?;
    let random = random(&mut c)?;
    c.vec8()?; // session id
    let mut suites = c.vec16()?;
    let mut cipher_suites = Vec::new();
    while !suites.is_empty() {
        cipher_suites.push(suites.u16()?);
    }
    c.vec8()?; // compression methods
    let mut hello = ClientHello {
        legacy_version,
        random,
        cipher_suites,
        sni: None,
        alpn: Vec::new(),
        versions: Vec::new(),
    };
    for ext in extensions(&mut c)? {
        let (kind, mut body) = ext?;
        match kind {
            EXT_SERVER_NAME => hello.sni = server_name(body)?,
            EXT_ALPN => hello.alpn = protocol_names(body)?,
            EXT_SUPPORTED_VERSIONS => {
                let list = body.vec8()?;
                hello.versions = list
                    .chunks_exact(2)
                    .map(|v| u16::from_be_bytes([v[0], v[1]]))
                    .collect();
            }
            _ => {}
        }
    }
    Ok(hello)
}

pub fn parse_server_hello(body: &[u8]) -> Result<ServerHello, TlsError> {
    let mut c = Cursor::new(body, "ServerHello");
    let legacy_version = c.u16()?;
    let random = random(&mut c)?;
    c.vec8()?; // session id echo
    let cipher_suite = c.u16()?;
    c.u8()?; // compression method
    let mut hello = ServerHello {
        random,
        cipher_suite,
        version: legacy_version,
        alpn: None,
        retry_request: random == HRR_RANDOM,
    };
    for ext in extensions(&mut c)? {
        let (kind, mut body) = ext?;
        match kind {
            EXT_SUPPORTED_VERSIONS => hello.version = body.u16()?,
            EXT_ALPN => hello.alpn = protocol_names(body)?.into_iter().next(),
            _ => {}
        }
    }
    Ok(hello)
}

/// The ALPN protocol a TLS 1.3 server chose, from its EncryptedExtensions.
pub fn parse_encrypted_extensions(body: &[u8]) -> Result<Option<String>, TlsError> {
    let mut c = Cursor::new(body, "EncryptedExtensions");
    for ext in extensions(&mut c)? {
        let (kind, body) = ext?;
        if kind == EXT_ALPN {
            return Ok(protocol_names(body)?.into_iter().next());
        }
    }
    Ok(None)
}

/// Version names as users read them.
pub fn version_name(v: u16) -> &'static str {
    match v {
        0x0304 => "1.3",
        0x0303 => "1.2",
        0x0302 => "1.1",
        0x0301 => "1.0",
        0x0300 => "SSL 3.0",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ClientHello body with SNI "ws.test", ALPN h2 + http/1.1, versions 1.3/1.2.
    pub(crate) fn client_hello_body() -> Vec<u8> {
        let mut ext = Vec::new();
        let sni = b"ws.test";
        ext.extend_from_slice(&[
            0,
            0,
            0,
            (sni.len() + 5) as u8,
            0,
            (sni.len() + 3) as u8,
            0,
            0,
        ]);
        ext.push(sni.len() as u8);
        ext.extend_from_slice(sni);
        ext.extend_from_slice(&[0, 16, 0, 14, 0, 12, 2, b'h', b'2', 8]);
        ext.extend_from_slice(b"http/1.1");
        ext.extend_from_slice(&[0, 43, 0, 5, 4, 3, 4, 3, 3]);
        let mut b = vec![3, 3];
        b.extend_from_slice(&[7; 32]);
        b.extend_from_slice(&[0, 0, 4, 0x13, 0x01, 0xc0, 0x2f, 1, 0]);
        b.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        b.extend_from_slice(&ext);
        b
    }

    #[test]
    fn client_hello_facts() {
        let h = parse_client_hello(&client_hello_body()).unwrap();
        assert_eq!(h.sni.as_deref(), Some("ws.test"));
        assert_eq!(h.alpn, ["h2", "http/1.1"]);
        assert_eq!(h.versions, [0x0304, 0x0303]);
        assert_eq!(h.cipher_suites, [0x1301, 0xc02f]);
        assert_eq!(h.random, [7; 32]);
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let body = client_hello_body();
        for cut in 0..body.len() {
            let r = parse_client_hello(&body[..cut]);
            // Cutting exactly before the extensions leaves a valid old-style hello.
            if r.is_ok() {
                assert_eq!(cut, 43, "cut at {cut} parsed");
            }
            let _ = parse_server_hello(&body[..cut]);
            let _ = parse_encrypted_extensions(&body[..cut]);
        }
    }

    #[test]
    fn server_hello_tls12_alpn_and_hrr() {
        let mut b = vec![3, 3];
        b.extend_from_slice(&HRR_RANDOM);
        b.extend_from_slice(&[0, 0xc0, 0x2f, 0]);
        b.extend_from_slice(&[0, 11, 0, 16, 0, 7, 0, 5, 4, b'h', b't', b'/', b'1']);
        let h = parse_server_hello(&b).unwrap();
        assert!(h.retry_request);
        assert_eq!(h.version, 0x0303);
        assert_eq!(h.alpn.as_deref(), Some("ht/1"));
    }

    #[test]
    fn messages_span_fragments() {
        let mut r = HandshakeReader::default();
        r.push(&[1, 0, 0, 3, 9]);
        assert_eq!(r.next_message().unwrap(), None);
        r.push(&[9, 9, 2, 0, 0, 0]);
        assert_eq!(r.next_message().unwrap(), Some((1, vec![9, 9, 9])));
        assert_eq!(r.next_message().unwrap(), Some((2, vec![])));
        assert_eq!(r.next_message().unwrap(), None);
        r.push(&[11, 0xff, 0xff, 0xff]);
        assert!(r.next_message().is_err());
    }

    #[test]
    fn a_record_of_thousands_of_empty_messages_is_read_in_one_pass() {
        let mut r = HandshakeReader::default();
        let mut fragment = [0u8, 0, 0, 0].repeat(4096);
        // A message cut by the end of the fragment, finished by the next.
        fragment.extend_from_slice(&[1, 0, 0, 2, 7]);
        r.push(&fragment);
        for _ in 0..4096 {
            assert_eq!(r.next_message().unwrap(), Some((0, vec![])));
        }
        assert_eq!(r.next_message().unwrap(), None);
        assert_eq!(r.pending(), 5);
        // Handed out by moving an offset, not the rest of the record: the
        // bytes read stay where they were until the next fragment comes.
        assert_eq!(r.buf.len(), fragment.len());
        r.push(&[8, 2, 0, 0, 1, 6]);
        assert_eq!(r.buf.len(), 11);
        assert_eq!(r.next_message().unwrap(), Some((1, vec![7, 8])));
        assert_eq!(r.next_message().unwrap(), Some((2, vec![6])));
        assert_eq!(r.pending(), 0);
    }
}
