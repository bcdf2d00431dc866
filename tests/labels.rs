//! Agreement with the ground truth of real captures: the project's own fixtures
//! (`fixtures/`) and the shared set (`../shared/captures/`, skipped with a
//! message when absent, a failure then under `WSHS_SHARED_REQUIRED=1`): every labelled attempt found on the right connection,
//! with the right status, cause, header and leg, and no attempt invented.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use wshs_sniff::pipeline::Config;

mod common;
use common::labels::{connection, labels_of};
use common::shared::shared_dir;

fn label_cause(v: &Value) -> String {
    match v["cause"].as_str().unwrap_or("") {
        // The labels use "other" where the vocabulary has no code; we say unknown.
        "other" => "unknown".to_string(),
        c => c.to_string(),
    }
}

/// The default configuration, with the fixture's key log (NAME.keylog) when
/// it has one.
fn config_for(pcap: &Path) -> Config {
    let mut cfg = Config::default();
    if let Ok(text) = std::fs::read(pcap.with_extension("keylog")) {
        cfg.http.tls_keys = Some(std::sync::Arc::new(wshs_sniff::tls::KeyLog::parse(&text)));
    }
    cfg
}

#[test]
fn tool_agrees_with_the_shared_labels() {
    let Some(dir) = shared_dir("captures", "tool_agrees_with_the_shared_labels") else {
        return;
    };
    check_dir(&dir);
}

#[test]
fn tool_agrees_with_the_fixture_labels() {
    check_dir(Path::new("fixtures"));
}

fn check_dir(dir: &Path) {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("read captures dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no captures in {}", dir.display());
    let mut problems = Vec::new();
    let mut checked = 0;
    for pcap in &files {
        let labels = labels_of(pcap);
        let name = pcap.file_name().unwrap().to_string_lossy().to_string();
        let a = wshs_sniff::analyze_files(&[pcap.to_string_lossy()], &config_for(pcap))
            .expect("capture opens");
        // Attempts per connection, in order.
        let mut found: HashMap<(String, String), Vec<&wshs_sniff::report::Record>> = HashMap::new();
        for r in &a.records {
            found
                .entry((r.client.clone(), r.server.clone()))
                .or_default()
                .push(r);
        }
        let mut used: HashMap<(String, String), Vec<bool>> = HashMap::new();
        let mut expected_total = 0;
        for l in &labels {
            if l["tls"].as_bool() == Some(true) && l["keys"].is_null() {
                // The client leg of a TLS proxy: its request is encrypted, no
                // passive analyzer without the keys can see it.
                continue;
            }
            expected_total += 1;
            checked += 1;
            let conn = connection(l);
            let on_conn = found.get(&conn).map_or(&[][..], Vec::as_slice);
            let taken = used
                .entry(conn.clone())
                .or_insert_with(|| vec![false; on_conn.len()]);
            // In order on the connection; HTTP/2's streams are answered and
            // reported in any order, so a record for the label's path first.
            let free = |i: &usize| !taken[*i];
            let same_path = (0..on_conn.len())
                .filter(free)
                .find(|&i| l["request_path"].as_str() == Some(on_conn[i].target.as_str()));
            let Some(i) = same_path.or_else(|| (0..on_conn.len()).find(free)) else {
                problems.push(format!("{name}: attempt {} > {} not found", conn.0, conn.1));
                continue;
            };
            taken[i] = true;
            let r = on_conn[i];
            let want_status = l["status"].as_u64().map(|s| s as u16);
            if r.status != want_status {
                problems.push(format!(
                    "{name}: status {:?}, label {:?}",
                    r.status, want_status
                ));
            }
            let want_cause = label_cause(l);
            if r.cause.code() != want_cause {
                problems.push(format!(
                    "{name}: cause {} [{}], label {want_cause} — {}",
                    r.cause.code(),
                    r.confidence_str(),
                    r.evidence
                ));
            } else if r.header != l["header"].as_str() {
                problems.push(format!(
                    "{name}: header {:?}, label {:?}",
                    r.header,
                    l["header"].as_str()
                ));
            }
            let want_leg = l["leg"].as_str().unwrap_or("client");
            let leg_ok = match want_leg {
                "backend" => r.leg == "backend",
                _ => r.leg == "client" || r.leg == "direct",
            };
            if !leg_ok {
                problems.push(format!("{name}: leg {}, label {want_leg}", r.leg));
            }
        }
        if a.records.len() != expected_total {
            problems.push(format!(
                "{name}: {} attempts reported, {} labelled",
                a.records.len(),
                expected_total
            ));
        }
    }
    for p in &problems {
        eprintln!("{p}");
    }
    eprintln!(
        "{checked} labelled attempts checked, {} disagreements",
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} disagreements with the labels",
        problems.len()
    );
}
