//! Span-based editing of YAML and JSON text: replace, add or remove one value
//! by its path, splicing only the bytes of that value (and, for additions and
//! removals, its own lines or its separating comma). Everything else —
//! comments, key order, quoting, indentation, blank lines, short-form tags —
//! stays byte for byte, so `git diff` shows only the changed lines.
//!
//! Built on the located tree of `doc` (saphyr events for YAML, jsonc-parser
//! for JSON), which already carries byte spans; see docs/codify.md for why
//! this beat the comment-preserving YAML crates. Pure: text in, text out.

use crate::doc::{self, Format, Node, NodeKind, ScalarKind};
use crate::template::path::Segment;

/// What to do at a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// NOT_EQUAL: the value at the path becomes this.
    Replace(serde_json::Value),
    /// ADD: a new map key, or a list item at this index (the end or before
    /// the item there).
    Add(serde_json::Value),
    /// REMOVE: the key or list item goes.
    Remove,
}

/// One change to one document.
#[derive(Debug, Clone, PartialEq)]
pub struct Edit {
    pub path: Vec<Segment>,
    pub op: Op,
}

/// Why an edit could not be made. Paths are shown in PropertyPath notation.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
#[non_exhaustive]
pub enum EditError {
    #[error(transparent)]
    Parse(#[from] doc::ParseError),
    #[error("{path}: nothing is written there to change")]
    Missing { path: String },
    #[error("{path}: already written; an ADD cannot replace it")]
    Exists { path: String },
    #[error("{path}: {reason}")]
    Unsupported { path: String, reason: String },
    #[error("{path}: overlaps another change to the same text")]
    Overlap { path: String },
}

/// A byte range to replace.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Splice {
    start: usize,
    end: usize,
    text: String,
}

fn show(path: &[Segment]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Segment::Key(k) => s.push_str(&format!("/{k}")),
            Segment::Index(i) => s.push_str(&format!("/{i}")),
        }
    }
    if s.is_empty() { "/".into() } else { s }
}

/// Applies every edit to `text`, all located against the original text.
///
/// # Errors
/// When the text does not parse, a path is not there (or, for an ADD,
/// already is), or two edits touch the same bytes.
pub fn apply(text: &str, format: Format, edits: &[Edit]) -> Result<String, EditError> {
    let root = doc::parse(text, format)?;
    let doc = Doc { text, format };
    let mut splices = Vec::new();
    for e in edits {
        let mut s = doc.splice(&root, e)?;
        s.start = s.start.min(text.len());
        s.end = s.end.min(text.len());
        splices.push((s, show(&e.path)));
    }
    splices.sort_by_key(|(s, _)| (s.start, s.end));
    for pair in splices.windows(2) {
        if pair[1].0.start < pair[0].0.end {
            return Err(EditError::Overlap {
                path: pair[1].1.clone(),
            });
        }
    }
    let mut out = text.to_string();
    for (s, _) in splices.iter().rev() {
        out.replace_range(s.start..s.end, &s.text);
    }
    Ok(out)
}

struct Doc<'a> {
    text: &'a str,
    format: Format,
}

impl Doc<'_> {
    fn splice(&self, root: &Node, edit: &Edit) -> Result<Splice, EditError> {
        let path = show(&edit.path);
        let Some((last, parents)) = edit.path.split_last() else {
            return Err(EditError::Unsupported {
                path,
                reason: "the whole document cannot be replaced".into(),
            });
        };
        let mut parent = root;
        for (i, seg) in parents.iter().enumerate() {
            parent = child(parent, seg).ok_or_else(|| EditError::Missing {
                path: show(&edit.path[..=i]),
            })?;
        }
        let target = child(parent, last);
        match (&edit.op, target) {
            (Op::Replace(v), Some(node)) => Ok(self.replace(node, v)),
            (Op::Remove, Some(_)) => self.remove(parent, last, &path),
            (Op::Replace(_) | Op::Remove, None) => Err(EditError::Missing { path }),
            (Op::Add(v), None) => self.add(parent, last, None, v, &path),
            (Op::Add(v), Some(existing)) => match (last, &parent.kind) {
                // Inserting into a list before the item now at that index.
                (Segment::Index(_), NodeKind::Seq(_)) => {
                    self.add(parent, last, Some(existing), v, &path)
                }
                _ => Err(EditError::Exists { path }),
            },
        }
    }

    fn src(&self, start: usize, end: usize) -> &str {
        self.text.get(start..end).unwrap_or("")
    }

    fn is_flow(&self, node: &Node) -> bool {
        self.format == Format::Json
            || matches!(
                self.text.as_bytes().get(node.span.start as usize),
                Some(b'{') | Some(b'[')
            )
    }

    /// NOT_EQUAL: the value's own bytes (its tag included) become the new
    /// value, in the quoting style the old one had where it can be kept.
    fn replace(&self, node: &Node, value: &serde_json::Value) -> Splice {
        let start = node.span.start as usize;
        let end = self.value_end(node);
        let old = self.src(start, end);
        let text = match self.format {
            Format::Json => json_inline(value, old),
            Format::Yaml => {
                if matches!(
                    value,
                    serde_json::Value::Object(_) | serde_json::Value::Array(_)
                ) && !matches!(node.kind, NodeKind::Scalar(_))
                    && !self.is_flow(node)
                    && !value_is_empty(value)
                {
                    // A block value stays block, at the same indentation.
                    let indent = self.column_of(start);
                    yaml_block(value, indent)
                        .trim_start()
                        .trim_end_matches('\n')
                        .to_string()
                } else {
                    yaml_inline(value, old)
                }
            }
        };
        Splice { start, end, text }
    }

    fn remove(&self, parent: &Node, last: &Segment, path: &str) -> Result<Splice, EditError> {
        let (starts, ends): (Vec<usize>, Vec<usize>) = match &parent.kind {
            NodeKind::Map(m) => m
                .values()
                .map(|e| (e.key_span.start as usize, self.value_end(&e.value)))
                .unzip(),
            NodeKind::Seq(items) => items
                .iter()
                .map(|n| (n.span.start as usize, self.value_end(n)))
                .unzip(),
            NodeKind::Scalar(_) => return Err(EditError::Missing { path: path.into() }),
        };
        let i = match (last, &parent.kind) {
            (Segment::Key(k), NodeKind::Map(m)) => m.get_index_of(k),
            (Segment::Index(i), NodeKind::Seq(_)) => Some(*i),
            _ => None,
        }
        .ok_or_else(|| EditError::Missing { path: path.into() })?;
        if self.is_flow(parent) {
            // Take the comma that separates it: the one after, else the one before.
            return Ok(if i + 1 < starts.len() {
                Splice {
                    start: starts[i],
                    end: starts[i + 1],
                    text: String::new(),
                }
            } else if i > 0 {
                Splice {
                    start: ends[i - 1],
                    end: ends[i],
                    text: String::new(),
                }
            } else {
                Splice {
                    start: starts[i],
                    end: ends[i],
                    text: String::new(),
                }
            });
        }
        let item_start = if matches!(parent.kind, NodeKind::Seq(_)) {
            self.dash_before(starts[i]).unwrap_or(starts[i])
        } else {
            starts[i]
        };
        let line_start = self.line_start(item_start);
        let alone = self.src(line_start, item_start).trim().is_empty();
        if !alone && i + 1 < starts.len() {
            // `- A: 1\n  B: 2`: the next key moves up onto the dash line.
            return Ok(Splice {
                start: item_start,
                end: starts[i + 1],
                text: String::new(),
            });
        }
        if !alone {
            return Err(EditError::Unsupported {
                path: path.into(),
                reason: "the only key of a list item; remove the item instead".into(),
            });
        }
        let end = self.line_end(ends[i]);
        if starts.len() == 1 {
            // The last entry: an emptied block would read back as null, so
            // the collection becomes `{}` / `[]` after its key's colon.
            let before = self.text[..line_start].trim_end_matches([' ', '\t', '\r', '\n']);
            if !before.ends_with(':') {
                return Err(EditError::Unsupported {
                    path: path.into(),
                    reason: "the only entry of a collection with a comment above it".into(),
                });
            }
            let empty = if matches!(parent.kind, NodeKind::Seq(_)) {
                "[]"
            } else {
                "{}"
            };
            let newline = if self.text[..end].ends_with('\n') {
                "\n"
            } else {
                ""
            };
            return Ok(Splice {
                start: before.len(),
                end,
                text: format!(" {empty}{newline}"),
            });
        }
        Ok(Splice {
            start: line_start,
            end,
            text: String::new(),
        })
    }

    fn add(
        &self,
        parent: &Node,
        last: &Segment,
        before: Option<&Node>,
        value: &serde_json::Value,
        path: &str,
    ) -> Result<Splice, EditError> {
        let unsupported = |reason: &str| EditError::Unsupported {
            path: path.into(),
            reason: reason.into(),
        };
        let key = match (last, &parent.kind) {
            (Segment::Key(k), NodeKind::Map(_)) => Some(k.as_str()),
            (Segment::Index(i), NodeKind::Seq(items)) if *i <= items.len() => None,
            _ => return Err(EditError::Missing { path: path.into() }),
        };
        // Where the new entry goes: after the last one, or before `before`.
        let (anchor_start, last_end) = match &parent.kind {
            NodeKind::Map(m) => match m.last() {
                Some((_, e)) => (e.key_span.start as usize, self.value_end(&e.value)),
                None => return Err(unsupported("the map is empty; there is no style to follow")),
            },
            NodeKind::Seq(items) => match (before, items.last()) {
                (Some(b), _) => (b.span.start as usize, self.value_end(b)),
                (None, Some(l)) => (l.span.start as usize, self.value_end(l)),
                (None, None) => {
                    return Err(unsupported(
                        "the list is empty; there is no style to follow",
                    ));
                }
            },
            NodeKind::Scalar(_) => return Err(EditError::Missing { path: path.into() }),
        };
        if self.is_flow(parent) {
            let entry = match (self.format, key) {
                (Format::Json, Some(k)) => {
                    format!("{}: {}", json_inline(&k.into(), ""), json_inline(value, ""))
                }
                (Format::Json, None) => json_inline(value, ""),
                (Format::Yaml, Some(k)) => format!("{}: {}", yaml_key(k), yaml_inline(value, "")),
                (Format::Yaml, None) => yaml_inline(value, ""),
            };
            // The same separator as between the existing entries: a new line
            // at their indentation when each has its own line.
            let line_start = self.line_start(anchor_start);
            let lead = self.src(line_start, anchor_start);
            let sep = if lead.trim().is_empty() && line_start > parent.span.start as usize {
                format!(",\n{lead}")
            } else {
                ", ".to_string()
            };
            return Ok(match before {
                Some(_) => Splice {
                    start: anchor_start,
                    end: anchor_start,
                    text: format!("{entry}{sep}"),
                },
                None => Splice {
                    start: last_end,
                    end: last_end,
                    text: format!("{sep}{entry}"),
                },
            });
        }
        // Block style: a new line at the indentation of its siblings.
        let (marker_start, indent) = match key {
            Some(_) => (anchor_start, self.column_of(anchor_start)),
            None => {
                let dash = self
                    .dash_before(anchor_start)
                    .ok_or_else(|| unsupported("cannot find the list's dash"))?;
                (dash, self.column_of(dash))
            }
        };
        // A key may share its line with the dash of the list item it starts.
        let lead = self.src(self.line_start(marker_start), marker_start).trim();
        if !(lead.is_empty() || (key.is_some() && lead == "-")) {
            return Err(unsupported(
                "the neighbouring entry does not start its own line",
            ));
        }
        let pad = " ".repeat(indent);
        // Items written as `- {Key: a, Value: b}` get their new sibling the same way.
        let sibling = match &parent.kind {
            NodeKind::Seq(items) => before.or(items.last()),
            NodeKind::Map(m) => m.last().map(|(_, e)| &e.value),
            NodeKind::Scalar(_) => None,
        };
        let inline =
            sibling.is_some_and(|n| !matches!(n.kind, NodeKind::Scalar(_)) && self.is_flow(n));
        let line = match key {
            Some(k) if inline => format!("{pad}{}: {}", yaml_key(k), yaml_inline(value, "")),
            None if inline => format!("{pad}- {}", yaml_inline(value, "")),
            Some(k) => match value {
                serde_json::Value::Object(_) | serde_json::Value::Array(_)
                    if !value_is_empty(value) =>
                {
                    format!("{pad}{}:\n{}", yaml_key(k), yaml_block(value, indent + 2))
                }
                _ => format!("{pad}{}: {}", yaml_key(k), yaml_inline(value, "")),
            },
            None => match value {
                serde_json::Value::Object(_) if !value_is_empty(value) => {
                    format!("{pad}- {}", yaml_block(value, indent + 2).trim_start())
                }
                serde_json::Value::Array(_) if !value_is_empty(value) => {
                    format!("{pad}-\n{}", yaml_block(value, indent + 2))
                }
                _ => format!("{pad}- {}", yaml_inline(value, "")),
            },
        };
        let line = line.trim_end_matches('\n');
        Ok(match before {
            Some(_) => {
                let at = self.line_start(marker_start);
                Splice {
                    start: at,
                    end: at,
                    text: format!("{line}\n"),
                }
            }
            None => {
                let at = self.line_end(last_end);
                let text = if at > 0 && self.text.as_bytes()[at - 1] == b'\n' {
                    format!("{line}\n")
                } else {
                    format!("\n{line}")
                };
                Splice {
                    start: at,
                    end: at,
                    text,
                }
            }
        })
    }

    /// Where a value really ends. A block collection's own span runs to the
    /// next token (past trailing comments), so its end is its last child's.
    fn value_end(&self, node: &Node) -> usize {
        match &node.kind {
            // A block scalar's span runs past its trailing line breaks.
            NodeKind::Scalar(_) => {
                let (start, end) = (node.span.start as usize, node.span.end as usize);
                start + self.src(start, end).trim_end().len()
            }
            _ if self.is_flow(node) => node.span.end as usize,
            NodeKind::Map(m) => m
                .values()
                .last()
                .map_or(node.span.end as usize, |e| self.value_end(&e.value)),
            NodeKind::Seq(items) => items
                .last()
                .map_or(node.span.end as usize, |n| self.value_end(n)),
        }
    }

    fn line_start(&self, at: usize) -> usize {
        self.text[..at.min(self.text.len())]
            .rfind('\n')
            .map_or(0, |i| i + 1)
    }

    /// Just past the newline ending the line `at` is on (or the text's end).
    fn line_end(&self, at: usize) -> usize {
        let at = at.min(self.text.len());
        self.text[at..]
            .find('\n')
            .map_or(self.text.len(), |i| at + i + 1)
    }

    fn column_of(&self, at: usize) -> usize {
        self.text[self.line_start(at)..at].chars().count()
    }

    /// The `-` that introduces the list item starting at `at` (on its line,
    /// or alone on a line above it).
    fn dash_before(&self, at: usize) -> Option<usize> {
        let before = self.text[..at.min(self.text.len())].trim_end();
        before.ends_with('-').then(|| before.len() - 1)
    }
}

fn child<'a>(node: &'a Node, seg: &Segment) -> Option<&'a Node> {
    match (seg, &node.kind) {
        (Segment::Key(k), NodeKind::Map(m)) => m.get(k).map(|e| &e.value),
        (Segment::Index(i), NodeKind::Seq(items)) => items.get(*i),
        _ => None,
    }
}

fn value_is_empty(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Object(m) => m.is_empty(),
        serde_json::Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// JSON text for a value. A number written as a number stays one when the
/// new value is numeric text (CloudFormation passes both as strings).
fn json_inline(value: &serde_json::Value, old: &str) -> String {
    if let serde_json::Value::String(s) = value
        && !old.is_empty()
        && !old.starts_with('"')
        && serde_json::from_str::<serde_json::Number>(s).is_ok()
    {
        return s.clone();
    }
    serde_json::to_string(value).unwrap_or_default()
}

/// A map key in YAML: plain when that reads back as the same string.
fn yaml_key(k: &str) -> String {
    yaml_string(k, "")
}

/// YAML text for a value on one line (flow style for collections), in the
/// old value's quoting style when it had one.
fn yaml_inline(value: &serde_json::Value, old: &str) -> String {
    match value {
        serde_json::Value::String(s) => yaml_string(s, old),
        serde_json::Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|v| yaml_inline(v, ""))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        serde_json::Value::Object(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", yaml_key(k), yaml_inline(v, "")))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

/// A string as YAML: in the old quoting (`'` or `"`) when it had one; plain
/// when YAML 1.1 reads the plain text back as this string, or when the old
/// value was a plain number or boolean and the new text is one too
/// (CloudFormation passes scalars on as strings); else double-quoted.
fn yaml_string(s: &str, old: &str) -> String {
    // A tagged value (`!Ref X`) replaced by a literal has no style to keep.
    let old = if old.starts_with('!') { "" } else { old };
    if old.starts_with('\'') && !s.contains('\n') {
        return format!("'{}'", s.replace('\'', "''"));
    }
    if old.starts_with('"') {
        return serde_json::to_string(s).unwrap_or_default();
    }
    let old_kind = ScalarKind::of_plain(old);
    let new_kind = ScalarKind::of_plain(s);
    let plain_ok = plain_safe(s)
        && reads_back_as_itself(s, new_kind)
        && (new_kind == ScalarKind::Str
            || (!old.is_empty() && old_kind != ScalarKind::Str && old_kind == new_kind)
            || (!old.is_empty()
                && matches!(old_kind, ScalarKind::Int(_) | ScalarKind::Float(_))
                && matches!(new_kind, ScalarKind::Int(_) | ScalarKind::Float(_))));
    if plain_ok {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

/// Whether the plain scalar `s`, read as `kind`, prints back as `s`, as
/// CloudFormation turns scalars into strings: `yes` reads as `true` and
/// `0x1F` as `31`, so neither may stand for the string it spells.
fn reads_back_as_itself(s: &str, kind: ScalarKind) -> bool {
    match kind {
        ScalarKind::Str => true,
        ScalarKind::Null => false,
        ScalarKind::Bool(b) => s == b.to_string(),
        ScalarKind::Int(i) => s == i.to_string(),
        ScalarKind::Float(f) => s == f.to_string(),
    }
}

/// Whether a string can be written as a plain YAML scalar in any context.
fn plain_safe(s: &str) -> bool {
    !s.is_empty()
        && s.trim() == s
        && !s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c))
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && !s.contains(['\n', '\t', '\r', '{', '}', '[', ']', ','])
}

/// A collection in block style, every line indented by `indent` spaces.
fn yaml_block(value: &serde_json::Value, indent: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    match value {
        serde_json::Value::Object(m) => {
            for (k, v) in m {
                if matches!(
                    v,
                    serde_json::Value::Object(_) | serde_json::Value::Array(_)
                ) && !value_is_empty(v)
                {
                    out.push_str(&format!(
                        "{pad}{}:\n{}",
                        yaml_key(k),
                        yaml_block(v, indent + 2)
                    ));
                } else {
                    out.push_str(&format!("{pad}{}: {}\n", yaml_key(k), yaml_inline(v, "")));
                }
            }
        }
        serde_json::Value::Array(items) => {
            for v in items {
                match v {
                    serde_json::Value::Object(_) if !value_is_empty(v) => {
                        let inner = yaml_block(v, indent + 2);
                        out.push_str(&format!("{pad}- {}", &inner[indent + 2..]));
                    }
                    serde_json::Value::Array(_) if !value_is_empty(v) => {
                        out.push_str(&format!("{pad}-\n{}", yaml_block(v, indent + 2)));
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", yaml_inline(v, ""))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", yaml_inline(other, ""))),
    }
    out
}

#[cfg(test)]
#[path = "edit_tests.rs"]
mod tests;
