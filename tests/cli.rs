//! The command line as users meet it: exit statuses, one-line errors, help,
//! `explain`, a closed stdout. No root needed (capture files only, or a capture
//! that fails to open).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_wshs-sniff");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A scratch file removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str, bytes: &[u8]) -> Scratch {
        let p = std::env::temp_dir().join(format!("wshs-cli-{tag}-{}", std::process::id()));
        std::fs::write(&p, bytes).unwrap();
        Scratch(p)
    }
    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn assert_one_line_error(out: &Output, code: i32, what: &str) -> String {
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: status; stderr: {err}"
    );
    assert_eq!(
        err.lines().count(),
        1,
        "{what}: stderr is not one line: {err:?}"
    );
    assert!(err.starts_with("wshs-sniff: "), "{what}: {err:?}");
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{what}: {err:?}"
    );
    err
}

#[test]
fn missing_file_is_one_line_and_exit_1() {
    let out = run(&["-r", "no/such/capture.pcap"]);
    let err = assert_one_line_error(&out, 1, "missing file");
    assert!(err.contains("no/such/capture.pcap"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn non_capture_file_is_one_line_and_exit_1() {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    let out = run(&["-r", manifest.to_str().unwrap()]);
    let err = assert_one_line_error(&out, 1, "not a capture");
    assert!(err.contains("not a pcap or pcapng"), "{err}");
}

#[test]
fn truncated_capture_reports_what_came_before_then_damage_and_exit_1() {
    let whole = std::fs::read(fixture("python-websockets__keepalive-sequence.pcap")).unwrap();
    // Cut inside the last packet: the first attempt (426) is complete before it.
    let cut = Scratch::new("cut.pcap", &whole[..whole.len() - 40]);
    let out = run(&["-r", cut.path()]);
    let stdout = text(&out.stdout);
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout:\n{stdout}\nstderr:\n{err}"
    );
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.contains("426") && first.contains("missing-upgrade"),
        "{stdout}"
    );
    let summary = stdout.find("summary").expect("summary on stdout");
    let damage = stdout.find("damage:").expect("damage line in the summary");
    assert!(stdout.find("missing-upgrade").unwrap() < summary && summary < damage);
    assert!(stdout.contains("cut short"), "{stdout}");
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(err.contains("cut short"), "{err}");
}

#[test]
fn fail_on_rejected_is_3_with_a_refusal_and_0_without() {
    let bad = fixture("node-ws__origin-rejected.pcap");
    let out = run(&["-r", bad.to_str().unwrap(), "--fail-on-rejected"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("origin-rejected"));

    let ok = fixture("python-websockets__ok.pcap");
    let out = run(&["-r", ok.to_str().unwrap(), "--fail-on-rejected"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // Without the flag a refusal is still status 0: the analysis was done.
    let out = run(&["-r", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn closed_stdout_ends_quietly_with_status_0() {
    // Plenty of output (every fixture, several times, accepted ones too), a
    // reader that takes one byte and goes away, like `| head -c1`.
    let mut files: Vec<String> = std::fs::read_dir(fixture(""))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    files.sort();
    let mut args = vec!["--all".to_string()];
    for _ in 0..10 {
        for f in &files {
            args.push("-r".into());
            args.push(f.clone());
        }
    }
    let mut child = Command::new(BIN)
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut one = [0u8; 1];
    stdout.read_exact(&mut one).unwrap();
    drop(stdout);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("internal error"),
        "{err}"
    );
    assert!(!err.contains("Broken pipe"), "{err}");
}

#[test]
fn help_shows_the_three_ways_to_use_it() {
    let out = run(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    assert!(help.contains("wshs-sniff -i "), "live use: {help}");
    assert!(help.contains("wshs-sniff -r "), "saved capture: {help}");
    assert!(
        help.contains("--fail-on-rejected"),
        "regression use: {help}"
    );
    assert!(help.contains("wshs-sniff explain "), "{help}");
}

#[test]
fn explain_prints_the_explanation() {
    let out = run(&["explain", "origin-rejected"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(s.starts_with("origin-rejected"), "{s}");
    assert!(s.contains("Origin"), "{s}");
    assert!(s.lines().count() > 3, "{s}");

    let out = run(&["explain", "no-such-cause"]);
    let err = assert_one_line_error(&out, 1, "unknown cause");
    assert!(
        err.contains("origin-rejected"),
        "lists the known causes: {err}"
    );
}

#[test]
fn bad_filter_is_one_line_and_exit_1() {
    let ok = fixture("python-websockets__ok.pcap");
    let out = run(&["-r", ok.to_str().unwrap(), "tcp", "port", "("]);
    let err = assert_one_line_error(&out, 1, "bad filter");
    assert!(err.contains("filter"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn no_input_is_a_usage_error() {
    let out = run(&[]);
    assert_one_line_error(&out, 1, "no -r / -i");
    let out = run(&["--no-such-option"]);
    assert_one_line_error(&out, 1, "unknown option");
}

#[test]
fn no_such_device_is_one_line_and_exit_2() {
    // Not root: cannot open any device; root: no such device. Exit 2 either way.
    let out = run(&["-i", "nosuchdev"]);
    let err = assert_one_line_error(&out, 2, "-i nosuchdev");
    assert!(err.contains("nosuchdev"), "{err}");
    assert!(out.stdout.is_empty(), "{}", text(&out.stdout));
}

#[test]
fn list_interfaces_shows_loopback() {
    let out = run(&["-D"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    assert!(
        s.lines().any(|l| l
            .split_once('.')
            .is_some_and(|(_, n)| n == "lo" || n.starts_with("lo "))),
        "{s}"
    );
}

#[test]
fn write_rejected_keeps_only_refused_connections() {
    let out = Scratch::new("rejected.pcap", b"");
    let files = [
        "python-websockets__ok.pcap",
        "node-ws__origin-rejected.pcap",
        "nginx-stripped__python-websockets.pcap",
        "nginx-good__python-websockets.pcap",
    ];
    let mut args = vec!["--json".to_string(), "--all".to_string()];
    for f in files {
        args.push("-r".into());
        args.push(fixture(f).to_str().unwrap().to_string());
    }
    args.push("--write-rejected".into());
    args.push(out.path().to_string());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let all = run(&argv);
    assert_eq!(all.status.code(), Some(0), "{}", text(&all.stderr));
    let refused: Vec<String> = text(&all.stdout)
        .lines()
        .filter(|l| !l.contains("\"outcome\":\"accepted\""))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{} {} {}", v["client"], v["server"], v["cause"])
        })
        .collect();
    assert_eq!(refused.len(), 3, "origin + both stripped legs: {refused:?}");
    let back = run(&["--json", "--all", "-r", out.path()]);
    assert_eq!(back.status.code(), Some(0), "{}", text(&back.stderr));
    let got: Vec<String> = text(&back.stdout)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            format!("{} {} {}", v["client"], v["server"], v["cause"])
        })
        .collect();
    let (mut a, mut b) = (refused, got);
    a.sort();
    b.sort();
    assert_eq!(a, b);

    // stdin cannot be read twice.
    let err = run(&["-r", "-", "--write-rejected", out.path()]);
    assert_one_line_error(&err, 1, "--write-rejected with stdin");
}

#[test]
fn a_full_disk_is_one_line_and_exit_1() {
    let ok = fixture("python-websockets__origin-rejected.pcap");
    for format in ["--json", "--color=never"] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = Command::new(BIN)
            .args(["-r", ok.to_str().unwrap(), "--all", format])
            .stdin(Stdio::null())
            .stdout(full)
            .output()
            .unwrap();
        let err = assert_one_line_error(&out, 1, format);
        assert!(err.contains("No space left"), "{format}: {err}");
    }
}

/// stderr on a full disk: the error that ends the run (or the summary that
/// goes to stderr beside JSON) cannot be written, and the status still says
/// so, never a panic's 101.
#[test]
fn a_full_stderr_still_ends_in_the_run_s_own_status() {
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    let ok = fixture("python-websockets__origin-rejected.pcap");
    let garbage = Scratch::new("stderr-full", b"not a capture at all, just text\n");
    let cases: [(&[&str], bool, i32); 4] = [
        // A bad input: its one-line error is lost, its status is not.
        (&["-r", garbage.path()], false, 1),
        // A bad option, refused before any run.
        (&["--no-such-option"], false, 1),
        // JSON: the records reach stdout, the summary fails on stderr.
        (&["-r", ok.to_str().unwrap(), "--json", "--all"], false, 1),
        // Text with stdout on the full disk as well.
        (&["-r", ok.to_str().unwrap(), "--all"], true, 1),
    ];
    let mut outs = Vec::new();
    for (args, stdout_full, want) in cases {
        let mut cmd = Command::new(BIN);
        cmd.args(args).stdin(Stdio::null()).stderr(full());
        if stdout_full {
            cmd.stdout(full());
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(want), "{args:?}");
        outs.push(out);
    }
    assert!(
        text(&outs[2].stdout).contains("\"origin-rejected\""),
        "the findings are written before the summary fails"
    );
}

#[test]
fn a_write_rejected_file_that_cannot_be_written_is_one_line_and_exit_1() {
    let ok = fixture("python-websockets__origin-rejected.pcap");
    let out = run(&["-r", ok.to_str().unwrap(), "--write-rejected", "/dev/full"]);
    let err = assert_one_line_error(&out, 1, "--write-rejected /dev/full");
    assert!(err.contains("/dev/full"), "{err}");
    // The findings and the summary are still on stdout.
    assert!(text(&out.stdout).contains("origin-rejected"));
}

#[test]
fn live_only_options_with_files_are_usage_errors() {
    let ok = fixture("python-websockets__ok.pcap");
    for opt in [
        &["-w", "x.pcap"][..],
        &["--duration", "1"],
        &["-s", "100"],
        &["-B", "64"],
        &["-p"],
    ] {
        let mut args = vec!["-r", ok.to_str().unwrap()];
        args.extend_from_slice(opt);
        let out = run(&args);
        let err = assert_one_line_error(&out, 1, opt[0]);
        assert!(err.contains("live capture"), "{err}");
        assert!(out.stdout.is_empty());
    }
}

/// A classic pcap of raw IPv4 packets (link type 101) holding one SYN.
fn raw_ip_capture() -> Vec<u8> {
    let mut b = Vec::new();
    for v in [0xa1b2_c3d4u32, 0x0004_0002, 0, 0, 65535, 101] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    let mut pkt = vec![0x45, 0, 0, 40, 0, 0, 0x40, 0, 64, 6, 0, 0];
    pkt.extend_from_slice(&[127, 0, 0, 1, 127, 0, 0, 1]);
    pkt.extend_from_slice(&[0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02]);
    pkt.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]);
    for v in [1_700_000_000u32, 0, pkt.len() as u32, pkt.len() as u32] {
        b.extend_from_slice(&v.to_le_bytes());
    }
    b.extend_from_slice(&pkt);
    b
}

#[test]
fn a_filter_that_cannot_apply_to_the_link_type_is_one_line_and_exit_1() {
    let raw = Scratch::new("raw-ip.pcap", &raw_ip_capture());
    // Fine on raw IP.
    let out = run(&["-r", raw.path(), "tcp", "port", "80"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // Ethernet addresses mean nothing on raw IP: an error, not everything.
    let out = run(&["-r", raw.path(), "ether", "host", "02:00:00:00:00:01"]);
    let err = assert_one_line_error(&out, 1, "ether filter on raw IP");
    assert!(err.contains("link type 101"), "{err}");
}

#[test]
fn dash_z_drops_root_once_the_files_are_open() {
    // SAFETY: plain libc calls.
    let root = unsafe { libc::geteuid() } == 0;
    let nobody = std::ffi::CString::new("nobody").unwrap();
    // SAFETY: getpwnam with a valid C string; only the null check is used.
    if !root || unsafe { libc::getpwnam(nobody.as_ptr()) }.is_null() {
        println!("skipping: needs root and a user 'nobody'");
        return;
    }
    let ok = fixture("python-websockets__origin-rejected.pcap");
    // A directory only root may write to: the --write-rejected file, written
    // after the analysis, shows whose privileges the process still has.
    let dir = std::env::temp_dir().join(format!("wshs-cli-root-only-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let target = dir.join("rejected.pcap");
    let target = target.to_str().unwrap();
    let as_root = run(&["-r", ok.to_str().unwrap(), "--write-rejected", target]);
    assert_eq!(as_root.status.code(), Some(0), "{}", text(&as_root.stderr));
    let dropped = run(&[
        "-r",
        ok.to_str().unwrap(),
        "-Z",
        "nobody",
        "--write-rejected",
        target,
    ]);
    let err = text(&dropped.stderr);
    assert_eq!(dropped.status.code(), Some(1), "{err}");
    assert!(err.contains("Permission denied"), "{err}");
    // The analysis itself ran as nobody.
    assert!(text(&dropped.stdout).contains("origin-rejected"));
    let _ = std::fs::remove_dir_all(&dir);
}
