//! Summaries of measured samples for the benchmarks and the torture report.

/// The nearest-rank `p`th percentile of `sorted` (ascending); 0 for no samples.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}
