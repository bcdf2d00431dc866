//! Writing classic pcap: the file format, and [`PcapWriter`], a packet source
//! that records every packet another source hands out (`-w`), the way
//! smoltcp's `PcapWriter` wraps a device.

use std::fs::File;
use std::io::{BufWriter, Write};

use super::{CaptureError, KernelStats, LinkType, Next, PacketSource, RawPacket};

/// Classic pcap, nanosecond timestamps, written in this machine's byte order.
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;

/// A classic pcap file being written: the header, then one record per packet.
pub struct PcapFile<W: Write> {
    out: W,
    snaplen: u32,
}

impl<W: Write> PcapFile<W> {
    /// Write the file header; packets longer than `snaplen` are cut.
    pub fn new(mut out: W, linktype: LinkType, snaplen: u32) -> std::io::Result<Self> {
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&MAGIC_NANOS.to_ne_bytes());
        h[4..6].copy_from_slice(&2u16.to_ne_bytes());
        h[6..8].copy_from_slice(&4u16.to_ne_bytes());
        // thiszone and sigfigs stay 0.
        h[16..20].copy_from_slice(&snaplen.to_ne_bytes());
        h[20..24].copy_from_slice(&linktype.0.to_ne_bytes());
        out.write_all(&h)?;
        Ok(PcapFile { out, snaplen })
    }

    pub fn write_packet(&mut self, p: &RawPacket<'_>) -> std::io::Result<()> {
        let caplen = p.data.len().min(self.snaplen as usize);
        let secs = u32::try_from(p.ts.secs).unwrap_or(0);
        let mut rec = [0u8; 16];
        rec[0..4].copy_from_slice(&secs.to_ne_bytes());
        rec[4..8].copy_from_slice(&p.ts.nanos.to_ne_bytes());
        rec[8..12].copy_from_slice(&(caplen as u32).to_ne_bytes());
        rec[12..16].copy_from_slice(&p.orig_len.max(caplen as u32).to_ne_bytes());
        self.out.write_all(&rec)?;
        self.out.write_all(&p.data[..caplen])
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// A packet source that saves what another source hands out to a pcap file
/// (`-w`). A write error ends the run like a capture error: a recording that
/// silently stops is worse than none.
pub struct PcapWriter<S> {
    inner: S,
    file: PcapFile<BufWriter<File>>,
    linktype: LinkType,
    path: String,
    /// A flush error met while reporting kernel counters, returned next.
    failed: Option<std::io::Error>,
}

impl<S: PacketSource> PcapWriter<S> {
    /// Create `path` now (so a bad path is an error before the capture runs)
    /// for packets of `linktype`.
    pub fn create(
        inner: S,
        path: &str,
        linktype: LinkType,
        snaplen: u32,
    ) -> Result<Self, CaptureError> {
        let werr = |source| CaptureError::Write {
            path: path.to_string(),
            source,
        };
        let f = File::create(path).map_err(werr)?;
        let file = PcapFile::new(BufWriter::new(f), linktype, snaplen).map_err(werr)?;
        Ok(PcapWriter {
            inner,
            file,
            linktype,
            path: path.to_string(),
            failed: None,
        })
    }

    fn error(&self, source: std::io::Error) -> CaptureError {
        CaptureError::Write {
            path: self.path.clone(),
            source,
        }
    }
}

impl<S: PacketSource> PacketSource for PcapWriter<S> {
    fn next(&mut self) -> Result<Next<'_>, CaptureError> {
        if let Some(e) = self.failed.take() {
            return Err(self.error(e));
        }
        let (file, linktype, path) = (&mut self.file, self.linktype, &self.path);
        let werr = |source| CaptureError::Write {
            path: path.clone(),
            source,
        };
        match self.inner.next()? {
            Next::Packet(p) => {
                // A classic pcap file has one link type.
                if p.linktype == linktype {
                    file.write_packet(&p).map_err(werr)?;
                }
                Ok(Next::Packet(p))
            }
            Next::End => {
                file.flush().map_err(werr)?;
                Ok(Next::End)
            }
            Next::Idle => Ok(Next::Idle),
            // A classic pcap file has no place for them.
            Next::Secrets(text) => Ok(Next::Secrets(text)),
        }
    }

    fn each_ready(&mut self, take: &mut dyn FnMut(Next<'_>) -> bool) -> Result<(), CaptureError> {
        if let Some(e) = self.failed.take() {
            return Err(self.error(e));
        }
        let (file, linktype, failed) = (&mut self.file, self.linktype, &mut self.failed);
        // What could not be written is not analysed either: the recording
        // and the report stay about the same packets.
        self.inner.each_ready(&mut |next| {
            let written = match &next {
                Next::Packet(p) if p.linktype == linktype => file.write_packet(p),
                Next::End => file.flush(),
                _ => Ok(()),
            };
            match written {
                Ok(()) => take(next),
                Err(e) => {
                    *failed = Some(e);
                    false
                }
            }
        })?;
        match self.failed.take() {
            Some(e) => Err(self.error(e)),
            None => Ok(()),
        }
    }

    /// Flushed here too (about once a second), so the file can be read while
    /// the capture goes on.
    fn kernel_stats(&mut self) -> Option<KernelStats> {
        if let Err(e) = self.file.flush() {
            self.failed.get_or_insert(e);
        }
        self.inner.kernel_stats()
    }

    fn is_live(&self) -> bool {
        self.inner.is_live()
    }

    fn progress(&self) -> (u64, Option<u64>) {
        self.inner.progress()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{FileSource, Timestamp};

    /// A source of two packets, handed over one at a time (`next`) or both
    /// in one call (`each_ready`, as a live capture hands over its ring).
    struct Two(u32);

    impl PacketSource for Two {
        fn next(&mut self) -> Result<Next<'_>, CaptureError> {
            if self.0 == 2 {
                return Ok(Next::End);
            }
            self.0 += 1;
            Ok(Next::Packet(RawPacket {
                ts: Timestamp::new(1_700_000_000 + i64::from(self.0), 5),
                linktype: LinkType::RAW,
                data: b"\x45packet",
                orig_len: 1500,
                backing: None,
            }))
        }

        fn each_ready(
            &mut self,
            take: &mut dyn FnMut(Next<'_>) -> bool,
        ) -> Result<(), CaptureError> {
            loop {
                let next = self.next()?;
                let end = matches!(next, Next::End);
                if !take(next) || end {
                    return Ok(());
                }
            }
        }
    }

    /// Reads `w` to its end or its first error, one packet per call or all
    /// that is ready per call: the packets it passed on, and the error.
    fn drain(w: &mut PcapWriter<Two>, batched: bool) -> (usize, Option<CaptureError>) {
        let mut seen = 0;
        let mut ended = false;
        for _ in 0..10 {
            let r = if batched {
                w.each_ready(&mut |n| match n {
                    Next::Packet(_) => {
                        seen += 1;
                        true
                    }
                    Next::End => {
                        ended = true;
                        false
                    }
                    _ => true,
                })
            } else {
                match w.next() {
                    Ok(Next::Packet(_)) => {
                        seen += 1;
                        Ok(())
                    }
                    Ok(Next::End) => {
                        ended = true;
                        Ok(())
                    }
                    Ok(_) => Ok(()),
                    Err(e) => Err(e),
                }
            };
            if let Err(e) = r {
                return (seen, Some(e));
            }
            if ended {
                break;
            }
        }
        assert!(ended, "the source ends");
        (seen, None)
    }

    #[test]
    fn what_passes_through_is_recorded_and_reads_back() {
        for batched in [false, true] {
            let path = std::env::temp_dir()
                .join(format!("wshs-pcap-writer-{}-{batched}", std::process::id()));
            let path = path.to_string_lossy().into_owned();
            let mut w = PcapWriter::create(Two(0), &path, LinkType::RAW, 4).expect("creates");
            let (seen, err) = drain(&mut w, batched);
            assert_eq!((seen, err.is_none()), (2, true), "batched {batched}");
            drop(w);
            let mut back = FileSource::open(&path).expect("reads back");
            let p = back.next_packet().expect("first").expect("a packet");
            assert_eq!(
                (p.ts, p.linktype, p.data, p.orig_len),
                (
                    Timestamp::new(1_700_000_001, 5),
                    LinkType::RAW,
                    &b"\x45pac"[..],
                    1500
                )
            );
            assert!(back.next_packet().expect("second").is_some());
            assert!(back.next_packet().expect("end").is_none());
            let _ = std::fs::remove_file(&path);
        }
    }

    #[test]
    fn a_full_disk_is_an_error_not_a_silent_stop() {
        if !std::path::Path::new("/dev/full").exists() {
            return;
        }
        for batched in [false, true] {
            let mut w = PcapWriter::create(Two(0), "/dev/full", LinkType::RAW, 4).expect("opens");
            let (_, err) = drain(&mut w, batched);
            let e = err.expect("the write fails");
            assert!(matches!(e, CaptureError::Write { .. }), "{e}");
        }
    }
}
