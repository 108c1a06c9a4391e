//! The `driftsync.yaml` file as written: serde types with their JSON Schema.
//! Unknown keys are errors, so a typo never silently does nothing.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;

use super::github::RawGithub;
use super::policy_model::{RawGuard, RawPolicy};

/// The repo config, `driftsync.yaml` at the root of the infra repository.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "driftsync.yaml")]
pub struct RawConfig {
    /// The config format version. Only `1` exists.
    pub version: u32,
    /// Settings every stack inherits unless it sets its own.
    #[serde(default)]
    pub defaults: Defaults,
    /// The stacks driftsync keeps in sync, one per CloudFormation stack.
    pub stacks: Vec<RawStack>,
    /// Differences to leave alone when detecting drift.
    #[serde(default)]
    pub ignore: Vec<IgnoreRule>,
    /// What `sync` does about drift and pending changes; a stack's own
    /// `policy` is tried first.
    #[serde(default)]
    pub policy: RawPolicy,
    /// CloudFormation Guard rule files, evaluated on the live properties of
    /// every drifted resource. A violation is always reverted.
    #[serde(default)]
    pub guards: Vec<RawGuard>,
    /// Where codify pull requests are opened, and who is asked to review
    /// them. Credentials come from the environment, never from here.
    pub github: Option<RawGithub>,
    /// Where codify pushes the branches it proposes.
    pub git: Option<super::git::RawGit>,
}

/// Settings shared by every stack.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// AWS region, e.g. `us-east-1`. Without it, each stack needs its own.
    pub region: Option<String>,
    /// IAM role to assume for every stack (through STS).
    pub role_arn: Option<String>,
    /// Capabilities to acknowledge when deploying, e.g. `CAPABILITY_NAMED_IAM`.
    pub capabilities: Option<Vec<Capability>>,
    /// Tags for every stack; a stack's own tags win.
    #[serde(default)]
    pub tags: IndexMap<String, String>,
    /// Detect drift through Cloud Control (`check --deep`) for every stack.
    pub deep: Option<bool>,
    /// Where templates over 51,200 bytes are uploaded before they are deployed.
    pub artifacts: Option<super::artifacts::RawArtifacts>,
}

/// One stack as written in the config.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStack {
    /// The CloudFormation stack name.
    pub name: String,
    /// Path of the template in the repository, relative to this file.
    pub template: String,
    /// Parameter values, inline. They win over `parameters_file`.
    #[serde(default)]
    pub parameters: IndexMap<String, String>,
    /// A JSON or YAML file of parameter values, relative to this file: either
    /// a map (`{"Env": "prod"}`) or the AWS CLI's list of `ParameterKey` /
    /// `ParameterValue` pairs.
    pub parameters_file: Option<String>,
    /// AWS region; falls back to `defaults.region`.
    pub region: Option<String>,
    /// IAM role to assume for this stack; falls back to `defaults.role_arn`.
    pub role_arn: Option<String>,
    /// Capabilities to acknowledge; falls back to `defaults.capabilities`.
    pub capabilities: Option<Vec<Capability>>,
    /// Stack tags, added to `defaults.tags`.
    #[serde(default)]
    pub tags: IndexMap<String, String>,
    /// Detect drift through Cloud Control for this stack; falls back to `defaults.deep`.
    pub deep: Option<bool>,
    /// Where this stack's template is uploaded when it is over 51,200 bytes;
    /// each key given wins over `defaults.artifacts`.
    pub artifacts: Option<super::artifacts::RawArtifacts>,
    /// This stack's policy: its rules are tried before the top-level ones,
    /// and each setting it gives wins over the top-level one.
    pub policy: Option<RawPolicy>,
}

/// A CloudFormation capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema, serde::Serialize)]
#[allow(clippy::enum_variant_names)] // The names are CloudFormation's.
pub enum Capability {
    #[serde(rename = "CAPABILITY_IAM")]
    CapabilityIam,
    #[serde(rename = "CAPABILITY_NAMED_IAM")]
    CapabilityNamedIam,
    #[serde(rename = "CAPABILITY_AUTO_EXPAND")]
    CapabilityAutoExpand,
}

impl Capability {
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::CapabilityIam => "CAPABILITY_IAM",
            Capability::CapabilityNamedIam => "CAPABILITY_NAMED_IAM",
            Capability::CapabilityAutoExpand => "CAPABILITY_AUTO_EXPAND",
        }
    }
}

/// A drift difference to leave alone. Every field given must match; globs
/// use `*` (within one path segment) and `**` (across segments).
#[derive(Debug, Clone, Deserialize, JsonSchema, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoreRule {
    /// Stack name glob, e.g. `web-*`.
    pub stack: Option<String>,
    /// Resource type, e.g. `AWS::EC2::SecurityGroup` (globs allowed).
    #[serde(rename = "type")]
    pub type_name: Option<String>,
    /// Logical id glob.
    pub logical_id: Option<String>,
    /// Property path glob in CloudFormation's format, e.g. `/Tags/**`.
    pub property: Option<String>,
    /// Why the difference is tolerated; shown with `--show-ignored`.
    pub reason: Option<String>,
}
