//! Real conversations recorded from OpenSSL (Python's ssl over memory BIOs,
//! `scripts/record-fixtures/tls_streams.py`) for each version and suite, with
//! the key log OpenSSL wrote: each must decrypt to the upgrade request and the
//! 101 that were sent.

use super::keylog::KeyLog;
use super::session::{Side, TlsConnection};

const REQUEST_START: &[u8] = b"GET /chat HTTP/1.1\r\nHost: tls.test\r\n";
const RESPONSE_START: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\n";

macro_rules! case {
    ($name:literal) => {
        (
            $name,
            include_bytes!(concat!("../../tests/data/tls/", $name, ".c2s")).as_slice(),
            include_bytes!(concat!("../../tests/data/tls/", $name, ".s2c")).as_slice(),
            include_bytes!(concat!("../../tests/data/tls/", $name, ".keylog")).as_slice(),
        )
    };
}

type Case = (&'static str, &'static [u8], &'static [u8], &'static [u8]);

static CASES: [Case; 6] = [
    case!("tls13-aes128"),
    case!("tls13-aes256"),
    case!("tls13-chacha"),
    case!("tls12-aes128"),
    case!("tls12-aes256"),
    case!("tls12-chacha"),
];

fn run(
    c2s: &[u8],
    s2c: &[u8],
    log: &KeyLog,
    server_first: bool,
) -> (TlsConnection, Vec<u8>, Vec<u8>) {
    let mut conn = TlsConnection::new();
    let (mut up, mut down) = (Vec::new(), Vec::new());
    let mut sink = |side: Side, d: &[u8]| match side {
        Side::Client => up.extend_from_slice(d),
        Side::Server => down.extend_from_slice(d),
    };
    // Whole streams one after the other: the client's protected records must
    // wait for the server's hello when they come first.
    if server_first {
        conn.feed(Side::Server, s2c, log, &mut sink);
        conn.feed(Side::Client, c2s, log, &mut sink);
    } else {
        conn.feed(Side::Client, c2s, log, &mut sink);
        conn.feed(Side::Server, s2c, log, &mut sink);
    }
    (conn, up, down)
}

#[test]
fn every_suite_decrypts() {
    for (name, c2s, s2c, keylog) in CASES {
        let log = KeyLog::parse(keylog);
        for server_first in [false, true] {
            let (conn, up, down) = run(c2s, s2c, &log, server_first);
            assert!(
                up.starts_with(REQUEST_START),
                "{name}: {:?}",
                crate::text::lossy(&up)
            );
            assert!(up.ends_with(b"\r\n\r\n"), "{name}");
            assert!(
                down.starts_with(RESPONSE_START),
                "{name} {server_first} {:?} {:?}",
                conn.progress,
                crate::text::lossy(&down)
            );
            assert_eq!(conn.progress.error, None, "{name}");
            assert_eq!(conn.progress.failed, 0, "{name}");
            let f = &conn.facts;
            assert_eq!(f.sni.as_deref(), Some("tls.test"), "{name}");
            assert_eq!(f.alpn_offered, ["h2", "http/1.1"], "{name}");
            assert_eq!(f.alpn.as_deref(), Some("http/1.1"), "{name}");
            let v = if name.starts_with("tls13") {
                0x0304
            } else {
                0x0303
            };
            assert_eq!(f.version, Some(v), "{name}");
        }
    }
}

#[test]
fn another_connections_keys_do_not_open_it() {
    let (_, c2s, s2c, _) = CASES[0];
    let other = KeyLog::parse(CASES[2].3);
    let (conn, up, down) = run(c2s, s2c, &other, false);
    assert!(up.is_empty() && down.is_empty());
    assert!(!conn.progress.keys_found);
    // The facts are there all the same.
    assert_eq!(conn.facts.sni.as_deref(), Some("tls.test"));
}

#[test]
fn any_cut_of_the_stream_gives_the_same_result() {
    for (name, c2s, s2c, keylog) in CASES {
        let log = KeyLog::parse(keylog);
        for cut in (1..c2s.len()).step_by(37) {
            let mut conn = TlsConnection::new();
            let mut up = Vec::new();
            let mut sink = |side: Side, d: &[u8]| {
                if side == Side::Client {
                    up.extend_from_slice(d)
                }
            };
            conn.feed(Side::Client, &c2s[..cut], &log, &mut sink);
            conn.feed(Side::Server, s2c, &log, &mut sink);
            conn.feed(Side::Client, &c2s[cut..], &log, &mut sink);
            assert!(up.starts_with(REQUEST_START), "{name} cut {cut}");
        }
    }
}

#[test]
fn damaged_records_never_panic() {
    for (_, c2s, s2c, keylog) in CASES {
        let log = KeyLog::parse(keylog);
        for at in (0..s2c.len()).step_by(11) {
            let mut bad = s2c.to_vec();
            bad[at] ^= 0x5a;
            let mut conn = TlsConnection::new();
            conn.feed(Side::Client, c2s, &log, &mut |_, _| {});
            conn.feed(Side::Server, &bad, &log, &mut |_, _| {});
        }
    }
}

/// A key log that gains this connection's secrets only later, as a live
/// capture's file does: first the handshake secrets alone (TLS 1.3), then
/// all.
#[derive(Debug)]
struct Later {
    log: KeyLog,
    ready: std::cell::Cell<bool>,
}

impl super::keylog::KeySource for Later {
    fn secrets(&self, cr: &[u8; 32]) -> Option<super::keylog::Secrets> {
        let all = self.log.secrets(cr)?;
        if self.ready.get() {
            return Some(all);
        }
        Some(super::keylog::Secrets {
            client_handshake: all.client_handshake,
            server_handshake: all.server_handshake,
            ..Default::default()
        })
    }

    fn may_grow(&self) -> bool {
        true
    }
}

#[test]
fn records_wait_for_secrets_that_come_later() {
    for (name, c2s, s2c, keylog) in CASES {
        let later = Later {
            log: KeyLog::parse(keylog),
            ready: std::cell::Cell::new(false),
        };
        let mut conn = TlsConnection::new();
        let (mut up, mut down) = (Vec::new(), Vec::new());
        let mut sink = |side: Side, d: &[u8]| match side {
            Side::Client => up.extend_from_slice(d),
            Side::Server => down.extend_from_slice(d),
        };
        conn.feed(Side::Client, c2s, &later, &mut sink);
        conn.feed(Side::Server, s2c, &later, &mut sink);
        assert!(conn.buffered() > 0, "{name}: nothing held");
        later.ready.set(true);
        conn.feed(Side::Server, &[], &later, &mut sink);
        assert!(up.starts_with(REQUEST_START), "{name}");
        assert!(down.starts_with(RESPONSE_START), "{name}");
    }
}
