//! Deep drift: the deployed template (what drift is measured against, as
//! CloudFormation does), resolved with the stack's physical ids, against
//! Cloud Control's reading of each resource. Finds what
//! CloudFormation's detection cannot: live properties the template never
//! declared.

use indexmap::IndexMap;

use super::model::ResourceReport;
use super::pending::Deployed;
use crate::drift::{self, Mode};
use crate::live::{self, Calls, Clients, LiveError, LiveStack};
use crate::load::StackState;
use crate::template::resolve::resolve;

pub(super) async fn deep_drift(
    clients: &Clients,
    state: &StackState,
    deployed: &Deployed,
    live: &LiveStack,
    only: Option<&str>,
    ctx: &drift::Context<'_>,
    calls: &Calls,
) -> Result<Vec<ResourceReport>, LiveError> {
    let resources = live::list_resources(clients, live, calls).await?;
    let ids: IndexMap<String, (String, String)> = resources
        .iter()
        .filter_map(|r| {
            Some((
                r.logical_id.clone(),
                (r.physical_id.clone()?, r.type_name.clone()),
            ))
        })
        .collect();
    // Resolve again knowing the physical ids, so `Ref`s compare as values.
    let mut inputs = deployed.inputs.clone();
    inputs.known.physical_ids = ids
        .iter()
        .map(|(k, (p, _))| (k.clone(), p.clone()))
        .collect();
    let resolved =
        resolve(&deployed.template, &inputs).unwrap_or_else(|_| deployed.desired.clone());
    let stack: Vec<drift::StackResource<'_>> = resolved
        .resources
        .values()
        .map(|r| drift::StackResource {
            logical_id: &r.logical_id,
            type_name: &r.type_name,
            properties: &r.properties,
            physical_id: ids.get(&r.logical_id).map(|(p, _)| p.as_str()),
        })
        .collect();
    let attached = drift::attachments(&stack);
    let mut out = Vec::new();
    for (logical_id, r) in &resolved.resources {
        if only.is_some_and(|o| o != logical_id) {
            continue;
        }
        // Not in the stack yet: that is pending, not drift.
        let Some((physical_id, type_name)) = ids.get(logical_id) else {
            continue;
        };
        let report = |status: &str, differences, actual| ResourceReport {
            logical_id: logical_id.clone(),
            physical_id: Some(physical_id.clone()),
            type_name: type_name.clone(),
            status: status.to_string(),
            differences,
            changed_by: Vec::new(),
            location: None,
            locations: Vec::new(),
            checked_at: Some(super::rfc3339(std::time::SystemTime::now())),
            actual,
            nested_stack: None,
            note: None,
        };
        match live::read_resource(clients, &state.spec.name, type_name, physical_id, calls).await {
            Ok(actual) => {
                let input = drift::ResourceInput {
                    stack: &state.spec.name,
                    logical_id,
                    type_name,
                    expected: &r.properties,
                    actual: &actual,
                    mode: Mode::Deep,
                    attached: attached.get(logical_id).map_or(&[], Vec::as_slice),
                };
                let differences = drift::compare(&input, ctx);
                let status = if drift::is_drifted(&differences) {
                    "MODIFIED"
                } else {
                    "IN_SYNC"
                };
                out.push(report(status, differences, Some(actual)));
            }
            Err(LiveError::Api { code, .. }) if code == "ResourceNotFoundException" => {
                out.push(report("DELETED", Vec::new(), None))
            }
            Err(LiveError::Api { code, .. })
                if matches!(
                    code.as_str(),
                    "UnsupportedActionException"
                        | "TypeNotFoundException"
                        | "InvalidRequestException"
                ) =>
            {
                out.push(report("NOT_CHECKED", Vec::new(), None));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}
