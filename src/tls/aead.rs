//! Opening protected records: nonce and associated data as each version
//! builds them, the AEAD itself from the RustCrypto `aes-gcm` and
//! `chacha20poly1305` crates.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes128Gcm, Aes256Gcm};
use chacha20poly1305::ChaCha20Poly1305;

use super::record::{RecordHeader, APPLICATION_DATA};
use super::schedule::TrafficKeys;
use super::suite::AeadKind;
use super::TlsError;

const TAG_LEN: usize = 16;
/// RFC 5288 §3: TLS 1.2 AES-GCM records start with an 8-byte explicit nonce.
const EXPLICIT_NONCE_LEN: usize = 8;

enum Cipher {
    Aes128(Box<Aes128Gcm>),
    Aes256(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

/// A decrypted record: its real content type (TLS 1.3 hides it inside) and
/// its clear text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plain {
    pub content_type: u8,
    pub data: Vec<u8>,
}

/// One direction's record protection, with its sequence number.
pub struct Opener {
    cipher: Cipher,
    kind: AeadKind,
    iv: Vec<u8>,
    tls13: bool,
    /// Sequence number of the next record.
    pub seq: u64,
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Opener({:?}, seq {})", self.kind, self.seq)
    }
}

impl Opener {
    pub fn new(kind: AeadKind, keys: &TrafficKeys, tls13: bool) -> Result<Opener, TlsError> {
        let iv_len = if tls13 { 12 } else { kind.tls12_iv_len() };
        if keys.iv.len() != iv_len || keys.key.len() != kind.key_len() {
            return Err(TlsError::BadSecret {
                len: keys.key.len(),
            });
        }
        let bad = |_| TlsError::BadSecret {
            len: keys.key.len(),
        };
        let cipher = match kind {
            AeadKind::Aes128Gcm => {
                Cipher::Aes128(Box::new(Aes128Gcm::new_from_slice(&keys.key).map_err(bad)?))
            }
            AeadKind::Aes256Gcm => {
                Cipher::Aes256(Box::new(Aes256Gcm::new_from_slice(&keys.key).map_err(bad)?))
            }
            AeadKind::ChaCha20Poly1305 => Cipher::ChaCha(Box::new(
                ChaCha20Poly1305::new_from_slice(&keys.key).map_err(bad)?,
            )),
        };
        Ok(Opener {
            cipher,
            kind,
            iv: keys.iv.clone(),
            tls13,
            seq: 0,
        })
    }

    /// The per-record nonce: the IV XOR the sequence number (TLS 1.3 and
    /// TLS 1.2 ChaCha20), or salt + explicit nonce (TLS 1.2 AES-GCM).
    fn nonce(&self, explicit: Option<&[u8]>) -> [u8; 12] {
        let mut n = [0u8; 12];
        match explicit {
            Some(e) => {
                n[..4].copy_from_slice(&self.iv[..4]);
                n[4..].copy_from_slice(e);
            }
            None => {
                n.copy_from_slice(&self.iv[..12]);
                for (b, s) in n[4..].iter_mut().zip(self.seq.to_be_bytes()) {
                    *b ^= s;
                }
            }
        }
        n
    }

    fn decrypt(&self, nonce: &[u8; 12], msg: &[u8], aad: &[u8]) -> Option<Vec<u8>> {
        let payload = Payload { msg, aad };
        match &self.cipher {
            Cipher::Aes128(c) => c.decrypt(nonce.into(), payload).ok(),
            Cipher::Aes256(c) => c.decrypt(nonce.into(), payload).ok(),
            Cipher::ChaCha(c) => c.decrypt(nonce.into(), payload).ok(),
        }
    }

    /// Open one record at the current sequence number; on success the
    /// number moves on, on failure it stays (so a caller may try other keys).
    pub fn open(&mut self, header: &RecordHeader, fragment: &[u8]) -> Result<Plain, TlsError> {
        let fail = TlsError::Decrypt { seq: self.seq };
        let plain = if self.tls13 {
            if header.content_type != APPLICATION_DATA || fragment.len() < TAG_LEN {
                return Err(fail);
            }
            let nonce = self.nonce(None);
            let data = self
                .decrypt(&nonce, fragment, &header.bytes())
                .ok_or(fail.clone())?;
            inner_plaintext(data).ok_or(fail)?
        } else {
            let explicit = matches!(self.kind, AeadKind::Aes128Gcm | AeadKind::Aes256Gcm);
            let skip = if explicit { EXPLICIT_NONCE_LEN } else { 0 };
            let Some(plain_len) = fragment.len().checked_sub(skip + TAG_LEN) else {
                return Err(fail);
            };
            let nonce = self.nonce(explicit.then(|| &fragment[..EXPLICIT_NONCE_LEN]));
            let mut aad = [0u8; 13];
            aad[..8].copy_from_slice(&self.seq.to_be_bytes());
            aad[8] = header.content_type;
            aad[9..11].copy_from_slice(&header.version.to_be_bytes());
            aad[11..].copy_from_slice(&(plain_len as u16).to_be_bytes());
            let data = self.decrypt(&nonce, &fragment[skip..], &aad).ok_or(fail)?;
            Plain {
                content_type: header.content_type,
                data,
            }
        };
        self.seq += 1;
        Ok(plain)
    }
}

/// RFC 8446 §5.2: the content type is the last non-zero byte, after which
/// only padding zeros follow.
fn inner_plaintext(mut data: Vec<u8>) -> Option<Plain> {
    let end = data.iter().rposition(|&b| b != 0)?;
    let content_type = data[end];
    data.truncate(end);
    Some(Plain { content_type, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_and_inner_type() {
        let p = inner_plaintext(vec![b'h', b'i', 23, 0, 0]).unwrap();
        assert_eq!((p.content_type, p.data), (23, b"hi".to_vec()));
        assert!(inner_plaintext(vec![0, 0]).is_none());
    }

    #[test]
    fn tls13_nonce_xors_the_sequence() {
        let keys = TrafficKeys {
            key: vec![0; 16],
            iv: vec![0xff; 12],
        };
        let mut o = Opener::new(AeadKind::Aes128Gcm, &keys, true).unwrap();
        o.seq = 0x0102;
        let n = o.nonce(None);
        assert_eq!(&n[..10], &[0xff; 10]);
        assert_eq!(&n[10..], &[0xfe, 0xfd]);
    }

    #[test]
    fn wrong_lengths_and_garbage_are_errors() {
        let keys = TrafficKeys {
            key: vec![0; 16],
            iv: vec![0; 4],
        };
        assert!(Opener::new(AeadKind::Aes256Gcm, &keys, false).is_err());
        let mut o = Opener::new(AeadKind::Aes128Gcm, &keys, false).unwrap();
        let h = RecordHeader {
            content_type: APPLICATION_DATA,
            version: 0x0303,
            len: 30,
        };
        assert_eq!(o.open(&h, &[0; 10]), Err(TlsError::Decrypt { seq: 0 }));
        assert_eq!(o.open(&h, &[0; 30]), Err(TlsError::Decrypt { seq: 0 }));
        assert_eq!(o.seq, 0);
    }
}
