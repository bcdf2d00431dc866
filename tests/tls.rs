//! TLS through the whole tool: recorded nginx TLS proxies whose client wrote
//! its key log (`fixtures/nginx-tls-keylog-*`), the same captures with the
//! secrets only in a pcapng Decryption Secrets Block (`nginx-tls-dsb-*`), and
//! the secrets never reaching any output.

use std::process::Command;

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
fn keys_in_a_decryption_secrets_block_need_no_option() {
    let (out, _, code) = run(&["-r", DSB, "--json", "--all"]);
    assert_eq!(code, Some(0));
    assert!(out.contains("\"server\":\"127.0.0.1:18413\""), "{out}");
}

#[test]
fn key_material_never_reaches_any_output() {
    for base in [GOOD, STRIPPED] {
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
