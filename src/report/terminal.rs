//! What the terminal on stdout is: its width. Kept apart so the renderer stays
//! pure (it takes a width) and the one `ioctl` lives in one place.

/// Width used when stdout is not a terminal and `COLUMNS` says nothing.
pub const DEFAULT_WIDTH: usize = 100;
/// Narrower than this and the blocks stop being readable; clamp.
pub const MIN_WIDTH: usize = 40;

/// Columns of the terminal on stdout, else `COLUMNS`, else [`DEFAULT_WIDTH`].
pub fn width() -> usize {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize into the struct we own; on a
    // descriptor that is not a terminal it fails and leaves it untouched.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    let cols = if ok && ws.ws_col > 0 {
        Some(usize::from(ws.ws_col))
    } else {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.trim().parse().ok())
    };
    cols.unwrap_or(DEFAULT_WIDTH).max(MIN_WIDTH)
}
