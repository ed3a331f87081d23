//! The failover budget (safety rule 5): at most `max` automatic failovers per sliding window and
//! a cooldown between two of them. The history of failover times lives in the state znode, so
//! the budget holds across leaders and restarts.
//!
//! Owns: the arithmetic. Must not: read clocks (wall times are passed in).

/// Budget settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailoverBudget {
    pub max: u32,
    pub window_ms: u64,
    pub cooldown_ms: u64,
}

/// Why a failover may not happen now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BudgetRefusal {
    Exhausted { used: u32, max: u32, window_ms: u64 },
    Cooldown { remaining_ms: u64 },
}

impl std::fmt::Display for BudgetRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BudgetRefusal::Exhausted { used, max, window_ms } => write!(
                f,
                "failover budget exhausted: {used} automatic failovers in the last {}s (max {max}); automatic failover is suspended until the window clears or an operator acts",
                window_ms / 1000
            ),
            BudgetRefusal::Cooldown { remaining_ms } => write!(f, "failover cooldown: next automatic failover allowed in {remaining_ms} ms"),
        }
    }
}

impl FailoverBudget {
    /// Failover times still inside the window at `now_ms`.
    pub fn recent(&self, history_ms: &[u64], now_ms: u64) -> Vec<u64> {
        history_ms.iter().copied().filter(|t| now_ms.saturating_sub(*t) < self.window_ms).collect()
    }

    /// How many failovers are left at `now_ms`.
    pub fn remaining(&self, history_ms: &[u64], now_ms: u64) -> u32 {
        self.max.saturating_sub(self.recent(history_ms, now_ms).len() as u32)
    }

    /// May one more automatic failover happen at `now_ms`?
    pub fn check(&self, history_ms: &[u64], now_ms: u64) -> Result<(), BudgetRefusal> {
        let recent = self.recent(history_ms, now_ms);
        if recent.len() as u32 >= self.max {
            return Err(BudgetRefusal::Exhausted {
                used: recent.len() as u32,
                max: self.max,
                window_ms: self.window_ms,
            });
        }
        if let Some(last) = recent.iter().max() {
            let since = now_ms.saturating_sub(*last);
            if since < self.cooldown_ms {
                return Err(BudgetRefusal::Cooldown { remaining_ms: self.cooldown_ms - since });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: FailoverBudget = FailoverBudget { max: 2, window_ms: 60_000, cooldown_ms: 5_000 };

    #[test]
    fn the_budget_counts_only_failovers_inside_the_window() {
        assert_eq!(B.check(&[], 100_000), Ok(()));
        assert_eq!(B.check(&[10_000, 90_000], 100_000), Ok(()), "10_000 left the window");
        assert!(matches!(B.check(&[50_000, 90_000], 100_000), Err(BudgetRefusal::Exhausted { used: 2, .. })));
        assert_eq!(B.remaining(&[50_000, 90_000], 100_000), 0);
        assert_eq!(B.remaining(&[50_000, 90_000], 111_000), 1);
    }

    #[test]
    fn a_cooldown_separates_two_failovers() {
        assert_eq!(B.check(&[98_000], 100_000), Err(BudgetRefusal::Cooldown { remaining_ms: 3_000 }));
        assert_eq!(B.check(&[95_000], 100_000), Ok(()));
    }
}
