//! One-line notices for the operator on stderr (`wshs-sniff: ...`).
//!
//! Written, not printed: `eprintln!` panics when stderr cannot be written (a
//! full disk, a pipe whose reader is gone), which would turn a finished run,
//! or the error that ended it, into a panic with its own exit status. A
//! notice that cannot be written is dropped: the findings are on stdout, and
//! the exit status still says how the run ended.

use std::fmt;
use std::io::Write;

/// Write `wshs-sniff: {what}` and a newline to stderr, whatever stderr is.
pub fn note(what: fmt::Arguments<'_>) {
    note_to(&mut std::io::stderr().lock(), what);
}

fn note_to(out: &mut impl Write, what: fmt::Arguments<'_>) {
    // One write of the whole line, so lines from two threads do not mix.
    let line = format!("wshs-sniff: {what}\n");
    let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Full;

    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::StorageFull.into())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Err(std::io::ErrorKind::StorageFull.into())
        }
    }

    #[test]
    fn a_notice_is_one_prefixed_line() {
        let mut out = Vec::new();
        note_to(&mut out, format_args!("wrote {} packets", 3));
        assert_eq!(out, b"wshs-sniff: wrote 3 packets\n");
    }

    #[test]
    fn a_notice_to_a_full_stderr_is_dropped_without_a_panic() {
        note_to(&mut Full, format_args!("capturing on {}", "lo"));
    }
}
