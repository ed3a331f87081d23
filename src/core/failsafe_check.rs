//! The exhaustive model check of the controllers' protocol, failsafe on and off: from a
//! settled cluster (one RM ACTIVE), every schedule of up to `faults` faults of the model's
//! alphabet (`failsafe_model.rs`: every network of ZooKeeper quorum loss, hosts cut from the
//! ensemble, links cut between hosts; delayed and reordered failsafe messages; host crashes and
//! restarts; controller restarts; RMs demoting themselves), each injected at any instant of a
//! `grid_ms` grid within `horizon_ms`, with time moving from one deadline to the next in
//! between. Depth-first, states (with the faults left) deduplicated by fingerprint. Checked after every step (by the
//! world): at most one RM told ACTIVE per epoch, no promotion while another RM serves as ACTIVE,
//! never two RMs serving as ACTIVE at once, no promotion without holding the election in a live
//! session, no controller deadline already due after a step.
//!
//! Owns: the exploration and its tests. Must not: change the world's rules.

use std::collections::HashSet;

use super::failsafe::{Sabotage, SABOTAGE};
use super::failsafe_model::{Fault, Model};

#[derive(Debug, Clone, Copy)]
pub(super) struct Bounds {
    pub(super) controllers: usize,
    pub(super) failsafe: bool,
    pub(super) faults: usize,
    pub(super) grid_ms: u64,
    pub(super) horizon_ms: u64,
}

#[derive(Debug)]
pub(super) struct Outcome {
    /// Distinct states explored.
    pub(super) states: usize,
    /// The first violation found: the schedule that led to it, then what went wrong.
    pub(super) counterexample: Option<Vec<String>>,
}

struct Node {
    model: Model,
    faults: usize,
    trace: Vec<String>,
}

pub(super) fn explore(b: Bounds) -> Outcome {
    let init = Model::new(b.controllers, b.failsafe);
    assert!(init.w.violations.is_empty(), "the start is clean: {:?}", init.w.violations);
    assert_eq!(init.w.active_rms().len(), 1, "one RM ACTIVE at the start: {:?}", init.w.rms);
    let start = init.now_ms();
    let mut seen = HashSet::new();
    let mut stack = vec![Node { model: init, faults: 0, trace: vec![] }];
    while let Some(Node { model, faults, trace }) = stack.pop() {
        if !model.w.violations.is_empty() {
            let mut ce = trace;
            ce.extend(model.w.violations.iter().map(|v| format!("VIOLATION at +{} ms: {v}", model.now_ms() - start)));
            ce.push(format!("network: {}", model.w.net.describe()));
            ce.push(format!("RMs: {:?}", model.w.rms));
            return Outcome { states: seen.len(), counterexample: Some(ce) };
        }
        // The same state with a different fault budget left has a different future.
        if !seen.insert((model.fingerprint(), faults)) {
            continue;
        }
        let t = model.now_ms() - start;
        if t >= b.horizon_ms {
            continue;
        }
        let to_grid = b.grid_ms - t % b.grid_ms;
        let mut next = model.clone();
        next.advance_to_next(to_grid);
        stack.push(Node { model: next, faults, trace: trace.clone() });
        if faults < b.faults && t % b.grid_ms == 0 {
            for f in model.faults() {
                let mut child = model.clone();
                child.inject(&f);
                let mut tr = trace.clone();
                tr.push(format!("+{t} ms: {}", describe(&f)));
                stack.push(Node { model: child, faults: faults + 1, trace: tr });
            }
        }
    }
    Outcome { states: seen.len(), counterexample: None }
}

fn describe(f: &Fault) -> String {
    match f {
        Fault::Network(net) => net.describe(),
        other => format!("{other:?}"),
    }
}

/// Deeper runs: `RMFC_MODEL_FAULTS=3 RMFC_MODEL_HORIZON_S=16 cargo test --release --lib
/// core::failsafe_check -- --nocapture`.
fn deepened(mut b: Bounds) -> Bounds {
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(f) = env("RMFC_MODEL_FAULTS") {
        b.faults = f as usize;
    }
    if let Some(h) = env("RMFC_MODEL_HORIZON_S") {
        b.horizon_ms = h * 1000;
    }
    b
}

fn check(b: Bounds) -> Outcome {
    let b = deepened(b);
    let started = std::time::Instant::now();
    let out = explore(b);
    println!(
        "model check {} controllers, failsafe {}, ≤{} faults on a {} ms grid over {} s: {} states in {:.1} s",
        b.controllers,
        if b.failsafe { "on" } else { "off" },
        b.faults,
        b.grid_ms,
        b.horizon_ms / 1000,
        out.states,
        started.elapsed().as_secs_f64()
    );
    out
}

fn assert_safe(b: Bounds) {
    let out = check(b);
    if let Some(ce) = out.counterexample {
        panic!("counterexample:\n  {}", ce.join("\n  "));
    }
    assert!(out.states > 1000, "the exploration went somewhere: {} states", out.states);
}

fn sabotaged(rule: Sabotage, b: Bounds) -> Vec<String> {
    SABOTAGE.with(|s| s.set(Some(rule)));
    let out = check(b);
    SABOTAGE.with(|s| s.set(None));
    let ce = out.counterexample.unwrap_or_else(|| panic!("{rule:?}: no counterexample in {} states", out.states));
    println!("{rule:?}: counterexample after {} states:\n  {}", out.states, ce.join("\n  "));
    ce
}

const TWO: Bounds = Bounds { controllers: 2, failsafe: true, faults: 2, grid_ms: 500, horizon_ms: 12_000 };
const THREE: Bounds = Bounds { controllers: 3, failsafe: true, faults: 2, grid_ms: 1000, horizon_ms: 10_000 };

#[test]
fn two_controllers_with_the_failsafe_never_have_two_rms_active() {
    assert_safe(TWO);
}

#[test]
fn two_controllers_without_the_failsafe_never_have_two_rms_active() {
    assert_safe(Bounds { failsafe: false, ..TWO });
}

#[test]
fn three_controllers_with_and_without_the_failsafe_never_have_two_rms_active() {
    assert_safe(THREE);
    assert_safe(Bounds { failsafe: false, ..THREE });
}

#[test]
fn the_check_finds_a_member_that_forgets_its_promise() {
    let ce = sabotaged(Sabotage::ForgetPromises, TWO);
    assert!(ce.iter().any(|l| l.contains("VIOLATION")), "{ce:?}");
}

#[test]
fn the_check_finds_a_leader_that_keeps_its_rm_after_the_leases() {
    let ce = sabotaged(Sabotage::KeepAfterLeases, TWO);
    assert!(ce.iter().any(|l| l.contains("VIOLATION")), "{ce:?}");
}
