//! Traffic keys from logged secrets: the TLS 1.3 key schedule's last steps
//! (RFC 8446 §7.1-7.3, HKDF-Expand-Label) and the TLS 1.2 key block
//! (RFC 5246 §5-6.3, the HMAC-based PRF), with the RustCrypto `hkdf` and
//! `hmac` crates doing the hashing.

use std::fmt;

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha384};

use super::suite::{HashKind, Suite};
use super::TlsError;

/// One direction's AEAD key and IV. `Debug` hides the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct TrafficKeys {
    pub key: Vec<u8>,
    pub iv: Vec<u8>,
}

impl fmt::Debug for TrafficKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TrafficKeys({}-byte key)", self.key.len())
    }
}

/// HKDF-Expand-Label(secret, label, context, len) of RFC 8446 §7.1.
pub fn hkdf_expand_label(
    hash: HashKind,
    secret: &[u8],
    label: &[u8],
    context: &[u8],
    len: usize,
) -> Result<Vec<u8>, TlsError> {
    let bad = || TlsError::BadSecret { len: secret.len() };
    let full_label = [b"tls13 ", label].concat();
    let (Ok(len16), Ok(label_len), Ok(ctx_len)) = (
        u16::try_from(len),
        u8::try_from(full_label.len()),
        u8::try_from(context.len()),
    ) else {
        return Err(bad());
    };
    let mut info = Vec::with_capacity(4 + full_label.len() + context.len());
    info.extend_from_slice(&len16.to_be_bytes());
    info.push(label_len);
    info.extend_from_slice(&full_label);
    info.push(ctx_len);
    info.extend_from_slice(context);
    let mut out = vec![0u8; len];
    match hash {
        HashKind::Sha256 => Hkdf::<Sha256>::from_prk(secret)
            .map_err(|_| bad())?
            .expand(&info, &mut out)
            .map_err(|_| bad())?,
        HashKind::Sha384 => Hkdf::<Sha384>::from_prk(secret)
            .map_err(|_| bad())?
            .expand(&info, &mut out)
            .map_err(|_| bad())?,
    }
    Ok(out)
}

/// The key and IV a TLS 1.3 traffic secret gives (RFC 8446 §7.3).
pub fn tls13_keys(suite: &Suite, secret: &[u8]) -> Result<TrafficKeys, TlsError> {
    if secret.len() != suite.hash.output_len() {
        return Err(TlsError::BadSecret { len: secret.len() });
    }
    Ok(TrafficKeys {
        key: hkdf_expand_label(suite.hash, secret, b"key", b"", suite.aead.key_len())?,
        iv: hkdf_expand_label(suite.hash, secret, b"iv", b"", 12)?,
    })
}

/// The traffic secret after a KeyUpdate (RFC 8446 §7.2).
pub fn tls13_next_secret(hash: HashKind, secret: &[u8]) -> Result<Vec<u8>, TlsError> {
    hkdf_expand_label(hash, secret, b"traffic upd", b"", hash.output_len())
}

fn p_hash<M: Mac + hmac::digest::KeyInit + Clone>(
    secret: &[u8],
    seed: &[u8],
    len: usize,
) -> Result<Vec<u8>, TlsError> {
    let bad = || TlsError::BadSecret { len: secret.len() };
    let keyed = <M as hmac::digest::KeyInit>::new_from_slice(secret).map_err(|_| bad())?;
    let mut out = Vec::with_capacity(len + 64);
    let mut a = {
        let mut m = keyed.clone();
        m.update(seed);
        m.finalize().into_bytes().to_vec()
    };
    while out.len() < len {
        let mut m = keyed.clone();
        m.update(&a);
        m.update(seed);
        out.extend_from_slice(&m.finalize().into_bytes());
        let mut m = keyed.clone();
        m.update(&a);
        a = m.finalize().into_bytes().to_vec();
    }
    out.truncate(len);
    Ok(out)
}

/// The TLS 1.2 PRF (RFC 5246 §5) with the suite's hash.
pub fn tls12_prf(
    hash: HashKind,
    secret: &[u8],
    label: &[u8],
    seed: &[u8],
    len: usize,
) -> Result<Vec<u8>, TlsError> {
    let full_seed = [label, seed].concat();
    match hash {
        HashKind::Sha256 => p_hash::<Hmac<Sha256>>(secret, &full_seed, len),
        HashKind::Sha384 => p_hash::<Hmac<Sha384>>(secret, &full_seed, len),
    }
}

/// Both directions' keys of a TLS 1.2 AEAD connection from its master secret
/// (RFC 5246 §6.3; AEAD suites have no MAC keys).
pub fn tls12_keys(
    suite: &Suite,
    master: &[u8],
    client_random: &[u8; 32],
    server_random: &[u8; 32],
) -> Result<(TrafficKeys, TrafficKeys), TlsError> {
    if master.len() != 48 {
        return Err(TlsError::BadSecret { len: master.len() });
    }
    let k = suite.aead.key_len();
    let i = suite.aead.tls12_iv_len();
    let seed = [&server_random[..], &client_random[..]].concat();
    let block = tls12_prf(suite.hash, master, b"key expansion", &seed, 2 * k + 2 * i)?;
    let client = TrafficKeys {
        key: block[..k].to_vec(),
        iv: block[2 * k..2 * k + i].to_vec(),
    };
    let server = TrafficKeys {
        key: block[k..2 * k].to_vec(),
        iv: block[2 * k + i..].to_vec(),
    };
    Ok((client, server))
}

#[cfg(test)]
mod tests {
    use super::super::from_hex;
    use super::super::rfc8448 as v;
    use super::super::suite::lookup;
    use super::*;

    fn h(s: &str) -> Vec<u8> {
        from_hex(s).unwrap()
    }

    #[test]
    fn rfc8448_traffic_keys() {
        let suite = lookup(0x1301).unwrap();
        let s_hs = tls13_keys(&suite, &h(v::S_HS)).unwrap();
        assert_eq!(s_hs.key, h(v::S_HS_KEY));
        assert_eq!(s_hs.iv, h(v::S_HS_IV));
        let c_hs = tls13_keys(&suite, &h(v::C_HS)).unwrap();
        assert_eq!(c_hs.key, h(v::C_HS_KEY));
        assert_eq!(c_hs.iv, h(v::C_HS_IV));
        let s_ap = tls13_keys(&suite, &h(v::S_AP)).unwrap();
        assert_eq!(s_ap.key, h(v::S_AP_KEY));
        assert_eq!(s_ap.iv, h(v::S_AP_IV));
    }

    #[test]
    fn rfc8448_finished_key_is_an_expand_label() {
        // finished_key = HKDF-Expand-Label(server_hs_secret, "finished", "", 32).
        let got = hkdf_expand_label(HashKind::Sha256, &h(v::S_HS), b"finished", b"", 32).unwrap();
        assert_eq!(got, h(v::S_FINISHED_KEY));
    }

    #[test]
    fn short_secrets_are_errors() {
        let suite = lookup(0x1302).unwrap();
        assert!(tls13_keys(&suite, &[1; 32]).is_err());
        assert!(tls12_keys(&lookup(0xc02f).unwrap(), &[1; 32], &[0; 32], &[0; 32]).is_err());
    }

    #[test]
    fn key_update_changes_the_secret() {
        let next = tls13_next_secret(HashKind::Sha256, &h(v::S_AP)).unwrap();
        assert_eq!(next.len(), 32);
        assert_ne!(next, h(v::S_AP));
    }

    #[test]
    fn tls12_prf_sha256_vector() {
        // The widely published P_SHA256 test vector (IETF TLS list, 2009).
        let secret = h("9b be 43 6b a9 40 f0 17 b1 76 52 84 9a 71 db 35");
        let seed = h("a0 ba 9f 93 6c da 31 18 27 a6 f7 96 ff d5 19 8c");
        let out = tls12_prf(HashKind::Sha256, &secret, b"test label", &seed, 100).unwrap();
        let want = h(
            "e3 f2 29 ba 72 7b e1 7b 8d 12 26 20 55 7c d4 53 c2 aa b2 1d 07 c3 d4 95
            32 9b 52 d4 e6 1e db 5a 6b 30 17 91 e9 0d 35 c9 c9 a4 6b 4e 14 ba f9 af 0f a0 22 f7
            07 7d ef 17 ab fd 37 97 c0 56 4b ab 4f bc 91 66 6e 9d ef 9b 97 fc e3 4f 79 67 89 ba
            a4 80 82 d1 22 ee 42 c5 a7 2e 5a 51 10 ff f7 01 87 34 7b 66",
        );
        assert_eq!(out, want);
    }

    #[test]
    fn tls12_key_block_layout() {
        let suite = lookup(0xc02f).unwrap();
        let (c, s) = tls12_keys(&suite, &[3; 48], &[1; 32], &[2; 32]).unwrap();
        let block = tls12_prf(
            HashKind::Sha256,
            &[3; 48],
            b"key expansion",
            &[[2u8; 32], [1u8; 32]].concat(),
            40,
        )
        .unwrap();
        assert_eq!(c.key, block[..16]);
        assert_eq!(s.key, block[16..32]);
        assert_eq!(c.iv, block[32..36]);
        assert_eq!(s.iv, block[36..40]);
    }
}
