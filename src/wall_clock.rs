//! Wall time for the adapters, the journal and the admin API (the pure core never reads a clock:
//! time is passed in). Owns: the one reading of the system clock as milliseconds.

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
