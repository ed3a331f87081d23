//! The bytes of rmfc's znodes: JSON encoding and decoding of the state, the breadcrumb, the
//! per-RM health reports and the bounded history journal.
//!
//! Owns: record formats and their validation. Pure: no I/O. Must not: panic on what ZooKeeper
//! holds (anyone with write access may have put anything there): a znode that does not decode
//! is an error value naming the path, and is never "repaired" by overwriting it.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::core::types::{Breadcrumb, ClusterState, HistoryEntry, PeerHealth};

/// What `/health/<rm-id>` holds: the RM's health as its own controller saw it, and when (wall
/// time, ms since the Unix epoch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthReport {
    pub health: PeerHealth,
    pub at_ms: u64,
}

/// One `/history` element: the core's entry plus the wall time it was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryRecord {
    #[serde(flatten)]
    pub entry: HistoryEntry,
    #[serde(default)]
    pub at_ms: u64,
}

/// Decodes one JSON record read from `path`. Empty data counts as corrupt: rmfc never writes an
/// empty record, so an empty znode was made by someone else.
pub fn decode<T: DeserializeOwned>(path: &str, data: &[u8]) -> Result<T, String> {
    if data.is_empty() {
        return Err(format!("{path}: empty znode (expected JSON)"));
    }
    serde_json::from_slice(data).map_err(|e| format!("{path}: {e}"))
}

/// The state record, `None` when the znode is missing.
pub fn decode_state(path: &str, data: Option<&[u8]>) -> Result<Option<ClusterState>, String> {
    data.map(|d| decode(path, d)).transpose()
}

/// The breadcrumb, `None` when the znode is missing.
pub fn decode_breadcrumb(path: &str, data: Option<&[u8]>) -> Result<Option<Breadcrumb>, String> {
    data.map(|d| decode(path, d)).transpose()
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing these plain records (strings, integers, enums) cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

/// The age of a health report read at `now_ms`; a report from the future (clock skew between
/// hosts) counts as brand new.
pub fn report_age(report: &HealthReport, now_ms: u64) -> u64 {
    now_ms.saturating_sub(report.at_ms)
}

/// The new `/history` data: `existing` (None: the znode does not exist yet) with `entry`
/// appended, keeping only the newest `limit` elements (newest last). Elements are kept as raw
/// JSON, so entries written by another rmfc version survive untouched. A journal that is not a
/// JSON array is an error: it is left for an operator to look at, not overwritten.
pub fn append_history(
    path: &str,
    existing: Option<&[u8]>,
    entry: &HistoryEntry,
    at_ms: u64,
    limit: usize,
) -> Result<Vec<u8>, String> {
    let mut items: Vec<serde_json::Value> = match existing {
        None => Vec::new(),
        // An empty znode (e.g. created by hand) is an empty journal.
        Some([]) => Vec::new(),
        Some(data) => serde_json::from_slice(data).map_err(|e| format!("{path}: {e}"))?,
    };
    let record = HistoryRecord { entry: entry.clone(), at_ms };
    items.push(serde_json::to_value(&record).map_err(|e| format!("{path}: {e}"))?);
    let keep = limit.max(1);
    if items.len() > keep {
        items.drain(..items.len() - keep);
    }
    Ok(encode(&items))
}

/// The journal for display: the elements that decode (others are skipped and counted).
pub fn decode_history(path: &str, data: &[u8]) -> Result<(Vec<HistoryRecord>, usize), String> {
    if data.is_empty() {
        return Ok((Vec::new(), 0));
    }
    let items: Vec<serde_json::Value> = serde_json::from_slice(data).map_err(|e| format!("{path}: {e}"))?;
    let total = items.len();
    let records: Vec<HistoryRecord> = items.into_iter().filter_map(|v| serde_json::from_value(v).ok()).collect();
    let skipped = total - records.len();
    Ok((records, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::types::Trigger;

    fn entry(epoch: u64) -> HistoryEntry {
        HistoryEntry {
            epoch,
            trigger: Trigger::Startup,
            from: None,
            to: "rm1".into(),
            fenced_by: "none needed".into(),
            outcome: "promoting".into(),
            fence_ms: 0,
            promote_ms: 0,
        }
    }

    #[test]
    fn state_and_breadcrumb_round_trip_and_missing_is_none() {
        let s = ClusterState { epoch: 3, active_rm: Some("rm2".into()), ..Default::default() };
        assert_eq!(decode_state("/s", Some(&encode(&s))), Ok(Some(s)));
        assert_eq!(decode_state("/s", None), Ok(None));
        let b = Breadcrumb { active_rm: "rm1".into(), epoch: 2 };
        assert_eq!(decode_breadcrumb("/b", Some(&encode(&b))), Ok(Some(b)));
    }

    #[test]
    fn corrupt_records_are_errors_naming_the_path() {
        let e = decode_state("/rmfc/c/state", Some(b"{not json")).unwrap_err();
        assert!(e.starts_with("/rmfc/c/state: "), "{e}");
        let e = decode_breadcrumb("/rmfc/c/breadcrumb", Some(b"")).unwrap_err();
        assert!(e.contains("empty"), "{e}");
        let e = decode_state("/x", Some(br#"{"epoch": "three"}"#)).unwrap_err();
        assert!(e.starts_with("/x: "), "{e}");
        assert!(decode::<HealthReport>("/h", b"\xff\xfe").is_err());
    }

    #[test]
    fn history_is_bounded_newest_last() {
        let mut data: Option<Vec<u8>> = None;
        for epoch in 1..=5 {
            data = Some(append_history("/h", data.as_deref(), &entry(epoch), 1000 + epoch, 3).unwrap());
        }
        let (records, skipped) = decode_history("/h", data.as_deref().unwrap()).unwrap();
        assert_eq!(skipped, 0);
        assert_eq!(records.iter().map(|r| r.entry.epoch).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(records[2].at_ms, 1005);
    }

    #[test]
    fn history_keeps_foreign_elements_and_refuses_a_corrupt_journal() {
        let data = append_history("/h", Some(br#"[{"note":"by hand"}]"#), &entry(1), 7, 10).unwrap();
        let (records, skipped) = decode_history("/h", &data).unwrap();
        assert_eq!((records.len(), skipped), (1, 1));
        assert!(append_history("/h", Some(b"{}"), &entry(1), 7, 10).is_err());
        assert!(append_history("/h", Some(b""), &entry(1), 7, 10).is_ok());
    }

    #[test]
    fn health_age_saturates_on_clock_skew() {
        let r = HealthReport { health: PeerHealth::Dead, at_ms: 5_000 };
        assert_eq!(report_age(&r, 7_500), 2_500);
        assert_eq!(report_age(&r, 1_000), 0);
        assert_eq!(decode::<HealthReport>("/h", br#"{"health":"dead","at_ms":5000}"#), Ok(r));
    }
}
