//! Waiting on conditions with deadlines: the only way tests wait. No sleep-and-hope.

use std::time::{Duration, Instant};

/// Polls `probe` every `every` until it returns `Some`, or panics after `deadline` with `what`
/// and the last value the probe saw described by `probe`'s `None`.
pub fn wait_for<T>(what: &str, deadline: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    let every = Duration::from_millis(20);
    loop {
        if let Some(v) = probe() {
            return v;
        }
        if start.elapsed() > deadline {
            panic!("timed out after {deadline:?} waiting for {what}");
        }
        std::thread::sleep(every);
    }
}

/// Like [`wait_for`] for a boolean condition.
pub fn wait_until(what: &str, deadline: Duration, mut cond: impl FnMut() -> bool) {
    wait_for(what, deadline, || cond().then_some(()))
}
