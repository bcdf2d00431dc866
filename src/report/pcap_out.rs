//! `--write-rejected FILE`: a small capture holding only the connections that
//! carried an attempt that was not accepted, for a colleague or a regression
//! fixture; and `--annotate FILE.pcapng`, the whole input with the diagnosis
//! as packet comments.
//!
//! The analysis decides which connections matter only once their attempts
//! are judged, so the packets are copied in a second pass: over the input
//! files (`-r`), or over the full capture saved during a live run. Unless
//! asked not to, the copies have their secrets masked ([`super::wire_redact`]):
//! both files leave the analyst's hands.

use std::collections::HashMap;
use std::io::BufWriter;

use super::annotate::Annotations;
use super::held_fragments::{HeldFragments, HeldPacket, Release};
use super::pcapng::PcapngWriter;
use super::wire_redact::WireRedactor;
use super::OutputError;
use crate::capture::file::FileSource;
use crate::capture::pcap_writer::PcapFile;
use crate::capture::{LinkType, RawPacket};
use crate::decode::{self, Decoded, Endpoint, FlowKey, TcpSegment};

/// Connections, by direction-independent key, with the secret strings their
/// attempts carried: the ones to keep, or the ones whose secrets to mask.
#[derive(Debug, Default, Clone)]
pub struct FlowSet {
    keys: HashMap<FlowKey, Vec<Vec<u8>>>,
}

impl FlowSet {
    /// Add the connection `client`–`server`; `secrets` (from
    /// [`super::redact::secrets_of`]) are masked wherever its packets hold them.
    pub fn insert(&mut self, client: Endpoint, server: Endpoint, secrets: Vec<String>) {
        let known = self.keys.entry(FlowKey::of(client, server).0).or_default();
        for s in secrets {
            if !known.iter().any(|k| *k == s.as_bytes()) {
                known.push(s.into_bytes());
            }
        }
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn contains(&self, key: &FlowKey) -> bool {
        self.keys.contains_key(key)
    }

    fn secrets(&self, key: &FlowKey) -> &[Vec<u8>] {
        self.keys.get(key).map_or(&[], Vec::as_slice)
    }
}

/// What [`write_flows`] or [`write_pcapng`] wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub packets: u64,
    /// Packets of a kept connection left out because their link type differs
    /// from the file's (a classic pcap file has one).
    pub other_link: u64,
    /// Packets written with a comment (pcapng).
    pub commented: u64,
    /// Packets whose payload had secrets masked.
    pub masked: u64,
}

impl Written {
    fn add(&mut self, o: Written) {
        self.packets += o.packets;
        self.other_link += o.other_link;
        self.commented += o.commented;
        self.masked += o.masked;
    }
}

/// Copies of packets with their secrets masked, or the packets as they are.
struct Masking<'a> {
    /// The secrets known per connection; `None`: nothing is masked.
    secrets: Option<&'a FlowSet>,
    redactor: WireRedactor,
    copy: Vec<u8>,
}

impl<'a> Masking<'a> {
    fn new(secrets: Option<&'a FlowSet>) -> Self {
        Masking {
            secrets,
            redactor: WireRedactor::default(),
            copy: Vec::new(),
        }
    }

    /// The bytes to write for `data` (whose TCP segment is `seg`, when it has
    /// one), and whether any was masked.
    fn apply<'b>(&'b mut self, data: &'b [u8], seg: Option<&TcpSegment<'_>>) -> (&'b [u8], bool) {
        let (Some(known), Some(seg)) = (self.secrets, seg) else {
            return (data, false);
        };
        if seg.payload.is_empty() {
            self.redactor.observe(seg);
            return (data, false);
        }
        // The payload lies inside the captured bytes (decoding borrows them).
        let Some(payload_at) = (seg.payload.as_ptr() as usize)
            .checked_sub(data.as_ptr() as usize)
            .filter(|at| at + seg.payload.len() <= data.len())
        else {
            self.redactor.observe(seg);
            return (data, false);
        };
        self.copy.clear();
        self.copy.extend_from_slice(data);
        let secrets = known.secrets(&FlowKey::of(seg.src, seg.dst).0);
        let masked = self
            .redactor
            .mask_packet(&mut self.copy, seg, payload_at, secrets);
        if masked {
            (&self.copy, true)
        } else {
            (data, false)
        }
    }
}

/// The fragment packets to write out of `releases` (see
/// [`super::held_fragments`]): those of kept connections, or all when `keep`
/// is `None`, each with its bytes and whether any was masked.
fn fragments_to_write(
    releases: Vec<Release<'_>>,
    keep: Option<&FlowSet>,
    masking: &mut Masking<'_>,
) -> Vec<(HeldPacket, Vec<u8>, bool)> {
    let mut out = Vec::new();
    for r in releases {
        match r {
            Release::Whole {
                pieces,
                seg,
                payload,
            } => {
                if keep.is_some_and(|k| !k.contains(&FlowKey::of(seg.src, seg.dst).0)) {
                    continue;
                }
                let (bytes, masked) = masking.apply(payload, Some(&seg));
                let bytes = bytes.to_vec();
                for p in pieces {
                    let data = p.with_bytes(Some(&bytes));
                    out.push((p, data, masked));
                }
            }
            Release::NotTcp(pieces) | Release::GivenUp(pieces) => {
                if keep.is_some() {
                    continue;
                }
                // No connection to take secrets from: blanked when masking.
                let blank = masking.secrets.is_some();
                for p in pieces {
                    let data = if blank {
                        p.with_bytes(None)
                    } else {
                        p.data.clone()
                    };
                    out.push((p, data, blank));
                }
            }
        }
    }
    out
}

/// A file name asking for pcapng.
pub fn is_pcapng(path: &str) -> bool {
    path.to_ascii_lowercase().ends_with(".pcapng")
}

/// Copy the packets of `inputs` (read in order, one file open at a time; all
/// packets, or those of the connections in `keep`)
/// into a pcapng file at `out`, each with the comments `notes` holds for its
/// global packet number (counted over every packet read, as the analysis
/// counted them). With `mask` (the secrets known per connection), secrets are
/// masked in every packet copied.
pub fn write_pcapng(
    inputs: &[String],
    keep: Option<&FlowSet>,
    mask: Option<&FlowSet>,
    notes: &Annotations,
    out: &str,
) -> Result<Written, OutputError> {
    let werr = |source| OutputError::File {
        path: out.to_string(),
        source,
    };
    let file = std::fs::File::create(out).map_err(werr)?;
    let mut w = PcapngWriter::new(BufWriter::new(file)).map_err(werr)?;
    let mut written = Written::default();
    let mut masking = Masking::new(mask);
    let mut held = HeldFragments::default();
    let mut no = 0u64;
    let write_held = |w: &mut PcapngWriter<_>,
                      written: &mut Written,
                      list: Vec<(HeldPacket, Vec<u8>, bool)>|
     -> Result<(), OutputError> {
        for (p, data, masked) in list {
            let comments = notes.get(p.no);
            w.packet(p.linktype, p.ts, &data, p.orig_len, comments)
                .map_err(werr)?;
            written.packets += 1;
            written.commented += u64::from(!comments.is_empty());
            written.masked += u64::from(masked);
        }
        Ok(())
    };
    for input in inputs {
        let mut src = FileSource::open(input)?;
        // What came before damage is copied; the analysis reported the damage.
        while let Ok(Some(p)) = src.next_packet() {
            let this = no;
            no += 1;
            let seg = match decode::decode(p.linktype, p.data, p.orig_len) {
                Decoded::Tcp(seg) => Some(seg),
                Decoded::Fragment(f) => {
                    let releases = held.add((p.data, p.ts, p.linktype, p.orig_len, this), &f);
                    let list = fragments_to_write(releases, keep, &mut masking);
                    write_held(&mut w, &mut written, list)?;
                    continue;
                }
                _ => None,
            };
            if let Some(flows) = keep {
                match &seg {
                    Some(seg) if flows.contains(&FlowKey::of(seg.src, seg.dst).0) => {}
                    _ => continue,
                }
            }
            let (data, masked) = masking.apply(p.data, seg.as_ref());
            let comments = notes.get(this);
            w.packet(p.linktype, p.ts, data, p.orig_len, comments)
                .map_err(werr)?;
            written.packets += 1;
            written.commented += u64::from(!comments.is_empty());
            written.masked += u64::from(masked);
        }
    }
    let list = fragments_to_write(held.finish(), keep, &mut masking);
    write_held(&mut w, &mut written, list)?;
    w.flush().map_err(werr)?;
    Ok(written)
}

const SNAPLEN: u32 = 262_144;

/// Copy the packets of the connections in `flows` from `inputs` (read in
/// order) into a classic pcap file at `out`, with their secrets masked when
/// `redact`. The file is written even when nothing matched, so a script can
/// count on it.
pub fn write_flows(
    inputs: &[String],
    flows: &FlowSet,
    out: &str,
    redact: bool,
) -> Result<Written, OutputError> {
    let werr = |source| OutputError::File {
        path: out.to_string(),
        source,
    };
    let file = std::fs::File::create(out).map_err(werr)?;
    let mut pcap = KeptPcap {
        file: Some(BufWriter::new(file)),
        w: None,
        linktype: None,
    };
    let mut written = Written::default();
    let mut masking = Masking::new(redact.then_some(flows));
    let mut held = HeldFragments::default();
    let mut no = 0u64;
    let write_held = |pcap: &mut KeptPcap,
                      written: &mut Written,
                      list: Vec<(HeldPacket, Vec<u8>, bool)>|
     -> std::io::Result<()> {
        for (h, data, masked) in list {
            let copy = RawPacket {
                ts: h.ts,
                linktype: h.linktype,
                data: &data,
                orig_len: h.orig_len,
                backing: None,
            };
            written.add(pcap.write(&copy, masked)?);
        }
        Ok(())
    };
    for input in inputs {
        let mut src = FileSource::open(input)?;
        loop {
            let p = match src.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                // What came before the damage is already copied; the analysis
                // reported the damage itself.
                Err(_) => break,
            };
            let this = no;
            no += 1;
            let seg = match decode::decode(p.linktype, p.data, p.orig_len) {
                Decoded::Tcp(seg) => seg,
                Decoded::Fragment(f) => {
                    let releases = held.add((p.data, p.ts, p.linktype, p.orig_len, this), &f);
                    let list = fragments_to_write(releases, Some(flows), &mut masking);
                    write_held(&mut pcap, &mut written, list).map_err(werr)?;
                    continue;
                }
                _ => continue,
            };
            if !flows.contains(&FlowKey::of(seg.src, seg.dst).0) {
                continue;
            }
            let (data, masked) = masking.apply(p.data, Some(&seg));
            let copy = RawPacket {
                data,
                backing: None,
                ..p
            };
            written.add(pcap.write(&copy, masked).map_err(werr)?);
        }
    }
    let list = fragments_to_write(held.finish(), Some(flows), &mut masking);
    write_held(&mut pcap, &mut written, list).map_err(werr)?;
    pcap.finish().map_err(werr)?;
    Ok(written)
}

/// The classic pcap file of [`write_flows`]: its header waits for the first
/// packet kept, whose link type it names (the file has one).
struct KeptPcap {
    file: Option<BufWriter<std::fs::File>>,
    w: Option<PcapFile<BufWriter<std::fs::File>>>,
    linktype: Option<LinkType>,
}

impl KeptPcap {
    /// Write one kept packet; what was written.
    fn write(&mut self, p: &RawPacket<'_>, masked: bool) -> std::io::Result<Written> {
        let lt = *self.linktype.get_or_insert(p.linktype);
        if lt != p.linktype {
            return Ok(Written {
                other_link: 1,
                ..Written::default()
            });
        }
        if let Some(file) = self.file.take() {
            self.w = Some(PcapFile::new(file, lt, SNAPLEN)?);
        }
        if let Some(pcap) = self.w.as_mut() {
            pcap.write_packet(p)?;
        }
        Ok(Written {
            packets: 1,
            masked: u64::from(masked),
            ..Written::default()
        })
    }

    /// The header (Ethernet when nothing was kept) and everything flushed.
    fn finish(mut self) -> std::io::Result<()> {
        if let Some(file) = self.file.take() {
            let lt = self.linktype.unwrap_or(LinkType::ETHERNET);
            self.w = Some(PcapFile::new(file, lt, SNAPLEN)?);
        }
        match self.w.as_mut() {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
    }

    fn tmp(tag: &str) -> String {
        std::env::temp_dir()
            .join(format!("wshs-pcap-out-{tag}-{}.pcap", std::process::id()))
            .to_string_lossy()
            .into_owned()
    }

    fn ep(s: &str) -> Endpoint {
        let a: std::net::SocketAddr = s.parse().unwrap();
        Endpoint {
            ip: a.ip(),
            port: a.port(),
        }
    }

    #[test]
    fn keeps_only_the_chosen_connection_and_reads_back() {
        let input = fixture("python-websockets__keepalive-sequence.pcap");
        let all = crate::analyze_files(&[&input], &Default::default()).unwrap();
        let r = &all.records[0];
        let mut set = FlowSet::default();
        set.insert(ep(&r.client), ep(&r.server), Vec::new());
        let out = tmp("one");
        let n = write_flows(std::slice::from_ref(&input), &set, &out, true).unwrap();
        assert!(n.packets > 0);
        let back = crate::analyze_files(&[&out], &Default::default()).unwrap();
        assert_eq!(back.records.len(), all.records.len());
        assert!(back.error.is_none(), "{:?}", back.error);
        let _ = std::fs::remove_file(&out);
    }

    #[test]
    fn nothing_chosen_gives_an_empty_valid_capture() {
        let out = tmp("none");
        let n = write_flows(
            &[fixture("python-websockets__ok.pcap")],
            &FlowSet::default(),
            &out,
            true,
        )
        .unwrap();
        assert_eq!(n.packets, 0);
        let back = crate::analyze_files(&[&out], &Default::default()).unwrap();
        assert!(back.records.is_empty());
        assert!(back.error.is_none());
        let _ = std::fs::remove_file(&out);
    }
}
