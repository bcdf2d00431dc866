//! Write a deterministic busy-host capture and its ground truth.
//!
//! ```text
//! cargo run --release --example gen_capture -- --size 1G --seed 42 \
//!     --out /tmp/busy.pcap --truth /tmp/busy.truth.jsonl
//! ```
//!
//! The truth file has one JSON line per upgrade attempt: `client`, `server`,
//! `method`, `target`, `status`, `cause`, `header`, `leg` (the output contract's
//! names). `--out -` writes the capture to stdout.

#[path = "../benches/support/gen.rs"]
mod gen;

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

fn usage() -> ExitCode {
    eprintln!(
        "usage: gen_capture --size SIZE[k|M|G] [--seed N] [--concurrency N] --out FILE|- [--truth FILE]"
    );
    ExitCode::from(1)
}

fn main() -> ExitCode {
    let mut opts = gen::Options {
        size: 64 << 20,
        seed: 42,
        concurrency: None,
    };
    let mut out: Option<String> = None;
    let mut truth: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next();
        match a.as_str() {
            "--size" => match val().as_deref().and_then(gen::parse_size) {
                Some(s) => opts.size = s,
                None => return usage(),
            },
            "--seed" => match val().and_then(|v| v.parse().ok()) {
                Some(s) => opts.seed = s,
                None => return usage(),
            },
            "--concurrency" => match val().and_then(|v| v.parse().ok()) {
                Some(s) => opts.concurrency = Some(s),
                None => return usage(),
            },
            "--out" => out = val(),
            "--truth" => truth = val(),
            _ => return usage(),
        }
    }
    let Some(out) = out else {
        return usage();
    };
    let started = Instant::now();
    let result = if out == "-" {
        gen::generate(&opts, std::io::stdout().lock())
    } else {
        match std::fs::File::create(&out) {
            Ok(f) => gen::generate(&opts, f),
            Err(e) => {
                eprintln!("gen_capture: cannot create {out}: {e}");
                return ExitCode::from(1);
            }
        }
    };
    let (stats, attempts) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("gen_capture: write failed: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(path) = truth {
        let mut text = String::new();
        for t in &attempts {
            text.push_str(&t.to_json());
            text.push('\n');
        }
        if let Err(e) = std::fs::File::create(&path).and_then(|mut f| f.write_all(text.as_bytes()))
        {
            eprintln!("gen_capture: cannot write {path}: {e}");
            return ExitCode::from(1);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "gen_capture: {} bytes, {} packets, {} connections, {} attempts in {:.2}s ({:.0} MB/s)",
        stats.bytes,
        stats.packets,
        stats.connections,
        attempts.len(),
        secs,
        stats.bytes as f64 / secs / 1e6
    );
    ExitCode::SUCCESS
}
