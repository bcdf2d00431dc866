//! The TLS record layer over one direction of a reassembled TCP stream:
//! 5-byte headers (type, version, length) framing the fragments.

use super::TlsError;

pub const HEADER_LEN: usize = 5;
/// RFC 8446 §5.2 allows 2^14 + 256 bytes of ciphertext, RFC 5246 §6.2.3
/// 2^14 + 2048; the larger bound serves both.
pub const MAX_FRAGMENT: usize = (1 << 14) + 2048;

pub const CHANGE_CIPHER_SPEC: u8 = 20;
pub const ALERT: u8 = 21;
pub const HANDSHAKE: u8 = 22;
pub const APPLICATION_DATA: u8 = 23;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub content_type: u8,
    pub version: u16,
    pub len: usize,
}

impl RecordHeader {
    /// The header as sent: the associated data of TLS 1.3 records.
    pub fn bytes(&self) -> [u8; HEADER_LEN] {
        let v = self.version.to_be_bytes();
        let l = (self.len as u16).to_be_bytes();
        [self.content_type, v[0], v[1], l[0], l[1]]
    }
}

/// The header at the start of `buf`; `Ok(None)` while fewer than 5 bytes are
/// there. Anything but a known content type with a 3.x version is not TLS.
pub fn parse_header(buf: &[u8]) -> Result<Option<RecordHeader>, TlsError> {
    let Some(h) = buf.get(..HEADER_LEN) else {
        return Ok(None);
    };
    let content_type = h[0];
    let version = u16::from_be_bytes([h[1], h[2]]);
    let len = usize::from(u16::from_be_bytes([h[3], h[4]]));
    if !(CHANGE_CIPHER_SPEC..=APPLICATION_DATA).contains(&content_type) || h[1] != 3 {
        return Err(TlsError::NotTls {
            content_type,
            version,
        });
    }
    if len > MAX_FRAGMENT {
        return Err(TlsError::RecordTooLong { len });
    }
    Ok(Some(RecordHeader {
        content_type,
        version,
        len,
    }))
}

/// Whether a stream's first bytes are a TLS handshake record: how a TLS
/// connection is told from clear text without a port number.
pub fn starts_tls(buf: &[u8]) -> bool {
    matches!(buf, [HANDSHAKE, 3, 0..=4, ..])
}

/// Walks one direction's record headers without keeping the records: what
/// a connection that cannot be decrypted still tells, namely when its
/// client starts sending application data. A browser opens spare TLS
/// connections beside the one it uses; only the used one carries data, and
/// that is how a proxy's backend leg finds its client's connection.
#[derive(Debug, Default, Clone)]
pub struct HeaderWalker {
    /// Bytes of the current record's fragment still to pass over.
    skip: usize,
    /// A header split between chunks.
    part: [u8; HEADER_LEN],
    have: usize,
}

impl HeaderWalker {
    /// Walk `bytes`, the direction's next ones: how many application-data
    /// records begin in them. An error when they do not frame as TLS.
    pub fn walk(&mut self, mut bytes: &[u8]) -> Result<u32, TlsError> {
        let mut begun = 0;
        loop {
            let passed = self.skip.min(bytes.len());
            self.skip -= passed;
            bytes = &bytes[passed..];
            if bytes.is_empty() {
                return Ok(begun);
            }
            let take = (HEADER_LEN - self.have).min(bytes.len());
            self.part[self.have..self.have + take].copy_from_slice(&bytes[..take]);
            self.have += take;
            bytes = &bytes[take..];
            let Some(h) = parse_header(&self.part[..self.have])? else {
                return Ok(begun);
            };
            self.have = 0;
            self.skip = h.len;
            if h.content_type == APPLICATION_DATA {
                begun += 1;
            }
        }
    }
}

/// One record: its header and fragment (ciphertext, or clear text before the
/// keys change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub header: RecordHeader,
    pub fragment: Vec<u8>,
}

/// Frames records out of the bytes of one direction as they arrive.
#[derive(Debug, Default)]
pub struct RecordReader {
    buf: Vec<u8>,
    /// Bytes of `buf` already handed out.
    start: usize,
}

impl RecordReader {
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes received and not yet framed.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next whole record, `Ok(None)` until one is complete.
    pub fn next_record(&mut self) -> Result<Option<Record>, TlsError> {
        let rest = &self.buf[self.start..];
        let Some(header) = parse_header(rest)? else {
            return Ok(None);
        };
        let Some(fragment) = rest.get(HEADER_LEN..HEADER_LEN + header.len) else {
            return Ok(None);
        };
        let fragment = fragment.to_vec();
        self.start += HEADER_LEN + header.len;
        if self.start > 1 << 16 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        Ok(Some(Record { header, fragment }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walker_counts_application_data_records_split_anywhere() {
        let wire = [
            &[22, 3, 1, 0, 3, 1, 2, 3][..],
            &[20, 3, 3, 0, 1, 1][..],
            &[23, 3, 3, 0, 2, 9, 9][..],
            &[23, 3, 3, 0, 0][..],
        ]
        .concat();
        for cut in 0..=wire.len() {
            for cut2 in cut..=wire.len() {
                let mut w = HeaderWalker::default();
                let n: u32 = [&wire[..cut], &wire[cut..cut2], &wire[cut2..]]
                    .iter()
                    .map(|part| w.walk(part).unwrap())
                    .sum();
                assert_eq!(n, 2, "cut at {cut} and {cut2}");
            }
        }
        let mut w = HeaderWalker::default();
        assert_eq!(w.walk(&wire[..19]).unwrap(), 1, "one begun so far");
        assert!(HeaderWalker::default().walk(b"GET / HTTP/1.1").is_err());
    }

    #[test]
    fn frames_records_split_anywhere() {
        let wire = [
            &[22, 3, 1, 0, 2, 0xaa, 0xbb][..],
            &[23, 3, 3, 0, 1, 0xcc][..],
        ]
        .concat();
        for cut in 0..wire.len() {
            let mut r = RecordReader::default();
            let mut got = Vec::new();
            for part in [&wire[..cut], &wire[cut..]] {
                r.push(part);
                while let Some(rec) = r.next_record().unwrap() {
                    got.push(rec);
                }
            }
            assert_eq!(got.len(), 2, "cut at {cut}");
            assert_eq!(got[0].fragment, [0xaa, 0xbb]);
            assert_eq!(got[1].header.content_type, APPLICATION_DATA);
            assert_eq!(r.pending(), 0);
        }
    }

    #[test]
    fn clear_text_and_huge_lengths_are_refused() {
        assert!(matches!(
            parse_header(b"GET / HTTP/1.1"),
            Err(TlsError::NotTls { .. })
        ));
        assert_eq!(
            parse_header(&[23, 3, 3, 0xff, 0xff]),
            Err(TlsError::RecordTooLong { len: 0xffff })
        );
        assert!(starts_tls(&[22, 3, 1, 2, 0]));
        assert!(!starts_tls(b"GET /"));
    }

    #[test]
    fn header_bytes_round_trip() {
        let h = parse_header(&[23, 3, 3, 0x01, 0x02]).unwrap().unwrap();
        assert_eq!(h.bytes(), [23, 3, 3, 1, 2]);
    }
}
