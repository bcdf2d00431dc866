//! Several capture files read one after the other as one stream, so
//! consecutive slices of a rotated capture keep their connections.

use std::collections::VecDeque;

use super::{CaptureError, FileSource, Next, PacketSource};

/// Files read in the order given, as one packet source.
pub struct Files {
    sources: VecDeque<FileSource>,
    /// The front source ended (or failed) on the last call: drop it first.
    advance: bool,
    /// Bytes of the sources already finished, and the total of all.
    done_bytes: u64,
    total: Option<u64>,
}

impl Files {
    pub fn new(sources: Vec<FileSource>) -> Self {
        let total = sources.iter().map(FileSource::total_len).sum();
        Files {
            sources: sources.into(),
            advance: false,
            done_bytes: 0,
            total,
        }
    }
}

impl PacketSource for Files {
    fn next(&mut self) -> Result<Next<'_>, CaptureError> {
        if self.advance {
            if let Some(s) = self.sources.pop_front() {
                self.done_bytes += s.position();
            }
            self.advance = false;
        }
        let Some(src) = self.sources.front_mut() else {
            return Ok(Next::End);
        };
        match src.next_packet() {
            Ok(Some(p)) => Ok(Next::Packet(p)),
            // The next file continues the stream on the next call.
            Ok(None) => {
                self.advance = true;
                Ok(Next::Idle)
            }
            Err(e) => {
                self.advance = true;
                Err(e)
            }
        }
    }

    fn progress(&self) -> (u64, Option<u64>) {
        let cur = self.sources.front().map_or(0, FileSource::position);
        (self.done_bytes + cur, self.total)
    }
}
