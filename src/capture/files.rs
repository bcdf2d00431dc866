//! Several capture files read one after the other as one stream, so
//! consecutive slices of a rotated capture keep their connections.
//!
//! Files are opened one at a time, when the stream reaches them: a directory
//! of thousands of slices must not need thousands of open files (the default
//! limit is 1024).

use std::collections::VecDeque;

use super::file::Item;
use super::{CaptureError, FileSource, Next, PacketSource};

/// Items handed over per `each_ready` call: enough that the capture loop's
/// own work between calls is a small share of a packet's, few enough that
/// Ctrl-C is seen within microseconds.
const BURST: usize = 256;

/// A file still to read.
enum Pending {
    /// Opened when its turn comes.
    Path(String),
    /// Opened already (standard input can be opened only once).
    Open(Box<FileSource>),
}

/// Files read in the order given, as one packet source.
pub struct Files {
    pending: VecDeque<Pending>,
    current: Option<FileSource>,
    /// The current source ended (or failed) on the last call: drop it first.
    advance: bool,
    /// Bytes of the sources already finished, and the total of all.
    done_bytes: u64,
    total: Option<u64>,
}

impl Files {
    /// Sources opened already, read in this order.
    pub fn new(sources: Vec<FileSource>) -> Self {
        let total = sources.iter().map(FileSource::total_len).sum();
        Self::of(
            sources
                .into_iter()
                .map(|s| Pending::Open(Box::new(s)))
                .collect(),
            total,
        )
    }

    /// The files at `paths`, read in this order, each opened when the one
    /// before it ends; `-` (standard input) is opened now.
    pub fn open_lazily(paths: &[String]) -> Result<Self, CaptureError> {
        let mut pending = VecDeque::with_capacity(paths.len());
        let mut total = Some(0u64);
        for p in paths {
            if p == "-" {
                pending.push_back(Pending::Open(Box::new(FileSource::open(p)?)));
                total = None;
            } else {
                let len = std::fs::metadata(p).ok().filter(|m| m.is_file());
                total = total.zip(len).map(|(t, m)| t + m.len());
                pending.push_back(Pending::Path(p.clone()));
            }
        }
        Ok(Self::of(pending, total))
    }

    fn of(pending: VecDeque<Pending>, total: Option<u64>) -> Self {
        Files {
            pending,
            current: None,
            advance: false,
            done_bytes: 0,
            total,
        }
    }
}

impl PacketSource for Files {
    fn next(&mut self) -> Result<Next<'_>, CaptureError> {
        if self.advance {
            if let Some(s) = self.current.take() {
                self.done_bytes += s.position();
            }
            self.advance = false;
        }
        if self.current.is_none() {
            self.current = match self.pending.pop_front() {
                None => return Ok(Next::End),
                Some(Pending::Open(s)) => Some(*s),
                // A file that cannot be opened now is damage to report; the
                // next one goes on.
                Some(Pending::Path(p)) => Some(FileSource::open(&p)?),
            };
        }
        let Some(src) = self.current.as_mut() else {
            return Ok(Next::End);
        };
        match src.next_item() {
            Ok(Some(Item::Packet(p))) => Ok(Next::Packet(p)),
            Ok(Some(Item::Secrets(text))) => Ok(Next::Secrets(text)),
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

    /// Up to `BURST` items of the current file per call, handed over
    /// without going back through the capture loop (which looks at its stop
    /// flag and gauges between calls); opening the next file, and the first
    /// item after an error, take `next`'s way.
    fn each_ready(&mut self, take: &mut dyn FnMut(Next<'_>) -> bool) -> Result<(), CaptureError> {
        let src = match self.current.as_mut() {
            Some(src) if !self.advance => src,
            _ => {
                take(self.next()?);
                return Ok(());
            }
        };
        for _ in 0..BURST {
            if let Some(p) = src.next_whole_packet() {
                if take(Next::Packet(p)) {
                    continue;
                }
                break;
            }
            let more = match src.next_item() {
                Ok(Some(Item::Packet(p))) => take(Next::Packet(p)),
                Ok(Some(Item::Secrets(text))) => take(Next::Secrets(text)),
                // As `next` answers at the end of a file.
                Ok(None) => {
                    self.advance = true;
                    take(Next::Idle);
                    false
                }
                Err(e) => {
                    self.advance = true;
                    return Err(e);
                }
            };
            if !more {
                break;
            }
        }
        Ok(())
    }

    fn progress(&self) -> (u64, Option<u64>) {
        let cur = self.current.as_ref().map_or(0, FileSource::position);
        (self.done_bytes + cur, self.total)
    }
}
