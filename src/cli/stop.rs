//! A stop request by signal for the long-running commands (`record`, `watch`): they finish what
//! they are doing, clean up (the bundle's manifest, the terminal) and end.

use std::sync::atomic::{AtomicBool, Ordering};

/// Set by one of the signals given to [`catch`].
pub static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Each of `signals` sets [`STOP`] once: the handler resets itself, so a second one kills as usual.
pub fn catch(signals: &[libc::c_int]) {
    for &sig in signals {
        // SAFETY: a zeroed sigaction with a handler that only stores an atomic is valid;
        // SA_RESETHAND restores the default after the first delivery.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
            sa.sa_flags = libc::SA_RESETHAND;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Whether a stop was requested.
pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}
