//! Templates over CloudFormation's 51,200-byte inline limit: uploaded to the
//! `artifacts` bucket under a content-addressed key and deployed from
//! `TemplateURL`; without a bucket, refused before any AWS call.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::check::driftsync_as;
use crate::support::TestRepo;
use crate::support::emulator::{Account, deploy_stack, emulator};

const SMALL: &str = "Resources:\n  Flag:\n    Type: AWS::SSM::Parameter\n    Properties:\n      Name: /big/flag\n      Type: String\n      Value: on\n";

/// SMALL plus a parameter whose metadata takes the template past 51,200 bytes.
fn big() -> String {
    format!(
        "{SMALL}  Notes:\n    Type: AWS::SSM::Parameter\n    Metadata:\n      Notes: {}\n    Properties:\n      Name: /big/notes\n      Type: String\n      Value: kept\n",
        "n".repeat(52_000)
    )
}

/// A deployed stack `big` from SMALL, and a commit that makes it big.
fn pending_big_template(account: &Account, artifacts: &str) -> TestRepo {
    let repo = TestRepo::new();
    repo.write(
        "driftsync.yaml",
        &format!("version: 1\ndefaults:\n  region: us-east-1\n{artifacts}stacks:\n  - {{name: big, template: big.yaml}}\n"),
    );
    repo.write("big.yaml", SMALL);
    repo.commit("a small stack");
    deploy_stack(account, "big", SMALL, &[]);
    repo.write("big.yaml", &big());
    repo.commit("notes in metadata");
    repo
}

fn json_of(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn a_template_over_51200_bytes_is_uploaded_content_addressed_and_deployed_from_s3() {
    let account = emulator().new_account();
    // Bucket names are global, as in AWS: one per test account.
    let bucket = format!("artifacts-{}", account.account_id);
    let repo = pending_big_template(
        &account,
        &format!("  artifacts: {{bucket: {bucket}, prefix: cfn/templates}}\n"),
    );
    emulator().boto3(&account, "s3", "create_bucket", json!({"Bucket": bucket}));

    let (out, err, code) = driftsync_as(&account, repo.path(), &["sync", "--apply", "-o", "json"]);
    assert_eq!(code, 2, "{out}\n{err}");
    let r = json_of(&out);
    assert_eq!(r["stacks"][0]["steps"][0]["step"], "deploy", "{out}");
    assert_eq!(
        r["stacks"][0]["outcomes"][0]["result"], "applied",
        "{out}\n{err}"
    );

    let digest: String = Sha256::digest(big().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let key = format!("cfn/templates/{digest}.template");
    let listed = emulator().boto3(&account, "s3", "list_objects_v2", json!({"Bucket": bucket}));
    let keys: Vec<&str> = listed["Contents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["Key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, [key.as_str()], "{listed}");
    let head = emulator().boto3(
        &account,
        "s3",
        "head_object",
        json!({"Bucket": bucket, "Key": key}),
    );
    assert_eq!(head["ServerSideEncryption"], "AES256", "{head}");

    let deployed = emulator().boto3(
        &account,
        "cloudformation",
        "get_template",
        json!({"StackName": "big"}),
    );
    assert!(
        deployed["TemplateBody"].to_string().contains("nnnn"),
        "the big template is deployed"
    );
    let notes = emulator().boto3(
        &account,
        "ssm",
        "get_parameter",
        json!({"Name": "/big/notes"}),
    );
    assert_eq!(notes["Parameter"]["Value"], "kept");
    let (out, err, code) = driftsync_as(&account, repo.path(), &["check"]);
    assert_eq!(code, 0, "in sync now: {out}\n{err}");
}

#[test]
fn a_template_over_51200_bytes_without_artifacts_fails_its_stack_naming_the_limit_and_the_setting()
{
    let account = emulator().new_account();
    let repo = pending_big_template(&account, "");
    let size = big().len().to_string();
    let size = format!(
        "{},{} bytes",
        &size[..size.len() - 3],
        &size[size.len() - 3..]
    );
    for args in [&["plan"][..], &["sync", "--apply"][..]] {
        let (out, err, code) = driftsync_as(&account, repo.path(), args);
        let all = format!("{out}{err}");
        assert_eq!(code, 1, "{args:?}: {all}");
        assert!(
            all.contains(&size) && all.contains("51,200") && all.contains("`artifacts:"),
            "{args:?}: {all}"
        );
    }
    assert_eq!(emulator().calls(&account, "CreateChangeSet"), 0);
    let stack = emulator().boto3(
        &account,
        "cloudformation",
        "get_template",
        json!({"StackName": "big"}),
    );
    assert!(
        !stack["TemplateBody"].to_string().contains("Notes"),
        "nothing deployed"
    );
}

#[test]
fn a_new_stack_with_a_template_over_51200_bytes_is_created_from_s3() {
    let account = emulator().new_account();
    let bucket = format!("artifacts-{}", account.account_id);
    emulator().boto3(&account, "s3", "create_bucket", json!({"Bucket": bucket}));
    let repo = TestRepo::new();
    repo.write(
        "driftsync.yaml",
        &format!("version: 1\ndefaults: {{region: us-east-1}}\nstacks:\n  - name: fresh\n    template: big.yaml\n    artifacts: {{bucket: {bucket}}}\npolicy: {{create: true}}\n"),
    );
    repo.write("big.yaml", &big());
    repo.commit("a new big stack");

    let (out, err, code) = driftsync_as(&account, repo.path(), &["sync", "--apply", "-o", "json"]);
    assert_eq!(code, 2, "{out}\n{err}");
    let r = json_of(&out);
    assert_eq!(r["stacks"][0]["steps"][0]["step"], "create", "{out}");
    assert_eq!(
        r["stacks"][0]["outcomes"][0]["result"], "applied",
        "{out}\n{err}"
    );
    let digest: String = Sha256::digest(big().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    emulator().boto3(
        &account,
        "s3",
        "head_object",
        json!({"Bucket": bucket, "Key": format!("{digest}.template")}),
    );
    let notes = emulator().boto3(
        &account,
        "ssm",
        "get_parameter",
        json!({"Name": "/big/notes"}),
    );
    assert_eq!(notes["Parameter"]["Value"], "kept");
}
