//! The TLS secrets a run starts with: the `--tls-keylog` file and the
//! Decryption Secrets Blocks of the input files. The file's contents never
//! reach an error message.

use std::sync::Arc;

use super::secrets;
use crate::tls::KeyLog;

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

/// The secrets of `keylog` and of the Decryption Secrets Blocks in the
/// input `files` (stdin is read once, by the packet reader, so its blocks
/// are not); `None` when there are none.
pub fn for_run(keylog: Option<&str>, files: &[String]) -> Result<Option<Arc<KeyLog>>, KeyLogError> {
    let mut log = match keylog {
        Some(path) => read(path)?,
        None => KeyLog::default(),
    };
    for file in files.iter().filter(|f| f.as_str() != "-") {
        if let Ok(text) = secrets::tls_key_log(file) {
            log.add(&text);
        }
    }
    Ok((!log.is_empty()).then(|| Arc::new(log)))
}
