//! `--write-rejected FILE`: a small capture holding only the connections that
//! carried an attempt that was not accepted, for a colleague or a regression
//! fixture.
//!
//! The analysis decides which connections matter only once their attempts
//! are judged, so the packets are copied in a second pass: over the input
//! files (`-r`), or over the full capture saved during a live run. Unless
//! asked not to, the copies have their secrets masked ([`super::wire_redact`]).

use std::collections::HashMap;
use std::io::{BufWriter, Write};

use super::wire_redact::WireRedactor;
use crate::capture::file::FileSource;
use crate::capture::{LinkType, PacketSource};
use crate::decode::{self, Decoded, Endpoint, FlowKey};

/// Connections to keep, by direction-independent key, with the secret
/// strings their attempts carried.
#[derive(Debug, Default, Clone)]
pub struct FlowSet {
    keys: HashMap<FlowKey, Vec<Vec<u8>>>,
}

impl FlowSet {
    /// Keep the connection `client`–`server`; `secrets` (from
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

    fn secrets(&self, key: &FlowKey) -> Option<&[Vec<u8>]> {
        self.keys.get(key).map(Vec::as_slice)
    }
}

/// What [`write_flows`] wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub packets: u64,
    /// Packets of a kept connection left out because their link type differs
    /// from the file's (a classic pcap file has one).
    pub other_link: u64,
    /// Packets whose payload had secrets masked.
    pub masked: u64,
}

const SNAPLEN: u32 = 262_144;
/// Classic pcap, nanosecond timestamps, written in this machine's byte order.
const MAGIC_NANOS: u32 = 0xa1b2_3c4d;

/// Copy the packets of the connections in `flows` from `inputs` (read in
/// order) into a classic pcap file at `out`, with their secrets masked when
/// `redact`. The file is written even when nothing matched, so a script can
/// count on it.
pub fn write_flows(
    inputs: &[String],
    flows: &FlowSet,
    out: &str,
    redact: bool,
) -> Result<Written, String> {
    let file = std::fs::File::create(out).map_err(|e| format!("cannot write {out}: {e}"))?;
    let mut w = BufWriter::new(file);
    let werr = |e: std::io::Error| format!("cannot write {out}: {e}");
    let mut linktype: Option<LinkType> = None;
    let mut written = Written::default();
    let mut pending_header = true;
    let mut redactor = WireRedactor::default();
    let mut packet = Vec::new();
    for input in inputs {
        let mut src = FileSource::open(input).map_err(|e| e.to_string())?;
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
            let Some(secrets) = flows.secrets(&FlowKey::of(seg.src, seg.dst).0) else {
                continue;
            };
            let lt = *linktype.get_or_insert(p.linktype);
            if lt != p.linktype {
                written.other_link += 1;
                continue;
            }
            if pending_header {
                write_header(&mut w, lt).map_err(werr)?;
                pending_header = false;
            }
            let caplen = p.data.len().min(SNAPLEN as usize);
            packet.clear();
            packet.extend_from_slice(&p.data[..caplen]);
            if redact {
                let payload_at = seg.payload.as_ptr() as usize - p.data.as_ptr() as usize;
                if redactor.mask_packet(&mut packet, &seg, payload_at, secrets) {
                    written.masked += 1;
                }
            }
            let secs = u32::try_from(p.ts.secs).unwrap_or(0);
            let mut rec = [0u8; 16];
            rec[0..4].copy_from_slice(&secs.to_ne_bytes());
            rec[4..8].copy_from_slice(&p.ts.nanos.to_ne_bytes());
            rec[8..12].copy_from_slice(&(caplen as u32).to_ne_bytes());
            rec[12..16].copy_from_slice(&p.orig_len.max(caplen as u32).to_ne_bytes());
            w.write_all(&rec).map_err(werr)?;
            w.write_all(&packet).map_err(werr)?;
            written.packets += 1;
        }
    }
    if pending_header {
        write_header(&mut w, linktype.unwrap_or(LinkType::ETHERNET)).map_err(werr)?;
    }
    w.flush().map_err(werr)?;
    Ok(written)
}

fn write_header(w: &mut impl Write, lt: LinkType) -> std::io::Result<()> {
    let mut h = [0u8; 24];
    h[0..4].copy_from_slice(&MAGIC_NANOS.to_ne_bytes());
    h[4..6].copy_from_slice(&2u16.to_ne_bytes());
    h[6..8].copy_from_slice(&4u16.to_ne_bytes());
    // thiszone and sigfigs stay 0.
    h[16..20].copy_from_slice(&SNAPLEN.to_ne_bytes());
    h[20..24].copy_from_slice(&lt.0.to_ne_bytes());
    w.write_all(&h)
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
