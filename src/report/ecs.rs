//! The same findings with Elastic Common Schema field names (`--format ecs`), so
//! Filebeat, Vector or Fluent Bit ship them unchanged into Elasticsearch or
//! OpenSearch. ECS fields where ECS has one; the rest under `wshs.*`.

use serde_json::{json, Value};

use super::record::Record;
use crate::classify::Outcome;

/// Split `ip:port` / `[ip]:port` into the two ECS fields.
fn ip_port(s: &str) -> (String, Option<u16>) {
    match s.rsplit_once(':') {
        Some((ip, port)) => (
            ip.trim_start_matches('[').trim_end_matches(']').to_string(),
            port.parse().ok(),
        ),
        None => (s.to_string(), None),
    }
}

/// One ECS document for a record.
pub fn document(r: &Record) -> Value {
    let (sip, sport) = ip_port(&r.client);
    let (dip, dport) = ip_port(&r.server);
    let outcome = match r.outcome {
        Outcome::Accepted => "success",
        Outcome::Rejected => "failure",
        _ => "unknown",
    };
    let path = r.target.split(['?', '#']).next().unwrap_or("");
    let query = r
        .target
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or(""));
    json!({
        "@timestamp": r.ts,
        "ecs": { "version": "8.11.0" },
        "event": {
            "kind": "event",
            "category": ["network", "web"],
            "type": ["connection", "protocol"],
            "action": "websocket-handshake",
            "dataset": "wshs_sniff.handshake",
            "module": "wshs_sniff",
            "outcome": outcome,
            "reason": r.evidence,
        },
        "source": { "ip": sip, "port": sport, "address": r.client },
        "destination": { "ip": dip, "port": dport, "address": r.server },
        "network": { "transport": "tcp", "protocol": "http", "type": if sip.contains(':') { "ipv6" } else { "ipv4" } },
        "http": {
            "version": r.http_version.trim_start_matches("HTTP/"),
            "request": { "method": r.method },
            "response": { "status_code": r.status },
        },
        "url": {
            "original": r.target,
            "path": path,
            "query": query,
            "domain": r.host.as_deref().map(|h| h.rsplit_once(':').map_or(h, |(d, _)| d)),
        },
        "error": if r.outcome == Outcome::Accepted {
            Value::Null
        } else {
            json!({ "type": r.cause.code(), "message": r.evidence })
        },
        "observer": { "product": "wshs-sniff", "type": "sensor", "version": env!("CARGO_PKG_VERSION") },
        "wshs": {
            "outcome": r.outcome.code(),
            "cause": r.cause.code(),
            "header": r.header,
            "fix": r.fix,
            "leg": r.leg,
            "peer": r.peer,
            "confidence": r.confidence_str(),
            "origin": r.origin,
            "host": r.host,
            "reason": r.reason,
            "server_software": r.server_software,
            "body_excerpt": r.body_excerpt,
            "kind": r.kind,
            "ws_key": r.ws_key,
            "proxy": r.proxy,
            "stream_id": r.stream_id,
            "session": {
                "ended_by": r.ended_by,
                "end": r.end,
                "close_code": r.close_code,
                "close_reason": r.close_reason,
                "duration_secs": r.duration_secs,
                "idle_secs": r.idle_secs,
            },
        },
        "tls": {
            "established": r.tls,
            "client": { "server_name": r.sni },
            "next_protocol": r.alpn,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_for_both_families() {
        assert_eq!(ip_port("127.0.0.1:80"), ("127.0.0.1".to_string(), Some(80)));
        assert_eq!(ip_port("[::1]:8080"), ("::1".to_string(), Some(8080)));
    }
}
