//! A TLS connection on arbitrary bytes: the input is a key log line count, a
//! key log, then chunks `[dir, len]` + bytes fed to one `TlsConnection`;
//! the hello parsers also read the whole input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wshs_sniff::tls::hello;
use wshs_sniff::tls::{KeyLog, Side, TlsConnection};

fuzz_target!(|data: &[u8]| {
    let _ = hello::parse_client_hello(data);
    let _ = hello::parse_server_hello(data);
    let _ = hello::parse_encrypted_extensions(data);
    let Some((&keylen, rest)) = data.split_first() else {
        return;
    };
    let keylen = usize::from(keylen).min(rest.len());
    let (keys, mut rest) = rest.split_at(keylen);
    let log = KeyLog::parse(keys);
    let mut conn = TlsConnection::new();
    while let [dir, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let side = if dir & 1 == 0 { Side::Client } else { Side::Server };
        conn.feed(side, &tail[..n], &log, &mut |_, _| {});
        rest = &tail[n..];
    }
});
