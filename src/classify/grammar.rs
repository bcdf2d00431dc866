//! Header-value grammars of RFC 9110 and RFC 6455, written with nom: token lists
//! (`Connection`, `Upgrade`, `Sec-WebSocket-Protocol`), the base64 nonce of
//! `Sec-WebSocket-Key`, version lists, and extension lists with quoted strings.
//!
//! The classifier needs to tell "absent" from "present but malformed" from "valid
//! but not what the server wants", so each parser says precisely what it found.

use nom::branch::alt;
use nom::bytes::complete::{tag, take_while, take_while1};
use nom::character::complete::char;
use nom::combinator::{all_consuming, map, opt, recognize};
use nom::multi::{many0, separated_list0};
use nom::sequence::{delimited, preceded};
use nom::{IResult, Parser};

/// RFC 9110 §5.6.2 tchar.
pub fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&c)
}

fn is_ows(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn ows(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while(is_ows).parse(i)
}

fn token(i: &[u8]) -> IResult<&[u8], &[u8]> {
    take_while1(is_tchar).parse(i)
}

/// A list element of `Upgrade`: `protocol-name ["/" protocol-version]`
/// (RFC 9110 §7.8).
fn protocol(i: &[u8]) -> IResult<&[u8], &[u8]> {
    recognize((token, opt(preceded(char('/'), token)))).parse(i)
}

/// Parse `#element` (RFC 9110 §5.6.1): comma-separated, optional whitespace,
/// empty elements allowed and ignored. `None` when the value does not follow
/// the grammar.
type Element<'a> = fn(&'a [u8]) -> IResult<&'a [u8], &'a [u8]>;

fn list<'a>(i: &'a [u8], element: Element<'a>) -> Option<Vec<&'a [u8]>> {
    let item = delimited(ows, opt(element), ows);
    let res: IResult<&[u8], Vec<Option<&[u8]>>> =
        all_consuming(separated_list0(char(','), item)).parse(i);
    res.ok().map(|(_, v)| v.into_iter().flatten().collect())
}

/// The tokens of a `Connection` or `Sec-WebSocket-Protocol` value.
pub fn token_list(value: &[u8]) -> Option<Vec<&[u8]>> {
    list(value, token)
}

/// The protocols of an `Upgrade` value (`websocket`, `h2c`, `HTTP/2.0`…).
pub fn upgrade_list(value: &[u8]) -> Option<Vec<&[u8]>> {
    list(value, protocol)
}

/// Whether a list value names `tok`, case-insensitively. Values that break the
/// grammar are searched element by element anyway, as lenient servers do.
///
/// Neither list grammar has quoted strings, so a value that follows it has
/// no comma inside an element: its elements are what lies between commas,
/// OWS trimmed, and one split answers for both kinds of value without
/// building the list (the classifier asks this a dozen times an attempt).
pub fn list_has(value: &[u8], tok: &str, upgrade: bool) -> bool {
    if tok.is_empty() {
        // Only a value that breaks the grammar has empty elements to find.
        let parsed = if upgrade {
            upgrade_list(value)
        } else {
            token_list(value)
        };
        return parsed.is_none()
            && value
                .split(|b| *b == b',')
                .any(|t| t.trim_ascii().is_empty());
    }
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(tok.as_bytes()))
}

/// What a `Sec-WebSocket-Key` value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyForm {
    /// base64 of exactly 16 bytes, as RFC 6455 §4.1 requires.
    Valid,
    Empty,
    /// Characters outside the base64 alphabet, or misplaced padding.
    NotBase64,
    /// Valid base64, but of this many bytes instead of 16.
    WrongLength(usize),
}

fn is_b64(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'+' || c == b'/'
}

fn b64_body(i: &[u8]) -> IResult<&[u8], (&[u8], &[u8])> {
    (take_while(is_b64), take_while(|c| c == b'=')).parse(i)
}

/// Classify a `Sec-WebSocket-Key` value (surrounding whitespace is ignored, as
/// every server does).
pub fn websocket_key(value: &[u8]) -> KeyForm {
    let v = value.trim_ascii();
    if v.is_empty() {
        return KeyForm::Empty;
    }
    let Ok((_, (chars, pad))) = all_consuming(b64_body).parse(v) else {
        return KeyForm::NotBase64;
    };
    if (chars.len() + pad.len()) % 4 != 0 || pad.len() > 2 {
        return KeyForm::NotBase64;
    }
    let bytes = chars.len() * 6 / 8;
    if bytes == 16 && pad.len() == 2 {
        KeyForm::Valid
    } else {
        KeyForm::WrongLength(bytes)
    }
}

/// The versions of a `Sec-WebSocket-Version` value: one number in a request, a
/// list of supported ones in a 426 response. `None` when not a list of numbers.
pub fn version_list(value: &[u8]) -> Option<Vec<u32>> {
    let num = |i| take_while1(|c: u8| c.is_ascii_digit()).parse(i);
    let items = list(value, num)?;
    items
        .iter()
        .map(|d| std::str::from_utf8(d).ok()?.parse::<u32>().ok())
        .collect()
}

/// One extension offer or acceptance of `Sec-WebSocket-Extensions`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    pub name: String,
    pub params: Vec<(String, Option<String>)>,
}

fn quoted_string(i: &[u8]) -> IResult<&[u8], String> {
    let qchar = alt((
        map(
            preceded(char('\\'), nom::bytes::complete::take(1usize)),
            |b: &[u8]| b[0],
        ),
        map(
            take_while1(|c: u8| c != b'"' && c != b'\\' && (c == b'\t' || c >= 0x20)),
            |b: &[u8]| b[0],
        ),
    ));
    // Collect the raw span, then unescape: simpler than threading bytes through.
    let (rest, span) = recognize(delimited(char('"'), many0(qchar), char('"'))).parse(i)?;
    let inner = &span[1..span.len() - 1];
    let mut out = Vec::with_capacity(inner.len());
    let mut esc = false;
    for &b in inner {
        if esc {
            out.push(b);
            esc = false;
        } else if b == b'\\' {
            esc = true;
        } else {
            out.push(b);
        }
    }
    Ok((rest, crate::text::lossy(&out).into_owned()))
}

fn param(i: &[u8]) -> IResult<&[u8], (String, Option<String>)> {
    let (i, _) = (ows, char(';'), ows).parse(i)?;
    let (i, name) = token(i)?;
    let (i, value) = opt(preceded(
        (ows, char('='), ows),
        alt((
            quoted_string,
            map(token, |t| crate::text::lossy(t).into_owned()),
        )),
    ))
    .parse(i)?;
    Ok((i, (crate::text::lossy(name).into_owned(), value)))
}

fn extension(i: &[u8]) -> IResult<&[u8], Extension> {
    let (i, name) = token(i)?;
    let (i, params) = many0(param).parse(i)?;
    Ok((
        i,
        Extension {
            name: crate::text::lossy(name).into_owned(),
            params,
        },
    ))
}

/// Parse a `Sec-WebSocket-Extensions` value (RFC 6455 §9.1).
pub fn extension_list(value: &[u8]) -> Option<Vec<Extension>> {
    let item = delimited(ows, opt(extension), ows);
    let res: IResult<&[u8], Vec<Option<Extension>>> =
        all_consuming(separated_list0(tag(&b","[..]), item)).parse(value);
    res.ok().map(|(_, v)| v.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// `list_has` as the grammar defines it: the parsed elements, or every
    /// comma-separated one of a value that does not parse.
    fn list_has_by_parsing(value: &[u8], tok: &str, upgrade: bool) -> bool {
        let parsed = if upgrade {
            upgrade_list(value)
        } else {
            token_list(value)
        };
        match parsed {
            Some(items) => items.iter().any(|t| t.eq_ignore_ascii_case(tok.as_bytes())),
            None => value
                .split(|b| *b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(tok.as_bytes())),
        }
    }

    proptest! {
        #[test]
        fn list_has_answers_as_the_parsed_list(
            value in proptest::collection::vec(
                prop_oneof![Just(b','), Just(b' '), Just(b'\t'), Just(b'/'), Just(b'"'),
                            Just(b'\r'), Just(b'w'), Just(b'W'), Just(b'u'), Just(b'a'), Just(0xc3u8)],
                0..24),
            tok in prop_oneof![Just(""), Just("w"), Just("wa"), Just("u/a"), Just("W")],
            upgrade in any::<bool>(),
        ) {
            prop_assert_eq!(
                list_has(&value, tok, upgrade),
                list_has_by_parsing(&value, tok, upgrade)
            );
        }
    }

    #[test]
    fn connection_lists() {
        assert!(list_has(b"keep-alive, Upgrade", "upgrade", false));
        assert!(list_has(b"Upgrade", "upgrade", false));
        assert!(!list_has(b"keep-alive", "upgrade", false));
        assert!(!list_has(b"close", "upgrade", false));
        assert!(list_has(b" ,upgrade,, ", "upgrade", false));
        assert_eq!(token_list(b"a, b ,c"), Some(vec![&b"a"[..], b"b", b"c"]));
        assert_eq!(token_list(b"a b"), None);
    }

    #[test]
    fn upgrade_lists() {
        assert!(list_has(b"websocket", "websocket", true));
        assert!(list_has(b"WebSocket", "websocket", true));
        assert!(!list_has(b"websockets", "websocket", true));
        assert!(!list_has(b"h2c", "websocket", true));
        assert_eq!(
            upgrade_list(b"HTTP/2.0, websocket"),
            Some(vec![&b"HTTP/2.0"[..], b"websocket"])
        );
    }

    #[test]
    fn keys() {
        assert_eq!(websocket_key(b"dGhlIHNhbXBsZSBub25jZQ=="), KeyForm::Valid);
        assert_eq!(websocket_key(b" dGhlIHNhbXBsZSBub25jZQ== "), KeyForm::Valid);
        assert_eq!(websocket_key(b"abc"), KeyForm::NotBase64);
        assert_eq!(websocket_key(b""), KeyForm::Empty);
        assert_eq!(websocket_key(b"AAECAwQFBgcICQ=="), KeyForm::WrongLength(10));
        assert_eq!(
            websocket_key(b"dGhlIHNh*XBsZSBub25jZQ=="),
            KeyForm::NotBase64
        );
        assert_eq!(websocket_key(b"dGhlIHNhbXBsZSBub25jZQ"), KeyForm::NotBase64);
    }

    #[test]
    fn versions() {
        assert_eq!(version_list(b"13"), Some(vec![13]));
        assert_eq!(version_list(b"13, 8, 7"), Some(vec![13, 8, 7]));
        assert_eq!(version_list(b"thirteen"), None);
    }

    #[test]
    fn extensions_with_quoted_params() {
        let e = extension_list(b"permessage-deflate; client_max_window_bits, x-foo; a=\"b\\\"c\"")
            .unwrap();
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].name, "permessage-deflate");
        assert_eq!(e[0].params[0], ("client_max_window_bits".into(), None));
        assert_eq!(e[1].params[0], ("a".into(), Some("b\"c".into())));
        assert_eq!(extension_list(b"a; =b"), None);
    }
}
