//! Nested stacks (`AWS::CloudFormation::Stack`). CloudFormation's drift
//! detection does not descend into them: "Perform DetectStackDrift directly
//! on the nested stack itself". driftsync does that, and reports their
//! resources as part of the parent, as the console shows them, by the path
//! through the stacks: `Network/Subnet`.
//!
//! Only drift: pending changes inside a nested stack's own template are not
//! computed (the parent's `TemplateURL` is compared like any property). A
//! nested stack that cannot be checked is reported `NOT_CHECKED` with the
//! reason, never silently skipped.

use std::collections::HashMap;

use super::model::{NestedIn, ResourceReport};
use super::{not_checked, report_of};
use crate::drift;
use crate::live::{self, Calls, Clients, DetectOptions, StackResource};

/// The resource type of a nested stack.
pub const TYPE: &str = "AWS::CloudFormation::Stack";

/// How many levels of nesting are followed.
const MAX_DEPTH: usize = 5;

/// Every resource of the nested stacks among `listed` (a stack's
/// resources), depth first, down to [`MAX_DEPTH`] levels.
pub(super) async fn drift(
    clients: &Clients,
    stack: &str,
    listed: &[StackResource],
    detect: &DetectOptions,
    ctx: &drift::Context<'_>,
    calls: &Calls,
) -> Vec<ResourceReport> {
    let mut out = Vec::new();
    // Depth first: (path, the nested stack's resource in its parent, depth).
    let mut work: Vec<(String, StackResource, usize)> = listed
        .iter()
        .rev()
        .filter(|r| r.type_name == TYPE)
        .map(|r| (r.logical_id.clone(), r.clone(), 1))
        .collect();
    while let Some((path, resource, depth)) = work.pop() {
        let refuse = |why: String| {
            let mut r = not_checked(&resource, None, Some(why));
            r.logical_id = path.clone();
            r
        };
        let Some(id) = resource.physical_id.as_deref() else {
            out.push(refuse(
                "a nested stack without a stack id: not created yet".into(),
            ));
            continue;
        };
        if depth > MAX_DEPTH {
            out.push(refuse(format!(
                "a nested stack more than {MAX_DEPTH} levels deep: not checked"
            )));
            continue;
        }
        let nested = match live::describe_stacks(clients, &[id], &HashMap::new(), calls).await {
            Ok(mut found) => found.remove(id).flatten(),
            Err(e) => {
                out.push(refuse(format!(
                    "a nested stack that could not be read: {e}"
                )));
                continue;
            }
        };
        let Some(nested) = nested else {
            out.push(refuse("a nested stack that no longer exists".into()));
            continue;
        };
        let within = |logical_id: &str| NestedIn {
            path: path.clone(),
            stack_id: nested.stack_id.clone(),
            logical_id: logical_id.to_string(),
        };
        let found = match live::detect_stack_drift(clients, &nested, detect, calls).await {
            Ok(d) => d.resources,
            Err(e) => {
                out.push(refuse(format!(
                    "drift detection on the nested stack failed: {e}"
                )));
                continue;
            }
        };
        let inner = match live::list_resources(clients, &nested, calls).await {
            Ok(r) => r,
            Err(e) => {
                out.push(refuse(format!(
                    "the nested stack's resources could not be listed: {e}"
                )));
                continue;
            }
        };
        for r in inner.iter().rev() {
            if r.type_name == TYPE {
                work.push((format!("{path}/{}", r.logical_id), r.clone(), depth + 1));
            } else if !found.iter().any(|d| d.logical_id == r.logical_id) {
                out.push(not_checked(r, Some(within(&r.logical_id)), None));
            }
        }
        for d in found.into_iter().filter(|d| d.type_name != TYPE) {
            let n = within(&d.logical_id);
            out.push(report_of(stack, d, ctx, Some(n)));
        }
    }
    out
}
