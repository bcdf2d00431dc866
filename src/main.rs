//! `wshs-sniff`: parse the command line into a plan, run it, and turn the
//! result into an exit status. Errors are one line on stderr; a closed stdout
//! ends quietly.

use std::process::ExitCode;

use wshs_sniff::cli::{Plan, Terminal};
use wshs_sniff::error::{self, Error};

fn main() -> ExitCode {
    // A bug ends in one line naming the thread (written where the thread is
    // joined), not a backtrace on an operator's screen.
    std::panic::set_hook(Box::new(error::note_panic));
    let result = Plan::from_args(std::env::args_os(), Terminal::of_process())
        .map_err(Error::from)
        .and_then(|plan| {
            std::panic::catch_unwind(|| wshs_sniff::run::run(&plan))
                .unwrap_or_else(|p| Err(error::panicked("main", p.as_ref())))
        });
    match result {
        Ok(status) => ExitCode::from(status),
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wshs-sniff: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
