//! What AWS Config last concluded about stacks: the managed
//! CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK rule that `driftsync bootstrap`
//! deploys runs CloudFormation's own drift detection on a schedule, so a
//! fresh COMPLIANT result lets `check --trust-config` skip detecting again.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use aws_sdk_config::types::ComplianceType;

use super::{Calls, Clients, LiveError, api_error};

/// The name `driftsync bootstrap` gives the managed drift rule.
pub const DRIFT_RULE: &str = "driftsync-stack-drift";

/// Stacks (by stack id) the rule found COMPLIANT within `max_age` of `now`,
/// with when the rule's run started (the detection can be no older).
/// No rule in this account and region is an empty answer, not an error.
///
/// # Errors
/// An AWS Config API failure other than a missing rule.
pub async fn compliant_stacks(
    clients: &Clients,
    rule: &str,
    max_age: Duration,
    now: SystemTime,
    calls: &Calls,
) -> Result<HashMap<String, SystemTime>, LiveError> {
    let mut out = HashMap::new();
    let mut next: Option<String> = None;
    loop {
        calls.record("GetComplianceDetailsByConfigRule");
        let page = clients
            .config
            .get_compliance_details_by_config_rule()
            .config_rule_name(rule)
            .compliance_types(ComplianceType::Compliant)
            .limit(100)
            .set_next_token(next.take())
            .send()
            .await;
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                let err = api_error(clients, "GetComplianceDetailsByConfigRule", "*", e);
                return match &err {
                    LiveError::Api { code, .. } if code.contains("NoSuchConfigRule") => Ok(out),
                    _ => Err(err),
                };
            }
        };
        for r in page.evaluation_results() {
            let qualifier = r
                .evaluation_result_identifier()
                .and_then(|i| i.evaluation_result_qualifier());
            let Some(q) = qualifier else { continue };
            if q.resource_type() != Some("AWS::CloudFormation::Stack") {
                continue;
            }
            // The detection began when the rule was invoked: judge its age by that.
            let Some(at) = r
                .config_rule_invoked_time()
                .or(r.result_recorded_time())
                .and_then(|t| SystemTime::try_from(*t).ok())
            else {
                continue;
            };
            let fresh = now
                .duration_since(at)
                .map(|age| age <= max_age)
                .unwrap_or(true);
            if let (true, Some(id)) = (fresh, q.resource_id()) {
                out.insert(id.to_string(), at);
            }
        }
        match page.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}
