//! What `check` reports: the stable JSON contract (docs/json-output.md) and
//! the data every other output format is written from.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::drift::Difference;
use crate::live::{Calls, Change, LiveStack};
use crate::load::{Snapshot, StackState};
use crate::template::diff::{CausedBy, ChangeKind};
use crate::template::{PropertyPath, Value};

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub schema_version: u32,
    pub revision: String,
    pub generated_at: String,
    pub summary: Summary,
    pub stacks: Vec<StackCheck>,
    pub stats: Stats,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub stacks: usize,
    pub in_sync: usize,
    pub drifted: usize,
    pub pending: usize,
    pub errors: usize,
    pub not_deployed: usize,
    pub skipped: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    pub duration_ms: u64,
    pub api_calls: BTreeMap<&'static str, u64>,
}

/// A stack's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CheckStatus {
    InSync,
    Drifted,
    Pending,
    DriftedAndPending,
    NotDeployed,
    /// Not checked now (an update is running); see `skipped_reason`.
    Skipped,
    Error,
}

#[derive(Debug, Clone, Serialize)]
pub struct StackCheck {
    pub name: String,
    pub region: String,
    pub account: Option<String>,
    pub status: CheckStatus,
    pub template: String,
    /// CloudFormation's StackStatus, when deployed.
    pub stack_status: Option<String>,
    pub pending: Vec<PendingChange>,
    pub drift: Vec<ResourceReport>,
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped_reason: Option<String>,
    /// Set when drift detection was skipped because AWS Config's drift rule
    /// found the stack compliant recently (`check --trust-config`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_verdict: Option<ConfigVerdict>,
    pub api_calls: BTreeMap<&'static str, u64>,
}

/// AWS Config's recent COMPLIANT result that stood in for a drift detection.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigVerdict {
    pub rule: String,
    /// When the rule's evaluation (its drift detection) started.
    pub evaluated_at: String,
}

/// A change a deploy of the committed template would make.
#[derive(Debug, Clone, Serialize)]
pub struct PendingChange {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub change: ChangeKind,
    /// `None` for a whole resource added or removed.
    pub property_path: Option<PropertyPath>,
    pub deployed: Option<Value>,
    pub committed: Option<Value>,
    pub replacement: bool,
    /// Where the change is in the committed template.
    pub location: Option<Location>,
    /// Set when the change is to a resource attribute (`Metadata`,
    /// `UpdatePolicy`, `DependsOn`, ...) rather than a property; `Outputs`
    /// and `Transform` for those template sections.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute: Option<&'static str>,
    /// Where inside the attribute's value the change is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attribute_path: Option<PropertyPath>,
    /// Set when the value changes because a resource it names is replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caused_by: Option<CausedBy>,
}

impl PendingChange {
    /// A whole resource added or removed (not one of its parts).
    pub fn is_whole_resource(&self) -> bool {
        self.property_path.is_none() && self.attribute.is_none()
    }

    /// What changed, for people: the property path, or the attribute and
    /// the path inside it (`Metadata/AWS::CloudFormation::Init/config`).
    pub fn what(&self) -> Option<String> {
        match (&self.property_path, self.attribute) {
            (Some(p), _) => Some(p.to_string()),
            (None, Some(a)) => Some(match &self.attribute_path {
                Some(p) => format!("{a}{p}"),
                None => a.to_string(),
            }),
            (None, None) => None,
        }
    }
}

/// One resource's drift.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceReport {
    pub logical_id: String,
    pub physical_id: Option<String>,
    #[serde(rename = "type")]
    pub type_name: String,
    /// `MODIFIED`, `DELETED`, `NOT_CHECKED` (or `IN_SYNC` when every
    /// difference was filtered as noise, shown only with `--show-ignored`).
    pub status: String,
    pub differences: Vec<Difference>,
    pub changed_by: Vec<Change>,
    /// Where the resource's first drifted property is in the template.
    pub location: Option<Location>,
    pub checked_at: Option<String>,
    /// Where each difference is in the template (parallel to `differences`).
    #[serde(skip)]
    pub locations: Vec<Option<Location>>,
    /// The live properties, when the detection returned them (for guards
    /// and break-glass tags).
    #[serde(skip)]
    pub actual: Option<indexmap::IndexMap<String, Value>>,
    /// Set for a resource of a nested stack, whose `logical_id` is then
    /// the path through the stacks (`Network/Subnet`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nested_stack: Option<NestedIn>,
    /// Why a `NOT_CHECKED` resource was not checked, when it is not simply
    /// a type CloudFormation cannot check.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The nested stack a resource belongs to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NestedIn {
    /// The `AWS::CloudFormation::Stack` resources from the top stack down,
    /// joined by `/`.
    pub path: String,
    /// The nested stack's id (ARN), which its own API calls take.
    pub stack_id: String,
    /// The resource's logical id inside the nested stack.
    pub logical_id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub column: u32,
}

impl ResourceReport {
    /// Real drift: a deleted resource, or a difference no filter suppressed.
    pub fn is_drifted(&self) -> bool {
        self.status == "DELETED" || crate::drift::is_drifted(&self.differences)
    }
}

impl StackCheck {
    pub(super) fn new(state: &StackState, live: Option<&LiveStack>) -> Self {
        StackCheck {
            name: state.spec.name.clone(),
            region: state.spec.region.clone(),
            account: live.and_then(|l| l.account.clone()),
            status: CheckStatus::InSync,
            template: state.spec.template.clone(),
            stack_status: live.map(|l| l.status.clone()),
            pending: Vec::new(),
            drift: Vec::new(),
            error: None,
            skipped_reason: None,
            config_verdict: None,
            api_calls: BTreeMap::new(),
        }
    }

    pub(super) fn error(state: &StackState, message: String) -> Self {
        StackCheck::new(state, None).fail(message)
    }

    pub(super) fn fail(mut self, message: String) -> Self {
        self.status = CheckStatus::Error;
        self.error = Some(message);
        self
    }

    pub(super) fn with_status(mut self, status: CheckStatus) -> Self {
        self.status = status;
        self
    }

    pub(super) fn skipped(mut self, reason: String) -> Self {
        self.status = CheckStatus::Skipped;
        self.skipped_reason = Some(reason);
        self
    }

    /// A stack stuck in a failed state: reported, not checked, and an error
    /// (it needs an operator).
    pub(super) fn failed_state(mut self, reason: String) -> Self {
        self.status = CheckStatus::Error;
        self.skipped_reason = Some(reason.clone());
        self.error = Some(reason);
        self
    }

    pub(super) fn with_calls(mut self, calls: &Calls) -> Self {
        self.api_calls = calls.snapshot();
        self
    }

    /// Finds where each drifted property and pending change is written in
    /// the committed template.
    pub(super) fn locate(&mut self, state: &StackState) {
        let Some(t) = &state.template else { return };
        let at = |logical_id: &str, path: &PropertyPath| {
            t.locate(logical_id, path).map(|loc| Location {
                file: state.spec.template.clone(),
                line: loc.line,
                column: loc.col,
            })
        };
        for r in &mut self.drift {
            r.locations = r
                .differences
                .iter()
                .map(|d| at(&r.logical_id, &d.property_path))
                .collect();
            let first = r.differences.iter().position(|d| d.ignored_by.is_none());
            r.location = first
                .and_then(|i| r.locations[i].clone())
                .or_else(|| at(&r.logical_id, &PropertyPath::root()));
        }
        for p in &mut self.pending {
            p.location = at(
                &p.logical_id,
                p.property_path.as_ref().unwrap_or(&PropertyPath::root()),
            );
        }
    }

    /// Sets the status from what was found; resources whose differences were
    /// all noise read as in sync.
    pub(super) fn settle(mut self) -> Self {
        for r in &mut self.drift {
            if r.status == "MODIFIED" && !r.is_drifted() {
                r.status = "IN_SYNC".into();
            }
        }
        self.drift
            .retain(|r| r.status != "IN_SYNC" || !r.differences.is_empty());
        let drifted = self.drift.iter().any(ResourceReport::is_drifted);
        self.status = match (drifted, !self.pending.is_empty()) {
            (true, true) => CheckStatus::DriftedAndPending,
            (true, false) => CheckStatus::Drifted,
            (false, true) => CheckStatus::Pending,
            (false, false) => CheckStatus::InSync,
        };
        self
    }

    pub fn is_drifted(&self) -> bool {
        matches!(
            self.status,
            CheckStatus::Drifted | CheckStatus::DriftedAndPending
        )
    }

    pub fn is_pending(&self) -> bool {
        matches!(
            self.status,
            CheckStatus::Pending | CheckStatus::DriftedAndPending
        )
    }

    /// Resources CloudFormation could not check (types without drift support).
    pub fn not_checked(&self) -> impl Iterator<Item = &ResourceReport> {
        self.drift.iter().filter(|r| r.status == "NOT_CHECKED")
    }
}

impl CheckReport {
    pub(super) fn new(
        snapshot: &Snapshot,
        stacks: Vec<StackCheck>,
        api_calls: BTreeMap<&'static str, u64>,
        took: Duration,
    ) -> Self {
        let count = |f: &dyn Fn(&StackCheck) -> bool| stacks.iter().filter(|s| f(s)).count();
        let summary = Summary {
            stacks: stacks.len(),
            in_sync: count(&|s| s.status == CheckStatus::InSync),
            drifted: count(&|s| s.is_drifted()),
            pending: count(&|s| s.is_pending()),
            errors: count(&|s| s.status == CheckStatus::Error),
            not_deployed: count(&|s| s.status == CheckStatus::NotDeployed),
            skipped: count(&|s| s.status == CheckStatus::Skipped),
        };
        CheckReport {
            schema_version: 1,
            revision: snapshot.revision.sha.clone(),
            generated_at: super::rfc3339(SystemTime::now()),
            summary,
            stacks,
            stats: Stats {
                duration_ms: took.as_millis() as u64,
                api_calls,
            },
        }
    }

    /// The report as shown: without ignored differences (and resources that
    /// only had those) unless `show_ignored`.
    pub fn view(&self, show_ignored: bool) -> CheckReport {
        let mut out = self.clone();
        if !show_ignored {
            for s in &mut out.stacks {
                for r in &mut s.drift {
                    let keep: Vec<bool> = r
                        .differences
                        .iter()
                        .map(|d| d.ignored_by.is_none())
                        .collect();
                    let mut i = 0;
                    r.differences.retain(|_| (keep[i], i += 1).0);
                    let mut j = 0;
                    r.locations
                        .retain(|_| (keep.get(j).copied().unwrap_or(true), j += 1).0);
                }
                s.drift.retain(|r| r.status != "IN_SYNC");
            }
        }
        out
    }

    /// The exit code: 1 when any stack could not be checked, else 2 when
    /// anything drifted, is pending or is not deployed yet (a deploy would
    /// change something), else 0.
    pub fn exit_code(&self) -> u8 {
        if self.summary.errors > 0 {
            1
        } else if self.summary.drifted > 0
            || self.summary.pending > 0
            || self.summary.not_deployed > 0
        {
            2
        } else {
            0
        }
    }
}
