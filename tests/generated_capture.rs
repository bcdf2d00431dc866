//! A generated busy-host capture (fixed seed, a few MB, in memory): every
//! attempt in the generator's ground truth is found on its connection with the
//! right status, cause and header, nothing is invented, and the output is the
//! same whatever the worker count.

#[path = "../benches/support/gen.rs"]
mod gen;

use std::collections::HashMap;

use wshs_sniff::pipeline::Config;

fn capture(seed: u64, size: u64) -> (Vec<u8>, Vec<gen::Truth>) {
    gen::generate_vec(&gen::Options {
        size,
        seed,
        concurrency: Some(200),
    })
}

fn check(seed: u64, size: u64) {
    check_with(seed, size, false)
}

fn check_with(seed: u64, size: u64, legs: bool) {
    let (bytes, truth) = capture(seed, size);
    let truth: Vec<Expected> = truth
        .iter()
        .map(|t| Expected {
            client: t.client.clone(),
            server: t.server.clone(),
            target: t.target.clone(),
            status: t.status,
            cause: t.cause.to_string(),
            header: t.header.map(str::to_string),
            leg: t.leg.to_string(),
        })
        .collect();
    compare(&format!("seed {seed}"), bytes, &truth, legs);
}

/// One attempt of a generator's ground truth.
#[derive(serde::Deserialize)]
struct Expected {
    client: String,
    server: String,
    target: String,
    status: Option<u16>,
    cause: String,
    header: Option<String>,
    leg: String,
}

/// Every attempt of `truth` is found on its connection with its status,
/// cause and header (and leg, with `legs`), and nothing else is reported.
fn compare(what: &str, bytes: Vec<u8>, truth: &[Expected], legs: bool) {
    assert!(
        truth.len() > 100,
        "{what}: only {} attempts generated",
        truth.len()
    );
    let a =
        wshs_sniff::analyze_bytes("generated", bytes, &Config::default()).expect("capture opens");
    assert!(a.error.is_none(), "{what}: {:?}", a.error);
    let mut found: HashMap<(String, String, String), Vec<&wshs_sniff::report::Record>> =
        HashMap::new();
    for r in &a.records {
        found
            .entry((r.client.clone(), r.server.clone(), r.target.clone()))
            .or_default()
            .push(r);
    }
    let mut problems = Vec::new();
    for t in truth {
        let k = (t.client.clone(), t.server.clone(), t.target.clone());
        let Some(r) = found
            .get_mut(&k)
            .and_then(|v| (!v.is_empty()).then(|| v.remove(0)))
        else {
            problems.push(format!(
                "missing: {} > {} {} {:?} {}",
                t.client, t.server, t.target, t.status, t.cause
            ));
            continue;
        };
        if r.status != t.status || r.cause.code() != t.cause || r.header != t.header.as_deref() {
            problems.push(format!(
                "{} > {}: expected {:?} {} {:?}, found {:?} {} {:?} ({})",
                t.client,
                t.server,
                t.status,
                t.cause,
                t.header,
                r.status,
                r.cause.code(),
                r.header,
                r.evidence
            ));
        }
        if legs && r.leg != t.leg {
            problems.push(format!(
                "{} > {}: leg {} expected {} ({})",
                t.client, t.server, r.leg, t.leg, r.evidence
            ));
        }
    }
    for v in found.values() {
        for r in v {
            problems.push(format!(
                "invented: {} > {} {} {:?} {}",
                r.client,
                r.server,
                r.target,
                r.status,
                r.cause.code()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{what}: {} of {} attempts wrong:\n{}",
        problems.len(),
        truth.len(),
        problems
            .iter()
            .take(30)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// A capture from benches/mixed_gen.py, a generator written apart from
/// gen_capture with another traffic mix (bulk downloads, keep-alive APIs,
/// UDP and ICMP noise, masked frames after the 101, refusals worded as
/// other servers word them): the rules must hold for traffic they were not
/// written against.
#[test]
fn a_second_generators_capture_matches_its_truth() {
    let dir = std::env::temp_dir().join(format!("wshs-mixed-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (pcap, truth) = (dir.join("mixed.pcap"), dir.join("mixed.truth.jsonl"));
    let status = std::process::Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/benches/mixed_gen.py"))
        .args(["--size", "32M", "--seed", "11", "--concurrency", "150"])
        .arg("--out")
        .arg(&pcap)
        .arg("--truth")
        .arg(&truth)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs (the test needs it, as .ci/run installs it)");
    assert!(status.success(), "mixed_gen.py failed: {status}");
    let bytes = std::fs::read(&pcap).expect("generated capture");
    let truth: Vec<Expected> = std::fs::read_to_string(&truth)
        .expect("generated truth")
        .lines()
        .map(|l| serde_json::from_str(l).expect("truth line"))
        .collect();
    std::fs::remove_dir_all(&dir).expect("clean up");
    compare("mixed_gen.py seed 11", bytes, &truth, true);
}

#[test]
fn every_generated_attempt_is_found_and_explained() {
    check(42, 6 << 20);
}

#[test]
fn another_seed_agrees_too() {
    check(7, 3 << 20);
}

/// Only attempts that crossed a proxy are reported as legs. Unrelated clients
/// that send the same constant (invalid) key are not one attempt seen twice.
#[test]
fn proxy_legs_only_where_a_proxy_was() {
    check_with(42, 6 << 20, true);
}

#[test]
fn generator_is_deterministic() {
    let (a, ta) = capture(3, 1 << 20);
    let (b, tb) = capture(3, 1 << 20);
    assert_eq!(a, b);
    assert_eq!(ta, tb);
}

#[test]
fn same_output_whatever_the_worker_count() {
    let (bytes, _) = capture(11, 3 << 20);
    let run = |workers: usize| {
        let cfg = Config {
            workers,
            ..Config::default()
        };
        let a = wshs_sniff::analyze_bytes("generated", bytes.clone(), &cfg).expect("capture opens");
        a.records
            .iter()
            .map(|r| serde_json::to_string(r).expect("record serialises"))
            .collect::<Vec<_>>()
    };
    let one = run(1);
    assert!(!one.is_empty());
    assert_eq!(one, run(2));
    assert_eq!(one, run(3));
}

/// A file on disk is read into pooled blocks whose payloads reach the workers
/// by reference, in parts of ticks, and watched for rewrites; a stream is read
/// without the watch. Both must find the same, on a capture many blocks long.
#[test]
fn a_file_and_a_stream_give_the_same_output() {
    let (bytes, _) = capture(5, 14 << 20);
    let dir = std::env::temp_dir().join(format!("wshs-gen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("gen.pcap");
    std::fs::write(&path, &bytes).expect("write capture");
    let json = |a: wshs_sniff::Analysis| {
        assert!(a.error.is_none(), "{:?}", a.error);
        a.records
            .iter()
            .map(|r| serde_json::to_string(r).expect("record serialises"))
            .collect::<Vec<_>>()
    };
    for workers in [1, 2] {
        let cfg = Config {
            workers,
            ..Config::default()
        };
        let streamed = json(wshs_sniff::analyze_bytes("gen", bytes.clone(), &cfg).expect("opens"));
        let from_file = json(
            wshs_sniff::analyze_files(&[path.to_str().expect("utf-8 path")], &cfg).expect("opens"),
        );
        assert!(streamed.len() > 100);
        assert_eq!(streamed, from_file, "{workers} workers");
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}
