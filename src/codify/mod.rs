//! Codify: when a live change should stay, propose the template change that
//! makes Git say what is live — exactly the drifted values, nothing more.
//!
//! The stages: [`propose`] traces each drifted value to where it is written
//! ([`provenance`]: the literal, the stack's parameter value, the parameter
//! `Default`, a mapping entry) and splices the live value into that file by
//! its source span ([`edit`]); [`proof`] re-parses and re-resolves the
//! result to show the codified properties now equal live (and runs cfn-lint
//! when it is installed); [`git`] commits the files on a branch named after
//! the drift and pushes it; [`PullRequest`] is the title and body the
//! `github` module opens the pull request with (through `sync::review`).
//!
//! Owns the template edits and the codify branch. It never writes read-only
//! properties, never codifies write-only or secret values (NoEcho
//! parameters, `{{resolve:...}}`), never codifies what a guard refused, and
//! never touches the base branch. It does not decide *whether* to codify
//! (that is `policy`) and does not talk to GitHub.

pub mod edit;
pub mod git;
mod pr;
pub mod proof;
pub mod provenance;
mod stack;

use indexmap::IndexMap;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::check::StackCheck;
use crate::doc::Format;
use crate::drift::DifferenceKind;
use crate::load::StackState;
use crate::template::schema::SchemaFacts;
use crate::template::{PropertyPath, Value};
use edit::{Edit, EditError, Op};
use provenance::{FileRole, StackFiles};

pub use pr::PullRequest;
pub use stack::{Prepared, guard_refusals, prepare, push};

/// Why codify could not run at all (single refused values are [`Skipped`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodifyError {
    #[error("stack {stack}: the committed template did not load, so there is nothing to edit")]
    NoTemplate { stack: String },
    #[error("{file}: {source}")]
    Edit {
        file: String,
        #[source]
        source: EditError,
    },
    #[error(transparent)]
    Git(#[from] git::GitError),
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    #[error("stack {stack}: the edited template does not match live, so it is not proposed: {why}")]
    Unproven { stack: String, why: String },
    #[error(transparent)]
    HostRefused(#[from] crate::allowed_hosts::HostRefused),
}

/// Everything [`propose`] reads. Texts are as committed at the base revision.
pub struct Input<'a> {
    pub state: &'a StackState,
    pub check: &'a StackCheck,
    /// The stack's index in the config's `stacks` list.
    pub stack_index: usize,
    pub config_path: &'a str,
    pub config_text: &'a str,
    pub parameters_text: Option<&'a str>,
    /// The differences to codify, by resource and path; `None` means every
    /// real difference of the stack.
    pub wanted: Option<&'a [(String, PropertyPath)]>,
    /// Differences the policy will not let be codified (guard violations), and why.
    pub refused: &'a [(String, PropertyPath, String)],
}

/// One drifted value written into a file.
#[derive(Debug, Clone, Serialize)]
pub struct Change {
    pub logical_id: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub property_path: PropertyPath,
    pub kind: DifferenceKind,
    pub expected: Option<Value>,
    pub actual: Option<Value>,
    /// The repository path of the file changed.
    pub file: String,
    pub role: FileRole,
    /// How the value is written there ("the parameter LogLevel, given in ...").
    pub via: String,
}

/// A drifted value left alone, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub logical_id: String,
    pub property_path: PropertyPath,
    pub reason: String,
}

/// One file before and after.
#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    pub path: String,
    pub role: FileRole,
    #[serde(skip)]
    pub before: String,
    #[serde(skip)]
    pub after: String,
}

/// What codify proposes for one stack.
#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    pub stack: String,
    /// The commit the change is made on.
    pub base_revision: String,
    pub changes: Vec<Change>,
    pub skipped: Vec<Skipped>,
    pub files: Vec<FileChange>,
    /// Names the drift: a digest of which properties drifted (not of their
    /// values), so the same drift keeps its branch and new values update it.
    pub drift_id: String,
}

/// Proposes the edits that make the stack's files say what is live.
///
/// # Errors
/// [`CodifyError::NoTemplate`] when the committed template did not parse.
pub fn propose(input: &Input<'_>) -> Result<Proposal, CodifyError> {
    let state = input.state;
    let spec = &state.spec;
    let (Some(template), Some(template_text)) = (&state.template, &state.template_text) else {
        return Err(CodifyError::NoTemplate {
            stack: spec.name.clone(),
        });
    };
    let files = StackFiles {
        spec,
        index: input.stack_index,
        parameters_text: input.parameters_text,
        template_text,
        conditions: state.desired.as_ref().map(|d| &d.conditions),
    };
    let texts: IndexMap<FileRole, (String, &str)> = [
        Some((
            FileRole::Template,
            (spec.template.clone(), template_text.as_str()),
        )),
        Some((
            FileRole::Config,
            (input.config_path.to_string(), input.config_text),
        )),
        spec.parameters_file
            .clone()
            .zip(input.parameters_text)
            .map(|f| (FileRole::Parameters, f)),
    ]
    .into_iter()
    .flatten()
    .collect();

    let mut proposal = Proposal {
        stack: spec.name.clone(),
        base_revision: String::new(),
        changes: Vec::new(),
        skipped: Vec::new(),
        files: Vec::new(),
        drift_id: String::new(),
    };
    let mut edits: IndexMap<FileRole, Vec<(Edit, usize)>> = IndexMap::new();
    for r in input.check.drift.iter().filter(|r| r.is_drifted()) {
        for d in r.differences.iter().filter(|d| d.ignored_by.is_none()) {
            let key = (r.logical_id.clone(), d.property_path.clone());
            if input.wanted.is_some_and(|w| !w.contains(&key)) {
                continue;
            }
            let skip = |reason: String| Skipped {
                logical_id: r.logical_id.clone(),
                property_path: d.property_path.clone(),
                reason,
            };
            let reason = refusal(input, r, d).err();
            let target = match reason {
                Some(reason) => Err(reason),
                None => {
                    provenance::trace(template, &files, &r.logical_id, &d.property_path, d.kind)
                }
            };
            let target = match target {
                Ok(t) => t,
                Err(reason) => {
                    proposal.skipped.push(skip(reason));
                    continue;
                }
            };
            let value = d.actual.as_ref().map(|v| {
                if target.as_parameter {
                    serde_json::Value::String(parameter_text(v))
                } else {
                    v.to_json()
                }
            });
            let op = match (d.kind, value) {
                (DifferenceKind::Remove, _) => Op::Remove,
                (DifferenceKind::Add, Some(v)) => Op::Add(v),
                (DifferenceKind::NotEqual, Some(v)) => Op::Replace(v),
                (_, None) => {
                    proposal
                        .skipped
                        .push(skip("the live value is unknown".into()));
                    continue;
                }
            };
            let edit = Edit {
                path: target.path.clone(),
                op,
            };
            let list = edits.entry(target.role).or_default();
            // Two drifted values from one parameter or mapping entry: one edit,
            // unless they disagree.
            if let Some((other, _)) = list.iter().find(|(e, _)| e.path == edit.path) {
                if *other != edit {
                    proposal.skipped.push(skip(format!(
                        "{} also feeds another drifted value that is now different; a person must choose",
                        target.via
                    )));
                    continue;
                }
            } else {
                list.push((edit, proposal.changes.len()));
            }
            proposal.changes.push(Change {
                logical_id: r.logical_id.clone(),
                type_name: r.type_name.clone(),
                property_path: d.property_path.clone(),
                kind: d.kind,
                expected: d.expected.clone(),
                actual: d.actual.clone(),
                file: texts
                    .get(&target.role)
                    .map(|(p, _)| p.clone())
                    .unwrap_or_default(),
                role: target.role,
                via: target.via,
            });
        }
    }

    for (role, list) in edits {
        let Some((path, before)) = texts.get(&role) else {
            continue;
        };
        let all: Vec<Edit> = list.iter().map(|(e, _)| e.clone()).collect();
        let after = edit::apply(before, Format::sniff(before), &all).map_err(|source| {
            CodifyError::Edit {
                file: path.clone(),
                source,
            }
        })?;
        if after != *before {
            proposal.files.push(FileChange {
                path: path.clone(),
                role,
                before: before.to_string(),
                after,
            });
        }
    }
    proposal.drift_id = drift_id(&proposal.changes);
    Ok(proposal)
}

/// Refuses what must never be written: read-only (AWS's) and write-only
/// (never read back) properties, dynamic references, and what the policy
/// refused.
fn refusal(
    input: &Input<'_>,
    r: &crate::check::ResourceReport,
    d: &crate::drift::Difference,
) -> Result<(), String> {
    if let Some((_, _, why)) = input
        .refused
        .iter()
        .find(|(id, p, _)| *id == r.logical_id && *p == d.property_path)
    {
        return Err(why.clone());
    }
    if r.status == "DELETED" {
        return Err("deleted live; removing it from the template is left for a person".into());
    }
    if let Some(facts) = SchemaFacts::embedded().get(&r.type_name) {
        if facts.is_read_only(&d.property_path) {
            return Err("read-only: AWS sets it, a template cannot".into());
        }
        if facts.is_write_only(&d.property_path) {
            return Err("write-only: AWS never returns it, so the live value is not known".into());
        }
    }
    let dynamic = |v: &Option<Value>| {
        v.as_ref()
            .is_some_and(|v| v.to_json().to_string().contains("{{resolve:"))
    };
    if dynamic(&d.expected) || dynamic(&d.actual) {
        return Err(
            "a dynamic reference ({{resolve:...}}): secrets are never written to Git".into(),
        );
    }
    Ok(())
}

/// A value as CloudFormation takes a parameter: text, lists joined by commas.
fn parameter_text(v: &Value) -> String {
    match v {
        Value::List(items) => items
            .iter()
            .map(|i| i.scalar_text().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(","),
        other => other
            .scalar_text()
            .unwrap_or_else(|| other.to_json().to_string()),
    }
}

fn drift_id(changes: &[Change]) -> String {
    let mut keys: Vec<String> = changes
        .iter()
        .map(|c| format!("{} {}", c.logical_id, c.property_path))
        .collect();
    keys.sort();
    keys.dedup();
    Sha256::digest(keys.join("\n").as_bytes())
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Proposal {
    /// Whether there is anything to commit.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// `driftsync/codify/<stack>-<drift id>`.
    pub fn branch(&self) -> String {
        format!("driftsync/codify/{}-{}", self.stack, self.drift_id)
    }

    /// The change as a unified diff (what `git diff` shows), files in order.
    pub fn patch(&self) -> String {
        let mut out = String::new();
        for f in &self.files {
            let path = std::path::Path::new(&f.path);
            let mut opts = git2::DiffOptions::new();
            opts.context_lines(3);
            if let Ok(mut p) = git2::Patch::from_buffers(
                f.before.as_bytes(),
                Some(path),
                f.after.as_bytes(),
                Some(path),
                Some(&mut opts),
            ) && let Ok(buf) = p.to_buf()
            {
                out.push_str(&String::from_utf8_lossy(&buf));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
