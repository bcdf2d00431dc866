//! The command line: its definition (clap, so completions and the man page
//! come from the same definition as `--help`), and the validated [`Plan`] it
//! turns into. Every check of the user's values happens in
//! [`Plan::from_cli`]; `main` only runs the plan.

use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::capture::live::LiveOptions;
use crate::capture::{or_fragments, BpfFilter, FilterError};
use crate::classify::Cause;
use crate::http::HttpLimits;
use crate::pipeline::{self, Config};
use crate::reassembly::Limits;
use crate::report::Format;

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
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Explains failed WebSocket handshakes from packet captures: finds every
/// upgrade attempt, pairs it with the server's answer and names the header that
/// caused each refusal, with the fix.
#[derive(Debug, Parser)]
#[command(
    name = "wshs-sniff",
    version = concat!(env!("CARGO_PKG_VERSION"), " (JSON contract ", "1.2", ")"),
    after_help = EXAMPLES,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

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

    /// Show Cookie and Authorization values and query-string credentials, and
    /// keep them in the packets --write-rejected and --annotate write.
    #[arg(long)]
    pub no_redact: bool,

    /// Decrypt TLS with this NSS key log (SSLKEYLOGFILE); keys in a pcapng
    /// Decryption Secrets Block are used without it.
    #[arg(long, value_name = "FILE")]
    pub tls_keylog: Option<String>,

    /// Stop after this many upgrade attempts.
    #[arg(short = 'c', long = "count", value_name = "COUNT")]
    pub count: Option<u64>,

    /// Live: stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    pub duration: Option<f64>,

    /// Live: snap length in bytes (whole heads need large values) [default:
    /// 262144].
    #[arg(short = 's', long = "snaplen")]
    pub snaplen: Option<i32>,

    /// Live: kernel capture buffer size in KiB [default: 32768]. Larger than
    /// libpcap's 2 MiB, which a burst at line rate fills in a few milliseconds.
    #[arg(short = 'B', long = "buffer-size", value_name = "KIB")]
    pub buffer_size: Option<i32>,

    /// Live: do not put the interface in promiscuous mode.
    #[arg(short = 'p', long = "no-promiscuous-mode")]
    pub no_promisc: bool,

    /// Live: save the captured packets to this pcap file.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<String>,

    /// Save only the packets of connections that held an attempt that was not
    /// accepted: a small capture of just the failures (pcap; pcapng with the
    /// diagnosis as packet comments when FILE ends in .pcapng). Secrets are
    /// masked in the packets at the same length unless --no-redact.
    #[arg(long = "write-rejected", value_name = "FILE")]
    pub write_rejected: Option<String>,

    /// Copy the whole input to this pcapng file with the diagnosis of each
    /// reported attempt as a comment on its request and response packets
    /// (Wireshark shows them; `frame.comment` filters them). Secrets are
    /// masked in the packets at the same length unless --no-redact.
    #[arg(long = "annotate", value_name = "FILE.pcapng")]
    pub annotate: Option<String>,

    /// Write a self-contained HTML incident report: a timeline per outcome and
    /// cause, tables per cause, server and client network, each distinct
    /// finding, the capture's health.
    #[arg(long = "report", value_name = "FILE.html")]
    pub report: Option<String>,

    /// Drop root privileges to this user once the capture or the files are
    /// open.
    #[arg(short = 'Z', long = "relinquish-privileges", value_name = "USER")]
    pub user: Option<String>,

    /// Flow workers (default: one per core besides the capture thread's).
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,

    /// Connections tracked at once; the idlest are evicted past this. The
    /// table's memory is sized for this many connections that have not
    /// sent a byte yet (about 330 bytes each); connections whose HTTP state
    /// is built cost about twice that, so fewer of them are kept.
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
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Colour the text output: auto (when stdout is a terminal and NO_COLOR is
    /// unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,

    /// Also report accepted sessions that end abnormally (a close frame
    /// with an error code, a FIN or a reset without one, a proxy's idle
    /// timeout): records of kind session_end. Upgraded connections are then
    /// followed to their end, which costs reading their frames.
    #[arg(long)]
    pub sessions: bool,

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

/// What else the tool does besides analysing.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// What a cause means: the RFC rule, how it shows on the wire, the fix and
    /// the dead ends.
    Explain {
        /// A cause code from the output (e.g. origin-rejected).
        cause: String,
    },
    /// Print shell completions.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff).
    Man,
    /// Print the JSON Schema of the --json output.
    Schema,
}

/// Defaults of the live capture options.
const SNAPLEN: i32 = 262_144;

/// What a live capture asks the kernel for when no packet is written out:
/// TCP without its bare ACKs (no payload, no SYN, FIN or RST). Nothing the
/// analysis reads is in them, yet they are a quarter to a third of a busy
/// host's packets; filtered in the kernel they cost neither a copy nor a
/// flow lookup. IPv6 segments are all kept: libpcap reads TCP fields only
/// behind an IPv4 header. IPv4 fragments are all kept too: only the first
/// has a TCP header, and the length test, read from a later one, would take
/// its payload for one and could drop it. With `-w` or `--write-rejected`
/// every TCP packet is kept, so the saved conversations are whole.
pub const ANALYSED_TCP: &str = "tcp and (ip6 or ip[6:2] & 0x3fff != 0 or (tcp[tcpflags] & (tcp-syn|tcp-fin|tcp-rst)) != 0 or ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2) != 0)";
const BUFFER_KIB: i32 = 32 * 1024;

/// The lower bounds on user values, so any library caller gets the same.
const MIN_BUFFER: usize = 1024;
const MIN_HEAD: usize = 1024;

/// A command line that cannot be run. Each is one line for the user; all
/// end with exit status 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    #[error("{0} (see --help)")]
    Syntax(String),
    #[error("nothing to read: give -r FILE or -i IFACE (see --help)")]
    NothingToRead,
    #[error("{option} is for live capture; it needs -i IFACE")]
    LiveOnly { option: &'static str },
    #[error("{option} reads the input twice; it cannot with stdin (-r -)")]
    RereadFromStdin { option: &'static str },
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error("unknown cause '{given}'; known: {known}")]
    UnknownCause { given: String, known: String },
}

/// What the terminal around the process is like: colour and the progress bar
/// depend on it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Terminal {
    pub stdout_is_tty: bool,
    pub stderr_is_tty: bool,
    /// `NO_COLOR` is set.
    pub no_color: bool,
}

impl Terminal {
    pub fn of_process() -> Terminal {
        use std::io::IsTerminal;
        Terminal {
            stdout_is_tty: std::io::stdout().is_terminal(),
            stderr_is_tty: std::io::stderr().is_terminal(),
            no_color: std::env::var_os("NO_COLOR").is_some(),
        }
    }
}

/// Where the packets come from.
#[derive(Debug, Clone)]
pub enum Input {
    /// `-r` arguments (files, directories, globs, `-`), as given.
    Files(Vec<String>),
    Live {
        options: LiveOptions,
        /// `-w`: save every packet here.
        write: Option<String>,
    },
}

/// How attempts are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    pub format: Format,
    pub color: bool,
    /// Accepted attempts too.
    pub all: bool,
    pub redact: bool,
    /// Text as blocks for a reader at a terminal, not one line per finding.
    pub blocks: bool,
    /// Blocks fold repeats of one finding into one line.
    pub fold: bool,
}

/// An analysis to run, every value checked.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub input: Input,
    pub config: Config,
    pub output: Output,
    /// Stop after this many attempts.
    pub count: Option<u64>,
    pub fail_on_rejected: bool,
    pub write_rejected: Option<String>,
    /// `--annotate`: the whole input as pcapng with the diagnosis as comments.
    pub annotate: Option<String>,
    /// `--report`: the HTML incident report.
    pub report: Option<String>,
    pub metrics_addr: Option<String>,
    /// Draw the progress bar.
    pub progress: bool,
    /// Drop root to this user once the input is open.
    pub user: Option<String>,
    /// `--tls-keylog`: the NSS key log to decrypt TLS with (read when the
    /// run starts, beside the secrets the input files carry).
    pub tls_keylog: Option<String>,
}

/// What a command line asks for.
#[derive(Debug, Clone)]
pub enum Plan {
    Analyze(Box<Analysis>),
    /// `--help`, `--version`: text for stdout.
    Print(String),
    ListInterfaces,
    Explain(Cause),
    Completions(clap_complete::Shell),
    Man,
    Schema,
}

impl Plan {
    /// Parse and validate `args` (the program name first).
    pub fn from_args<I, T>(args: I, term: Terminal) -> Result<Plan, UsageError>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        use clap::error::ErrorKind;
        match Cli::try_parse_from(args) {
            Ok(cli) => Plan::from_cli(cli, term),
            Err(e) if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) => {
                Ok(Plan::Print(e.render().to_string()))
            }
            Err(e) => {
                let msg = e.to_string();
                let first = msg.lines().next().unwrap_or("bad usage");
                Err(UsageError::Syntax(
                    first.trim_start_matches("error: ").to_string(),
                ))
            }
        }
    }

    pub fn from_cli(cli: Cli, term: Terminal) -> Result<Plan, UsageError> {
        match cli.command {
            Some(Command::Explain { cause }) => {
                return Cause::from_code(&cause).map(Plan::Explain).ok_or_else(|| {
                    UsageError::UnknownCause {
                        given: cause,
                        known: Cause::ALL
                            .iter()
                            .map(|c| c.code())
                            .collect::<Vec<_>>()
                            .join(", "),
                    }
                })
            }
            Some(Command::Completions { shell }) => return Ok(Plan::Completions(shell)),
            Some(Command::Man) => return Ok(Plan::Man),
            Some(Command::Schema) => return Ok(Plan::Schema),
            None => {}
        }
        if cli.list_interfaces {
            return Ok(Plan::ListInterfaces);
        }
        let filter = (!cli.filter.is_empty()).then(|| cli.filter.join(" "));
        if let Some(f) = &filter {
            BpfFilter::new(f)?;
        }
        let input = match &cli.interface {
            Some(iface) => Input::Live {
                options: LiveOptions {
                    interface: iface.clone(),
                    filter: {
                        let base = if cli.write.is_some() || cli.write_rejected.is_some() {
                            "tcp"
                        } else {
                            ANALYSED_TCP
                        };
                        match &filter {
                            Some(f) => format!("{base} and ({})", or_fragments(f)),
                            None => base.to_string(),
                        }
                    },
                    snaplen: cli.snaplen.unwrap_or(SNAPLEN),
                    buffer_size: Some(
                        cli.buffer_size
                            .unwrap_or(BUFFER_KIB)
                            .max(1)
                            .saturating_mul(1024),
                    ),
                    promisc: !cli.no_promisc,
                    duration: cli.duration.map(Duration::from_secs_f64),
                },
                write: cli.write.clone(),
            },
            None => {
                if cli.read.is_empty() {
                    return Err(UsageError::NothingToRead);
                }
                let live_only = [
                    (cli.write.is_some(), "-w"),
                    (cli.duration.is_some(), "--duration"),
                    (cli.snaplen.is_some(), "-s/--snaplen"),
                    (cli.buffer_size.is_some(), "-B/--buffer-size"),
                    (cli.no_promisc, "-p/--no-promiscuous-mode"),
                ];
                if let Some((_, option)) = live_only.iter().find(|(given, _)| *given) {
                    return Err(UsageError::LiveOnly { option });
                }
                let rereads = [
                    (cli.write_rejected.is_some(), "--write-rejected"),
                    (cli.annotate.is_some(), "--annotate"),
                ];
                if cli.read.iter().any(|r| r == "-") {
                    if let Some((_, option)) = rereads.iter().find(|(given, _)| *given) {
                        return Err(UsageError::RereadFromStdin { option });
                    }
                }
                Input::Files(cli.read.clone())
            }
        };
        let live = matches!(input, Input::Live { .. });
        let format = if cli.json { Format::Json } else { cli.format };
        let color = match cli.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => term.stdout_is_tty && !term.no_color,
        };
        let config = Config {
            limits: Limits {
                max_buffer_per_direction: cli.max_buffer.max(MIN_BUFFER),
                max_flows: cli.max_flows.max(1),
                idle_timeout_secs: cli.idle_timeout.max(1),
                ..Limits::default()
            },
            http: HttpLimits {
                max_head: cli.max_head.max(MIN_HEAD),
                sessions: cli.sessions,
                ..Default::default()
            },
            workers: cli.workers.unwrap_or_else(pipeline::default_workers).max(1),
            // Live capture compiles the filter into the kernel's; datagrams
            // rebuilt from fragments it let through are checked here.
            datagram_filter: if live { filter.clone() } else { None },
            filter: if live { None } else { filter },
            ..Config::default()
        };
        Ok(Plan::Analyze(Box::new(Analysis {
            input,
            config,
            output: Output {
                format,
                color,
                all: cli.all,
                redact: !cli.no_redact,
                blocks: format == Format::Text && !cli.oneline && term.stdout_is_tty,
                fold: !cli.no_fold,
            },
            count: cli.count,
            fail_on_rejected: cli.fail_on_rejected,
            write_rejected: cli.write_rejected,
            annotate: cli.annotate,
            report: cli.report,
            metrics_addr: cli.metrics_addr,
            progress: !live && !cli.no_progress && term.stderr_is_tty,
            user: cli.user,
            tls_keylog: cli.tls_keylog,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::FRAGMENTS;

    fn plan(args: &[&str]) -> Result<Plan, UsageError> {
        Plan::from_args(
            std::iter::once("wshs-sniff").chain(args.iter().copied()),
            Terminal::default(),
        )
    }

    fn analysis(args: &[&str]) -> Analysis {
        match plan(args) {
            Ok(Plan::Analyze(a)) => *a,
            other => panic!("{args:?}: {other:?}"),
        }
    }

    #[test]
    fn json_is_short_for_format_json() {
        assert_eq!(
            analysis(&["-r", "x.pcap", "--json"]).output.format,
            Format::Json
        );
        assert_eq!(
            analysis(&["-r", "x.pcap", "--format", "ecs"]).output.format,
            Format::Ecs
        );
        assert_eq!(analysis(&["-r", "x.pcap"]).output.format, Format::Text);
    }

    #[test]
    fn colour_follows_the_terminal_unless_told() {
        let tty = Terminal {
            stdout_is_tty: true,
            ..Terminal::default()
        };
        let color = |args: &[&str], term| match Plan::from_args(
            std::iter::once("wshs-sniff").chain(args.iter().copied()),
            term,
        ) {
            Ok(Plan::Analyze(a)) => a.output.color,
            other => panic!("{other:?}"),
        };
        assert!(color(&["-r", "x"], tty));
        assert!(!color(&["-r", "x"], Terminal::default()));
        let no_color = Terminal {
            no_color: true,
            ..tty
        };
        assert!(!color(&["-r", "x"], no_color));
        assert!(color(&["-r", "x", "--color", "always"], no_color));
        assert!(!color(&["-r", "x", "--color", "never"], tty));
    }

    #[test]
    fn bounds_reach_the_configuration() {
        let a = analysis(&[
            "-r",
            "x",
            "--max-buffer",
            "1",
            "--max-head",
            "2",
            "--max-flows",
            "0",
            "--idle-timeout",
            "0",
            "--workers",
            "0",
        ]);
        assert_eq!(a.config.limits.max_buffer_per_direction, MIN_BUFFER);
        assert_eq!(a.config.http.max_head, MIN_HEAD);
        assert_eq!(a.config.limits.max_flows, 1);
        assert_eq!(a.config.limits.idle_timeout_secs, 1);
        assert_eq!(a.config.workers, 1);
    }

    #[test]
    fn the_key_log_is_named_in_the_plan_and_read_when_the_run_starts() {
        let a = analysis(&["-r", "x", "--tls-keylog", "keys.log"]);
        assert_eq!(a.tls_keylog.as_deref(), Some("keys.log"));
        assert!(a.config.http.tls_keys.is_none());
        assert!(analysis(&["-r", "x"]).tls_keylog.is_none());
    }

    #[test]
    fn the_filter_is_checked_and_kept_for_files() {
        let a = analysis(&["-r", "x", "tcp", "port", "80"]);
        assert_eq!(a.config.filter.as_deref(), Some("tcp port 80"));
        assert!(matches!(
            plan(&["-r", "x", "tcp", "port", "("]),
            Err(UsageError::Filter(_))
        ));
    }

    #[test]
    fn live_capture_puts_the_filter_in_the_kernel() {
        let a = analysis(&["-i", "lo", "port", "80"]);
        assert_eq!(a.config.filter, None);
        assert_eq!(a.config.datagram_filter.as_deref(), Some("port 80"));
        match a.input {
            Input::Live { options, write } => {
                assert_eq!(
                    options.filter,
                    format!("{ANALYSED_TCP} and ((port 80) or {FRAGMENTS})")
                );
                assert_eq!(options.snaplen, SNAPLEN);
                assert_eq!(options.buffer_size, Some(BUFFER_KIB * 1024));
                assert_eq!(write, None);
            }
            Input::Files(_) => panic!("live"),
        }
        assert!(!a.progress, "no progress bar for live capture");
    }

    #[test]
    fn live_capture_keeps_bare_acks_only_when_it_writes_packets() {
        let filter = |args: &[&str]| match analysis(args).input {
            Input::Live { options, .. } => options.filter,
            Input::Files(_) => panic!("live"),
        };
        assert_eq!(filter(&["-i", "lo"]), ANALYSED_TCP);
        assert_eq!(filter(&["-i", "lo", "-w", "all.pcap"]), "tcp");
        assert_eq!(
            filter(&["-i", "lo", "--write-rejected", "r.pcap", "port", "80"]),
            format!("tcp and ((port 80) or {FRAGMENTS})")
        );
        BpfFilter::new(ANALYSED_TCP).expect("the default live filter compiles");
    }

    #[test]
    fn live_only_options_with_files_are_usage_errors() {
        for opt in [
            &["-w", "out.pcap"][..],
            &["--duration", "3"],
            &["-s", "100"],
            &["-B", "1024"],
            &["-p"],
        ] {
            let mut args = vec!["-r", "x.pcap"];
            args.extend_from_slice(opt);
            assert!(
                matches!(plan(&args), Err(UsageError::LiveOnly { .. })),
                "{args:?}"
            );
        }
        // -Z drops root once the files are open, like tcpdump.
        assert_eq!(
            analysis(&["-r", "x.pcap", "-Z", "nobody"]).user.as_deref(),
            Some("nobody")
        );
    }

    #[test]
    fn conflicting_and_missing_inputs() {
        assert_eq!(plan(&[]).err(), Some(UsageError::NothingToRead));
        assert!(matches!(
            plan(&["-r", "x", "-i", "lo"]),
            Err(UsageError::Syntax(_))
        ));
        assert_eq!(
            plan(&["-r", "-", "--write-rejected", "o.pcap"]).err(),
            Some(UsageError::RereadFromStdin {
                option: "--write-rejected"
            })
        );
        assert_eq!(
            plan(&["-r", "-", "--annotate", "o.pcapng"]).err(),
            Some(UsageError::RereadFromStdin {
                option: "--annotate"
            })
        );
    }

    #[test]
    fn blocks_only_for_text_on_a_terminal() {
        let tty = Terminal {
            stdout_is_tty: true,
            ..Terminal::default()
        };
        let output = |args: &[&str], term| match Plan::from_args(
            std::iter::once("wshs-sniff").chain(args.iter().copied()),
            term,
        ) {
            Ok(Plan::Analyze(a)) => a.output,
            other => panic!("{other:?}"),
        };
        assert!(output(&["-r", "x"], tty).blocks);
        assert!(output(&["-r", "x"], tty).fold);
        assert!(!output(&["-r", "x", "--no-fold"], tty).fold);
        assert!(!output(&["-r", "x"], Terminal::default()).blocks);
        assert!(!output(&["-r", "x", "--oneline"], tty).blocks);
        assert!(!output(&["-r", "x", "--json"], tty).blocks);
    }

    #[test]
    fn subcommands() {
        assert!(matches!(
            plan(&["explain", "origin-rejected"]),
            Ok(Plan::Explain(Cause::OriginRejected))
        ));
        assert!(matches!(
            plan(&["explain", "nope"]),
            Err(UsageError::UnknownCause { .. })
        ));
        assert!(matches!(plan(&["man"]), Ok(Plan::Man)));
        assert!(matches!(plan(&["schema"]), Ok(Plan::Schema)));
        assert!(matches!(
            plan(&["completions", "bash"]),
            Ok(Plan::Completions(clap_complete::Shell::Bash))
        ));
        assert!(matches!(plan(&["-D"]), Ok(Plan::ListInterfaces)));
    }
}
