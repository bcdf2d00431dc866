//! HTTP/1.x message heads: parsed with httparse, kept as owned values only for the
//! few requests that are WebSocket upgrade attempts (and their responses).

use std::borrow::Cow;
use std::mem::MaybeUninit;

/// Headers httparse may fill in one head. Real browsers send ~20; a head with more
/// than this is still analysed, with the excess counted as "too many headers".
pub const MAX_HEADERS: usize = 128;

/// What [`parse_request`] and [`parse_response`] say of a head with more than
/// [`MAX_HEADERS`] header lines.
pub const TOO_MANY_HEADERS: &str = "too many headers";

/// One header as sent: the name in its original case, the raw value bytes.
/// Borrowed from the [`HeaderList`] of its head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header<'a> {
    pub name: &'a str,
    pub value: &'a [u8],
}

impl<'a> Header<'a> {
    pub fn value_str(&self) -> std::borrow::Cow<'a, str> {
        crate::text::lossy(self.value)
    }
}

/// The headers of one head, in order. Names and values each live in one
/// buffer: a head kept for an upgrade attempt holds three allocations, not two
/// per header. Attempts are built on a flow worker and dropped on the
/// reporter, so every allocation is also a free on another thread; under a
/// storm of short handshakes those were a quarter of a worker's instructions
/// and most of an attempt's memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderList {
    names: String,
    values: Vec<u8>,
    /// Per header, where its name ends in `names` and its value in `values`.
    ends: Vec<(usize, usize)>,
}

impl HeaderList {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn push(&mut self, name: &str, value: &[u8]) {
        self.names.push_str(name);
        self.values.extend_from_slice(value);
        self.ends.push((self.names.len(), self.values.len()));
    }

    /// The header at `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<Header<'_>> {
        Some(self.at(i, *self.ends.get(i)?))
    }

    /// The header at `i`, whose ends are `ends`.
    fn at(&self, i: usize, (name_end, value_end): (usize, usize)) -> Header<'_> {
        let (name_start, value_start) = match i.checked_sub(1) {
            Some(p) => self.ends.get(p).copied().unwrap_or((0, 0)),
            None => (0, 0),
        };
        Header {
            name: self.names.get(name_start..name_end).unwrap_or(""),
            value: self.values.get(value_start..value_end).unwrap_or(&[]),
        }
    }

    pub fn iter(
        &self,
    ) -> impl DoubleEndedIterator<Item = Header<'_>> + ExactSizeIterator + Clone + '_ {
        self.ends
            .iter()
            .enumerate()
            .map(|(i, &ends)| self.at(i, ends))
    }

    /// The headers called `name` (case-insensitive), in order. Lengths are
    /// compared before any bytes: the classifier and the reporter look up
    /// dozens of names per attempt.
    pub fn named<'a, 'n>(
        &'a self,
        name: &'n str,
    ) -> impl Iterator<Item = Header<'a>> + use<'a, 'n> {
        let mut start = (0, 0);
        self.ends.iter().filter_map(move |&(name_end, value_end)| {
            let (name_start, value_start) = std::mem::replace(&mut start, (name_end, value_end));
            if name_end - name_start != name.len() {
                return None;
            }
            let n = self.names.get(name_start..name_end)?;
            n.eq_ignore_ascii_case(name).then(|| Header {
                name: n,
                value: self.values.get(value_start..value_end).unwrap_or(&[]),
            })
        })
    }

    /// Heap bytes held, for memory budgets.
    pub fn heap_bytes(&self) -> usize {
        self.names.capacity()
            + self.values.capacity()
            + self.ends.capacity() * std::mem::size_of::<(usize, usize)>()
    }

    /// Cut every value longer than `max` to its first `max` bytes, and give
    /// back the memory that frees.
    pub fn cut_values(&mut self, max: usize) {
        if self.iter().all(|h| h.value.len() <= max) {
            return;
        }
        let mut cut = HeaderList {
            names: std::mem::take(&mut self.names),
            values: Vec::new(),
            ends: Vec::with_capacity(self.len()),
        };
        let mut start = 0;
        for &(name_end, value_end) in &self.ends {
            let value = self.values.get(start..value_end).unwrap_or(&[]);
            cut.values.extend_from_slice(&value[..value.len().min(max)]);
            cut.ends.push((name_end, cut.values.len()));
            start = value_end;
        }
        cut.values.shrink_to_fit();
        *self = cut;
    }
}

impl<'a> FromIterator<(&'a str, &'a [u8])> for HeaderList {
    fn from_iter<I: IntoIterator<Item = (&'a str, &'a [u8])>>(iter: I) -> Self {
        let mut list = HeaderList::new();
        for (name, value) in iter {
            list.push(name, value);
        }
        list
    }
}

/// Lookups shared by requests and responses.
pub trait Headers {
    fn headers(&self) -> &HeaderList;

    /// The first header of that name (case-insensitive).
    fn header(&self, name: &str) -> Option<Header<'_>> {
        self.headers().named(name).next()
    }

    /// All values of that name joined with ", ", as RFC 9110 §5.3 allows for list
    /// headers sent more than once.
    fn header_joined(&self, name: &str) -> Option<Cow<'_, [u8]>> {
        let mut out: Option<Cow<'_, [u8]>> = None;
        for h in self.headers().named(name) {
            match out.as_mut() {
                // Nearly every header comes once: its value is lent, not copied.
                None => out = Some(Cow::Borrowed(h.value)),
                Some(v) => {
                    let v = v.to_mut();
                    v.extend_from_slice(b", ");
                    v.extend_from_slice(h.value);
                }
            }
        }
        out
    }

    fn count(&self, name: &str) -> usize {
        self.headers().named(name).count()
    }
}

/// A request head: request line and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    pub target: String,
    /// Minor version of HTTP/1.x (0 or 1).
    pub minor_version: u8,
    pub headers: HeaderList,
    /// Bytes of the head including the final CRLFCRLF.
    pub head_len: usize,
    /// Set when the head exceeded the analyzer's head limit and was cut: the
    /// headers listed are those that fit.
    pub cut_short: bool,
}

impl Headers for RequestHead {
    fn headers(&self) -> &HeaderList {
        &self.headers
    }
}

impl RequestHead {
    pub fn http_version(&self) -> String {
        // Every record carries it: the two versions httparse accepts are
        // copied, not formatted.
        match self.minor_version {
            0 => "HTTP/1.0".to_string(),
            1 => "HTTP/1.1".to_string(),
            v => format!("HTTP/1.{v}"),
        }
    }
}

/// A response head: status line and headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHead {
    pub minor_version: u8,
    pub status: u16,
    pub reason: String,
    pub headers: HeaderList,
    pub head_len: usize,
}

impl Headers for ResponseHead {
    fn headers(&self) -> &HeaderList {
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

fn owned_headers(hs: &[httparse::Header<'_>]) -> HeaderList {
    let kept = || hs.iter().filter(|h| !h.name.is_empty());
    let mut list = HeaderList {
        names: String::with_capacity(kept().map(|h| h.name.len()).sum()),
        values: Vec::with_capacity(kept().map(|h| h.value.len()).sum()),
        ends: Vec::with_capacity(kept().count()),
    };
    for h in kept() {
        list.push(h.name, h.value);
    }
    list
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
    /// A CONNECT: a 2xx answer turns the connection into a tunnel.
    pub is_connect: bool,
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
    // Left uninitialised: httparse writes the headers it finds, and filling
    // 128 empty ones first cost more than the parse of a typical head.
    let mut hbuf = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    match parser_config().parse_request_with_uninit_headers(&mut req, buf, &mut hbuf) {
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
        is_connect: method.eq_ignore_ascii_case("CONNECT"),
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

pub(super) fn parse_decimal(v: &[u8]) -> Option<u64> {
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

/// Longest method a request line is taken to have when bytes are searched
/// for one (resynchronising, redacting raw bytes): real methods are short
/// upper-case words, and a bound keeps junk from passing for one.
pub const MAX_METHOD: usize = 16;

/// Whether `m` looks like a request method: 1 to `MAX_METHOD` upper-case
/// letters or dashes (`GET`, `M-SEARCH`).
pub fn looks_like_method(m: &[u8]) -> bool {
    !m.is_empty() && m.len() <= MAX_METHOD && m.iter().all(|b| b.is_ascii_uppercase() || *b == b'-')
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
    // Uninitialised for the same reason as in `parse_request`.
    let mut hbuf = [const { MaybeUninit::uninit() }; MAX_HEADERS];
    match parse_response_with(buf, keep, &mut hbuf) {
        // Rare: retry once with room for more headers (the only allocation).
        Parsed::Invalid(TOO_MANY_HEADERS) => {
            let mut big = vec![MaybeUninit::uninit(); MAX_RESPONSE_HEADERS];
            parse_response_with(buf, keep, &mut big)
        }
        other => other,
    }
}

fn parse_response_with<'b>(
    buf: &'b [u8],
    keep: bool,
    hbuf: &mut [MaybeUninit<httparse::Header<'b>>],
) -> Parsed<(ResponsePeek, Option<ResponseHead>)> {
    let mut resp = httparse::Response::new(&mut []);
    match parser_config().parse_response_with_uninit_headers(&mut resp, buf, hbuf) {
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

#[cfg(test)]
mod header_list_tests {
    use super::*;

    fn pairs(list: &HeaderList) -> Vec<(&str, &[u8])> {
        list.iter().map(|h| (h.name, h.value)).collect()
    }

    #[test]
    fn a_parsed_head_keeps_every_header_in_order_as_sent() {
        let head = b"GET /ws HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nupgrade: websocket\r\n\
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nX-Empty: \r\n\
            Cookie: a=1; b=\xff\r\nHost: b\r\n\r\n";
        let Parsed::Complete((_, Some(req)), _) = parse_request(head) else {
            panic!("not parsed");
        };
        let want: Vec<(&str, &[u8])> = vec![
            ("Host", b"a"),
            ("X-Empty", b""),
            ("upgrade", b"websocket"),
            ("Sec-WebSocket-Key", b"dGhlIHNhbXBsZSBub25jZQ=="),
            ("X-Empty", b""),
            ("Cookie", b"a=1; b=\xff"),
            ("Host", b"b"),
        ];
        assert_eq!(pairs(&req.headers), want);
        let back: Vec<_> = req.headers.iter().rev().map(|h| h.name).collect();
        assert_eq!(back.first(), Some(&"Host"));
        assert_eq!(back.last(), Some(&"Host"));
        assert_eq!(req.headers.iter().len(), 7);
        assert_eq!(req.headers.get(6).map(|h| h.value), Some(&b"b"[..]));
        assert_eq!(req.headers.get(7), None);
        assert_eq!(req.header("HOST").map(|h| h.value), Some(&b"a"[..]));
        assert_eq!(req.header_joined("host").as_deref(), Some(&b"a, b"[..]));
        assert_eq!(req.count("x-empty"), 2);
    }

    #[test]
    fn long_values_are_cut_and_the_rest_kept() {
        let long = vec![b'x'; 1000];
        let mut list: HeaderList = [("A", &b"short"[..]), ("Cookie", &long), ("B", b"")]
            .into_iter()
            .collect();
        let before = list.heap_bytes();
        list.cut_values(16);
        assert_eq!(
            pairs(&list),
            vec![
                ("A", &b"short"[..]),
                ("Cookie", &[b'x'; 16][..]),
                ("B", b"")
            ]
        );
        assert!(list.heap_bytes() < before - 900, "{}", list.heap_bytes());
        let cut = list.clone();
        list.cut_values(16);
        assert_eq!(list, cut);
    }
}

#[cfg(test)]
mod request_tests {
    use super::*;

    #[test]
    fn versions_read_as_the_request_line_wrote_them() {
        let head = |minor_version| RequestHead {
            method: "GET".into(),
            target: "/ws".into(),
            minor_version,
            headers: HeaderList::default(),
            head_len: 20,
            cut_short: false,
        };
        assert_eq!(head(0).http_version(), "HTTP/1.0");
        assert_eq!(head(1).http_version(), "HTTP/1.1");
        // Not from httparse, which reads 1.0 and 1.1 only; built by hand.
        assert_eq!(head(7).http_version(), "HTTP/1.7");
    }
}
