//! Output: the contract's JSON Lines, the terminal text format, the summary.
//! The only stage besides `capture` that does I/O.

pub mod annotate;
pub mod blocks;
pub mod ecs;
pub mod gauges;
pub mod held_fragments;
pub mod html;
pub mod json_line;
pub mod legs;
pub mod metrics;
pub mod pcap_out;
pub mod pcapng;
pub mod progress;
pub mod record;
pub mod redact;
pub mod schema;
pub mod summary;
pub mod terminal;
pub mod text;
pub mod wire_redact;

use std::io::Write;

pub use record::{Record, CONTRACT_VERSION};
pub use summary::Summary;

use crate::classify::correlate::Judged;
use crate::classify::Outcome;

/// Why output could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("cannot write the output: {0}")]
    Stdout(#[source] std::io::Error),
    /// The summary, which goes to stderr beside JSON output.
    #[error("cannot write the summary to stderr: {0}")]
    Stderr(#[source] std::io::Error),
    #[error("cannot write {path}: {source}")]
    File {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// Reading the input again (for `--write-rejected`) failed.
    #[error(transparent)]
    Input(#[from] crate::capture::CaptureError),
}

impl OutputError {
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, OutputError::Stdout(e) | OutputError::Stderr(e)
            if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// The output formats (also the values of `--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One aligned line per attempt.
    Text,
    /// JSON Lines per the output contract.
    Json,
    /// JSON Lines with Elastic Common Schema field names.
    Ecs,
}

/// Writes records as they are released and counts them for the summary.
pub struct Reporter<W: Write> {
    out: W,
    format: Format,
    /// Also print accepted attempts.
    all: bool,
    redact: bool,
    color: bool,
    /// Text as blocks for a terminal instead of one line per finding.
    blocks: Option<blocks::Blocks>,
    metrics: Option<std::sync::Arc<metrics::Metrics>>,
    /// Every record, for library callers that look at the values.
    kept: Option<Vec<Record>>,
    /// Packet comments for an annotated capture (`--annotate`, pcapng
    /// `--write-rejected`).
    annotations: Option<annotate::Annotations>,
    /// The aggregates of the HTML report (`--report`).
    incident: Option<html::Incident>,
    pub summary: Summary,
    /// The JSON line being written, reused: a record is written in dozens of
    /// small pieces, which cost less appended to a Vec than each passed
    /// through the output's writer.
    line: Vec<u8>,
}

impl<W: Write> Reporter<W> {
    pub fn new(out: W, format: Format, all: bool, redact: bool) -> Self {
        Reporter {
            out,
            format,
            all,
            redact,
            color: false,
            blocks: None,
            metrics: None,
            kept: None,
            annotations: None,
            incident: None,
            summary: Summary::default(),
            line: Vec::new(),
        }
    }

    /// Colour the text format (for terminals).
    pub fn with_color(mut self, color: bool) -> Self {
        self.color = color;
        self
    }

    /// Draw the text format as blocks (a terminal on stdout, no `--oneline`).
    pub fn with_blocks(mut self, opts: blocks::BlockOptions) -> Self {
        self.blocks = Some(blocks::Blocks::new(opts, self.redact));
        self
    }

    /// Gather packet comments for the attempts this reporter shows.
    pub fn with_annotations(mut self) -> Self {
        self.annotations = Some(annotate::Annotations::default());
        self
    }

    /// Gather the aggregates of the HTML report (every attempt).
    pub fn with_incident(mut self) -> Self {
        self.incident = Some(html::Incident::new(self.redact));
        self
    }

    /// The packet comments gathered so far.
    pub fn take_annotations(&mut self) -> Option<annotate::Annotations> {
        self.annotations.take()
    }

    /// The report's aggregates gathered so far.
    pub fn take_incident(&mut self) -> Option<html::Incident> {
        self.incident.take()
    }

    /// Count every attempt in these metrics too.
    pub fn with_metrics(mut self, m: std::sync::Arc<metrics::Metrics>) -> Self {
        self.metrics = Some(m);
        self
    }

    /// Keep every record (shown or not) for [`Reporter::take_records`].
    pub fn keeping_records(mut self) -> Self {
        self.kept = Some(Vec::new());
        self
    }

    pub fn take_records(&mut self) -> Vec<Record> {
        self.kept.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Write one attempt, if the format shows it. The writer may buffer it:
    /// [`Reporter::flush`] pushes out what was written.
    pub fn emit(&mut self, j: &Judged) -> std::io::Result<()> {
        let r = Record::new(j, self.redact);
        self.summary.count(&r);
        if let Some(m) = &self.metrics {
            m.count(&r);
        }
        if let Some(i) = &mut self.incident {
            i.add(j, &r);
        }
        let shown = r.outcome != Outcome::Accepted || self.all;
        let written = if shown { self.write(j, &r) } else { Ok(()) };
        if let Some(kept) = &mut self.kept {
            kept.push(r);
        }
        written
    }

    fn write(&mut self, j: &Judged, r: &Record) -> std::io::Result<()> {
        if let Some(a) = self.annotations.as_mut().filter(|_| j.session.is_none()) {
            a.add(j, r);
        }
        match self.format {
            Format::Json => {
                self.line.clear();
                json_line::write(&mut self.line, r);
                self.line.push(b'\n');
                self.out.write_all(&self.line)?;
            }
            Format::Ecs => {
                self.line.clear();
                serde_json::to_writer(&mut self.line, &ecs::document(r))?;
                self.line.push(b'\n');
                self.out.write_all(&self.line)?;
            }
            Format::Text if self.blocks.is_some() => {
                if let Some(b) = &mut self.blocks {
                    self.out.write_all(b.push(j, r).as_bytes())?;
                }
            }
            Format::Text => {
                self.out
                    .write_all(text::line_colored(r, self.color).as_bytes())?;
                self.out.write_all(b"\n")?;
            }
        }
        Ok(())
    }

    /// Push out what was written, so a live reader (`| jq`) sees each burst
    /// of attempts at once.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    pub fn writer(&mut self) -> &mut W {
        &mut self.out
    }

    /// Write what the format held back (legs still waiting for their peer,
    /// the folded repeats); the summary comes after this.
    pub fn finish(&mut self) -> std::io::Result<()> {
        if let Some(b) = &mut self.blocks {
            self.out.write_all(b.finish().as_bytes())?;
        }
        self.out.flush()
    }

    /// The writer and the summary, after [`Reporter::finish`].
    pub fn into_inner(mut self) -> (W, Summary) {
        let _ = self.finish();
        (self.out, self.summary)
    }
}
