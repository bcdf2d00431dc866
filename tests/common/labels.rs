//! The ground truth recorded beside each fixture capture: `NAME.labels.json`
//! (format in DESIGN.md section 3), one label per attempt the recorder made.

use std::path::Path;

use serde_json::Value;

/// The labels of `pcap` (the file `NAME.labels.json` next to `NAME.pcap`).
pub fn labels_of(pcap: &Path) -> Vec<Value> {
    let path = pcap.with_extension("labels.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A labelled endpoint (`role` is `client` or `server`) written as the
/// analyzer writes one: `ip:port`, or `[ip]:port` for IPv6.
pub fn endpoint(label: &Value, role: &str) -> String {
    let ip = label[format!("{role}_ip")].as_str().unwrap_or("");
    let port = &label[format!("{role}_port")];
    if ip.contains(':') {
        format!("[{ip}]:{port}")
    } else {
        format!("{ip}:{port}")
    }
}

/// The labelled connection as the analyzer's (client, server) pair.
pub fn connection(label: &Value) -> (String, String) {
    (endpoint(label, "client"), endpoint(label, "server"))
}
