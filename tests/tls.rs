//! TLS through the whole tool: recorded nginx TLS proxies whose client wrote
//! its key log (`fixtures/nginx-tls-keylog-*`), the same captures with the
//! secrets only in a pcapng Decryption Secrets Block (`nginx-tls-dsb-*`), and
//! the secrets never reaching any output; captures per TLS version and
//! cipher suite (`tls_fixtures.py`), with and without their key logs.

use std::path::Path;
use std::process::Command;

mod common;
use common::labels::{endpoint, labels_of};

const BIN: &str = env!("CARGO_BIN_EXE_wshs-sniff");
const GOOD: &str = "fixtures/nginx-tls-keylog-good__python-websockets";
const STRIPPED: &str = "fixtures/nginx-tls-keylog-stripped__python-websockets";
const DSB: &str = "fixtures/nginx-tls-dsb-stripped__python-websockets.pcapng";

fn run(args: &[&str]) -> (String, String, Option<i32>) {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run wshs-sniff");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.code(),
    )
}

/// Every secret of a key log, as hex, lower and upper case.
fn secrets(keylog: &str) -> Vec<String> {
    let text = std::fs::read_to_string(keylog).expect("key log");
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_whitespace().nth(2))
        .flat_map(|s| [s.to_lowercase(), s.to_uppercase()])
        .collect()
}

#[test]
fn the_encrypted_client_leg_is_found_with_the_key_log() {
    let pcap = format!("{STRIPPED}.pcap");
    let keylog = format!("{STRIPPED}.keylog");
    let (with, _, _) = run(&["-r", &pcap, "--json", "--all", "--tls-keylog", &keylog]);
    let client_legs: Vec<&str> = with
        .lines()
        .filter(|l| l.contains("\"leg\":\"client\""))
        .collect();
    assert_eq!(client_legs.len(), 1, "{with}");
    assert!(client_legs[0].contains(":18413\""), "{}", client_legs[0]);
    assert!(client_legs[0].contains("proxy-stripped-upgrade"));
    // Without the keys the same capture shows only the backend leg's request.
    let (without, _, _) = run(&["-r", &pcap, "--json", "--all"]);
    assert!(
        !without.contains("\"server\":\"127.0.0.1:18413\""),
        "{without}"
    );
}

#[test]
fn the_summary_says_how_many_tls_connections_could_not_be_read() {
    let pcap = format!("{GOOD}.pcap");
    let keylog = format!("{GOOD}.keylog");
    let (without, _, code) = run(&["-r", &pcap]);
    assert_eq!(code, Some(0));
    assert!(
        without.contains("tls: 1 connections, 0 decrypted (1 without keys"),
        "{without}"
    );
    assert!(without.contains("--tls-keylog"), "{without}");
    let (with, _, _) = run(&["-r", &pcap, "--tls-keylog", &keylog]);
    assert!(with.contains("tls: 1 connections, 1 decrypted\n"), "{with}");
    // No TLS, no line.
    let (plain, _, _) = run(&["-r", "fixtures/nginx-stripped__python-websockets.pcap"]);
    assert!(!plain.contains("tls:"), "{plain}");
}

#[test]
fn keys_in_a_decryption_secrets_block_need_no_option() {
    let (out, _, code) = run(&["-r", DSB, "--json", "--all"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("\"server\":\"127.0.0.1:18413\""), "{out}");
}

#[test]
fn key_material_never_reaches_any_output() {
    let per_suite = SUITES.iter().map(|(name, _, _)| format!("fixtures/{name}"));
    for base in [GOOD.to_string(), STRIPPED.to_string()]
        .into_iter()
        .chain(per_suite)
    {
        let pcap = format!("{base}.pcap");
        let keylog = format!("{base}.keylog");
        let hidden = secrets(&keylog);
        assert!(!hidden.is_empty(), "{keylog}: no secrets");
        for format in ["text", "json", "ecs"] {
            let (out, err, _) = run(&[
                "-r",
                &pcap,
                "--all",
                "--format",
                format,
                "--tls-keylog",
                &keylog,
            ]);
            for s in &hidden {
                assert!(
                    !out.contains(s.as_str()) && !err.contains(s.as_str()),
                    "{base} {format}: a secret was printed"
                );
            }
        }
    }
    let (out, err, _) = run(&["-r", DSB, "--all", "--json"]);
    for s in secrets(&format!("{STRIPPED}.keylog")) {
        assert!(!out.contains(s.as_str()) && !err.contains(s.as_str()));
    }
}

#[test]
fn a_file_that_is_no_key_log_is_a_one_line_error_without_its_contents() {
    let dir = std::env::temp_dir().join(format!("wshs-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bogus = dir.join("bogus.keylog");
    std::fs::write(&bogus, "CLIENT_RANDOM nothex supersecretvalue\n").expect("write");
    let (_, err, code) = run(&[
        "-r",
        &format!("{GOOD}.pcap"),
        "--tls-keylog",
        &bogus.to_string_lossy(),
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(!err.contains("supersecretvalue"));
    let (_, err, code) = run(&[
        "-r",
        &format!("{GOOD}.pcap"),
        "--tls-keylog",
        "/nonexistent/keys",
    ]);
    assert_eq!(code, Some(1));
    assert!(err.contains("cannot read key log"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The captures per TLS version and cipher suite (`tls_fixtures.py`): nginx
/// TLS termination and Node ws serving wss:// directly, curl and Node clients
/// that wrote their own key logs, and a TLS 1.2 session resumed from the
/// connection before it, TLS 1.3 handshakes through a HelloRetryRequest, and
/// requests sent after a KeyUpdate both ways (`openssl s_client`).
/// Name, version, suite, as their labels say.
const SUITES: &[(&str, &str, &str)] = &[
    (
        "nginx-tls12-aes128__curl",
        "TLSv1.2",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "nginx-tls12-aes256__node-ws",
        "TLSv1.2",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "node-wss-tls12-chacha__node-ws",
        "TLSv1.2",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "node-wss-tls12-resumed__node-ws",
        "TLSv1.2",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "node-wss-tls13-aes128__curl",
        "TLSv1.3",
        "TLS_AES_128_GCM_SHA256",
    ),
    (
        "node-wss-tls13-aes256__node-ws",
        "TLSv1.3",
        "TLS_AES_256_GCM_SHA384",
    ),
    (
        "nginx-tls13-chacha__curl",
        "TLSv1.3",
        "TLS_CHACHA20_POLY1305_SHA256",
    ),
    ("nginx-tls13-hrr__curl", "TLSv1.3", "TLS_AES_256_GCM_SHA384"),
    (
        "node-wss-tls13-keyupdate__openssl",
        "TLSv1.3",
        "TLS_AES_128_GCM_SHA256",
    ),
];

fn records(args: &[&str]) -> Vec<serde_json::Value> {
    let (out, err, code) = run(args);
    assert_eq!(code, Some(0), "{err}");
    out.lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn outcome_of(status: &serde_json::Value) -> &'static str {
    match status.as_u64() {
        Some(101) => "accepted",
        Some(_) => "rejected",
        None => "no_response",
    }
}

#[test]
fn every_version_and_suite_decrypts_to_the_labelled_outcome() {
    let (mut resumed, mut retried, mut updated) = (0, 0, 0);
    for (name, version, suite) in SUITES {
        let pcap = format!("fixtures/{name}.pcap");
        let labels = labels_of(Path::new(&pcap));
        let keylog = format!("fixtures/{name}.keylog");
        let found = records(&["-r", &pcap, "--json", "--all", "--tls-keylog", &keylog]);
        let inside: Vec<_> = labels.iter().filter(|l| l["tls"] == true).collect();
        assert!(
            inside.iter().any(|l| l["status"] == 101) && inside.iter().any(|l| l["status"] != 101),
            "{name}: an accepted handshake and a refusal inside TLS"
        );
        for l in &inside {
            assert_eq!(
                l["tls_version"], *version,
                "{name}: fixture and table differ"
            );
            assert_eq!(
                l["cipher_suite"], *suite,
                "{name}: fixture and table differ"
            );
            resumed += usize::from(l["session_resumed"] == true);
            retried += usize::from(l["hello_retry_request"] == true);
            updated += usize::from(l["key_update"] == true);
            let client = endpoint(l, "client");
            let r = found
                .iter()
                .find(|r| r["client"] == client.as_str())
                .unwrap_or_else(|| panic!("{name}: {client} not decrypted"));
            assert_eq!(r["tls"], true, "{name} {client}");
            assert_eq!(r["server"], endpoint(l, "server").as_str(), "{name}");
            assert_eq!(r["target"], l["request_path"], "{name} {client}");
            assert_eq!(r["status"], l["status"], "{name} {client}");
            assert_eq!(r["outcome"], outcome_of(&l["status"]), "{name} {client}");
            assert_eq!(r["cause"], l["cause"], "{name} {client}");
        }
        let decrypted = found.iter().filter(|r| r["tls"] == true).count();
        assert_eq!(decrypted, inside.len(), "{name}: attempts read inside TLS");
    }
    assert!(
        resumed > 0,
        "a resumed TLS 1.2 session is among the fixtures"
    );
    assert!(
        retried > 0,
        "a TLS 1.3 HelloRetryRequest is among the fixtures"
    );
    assert!(updated > 0, "a TLS 1.3 KeyUpdate is among the fixtures");
    for version in ["TLSv1.2", "TLSv1.3"] {
        for cipher in ["AES_128_GCM", "AES_256_GCM", "CHACHA20_POLY1305"] {
            assert!(
                SUITES
                    .iter()
                    .any(|(_, v, s)| *v == version && s.contains(cipher)),
                "{version} {cipher} has no fixture"
            );
        }
    }
}

#[test]
fn without_the_key_log_the_encrypted_attempts_are_not_invented() {
    for (name, _, _) in SUITES {
        let pcap = format!("fixtures/{name}.pcap");
        let labels = labels_of(Path::new(&pcap));
        let found = records(&["-r", &pcap, "--json", "--all"]);
        for l in &labels {
            let client = endpoint(l, "client");
            let r = found.iter().find(|r| r["client"] == client.as_str());
            if l["tls"] == true {
                // The request never left TLS: nothing of it may be reported.
                assert!(r.is_none(), "{name}: {client} reported without keys: {r:?}");
                continue;
            }
            // A proxy's clear backend leg is read as ever, and says so.
            let r = r.unwrap_or_else(|| panic!("{name}: backend leg {client} not found"));
            assert_eq!(r["tls"], false, "{name} {client}");
            assert_eq!(r["status"], l["status"], "{name} {client}");
            assert_eq!(r["cause"], l["cause"], "{name} {client}");
        }
        let backend_legs = labels.iter().filter(|l| l["tls"] != true).count();
        assert_eq!(found.len(), backend_legs, "{name}: {found:?}");
    }
}
