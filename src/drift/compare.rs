//! The walk: expected and actual values paired node by node, each mismatch
//! turned into a [`Difference`] and offered to the normalisers.
//!
//! Maps pair by key; lists by position, unless the schema says their order
//! does not matter (`insertionOrder: false`) or they hold tags, in which case
//! items pair by equality, then by what normalisers explain, then by an
//! identity field (a tag's `Key`, a policy's `PolicyName`, an origin's `Id`).
//! Paths inside a paired item use the item's index in the template.

use std::collections::{HashMap, VecDeque};

use indexmap::IndexMap;

use super::normalize::{self, Side};
use super::{Context, Difference, DifferenceKind, Mode, Suppression};
use crate::template::schema::TypeFacts;
use crate::template::{PropertyPath, Unresolved, Value};

/// Fields that name a list item, so a changed item is reported inside it
/// rather than as a removal and an addition. Security group rules have none:
/// a changed rule is a different rule, as CloudFormation reports it.
const IDENTITY_KEYS: &[&str] = &["Key", "PolicyName", "Id", "Name"];

/// Pairwise comparisons allowed per unordered list once exact twins are
/// paired; beyond it (thousands of changed items, as in a rewritten IP set)
/// leftover items pair only by identity, which keeps the walk's time bounded.
const MAX_COMPARISONS: usize = 100_000;

/// Which live item each template item of an unordered list pairs with.
struct Pairing {
    pair: Vec<Option<usize>>,
    /// Whether the pair is equal, with nothing to report inside.
    exact: Vec<bool>,
    used: Vec<bool>,
}

impl Pairing {
    fn link(&mut self, i: usize, j: usize, exact: bool) {
        self.pair[i] = Some(j);
        self.exact[i] = exact;
        self.used[j] = true;
    }
}

/// Compares values for one resource type.
#[derive(Clone, Copy)]
pub(super) struct Walker<'a> {
    pub ctx: &'a Context<'a>,
    pub facts: Option<&'a TypeFacts>,
    pub type_name: &'a str,
    pub mode: Mode,
}

/// Where a value sits: its path, and the maps that hold it on each side (a
/// security group rule's protocol decides how its ports compare).
#[derive(Clone, Copy)]
pub(super) struct Site<'p> {
    pub path: &'p PropertyPath,
    pub parent_expected: Option<&'p IndexMap<String, Value>>,
    pub parent_actual: Option<&'p IndexMap<String, Value>>,
}

impl<'p> Site<'p> {
    pub fn at(path: &'p PropertyPath) -> Self {
        Site {
            path,
            parent_expected: None,
            parent_actual: None,
        }
    }

    fn within(
        path: &'p PropertyPath,
        parent_expected: &'p IndexMap<String, Value>,
        parent_actual: &'p IndexMap<String, Value>,
    ) -> Self {
        Site {
            path,
            parent_expected: Some(parent_expected),
            parent_actual: Some(parent_actual),
        }
    }
}

/// How two values relate, once normalisers have had their say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Same,
    /// Different only in ways the named normaliser (the first one) explains.
    Equivalent(&'static str),
    Different,
}

impl<'a> Walker<'a> {
    pub fn new(ctx: &'a Context<'a>, type_name: &'a str, mode: Mode) -> Self {
        Walker {
            ctx,
            facts: ctx.schema.get(type_name),
            type_name,
            mode,
        }
    }

    pub fn with_mode(self, mode: Mode) -> Self {
        Walker { mode, ..self }
    }

    /// Every difference between two property documents, unsorted.
    pub fn resource(
        &self,
        expected: &IndexMap<String, Value>,
        actual: &IndexMap<String, Value>,
    ) -> Vec<Difference> {
        let mut out = Vec::new();
        self.map(&PropertyPath::root(), expected, actual, &mut out);
        out
    }

    /// Compares what sits at one site on each side.
    pub fn node(
        &self,
        site: Site<'_>,
        e: Option<&Value>,
        a: Option<&Value>,
        out: &mut Vec<Difference>,
    ) {
        if self.never_compared(site.path) {
            return;
        }
        match (e, a) {
            (None, None) => {}
            // Only write-only values (a Lambda function's `Code.ZipFile`),
            // which AWS never returns.
            (Some(e), None) if self.only_write_only(site.path, e) => {}
            (Some(e), None) => {
                let why = normalize::absent(self, site, e, Side::Expected);
                out.push(difference(
                    site.path,
                    DifferenceKind::Remove,
                    Some(e),
                    None,
                    why,
                ));
            }
            (None, Some(a)) => self.added(site, a, out),
            (Some(e), Some(a)) => self.both(site, e, a, out),
        }
    }

    /// How two values relate, without keeping the differences.
    pub fn verdict(&self, path: &PropertyPath, e: &Value, a: &Value) -> Verdict {
        let mut scratch = Vec::new();
        self.node(Site::at(path), Some(e), Some(a), &mut scratch);
        summarize(&scratch)
    }

    /// The schema's read-only properties are AWS's to set, and write-only
    /// ones are never returned: neither can drift in a way we can see.
    fn never_compared(&self, path: &PropertyPath) -> bool {
        self.facts
            .is_some_and(|f| f.is_read_only(path) || f.is_write_only(path))
    }

    /// Whether `e` is a non-empty map whose every leaf is write-only.
    fn only_write_only(&self, path: &PropertyPath, e: &Value) -> bool {
        let Some(m) = e.as_map().filter(|m| !m.is_empty()) else {
            return false;
        };
        m.iter().all(|(k, v)| {
            let p = path.key(k);
            self.never_compared(&p) || self.only_write_only(&p, v)
        })
    }

    /// Whether `path` is the resource's tag property (the schema's
    /// `tagging.tag_property`, or `/Tags` when the schema does not say).
    pub fn is_tag_property(&self, path: &PropertyPath) -> bool {
        match self
            .facts
            .and_then(|f| f.tagging.as_ref())
            .and_then(|t| t.tag_property.as_deref())
        {
            Some(pattern) => path.matches(pattern),
            None => path.0.len() == 1 && path.first_key() == Some("Tags"),
        }
    }

    /// Tags are a set keyed by `Key` whatever the schema says of the list.
    pub fn is_unordered(&self, path: &PropertyPath) -> bool {
        self.facts.is_some_and(|f| f.is_unordered(path)) || self.is_tag_property(path)
    }

    fn added(&self, site: Site<'_>, a: &Value, out: &mut Vec<Difference>) {
        // A tag property the template leaves out compares as empty, so each
        // live tag is judged on its own: aws:*, a stack tag, or real drift.
        if self.is_tag_property(site.path) {
            let empty = match a {
                Value::List(_) => Some(Value::List(Vec::new())),
                Value::Map(_) => Some(Value::Map(IndexMap::new())),
                _ => None,
            };
            if let Some(empty) = empty {
                return self.both(site, &empty, a, out);
            }
        }
        let why = normalize::absent(self, site, a, Side::Actual);
        out.push(difference(
            site.path,
            DifferenceKind::Add,
            None,
            Some(a),
            why,
        ));
    }

    fn both(&self, site: Site<'_>, e: &Value, a: &Value, out: &mut Vec<Difference>) {
        if let Value::Unresolved(u) = e {
            out.push(unresolved(site.path, u, e, a));
            return;
        }
        if normalize::strict_eq(e, a) {
            return;
        }
        if normalize::policy::is_policy(e) || normalize::policy::is_policy(a) {
            let why = normalize::policy::equivalent(e, a);
            out.push(difference(
                site.path,
                DifferenceKind::NotEqual,
                Some(e),
                Some(a),
                why,
            ));
            return;
        }
        match (e, a) {
            (Value::Map(em), Value::Map(am)) => self.map(site.path, em, am, out),
            (Value::List(el), Value::List(al)) => self.list(site.path, el, al, out),
            _ => {
                let why = normalize::scalar(self, site, e, a);
                out.push(difference(
                    site.path,
                    DifferenceKind::NotEqual,
                    Some(e),
                    Some(a),
                    why,
                ));
            }
        }
    }

    fn map(
        &self,
        path: &PropertyPath,
        em: &IndexMap<String, Value>,
        am: &IndexMap<String, Value>,
        out: &mut Vec<Difference>,
    ) {
        for (k, ev) in em {
            let p = path.key(k);
            self.node(Site::within(&p, em, am), Some(ev), am.get(k), out);
        }
        // CloudFormation compares only what the template sets; a map-shaped
        // tag property is the exception, its keys being data.
        if self.mode == Mode::CloudFormation && !self.is_tag_property(path) {
            return;
        }
        for (k, av) in am.iter().filter(|(k, _)| !em.contains_key(*k)) {
            let p = path.key(k);
            self.node(Site::within(&p, em, am), None, Some(av), out);
        }
    }

    fn list(&self, path: &PropertyPath, el: &[Value], al: &[Value], out: &mut Vec<Difference>) {
        if self.is_unordered(path) {
            return self.unordered(path, el, al, out);
        }
        for i in 0..el.len().max(al.len()) {
            self.node(Site::at(&path.index(i)), el.get(i), al.get(i), out);
        }
    }

    /// A multiset comparison: reordering alone is no drift; a changed item
    /// is a `REMOVE` at its template index and an `ADD` at its live index.
    fn unordered(
        &self,
        path: &PropertyPath,
        el: &[Value],
        al: &[Value],
        out: &mut Vec<Difference>,
    ) {
        let Pairing { pair, exact, used } = self.pair_items(path, el, al);
        for (i, e) in el.iter().enumerate() {
            let p = path.index(i);
            match pair[i] {
                Some(_) if exact[i] => {}
                Some(j) => self.node(Site::at(&p), Some(e), al.get(j), out),
                None => self.node(Site::at(&p), Some(e), None, out),
            }
        }
        for (j, a) in al.iter().enumerate().filter(|(j, _)| !used[*j]) {
            self.node(Site::at(&path.index(j)), None, Some(a), out);
        }
        // Shown with --show-ignored: the same items, in another order.
        let order: Vec<usize> = pair.iter().flatten().copied().collect();
        if order.windows(2).any(|w| w[0] > w[1]) {
            out.push(Difference {
                property_path: path.clone(),
                kind: DifferenceKind::NotEqual,
                expected: Some(Value::List(el.to_vec())),
                actual: Some(Value::List(al.to_vec())),
                ignored_by: Some(Suppression::Normalizer(normalize::UNORDERED_LIST)),
                secret: false,
            });
        }
    }

    /// Pairs template items with live ones: exact twins (found by their JSON
    /// text, then by comparison), then items only normalisers tell apart,
    /// then items sharing an identity field. Exact twins come first so a
    /// looser match never takes an exact one's partner.
    fn pair_items(&self, path: &PropertyPath, el: &[Value], al: &[Value]) -> Pairing {
        let mut p = Pairing {
            pair: vec![None; el.len()],
            exact: vec![false; el.len()],
            used: vec![false; al.len()],
        };
        let mut by_text: HashMap<String, VecDeque<usize>> = HashMap::new();
        for (j, a) in al.iter().enumerate() {
            if let Ok(text) = serde_json::to_string(a) {
                by_text.entry(text).or_default().push_back(j);
            }
        }
        for (i, e) in el.iter().enumerate() {
            // An unresolved value serialises like a live map ({"Ref": ...}).
            if e.contains_unresolved() {
                continue;
            }
            let twin = serde_json::to_string(e)
                .ok()
                .and_then(|t| by_text.get_mut(&t)?.pop_front());
            if let Some(j) = twin {
                p.link(i, j, true);
            }
        }
        let rest_e: Vec<usize> = (0..el.len()).filter(|&i| p.pair[i].is_none()).collect();
        let rest_a: Vec<usize> = (0..al.len()).filter(|&j| !p.used[j]).collect();
        if rest_e.len().saturating_mul(rest_a.len()) <= MAX_COMPARISONS {
            let verdicts: Vec<Vec<Verdict>> = rest_e
                .iter()
                .map(|&i| {
                    let at = path.index(i);
                    rest_a
                        .iter()
                        .map(|&j| self.verdict(&at, &el[i], &al[j]))
                        .collect()
                })
                .collect();
            for exact in [true, false] {
                for (row, &i) in verdicts.iter().zip(&rest_e) {
                    if p.pair[i].is_some() {
                        continue;
                    }
                    let found = row.iter().zip(&rest_a).find(|(v, j)| {
                        !p.used[**j]
                            && (**v == Verdict::Same || (!exact && **v != Verdict::Different))
                    });
                    if let Some((v, &j)) = found {
                        p.link(i, j, *v == Verdict::Same);
                    }
                }
            }
        }
        for (i, e) in el.iter().enumerate() {
            if p.pair[i].is_none()
                && let Some(j) = identity_match(e, el, al, &p.used)
            {
                p.link(i, j, false);
            }
        }
        p
    }
}

/// The live item that shares `e`'s identity field, when exactly one unpaired
/// item does and no other template item claims the same identity.
fn identity_match(e: &Value, el: &[Value], al: &[Value], used: &[bool]) -> Option<usize> {
    let (key, id) = identity(e)?;
    let same = |v: &Value| identity(v).is_some_and(|(k, i)| k == key && i == id);
    if el.iter().filter(|v| same(v)).count() != 1 {
        return None;
    }
    let mut candidates = al.iter().enumerate().filter(|(j, a)| !used[*j] && same(a));
    let (j, _) = candidates.next()?;
    candidates.next().is_none().then_some(j)
}

fn identity(v: &Value) -> Option<(&'static str, String)> {
    let m = v.as_map()?;
    IDENTITY_KEYS
        .iter()
        .find_map(|k| Some((*k, m.get(*k)?.scalar_text()?)))
}

/// An unresolved template value cannot be compared, only ruled out when the
/// literal text around its placeholders does not match what is live.
fn unresolved(path: &PropertyPath, u: &Unresolved, e: &Value, a: &Value) -> Difference {
    let why = match normalize::unresolved::could_be(u, a) {
        Some(false) => None,
        _ => Some(normalize::UNRESOLVED),
    };
    difference(path, DifferenceKind::NotEqual, Some(e), Some(a), why)
}

pub(super) fn summarize(diffs: &[Difference]) -> Verdict {
    let mut first = None;
    for d in diffs {
        match &d.ignored_by {
            Some(Suppression::Normalizer(name)) => {
                first.get_or_insert(*name);
            }
            _ => return Verdict::Different,
        }
    }
    first.map_or(Verdict::Same, Verdict::Equivalent)
}

pub(super) fn difference(
    path: &PropertyPath,
    kind: DifferenceKind,
    expected: Option<&Value>,
    actual: Option<&Value>,
    why: Option<&'static str>,
) -> Difference {
    Difference {
        property_path: path.clone(),
        kind,
        expected: expected.cloned(),
        actual: actual.cloned(),
        ignored_by: why.map(Suppression::Normalizer),
        secret: false,
    }
}
