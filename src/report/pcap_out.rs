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
    let mut no = 0u64;
    for input in inputs {
        let mut src = FileSource::open(input)?;
        // What came before damage is copied; the analysis reported the damage.
        while let Ok(Some(p)) = src.next_packet() {
            let this = no;
            no += 1;
            let seg = match decode::decode(p.linktype, p.data, p.orig_len) {
                Decoded::Tcp(seg) => Some(seg),
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
    let mut file = BufWriter::new(file);
    let mut linktype: Option<LinkType> = None;
    let mut written = Written::default();
    let mut masking = Masking::new(redact.then_some(flows));
    // The header waits for the first packet kept, whose link type it names.
    let mut w = None;
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
            let Decoded::Tcp(seg) = decode::decode(p.linktype, p.data, p.orig_len) else {
                continue;
            };
            if !flows.contains(&FlowKey::of(seg.src, seg.dst).0) {
                continue;
            }
            let lt = *linktype.get_or_insert(p.linktype);
            if lt != p.linktype {
                written.other_link += 1;
                continue;
            }
            if w.is_none() {
                w = Some(PcapFile::new(&mut file, lt, SNAPLEN).map_err(werr)?);
            }
            let (data, masked) = masking.apply(p.data, Some(&seg));
            if let Some(pcap) = w.as_mut() {
                let copy = RawPacket {
                    data,
                    backing: None,
                    ..p
                };
                pcap.write_packet(&copy).map_err(werr)?;
                written.packets += 1;
                written.masked += u64::from(masked);
            }
        }
    }
    let mut w = match w {
        Some(pcap) => pcap,
        None => PcapFile::new(&mut file, linktype.unwrap_or(LinkType::ETHERNET), SNAPLEN)
            .map_err(werr)?,
    };
    w.flush().map_err(werr)?;
    Ok(written)
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
