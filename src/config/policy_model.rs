//! The `policy:` and `guards:` sections as written: serde types with their
//! JSON Schema. Every field is optional so that a stack's `policy:` can
//! override any top-level setting; `config::policy` fills the defaults.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What to do about one drifted property or pending change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Show it in the plan and do nothing.
    Report,
    /// Put the drifted property back as Git says, leaving the rest intact.
    Revert,
    /// Deploy the committed template (a change set; `REVERT_DRIFT` for drift).
    Reapply,
    /// Propose a pull request that writes the live value into the template.
    Codify,
    /// Record the decision, plan nothing.
    Ignore,
}

impl Action {
    /// The lowercase name, as in the config and the JSON plan.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Report => "report",
            Action::Revert => "revert",
            Action::Reapply => "reapply",
            Action::Codify => "codify",
            Action::Ignore => "ignore",
        }
    }

    /// Whether the action writes to AWS (and so is subject to the limits).
    pub fn changes_aws(self) -> bool {
        matches!(self, Action::Revert | Action::Reapply)
    }
}

/// How a property-level revert reaches AWS.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Deserialize, Serialize, JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum RevertVia {
    /// The runbook when `driftsync bootstrap` has installed it in the
    /// stack's account and region, otherwise Cloud Control directly, so a
    /// revert works before anything is installed.
    #[default]
    Auto,
    /// Always through the SSM Automation runbook `driftsync bootstrap`
    /// installs (auditable, with an assume-role parameter); fails while it
    /// is not installed.
    Ssm,
    /// Cloud Control UpdateResource directly, for speed.
    #[serde(rename = "cloudcontrol")]
    CloudControl,
}

/// What happens to drift once its break-glass lease has expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AfterBreakGlass {
    /// Propose the emergency change as a pull request, so it is not lost.
    #[default]
    Codify,
    /// Put the resource back as Git says.
    Revert,
}

impl From<AfterBreakGlass> for Action {
    fn from(a: AfterBreakGlass) -> Action {
        match a {
            AfterBreakGlass::Codify => Action::Codify,
            AfterBreakGlass::Revert => Action::Revert,
        }
    }
}

/// Which decisions a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DecisionKind {
    /// A live property that differs from the deployed template.
    Drift,
    /// A committed change not deployed yet.
    Pending,
}

/// A `policy:` section, top-level or on a stack.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// The action for drift no rule matches. Without one: `report`.
    /// Pending changes default to `reapply` unless a rule says otherwise.
    pub default: Option<Action>,
    /// Allow a change set or revert that would replace a resource. Without
    /// it, such a change is refused and explained.
    pub allow_replacement: Option<bool>,
    /// Create a stack that is in the config but not deployed (`sync --apply`,
    /// through a CREATE change set). Without it, such a stack is reported
    /// as not deployed and left alone.
    pub create: Option<bool>,
    /// How property-level reverts are made.
    pub revert: Option<RawRevert>,
    /// Loop protection: how often driftsync may act before it stops.
    pub limits: Option<RawLimits>,
    /// Tolerating emergency changes for a while.
    pub break_glass: Option<RawBreakGlass>,
    /// Tried in order; the first that matches decides.
    #[serde(default)]
    pub rules: Vec<RawRule>,
}

/// `revert:` settings.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRevert {
    /// `auto` (default: the runbook once installed, else Cloud Control), `ssm` or `cloudcontrol`.
    pub via: Option<RevertVia>,
}

/// `limits:` settings; durations are written like `90s`, `30m`, `1h`.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    /// Reverts of one resource allowed within `window` (default 3).
    pub max_reverts: Option<u32>,
    /// The window for `max_reverts` and `flip_flops` (default `1h`).
    pub window: Option<String>,
    /// Times a property may drift back after a revert within `window`
    /// before driftsync stops reverting it (default 2).
    pub flip_flops: Option<u32>,
    /// Consecutive failed remediations that open the stack's circuit (default 3).
    pub failures_to_open: Option<u32>,
    /// How long an open circuit stays open (default `30m`).
    pub cooldown: Option<String>,
}

/// `break_glass:` settings.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawBreakGlass {
    /// The resource tag whose value is the lease's RFC 3339 expiry
    /// (default `driftsync:break-glass`).
    pub tag: Option<String>,
    /// What happens when the lease expires: `codify` (default) or `revert`.
    pub after: Option<AfterBreakGlass>,
    /// Stack-wide leases.
    #[serde(default)]
    pub windows: Vec<RawWindow>,
}

/// A stack-wide break-glass lease.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawWindow {
    /// Stack name glob; without it, every stack the section applies to.
    pub stack: Option<String>,
    /// When the lease ends, RFC 3339 (`2026-12-01T00:00:00Z`).
    pub until: String,
    /// Why (an incident id, say); shown in the plan.
    pub reason: Option<String>,
}

/// One policy rule.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    /// What the rule applies to; every field given must match.
    #[serde(rename = "match")]
    pub matches: RawMatch,
    /// What to do.
    pub action: Action,
    /// Why; shown with every decision the rule makes.
    pub reason: Option<String>,
    /// Allow replacement for what this rule matches (wins over the stack's
    /// and the top-level setting).
    pub allow_replacement: Option<bool>,
}

/// A rule's match. Globs use `*` (within one path segment) and `**`
/// (across segments), as in `ignore:`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    /// Stack name glob, e.g. `web-*`.
    pub stack: Option<String>,
    /// Resource type, e.g. `AWS::EC2::SecurityGroup` (globs allowed).
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    /// Logical id glob.
    pub logical_id: Option<String>,
    /// Property path glob in CloudFormation's format, e.g.
    /// `/SecurityGroupIngress/*`. A rule with a property never matches a
    /// whole-resource decision (a deleted resource, an added one).
    pub property: Option<String>,
    /// `drift` or `pending`; without it, both.
    pub kind: Option<DecisionKind>,
    /// Glob on the principal CloudTrail names as the latest change's author
    /// (drift only), e.g. `*:assumed-role/oncall/*`.
    pub changed_by: Option<String>,
}

/// One guard file.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGuard {
    /// A CloudFormation Guard rules file, relative to this config and inside
    /// the repository.
    pub file: String,
}
