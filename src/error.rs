//! Why a run failed, typed up to `main`: one variant per stage that can fail,
//! each with its own error type carrying its facts. `Display` is the one line
//! a user reads; [`Error::exit_code`] is the status the contract promises.

use std::sync::Mutex;

use crate::capture::keylog_file::KeyLogError;
use crate::capture::live::{LiveError, PrivilegeError};
use crate::capture::{CaptureError, FilterError};
use crate::cli::UsageError;
use crate::report::metrics::MetricsError;
use crate::report::OutputError;

/// Exit status of a usage or input error (also: output and internal errors).
pub const EXIT_INPUT: u8 = 1;
/// Exit status of a capture that could not start or went on failing.
pub const EXIT_CAPTURE: u8 = 2;
/// Exit status with `--fail-on-rejected` when an attempt was rejected.
pub const EXIT_REJECTED: u8 = 3;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Usage(#[from] UsageError),
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error(transparent)]
    Live(#[from] LiveError),
    #[error(transparent)]
    Filter(#[from] FilterError),
    #[error(transparent)]
    KeyLog(#[from] KeyLogError),
    #[error(transparent)]
    Output(#[from] OutputError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    #[error(transparent)]
    Privileges(#[from] PrivilegeError),
    /// A bug: a thread of the analysis panicked. What it found before is
    /// still reported.
    #[error("internal error in the {thread} thread: {message} (please report it); the analysis is incomplete")]
    Panic { thread: String, message: String },
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Capture(e) => e.exit_code(),
            Error::Live(e) => e.exit_code(),
            Error::Privileges(_) => EXIT_CAPTURE,
            Error::Usage(_)
            | Error::Filter(_)
            | Error::KeyLog(_)
            | Error::Output(_)
            | Error::Metrics(_)
            | Error::Panic { .. } => EXIT_INPUT,
        }
    }

    /// The reader of our output went away (`| head`): their choice, not a
    /// failure, so the run ends quietly with status 0.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(e) if e.is_broken_pipe())
    }
}

/// The last panic's message and place, noted by the panic hook the binary
/// installs, so the thread that joins a panicked one can say what happened.
static LAST_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Note a panic's message (from a panic hook).
pub fn note_panic(info: &std::panic::PanicHookInfo<'_>) {
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
    if let Ok(mut last) = LAST_PANIC.lock() {
        *last = Some(format!("{msg}{at}"));
    }
}

/// The error for a thread that panicked, with the message its panic left.
pub fn panicked(thread: &str, payload: &(dyn std::any::Any + Send)) -> Error {
    let noted = LAST_PANIC.lock().ok().and_then(|mut l| l.take());
    let message = noted
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    Error::Panic {
        thread: thread.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_per_stage() {
        let io = || std::io::Error::other("x");
        let live = Error::Capture(CaptureError::Live {
            iface: "lo".into(),
            what: "gone".into(),
        });
        assert_eq!(live.exit_code(), EXIT_CAPTURE);
        let write = Error::Capture(CaptureError::Write {
            path: "a.pcap".into(),
            source: io(),
        });
        assert_eq!(write.exit_code(), EXIT_INPUT);
        assert_eq!(
            Error::Usage(UsageError::NothingToRead).exit_code(),
            EXIT_INPUT
        );
        let p = panicked("flow worker 1", &"boom");
        assert_eq!(p.exit_code(), EXIT_INPUT);
        assert!(p.to_string().contains("flow worker 1"), "{p}");
        let full = Error::Output(OutputError::Stdout(std::io::Error::from_raw_os_error(
            libc::ENOSPC,
        )));
        assert_eq!(full.exit_code(), EXIT_INPUT);
        assert!(!full.is_broken_pipe());
        let pipe = Error::Output(OutputError::Stdout(std::io::ErrorKind::BrokenPipe.into()));
        assert!(pipe.is_broken_pipe());
    }
}
