//! Which of a fixed list of texts a server's answer holds, found in one pass.
//! The classifier compares each refusal's body with tables of known server
//! messages; one substring search per table row was a large part of the
//! reporter's time, and each search also copied the body to lowercase it.
//!
//! The lists are a hundred short texts and the bodies a few hundred bytes, so
//! the index is the three bytes each text starts with: one bit per hash of
//! those says whether any text may start there, and only where one may are
//! the texts of that start compared. Building it costs a few thousand
//! instructions; an Aho-Corasick automaton over the same texts cost 4.6
//! million, paid by every run, a capture without a single refusal included,
//! for searches no faster on bodies this short.

/// A list of texts, searched for all at once.
pub struct Needles {
    /// The texts as compared: lowercased when case is ignored.
    texts: Vec<Vec<u8>>,
    ignore_case: bool,
    /// One bit per [`hash`] of the (folded) first three bytes of a text of
    /// three bytes or more.
    starts_bits: Box<[u64; 1024]>,
    /// Those texts' (first three bytes, list index), grouped by bucket (the
    /// hash's top bits): a bucket `b`'s are `by_start[bucket_at[b]..bucket_at[b + 1]]`.
    by_start: Vec<(u32, u8)>,
    bucket_at: Box<[u16; BUCKETS + 1]>,
    /// Texts of one or two bytes (few or none): their list indexes.
    short: Vec<u8>,
}

/// Which texts were found, by their index in the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Found(u128);

impl Found {
    pub fn has(self, i: usize) -> bool {
        i < 128 && self.0 & (1 << i) != 0
    }

    /// The first text found, in list order.
    pub fn first(self) -> Option<usize> {
        (self.0 != 0).then(|| self.0.trailing_zeros() as usize)
    }

    fn mark(&mut self, i: usize) {
        self.0 |= 1 << i;
    }
}

impl Needles {
    /// At most 128 texts; ASCII case is ignored when `ignore_case`. Empty
    /// texts are never found.
    pub fn new<'t>(texts: impl IntoIterator<Item = &'t str>, ignore_case: bool) -> Needles {
        let texts: Vec<Vec<u8>> = texts
            .into_iter()
            .map(|t| {
                if ignore_case {
                    t.as_bytes().to_ascii_lowercase()
                } else {
                    t.as_bytes().to_vec()
                }
            })
            .collect();
        assert!(texts.len() <= 128, "Found holds 128 texts");
        let mut starts_bits = Box::new([0u64; 1024]);
        let mut by_start = Vec::new();
        let mut short = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let i = i as u8;
            match t.as_slice() {
                [] => {}
                [_] | [_, _] => short.push(i),
                [a, b, c, ..] => {
                    let start = u32::from_be_bytes([0, *a, *b, *c]);
                    let h = hash(start);
                    starts_bits[h >> 6] |= 1 << (h & 63);
                    by_start.push((start, i));
                }
            }
        }
        by_start.sort_unstable_by_key(|&(start, i)| (hash(start), start, i));
        let mut bucket_at = Box::new([0u16; BUCKETS + 1]);
        for &(start, _) in &by_start {
            bucket_at[bucket(hash(start)) + 1] += 1;
        }
        for b in 0..BUCKETS {
            bucket_at[b + 1] += bucket_at[b];
        }
        Needles {
            texts,
            ignore_case,
            starts_bits,
            by_start,
            bucket_at,
            short,
        }
    }

    /// Every text `hay` holds (overlapping ones too).
    pub fn in_text(&self, hay: &[u8]) -> Found {
        // The case test hoisted out of the loop: each loop folds, or not.
        if self.ignore_case {
            self.scan(hay, |b| b.to_ascii_lowercase())
        } else {
            self.scan(hay, |b| b)
        }
    }

    #[inline(always)]
    fn scan(&self, hay: &[u8], fold: impl Fn(u8) -> u8) -> Found {
        let mut found = Found::default();
        for &i in &self.short {
            self.compare_everywhere(usize::from(i), hay, &mut found);
        }
        // The last three bytes read, folded, in the low 24 bits.
        let mut window = 0u32;
        for (at, &b) in hay.iter().enumerate() {
            window = (window << 8 | u32::from(fold(b))) & 0x00ff_ffff;
            let h = hash(window);
            if at >= 2 && self.starts_bits[h >> 6] & (1 << (h & 63)) != 0 {
                self.compare(window, h, hay.get(at - 2..).unwrap_or(&[]), &mut found);
            }
        }
        found
    }

    /// Mark the texts starting with `start` (whose hash is `h`) that `here`
    /// starts with.
    #[inline(never)]
    fn compare(&self, start: u32, h: usize, here: &[u8], found: &mut Found) {
        let b = bucket(h);
        let (from, to) = (
            usize::from(self.bucket_at[b]),
            usize::from(self.bucket_at[b + 1]),
        );
        for &(s, i) in self.by_start.get(from..to).unwrap_or(&[]) {
            if s == start {
                self.compare_at(usize::from(i), here, found);
            }
        }
    }

    /// Mark text `i` if `here` starts with it.
    fn compare_at(&self, i: usize, here: &[u8], found: &mut Found) {
        if found.has(i) {
            return;
        }
        let Some(t) = self.texts.get(i) else { return };
        let Some(h) = here.get(..t.len()) else {
            return;
        };
        let same = if self.ignore_case {
            h.eq_ignore_ascii_case(t)
        } else {
            h == t.as_slice()
        };
        if same {
            found.mark(i);
        }
    }

    /// Mark text `i` if `hay` holds it anywhere (for the few short texts).
    #[cold]
    fn compare_everywhere(&self, i: usize, hay: &[u8], found: &mut Found) {
        for at in 0..hay.len() {
            self.compare_at(i, hay.get(at..).unwrap_or(&[]), found);
        }
    }

    /// [`Needles::in_text`] the slow way, one search per text: the
    /// reference the tests hold the index to.
    #[cfg(test)]
    fn one_by_one(&self, hay: &[u8]) -> Found {
        let hay = if self.ignore_case {
            hay.to_ascii_lowercase()
        } else {
            hay.to_vec()
        };
        let mut found = Found::default();
        for (i, t) in self.texts.iter().enumerate() {
            if !t.is_empty() && memchr::memmem::find(&hay, t).is_some() {
                found.mark(i);
            }
        }
        found
    }
}

/// Buckets of starts: more than the lists have texts, so that a bucket
/// holds one start's texts and rarely another's.
const BUCKETS: usize = 512;

/// A 16-bit hash of three bytes (multiplicative: every byte moves the top
/// bits), one bit of `starts_bits` each.
fn hash(start: u32) -> usize {
    (start.wrapping_mul(0x9E37_79B1) >> 16) as usize
}

/// The bucket of a hash: its top bits.
fn bucket(h: usize) -> usize {
    h >> 7
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn one_pass_finds_what_one_search_per_text_finds() {
        let texts = ["nginx", "<center>nginx", "", "ngin", "Bad Request", "x"];
        for ignore_case in [false, true] {
            let n = Needles::new(texts, ignore_case);
            for hay in [
                &b"<html><center>nginx</center>"[..],
                b"\xff\xfe<CENTER>NGINX",
                b"400 bad request",
                b"",
                b"xx",
            ] {
                assert_eq!(n.in_text(hay), n.one_by_one(hay), "{hay:?} {ignore_case}");
            }
        }
        let n = Needles::new(texts, false);
        let f = n.in_text(b"<center>nginx");
        assert!(f.has(0) && f.has(1) && f.has(3) && !f.has(2) && !f.has(4));
        assert_eq!(f.first(), Some(0));
        assert_eq!(n.in_text(b"NGINX"), Found::default());
        assert!(Needles::new(texts, true).in_text(b"NGINX").has(0));
    }

    #[test]
    fn texts_sharing_a_start_and_texts_at_the_edges_are_all_found() {
        let texts = ["ab", "abc", "abd", "b", "bc", "zz"];
        let n = Needles::new(texts, true);
        let f = n.in_text(b"ABc");
        assert!(f.has(0) && f.has(1) && f.has(3) && f.has(4));
        assert!(!f.has(2) && !f.has(5));
        // A text cut by the end of the haystack is not there.
        assert!(!n.in_text(b"xxab").has(1));
        assert!(n.in_text(b"zz").has(5));
        // Case is only ignored when asked.
        let exact = Needles::new(texts, false);
        assert_eq!(exact.in_text(b"ABC"), Found::default());
        assert!(exact.in_text(b"xabd").has(2));
    }

    #[test]
    fn the_classifiers_texts_are_found_in_bodies_that_quote_them() {
        // Every text of the real tables, inside a body and in other case.
        let texts: Vec<&str> = crate::classify::evidence::TABLE
            .iter()
            .map(|r| r.text)
            .collect();
        let n = Needles::new(texts.iter().copied(), true);
        for (i, t) in texts.iter().enumerate() {
            if t.is_empty() {
                continue;
            }
            let body = format!("<p>{}</p>", t.to_ascii_uppercase());
            let f = n.in_text(body.as_bytes());
            assert!(f.has(i), "{t:?}");
            assert_eq!(f, n.one_by_one(body.as_bytes()), "{t:?}");
        }
    }

    proptest! {
        /// Texts and haystacks over a small alphabet (so that texts overlap,
        /// share starts and recur): the index finds exactly what a search per
        /// text finds.
        #[test]
        fn the_index_agrees_with_one_search_per_text(
            texts in proptest::collection::vec("[abAB\u{e9}]{0,4}", 0..40),
            hay in proptest::collection::vec(
                prop_oneof![Just(b'a'), Just(b'b'), Just(b'A'), Just(b'B'), Just(0xc3), Just(0xa9)],
                0..64,
            ),
            ignore_case in any::<bool>(),
        ) {
            let n = Needles::new(texts.iter().map(String::as_str), ignore_case);
            prop_assert_eq!(n.in_text(&hay), n.one_by_one(&hay));
        }
    }
}
