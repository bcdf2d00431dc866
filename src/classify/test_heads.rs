//! Heads written as (name, value) pairs, for the classifier's unit tests:
//! the rules, the proxy pages and the correlator all judge the same
//! `RequestHead`/`Header` values the HTTP layer parses.

use crate::http::{HeaderList, RequestHead};

/// The headers in the order given, values as bytes.
pub fn headers(hs: &[(&str, &str)]) -> HeaderList {
    hs.iter().map(|(n, v)| (*n, v.as_bytes())).collect()
}

/// An HTTP/1.`minor` request for `/ws` whose whole head was seen.
pub fn request(method: &str, minor: u8, hs: &[(&str, &str)]) -> RequestHead {
    RequestHead {
        method: method.into(),
        target: "/ws".into(),
        minor_version: minor,
        headers: headers(hs),
        head_len: 200,
        cut_short: false,
    }
}

/// `hs` with the value of every header named `name` (as spelled) set to `value`.
pub fn with_value<'a>(
    hs: &[(&'a str, &'a str)],
    name: &str,
    value: &'a str,
) -> Vec<(&'a str, &'a str)> {
    hs.iter()
        .map(|&(n, v)| if n == name { (n, value) } else { (n, v) })
        .collect()
}
