//! Outside tools the tests read files back with (tshark, tcprewrite).

use std::path::Path;
use std::process::Command;

/// Whether `tool` runs; a skip says so on stderr, and is a failure under
/// `WSHS_E2E_REQUIRED=1` (set by `.ci/run`).
pub fn have_tool(tool: &str) -> bool {
    if Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return true;
    }
    if std::env::var("WSHS_E2E_REQUIRED").is_ok_and(|v| v == "1") {
        panic!("{tool} is not installed (WSHS_E2E_REQUIRED=1)");
    }
    eprintln!("skipping: {tool} is not installed");
    false
}

/// tshark's `fields` for every packet of `file` (`args` may filter with `-Y`
/// or set preferences with `-o`), one row per packet.
pub fn tshark(file: &Path, args: &[&str], fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r")
        .arg(file)
        .args(["-T", "fields", "-E", "separator=/t"])
        .args(args);
    for f in fields {
        cmd.args(["-e", f]);
    }
    let o = cmd.output().expect("tshark");
    assert!(
        o.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}
