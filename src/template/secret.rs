//! Which resource properties hold secrets: those whose template value uses
//! a `NoEcho` parameter or a secret dynamic reference
//! (`{{resolve:ssm-secure:...}}`, `{{resolve:secretsmanager:...}}`).
//! CloudFormation masks the one and never returns the other, so their values
//! are unknown to driftsync and must never be shown or written back. Pure.

use super::expr::{Expr, ExprKind, Intrinsic, SubPart};
use super::{PropertyPath, Template};

/// What a secret value shows as, on both sides of a difference.
pub const SHOWN_AS: &str = "(secret)";

/// How CloudFormation's describe calls return a NoEcho parameter's value.
pub const AWS_MASK: &str = "****";

/// Dynamic references whose resolved value is a secret.
const SECRET_REFERENCES: [&str; 2] = ["{{resolve:ssm-secure:", "{{resolve:secretsmanager:"];

/// The paths below a resource's `Properties` whose value is built from a
/// secret: the deepest literal map key or list index above each use, so a
/// property that is a function of a secret counts whole.
pub fn paths(template: &Template, properties: &Expr) -> Vec<PropertyPath> {
    let mut out = Vec::new();
    collect(template, properties, PropertyPath::root(), &mut out);
    out
}

fn collect(template: &Template, expr: &Expr, path: PropertyPath, out: &mut Vec<PropertyPath>) {
    match &expr.kind {
        ExprKind::Map(m) => {
            for (k, f) in m {
                collect(template, &f.value, path.key(k), out);
            }
        }
        ExprKind::List(items) => {
            for (i, e) in items.iter().enumerate() {
                collect(template, e, path.index(i), out);
            }
        }
        _ if uses_secret(template, expr) => out.push(path),
        _ => {}
    }
}

/// Whether `path` is a secret, lies inside one, or holds one (a list with
/// a secret item).
pub fn covers(secrets: &[PropertyPath], path: &PropertyPath) -> bool {
    let prefix =
        |a: &PropertyPath, b: &PropertyPath| a.0.len() <= b.0.len() && a.0 == b.0[..a.0.len()];
    secrets.iter().any(|s| prefix(s, path) || prefix(path, s))
}

/// Whether `path` of the template's resource `logical_id` is secret (see
/// [`covers`]).
pub fn is_secret(template: &Template, logical_id: &str, path: &PropertyPath) -> bool {
    template
        .resources
        .get(logical_id)
        .and_then(|r| r.properties.as_ref())
        .is_some_and(|p| covers(&paths(template, p), path))
}

/// Whether an expression uses a NoEcho parameter or a secret dynamic reference.
pub fn uses_secret(template: &Template, expr: &Expr) -> bool {
    let no_echo = |name: &str| template.parameters.get(name).is_some_and(|p| p.no_echo);
    let mut found = false;
    expr.walk(&mut |e| {
        found |= match &e.kind {
            ExprKind::String(s) => is_secret_reference(s),
            ExprKind::Fn(f) => match f.as_ref() {
                Intrinsic::Ref(name) => no_echo(&name.text),
                Intrinsic::Sub { parts, .. } => parts.iter().any(|p| match p {
                    SubPart::Var(v) => no_echo(v),
                    SubPart::Text(t) => is_secret_reference(t),
                }),
                _ => false,
            },
            _ => false,
        };
    });
    found
}

/// Whether text holds a secret dynamic reference.
pub fn is_secret_reference(text: &str) -> bool {
    SECRET_REFERENCES.iter().any(|r| text.contains(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: &str = "Parameters:
  Token: {Type: String, NoEcho: true}
  Env: {Type: String}
Resources:
  P:
    Type: AWS::SSM::Parameter
    Properties:
      Value: !Ref Token
      Description: !Sub token of ${Env}
      Tags:
        - {Key: a, Value: !Sub 'x-${Token}'}
        - {Key: b, Value: '{{resolve:secretsmanager:db:SecretString:password}}'}
        - {Key: c, Value: plain}
      Name: '{{resolve:ssm:/plain/name}}'
";

    fn secret(path: &str) -> bool {
        is_secret(
            &Template::parse(T).unwrap(),
            "P",
            &PropertyPath::parse(path),
        )
    }

    #[test]
    fn properties_fed_by_no_echo_parameters_or_secret_references_are_secret() {
        assert!(secret("/Value"));
        assert!(secret("/Tags/0/Value"));
        assert!(secret("/Tags/1/Value"));
        assert!(secret("/Tags"), "a list holding a secret");
    }

    #[test]
    fn other_properties_and_plain_ssm_references_are_not() {
        assert!(!secret("/Description"));
        assert!(!secret("/Tags/2"));
        assert!(!secret("/Name"));
        assert!(!secret("/Missing"));
        assert!(!secret("/Tags/3"), "an item the template does not have");
    }
}
