//! Template expressions: the located tree of a template's values with every
//! intrinsic function, short form (`!Ref X`) or long form (`{"Ref": "X"}`),
//! turned into one typed [`Intrinsic`]. Arity and literal-argument rules are
//! checked here, so later stages can trust the shape.

use indexmap::IndexMap;

use super::TemplateError;
use crate::doc::{Node, NodeKind, ScalarKind, Span};

/// A template value with its source span.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    List(Vec<Expr>),
    Map(IndexMap<String, Field>),
    Fn(Box<Intrinsic>),
}

/// A map entry: the key's span (for messages and edits) and the value.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub key_span: Span,
    pub value: Expr,
}

/// A name written literally in the template, with where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    pub text: String,
    pub span: Span,
}

/// Every intrinsic function CloudFormation evaluates in a template body.
#[derive(Debug, Clone, PartialEq)]
pub enum Intrinsic {
    Ref(Name),
    GetAtt {
        resource: Name,
        attribute: Expr,
    },
    Sub {
        parts: Vec<SubPart>,
        vars: IndexMap<String, Field>,
    },
    Join {
        delimiter: Expr,
        items: Expr,
    },
    Select {
        index: Expr,
        list: Expr,
    },
    Split {
        delimiter: Expr,
        source: Expr,
    },
    If {
        condition: Name,
        then: Expr,
        otherwise: Expr,
    },
    Equals(Expr, Expr),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Expr),
    Condition(Name),
    FindInMap {
        map: Expr,
        top: Expr,
        second: Expr,
        default: Option<Expr>,
    },
    GetAZs(Expr),
    ImportValue(Expr),
    Base64(Expr),
    Cidr {
        block: Expr,
        count: Expr,
        bits: Expr,
    },
    Transform {
        name: String,
        parameters: Expr,
    },
    Length(Expr),
    ToJsonString(Expr),
    /// A function only meaningful in the `Rules` section or in metadata
    /// (`Fn::Contains`, `Fn::EachMemberIn`, ...), kept as written.
    Other {
        name: String,
        args: Expr,
    },
}

impl Intrinsic {
    /// The long-form name (`Fn::Join`, `Ref`).
    pub fn name(&self) -> &str {
        match self {
            Intrinsic::Ref(_) => "Ref",
            Intrinsic::GetAtt { .. } => "Fn::GetAtt",
            Intrinsic::Sub { .. } => "Fn::Sub",
            Intrinsic::Join { .. } => "Fn::Join",
            Intrinsic::Select { .. } => "Fn::Select",
            Intrinsic::Split { .. } => "Fn::Split",
            Intrinsic::If { .. } => "Fn::If",
            Intrinsic::Equals(..) => "Fn::Equals",
            Intrinsic::And(_) => "Fn::And",
            Intrinsic::Or(_) => "Fn::Or",
            Intrinsic::Not(_) => "Fn::Not",
            Intrinsic::Condition(_) => "Condition",
            Intrinsic::FindInMap { .. } => "Fn::FindInMap",
            Intrinsic::GetAZs(_) => "Fn::GetAZs",
            Intrinsic::ImportValue(_) => "Fn::ImportValue",
            Intrinsic::Base64(_) => "Fn::Base64",
            Intrinsic::Cidr { .. } => "Fn::Cidr",
            Intrinsic::Transform { .. } => "Fn::Transform",
            Intrinsic::Length(_) => "Fn::Length",
            Intrinsic::ToJsonString(_) => "Fn::ToJsonString",
            Intrinsic::Other { name, .. } => name,
        }
    }
}

/// A piece of an `Fn::Sub` string.
#[derive(Debug, Clone, PartialEq)]
pub enum SubPart {
    Text(String),
    /// `${Name}` or `${Resource.Attribute}`.
    Var(String),
}

/// Where an expression sits, which decides what is allowed in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    /// Resources, outputs, conditions: unknown `Fn::` functions are errors.
    Strict,
    /// Rules and metadata: other functions are kept as written.
    Lenient,
}

const SHORT_TAGS: &[&str] = &[
    "Ref",
    "GetAtt",
    "Sub",
    "Join",
    "Select",
    "Split",
    "If",
    "Equals",
    "And",
    "Or",
    "Not",
    "Condition",
    "FindInMap",
    "GetAZs",
    "ImportValue",
    "Base64",
    "Cidr",
    "Transform",
    "Length",
    "ToJsonString",
    "GetStackOutput",
];

impl Expr {
    /// Converts a document node, turning every intrinsic into an [`Intrinsic`].
    ///
    /// # Errors
    /// A located [`TemplateError::Syntax`] for an unknown tag or function, or
    /// an intrinsic with the wrong arguments.
    pub fn from_node(node: &Node, ctx: Context) -> Result<Expr, TemplateError> {
        if let Some(tag) = &node.tag {
            if !SHORT_TAGS.contains(&tag.as_ref()) {
                if ctx == Context::Lenient {
                    let args = Expr::from_untagged(node, ctx)?;
                    let name = format!("Fn::{tag}");
                    return Ok(Expr {
                        kind: ExprKind::Fn(Box::new(Intrinsic::Other { name, args })),
                        span: node.span,
                    });
                }
                return Err(syntax(node.span, format!("unknown tag !{tag}")));
            }
            let name = if &**tag == "Ref" || &**tag == "Condition" {
                tag.to_string()
            } else {
                format!("Fn::{tag}")
            };
            return intrinsic(&name, Arg { node, short: true }, node.span, ctx);
        }
        Expr::from_untagged(node, ctx)
    }

    /// [`Expr::from_node`] ignoring the node's own tag.
    fn from_untagged(node: &Node, ctx: Context) -> Result<Expr, TemplateError> {
        let kind = match &node.kind {
            NodeKind::Scalar(s) => match s.kind {
                ScalarKind::Null => ExprKind::Null,
                ScalarKind::Bool(b) => ExprKind::Bool(b),
                ScalarKind::Int(i) => ExprKind::Int(i),
                ScalarKind::Float(f) => ExprKind::Float(f),
                ScalarKind::Str => ExprKind::String(s.text.clone()),
            },
            NodeKind::Seq(items) => ExprKind::List(
                items
                    .iter()
                    .map(|n| Expr::from_node(n, ctx))
                    .collect::<Result<_, _>>()?,
            ),
            NodeKind::Map(map) => {
                if map.len() == 1 {
                    let (key, entry) = map.first().expect("one entry");
                    if is_function_key(key) {
                        return intrinsic(
                            key,
                            Arg {
                                node: &entry.value,
                                short: false,
                            },
                            node.span,
                            ctx,
                        );
                    }
                }
                let mut fields = IndexMap::with_capacity(map.len());
                for (k, e) in map {
                    let value = Expr::from_node(&e.value, ctx)?;
                    fields.insert(
                        k.clone(),
                        Field {
                            key_span: e.key_span,
                            value,
                        },
                    );
                }
                ExprKind::Map(fields)
            }
        };
        Ok(Expr {
            kind,
            span: node.span,
        })
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            ExprKind::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&IndexMap<String, Field>> {
        match &self.kind {
            ExprKind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Expr]> {
        match &self.kind {
            ExprKind::List(l) => Some(l),
            _ => None,
        }
    }

    pub fn as_fn(&self) -> Option<&Intrinsic> {
        match &self.kind {
            ExprKind::Fn(f) => Some(f),
            _ => None,
        }
    }

    /// Scalar text: strings as they are, numbers and booleans as written.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            ExprKind::String(s) => Some(s.clone()),
            ExprKind::Int(i) => Some(i.to_string()),
            ExprKind::Float(f) => Some(f.to_string()),
            ExprKind::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Visits this expression and every expression inside it, depth first.
    pub fn walk<'a>(&'a self, f: &mut dyn FnMut(&'a Expr)) {
        f(self);
        match &self.kind {
            ExprKind::List(items) => items.iter().for_each(|e| e.walk(f)),
            ExprKind::Map(m) => m.values().for_each(|fl| fl.value.walk(f)),
            ExprKind::Fn(func) => func.args().into_iter().for_each(|e| e.walk(f)),
            _ => {}
        }
    }
}

impl Intrinsic {
    /// The argument expressions, for walking.
    pub fn args(&self) -> Vec<&Expr> {
        match self {
            Intrinsic::Ref(_) | Intrinsic::Condition(_) => vec![],
            Intrinsic::GetAtt { attribute, .. } => vec![attribute],
            Intrinsic::Sub { vars, .. } => vars.values().map(|f| &f.value).collect(),
            Intrinsic::Join { delimiter, items } => vec![delimiter, items],
            Intrinsic::Select { index, list } => vec![index, list],
            Intrinsic::Split { delimiter, source } => vec![delimiter, source],
            Intrinsic::If {
                then, otherwise, ..
            } => vec![then, otherwise],
            Intrinsic::Equals(a, b) => vec![a, b],
            Intrinsic::And(v) | Intrinsic::Or(v) => v.iter().collect(),
            Intrinsic::FindInMap {
                map,
                top,
                second,
                default,
            } => {
                let mut v = vec![map, top, second];
                v.extend(default);
                v
            }
            Intrinsic::Not(e)
            | Intrinsic::GetAZs(e)
            | Intrinsic::ImportValue(e)
            | Intrinsic::Base64(e)
            | Intrinsic::Length(e)
            | Intrinsic::ToJsonString(e) => vec![e],
            Intrinsic::Cidr { block, count, bits } => vec![block, count, bits],
            Intrinsic::Transform { parameters, .. } => vec![parameters],
            Intrinsic::Other { args, .. } => vec![args],
        }
    }
}

fn is_function_key(key: &str) -> bool {
    key == "Ref" || (key.starts_with("Fn::") && !key.starts_with("Fn::ForEach::"))
}

fn syntax(span: Span, message: String) -> TemplateError {
    TemplateError::Syntax {
        location: span.location(),
        message,
    }
}

/// A function's argument node. For a short form (`!Base64 x`) the node is
/// the tagged node itself, whose tag is already spent.
#[derive(Clone, Copy)]
struct Arg<'a> {
    node: &'a Node,
    short: bool,
}

impl<'a> Arg<'a> {
    fn expr(self, ctx: Context) -> Result<Expr, TemplateError> {
        if self.short {
            Expr::from_untagged(self.node, ctx)
        } else {
            Expr::from_node(self.node, ctx)
        }
    }

    /// The node's text when it is a literal scalar, not another function.
    fn literal(self) -> Option<&'a str> {
        match (&self.node.kind, self.short || self.node.tag.is_none()) {
            (NodeKind::Scalar(s), true) if s.kind != ScalarKind::Null => Some(&s.text),
            _ => None,
        }
    }
}

fn intrinsic(name: &str, arg: Arg<'_>, span: Span, ctx: Context) -> Result<Expr, TemplateError> {
    let f = build(name, arg, span, ctx)?;
    Ok(Expr {
        kind: ExprKind::Fn(Box::new(f)),
        span,
    })
}

/// The argument list of a function that takes a list of `n`..=`m` items.
fn list<'a>(name: &str, arg: Arg<'a>, n: usize, m: usize) -> Result<&'a [Node], TemplateError> {
    match arg.node.as_seq() {
        Some(items) if (n..=m).contains(&items.len()) => Ok(items),
        _ => {
            let want = if n == m {
                format!("{n}")
            } else {
                format!("{n} to {m}")
            };
            Err(syntax(
                arg.node.span,
                format!(
                    "{name} takes a list of {want} arguments, found {}",
                    shape(arg.node)
                ),
            ))
        }
    }
}

fn shape(node: &Node) -> String {
    match node.as_seq() {
        Some(items) => format!("a list of {}", items.len()),
        None => node.describe().to_string(),
    }
}

fn name_of(fname: &str, what: &str, arg: Arg<'_>) -> Result<Name, TemplateError> {
    match arg.literal() {
        Some(text) => Ok(Name {
            text: text.to_string(),
            span: arg.node.span,
        }),
        None => Err(syntax(
            arg.node.span,
            format!(
                "{fname} needs {what} as a literal string, found {}",
                arg.node.describe()
            ),
        )),
    }
}

fn item(node: &Node) -> Arg<'_> {
    Arg { node, short: false }
}

fn build(name: &str, arg: Arg<'_>, span: Span, ctx: Context) -> Result<Intrinsic, TemplateError> {
    let e = |n: &Node| Expr::from_node(n, ctx);
    Ok(match name {
        "Ref" => Intrinsic::Ref(name_of("Ref", "a logical name", arg)?),
        "Condition" => Intrinsic::Condition(name_of("Condition", "a condition name", arg)?),
        "Fn::GetAtt" => get_att(arg, ctx)?,
        "Fn::Sub" => sub(arg, ctx)?,
        "Fn::Join" => {
            let a = list(name, arg, 2, 2)?;
            Intrinsic::Join {
                delimiter: e(&a[0])?,
                items: e(&a[1])?,
            }
        }
        "Fn::Select" => {
            let a = list(name, arg, 2, 2)?;
            Intrinsic::Select {
                index: e(&a[0])?,
                list: e(&a[1])?,
            }
        }
        "Fn::Split" => {
            let a = list(name, arg, 2, 2)?;
            Intrinsic::Split {
                delimiter: e(&a[0])?,
                source: e(&a[1])?,
            }
        }
        "Fn::If" => {
            let a = list(name, arg, 3, 3)?;
            Intrinsic::If {
                condition: name_of(name, "a condition name", item(&a[0]))?,
                then: e(&a[1])?,
                otherwise: e(&a[2])?,
            }
        }
        "Fn::Equals" => {
            let a = list(name, arg, 2, 2)?;
            Intrinsic::Equals(e(&a[0])?, e(&a[1])?)
        }
        "Fn::And" | "Fn::Or" => {
            let a = list(name, arg, 2, 10)?;
            let conds = a
                .iter()
                .map(|n| condition_operand(n, ctx))
                .collect::<Result<_, _>>()?;
            if name == "Fn::And" {
                Intrinsic::And(conds)
            } else {
                Intrinsic::Or(conds)
            }
        }
        "Fn::Not" => {
            let a = list(name, arg, 1, 1)?;
            Intrinsic::Not(condition_operand(&a[0], ctx)?)
        }
        "Fn::FindInMap" => {
            let a = list(name, arg, 3, 4)?;
            let default = match a.get(3) {
                None => None,
                Some(d) => match d.as_map() {
                    Some(m) if m.len() == 1 && m.contains_key("DefaultValue") => {
                        Some(e(&m["DefaultValue"].value)?)
                    }
                    _ => {
                        return Err(syntax(
                            d.span,
                            "Fn::FindInMap's fourth argument must be {DefaultValue: ...}".into(),
                        ));
                    }
                },
            };
            Intrinsic::FindInMap {
                map: e(&a[0])?,
                top: e(&a[1])?,
                second: e(&a[2])?,
                default,
            }
        }
        "Fn::GetAZs" => Intrinsic::GetAZs(arg.expr(ctx)?),
        "Fn::ImportValue" => Intrinsic::ImportValue(arg.expr(ctx)?),
        "Fn::Base64" => Intrinsic::Base64(arg.expr(ctx)?),
        "Fn::Cidr" => {
            let a = list(name, arg, 3, 3)?;
            Intrinsic::Cidr {
                block: e(&a[0])?,
                count: e(&a[1])?,
                bits: e(&a[2])?,
            }
        }
        "Fn::Transform" => {
            // Also seen as a one-item list of that map.
            let node = match arg.node.as_seq() {
                Some([only]) => only,
                _ => arg.node,
            };
            let map = node.as_map().ok_or_else(|| {
                syntax(
                    arg.node.span,
                    "Fn::Transform takes a map with Name and Parameters".into(),
                )
            })?;
            let tname = map
                .get("Name")
                .and_then(|n| n.value.as_str())
                .ok_or_else(|| {
                    syntax(arg.node.span, "Fn::Transform needs a literal Name".into())
                })?;
            let parameters = match map.get("Parameters") {
                Some(p) => e(&p.value)?,
                None => Expr {
                    kind: ExprKind::Null,
                    span,
                },
            };
            Intrinsic::Transform {
                name: tname.to_string(),
                parameters,
            }
        }
        "Fn::Length" => Intrinsic::Length(arg.expr(ctx)?),
        "Fn::ToJsonString" => Intrinsic::ToJsonString(arg.expr(ctx)?),
        // Another stack's output, known only when CloudFormation deploys; see
        // https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-getstackoutput.html
        "Fn::GetStackOutput" => Intrinsic::Other {
            name: name.to_string(),
            args: arg.expr(ctx)?,
        },
        other if ctx == Context::Lenient => Intrinsic::Other {
            name: other.to_string(),
            args: arg.expr(ctx)?,
        },
        other => return Err(syntax(span, format!("unknown intrinsic function {other}"))),
    })
}

/// Inside `Fn::And`, `Fn::Or` and `Fn::Not`, `{Condition: Name}` names a condition.
fn condition_operand(node: &Node, ctx: Context) -> Result<Expr, TemplateError> {
    if let Some(map) = node.as_map()
        && map.len() == 1
        && let Some(entry) = map.get("Condition")
    {
        let name = name_of("Condition", "a condition name", item(&entry.value))?;
        return Ok(Expr {
            kind: ExprKind::Fn(Box::new(Intrinsic::Condition(name))),
            span: node.span,
        });
    }
    Expr::from_node(node, ctx)
}

fn get_att(arg: Arg<'_>, ctx: Context) -> Result<Intrinsic, TemplateError> {
    if let Some(text) = arg.literal() {
        // `A.B` and `A.B.C`: the resource is up to the first dot.
        let span = arg.node.span;
        return match text.split_once('.') {
            Some((res, attr)) if !res.is_empty() && !attr.is_empty() => Ok(Intrinsic::GetAtt {
                resource: Name {
                    text: res.to_string(),
                    span,
                },
                attribute: Expr {
                    kind: ExprKind::String(attr.to_string()),
                    span,
                },
            }),
            _ => Err(syntax(
                span,
                format!("Fn::GetAtt needs \"Resource.Attribute\", found \"{text}\""),
            )),
        };
    }
    let a = list("Fn::GetAtt", arg, 2, 2)?;
    // Inside Fn::ForEach the resource may be `!Sub Name${Identifier}`.
    let resource = match sub_literal(&a[0]) {
        Some(text) => Name {
            text: text.to_string(),
            span: a[0].span,
        },
        None => name_of("Fn::GetAtt", "a resource name", item(&a[0]))?,
    };
    let attribute = Expr::from_node(&a[1], ctx)?;
    match &attribute.kind {
        ExprKind::String(_) => {}
        ExprKind::Fn(f) if matches!(**f, Intrinsic::Ref(_)) => {}
        _ => {
            return Err(syntax(
                a[1].span,
                "Fn::GetAtt's attribute must be a string or a Ref".into(),
            ));
        }
    }
    Ok(Intrinsic::GetAtt {
        resource,
        attribute,
    })
}

/// The string of `!Sub "text"` or `{"Fn::Sub": "text"}`.
fn sub_literal(node: &Node) -> Option<&str> {
    match node.tag.as_deref() {
        Some("Sub") => node.as_scalar().map(|s| s.text.as_str()),
        Some(_) => None,
        None => {
            let map = node.as_map().filter(|m| m.len() == 1)?;
            map.get("Fn::Sub").and_then(|e| e.value.as_str())
        }
    }
}

fn sub(arg: Arg<'_>, ctx: Context) -> Result<Intrinsic, TemplateError> {
    let (text_arg, vars) = match arg.node.as_seq() {
        Some(items) if items.len() == 2 => {
            let map = items[1]
                .as_map()
                .ok_or_else(|| syntax(items[1].span, "Fn::Sub's variables must be a map".into()))?;
            let mut vars = IndexMap::with_capacity(map.len());
            for (k, entry) in map {
                let value = Expr::from_node(&entry.value, ctx)?;
                vars.insert(
                    k.clone(),
                    Field {
                        key_span: entry.key_span,
                        value,
                    },
                );
            }
            (item(&items[0]), vars)
        }
        Some(_) => {
            return Err(syntax(
                arg.node.span,
                format!(
                    "Fn::Sub takes a string or a list of 2, found {}",
                    shape(arg.node)
                ),
            ));
        }
        None => (arg, IndexMap::new()),
    };
    // A macro (`Fn::Transform`) makes the string before Fn::Sub reads it.
    if vars.is_empty()
        && let Some(map) = text_arg.node.as_map()
        && map.len() == 1
        && map.contains_key("Fn::Transform")
    {
        return Ok(Intrinsic::Other {
            name: "Fn::Sub".into(),
            args: text_arg.expr(ctx)?,
        });
    }
    let text = text_arg.literal().ok_or_else(|| {
        syntax(
            text_arg.node.span,
            format!("Fn::Sub needs a string, found {}", text_arg.node.describe()),
        )
    })?;
    let parts = parse_sub(text).map_err(|m| syntax(text_arg.node.span, m))?;
    Ok(Intrinsic::Sub { parts, vars })
}

/// Splits an `Fn::Sub` string into text and `${...}` variables; `${!x}` is
/// the literal `${x}`.
pub fn parse_sub(text: &str) -> Result<Vec<SubPart>, String> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        literal.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("Fn::Sub has an unterminated \"${{\" in \"{text}\""));
        };
        let inner = &after[..end];
        if let Some(lit) = inner.strip_prefix('!') {
            literal.push_str("${");
            literal.push_str(lit);
            literal.push('}');
        } else {
            let var = inner.trim();
            if var.is_empty() {
                return Err(format!("Fn::Sub has an empty \"${{}}\" in \"{text}\""));
            }
            if !literal.is_empty() {
                parts.push(SubPart::Text(std::mem::take(&mut literal)));
            }
            parts.push(SubPart::Var(var.to_string()));
        }
        rest = &after[end + 1..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(SubPart::Text(literal));
    }
    Ok(parts)
}
