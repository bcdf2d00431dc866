//! Files written for someone else hold no secret: `--write-rejected` (pcap and
//! pcapng) and `--annotate` mask the Cookie and Authorization values and the
//! query credentials of a real recorded attempt in the packets themselves,
//! keep every length (the masked file analyses to the same records) and keep
//! the TCP checksums right (tshark verifies them); `--no-redact` keeps the
//! values. Requests that arrived as IP fragments are masked across the
//! fragments' boundaries and written whole. Skipped with a message when
//! tshark or tcprewrite is missing; a failure under `WSHS_E2E_REQUIRED=1`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::tools::{have_tool, tshark};

const BIN: &str = env!("CARGO_BIN_EXE_wshs-sniff");

/// A real attempt (python-websockets behind an Origin check) carrying a
/// Cookie, an Authorization header and a `token` query parameter.
const FIXTURE: &str = "python-websockets__credentials.pcap";
/// The secret values the fixture's driver sent.
const SECRETS: &[&str] = &[
    "FAKE-session-cookie-not-a-secret",
    "FAKE-bearer-token-not-a-secret",
    "FAKE-query-token-not-a-secret",
];

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("safe_exports");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Run the tool; its JSON records (stdout).
fn records(args: &[&str]) -> Vec<String> {
    let o = Command::new(BIN).args(args).output().expect("run");
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// One field of every packet of `file`, TCP checksums verified.
fn field(file: &Path, name: &str) -> Vec<String> {
    tshark(file, &["-o", "tcp.check_checksum:TRUE"], &[name])
        .into_iter()
        .map(|mut row| row.swap_remove(0))
        .collect()
}

/// `tcp.checksum.status` as tshark prints it for a verified right checksum.
const CHECKSUM_GOOD: &str = "1";

/// The fixture with its TCP checksums filled in: recorded on loopback, its
/// checksums were left to an offload that never ran.
fn input() -> PathBuf {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(FIXTURE);
    let fixed = scratch("credentials-checksummed.pcap");
    let o = Command::new("tcprewrite")
        .arg("--fixcsum")
        .arg("-i")
        .arg(&fixture)
        .arg("-o")
        .arg(&fixed)
        .output()
        .expect("tcprewrite");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let status = field(&fixed, "tcp.checksum.status");
    assert!(status.iter().all(|c| c == CHECKSUM_GOOD), "{status:?}");
    let bytes = std::fs::read(&fixed).expect("read");
    for secret in SECRETS {
        assert!(holds(&bytes, secret), "the fixture lacks {secret}");
    }
    fixed
}

fn holds(bytes: &[u8], s: &str) -> bool {
    bytes.windows(s.len()).any(|w| w == s.as_bytes())
}

/// Each way of writing packets out, as the options that ask for it.
fn exports() -> Vec<(&'static str, &'static str)> {
    vec![
        ("--write-rejected", "rejected.pcap"),
        ("--write-rejected", "rejected.pcapng"),
        ("--annotate", "annotated.pcapng"),
    ]
}

#[test]
fn written_packets_hold_no_secret_and_still_analyse_the_same() {
    if !have_tool("tshark") || !have_tool("tcprewrite") {
        return;
    }
    let input = input();
    let original = records(&["-r", s(&input), "--json"]);
    assert_eq!(original.len(), 1, "{original:?}");
    let lengths = field(&input, "frame.len");
    for (option, name) in exports() {
        let out = scratch(name);
        records(&["-r", s(&input), "--json", option, s(&out)]);
        let bytes = std::fs::read(&out).expect("written");
        for secret in SECRETS {
            assert!(!holds(&bytes, secret), "{option} {name} holds {secret}");
        }
        // Same lengths, so the same sequence numbers: the same attempt.
        assert_eq!(records(&["-r", s(&out), "--json"]), original, "{name}");
        assert_eq!(field(&out, "frame.len"), lengths, "{name}");
        let status = field(&out, "tcp.checksum.status");
        assert!(
            status.iter().all(|c| c == CHECKSUM_GOOD),
            "{name}: checksums {status:?}"
        );
    }
}

#[test]
fn no_redact_writes_the_packets_as_captured() {
    if !have_tool("tshark") || !have_tool("tcprewrite") {
        return;
    }
    let input = input();
    for (option, name) in exports() {
        let out = scratch(&format!("kept-{name}"));
        records(&["-r", s(&input), "--json", "--no-redact", option, s(&out)]);
        let bytes = std::fs::read(&out).expect("written");
        for secret in SECRETS {
            assert!(holds(&bytes, secret), "--no-redact {name} lacks {secret}");
        }
    }
}

/// Requests a router split into IP fragments (a recorded fixture), each with
/// a Cookie whose values run across the fragments' boundaries.
const FRAGMENTED: &str = "router-fragments__python-websockets.pcap";

/// Who, what and why of each record.
fn findings(records: &[String]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            let v: serde_json::Value = serde_json::from_str(r).expect("JSON");
            ["client", "server", "target", "status", "cause", "header"]
                .map(|k| v[k].to_string())
                .join(" ")
        })
        .collect()
}

/// Stretches of the fixture's two cookie values, 64 bytes each.
fn cookie_stretches() -> [String; 2] {
    ["f".repeat(64), "p".repeat(64)]
}

#[test]
fn fragmented_requests_are_masked_across_fragments_and_written_whole() {
    if !have_tool("tshark") {
        return;
    }
    let input = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(FRAGMENTED);
    let bytes = std::fs::read(&input).expect("fixture");
    for c in cookie_stretches() {
        assert!(holds(&bytes, &c), "the fixture lacks its cookie");
    }
    let all = records(&["-r", s(&input), "--json", "--all"]);
    assert_eq!(all.len(), 4, "{all:?}");
    let refused = records(&["-r", s(&input), "--json"]);
    assert_eq!(refused.len(), 3, "{refused:?}");
    // The four rebuilt datagrams' checksums are right in the capture (the
    // router computed them to fragment); masking must keep them so.
    let good = |f: &Path| {
        field(f, "tcp.checksum.status")
            .iter()
            .filter(|c| *c == CHECKSUM_GOOD)
            .count()
    };
    assert_eq!(good(&input), 4);
    for (option, name) in exports() {
        let out = scratch(&format!("fragments-{name}"));
        records(&["-r", s(&input), "--json", option, s(&out)]);
        let written = std::fs::read(&out).expect("written");
        for c in cookie_stretches() {
            assert!(!holds(&written, &c), "{option} {name} holds the cookie");
        }
        let want = if option == "--annotate" {
            &all
        } else {
            &refused
        };
        // Alone, a refusal cannot be compared with the accepted attempt
        // left out of the file: its evidence may differ, not its finding.
        assert_eq!(
            findings(&records(&["-r", s(&out), "--json", "--all"])),
            findings(want),
            "{name}"
        );
        assert_eq!(
            good(&out),
            want.len(),
            "{name}: rebuilt datagrams' checksums"
        );
        let kept = scratch(&format!("fragments-kept-{name}"));
        records(&["-r", s(&input), "--json", "--no-redact", option, s(&kept)]);
        let kept = std::fs::read(&kept).expect("written");
        for c in cookie_stretches() {
            assert!(holds(&kept, &c), "--no-redact {name} lacks the cookie");
        }
    }
    assert_eq!(
        field(&scratch("fragments-annotated.pcapng"), "frame.len"),
        field(&input, "frame.len"),
        "the annotated copy keeps every packet and its length"
    );
}
