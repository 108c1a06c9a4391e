//! Attribution: which CloudTrail events made a resource's drift. An event
//! counts when it is on this resource, after the stack's last update,
//! succeeded, is not read-only, is neither CloudFormation's nor driftsync's
//! own, and its API can change a drifted property: a Cloud Control
//! `UpdateResource` only when its patch touches the property, a tag call
//! only for tags, any other API when its name matches the property
//! (`AuthorizeSecurityGroupIngress` → `/SecurityGroupIngress`,
//! `PutRetentionPolicy` → `/RetentionInDays`) or names the resource's whole
//! settings (`SetQueueAttributes`, `UpdateFunctionConfiguration`,
//! `UpdateRole`).
//!
//! Pure: the events come from `live::lookup_events`.

use std::time::SystemTime;

use crate::live::{APP_ID, Change, TrailEvent};
use crate::template::PropertyPath;
use crate::template::path::Segment;

/// Words in an API name that mean "any setting of the resource".
const GENERIC: &[&str] = &["attribute", "configuration", "setting", "property"];

/// What was found drifted on one resource.
pub struct Drifted<'a> {
    pub type_name: &'a str,
    /// Empty: the whole resource (deleted).
    pub paths: &'a [PropertyPath],
    /// Whether a path is (inside) the resource's tag property.
    pub is_tag: &'a dyn Fn(&PropertyPath) -> bool,
    /// The stack's last update: earlier events are not this drift.
    pub since: Option<SystemTime>,
}

/// The events that can have made this drift, newest first, at most `limit`.
pub fn changed_by(events: &[TrailEvent], drifted: &Drifted<'_>, limit: usize) -> Vec<Change> {
    events
        .iter()
        .filter(|e| counts(e, drifted.since))
        .filter_map(|e| {
            let touched: Vec<String> = drifted
                .paths
                .iter()
                .filter(|p| can_change(e, drifted.type_name, p, (drifted.is_tag)(p)))
                .map(ToString::to_string)
                .collect();
            (drifted.paths.is_empty() || !touched.is_empty()).then(|| Change {
                principal: e.principal.clone(),
                event: e.event.clone(),
                time: e.time.clone(),
                property_paths: touched,
            })
        })
        .take(limit)
        .collect()
}

/// A successful, mutating call by someone else, after `since`.
fn counts(e: &TrailEvent, since: Option<SystemTime>) -> bool {
    let d = &e.detail;
    let after = match (since, e.at) {
        (Some(since), Some(at)) => at > since,
        _ => true,
    };
    after
        && d["readOnly"] != serde_json::Value::Bool(true)
        && d["errorCode"].as_str().is_none_or(str::is_empty)
        && !by_cloudformation(d)
        && !by_driftsync(d)
}

/// CloudFormation's own calls (deploys, reverts) are not out-of-band changes.
fn by_cloudformation(d: &serde_json::Value) -> bool {
    let says = |v: &serde_json::Value| v.as_str().is_some_and(|v| v.contains("cloudformation"));
    says(&d["sourceIPAddress"]) || says(&d["userAgent"]) || says(&d["userIdentity"]["invokedBy"])
}

/// driftsync's own calls: its SDK app id in the user agent, its session
/// name on an assumed role, or its client tokens.
fn by_driftsync(d: &serde_json::Value) -> bool {
    let agent = d["userAgent"].as_str().unwrap_or_default();
    let session = d["userIdentity"]["arn"]
        .as_str()
        .is_some_and(|a| a.contains(":assumed-role/") && a.ends_with(&format!("/{APP_ID}")));
    let token = d["requestParameters"]["clientToken"]
        .as_str()
        .is_some_and(|t| t.starts_with("driftsync-"));
    agent
        .split_whitespace()
        .any(|w| w == format!("app/{APP_ID}"))
        || session
        || token
}

/// Whether this call can change the property at `path`.
fn can_change(e: &TrailEvent, type_name: &str, path: &PropertyPath, is_tag: bool) -> bool {
    if e.source.starts_with("cloudcontrol") {
        return e.event == "UpdateResource" && patch_touches(&e.detail, path);
    }
    let api = words(&e.event);
    let tag_call = api
        .iter()
        .any(|w| matches!(w.as_str(), "tag" | "untag" | "tagging"));
    if tag_call || is_tag {
        return tag_call && is_tag;
    }
    let kind: Vec<String> = type_name.rsplit("::").next().map(words).unwrap_or_default();
    let rest: Vec<&String> = api.iter().skip(1).filter(|w| !kind.contains(w)).collect();
    if rest.is_empty() || rest.iter().any(|w| GENERIC.contains(&w.as_str())) {
        return true;
    }
    let property: Vec<String> = path
        .0
        .iter()
        .filter_map(|s| match s {
            Segment::Key(k) => Some(words(k)),
            Segment::Index(_) => None,
        })
        .flatten()
        .collect();
    rest.iter().any(|w| property.contains(w))
}

/// Whether a Cloud Control patch (`requestParameters.patchDocument`, JSON
/// text or a list) has an operation at, above or below `path`.
fn patch_touches(d: &serde_json::Value, path: &PropertyPath) -> bool {
    let doc = &d["requestParameters"]["patchDocument"];
    let ops: serde_json::Value = match doc.as_str() {
        Some(text) => serde_json::from_str(text).unwrap_or_default(),
        None => doc.clone(),
    };
    ops.as_array().into_iter().flatten().any(|op| {
        op["path"]
            .as_str()
            .is_some_and(|p| path.is_within(p) || path.contains(p))
    })
}

/// `AuthorizeSecurityGroupIngress` → `authorize security group ingress`;
/// lower case and singular, so `Policies` meets `Policy`.
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut word = String::new();
    for (i, &c) in chars.iter().enumerate() {
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1);
        let starts = c.is_uppercase()
            && (prev.is_some_and(char::is_lowercase)
                || (prev.is_some_and(char::is_uppercase)
                    && next.is_some_and(|n| n.is_lowercase())));
        if (starts || !c.is_alphanumeric()) && !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
        if c.is_alphanumeric() {
            word.extend(c.to_lowercase());
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out.into_iter().map(singular).collect()
}

fn singular(w: String) -> String {
    if let Some(stem) = w.strip_suffix("ies") {
        format!("{stem}y")
    } else if w.len() > 3 && w.ends_with('s') && !w.ends_with("ss") {
        w[..w.len() - 1].to_string()
    } else {
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(name: &str, source: &str, detail: serde_json::Value) -> TrailEvent {
        TrailEvent {
            principal: "alice".into(),
            event: name.into(),
            source: source.into(),
            time: "2026-12-04T10:00:00Z".into(),
            at: None,
            detail,
        }
    }

    fn named(e: TrailEvent, type_name: &str, path: &str) -> bool {
        let paths = [PropertyPath::parse(path)];
        let is_tag = |p: &PropertyPath| p.first_key() == Some("Tags");
        let d = Drifted {
            type_name,
            paths: &paths,
            is_tag: &is_tag,
            since: None,
        };
        !changed_by(&[e], &d, 3).is_empty()
    }

    #[test]
    fn api_names_match_the_properties_they_change() {
        let sg = "AWS::EC2::SecurityGroup";
        let ec2 = "ec2.amazonaws.com";
        assert!(named(
            event("AuthorizeSecurityGroupIngress", ec2, json!({})),
            sg,
            "/SecurityGroupIngress"
        ));
        assert!(!named(
            event("AuthorizeSecurityGroupEgress", ec2, json!({})),
            sg,
            "/SecurityGroupIngress"
        ));
        let logs = "logs.amazonaws.com";
        assert!(named(
            event("PutRetentionPolicy", logs, json!({})),
            "AWS::Logs::LogGroup",
            "/RetentionInDays"
        ));
        assert!(!named(
            event("AssociateKmsKey", logs, json!({})),
            "AWS::Logs::LogGroup",
            "/RetentionInDays"
        ));
        let sqs = "sqs.amazonaws.com";
        assert!(named(
            event("SetQueueAttributes", sqs, json!({})),
            "AWS::SQS::Queue",
            "/VisibilityTimeout"
        ));
        assert!(named(
            event("PutRolePolicy", "iam.amazonaws.com", json!({})),
            "AWS::IAM::Role",
            "/Policies"
        ));
    }

    #[test]
    fn tag_calls_count_only_for_tags() {
        let sqs = "sqs.amazonaws.com";
        assert!(!named(
            event("TagQueue", sqs, json!({})),
            "AWS::SQS::Queue",
            "/VisibilityTimeout"
        ));
        assert!(named(
            event("TagQueue", sqs, json!({})),
            "AWS::SQS::Queue",
            "/Tags/0"
        ));
        assert!(!named(
            event("SetQueueAttributes", sqs, json!({})),
            "AWS::SQS::Queue",
            "/Tags/0"
        ));
    }

    #[test]
    fn cloud_control_updates_count_only_where_their_patch_touches() {
        let cc = "cloudcontrol.amazonaws.com";
        let patch = |p: &str| json!({"requestParameters": {"patchDocument": format!(r#"[{{"op":"add","path":"{p}","value":1}}]"#)}});
        assert!(named(
            event("UpdateResource", cc, patch("/VisibilityTimeout")),
            "AWS::SQS::Queue",
            "/VisibilityTimeout"
        ));
        assert!(!named(
            event("UpdateResource", cc, patch("/DelaySeconds")),
            "AWS::SQS::Queue",
            "/VisibilityTimeout"
        ));
    }

    #[test]
    fn failed_read_only_cloudformation_and_driftsync_calls_never_count() {
        let sqs = "sqs.amazonaws.com";
        let q = "AWS::SQS::Queue";
        for detail in [
            json!({"readOnly": true}),
            json!({"errorCode": "AccessDenied"}),
            json!({"userAgent": "cloudformation.amazonaws.com"}),
            json!({"userAgent": "aws-sdk-rust/1.3 os/linux lang/rust/1.90 app/driftsync"}),
            json!({"userIdentity": {"arn": "arn:aws:sts::111111111111:assumed-role/driftsync/driftsync"}}),
        ] {
            assert!(
                !named(
                    event("SetQueueAttributes", sqs, detail.clone()),
                    q,
                    "/VisibilityTimeout"
                ),
                "{detail}"
            );
        }
    }

    #[test]
    fn calls_before_the_stack_update_are_not_this_drift() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000);
        let mut e = event("SetQueueAttributes", "sqs.amazonaws.com", json!({}));
        e.at = Some(t);
        let paths = [PropertyPath::parse("/VisibilityTimeout")];
        let is_tag = |_: &PropertyPath| false;
        let d = |since| Drifted {
            type_name: "AWS::SQS::Queue",
            paths: &paths,
            is_tag: &is_tag,
            since: Some(since),
        };
        assert!(changed_by(&[e.clone()], &d(t), 3).is_empty());
        assert_eq!(
            changed_by(&[e], &d(t - std::time::Duration::from_secs(1)), 3).len(),
            1
        );
    }
}
