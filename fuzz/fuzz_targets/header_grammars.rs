//! Header-value grammars, request rules, redaction and the text of HTML
//! pages on arbitrary bytes.
//!
//! The whole input goes through every grammar and is read as an HTML page
//! (a refusal's body, whose text the evidence quotes); it is also parsed as a request
//! head (with a blank line appended when missing) and, when that works, checked
//! by the RFC 6455 rules and run through target/secret redaction.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wshs_sniff::classify::grammar;
use wshs_sniff::classify::rules;
use wshs_sniff::http::head::{parse_request, parse_response, Parsed};
use wshs_sniff::report::redact;

fuzz_target!(|data: &[u8]| {
    let _ = grammar::token_list(data);
    let _ = grammar::upgrade_list(data);
    let _ = grammar::list_has(data, "websocket", true);
    let _ = grammar::list_has(data, "upgrade", false);
    let _ = grammar::websocket_key(data);
    let _ = grammar::version_list(data);
    let _ = grammar::extension_list(data);
    for b in data.iter().take(8) {
        let _ = grammar::is_tchar(*b);
    }
    let _ = rules::show(data);
    let text = String::from_utf8_lossy(data);
    let _ = rules::canonical(&text);
    let _ = redact::redact_target(&text);
    let _ = wshs_sniff::html_text::text_of(&text);

    let mut head = data.to_vec();
    if !head.ends_with(b"\r\n\r\n") {
        head.extend_from_slice(b"\r\n\r\n");
    }
    if let Parsed::Complete((_, Some(req)), _) = parse_request(&head) {
        let _ = rules::check_request(&req);
        let _ = rules::largest_header(&req);
        let secrets = redact::secrets_of(&req);
        let _ = redact::scrub(text.to_string(), &secrets);
        let _ = redact::redact_target(&req.target);
    }
    let _ = parse_response(&head, true);
});
