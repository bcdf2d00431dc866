//! Every fixture replayed against its golden JSON Lines (`fixtures/NAME.expected.jsonl`,
//! the output of `wshs-sniff -r NAME.pcap --json --all`, written here by the
//! same reporter the binary uses). A mismatch prints a line diff. After a deliberate change, regenerate with
//! `WSHS_UPDATE_GOLDEN=1 cargo test --release --test golden` and review the diff.

use std::path::Path;

use wshs_sniff::pipeline::Config;

fn render(pcap: &Path) -> String {
    // A fixture recorded with its client's key log is read with it.
    let mut cfg = Config::default();
    if let Ok(text) = std::fs::read(pcap.with_extension("keylog")) {
        cfg.http.tls_keys = Some(std::sync::Arc::new(wshs_sniff::tls::KeyLog::parse(&text)));
    }
    let a = wshs_sniff::analyze_files(&[pcap.to_string_lossy()], &cfg).expect("fixture opens");
    assert!(a.error.is_none(), "{}: {:?}", pcap.display(), a.error);
    String::from_utf8(a.output).expect("JSON Lines are UTF-8")
}

/// A readable diff: the lines only in the expected file and only in the actual
/// output, each with its line number.
fn diff(expected: &str, actual: &str) -> String {
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let mut out = String::new();
    for i in 0..e.len().max(a.len()) {
        match (e.get(i), a.get(i)) {
            (Some(x), Some(y)) if x == y => {}
            (x, y) => {
                if let Some(x) = x {
                    out.push_str(&format!("- {}: {x}\n", i + 1));
                }
                if let Some(y) = y {
                    out.push_str(&format!("+ {}: {y}\n", i + 1));
                }
            }
        }
    }
    out
}

#[test]
fn every_fixture_matches_its_golden_output() {
    let update = std::env::var_os("WSHS_UPDATE_GOLDEN").is_some();
    let mut pcaps: Vec<_> = std::fs::read_dir("fixtures")
        .expect("fixtures dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    pcaps.sort();
    assert!(pcaps.len() >= 10, "too few fixtures");
    let mut failures = Vec::new();
    for pcap in &pcaps {
        let golden = pcap.with_extension("expected.jsonl");
        let actual = render(pcap);
        assert!(!actual.is_empty(), "{}: no attempt found", pcap.display());
        if update {
            std::fs::write(&golden, &actual).expect("write golden");
            continue;
        }
        let expected = std::fs::read_to_string(&golden).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (generate with WSHS_UPDATE_GOLDEN=1)",
                golden.display()
            )
        });
        if expected != actual {
            failures.push(format!("{}:\n{}", pcap.display(), diff(&expected, &actual)));
        }
    }
    assert!(
        failures.is_empty(),
        "golden mismatches:\n{}",
        failures.join("\n")
    );
}

#[test]
fn output_is_identical_whatever_the_worker_count() {
    let pcap = Path::new("fixtures/nginx-stripped__python-websockets.pcap");
    let one = render(pcap);
    for workers in [2, 3, 5] {
        let cfg = Config {
            workers,
            ..Config::default()
        };
        let a = wshs_sniff::analyze_files(&[pcap.to_string_lossy()], &cfg).expect("opens");
        assert_eq!(one.as_bytes(), a.output, "workers={workers}");
    }
}
