//! Which of a fixed list of texts a server's answer holds, found in one pass.
//! The classifier compares each refusal's body with tables of known server
//! messages; one substring search per table row was a large part of the
//! reporter's time, and each search also copied the body to lowercase it.

use aho_corasick::{AhoCorasick, AhoCorasickKind};

/// A list of texts, searched for all at once.
pub struct Needles {
    /// `None` if the automaton could not be built (it cannot, for a few
    /// short texts): then each text is searched for on its own.
    search: Option<AhoCorasick>,
    /// The list index of each pattern (empty texts are no pattern).
    list_index: Vec<usize>,
    texts: Vec<Vec<u8>>,
    ignore_case: bool,
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
        let texts: Vec<Vec<u8>> = texts.into_iter().map(|t| t.as_bytes().to_vec()).collect();
        assert!(texts.len() <= 128, "Found holds 128 texts");
        // A contiguous NFA: built in a fraction of a DFA's time (the DFA's
        // construction alone cost more than a thousand searches), and as
        // fast on bodies of a few hundred bytes.
        let search = AhoCorasick::builder()
            .ascii_case_insensitive(ignore_case)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(texts.iter().filter(|t| !t.is_empty()))
            .ok();
        let list_index = (0..texts.len()).filter(|&i| !texts[i].is_empty()).collect();
        Needles {
            search,
            list_index,
            texts,
            ignore_case,
        }
    }

    /// Every text `hay` holds (overlapping ones too).
    pub fn in_text(&self, hay: &[u8]) -> Found {
        let Some(search) = &self.search else {
            return self.one_by_one(hay);
        };
        let mut found = Found::default();
        for m in search.find_overlapping_iter(hay) {
            if let Some(&i) = self.list_index.get(m.pattern().as_usize()) {
                found.mark(i);
            }
        }
        found
    }

    /// [`Needles::in_text`] the slow way, one search per text.
    fn one_by_one(&self, hay: &[u8]) -> Found {
        let fold = |b: &[u8]| -> Vec<u8> {
            if self.ignore_case {
                b.to_ascii_lowercase()
            } else {
                b.to_vec()
            }
        };
        let hay = fold(hay);
        let mut found = Found::default();
        for (i, t) in self.texts.iter().enumerate() {
            if !t.is_empty() && memchr::memmem::find(&hay, &fold(t)).is_some() {
                found.mark(i);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
