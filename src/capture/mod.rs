//! Packet sources: capture files (pcap, pcapng, stdin) and live interfaces,
//! behind one trait ([`PacketSource`]), with what belongs to reading packets:
//! the BPF filter, the capture counters and the `-w` recorder.
//!
//! Everything here does I/O; everything downstream (decode, reassembly, http,
//! classify) works on the byte slices handed out by a [`PacketSource`], so it can
//! be tested and fuzzed without a file or an interface.

pub mod file;
pub mod files;
pub mod filter;
pub mod inputs;
pub mod keylog_file;
pub mod live;
pub mod mapped;
pub mod pcap_format;
pub mod pcap_writer;
pub mod pcapng_format;
pub mod source;
pub mod stats;

pub use file::FileSource;
pub use files::Files;
pub use filter::{or_fragments, BpfFilter, FilterError, FRAGMENTS};
pub use pcap_writer::PcapWriter;
pub use source::{KernelStats, Next, PacketSource};
pub use stats::CaptureStats;

use std::fmt;
use std::time::Duration;

/// A capture timestamp. Kept as seconds + nanoseconds so that nanosecond pcap and
/// pcapng files with any `if_tsresol` lose nothing, and output is deterministic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    pub const fn new(secs: i64, nanos: u32) -> Self {
        Timestamp { secs, nanos }
    }

    /// Nanoseconds since the epoch, saturating; used for time arithmetic
    /// (idle timeouts, proxy-leg windows).
    pub fn as_nanos(&self) -> i128 {
        self.secs as i128 * 1_000_000_000 + self.nanos as i128
    }

    /// Seconds elapsed from `earlier` to `self` (0 when not later), for the
    /// output's fractional seconds.
    pub fn secs_since(&self, earlier: Timestamp) -> f64 {
        (*self - earlier).as_nanos() as f64 / 1e9
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        let nanos = self.nanos as u64 + d.subsec_nanos() as u64;
        let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        Timestamp::new(
            self.secs
                .saturating_add(secs)
                .saturating_add((nanos / 1_000_000_000) as i64),
            (nanos % 1_000_000_000) as u32,
        )
    }
}

/// The time from `earlier` to `self`; zero when `earlier` is not earlier
/// (packet times may step back a little between interfaces and files).
impl std::ops::Sub for Timestamp {
    type Output = Duration;
    fn sub(self, earlier: Timestamp) -> Duration {
        let d = self.as_nanos() - earlier.as_nanos();
        if d <= 0 {
            return Duration::ZERO;
        }
        let secs = u64::try_from(d / 1_000_000_000).unwrap_or(u64::MAX);
        Duration::new(secs, (d % 1_000_000_000) as u32)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.secs, self.nanos)
    }
}

#[cfg(test)]
mod time_tests {
    use super::*;

    #[test]
    fn adding_carries_nanoseconds_into_seconds() {
        let t = Timestamp::new(10, 800_000_000) + Duration::from_millis(500);
        assert_eq!(t, Timestamp::new(11, 300_000_000));
        assert_eq!(Timestamp::new(1, 0) + Duration::ZERO, Timestamp::new(1, 0));
    }

    #[test]
    fn subtracting_gives_the_elapsed_time_or_zero() {
        let a = Timestamp::new(10, 900_000_000);
        let b = Timestamp::new(12, 100_000_000);
        assert_eq!(b - a, Duration::from_millis(1200));
        assert_eq!(a - b, Duration::ZERO);
        assert_eq!(b.secs_since(a), 1.2);
        assert_eq!(a.secs_since(b), 0.0);
    }
}

/// A libpcap link-layer type (DLT/LINKTYPE value), as stored in the file header or
/// interface description block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    pub const NULL: LinkType = LinkType(0);
    pub const ETHERNET: LinkType = LinkType(1);
    pub const RAW_OPENBSD: LinkType = LinkType(12);
    pub const RAW_BSDOS: LinkType = LinkType(14);
    pub const LOOP: LinkType = LinkType(108);
    pub const RAW: LinkType = LinkType(101);
    pub const LINUX_SLL: LinkType = LinkType(113);
    pub const IEEE802_11_RADIOTAP: LinkType = LinkType(127);
    pub const NFLOG: LinkType = LinkType(239);
    pub const IPV4: LinkType = LinkType(228);
    pub const IPV6: LinkType = LinkType(229);
    pub const LINUX_SLL2: LinkType = LinkType(276);
}

/// A reference-counted block of input that packets are slices of. A source
/// that reads into such blocks lets the pipeline hand packet payloads to the flow
/// workers by reference instead of copying them; the source never writes a block
/// again while anyone else holds it.
pub type SharedBytes = std::sync::Arc<Block>;

/// Input bytes: read into memory, or a mapped window of the file.
pub enum Block {
    Heap(Vec<u8>),
    Mapped(mapped::Window),
}

impl std::ops::Deref for Block {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Block::Heap(v) => v,
            Block::Mapped(w) => w.as_slice(),
        }
    }
}

impl fmt::Debug for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Block::Heap(v) => write!(f, "Heap({} bytes)", v.len()),
            Block::Mapped(w) => write!(f, "Mapped({} bytes)", w.as_slice().len()),
        }
    }
}

/// One captured packet, borrowed from the source's buffer until the next call.
#[derive(Debug, Clone, Copy)]
pub struct RawPacket<'a> {
    pub ts: Timestamp,
    pub linktype: LinkType,
    /// The captured bytes (`caplen` of them).
    pub data: &'a [u8],
    /// The length of the packet on the wire; larger than `data.len()` when the
    /// capture's snap length cut it short.
    pub orig_len: u32,
    /// The block `data` lies in, when the source can share it (files).
    pub backing: Option<&'a SharedBytes>,
}

impl CaptureError {
    /// A failing live capture is a capture error (2); damaged or unreadable
    /// input, or a recording that cannot be written, an input error (1).
    pub fn exit_code(&self) -> u8 {
        match self {
            CaptureError::Live { .. } => 2,
            _ => 1,
        }
    }
}

/// Why a capture could not be read (further). Carries the byte offset so the user
/// can look at the damage with a hex editor.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("cannot read {name}: {source}")]
    Open {
        name: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{name}: not a pcap or pcapng capture (first bytes {magic})")]
    NotACapture { name: String, magic: String },
    #[error("{name}: read error at byte {offset}: {source}")]
    Io {
        name: String,
        offset: u64,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("capture on {iface} failed: {what}")]
    Live { iface: String, what: String },
    #[error("{name}: capture cut short at byte {offset} after {packets} packets ({what})")]
    Truncated {
        name: String,
        offset: u64,
        packets: u64,
        what: String,
    },
    #[error("{name}: damaged record at byte {offset} after {packets} packets: {what}")]
    Damaged {
        name: String,
        offset: u64,
        packets: u64,
        what: String,
    },
}
