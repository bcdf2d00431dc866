//! The words of an HTML error page, for quoting in one line of evidence.
//!
//! Servers answer refusals with pages whose message sits behind markup:
//! Python's `http.server` (websockify, and the servers built on it) after
//! about 200 bytes of head, Tomcat after an inline style sheet, nginx
//! between `<center>` tags. Quoting the first bytes quoted the markup; the
//! text of the page's body is what a person reading it in a browser sees.
//! Not a parser of HTML: tags are dropped, the head, scripts and style
//! sheets skipped, a few character references decoded, and white space
//! collapsed; a page cut short ends where the cut is.

/// What a browser shows of a page: its title, and the text of its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub title: String,
    pub body: String,
}

impl Page {
    /// The body's text, or the title where the body has none.
    pub fn text(&self) -> Option<&str> {
        [&self.body, &self.title]
            .into_iter()
            .find(|t| !t.is_empty())
            .map(String::as_str)
    }
}

/// The text of `page` when it reads as HTML (its first character opens a
/// tag, and its tags leave some text); `None` for anything else, which is
/// then quoted as it is.
pub fn text_of(page: &str) -> Option<String> {
    read(page)?.text().map(str::to_string)
}

/// `page` read as HTML, when its first character opens a tag; `None` for
/// anything else.
pub fn read(page: &str) -> Option<Page> {
    let page = page.trim_start();
    if !page.starts_with('<')
        || !page[1..].starts_with(|c: char| c.is_ascii_alphabetic() || c == '!')
    {
        return None;
    }
    let mut body = String::new();
    let mut title = String::new();
    // Inside the head, a script or a style sheet: its text is not shown.
    let mut hidden: Option<&'static str> = None;
    let mut in_title = false;
    let mut rest = page;
    while !rest.is_empty() {
        let Some(open) = rest.find('<') else {
            push_text(rest, in_title, hidden.is_some(), &mut title, &mut body);
            break;
        };
        push_text(
            &rest[..open],
            in_title,
            hidden.is_some(),
            &mut title,
            &mut body,
        );
        rest = &rest[open..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let Some(close) = rest.find('>') else {
            break;
        };
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        let (end, name) = match tag.strip_prefix('/') {
            Some(t) => (true, name_of(t)),
            None => (false, name_of(tag)),
        };
        match (hidden, end) {
            (Some(h), true) if name.eq_ignore_ascii_case(h) => hidden = None,
            (None, false) => {
                hidden = ["head", "script", "style"]
                    .into_iter()
                    .find(|h| name.eq_ignore_ascii_case(h));
            }
            _ => {}
        }
        if name.eq_ignore_ascii_case("title") {
            in_title = !end;
        }
        // Tags that break a line in a browser keep their words apart.
        body.push(' ');
    }
    Some(Page {
        title: collapse(&title),
        body: collapse(&body),
    })
}

fn name_of(tag: &str) -> &str {
    let end = tag
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '!'))
        .unwrap_or(tag.len());
    &tag[..end]
}

fn push_text(text: &str, in_title: bool, hidden: bool, title: &mut String, body: &mut String) {
    if in_title {
        decode_into(text, title);
    } else if !hidden {
        decode_into(text, body);
    }
}

/// Append `text` with its common character references decoded; others are
/// kept as written.
fn decode_into(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|&semi| semi <= 10).and_then(|semi| {
            let c = match &rest[1..semi] {
                "lt" => Some('<'),
                "gt" => Some('>'),
                "amp" => Some('&'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                r => r
                    .strip_prefix("#x")
                    .or_else(|| r.strip_prefix("#X"))
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                    .or_else(|| r.strip_prefix('#').and_then(|d| d.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((c, semi))
        });
        match decoded {
            Some((c, semi)) => {
                out.push(c);
                rest = &rest[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}

fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_http_server_page_reads_as_its_message() {
        let page = "<!DOCTYPE HTML>\n<html lang=\"en\">\n    <head>\n        <meta charset=\"utf-8\">\n        <title>Error response</title>\n    </head>\n    <body>\n        <h1>Error response</h1>\n        <p>Error code: 400</p>\n        <p>Message: Invalid protocol selected.</p>\n        <p>Error code explanation: 400 - Bad request syntax or unsupported method.</p>\n    </body>\n</html>\n";
        assert_eq!(
            text_of(page).as_deref(),
            Some("Error response Error code: 400 Message: Invalid protocol selected. Error code explanation: 400 - Bad request syntax or unsupported method.")
        );
    }

    #[test]
    fn nginx_and_tomcat_pages() {
        let nginx = "<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n";
        assert_eq!(
            text_of(nginx).as_deref(),
            Some("400 Bad Request nginx/1.22.1")
        );
        let tomcat = "<!doctype html><html lang=\"en\"><head><title>HTTP Status 400 – Bad Request</title><style type=\"text/css\">body {font-family:Tahoma,Arial,sans-serif;} h1 {color:white;}</style></head><body><h1>HTTP Status 400 – Bad Request</h1><hr class=\"line\" /><p><b>Type</b> Status Report</p><p><b>Description</b> The server cannot &amp; will not</p><hr class=\"line\" /><h3>Apache Tomcat/10.1.34</h3></body></html>";
        assert_eq!(
            text_of(tomcat).as_deref(),
            Some("HTTP Status 400 – Bad Request Type Status Report Description The server cannot & will not Apache Tomcat/10.1.34")
        );
    }

    #[test]
    fn a_page_with_no_body_text_reads_as_its_title_and_a_cut_page_ends_at_the_cut() {
        assert_eq!(
            text_of("<html><head><title>403 Forbidden</title></head></html>").as_deref(),
            Some("403 Forbidden")
        );
        assert_eq!(
            text_of("<html><body><h1>Forbidden</h1><p>no &lt;origin&gt; &#39;x&#x27; &bogus; & more<a hr").as_deref(),
            Some("Forbidden no <origin> 'x' &bogus; & more")
        );
        assert_eq!(text_of("<!-- only a comment -->"), None);
        assert_eq!(text_of("<script>alert(1)</script>"), None);
    }

    #[test]
    fn text_that_is_not_html_is_left_alone() {
        for t in [
            "Invalid protocol selected",
            "",
            "  ",
            "<3 websockets",
            "< not a tag",
            "{\"error\":\"<b>\"}",
        ] {
            assert_eq!(text_of(t), None, "{t}");
        }
    }

    proptest::proptest! {
        /// Any input gives an answer without panicking, and an answer is
        /// one trimmed line.
        #[test]
        fn any_input_gives_one_line(s in "[<>/!a-z &;#x0-9\\-\"\n\t]{0,80}") {
            if let Some(t) = text_of(&s) {
                proptest::prop_assert!(!t.is_empty() && !t.contains(['\n', '\t']) && t.trim() == t);
            }
        }
    }
}
