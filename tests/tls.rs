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
fn a_browsers_spare_connection_with_keys_is_not_called_keyless() {
    // Chromium opened a second TLS connection, finished its handshake
    // (its secrets are in the key log) and never sent a request on it.
    let name = "fixtures/hypercorn-tls-h2__chromium";
    let (pcap, keylog) = (format!("{name}.pcap"), format!("{name}.keylog"));
    let (with, _, code) = run(&["-r", &pcap, "--tls-keylog", &keylog]);
    assert_eq!(code, Some(0));
    assert!(
        with.contains(
            "tls: 2 connections, 1 decrypted, 1 with keys but no application data opened\n"
        ),
        "{with}"
    );
    let (without, _, _) = run(&["-r", &pcap]);
    assert!(
        without.contains("tls: 2 connections, 0 decrypted (2 without keys"),
        "{without}"
    );
}

/// Chromium through a TLS proxy (HTTP/2 to the proxy, HTTP/1.1 behind it),
/// read without keys: a backend leg names as its peer the connection the
/// proxy's access log gave the browser's request, not the spare connection
/// Chromium opened beside it, which carried nothing. The recorder writes the
/// client legs' labels and then the backend legs' in the same order, the
/// i-th of each for the same request.
#[test]
fn without_keys_a_backend_leg_names_the_browsers_used_connection() {
    let mut checked = 0;
    for name in [
        "haproxy-h2-tls__chromium",
        "apache-h2-tls__chromium",
        "apache-h2-stripped__chromium",
        "apache-h2-host__chromium",
        "nghttpx-h2-tls__chromium",
    ] {
        let pcap = format!("fixtures/{name}.pcap");
        let labels = labels_of(Path::new(&pcap));
        let leg = |l: &str| -> Vec<&serde_json::Value> {
            labels.iter().filter(|x| x["leg"] == l).collect()
        };
        let (clients, backends) = (leg("client"), leg("backend"));
        assert_eq!(clients.len(), backends.len(), "{name}");
        let found = records(&["-r", &pcap, "--json", "--all"]);
        for (c, b) in clients.iter().zip(&backends) {
            let from = endpoint(b, "client");
            let r = found
                .iter()
                .find(|r| r["client"] == from.as_str())
                .unwrap_or_else(|| panic!("{name}: no record from {from}"));
            let want = format!("{}>{}", endpoint(c, "client"), endpoint(c, "server"));
            assert_eq!(r["leg"], "backend", "{name} {from}");
            assert_eq!(r["peer"], want.as_str(), "{name} {from}");
            checked += 1;
        }
    }
    assert_eq!(checked, 16);
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

/// A pcap record: seconds, microseconds, original length, bytes.
type Rec = (u32, u32, u32, Vec<u8>);

/// Key log texts, each with the index of the packet it is written before.
type Placed = Vec<(usize, Vec<u8>)>;

/// A classic little-endian microsecond pcap's link type and records.
fn pcap_records(pcap: &[u8]) -> (u32, Vec<Rec>) {
    assert_eq!(pcap[..4], [0xd4, 0xc3, 0xb2, 0xa1], "a little-endian pcap");
    let le = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap());
    let linktype = le(pcap, 20);
    let mut at = 24;
    let mut out = Vec::new();
    while at + 16 <= pcap.len() {
        let caplen = le(pcap, at + 8) as usize;
        let data = pcap[at + 16..at + 16 + caplen].to_vec();
        out.push((le(pcap, at), le(pcap, at + 4), le(pcap, at + 12), data));
        at += 16 + caplen;
    }
    (linktype, out)
}

/// One little-endian pcapng block: type, body padded to 4 bytes, lengths.
fn ng_block(kind: u32, body: &[u8]) -> Vec<u8> {
    let padded = body.len().div_ceil(4) * 4;
    let len = (12 + padded) as u32;
    let mut b = Vec::new();
    b.extend_from_slice(&kind.to_le_bytes());
    b.extend_from_slice(&len.to_le_bytes());
    b.extend_from_slice(body);
    b.resize(8 + padded, 0);
    b.extend_from_slice(&len.to_le_bytes());
    b
}

/// A Decryption Secrets Block holding `keylog` as a TLS key log.
fn dsb(keylog: &[u8]) -> Vec<u8> {
    let mut body = 0x544c_534bu32.to_le_bytes().to_vec();
    body.extend_from_slice(&(keylog.len() as u32).to_le_bytes());
    body.extend_from_slice(keylog);
    ng_block(0x0a, &body)
}

/// The pcap's packets as pcapng, with `secrets[i]` written before packet i
/// (and `secrets[len]` after the last).
fn pcapng_with_secrets(pcap: &[u8], secrets: &Placed) -> Vec<u8> {
    let (linktype, recs) = pcap_records(pcap);
    let mut shb = 0x1a2b_3c4du32.to_le_bytes().to_vec();
    shb.extend_from_slice(&[1, 0, 0, 0]);
    shb.extend_from_slice(&u64::MAX.to_le_bytes());
    let mut out = ng_block(0x0a0d_0d0a, &shb);
    let mut idb = (linktype as u16).to_le_bytes().to_vec();
    idb.extend_from_slice(&[0, 0]);
    idb.extend_from_slice(&262_144u32.to_le_bytes());
    out.extend(ng_block(1, &idb));
    let secrets_at = |i: usize| secrets.iter().filter(move |(at, _)| *at == i);
    for (i, (secs, usecs, orig, data)) in recs.iter().enumerate() {
        for (_, s) in secrets_at(i) {
            out.extend(dsb(s));
        }
        let ticks = u64::from(*secs) * 1_000_000 + u64::from(*usecs);
        let mut epb = 0u32.to_le_bytes().to_vec();
        epb.extend_from_slice(&((ticks >> 32) as u32).to_le_bytes());
        epb.extend_from_slice(&(ticks as u32).to_le_bytes());
        epb.extend_from_slice(&(data.len() as u32).to_le_bytes());
        epb.extend_from_slice(&orig.to_le_bytes());
        epb.extend_from_slice(data);
        out.extend(ng_block(6, &epb));
    }
    for (_, s) in secrets_at(recs.len()) {
        out.extend(dsb(s));
    }
    out
}

/// The index of the first packet that carries a protected TLS record: an
/// application data record, or (TLS 1.2) any record after a ChangeCipherSpec
/// in the same direction; TLS 1.3 sends its ChangeCipherSpec only for
/// middleboxes. Reads Ethernet, IPv4 and TCP of in-order loopback
/// captures, one TLS connection.
fn first_protected_packet(pcap: &[u8], tls13: bool) -> usize {
    use std::collections::HashMap;
    let (linktype, recs) = pcap_records(pcap);
    assert_eq!(linktype, 1, "Ethernet");
    // Per direction (source port): bytes not yet framed, and whether a
    // ChangeCipherSpec came.
    let mut dirs: HashMap<u16, (Vec<u8>, bool)> = HashMap::new();
    for (i, (_, _, _, frame)) in recs.iter().enumerate() {
        let ip = &frame[14..];
        let ihl = usize::from(ip[0] & 0x0f) * 4;
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let tcp = &ip[ihl..total];
        let payload = &tcp[usize::from(tcp[12] >> 4) * 4..];
        if payload.is_empty() {
            continue;
        }
        let port = u16::from_be_bytes([tcp[0], tcp[1]]);
        let (buf, changed) = dirs.entry(port).or_default();
        buf.extend_from_slice(payload);
        while buf.len() >= 5 {
            let len = 5 + usize::from(u16::from_be_bytes([buf[3], buf[4]]));
            if buf.len() < len {
                break;
            }
            match buf[0] {
                0x14 => *changed = true,
                0x17 => return i,
                _ if *changed && !tls13 => return i,
                _ => {}
            }
            buf.drain(..len);
        }
    }
    panic!("no protected record")
}

/// A per-suite fixture's capture and key log, and what the tool finds in it
/// with the key log given and without.
struct Suite {
    pcap: Vec<u8>,
    keylog: Vec<u8>,
    with_keys: String,
    without: String,
}

fn suite(name: &str) -> Suite {
    let pcap_path = format!("fixtures/{name}.pcap");
    let keylog_path = format!("fixtures/{name}.keylog");
    let (with_keys, _, _) = run(&[
        "-r",
        &pcap_path,
        "--json",
        "--all",
        "--tls-keylog",
        &keylog_path,
    ]);
    let (without, _, _) = run(&["-r", &pcap_path, "--json", "--all"]);
    assert_ne!(with_keys, without, "{name}: the keys make no difference");
    Suite {
        pcap: std::fs::read(&pcap_path).expect("pcap"),
        keylog: std::fs::read(&keylog_path).expect("key log"),
        with_keys,
        without,
    }
}

#[test]
fn secrets_stored_in_the_capture_open_the_packets_after_them() {
    let dir = std::env::temp_dir().join(format!("wshs-dsb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (name, version, _) in SUITES {
        let Suite {
            pcap,
            keylog,
            with_keys,
            without,
        } = suite(name);
        let n = pcap_records(&pcap).1.len();
        let late = first_protected_packet(&pcap, *version == "TLSv1.3") + 1;
        let placeholder = b"# keys follow\n".to_vec();
        // (case, where the secrets are, output expected, or not expected)
        let cases: [(&str, Placed, &str, bool); 4] = [
            ("first", vec![(0, keylog.clone())], &with_keys, true),
            // Written after the records they open (eCapture writes a
            // connection's secrets as its handshake makes them): once the
            // capture has carried secrets, those records wait for them.
            (
                "late",
                vec![(0, placeholder.clone()), (late, keylog.clone())],
                &with_keys,
                true,
            ),
            // With no secrets before, nothing waits: a single pass, as tshark
            // reads the file, cannot open the first connection.
            (
                "late, none before",
                vec![(late, keylog.clone())],
                &with_keys,
                false,
            ),
            (
                "at the end",
                vec![(0, placeholder.clone()), (n, keylog.clone())],
                &without,
                true,
            ),
        ];
        for (case, secrets, expected, same) in cases {
            let path = dir.join(format!("{name}.pcapng"));
            std::fs::write(&path, pcapng_with_secrets(&pcap, &secrets)).expect("write");
            let (out, err, code) = run(&["-r", &path.to_string_lossy(), "--json", "--all"]);
            assert_eq!(code, Some(0), "{name} {version} {case}: {err}");
            assert_eq!(
                out == expected,
                same,
                "{name} {version}, secrets {case}:\n{out}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn secrets_in_a_capture_read_from_a_pipe_are_used() {
    use std::io::Write;
    use std::process::Stdio;
    let (from_file, _, _) = run(&["-r", DSB, "--json", "--all"]);
    assert!(
        from_file.contains("\"server\":\"127.0.0.1:18413\""),
        "{from_file}"
    );
    let mut child = Command::new(BIN)
        .args(["-r", "-", "--json", "--all"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run wshs-sniff");
    let bytes = std::fs::read(DSB).expect("fixture");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&bytes)
        .expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), from_file);
}

#[test]
fn secrets_past_the_limit_are_left_unused_and_said_so() {
    let s = suite("nginx-tls12-aes128__curl");
    let limit = wshs_sniff::pipeline::MAX_IN_BAND_SECRETS;
    let dir = std::env::temp_dir().join(format!("wshs-dsb-cap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("secrets.pcapng");
    // A comment block filling the limit, then the real secrets, which no
    // longer fit; with as many bytes of comments fewer, they do.
    for (filler, expected, unused) in [
        (limit, &s.without, true),
        (limit - s.keylog.len(), &s.with_keys, false),
    ] {
        let comments = [b"#".repeat(filler - 1), b"\n".to_vec()].concat();
        let secrets: Placed = vec![(0, comments), (0, s.keylog.clone())];
        std::fs::write(&path, pcapng_with_secrets(&s.pcap, &secrets)).expect("write");
        let (out, err, code) = run(&["-r", &path.to_string_lossy(), "--json", "--all"]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(&out, expected, "filler {filler}");
        let said = format!(
            "tls: {} bytes of secrets in the capture left unused",
            s.keylog.len()
        );
        assert_eq!(err.contains(&said), unused, "filler {filler}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A refusal read again once its two legs were paired (here an Origin set
/// against the ones the same servers accepted before) keeps the note of what
/// the proxy changed, as every other paired leg has it: nginx rewrote Host.
#[test]
fn a_refusal_read_after_pairing_keeps_what_the_proxy_changed() {
    let base = "fixtures/nginx-tls12-aes128__curl";
    let (pcap, keylog) = (format!("{base}.pcap"), format!("{base}.keylog"));
    let found = records(&["-r", &pcap, "--tls-keylog", &keylog, "--json", "--all"]);
    let refused: Vec<&serde_json::Value> = found
        .iter()
        .filter(|r| r["cause"] == "origin-rejected" && r["leg"] != "direct")
        .collect();
    assert_eq!(refused.len(), 2, "{found:?}");
    for r in refused {
        let ev = r["evidence"].as_str().unwrap_or("");
        assert!(
            ev.contains("(proxy changed: Host '127.0.0.1:18520' became '127.0.0.1')"),
            "{}: {ev}",
            r["leg"]
        );
    }
}
