//! What a connection turned out to carry other than HTTP/1.x from its first
//! byte: TLS (read by [`Secure`]) or HTTP/2 with prior knowledge (read by
//! [`OverH2`]). The [`Connection`] hands it everything once it knows.

use super::attempt::Ending;
use super::connection::Connection;
use super::conversation::Sink;
use super::over_h2::OverH2;
use super::secure::Secure;
use crate::capture::Timestamp;
use crate::decode::{Endpoint, Side};
use crate::reassembly::{Chunk, FlowState};

#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // boxed as a whole by its one owner
pub enum Layer {
    Tls(Secure),
    H2(OverH2),
}

impl Layer {
    fn http(&self) -> Option<&Connection> {
        match self {
            Layer::Tls(s) => Some(s.inner()),
            Layer::H2(_) => None,
        }
    }

    pub fn note_packet(&mut self, d: Side, src: &Endpoint, dst: &Endpoint) {
        if let Layer::Tls(s) = self {
            s.note_packet(d, src, dst);
        }
    }

    pub fn is_upgraded(&self) -> bool {
        self.http().is_some_and(Connection::is_upgraded)
    }

    pub fn wants_bytes(&self, d: Side) -> bool {
        let read = match self {
            Layer::Tls(s) => s.wants_bytes(d),
            Layer::H2(_) => true,
        };
        read && self.http().is_none_or(|c| c.wants_bytes(d))
    }

    /// Some direction will not be read again: TLS that can open nothing
    /// more still reads its client until it sends data.
    pub fn reads_less(&self) -> bool {
        matches!(self, Layer::Tls(s) if s.reads_less())
    }

    pub fn is_finished(&self) -> bool {
        match self {
            Layer::Tls(s) => s.inner().is_finished(),
            Layer::H2(h) => h.is_finished(),
        }
    }

    /// See [`FlowState::at_stake`]: a TLS connection has nothing at stake
    /// but what its decrypted HTTP has.
    pub fn at_stake(&self) -> bool {
        self.http().is_none_or(FlowState::at_stake)
    }

    pub fn buffered_bytes(&self) -> usize {
        match self {
            Layer::Tls(s) => s.buffered_bytes(),
            Layer::H2(_) => 0,
        }
    }

    pub fn take_new_watch(&mut self) -> Option<Timestamp> {
        match self {
            Layer::Tls(s) => s.inner_mut().take_new_watch(),
            Layer::H2(_) => None,
        }
    }

    pub fn release_watch(&mut self, now: Timestamp, out: &mut Sink<'_>) {
        if let Layer::Tls(s) = self {
            s.release_watch(now, out);
        }
    }

    pub fn on_chunk(&mut self, d: Side, chunk: Chunk<'_>, ts: Timestamp, out: &mut Sink<'_>) {
        match self {
            Layer::Tls(s) => {
                let limits = out.limits;
                s.on_chunk(d, chunk, ts, limits.tls_keys.as_deref(), out)
            }
            Layer::H2(h) => h.on_chunk(d, chunk, ts, out),
        }
    }

    pub fn on_reset(&mut self, d: Side, ts: Timestamp, out: &mut Sink<'_>) {
        match self {
            Layer::Tls(s) => s.on_reset(d, ts, out),
            Layer::H2(h) => h.finish(Ending::Reset { by_server: false }, out),
        }
    }

    pub fn finish(&mut self, ending: Ending, out: &mut Sink<'_>) {
        match self {
            Layer::Tls(s) => s.finish(ending, out),
            Layer::H2(h) => h.finish(ending, out),
        }
    }
}
