//! The command line (clap), kept apart from `main` so completions and the man
//! page can be generated from the same definition.

use clap::{Parser, ValueEnum};

pub const EXAMPLES: &str = "\
Examples:
  On a server host, live (as root, or with cap_net_raw,cap_net_admin):
    wshs-sniff -i eth0 tcp port 443 or tcp port 8080
    wshs-sniff -i any --json | jq 'select(.outcome != \"accepted\")'
  A saved capture:
    wshs-sniff -r incident.pcap
    wshs-sniff -r incident.pcapng --json --all > attempts.jsonl
  A regression test that replays fixtures and fails on any refusal:
    wshs-sniff -r fixtures/ok.pcap --fail-on-rejected
  Why a cause happens and how to fix it:
    wshs-sniff explain proxy-stripped-upgrade
  Shell completions and the manual page:
    wshs-sniff completions bash > /etc/bash_completion.d/wshs-sniff
    wshs-sniff man > wshs-sniff.1
  The JSON Schema of the --json output:
    wshs-sniff schema > wshs-sniff.schema.json

Exit status: 0 analysis done; 1 usage or input error; 2 capture error;
3 with --fail-on-rejected when a rejected attempt was found.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One aligned line per attempt.
    Text,
    /// JSON Lines per the output contract.
    Json,
    /// JSON Lines with Elastic Common Schema field names.
    Ecs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Explains failed WebSocket handshakes from packet captures: finds every
/// upgrade attempt, pairs it with the server's answer and names the header that
/// caused each refusal, with the fix.
#[derive(Debug, Parser)]
#[command(name = "wshs-sniff", version = concat!(env!("CARGO_PKG_VERSION"), " (JSON contract ", "1.2", ")"), after_help = EXAMPLES)]
pub struct Cli {
    /// Read packets from a capture file (pcap or pcapng; '-' for stdin), a
    /// directory of captures, or a glob. Repeat for several; files are read in
    /// order of their first packet as one stream, so rotated slices join up.
    #[arg(short = 'r', long = "read", value_name = "FILE")]
    pub read: Vec<String>,

    /// Capture live on this interface ('any' for all).
    #[arg(
        short = 'i',
        long = "interface",
        value_name = "IFACE",
        conflicts_with = "read"
    )]
    pub interface: Option<String>,

    /// List the interfaces that can be captured on, and exit.
    #[arg(short = 'D', long = "list-interfaces")]
    pub list_interfaces: bool,

    /// Write JSON Lines (one object per attempt) instead of text.
    #[arg(long)]
    pub json: bool,

    /// Also report accepted attempts.
    #[arg(long)]
    pub all: bool,

    /// Exit with status 3 when at least one attempt was rejected.
    #[arg(long)]
    pub fail_on_rejected: bool,

    /// Show Cookie and Authorization values and query-string credentials.
    #[arg(long)]
    pub no_redact: bool,

    /// Stop after this many upgrade attempts.
    #[arg(short = 'c', long = "count", value_name = "COUNT")]
    pub count: Option<u64>,

    /// Live: stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,

    /// Live: snap length in bytes (whole heads need large values).
    #[arg(short = 's', long = "snaplen", default_value_t = 262_144)]
    pub snaplen: i32,

    /// Live: kernel capture buffer size in KiB. The default is larger than
    /// libpcap's 2 MiB: in immediate mode the ring holds fixed-size slots sized
    /// from the snap length, and 2 MiB overflows at modest rates.
    #[arg(short = 'B', long = "buffer-size", value_name = "KIB", default_value_t = 32 * 1024)]
    pub buffer_size: i32,

    /// Live: do not put the interface in promiscuous mode.
    #[arg(short = 'p', long = "no-promiscuous-mode")]
    pub no_promisc: bool,

    /// Live: save the captured packets to this pcap file.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<String>,

    /// Save only the packets of connections that held an attempt that was not
    /// accepted: a small capture of just the failures (pcap; pcapng with the
    /// diagnosis as packet comments when FILE ends in .pcapng).
    #[arg(long = "write-rejected", value_name = "FILE")]
    pub write_rejected: Option<String>,

    /// Copy the whole input to this pcapng file with the diagnosis of each
    /// reported attempt as a comment on its request and response packets
    /// (Wireshark shows them; `frame.comment` filters them).
    #[arg(long = "annotate", value_name = "FILE.pcapng")]
    pub annotate: Option<String>,

    /// Write a self-contained HTML incident report: a timeline per outcome and
    /// cause, tables per cause, server and client network, each distinct
    /// finding, the capture's health.
    #[arg(long = "report", value_name = "FILE.html")]
    pub report: Option<String>,

    /// Live: drop root privileges to this user once the capture is open.
    #[arg(short = 'Z', long = "relinquish-privileges", value_name = "USER")]
    pub user: Option<String>,

    /// Flow workers (default: one per core besides the capture thread's).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,

    /// Connections tracked at once; the idlest are evicted past this.
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub max_flows: usize,

    /// Bytes buffered ahead of a hole in one stream direction before the hole
    /// is skipped.
    #[arg(long, value_name = "BYTES", default_value_t = 256 * 1024)]
    pub max_buffer: usize,

    /// Seconds (packet time) without traffic after which a connection is
    /// forgotten and its unanswered attempts reported as no_response.
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    pub idle_timeout: u64,

    /// Largest HTTP head buffered; larger ones are reported as too large.
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024)]
    pub max_head: usize,

    /// Output format (`--json` is short for `--format json`).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,

    /// Colour the text output: auto (when stdout is a terminal and NO_COLOR is
    /// unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// One line per finding even on a terminal (the format used when stdout
    /// is not a terminal), for grep and awk.
    #[arg(long)]
    pub oneline: bool,

    /// On a terminal, show every finding instead of folding repeats (same
    /// cause, server, header and evidence shape) into one line.
    #[arg(long)]
    pub no_fold: bool,

    /// Serve Prometheus metrics on this address (e.g. 127.0.0.1:9477) while
    /// running.
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,

    /// Never show the progress bar (shown for -r when stderr is a terminal).
    #[arg(long)]
    pub no_progress: bool,

    /// A BPF filter expression, like tcpdump's (e.g. `tcp port 8080`).
    #[arg(trailing_var_arg = true, value_name = "FILTER")]
    pub filter: Vec<String>,
}

/// `wshs-sniff completions SHELL`.
#[derive(Debug, Parser)]
#[command(name = "wshs-sniff completions")]
pub struct CompletionsCli {
    /// bash, zsh, fish, elvish or powershell.
    pub shell: clap_complete::Shell,
}

/// `wshs-sniff explain CAUSE`.
#[derive(Debug, Parser)]
#[command(name = "wshs-sniff explain")]
pub struct ExplainCli {
    /// A cause code from the output (e.g. origin-rejected).
    pub cause: String,
}
