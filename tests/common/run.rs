//! Running the built binary and reading back its `--json` output, one JSON
//! value per line.

use std::process::Command;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_wshs-sniff");

/// The records `wshs-sniff args` prints; the run must succeed (its stderr
/// is the failure message otherwise).
pub fn json_lines(args: &[&str]) -> Vec<Value> {
    let out = Command::new(BIN)
        .args(args)
        .output()
        .expect("run wshs-sniff");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_json_lines(&String::from_utf8_lossy(&out.stdout))
}

/// Every line of `stdout` as JSON; a line that is not fails the test.
pub fn parse_json_lines(stdout: &str) -> Vec<Value> {
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}
