//! Conditions: three-valued (true, false, or undecided offline when they
//! depend on something only AWS knows), memoised, with cycles reported.

use super::ResolveError;
use super::eval::{Resolver, invalid};
use crate::doc::Location;
use crate::template::Value;
use crate::template::expr::{Expr, ExprKind, Intrinsic};

impl Resolver<'_> {
    /// The value of a named condition, used at `used_at`.
    pub(super) fn condition(
        &mut self,
        name: &str,
        used_at: Location,
    ) -> Result<Option<bool>, ResolveError> {
        if let Some(v) = self.conditions.get(name) {
            return Ok(*v);
        }
        if let Some(pos) = self.visiting.iter().position(|n| n == name) {
            let mut cycle = self.visiting[pos..].to_vec();
            cycle.push(name.to_string());
            return Err(ResolveError::CyclicCondition {
                cycle,
                location: self.location_of(name),
            });
        }
        let template = self.template;
        let Some(field) = template.conditions.get(name) else {
            return Err(ResolveError::Invalid {
                location: used_at,
                message: format!("condition \"{name}\" is not declared in Conditions"),
            });
        };
        self.visiting.push(name.to_string());
        let value = self.condition_expr(&field.value);
        self.visiting.pop();
        let value = value?;
        self.conditions.insert(name.to_string(), value);
        Ok(value)
    }

    /// Evaluates a condition function.
    pub(super) fn condition_expr(&mut self, e: &Expr) -> Result<Option<bool>, ResolveError> {
        let func = match &e.kind {
            ExprKind::Bool(b) => return Ok(Some(*b)),
            ExprKind::Fn(f) => f,
            _ => {
                return Err(invalid(
                    e.span,
                    "a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or Condition",
                ));
            }
        };
        match &**func {
            Intrinsic::Equals(a, b) => {
                let a = self.eval(a)?.unwrap_or(Value::Null);
                let b = self.eval(b)?.unwrap_or(Value::Null);
                if a.contains_unresolved() || b.contains_unresolved() {
                    // The same unknown on both sides is still equal.
                    return Ok((a == b).then_some(true));
                }
                Ok(Some(a == b))
            }
            Intrinsic::And(items) => {
                let mut all = Some(true);
                for item in items {
                    match self.condition_expr(item)? {
                        Some(false) => return Ok(Some(false)),
                        None => all = None,
                        Some(true) => {}
                    }
                }
                Ok(all)
            }
            Intrinsic::Or(items) => {
                let mut any = Some(false);
                for item in items {
                    match self.condition_expr(item)? {
                        Some(true) => return Ok(Some(true)),
                        None => any = None,
                        Some(false) => {}
                    }
                }
                Ok(any)
            }
            Intrinsic::Not(inner) => Ok(self.condition_expr(inner)?.map(|b| !b)),
            Intrinsic::Condition(name) => self.condition(&name.text, name.span.location()),
            other => Err(invalid(
                e.span,
                format!("{} is not a condition function", other.name()),
            )),
        }
    }
}
