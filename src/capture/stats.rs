//! Counters of the capture stage: what was read, filtered out, could not be
//! decoded, and what the kernel dropped.

/// Counters of the capture stage.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureStats {
    pub packets: u64,
    pub bytes: u64,
    pub tcp_packets: u64,
    pub filtered_out: u64,
    pub fragments: u64,
    pub malformed: u64,
    pub unsupported_link: u64,
    /// Packets cut short by the snap length.
    pub truncated: u64,
    /// Live capture: packets the kernel received and dropped (pcap stats).
    pub kernel_received: Option<u64>,
    pub kernel_dropped: Option<u64>,
    pub if_dropped: Option<u64>,
    /// One line per input that was damaged or failed.
    pub damage: Vec<String>,
}
