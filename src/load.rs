//! Loads the desired state of every stack at a revision: the config from the
//! revision's tree, then each stack's template and parameter file, parsed,
//! checked and resolved. This is the `source → config → template::resolve`
//! part of the pipeline; a stack that fails to load carries its located
//! diagnostics instead of a desired state, so one bad stack never hides the
//! others.

use serde::Serialize;

use crate::config::{Config, ConfigError, StackSpec};
use crate::doc::Location;
use crate::source::{Revision, Source, SourceError};
use crate::template::resolve::{self, DesiredStack, Inputs, Pseudo};
use crate::template::schema::SchemaFacts;
use crate::template::validate::{Diagnostic, Severity, check_template};
use crate::template::{Template, TemplateError};

/// Every stack's desired state at one revision.
#[derive(Debug)]
pub struct Snapshot {
    pub revision: Revision,
    pub config: Config,
    pub stacks: Vec<StackState>,
    /// The guard files the config lists that could be read: `(path, text)`,
    /// as [`Policy::new`](crate::policy::Policy::new) takes them.
    pub guards: Vec<(String, String)>,
    /// Problems with files the config itself names (guard files): missing,
    /// not text, or not valid Guard.
    pub config_diagnostics: Vec<FileDiagnostic>,
}

/// One stack at a revision.
#[derive(Debug)]
pub struct StackState {
    pub spec: StackSpec,
    pub template: Option<Template>,
    /// The template's text as committed (what a deploy sends).
    pub template_text: Option<String>,
    /// Present when the template parsed, checked clean and resolved.
    pub desired: Option<DesiredStack>,
    /// What `desired` was resolved with (parameters and pseudo parameters).
    pub inputs: Option<Inputs>,
    pub diagnostics: Vec<FileDiagnostic>,
}

/// A diagnostic with the file it is in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileDiagnostic {
    pub file: String,
    #[serde(flatten)]
    pub diagnostic: Diagnostic,
}

impl FileDiagnostic {
    /// `file:line:column` (or just the file).
    pub fn place(&self) -> String {
        match self.diagnostic.location {
            Some(l) => format!("{}:{}", self.file, l),
            None => self.file.clone(),
        }
    }
}

/// Why a revision could not be loaded at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    // Not a `source`: the message already holds it, and error chains would
    // print it twice.
    #[error("cannot read the config: {0}")]
    Source(SourceError),
    #[error(
        "{path} is in the working tree but not in commit {rev}: driftsync reads commits, not the working tree; commit it (git add {path} && git commit) or pass --rev with a commit that has it"
    )]
    ConfigNotCommitted { path: String, rev: String },
    #[error("{0}")]
    Config(#[from] ConfigError),
}

impl From<SourceError> for LoadError {
    fn from(e: SourceError) -> Self {
        LoadError::Source(e)
    }
}

impl StackState {
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.diagnostic.severity == Severity::Error)
    }
}

/// Loads the config at `config_path` and every stack it lists.
///
/// # Errors
/// When the config itself cannot be read or is invalid; problems in one
/// stack's files are diagnostics on that stack instead.
pub fn load(
    source: &Source,
    revision: &Revision,
    config_path: &str,
) -> Result<Snapshot, LoadError> {
    let text = source
        .read_text(revision, config_path)
        .map_err(|e| match e {
            SourceError::MissingFile { .. } if source.in_working_tree(config_path) => {
                LoadError::ConfigNotCommitted {
                    path: config_path.to_string(),
                    rev: revision.short().to_string(),
                }
            }
            e => LoadError::Source(e),
        })?;
    let config = Config::parse(&text, config_path)?;
    let (guards, config_diagnostics) = load_guards(source, revision, &config);
    let schema = SchemaFacts::embedded();
    let stacks = config
        .stacks
        .iter()
        .map(|spec| load_stack(source, revision, spec, config_path, schema))
        .collect();
    Ok(Snapshot {
        revision: revision.clone(),
        config,
        stacks,
        guards,
        config_diagnostics,
    })
}

impl Snapshot {
    /// Whether the config's own files (guards) loaded cleanly.
    pub fn config_has_errors(&self) -> bool {
        self.config_diagnostics
            .iter()
            .any(|d| d.diagnostic.severity == Severity::Error)
    }

    /// The policy for this revision.
    ///
    /// # Errors
    /// When a guard file is missing or not valid Guard (also reported in
    /// `config_diagnostics`).
    pub fn policy(&self) -> Result<crate::policy::Policy, crate::policy::PolicyError> {
        crate::policy::Policy::new(&self.config, &self.guards)
    }
}

/// Reads every guard file and checks that Guard can parse it. A file that
/// cannot be read is located at its `guards:` entry in the config; one that
/// does not parse, where Guard says (else at that entry too).
fn load_guards(
    source: &Source,
    revision: &Revision,
    config: &Config,
) -> (Vec<(String, String)>, Vec<FileDiagnostic>) {
    let mut guards = Vec::new();
    let mut diagnostics = Vec::new();
    for (i, path) in config.guards.iter().enumerate() {
        let entry = config.guard_locations.get(i).copied();
        match read_text(source, revision, path) {
            Err((_, message)) => diagnostics.push(FileDiagnostic {
                file: config.path.clone(),
                diagnostic: Diagnostic::error(
                    "unreadable-guard",
                    entry,
                    format!("guard file {path}: {message}"),
                ),
            }),
            Ok(text) => {
                if let Err(crate::policy::PolicyError::GuardParse {
                    location, message, ..
                }) = crate::policy::check_guard(path, &text)
                {
                    let (file, location) = match location {
                        Some(l) => (path.clone(), Some(l)),
                        None => (config.path.clone(), entry),
                    };
                    diagnostics.push(FileDiagnostic {
                        file,
                        diagnostic: Diagnostic::error(
                            "guard-error",
                            location,
                            format!("guard file {path} is not valid Guard: {message}"),
                        ),
                    });
                }
                guards.push((path.clone(), text));
            }
        }
    }
    (guards, diagnostics)
}

fn load_stack(
    source: &Source,
    revision: &Revision,
    spec: &StackSpec,
    config_path: &str,
    schema: &SchemaFacts,
) -> StackState {
    let mut state = StackState {
        spec: spec.clone(),
        template: None,
        template_text: None,
        desired: None,
        inputs: None,
        diagnostics: Vec::new(),
    };
    let file_error = |file: &str,
                      location: Option<Location>,
                      code: &'static str,
                      message: String| FileDiagnostic {
        file: file.to_string(),
        diagnostic: Diagnostic::error(code, location, message),
    };
    let text = match read_text(source, revision, &spec.template) {
        Ok(t) => t,
        Err((location, message)) => {
            state.diagnostics.push(file_error(
                &spec.template,
                location,
                "unreadable-template",
                message,
            ));
            return state;
        }
    };
    let params_text = match &spec.parameters_file {
        None => None,
        Some(p) => match read_text(source, revision, p) {
            Ok(t) => Some(t),
            Err((location, message)) => {
                state
                    .diagnostics
                    .push(file_error(p, location, "unreadable-parameters", message));
                return state;
            }
        },
    };
    let template = match Template::parse(&text) {
        Ok(t) => t,
        Err(e) => {
            let message = strip_location(&e.to_string(), e.location());
            let code = match e {
                TemplateError::Parse(_) => "parse-error",
                _ => "template-error",
            };
            state
                .diagnostics
                .push(file_error(&spec.template, e.location(), code, message));
            return state;
        }
    };
    state
        .diagnostics
        .extend(
            check_template(&template, schema)
                .into_iter()
                .map(|d| FileDiagnostic {
                    file: spec.template.clone(),
                    diagnostic: d,
                }),
        );
    let parameters = match spec.parameters_with(params_text.as_deref()) {
        Ok(p) => p,
        Err(e) => {
            state.diagnostics.push(file_error(
                spec.parameters_file.as_deref().unwrap_or_default(),
                None,
                "bad-parameters",
                e.to_string(),
            ));
            state.template = Some(template);
            return state;
        }
    };
    if !state.has_errors() {
        let inputs = Inputs {
            parameters,
            pseudo: Pseudo {
                region: Some(spec.region.clone()),
                stack_name: Some(spec.name.clone()),
                ..Pseudo::default()
            },
            ..Inputs::default()
        };
        match resolve::resolve(&template, &inputs) {
            Ok(d) => {
                state.desired = Some(d);
                state.inputs = Some(inputs);
            }
            Err(e) => {
                let (file, location) = match &e {
                    // A parameter the config gives but the template lacks is the config's fault.
                    resolve::ResolveError::UndeclaredParameter { .. } => (String::new(), None),
                    _ => (spec.template.clone(), e.location()),
                };
                let file = if file.is_empty() {
                    spec.parameters_file
                        .clone()
                        .unwrap_or_else(|| config_path.to_string())
                } else {
                    file
                };
                let location = location.or(if spec.parameters_file.is_none() {
                    Some(spec.location)
                } else {
                    None
                });
                state.diagnostics.push(file_error(
                    &file,
                    location,
                    "resolve-error",
                    strip_location(&e.to_string(), e.location()),
                ));
            }
        }
    }
    state.template = Some(template);
    state.template_text = Some(text);
    state
}

/// Reads a text file; a failure comes with its location (for bytes that
/// are not UTF-8) and a message that does not repeat the file name.
fn read_text(
    source: &Source,
    revision: &Revision,
    file: &str,
) -> Result<String, (Option<Location>, String)> {
    let bytes = source.read(revision, file).map_err(|e| {
        let message = match &e {
            SourceError::MissingFile { .. } => format!("file not found at {}", revision.short()),
            other => other.to_string(),
        };
        (None, message)
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let prefix = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        let location = crate::doc::LineIndex::new(prefix).location(valid);
        (
            Some(location),
            format!("not UTF-8 text (invalid byte {:#04x})", bytes[valid]),
        )
    })
}

/// Drops a leading `line:col: ` that the error already carries separately.
fn strip_location(message: &str, location: Option<Location>) -> String {
    match location {
        Some(l) => message
            .strip_prefix(&format!("{l}: "))
            .unwrap_or(message)
            .to_string(),
        None => message.to_string(),
    }
}
