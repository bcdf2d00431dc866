//! Turning `-r` arguments into an ordered list of capture files: directories and
//! glob patterns are expanded, and the files are ordered by their first packet's
//! time, so consecutive slices of a rotated capture (tcpdump `-C`/`-G`) are read
//! as one stream and an attempt whose request and response fall in two slices is
//! still paired.

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

/// The time of a file's first packet (`None` for an empty or unreadable file,
/// which sorts first and reports its problem when read).
fn first_packet_time(path: &str) -> Option<Timestamp> {
    let mut s = FileSource::open(path).ok()?;
    s.next_packet().ok().flatten().map(|p| p.ts)
}

/// Expand every argument and open the files, ordered by first packet time
/// (stdin stays where it was given, first). Errors name the file.
pub fn open_all(args: &[String]) -> Result<Vec<FileSource>, CaptureError> {
    let mut paths = Vec::new();
    for a in args {
        for p in expand(a)? {
            if !paths.contains(&p) {
                paths.push(p);
            }
        }
    }
    if paths.len() > 1 && !paths.iter().any(|p| p == "-") {
        let mut keyed: Vec<(Option<Timestamp>, String)> = paths
            .into_iter()
            .map(|p| (first_packet_time(&p), p))
            .collect();
        keyed.sort();
        paths = keyed.into_iter().map(|(_, p)| p).collect();
    }
    paths.iter().map(|p| FileSource::open(p)).collect()
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
        assert!(files.iter().all(|f| f.ends_with(".pcap")));
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
