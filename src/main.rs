//! `wshs-sniff`: parse the command line into a plan, run it, and turn the
//! result into an exit status. Errors are one line on stderr; a closed stdout
//! ends quietly.

use std::process::ExitCode;

use wshs_sniff::cli::{Plan, Terminal};
use wshs_sniff::error::{self, Error};

/// jemalloc, not glibc's malloc: attempts are built on a flow worker and
/// freed on the reporter's threads, and glibc pays for every such free with
/// the owning arena's lock. On a storm of handshakes about half of the
/// judge's time went to malloc and free (BENCHMARKS.md).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read once when it starts (the variable
/// `_RJEM_MALLOC_CONF` still overrides them). Freed pages go back to the
/// system after a second, and after 5 ms while a flow table is loaded
/// (`allocator_decay`, set through `set_decay`), instead of jemalloc's
/// default ten seconds, with which a flood of unfinished heads kept twice
/// the memory budget resident; returning them at once instead made every
/// large buffer a worker allocates fault its pages in again (a third more
/// CPU time on handshakes with large cookies). At 10 ms the flood's peak
/// varied from 48 to 58 MiB with how the frees fell against the decay's
/// ticks; at 5 ms from 47 to 52 MiB (median 48), at the same speed within
/// the host's noise (BENCHMARKS.md, "Memory under floods").
///
/// One arena for all threads instead of one per thread: each arena set up
/// costs its own mappings and page faults (a fifth of the start-up time of
/// a run over an empty capture), and spreads the same frees over more
/// partly used pages (a storm of 100 000 handshakes peaked at 48 MiB, 42
/// MiB with one). The threads' caches still take nearly every allocation
/// without the arena's lock; CPU time came out level on the large captures
/// and lower on the small ones and the storm (BENCHMARKS.md, "A second
/// generator, one allocator arena, searchers built off the worker").
#[cfg(feature = "jemalloc")]
#[export_name = "_rjem_malloc_conf"]
pub static MALLOC_CONF: &u8 = &b"narenas:1,dirty_decay_ms:1000,muzzy_decay_ms:0\0"[0];

fn main() -> ExitCode {
    // A bug ends in one line naming the thread (written where the thread is
    // joined), not a backtrace on an operator's screen.
    std::panic::set_hook(Box::new(error::note_panic));
    // Capture files are mapped only under this guard: a file cut short while
    // mapped is then damage to report, not a crash. Installed here, before
    // any thread starts; without it files are read instead.
    wshs_sniff::capture::mapped::install_guard();
    #[cfg(feature = "jemalloc")]
    wshs_sniff::allocator_decay::install(set_decay);
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
            wshs_sniff::notice::note(format_args!("{e}"));
            ExitCode::from(e.exit_code())
        }
    }
}

/// Set jemalloc's dirty-page decay, in milliseconds, for every arena made
/// so far and for those made later (the one for huge allocations is made on
/// first use). Made short, the pages freed under the long one go back at
/// once. A failure leaves the decay as it was: only memory use depends on
/// it.
#[cfg(feature = "jemalloc")]
fn set_decay(ms: isize) {
    let mut arenas: u32 = 0;
    let mut len = std::mem::size_of::<u32>();
    // SAFETY: a NUL-terminated mallctl name whose value is an `unsigned`,
    // read into `arenas` with its size in `len`.
    let rc = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arenas.narenas".as_ptr(),
            (&mut arenas as *mut u32).cast(),
            &mut len,
            std::ptr::null_mut(),
            0,
        )
    };
    if rc != 0 {
        arenas = 0;
    }
    let shorter = ms == wshs_sniff::allocator_decay::LOADED_MS;
    for i in 0..arenas {
        write(&format!("arena.{i}.dirty_decay_ms"), Some(ms));
        if shorter {
            write(&format!("arena.{i}.purge"), None);
        }
    }
    write("arenas.dirty_decay_ms", Some(ms));
}

/// Write a `ssize_t` to the mallctl `name`, or with `None` call it without a
/// value (a purge); nothing is read back, and a failure changes nothing.
#[cfg(feature = "jemalloc")]
fn write(name: &str, value: Option<isize>) {
    let Ok(name) = std::ffi::CString::new(name) else {
        return;
    };
    let mut value = value;
    let (new, len) = match value.as_mut() {
        Some(v) => ((v as *mut isize).cast(), std::mem::size_of::<isize>()),
        None => (std::ptr::null_mut(), 0),
    };
    // SAFETY: a NUL-terminated mallctl name, and either no value or a
    // `ssize_t` that lives across the call.
    unsafe {
        tikv_jemalloc_sys::mallctl(
            name.as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            new,
            len,
        );
    }
}
