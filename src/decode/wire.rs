//! Bounds-checked reads from packet bytes: every read past the end is a value,
//! so the decoders can use `?` instead of indexing that might panic.

/// Why a packet could not be decoded, as the static text of
/// [`super::Decoded::Malformed`].
pub type Res<T> = Result<T, &'static str>;

pub fn u8_at(d: &[u8], at: usize, what: &'static str) -> Res<u8> {
    d.get(at).copied().ok_or(what)
}

pub fn be16(d: &[u8], at: usize, what: &'static str) -> Res<u16> {
    match d.get(at..at.wrapping_add(2)) {
        Some(&[a, b]) => Ok(u16::from_be_bytes([a, b])),
        _ => Err(what),
    }
}

pub fn be32(d: &[u8], at: usize, what: &'static str) -> Res<u32> {
    match d.get(at..at.wrapping_add(4)) {
        Some(&[a, b, c, e]) => Ok(u32::from_be_bytes([a, b, c, e])),
        _ => Err(what),
    }
}

pub fn array<const N: usize>(d: &[u8], at: usize, what: &'static str) -> Res<[u8; N]> {
    d.get(at..at.wrapping_add(N))
        .and_then(|s| s.try_into().ok())
        .ok_or(what)
}

/// The bytes from `at` on; an error when `at` is past the end.
pub fn rest<'a>(d: &'a [u8], at: usize, what: &'static str) -> Res<&'a [u8]> {
    d.get(at..).ok_or(what)
}
