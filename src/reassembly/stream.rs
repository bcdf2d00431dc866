//! One direction of a TCP connection.
use super::{Chunk, Limits, ReassemblyStats};

/// Rebuilds one direction's byte stream from segments.
#[derive(Debug, Default)]
pub struct Stream {}

impl Stream {
    /// The sender's SYN: data starts at `isn + 1`.
    pub fn syn(&mut self, _isn: u32) {}

    /// Feed one segment; in-order bytes (and gaps, and the FIN) go to `sink`.
    pub fn push(
        &mut self,
        _seq: u32,
        _payload: &[u8],
        _fin: bool,
        _limits: &Limits,
        _stats: &mut ReassemblyStats,
        _sink: &mut dyn FnMut(Chunk<'_>),
    ) {
    }
}
