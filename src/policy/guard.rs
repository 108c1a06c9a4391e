//! CloudFormation Guard rules on live properties, through the `cfn-guard`
//! crate as a library (`cfn_guard::run_checks`).
//!
//! Each drifted resource is evaluated alone, as a one-resource template
//! `{"Resources": {"<logical id>": {"Type": ..., "Properties": <live>}}}`, so
//! a rule written for templates works unchanged. Guard files are parsed once
//! when the policy is built, so a broken file is a config error and never a
//! surprise at decision time.
//!
//! Fails closed: a guard that cannot be evaluated on a resource (a Guard
//! error, or a panic inside the library) counts as a violation, since a
//! guard exists to stop a change from being codified or tolerated.
//!
//! Tags whose key starts with [`ALLOW_TAG_PREFIX`] are exemptions a guard
//! may honour (the shipped `no-public-ingress.guard` reads
//! `driftsync:allow-public-ingress`). They are trusted only as Git has them:
//! if the live `Tags` drifted on such a key, the guard sees the resource
//! without it, so whoever opened a port out of band cannot also exempt it.

use std::panic::{AssertUnwindSafe, catch_unwind};

use indexmap::IndexMap;

use super::PolicyError;
use super::decision::GuardViolation;
use crate::check::ResourceReport;
use crate::doc::Location;
use crate::template::path::Segment;
use crate::template::{PropertyPath, Value};

/// Tags with this prefix are guard exemptions, trusted only as Git has them.
pub const ALLOW_TAG_PREFIX: &str = "driftsync:allow-";

/// One parsed guard file.
#[derive(Debug, Clone)]
pub(super) struct Guard {
    pub file: String,
    text: String,
}

/// Checks that a guard file parses (and evaluates on an empty template).
///
/// # Errors
/// [`PolicyError::GuardParse`], located when Guard says where.
pub fn check_guard(file: &str, text: &str) -> Result<(), PolicyError> {
    within_limits(text).map_err(|(location, message)| PolicyError::GuardParse {
        file: file.to_string(),
        location,
        message,
    })?;
    run(file, text, "<empty template>", r#"{"Resources": {}}"#)
        .map(|_| ())
        .map_err(|message| {
            let location = guard_location(&message);
            PolicyError::GuardParse {
                file: file.to_string(),
                location,
                message: parse_message(&message),
            }
        })
}

impl Guard {
    pub fn new(file: &str, text: &str) -> Result<Guard, PolicyError> {
        check_guard(file, text)?;
        Ok(Guard {
            file: file.to_string(),
            text: text.to_string(),
        })
    }

    /// The rules this resource's live properties break.
    pub fn evaluate(
        &self,
        logical_id: &str,
        type_name: &str,
        properties: &IndexMap<String, Value>,
    ) -> Vec<GuardViolation> {
        let mut resources = serde_json::Map::new();
        resources.insert(
            logical_id.to_string(),
            serde_json::json!({ "Type": type_name, "Properties": properties }),
        );
        let data = serde_json::json!({ "Resources": resources });
        let report = serde_json::to_string(&data)
            .map_err(|e| e.to_string())
            .and_then(|data| run(&self.file, &self.text, logical_id, &data));
        match report {
            Ok(json) => violations(&self.file, &json),
            Err(message) => vec![GuardViolation {
                file: self.file.clone(),
                rule: "(evaluation error)".into(),
                message: format!("the guard could not be evaluated: {}", tidy(&message)),
            }],
        }
    }
}

/// The largest guard file read, in bytes. Real rule files are a few KiB;
/// Guard's parser takes seconds and gigabytes on tens of megabytes.
pub const MAX_GUARD_BYTES: usize = 1024 * 1024;

/// The deepest nesting of `[`, `{` and `(` a guard file may have. Guard's
/// parser recurses once per level, and a thread's stack (2 MiB for spawned
/// threads) would overflow long before a person writes such a file.
pub const MAX_GUARD_NESTING: usize = 64;

/// Refuses a guard file too large or too deeply nested to hand to Guard,
/// with the place of the first bracket past the limit. Brackets in
/// comments and quoted strings do not count.
fn within_limits(text: &str) -> Result<(), (Option<Location>, String)> {
    if text.len() > MAX_GUARD_BYTES {
        return Err((
            None,
            format!(
                "the file is {} bytes, larger than the {MAX_GUARD_BYTES}-byte limit for guard files",
                text.len()
            ),
        ));
    }
    let (mut line, mut col, mut depth) = (1u32, 0u32, 0usize);
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut escaped = false;
    for c in text.chars() {
        col += 1;
        match c {
            '\n' => {
                (line, col, comment) = (line + 1, 0, false);
                continue;
            }
            _ if comment => continue,
            _ if escaped => escaped = false,
            '\\' if quote.is_some() => escaped = true,
            _ if quote == Some(c) => quote = None,
            _ if quote.is_some() => {}
            '"' | '\'' => quote = Some(c),
            '#' => comment = true,
            '[' | '{' | '(' => {
                depth += 1;
                if depth > MAX_GUARD_NESTING {
                    return Err((
                        Some(Location { line, col }),
                        format!(
                            "rules nested more than {MAX_GUARD_NESTING} levels deep; \
                             driftsync refuses them rather than risk its stack"
                        ),
                    ));
                }
            }
            ']' | '}' | ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// Runs Guard; the JSON report, or why there is none.
fn run(file: &str, rules: &str, data_name: &str, data: &str) -> Result<String, String> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        cfn_guard::run_checks(
            cfn_guard::ValidateInput {
                content: data,
                file_name: data_name,
            },
            cfn_guard::ValidateInput {
                content: rules,
                file_name: file,
            },
            false,
        )
    }));
    match outcome {
        Ok(Ok(json)) => Ok(json),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("cfn-guard panicked on this input".into()),
    }
}

/// Reads `not_compliant` from Guard's JSON report: one violation per failing
/// rule, with the custom messages of its failing clauses.
fn violations(file: &str, json: &str) -> Vec<GuardViolation> {
    if json.trim().is_empty() {
        return Vec::new(); // a rules file with no rules
    }
    let report: serde_json::Value = match serde_json::from_str(json) {
        Ok(v) => v,
        Err(e) => {
            return vec![GuardViolation {
                file: file.to_string(),
                rule: "(evaluation error)".into(),
                message: format!("unreadable cfn-guard report: {e}"),
            }];
        }
    };
    let mut out = Vec::new();
    for entry in report["not_compliant"].as_array().into_iter().flatten() {
        let Some(rule) = entry.get("Rule") else {
            continue;
        };
        let name = rule["name"]
            .as_str()
            .unwrap_or("(unnamed rule)")
            .to_string();
        let mut custom = Vec::new();
        let mut errors = Vec::new();
        collect_messages(rule, &mut custom, &mut errors);
        let message = if !custom.is_empty() {
            custom.join("; ")
        } else if !errors.is_empty() {
            errors.join("; ")
        } else {
            format!("rule {name} failed")
        };
        out.push(GuardViolation {
            file: file.to_string(),
            rule: name,
            message,
        });
    }
    out
}

fn collect_messages(v: &serde_json::Value, custom: &mut Vec<String>, errors: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if let Some(msgs) = m.get("messages") {
                let push = |key: &str, to: &mut Vec<String>| {
                    if let Some(t) = msgs[key].as_str() {
                        let t = tidy(t);
                        if !t.is_empty() && !to.contains(&t) {
                            to.push(t);
                        }
                    }
                };
                push("custom_message", custom);
                push("error_message", errors);
            }
            for (k, child) in m {
                if k != "messages" {
                    collect_messages(child, custom, errors);
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                collect_messages(item, custom, errors);
            }
        }
        _ => {}
    }
}

/// One line, no surrounding blanks.
fn tidy(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Guard's parse errors nest the same prefix several times and end with an
/// often empty fragment: keep the part that says where and what.
fn parse_message(raw: &str) -> String {
    let t = tidy(raw);
    let core = t.find("Error parsing file").map_or(t.as_str(), |i| &t[i..]);
    let core = core.trim_end_matches(['`', ' ']);
    let core = core
        .strip_suffix(", when handling , fragment")
        .unwrap_or(core);
    core.to_string()
}

/// Guard's parse errors say `line: N, column: M` (or `Line: N Column: M`).
fn guard_location(message: &str) -> Option<Location> {
    let lower = message.to_ascii_lowercase();
    let number_after = |key: &str| -> Option<u32> {
        let at = lower.find(key)? + key.len();
        let digits: String = lower[at..]
            .trim_start_matches([':', ' ', '='])
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    };
    Some(Location {
        line: number_after("line")?,
        col: number_after("column").unwrap_or(1),
    })
}

/// The live properties a guard sees: `ALLOW_TAG_PREFIX` tags are dropped
/// when the resource's drift touches them (they are not as Git says).
pub(super) fn guard_view(
    r: &ResourceReport,
    live: &IndexMap<String, Value>,
) -> IndexMap<String, Value> {
    let Some(tags) = live.get("Tags") else {
        return live.clone();
    };
    let untrusted: Vec<String> = allow_keys(tags)
        .into_iter()
        .filter(|key| {
            r.differences
                .iter()
                .filter(|d| d.ignored_by.is_none() && d.property_path.first_key() == Some("Tags"))
                .any(|d| {
                    touches(&d.property_path, tags, key)
                        || [&d.expected, &d.actual]
                            .into_iter()
                            .flatten()
                            .any(|v| mentions(v, key))
                })
        })
        .collect();
    if untrusted.is_empty() {
        return live.clone();
    }
    let mut view = live.clone();
    let kept = match tags {
        Value::List(items) => Value::List(
            items
                .iter()
                .filter(|t| {
                    !t.as_map()
                        .and_then(|m| m.get("Key"))
                        .and_then(Value::as_str)
                        .is_some_and(|k| untrusted.iter().any(|u| u == k))
                })
                .cloned()
                .collect(),
        ),
        Value::Map(m) => Value::Map(
            m.iter()
                .filter(|(k, _)| !untrusted.contains(k))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    };
    view.insert("Tags".into(), kept);
    view
}

/// The `driftsync:allow-*` keys among the live tags (list or map form).
fn allow_keys(tags: &Value) -> Vec<String> {
    let keys: Vec<&str> = match tags {
        Value::List(items) => items
            .iter()
            .filter_map(|t| t.as_map()?.get("Key")?.as_str())
            .collect(),
        Value::Map(m) => m.keys().map(String::as_str).collect(),
        _ => Vec::new(),
    };
    keys.into_iter()
        .filter(|k| k.starts_with(ALLOW_TAG_PREFIX))
        .map(String::from)
        .collect()
}

/// Whether a `/Tags/...` path names this tag: `/Tags/<key>` in map form, or
/// `/Tags/<n>/...` where the live list's item `n` has this key.
fn touches(path: &PropertyPath, tags: &Value, key: &str) -> bool {
    match path.0.get(1) {
        Some(Segment::Key(k)) => k == key,
        Some(Segment::Index(i)) => tags
            .as_list()
            .and_then(|l| l.get(*i))
            .and_then(Value::as_map)
            .and_then(|m| m.get("Key"))
            .and_then(Value::as_str)
            .is_some_and(|k| k == key),
        // The whole Tags property differs: no tag in it is as Git says.
        None => true,
    }
}

/// Whether a value holds this string anywhere (as a tag item's `Key`).
fn mentions(v: &Value, key: &str) -> bool {
    match v {
        Value::String(s) => s == key,
        Value::List(items) => items.iter().any(|i| mentions(i, key)),
        Value::Map(m) => m.iter().any(|(k, v)| k == key || mentions(v, key)),
        _ => false,
    }
}
