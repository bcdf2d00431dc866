//! The summary that ends every run (and is printed on Ctrl-C): what was found,
//! and how far the analysis can be trusted (damage, gaps, limits hit, drops).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use super::record::Record;
use crate::capture::CaptureStats;
use crate::http::HttpStats;
use crate::reassembly::ReassemblyStats;

/// Everything the summary shows.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub attempts: u64,
    pub by_outcome: BTreeMap<String, u64>,
    pub by_cause: BTreeMap<String, u64>,
    /// Server endpoint → (attempts, not accepted).
    pub by_server: Tally,
    /// Client address (without port) → (attempts, not accepted).
    pub by_client: Tally,
    /// Abnormal ends of accepted sessions (`--sessions`), by cause.
    pub session_ends: BTreeMap<String, u64>,
    pub capture: CaptureStats,
    pub reassembly: ReassemblyStats,
    pub http: HttpStats,
    /// Flows seen in total (new flow table entries).
    pub flows: u64,
    pub interrupted: bool,
    /// A thread of the analysis failed (a bug): what it would have found is
    /// missing. Names the thread.
    pub incomplete: Option<String>,
}

/// Attempts and refusals per server endpoint or client address. Hashed, not
/// ordered: under a storm of clients each attempt looks up its own address
/// among up to [`MAX_TALLIED`], and only the top rows are ever shown, sorted
/// then.
pub type Tally = HashMap<String, (u64, u64), foldhash::fast::RandomState>;

/// Server endpoints and client addresses tallied at most: a scan from many
/// addresses, or of many ports, must not grow the summary forever.
const MAX_TALLIED: usize = 100_000;

/// Update the counter of `key`, a new one if absent. The key is copied only
/// then: nearly every attempt counts under keys seen before.
fn bump<V: Default>(map: &mut BTreeMap<String, V>, key: &str, update: impl FnOnce(&mut V)) {
    match map.get_mut(key) {
        Some(v) => update(v),
        None => update(map.entry(key.to_string()).or_default()),
    }
}

/// Count an attempt (`bad` when not accepted) under `key`, unless the tally
/// is full and `key` new.
fn tally(map: &mut Tally, key: &str, bad: bool) {
    let full = map.len() >= MAX_TALLIED;
    let e = match map.get_mut(key) {
        Some(e) => e,
        None if !full => map.entry(key.to_string()).or_default(),
        None => return,
    };
    e.0 += 1;
    e.1 += u64::from(bad);
}

/// The `limit` entries with the most refusals (then the most attempts), as
/// aligned rows, and how many more there are.
fn top_table(s: &mut String, what: &str, map: &Tally, limit: usize) {
    let _ = writeln!(s, "  by {what} (attempts, not accepted):");
    let mut rows: Vec<_> = map.iter().collect();
    let order = |a: &(&String, &(u64, u64)), b: &(&String, &(u64, u64))| {
        b.1 .1
            .cmp(&a.1 .1)
            .then(b.1 .0.cmp(&a.1 .0))
            .then(a.0.cmp(b.0))
    };
    if rows.len() > limit {
        rows.select_nth_unstable_by(limit, order);
    }
    let top = &mut rows[..limit.min(map.len())];
    top.sort_by(order);
    for (k, (n, bad)) in top.iter() {
        let _ = writeln!(s, "    {k:<34} {n:>8} {bad:>8}");
    }
    if map.len() > limit {
        let _ = writeln!(s, "    … and {} more", map.len() - limit);
    }
}

/// What became of the TLS connections: decrypted, keyed but with nothing
/// to open (a connection a browser opened spare), or without keys (and
/// then what it would take to read them).
fn tls_line(h: &HttpStats) -> String {
    let mut line = format!(
        "tls: {} connections, {} decrypted",
        h.tls_connections, h.tls_decrypted
    );
    let idle = h.tls_keyed.saturating_sub(h.tls_decrypted);
    if idle > 0 {
        let _ = write!(line, ", {idle} with keys but no application data opened");
    }
    let unread = h
        .tls_connections
        .saturating_sub(h.tls_keyed.max(h.tls_decrypted));
    if unread > 0 {
        let _ = write!(
            line,
            " ({unread} without keys: upgrades inside them cannot be seen; give --tls-keylog FILE)"
        );
    }
    line
}

impl Summary {
    pub fn count(&mut self, r: &Record) {
        if r.kind == super::record::Kind::SessionEnd {
            bump(&mut self.session_ends, r.cause.code(), |n| *n += 1);
            return;
        }
        self.attempts += 1;
        bump(&mut self.by_outcome, r.outcome.code(), |n| *n += 1);
        bump(&mut self.by_cause, r.cause.code(), |n| *n += 1);
        let bad = r.outcome != crate::classify::Outcome::Accepted;
        tally(&mut self.by_server, &r.server, bad);
        let client = r
            .client
            .rsplit_once(':')
            .map_or(r.client.as_str(), |(ip, _)| ip);
        tally(&mut self.by_client, client, bad);
    }

    pub fn rejected(&self) -> u64 {
        self.by_outcome.get("rejected").copied().unwrap_or(0)
    }

    /// The summary as a small table for people.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "── summary{} ──",
            if self.interrupted {
                " (interrupted)"
            } else {
                ""
            }
        );
        let _ = writeln!(s, "upgrade attempts: {}", self.attempts);
        let ends: u64 = self.session_ends.values().sum();
        if ends > 0 {
            let _ = writeln!(s, "abnormal session ends: {ends}");
            let mut causes: Vec<_> = self.session_ends.iter().collect();
            causes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (k, v) in causes {
                let _ = writeln!(s, "    {k:<34} {v:>8}");
            }
        }
        if !self.by_outcome.is_empty() {
            let _ = writeln!(s, "  by outcome:");
            for (k, v) in &self.by_outcome {
                let _ = writeln!(s, "    {k:<34} {v:>8}");
            }
            let _ = writeln!(s, "  by cause:");
            let mut causes: Vec<_> = self.by_cause.iter().collect();
            causes.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            for (k, v) in causes {
                let _ = writeln!(s, "    {k:<34} {v:>8}");
            }
            top_table(&mut s, "server endpoint", &self.by_server, 20);
            top_table(&mut s, "client", &self.by_client, 10);
        }
        let c = &self.capture;
        let _ = writeln!(
            s,
            "packets: {} ({} bytes), tcp: {}, flows: {}",
            c.packets, c.bytes, c.tcp_packets, self.flows
        );
        let h = &self.http;
        if h.tls_connections > 0 {
            let _ = writeln!(s, "{}", tls_line(h));
        }
        if c.secrets_ignored > 0 {
            let _ = writeln!(
                s,
                "tls: {} bytes of secrets in the capture left unused (too many to hold)",
                c.secrets_ignored
            );
        }
        if let (Some(recv), Some(drop)) = (c.kernel_received, c.kernel_dropped) {
            let _ = writeln!(
                s,
                "kernel: {recv} received, {drop} dropped{}",
                c.if_dropped
                    .map_or(String::new(), |d| format!(", {d} dropped by interface"))
            );
        }
        let r = &self.reassembly;
        let mut notes = Vec::new();
        fn note(notes: &mut Vec<String>, n: u64, what: &str) {
            if n > 0 {
                notes.push(format!("{n} {what}"));
            }
        }
        note(&mut notes, c.filtered_out, "packets filtered out");
        note(&mut notes, c.truncated, "packets cut short by snaplen");
        if c.fragments > 0 {
            notes.push(format!(
                "{} IP fragments, {} datagrams rebuilt from them",
                c.fragments, c.datagrams_reassembled
            ));
        }
        note(
            &mut notes,
            c.fragments_discarded,
            "IP fragments discarded (overlapping, incomplete or past the limits)",
        );
        notes.extend(c.malformed_note());
        note(
            &mut notes,
            c.unsupported_link,
            "packets of unsupported link types",
        );
        note(&mut notes, r.gaps, "gaps in TCP streams");
        note(&mut notes, r.gap_bytes, "bytes lost in gaps");
        note(
            &mut notes,
            r.acked_unseen,
            "acknowledgements of bytes never captured",
        );
        note(&mut notes, r.out_of_order_segments, "out-of-order segments");
        note(&mut notes, r.retransmitted_segments, "retransmissions");
        note(
            &mut notes,
            r.late_segments,
            "late copies of segments of closed connections",
        );
        note(
            &mut notes,
            r.port_reuses,
            "connections reusing the ports of one not seen to end",
        );
        note(
            &mut notes,
            r.overlap_conflicts,
            "overlapping bytes that differed (first copy kept)",
        );
        note(&mut notes, r.buffer_caps_hit, "stream buffers capped");
        note(
            &mut notes,
            r.flows_evicted,
            "flows evicted (flow table full)",
        );
        note(&mut notes, r.flows_expired, "flows expired idle");
        note(&mut notes, r.flows_shed, "flows shed for memory");
        note(&mut notes, h.heads_too_large, "heads too large");
        note(&mut notes, h.resyncs, "HTTP resynchronisations");
        note(
            &mut notes,
            h.proxy_headers,
            "connections opened with a PROXY protocol header",
        );
        note(
            &mut notes,
            h.websockets_joined,
            "WebSocket connections joined after their upgrade (passed over)",
        );
        note(
            &mut notes,
            h.tunnels,
            "CONNECT tunnels read as connections of their own",
        );
        note(
            &mut notes,
            h.tunnels_refused,
            "CONNECT requests refused (no tunnel opened)",
        );
        note(
            &mut notes,
            h.gaps_in_bodies,
            "holes read past inside message bodies",
        );
        note(
            &mut notes,
            h.heads_cut_by_holes,
            "heads cut by holes (requests kept in place, answers read from the lines that came)",
        );
        note(
            &mut notes,
            h.unpaired_responses,
            "responses without a request",
        );
        note(
            &mut notes,
            h.attempts_dropped,
            "attempts dropped (too many pending on one connection)",
        );
        if !notes.is_empty() {
            let _ = writeln!(s, "analysis: {}", notes.join(", "));
        }
        let degraded = r.flows_evicted
            + r.flows_shed
            + r.buffer_caps_hit
            + h.heads_too_large
            + h.attempts_dropped;
        if degraded > 0 {
            let _ = writeln!(
                s,
                "limits hit: the analysis was degraded (see the counts above; raise --max-flows / --max-buffer)"
            );
        }
        for d in &c.damage {
            let _ = writeln!(s, "damage: {d}");
        }
        if let Some(thread) = &self.incomplete {
            let _ = writeln!(
                s,
                "analysis incomplete: the {thread} thread failed; attempts it held are missing"
            );
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_top_rows_are_the_most_refused_then_the_busiest_then_by_name() {
        let mut t = Tally::default();
        for i in 0..25u64 {
            let key = format!("10.0.0.{i}");
            for n in 0..(i % 5 + 1) {
                tally(&mut t, &key, n < i % 3);
            }
        }
        let mut s = String::new();
        top_table(&mut s, "client", &t, 10);
        let mut all: Vec<_> = t.iter().collect();
        all.sort_by(|a, b| (b.1 .1, b.1 .0, a.0).cmp(&(a.1 .1, a.1 .0, b.0)));
        let mut want = String::from("  by client (attempts, not accepted):\n");
        for (k, (n, bad)) in all.iter().take(10) {
            want += &format!("    {k:<34} {n:>8} {bad:>8}\n");
        }
        want += "    … and 15 more\n";
        assert_eq!(s, want);
        // 10.0.0.4 and 10.0.0.19 tie in both counts: broken by name.
        let (a, b) = (s.find("10.0.0.19 "), s.find("10.0.0.4 "));
        assert!(a.is_some() && a < b, "{s}");
    }

    #[test]
    fn tls_connections_with_keys_and_nothing_to_open_are_not_keyless() {
        let stats = |connections, decrypted, keyed| HttpStats {
            tls_connections: connections,
            tls_decrypted: decrypted,
            tls_keyed: keyed,
            ..HttpStats::default()
        };
        assert_eq!(tls_line(&stats(2, 2, 2)), "tls: 2 connections, 2 decrypted");
        // A browser's spare connection: keys, a handshake, no request.
        assert_eq!(
            tls_line(&stats(2, 1, 2)),
            "tls: 2 connections, 1 decrypted, 1 with keys but no application data opened"
        );
        assert_eq!(
            tls_line(&stats(3, 1, 1)),
            "tls: 3 connections, 1 decrypted (2 without keys: upgrades inside them \
             cannot be seen; give --tls-keylog FILE)"
        );
    }

    #[test]
    fn a_full_tally_still_counts_the_keys_it_has() {
        let mut t = Tally::default();
        for i in 0..MAX_TALLIED + 5 {
            tally(&mut t, &i.to_string(), false);
        }
        assert_eq!(t.len(), MAX_TALLIED);
        tally(&mut t, "7", true);
        assert_eq!(t.get("7"), Some(&(2, 1)));
        assert_eq!(t.get(&(MAX_TALLIED + 1).to_string()), None);
    }
}
