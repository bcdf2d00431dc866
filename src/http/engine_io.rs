//! Engine.IO (Socket.IO's transport) polling handshakes: the plain GETs whose
//! answers issue a session id (`sid`). They are no upgrade attempts, but the
//! server that issued a sid is what explains a later upgrade refused for an
//! unknown one, so the HTTP stage reports them.

use crate::capture::Timestamp;
use crate::decode::Endpoint;

/// A polling handshake answered with a sid (ordered by time first).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct SidIssued {
    /// Time of the answer.
    pub ts: Timestamp,
    pub client: Endpoint,
    pub server: Endpoint,
    pub sid: String,
}

/// Whether a request target opens an Engine.IO session: polling, with the
/// protocol revision and no sid yet.
pub fn is_handshake_target(path: &str) -> bool {
    path.contains("EIO=") && path.contains("transport=polling") && !path.contains("sid=")
}

/// The sid an Engine.IO handshake answer carries (`0{"sid":"…",…}`).
pub fn sid_in_handshake(body: &[u8]) -> Option<String> {
    const MARK: &[u8] = b"\"sid\":\"";
    let at = memchr::memmem::find(body, MARK)? + MARK.len();
    let rest = &body[at..];
    let end = memchr::memchr(b'"', rest)?;
    let sid = &rest[..end];
    (!sid.is_empty() && sid.len() <= 64 && sid.iter().all(|b| b.is_ascii_graphic()))
        .then(|| crate::text::lossy(sid).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handshake_targets_and_sids_are_recognised() {
        assert!(is_handshake_target(
            "/socket.io/?EIO=4&transport=polling&t=PfXq1a2"
        ));
        assert!(!is_handshake_target(
            "/socket.io/?EIO=4&transport=polling&sid=abc"
        ));
        assert!(!is_handshake_target(
            "/socket.io/?EIO=4&transport=websocket"
        ));
        let body =
            br#"0{"sid":"zTk6DWyCCQyQB5_WAAAA","upgrades":["websocket"],"pingInterval":25000}"#;
        assert_eq!(
            sid_in_handshake(body).as_deref(),
            Some("zTk6DWyCCQyQB5_WAAAA")
        );
        assert_eq!(sid_in_handshake(b"0{\"sid\":\"\"}"), None);
        assert_eq!(sid_in_handshake(b"hello"), None);
    }
}
