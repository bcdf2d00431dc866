//! The BPF filter (`FILTER…` on the command line, tcpdump syntax), compiled
//! once per link type: a pcapng file may mix link types, and one expression
//! compiles to different programs (or not at all) for each.

use super::LinkType;

/// A filter that cannot be used. Never silently replaced by "let everything
/// through": a filter that does nothing gives answers about the wrong traffic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error("bad filter '{expr}': {msg}")]
    Syntax { expr: String, msg: String },
    #[error("filter '{expr}' cannot be used on link type {linktype}: {msg}")]
    LinkType {
        expr: String,
        linktype: u32,
        msg: String,
    },
}

/// Every IP fragment, in tcpdump syntax: IPv4 ones by their offset and
/// more-fragments bits, IPv6 ones by a fragment header right after the fixed
/// header (where senders put it).
pub const FRAGMENTS: &str = "((ip[6:2] & 0x3fff) != 0 or (ip6 and ip6[6] == 44))";

/// `expr`, letting every IP fragment through as well. A fragment after the
/// first carries no port, and libpcap cannot read one behind an IPv6
/// fragment header, so a filter such as `port 80` would drop the pieces of
/// the very requests it asks for; the datagram rebuilt from them is checked
/// against `expr` itself instead (see the capture stage).
pub fn or_fragments(expr: &str) -> String {
    format!("({expr}) or {FRAGMENTS}")
}

/// A BPF expression with its program per link type met so far.
pub struct BpfFilter {
    expr: String,
    /// What errors name: the user's expression, also when `expr` adds to it.
    shown: String,
    progs: Vec<(u32, pcap::BpfProgram)>,
}

/// The libpcap DLT value of a file's LINKTYPE value: they differ for a few
/// old types whose DLT numbers vary between platforms (values as on Linux).
fn dlt_of(linktype: LinkType) -> i32 {
    match linktype.0 {
        100 => 11, // ATM_RFC1483
        101 => 12, // RAW
        102 => 15, // SLIP_BSDOS
        103 => 16, // PPP_BSDOS
        106 => 19, // ATM_CLIP
        n => n as i32,
    }
}

fn compile(expr: &str, linktype: LinkType) -> Result<pcap::BpfProgram, String> {
    let dead = pcap::Capture::dead(pcap::Linktype(dlt_of(linktype))).map_err(|e| e.to_string())?;
    dead.compile(expr, true).map_err(|e| {
        e.to_string()
            .trim_start_matches("libpcap error: ")
            .to_string()
    })
}

impl BpfFilter {
    /// Check the expression up front (against Ethernet, the common case), so
    /// a typo is a usage error before any input is read.
    pub fn new(expr: &str) -> Result<BpfFilter, FilterError> {
        Self::compiled(expr.to_string(), expr)
    }

    /// The user's `expr` with every IP fragment let through as well (see
    /// [`or_fragments`]); errors name `expr` as the user wrote it.
    pub fn or_fragments(expr: &str) -> Result<BpfFilter, FilterError> {
        Self::compiled(or_fragments(expr), expr)
    }

    fn compiled(expr: String, shown: &str) -> Result<BpfFilter, FilterError> {
        let prog = compile(&expr, LinkType::ETHERNET).map_err(|msg| FilterError::Syntax {
            expr: shown.to_string(),
            msg,
        })?;
        Ok(BpfFilter {
            expr,
            shown: shown.to_string(),
            progs: vec![(LinkType::ETHERNET.0, prog)],
        })
    }

    pub fn expr(&self) -> &str {
        &self.expr
    }

    /// Whether the packet passes; an error when the expression does not
    /// compile for this packet's link type.
    pub fn matches(&mut self, linktype: LinkType, data: &[u8]) -> Result<bool, FilterError> {
        if let Some((_, p)) = self.progs.iter().find(|(l, _)| *l == linktype.0) {
            return Ok(p.filter(data));
        }
        let prog = compile(&self.expr, linktype).map_err(|msg| FilterError::LinkType {
            expr: self.shown.clone(),
            linktype: linktype.0,
            msg,
        })?;
        let ok = prog.filter(data);
        self.progs.push((linktype.0, prog));
        Ok(ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typo_is_a_syntax_error() {
        assert!(matches!(
            BpfFilter::new("tcp prot 80"),
            Err(FilterError::Syntax { .. })
        ));
    }

    #[test]
    fn a_filter_that_cannot_apply_to_a_link_type_is_an_error() {
        let mut f = BpfFilter::new("ether host 02:00:00:00:00:01").expect("compiles for Ethernet");
        let err = f.matches(LinkType::RAW, &[0x45, 0, 0, 20]);
        assert!(
            matches!(err, Err(FilterError::LinkType { linktype: 101, .. })),
            "{err:?}"
        );
        assert!(err.unwrap_err().to_string().contains("link type 101"));
    }

    #[test]
    fn programs_are_kept_per_link_type() {
        let mut f = BpfFilter::new("tcp").expect("compiles");
        // An IPv4 TCP header on raw IP passes, a UDP one does not.
        let mut ip = [0u8; 40];
        ip[0] = 0x45;
        ip[3] = 40;
        ip[9] = 6;
        assert_eq!(f.matches(LinkType::RAW, &ip), Ok(true));
        ip[9] = 17;
        assert_eq!(f.matches(LinkType::RAW, &ip), Ok(false));
    }
}
