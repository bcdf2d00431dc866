//! Running a validated [`Plan`]: open the input, drop privileges, wire the
//! reporter, metrics and progress bar around the pipeline, write the summary
//! and the `--write-rejected` capture. Every failure comes back as an
//! [`Error`] for `main` to turn into one line and an exit status.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::capture::live::{self, LiveSource};
use crate::capture::{inputs, keylog_file, Files, PacketSource, PcapWriter};
use crate::classify::{advice, Outcome};
use crate::cli::{Analysis, Cli, Input, Plan};
use crate::error::{Error, EXIT_REJECTED};
use crate::notice::note;
use crate::pipeline;
use crate::report::blocks::BlockOptions;
use crate::report::metrics::{self, Metrics};
use crate::report::pcap_out::{self, FlowSet};
use crate::report::{progress, redact, terminal, Format, OutputError, Reporter};

/// Snap length of a `-w` recording when the live one is out of range.
const RECORD_SNAPLEN: u32 = 262_144;

/// Run the plan; `Ok` holds the exit status of a run that did its job (0, or
/// 3 with `--fail-on-rejected`).
pub fn run(plan: &Plan) -> Result<u8, Error> {
    match plan {
        Plan::Print(text) => print(text.as_bytes()),
        Plan::Explain(cause) => print(advice::explain(*cause).as_bytes()),
        Plan::Completions(shell) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "wshs-sniff", &mut out);
            print(&out)
        }
        Plan::Man => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(OutputError::Stdout)?;
            print(&out)
        }
        Plan::Schema => print(crate::report::schema::SCHEMA.as_bytes()),
        Plan::ListInterfaces => {
            let list = live::list_interfaces()?;
            let mut out = String::new();
            for (i, (name, desc)) in list.iter().enumerate() {
                match desc {
                    Some(d) => out.push_str(&format!("{}.{name} ({d})\n", i + 1)),
                    None => out.push_str(&format!("{}.{name}\n", i + 1)),
                }
            }
            print(out.as_bytes())
        }
        Plan::Analyze(a) => {
            let stop = Arc::new(AtomicBool::new(false));
            {
                let stop = stop.clone();
                let _ = ctrlc::set_handler(move || {
                    if stop.swap(true, Ordering::Relaxed) {
                        // Second Ctrl-C: the user wants out now.
                        std::process::exit(130);
                    }
                });
            }
            // Buffered: the reporter flushes once per burst of attempts
            // instead of the line-buffered stdout writing every line.
            let stdout = std::io::BufWriter::with_capacity(64 << 10, std::io::stdout().lock());
            analyze(a, stdout, stop)
        }
    }
}

fn print(bytes: &[u8]) -> Result<u8, Error> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)
        .and_then(|()| out.flush())
        .map_err(OutputError::Stdout)?;
    Ok(0)
}

/// Hands judged attempts to the reporter and keeps what the files written
/// after the run need (the flows of refused attempts, the secrets to mask).
struct Emitter<W: Write> {
    reporter: Reporter<W>,
    gauges: Arc<crate::report::gauges::Gauges>,
    count_limit: Option<u64>,
    stop_for_count: Arc<AtomicBool>,
    seen: u64,
    rejected_flows: Option<FlowSet>,
    attempt_secrets: Option<FlowSet>,
}

impl<W: Write> pipeline::Sink for Emitter<W> {
    fn attempt(&mut self, j: &crate::classify::correlate::Judged) -> std::io::Result<()> {
        // Attempts released together with the COUNTth (same tick, or drained
        // at the end) are not reported: -c is a hard limit.
        if self.count_limit.is_some_and(|c| self.seen >= c) {
            return Ok(());
        }
        self.seen += 1;
        self.gauges.attempts.fetch_add(1, Ordering::Relaxed);
        if let Some(flows) = &mut self.rejected_flows {
            if j.verdict.outcome != Outcome::Accepted {
                flows.insert(
                    j.attempt.client,
                    j.attempt.server,
                    redact::secrets_of(&j.attempt.request),
                );
            }
        }
        if let Some(secrets) = &mut self.attempt_secrets {
            secrets.insert(
                j.attempt.client,
                j.attempt.server,
                redact::secrets_of(&j.attempt.request),
            );
        }
        let r = self.reporter.emit(j);
        if self.count_limit.is_some_and(|c| self.seen >= c) {
            self.stop_for_count.store(true, Ordering::Relaxed);
        }
        r
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.reporter.flush()
    }
}

/// Open the input the plan names; live capture says so on stderr once open
/// (scripts and tests wait for that line before starting traffic).
/// `files`: the input files in reading order.
fn open(
    a: &Analysis,
    files: &[String],
    scratch: Option<&str>,
) -> Result<Box<dyn PacketSource>, Error> {
    match &a.input {
        Input::Files(_) => Ok(Box::new(Files::open_lazily(files)?)),
        Input::Live { options, write } => {
            let src = LiveSource::open(options)?;
            let src: Box<dyn PacketSource> = match write.as_deref().or(scratch) {
                Some(path) => {
                    let snaplen = u32::try_from(options.snaplen).unwrap_or(RECORD_SNAPLEN);
                    let linktype = src.linktype();
                    Box::new(PcapWriter::create(src, path, linktype, snaplen)?)
                }
                None => Box::new(src),
            };
            Ok(src)
        }
    }
}

/// Run an analysis plan, writing to `out`. `stop` ends it early (Ctrl-C);
/// what was seen is still reported.
pub fn analyze<W: Write>(a: &Analysis, out: W, stop: Arc<AtomicBool>) -> Result<u8, Error> {
    // Live with --write-rejected or --annotate: every packet goes to a file
    // first (the -w file, or a scratch one next to the output), copied from at
    // the end.
    let second_pass = a.write_rejected.as_ref().or(a.annotate.as_ref());
    let scratch = match (&a.input, second_pass) {
        (Input::Live { write: None, .. }, Some(out)) => Some(format!("{out}.all.tmp")),
        _ => None,
    };
    let files = match &a.input {
        Input::Files(args) => inputs::ordered(args)?,
        Input::Live { .. } => Vec::new(),
    };
    // The key log is read before the capture starts, so a bad one stops the
    // run before any packet is taken.
    let mut config = a.config.clone();
    config.exiting = true;
    if let Some(keys) = keylog_file::for_run(
        a.tls_keylog.as_deref(),
        matches!(a.input, Input::Live { .. }),
    )? {
        config.http.tls_keys = Some(keys);
    }
    let source = open(a, &files, scratch.as_deref())?;
    if let Some(user) = &a.user {
        live::drop_privileges(user)?;
    }
    if let Input::Live { options, .. } = &a.input {
        note(format_args!(
            "capturing on {}, filter '{}'{}",
            options.interface,
            options.filter,
            if a.user.is_some() {
                ", privileges dropped"
            } else {
                ""
            }
        ));
    }

    let cfg = &config;
    let o = a.output;
    let mut reporter = Reporter::new(out, o.format, o.all, o.redact).with_color(o.color);
    if o.blocks {
        reporter = reporter.with_blocks(BlockOptions {
            width: terminal::width(),
            color: o.color,
            fold: o.fold,
        });
    }
    let pcapng_rejected = a.write_rejected.as_deref().is_some_and(pcap_out::is_pcapng);
    if a.annotate.is_some() || pcapng_rejected {
        reporter = reporter.with_annotations();
    }
    if a.report.is_some() {
        reporter = reporter.with_incident();
    }
    let mut metrics_thread = None;
    if let Some(addr) = &a.metrics_addr {
        let m = Arc::new(Metrics::new(cfg.gauges.clone()));
        metrics_thread = Some(metrics::serve(addr, m.clone(), stop.clone())?);
        reporter = reporter.with_metrics(m);
    }
    let progress_done = Arc::new(AtomicBool::new(false));
    let progress = a
        .progress
        .then(|| progress::spawn(cfg.gauges.clone(), progress_done.clone()));

    let mut sink = Emitter {
        reporter,
        gauges: cfg.gauges.clone(),
        count_limit: a.count,
        stop_for_count: stop.clone(),
        seen: 0,
        rejected_flows: a.write_rejected.is_some().then(FlowSet::default),
        // The secrets of every attempt, masked wherever the annotated copy
        // holds them.
        attempt_secrets: (a.annotate.is_some() && o.redact).then(FlowSet::default),
    };
    let stats = pipeline::run(source, cfg, stop.clone(), &mut sink);
    let Emitter {
        mut reporter,
        seen,
        count_limit,
        rejected_flows,
        attempt_secrets,
        ..
    } = sink;
    let rejected_flows = rejected_flows.unwrap_or_default();
    let attempt_secrets = attempt_secrets.unwrap_or_default();
    progress_done.store(true, Ordering::Relaxed);
    if let Some(p) = progress {
        let _ = p.join();
    }
    let annotations = reporter.take_annotations().unwrap_or_default();
    let incident = reporter.take_incident();
    let (mut out, mut summary) = reporter.into_inner();
    summary.capture = stats.capture.clone();
    summary.reassembly = stats.reassembly;
    summary.http = stats.http;
    summary.flows = stats.flows;
    summary.interrupted = stats.interrupted && count_limit.is_none_or(|c| seen < c);
    if let Some(Error::Panic { thread, .. }) = &stats.error {
        summary.incomplete = Some(thread.clone());
    }
    let rendered = summary.render();
    // Output that failed already (a closed pipe, a full disk) gets no summary.
    let output_failed = matches!(stats.error, Some(Error::Output(_)));
    let summary_written = if output_failed {
        Ok(())
    } else if o.format != Format::Text {
        // Written, not printed: printing panics when stderr cannot be
        // written (a full disk, a closed pipe), and the run would end in a
        // panic instead of the error it met.
        let mut err = std::io::stderr().lock();
        err.write_all(rendered.as_bytes())
            .and_then(|()| err.flush())
            .map_err(OutputError::Stderr)
    } else {
        out.write_all(rendered.as_bytes())
            .and_then(|()| out.flush())
            .map_err(OutputError::Stdout)
    };
    stop.store(true, Ordering::Relaxed);
    if let Some(h) = metrics_thread {
        let _ = h.join();
    }

    let mut written: Vec<Result<(), OutputError>> = Vec::new();
    if let (Some(path), Some(mut incident)) = (&a.report, incident) {
        written.push(
            std::fs::write(path, incident.render(&summary))
                .map(|()| note(format_args!("wrote the incident report to {path}")))
                .map_err(|source| OutputError::File {
                    path: path.clone(),
                    source,
                }),
        );
    }
    // The input read again, in the order the analysis read it, so packet
    // numbers match the ones the annotations were keyed by.
    let inputs: Vec<String> = match (&a.input, &scratch) {
        (Input::Files(_), _) => files,
        (Input::Live { write: Some(w), .. }, _) => vec![w.clone()],
        (Input::Live { write: None, .. }, Some(s)) => vec![s.clone()],
        (Input::Live { write: None, .. }, None) => Vec::new(),
    };
    if let Some(path) = &a.annotate {
        written.push(
            pcap_out::write_pcapng(
                &inputs,
                None,
                o.redact.then_some(&attempt_secrets),
                &annotations,
                path,
            )
            .map(|n| {
                note(format_args!(
                    "wrote {} packets, {} with a comment, to {path}{}",
                    n.packets,
                    n.commented,
                    masked_note(o.redact, n.masked)
                ))
            }),
        );
    }
    if let Some(path) = &a.write_rejected {
        let n = if pcapng_rejected {
            let mask = o.redact.then_some(&rejected_flows);
            pcap_out::write_pcapng(&inputs, Some(&rejected_flows), mask, &annotations, path)
        } else {
            pcap_out::write_flows(&inputs, &rejected_flows, path, o.redact)
        };
        written.push(n.map(|n| {
            note(format_args!(
                "wrote {} packets of {} connections with a refused attempt to {path}{}",
                n.packets,
                rejected_flows.len(),
                masked_note(o.redact, n.masked)
            ));
        }));
    }
    if let Some(s) = &scratch {
        let _ = std::fs::remove_file(s);
    }
    if let Some(e) = stats.error {
        return Err(e);
    }
    summary_written?;
    for w in written {
        w?;
    }
    if a.fail_on_rejected && summary.rejected() > 0 {
        return Ok(EXIT_REJECTED);
    }
    Ok(0)
}

/// How many packets of a written file had secrets masked, when masking.
fn masked_note(redact: bool, masked: u64) -> String {
    if redact {
        format!(" ({masked} with secrets masked)")
    } else {
        String::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::FileSource;
    use crate::cli::Terminal;
    use crate::pipeline::{Config, Fault};

    /// Every fixture as one stream, in text (the summary follows the lines).
    fn plan(fault: Option<Fault>) -> Analysis {
        let dir = format!("{}/fixtures", env!("CARGO_MANIFEST_DIR"));
        let args = [
            "wshs-sniff",
            "-r",
            &dir,
            "--all",
            "--color",
            "never",
            "--workers",
            "2",
        ];
        let mut a = match Plan::from_args(args, Terminal::default()) {
            Ok(Plan::Analyze(a)) => *a,
            other => panic!("{other:?}"),
        };
        a.config.tick_packets = 64;
        a.config.fault = fault;
        a
    }

    fn analyze_text(fault: Option<Fault>) -> (Result<u8, Error>, Vec<String>, String) {
        let mut out = Vec::new();
        let r = analyze(&plan(fault), &mut out, Arc::new(AtomicBool::new(false)));
        let text = String::from_utf8(out).expect("text output");
        let (lines, summary) = text.split_once("── summary").expect("a summary");
        (
            r,
            lines.lines().map(str::to_string).collect(),
            summary.to_string(),
        )
    }

    /// The run failed with a panic of `thread`, and its summary says the
    /// analysis is incomplete because of it.
    fn assert_failed_in(r: &Result<u8, Error>, summary: &str, thread: &str) {
        match r {
            Err(e @ Error::Panic { thread: t, .. }) => {
                assert!(t.starts_with(thread), "{t}");
                assert_eq!(e.exit_code(), 1);
                assert!(e.to_string().contains(thread), "{e}");
            }
            other => panic!("not a panic of {thread}: {other:?}"),
        }
        assert!(
            summary.contains(&format!("analysis incomplete: the {thread}")),
            "{summary}"
        );
    }

    #[test]
    fn a_worker_panic_keeps_what_was_found_and_fails_the_run() {
        let (full, all, summary) = analyze_text(None);
        assert_eq!(full.ok(), Some(0));
        assert!(!summary.contains("incomplete"), "{summary}");
        let (r, kept, summary) = analyze_text(Some(Fault::Worker(500)));
        assert_failed_in(&r, &summary, "flow worker");
        assert!(
            !kept.is_empty(),
            "the findings before the panic are written"
        );
        // The run ends soon after the panic (how soon depends on the
        // threads), and an attempt whose other leg was lost may be judged
        // differently, so only the count is compared.
        assert!(kept.len() < all.len(), "{} of {}", kept.len(), all.len());
    }

    #[test]
    fn a_capture_panic_keeps_what_was_found_and_fails_the_run() {
        let (_, all, _) = analyze_text(None);
        let (r, kept, summary) = analyze_text(Some(Fault::Capture(500)));
        assert_failed_in(&r, &summary, "capture");
        assert!(!kept.is_empty());
        for l in &kept {
            assert!(all.contains(l), "{l}");
        }
    }

    #[test]
    fn a_reporter_panic_keeps_the_lines_written_before_it() {
        let (_, all, _) = analyze_text(None);
        let (r, kept, summary) = analyze_text(Some(Fault::Reporter(3)));
        assert_failed_in(&r, &summary, "reporter");
        assert_eq!(kept, all[..3].to_vec());
    }

    #[test]
    fn a_judge_panic_keeps_what_was_judged_before_it() {
        let (_, all, _) = analyze_text(None);
        let (r, kept, summary) = analyze_text(Some(Fault::Judge(1)));
        assert_failed_in(&r, &summary, "reporter");
        // The first batch is written whole, nothing after it.
        assert!(!kept.is_empty() && kept.len() < all.len(), "{kept:?}");
        assert_eq!(kept, all[..kept.len()].to_vec());
    }

    /// A file source whose file is written anew (truncated, then written)
    /// after `after` packets were read, as a capture ring starting a slice
    /// over does.
    struct RingReuse {
        inner: FileSource,
        path: std::path::PathBuf,
        newer: Vec<u8>,
        after: u64,
    }

    impl PacketSource for RingReuse {
        fn next(&mut self) -> Result<crate::capture::Next<'_>, crate::capture::CaptureError> {
            if self.inner.packets() == self.after {
                std::fs::write(&self.path, &self.newer).expect("rewrite");
            }
            self.inner.next()
        }
    }

    #[test]
    fn a_capture_rewritten_while_read_is_damage_with_the_findings_kept() {
        let input = format!(
            "{}/fixtures/node-ws__origin-compare.pcap",
            env!("CARGO_MANIFEST_DIR")
        );
        let dir = std::env::temp_dir().join(format!("wshs-run-ring-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch");
        let path = dir.join("slice.pcap");
        let old = std::fs::read(&input).expect("fixture");
        std::fs::write(&path, &old).expect("copy");
        let whole = crate::analyze_files(&[&input], &Default::default()).expect("reads");
        // The new slice starts with another packet time. Its other bytes are
        // the old ones: only the look at the file's first bytes tells them
        // apart.
        let mut newer = old;
        newer[24] ^= 1;
        let ring = RingReuse {
            inner: FileSource::open(path.to_str().expect("path")).expect("opens"),
            path,
            newer,
            // Before the last packet (an ACK): every attempt is whole.
            after: whole.summary.capture.packets - 1,
        };
        let mut found = 0;
        let stats = pipeline::run(
            Box::new(ring),
            &Config::default(),
            Arc::new(AtomicBool::new(false)),
            &mut |_: &crate::classify::correlate::Judged| {
                found += 1;
                Ok(())
            },
        );
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(found, whole.records.len());
        let e = stats.error.expect("the rewrite ends the run in error");
        assert_eq!(e.exit_code(), 1);
        let line = e.to_string();
        assert!(line.contains("rewritten while it was being read"), "{line}");
        assert_eq!(line.lines().count(), 1, "{line}");
        assert_eq!(stats.capture.damage, vec![line]);
    }
}
