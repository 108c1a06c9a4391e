//! The proof that a proposal does what it says: the edited files parse, the
//! edited template resolves with the edited parameters, and every codified
//! property now resolves to its live value (so drift detection against the
//! new template finds nothing there). When `cfn-lint` is on PATH it runs on
//! the template before and after, and findings that are new are reported.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

use super::Proposal;
use super::provenance::FileRole;
use crate::config::Config;
use crate::drift::DifferenceKind;
use crate::load::StackState;
use crate::template::path::Segment;
use crate::template::resolve::{self, Inputs};
use crate::template::{Template, Value};

/// What the proof found.
#[derive(Debug, Clone, Serialize)]
pub struct Proof {
    /// Every codified property resolves to its live value in the new template.
    pub holds: bool,
    /// Why the edited files could not be re-read, when they could not.
    pub error: Option<String>,
    pub checks: Vec<Check>,
    /// `None` when cfn-lint is not installed or was not asked for.
    pub lint: Option<Lint>,
}

/// One codified property in the new template.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub logical_id: String,
    pub property_path: String,
    pub holds: bool,
    /// What the new template resolves to there (`None`: absent).
    pub resolved: Option<Value>,
}

/// cfn-lint on the template before and after.
#[derive(Debug, Clone, Serialize)]
pub struct Lint {
    /// Findings (`CODE message`) after the change that were not there before.
    pub new_findings: Vec<String>,
    /// Why cfn-lint could not run, when it was found but failed.
    pub error: Option<String>,
}

/// Re-reads the edited files and checks the codified properties.
pub fn prove(
    proposal: &Proposal,
    state: &StackState,
    config_path: &str,
    config_text: &str,
    parameters_text: Option<&str>,
    lint: bool,
) -> Proof {
    let after = |role: FileRole| {
        proposal
            .files
            .iter()
            .find(|f| f.role == role)
            .map(|f| f.after.as_str())
    };
    let template_text = after(FileRole::Template)
        .or(state.template_text.as_deref())
        .unwrap_or_default();
    let config_text = after(FileRole::Config).unwrap_or(config_text);
    let parameters_text = after(FileRole::Parameters).or(parameters_text);
    let mut proof = Proof {
        holds: false,
        error: None,
        checks: Vec::new(),
        lint: None,
    };
    match resolve_again(
        state,
        template_text,
        config_path,
        config_text,
        parameters_text,
    ) {
        Err(e) => proof.error = Some(e),
        Ok(desired) => {
            for c in &proposal.changes {
                let resolved = desired
                    .resources
                    .get(&c.logical_id)
                    .and_then(|r| at(&r.properties, &c.property_path.0));
                let holds = match c.kind {
                    DifferenceKind::Remove => resolved.is_none(),
                    _ => resolved.is_some() && resolved == c.actual,
                };
                proof.checks.push(Check {
                    logical_id: c.logical_id.clone(),
                    property_path: c.property_path.to_string(),
                    holds,
                    resolved,
                });
            }
            proof.holds = proof.checks.iter().all(|c| c.holds);
        }
    }
    if lint && let Some(before) = &state.template_text {
        proof.lint = cfn_lint(before, template_text, &state.spec.template);
    }
    proof
}

fn resolve_again(
    state: &StackState,
    template_text: &str,
    config_path: &str,
    config_text: &str,
    parameters_text: Option<&str>,
) -> Result<resolve::DesiredStack, String> {
    let spec = &state.spec;
    let template = Template::parse(template_text).map_err(|e| format!("{}:{e}", spec.template))?;
    let config = Config::parse(config_text, config_path).map_err(|e| e.to_string())?;
    let new_spec = config
        .stack(&spec.name)
        .ok_or_else(|| format!("the stack {} left the config", spec.name))?;
    let parameters = new_spec
        .parameters_with(parameters_text)
        .map_err(|e| e.to_string())?;
    let inputs = Inputs {
        parameters,
        ..state.inputs.clone().unwrap_or_default()
    };
    resolve::resolve(&template, &inputs).map_err(|e| format!("{}:{e}", spec.template))
}

fn at(props: &indexmap::IndexMap<String, Value>, path: &[Segment]) -> Option<Value> {
    let (first, rest) = path.split_first()?;
    let Segment::Key(k) = first else { return None };
    let mut v = props.get(k)?;
    for seg in rest {
        v = match (seg, v) {
            (Segment::Key(k), Value::Map(m)) => m.get(k)?,
            (Segment::Index(i), Value::List(items)) => items.get(*i)?,
            _ => return None,
        };
    }
    Some(v.clone())
}

impl Proof {
    /// The proof for a pull request body.
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        match &self.error {
            Some(e) => out.push_str(&format!("- ❌ the edited files do not load: {e}\n")),
            None => out.push_str("- ✅ the edited files parse and the template resolves\n"),
        }
        for c in &self.checks {
            let mark = if c.holds { "✅" } else { "❌" };
            out.push_str(&format!(
                "- {mark} `{} {}` now resolves to the live value\n",
                c.logical_id, c.property_path
            ));
        }
        match &self.lint {
            None => out.push_str(
                "- cfn-lint not run (not installed, or the template itself is unchanged)\n",
            ),
            Some(l) if l.error.is_some() => out.push_str(&format!(
                "- cfn-lint could not run: {}\n",
                l.error.as_deref().unwrap_or_default()
            )),
            Some(l) if l.new_findings.is_empty() => {
                out.push_str("- ✅ cfn-lint finds nothing new\n")
            }
            Some(l) => {
                out.push_str("- ⚠️ cfn-lint finds new problems:\n");
                for f in &l.new_findings {
                    out.push_str(&format!("  - {f}\n"));
                }
            }
        }
        out
    }
}

/// Runs cfn-lint on both texts when it is on PATH; `None` when it is not.
fn cfn_lint(before: &str, after: &str, name: &str) -> Option<Lint> {
    let exe = find_on_path("cfn-lint")?;
    let ext = Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("yaml");
    // One directory per run: proofs may run at once in one process.
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run_id = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("driftsync-lint-{}-{run_id}", std::process::id()));
    let run = |label: &str, text: &str| -> Result<Vec<String>, String> {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let file = dir.join(format!("{label}.{ext}"));
        std::fs::write(&file, text).map_err(|e| e.to_string())?;
        let out = Command::new(&exe)
            .args(["--format", "parseable", "--"])
            .arg(&file)
            .output()
            .map_err(|e| e.to_string())?;
        let _ = std::fs::remove_file(&file);
        // Exit codes are bit flags of finding levels; 32 and above is its own failure.
        if out.status.code().is_none_or(|c| c >= 32) {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(finding)
            .collect())
    };
    let lint = match (run("before", before), run("after", after)) {
        (Ok(b), Ok(a)) => Lint {
            new_findings: a.into_iter().filter(|f| !b.contains(f)).collect(),
            error: None,
        },
        (Err(e), _) | (_, Err(e)) => Lint {
            new_findings: Vec::new(),
            error: Some(e),
        },
    };
    let _ = std::fs::remove_dir(&dir);
    Some(lint)
}

/// `file:line:col:line:col:CODE:message` → `CODE message`, without the
/// position (lines move when a change adds or removes some).
fn finding(line: &str) -> Option<String> {
    let parts: Vec<&str> = line.splitn(7, ':').collect();
    let (code, message) = (parts.get(5)?, parts.get(6)?);
    Some(format!("{code} {message}"))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::finding;

    #[test]
    fn cfn_lint_findings_are_compared_without_their_position() {
        assert_eq!(
            finding(
                "/tmp/x/after.yaml:12:7:12:15:E3012:Property Resources/Q/Properties/Delay should be of type Integer: at 3:4"
            ),
            Some(
                "E3012 Property Resources/Q/Properties/Delay should be of type Integer: at 3:4"
                    .into()
            )
        );
        assert_eq!(finding("not a finding"), None);
    }
}
