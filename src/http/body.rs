//! Message body framing (RFC 9112 §6): skip bodies by Content-Length or chunked
//! framing without copying them, so the next head on a keep-alive connection is
//! found; optionally keep the first bytes (de-chunked) as an excerpt.

/// How much of a refusal's body a record shows: the contract's `body_excerpt`
/// is at most 200 printable characters.
pub const EXCERPT_LEN: usize = 200;

/// How much of a refusal's body is kept for the classifier, whose evidence
/// quotes the text of an HTML page (`html_text`): Python's `http.server`
/// puts its message about 250 bytes in, Tomcat after an inline style sheet
/// of about 700, and Tomcat signs its pages at the end.
pub const KEPT_LEN: usize = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunked {
    /// Reading the hex size; `ext` once past the digits (extensions, spaces).
    Size {
        value: u64,
        digits: u8,
        ext: bool,
    },
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// Trailer section; `empty_line` while the current line has no content yet.
    Trailer {
        empty_line: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked(Chunked),
    /// No length given in a response: the body runs until the server closes.
    UntilClose,
    Done,
}

/// Skips one body, keeping an excerpt when asked.
#[derive(Debug, Clone)]
pub struct BodyReader {
    framing: Framing,
    excerpt: Option<Vec<u8>>,
    /// The chunked framing broke its own rules; the rest of the stream cannot be
    /// trusted and the caller resynchronises.
    pub malformed: bool,
    /// Bytes of the body were lost: the excerpt keeps what came before.
    excerpt_cut: bool,
}

impl BodyReader {
    pub fn length(n: u64, keep_excerpt: bool) -> Self {
        Self::new(
            if n == 0 {
                Framing::Done
            } else {
                Framing::Length(n)
            },
            keep_excerpt,
        )
    }

    pub fn chunked(keep_excerpt: bool) -> Self {
        Self::new(
            Framing::Chunked(Chunked::Size {
                value: 0,
                digits: 0,
                ext: false,
            }),
            keep_excerpt,
        )
    }

    pub fn until_close(keep_excerpt: bool) -> Self {
        Self::new(Framing::UntilClose, keep_excerpt)
    }

    fn new(framing: Framing, keep: bool) -> Self {
        BodyReader {
            framing,
            excerpt: keep.then(Vec::new),
            malformed: false,
            excerpt_cut: false,
        }
    }

    pub fn is_done(&self) -> bool {
        self.framing == Framing::Done
    }

    /// Bytes a Content-Length body has still to come (0 for other framings).
    pub fn length_left(&self) -> u64 {
        match self.framing {
            Framing::Length(n) => n,
            _ => 0,
        }
    }

    pub fn is_until_close(&self) -> bool {
        self.framing == Framing::UntilClose
    }

    /// The excerpt is full (or cut by lost bytes): nothing more to learn from
    /// this body.
    pub fn excerpt_full(&self) -> bool {
        self.excerpt
            .as_ref()
            .is_some_and(|e| self.excerpt_cut || e.len() >= KEPT_LEN)
    }

    pub fn take_excerpt(&mut self) -> Option<Vec<u8>> {
        self.excerpt.take()
    }

    /// `n` bytes of the stream were lost here (a hole the capture never
    /// filled). When the framing says they are all body (inside a
    /// Content-Length body or one chunk's data, ending at most where it ends,
    /// or a body that runs until close), they count as read and true is
    /// returned: the next message starts where the framing says, as if the
    /// bytes had been seen. Otherwise the hole may have swallowed the end of
    /// the body and the start of what follows, and false is returned. The
    /// excerpt stops at the hole either way: text on both sides of it would
    /// read as one.
    pub fn skip_lost(&mut self, n: u64) -> bool {
        self.excerpt_cut = true;
        let next = match self.framing {
            Framing::Length(rem) if n < rem => Framing::Length(rem - n),
            Framing::Length(rem) if n == rem => Framing::Done,
            Framing::Chunked(Chunked::Data(rem)) if n < rem => {
                Framing::Chunked(Chunked::Data(rem - n))
            }
            Framing::Chunked(Chunked::Data(rem)) if n == rem => Framing::Chunked(Chunked::DataEnd),
            Framing::UntilClose => Framing::UntilClose,
            _ => return false,
        };
        self.framing = next;
        true
    }

    fn keep(&mut self, data: &[u8]) {
        if self.excerpt_cut {
            return;
        }
        if let Some(e) = self.excerpt.as_mut() {
            let room = KEPT_LEN.saturating_sub(e.len());
            e.extend_from_slice(&data[..room.min(data.len())]);
        }
    }

    /// Consume body bytes from the front of `data`; returns how many belong to
    /// the body. When the body ends inside `data`, the rest is the next message.
    pub fn consume(&mut self, data: &[u8]) -> usize {
        let mut used = 0;
        while used < data.len() {
            match self.framing {
                Framing::Done => break,
                Framing::UntilClose => {
                    self.keep(&data[used..]);
                    used = data.len();
                }
                Framing::Length(rem) => {
                    let take = rem.min((data.len() - used) as u64) as usize;
                    self.keep(&data[used..used + take]);
                    used += take;
                    let left = rem - take as u64;
                    self.framing = if left == 0 {
                        Framing::Done
                    } else {
                        Framing::Length(left)
                    };
                }
                Framing::Chunked(Chunked::Data(rem)) => {
                    let take = rem.min((data.len() - used) as u64) as usize;
                    self.keep(&data[used..used + take]);
                    used += take;
                    let left = rem - take as u64;
                    self.framing = Framing::Chunked(if left == 0 {
                        Chunked::DataEnd
                    } else {
                        Chunked::Data(left)
                    });
                }
                Framing::Chunked(state) => {
                    let b = data[used];
                    used += 1;
                    self.framing = self.chunk_byte(state, b);
                }
            }
        }
        used
    }

    fn chunk_byte(&mut self, state: Chunked, b: u8) -> Framing {
        match state {
            Chunked::Size { value, digits, ext } => {
                if b == b'\n' {
                    if digits == 0 {
                        self.malformed = true;
                        return Framing::Done;
                    }
                    return Framing::Chunked(if value == 0 {
                        Chunked::Trailer { empty_line: true }
                    } else {
                        Chunked::Data(value)
                    });
                }
                if !ext {
                    if let Some(d) = (b as char).to_digit(16) {
                        // 15 hex digits is 2^60 bytes: beyond that it is garbage.
                        if digits >= 15 {
                            self.malformed = true;
                            return Framing::Done;
                        }
                        return Framing::Chunked(Chunked::Size {
                            value: value * 16 + d as u64,
                            digits: digits + 1,
                            ext,
                        });
                    }
                }
                if b == b';' || b == b' ' || b == b'\t' || b == b'\r' {
                    Framing::Chunked(Chunked::Size {
                        value,
                        digits,
                        ext: true,
                    })
                } else if ext {
                    Framing::Chunked(state)
                } else {
                    self.malformed = true;
                    Framing::Done
                }
            }
            Chunked::DataEnd => match b {
                b'\r' => Framing::Chunked(Chunked::DataEnd),
                b'\n' => Framing::Chunked(Chunked::Size {
                    value: 0,
                    digits: 0,
                    ext: false,
                }),
                _ => {
                    self.malformed = true;
                    Framing::Done
                }
            },
            Chunked::Trailer { empty_line } => match b {
                b'\n' if empty_line => Framing::Done,
                b'\n' => Framing::Chunked(Chunked::Trailer { empty_line: true }),
                b'\r' => Framing::Chunked(Chunked::Trailer { empty_line }),
                _ => Framing::Chunked(Chunked::Trailer { empty_line: false }),
            },
            Chunked::Data(_) => Framing::Chunked(state),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_split(r: &mut BodyReader, data: &[u8], step: usize) -> usize {
        let mut total = 0;
        for part in data.chunks(step) {
            let n = r.consume(part);
            total += n;
            if n < part.len() {
                break;
            }
        }
        total
    }

    #[test]
    fn lost_bytes_inside_a_length_body_are_read_past() {
        let mut r = BodyReader::length(10, true);
        assert_eq!(r.consume(b"abc"), 3);
        assert!(r.skip_lost(4));
        // The excerpt stops at the hole; the body ends where its length says.
        assert!(r.excerpt_full());
        assert_eq!(r.consume(b"hijGET"), 3);
        assert!(r.is_done());
        assert_eq!(r.take_excerpt(), Some(b"abc".to_vec()));
        // A hole ending exactly at the body's end ends it.
        let mut r = BodyReader::length(5, false);
        assert!(r.skip_lost(5));
        assert!(r.is_done());
        // One running past it may hold the next message's start.
        let mut r = BodyReader::length(5, false);
        assert!(!r.skip_lost(6));
    }

    #[test]
    fn lost_bytes_inside_one_chunk_are_read_past() {
        let mut r = BodyReader::chunked(false);
        assert_eq!(r.consume(b"a\r\nxy"), 5);
        assert!(r.skip_lost(8));
        assert_eq!(r.consume(b"\r\n0\r\n\r\nGET"), 7);
        assert!(r.is_done() && !r.malformed);
        // Past the chunk's data the framing is unknown.
        let mut r = BodyReader::chunked(false);
        assert_eq!(r.consume(b"2\r\n"), 3);
        assert!(!r.skip_lost(3));
        // Inside a size line too.
        let mut r = BodyReader::chunked(false);
        assert!(!r.skip_lost(1));
    }

    #[test]
    fn lost_bytes_of_a_body_until_close_are_body() {
        let mut r = BodyReader::until_close(false);
        assert!(r.skip_lost(1 << 20));
        assert!(r.is_until_close());
    }

    #[test]
    fn content_length_stops_at_the_end_of_the_body() {
        let mut r = BodyReader::length(5, true);
        assert_eq!(r.consume(b"helloGET / HTTP/1.1"), 5);
        assert!(r.is_done());
        assert_eq!(r.take_excerpt().as_deref(), Some(&b"hello"[..]));
    }

    #[test]
    fn chunked_body_is_dechunked_into_the_excerpt_whatever_the_split() {
        let body = b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT";
        for step in 1..body.len() {
            let mut r = BodyReader::chunked(true);
            let used = feed_split(&mut r, body, step);
            assert!(r.is_done(), "step {step}");
            assert!(!r.malformed);
            assert_eq!(used, body.len() - 4, "step {step}");
            assert_eq!(r.take_excerpt().as_deref(), Some(&b"hello world"[..]));
        }
    }

    #[test]
    fn chunked_without_trailers() {
        let mut r = BodyReader::chunked(false);
        assert_eq!(r.consume(b"0\r\n\r\n"), 5);
        assert!(r.is_done());
    }

    #[test]
    fn garbage_chunk_size_is_malformed() {
        let mut r = BodyReader::chunked(false);
        r.consume(b"zz\r\n");
        assert!(r.malformed);
        assert!(r.is_done());
    }

    #[test]
    fn excerpt_is_capped() {
        let mut r = BodyReader::until_close(true);
        r.consume(&[b'a'; 1000]);
        assert!(!r.excerpt_full());
        r.consume(&[b'a'; 2000]);
        assert!(r.excerpt_full());
        assert_eq!(r.take_excerpt().map(|e| e.len()), Some(KEPT_LEN));
    }
}
