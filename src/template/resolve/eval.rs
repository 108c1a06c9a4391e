//! Evaluation of expressions and intrinsic functions.

use std::collections::HashMap;

use base64::Engine;
use indexmap::IndexMap;

use super::{DesiredResource, Inputs, ResolveError, ResolvedParam, cidr, unresolved_expr};
use crate::doc::{Location, Span};
use crate::template::expr::{Expr, ExprKind, Intrinsic, SubPart};
use crate::template::params::ParamValue;
use crate::template::{Number, Resource, Template, Unresolved, Value};

/// Evaluation state for one template.
pub(super) struct Resolver<'a> {
    pub(super) template: &'a Template,
    pub(super) inputs: &'a Inputs,
    params: &'a IndexMap<String, ResolvedParam>,
    /// Memoised condition values.
    pub(super) conditions: HashMap<String, Option<bool>>,
    /// Conditions being evaluated, to report cycles.
    pub(super) visiting: Vec<String>,
    /// `Fn::ForEach` identifiers in scope, innermost last.
    bindings: Vec<(String, String)>,
    /// Every logical id the template declares, loops expanded.
    pub(super) resource_ids: std::collections::HashSet<String>,
}

pub(super) fn invalid(span: Span, message: impl Into<String>) -> ResolveError {
    ResolveError::Invalid {
        location: span.location(),
        message: message.into(),
    }
}

impl<'a> Resolver<'a> {
    pub(super) fn new(
        template: &'a Template,
        inputs: &'a Inputs,
        params: &'a IndexMap<String, ResolvedParam>,
    ) -> Self {
        Resolver {
            template,
            inputs,
            params,
            conditions: HashMap::new(),
            visiting: Vec::new(),
            bindings: Vec::new(),
            resource_ids: template.resources.keys().cloned().collect(),
        }
    }

    /// Runs `f` with loop identifiers bound.
    pub(super) fn with_bindings<T>(
        &mut self,
        bindings: Vec<(String, String)>,
        f: impl FnOnce(&mut Self) -> Result<T, ResolveError>,
    ) -> Result<T, ResolveError> {
        let depth = self.bindings.len();
        self.bindings.extend(bindings);
        let out = f(self);
        self.bindings.truncate(depth);
        out
    }

    /// Replaces `${Identifier}` of loops in scope (a resource name built
    /// with `Fn::Sub` inside `Fn::ForEach`).
    fn expand_bindings(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (id, value) in &self.bindings {
            out = out.replace(&format!("${{{id}}}"), value);
        }
        out
    }

    pub(super) fn binding(&self, name: &str) -> Option<&str> {
        self.bindings
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Resolves one resource; `None` when its condition is false.
    pub(super) fn resource(
        &mut self,
        r: &Resource,
    ) -> Result<Option<DesiredResource>, ResolveError> {
        let condition = match &r.condition {
            None => None,
            Some(c) => {
                let value = self.condition(&c.text, c.span.location())?;
                if value == Some(false) {
                    return Ok(None);
                }
                Some((c.text.clone(), value))
            }
        };
        let properties = match &r.properties {
            None => IndexMap::new(),
            Some(p) => match self.eval(p)? {
                Some(Value::Map(m)) => m,
                None | Some(Value::Null) => IndexMap::new(),
                Some(other) => {
                    return Err(invalid(
                        p.span,
                        format!(
                            "Properties of {} must be a map, found {}",
                            r.logical_id,
                            other.describe()
                        ),
                    ));
                }
            },
        };
        let policy = |this: &mut Self, e: &Option<Expr>| {
            e.as_ref()
                .map(|e| this.eval(e))
                .transpose()
                .map(Option::flatten)
        };
        Ok(Some(DesiredResource {
            logical_id: r.logical_id.clone(),
            type_name: r.type_name.clone(),
            properties,
            condition,
            depends_on: r.depends_on.iter().map(|n| n.text.clone()).collect(),
            deletion_policy: policy(self, &r.deletion_policy)?,
            update_replace_policy: policy(self, &r.update_replace_policy)?,
            metadata: policy(self, &r.metadata)?,
            creation_policy: policy(self, &r.creation_policy)?,
            update_policy: policy(self, &r.update_policy)?,
            secrets: r
                .properties
                .as_ref()
                .map(|p| crate::template::secret::paths(self.template, p))
                .unwrap_or_default(),
        }))
    }

    /// Evaluates an expression; `None` means `AWS::NoValue` (the property is
    /// removed).
    pub(super) fn eval(&mut self, e: &Expr) -> Result<Option<Value>, ResolveError> {
        Ok(Some(match &e.kind {
            ExprKind::Null => Value::Null,
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Int(i) => Value::Number(Number::Int(*i)),
            ExprKind::Float(f) => Value::Number(Number::Float(*f)),
            ExprKind::String(s) => Value::String(s.clone()),
            ExprKind::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.extend(self.eval(item)?);
                }
                Value::List(out)
            }
            ExprKind::Map(fields) => {
                let mut out = IndexMap::with_capacity(fields.len());
                for (k, f) in fields {
                    if let Some(loop_name) = k.strip_prefix("Fn::ForEach::") {
                        for (key, value) in super::foreach::expand_map_entry(self, loop_name, f)? {
                            out.insert(key, value);
                        }
                        continue;
                    }
                    if let Some(v) = self.eval(&f.value)? {
                        out.insert(k.clone(), v);
                    }
                }
                Value::Map(out)
            }
            ExprKind::Fn(func) => return self.call(func, e.span),
        }))
    }

    /// Evaluates an expression that must give a value (not `AWS::NoValue`).
    pub(super) fn value(&mut self, e: &Expr) -> Result<Value, ResolveError> {
        self.eval(e)?
            .ok_or_else(|| invalid(e.span, "AWS::NoValue is not allowed here"))
    }

    /// Evaluates to a string, or to the unresolved value standing for one.
    fn text(&mut self, e: &Expr, what: &str) -> Result<Result<String, Value>, ResolveError> {
        match self.value(e)? {
            v @ Value::Unresolved(_) => Ok(Err(v)),
            v => v.scalar_text().map(Ok).ok_or_else(|| {
                invalid(
                    e.span,
                    format!("{what} must be a string, found {}", v.describe()),
                )
            }),
        }
    }

    fn call(&mut self, f: &Intrinsic, span: Span) -> Result<Option<Value>, ResolveError> {
        Ok(Some(match f {
            Intrinsic::Ref(name) => return self.reference(&name.text, name.span),
            Intrinsic::GetAtt {
                resource,
                attribute,
            } => {
                let name = self.expand_bindings(&resource.text);
                if !self.resource_ids.contains(&name) {
                    return Err(invalid(
                        resource.span,
                        format!(
                            "Fn::GetAtt names \"{name}\", which is not a resource in this template"
                        ),
                    ));
                }
                let attribute = match self.text(attribute, "Fn::GetAtt's attribute")? {
                    Ok(a) => a,
                    Err(v) => {
                        return Ok(Some(unresolved_expr(
                            "Fn::GetAtt",
                            format!("${{{name}.{}}}", v.sub_text()),
                        )));
                    }
                };
                let key = (name, attribute);
                match self.inputs.known.attributes.get(&key) {
                    Some(v) => v.clone(),
                    None => Value::unresolved(Unresolved::GetAtt {
                        resource: key.0,
                        attribute: key.1,
                    }),
                }
            }
            Intrinsic::Sub { parts, vars } => self.sub(parts, vars, span)?,
            Intrinsic::Join { delimiter, items } => self.join(delimiter, items)?,
            Intrinsic::Select { index, list } => return self.select(index, list),
            Intrinsic::Split { delimiter, source } => {
                let d = self.text(delimiter, "Fn::Split's delimiter")?;
                match (d, self.text(source, "Fn::Split's source")?) {
                    (Ok(d), Ok(s)) => Value::List(
                        s.split(d.as_str())
                            .map(|p| Value::String(p.to_string()))
                            .collect(),
                    ),
                    (d, s) => unresolved_expr(
                        "Fn::Split",
                        format!("{} by {}", either_text(&s), either_text(&d)),
                    ),
                }
            }
            Intrinsic::If {
                condition,
                then,
                otherwise,
            } => match self.condition(&condition.text, condition.span.location())? {
                Some(true) => return self.eval(then),
                Some(false) => return self.eval(otherwise),
                None => {
                    let t = self.eval(then)?.unwrap_or(Value::Null);
                    let o = self.eval(otherwise)?.unwrap_or(Value::Null);
                    Value::unresolved(Unresolved::If {
                        condition: condition.text.clone(),
                        then: Box::new(t),
                        otherwise: Box::new(o),
                    })
                }
            },
            Intrinsic::Equals(..)
            | Intrinsic::And(_)
            | Intrinsic::Or(_)
            | Intrinsic::Not(_)
            | Intrinsic::Condition(_) => match self.condition_expr_in(f, span)? {
                Some(b) => Value::Bool(b),
                None => unresolved_expr(f.name(), String::new()),
            },
            Intrinsic::FindInMap {
                map,
                top,
                second,
                default,
            } => return self.find_in_map(map, top, second, default.as_ref(), span),
            Intrinsic::GetAZs(region) => {
                Value::unresolved(Unresolved::GetAZs(Box::new(self.value(region)?)))
            }
            Intrinsic::ImportValue(name) => {
                let v = self.value(name)?;
                match v.as_str().and_then(|n| self.inputs.known.exports.get(n)) {
                    Some(x) => Value::String(x.clone()),
                    None => Value::unresolved(Unresolved::ImportValue(Box::new(v))),
                }
            }
            Intrinsic::Base64(e) => match self.text(e, "Fn::Base64's argument")? {
                Ok(s) => Value::String(base64::engine::general_purpose::STANDARD.encode(s)),
                Err(v) => unresolved_expr("Fn::Base64", v.sub_text()),
            },
            Intrinsic::Cidr { block, count, bits } => {
                let b = self.text(block, "Fn::Cidr's address block")?;
                let c = self.text(count, "Fn::Cidr's count")?;
                let n = self.text(bits, "Fn::Cidr's cidrBits")?;
                match (b, c, n) {
                    (Ok(b), Ok(c), Ok(n)) => {
                        cidr::subnets(&b, &c, &n).map_err(|m| invalid(span, m))?
                    }
                    (b, _, _) => unresolved_expr("Fn::Cidr", either_text(&b)),
                }
            }
            Intrinsic::Transform { name, .. } => {
                Value::unresolved(Unresolved::Transform { name: name.clone() })
            }
            Intrinsic::Length(e) => match self.value(e)? {
                Value::List(items) => Value::Number(Number::Int(items.len() as i64)),
                v @ Value::Unresolved(_) => unresolved_expr("Fn::Length", v.sub_text()),
                v => {
                    return Err(invalid(
                        e.span,
                        format!("Fn::Length needs a list, found {}", v.describe()),
                    ));
                }
            },
            Intrinsic::ToJsonString(e) => {
                let v = self.value(e)?;
                if v.contains_unresolved() {
                    unresolved_expr("Fn::ToJsonString", v.to_json().to_string())
                } else {
                    Value::String(v.to_json().to_string())
                }
            }
            Intrinsic::Other { name, .. } => unresolved_expr(name, String::new()),
        }))
    }

    /// `Ref`: a loop identifier, a parameter, a pseudo parameter or a resource.
    pub(super) fn reference(
        &mut self,
        name: &str,
        span: Span,
    ) -> Result<Option<Value>, ResolveError> {
        if let Some(v) = self.binding(name) {
            return Ok(Some(Value::String(v.to_string())));
        }
        if let Some(p) = self.params.get(name) {
            return Ok(Some(match &p.value {
                ParamValue::String(s) => Value::String(s.clone()),
                ParamValue::List(items) => {
                    Value::List(items.iter().cloned().map(Value::String).collect())
                }
                ParamValue::Ssm(ssm) => Value::unresolved(Unresolved::SsmParameter {
                    parameter: name.to_string(),
                    name: ssm.clone(),
                }),
            }));
        }
        if name.starts_with("AWS::") {
            return self.pseudo(name, span);
        }
        if self.resource_ids.contains(name) {
            return Ok(Some(match self.inputs.known.physical_ids.get(name) {
                Some(id) => Value::String(id.clone()),
                None => Value::unresolved(Unresolved::Ref(name.to_string())),
            }));
        }
        Err(invalid(
            span,
            format!("Ref names \"{name}\", which is not a parameter, resource or pseudo parameter"),
        ))
    }

    fn pseudo(&self, name: &str, span: Span) -> Result<Option<Value>, ResolveError> {
        let p = &self.inputs.pseudo;
        let known = |v: Option<String>| {
            Some(match v {
                Some(s) => Value::String(s),
                None => Value::unresolved(Unresolved::Pseudo(name.to_string())),
            })
        };
        Ok(match name {
            "AWS::NoValue" => None,
            "AWS::Region" => known(p.region.clone()),
            "AWS::AccountId" => known(p.account_id.clone()),
            "AWS::StackName" => known(p.stack_name.clone()),
            "AWS::StackId" => known(p.stack_id.clone()),
            "AWS::Partition" => known(p.partition().map(String::from)),
            "AWS::URLSuffix" => known(p.url_suffix().map(String::from)),
            "AWS::NotificationARNs" => match &p.notification_arns {
                Some(arns) => Some(Value::List(
                    arns.iter().cloned().map(Value::String).collect(),
                )),
                None => known(None),
            },
            _ => return Err(invalid(span, format!("unknown pseudo parameter {name}"))),
        })
    }

    fn sub(
        &mut self,
        parts: &[SubPart],
        vars: &IndexMap<String, crate::template::Field>,
        span: Span,
    ) -> Result<Value, ResolveError> {
        let mut out = String::new();
        let mut resolved = true;
        for part in parts {
            match part {
                SubPart::Text(t) => out.push_str(t),
                SubPart::Var(var) => {
                    let v = match vars.get(var) {
                        Some(f) => self.value(&f.value)?,
                        None => self.sub_variable(var, span)?,
                    };
                    match v {
                        Value::List(_) | Value::Map(_) => {
                            return Err(invalid(
                                span,
                                format!(
                                    "Fn::Sub variable ${{{var}}} is {}, not a string",
                                    v.describe()
                                ),
                            ));
                        }
                        Value::Unresolved(_) => {
                            resolved = false;
                            out.push_str(&v.sub_text());
                        }
                        v => out.push_str(&v.sub_text()),
                    }
                }
            }
        }
        Ok(if resolved {
            Value::String(out)
        } else {
            unresolved_expr("Fn::Sub", out)
        })
    }

    /// `${Name}` or `${Resource.Attribute}` without an explicit variable.
    fn sub_variable(&mut self, var: &str, span: Span) -> Result<Value, ResolveError> {
        if !var.starts_with("AWS::")
            && let Some((res, attr)) = var.split_once('.')
            && self.binding(var).is_none()
            && !self.params.contains_key(var)
        {
            if !self.resource_ids.contains(res) {
                return Err(invalid(
                    span,
                    format!(
                        "Fn::Sub variable ${{{var}}} names \"{res}\", which is not a resource in this template"
                    ),
                ));
            }
            let key = (res.to_string(), attr.to_string());
            return Ok(match self.inputs.known.attributes.get(&key) {
                Some(v) => v.clone(),
                None => Value::unresolved(Unresolved::GetAtt {
                    resource: key.0,
                    attribute: key.1,
                }),
            });
        }
        self.reference(var, span)?
            .ok_or_else(|| invalid(span, "AWS::NoValue cannot be used in Fn::Sub"))
    }

    fn join(&mut self, delimiter: &Expr, items: &Expr) -> Result<Value, ResolveError> {
        let d = match self.text(delimiter, "Fn::Join's delimiter")? {
            Ok(d) => d,
            Err(v) => v.sub_text(),
        };
        let list = match self.value(items)? {
            Value::List(l) => l,
            v @ Value::Unresolved(_) => return Ok(unresolved_expr("Fn::Join", v.sub_text())),
            v => {
                return Err(invalid(
                    items.span,
                    format!("Fn::Join needs a list, found {}", v.describe()),
                ));
            }
        };
        let mut resolved = true;
        let mut texts = Vec::with_capacity(list.len());
        for v in &list {
            match v {
                Value::List(_) | Value::Map(_) => {
                    return Err(invalid(
                        items.span,
                        format!("Fn::Join items must be strings, found {}", v.describe()),
                    ));
                }
                Value::Unresolved(_) => resolved = false,
                _ => {}
            }
            texts.push(v.sub_text());
        }
        let joined = texts.join(&d);
        Ok(if resolved {
            Value::String(joined)
        } else {
            unresolved_expr("Fn::Join", joined)
        })
    }

    fn select(&mut self, index: &Expr, list: &Expr) -> Result<Option<Value>, ResolveError> {
        let i = match self.text(index, "Fn::Select's index")? {
            Ok(t) => t.trim().parse::<usize>().map_err(|_| {
                invalid(
                    index.span,
                    format!("Fn::Select's index must be a whole number, found \"{t}\""),
                )
            })?,
            Err(v) => {
                return Ok(Some(unresolved_expr(
                    "Fn::Select",
                    format!("[{}]", v.sub_text()),
                )));
            }
        };
        match self.value(list)? {
            Value::List(items) => items.into_iter().nth(i).map(Some).ok_or_else(|| {
                invalid(
                    index.span,
                    format!("Fn::Select index {i} is past the end of the list"),
                )
            }),
            v @ Value::Unresolved(_) => Ok(Some(unresolved_expr(
                "Fn::Select",
                format!("{}[{i}]", v.sub_text()),
            ))),
            v => Err(invalid(
                list.span,
                format!("Fn::Select needs a list, found {}", v.describe()),
            )),
        }
    }

    fn find_in_map(
        &mut self,
        map: &Expr,
        top: &Expr,
        second: &Expr,
        default: Option<&Expr>,
        span: Span,
    ) -> Result<Option<Value>, ResolveError> {
        let keys = [
            self.text(map, "Fn::FindInMap's map name")?,
            self.text(top, "Fn::FindInMap's key")?,
            self.text(second, "Fn::FindInMap's key")?,
        ];
        if keys.iter().any(Result::is_err) {
            let text = keys.iter().map(either_text).collect::<Vec<_>>().join(".");
            return Ok(Some(unresolved_expr("Fn::FindInMap", text)));
        }
        let [m, t, s] = keys.map(|k| k.unwrap_or_default());
        let template = self.template;
        let mapping = template.mappings.get(&m).map(|f| &f.value);
        let found = mapping
            .and_then(Expr::as_map)
            .and_then(|top_map| top_map.get(&t))
            .and_then(|f| f.value.as_map())
            .and_then(|second_map| second_map.get(&s))
            .map(|f| &f.value);
        match (found, default) {
            (Some(e), _) => self.eval(e),
            (None, Some(d)) => self.eval(d),
            (None, None) if mapping.is_none() => Err(invalid(
                span,
                format!("Fn::FindInMap names mapping \"{m}\", which the template does not declare"),
            )),
            (None, None) => Err(invalid(
                span,
                format!("Fn::FindInMap: mapping \"{m}\" has no entry [{t}][{s}]"),
            )),
        }
    }

    /// Condition functions used outside the Conditions section.
    fn condition_expr_in(
        &mut self,
        f: &Intrinsic,
        span: Span,
    ) -> Result<Option<bool>, ResolveError> {
        let e = Expr {
            kind: ExprKind::Fn(Box::new(f.clone())),
            span,
        };
        self.condition_expr(&e)
    }

    pub(super) fn location_of(&self, name: &str) -> Location {
        self.template
            .conditions
            .get(name)
            .map(|f| f.key_span.location())
            .unwrap_or_default()
    }
}

fn either_text(v: &Result<String, Value>) -> String {
    match v {
        Ok(s) => s.clone(),
        Err(v) => v.sub_text(),
    }
}
