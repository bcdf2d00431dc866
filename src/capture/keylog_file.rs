//! The TLS secrets a run starts with: the `--tls-keylog` file (the input's
//! own Decryption Secrets Blocks reach the flow workers with its packets).
//! The file's contents never reach an error message.
//!
//! Live, the key log file is being written while it is read: browsers and
//! libraries append a connection's secrets during its handshake, so it is
//! looked at again whenever a connection's secrets are missing (a `stat`
//! when it has not grown). Only whole lines are taken; a line being written
//! waits.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex, RwLock};

use crate::tls::{KeyLog, KeySource, Secrets, SharedKeys};

#[derive(Debug, thiserror::Error)]
pub enum KeyLogError {
    #[error("cannot read key log {path}: {source}")]
    Unreadable {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: no TLS secrets in NSS key log format")]
    Empty { path: String },
}

/// Read a whole NSS key log file; one without a single secret is an error,
/// since decrypting with it could only fail.
pub fn read(path: &str) -> Result<KeyLog, KeyLogError> {
    let text = std::fs::read(path).map_err(|source| KeyLogError::Unreadable {
        path: path.to_string(),
        source,
    })?;
    let log = KeyLog::parse(&text);
    if log.is_empty() {
        return Err(KeyLogError::Empty {
            path: path.to_string(),
        });
    }
    Ok(log)
}

/// The secrets of `keylog`, `None` without one. `live`: the key log may
/// still grow and is read again as connections need it.
pub fn for_run(keylog: Option<&str>, live: bool) -> Result<Option<SharedKeys>, KeyLogError> {
    Ok(match keylog {
        Some(path) if live => Some(Arc::new(GrowingKeyLog::open(path).map_err(|source| {
            KeyLogError::Unreadable {
                path: path.to_string(),
                source,
            }
        })?)),
        Some(path) => Some(Arc::new(read(path)?)),
        None => None,
    })
}

#[derive(Debug)]
struct Tail {
    path: String,
    /// Bytes of the file already parsed.
    offset: u64,
}

/// The secrets of a key log file that may still grow.
#[derive(Debug)]
pub struct GrowingKeyLog {
    log: RwLock<KeyLog>,
    tail: Mutex<Tail>,
}

impl GrowingKeyLog {
    /// Read what the file holds now.
    pub fn open(path: &str) -> std::io::Result<GrowingKeyLog> {
        let g = GrowingKeyLog {
            log: RwLock::new(KeyLog::default()),
            tail: Mutex::new(Tail {
                path: path.to_string(),
                offset: 0,
            }),
        };
        g.read_more()?;
        Ok(g)
    }

    pub fn len(&self) -> usize {
        self.log.read().map_or(0, |l| l.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Parse the whole lines appended since the last look.
    fn read_more(&self) -> std::io::Result<()> {
        let Ok(mut tail) = self.tail.lock() else {
            return Ok(());
        };
        let len = std::fs::metadata(&tail.path)?.len();
        if len == tail.offset {
            return Ok(());
        }
        if len < tail.offset {
            // Truncated and rewritten: start again.
            tail.offset = 0;
        }
        let mut f = File::open(&tail.path)?;
        f.seek(SeekFrom::Start(tail.offset))?;
        let mut fresh = Vec::new();
        f.take(len - tail.offset).read_to_end(&mut fresh)?;
        let Some(end) = fresh.iter().rposition(|&b| b == b'\n') else {
            return Ok(());
        };
        tail.offset += end as u64 + 1;
        if let Ok(mut log) = self.log.write() {
            log.add(&fresh[..=end]);
        }
        Ok(())
    }
}

impl KeySource for GrowingKeyLog {
    fn secrets(&self, client_random: &[u8; 32]) -> Option<Secrets> {
        let found = self.log.read().ok()?.secrets(client_random);
        if found.is_some() {
            return found;
        }
        let _ = self.read_more();
        self.log.read().ok()?.secrets(client_random)
    }

    fn may_grow(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_appended_later_are_found_and_half_lines_wait() {
        let dir = std::env::temp_dir().join(format!("wshs-keylog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("keys.log");
        let r1 = "11".repeat(32);
        let r2 = "22".repeat(32);
        let secret = "ab".repeat(32);
        std::fs::write(&path, format!("CLIENT_TRAFFIC_SECRET_0 {r1} {secret}\n")).unwrap();
        let g = GrowingKeyLog::open(&path.to_string_lossy()).unwrap();
        assert_eq!(g.len(), 1);
        let random2 = [0x22u8; 32];
        assert!(g.secrets(&random2).is_none());
        // Half a line: not taken yet.
        let half = format!("CLIENT_TRAFFIC_SECRET_0 {r2} {}", &secret[..10]);
        std::fs::write(
            &path,
            format!("CLIENT_TRAFFIC_SECRET_0 {r1} {secret}\n{half}"),
        )
        .unwrap();
        g.read_more().unwrap();
        assert!(g.secrets(&random2).is_none());
        std::fs::write(
            &path,
            format!(
                "CLIENT_TRAFFIC_SECRET_0 {r1} {secret}\nCLIENT_TRAFFIC_SECRET_0 {r2} {secret}\n"
            ),
        )
        .unwrap();
        g.read_more().unwrap();
        assert!(g.secrets(&random2).is_some());
        assert!(g.may_grow());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
