//! `Fn::ForEach` (AWS::LanguageExtensions): loops that stamp out resources,
//! or property map entries, once per item of a collection.

use super::ResolveError;
use super::eval::{Resolver, invalid};
use crate::template::expr::Field;
use crate::template::{ForEach, Resource, Template, Value};

/// Loop identifiers bound to items, outermost first.
pub(super) type Bindings = Vec<(String, String)>;

/// A declared resource (borrowed) or one a loop produced (owned).
pub(super) type Stamped<'t> = (std::borrow::Cow<'t, Resource>, Bindings);

/// Every resource of the template with the loop bindings it was made under;
/// also records the expanded logical ids with the resolver.
pub(super) fn expand_resources<'t>(
    template: &'t Template,
    r: &mut Resolver<'_>,
) -> Result<Vec<Stamped<'t>>, ResolveError> {
    let mut out: Vec<Stamped<'t>> = template
        .resources
        .values()
        .map(|res| (std::borrow::Cow::Borrowed(res), Vec::new()))
        .collect();
    for l in &template.resource_loops {
        expand_loop(l, &[], r, &mut out)?;
    }
    r.resource_ids = out.iter().map(|(res, _)| res.logical_id.clone()).collect();
    Ok(out)
}

fn expand_loop(
    l: &ForEach,
    outer: &[(String, String)],
    r: &mut Resolver<'_>,
    out: &mut Vec<Stamped<'_>>,
) -> Result<(), ResolveError> {
    for item in collection(l, outer, r)? {
        let mut bindings = outer.to_vec();
        bindings.push((l.identifier.clone(), item));
        for (key, field) in &l.fragments {
            if let Some(inner) = key.strip_prefix("Fn::ForEach::") {
                let nested = ForEach::from_field(inner, field)
                    .map_err(|e| invalid(field.key_span, e.to_string()))?;
                expand_loop(&nested, &bindings, r, out)?;
                continue;
            }
            let id = substitute(key, &bindings);
            let res = Resource::from_field(&id, field)
                .map_err(|e| invalid(field.key_span, e.to_string()))?;
            out.push((std::borrow::Cow::Owned(res), bindings.clone()));
        }
    }
    Ok(())
}

/// The loop's items as strings, which must be known offline.
fn collection(
    l: &ForEach,
    bindings: &[(String, String)],
    r: &mut Resolver<'_>,
) -> Result<Vec<String>, ResolveError> {
    let value = r.with_bindings(bindings.to_vec(), |r| r.value(&l.collection))?;
    match value {
        Value::List(items) => items
            .iter()
            .map(|v| {
                v.scalar_text().ok_or_else(|| {
                    invalid(
                        l.collection.span,
                        format!("Fn::ForEach::{} items must be strings", l.name),
                    )
                })
            })
            .collect(),
        other => Err(invalid(
            l.collection.span,
            format!(
                "Fn::ForEach::{} needs a list known before deployment, found {}",
                l.name,
                other.describe()
            ),
        )),
    }
}

/// Expands a loop inside a property map into its key/value pairs.
pub(super) fn expand_map_entry(
    r: &mut Resolver<'_>,
    loop_name: &str,
    field: &Field,
) -> Result<Vec<(String, Value)>, ResolveError> {
    let l = ForEach::from_field(loop_name, field)
        .map_err(|e| invalid(field.key_span, e.to_string()))?;
    let mut out = Vec::new();
    for item in collection(&l, &[], r)? {
        let binding = vec![(l.identifier.clone(), item)];
        for (key, frag) in &l.fragments {
            let key = substitute(key, &binding);
            let value = r.with_bindings(binding.clone(), |r| r.eval(&frag.value))?;
            out.extend(value.map(|v| (key, v)));
        }
    }
    Ok(out)
}

/// Replaces `${Id}` with the item and `&{Id}` with its alphanumerics only.
fn substitute(key: &str, bindings: &[(String, String)]) -> String {
    let mut out = key.to_string();
    for (id, value) in bindings {
        out = out.replace(&format!("${{{id}}}"), value);
        let alnum: String = value
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect();
        out = out.replace(&format!("&{{{id}}}"), &alnum);
    }
    out
}
