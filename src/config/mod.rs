//! The repo config (`driftsync.yaml`): parse, validate and turn it into one
//! [`StackSpec`] per stack, with every error located at file:line:column.
//!
//! Owns the config's meaning: defaults, path rules (nothing may leave the
//! repository), parameter files. It must not read files or git itself: the
//! caller hands it text (see `source`), which keeps it pure and testable.

mod artifacts;
mod git;
mod github;
mod model;
mod policy;
mod policy_model;

use globset::{Glob, GlobMatcher};
use indexmap::IndexMap;

use crate::doc::{self, Location, Node, NodeKind};
use crate::source;
/// The longest duration driftsync accepts anywhere (flags and config):
/// ten years. Longer ones mean "never" and would overflow the clock
/// arithmetic that deadlines and windows do.
pub const MAX_DURATION: std::time::Duration = std::time::Duration::from_secs(10 * 365 * 24 * 3600);

/// Parses a duration like `90s`, `30m` or `1h` (humantime's syntax),
/// refusing one longer than [`MAX_DURATION`].
///
/// # Errors
/// Why the text is not an accepted duration, in words.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if d > MAX_DURATION {
        return Err(format!(
            "longer than {} days, the longest duration driftsync accepts",
            MAX_DURATION.as_secs() / 86_400
        ));
    }
    Ok(d)
}

pub use artifacts::{Artifacts, RawArtifacts};
pub use git::{GitSettings, RawGit};
pub use github::{GithubSettings, RawGithub};
pub use model::{Capability, Defaults, IgnoreRule, RawConfig, RawStack};
pub use policy::{
    BreakGlassWindow, LimitSettings, PolicyRule, PolicySettings, Subject, parse_rfc3339,
};
pub use policy_model::{
    Action, AfterBreakGlass, DecisionKind, RawBreakGlass, RawGuard, RawLimits, RawMatch, RawPolicy,
    RawRevert, RawRule, RawWindow, RevertVia,
};

/// The default config path, at the repository root.
pub const DEFAULT_PATH: &str = "driftsync.yaml";

/// A validated config.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where the config lives in the repository.
    pub path: String,
    pub stacks: Vec<StackSpec>,
    pub ignore: Vec<Ignore>,
    /// The top-level `policy:` section.
    pub policy: PolicySettings,
    /// Guard files, as repository paths (their text is read by `load`).
    pub guards: Vec<String>,
    /// Where each guard's `file` is written (parallel to `guards`).
    pub guard_locations: Vec<Location>,
    /// The `github:` section, when there is one.
    pub github: Option<GithubSettings>,
    /// The `git:` section (codify's branches).
    pub git: GitSettings,
}

/// Everything driftsync needs to know about one stack.
#[derive(Debug, Clone)]
pub struct StackSpec {
    pub name: String,
    /// Template path, relative to the repository root.
    pub template: String,
    /// Inline parameters; merged over `parameters_file` by [`StackSpec::parameters_with`].
    pub parameters: IndexMap<String, String>,
    /// Parameter file path, relative to the repository root.
    pub parameters_file: Option<String>,
    pub region: String,
    pub role_arn: Option<String>,
    pub capabilities: Vec<Capability>,
    pub tags: IndexMap<String, String>,
    /// Compare through Cloud Control (see `check --deep`).
    pub deep: bool,
    /// Where the stack is declared in the config.
    pub location: Location,
    /// The stack's own `policy:` section, tried before the top-level one.
    pub policy: Option<PolicySettings>,
    /// Where a template too large to send inline is uploaded (`artifacts:`).
    pub artifacts: Option<Artifacts>,
}

/// A compiled ignore rule.
#[derive(Debug, Clone)]
pub struct Ignore {
    pub rule: IgnoreRule,
    pub location: Location,
    stack: Option<GlobMatcher>,
    type_name: Option<GlobMatcher>,
    logical_id: Option<GlobMatcher>,
    property: Option<GlobMatcher>,
}

/// Why the config is unusable.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{file}:{location}: {message}")]
    Invalid {
        file: String,
        location: Location,
        message: String,
    },
    #[error("{file}: {message}")]
    Unlocated { file: String, message: String },
}

impl ConfigError {
    fn at(file: &str, location: Option<Location>, message: impl Into<String>) -> Self {
        let message = message.into();
        match location {
            Some(location) => ConfigError::Invalid {
                file: file.to_string(),
                location,
                message,
            },
            None => ConfigError::Unlocated {
                file: file.to_string(),
                message,
            },
        }
    }

    fn parse(file: &str, e: doc::ParseError) -> Self {
        let message = match e.location() {
            Some(loc) => e
                .to_string()
                .trim_start_matches(&format!("{loc}: "))
                .to_string(),
            None => e.to_string(),
        };
        ConfigError::at(file, e.location(), message)
    }
}

impl Config {
    /// Parses and validates the config at `path` (relative to the repository root).
    ///
    /// # Errors
    /// A [`ConfigError`] naming file:line:column for malformed YAML, unknown
    /// keys, wrong types, a missing region, duplicate stack names, bad names,
    /// ARNs or globs, and paths that leave the repository.
    pub fn parse(text: &str, path: &str) -> Result<Config, ConfigError> {
        let root = doc::parse(text, doc::Format::Yaml).map_err(|e| ConfigError::parse(path, e))?;
        let raw: RawConfig =
            doc::from_node(&root).map_err(|e| ConfigError::at(path, e.location, e.message))?;
        let at = |keys: &[&str]| pointer(&root, keys).map(|n| n.span.location());
        if raw.version != 1 {
            return Err(ConfigError::at(
                path,
                at(&["version"]),
                format!(
                    "unsupported config version {}; this driftsync reads version 1",
                    raw.version
                ),
            ));
        }
        let mut compiled = policy::compile_all(&raw, &root, path)?;
        let base = source::path::parent(path);
        let mut stacks: Vec<StackSpec> = Vec::with_capacity(raw.stacks.len());
        for (i, s) in raw.stacks.iter().enumerate() {
            let idx = i.to_string();
            let own = |key: &str| at(&["stacks", &idx, key]);
            let here = |key: &str| own(key).or(at(&["stacks", &idx]));
            check_stack_name(&s.name).map_err(|m| ConfigError::at(path, here("name"), m))?;
            if let Some(first) = stacks.iter().find(|p| p.name == s.name) {
                return Err(ConfigError::at(
                    path,
                    here("name"),
                    format!(
                        "stack \"{}\" is listed twice (first at {})",
                        s.name, first.location
                    ),
                ));
            }
            let region = s
                .region
                .clone()
                .or_else(|| raw.defaults.region.clone())
                .ok_or_else(|| {
                    ConfigError::at(
                        path,
                        at(&["stacks", &idx]),
                        format!(
                            "stack \"{}\" has no region: set `region` on it or `defaults.region`",
                            s.name
                        ),
                    )
                })?;
            check_region(&region).map_err(|m| {
                ConfigError::at(path, own("region").or(at(&["defaults", "region"])), m)
            })?;
            let role_arn = s.role_arn.clone().or_else(|| raw.defaults.role_arn.clone());
            if let Some(arn) = &role_arn {
                check_role_arn(arn).map_err(|m| {
                    ConfigError::at(path, own("role_arn").or(at(&["defaults", "role_arn"])), m)
                })?;
            }
            let template = source::path::join(base, &s.template)
                .map_err(|m| ConfigError::at(path, here("template"), m))?;
            let parameters_file = s
                .parameters_file
                .as_deref()
                .map(|p| source::path::join(base, p))
                .transpose()
                .map_err(|m| ConfigError::at(path, here("parameters_file"), m))?;
            let artifacts =
                artifacts::resolve(raw.defaults.artifacts.as_ref(), s.artifacts.as_ref()).map_err(
                    |(key, m)| {
                        let place = at(&["stacks", &idx, "artifacts", key])
                            .or(at(&["defaults", "artifacts", key]))
                            .or(own("artifacts"))
                            .or(at(&["defaults", "artifacts"]));
                        ConfigError::at(path, place, m)
                    },
                )?;
            let mut tags = raw.defaults.tags.clone();
            tags.extend(s.tags.clone());
            stacks.push(StackSpec {
                name: s.name.clone(),
                template,
                parameters: s.parameters.clone(),
                parameters_file,
                region,
                role_arn,
                capabilities: s
                    .capabilities
                    .clone()
                    .or_else(|| raw.defaults.capabilities.clone())
                    .unwrap_or_default(),
                tags,
                deep: s.deep.or(raw.defaults.deep).unwrap_or(false),
                location: at(&["stacks", &idx]).unwrap_or_default(),
                policy: compiled.stacks.get_mut(i).and_then(Option::take),
                artifacts,
            });
        }
        let ignore = raw
            .ignore
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                Ignore::compile(rule, at(&["ignore", &i.to_string()]).unwrap_or_default()).map_err(
                    |(key, m)| ConfigError::at(path, at(&["ignore", &i.to_string(), key]), m),
                )
            })
            .collect::<Result<_, _>>()?;
        let github = raw
            .github
            .as_ref()
            .map(|g| github::compile(g, &root, path))
            .transpose()?;
        let git = git::compile(raw.git.as_ref(), path, &|key| {
            at(&["git", key]).or(at(&["git"]))
        })?;
        Ok(Config {
            path: path.to_string(),
            git,
            stacks,
            ignore,
            policy: compiled.policy,
            guards: compiled.guards,
            guard_locations: compiled.guard_locations,
            github,
        })
    }

    /// The stack with this name.
    pub fn stack(&self, name: &str) -> Option<&StackSpec> {
        self.stacks.iter().find(|s| s.name == name)
    }
}

impl StackSpec {
    /// The parameters CloudFormation would receive: the parameter file's
    /// values (its text passed in by the caller), overridden by inline ones.
    ///
    /// # Errors
    /// A located error for a malformed parameter file.
    pub fn parameters_with(
        &self,
        file_text: Option<&str>,
    ) -> Result<IndexMap<String, String>, ConfigError> {
        let mut out = match (file_text, &self.parameters_file) {
            (Some(text), Some(path)) => parse_parameters_file(text, path)?,
            _ => IndexMap::new(),
        };
        out.extend(self.parameters.clone());
        Ok(out)
    }
}

/// Reads a parameter file: a map of names to values, or the AWS CLI's list
/// of `{ParameterKey, ParameterValue}`.
///
/// # Errors
/// A located error for malformed text or an unexpected shape.
pub fn parse_parameters_file(
    text: &str,
    path: &str,
) -> Result<IndexMap<String, String>, ConfigError> {
    let root =
        doc::parse(text, doc::Format::sniff(text)).map_err(|e| ConfigError::parse(path, e))?;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Pair {
        #[serde(rename = "ParameterKey")]
        key: String,
        #[serde(rename = "ParameterValue")]
        value: String,
        #[serde(rename = "UsePreviousValue", default)]
        _use_previous: Option<bool>,
        #[serde(rename = "ResolvedValue", default)]
        _resolved: Option<String>,
    }
    let located = |e: doc::DeError| ConfigError::at(path, e.location, e.message);
    match &root.kind {
        NodeKind::Seq(_) => {
            let pairs: Vec<Pair> = doc::from_node(&root).map_err(located)?;
            Ok(pairs.into_iter().map(|p| (p.key, p.value)).collect())
        }
        NodeKind::Map(_) => doc::from_node(&root).map_err(located),
        NodeKind::Scalar(_) => Err(ConfigError::at(
            path,
            Some(root.span.location()),
            "a parameter file must be a map of names to values, or a list of ParameterKey/ParameterValue pairs",
        )),
    }
}

impl Ignore {
    fn compile(rule: &IgnoreRule, location: Location) -> Result<Ignore, (&'static str, String)> {
        if rule.stack.is_none()
            && rule.type_name.is_none()
            && rule.logical_id.is_none()
            && rule.property.is_none()
        {
            return Err((
                "stack",
                "an ignore rule needs at least one of stack, type, logical_id or property".into(),
            ));
        }
        if let Some(p) = &rule.property
            && !p.starts_with('/')
        {
            return Err((
                "property",
                format!("property paths start with '/', as in CloudFormation (\"/{p}\")"),
            ));
        }
        Ok(Ignore {
            rule: rule.clone(),
            location,
            stack: compile_glob("stack", &rule.stack)?,
            type_name: compile_glob("type", &rule.type_name)?,
            logical_id: compile_glob("logical_id", &rule.logical_id)?,
            property: compile_glob("property", &rule.property)?,
        })
    }

    /// Whether this rule covers a difference.
    pub fn matches(
        &self,
        stack: &str,
        type_name: &str,
        logical_id: &str,
        property_path: &str,
    ) -> bool {
        let ok = |m: &Option<GlobMatcher>, v: &str| m.as_ref().is_none_or(|m| m.is_match(v));
        ok(&self.stack, stack)
            && ok(&self.type_name, type_name)
            && ok(&self.logical_id, logical_id)
            && ok(&self.property, property_path)
    }
}

/// Compiles an optional glob where `*` stays within one path segment and
/// `**` crosses them; the error names the key it came from.
fn compile_glob(
    key: &'static str,
    pattern: &Option<String>,
) -> Result<Option<GlobMatcher>, (&'static str, String)> {
    pattern
        .as_deref()
        .map(|p| {
            globset::GlobBuilder::new(p)
                .literal_separator(true)
                .build()
                .map(|g: Glob| g.compile_matcher())
                .map_err(|e| (key, format!("invalid {key} pattern \"{p}\": {}", e.kind())))
        })
        .transpose()
}

/// The node at a path of map keys and list indexes.
fn pointer<'a>(root: &'a Node, keys: &[&str]) -> Option<&'a Node> {
    let mut node = root;
    for key in keys {
        node = match &node.kind {
            NodeKind::Map(m) => &m.get(*key)?.value,
            NodeKind::Seq(items) => items.get(key.parse::<usize>().ok()?)?,
            NodeKind::Scalar(_) => return None,
        };
    }
    Some(node)
}

fn check_stack_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{name}\" is not a valid CloudFormation stack name: start with a letter, then letters, digits and hyphens, at most 128 characters"
        ))
    }
}

fn check_region(region: &str) -> Result<(), String> {
    let ok = region.split('-').count() >= 3
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{region}\" is not an AWS region name (like us-east-1)"
        ))
    }
}

fn check_role_arn(arn: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[1].starts_with("aws")
        && parts[2] == "iam"
        && parts[4].len() == 12
        && parts[4].chars().all(|c| c.is_ascii_digit())
        && parts[5].starts_with("role/");
    if ok {
        Ok(())
    } else {
        Err(format!(
            "\"{arn}\" is not an IAM role ARN (arn:aws:iam::123456789012:role/name)"
        ))
    }
}

/// The config's JSON Schema, as `driftsync schema` prints it.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(RawConfig)).expect("schema serialises")
}

#[cfg(test)]
mod tests;
