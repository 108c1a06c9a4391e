//! `aws-tags` and `stack-tags`: live tags no template declares.
//!
//! The tag property is the schema's `tagging.tag_property` (`/Tags` on most
//! types, `/HostedZoneTags`, `/TagSpecifications/*/Tags`, ...), either a list
//! of `{Key, Value}` or a map of key to value (SSM parameters, Lambda event
//! source mappings and others). Only tags present live and absent from the
//! template are explained here: a tag removed live, or with another value
//! than the template's, is drift.

use super::super::compare::{Site, Walker};
use super::{AWS_TAGS, STACK_TAGS};
use crate::template::path::Segment;
use crate::template::{PropertyPath, Value};

/// Whether the site is one tag: an item or key of the tag property.
pub(super) fn is_tag(w: &Walker<'_>, site: Site<'_>) -> bool {
    site.path
        .0
        .split_last()
        .is_some_and(|(_, parent)| w.is_tag_property(&PropertyPath(parent.to_vec())))
}

/// Why a live tag the template lacks is not drift, if it is not.
pub(super) fn added(w: &Walker<'_>, site: Site<'_>, value: &Value) -> Option<&'static str> {
    if !is_tag(w, site) {
        return None;
    }
    let last = site.path.0.last()?;
    let (key, tag_value) = match (last, value) {
        (Segment::Index(_), Value::Map(m)) => (
            m.get("Key").or_else(|| m.get("key"))?.scalar_text()?,
            m.get("Value")
                .or_else(|| m.get("value"))
                .and_then(Value::scalar_text),
        ),
        (Segment::Key(k), v) => (k.clone(), v.scalar_text()),
        _ => return None,
    };
    // AWS reserves the prefix in any case; no template can set such a tag.
    if key.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("aws:")) {
        return Some(AWS_TAGS);
    }
    match (w.ctx.stack_tags.get(&key), tag_value) {
        (Some(stack), Some(live)) if *stack == live => Some(STACK_TAGS),
        _ => None,
    }
}
