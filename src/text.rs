//! Bytes from the wire shown as text.

use std::borrow::Cow;

/// The bytes as text, invalid UTF-8 replaced, as `String::from_utf8_lossy`
/// gives it. Valid input (nearly every header, cookie and reason phrase) is
/// first checked by `str::from_utf8`, which runs through ASCII a word at a
/// time; the lossy decoder goes byte by byte, and on a request's cookies it
/// was over 1 % of a run's instructions.
pub fn lossy(b: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(b) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => String::from_utf8_lossy(b),
    }
}

/// Write `v` in decimal at the start of `out`, which has room for it (ten
/// bytes hold the largest `u32`); the number of bytes written. The digits
/// are counted first and then written from the last one back, in place:
/// endpoints and a record's numbers are written this way on every reported
/// attempt, without the formatting machinery.
pub fn put_decimal(out: &mut [u8], v: u32) -> usize {
    let len = (v.checked_ilog10().unwrap_or(0) as usize + 1).min(out.len());
    let mut v = v;
    for slot in out[..len].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    len
}

/// `s.split_once(sep)` for an ASCII separator, found with memchr: the
/// standard library's search for a `char` sets up a searcher per call, and
/// every record takes its target and cookies apart.
pub fn split_once_ascii(s: &str, sep: u8) -> Option<(&str, &str)> {
    debug_assert!(sep.is_ascii(), "a separator is one ASCII byte");
    let i = memchr::memchr(sep, s.as_bytes())?;
    // An ASCII byte is a character of its own: both sides are whole text.
    Some((s.get(..i)?, s.get(i + 1..)?))
}

/// `s.split(sep)` for an ASCII separator, found with memchr: a browser's
/// Cookie header runs to kilobytes, and the standard library's search for a
/// `char` went through it a word at a time (on a storm of 4 KB cookies, a
/// fifth of the reporter's instructions).
pub fn split_ascii(s: &str, sep: u8) -> impl Iterator<Item = &str> {
    debug_assert!(sep.is_ascii(), "a separator is one ASCII byte");
    let mut start = 0;
    memchr::memchr_iter(sep, s.as_bytes())
        .chain(std::iter::once(s.len()))
        .map(move |end| {
            let part = s.get(start..end).unwrap_or("");
            start = end + 1;
            part
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_text_is_borrowed_and_damage_replaced() {
        assert!(matches!(
            lossy(b"Upgrade: websocket"),
            Cow::Borrowed("Upgrade: websocket")
        ));
        assert!(matches!(
            lossy("caf\u{e9}".as_bytes()),
            Cow::Borrowed("caf\u{e9}")
        ));
        assert_eq!(lossy(b"a\xffb\xc3"), "a\u{fffd}b\u{fffd}");
        assert_eq!(lossy(b""), "");
    }

    proptest! {
        #[test]
        fn decimal_is_the_display_form(v: u32) {
            let mut buf = [0u8; 10];
            let len = put_decimal(&mut buf, v);
            let want = v.to_string();
            prop_assert_eq!(&buf[..len], want.as_bytes());
        }

        #[test]
        fn ascii_splits_are_the_standard_library_s(s in "[a;=?& é]{0,40}") {
            for sep in [b';', b'=', b'?', b'&'] {
                let c = char::from(sep);
                prop_assert_eq!(split_once_ascii(&s, sep), s.split_once(c));
                prop_assert_eq!(split_ascii(&s, sep).collect::<Vec<_>>(), s.split(c).collect::<Vec<_>>());
            }
        }

        #[test]
        fn same_as_the_standard_lossy_decoder(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(lossy(&b), String::from_utf8_lossy(&b));
        }

        #[test]
        fn same_on_mostly_ascii(s in "[ -~]{0,200}", bad in proptest::collection::vec(128u8..=255, 0..3), at in 0usize..200) {
            let mut b = s.into_bytes();
            let at = at.min(b.len());
            for (i, x) in bad.into_iter().enumerate() {
                b.insert((at + i).min(b.len()), x);
            }
            prop_assert_eq!(lossy(&b), String::from_utf8_lossy(&b));
        }
    }
}
