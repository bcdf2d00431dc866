//! An HTTP/2 connection on arbitrary bytes: a flags byte (bit 0: seen from
//! its start), then chunks `[dir, len]` + bytes fed to one `H2Connection`;
//! the whole input is also read as a header block with lost HPACK state.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wshs_sniff::h2::{fields, H2Connection, Side};

fuzz_target!(|data: &[u8]| {
    let _ = fields::standalone(data);
    let Some((&flags, mut rest)) = data.split_first() else {
        return;
    };
    let mut conn: H2Connection<usize> = H2Connection::new(flags & 1 == 1);
    let mut at = 0;
    while let [dir, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let side = if dir & 1 == 0 { Side::Client } else { Side::Server };
        if dir & 0x80 != 0 {
            conn.gap(side);
        }
        conn.feed(side, &tail[..n], at, &mut |a| {
            let _ = a.request.get(":path");
        });
        rest = &tail[n..];
        at += 1;
    }
    conn.finish(&mut |_| {});
});
