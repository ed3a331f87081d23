//! Split-brain checker over simulated RMs' journals: proves from the accepted state-store writes
//! (ordered by ZooKeeper zxid, a total order) that no two RMs ever wrote in overlapping intervals.
//!
//! Owns: the definition of "overlapping writes". Must not: read processes or files (callers pass
//! the parsed journals).

use std::collections::HashSet;

use super::events::{SimEvent, SimEventKind};

/// A write interval: every write of one RM in one activation term, by zxid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteInterval {
    pub rm: String,
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
    let mut writes: Vec<(i64, &str, u64)> = events
        .iter()
        .filter_map(|e| match e.kind {
            SimEventKind::Write { term, zxid, .. } => Some((zxid, e.rm.as_str(), term)),
            _ => None,
        })
        .collect();
    writes.sort();
    let mut out: Vec<WriteInterval> = Vec::new();
    for (zxid, rm, term) in writes {
        if let Some(last) = out.iter_mut().find(|i| i.rm == rm && i.term == term) {
            last.first_zxid = last.first_zxid.min(zxid);
            last.last_zxid = last.last_zxid.max(zxid);
            last.writes += 1;
        } else {
            out.push(WriteInterval { rm: rm.to_string(), term, first_zxid: zxid, last_zxid: zxid, writes: 1 });
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
            if a.rm != b.rm && seen.insert((a.rm.clone(), a.term, b.rm.clone(), b.term)) {
                out.push(Overlap { a: a.clone(), b: b.clone() });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
