//! HTTP/2 framing over one direction's bytes (RFC 9113 §4.1): the 9-byte
//! header, and the payload fields of the frames that matter here. DATA
//! payloads are counted past, never buffered.

use super::H2Error;

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
pub const HEADER_LEN: usize = 9;

pub const DATA: u8 = 0;
pub const HEADERS: u8 = 1;
pub const RST_STREAM: u8 = 3;
pub const SETTINGS: u8 = 4;
pub const PUSH_PROMISE: u8 = 5;
pub const GOAWAY: u8 = 7;
pub const CONTINUATION: u8 = 9;

pub const FLAG_END_STREAM: u8 = 0x1;
pub const FLAG_ACK: u8 = 0x1;
pub const FLAG_END_HEADERS: u8 = 0x4;
pub const FLAG_PADDED: u8 = 0x8;
pub const FLAG_PRIORITY: u8 = 0x20;

/// RFC 8441 §3.
pub const SETTINGS_ENABLE_CONNECT_PROTOCOL: u16 = 0x8;
pub const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;

/// Frames other than DATA are held whole up to this size (2^24 - 1 is the
/// protocol's limit; header blocks of that size are an attack, not a request).
pub const MAX_HELD: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub len: usize,
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
}

pub fn parse_header(b: &[u8]) -> Option<FrameHeader> {
    let h = b.get(..HEADER_LEN)?;
    Some(FrameHeader {
        len: usize::from(h[0]) << 16 | usize::from(h[1]) << 8 | usize::from(h[2]),
        kind: h[3],
        flags: h[4],
        stream: u32::from_be_bytes([h[5], h[6], h[7], h[8]]) & 0x7fff_ffff,
    })
}

/// One frame; `payload` is empty for DATA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub header: FrameHeader,
    pub payload: Vec<u8>,
}

/// Frames out of one direction's bytes as they arrive.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    /// DATA payload bytes still to pass over.
    skip: usize,
    /// The client's preface is still expected.
    preface: bool,
}

impl FrameReader {
    /// A reader for the client's side expects the preface first.
    pub fn new(expect_preface: bool) -> Self {
        FrameReader {
            preface: expect_preface,
            ..Default::default()
        }
    }

    pub fn push(&mut self, mut bytes: &[u8]) {
        let n = self.skip.min(bytes.len());
        self.skip -= n;
        bytes = &bytes[n..];
        self.buf.extend_from_slice(bytes);
    }

    pub fn next_frame(&mut self) -> Result<Option<Frame>, H2Error> {
        if self.preface {
            let n = self.buf.len().min(PREFACE.len());
            if self.buf[..n] != PREFACE[..n] {
                return Err(H2Error::NoPreface);
            }
            if n < PREFACE.len() {
                return Ok(None);
            }
            self.buf.drain(..PREFACE.len());
            self.preface = false;
        }
        let Some(header) = parse_header(&self.buf) else {
            return Ok(None);
        };
        if header.kind == DATA {
            let have = self.buf.len() - HEADER_LEN;
            let n = have.min(header.len);
            self.buf.drain(..HEADER_LEN + n);
            self.skip = header.len - n;
            return Ok(Some(Frame {
                header,
                payload: Vec::new(),
            }));
        }
        if header.len > MAX_HELD {
            return Err(H2Error::FrameTooLarge {
                kind: header.kind,
                len: header.len,
            });
        }
        if self.buf.len() < HEADER_LEN + header.len {
            return Ok(None);
        }
        let payload = self.buf[HEADER_LEN..HEADER_LEN + header.len].to_vec();
        self.buf.drain(..HEADER_LEN + header.len);
        Ok(Some(Frame { header, payload }))
    }
}

/// The header-block fragment of a HEADERS or PUSH_PROMISE frame, padding and
/// priority (or promised stream id) removed.
pub fn block_fragment(f: &Frame) -> Result<&[u8], H2Error> {
    let bad = H2Error::Malformed {
        what: if f.header.kind == HEADERS {
            "HEADERS"
        } else {
            "PUSH_PROMISE"
        },
    };
    let mut p = &f.payload[..];
    let mut pad = 0;
    if f.header.flags & FLAG_PADDED != 0 {
        let (&n, rest) = p.split_first().ok_or(bad.clone())?;
        pad = usize::from(n);
        p = rest;
    }
    let skip = match f.header.kind {
        HEADERS if f.header.flags & FLAG_PRIORITY != 0 => 5,
        PUSH_PROMISE => 4,
        _ => 0,
    };
    if p.len() < skip + pad {
        return Err(bad);
    }
    Ok(&p[skip..p.len() - pad])
}

/// The settings a SETTINGS frame carries, in order.
pub fn settings(f: &Frame) -> Result<Vec<(u16, u32)>, H2Error> {
    if f.payload.len() % 6 != 0 {
        return Err(H2Error::Malformed { what: "SETTINGS" });
    }
    Ok(f.payload
        .chunks_exact(6)
        .map(|s| {
            (
                u16::from_be_bytes([s[0], s[1]]),
                u32::from_be_bytes([s[2], s[3], s[4], s[5]]),
            )
        })
        .collect())
}

/// The error code of a RST_STREAM, or GOAWAY's last stream id and code.
pub fn rst_code(f: &Frame) -> Result<u32, H2Error> {
    let b: [u8; 4] = f
        .payload
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(H2Error::Malformed { what: "RST_STREAM" })?;
    Ok(u32::from_be_bytes(b))
}

pub fn goaway(f: &Frame) -> Result<(u32, u32), H2Error> {
    let p = f
        .payload
        .get(..8)
        .ok_or(H2Error::Malformed { what: "GOAWAY" })?;
    Ok((
        u32::from_be_bytes([p[0], p[1], p[2], p[3]]) & 0x7fff_ffff,
        u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
    ))
}

/// RFC 9113 §7 error code names.
pub fn error_name(code: u32) -> &'static str {
    match code {
        0x0 => "NO_ERROR",
        0x1 => "PROTOCOL_ERROR",
        0x2 => "INTERNAL_ERROR",
        0x3 => "FLOW_CONTROL_ERROR",
        0x4 => "SETTINGS_TIMEOUT",
        0x5 => "STREAM_CLOSED",
        0x6 => "FRAME_SIZE_ERROR",
        0x7 => "REFUSED_STREAM",
        0x8 => "CANCEL",
        0x9 => "COMPRESSION_ERROR",
        0xa => "CONNECT_ERROR",
        0xb => "ENHANCE_YOUR_CALM",
        0xc => "INADEQUATE_SECURITY",
        0xd => "HTTP_1_1_REQUIRED",
        _ => "unknown error code",
    }
}

/// Frame bytes, for tests of this layer and of the connection.
#[cfg(test)]
pub fn encode(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_be_bytes();
    let mut v = vec![len[1], len[2], len[3], kind, flags];
    v.extend_from_slice(&stream.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preface_then_frames_any_cut_data_skipped() {
        let wire = [
            PREFACE.to_vec(),
            encode(SETTINGS, 0, 0, &[0, 8, 0, 0, 0, 1]),
            encode(DATA, 0, 1, &[7; 100]),
            encode(RST_STREAM, 0, 1, &[0, 0, 0, 8]),
        ]
        .concat();
        for cut in 0..wire.len() {
            let mut r = FrameReader::new(true);
            let mut got = Vec::new();
            for part in [&wire[..cut], &wire[cut..]] {
                r.push(part);
                while let Some(f) = r.next_frame().unwrap() {
                    got.push(f);
                }
            }
            let kinds: Vec<u8> = got.iter().map(|f| f.header.kind).collect();
            assert_eq!(kinds, [SETTINGS, DATA, RST_STREAM], "cut {cut}");
            assert_eq!(settings(&got[0]).unwrap(), [(8, 1)]);
            assert_eq!(rst_code(&got[2]).unwrap(), 8);
            assert!(got[1].payload.is_empty());
        }
    }

    #[test]
    fn not_a_preface_and_huge_frames() {
        let mut r = FrameReader::new(true);
        r.push(b"GET / HTTP/1.1\r\n");
        assert_eq!(r.next_frame(), Err(H2Error::NoPreface));
        let mut r = FrameReader::new(false);
        r.push(&[0xff, 0xff, 0xff, HEADERS, 0, 0, 0, 0, 1]);
        assert!(matches!(r.next_frame(), Err(H2Error::FrameTooLarge { .. })));
    }

    #[test]
    fn padding_and_priority_are_removed() {
        let mut payload = vec![2, 0, 0, 0, 0, 16];
        payload.extend_from_slice(b"ab");
        payload.extend_from_slice(&[0, 0]);
        let f = Frame {
            header: parse_header(&encode(HEADERS, FLAG_PADDED | FLAG_PRIORITY, 1, &[])).unwrap(),
            payload,
        };
        assert_eq!(block_fragment(&f).unwrap(), b"ab");
        let short = Frame {
            header: f.header,
            payload: vec![9, 1],
        };
        assert!(block_fragment(&short).is_err());
    }
}
