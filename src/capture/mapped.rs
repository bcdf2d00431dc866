//! Windows of a capture file mapped into memory, so packets are read where the
//! page cache holds them instead of being copied out by `read(2)`: on a big
//! capture that copy is the largest single cost of reading.
//!
//! Only a window of a few MiB is mapped at a time and each is unmapped as soon
//! as the pipeline lets go of it, so resident memory does not grow with the
//! file. A mapped file that shrinks under the reader (another program truncates
//! it) would make the next access to a vanished page raise `SIGBUS` and kill
//! the process; a handler catches exactly those faults, puts a page of zeros
//! where the file's page was and counts the event, and the reader reports the
//! file as cut short at that point. Faults anywhere else go to the handler
//! that was there before (Rust's own, or the default action).
//!
//! A process-wide signal handler is the program's business, not a library's:
//! the binary installs it ([`install_guard`]) before it reads anything, and
//! without it files are read instead of mapped.

use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};

/// Windows that can be guarded at once. A reader's windows live as long as
/// the batches that reference them (a few), and files are read one at a
/// time; when all slots are taken a reader reads instead of mapping.
const SLOTS: usize = 4096;

/// Start address and length of each live window (0 = free slot). Written by
/// the threads that map and unmap, read by the signal handler.
static STARTS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
static LENS: [AtomicUsize; SLOTS] = [const { AtomicUsize::new(0) }; SLOTS];
/// The reader each window belongs to.
static OWNERS: [AtomicU64; SLOTS] = [const { AtomicU64::new(0) }; SLOTS];
/// One bit per reader (by owner number, modulo the bits there are): set when
/// one of its windows lost a page.
static SHRUNK: [AtomicU64; 1024] = [const { AtomicU64::new(0) }; 1024];
static NEXT_OWNER: AtomicU64 = AtomicU64::new(0);

static INSTALL: Once = Once::new();
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// The disposition the guard replaced, for faults that are not ours. Set once,
/// before the guard is installed; the handler only reads it.
static PREVIOUS: OnceLock<libc::sigaction> = OnceLock::new();

/// The page size, read when the guard is installed (the handler itself must
/// not call into libc beyond async-signal-safe calls).
static PAGE: AtomicUsize = AtomicUsize::new(0);

fn page_size() -> usize {
    match PAGE.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: sysconf has no preconditions.
            let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
            let p = if p > 0 { p as usize } else { 4096 };
            PAGE.store(p, Ordering::Relaxed);
            p
        }
        p => p,
    }
}

/// A number for a reader's windows, to tell which file shrank.
pub fn new_owner() -> u64 {
    NEXT_OWNER.fetch_add(1, Ordering::Relaxed)
}

fn shrunk_bit(owner: u64) -> (&'static AtomicU64, u64) {
    (
        &SHRUNK[(owner / 64) as usize % SHRUNK.len()],
        1 << (owner % 64),
    )
}

/// Whether a window of this reader's file lost a page: the file was cut
/// short after it was mapped.
pub fn shrank(owner: u64) -> bool {
    let (word, bit) = shrunk_bit(owner);
    word.load(Ordering::SeqCst) & bit != 0
}

/// The `SIGBUS` handler. Async-signal-safe: atomics, and system calls only
/// (`mmap`, a plain system call on Linux, and `sigaction`).
extern "C" fn on_sigbus(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    // SAFETY: the kernel passes a valid siginfo for SA_SIGINFO handlers.
    let addr = unsafe { (*info).si_addr() } as usize;
    let page = PAGE.load(Ordering::Relaxed);
    for (k, (start, len)) in STARTS.iter().zip(LENS.iter()).enumerate() {
        let s = start.load(Ordering::SeqCst);
        let l = len.load(Ordering::SeqCst);
        if page != 0 && s != 0 && addr >= s && addr - s < l {
            let at = addr & !(page - 1);
            // SAFETY: the page lies inside a window this module mapped and
            // still owns; replacing it with an anonymous zero page keeps the
            // address range valid until the window's owner unmaps it.
            let r = unsafe {
                libc::mmap(
                    at as *mut libc::c_void,
                    page,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if r != libc::MAP_FAILED {
                let (word, bit) = shrunk_bit(OWNERS[k].load(Ordering::SeqCst));
                word.fetch_or(bit, Ordering::SeqCst);
                return;
            }
            break;
        }
    }
    pass_on(sig, info, ctx);
}

/// A fault that is not ours goes where it would have gone without the guard.
fn pass_on(sig: libc::c_int, info: *mut libc::siginfo_t, ctx: *mut libc::c_void) {
    let previous = PREVIOUS.get();
    match previous.map(|p| (p.sa_sigaction, p.sa_flags)) {
        Some((h, flags)) if h != libc::SIG_DFL && h != libc::SIG_IGN => {
            if flags & libc::SA_SIGINFO != 0 {
                // SAFETY: with SA_SIGINFO the previous handler has this
                // signature; it was installed for this very signal.
                let f: extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void) =
                    unsafe { std::mem::transmute(h) };
                f(sig, info, ctx);
            } else {
                // SAFETY: as above, the one-argument form.
                let f: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(h) };
                f(sig);
            }
        }
        // The default action (a fault cannot be ignored): restored, so the
        // faulting access, retried on return, ends the process as it would
        // have without the guard.
        _ => {
            // SAFETY: a zeroed sigaction is SIG_DFL with an empty mask;
            // sigaction is async-signal-safe.
            unsafe {
                let mut dfl: libc::sigaction = std::mem::zeroed();
                dfl.sa_sigaction = libc::SIG_DFL;
                libc::sigaction(libc::SIGBUS, &dfl, std::ptr::null_mut());
            }
        }
    }
}

/// Install the `SIGBUS` guard that lets capture files be mapped (see the
/// module doc). The binary calls this once, before it reads any file; faults
/// outside the mapped windows still reach the handler installed before.
/// Returns whether the guard is in place.
pub fn install_guard() -> bool {
    INSTALL.call_once(|| {
        page_size();
        // SAFETY: reading the current disposition into a zeroed sigaction;
        // then a handler with SA_SIGINFO that only uses async-signal-safe
        // calls and atomics.
        unsafe {
            let mut old: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(libc::SIGBUS, std::ptr::null(), &mut old) != 0 {
                return;
            }
            let _ = PREVIOUS.set(old);
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_sigbus as *const () as usize;
            // SA_ONSTACK: Rust's own handler (for stack overflows) may be the
            // one passed on to, and runs on the alternate stack.
            sa.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
            libc::sigemptyset(&mut sa.sa_mask);
            let ok = libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut()) == 0;
            INSTALLED.store(ok, Ordering::SeqCst);
        }
    });
    INSTALLED.load(Ordering::SeqCst)
}

/// Whether the guard is in place, so files may be mapped.
pub fn guarded() -> bool {
    INSTALLED.load(Ordering::SeqCst)
}

#[cfg(test)]
thread_local! {
    /// Tests make mapping fail after this many more windows on their thread,
    /// to exercise the reader's fall-back to `read(2)`.
    pub static FAIL_MAPS_AFTER: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// One mapped, read-only window of a file.
pub struct Window {
    ptr: *mut libc::c_void,
    len: usize,
    slot: usize,
}

// SAFETY: the window is read-only memory owned by this value; sharing and
// sending it between threads is like sharing a `Box<[u8]>`.
unsafe impl Send for Window {}
unsafe impl Sync for Window {}

impl Window {
    /// Map `len` bytes of `file` from `offset` (a multiple of `page()`).
    /// `None` when the window cannot be mapped or guarded; the caller then
    /// reads instead. Pages are mapped on first touch, not up front
    /// (`MAP_POPULATE`): the kernel maps a run of cached pages per fault, which
    /// measured 10-20 % less CPU time on a 1 GiB capture than populating.
    pub fn map(file: &std::fs::File, owner: u64, offset: u64, len: usize) -> Option<Window> {
        if len == 0 || !INSTALLED.load(Ordering::SeqCst) {
            return None;
        }
        #[cfg(test)]
        if FAIL_MAPS_AFTER.with(|c| match c.get() {
            Some(0) => true,
            Some(n) => {
                c.set(Some(n - 1));
                false
            }
            None => false,
        }) {
            return None;
        }
        let slot = STARTS.iter().position(|s| {
            s.compare_exchange(0, usize::MAX, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
        })?;
        let off = libc::off_t::try_from(offset).ok();
        let ptr = off.map_or(libc::MAP_FAILED, |off| {
            // SAFETY: a fresh read-only private mapping of an open file; the
            // kernel picks the address.
            unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE,
                    file.as_raw_fd(),
                    off,
                )
            }
        });
        if ptr == libc::MAP_FAILED {
            STARTS[slot].store(0, Ordering::SeqCst);
            return None;
        }
        OWNERS[slot].store(owner, Ordering::SeqCst);
        LENS[slot].store(len, Ordering::SeqCst);
        STARTS[slot].store(ptr as usize, Ordering::SeqCst);
        Some(Window { ptr, len, slot })
    }

    pub fn page() -> usize {
        page_size()
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` is a live mapping of `len` readable bytes until drop;
        // pages the file lost are replaced by zeros (see the module doc).
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for Window {
    fn drop(&mut self) {
        // Unregister first, so the handler never repairs an address that may
        // be reused by another mapping.
        STARTS[self.slot].store(usize::MAX, Ordering::SeqCst);
        LENS[self.slot].store(0, Ordering::SeqCst);
        // SAFETY: unmapping exactly the mapping this value created.
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
        STARTS[self.slot].store(0, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_window_shows_the_file_and_a_truncated_page_reads_as_zeros() {
        assert!(install_guard());
        let dir = std::env::temp_dir().join(format!("wshs-mapped-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.bin");
        let page = Window::page();
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(&vec![7u8; page * 4]).unwrap();
        drop(f);
        let file = std::fs::File::open(&path).unwrap();
        let owner = new_owner();
        let w = Window::map(&file, owner, page as u64, page * 3).unwrap();
        assert_eq!(w.as_slice().len(), page * 3);
        assert!(w.as_slice().iter().all(|b| *b == 7));
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(page as u64 * 2)
            .unwrap();
        // The last two pages of the window are gone from the file: reading
        // them faults, and the handler puts zeros there instead of a crash.
        let last = w.as_slice()[page * 3 - 1];
        assert_eq!(last, 0);
        assert!(shrank(owner));
        assert!(!shrank(new_owner()));
        assert_eq!(w.as_slice()[0], 7);
        drop(w);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
