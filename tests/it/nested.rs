//! Nested stacks: CloudFormation's drift detection does not descend into
//! them, so driftsync detects each on its own and reports its resources as
//! part of the parent.

use serde_json::{Value, json};

use crate::check::driftsync_as;
use crate::support::TestRepo;
use crate::support::emulator::{deploy_stack, emulator};

const CHILD: &str = "Resources:
  Setting:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /nested/setting
      Type: String
      Value: committed
";

const PARENT: &str = "Resources:
  Config:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: https://nested-templates.s3.amazonaws.com/config.yaml
  Top:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /parent/top
      Type: String
      Value: top
";

#[test]
fn drift_inside_a_nested_stack_is_reported_with_its_parent_and_reverted() {
    let emu = emulator();
    let account = emu.new_account();
    emu.boto3(
        &account,
        "s3",
        "create_bucket",
        json!({"Bucket": "nested-templates"}),
    );
    emu.boto3(
        &account,
        "s3",
        "put_object",
        json!({"Bucket": "nested-templates", "Key": "config.yaml", "Body": CHILD}),
    );
    deploy_stack(&account, "app", PARENT, &[]);
    let repo = TestRepo::new();
    repo.write(
        "driftsync.yaml",
        "version: 1\ndefaults:\n  region: us-east-1\nstacks:\n  - name: app\n    template: app.yaml\npolicy:\n  default: revert\n",
    );
    repo.write("app.yaml", PARENT);
    repo.commit("app");
    let value = || {
        emu.boto3(
            &account,
            "ssm",
            "get_parameter",
            json!({"Name": "/nested/setting"}),
        )["Parameter"]["Value"]
            .as_str()
            .unwrap()
            .to_string()
    };

    let (out, err, code) = driftsync_as(&account, repo.path(), &["check", "-o", "json"]);
    assert_eq!(
        code, 0,
        "an untouched nested stack is in sync:\n{out}\n{err}"
    );

    emu.boto3(
        &account,
        "ssm",
        "put_parameter",
        json!({"Name": "/nested/setting", "Value": "clicked", "Type": "String", "Overwrite": true}),
    );
    let (out, err, code) = driftsync_as(&account, repo.path(), &["check", "-o", "json"]);
    assert_eq!(
        code, 2,
        "the nested drift is the parent's drift:\n{out}\n{err}"
    );
    let report: Value = serde_json::from_str(&out).unwrap();
    let drift = report["stacks"][0]["drift"].as_array().unwrap();
    let setting = drift
        .iter()
        .find(|r| r["logical_id"] == "Config/Setting")
        .unwrap_or_else(|| panic!("Config/Setting in {out}"));
    assert_eq!(setting["nested_stack"]["path"], "Config", "{out}");
    assert_eq!(setting["nested_stack"]["logical_id"], "Setting", "{out}");
    assert_eq!(
        setting["differences"][0]["property_path"], "/Value",
        "{out}"
    );
    assert_eq!(setting["differences"][0]["actual"], "clicked", "{out}");
    assert!(
        !drift.iter().any(|r| r["logical_id"] == "Config"),
        "the nested stack itself is not 'not checked':\n{out}"
    );
    let (human, _, _) = driftsync_as(&account, repo.path(), &["check"]);
    assert!(human.contains("Config/Setting"), "{human}");

    let (out, err, code) = driftsync_as(&account, repo.path(), &["sync", "--apply", "-o", "json"]);
    assert_eq!(code, 2, "{out}\n{err}");
    assert_eq!(
        value(),
        "committed",
        "reverted in the nested stack:\n{out}\n{err}"
    );
    assert!(
        out.contains("\"verified\": true"),
        "verified in the nested stack:\n{out}"
    );
    let (out, err, code) = driftsync_as(&account, repo.path(), &["check", "-o", "json"]);
    assert_eq!(code, 0, "{out}\n{err}");
}
