//! `--sessions`: the abnormal ends of accepted sessions in the session
//! fixtures (recorded by `scripts/record-fixtures/sessions.py` from real
//! nginx and Python websockets) agree with what the recorder made happen,
//! and no end is invented.

use std::collections::HashMap;
use std::process::Command;

use serde_json::Value;
use wshs_sniff::http::HttpLimits;
use wshs_sniff::pipeline::Config;
use wshs_sniff::report::record::Kind;

mod common;
use common::labels::{connection, labels_of};

const BIN: &str = env!("CARGO_BIN_EXE_wshs-sniff");

fn session_fixtures() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir("fixtures")
        .expect("fixtures dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "pcap")
                && p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("sessions__"))
        })
        .collect();
    v.sort();
    v
}

fn with_sessions() -> Config {
    Config {
        http: HttpLimits {
            sessions: true,
            ..Default::default()
        },
        ..Config::default()
    }
}

#[test]
fn session_ends_agree_with_the_recorder() {
    let files = session_fixtures();
    assert!(files.len() >= 5, "session fixtures missing");
    let mut problems = Vec::new();
    let mut checked = 0;
    for pcap in &files {
        let name = pcap.file_name().unwrap().to_string_lossy().to_string();
        let labels = labels_of(pcap);
        let a = wshs_sniff::analyze_files(&[pcap.to_string_lossy()], &with_sessions())
            .expect("capture opens");
        let mut ends: HashMap<(String, String), &wshs_sniff::report::Record> = HashMap::new();
        for r in a.records.iter().filter(|r| r.kind == Kind::SessionEnd) {
            if ends
                .insert((r.client.clone(), r.server.clone()), r)
                .is_some()
            {
                problems.push(format!("{name}: two ends for {} > {}", r.client, r.server));
            }
        }
        let mut expected = 0;
        for l in &labels {
            let conn = connection(l);
            let want = &l["session_end"];
            let got = ends.get(&conn);
            match (want.is_null(), got) {
                (true, None) => {}
                (true, Some(r)) => problems.push(format!(
                    "{name}: {} > {}: invented end {} — {}",
                    conn.0,
                    conn.1,
                    r.cause.code(),
                    r.evidence
                )),
                (false, None) => {
                    expected += 1;
                    problems.push(format!("{name}: {} > {}: end not found", conn.0, conn.1))
                }
                (false, Some(r)) => {
                    expected += 1;
                    checked += 1;
                    let got = (
                        r.cause.code(),
                        r.ended_by.unwrap_or(""),
                        r.end.unwrap_or(""),
                        r.close_code.map(u64::from),
                    );
                    let want = (
                        want["cause"].as_str().unwrap_or(""),
                        want["ended_by"].as_str().unwrap_or(""),
                        want["end"].as_str().unwrap_or(""),
                        want["close_code"].as_u64(),
                    );
                    if got != want {
                        problems.push(format!(
                            "{name}: {} > {}: got {got:?}, label {want:?} — {}",
                            conn.0, conn.1, r.evidence
                        ));
                    }
                    if r.status != Some(101) || r.outcome.code() != "abnormal_end" {
                        problems.push(format!(
                            "{name}: status {:?} outcome {}",
                            r.status,
                            r.outcome.code()
                        ));
                    }
                }
            }
        }
        if ends.len() != expected {
            problems.push(format!(
                "{name}: {} ends reported, {expected} labelled",
                ends.len()
            ));
        }
    }
    assert!(checked >= 9, "only {checked} ends checked");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn without_the_flag_no_session_is_followed() {
    for pcap in session_fixtures() {
        let a = wshs_sniff::analyze_files(&[pcap.to_string_lossy()], &Config::default())
            .expect("capture opens");
        assert!(
            a.records.iter().all(|r| r.kind == Kind::Handshake),
            "{}",
            pcap.display()
        );
    }
}

#[test]
fn the_binary_prints_session_ends_and_counts_them_apart() {
    let out = Command::new(BIN)
        .args([
            "-r",
            "fixtures/sessions__nginx-idle-timeout.pcap",
            "--sessions",
            "--json",
        ])
        .output()
        .expect("run");
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    // Accepted handshakes stay hidden without --all; the six ends show.
    assert_eq!(lines.len(), 6, "{stdout}");
    for v in &lines {
        assert_eq!(v["kind"], "session_end");
        assert_eq!(v["cause"], "idle-timeout");
        assert!(
            (v["idle_secs"].as_f64().unwrap_or(0.0) - 2.0).abs() < 0.1,
            "{v}"
        );
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("upgrade attempts: 6"), "{stderr}");
    assert!(stderr.contains("abnormal session ends: 6"), "{stderr}");
    // The fix is nginx's own directive on the client leg.
    assert!(lines.iter().any(|v| v["fix"]
        .as_str()
        .unwrap_or("")
        .contains("proxy_read_timeout")));
}
