//! The NSS key log format (`SSLKEYLOGFILE`) that browsers, curl/OpenSSL,
//! Python's `keylog_filename`, Node's `keylog` event, Go's `KeyLogWriter` and
//! eCapture write: one `LABEL CLIENT_RANDOM SECRET` line per secret, hex.
//!
//! The secrets are held only to decrypt: [`Secrets`]' `Debug` names which ones
//! are present, never their bytes, so no log line or error can carry them.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

use super::from_hex;

/// The secrets logged for one connection, keyed by its ClientHello random.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    /// TLS 1.2 master secret (`CLIENT_RANDOM`).
    pub master: Option<Vec<u8>>,
    pub client_handshake: Option<Vec<u8>>,
    pub server_handshake: Option<Vec<u8>>,
    /// TLS 1.3 first application traffic secrets (`*_TRAFFIC_SECRET_0`).
    pub client_traffic: Option<Vec<u8>>,
    pub server_traffic: Option<Vec<u8>>,
}

impl Secrets {
    /// Everything a connection of this version needs to be read whole.
    pub fn complete(&self, tls13: bool) -> bool {
        if tls13 {
            self.client_handshake.is_some()
                && self.server_handshake.is_some()
                && self.client_traffic.is_some()
                && self.server_traffic.is_some()
        } else {
            self.master.is_some()
        }
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = |s: &Option<Vec<u8>>| if s.is_some() { "present" } else { "absent" };
        f.debug_struct("Secrets")
            .field("master", &mark(&self.master))
            .field("client_handshake", &mark(&self.client_handshake))
            .field("server_handshake", &mark(&self.server_handshake))
            .field("client_traffic", &mark(&self.client_traffic))
            .field("server_traffic", &mark(&self.server_traffic))
            .finish()
    }
}

/// Where a connection's secrets come from: a key log file, a pcapng
/// Decryption Secrets Block, or both.
pub trait KeySource: fmt::Debug {
    fn secrets(&self, client_random: &[u8; 32]) -> Option<Secrets>;

    /// Secrets missing now may still come (a key log growing during a live
    /// capture): protected records wait for them, within bounds.
    fn may_grow(&self) -> bool {
        false
    }
}

/// Every secret of a key log, by client random.
#[derive(Clone, Default)]
pub struct KeyLog {
    by_random: HashMap<[u8; 32], Secrets>,
    /// Lines that were neither a known label with well-formed hex, a comment
    /// nor blank (labels this tool has no use for are not counted).
    pub malformed_lines: usize,
}

impl fmt::Debug for KeyLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyLog")
            .field("connections", &self.by_random.len())
            .field("malformed_lines", &self.malformed_lines)
            .finish()
    }
}

/// Labels whose secrets nothing here uses; their lines are not malformed.
const IGNORED_LABELS: &[&str] = &[
    "CLIENT_EARLY_TRAFFIC_SECRET",
    "EARLY_EXPORTER_SECRET",
    "EXPORTER_SECRET",
    "RSA",
];

impl KeyLog {
    /// Parse a whole key log.
    pub fn parse(text: &[u8]) -> KeyLog {
        let mut log = KeyLog::default();
        log.add(text);
        log
    }

    /// Add the lines of `text` (a later part of a growing file, or a
    /// Decryption Secrets Block); a later secret for the same slot replaces
    /// the earlier one.
    pub fn add(&mut self, text: &[u8]) {
        for line in text.split(|&b| b == b'\n') {
            if !self.add_line(line) {
                self.malformed_lines += 1;
            }
        }
    }

    /// Whether the line was understood (comments and blanks are).
    fn add_line(&mut self, line: &[u8]) -> bool {
        let Ok(line) = std::str::from_utf8(line) else {
            return false;
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return true;
        }
        let mut words = line.split_ascii_whitespace();
        let (Some(label), Some(random), Some(secret), None) =
            (words.next(), words.next(), words.next(), words.next())
        else {
            return false;
        };
        if IGNORED_LABELS.contains(&label) {
            return true;
        }
        let Some(random) = from_hex(random).and_then(|r| <[u8; 32]>::try_from(r).ok()) else {
            return false;
        };
        let Some(secret) = from_hex(secret).filter(|s| matches!(s.len(), 32 | 48)) else {
            return false;
        };
        let field: fn(&mut Secrets) -> &mut Option<Vec<u8>> = match label {
            "CLIENT_RANDOM" if secret.len() == 48 => |s| &mut s.master,
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET" => |s| &mut s.client_handshake,
            "SERVER_HANDSHAKE_TRAFFIC_SECRET" => |s| &mut s.server_handshake,
            "CLIENT_TRAFFIC_SECRET_0" => |s| &mut s.client_traffic,
            "SERVER_TRAFFIC_SECRET_0" => |s| &mut s.server_traffic,
            _ => return false,
        };
        *field(self.by_random.entry(random).or_default()) = Some(secret);
        true
    }

    /// Connections with at least one secret.
    pub fn len(&self) -> usize {
        self.by_random.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_random.is_empty()
    }

    /// Take every secret of `other` (a later source wins per slot).
    pub fn merge(&mut self, other: KeyLog) {
        for (random, s) in other.by_random {
            let slot = self.by_random.entry(random).or_default();
            let take = |mine: &mut Option<Vec<u8>>, theirs: Option<Vec<u8>>| {
                if theirs.is_some() {
                    *mine = theirs;
                }
            };
            take(&mut slot.master, s.master);
            take(&mut slot.client_handshake, s.client_handshake);
            take(&mut slot.server_handshake, s.server_handshake);
            take(&mut slot.client_traffic, s.client_traffic);
            take(&mut slot.server_traffic, s.server_traffic);
        }
        self.malformed_lines += other.malformed_lines;
    }
}

/// Several sources asked in turn (a key log file and the capture's own
/// Decryption Secrets Blocks).
#[derive(Debug)]
pub struct KeyChain(pub Vec<SharedKeys>);

/// A key source the flow workers share (and a plan can carry across a
/// panic boundary).
pub type Keys = dyn KeySource + Send + Sync + std::panic::RefUnwindSafe;
pub type SharedKeys = std::sync::Arc<Keys>;

impl KeySource for KeyChain {
    fn secrets(&self, client_random: &[u8; 32]) -> Option<Secrets> {
        self.0.iter().find_map(|k| k.secrets(client_random))
    }

    fn may_grow(&self) -> bool {
        self.0.iter().any(|k| k.may_grow())
    }
}

/// Secrets the capture itself carries (pcapng Decryption Secrets Blocks),
/// added by a flow worker when its packets reach them. Each worker has its
/// own, fed in file order with its packets, so what a connection can decrypt
/// depends only on where the blocks lie in the file, never on how far ahead
/// the capture thread has read.
#[derive(Debug, Default)]
pub struct InBandKeys {
    log: RwLock<KeyLog>,
    seen: AtomicBool,
}

impl InBandKeys {
    pub fn add(&self, text: &[u8]) {
        if let Ok(mut log) = self.log.write() {
            log.add(text);
        }
        self.seen.store(true, Ordering::Relaxed);
    }
}

impl KeySource for InBandKeys {
    fn secrets(&self, client_random: &[u8; 32]) -> Option<Secrets> {
        self.log.read().ok()?.secrets(client_random)
    }

    /// Once the capture has carried secrets, more may follow: eCapture writes
    /// each connection's as they are made, often just after its first
    /// protected records, which then wait for them (within bounds).
    fn may_grow(&self) -> bool {
        self.seen.load(Ordering::Relaxed)
    }
}

impl KeySource for KeyLog {
    fn secrets(&self, client_random: &[u8; 32]) -> Option<Secrets> {
        self.by_random.get(client_random).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "cb34ecb1e78163ba1c38c6dacb196a6dffa21a8d9912ec18a2ef6283024dece7";
    const S32: &str = "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21";

    fn random() -> [u8; 32] {
        from_hex(R).unwrap().try_into().unwrap()
    }

    #[test]
    fn reads_tls13_and_tls12_labels() {
        let master = "ab".repeat(48);
        let text = format!(
            "# comment\n\nCLIENT_HANDSHAKE_TRAFFIC_SECRET {R} {S32}\r\nSERVER_TRAFFIC_SECRET_0 {R} {S32}\nEXPORTER_SECRET {R} {S32}\nCLIENT_RANDOM {R} {master}\n"
        );
        let log = KeyLog::parse(text.as_bytes());
        assert_eq!(log.malformed_lines, 0);
        let s = log.secrets(&random()).unwrap();
        assert_eq!(s.client_handshake.as_deref(), from_hex(S32).as_deref());
        assert_eq!(s.server_traffic.as_deref(), from_hex(S32).as_deref());
        assert_eq!(s.master.as_ref().map(Vec::len), Some(48));
        assert!(s.server_handshake.is_none());
    }

    #[test]
    fn damaged_lines_are_counted_not_fatal() {
        let text = format!(
            "CLIENT_RANDOM {R}\nCLIENT_RANDOM zz{R} {S32}\nCLIENT_RANDOM {R} abc\nNONSENSE {R} {S32}\n\u{ff}\nCLIENT_TRAFFIC_SECRET_0 {R} {S32}"
        );
        let log = KeyLog::parse(text.as_bytes());
        assert_eq!(log.malformed_lines, 5);
        assert!(log.secrets(&random()).unwrap().client_traffic.is_some());
    }

    #[test]
    fn debug_never_shows_secret_bytes() {
        let log = KeyLog::parse(format!("CLIENT_TRAFFIC_SECRET_0 {R} {S32}").as_bytes());
        let s = log.secrets(&random()).unwrap();
        let shown = format!("{s:?} {log:?}");
        assert!(!shown.contains("b3") && !shown.contains("179"), "{shown}");
        assert!(shown.contains("present"));
    }

    #[test]
    fn merge_keeps_both_sources() {
        let mut a = KeyLog::parse(format!("CLIENT_TRAFFIC_SECRET_0 {R} {S32}").as_bytes());
        a.merge(KeyLog::parse(
            format!("SERVER_TRAFFIC_SECRET_0 {R} {S32}").as_bytes(),
        ));
        let s = a.secrets(&random()).unwrap();
        assert!(s.client_traffic.is_some() && s.server_traffic.is_some());
    }
}
