//! The text an on-call engineer scans on a terminal: one short block per finding,
//! in the manner of rustc's diagnostics. A heading (time, who, what was asked,
//! what came back, the cause) coloured by outcome, then indented `evidence:`,
//! `server said:` and `fix:` lines fitted to the width; a proxied attempt shows
//! its two legs side by side, header by header. Findings that repeat (same
//! cause, server, header and evidence shape) are folded into one line at the end.
//!
//! Pure: takes records, returns text. The caller decides when this format is
//! used (stdout a terminal, no `--oneline`) and the width.

use std::collections::HashMap;

use super::legs::{self, LegView, Pairing};
use super::record::Record;
use crate::classify::correlate::Judged;
use crate::classify::Outcome;

const RESET: &str = "\x1b[0m";
const LABEL: &str = "\x1b[1;34m";
const DIM: &str = "\x1b[2m";
const MARK: &str = "\x1b[1;33m";

/// How blocks are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockOptions {
    /// Terminal columns.
    pub width: usize,
    pub color: bool,
    /// Fold repeated findings (off with `--no-fold`).
    pub fold: bool,
}

/// Repeated findings: the first is shown, the rest counted.
#[derive(Debug, Clone)]
struct Fold {
    label: String,
    first: String,
    last: String,
    more: u64,
}

/// Renders findings as blocks; holds back proxy legs until their peer comes and
/// counts folded repeats.
#[derive(Debug)]
pub struct Blocks {
    opts: BlockOptions,
    redact: bool,
    pairing: Pairing,
    folds: HashMap<String, usize>,
    fold_list: Vec<Fold>,
}

impl Blocks {
    pub fn new(opts: BlockOptions, redact: bool) -> Blocks {
        Blocks {
            opts,
            redact,
            pairing: Pairing::default(),
            folds: HashMap::new(),
            fold_list: Vec::new(),
        }
    }

    /// The text to write for one finding (possibly nothing yet: a leg waiting
    /// for its peer, or a folded repeat).
    pub fn push(&mut self, j: &Judged, r: &Record) -> String {
        let mut out = String::new();
        for legs in self.pairing.push(LegView::new(j, r, self.redact)) {
            self.show(legs, &mut out);
        }
        out
    }

    /// Legs whose peer never came, then one line per folded group.
    pub fn finish(&mut self) -> String {
        let mut out = String::new();
        for legs in self.pairing.drain() {
            self.show(legs, &mut out);
        }
        let mut any = false;
        for f in std::mem::take(&mut self.fold_list) {
            if f.more == 0 {
                continue;
            }
            let line = format!(
                "… and {} more like this (first {}, last {}): {}",
                f.more, f.first, f.last, f.label
            );
            let width = self.opts.width.saturating_sub(4).max(20);
            for (i, l) in wrap(&line, width).iter().enumerate() {
                out.push_str(if i == 0 { "" } else { "    " });
                out.push_str(&self.paint(DIM, l));
                out.push('\n');
            }
            any = true;
        }
        if any {
            out.push('\n');
        }
        self.folds.clear();
        out
    }

    fn show(&mut self, legs: Vec<LegView>, out: &mut String) {
        let lead = &legs[0].record;
        if self.opts.fold {
            let key = legs::fold_key(&legs);
            if let Some(&i) = self.folds.get(&key) {
                let f = &mut self.fold_list[i];
                f.more += 1;
                f.last = lead.ts.clone();
                return;
            }
            self.folds.insert(key, self.fold_list.len());
            self.fold_list.push(Fold {
                label: format!(
                    "{}{} at {}",
                    lead.cause.code(),
                    lead.header.map_or(String::new(), |h| format!(" [{h}]")),
                    lead.server
                ),
                first: lead.ts.clone(),
                last: lead.ts.clone(),
                more: 0,
            });
        }
        out.push_str(&self.heading(lead, legs.len() > 1));
        self.field(out, "evidence", &lead.evidence);
        for other in &legs[1..] {
            if other.record.evidence != lead.evidence {
                let label = format!("{} evidence", other.record.leg);
                self.field(out, &label, &other.record.evidence);
            }
        }
        let body = legs.iter().find_map(|l| l.record.body_excerpt.as_deref());
        if let Some(b) = body {
            self.said(out, b);
        }
        if let Some(fix) = lead.fix {
            self.field(out, "fix", fix);
        }
        if legs.len() > 1 {
            self.legs_side_by_side(out, &legs[0], &legs[1]);
        }
        out.push('\n');
    }

    fn paint(&self, tint: &str, s: &str) -> String {
        if self.opts.color {
            format!("{tint}{s}{RESET}")
        } else {
            s.to_string()
        }
    }

    /// Time, client → server, request line, status, cause [header]; the target
    /// shortened, then the line broken before the cause, to fit the width.
    fn heading(&self, r: &Record, proxied: bool) -> String {
        let status = legs::status(r);
        let header = r.header.map_or(String::new(), |h| format!(" [{h}]"));
        let via = if proxied { " (via proxy)" } else { "" };
        let cause = format!("{}{header}", r.cause.code());
        let tint = match r.outcome {
            Outcome::Accepted => "\x1b[1;32m",
            Outcome::Rejected => "\x1b[1;31m",
            _ => "\x1b[1;33m",
        };
        // Parts laid out greedily, continuation lines indented; a part wider
        // than a line is cut (the target first of all).
        let line_w = self.opts.width.saturating_sub(4).max(12);
        let parts = [
            (r.ts.clone(), "\x1b[1m"),
            (format!("{} → {}", r.client, r.server), "\x1b[1m"),
            (
                format!(
                    "{} {} {}",
                    r.method,
                    cut(&r.target, line_w / 2),
                    r.http_version
                ),
                "\x1b[1m",
            ),
            (status, "\x1b[1m"),
            (format!("{cause}{via}"), tint),
        ];
        let mut s = String::new();
        let mut used = 0;
        for (text, paint) in parts {
            let text = cut(&text, line_w);
            let n = chars(&text);
            if used == 0 {
                used = n;
            } else if used + 2 + n <= self.opts.width {
                s.push_str("  ");
                used += 2 + n;
            } else {
                s.push_str("\n    ");
                used = 4 + n;
            }
            s.push_str(&self.paint(paint, &text));
        }
        s.push('\n');
        s
    }

    /// `  label: text`, wrapped at the width with a hanging indent.
    fn field(&self, out: &mut String, label: &str, text: &str) {
        let head = format!("  {label}: ");
        let indent = " ".repeat(chars(&head));
        let width = self.opts.width.saturating_sub(chars(&head)).max(20);
        for (i, line) in wrap(text, width).iter().enumerate() {
            if i == 0 {
                out.push_str(&format!("  {}: ", self.paint(LABEL, label)));
            } else {
                out.push_str(&indent);
            }
            out.push_str(line);
            out.push('\n');
        }
    }

    /// The server's body, on one line, quoted once and cut to the width.
    fn said(&self, out: &mut String, body: &str) {
        let flat: String = body
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .chars()
            .collect();
        let label = "server said";
        let room = self.opts.width.saturating_sub(chars(label) + 6).max(10);
        out.push_str(&format!(
            "  {}: \"{}\"\n",
            self.paint(LABEL, label),
            cut(&flat, room)
        ));
    }

    /// What the proxy changed: the connection, the request line and each
    /// header that differs between the legs, in two columns.
    fn legs_side_by_side(&self, out: &mut String, a: &LegView, b: &LegView) {
        let (changes, same) = legs::changes(a, b);
        let mut rows: Vec<(String, String, String, bool)> = vec![(
            String::new(),
            format!("{} leg", a.record.leg),
            format!("{} leg", b.record.leg),
            false,
        )];
        rows.extend(
            changes
                .into_iter()
                .map(|c| (c.name, c.left, c.right, c.changed)),
        );
        let name_w = rows.iter().map(|r| chars(&r.0)).max().unwrap_or(0).min(24);
        // "    ≠ name  left | right"
        let fixed = 4 + 2 + name_w + 2 + 3;
        let col = (self.opts.width.saturating_sub(fixed) / 2).max(12);
        out.push_str(&format!(
            "  {} {same} header{} unchanged\n",
            self.paint(LABEL, "proxy legs:"),
            if same == 1 { "" } else { "s" }
        ));
        for (name, l, r, changed) in &rows {
            let mark = if *changed {
                self.paint(MARK, "≠")
            } else {
                " ".to_string()
            };
            let name = cut(name, name_w);
            let left = cut(l, col);
            let pad = col.saturating_sub(chars(&left));
            out.push_str(&format!(
                "    {mark} {name:<name_w$}  {left}{} {} {}\n",
                " ".repeat(pad),
                self.paint(DIM, "|"),
                cut(r, col)
            ));
        }
    }
}

fn chars(s: &str) -> usize {
    s.chars().count()
}

/// `s` cut to `n` characters, the last one `…` when cut.
fn cut(s: &str, n: usize) -> String {
    if chars(s) <= n {
        return s.to_string();
    }
    let mut t: String = s.chars().take(n.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// Greedy word wrap at `width` characters; words longer than a line are split.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_string();
        while chars(&word) > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
        }
        if line.is_empty() {
            line = word;
        } else if chars(&line) + 1 + chars(&word) <= width {
            line.push(' ');
            line.push_str(&word);
        } else {
            lines.push(std::mem::replace(&mut line, word));
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_and_the_width() {
        let text = "the quick brown fox jumps over the lazy dog again and again";
        let lines = wrap(text, 12);
        assert!(lines.iter().all(|l| chars(l) <= 12), "{lines:?}");
        assert_eq!(lines.join(" "), text);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
    }

    #[test]
    fn cutting_marks_the_cut() {
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }
}
