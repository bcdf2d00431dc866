//! The cipher suites that can be decrypted: every AEAD suite of TLS 1.3 and
//! the AES-GCM and ChaCha20-Poly1305 suites of TLS 1.2.

use super::TlsError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AeadKind {
    Aes128Gcm,
    Aes256Gcm,
    ChaCha20Poly1305,
}

impl AeadKind {
    pub fn key_len(self) -> usize {
        match self {
            AeadKind::Aes128Gcm => 16,
            AeadKind::Aes256Gcm | AeadKind::ChaCha20Poly1305 => 32,
        }
    }

    /// TLS 1.2 implicit IV length (RFC 5288 salt, RFC 7905 full nonce).
    pub fn tls12_iv_len(self) -> usize {
        match self {
            AeadKind::Aes128Gcm | AeadKind::Aes256Gcm => 4,
            AeadKind::ChaCha20Poly1305 => 12,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashKind {
    Sha256,
    Sha384,
}

impl HashKind {
    pub fn output_len(self) -> usize {
        match self {
            HashKind::Sha256 => 32,
            HashKind::Sha384 => 48,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suite {
    pub id: u16,
    pub aead: AeadKind,
    pub hash: HashKind,
    pub tls13: bool,
}

/// The suite for a ServerHello's choice.
pub fn lookup(id: u16) -> Result<Suite, TlsError> {
    use AeadKind::*;
    use HashKind::*;
    let (aead, hash, tls13) = match id {
        0x1301 => (Aes128Gcm, Sha256, true),
        0x1302 => (Aes256Gcm, Sha384, true),
        0x1303 => (ChaCha20Poly1305, Sha256, true),
        // RSA, DHE_RSA, ECDHE_ECDSA, ECDHE_RSA with AES-GCM.
        0x009c | 0x009e | 0xc02b | 0xc02f => (Aes128Gcm, Sha256, false),
        0x009d | 0x009f | 0xc02c | 0xc030 => (Aes256Gcm, Sha384, false),
        // ECDHE_RSA, ECDHE_ECDSA, DHE_RSA with ChaCha20-Poly1305.
        0xcca8..=0xccaa => (ChaCha20Poly1305, Sha256, false),
        other => return Err(TlsError::UnsupportedSuite(other)),
    };
    Ok(Suite {
        id,
        aead,
        hash,
        tls13,
    })
}

/// The IANA name of a suite, for evidence lines.
pub fn name(id: u16) -> Option<&'static str> {
    Some(match id {
        0x1301 => "TLS_AES_128_GCM_SHA256",
        0x1302 => "TLS_AES_256_GCM_SHA384",
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256",
        0xc02b => "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        0xc02c => "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        0xc02f => "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        0xc030 => "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        0xcca8 => "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        0xcca9 => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_suites() {
        assert_eq!(lookup(0x1302).unwrap().hash, HashKind::Sha384);
        assert!(!lookup(0xc02f).unwrap().tls13);
        assert_eq!(lookup(0xcca8).unwrap().aead.tls12_iv_len(), 12);
        // AES-CBC with HMAC: not an AEAD suite.
        assert_eq!(lookup(0xc013), Err(TlsError::UnsupportedSuite(0xc013)));
    }
}
