//! HTTP/1.x message heads: parsed with httparse, kept as owned values only for the
//! few requests that are WebSocket upgrade attempts (and their responses).

use serde::Serialize;

/// Headers httparse may fill in one head. Real browsers send ~20; a head with more
/// than this is still analysed, with the excess counted as "too many headers".
pub const MAX_HEADERS: usize = 128;

/// What [`parse_request`] and [`parse_response`] say of a head with more than
/// [`MAX_HEADERS`] header lines.
pub const TOO_MANY_HEADERS: &str = "too many headers";

/// One header as sent: the name in its original case, the raw value bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Header {
    pub name: String,
    pub value: Vec<u8>,
}

impl Header {
    pub fn value_str(&self) -> std::borrow::Cow<'_, str> {
        crate::text::lossy(&self.value)
    }
}

/// Lookups shared by requests and responses.
pub trait Headers {
    fn headers(&self) -> &[Header];

    /// The first header of that name (case-insensitive).
    fn header(&self, name: &str) -> Option<&Header> {
        self.headers()
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
    }

    /// All values of that name joined with ", ", as RFC 9110 §5.3 allows for list
    /// headers sent more than once.
    fn header_joined(&self, name: &str) -> Option<Vec<u8>> {
        let mut out: Option<Vec<u8>> = None;
        for h in self
            .headers()
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
        {
            match out.as_mut() {
                None => out = Some(h.value.clone()),
                Some(v) => {
                    v.extend_from_slice(b", ");
                    v.extend_from_slice(&h.value);
                }
            }
        }
        out
    }

    fn count(&self, name: &str) -> usize {
        self.headers()
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .count()
    }
}

/// A request head: request line and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    pub target: String,
    /// Minor version of HTTP/1.x (0 or 1).
    pub minor_version: u8,
    pub headers: Vec<Header>,
    /// Bytes of the head including the final CRLFCRLF.
    pub head_len: usize,
    /// Set when the head exceeded the analyzer's head limit and was cut: the
    /// headers listed are those that fit.
    pub cut_short: bool,
}

impl Headers for RequestHead {
    fn headers(&self) -> &[Header] {
        &self.headers
    }
}

impl RequestHead {
    pub fn http_version(&self) -> String {
        format!("HTTP/1.{}", self.minor_version)
    }
}

/// A response head: status line and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub minor_version: u8,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<Header>,
    pub head_len: usize,
}

impl Headers for ResponseHead {
    fn headers(&self) -> &[Header] {
        &self.headers
    }
}

/// Result of trying to parse a head from the bytes buffered so far.
#[derive(Debug)]
pub enum Parsed<T> {
    /// The head, and how many bytes it took.
    Complete(T, usize),
    /// The head is not complete yet: more bytes are needed.
    Partial,
    /// These bytes are not an HTTP/1.x head.
    Invalid(&'static str),
}

#[cfg(test)]
thread_local! {
    /// Heads parsed on this thread: tests bound how often a head is looked at.
    pub(crate) static LOOKS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

fn owned_headers(hs: &[httparse::Header<'_>]) -> Vec<Header> {
    hs.iter()
        .filter(|h| !h.name.is_empty())
        .map(|h| Header {
            name: h.name.to_string(),
            value: h.value.to_vec(),
        })
        .collect()
}

fn parser_config() -> httparse::ParserConfig {
    let mut c = httparse::ParserConfig::default();
    // Real servers tolerate these and so must a passive observer: it reports what
    // the server saw, it does not enforce a stricter grammar than the server.
    c.allow_spaces_after_header_name_in_responses(true)
        .allow_obsolete_multiline_headers_in_responses(true)
        .allow_multiple_spaces_in_request_line_delimiters(true)
        .allow_multiple_spaces_in_response_status_delimiters(true)
        .ignore_invalid_headers_in_requests(true)
        .ignore_invalid_headers_in_responses(true);
    c
}

/// Facts about a request gathered without allocating, to decide whether it is an
/// upgrade attempt worth keeping.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestPeek {
    pub is_websocket_attempt: bool,
    pub is_head: bool,
    pub content_length: Option<u64>,
    pub chunked: bool,
    /// A GET opening an Engine.IO polling session: its answer issues a sid.
    pub engine_io_handshake: bool,
}

/// Parse a request head. `want_owned` decides, from the peek, whether to build
/// the owned head (only upgrade attempts are kept).
pub fn parse_request(buf: &[u8]) -> Parsed<(RequestPeek, Option<RequestHead>)> {
    #[cfg(test)]
    LOOKS.with(|n| n.set(n.get() + 1));
    let mut hbuf = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut hbuf);
    match parser_config().parse_request(&mut req, buf) {
        Ok(httparse::Status::Complete(n)) => {
            let mut peek = peek_request(req.method.unwrap_or(""), req.headers);
            peek.engine_io_handshake = !peek.is_websocket_attempt
                && req.method == Some("GET")
                && super::engine_io::is_handshake_target(req.path.unwrap_or(""));
            let owned = peek.is_websocket_attempt.then(|| RequestHead {
                method: req.method.unwrap_or("").to_string(),
                target: req.path.unwrap_or("").to_string(),
                minor_version: req.version.unwrap_or(1),
                headers: owned_headers(req.headers),
                head_len: n,
                cut_short: false,
            });
            Parsed::Complete((peek, owned), n)
        }
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => Parsed::Invalid(TOO_MANY_HEADERS),
        Err(_) => Parsed::Invalid("not an HTTP/1.x request"),
    }
}

fn peek_request(method: &str, headers: &[httparse::Header<'_>]) -> RequestPeek {
    let mut p = RequestPeek {
        is_head: method.eq_ignore_ascii_case("HEAD"),
        ..Default::default()
    };
    for h in headers {
        let n = h.name.as_bytes();
        if n.len() > 14 && n[..14].eq_ignore_ascii_case(b"sec-websocket-") {
            p.is_websocket_attempt = true;
        } else if n.eq_ignore_ascii_case(b"upgrade") {
            if contains_token(h.value, b"websocket") {
                p.is_websocket_attempt = true;
            }
        } else {
            framing_header(h, &mut p.content_length, &mut p.chunked);
        }
    }
    p
}

/// Note a body-framing header. A Content-Length that does not parse, or
/// disagrees with an earlier one, is ignored: the first valid one frames.
fn framing_header(h: &httparse::Header<'_>, content_length: &mut Option<u64>, chunked: &mut bool) {
    let n = h.name.as_bytes();
    if n.eq_ignore_ascii_case(b"content-length") {
        if let Some(v) = parse_decimal(h.value) {
            if content_length.is_none() {
                *content_length = Some(v);
            }
        }
    } else if n.eq_ignore_ascii_case(b"transfer-encoding") && last_token_is(h.value, b"chunked") {
        *chunked = true;
    }
}

fn parse_decimal(v: &[u8]) -> Option<u64> {
    let v = trim(v);
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    v.iter().try_fold(0u64, |acc, d| {
        acc.checked_mul(10)?.checked_add((d - b'0') as u64)
    })
}

fn trim(v: &[u8]) -> &[u8] {
    let s = v
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(v.len());
    let e = v
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(s, |e| e + 1);
    &v[s..e.max(s)]
}

/// Whether a comma-separated token list contains `tok` (case-insensitive). A cheap
/// check for the hot path; the classifier uses the full nom grammar.
pub fn contains_token(list: &[u8], tok: &[u8]) -> bool {
    list.split(|b| *b == b',')
        .any(|t| trim(t).eq_ignore_ascii_case(tok))
}

fn last_token_is(list: &[u8], tok: &[u8]) -> bool {
    list.split(|b| *b == b',')
        .rfind(|t| !trim(t).is_empty())
        .is_some_and(|t| trim(t).eq_ignore_ascii_case(tok))
}

/// Facts about a response needed to frame its body.
#[derive(Debug, Clone, Copy, Default)]
pub struct ResponsePeek {
    pub status: u16,
    pub content_length: Option<u64>,
    pub chunked: bool,
    /// `Upgrade: h2c`: with a 101, the connection goes on in HTTP/2.
    pub upgrade_h2c: bool,
}

/// Headers tried for a response with more than [`MAX_HEADERS`]: servers and
/// proxies that decorate answers generously must not make the answer unreadable.
pub(crate) const MAX_RESPONSE_HEADERS: usize = 1024;

/// Parse a response head; the owned head is built only when `keep` says so (the
/// response pairs with an upgrade attempt).
pub fn parse_response(buf: &[u8], keep: bool) -> Parsed<(ResponsePeek, Option<ResponseHead>)> {
    #[cfg(test)]
    LOOKS.with(|n| n.set(n.get() + 1));
    let mut hbuf = [httparse::EMPTY_HEADER; MAX_HEADERS];
    match parse_response_with(buf, keep, &mut hbuf) {
        // Rare: retry once with room for more headers (the only allocation).
        Parsed::Invalid(TOO_MANY_HEADERS) => {
            let mut big = vec![httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
            parse_response_with(buf, keep, &mut big)
        }
        other => other,
    }
}

fn parse_response_with<'b>(
    buf: &'b [u8],
    keep: bool,
    hbuf: &mut [httparse::Header<'b>],
) -> Parsed<(ResponsePeek, Option<ResponseHead>)> {
    let mut resp = httparse::Response::new(hbuf);
    match parser_config().parse_response(&mut resp, buf) {
        Ok(httparse::Status::Complete(n)) => {
            let mut peek = ResponsePeek {
                status: resp.code.unwrap_or(0),
                ..Default::default()
            };
            for h in resp.headers.iter() {
                framing_header(h, &mut peek.content_length, &mut peek.chunked);
                if h.name.eq_ignore_ascii_case("upgrade") {
                    peek.upgrade_h2c |= h
                        .value
                        .split(|&b| b == b',')
                        .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"h2c"));
                }
            }
            let owned = keep.then(|| ResponseHead {
                minor_version: resp.version.unwrap_or(1),
                status: peek.status,
                reason: resp.reason.unwrap_or("").to_string(),
                headers: owned_headers(resp.headers),
                head_len: n,
            });
            Parsed::Complete((peek, owned), n)
        }
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => Parsed::Invalid(TOO_MANY_HEADERS),
        Err(_) => Parsed::Invalid("not an HTTP/1.x response"),
    }
}

#[cfg(test)]
mod response_tests {
    use super::*;

    #[test]
    fn a_response_with_hundreds_of_headers_is_still_read() {
        let mut r = b"HTTP/1.1 403 Forbidden\r\n".to_vec();
        for i in 0..300 {
            r.extend_from_slice(format!("X-Decor-{i}: y\r\n").as_bytes());
        }
        r.extend_from_slice(b"Content-Length: 0\r\n\r\n");
        match parse_response(&r, true) {
            Parsed::Complete((peek, Some(head)), n) => {
                assert_eq!(peek.status, 403);
                assert_eq!(head.headers.len(), 301);
                assert_eq!(n, r.len());
            }
            other => panic!("{other:?}"),
        }
    }
}
