//! HTTP/2 as far as WebSockets need it (RFC 9113, RFC 8441): frames, header
//! blocks decoded with HPACK (the `loona-hpack` crate), and each extended
//! CONNECT (`:method CONNECT`, `:protocol websocket`) paired with its answer
//! (`:status`, RST_STREAM or GOAWAY) and the server's
//! `SETTINGS_ENABLE_CONNECT_PROTOCOL`.
//!
//! Pure like [`crate::tls`]: bytes of each direction in, attempts out.
//!
//! ```text
//! frame (framing, payload fields) ──▶ fields (HPACK, or field by field after lost state) ──▶ connection (streams → attempts)
//! ```

pub mod connection;
pub mod fields;
pub mod frame;
pub mod sniff;

pub use crate::tls::Side;
pub use connection::{H2Attempt, H2Connection};

/// What ends the reading of one HTTP/2 direction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum H2Error {
    #[error("the client did not start with the HTTP/2 connection preface")]
    NoPreface,
    #[error("HTTP/2 frame of {len} bytes (type {kind}) is larger than accepted")]
    FrameTooLarge { kind: u8, len: usize },
    #[error("malformed HTTP/2 {what} frame")]
    Malformed { what: &'static str },
    #[error("header block of stream {stream} interrupted by a frame of type {kind}")]
    BrokenHeaderBlock { stream: u32, kind: u8 },
    #[error("header block does not decode: {0}")]
    Hpack(String),
}
