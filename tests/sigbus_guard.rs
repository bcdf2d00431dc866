//! The `SIGBUS` guard of mapped capture files, in a process of its own (a
//! signal disposition is process-wide): a fault in a mapped window whose file
//! shrank is repaired, and any other `SIGBUS` reaches the handler that was
//! installed before the guard.

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};

use wshs_sniff::capture::mapped::{self, Window};

static EARLIER_HANDLER_CALLS: AtomicUsize = AtomicUsize::new(0);

extern "C" fn earlier_handler(
    _sig: libc::c_int,
    _info: *mut libc::siginfo_t,
    _ctx: *mut libc::c_void,
) {
    EARLIER_HANDLER_CALLS.fetch_add(1, Ordering::SeqCst);
}

#[test]
fn faults_outside_mapped_windows_reach_the_earlier_handler() {
    // SAFETY: a handler that only touches an atomic, installed for SIGBUS.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = earlier_handler as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO;
        libc::sigemptyset(&mut sa.sa_mask);
        assert_eq!(libc::sigaction(libc::SIGBUS, &sa, std::ptr::null_mut()), 0);
    }
    assert!(mapped::install_guard());

    // A SIGBUS that is not a fault in a mapped window.
    // SAFETY: raising a signal whose handler returns.
    assert_eq!(unsafe { libc::raise(libc::SIGBUS) }, 0);
    assert_eq!(EARLIER_HANDLER_CALLS.load(Ordering::SeqCst), 1);

    // A fault in a window whose file shrank is the guard's own.
    let dir = std::env::temp_dir().join(format!("wshs-sigbus-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch");
    let path = dir.join("f.bin");
    let page = Window::page();
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(&vec![7u8; page * 3]))
        .expect("write");
    let file = std::fs::File::open(&path).expect("open");
    let owner = mapped::new_owner();
    let w = Window::map(&file, owner, 0, page * 3).expect("mapped under the guard");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(page as u64))
        .expect("truncate");
    assert_eq!(w.as_slice()[page * 3 - 1], 0, "a lost page reads as zeros");
    assert!(mapped::shrank(owner));
    assert_eq!(EARLIER_HANDLER_CALLS.load(Ordering::SeqCst), 1);
    drop(w);
    let _ = std::fs::remove_dir_all(&dir);
}
