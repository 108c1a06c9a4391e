//! Attribution names the call that made *this* drift: on this resource,
//! after the stack's last update, successful, of an API that can change
//! the drifted property; never an earlier call, an unrelated Cloud Control
//! update, a tag call, or driftsync's own calls.

use serde_json::{Value, json};

use crate::check::driftsync_as;
use crate::support::TestRepo;
use crate::support::emulator::{deploy_stack, emulator};

const TEMPLATE: &str =
    "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties: {QueueName: orders}\n";
const UPDATED: &str = "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties: {QueueName: orders, Tags: [{Key: team, Value: web}]}\n";

#[test]
fn only_the_call_that_made_this_drift_is_named() {
    let account = emulator().new_account();
    let repo = TestRepo::new();
    repo.write(
        "driftsync.yaml",
        "version: 1\ndefaults:\n  region: us-east-1\nstacks:\n  - name: q\n    template: stacks/q.yaml\n",
    )
    .write("stacks/q.yaml", UPDATED);
    repo.commit("queue");
    deploy_stack(&account, "q", TEMPLATE, &[]);
    // The physical id, as CloudTrail names the queue when a call passes it.
    let url = emulator().boto3(
        &account,
        "cloudformation",
        "describe_stack_resource",
        json!({"StackName": "q", "LogicalResourceId": "Queue"}),
    )["StackResourceDetail"]["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_string();
    let set = |timeout: &str| {
        emulator().boto3(
            &account,
            "sqs",
            "set_queue_attributes",
            json!({"QueueUrl": url, "Attributes": {"VisibilityTimeout": timeout}}),
        );
    };
    // Decoy: a change before the stack's last update.
    set("99");
    emulator().boto3(
        &account,
        "cloudformation",
        "update_stack",
        json!({"StackName": "q", "TemplateBody": UPDATED}),
    );
    wait_updated(&account);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    // Decoy: driftsync's own call (its SDK app id) on the same property.
    emulator()
        .try_boto3_as_app(
            &account,
            Some("driftsync"),
            "cloudcontrol",
            "update_resource",
            json!({"TypeName": "AWS::SQS::Queue", "Identifier": url, "PatchDocument": r#"[{"op":"add","path":"/VisibilityTimeout","value":60}]"#}),
        )
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    // The change that is the drift.
    set("120");
    // Decoys: an UpdateResource of another property (to its default), and
    // tag calls that leave no tag drift.
    emulator().boto3(
        &account,
        "cloudcontrol",
        "update_resource",
        json!({"TypeName": "AWS::SQS::Queue", "Identifier": url, "PatchDocument": r#"[{"op":"add","path":"/DelaySeconds","value":0}]"#}),
    );
    emulator().boto3(
        &account,
        "sqs",
        "tag_queue",
        json!({"QueueUrl": url, "Tags": {"tmp": "1"}}),
    );
    emulator().boto3(
        &account,
        "sqs",
        "untag_queue",
        json!({"QueueUrl": url, "TagKeys": ["tmp"]}),
    );
    std::thread::sleep(std::time::Duration::from_millis(500));

    let (out, err, code) = driftsync_as(&account, repo.path(), &["check", "--deep", "-o", "json"]);
    assert_eq!(code, 2, "{out}\n{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let queue = &v["stacks"][0]["drift"][0];
    let paths: Vec<&str> = queue["differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["ignored_by"].is_null())
        .map(|d| d["property_path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/VisibilityTimeout"], "{out}");
    let named: Vec<(&str, Value)> = queue["changed_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["event"].as_str().unwrap(), c["property_paths"].clone()))
        .collect();
    assert_eq!(
        named,
        [("SetQueueAttributes", json!(["/VisibilityTimeout"]))],
        "{out}"
    );
}

fn wait_updated(account: &crate::support::emulator::Account) {
    for _ in 0..100 {
        let v = emulator().boto3(
            account,
            "cloudformation",
            "describe_stacks",
            json!({"StackName": "q"}),
        );
        let status = v["Stacks"][0]["StackStatus"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if !status.ends_with("_IN_PROGRESS") {
            assert_eq!(status, "UPDATE_COMPLETE", "{v}");
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("stack q did not finish updating");
}
