//! Reading capture files (pcap and pcapng) from a file, stdin or any reader.
//!
//! The reader streams through large reference-counted blocks and hands out
//! packets as slices of them: nothing is allocated or copied per packet, and
//! memory stays bounded whatever the file's size. A regular file's blocks are
//! windows of it mapped a few MiB at a time (see `mapped`), each starting at
//! the page of the first record it holds whole; a pipe is read in big pieces
//! (few syscalls) into blocks of memory. The pipeline may keep a block alive
//! (its packets' payloads travel to the flow workers by reference), so a block
//! that is shared is never written again: the reader moves the unread tail
//! (less than one record) to a free block from its pool and reads on there. A
//! block grows only when a single record is larger than it, up to a hard cap.

use std::io::{ErrorKind, Read};
use std::sync::Arc;

use nom::number::Endianness;

use super::mapped::{self, Window};
use super::pcap_format::{self, PcapHeader, FILE_HEADER_LEN};
use super::pcapng_format::{self as ng, Interface};
use super::{Block, CaptureError, LinkType, Next, PacketSource, RawPacket, SharedBytes, Timestamp};

/// Block size when reading: reads of a few hundred KiB keep system calls rare,
/// and a block this small is still in the core's cache when its records are
/// parsed just after the kernel copied them in.
const BUF_LEN: usize = 256 << 10;
/// Compact before reading into less free space than this.
const MIN_READ: usize = 64 << 10;
/// Bytes of a regular file mapped at a time (see `mapped`). Each unmapping
/// interrupts the flow worker's core to flush its TLB: with 2 MiB windows
/// that cost more than the copy that mapping spares (BENCHMARKS.md, "Reading
/// instead of mapping"), with 4 MiB and the input prefetched it costs less
/// ("Mapping again, in 4 MiB windows"). Larger windows saved little more
/// and kept more of the file resident while the pipeline holds a window.
const WINDOW: usize = if cfg!(test) { 1 << 20 } else { 4 << 20 };
/// How far ahead of the record being handed out the reader asks the CPU to
/// load the input (see `prefetch_ahead`).
const PREFETCH_AHEAD: usize = 8 << 10;
/// Blocks kept for reuse once the pipeline lets go of them: enough to cover
/// the blocks in flight (a few ticks' worth), so blocks are not allocated and
/// page-faulted in again all the time.
const POOL_LEN: usize = 32;
/// No record may be larger than this: anything bigger is damage, not a packet.
const MAX_CAPLEN: u32 = 16 << 20;
/// pcapng blocks other than packets (name tables, custom blocks) may be larger
/// than a packet, but not without bound.
const MAX_BLOCK_LEN: u32 = 32 << 20;
/// More interfaces than this in one section is a crafted file.
const MAX_INTERFACES: usize = 1 << 16;

/// Largest captured length accepted for an interface with this snap length.
/// Real files often record more than their declared (small) snap length, so the
/// snap length only sets a floor for a generous multiple.
fn caplen_limit(snaplen: u32) -> u32 {
    snaplen.max(262_144).saturating_mul(4).min(MAX_CAPLEN)
}

enum Format {
    Pcap(PcapHeader),
    Pcapng {
        endian: Endianness,
        interfaces: Vec<Interface>,
        last_ts: Timestamp,
        /// An interface description block was seen somewhere in the file; a
        /// file without one cannot hold packets (tcpdump refuses it too).
        any_interface: bool,
    },
}

/// What a capture file holds, in order.
pub enum Item<'a> {
    Packet(RawPacket<'a>),
    /// The text of a TLS key log (NSS format) stored in the file.
    Secrets(&'a [u8]),
}

/// Where the next packet (or key log text) lies in the buffer, found before
/// the slice is borrowed.
struct Found {
    /// Key log text of a Decryption Secrets Block, not a packet.
    secrets: bool,
    ts: Timestamp,
    linktype: LinkType,
    at: usize,
    len: usize,
    orig_len: u32,
}

/// A regular file being read, watched for being cut short or rewritten.
struct Watched {
    /// The file's size when it was opened, or as last seen growing.
    len: u64,
    /// Its mapped windows' owner number (see `mapped::shrank`).
    owner: u64,
    /// A second handle on the file, for the checks (`statx`, `pread`); the
    /// reader reads through its own.
    file: std::fs::File,
    /// The file's first bytes when it was opened (see `on_disk`).
    head: Vec<u8>,
}

/// Bytes at the start of a file compared to tell it was rewritten: a pcap
/// header and the first record's header (its timestamp) with room to spare.
const HEAD_LEN: usize = 64;
/// Packets handed out between two looks at whether the file was rewritten.
/// Each look is two system calls (`statx`, `pread`); every 256 packets they
/// were 10 000 calls on a 1 GiB capture, a few per cent of the capture
/// thread.
const REWRITE_CHECK_EVERY: u64 = 1024;
const REWRITTEN: &str =
    "the file was rewritten while it was being read (a capture ring starting it over?)";

impl Watched {
    fn new(file: std::fs::File, len: u64) -> Self {
        use std::os::unix::fs::FileExt;
        let mut head = vec![0; HEAD_LEN.min(len as usize)];
        if file.read_exact_at(&mut head, 0).is_err() {
            head.clear();
        }
        Watched {
            len,
            owner: mapped::new_owner(),
            file,
            head,
        }
    }

    /// Whether the file on disk is still the one being read: not shorter than
    /// already seen, and starting with the same bytes. A capture ring
    /// (`tcpdump -W`) truncates a slice and writes it anew; reading on would
    /// take its new contents for more packets of the old file.
    fn on_disk(&self) -> OnDisk {
        use std::os::unix::fs::FileExt;
        let file = &self.file;
        match file.metadata() {
            Ok(meta) if meta.len() < self.len => return OnDisk::Shrank,
            Ok(_) => {}
            Err(_) => return OnDisk::Same,
        }
        let mut now = [0u8; HEAD_LEN];
        let now = &mut now[..self.head.len()];
        if file.read_exact_at(now, 0).is_err() {
            return OnDisk::Shrank;
        }
        if *now == self.head[..] {
            OnDisk::Same
        } else {
            OnDisk::Rewritten
        }
    }
}

/// What became of a file on disk while it was being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnDisk {
    Same,
    Shrank,
    Rewritten,
}

const SHRANK: &str = "the file shrank while it was being read";

/// The buffer of a block read into memory that nobody else holds.
fn heap_mut(b: &mut SharedBytes) -> Option<&mut Vec<u8>> {
    match Arc::get_mut(b)? {
        Block::Heap(v) => Some(v),
        Block::Mapped(_) => None,
    }
}

/// A capture file read as a stream of packets.
pub struct FileSource {
    name: String,
    reader: Box<dyn Read + Send>,
    buf: SharedBytes,
    /// Blocks to switch to when `buf` is shared; each is reused once nobody
    /// else holds it.
    pool: Vec<SharedBytes>,
    /// A regular file, watched while it is read.
    watched: Option<Watched>,
    /// The file is read through mapped windows (see `map_window`); cleared
    /// for good when a window cannot be mapped.
    mapping: bool,
    /// `buf[..prefetched]` of the current window has been asked for (see
    /// `prefetch_ahead`); reset when a window is mapped.
    prefetched: usize,
    /// Unconsumed bytes are `buf[start..end]`.
    start: usize,
    end: usize,
    /// File offset of `buf[0]`.
    base: u64,
    eof: bool,
    done: bool,
    packets: u64,
    format: Format,
}

impl FileSource {
    /// Open a capture file by path; `"-"` reads standard input.
    pub fn open(path: &str) -> Result<FileSource, CaptureError> {
        if path == "-" {
            return Self::from_reader("<stdin>", Box::new(std::io::stdin()));
        }
        let open_err = |source| CaptureError::Open {
            name: path.to_string(),
            source,
        };
        let file = std::fs::File::open(path).map_err(open_err)?;
        let meta = file.metadata().map_err(open_err)?;
        if meta.is_dir() {
            return Err(open_err(std::io::Error::new(
                ErrorKind::InvalidInput,
                "is a directory",
            )));
        }
        // A regular file is watched through a second handle; anything else
        // (a pipe, a device) can be neither cut short nor rewritten under us.
        let watched = if meta.is_file() {
            Some(Watched::new(
                file.try_clone().map_err(open_err)?,
                meta.len(),
            ))
        } else {
            None
        };
        // A regular file is mapped through the watching handle while the
        // guard is in place; `file` is read only without the guard.
        Self::build(path, Box::new(file), watched)
    }

    /// Read a capture from any byte stream; `name` is used in error messages.
    pub fn from_reader(
        name: &str,
        reader: Box<dyn Read + Send>,
    ) -> Result<FileSource, CaptureError> {
        Self::build(name, reader, None)
    }

    fn build(
        name: &str,
        reader: Box<dyn Read + Send>,
        watched: Option<Watched>,
    ) -> Result<FileSource, CaptureError> {
        let mapping = watched.is_some() && mapped::guarded();
        let mut src = FileSource {
            name: name.to_string(),
            reader,
            buf: Arc::new(Block::Heap(if mapping {
                Vec::new()
            } else {
                vec![0; BUF_LEN]
            })),
            pool: Vec::new(),
            watched,
            mapping,
            prefetched: 0,
            start: 0,
            end: 0,
            base: 0,
            eof: false,
            done: false,
            packets: 0,
            format: Format::Pcap(PcapHeader {
                endian: Endianness::Little,
                nanos: false,
                record_header_len: 16,
                snaplen: 0,
                linktype: LinkType::ETHERNET,
                maybe_swapped_lengths: false,
            }),
        };
        let have4 = src.fill(4)?;
        let head = src.avail();
        let not_capture = |head: &[u8]| CaptureError::NotACapture {
            name: name.to_string(),
            magic: head.iter().map(|b| format!("{b:02x}")).collect(),
        };
        if !have4 {
            return Err(not_capture(head));
        }
        if head.get(..4) == Some(&ng::SHB_TYPE.to_be_bytes()[..]) {
            // The section header itself is read by the block loop, which also
            // handles the sections that follow.
            src.format = Format::Pcapng {
                endian: Endianness::Little,
                interfaces: Vec::new(),
                last_ts: Timestamp::default(),
                any_interface: false,
            };
            return Ok(src);
        }
        if pcap_format::sniff_magic(head).is_none() {
            return Err(not_capture(head.get(..4).unwrap_or(head)));
        }
        if !src.fill(FILE_HEADER_LEN)? {
            return Err(src.truncated("file header"));
        }
        let hdr = pcap_format::parse_file_header(src.avail())
            .ok_or_else(|| src.damaged("file header"))?;
        src.start += FILE_HEADER_LEN;
        src.format = Format::Pcap(hdr);
        Ok(src)
    }

    /// Size of the input in bytes when known (a regular file), for progress.
    pub fn total_len(&self) -> Option<u64> {
        self.watched.as_ref().map(|w| w.len)
    }

    /// Packets handed out so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Link type of a classic pcap file, or of the first interface seen so far in
    /// a pcapng file.
    pub fn linktype(&self) -> Option<LinkType> {
        match &self.format {
            Format::Pcap(h) => Some(h.linktype),
            Format::Pcapng { interfaces, .. } => interfaces.first().map(|i| i.linktype),
        }
    }

    fn avail(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or(&[])
    }

    fn offset(&self) -> u64 {
        self.base + self.start as u64
    }

    fn truncated(&self, what: &str) -> CaptureError {
        CaptureError::Truncated {
            name: self.name.clone(),
            offset: self.offset(),
            packets: self.packets,
            what: what.to_string(),
        }
    }

    fn damaged(&self, what: &str) -> CaptureError {
        CaptureError::Damaged {
            name: self.name.clone(),
            offset: self.offset(),
            packets: self.packets,
            what: what.to_string(),
        }
    }

    /// The end of the input at a record boundary is a clean end; inside a record
    /// it is a cut-short file.
    fn end_or_truncated(&self, what: &str) -> Result<Option<Found>, CaptureError> {
        if self.start == self.end {
            Ok(None)
        } else {
            Err(self.truncated(what))
        }
    }

    /// Make at least `n` unconsumed bytes available in the buffer. `Ok(false)`
    /// when the input ends first. `n` is bounded by the callers' record limits.
    #[inline]
    fn fill(&mut self, n: usize) -> Result<bool, CaptureError> {
        // Nearly every call finds its bytes already there: that test stays in
        // the caller, the rest is a call away.
        if self.end - self.start >= n {
            return Ok(true);
        }
        self.fill_more(n)
    }

    fn fill_more(&mut self, n: usize) -> Result<bool, CaptureError> {
        if self.mapping && self.map_window(n)? {
            return Ok(self.end - self.start >= n);
        }
        while self.end - self.start < n {
            if self.eof {
                return Ok(false);
            }
            // Compact when the record does not fit, and also when the free tail
            // is small, so that every read stays large. A block someone else
            // holds is left as it is: the tail moves to another block.
            let cramped = self.start + n > self.buf.len()
                || (self.start > 0 && self.buf.len() - self.end < MIN_READ);
            if heap_mut(&mut self.buf).is_none() {
                self.switch_block(n);
            } else if cramped {
                let (start, end) = (self.start, self.end);
                if let Some(buf) = heap_mut(&mut self.buf) {
                    buf.copy_within(start..end, 0);
                    if n > buf.len() {
                        buf.resize(n.next_power_of_two(), 0);
                    }
                }
                self.base += start as u64;
                self.end -= start;
                self.start = 0;
            }
            let end = self.end;
            let Some(space) = heap_mut(&mut self.buf).and_then(|b| b.get_mut(end..)) else {
                // switch_block always leaves an unshared block; nothing to read into
                // would otherwise loop forever.
                return Err(self.damaged("no buffer to read into"));
            };
            match self.reader.read(space) {
                Ok(0) => self.eof = true,
                Ok(k) => self.end += k,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(source) => return Err(self.io_error(self.base + self.end as u64, source)),
            }
        }
        Ok(true)
    }

    fn io_error(&self, offset: u64, source: std::io::Error) -> CaptureError {
        CaptureError::Io {
            name: self.name.clone(),
            offset,
            source,
        }
    }

    /// Continue in a block nobody else holds, with the unread bytes moved to its
    /// front and room for at least `n` bytes.
    fn switch_block(&mut self, n: usize) {
        let want = BUF_LEN.max(n.next_power_of_two());
        let reusable = self
            .pool
            .iter_mut()
            .position(|b| b.len() >= want && heap_mut(b).is_some());
        let mut next = match reusable {
            Some(i) => self.pool.swap_remove(i),
            None => Arc::new(Block::Heap(vec![0; want])),
        };
        let unread = self.buf.get(self.start..self.end).unwrap_or(&[]);
        if let Some(b) = heap_mut(&mut next) {
            if let Some(dst) = b.get_mut(..unread.len()) {
                dst.copy_from_slice(unread);
            }
        }
        let old = std::mem::replace(&mut self.buf, next);
        if self.pool.len() < POOL_LEN && matches!(*old, Block::Heap(_)) {
            self.pool.push(old);
        }
        self.base += self.start as u64;
        self.end -= self.start;
        self.start = 0;
    }

    /// Map the window of the file that holds the next `n` bytes (or the rest
    /// of the file, if shorter). `Ok(false)` when no window could be mapped:
    /// the file is then read from here on.
    ///
    /// Mapping spares the copy out of the page cache that `read(2)` makes,
    /// the largest single cost of reading a big capture; see BENCHMARKS.md.
    fn map_window(&mut self, n: usize) -> Result<bool, CaptureError> {
        self.still_on_disk()?;
        let Some(w) = self.watched.as_mut() else {
            self.mapping = false;
            return Ok(false);
        };
        let from = self.base + self.start as u64;
        if from + n as u64 > w.len {
            // A capture still being written has grown since it was opened.
            if let Ok(meta) = w.file.metadata() {
                w.len = w.len.max(meta.len());
            }
        }
        let page = Window::page() as u64;
        let at = from - from % page;
        let len = (WINDOW as u64)
            .max(from - at + n as u64)
            .min(w.len.saturating_sub(at)) as usize;
        if len <= (from - at) as usize {
            // Nothing left to map: the end of the file.
            self.buf = Arc::new(Block::Heap(Vec::new()));
            self.base = from;
            (self.start, self.end) = (0, 0);
            self.eof = true;
            return Ok(true);
        }
        let Some(window) = Window::map(&w.file, w.owner, at, len) else {
            // Read from the next unconsumed byte on.
            self.mapping = false;
            let reader = w.file.try_clone().and_then(|mut f| {
                use std::io::{Seek, SeekFrom};
                f.seek(SeekFrom::Start(from)).map(|_| f)
            });
            self.reader = match reader {
                Ok(f) => Box::new(f),
                Err(source) => return Err(self.io_error(from, source)),
            };
            self.eof = false;
            self.buf = Arc::new(Block::Heap(vec![0; BUF_LEN]));
            self.base = from;
            (self.start, self.end) = (0, 0);
            return Ok(false);
        };
        self.buf = Arc::new(Block::Mapped(window));
        self.prefetched = 0;
        self.base = at;
        self.start = (from - at) as usize;
        self.end = len;
        self.eof = at + len as u64 >= w.len;
        Ok(true)
    }

    /// Ask the CPU to load the next few KiB of a mapped window while this
    /// packet is handed over. Mapped input has not been brought in by a
    /// copy, and records lie too far apart for the hardware to predict
    /// across pages: without this, reading each record's header waits for
    /// memory, and so does the flow worker reading its payload.
    #[inline]
    fn prefetch_ahead(&mut self) {
        let to = (self.start + PREFETCH_AHEAD).min(self.end);
        let from = self.prefetched.max(self.start);
        if from >= to || !self.mapping {
            return;
        }
        // One look-up of the block for the whole run of lines.
        if let Some(run) = self.buf.get(from..to) {
            for b in run.iter().step_by(64) {
                crate::hint::prefetch_line(b);
            }
        }
        self.prefetched = from + (to - from).div_ceil(64) * 64;
    }

    /// Whether a mapped window of this file lost a page: the file was cut
    /// short after it was mapped, and what was read there is zeros.
    fn shrank(&self) -> bool {
        self.mapping
            && self
                .watched
                .as_ref()
                .is_some_and(|w| mapped::shrank(w.owner))
    }

    /// An error when a regular file shrank or was rewritten in place since it
    /// was opened.
    fn still_on_disk(&self) -> Result<(), CaptureError> {
        match self.watched.as_ref().map_or(OnDisk::Same, Watched::on_disk) {
            OnDisk::Same => Ok(()),
            OnDisk::Shrank => Err(self.truncated(SHRANK)),
            OnDisk::Rewritten => Err(self.damaged(REWRITTEN)),
        }
    }

    fn advance(&mut self) -> Result<Option<Found>, CaptureError> {
        match self.format {
            Format::Pcap(hdr) => self.advance_pcap(hdr),
            Format::Pcapng { .. } => self.advance_pcapng(),
        }
    }

    fn advance_pcap(&mut self, hdr: PcapHeader) -> Result<Option<Found>, CaptureError> {
        let hl = hdr.record_header_len;
        if !self.fill(hl)? {
            return self.end_or_truncated("record header");
        }
        let rec = pcap_format::parse_record_header(self.avail(), &hdr)
            .ok_or_else(|| self.truncated("record header"))?;
        if rec.caplen > caplen_limit(hdr.snaplen) {
            return Err(self.damaged(&format!(
                "captured length {} is not plausible (snap length {})",
                rec.caplen, hdr.snaplen
            )));
        }
        let len = rec.caplen as usize;
        if !self.fill(hl + len)? {
            return Err(self.truncated("packet data"));
        }
        let at = self.start + hl;
        self.start = at + len;
        Ok(Some(Found {
            secrets: false,
            ts: rec.ts,
            linktype: hdr.linktype,
            at,
            len,
            orig_len: rec.orig_len,
        }))
    }

    fn advance_pcapng(&mut self) -> Result<Option<Found>, CaptureError> {
        loop {
            if !self.fill(8)? {
                if self.avail().is_empty()
                    && matches!(
                        self.format,
                        Format::Pcapng {
                            any_interface: false,
                            ..
                        }
                    )
                {
                    return Err(self.damaged("the capture has no interface description block"));
                }
                return self.end_or_truncated("block header");
            }
            let first4 = self.avail().get(..4).unwrap_or(&[]);
            if first4 == ng::SHB_TYPE.to_be_bytes() {
                if !self.fill(12)? {
                    return Err(self.truncated("section header"));
                }
                let endian = ng::section_endian(self.avail())
                    .ok_or_else(|| self.damaged("bad byte-order magic in section header"))?;
                if let Format::Pcapng {
                    endian: e,
                    interfaces,
                    ..
                } = &mut self.format
                {
                    *e = endian;
                    interfaces.clear();
                }
            }
            let endian = match &self.format {
                Format::Pcapng { endian, .. } => *endian,
                Format::Pcap(_) => return Ok(None),
            };
            let (btype, blen) =
                ng::block_header(self.avail(), endian).ok_or_else(|| self.truncated("block"))?;
            if blen < ng::MIN_BLOCK_LEN || blen % 4 != 0 || blen > MAX_BLOCK_LEN {
                return Err(self.damaged(&format!("block length {blen} is not valid")));
            }
            let blen = blen as usize;
            if !self.fill(blen)? {
                return Err(self.truncated("block"));
            }
            let block_at = self.start;
            let block = self.buf.get(block_at..block_at + blen).unwrap_or(&[]);
            let body = block.get(8..blen - 4).unwrap_or(&[]);
            let (offset, packets) = (self.base + block_at as u64, self.packets);
            // Borrows only the name, so the section state can be updated meanwhile.
            let damaged = |what: &str| CaptureError::Damaged {
                name: self.name.clone(),
                offset,
                packets,
                what: what.to_string(),
            };
            let Format::Pcapng {
                interfaces,
                last_ts,
                any_interface,
                ..
            } = &mut self.format
            else {
                return Ok(None);
            };
            let rec = match btype {
                ng::SHB_TYPE => {
                    if ng::shb_major(block, endian) != Some(1) || blen < 28 {
                        return Err(damaged("unsupported section header"));
                    }
                    None
                }
                ng::IDB_TYPE => {
                    if interfaces.len() >= MAX_INTERFACES {
                        return Err(damaged("too many interfaces"));
                    }
                    interfaces.push(ng::parse_idb(body, endian).map_err(damaged)?);
                    *any_interface = true;
                    None
                }
                ng::EPB_TYPE | ng::OPB_TYPE => {
                    Some(ng::parse_packet_block(btype, body, endian).map_err(damaged)?)
                }
                ng::SPB_TYPE => {
                    let snaplen = interfaces
                        .first()
                        .ok_or_else(|| damaged("simple packet block without interface 0"))?
                        .snaplen;
                    Some(ng::parse_simple_packet_block(body, endian, snaplen).map_err(damaged)?)
                }
                ng::DSB_TYPE => {
                    if let Some((off, len)) = ng::dsb_tls_key_log(body, endian) {
                        self.start += blen;
                        return Ok(Some(Found {
                            secrets: true,
                            ts: *last_ts,
                            linktype: LinkType::NULL,
                            at: block_at + 8 + off,
                            len,
                            orig_len: 0,
                        }));
                    }
                    None
                }
                _ => None,
            };
            let Some(rec) = rec else {
                self.start += blen;
                continue;
            };
            let iface = *interfaces.get(rec.interface as usize).ok_or_else(|| {
                damaged(&format!("packet on undeclared interface {}", rec.interface))
            })?;
            if rec.caplen > caplen_limit(iface.snaplen) {
                return Err(damaged(&format!(
                    "captured length {} is not plausible (snap length {})",
                    rec.caplen, iface.snaplen
                )));
            }
            let ts = match rec.ticks {
                Some(t) => iface.timestamp(t),
                None => *last_ts,
            };
            *last_ts = ts;
            self.start += blen;
            return Ok(Some(Found {
                secrets: false,
                ts,
                linktype: iface.linktype,
                at: block_at + 8 + rec.data_offset,
                len: rec.caplen as usize,
                orig_len: rec.orig_len,
            }));
        }
    }
}

impl FileSource {
    /// The next packet, `Ok(None)` at the end; TLS secrets on the way are
    /// passed over (see `next_item`). After an `Err` the source is finished: a
    /// damaged file cannot be resynchronised reliably, and what came before
    /// the damage has already been handed out.
    pub fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        loop {
            match self.find()? {
                Some(f) if f.secrets => continue,
                Some(f) => return Ok(Some(self.packet(&f))),
                None => return Ok(None),
            }
        }
    }

    /// The next packet or TLS key log text (a pcapng Decryption Secrets
    /// Block), in file order, `Ok(None)` at the end. The secrets apply to the
    /// packets after them, as in a single pass of Wireshark: a capture is
    /// never read twice, and a pipe cannot be.
    pub fn next_item(&mut self) -> Result<Option<Item<'_>>, CaptureError> {
        Ok(match self.find()? {
            Some(f) if f.secrets => Some(Item::Secrets(
                self.buf.get(f.at..f.at + f.len).unwrap_or(&[]),
            )),
            Some(f) => Some(Item::Packet(self.packet(&f))),
            None => None,
        })
    }

    /// The next packet whose record (a classic pcap record, a pcapng
    /// Enhanced Packet Block) already lies whole in the block, when no look
    /// at the file on disk is due: nearly every packet. `None` changes
    /// nothing, and [`Self::next_item`] then takes the general way (a read,
    /// the end, damage, other blocks), so the common case carries none of its
    /// `Result` plumbing.
    #[inline]
    pub fn next_whole_packet(&mut self) -> Option<RawPacket<'_>> {
        if self.done || self.packets % REWRITE_CHECK_EVERY == REWRITE_CHECK_EVERY - 1 {
            return None;
        }
        let avail = self.buf.get(self.start..self.end)?;
        let (ts, linktype, at, len, orig_len, next) = match &mut self.format {
            Format::Pcap(hdr) => {
                let rec = pcap_format::parse_record_header(avail, hdr)?;
                let (hl, len) = (hdr.record_header_len, rec.caplen as usize);
                // An empty record goes the general way, where it is checked
                // against the file on disk (see `find`).
                if rec.caplen > caplen_limit(hdr.snaplen) || avail.len() < hl + len || len == 0 {
                    return None;
                }
                let at = self.start + hl;
                (rec.ts, hdr.linktype, at, len, rec.orig_len, at + len)
            }
            Format::Pcapng {
                endian,
                interfaces,
                last_ts,
                ..
            } => {
                let epb = ng::whole_epb(avail, *endian, MAX_BLOCK_LEN)?;
                let iface = interfaces.get(epb.interface as usize)?;
                if epb.caplen > caplen_limit(iface.snaplen) {
                    return None;
                }
                let ts = iface.timestamp(epb.ticks);
                // A Simple Packet Block after this one takes its time.
                *last_ts = ts;
                let at = self.start + ng::EPB_DATA_OFFSET;
                let next = self.start + epb.len;
                (
                    ts,
                    iface.linktype,
                    at,
                    epb.caplen as usize,
                    epb.orig_len,
                    next,
                )
            }
        };
        if self.shrank() {
            return None;
        }
        self.start = next;
        self.packets += 1;
        self.prefetch_ahead();
        Some(RawPacket {
            ts,
            linktype,
            data: self.buf.get(at..at + len).unwrap_or(&[]),
            orig_len,
            backing: Some(&self.buf),
        })
    }

    fn packet(&self, f: &Found) -> RawPacket<'_> {
        RawPacket {
            ts: f.ts,
            linktype: f.linktype,
            data: self.buf.get(f.at..f.at + f.len).unwrap_or(&[]),
            orig_len: f.orig_len,
            backing: Some(&self.buf),
        }
    }

    fn find(&mut self) -> Result<Option<Found>, CaptureError> {
        if self.done {
            return Ok(None);
        }
        let found = self.advance();
        if self.shrank() {
            self.done = true;
            return Err(self.truncated(SHRANK));
        }
        // Before a packet is handed out now and then, at the end, and at
        // damage (which a rewrite explains better). Also before an empty
        // record of a mapped file: it may be the zeros that the end of a
        // page holds past the file's new end once it was cut short, which
        // never fault, so the size on disk tells.
        let look = match &found {
            Ok(Some(f)) if f.len == 0 && self.mapping => true,
            Ok(Some(_)) => self.packets % REWRITE_CHECK_EVERY == REWRITE_CHECK_EVERY - 1,
            Ok(None) | Err(_) => true,
        };
        if look {
            if let Err(e) = self.still_on_disk() {
                self.done = true;
                return Err(e);
            }
        }
        match found {
            Ok(Some(f)) => {
                if !f.secrets {
                    self.packets += 1;
                }
                self.prefetch_ahead();
                Ok(Some(f))
            }
            Ok(None) => {
                self.done = true;
                Ok(None)
            }
            Err(e) => {
                self.done = true;
                Err(e)
            }
        }
    }

    /// Bytes of input consumed so far (for progress and error offsets).
    pub fn position(&self) -> u64 {
        self.offset()
    }
}

impl PacketSource for FileSource {
    fn next(&mut self) -> Result<Next<'_>, CaptureError> {
        Ok(match self.next_item()? {
            Some(Item::Packet(p)) => Next::Packet(p),
            Some(Item::Secrets(text)) => Next::Secrets(text),
            None => Next::End,
        })
    }

    fn progress(&self) -> (u64, Option<u64>) {
        (self.position(), self.total_len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct W {
        big: bool,
        v: Vec<u8>,
    }
    impl W {
        fn new(big: bool) -> W {
            W { big, v: Vec::new() }
        }
        fn u16(&mut self, x: u16) -> &mut Self {
            let b = if self.big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            };
            self.v.extend(b);
            self
        }
        fn u32(&mut self, x: u32) -> &mut Self {
            let b = if self.big {
                x.to_be_bytes()
            } else {
                x.to_le_bytes()
            };
            self.v.extend(b);
            self
        }
        fn bytes(&mut self, b: &[u8]) -> &mut Self {
            self.v.extend(b);
            self
        }
    }

    fn pcap(big: bool, magic: u32, recs: &[(u32, u32, &[u8])], extra: usize) -> Vec<u8> {
        let mut w = W::new(big);
        w.u32(magic).u16(2).u16(4).u32(0).u32(0).u32(65535).u32(1);
        for (s, f, d) in recs {
            w.u32(*s)
                .u32(*f)
                .u32(d.len() as u32)
                .u32(d.len() as u32 + 10);
            w.bytes(&vec![0; extra]).bytes(d);
        }
        w.v
    }

    type Got = Vec<(Timestamp, LinkType, Vec<u8>, u32)>;

    /// Read as the capture loop does (whole records first, the general way
    /// for the rest), checked against the general way alone on a second
    /// reader of the same bytes: the two must hand out the same packets and
    /// stop at the same damage.
    fn read_all(bytes: Vec<u8>) -> (Got, Option<CaptureError>) {
        let open = |b: Vec<u8>| FileSource::from_reader("t", Box::new(std::io::Cursor::new(b)));
        let mut src = match open(bytes.clone()) {
            Ok(s) => s,
            Err(e) => return (Vec::new(), Some(e)),
        };
        if let Ok(mut plain) = open(bytes) {
            let (want, want_err) = drain_plain(&mut plain);
            let (got, got_err) = drain_from(&mut src);
            assert_eq!(got, want, "whole records read apart");
            assert_eq!(
                got_err.as_ref().map(ToString::to_string),
                want_err.as_ref().map(ToString::to_string)
            );
            if got_err.is_some() {
                assert!(
                    matches!(src.next_packet(), Ok(None)),
                    "finished after error"
                );
            }
            return (got, got_err);
        }
        let (out, err) = drain_from(&mut src);
        if err.is_some() {
            assert!(
                matches!(src.next_packet(), Ok(None)),
                "finished after error"
            );
        }
        (out, err)
    }

    /// Every packet up to the end or the first error, whole records taken
    /// first as the capture loop takes them.
    fn drain_from(src: &mut FileSource) -> (Got, Option<CaptureError>) {
        let mut out = Vec::new();
        loop {
            if let Some(p) = src.next_whole_packet() {
                out.push((p.ts, p.linktype, p.data.to_vec(), p.orig_len));
                continue;
            }
            match src.next_packet() {
                Ok(Some(p)) => out.push((p.ts, p.linktype, p.data.to_vec(), p.orig_len)),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    /// The same through the general way alone.
    fn drain_plain(src: &mut FileSource) -> (Got, Option<CaptureError>) {
        let mut out = Vec::new();
        loop {
            match src.next_packet() {
                Ok(Some(p)) => out.push((p.ts, p.linktype, p.data.to_vec(), p.orig_len)),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    fn drain(mut src: FileSource) -> (Got, Option<CaptureError>) {
        drain_from(&mut src)
    }

    /// A file of `bytes` on disk, mapped when read (the guard is installed).
    fn temp_file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
        assert!(mapped::install_guard());
        let dir = std::env::temp_dir().join(format!("wshs-file-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.pcap");
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// Packets of every size, so records straddle the blocks' and windows' edges at
    /// many different offsets, and some are larger than a page.
    fn many_records() -> Vec<u8> {
        records(0, 37)
    }

    /// 12,000 records from second `first`, sized by `step`.
    fn records(first: u32, step: u32) -> Vec<u8> {
        let data: Vec<Vec<u8>> = (0..12_000u32)
            .map(|i| (0..(i * step % 1500 + 1)).map(|j| (i + j) as u8).collect())
            .collect();
        let recs: Vec<(u32, u32, &[u8])> = data
            .iter()
            .enumerate()
            .map(|(i, d)| (first + i as u32, 7, d.as_slice()))
            .collect();
        pcap(false, 0xa1b2_c3d4, &recs, 0)
    }

    #[test]
    fn a_file_rewritten_in_place_while_read_is_damage_not_new_packets() {
        // The same layout with other times (nothing else would notice), and
        // another layout (the old positions land inside new records).
        for (name, newer) in [
            ("same-layout", records(1_000_000, 37)),
            ("other-layout", records(2_000_000, 41)),
        ] {
            let path = temp_file(name, &many_records());
            let mut src = FileSource::open(path.to_str().unwrap()).unwrap();
            for _ in 0..100 {
                assert!(matches!(src.next_packet(), Ok(Some(_))));
            }
            // A capture ring starts the slice over: truncated, written anew.
            std::fs::write(&path, &newer).unwrap();
            let (got, err) = drain_from(&mut src);
            let err = err.expect("the rewrite is reported");
            assert!(
                matches!(&err, CaptureError::Damaged { what, .. } if what == REWRITTEN),
                "{name}: {err}"
            );
            assert!(got.len() < REWRITE_CHECK_EVERY as usize, "{name}");
            assert!(matches!(src.next_packet(), Ok(None)), "finished");
            std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
        }
    }

    /// Every way a file on disk is read: mapped throughout, read throughout
    /// (no window maps), and read on from the middle after the first
    /// windows mapped.
    #[test]
    fn a_file_on_disk_reads_like_a_stream_while_its_blocks_are_held() {
        let bytes = many_records();
        assert!(bytes.len() > 8 * BUF_LEN, "spans many blocks");
        assert!(bytes.len() > 4 * WINDOW, "spans several windows");
        let path = temp_file("blocks", &bytes);
        let (streamed, err) = read_all(bytes.clone());
        assert!(err.is_none());
        for maps in [None, Some(0), Some(1), Some(3)] {
            mapped::FAIL_MAPS_AFTER.with(|c| c.set(maps));
            let mut src = FileSource::open(path.to_str().unwrap()).unwrap();
            assert!(src.watched.is_some(), "a regular file is watched");
            // Every packet's block is kept, as batches in flight keep them:
            // the reader must go on in other blocks, never over bytes handed
            // out.
            let mut held = Vec::new();
            let mut windows = 0;
            loop {
                match src.next_packet() {
                    Ok(Some(p)) => {
                        let b = p.backing.expect("a block behind every packet");
                        let at = p.data.as_ptr() as usize - b.as_ptr() as usize;
                        if matches!(**b, Block::Mapped(_))
                            && !held.last().is_some_and(|(l, _, _)| Arc::ptr_eq(l, b))
                        {
                            windows += 1;
                        }
                        held.push((Arc::clone(b), at, p.data.len()));
                    }
                    Ok(None) => break,
                    Err(e) => panic!("{maps:?}: {e}"),
                }
            }
            mapped::FAIL_MAPS_AFTER.with(|c| c.set(None));
            match maps {
                None => assert!(windows >= bytes.len().div_ceil(WINDOW), "{windows} windows"),
                Some(n) => assert_eq!(windows, n, "windows mapped before reading on"),
            }
            assert_eq!(held.len(), 12_000, "{maps:?}");
            for (i, ((b, at, len), s)) in held.iter().zip(&streamed).enumerate() {
                assert_eq!(&b[*at..at + len], &s.2[..], "{maps:?}: packet {i}");
            }
        }
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_file_cut_short_on_disk_is_reported_as_damage() {
        let bytes = many_records();
        let path = temp_file("cut", &bytes);
        let (whole, _) = read_all(bytes.clone());
        // Cut inside a record: the file ends in the middle of it.
        std::fs::write(&path, &bytes[..bytes.len() - 1000]).unwrap();
        let (got, err) = drain(FileSource::open(path.to_str().unwrap()).unwrap());
        assert!(
            matches!(err, Some(CaptureError::Truncated { .. })),
            "{err:?}"
        );
        assert!(!got.is_empty() && got.len() < whole.len());
        assert!(got[..] == whole[..got.len()], "everything before the cut");
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn a_file_that_shrinks_while_read_ends_with_damage() {
        let bytes = many_records();
        let path = temp_file("shrink", &bytes);
        let mut src = FileSource::open(path.to_str().unwrap()).unwrap();
        for _ in 0..100 {
            assert!(matches!(src.next_packet(), Ok(Some(_))));
        }
        // Another program truncates the file under the reader, inside the
        // block it is reading.
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(200_000)
            .unwrap();
        let (got, err) = drain_from(&mut src);
        let err = err.expect("the shrinking is reported");
        assert!(err.to_string().contains("shrank"), "{err}");
        // Packets read where the file's pages were lost (zeros, in a mapped
        // window) are never handed out. Only the end of the page that holds
        // the new end of the file reads as zeros without a fault: a record
        // straddling the cut may end in zeros.
        let cut = 200_000;
        let (whole, _) = read_all(bytes);
        assert!(100 + got.len() < 12_000);
        let mut at = 24 + whole[..100].iter().map(|p| 16 + p.2.len()).sum::<usize>();
        for (i, (p, w)) in got.iter().zip(&whole[100..]).enumerate() {
            let data_at = at + 16;
            assert!(data_at <= cut, "packet {i} lies past the cut");
            let kept = (cut - data_at).min(w.2.len());
            assert_eq!((p.0, p.2.len()), (w.0, w.2.len()), "packet {i}");
            assert_eq!(p.2[..kept], w.2[..kept], "packet {i}");
            assert!(p.2[kept..].iter().all(|b| *b == 0), "packet {i}");
            at = data_at + w.2.len();
        }
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn pcap_micro_and_nano_both_orders() {
        for big in [false, true] {
            let f = pcap(big, 0xa1b2_c3d4, &[(5, 250_000, b"abc"), (6, 1, b"")], 0);
            let (p, e) = read_all(f);
            assert!(e.is_none());
            assert_eq!(p.len(), 2);
            assert_eq!(p[0].0, Timestamp::new(5, 250_000_000));
            assert_eq!(
                (p[0].1, &p[0].2[..], p[0].3),
                (LinkType::ETHERNET, &b"abc"[..], 13)
            );
            let f = pcap(big, 0xa1b2_3c4d, &[(5, 250_000, b"abc")], 0);
            assert_eq!(read_all(f).0[0].0, Timestamp::new(5, 250_000));
        }
    }

    #[test]
    fn pcap_kuznetzov() {
        let f = pcap(false, 0xa1b2_cd34, &[(1, 2, b"xyz"), (3, 4, b"q")], 8);
        let (p, e) = read_all(f);
        assert!(e.is_none());
        assert_eq!(p[0].2, b"xyz");
        assert_eq!(p[1].2, b"q");
    }

    #[test]
    fn empty_and_foreign_inputs() {
        let (p, e) = read_all(pcap(false, 0xa1b2_c3d4, &[], 0));
        assert!(p.is_empty() && e.is_none());
        for junk in [&b""[..], b"ab", b"GET / HTTP/1.1\r\n"] {
            let (_, e) = read_all(junk.to_vec());
            assert!(
                matches!(e, Some(CaptureError::NotACapture { .. })),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn absurd_caplen_is_damage() {
        let mut f = pcap(false, 0xa1b2_c3d4, &[(1, 0, b"ok")], 0);
        let mut w = W::new(false);
        w.u32(1).u32(0).u32(1_409_179_648).u32(60);
        f.extend(w.v);
        let (p, e) = read_all(f);
        assert_eq!(p.len(), 1);
        assert!(matches!(e, Some(CaptureError::Damaged { packets: 1, .. })));
    }

    #[test]
    fn oversized_record_grows_buffer_and_straddles() {
        let big = vec![7u8; BUF_LEN + 1000];
        let recs: Vec<(u32, u32, &[u8])> = vec![(1, 0, b"a"), (2, 0, &big), (3, 0, b"b")];
        let mut f = pcap(false, 0xa1b2_c3d4, &recs, 0);
        f[16..20].copy_from_slice(&(4u32 << 20).to_le_bytes());
        let (p, e) = read_all(f);
        assert!(e.is_none(), "{e:?}");
        assert_eq!(p.len(), 3);
        assert_eq!(p[1].2.len(), big.len());
        assert_eq!(p[2].2, b"b");
    }

    /// A reader that hands out one byte at a time, so every record straddles.
    struct Trickle(std::io::Cursor<Vec<u8>>);
    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(1);
            self.0.read(&mut buf[..n])
        }
    }

    #[test]
    fn short_reads() {
        let f = pcap(true, 0xa1b2_c3d4, &[(1, 0, b"abc"), (2, 0, b"de")], 0);
        let mut src =
            FileSource::from_reader("t", Box::new(Trickle(std::io::Cursor::new(f)))).unwrap();
        assert_eq!(src.next_packet().unwrap().unwrap().data, b"abc");
        assert_eq!(src.next_packet().unwrap().unwrap().data, b"de");
        assert!(src.next_packet().unwrap().is_none());
    }

    fn block(w: &mut W, btype: u32, body: &[u8]) {
        let mut padded = body.to_vec();
        while padded.len() % 4 != 0 {
            padded.push(0);
        }
        let len = padded.len() as u32 + 12;
        w.u32(btype).u32(len).bytes(&padded).u32(len);
    }

    fn shb(w: &mut W) {
        let mut b = W::new(w.big);
        b.u32(0x1a2b_3c4d)
            .u16(1)
            .u16(0)
            .u32(0xffff_ffff)
            .u32(0xffff_ffff);
        block(w, ng::SHB_TYPE, &b.v);
    }

    fn idb(w: &mut W, linktype: u16, tsresol: Option<u8>) {
        idb_snap(w, linktype, 0, tsresol);
    }

    fn idb_snap(w: &mut W, linktype: u16, snaplen: u32, tsresol: Option<u8>) {
        let mut b = W::new(w.big);
        b.u16(linktype).u16(0).u32(snaplen);
        if let Some(r) = tsresol {
            b.u16(9).u16(1).bytes(&[r, 0, 0, 0]).u16(0).u16(0);
        }
        block(w, ng::IDB_TYPE, &b.v);
    }

    fn epb(w: &mut W, iface: u32, ticks: u64, data: &[u8]) {
        let mut b = W::new(w.big);
        b.u32(iface).u32((ticks >> 32) as u32).u32(ticks as u32);
        b.u32(data.len() as u32).u32(data.len() as u32).bytes(data);
        block(w, ng::EPB_TYPE, &b.v);
    }

    /// Two sections (one per byte order), two interfaces with different link
    /// types and resolutions, a skipped custom block, an obsolete and a simple
    /// packet block.
    fn sample_pcapng() -> Vec<u8> {
        let mut w = W::new(false);
        shb(&mut w);
        idb(&mut w, 1, Some(9));
        idb(&mut w, 113, Some(0x80 | 10));
        block(&mut w, 0xbad, b"custom");
        epb(&mut w, 0, 3_000_000_005, b"eth");
        let mut b = W::new(false);
        b.u32(0x544c_534b).u32(5).bytes(b"KEYS\n\0\0\0");
        block(&mut w, ng::DSB_TYPE, &b.v);
        let mut b = W::new(false);
        b.u32(0x5353_484b).u32(4).bytes(b"ssh!");
        block(&mut w, ng::DSB_TYPE, &b.v);
        epb(&mut w, 1, 1024 * 7 + 256, b"sll!");
        let mut b = W::new(false);
        b.u32(5).bytes(b"simple");
        block(&mut w, ng::SPB_TYPE, &b.v);
        let mut be = W::new(true);
        shb(&mut be);
        idb(&mut be, 101, None);
        let mut b = W::new(true);
        b.u32(0x544c_534b).u32(4).bytes(b"more");
        block(&mut be, ng::DSB_TYPE, &b.v);
        let mut b = W::new(true);
        b.u16(0)
            .u16(0)
            .u32(0)
            .u32(2_500_000)
            .u32(2)
            .u32(2)
            .bytes(b"ip");
        block(&mut be, ng::OPB_TYPE, &b.v);
        w.v.extend(be.v);
        w.v
    }

    #[test]
    fn pcapng_sections_interfaces_and_block_kinds() {
        let (p, e) = read_all(sample_pcapng());
        assert!(e.is_none(), "{e:?}");
        let got: Vec<_> = p.iter().map(|x| (x.0, x.1, &x.2[..])).collect();
        assert_eq!(
            got,
            vec![
                (Timestamp::new(3, 5), LinkType::ETHERNET, &b"eth"[..]),
                (Timestamp::new(7, 250_000_000), LinkType::LINUX_SLL, b"sll!"),
                (Timestamp::new(7, 250_000_000), LinkType::ETHERNET, b"simpl"),
                (Timestamp::new(2, 500_000_000), LinkType::RAW, b"ip"),
            ]
        );
    }

    #[test]
    fn pcapng_tls_secrets_come_in_file_order() {
        let mut src = FileSource::from_reader("t", Box::new(std::io::Cursor::new(sample_pcapng())))
            .expect("opens");
        let mut got = Vec::new();
        while let Some(item) = src.next_item().expect("reads") {
            got.push(match item {
                Item::Packet(p) => format!("packet {}", String::from_utf8_lossy(p.data)),
                Item::Secrets(s) => format!("secrets {}", String::from_utf8_lossy(s)),
            });
        }
        // SSH secrets are not TLS key logs: passed over like unknown blocks.
        assert_eq!(
            got,
            [
                "packet eth",
                "secrets KEYS\n",
                "packet sll!",
                "packet simpl",
                "secrets more",
                "packet ip"
            ]
        );
    }

    #[test]
    fn pcapng_damage() {
        let mut w = W::new(false);
        shb(&mut w);
        idb(&mut w, 1, None);
        epb(&mut w, 1, 0, b"x");
        let (p, e) = read_all(w.v);
        assert!(p.is_empty() && matches!(e, Some(CaptureError::Damaged { .. })));

        let mut w = W::new(false);
        shb(&mut w);
        w.u32(1).u32(13).u32(0).u32(0);
        assert!(matches!(
            read_all(w.v).1,
            Some(CaptureError::Damaged { .. })
        ));

        let mut w = W::new(false);
        shb(&mut w);
        assert_eq!(
            read_all(w.v).0.len(),
            0,
            "no interface, no packets: clean end"
        );
    }

    /// Packet blocks in a row, as captures are made of, with what they hold:
    /// two interfaces with their own link type, resolution and snap length,
    /// a Simple Packet Block now and then (timed by the packet before it and
    /// cut to interface 0's snap length), blocks of every size straddling
    /// the read blocks' edges.
    fn pcapng_in_a_row(big: bool) -> (Vec<u8>, Got) {
        let mut w = W::new(big);
        shb(&mut w);
        idb_snap(&mut w, 1, 1000, Some(9));
        idb_snap(&mut w, 113, 0, Some(0x80 | 10));
        let mut want = Vec::new();
        let mut last = Timestamp::default();
        for i in 0..6000u32 {
            let size = i * 37 % 1500 + 1;
            let data: Vec<u8> = (0..size).map(|j| (i + j) as u8).collect();
            if i % 500 == 499 {
                let mut b = W::new(big);
                b.u32(size).bytes(&data);
                block(&mut w, ng::SPB_TYPE, &b.v);
                let cut = data[..size.min(1000) as usize].to_vec();
                want.push((last, LinkType::ETHERNET, cut, size));
                continue;
            }
            let mut b = W::new(big);
            let (iface, ticks, ts, linktype) = if i % 3 == 0 {
                let ticks = u64::from(i) * 1024 + 512;
                let ts = Timestamp::new(i64::from(i), 500_000_000);
                (1, ticks, ts, LinkType::LINUX_SLL)
            } else {
                let ticks = u64::from(i) * 1_000_000_000 + u64::from(i);
                (
                    0,
                    ticks,
                    Timestamp::new(i64::from(i), i),
                    LinkType::ETHERNET,
                )
            };
            b.u32(iface).u32((ticks >> 32) as u32).u32(ticks as u32);
            b.u32(size).u32(size + 10).bytes(&data);
            block(&mut w, ng::EPB_TYPE, &b.v);
            want.push((ts, linktype, data, size + 10));
            last = ts;
        }
        (w.v, want)
    }

    #[test]
    fn pcapng_packet_blocks_in_a_row_keep_their_interface_and_time() {
        for big in [false, true] {
            let (file, want) = pcapng_in_a_row(big);
            let (got, err) = read_all(file);
            assert!(err.is_none(), "{err:?}");
            assert_eq!(got.len(), want.len());
            for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g, w, "packet {i}");
            }
        }
    }

    #[test]
    fn pcapng_damage_after_packet_blocks_in_a_row() {
        type Case = (&'static str, fn(&mut W));
        let cases: [Case; 3] = [
            ("captured length runs past the block", |w| {
                let mut b = W::new(w.big);
                b.u32(0)
                    .u32(0)
                    .u32(3)
                    .u32(100)
                    .u32(100)
                    .bytes(b"only 12 here");
                block(w, ng::EPB_TYPE, &b.v);
            }),
            (
                "captured length 1100000 is not plausible (snap length 0)",
                |w| {
                    epb(w, 0, 3, &vec![7; 1_100_000]);
                },
            ),
            ("packet on undeclared interface 2", |w| {
                epb(w, 2, 3, b"three")
            }),
        ];
        for big in [false, true] {
            for (what, bad) in cases {
                let mut w = W::new(big);
                shb(&mut w);
                idb(&mut w, 1, None);
                idb_snap(&mut w, 1, 600_000, Some(6));
                epb(&mut w, 0, 1, b"one");
                // Large enough (for its interface's snap length) that the
                // block read grows to 4 MiB and holds the next block whole,
                // however large.
                epb(&mut w, 1, 2, &vec![2; 2_200_000]);
                bad(&mut w);
                epb(&mut w, 0, 4, b"four");
                let (got, err) = read_all(w.v);
                assert_eq!(got.len(), 2, "{what}");
                match err {
                    Some(CaptureError::Damaged {
                        packets: 2,
                        what: w,
                        ..
                    }) if w == what => {}
                    other => panic!("{what}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn cut_at_every_offset() {
        for file in [
            sample_pcapng(),
            pcap(false, 0xa1b2_c3d4, &[(1, 0, b"abcd"), (2, 0, b"efghij")], 0),
            pcap(true, 0xa1b2_cd34, &[(1, 0, b"abcd"), (2, 0, b"efghij")], 8),
        ] {
            let (full, _) = read_all(file.clone());
            for cut in 0..file.len() {
                let (p, e) = read_all(file[..cut].to_vec());
                assert!(p.len() < full.len() || e.is_none());
                for (a, b) in p.iter().zip(&full) {
                    assert_eq!(a.2, b.2);
                }
                if cut >= 24 && p.len() < full.len() {
                    match e {
                        None => {}
                        Some(CaptureError::Truncated { packets, .. }) => {
                            assert_eq!(packets, p.len() as u64, "cut {cut}")
                        }
                        // Cut right after the section header: no interface yet.
                        Some(CaptureError::Damaged {
                            packets: 0, what, ..
                        }) if what.contains("no interface description block") => {}
                        other => panic!("cut {cut}: {other:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn flipped_bits_never_panic() {
        for file in [
            sample_pcapng(),
            pcap(true, 0xa1b2_cd34, &[(1, 0, b"abcd"), (2, 0, b"efghij")], 8),
        ] {
            for bit in 0..file.len() * 8 {
                let mut m = file.clone();
                m[bit / 8] ^= 1 << (bit % 8);
                // Any outcome but a panic (or a hang) is acceptable.
                let _ = read_all(m);
            }
        }
    }
}
