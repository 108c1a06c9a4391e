//! Drift between a resource's *expected* properties (what the template says)
//! and its *actual* live properties, as CloudFormation-style differences
//! (`PropertyPath`, `ADD` / `REMOVE` / `NOT_EQUAL`), with a schema-driven
//! noise filter.
//!
//! The filter suppresses the false positives CloudFormation users report
//! (`aws:*` and stack tags, `"80"` vs `80`, `TCP` vs `tcp`, policy JSON
//! shape and order, unordered lists, AWS defaults) and the user's `ignore:`
//! rules. A suppressed difference is kept, marked with the normaliser or rule
//! responsible, so `--show-ignored` can show why it was hidden. The
//! normalisers, by stable name, are listed in [`normalize::NAMES`].
//!
//! In both [`Mode`]s, properties the resource schema marks read-only (AWS's
//! to set) or write-only (never returned) are not compared at all, and
//! lists marked `insertionOrder: false` compare as multisets: a changed item
//! is a `REMOVE` at its template index and an `ADD` at its live index, as
//! CloudFormation reports `/SecurityGroupIngress/1`; a difference inside a
//! paired item (by a `Key`, `PolicyName`, `Id` or `Name` field) is located
//! at the item's template index.
//!
//! Pure: no AWS, no I/O, no printing, no panics on any input. It must not
//! decide what to do about drift (that is `policy`), nor fetch live state
//! (that is `live`); callers hand it both property documents.

pub mod attached;
mod cloudformation;
mod compare;
mod identity;
pub mod normalize;

#[cfg(test)]
mod tests;

use indexmap::IndexMap;
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::config::Ignore;
use crate::doc::Location;
use crate::template::PropertyPath;
use crate::template::Value;
use crate::template::schema::SchemaFacts;

pub use attached::{Attached, StackResource, attachments};
pub use cloudformation::from_cloudformation;
pub use identity::{digest, loop_path};

/// Where the two property documents come from, which decides what is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// CloudFormation drift detection's `ExpectedProperties` /
    /// `ActualProperties`. As AWS does, only what the template sets is
    /// compared: map keys only in `actual` are ignored (except inside a
    /// map-shaped tag property, whose keys are data, not properties).
    CloudFormation,
    /// driftsync's own resolved template against Cloud Control's
    /// `GetResource`. Live properties the template does not declare are
    /// reported as `ADD` (drift CloudFormation cannot see) unless a
    /// normaliser explains them.
    Deep,
}

/// One resource to compare.
#[derive(Debug, Clone, Copy)]
pub struct ResourceInput<'a> {
    pub stack: &'a str,
    pub logical_id: &'a str,
    pub type_name: &'a str,
    pub expected: &'a IndexMap<String, Value>,
    pub actual: &'a IndexMap<String, Value>,
    pub mode: Mode,
    /// List items other resources of the stack attach to this one
    /// ([`attachments`]); empty outside [`Mode::Deep`].
    pub attached: &'a [Attached],
}

/// What the comparison needs besides the two documents.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Usually [`SchemaFacts::embedded`].
    pub schema: &'a SchemaFacts,
    /// The stack's tags, which CloudFormation propagates to its resources.
    pub stack_tags: &'a IndexMap<String, String>,
    /// The config's `ignore:` rules, applied after the normalisers.
    pub ignore: &'a [Ignore],
}

/// One property that differs, in CloudFormation's terms.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Difference {
    /// Below the resource's `Properties`, e.g. `/SecurityGroupIngress/1`.
    pub property_path: PropertyPath,
    pub kind: DifferenceKind,
    /// `None` (JSON `null`) for `ADD`.
    pub expected: Option<Value>,
    /// `None` for `REMOVE`.
    pub actual: Option<Value>,
    /// Why this difference is not drift; `None` means it is.
    pub ignored_by: Option<Suppression>,
    /// Built from a NoEcho parameter or a secret dynamic reference: both
    /// values show as `(secret)` and it is never patched back.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
}

/// CloudFormation's `DifferenceType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DifferenceKind {
    /// Present live, absent from the template (or an added list item).
    Add,
    /// In the template, absent live.
    Remove,
    NotEqual,
}

/// What hid a difference.
#[derive(Debug, Clone, PartialEq)]
pub enum Suppression {
    /// A built-in normaliser, by its stable kebab-case name.
    Normalizer(&'static str),
    /// A user `ignore:` rule, located in the config file.
    Rule {
        reason: Option<String>,
        location: Location,
    },
}

impl Difference {
    /// Whether a normaliser or rule hid this difference.
    pub fn is_ignored(&self) -> bool {
        self.ignored_by.is_some()
    }
}

impl DifferenceKind {
    /// CloudFormation's spelling: `ADD`, `REMOVE` or `NOT_EQUAL`.
    pub fn as_str(self) -> &'static str {
        match self {
            DifferenceKind::Add => "ADD",
            DifferenceKind::Remove => "REMOVE",
            DifferenceKind::NotEqual => "NOT_EQUAL",
        }
    }
}

/// `{"normalizer": "number-string"}` or
/// `{"rule": {"reason": ..., "line": .., "column": ..}}`.
impl Serialize for Suppression {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct RuleRef<'a> {
            reason: &'a Option<String>,
            line: u32,
            column: u32,
        }
        let mut m = s.serialize_map(Some(1))?;
        match self {
            Suppression::Normalizer(name) => m.serialize_entry("normalizer", name)?,
            Suppression::Rule { reason, location } => m.serialize_entry(
                "rule",
                &RuleRef {
                    reason,
                    line: location.line,
                    column: location.col,
                },
            )?,
        }
        m.end()
    }
}

/// Compares one resource. Returns every difference, real and suppressed,
/// sorted by property path (for one path: `REMOVE`, `NOT_EQUAL`, `ADD`).
/// Normalisers run first; the context's ignore rules then judge what they
/// left, matched on the stack, type, logical id and the path as text.
pub fn compare(input: &ResourceInput<'_>, ctx: &Context<'_>) -> Vec<Difference> {
    let walker = compare::Walker::new(ctx, input.type_name, input.mode);
    let detached;
    let (actual, mut out) = if input.attached.is_empty() {
        (input.actual, Vec::new())
    } else {
        let mut live = input.actual.clone();
        let found = attached::detach(&walker, input.attached, &mut live);
        detached = live;
        (&detached, found)
    };
    out.extend(walker.resource(input.expected, actual));
    apply_rules(
        &mut out,
        ctx,
        input.stack,
        input.type_name,
        input.logical_id,
    );
    sort(&mut out);
    out
}

/// Marks and masks the differences `is_secret` covers, so both values show
/// as `(secret)` wherever they go. One whose expected value cannot be known
/// (a secret dynamic reference, or CloudFormation's `****` for a NoEcho
/// value) cannot be compared either: it is suppressed as
/// [`normalize::SECRET_REFERENCE`], as CloudFormation's own detection skips
/// dynamic references.
pub fn mask_secrets(diffs: &mut [Difference], is_secret: impl Fn(&PropertyPath) -> bool) {
    for d in diffs {
        let secret = is_secret(&d.property_path);
        let unknowable = d.expected.as_ref().is_some_and(|v| {
            let text = v.to_json().to_string();
            crate::template::secret::is_secret_reference(&text)
                || (secret && text.contains(crate::template::secret::AWS_MASK))
        });
        if !(secret || unknowable) {
            continue;
        }
        if unknowable && d.ignored_by.is_none() {
            d.ignored_by = Some(Suppression::Normalizer(normalize::SECRET_REFERENCE));
        }
        d.secret = true;
        for v in [&mut d.expected, &mut d.actual] {
            if v.is_some() {
                *v = Some(Value::String(crate::template::secret::SHOWN_AS.into()));
            }
        }
    }
}

/// Whether any difference is real drift (not suppressed).
pub fn is_drifted(diffs: &[Difference]) -> bool {
    diffs.iter().any(|d| d.ignored_by.is_none())
}

/// The user's rules see only what the normalisers left; the first rule that
/// matches wins.
fn apply_rules(
    diffs: &mut [Difference],
    ctx: &Context<'_>,
    stack: &str,
    type_name: &str,
    logical_id: &str,
) {
    for d in diffs.iter_mut().filter(|d| d.ignored_by.is_none()) {
        let path = d.property_path.to_string();
        if let Some(rule) = ctx
            .ignore
            .iter()
            .find(|r| r.matches(stack, type_name, logical_id, &path))
        {
            d.ignored_by = Some(Suppression::Rule {
                reason: rule.rule.reason.clone(),
                location: rule.location,
            });
        }
    }
}

fn sort(diffs: &mut [Difference]) {
    let rank = |k: DifferenceKind| match k {
        DifferenceKind::Remove => 0,
        DifferenceKind::NotEqual => 1,
        DifferenceKind::Add => 2,
    };
    diffs.sort_by(|a, b| {
        a.property_path
            .cmp(&b.property_path)
            .then(rank(a.kind).cmp(&rank(b.kind)))
    });
}
