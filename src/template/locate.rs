//! Where a resource's property is written in the template, for annotations
//! and SARIF: the deepest part of the path the template spells out.

use super::Template;
use super::expr::ExprKind;
use super::path::{PropertyPath, Segment};
use crate::doc::Location;

impl Template {
    /// The location of `path` below the resource's `Properties`; where the
    /// template does not spell the whole path out (a list item added live),
    /// the nearest enclosing value; the resource itself at worst.
    pub fn locate(&self, logical_id: &str, path: &PropertyPath) -> Option<Location> {
        let r = self.resources.get(logical_id)?;
        let mut best = r.key_span.location();
        let Some(mut expr) = r.properties.as_ref() else {
            return Some(best);
        };
        for seg in &path.0 {
            match (seg, &expr.kind) {
                (Segment::Key(k), ExprKind::Map(m)) => match m.get(k) {
                    Some(f) => {
                        best = f.key_span.location();
                        expr = &f.value;
                    }
                    None => break,
                },
                (Segment::Index(i), ExprKind::List(items)) => match items.get(*i) {
                    Some(item) => {
                        best = item.span.location();
                        expr = item;
                    }
                    None => break,
                },
                _ => break,
            }
        }
        Some(best)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_properties_list_items_and_falls_back_to_the_nearest_parent() {
        let t = Template::parse("Resources:\n  Sg:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: x\n      SecurityGroupIngress:\n        - CidrIp: 10.0.0.0/8\n          FromPort: 443\n").unwrap();
        let at = |p: &str| {
            t.locate("Sg", &PropertyPath::parse(p))
                .map(|l| (l.line, l.col))
        };
        assert_eq!(at("/SecurityGroupIngress/0/FromPort"), Some((8, 11)));
        assert_eq!(at("/SecurityGroupIngress/0"), Some((7, 11)));
        assert_eq!(at("/SecurityGroupIngress/1"), Some((6, 7)));
        assert_eq!(at("/Tags/0"), Some((2, 3)));
        assert_eq!(t.locate("Nope", &PropertyPath::root()), None);
    }
}
