//! TLS seen from the side of the wire: the clear-text hellos (SNI, ALPN, version)
//! of every TLS connection, and, given the session secrets an NSS key log holds,
//! the decrypted application data, so that `wss://` handshakes reach the same
//! HTTP analysis as clear-text ones.
//!
//! Everything here is pure: bytes in, values out. The record layer and the key
//! schedule are small and ours (no crate decrypts a captured connection); every
//! cipher, MAC and KDF comes from the RustCrypto crates.
//!
//! ```text
//! keylog ──▶ secrets by client random
//! record ──▶ hello (facts) ──▶ schedule (keys) ──▶ aead (open) ──▶ session (plaintext per direction)
//! ```

pub mod aead;
pub mod hello;
pub mod keylog;
pub mod record;
pub mod schedule;
pub mod session;
pub mod suite;

#[cfg(test)]
mod recorded;
#[cfg(test)]
mod rfc8448;

pub use keylog::{InBandKeys, KeyChain, KeyLog, KeySource, Keys, Secrets, SharedKeys};
pub use session::{Side, TlsConnection, TlsFacts};

/// What can go wrong reading one TLS connection. Each is final for the
/// direction it happened in: the rest of that direction is not read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TlsError {
    #[error("not a TLS record (content type {content_type}, version {version:#06x})")]
    NotTls { content_type: u8, version: u16 },
    #[error("TLS record of {len} bytes, longer than any record may be")]
    RecordTooLong { len: usize },
    #[error("{what} cut short: {need} bytes needed, {have} present")]
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    #[error("handshake message of {len} bytes, larger than accepted")]
    MessageTooLarge { len: usize },
    #[error("malformed {what}")]
    Malformed { what: &'static str },
    #[error("cipher suite {0:#06x} cannot be decrypted (only AEAD suites are)")]
    UnsupportedSuite(u16),
    #[error("a secret of {len} bytes does not fit the cipher suite")]
    BadSecret { len: usize },
    #[error("record {seq} did not decrypt (wrong keys or damaged record)")]
    Decrypt { seq: u64 },
    #[error("more than {limit} bytes waiting for the peer's hello")]
    Backlog { limit: usize },
}

/// A cursor over a handshake structure: every read is checked, so hostile
/// lengths become [`TlsError::Truncated`] instead of a panic.
pub(crate) struct Cursor<'a> {
    bytes: &'a [u8],
    what: &'static str,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(bytes: &'a [u8], what: &'static str) -> Self {
        Cursor { bytes, what }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], TlsError> {
        if self.bytes.len() < n {
            return Err(TlsError::Truncated {
                what: self.what,
                need: n,
                have: self.bytes.len(),
            });
        }
        let (head, rest) = self.bytes.split_at(n);
        self.bytes = rest;
        Ok(head)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, TlsError> {
        Ok(self.take(1)?[0])
    }

    pub(crate) fn u16(&mut self) -> Result<u16, TlsError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    /// A vector with a one-byte length prefix.
    pub(crate) fn vec8(&mut self) -> Result<&'a [u8], TlsError> {
        let n = usize::from(self.u8()?);
        self.take(n)
    }

    /// A vector with a two-byte length prefix.
    pub(crate) fn vec16(&mut self) -> Result<Cursor<'a>, TlsError> {
        let n = usize::from(self.u16()?);
        Ok(Cursor::new(self.take(n)?, self.what))
    }

    pub(crate) fn rest(&mut self) -> &'a [u8] {
        std::mem::take(&mut self.bytes)
    }
}

/// Lower-case hex, for tests and for parsing key logs.
pub(crate) fn from_hex(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return None;
    }
    digits
        .chunks(2)
        .map(|p| {
            let hi = (p[0] as char).to_digit(16)?;
            let lo = (p[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}
