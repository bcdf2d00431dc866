//! Counters of the capture stage: what was read, filtered out, could not be
//! decoded, and what the kernel dropped.

use crate::decode::{Layer, Malformed};

/// Counters of the capture stage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureStats {
    pub packets: u64,
    pub bytes: u64,
    pub tcp_packets: u64,
    pub filtered_out: u64,
    /// IP fragments seen (also those inside rebuilt datagrams' tunnels).
    pub fragments: u64,
    /// Datagrams rebuilt from them and analysed.
    pub datagrams_reassembled: u64,
    /// Fragments given up (see [`crate::reassembly::ip_fragments`]).
    pub fragments_discarded: u64,
    pub malformed: u64,
    /// Malformed packets per layer, in [`Layer::ALL`] order: which layer
    /// breaks tells a bad capture setup (link) from damage or an attack.
    pub malformed_by_layer: [u64; 4],
    /// The first malformed packet (its frame number, 1-based as in
    /// Wireshark) and what was wrong, to look at.
    pub first_malformed: Option<(u64, Malformed)>,
    pub unsupported_link: u64,
    /// Packets cut short by the snap length.
    pub truncated: u64,
    /// Live capture: packets the kernel received and dropped (pcap stats).
    pub kernel_received: Option<u64>,
    pub kernel_dropped: Option<u64>,
    pub if_dropped: Option<u64>,
    /// One line per input that was damaged or failed.
    pub damage: Vec<String>,
    /// Bytes of TLS key log text in the capture's Decryption Secrets Blocks
    /// left unused past the limit the flow workers hold.
    pub secrets_ignored: u64,
}

impl CaptureStats {
    /// Count a packet that did not decode; `frame` is its 1-based number.
    pub fn note_malformed(&mut self, frame: u64, m: Malformed) {
        self.malformed += 1;
        if let Some(i) = Layer::ALL.iter().position(|&l| l == m.layer) {
            self.malformed_by_layer[i] += 1;
        }
        self.first_malformed.get_or_insert((frame, m));
    }

    /// "3 malformed packets (ip 2, tcp 1; first: frame 17, ip at byte 14:
    /// bad IPv4 header length)", or nothing.
    pub fn malformed_note(&self) -> Option<String> {
        if self.malformed == 0 {
            return None;
        }
        let layers: Vec<String> = Layer::ALL
            .iter()
            .zip(self.malformed_by_layer)
            .filter(|(_, n)| *n > 0)
            .map(|(l, n)| format!("{} {n}", l.name()))
            .collect();
        let first = self
            .first_malformed
            .map(|(frame, m)| format!("; first: frame {frame}, {m}"))
            .unwrap_or_default();
        Some(format!(
            "{} malformed packets ({}{first})",
            self.malformed,
            layers.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_packets_are_counted_per_layer_and_the_first_is_named() {
        let mut s = CaptureStats::default();
        assert_eq!(s.malformed_note(), None);
        let ip = Malformed {
            layer: Layer::Ip,
            what: "bad IPv4 header length",
            offset: Some(14),
        };
        let tcp = Malformed {
            layer: Layer::Tcp,
            what: "TCP data offset below 5",
            offset: Some(46),
        };
        s.note_malformed(17, ip);
        s.note_malformed(20, tcp);
        s.note_malformed(31, ip);
        assert_eq!(s.malformed, 3);
        assert_eq!(s.malformed_by_layer, [0, 2, 0, 1]);
        assert_eq!(
            s.malformed_note().as_deref(),
            Some(
                "3 malformed packets (ip 2, tcp 1; first: frame 17, \
                 ip at byte 14: bad IPv4 header length)"
            )
        );
    }
}
