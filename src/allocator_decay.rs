//! How soon the allocator hands freed memory back to the system, chosen by
//! how full the flow tables are.
//!
//! Handing freed pages back at once costs every later allocation page faults,
//! and handing them back on a timer costs the system calls and, on a busy
//! run, the TLB shootdowns they send to the other threads' cores: with the
//! 5 ms that keeps a flood's peak within the memory budget, 3 % of the CPU
//! time of a run over 10 000 connections and 7 % of a storm of handshakes
//! (BENCHMARKS.md, "The allocator's decay by the tables' load"). Floods are
//! what fills the flow tables, and freed pages are what a flood's churn
//! leaves behind, so the short decay holds while any worker's table is
//! loaded and a long one otherwise.
//!
//! The binary installs the allocator's setter (see `main.rs`); without it
//! (the library in tests, a build without jemalloc) nothing is asked.

use std::sync::Mutex;

/// The decay while a table is loaded, milliseconds: a flood of unfinished
/// heads peaked at 47-58 MiB of its 64 MiB budget with it, against 75-80
/// at 100 ms and 86-107 at 1 s.
pub const LOADED_MS: isize = 5;
/// The decay otherwise, milliseconds: the run's own churn (buffers of heads
/// read, attempts judged) is reused before it is handed back.
pub const RELAXED_MS: isize = 1000;

/// Sets the allocator's decay, in milliseconds.
pub type Setter = fn(isize);

struct State {
    setter: Option<Setter>,
    /// Workers whose tables are loaded now.
    loaded: usize,
}

static STATE: Mutex<State> = Mutex::new(State {
    setter: None,
    loaded: 0,
});

/// Let [`Load`] change the allocator's decay through `setter`, starting
/// relaxed.
pub fn install(setter: Setter) {
    let mut s = lock();
    s.setter = Some(setter);
    setter(if s.loaded > 0 { LOADED_MS } else { RELAXED_MS });
}

fn lock() -> std::sync::MutexGuard<'static, State> {
    // A thread that panicked holding it left a count and a setter, both
    // still whole.
    STATE.lock().unwrap_or_else(|e| e.into_inner())
}

/// One worker's say in the decay: the decay is short while any worker's is
/// loaded. Changes are rare (a table filling or emptying), so each takes the
/// lock; between them a note is one comparison.
#[derive(Debug, Default)]
pub struct Load {
    loaded: bool,
}

impl Load {
    pub fn is_loaded(&self) -> bool {
        self.loaded
    }

    /// This worker's table is `loaded` now.
    pub fn note(&mut self, loaded: bool) {
        if loaded == self.loaded {
            return;
        }
        self.loaded = loaded;
        let mut s = lock();
        let before = s.loaded;
        s.loaded = if loaded {
            before + 1
        } else {
            before.saturating_sub(1)
        };
        let ms = match (before, s.loaded) {
            (0, 1) => LOADED_MS,
            (1, 0) => RELAXED_MS,
            _ => return,
        };
        if let Some(set) = s.setter {
            set(ms);
        }
    }
}

impl Drop for Load {
    /// A worker that ends (or panics) no longer holds the decay short.
    fn drop(&mut self) {
        self.note(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicIsize, Ordering};

    static LAST: AtomicIsize = AtomicIsize::new(0);
    static CALLS: AtomicIsize = AtomicIsize::new(0);

    fn record(ms: isize) {
        LAST.store(ms, Ordering::SeqCst);
        CALLS.fetch_add(1, Ordering::SeqCst);
    }

    /// The only test that touches the process-wide state.
    #[test]
    fn the_decay_is_short_while_any_worker_is_loaded() {
        install(record);
        assert_eq!(LAST.load(Ordering::SeqCst), RELAXED_MS);
        let (mut a, mut b) = (Load::default(), Load::default());
        a.note(true);
        assert_eq!(LAST.load(Ordering::SeqCst), LOADED_MS);
        b.note(true);
        a.note(false);
        assert_eq!(LAST.load(Ordering::SeqCst), LOADED_MS, "b is still loaded");
        let calls = CALLS.load(Ordering::SeqCst);
        b.note(true);
        assert_eq!(CALLS.load(Ordering::SeqCst), calls, "no change, no call");
        drop(b);
        assert_eq!(
            LAST.load(Ordering::SeqCst),
            RELAXED_MS,
            "the last one let go"
        );
        a.note(true);
        assert_eq!(LAST.load(Ordering::SeqCst), LOADED_MS);
        drop(a);
        assert_eq!(LAST.load(Ordering::SeqCst), RELAXED_MS);
        assert_eq!(lock().loaded, 0);
    }
}
