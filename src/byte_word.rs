//! Tests on eight bytes at once: a little-endian word of the input, checked
//! for a byte in some range with a few arithmetic steps instead of eight
//! comparisons (the classic "has a byte less than n" tricks). The texts a
//! record carries are checked byte for byte against small ranges, and this
//! is how both the JSON writer and the printable check skip the common case.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The eight bytes as a word; `None` when fewer than eight are given.
pub fn load(bytes: &[u8]) -> Option<u64> {
    let b: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// Whether some byte of `w` is below `n` (exact for `n` up to 0x80): the
/// subtraction borrows into that byte's top bit, which the byte itself did
/// not have set.
pub fn has_below(w: u64, n: u8) -> bool {
    w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS != 0
}

/// Whether some byte of `w` is `n` or more (exact for `n` from 1 to 0x80):
/// its top bit is set already, or adding `0x80 - n` sets it. A byte below
/// 0x80 never carries into its neighbour; a carry out of one with its top
/// bit set changes nothing, the answer being yes already.
pub fn has_at_least(w: u64, n: u8) -> bool {
    (w | w.wrapping_add(ONES * u64::from(0x80 - n.min(0x80)))) & HIGHS != 0
}

/// Whether some byte of `w` is `b`.
pub fn has_byte(w: u64, b: u8) -> bool {
    has_below(w ^ (ONES * u64::from(b)), 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Each word test is the byte-by-byte one, on any bytes and bounds.
        #[test]
        fn word_tests_are_the_bytewise_ones(b: [u8; 8], n in 1u8..=0x80, x: u8) {
            let w = load(&b).expect("eight bytes");
            prop_assert_eq!(has_below(w, n), b.iter().any(|&c| c < n));
            prop_assert_eq!(has_at_least(w, n), b.iter().any(|&c| c >= n));
            prop_assert_eq!(has_byte(w, x), b.contains(&x));
        }
    }

    #[test]
    fn every_edge_byte_is_found_in_every_place() {
        for at in 0..8 {
            for bad in [0x00u8, 0x1f, 0x7f, 0x80, 0xff] {
                let mut b = [b'a'; 8];
                b[at] = bad;
                let w = load(&b).expect("eight bytes");
                assert!(
                    has_below(w, 0x20) || has_at_least(w, 0x7f),
                    "{bad:#x} at {at}"
                );
            }
        }
        assert_eq!(load(b"short"), None);
    }
}
