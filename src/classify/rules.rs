//! RFC 6455 §4.2.1: the checks a server makes on the opening handshake request,
//! each failure a [`Defect`] naming the header and what was wrong with it.

use super::grammar::{self, KeyForm};
use super::Cause;
use crate::http::{Headers, RequestHead};

/// Heads above this size are refused by most servers (8 KiB in aiohttp, Node,
/// python-websockets, nginx's default large header buffer). The header that
/// pushes a head past it is named as the cause.
pub const COMMON_HEAD_LIMIT: usize = 8 * 1024;

/// One rule the request breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Defect {
    pub cause: Cause,
    /// Canonical header name, `None` for request-line defects.
    pub header: Option<&'static str>,
    /// What the request showed, one line.
    pub evidence: String,
}

fn defect(cause: Cause, header: Option<&'static str>, evidence: String) -> Defect {
    Defect {
        cause,
        header,
        evidence,
    }
}

/// Quote a header value for evidence: printable, bounded.
pub fn show(v: &[u8]) -> String {
    // Joined, not formatted: every refusal's evidence quotes a value or two,
    // and the formatting machinery cost more than the quoting.
    let cut = if v.len() > 80 { "…" } else { "" };
    ["'", &super::printable(v, 80), cut, "'"].concat()
}

/// Every RFC 6455 rule the request breaks, in the order servers usually check
/// them (request line first, then Upgrade/Connection, then the WebSocket
/// headers, then size).
pub fn check_request(req: &RequestHead) -> Vec<Defect> {
    let mut out = Vec::new();
    if req.method != "GET" {
        out.push(defect(
            Cause::MethodNotGet,
            None,
            format!(
                "request method is {}; a WebSocket handshake must be GET",
                req.method
            ),
        ));
    }
    if req.minor_version == 0 {
        out.push(defect(
            Cause::HttpVersionTooOld,
            None,
            "request is HTTP/1.0; the upgrade needs HTTP/1.1".to_string(),
        ));
    }
    match req.header_joined("upgrade") {
        None => out.push(defect(
            Cause::MissingUpgrade,
            Some("Upgrade"),
            "request has no Upgrade header".to_string(),
        )),
        Some(v) if !grammar::list_has(&v, "websocket", true) => out.push(defect(
            Cause::InvalidUpgrade,
            Some("Upgrade"),
            format!("Upgrade is {}, not websocket", show(&v)),
        )),
        _ => {}
    }
    match req.header_joined("connection") {
        None => out.push(defect(
            Cause::ConnectionMissingUpgrade,
            Some("Connection"),
            "request has no Connection header".to_string(),
        )),
        Some(v) if !grammar::list_has(&v, "upgrade", false) => out.push(defect(
            Cause::ConnectionMissingUpgrade,
            Some("Connection"),
            format!("Connection is {}, without the upgrade token", show(&v)),
        )),
        _ => {}
    }
    match req.header("sec-websocket-key") {
        None => out.push(defect(
            Cause::MissingSecWebSocketKey,
            Some("Sec-WebSocket-Key"),
            "request has no Sec-WebSocket-Key header".to_string(),
        )),
        Some(h) => {
            let what = match grammar::websocket_key(h.value) {
                KeyForm::Valid if req.count("sec-websocket-key") > 1 => {
                    Some("is sent more than once".to_string())
                }
                KeyForm::Valid => None,
                KeyForm::Empty => Some("is empty".to_string()),
                KeyForm::NotBase64 => Some("is not base64".to_string()),
                KeyForm::WrongLength(n) => Some(format!("is base64 of {n} bytes, not 16")),
            };
            if let Some(what) = what {
                out.push(defect(
                    Cause::InvalidSecWebSocketKey,
                    Some("Sec-WebSocket-Key"),
                    format!("Sec-WebSocket-Key {} {what}", show(h.value)),
                ));
            }
        }
    }
    match req.header_joined("sec-websocket-version") {
        None => out.push(defect(
            Cause::MissingSecWebSocketVersion,
            Some("Sec-WebSocket-Version"),
            "request has no Sec-WebSocket-Version header".to_string(),
        )),
        Some(v) => {
            if grammar::version_list(&v).as_deref() != Some(&[13]) {
                out.push(defect(
                    Cause::UnsupportedSecWebSocketVersion,
                    Some("Sec-WebSocket-Version"),
                    format!("Sec-WebSocket-Version is {}, not 13", show(&v)),
                ));
            }
        }
    }
    if req.header("host").is_none() {
        out.push(defect(
            Cause::MissingHost,
            Some("Host"),
            "request has no Host header".to_string(),
        ));
    }
    if req.head_len > COMMON_HEAD_LIMIT || req.cut_short {
        let (name, len) = largest_header(req);
        let more = if req.cut_short { "more than " } else { "" };
        // A long query string (a token in the URL) makes the head large with
        // no header to blame: the request line is what to shorten.
        let (header, evidence) = if req.target.len() > len {
            (
                None,
                format!(
                    "request head is {more}{} bytes; its request target alone is {} bytes",
                    req.head_len,
                    req.target.len()
                ),
            )
        } else {
            (
                canonical(&name),
                format!(
                    "request head is {more}{} bytes; its {name} header alone is {len} bytes",
                    req.head_len
                ),
            )
        };
        out.push(defect(Cause::HeaderTooLarge, header, evidence));
    }
    out
}

/// The header with the longest value (the one to shrink).
pub fn largest_header(req: &RequestHead) -> (String, usize) {
    req.headers
        .iter()
        .max_by_key(|h| h.value.len())
        .map(|h| {
            (
                canonical(h.name).unwrap_or(h.name).to_string(),
                h.value.len(),
            )
        })
        .unwrap_or_else(|| ("(none)".to_string(), 0))
}

/// The canonical spelling of the headers the contract names.
pub fn canonical(name: &str) -> Option<&'static str> {
    const NAMES: &[&str] = &[
        "Host",
        "Upgrade",
        "Connection",
        "Origin",
        "Cookie",
        "Authorization",
        "User-Agent",
        "Sec-WebSocket-Key",
        "Sec-WebSocket-Version",
        "Sec-WebSocket-Protocol",
        "Sec-WebSocket-Extensions",
        "Sec-WebSocket-Accept",
        "Referer",
        "X-Forwarded-For",
    ];
    NAMES.iter().copied().find(|n| n.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::test_heads::{request as req, with_value};

    const GOOD: &[(&str, &str)] = &[
        ("Host", "x"),
        ("Upgrade", "websocket"),
        ("Connection", "keep-alive, Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ];

    fn without(name: &str) -> Vec<(&'static str, &'static str)> {
        GOOD.iter().copied().filter(|(n, _)| *n != name).collect()
    }

    fn with(name: &str, value: &'static str) -> Vec<(&'static str, &'static str)> {
        with_value(GOOD, name, value)
    }

    fn causes(r: &RequestHead) -> Vec<Cause> {
        check_request(r).into_iter().map(|d| d.cause).collect()
    }

    #[test]
    fn a_valid_request_breaks_no_rule() {
        assert!(check_request(&req("GET", 1, GOOD)).is_empty());
    }

    #[test]
    fn each_rule_is_checked() {
        use Cause::*;
        assert_eq!(causes(&req("POST", 1, GOOD)), vec![MethodNotGet]);
        assert_eq!(causes(&req("GET", 0, GOOD)), vec![HttpVersionTooOld]);
        assert_eq!(
            causes(&req("GET", 1, &without("Upgrade"))),
            vec![MissingUpgrade]
        );
        assert_eq!(
            causes(&req("GET", 1, &with("Upgrade", "h2c"))),
            vec![InvalidUpgrade]
        );
        assert_eq!(
            causes(&req("GET", 1, &with("Connection", "keep-alive"))),
            vec![ConnectionMissingUpgrade]
        );
        assert_eq!(
            causes(&req("GET", 1, &without("Sec-WebSocket-Key"))),
            vec![MissingSecWebSocketKey]
        );
        assert_eq!(
            causes(&req("GET", 1, &with("Sec-WebSocket-Key", "abc"))),
            vec![InvalidSecWebSocketKey]
        );
        assert_eq!(
            causes(&req("GET", 1, &with("Sec-WebSocket-Version", "8"))),
            vec![UnsupportedSecWebSocketVersion]
        );
        assert_eq!(
            causes(&req("GET", 1, &without("Sec-WebSocket-Version"))),
            vec![MissingSecWebSocketVersion]
        );
        assert_eq!(causes(&req("GET", 1, &without("Host"))), vec![MissingHost]);
    }

    #[test]
    fn oversized_head_names_the_largest_header() {
        let mut r = req("GET", 1, GOOD);
        r.headers.push("cookie", &[b'a'; 20000]);
        r.head_len = 20300;
        let d = check_request(&r);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].cause, Cause::HeaderTooLarge);
        assert_eq!(d[0].header, Some("Cookie"));
    }

    #[test]
    fn oversized_head_from_a_long_target_names_no_header() {
        let mut r = req("GET", 1, GOOD);
        r.target = format!("/ws?token={}", "a".repeat(9000));
        r.head_len = 9300;
        let d = check_request(&r);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].cause, Cause::HeaderTooLarge);
        assert_eq!(d[0].header, None);
        assert!(
            d[0].evidence.contains("request target alone is 9010 bytes"),
            "{}",
            d[0].evidence
        );
    }
}
