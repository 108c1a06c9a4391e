//! A document (YAML or JSON), then after the first NUL the bytes that choose
//! an edit: a path in the document, an operation (replace, add, remove) and
//! a value. When `codify::edit::apply` accepts the edit, the edited text
//! must parse, and read back as the original with exactly that change, by
//! CloudFormation's comparison (`"80"` equals `80`). A refusal is fine.
#![no_main]

use driftsync::codify::edit::{Edit, Op, apply};
use driftsync::doc::{self, Format, Node, NodeKind};
use driftsync::template::Value;
use driftsync::template::path::Segment;
use driftsync_fuzz::{Choices, split_at_nul};
use libfuzzer_sys::fuzz_target;
use serde_json::Value as Json;

/// Strings that YAML or JSON could misread when written carelessly.
const TRICKY: &[&str] = &[
    "",
    " ",
    "a b",
    "yes",
    "No",
    "on",
    "true",
    "False",
    "null",
    "~",
    "y",
    "0x1F",
    "0777",
    "0o17",
    "1:30",
    "1e3",
    ".5",
    "1.0",
    "+1",
    "-1",
    "1_000",
    ".nan",
    ".inf",
    "-.inf",
    "2010-09-09",
    "-",
    "- a",
    "a: b",
    "a:b",
    "a #b",
    "#",
    "!Ref X",
    "!!str",
    "&a",
    "*a",
    "|",
    ">",
    "'",
    "\"",
    "%",
    "@",
    "`",
    "{",
    "}",
    "[",
    "]",
    ",",
    "?",
    ":",
    "=",
    "<<",
    "a\nb",
    "a\n",
    "\n",
    "\t",
    "a\tb",
    "\r\n",
    "\\",
    "\\n",
    "é",
    "\u{feff}",
    "\u{85}",
    "\u{2028}",
    "x'y",
    "x\"y",
    "--- ",
    "...",
    "a,b",
    "${AWS::Region}",
    "arn:aws:s3:::b/*",
    "0.0.0.0/0",
    "\"quoted\"",
];

fuzz_target!(|data: &[u8]| {
    let (text, choice) = split_at_nul(data);
    let Ok(text) = std::str::from_utf8(text) else {
        return;
    };
    let format = Format::sniff(text);
    let Ok(root) = doc::parse(text, format) else {
        return;
    };
    let mut c = Choices::new(choice.unwrap_or_default(), text.as_bytes());

    let mut nodes = Vec::new();
    walk(&root, &mut Vec::new(), &mut nodes);
    let (path, node) = &nodes[c.below(nodes.len())];
    let mut expected = root.to_json();
    let edit = match c.byte() % 6 {
        0..=2 if !path.is_empty() => {
            let v = value(&mut c, 0);
            *at(&mut expected, path) = v.clone();
            Edit {
                path: path.clone(),
                op: Op::Replace(v),
            }
        }
        3 if !path.is_empty() => {
            remove(&mut expected, path);
            Edit {
                path: path.clone(),
                op: Op::Remove,
            }
        }
        _ => {
            let v = value(&mut c, 0);
            let mut path = path.clone();
            match (&node.kind, at(&mut expected, &path)) {
                (NodeKind::Map(_), Json::Object(m)) => {
                    let k = string(&mut c);
                    if m.contains_key(&k) {
                        return;
                    }
                    m.insert(k.clone(), v.clone());
                    path.push(Segment::Key(k));
                }
                (NodeKind::Seq(_), Json::Array(items)) => {
                    let i = c.below(items.len() + 1);
                    items.insert(i, v.clone());
                    path.push(Segment::Index(i));
                }
                _ => return,
            }
            Edit {
                path,
                op: Op::Add(v),
            }
        }
    };

    let Ok(out) = apply(text, format, std::slice::from_ref(&edit)) else {
        return;
    };
    let reparsed = doc::parse(&out, format).unwrap_or_else(|e| {
        panic!(
            "the edited text does not parse: {e}\nedit: {edit:?}\nbefore:\n{text}\nafter:\n{out}"
        )
    });
    assert!(
        Value::from_json(&reparsed.to_json()) == Value::from_json(&expected),
        "the edited text does not read back as intended\nedit: {edit:?}\nbefore:\n{text}\nafter:\n{out}\nread back: {}\nwanted: {expected}",
        reparsed.to_json()
    );
});

/// Every node with its path, the root first (at most a few thousand).
fn walk<'a>(node: &'a Node, path: &mut Vec<Segment>, out: &mut Vec<(Vec<Segment>, &'a Node)>) {
    if out.len() >= 4096 {
        return;
    }
    out.push((path.clone(), node));
    match &node.kind {
        NodeKind::Map(m) => {
            for (k, e) in m {
                path.push(Segment::Key(k.clone()));
                walk(&e.value, path, out);
                path.pop();
            }
        }
        NodeKind::Seq(items) => {
            for (i, n) in items.iter().enumerate() {
                path.push(Segment::Index(i));
                walk(n, path, out);
                path.pop();
            }
        }
        NodeKind::Scalar(_) => {}
    }
}

fn at<'a>(mut v: &'a mut Json, path: &[Segment]) -> &'a mut Json {
    for seg in path {
        v = match (seg, v) {
            (Segment::Key(k), Json::Object(m)) => m.get_mut(k).expect("walked path"),
            (Segment::Index(i), Json::Array(a)) => &mut a[*i],
            _ => unreachable!("walked path"),
        };
    }
    v
}

fn remove(v: &mut Json, path: &[Segment]) {
    let (last, parent) = path.split_last().expect("not the root");
    match (last, at(v, parent)) {
        (Segment::Key(k), Json::Object(m)) => {
            m.shift_remove(k);
        }
        (Segment::Index(i), Json::Array(a)) => {
            a.remove(*i);
        }
        _ => unreachable!("walked path"),
    }
}

fn string(c: &mut Choices<'_>) -> String {
    match c.byte() % 4 {
        0 | 1 => TRICKY[c.below(TRICKY.len())].to_string(),
        2 => format!(
            "{}{}",
            TRICKY[c.below(TRICKY.len())],
            TRICKY[c.below(TRICKY.len())]
        ),
        _ => {
            let n = c.below(12);
            let bytes: Vec<u8> = (0..n).map(|_| c.byte()).collect();
            String::from_utf8_lossy(&bytes).into_owned()
        }
    }
}

/// A value as AWS could return it: scalars, and small lists and maps.
fn value(c: &mut Choices<'_>, depth: usize) -> Json {
    match c.byte() % 10 {
        0 => Json::Null,
        1 => Json::Bool(c.byte() % 2 == 0),
        2 => Json::from(c.u64() as i64),
        3 => Json::from(i64::from(c.byte()) - 128),
        4 => serde_json::Number::from_f64(f64::from_bits(c.u64())).map_or(Json::Null, Json::Number),
        5 if depth < 2 => {
            let n = c.below(4);
            Json::Array((0..n).map(|_| value(c, depth + 1)).collect())
        }
        6 if depth < 2 => {
            let n = c.below(4);
            Json::Object((0..n).map(|_| (string(c), value(c, depth + 1))).collect())
        }
        _ => Json::String(string(c)),
    }
}
