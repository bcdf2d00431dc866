//! Output: the contract's JSON Lines, the terminal text format, the summary.
//! The only stage besides `capture` that does I/O.

pub mod ecs;
pub mod metrics;
pub mod pcap_out;
pub mod record;
pub mod redact;
pub mod summary;
pub mod text;
pub mod wire_redact;

use std::io::Write;

pub use record::{Record, CONTRACT_VERSION};
pub use summary::{CaptureStats, Summary};

use crate::classify::correlate::Judged;
use crate::classify::Outcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    /// Elastic Common Schema documents, one per line.
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

    /// Write one attempt (if the format shows it) and flush, so a live reader
    /// (`| jq`) sees it at once.
    pub fn emit(&mut self, j: &Judged) -> std::io::Result<()> {
        let r = Record::new(j, self.redact);
        self.summary.count(&r);
        if let Some(m) = &self.metrics {
            m.count(&r);
        }
        if r.outcome == Outcome::Accepted && !self.all {
            return Ok(());
        }
        match self.format {
            Format::Json => {
                serde_json::to_writer(&mut self.out, &r)?;
                self.out.write_all(b"\n")?;
            }
            Format::Ecs => {
                serde_json::to_writer(&mut self.out, &ecs::document(&r))?;
                self.out.write_all(b"\n")?;
            }
            Format::Text => {
                self.out
                    .write_all(text::line_colored(&r, self.color).as_bytes())?;
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
