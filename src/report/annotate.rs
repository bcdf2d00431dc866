//! The diagnosis of each attempt as packet comments, keyed by the global
//! number of the request's and the response's packet, for the pcapng written
//! by `--annotate` and `--write-rejected FILE.pcapng`. Built from the record,
//! so secrets are masked exactly as in the text output.

use std::collections::HashMap;

use super::record::Record;
use crate::classify::correlate::Judged;

/// Comments waiting for their packets.
#[derive(Debug, Default, Clone)]
pub struct Annotations {
    by_packet: HashMap<u64, Vec<String>>,
}

impl Annotations {
    /// Note one attempt on its request packet and, when it had one, its
    /// response packet.
    pub fn add(&mut self, j: &Judged, r: &Record) {
        let p = j.attempt.packets;
        self.by_packet
            .entry(p.request)
            .or_default()
            .push(comment(r, "request"));
        if let Some(resp) = p.response {
            self.by_packet
                .entry(resp)
                .or_default()
                .push(comment(r, "response"));
        }
    }

    /// The comments for global packet number `no` (empty when none).
    pub fn get(&self, no: u64) -> &[String] {
        self.by_packet.get(&no).map_or(&[], Vec::as_slice)
    }

    pub fn is_empty(&self) -> bool {
        self.by_packet.is_empty()
    }
}

/// One line: the outcome and cause with its header, the evidence, the fix and
/// the other leg of a proxied attempt.
pub fn comment(r: &Record, role: &str) -> String {
    let mut s = format!(
        "wshs-sniff: {role} of a WebSocket handshake {}: {}",
        r.outcome.code().replace('_', " "),
        r.cause.code()
    );
    if let Some(h) = r.header {
        s.push_str(&format!(" [{h}]"));
    }
    if r.leg != "direct" {
        s.push_str(&format!(" ({} leg)", r.leg));
    }
    s.push_str(&format!(
        " — {} {} → {}",
        r.method,
        r.target,
        super::legs::status(r)
    ));
    s.push_str(" — evidence: ");
    s.push_str(&r.evidence);
    if let Some(fix) = r.fix {
        s.push_str(" — fix: ");
        s.push_str(fix);
    }
    if let Some(peer) = &r.peer {
        s.push_str(" — peer leg: ");
        s.push_str(peer);
    }
    // One line, as Wireshark's packet list shows it.
    s.replace(['\r', '\n'], " ")
}
