//! One HTTP/2 connection: streams of both directions followed to find each
//! extended CONNECT (RFC 8441) and what became of it.

use std::collections::BTreeMap;

use super::fields::{FieldDecoder, Fields};
use super::frame::{self, Frame, FrameReader};
use super::{H2Error, Side};

/// An RFC 8441 WebSocket attempt and its answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H2Attempt<T> {
    pub stream_id: u32,
    /// When the request's HEADERS arrived (the caller's clock).
    pub at: T,
    pub request: Fields,
    /// Final response fields; `None` when no final response was seen.
    pub response: Option<Fields>,
    pub status: Option<u16>,
    /// Who reset the stream, and the error code.
    pub reset: Option<(Side, u32)>,
    /// The server's GOAWAY (its error code) covered this stream unanswered.
    pub goaway: Option<u32>,
    /// The server's SETTINGS_ENABLE_CONNECT_PROTOCOL when the request was
    /// sent: `None` when no server SETTINGS had been seen.
    pub connect_enabled: Option<bool>,
    /// Why some of the request's fields are unknown, when they are.
    pub incomplete: Option<String>,
}

#[derive(Debug)]
struct Direction {
    frames: FrameReader,
    fields: FieldDecoder,
    /// A header block in progress: stream, kind of its first frame, bytes.
    block: Option<(u32, u8, Vec<u8>)>,
    stopped: bool,
}

#[derive(Debug)]
struct Stream<T> {
    attempt: H2Attempt<T>,
}

/// Follows one connection, both directions.
#[derive(Debug)]
pub struct H2Connection<T> {
    client: Direction,
    server: Direction,
    streams: BTreeMap<u32, Stream<T>>,
    /// Latest SETTINGS_ENABLE_CONNECT_PROTOCOL from the server, `None` until
    /// its first SETTINGS.
    connect_enabled: Option<bool>,
    /// Why the HPACK state is unknown, from the start.
    lost_state: Option<&'static str>,
    /// The first error that stopped a direction.
    pub error: Option<H2Error>,
    /// Requests that were not extended CONNECTs.
    pub other_requests: u64,
}

/// Streams held at once; more are an attack or a busy browser connection
/// whose plain requests were already forgotten.
const MAX_STREAMS: usize = 256;

impl<T: Copy> H2Connection<T> {
    /// `from_start`: the connection's first bytes will be fed (the client's
    /// preface, the server's first SETTINGS), so HPACK state is exact. When
    /// false, fields are read only where they stand alone.
    pub fn new(from_start: bool) -> Self {
        let dir = |preface| Direction {
            frames: FrameReader::new(preface),
            fields: FieldDecoder::new(from_start),
            block: None,
            stopped: false,
        };
        H2Connection {
            client: dir(from_start),
            server: dir(false),
            streams: BTreeMap::new(),
            connect_enabled: None,
            lost_state: (!from_start).then_some("capture began after the HTTP/2 connection"),
            error: None,
            other_requests: 0,
        }
    }

    /// After `HTTP/1.1 101` to `Upgrade: h2c`: stream 1 is the upgraded
    /// request, and the client still sends its preface.
    pub fn after_h2c_upgrade() -> Self {
        let mut c = Self::new(true);
        c.server.frames = FrameReader::new(false);
        c
    }

    fn dir(&mut self, side: Side) -> &mut Direction {
        match side {
            Side::Client => &mut self.client,
            Side::Server => &mut self.server,
        }
    }

    /// Bytes lost in one direction: its HPACK state is no longer known and
    /// its framing is lost; that direction is not read further.
    pub fn gap(&mut self, side: Side) {
        let d = self.dir(side);
        d.stopped = true;
        d.fields.synced = false;
        self.lost_state = Some("bytes were missing from the capture");
    }

    /// Feed one side's bytes; attempts that are settled go to `out`.
    pub fn feed(&mut self, side: Side, bytes: &[u8], at: T, out: &mut dyn FnMut(H2Attempt<T>)) {
        if self.dir(side).stopped {
            return;
        }
        self.dir(side).frames.push(bytes);
        loop {
            let next = self.dir(side).frames.next_frame();
            let result = match next {
                Ok(Some(f)) => self.on_frame(side, f, at, out),
                Ok(None) => return,
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                self.dir(side).stopped = true;
                self.error.get_or_insert(e);
                return;
            }
        }
    }

    fn on_frame(
        &mut self,
        side: Side,
        f: Frame,
        at: T,
        out: &mut dyn FnMut(H2Attempt<T>),
    ) -> Result<(), H2Error> {
        let h = f.header;
        if let Some((stream, _, _)) = &self.dir(side).block {
            if h.kind != frame::CONTINUATION || h.stream != *stream {
                return Err(H2Error::BrokenHeaderBlock {
                    stream: *stream,
                    kind: h.kind,
                });
            }
        }
        match h.kind {
            frame::HEADERS | frame::PUSH_PROMISE => {
                let fragment = frame::block_fragment(&f)?.to_vec();
                self.dir(side).block = Some((h.stream, h.kind, fragment));
                if h.flags & frame::FLAG_END_HEADERS != 0 {
                    self.end_block(side, at, out)?;
                }
            }
            frame::CONTINUATION => {
                let d = self.dir(side);
                let Some((_, _, buf)) = d.block.as_mut() else {
                    return Err(H2Error::Malformed {
                        what: "CONTINUATION",
                    });
                };
                if buf.len() + f.payload.len() > frame::MAX_HELD {
                    return Err(H2Error::FrameTooLarge {
                        kind: h.kind,
                        len: buf.len() + f.payload.len(),
                    });
                }
                buf.extend_from_slice(&f.payload);
                if h.flags & frame::FLAG_END_HEADERS != 0 {
                    self.end_block(side, at, out)?;
                }
            }
            frame::SETTINGS if h.flags & frame::FLAG_ACK == 0 => {
                for (id, value) in frame::settings(&f)? {
                    if side == Side::Server && id == frame::SETTINGS_ENABLE_CONNECT_PROTOCOL {
                        self.connect_enabled = Some(value == 1);
                    }
                }
                if side == Side::Server && self.connect_enabled.is_none() {
                    self.connect_enabled = Some(false);
                }
            }
            frame::RST_STREAM => {
                let code = frame::rst_code(&f)?;
                if let Some(mut s) = self.streams.remove(&h.stream) {
                    s.attempt.reset = Some((side, code));
                    out(s.attempt);
                }
            }
            frame::GOAWAY if side == Side::Server => {
                let (last, code) = frame::goaway(&f)?;
                let gone: Vec<u32> = self.streams.range(last + 1..).map(|(&id, _)| id).collect();
                for id in gone {
                    if let Some(mut s) = self.streams.remove(&id) {
                        s.attempt.goaway = Some(code);
                        out(s.attempt);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn end_block(
        &mut self,
        side: Side,
        at: T,
        out: &mut dyn FnMut(H2Attempt<T>),
    ) -> Result<(), H2Error> {
        let Some((stream, kind, block)) = self.dir(side).block.take() else {
            return Ok(());
        };
        // Every block goes through the decoder, to keep its table in step.
        let fields = self.dir(side).fields.decode(&block)?;
        if kind == frame::PUSH_PROMISE {
            return Ok(());
        }
        match side {
            Side::Client => self.on_request(stream, fields, at),
            Side::Server => self.on_response(stream, fields, out),
        }
        Ok(())
    }

    fn on_request(&mut self, stream: u32, fields: Fields, at: T) {
        let method = fields.get(":method");
        let protocol = fields.get(":protocol");
        let connect = method.map(|m| m.eq_ignore_ascii_case("CONNECT"));
        let websocket = protocol.map(|p| p.eq_ignore_ascii_case("websocket"));
        // Known extended CONNECT, or one whose unknown fields might make it
        // one: only then is it reported (never guessed into one).
        let attempt = match (connect, websocket) {
            (Some(true), Some(true)) => true,
            (Some(true), None) | (None, Some(true)) => fields.unreadable > 0,
            _ => false,
        };
        if !attempt || self.streams.contains_key(&stream) {
            // A second block on a stream is trailers; plain requests are counted.
            if !attempt {
                self.other_requests += 1;
            }
            return;
        }
        if self.streams.len() >= MAX_STREAMS {
            return;
        }
        let incomplete = (fields.unreadable > 0).then(|| {
            format!(
                "{} request header field(s) unreadable: {} (HPACK state lost)",
                fields.unreadable,
                self.lost_state
                    .unwrap_or("the header compression state is unknown")
            )
        });
        self.streams.insert(
            stream,
            Stream {
                attempt: H2Attempt {
                    stream_id: stream,
                    at,
                    request: fields,
                    response: None,
                    status: None,
                    reset: None,
                    goaway: None,
                    connect_enabled: self.connect_enabled,
                    incomplete,
                },
            },
        );
    }

    fn on_response(&mut self, stream: u32, fields: Fields, out: &mut dyn FnMut(H2Attempt<T>)) {
        let status = fields.get(":status").and_then(|s| s.parse::<u16>().ok());
        // 1xx answers are interim.
        if matches!(status, Some(100..=199)) {
            return;
        }
        if let Some(mut s) = self.streams.remove(&stream) {
            s.attempt.status = status;
            s.attempt.response = Some(fields);
            out(s.attempt);
        }
    }

    /// The connection ended: attempts still open had no answer.
    pub fn finish(&mut self, out: &mut dyn FnMut(H2Attempt<T>)) {
        for (_, s) in std::mem::take(&mut self.streams) {
            out(s.attempt);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::frame::{encode, *};
    use super::*;
    use loona_hpack::Encoder;

    fn block(fields: &[(&str, &str)]) -> Vec<u8> {
        let mut e = Encoder::new();
        e.encode(fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
    }

    const CONNECT: &[(&str, &str)] = &[
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "https"),
        (":path", "/chat"),
        (":authority", "ws.test"),
        ("origin", "https://ws.test"),
        ("sec-websocket-version", "13"),
    ];

    fn client_start() -> Vec<u8> {
        [PREFACE.to_vec(), encode(SETTINGS, 0, 0, &[])].concat()
    }

    fn server_settings(enable: bool) -> Vec<u8> {
        let p: &[u8] = if enable {
            &[0, 8, 0, 0, 0, 1]
        } else {
            &[0, 3, 0, 0, 0, 100]
        };
        encode(SETTINGS, 0, 0, p)
    }

    fn run(
        client: &[u8],
        server: &[u8],
        from_start: bool,
    ) -> (Vec<H2Attempt<u32>>, H2Connection<u32>) {
        let mut c = H2Connection::new(from_start);
        let mut got = Vec::new();
        c.feed(Side::Server, &server[..server.len().min(15)], 0, &mut |a| {
            got.push(a)
        });
        c.feed(Side::Client, client, 1, &mut |a| got.push(a));
        c.feed(Side::Server, server.get(15..).unwrap_or(&[]), 2, &mut |a| {
            got.push(a)
        });
        c.finish(&mut |a| got.push(a));
        (got, c)
    }

    #[test]
    fn accepted_extended_connect() {
        let client = [
            client_start(),
            encode(HEADERS, FLAG_END_HEADERS, 1, &block(CONNECT)),
        ]
        .concat();
        let server = [
            server_settings(true),
            encode(HEADERS, FLAG_END_HEADERS, 1, &block(&[(":status", "200")])),
            encode(DATA, 0, 1, &[0x81, 0]),
        ]
        .concat();
        let (got, c) = run(&client, &server, true);
        assert_eq!(got.len(), 1);
        let a = &got[0];
        assert_eq!((a.stream_id, a.status, a.at), (1, Some(200), 1));
        assert_eq!(a.connect_enabled, Some(true));
        assert_eq!(a.request.get(":path"), Some("/chat"));
        assert_eq!(a.incomplete, None);
        assert_eq!(c.error, None);
    }

    #[test]
    fn continuation_and_plain_requests() {
        let b = block(CONNECT);
        let (head, tail) = b.split_at(5);
        let client = [
            client_start(),
            encode(
                HEADERS,
                FLAG_END_HEADERS | FLAG_END_STREAM,
                1,
                &block(&[(":method", "GET"), (":path", "/")]),
            ),
            encode(HEADERS, 0, 3, head),
            encode(CONTINUATION, FLAG_END_HEADERS, 3, tail),
        ]
        .concat();
        let server = [
            server_settings(true),
            encode(HEADERS, FLAG_END_HEADERS, 3, &block(&[(":status", "403")])),
        ]
        .concat();
        let (got, c) = run(&client, &server, true);
        assert_eq!(got.len(), 1);
        assert_eq!((got[0].stream_id, got[0].status), (3, Some(403)));
        assert_eq!(c.other_requests, 1);
    }

    #[test]
    fn reset_goaway_and_no_answer() {
        let client = [
            client_start(),
            encode(HEADERS, FLAG_END_HEADERS, 1, &block(CONNECT)),
            encode(HEADERS, FLAG_END_HEADERS, 3, &block(CONNECT)),
            encode(HEADERS, FLAG_END_HEADERS, 5, &block(CONNECT)),
        ]
        .concat();
        let server = [
            server_settings(false),
            encode(RST_STREAM, 0, 1, &[0, 0, 0, 1]),
            encode(GOAWAY, 0, 0, &[0, 0, 0, 3, 0, 0, 0, 0xb]),
        ]
        .concat();
        let (got, _) = run(&client, &server, true);
        let by_id = |id| got.iter().find(|a| a.stream_id == id).unwrap();
        assert_eq!(by_id(1).reset, Some((Side::Server, 1)));
        assert_eq!(by_id(1).connect_enabled, Some(false));
        assert_eq!(by_id(5).goaway, Some(0xb));
        let three = by_id(3);
        assert_eq!(
            (three.status, three.reset, three.goaway),
            (None, None, None)
        );
    }

    #[test]
    fn mid_connection_never_guesses() {
        // `:method CONNECT` spelled out, `:protocol` from the dynamic table
        // (index 62) the capture never saw, `:path /chat` spelled out.
        let mut b = vec![0x02, 7];
        b.extend_from_slice(b"CONNECT");
        b.push(0xbe);
        b.extend_from_slice(&[0x04, 5]);
        b.extend_from_slice(b"/chat");
        let client = encode(HEADERS, FLAG_END_HEADERS, 3, &b);
        let server = [
            server_settings(true),
            encode(HEADERS, FLAG_END_HEADERS, 3, &block(&[(":status", "200")])),
        ]
        .concat();
        let (got, _) = run(&client, &server, false);
        assert_eq!(got.len(), 1);
        let a = &got[0];
        assert_eq!(a.status, Some(200));
        assert_eq!(a.request.get(":path"), Some("/chat"));
        assert_eq!(a.request.get(":protocol"), None);
        assert!(
            a.incomplete.as_deref().unwrap().contains("capture began"),
            "{a:?}"
        );
        // With the method unknown too, nothing is reported at all.
        let client = encode(HEADERS, FLAG_END_HEADERS, 3, &[0xbf, 0xbe]);
        let (got, _) = run(&client, &server, false);
        assert!(got.is_empty());
    }

    #[test]
    fn hostile_bytes_stop_a_direction_only() {
        let mut c: H2Connection<u32> = H2Connection::new(true);
        c.feed(Side::Client, b"GET / HTTP/1.1\r\n\r\n", 0, &mut |_| {});
        assert_eq!(c.error, Some(H2Error::NoPreface));
        c.feed(
            Side::Server,
            &encode(HEADERS, FLAG_END_HEADERS, 1, &[0xff; 8]),
            0,
            &mut |_| {},
        );
        assert!(c.error.is_some());
    }
}
