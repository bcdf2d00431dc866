//! Secrets never reach the output unless `--no-redact`: `Cookie` and
//! `Authorization` values, and credentials in the query string. Servers echo
//! request bytes in their error bodies (aiohttp quotes the oversized Cookie), so
//! every text that leaves the program is scrubbed of the secrets its request
//! carried, not just the fields that obviously hold them.

use crate::http::{Headers, RequestHead};
use crate::text::{split_ascii, split_once_ascii};

pub const MASK: &str = "[redacted]";

/// Query parameters that carry credentials (matched case-insensitively; names
/// ending in `token`, `secret`, `password` or `key` count too).
const SECRET_PARAMS: &[&str] = &[
    "token",
    "access_token",
    "id_token",
    "refresh_token",
    "key",
    "api_key",
    "apikey",
    "auth",
    "authorization",
    "jwt",
    "sig",
    "signature",
    "password",
    "passwd",
    "pwd",
    "secret",
    "session",
    "sessionid",
    "ticket",
    "code",
    "x-amz-signature",
    "x-amz-credential",
];

pub(crate) fn is_secret_param(name: &str) -> bool {
    let n = name.as_bytes();
    SECRET_PARAMS
        .iter()
        .any(|p| p.as_bytes().eq_ignore_ascii_case(n))
        || ["token", "secret", "password", "key", "auth"]
            .iter()
            .any(|s| {
                n.len() >= s.len() && n[n.len() - s.len()..].eq_ignore_ascii_case(s.as_bytes())
            })
}

/// The request target with credential values in the query string masked.
pub fn redact_target(target: &str) -> String {
    let Some((path, query)) = split_once_ascii(target, b'?') else {
        return target.to_string();
    };
    let (query, frag) = match split_once_ascii(query, b'#') {
        Some((q, f)) => (q, Some(f)),
        None => (query, None),
    };
    let masked = |kv: &str| {
        split_once_ascii(kv, b'=').is_some_and(|(k, v)| is_secret_param(k) && !v.is_empty())
    };
    // Nearly every target carries no credential: kept as it is, without
    // taking the query apart and joining it again.
    if !split_ascii(query, b'&').any(masked) {
        return target.to_string();
    }
    let parts: Vec<String> = split_ascii(query, b'&')
        .map(|kv| match split_once_ascii(kv, b'=') {
            Some((k, _)) if masked(kv) => format!("{k}={MASK}"),
            _ => kv.to_string(),
        })
        .collect();
    let mut out = format!("{path}?{}", parts.join("&"));
    if let Some(f) = frag {
        out.push('#');
        out.push_str(f);
    }
    out
}

/// The secret strings a request carries, longest first, for scrubbing texts.
pub fn secrets_of(req: &RequestHead) -> Vec<String> {
    let mut out = Vec::new();
    for h in req.headers().iter() {
        let is = |name: &str| h.name.eq_ignore_ascii_case(name);
        let cookie = is("cookie");
        if cookie || is("authorization") || is("proxy-authorization") {
            let v = h.value_str().trim().to_string();
            // Each cookie value on its own too, since a server may quote one.
            if cookie {
                for c in split_ascii(&v, b';') {
                    if let Some((_, val)) = split_once_ascii(c, b'=') {
                        out.push(val.trim().to_string());
                    }
                }
            } else if let Some((_, cred)) = split_once_ascii(&v, b' ') {
                out.push(cred.trim().to_string());
            }
            out.push(v);
        }
    }
    if let Some((_, q)) = split_once_ascii(&req.target, b'?') {
        for kv in q.split(['&', '#']) {
            if let Some((k, v)) = split_once_ascii(kv, b'=') {
                if is_secret_param(k) {
                    out.push(v.to_string());
                }
            }
        }
    }
    out.retain(|s| s.len() >= 4);
    out.sort_by_key(|s| std::cmp::Reverse(s.len()));
    out.dedup();
    out
}

/// Secrets shorter than this are masked only where they stand as a word of
/// their own (see [`scrub`]).
const WORD_ONLY_BELOW: usize = 8;

/// Mask every secret in `text`, including a cut-off tail of one (an excerpt
/// that ends inside the secret) of 8 characters or more. A short secret is
/// masked only where no letter or digit touches it: a four-letter token
/// such as `down` inside a server's "downstream" is a word, not the token,
/// and masking it there garbled the text it was found in.
pub fn scrub(text: String, secrets: &[String]) -> String {
    let mut t = text;
    for s in secrets {
        if occurs(t.as_bytes(), s.as_bytes()) {
            t = if s.len() < WORD_ONLY_BELOW {
                mask_words(&t, s)
            } else {
                t.replace(s.as_str(), MASK)
            };
        }
        // A prefix of the secret running to the end of the text. Only a
        // prefix ending in the text's last byte can be one: the lengths to
        // try are the places of that byte in the secret, longest first,
        // found with memchr (every text of every record is scrubbed against
        // every secret, and a cookie can be kilobytes long).
        let max = s.len().min(t.len());
        let Some(&last) = t.as_bytes().last() else {
            continue;
        };
        let places = s.as_bytes().get(7..max.saturating_sub(1)).unwrap_or(&[]);
        // Most secrets (a cookie's values) or texts are too short to hold
        // such a prefix: no search is set up for them.
        if places.is_empty() {
            continue;
        }
        for i in memchr::memrchr_iter(last, places) {
            let n = i + 8;
            if !s.is_char_boundary(n) {
                continue;
            }
            if t.ends_with(&s[..n]) {
                let cut = t.len() - n;
                t.truncate(cut);
                t.push_str(MASK);
                break;
            }
        }
    }
    t
}

/// `text` with each occurrence of `word` that no ASCII letter or digit
/// touches on either side masked.
fn mask_words(text: &str, word: &str) -> String {
    let bytes = text.as_bytes();
    let touches = |i: Option<usize>| {
        i.and_then(|i| bytes.get(i))
            .is_some_and(u8::is_ascii_alphanumeric)
    };
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for (at, _) in text.match_indices(word) {
        let end = at + word.len();
        if touches(at.checked_sub(1)) || touches(Some(end)) {
            continue;
        }
        out.push_str(&text[from..at]);
        out.push_str(MASK);
        from = end;
    }
    out.push_str(&text[from..]);
    out
}

/// Texts up to this long are searched by their first byte (see `occurs`).
const SHORT_TEXT: usize = 256;

/// Whether `needle` occurs in `hay`. A record's texts are short (most are
/// shorter than the secrets, and answered without a search) and almost
/// never hold a secret, and each is searched for each secret: setting up a
/// substring searcher per search (two-way for `str::contains`, memmem's
/// prefilters) cost more than the search. A short text is scanned for the
/// needle's first byte and compared only there (at most `SHORT_TEXT` times
/// the needle's length); a longer one takes memmem, linear in both.
fn occurs(hay: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    let Some(last_start) = hay.len().checked_sub(needle.len()) else {
        return false;
    };
    if hay.len() > SHORT_TEXT {
        return memchr::memmem::find(hay, needle).is_some();
    }
    memchr::memchr_iter(first, hay.get(..=last_start).unwrap_or(&[]))
        .any(|i| hay.get(i + 1..i + needle.len()) == Some(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_credentials_are_masked() {
        assert_eq!(
            redact_target("/ws?room=1&token=abc.def&x=2"),
            format!("/ws?room=1&token={MASK}&x=2")
        );
        assert_eq!(
            redact_target("/ws?access_token=zz#frag"),
            format!("/ws?access_token={MASK}#frag")
        );
        assert_eq!(redact_target("/ws?room=1"), "/ws?room=1");
        assert_eq!(redact_target("/ws"), "/ws");
    }

    #[test]
    fn cookie_values_are_scrubbed_even_when_cut() {
        let req = RequestHead {
            method: "GET".into(),
            target: "/ws?jwt=eyJhbGciOiJIUzI1NiJ9".into(),
            minor_version: 1,
            headers: [("Cookie", &b"session=s3cr3t-value-0123456789"[..])]
                .into_iter()
                .collect(),
            head_len: 100,
            cut_short: false,
        };
        let s = secrets_of(&req);
        let body = "Got more than 8190 bytes when reading: b'session=s3cr3t-value-01";
        let out = scrub(body.to_string(), &s);
        assert!(!out.contains("s3cr3t"), "{out}");
        assert!(!scrub("token eyJhbGciOiJIUzI1NiJ9 seen".to_string(), &s).contains("eyJhbGci"));
    }

    #[test]
    fn a_short_secret_is_masked_as_a_word_only() {
        let secrets = ["down".to_string()];
        let text = |t: &str| scrub(t.to_string(), &secrets);
        assert_eq!(
            text("Failed to connect to downstream server"),
            "Failed to connect to downstream server"
        );
        assert_eq!(text("no target for down"), format!("no target for {MASK}"));
        assert_eq!(
            text("token=down&x=1 (down) down-town"),
            format!("token={MASK}&x=1 ({MASK}) {MASK}-town")
        );
        assert_eq!(
            text("sundown downs 2down down2"),
            "sundown downs 2down down2"
        );
        // A long one is masked wherever it is, inside a word too.
        let long = ["s3cr3t-value".to_string()];
        assert_eq!(
            scrub("xs3cr3t-valuex".to_string(), &long),
            format!("x{MASK}x")
        );
    }

    /// What `scrub` did before it skipped lengths by the text's last byte.
    fn scrub_every_length(text: String, secrets: &[String]) -> String {
        let mut t = text;
        for s in secrets {
            if t.contains(s.as_str()) {
                t = t.replace(s.as_str(), MASK);
            }
            let max = s.len().min(t.len());
            for n in (8..max).rev() {
                if s.is_char_boundary(n) && t.ends_with(&s[..n]) {
                    let cut = t.len() - n;
                    t.truncate(cut);
                    t.push_str(MASK);
                    break;
                }
            }
        }
        t
    }

    proptest::proptest! {
        /// `occurs` is `contains`, on both sides of `SHORT_TEXT`.
        #[test]
        fn occurs_is_contains(
            hay in "[ab]{0,300}",
            needle in "[ab]{0,6}",
            pad in 0usize..300,
        ) {
            for h in [hay.clone(), format!("{}{hay}", "b".repeat(pad))] {
                proptest::prop_assert_eq!(
                    occurs(h.as_bytes(), needle.as_bytes()),
                    h.contains(needle.as_str()),
                    "{} in {}", needle, h
                );
            }
        }

        #[test]
        fn scrubbing_skips_no_cut_secret(
            secrets in proptest::collection::vec("[ab=é]{8,70}", 1..4),
            text in "[ab= é]{0,40}",
            cut in 0usize..70,
        ) {
            // A text that ends inside the first secret, and one that does not.
            let first = &secrets[0];
            let cut = (0..=cut.min(first.len()))
                .rev()
                .find(|&n| first.is_char_boundary(n))
                .unwrap_or(0);
            let whole = &secrets[secrets.len() - 1];
            for t in [
                format!("{text}{}", &first[..cut]),
                text.clone(),
                format!("{text}{whole}{text}"),
            ] {
                proptest::prop_assert_eq!(
                    scrub(t.clone(), &secrets),
                    scrub_every_length(t, &secrets)
                );
            }
        }
    }
}
