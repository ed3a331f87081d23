//! Split-brain checker over simulated RMs' journals: proves from the accepted state-store writes
//! (ordered by ZooKeeper zxid, a total order) that no two RMs ever wrote in overlapping intervals,
//! and finds the wall-clock spans in which two RMs reported ACTIVE (all processes run on one
//! machine, so their timestamps share one clock).
//!
//! Owns: the definitions of "overlapping writes" and "double active". Must not: read processes
//! or files (callers pass the parsed journals).

use std::collections::HashSet;

use super::events::{SimEvent, SimEventKind};

/// A write interval: every write of one RM process in one activation term, by zxid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteInterval {
    pub rm: String,
    /// Which process of this RM (counted by its `Started` records): terms restart at 1 in a
    /// restarted process, so a term number alone does not name one activation.
    pub instance: u64,
    pub term: u64,
    pub first_zxid: i64,
    pub last_zxid: i64,
    pub writes: usize,
}

/// Two RMs wrote inside each other's interval.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("split brain: {a:?} and {b:?} overlap")]
pub struct Overlap {
    pub a: WriteInterval,
    pub b: WriteInterval,
}

/// The write intervals of all RMs, in zxid order.
pub fn write_intervals(events: &[SimEvent]) -> Vec<WriteInterval> {
    // Number each RM's processes by their `Started` records, in time order (a stable sort keeps
    // one process's records in the order it wrote them).
    let mut ordered: Vec<&SimEvent> = events.iter().collect();
    ordered.sort_by_key(|e| e.ts_ms);
    let mut instance: std::collections::HashMap<&str, u64> = Default::default();
    let mut writes: Vec<(i64, &str, u64, u64)> = Vec::new();
    for e in ordered {
        match e.kind {
            SimEventKind::Started { .. } => *instance.entry(e.rm.as_str()).or_default() += 1,
            SimEventKind::Write { term, zxid, .. } => {
                writes.push((zxid, e.rm.as_str(), instance.get(e.rm.as_str()).copied().unwrap_or(0), term))
            }
            _ => {}
        }
    }
    writes.sort();
    let mut out: Vec<WriteInterval> = Vec::new();
    for (zxid, rm, inst, term) in writes {
        if let Some(last) = out.iter_mut().find(|i| i.rm == rm && i.instance == inst && i.term == term) {
            last.first_zxid = last.first_zxid.min(zxid);
            last.last_zxid = last.last_zxid.max(zxid);
            last.writes += 1;
        } else {
            out.push(WriteInterval {
                rm: rm.to_string(),
                instance: inst,
                term,
                first_zxid: zxid,
                last_zxid: zxid,
                writes: 1,
            });
        }
    }
    out.sort_by_key(|i| i.first_zxid);
    out
}

/// Every pair of intervals of different RMs whose zxid ranges intersect. Empty means no split
/// brain ever reached the store.
pub fn overlapping_writes(events: &[SimEvent]) -> Vec<Overlap> {
    let intervals = write_intervals(events);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (i, a) in intervals.iter().enumerate() {
        for b in &intervals[i + 1..] {
            if b.first_zxid > a.last_zxid {
                break;
            }
            if a.rm != b.rm && seen.insert((a.rm.clone(), a.instance, a.term, b.rm.clone(), b.instance, b.term)) {
                out.push(Overlap { a: a.clone(), b: b.clone() });
            }
        }
    }
    out
}

/// A span of wall time `[start_ms, end_ms)`.
pub type Span = (u64, u64);

/// Sorted, merged, non-empty spans.
pub fn normalize(mut v: Vec<Span>) -> Vec<Span> {
    v.retain(|(a, b)| b > a);
    v.sort();
    let mut out: Vec<Span> = Vec::new();
    for (a, b) in v {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// Where two normalized span lists overlap.
pub fn intersect(a: &[Span], b: &[Span]) -> Vec<Span> {
    let mut out = Vec::new();
    for &(a0, a1) in a {
        for &(b0, b1) in b {
            let (s, e) = (a0.max(b0), a1.min(b1));
            if s < e {
                out.push((s, e));
            }
        }
    }
    normalize(out)
}

/// Per RM, the spans in which it reported ACTIVE: from a transition to active until the next
/// transition away, a restart of the process (`Started`), or `end_ms` if still active.
pub fn active_spans(events: &[SimEvent], end_ms: u64) -> std::collections::BTreeMap<String, Vec<Span>> {
    let mut by_rm: std::collections::BTreeMap<String, Vec<&SimEvent>> = Default::default();
    for e in events {
        by_rm.entry(e.rm.clone()).or_default().push(e);
    }
    by_rm
        .into_iter()
        .map(|(rm, mut evs)| {
            // Stable: one process's records keep their order.
            evs.sort_by_key(|e| e.ts_ms);
            let mut open: Option<u64> = None;
            let mut spans = Vec::new();
            for e in evs {
                match &e.kind {
                    SimEventKind::State { to, .. } if to == "active" => {
                        open.get_or_insert(e.ts_ms);
                    }
                    SimEventKind::State { .. } | SimEventKind::Started { .. } => {
                        if let Some(s) = open.take() {
                            spans.push((s, e.ts_ms));
                        }
                    }
                    _ => {}
                }
            }
            if let Some(s) = open {
                spans.push((s, end_ms.max(s)));
            }
            (rm, normalize(spans))
        })
        .collect()
}

/// The spans in which two or more RMs reported ACTIVE at once.
pub fn double_active(active: &std::collections::BTreeMap<String, Vec<Span>>) -> Vec<Span> {
    let sets: Vec<&Vec<Span>> = active.values().collect();
    let mut out = Vec::new();
    for (i, a) in sets.iter().enumerate() {
        for b in &sets[i + 1..] {
            out.extend(intersect(a, b));
        }
    }
    normalize(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(rm: &str, ts_ms: u64, to: &str) -> SimEvent {
        SimEvent {
            ts_ms,
            rm: rm.into(),
            kind: SimEventKind::State { from: String::new(), to: to.into(), term: 0, reason: String::new() },
        }
    }

    #[test]
    fn double_active_spans_are_found_and_hand_overs_are_not_counted() {
        // rm1 active 10..50, rm2 active 50..: a clean hand-over.
        let clean = [state("rm1", 10, "active"), state("rm1", 50, "standby"), state("rm2", 50, "active")];
        assert_eq!(double_active(&active_spans(&clean, 100)), vec![]);
        // rm2 became active at 40 while rm1 was active until 50.
        let both = [state("rm1", 10, "active"), state("rm2", 40, "active"), state("rm1", 50, "standby")];
        assert_eq!(double_active(&active_spans(&both, 100)), vec![(40, 50)]);
        assert_eq!(active_spans(&both, 100)["rm2"], vec![(40, 100)]);
    }

    #[test]
    fn spans_merge_and_empty_ones_vanish() {
        assert_eq!(normalize(vec![(5, 9), (1, 3), (2, 4), (7, 7)]), vec![(1, 4), (5, 9)]);
        assert_eq!(intersect(&[(1, 10)], &[(5, 20), (30, 40)]), vec![(5, 10)]);
    }

    fn w(rm: &str, term: u64, zxid: i64) -> SimEvent {
        SimEvent { ts_ms: 0, rm: rm.into(), kind: SimEventKind::Write { term, seq: 0, zxid } }
    }

    #[test]
    fn consecutive_terms_of_different_rms_do_not_overlap() {
        let ev = vec![w("rm1", 1, 10), w("rm1", 1, 12), w("rm2", 1, 13), w("rm2", 1, 20), w("rm1", 2, 21)];
        assert!(overlapping_writes(&ev).is_empty());
        assert_eq!(write_intervals(&ev).len(), 3);
    }

    #[test]
    fn a_restarted_rm_starts_its_terms_again_without_looking_like_split_brain() {
        let started = |rm: &str, ts_ms| SimEvent {
            ts_ms,
            rm: rm.into(),
            kind: SimEventKind::Started { admin: String::new(), web: String::new(), pid: 1 },
        };
        let at = |mut e: SimEvent, ts_ms| {
            e.ts_ms = ts_ms;
            e
        };
        // rm1's first process writes in its term 1, dies; rm2 takes over; rm1's second process
        // is active again in ITS term 1.
        let ev = vec![
            started("rm1", 0),
            at(w("rm1", 1, 10), 1),
            at(w("rm2", 3, 20), 2),
            started("rm1", 3),
            at(w("rm1", 1, 30), 4),
        ];
        assert!(overlapping_writes(&ev).is_empty(), "{:?}", write_intervals(&ev));
        assert_eq!(write_intervals(&ev).len(), 3);
    }

    #[test]
    fn a_write_of_a_deposed_rm_inside_the_new_term_is_split_brain() {
        let ev = vec![w("rm1", 1, 10), w("rm2", 1, 13), w("rm1", 1, 14), w("rm2", 1, 15)];
        let overlaps = overlapping_writes(&ev);
        assert_eq!(overlaps.len(), 1);
        assert_eq!((overlaps[0].a.rm.as_str(), overlaps[0].b.rm.as_str()), ("rm1", "rm2"));
    }

    #[test]
    fn the_same_rm_in_two_terms_is_not_split_brain() {
        let ev = vec![w("rm1", 1, 10), w("rm1", 2, 11), w("rm1", 1, 12)];
        assert!(overlapping_writes(&ev).is_empty());
    }
}
