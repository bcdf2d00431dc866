//! Output: the contract's JSON Lines, the terminal text format, the summary.
//! The only stage besides `capture` that does I/O.

pub mod ecs;
pub mod gauges;
pub mod metrics;
pub mod pcap_out;
pub mod progress;
pub mod record;
pub mod redact;
pub mod summary;
pub mod text;

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
        matches!(self, OutputError::Stdout(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
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
    metrics: Option<std::sync::Arc<metrics::Metrics>>,
    /// Every record, for library callers that look at the values.
    kept: Option<Vec<Record>>,
    pub summary: Summary,
}

impl<W: Write> Reporter<W> {
    pub fn new(out: W, format: Format, all: bool, redact: bool) -> Self {
        Reporter {
            out,
            format,
            all,
            redact,
            color: false,
            metrics: None,
            kept: None,
            summary: Summary::default(),
        }
    }

    /// Colour the text format (for terminals).
    pub fn with_color(mut self, color: bool) -> Self {
        self.color = color;
        self
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

    /// Write one attempt (if the format shows it) and flush, so a live reader
    /// (`| jq`) sees it at once.
    pub fn emit(&mut self, j: &Judged) -> std::io::Result<()> {
        let r = Record::new(j, self.redact);
        self.summary.count(&r);
        if let Some(m) = &self.metrics {
            m.count(&r);
        }
        let shown = r.outcome != Outcome::Accepted || self.all;
        let written = if shown { self.write(&r) } else { Ok(()) };
        if let Some(kept) = &mut self.kept {
            kept.push(r);
        }
        written
    }

    fn write(&mut self, r: &Record) -> std::io::Result<()> {
        match self.format {
            Format::Json => {
                serde_json::to_writer(&mut self.out, r)?;
                self.out.write_all(b"\n")?;
            }
            Format::Ecs => {
                serde_json::to_writer(&mut self.out, &ecs::document(r))?;
                self.out.write_all(b"\n")?;
            }
            Format::Text => {
                self.out
                    .write_all(text::line_colored(r, self.color).as_bytes())?;
                self.out.write_all(b"\n")?;
            }
        }
        self.out.flush()
    }

    pub fn writer(&mut self) -> &mut W {
        &mut self.out
    }

    pub fn into_inner(self) -> (W, Summary) {
        (self.out, self.summary)
    }
}
