//! `--report FILE.html`: one self-contained page for a post-incident review.
//! A timeline (SVG) of attempts per outcome and refusals per cause over capture
//! time, with the first and last refusal of each cause marked; tables per
//! cause, server endpoint and client network; each distinct finding once with
//! its evidence, fix and proxy legs; the capture's health.
//!
//! Aggregated while the run goes (counts per second of capture time, one
//! example per distinct finding), so 100,000 attempts make a page of the same
//! size as 1,000. No script, no fetch: a Content-Security-Policy forbids both,
//! and every text from the wire is escaped.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use super::legs::{self, LegView, Pairing};
use super::record::Record;
use super::summary::Summary;
use crate::classify::correlate::Judged;
use crate::classify::Outcome;

/// Time bins of the timeline at most.
const MAX_BINS: i64 = 120;
/// Distinct findings shown in full; the rest are counted.
const MAX_FINDINGS: usize = 100;
const OUTCOMES: [Outcome; 6] = Outcome::ALL;
const PALETTE: [&str; 10] = [
    "#d62728", "#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
    "#7f7f7f", "#2ca02c",
];

fn outcome_colour(o: Outcome) -> &'static str {
    match o {
        Outcome::Accepted => "#2ca02c",
        Outcome::Rejected => "#d62728",
        Outcome::NoResponse => "#ff7f0e",
        Outcome::Reset => "#9467bd",
        Outcome::Incomplete => "#7f7f7f",
        Outcome::AbnormalEnd => "#8c564b",
    }
}

/// Escapes text for HTML content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

#[derive(Debug, Default, Clone)]
struct Second {
    by_outcome: [u64; OUTCOMES.len()],
    by_cause: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Clone)]
struct CauseStat {
    count: u64,
    first: (i64, String),
    last: (i64, String),
    servers: BTreeMap<String, u64>,
    fix: Option<&'static str>,
}

#[derive(Debug, Clone, Default)]
struct EndpointStat {
    attempts: u64,
    not_accepted: u64,
    causes: BTreeMap<&'static str, u64>,
}

#[derive(Debug, Clone)]
struct Finding {
    legs: Vec<LegView>,
    count: u64,
    first: String,
    last: String,
}

/// Everything the page shows, gathered attempt by attempt.
#[derive(Debug, Default)]
pub struct Incident {
    redact: bool,
    seconds: BTreeMap<i64, Second>,
    causes: BTreeMap<&'static str, CauseStat>,
    servers: BTreeMap<String, EndpointStat>,
    networks: BTreeMap<String, EndpointStat>,
    findings: Vec<Finding>,
    finding_index: HashMap<String, usize>,
    more_findings: u64,
    pairing: Pairing,
}

/// The client's network: /24 for IPv4, /64 for IPv6.
fn network(client: &str) -> String {
    let ip = client
        .rsplit_once(':')
        .map_or(client, |(ip, _)| ip)
        .trim_start_matches('[')
        .trim_end_matches(']');
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let o = v4.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Err(_) => ip.to_string(),
    }
}

impl Incident {
    pub fn new(redact: bool) -> Incident {
        Incident {
            redact,
            ..Incident::default()
        }
    }

    /// Count one attempt (every outcome; accepted ones feed the timeline and
    /// the tables but are not findings).
    pub fn add(&mut self, j: &Judged, r: &Record) {
        let secs = j.attempt.ts.secs;
        let sec = self.seconds.entry(secs).or_default();
        let oi = OUTCOMES.iter().position(|&o| o == r.outcome).unwrap_or(0);
        sec.by_outcome[oi] += 1;
        let bad = r.outcome != Outcome::Accepted;
        for (map, key) in [
            (&mut self.servers, r.server.clone()),
            (&mut self.networks, network(&r.client)),
        ] {
            let e = map.entry(key).or_default();
            e.attempts += 1;
            if bad {
                e.not_accepted += 1;
                *e.causes.entry(r.cause.code()).or_default() += 1;
            }
        }
        if !bad {
            return;
        }
        *sec.by_cause.entry(r.cause.code()).or_default() += 1;
        let c = self
            .causes
            .entry(r.cause.code())
            .or_insert_with(|| CauseStat {
                count: 0,
                first: (secs, r.ts.clone()),
                last: (secs, r.ts.clone()),
                servers: BTreeMap::new(),
                fix: r.fix,
            });
        c.count += 1;
        if (secs, &r.ts) < (c.first.0, &c.first.1) {
            c.first = (secs, r.ts.clone());
        }
        if (secs, &r.ts) > (c.last.0, &c.last.1) {
            c.last = (secs, r.ts.clone());
        }
        *c.servers.entry(r.server.clone()).or_default() += 1;
        for legs in self.pairing.push(LegView::new(j, r, self.redact)) {
            self.finding(legs);
        }
    }

    fn finding(&mut self, legs: Vec<LegView>) {
        let key = legs::fold_key(&legs);
        let ts = legs[0].record.ts.clone();
        if let Some(&i) = self.finding_index.get(&key) {
            let f = &mut self.findings[i];
            f.count += 1;
            if ts < f.first {
                f.first = ts.clone();
            }
            if ts > f.last {
                f.last = ts;
            }
            return;
        }
        if self.findings.len() >= MAX_FINDINGS {
            self.more_findings += 1;
            return;
        }
        self.finding_index.insert(key, self.findings.len());
        self.findings.push(Finding {
            legs,
            count: 1,
            first: ts.clone(),
            last: ts,
        });
    }

    /// The page.
    pub fn render(&mut self, summary: &Summary) -> String {
        for legs in self.pairing.drain() {
            self.finding(legs);
        }
        let mut h = String::with_capacity(64 * 1024);
        let refused: u64 = self.causes.values().map(|c| c.count).sum();
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
             <title>wshs-sniff incident report</title><style>{CSS}</style></head><body>\n\
             <h1>WebSocket handshakes: incident report</h1>\n\
             <p class=\"lead\">{} attempts, {} not accepted, {} causes; capture time {} to {}. \
             Written by wshs-sniff {}.</p>\n",
            summary.attempts,
            refused,
            self.causes.len(),
            esc(&self.edge(false)),
            esc(&self.edge(true)),
            env!("CARGO_PKG_VERSION"),
        );
        self.timeline(&mut h);
        self.cause_table(&mut h);
        endpoint_table(
            &mut h,
            "servers",
            "Server endpoints",
            "server",
            &self.servers,
        );
        endpoint_table(
            &mut h,
            "networks",
            "Client networks",
            "client network",
            &self.networks,
        );
        self.findings_section(&mut h);
        let _ = write!(
            h,
            "<h2 id=\"health\">Capture health</h2>\n{}<pre>{}</pre>\n</body></html>\n",
            health_notes(summary),
            esc(&summary.render())
        );
        h
    }

    /// The first (or last) second of capture time with an attempt.
    fn edge(&self, last: bool) -> String {
        let mut keys = self.seconds.keys();
        let s = if last { keys.next_back() } else { keys.next() };
        s.map(|s| super::record::rfc3339(crate::capture::Timestamp::new(*s, 0)))
            .unwrap_or_else(|| "-".into())
    }

    /// Two charts over the same time axis: attempts per outcome, refusals per
    /// cause. One point per series and non-empty bin; the first and last
    /// refusal of each cause as marks under the second chart.
    fn timeline(&self, h: &mut String) {
        h.push_str("<h2 id=\"timeline\">Timeline</h2>\n");
        let (Some(&t0), Some(&t1)) = (self.seconds.keys().next(), self.seconds.keys().next_back())
        else {
            h.push_str("<p>No attempts.</p>\n");
            return;
        };
        let span = t1 - t0 + 1;
        let bin = (span + MAX_BINS - 1) / MAX_BINS;
        let bins = ((span + bin - 1) / bin) as usize;
        let mut outcome_bins = vec![[0u64; OUTCOMES.len()]; bins];
        let mut cause_bins: BTreeMap<&'static str, Vec<u64>> = BTreeMap::new();
        for (s, sec) in &self.seconds {
            let b = ((s - t0) / bin) as usize;
            for (i, n) in sec.by_outcome.iter().enumerate() {
                outcome_bins[b][i] += n;
            }
            for (c, n) in &sec.by_cause {
                cause_bins.entry(c).or_insert_with(|| vec![0; bins])[b] += n;
            }
        }
        let _ = writeln!(
            h,
            "<p class=\"note\">{} bins of {bin} s from {}.</p>",
            bins,
            esc(&super::record::rfc3339(crate::capture::Timestamp::new(
                t0, 0
            )))
        );
        let outcome_series: Vec<(String, &str, Vec<u64>)> = OUTCOMES
            .iter()
            .enumerate()
            .filter(|(i, _)| outcome_bins.iter().any(|b| b[*i] > 0))
            .map(|(i, o)| {
                (
                    o.code().to_string(),
                    outcome_colour(*o),
                    outcome_bins.iter().map(|b| b[i]).collect(),
                )
            })
            .collect();
        chart(
            h,
            "outcomes",
            "Attempts per outcome",
            &outcome_series,
            &[],
            bin,
            t0,
        );
        let cause_series: Vec<(String, &str, Vec<u64>)> = cause_bins
            .into_iter()
            .enumerate()
            .map(|(i, (c, v))| (c.to_string(), PALETTE[i % PALETTE.len()], v))
            .collect();
        let marks: Vec<(String, &str, i64, String, i64, String)> = self
            .causes
            .iter()
            .map(|(c, s)| {
                let colour = cause_series
                    .iter()
                    .find(|x| x.0 == *c)
                    .map_or("#000", |x| x.1);
                (
                    c.to_string(),
                    colour,
                    s.first.0,
                    s.first.1.clone(),
                    s.last.0,
                    s.last.1.clone(),
                )
            })
            .collect();
        chart(
            h,
            "causes",
            "Refusals per cause",
            &cause_series,
            &marks,
            bin,
            t0,
        );
    }

    fn cause_table(&self, h: &mut String) {
        h.push_str(
            "<h2 id=\"causes\">Causes</h2>\n<table><tr><th>cause</th><th>attempts</th>\
             <th>first</th><th>last</th><th>servers</th><th>fix</th></tr>\n",
        );
        let mut rows: Vec<_> = self.causes.iter().collect();
        rows.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
        for (c, s) in rows {
            let servers: Vec<String> = s
                .servers
                .iter()
                .take(5)
                .map(|(k, n)| format!("{} ({n})", esc(k)))
                .collect();
            let more = s.servers.len().saturating_sub(5);
            let _ = writeln!(
                h,
                "<tr><td class=\"cause\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td>\
                 <td>{}{}</td><td>{}</td></tr>",
                esc(c),
                s.count,
                esc(&s.first.1),
                esc(&s.last.1),
                servers.join("<br>"),
                if more > 0 {
                    format!("<br>… and {more} more")
                } else {
                    String::new()
                },
                esc(s.fix.unwrap_or(""))
            );
        }
        h.push_str("</table>\n");
    }

    fn findings_section(&self, h: &mut String) {
        let _ = writeln!(
            h,
            "<h2 id=\"findings\">Findings</h2>\n<p class=\"note\">{} distinct findings \
             (same cause, server, header and evidence shape count as one).</p>",
            self.findings.len() as u64 + self.more_findings
        );
        let mut order: Vec<&Finding> = self.findings.iter().collect();
        order.sort_by(|a, b| b.count.cmp(&a.count).then(a.first.cmp(&b.first)));
        for f in order {
            let r = &f.legs[0].record;
            let _ = write!(
                h,
                "<section class=\"finding {}\"><h3><span class=\"cause\">{}</span>{}{} \
                 <span class=\"count\">× {}</span></h3>\n<p class=\"when\">first {}, last {}</p>\n\
                 <p class=\"head\">{} → {} &nbsp; {} {} {} &nbsp; {}</p>\n<dl>",
                esc(r.outcome.code()),
                esc(r.cause.code()),
                r.header.map_or(String::new(), |x| format!(" [{}]", esc(x))),
                if f.legs.len() > 1 { " (via proxy)" } else { "" },
                f.count,
                esc(&f.first),
                esc(&f.last),
                esc(&r.client),
                esc(&r.server),
                esc(&r.method),
                esc(&r.target),
                esc(&r.http_version),
                esc(&legs::status(r)),
            );
            let _ = write!(h, "<dt>evidence</dt><dd>{}</dd>", esc(&r.evidence));
            for other in &f.legs[1..] {
                if other.record.evidence != r.evidence {
                    let _ = write!(
                        h,
                        "<dt>{} evidence</dt><dd>{}</dd>",
                        esc(other.record.leg),
                        esc(&other.record.evidence)
                    );
                }
            }
            if let Some(b) = f.legs.iter().find_map(|l| l.record.body_excerpt.as_deref()) {
                let _ = write!(h, "<dt>server said</dt><dd><q>{}</q></dd>", esc(b));
            }
            if let Some(fix) = r.fix {
                let _ = write!(h, "<dt>fix</dt><dd>{}</dd>", esc(fix));
            }
            h.push_str("</dl>\n");
            if f.legs.len() > 1 {
                let (rows, same) = legs::changes(&f.legs[0], &f.legs[1]);
                let _ = writeln!(
                    h,
                    "<table class=\"legs\"><tr><th></th><th>{} leg</th><th>{} leg</th></tr>",
                    esc(f.legs[0].record.leg),
                    esc(f.legs[1].record.leg)
                );
                for row in rows {
                    let _ = writeln!(
                        h,
                        "<tr{}><td>{}{}</td><td>{}</td><td>{}</td></tr>",
                        if row.changed {
                            " class=\"changed\""
                        } else {
                            ""
                        },
                        if row.changed { "≠ " } else { "" },
                        esc(&row.name),
                        esc(&row.left),
                        esc(&row.right)
                    );
                }
                let _ = writeln!(
                    h,
                    "</table><p class=\"note\">{same} other headers unchanged by the proxy.</p>"
                );
            }
            h.push_str("</section>\n");
        }
        if self.more_findings > 0 {
            let _ = writeln!(
                h,
                "<p class=\"note\">… and {} more attempts of further distinct findings, not listed.</p>",
                self.more_findings
            );
        }
    }
}

fn endpoint_table(
    h: &mut String,
    id: &str,
    title: &str,
    what: &str,
    map: &BTreeMap<String, EndpointStat>,
) {
    let _ = write!(
        h,
        "<h2 id=\"{id}\">{title}</h2>\n<table><tr><th>{what}</th><th>attempts</th>\
         <th>not accepted</th><th>causes</th></tr>\n"
    );
    let mut rows: Vec<_> = map.iter().collect();
    rows.sort_by(|a, b| {
        b.1.not_accepted
            .cmp(&a.1.not_accepted)
            .then(b.1.attempts.cmp(&a.1.attempts))
            .then(a.0.cmp(b.0))
    });
    const LIMIT: usize = 50;
    for (k, e) in rows.iter().take(LIMIT) {
        let causes: Vec<String> = e
            .causes
            .iter()
            .map(|(c, n)| format!("{} ({n})", esc(c)))
            .collect();
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            esc(k),
            e.attempts,
            e.not_accepted,
            causes.join(", ")
        );
    }
    h.push_str("</table>\n");
    if rows.len() > LIMIT {
        let _ = writeln!(
            h,
            "<p class=\"note\">… and {} more, with fewer refusals.</p>",
            rows.len() - LIMIT
        );
    }
}

/// The facts that limit trust in the page, in words, before the full summary.
fn health_notes(s: &Summary) -> String {
    let mut notes = Vec::new();
    if let Some(d) = s.capture.kernel_dropped.filter(|d| *d > 0) {
        notes.push(format!("the kernel dropped {d} packets"));
    }
    if s.reassembly.gaps > 0 {
        notes.push(format!(
            "{} gaps in TCP streams ({} bytes missing)",
            s.reassembly.gaps, s.reassembly.gap_bytes
        ));
    }
    let limits =
        s.reassembly.buffer_caps_hit + s.reassembly.flows_evicted + s.reassembly.flows_shed;
    if limits > 0 {
        notes.push(format!(
            "limits hit: {} buffer caps, {} flows evicted, {} shed for memory",
            s.reassembly.buffer_caps_hit, s.reassembly.flows_evicted, s.reassembly.flows_shed
        ));
    }
    if s.capture.truncated > 0 {
        notes.push(format!(
            "{} packets cut short by the snap length",
            s.capture.truncated
        ));
    }
    for d in &s.capture.damage {
        notes.push(format!("damaged input: {d}"));
    }
    if notes.is_empty() {
        "<p class=\"ok\">No drops, gaps, limits or damage: the capture can be trusted.</p>\n".into()
    } else {
        let items: Vec<String> = notes
            .iter()
            .map(|n| format!("<li>{}</li>", esc(n)))
            .collect();
        format!("<ul class=\"warn\">{}</ul>\n", items.join(""))
    }
}

const W: f64 = 960.0;
const H: f64 = 220.0;
const LEFT: f64 = 50.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 30.0;

/// One SVG line chart; `marks` (cause, colour, first secs, first ts, last
/// secs, last ts) are drawn as ticks under the plot.
#[allow(clippy::type_complexity)]
fn chart(
    h: &mut String,
    id: &str,
    title: &str,
    series: &[(String, &str, Vec<u64>)],
    marks: &[(String, &str, i64, String, i64, String)],
    bin: i64,
    t0: i64,
) {
    let bins = series.first().map_or(1, |s| s.2.len()).max(1);
    let max = series
        .iter()
        .flat_map(|s| s.2.iter())
        .copied()
        .max()
        .unwrap_or(0)
        .max(1);
    let mark_rows = marks.len() as f64 * 8.0;
    let height = H + mark_rows;
    let plot_w = W - LEFT - 10.0;
    let plot_h = H - TOP - BOTTOM;
    let x = |b: f64| LEFT + plot_w * (b + 0.5) / bins as f64;
    let y = |n: u64| TOP + plot_h * (1.0 - n as f64 / max as f64);
    let _ = write!(
        h,
        "<h3>{}</h3>\n<svg id=\"{id}\" class=\"chart\" viewBox=\"0 0 {W} {height}\" width=\"{W}\" \
         height=\"{height}\" role=\"img\" aria-label=\"{}\">\n\
         <line class=\"axis\" x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"/>\
         <line class=\"axis\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{}\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">{max}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">0</text>\
         <text x=\"{LEFT}\" y=\"{}\">+0 s</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\">+{} s</text>\n",
        esc(title),
        esc(title),
        TOP + plot_h,
        LEFT + plot_w,
        TOP + plot_h,
        TOP + plot_h,
        LEFT - 4.0,
        TOP + 10.0,
        LEFT - 4.0,
        TOP + plot_h,
        TOP + plot_h + 14.0,
        LEFT + plot_w,
        TOP + plot_h + 14.0,
        bin * bins as i64,
    );
    for (name, colour, v) in series {
        let pts: Vec<String> = v
            .iter()
            .enumerate()
            .map(|(b, n)| format!("{:.1},{:.1}", x(b as f64), y(*n)))
            .collect();
        let _ = writeln!(
            h,
            "<polyline class=\"series\" data-series=\"{}\" fill=\"none\" stroke=\"{colour}\" points=\"{}\"/>",
            esc(name),
            pts.join(" ")
        );
        for (b, n) in v.iter().enumerate().filter(|(_, n)| **n > 0) {
            let from =
                super::record::rfc3339(crate::capture::Timestamp::new(t0 + b as i64 * bin, 0));
            let _ = writeln!(
                h,
                "<circle class=\"point\" data-series=\"{}\" data-count=\"{n}\" cx=\"{:.1}\" cy=\"{:.1}\" \
                 r=\"3\" fill=\"{colour}\"><title>{}: {n} from {} ({bin} s)</title></circle>",
                esc(name),
                x(b as f64),
                y(*n),
                esc(name),
                esc(&from)
            );
        }
    }
    for (i, (cause, colour, fs, fts, ls, lts)) in marks.iter().enumerate() {
        let my = H + i as f64 * 8.0;
        let pos = |s: i64| x(((s - t0) / bin) as f64);
        let _ = writeln!(
            h,
            "<line class=\"span\" x1=\"{:.1}\" y1=\"{my}\" x2=\"{:.1}\" y2=\"{my}\" stroke=\"{colour}\"/>\
             <path class=\"mark first\" data-cause=\"{}\" d=\"M{:.1},{} l-4,-6 h8 z\" fill=\"{colour}\"><title>first {}: {}</title></path>\
             <path class=\"mark last\" data-cause=\"{}\" d=\"M{:.1},{} l-4,-6 h8 z\" fill=\"{colour}\"><title>last {}: {}</title></path>",
            pos(*fs),
            pos(*ls),
            esc(cause),
            pos(*fs),
            my + 3.0,
            esc(cause),
            esc(fts),
            esc(cause),
            pos(*ls),
            my + 3.0,
            esc(cause),
            esc(lts),
        );
    }
    h.push_str("</svg>\n<p class=\"legend\">");
    if !marks.is_empty() {
        h.push_str("<span>▼ first and last refusal of each cause, under the plot</span> ");
    }
    for (name, colour, v) in series {
        let total: u64 = v.iter().sum();
        let _ = write!(
            h,
            "<span><i style=\"background:{colour}\"></i>{} ({total})</span> ",
            esc(name)
        );
    }
    h.push_str("</p>\n");
}

const CSS: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222}\
h1{font-size:1.5em}h2{border-bottom:1px solid #ccc;margin-top:2em}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ddd;padding:2px 8px;text-align:left;vertical-align:top}\
td.n{text-align:right}.cause{font-family:monospace;font-weight:bold}\
.finding{border-left:4px solid #d62728;padding-left:1em;margin:1.5em 0}.finding.accepted{border-color:#2ca02c}\
.finding .count{color:#666;font-weight:normal}.when,.note{color:#666}.head{font-family:monospace}\
dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em}dt{font-weight:bold;color:#1f4e99}dd{margin:0}\
table.legs td{font-family:monospace}tr.changed td{background:#fff3cd}\
svg.chart{max-width:100%;height:auto}svg text{font:11px sans-serif;fill:#555}.axis{stroke:#888}\
.legend span{margin-right:1em}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px}\
ul.warn{color:#8a4b00}p.ok{color:#2a6a2a}pre{background:#f6f6f6;padding:1em;overflow:auto}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_for_content_and_attributes() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }

    #[test]
    fn networks_group_clients() {
        assert_eq!(network("10.1.2.3:4000"), "10.1.2.0/24");
        assert_eq!(network("[2001:db8:1:2:3::4]:443"), "2001:db8:1:2::/64");
    }
}
