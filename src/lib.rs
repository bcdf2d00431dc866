//! wshs-sniff: find every WebSocket upgrade attempt in a packet capture, pair it
//! with the server's answer, and explain each refusal.
//!
//! The pipeline, one module per stage:
//!
//! ```text
//! capture ──▶ decode ──▶ reassembly ──▶ http ──▶ classify ──▶ report
//! ```
//!
//! [`analyze_files`] runs the same analysis as the command line, for regression
//! suites that replay a capture and assert on the attempts found.

pub mod allocator_decay;
pub mod analyzer;
pub mod byte_word;
pub mod capture;
pub mod classify;
pub mod cli;
pub mod coarse_clock;
pub mod decode;
pub mod error;
pub mod h2;
pub mod hint;
pub mod html_text;
pub mod http;
pub mod notice;
pub mod order;
pub mod pipeline;
pub mod reassembly;
pub mod report;
pub mod run;
pub mod text;
pub mod tls;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use capture::file::FileSource;
use capture::{CaptureError, Files};
use error::Error;
use pipeline::{Config, RunStats};
use report::{Format, Record, Reporter, Summary};

/// What an analysis found.
#[derive(Debug)]
pub struct Analysis {
    /// Every attempt (accepted ones too), in output order, redacted.
    pub records: Vec<Record>,
    /// The JSON Lines the binary writes for them (`--json --all`), written by
    /// the same reporter.
    pub output: Vec<u8>,
    pub summary: Summary,
    /// The damage or failure that ended the input early, if any.
    pub error: Option<Error>,
}

fn collect(feed: Files, cfg: &Config) -> Analysis {
    let mut reporter = Reporter::new(Vec::new(), Format::Json, true, true).keeping_records();
    let stats: RunStats = pipeline::run(
        Box::new(feed),
        cfg,
        Arc::new(AtomicBool::new(false)),
        &mut |j: &crate::classify::correlate::Judged| reporter.emit(j),
    );
    let records = reporter.take_records();
    let (output, mut summary) = reporter.into_inner();
    summary.capture = stats.capture;
    summary.reassembly = stats.reassembly;
    summary.http = stats.http;
    summary.flows = stats.flows;
    Analysis {
        records,
        output,
        summary,
        error: stats.error,
    }
}

/// Analyse capture files (read in order as one stream).
/// TLS secrets in the files' pcapng Decryption Secrets Blocks are used
/// beside those of `cfg`, for the packets after them.
pub fn analyze_files<P: AsRef<str>>(paths: &[P], cfg: &Config) -> Result<Analysis, CaptureError> {
    let mut sources = Vec::new();
    for p in paths {
        sources.push(FileSource::open(p.as_ref())?);
    }
    Ok(collect(Files::new(sources), cfg))
}

/// Analyse a capture held in memory (tests, fuzzing).
pub fn analyze_bytes(name: &str, bytes: Vec<u8>, cfg: &Config) -> Result<Analysis, CaptureError> {
    let src = FileSource::from_reader(name, Box::new(std::io::Cursor::new(bytes)))?;
    Ok(collect(Files::new(vec![src]), cfg))
}
