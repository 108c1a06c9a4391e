//! Live resource state through Cloud Control GetResource, in CloudFormation
//! property names: what `--deep` compares against the template.

use indexmap::IndexMap;

use super::{Calls, Clients, LiveError, api_error};
use crate::template::Value;

/// A resource's live properties. The identifier is its primary identifier,
/// which for the common types is the physical id CloudFormation reports.
///
/// # Errors
/// A [`LiveError::Api`] (including `ResourceNotFoundException` for a deleted
/// resource and `UnsupportedActionException` for types without a read handler).
pub async fn read_resource(
    clients: &Clients,
    stack: &str,
    type_name: &str,
    identifier: &str,
    calls: &Calls,
) -> Result<IndexMap<String, Value>, LiveError> {
    calls.record("GetResource");
    let out = clients
        .cloudcontrol
        .get_resource()
        .type_name(type_name)
        .identifier(identifier)
        .send()
        .await
        .map_err(|e| api_error(clients, "GetResource", stack, e))?;
    let text = out
        .resource_description()
        .and_then(|d| d.properties())
        .unwrap_or("{}");
    let json: serde_json::Value = serde_json::from_str(text).map_err(|e| LiveError::BadJson {
        what: "Cloud Control properties",
        stack: stack.to_string(),
        message: e.to_string(),
    })?;
    Ok(match Value::from_json(&json) {
        Value::Map(m) => m,
        _ => IndexMap::new(),
    })
}
