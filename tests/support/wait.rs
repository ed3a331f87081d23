//! Waiting on conditions with deadlines: the only way tests wait. No sleep-and-hope.

use std::time::{Duration, Instant};

/// Polls `probe` every `every` until it returns `Some`, or panics after `deadline` with `what`
/// and the last value the probe saw described by `probe`'s `None`.
pub fn wait_for<T>(what: &str, deadline: Duration, probe: impl FnMut() -> Option<T>) -> T {
    poll_until(deadline, probe).unwrap_or_else(|| panic!("timed out after {deadline:?} waiting for {what}"))
}

/// Polls `probe` every 20 ms until it returns `Some`, or `None` once `deadline` has passed (for
/// measurements, where running out of time is a result, not a failure).
pub fn poll_until<T>(deadline: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let start = Instant::now();
    loop {
        if let Some(v) = probe() {
            return Some(v);
        }
        if start.elapsed() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Like [`wait_for`] for a boolean condition.
pub fn wait_until(what: &str, deadline: Duration, mut cond: impl FnMut() -> bool) {
    wait_for(what, deadline, || cond().then_some(()))
}
