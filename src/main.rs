//! `wshs-sniff`: the command line around the library. Errors are one line on
//! stderr with an exit status per the contract; a closed stdout ends quietly.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;

use wshs_sniff::capture::inputs;
use wshs_sniff::capture::live::{self, LiveFeed, LiveOptions};
use wshs_sniff::capture::PacketSource;
use wshs_sniff::classify::{advice, Cause};
use wshs_sniff::cli::{Cli, ColorChoice, CompletionsCli, ExplainCli, OutputFormat};
use wshs_sniff::pipeline::{self, Config, Feed, FileFeed, Gauges};
use wshs_sniff::reassembly::Limits;
use wshs_sniff::report::{Format, Reporter};

const EXIT_INPUT: u8 = 1;
const EXIT_CAPTURE: u8 = 2;
const EXIT_REJECTED: u8 = 3;

fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("wshs-sniff: {msg}");
    ExitCode::from(code)
}

fn main() -> ExitCode {
    // A bug must still end in one line, not a backtrace on an operator's screen.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("wshs-sniff: internal error: {msg}{at} (please report it)");
    }));
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("explain") => return explain(&args[1..]),
        Some("completions") => return completions(&args[1..]),
        Some("man") => return man(),
        _ => {}
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let msg = e.to_string();
            let first = msg
                .lines()
                .next()
                .unwrap_or("bad usage")
                .trim_start_matches("error: ");
            return fail(EXIT_INPUT, format!("{first} (see --help)"));
        }
    };
    run(cli)
}

fn explain(args: &[String]) -> ExitCode {
    let e = match ExplainCli::try_parse_from(args) {
        Ok(e) => e,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(EXIT_INPUT);
        }
    };
    match Cause::from_code(&e.cause) {
        Some(c) => {
            print!("{}", advice::explain(c));
            ExitCode::SUCCESS
        }
        None => {
            let codes: Vec<&str> = Cause::ALL.iter().map(|c| c.code()).collect();
            fail(
                EXIT_INPUT,
                format!("unknown cause '{}'; known: {}", e.cause, codes.join(", ")),
            )
        }
    }
}

fn completions(args: &[String]) -> ExitCode {
    let c = match CompletionsCli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(EXIT_INPUT);
        }
    };
    let mut cmd = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(c.shell, &mut cmd, "wshs-sniff", &mut out);
    // A closed pipe is the reader's choice, not an error.
    let _ = std::io::stdout().write_all(&out);
    ExitCode::SUCCESS
}

fn man() -> ExitCode {
    let cmd = <Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(cmd).render(&mut out) {
        return fail(EXIT_INPUT, format!("cannot render the manual: {e}"));
    }
    let _ = std::io::stdout().write_all(&out);
    ExitCode::SUCCESS
}

/// A progress bar on stderr for file input, redrawn from the run's gauges.
fn progress_bar(gauges: Arc<Gauges>, done: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let total = gauges.total.load(Ordering::Relaxed);
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {bytes_per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        while !done.load(Ordering::Relaxed) {
            bar.set_position(gauges.position.load(Ordering::Relaxed));
            bar.set_message(format!(
                "{} attempts",
                gauges.attempts.load(Ordering::Relaxed)
            ));
            std::thread::sleep(Duration::from_millis(100));
        }
        bar.finish_and_clear();
    })
}

fn run(cli: Cli) -> ExitCode {
    if cli.list_interfaces {
        return match live::list_interfaces() {
            Ok(list) => {
                for (i, (name, desc)) in list.iter().enumerate() {
                    match desc {
                        Some(d) => println!("{}.{name} ({d})", i + 1),
                        None => println!("{}.{name}", i + 1),
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(EXIT_CAPTURE, format!("cannot list interfaces: {e}")),
        };
    }
    let filter = (!cli.filter.is_empty()).then(|| cli.filter.join(" "));
    if let Some(f) = &filter {
        if let Err(e) = pipeline::check_filter(f) {
            return fail(EXIT_INPUT, e);
        }
    }
    let format = if cli.json || cli.format == OutputFormat::Json {
        Format::Json
    } else if cli.format == OutputFormat::Ecs {
        Format::Ecs
    } else {
        Format::Text
    };
    let json = format != Format::Text;
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let cfg = Config {
        limits: Limits {
            max_buffer_per_direction: cli.max_buffer.max(1024),
            max_flows: cli.max_flows.max(1),
            idle_timeout_secs: cli.idle_timeout.max(1),
            ..Limits::default()
        },
        http: wshs_sniff::http::HttpLimits {
            max_head: cli.max_head.max(1024),
            ..Default::default()
        },
        workers: cli.workers.unwrap_or_else(pipeline::default_workers).max(1),
        filter: if cli.interface.is_some() {
            None
        } else {
            filter.clone()
        },
        ..Config::default()
    };

    if cli.write_rejected.is_some() && cli.read.iter().any(|r| r == "-") {
        return fail(
            EXIT_INPUT,
            "--write-rejected reads the input twice; it cannot with stdin (-r -)",
        );
    }
    // Live with --write-rejected: every packet goes to a file first (the -w
    // file, or a scratch one next to the output), copied from at the end.
    let scratch_all = match (&cli.interface, &cli.write_rejected, &cli.write) {
        (Some(_), Some(out), None) => Some(format!("{out}.all.tmp")),
        _ => None,
    };
    let feed: Box<dyn Feed> = if let Some(iface) = &cli.interface {
        let opts = LiveOptions {
            interface: iface.clone(),
            filter: match &filter {
                Some(f) => format!("tcp and ({f})"),
                None => "tcp".to_string(),
            },
            snaplen: cli.snaplen,
            buffer_size: Some(cli.buffer_size.max(1).saturating_mul(1024)),
            promisc: !cli.no_promisc,
            duration: cli.duration.map(Duration::from_secs_f64),
            write_to: cli.write.clone().or_else(|| scratch_all.clone()),
        };
        let feed = match LiveFeed::open(&opts) {
            Ok(f) => f,
            Err(e @ live::LiveError::Filter { .. }) => return fail(EXIT_INPUT, e),
            Err(e) => return fail(EXIT_CAPTURE, e),
        };
        if let Some(user) = &cli.user {
            if let Err(e) = live::drop_privileges(user) {
                return fail(
                    EXIT_CAPTURE,
                    format!("cannot drop privileges to {user}: {e}"),
                );
            }
        }
        // Like tcpdump: say when the capture is open (scripts and tests wait
        // for this line before starting traffic).
        eprintln!(
            "wshs-sniff: capturing on {iface}, filter '{}'{}",
            opts.filter,
            if cli.user.is_some() {
                ", privileges dropped"
            } else {
                ""
            }
        );
        Box::new(feed)
    } else {
        if cli.read.is_empty() {
            return fail(
                EXIT_INPUT,
                "nothing to read: give -r FILE or -i IFACE (see --help)",
            );
        }
        if cli.write.is_some() {
            return fail(EXIT_INPUT, "-w saves a live capture; it needs -i IFACE");
        }
        let files = match inputs::open_all(&cli.read) {
            Ok(f) => f,
            Err(e) => return fail(EXIT_INPUT, e),
        };
        let total = files.iter().map(|f| f.total_len()).sum::<Option<u64>>();
        let sources: Vec<Box<dyn PacketSource + Send>> = files
            .into_iter()
            .map(|f| Box::new(f) as Box<dyn PacketSource + Send>)
            .collect();
        Box::new(FileFeed::with_total(sources, total))
    };

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

    let stdout = std::io::stdout();
    let mut reporter =
        Reporter::new(stdout.lock(), format, cli.all, !cli.no_redact).with_color(color);
    let mut metrics_thread = None;
    if let Some(addr) = &cli.metrics_addr {
        let m = Arc::new(wshs_sniff::report::metrics::Metrics::new(
            cfg.gauges.clone(),
        ));
        match wshs_sniff::report::metrics::serve(addr, m.clone(), stop.clone()) {
            Ok(h) => metrics_thread = Some(h),
            Err(e) => return fail(EXIT_INPUT, e),
        }
        reporter = reporter.with_metrics(m);
    }
    let progress_done = Arc::new(AtomicBool::new(false));
    let progress = (cli.interface.is_none() && !cli.no_progress && std::io::stderr().is_terminal())
        .then(|| progress_bar(cfg.gauges.clone(), progress_done.clone()));
    let gauges = cfg.gauges.clone();
    let count_limit = cli.count;
    let stop_for_count = stop.clone();
    let mut seen = 0u64;
    let keep_rejected = cli.write_rejected.is_some();
    let mut rejected_flows = wshs_sniff::report::pcap_out::FlowSet::default();
    let stats = pipeline::run(feed, &cfg, stop.clone(), &mut |j| {
        // Attempts released together with the COUNTth (same tick, or drained at
        // the end) are not reported: -c is a hard limit.
        if count_limit.is_some_and(|c| seen >= c) {
            return Ok(());
        }
        seen += 1;
        gauges.attempts.fetch_add(1, Ordering::Relaxed);
        if keep_rejected && j.verdict.outcome != wshs_sniff::classify::Outcome::Accepted {
            rejected_flows.insert(
                j.attempt.client,
                j.attempt.server,
                wshs_sniff::report::redact::secrets_of(&j.attempt.request),
            );
        }
        let r = reporter.emit(j);
        if count_limit.is_some_and(|c| seen >= c) {
            stop_for_count.store(true, Ordering::Relaxed);
        }
        r
    });
    progress_done.store(true, Ordering::Relaxed);
    if let Some(p) = progress {
        let _ = p.join();
    }
    let (mut out, mut summary) = reporter.into_inner();
    summary.capture = stats.capture.clone();
    summary.reassembly = stats.reassembly;
    summary.http = stats.http;
    summary.flows = stats.flows;
    summary.interrupted = stats.interrupted && count_limit.is_none_or(|c| seen < c);
    let rendered = summary.render();
    if json {
        eprint!("{rendered}");
    } else {
        let _ = out.write_all(rendered.as_bytes());
        let _ = out.flush();
    }
    stop.store(true, Ordering::Relaxed);
    if let Some(h) = metrics_thread {
        let _ = h.join();
    }
    let mut write_failed = false;
    if let Some(out) = &cli.write_rejected {
        let inputs: Vec<String> = match (&cli.write, &scratch_all) {
            _ if cli.interface.is_none() => cli
                .read
                .iter()
                .flat_map(|a| inputs::expand(a).unwrap_or_else(|_| vec![a.clone()]))
                .collect(),
            (Some(w), _) => vec![w.clone()],
            (None, Some(s)) => vec![s.clone()],
            (None, None) => Vec::new(),
        };
        let redact = !cli.no_redact;
        match wshs_sniff::report::pcap_out::write_flows(&inputs, &rejected_flows, out, redact) {
            Ok(n) => eprintln!(
                "wshs-sniff: wrote {} packets of {} connections with a refused attempt to {out}{}",
                n.packets,
                rejected_flows.len(),
                if redact {
                    format!(" ({} with secrets masked)", n.masked)
                } else {
                    String::new()
                }
            ),
            Err(e) => {
                eprintln!("wshs-sniff: {e}");
                write_failed = true;
            }
        }
        if let Some(s) = &scratch_all {
            let _ = std::fs::remove_file(s);
        }
    }
    if let Some(e) = &stats.error {
        let code = if stats.capture_failed {
            EXIT_CAPTURE
        } else {
            EXIT_INPUT
        };
        return fail(code, e);
    }
    if write_failed {
        return ExitCode::from(EXIT_INPUT);
    }
    if cli.fail_on_rejected && summary.rejected() > 0 {
        return ExitCode::from(EXIT_REJECTED);
    }
    ExitCode::SUCCESS
}
