//! The shared capture set next to the repository (`../shared`, or the folder
//! `WSHS_SHARED_DIR` names). Tests that need it skip with a message when it is
//! absent, except under `WSHS_SHARED_REQUIRED=1` (set by `.ci/run`), where a
//! skip would hide a whole suite and is a failure instead.

use std::path::PathBuf;

/// The shared folder `sub` (`corpus`, `captures`), or `None` after printing why
/// `test` skips.
pub fn shared_dir(sub: &str, test: &str) -> Option<PathBuf> {
    let root = std::env::var_os("WSHS_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    let dir = root.join(sub);
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("WSHS_SHARED_REQUIRED").is_ok_and(|v| v == "1") {
        panic!(
            "{test}: cannot run: {} is absent (WSHS_SHARED_REQUIRED=1)",
            dir.display()
        );
    }
    eprintln!("{test}: skipped: {} is absent", dir.display());
    None
}
