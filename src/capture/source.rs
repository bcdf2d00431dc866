//! The one trait every packet source implements: capture files, standard
//! input, live interfaces, and wrappers around them (`-w`).

use super::{CaptureError, RawPacket};

/// What a source yields: a packet, a quiet moment (live capture timeout: time
/// to release what waits), TLS secrets stored in the input, or the end.
pub enum Next<'a> {
    Packet(RawPacket<'a>),
    Idle,
    /// TLS key log text (NSS format) from a pcapng Decryption Secrets Block:
    /// it opens the TLS connections of the packets after it.
    Secrets(&'a [u8]),
    End,
}

/// Counters of the kernel's capture buffer (live capture, pcap stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KernelStats {
    pub received: u64,
    pub dropped: u64,
    pub dropped_by_interface: u64,
}

/// Anything that hands out packets one at a time.
pub trait PacketSource: Send {
    /// The next packet, a quiet moment or the end. An `Err` is reported and
    /// the caller asks again: a sequence of files goes on with the next file,
    /// a finished source answers `End`.
    fn next(&mut self) -> Result<Next<'_>, CaptureError>;

    /// Hand `take` what is ready now, in order, until it answers false. The
    /// default hands over one `next`; a source that can lend its packets
    /// only while a call lasts (libpcap's ring, read in place instead of
    /// copied out packet by packet) hands over all it has.
    fn each_ready(&mut self, take: &mut dyn FnMut(Next<'_>) -> bool) -> Result<(), CaptureError> {
        take(self.next()?);
        Ok(())
    }

    /// Kernel counters, for live capture.
    fn kernel_stats(&mut self) -> Option<KernelStats> {
        None
    }

    /// Whether quiet moments should release waiting attempts by wall time.
    fn is_live(&self) -> bool {
        false
    }

    /// Input bytes consumed so far and the total, when known (for progress).
    fn progress(&self) -> (u64, Option<u64>) {
        (0, None)
    }
}

impl<S: PacketSource + ?Sized> PacketSource for Box<S> {
    fn next(&mut self) -> Result<Next<'_>, CaptureError> {
        (**self).next()
    }
    fn each_ready(&mut self, take: &mut dyn FnMut(Next<'_>) -> bool) -> Result<(), CaptureError> {
        (**self).each_ready(take)
    }
    fn kernel_stats(&mut self) -> Option<KernelStats> {
        (**self).kernel_stats()
    }
    fn is_live(&self) -> bool {
        (**self).is_live()
    }
    fn progress(&self) -> (u64, Option<u64>) {
        (**self).progress()
    }
}
