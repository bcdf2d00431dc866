//! Turning `-r` arguments into an ordered list of capture files: directories and
//! glob patterns are expanded, and the files are ordered by their first packet's
//! time, so consecutive slices of a rotated capture (tcpdump `-C`/`-G`) are read
//! as one stream and an attempt whose request and response fall in two slices is
//! still paired.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::file::FileSource;
use super::{CaptureError, Timestamp};

fn is_capture_name(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase());
    name.is_some_and(|n| {
        n.ends_with(".pcap")
            || n.ends_with(".pcapng")
            || n.ends_with(".cap")
            || n.ends_with(".dmp")
            // tcpdump -C names its slices FILE, FILE1, FILE2…
            || n.rsplit_once(".pcap").is_some_and(|(_, rest)| rest.chars().all(|c| c.is_ascii_digit()))
    })
}

/// Expand one argument: `-` and plain files as they are, a directory to the
/// capture files in it (sorted), a glob pattern to its matches.
pub fn expand(arg: &str) -> Result<Vec<String>, CaptureError> {
    if arg == "-" {
        return Ok(vec![arg.to_string()]);
    }
    let p = Path::new(arg);
    if p.is_dir() {
        let rd = std::fs::read_dir(p).map_err(|e| CaptureError::Open {
            name: arg.to_string(),
            source: e,
        })?;
        let mut files: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && is_capture_name(p))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(CaptureError::Open {
                name: arg.to_string(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "directory holds no .pcap/.pcapng files",
                ),
            });
        }
        return Ok(files
            .into_iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect());
    }
    if !p.exists() && arg.contains(['*', '?', '[']) {
        let mut files: Vec<String> = glob::glob(arg)
            .map_err(|e| CaptureError::Open {
                name: arg.to_string(),
                source: std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()),
            })?
            .filter_map(Result::ok)
            .filter(|p| p.is_file())
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(CaptureError::Open {
                name: arg.to_string(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no file matches"),
            });
        }
        return Ok(files);
    }
    Ok(vec![arg.to_string()])
}

/// The time of a file's first packet (`None` for a file without packets, or
/// damaged before its first, which sorts first and reports its problem when
/// read). The file is closed again: it is opened for reading when its turn
/// comes.
fn first_packet_time(path: &str) -> Result<Option<Timestamp>, CaptureError> {
    let mut s = FileSource::open(path)?;
    Ok(s.next_packet().ok().flatten().map(|p| p.ts))
}

/// Expand every argument into the files to read, in the order to read them:
/// by first packet time (stdin stays where it was given, and then nothing is
/// reordered). Each file is opened once here, one at a time, so one that
/// cannot be read is an error before the analysis starts; errors name the
/// file.
pub fn ordered(args: &[String]) -> Result<Vec<String>, CaptureError> {
    let mut paths = Vec::new();
    let mut seen = HashSet::new();
    for a in args {
        for p in expand(a)? {
            if seen.insert(p.clone()) {
                paths.push(p);
            }
        }
    }
    if paths.iter().any(|p| p == "-") {
        return Ok(paths);
    }
    let mut keyed = Vec::with_capacity(paths.len());
    for p in paths {
        keyed.push((first_packet_time(&p)?, p));
    }
    // Same first packet time (or none): by name.
    keyed.sort();
    Ok(keyed.into_iter().map(|(_, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_names() {
        assert!(is_capture_name(Path::new("a/b.pcap")));
        assert!(is_capture_name(Path::new("b.pcapng")));
        assert!(is_capture_name(Path::new("dump.pcap12")));
        assert!(!is_capture_name(Path::new("b.labels.json")));
    }

    #[test]
    fn directories_expand_to_their_captures_in_order() {
        let files = expand("fixtures").unwrap_or_default();
        assert!(files.len() > 10);
        assert!(files
            .iter()
            .all(|f| f.ends_with(".pcap") || f.ends_with(".pcapng")));
        let mut sorted = files.clone();
        sorted.sort();
        assert_eq!(files, sorted);
    }

    #[test]
    fn globs_expand_and_missing_patterns_fail() {
        let files = expand("fixtures/node-ws__*.pcap").unwrap_or_default();
        assert!(!files.is_empty());
        assert!(files.iter().all(|f| f.contains("node-ws__")));
        assert!(expand("fixtures/nothing-*.pcap").is_err());
    }
}
