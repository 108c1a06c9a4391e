//! API call counts, per stack and per run, for the JSON stats.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Counts of AWS operations called, by operation name. Cheap to clone; clones
/// share counts, and a child also counts into its parent (the run's total).
#[derive(Debug, Clone, Default)]
pub struct Calls {
    own: Arc<Mutex<BTreeMap<&'static str, u64>>>,
    parent: Option<Arc<Mutex<BTreeMap<&'static str, u64>>>>,
}

impl Calls {
    /// Counts that also add up into `self`.
    pub fn child(&self) -> Calls {
        Calls {
            own: Arc::default(),
            parent: Some(self.own.clone()),
        }
    }

    pub fn record(&self, operation: &'static str) {
        for map in std::iter::once(&self.own).chain(self.parent.as_ref()) {
            *map.lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(operation)
                .or_default() += 1;
        }
    }

    pub fn snapshot(&self) -> BTreeMap<&'static str, u64> {
        self.own.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn total(&self) -> u64 {
        self.snapshot().values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_childs_calls_add_up_into_its_parent() {
        let run = Calls::default();
        let (a, b) = (run.child(), run.child());
        a.record("DescribeStacks");
        b.record("DescribeStacks");
        b.record("DetectStackDrift");
        assert_eq!(a.total(), 1);
        assert_eq!(run.snapshot()["DescribeStacks"], 2);
        assert_eq!(run.total(), 3);
    }
}
