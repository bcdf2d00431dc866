//! Header blocks to fields. With the HPACK state known (the connection was
//! seen from its start) the `loona-hpack` decoder does it all. Once state is
//! lost (capture began mid-connection, or a gap), only fields that stand on
//! their own are read: each field representation is cut out of the block and
//! decoded alone, and one that points into the unknown dynamic table is
//! counted as unreadable, never guessed.

use loona_hpack::Decoder;

use super::H2Error;

/// The static table of RFC 7541 Appendix A has 61 entries; higher indexes
/// name the dynamic table.
const STATIC_ENTRIES: usize = 61;
/// Largest dynamic table a peer may ask for here.
pub const MAX_TABLE: usize = 1 << 16;

/// Fields of one header block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields {
    pub list: Vec<(String, String)>,
    /// Fields that referred to the dynamic table of a lost HPACK state.
    pub unreadable: usize,
}

impl Fields {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.list
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One side's HPACK decoding state.
pub struct FieldDecoder {
    decoder: Decoder<'static>,
    /// The dynamic table is known (everything since the connection began).
    pub synced: bool,
}

impl std::fmt::Debug for FieldDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FieldDecoder(synced: {})", self.synced)
    }
}

impl FieldDecoder {
    pub fn new(synced: bool) -> Self {
        let mut decoder = Decoder::new();
        decoder.set_max_allowed_table_size(MAX_TABLE);
        FieldDecoder { decoder, synced }
    }

    /// Decode a whole header block (HEADERS + CONTINUATIONs).
    pub fn decode(&mut self, block: &[u8]) -> Result<Fields, H2Error> {
        if self.synced {
            return match self.decoder.decode(block) {
                Ok(list) => Ok(Fields {
                    list: list.into_iter().map(text_pair).collect(),
                    unreadable: 0,
                }),
                Err(e) => {
                    // The table is no longer what the encoder thinks it is.
                    self.synced = false;
                    Err(H2Error::Hpack(e.to_string()))
                }
            };
        }
        standalone(block)
    }
}

fn text_pair((n, v): (Vec<u8>, Vec<u8>)) -> (String, String) {
    (
        crate::text::lossy(&n).into_owned(),
        crate::text::lossy(&v).into_owned(),
    )
}

/// An HPACK integer with an `n`-bit prefix (RFC 7541 §5.1): value and length.
fn integer(b: &[u8], n: u32) -> Option<(usize, usize)> {
    let mask = (1usize << n) - 1;
    let first = usize::from(*b.first()?) & mask;
    if first < mask {
        return Some((first, 1));
    }
    let mut value = mask;
    for (i, &byte) in b.iter().enumerate().skip(1).take(4) {
        value += usize::from(byte & 0x7f) << (7 * (i - 1));
        if byte & 0x80 == 0 {
            return Some((value, i + 1));
        }
    }
    None
}

/// Length of a string literal (RFC 7541 §5.2) at the start of `b`.
fn string_len(b: &[u8]) -> Option<usize> {
    let (len, used) = integer(b, 7)?;
    let total = used.checked_add(len)?;
    (total <= b.len()).then_some(total)
}

/// Length of one field representation and whether it refers to the dynamic
/// table (`None` when the block is damaged).
fn representation(b: &[u8]) -> Option<(usize, bool, bool)> {
    let first = *b.first()?;
    let (prefix, is_size_update) = match first {
        0x80.. => {
            let (index, used) = integer(b, 7)?;
            return Some((used, index > STATIC_ENTRIES, false));
        }
        0x40..=0x7f => (6, false),
        0x20..=0x3f => (5, true),
        _ => (4, false),
    };
    let (index, mut used) = integer(b, prefix)?;
    if is_size_update {
        return Some((used, false, true));
    }
    if index == 0 {
        used += string_len(&b[used..])?;
    }
    used += string_len(&b[used..])?;
    Some((used, index > STATIC_ENTRIES, false))
}

/// The fields of a block that can be read without the dynamic table.
pub fn standalone(block: &[u8]) -> Result<Fields, H2Error> {
    let damaged = || H2Error::Hpack("damaged header block".into());
    let mut fields = Fields::default();
    let mut rest = block;
    while !rest.is_empty() {
        let (len, dynamic, size_update) = representation(rest).ok_or_else(damaged)?;
        let (one, tail) = rest.split_at(len);
        rest = tail;
        if size_update {
            continue;
        }
        if dynamic {
            fields.unreadable += 1;
            continue;
        }
        let list = Decoder::new()
            .decode(one)
            .map_err(|e| H2Error::Hpack(e.to_string()))?;
        fields.list.extend(list.into_iter().map(text_pair));
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7541 C.3.1 and C.3.2: two requests, the second reusing the
    /// first's dynamic entry (index 62, `:authority www.example.com`).
    const FIRST: &str = "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d";
    const SECOND: &str = "8286 84be 5808 6e6f 2d63 6163 6865";

    fn h(s: &str) -> Vec<u8> {
        crate::tls::from_hex(s).unwrap()
    }

    #[test]
    fn synced_decoder_follows_the_table() {
        let mut d = FieldDecoder::new(true);
        let first = d.decode(&h(FIRST)).unwrap();
        assert_eq!(first.get(":authority"), Some("www.example.com"));
        let second = d.decode(&h(SECOND)).unwrap();
        assert_eq!(second.get(":authority"), Some("www.example.com"));
        assert_eq!(second.get("cache-control"), Some("no-cache"));
        assert_eq!(second.unreadable, 0);
    }

    #[test]
    fn lost_state_reads_what_stands_alone_and_counts_the_rest() {
        let mut d = FieldDecoder::new(false);
        let second = d.decode(&h(SECOND)).unwrap();
        assert_eq!(second.get(":method"), Some("GET"));
        assert_eq!(second.get("cache-control"), Some("no-cache"));
        assert_eq!(second.get(":authority"), None);
        assert_eq!(second.unreadable, 1);
    }

    #[test]
    fn damaged_blocks_are_errors() {
        let mut d = FieldDecoder::new(true);
        assert!(d.decode(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(!d.synced);
        assert!(standalone(&[0x40, 0x05, b'a']).is_err());
        assert!(standalone(&[0x00]).is_err());
    }
}
