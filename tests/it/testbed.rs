//! The AWS test bed through the official Rust SDK: every emulated API the
//! agent calls parses, and the seed scenario runs end to end.

use std::time::Duration;

use aws_sdk_cloudcontrol as cloudcontrol;
use aws_sdk_cloudformation as cfn;
use cfn::types::{
    ChangeSetStatus, DeploymentMode, StackDriftDetectionStatus, StackResourceDriftStatus,
};
use serde_json::{Value, json};

use crate::support::emulator::{Account, deploy_stack, emulator};

pub const SEED: &str = "Resources:\n  WebSG:\n    Type: AWS::EC2::SecurityGroup\n    Properties:\n      GroupDescription: web\n      SecurityGroupIngress:\n        - {IpProtocol: tcp, FromPort: 443, ToPort: 443, CidrIp: 10.0.0.0/8}\n";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Deploys the seed stack and opens SSH to the world out of band.
fn seed_with_open_ssh(account: &Account) -> String {
    deploy_stack(account, "seed", SEED, &[]);
    let emu = emulator();
    let res = emu.boto3(
        account,
        "cloudformation",
        "describe_stack_resource",
        json!({"StackName": "seed", "LogicalResourceId": "WebSG"}),
    );
    let group_id = res["StackResourceDetail"]["PhysicalResourceId"]
        .as_str()
        .unwrap()
        .to_string();
    emu.boto3(account, "ec2", "authorize_security_group_ingress", json!({
        "GroupId": group_id,
        "IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    }));
    group_id
}

fn ingress(account: &Account, group_id: &str) -> Vec<(String, i64, String)> {
    let v = emulator().boto3(
        account,
        "ec2",
        "describe_security_groups",
        json!({"GroupIds": [group_id]}),
    );
    let mut out: Vec<_> = v["SecurityGroups"][0]["IpPermissions"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            p["IpRanges"].as_array().unwrap().iter().map(move |r| {
                (
                    p["IpProtocol"].as_str().unwrap().to_string(),
                    p["FromPort"].as_i64().unwrap(),
                    r["CidrIp"].as_str().unwrap().to_string(),
                )
            })
        })
        .collect();
    out.sort();
    out
}

async fn detect(
    client: &cfn::Client,
    stack: &str,
) -> cfn::operation::describe_stack_drift_detection_status::DescribeStackDriftDetectionStatusOutput
{
    let id = client
        .detect_stack_drift()
        .stack_name(stack)
        .send()
        .await
        .unwrap()
        .stack_drift_detection_id
        .unwrap();
    loop {
        let s = client
            .describe_stack_drift_detection_status()
            .stack_drift_detection_id(&id)
            .send()
            .await
            .unwrap();
        if s.detection_status != Some(StackDriftDetectionStatus::DetectionInProgress) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn the_seed_scenario_detects_exactly_the_open_ssh_rule_and_revert_drift_removes_it() {
    let account = emulator().new_account();
    let group_id = seed_with_open_ssh(&account);
    runtime().block_on(async {
        let client = cfn::Client::new(&account.sdk_config().await);
        let status = detect(&client, "seed").await;
        assert_eq!(
            status.detection_status,
            Some(StackDriftDetectionStatus::DetectionComplete)
        );
        assert_eq!(status.drifted_stack_resource_count, Some(1));
        let drifts = client
            .describe_stack_resource_drifts()
            .stack_name("seed")
            .send()
            .await
            .unwrap();
        let [drift] = drifts.stack_resource_drifts() else {
            panic!("{drifts:?}")
        };
        assert_eq!(
            drift.physical_resource_id.as_deref(),
            Some(group_id.as_str())
        );
        assert_eq!(
            drift.stack_resource_drift_status,
            Some(StackResourceDriftStatus::Modified)
        );
        let [diff] = drift.property_differences() else {
            panic!("{drift:?}")
        };
        assert_eq!(
            diff.property_path.as_deref(),
            Some("/SecurityGroupIngress/1")
        );
        assert_eq!(
            diff.difference_type.as_ref().map(|d| d.as_str()),
            Some("ADD")
        );
        let actual: Value = serde_json::from_str(diff.actual_value.as_deref().unwrap()).unwrap();
        assert_eq!(
            actual,
            json!({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "CidrIp": "0.0.0.0/0"})
        );

        let cs = client
            .create_change_set()
            .stack_name("seed")
            .change_set_name("revert")
            .use_previous_template(true)
            .deployment_mode(DeploymentMode::RevertDrift)
            .send()
            .await
            .unwrap();
        let described = client
            .describe_change_set()
            .change_set_name(cs.id().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(described.status, Some(ChangeSetStatus::CreateComplete));
        let rc = described.changes()[0].resource_change().unwrap();
        assert_eq!(rc.replacement.as_ref().map(|r| r.as_str()), Some("False"));
        assert!(!rc.details().is_empty());
        client
            .execute_change_set()
            .change_set_name(cs.id().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(
            detect(&client, "seed").await.stack_drift_status,
            Some(cfn::types::StackDriftStatus::InSync)
        );
    });
    assert_eq!(
        ingress(&account, &group_id),
        [("tcp".to_string(), 443, "10.0.0.0/8".to_string())]
    );
}

#[test]
fn the_seed_scenario_reverts_through_a_cloud_control_patch() {
    let account = emulator().new_account();
    let group_id = seed_with_open_ssh(&account);
    runtime().block_on(async {
        let cc = cloudcontrol::Client::new(&account.sdk_config().await);
        let got = cc
            .get_resource()
            .type_name("AWS::EC2::SecurityGroup")
            .identifier(&group_id)
            .send()
            .await
            .unwrap();
        let props: Value =
            serde_json::from_str(got.resource_description().unwrap().properties().unwrap())
                .unwrap();
        let index = props["SecurityGroupIngress"]
            .as_array()
            .unwrap()
            .iter()
            .position(|r| r["FromPort"] == 22)
            .unwrap();
        let patch =
            json!([{"op": "remove", "path": format!("/SecurityGroupIngress/{index}")}]).to_string();
        let mut event = cc
            .update_resource()
            .type_name("AWS::EC2::SecurityGroup")
            .identifier(&group_id)
            .patch_document(patch)
            .send()
            .await
            .unwrap()
            .progress_event
            .unwrap();
        while event.operation_status() == Some(&cloudcontrol::types::OperationStatus::InProgress) {
            tokio::time::sleep(Duration::from_millis(50)).await;
            event = cc
                .get_resource_request_status()
                .request_token(event.request_token().unwrap())
                .send()
                .await
                .unwrap()
                .progress_event
                .unwrap();
        }
        assert_eq!(
            event.operation_status(),
            Some(&cloudcontrol::types::OperationStatus::Success),
            "{event:?}"
        );
        let listed = cc
            .list_resources()
            .type_name("AWS::EC2::SecurityGroup")
            .send()
            .await
            .unwrap();
        assert!(
            listed
                .resource_descriptions()
                .iter()
                .any(|d| d.identifier() == Some(group_id.as_str()))
        );
    });
    assert_eq!(
        ingress(&account, &group_id),
        [("tcp".to_string(), 443, "10.0.0.0/8".to_string())]
    );
}

#[test]
fn change_sets_say_when_a_create_only_change_replaces_a_resource() {
    let account = emulator().new_account();
    deploy_stack(&account, "seed", SEED, &[]);
    runtime().block_on(async {
        let client = cfn::Client::new(&account.sdk_config().await);
        let cs = client
            .create_change_set()
            .stack_name("seed")
            .change_set_name("rename")
            .template_body(SEED.replace("GroupDescription: web", "GroupDescription: web servers"))
            .send()
            .await
            .unwrap();
        let described = client
            .describe_change_set()
            .change_set_name(cs.id().unwrap())
            .send()
            .await
            .unwrap();
        let rc = described.changes()[0].resource_change().unwrap();
        assert_eq!(rc.replacement.as_ref().map(|r| r.as_str()), Some("True"));
        let detail = &rc.details()[0];
        assert_eq!(detail.target().unwrap().name(), Some("GroupDescription"));
        assert_eq!(
            detail
                .target()
                .unwrap()
                .requires_recreation()
                .map(|r| r.as_str()),
            Some("Always")
        );
    });
}

#[test]
fn unsupported_calls_fail_fast_in_the_aws_error_shape_without_retries() {
    let account = emulator().new_account();
    runtime().block_on(async {
        let client = cfn::Client::new(&account.sdk_config().await);
        let err = client.list_generated_templates().send().await.unwrap_err();
        let code = cfn::error::ProvideErrorMetadata::code(&err).map(String::from);
        assert!(
            matches!(
                code.as_deref(),
                Some("InvalidAction") | Some("UnknownOperationException")
            ),
            "{err:?}"
        );
    });
    assert_eq!(
        emulator().calls(&account, "ListGeneratedTemplates"),
        1,
        "an unsupported call must not be retried as a 5xx"
    );
}

#[test]
fn injected_throttling_is_retried_by_the_sdk_and_answers() {
    let account = emulator().new_account();
    deploy_stack(&account, "seed", SEED, &[]);
    let before = emulator().calls(&account, "DescribeStacks");
    let rule = emulator().post("/_emulator/faults", json!({"kind": "throttle", "operation": "DescribeStacks", "count": 1, "access_key": account.access_key_id}));
    runtime().block_on(async {
        let client = cfn::Client::new(&account.sdk_config().await);
        let out = client
            .describe_stacks()
            .stack_name("seed")
            .send()
            .await
            .unwrap();
        assert_eq!(out.stacks().len(), 1);
    });
    assert_eq!(
        emulator().calls(&account, "DescribeStacks") - before,
        2,
        "one throttled attempt, one retry; rule {rule}"
    );
    let faults = emulator().get("/_emulator/faults");
    let mine = faults["faults"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["access_key"] == account.access_key_id.as_str())
        .unwrap();
    assert_eq!(mine["hits"], 1);
}

const PROBE_DOCUMENT: &str = "schemaVersion: '0.3'\ndescription: Reads a stack, waits, branches on its status.\nparameters:\n  StackName: {type: String}\noutputs: [Read.Status]\nmainSteps:\n- name: Read\n  action: aws:executeAwsApi\n  inputs: {Service: cloudformation, Api: DescribeStacks, StackName: '{{ StackName }}'}\n  outputs:\n  - {Name: Status, Selector: '$.Stacks[0].StackStatus', Type: String}\n- name: Wait\n  action: aws:sleep\n  inputs: {Duration: PT0S}\n- name: Check\n  action: aws:branch\n  inputs:\n    Choices:\n    - {NextStep: Done, Variable: '{{ Read.Status }}', StringEquals: CREATE_COMPLETE}\n    Default: Done\n- name: Done\n  action: aws:assertAwsResourceProperty\n  inputs: {Service: cloudformation, Api: DescribeStacks, StackName: '{{ StackName }}', PropertySelector: '$.Stacks[0].StackStatus', DesiredValues: [CREATE_COMPLETE]}\n  isEnd: true\n";

#[test]
fn ssm_automation_executions_run_and_parse_in_the_rust_sdk() {
    use aws_sdk_ssm::types::AutomationExecutionStatus;
    let account = emulator().new_account();
    deploy_stack(&account, "seed", SEED, &[]);
    emulator().boto3(&account, "ssm", "create_document", json!({"Name": "Probe", "Content": PROBE_DOCUMENT, "DocumentType": "Automation", "DocumentFormat": "YAML"}));
    runtime().block_on(async {
        let ssm = aws_sdk_ssm::Client::new(&account.sdk_config().await);
        let id = ssm
            .start_automation_execution()
            .document_name("Probe")
            .parameters("StackName", vec!["seed".to_string()])
            .send()
            .await
            .unwrap()
            .automation_execution_id
            .unwrap();
        let execution = loop {
            let e = ssm
                .get_automation_execution()
                .automation_execution_id(&id)
                .send()
                .await
                .unwrap()
                .automation_execution
                .unwrap();
            if !matches!(
                e.automation_execution_status(),
                Some(AutomationExecutionStatus::Pending | AutomationExecutionStatus::Inprogress)
            ) {
                break e;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert_eq!(
            execution.automation_execution_status(),
            Some(&AutomationExecutionStatus::Success),
            "{execution:?}"
        );
        let names: Vec<_> = execution
            .step_executions()
            .iter()
            .filter_map(|s| s.step_name())
            .collect();
        assert_eq!(names, ["Read", "Wait", "Check", "Done"]);
        assert_eq!(
            execution.outputs().unwrap()["Read.Status"],
            ["CREATE_COMPLETE"]
        );
        let listed = ssm.describe_automation_executions().send().await.unwrap();
        assert!(
            listed
                .automation_execution_metadata_list()
                .iter()
                .any(|m| m.automation_execution_id() == Some(id.as_str()))
        );
    });
}

#[test]
fn config_drift_rule_compliance_and_cloudtrail_attribution_parse_in_the_rust_sdk() {
    use aws_sdk_config::types::{ComplianceType, ConfigRule, Owner, Source};
    let account = emulator().new_account();
    let group_id = seed_with_open_ssh(&account);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"config.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let role = emulator().boto3(
        &account,
        "iam",
        "create_role",
        json!({"RoleName": "ConfigDrift", "AssumeRolePolicyDocument": trust}),
    );
    let role_arn = role["Role"]["Arn"].as_str().unwrap().to_string();
    runtime().block_on(async {
        let sdk = account.sdk_config().await;
        let config = aws_sdk_config::Client::new(&sdk);
        let rule = ConfigRule::builder()
            .config_rule_name("stack-drift")
            .source(
                Source::builder()
                    .owner(Owner::Aws)
                    .source_identifier("CLOUDFORMATION_STACK_DRIFT_DETECTION_CHECK")
                    .build()
                    .unwrap(),
            )
            .input_parameters(json!({"cloudformationRoleArn": role_arn}).to_string())
            .build();
        config
            .put_config_rule()
            .config_rule(rule)
            .send()
            .await
            .unwrap();
        config
            .start_config_rules_evaluation()
            .config_rule_names("stack-drift")
            .send()
            .await
            .unwrap();
        let results = loop {
            let r = config
                .get_compliance_details_by_config_rule()
                .config_rule_name("stack-drift")
                .send()
                .await
                .unwrap();
            if !r.evaluation_results().is_empty() {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        assert_eq!(
            results.evaluation_results()[0].compliance_type(),
            Some(&ComplianceType::NonCompliant)
        );
        let by_rule = config
            .describe_compliance_by_config_rule()
            .config_rule_names("stack-drift")
            .send()
            .await
            .unwrap();
        assert_eq!(
            by_rule.compliance_by_config_rules()[0]
                .compliance()
                .unwrap()
                .compliance_type(),
            Some(&ComplianceType::NonCompliant)
        );

        let trail = aws_sdk_cloudtrail::Client::new(&sdk);
        let attr = aws_sdk_cloudtrail::types::LookupAttribute::builder()
            .attribute_key(aws_sdk_cloudtrail::types::LookupAttributeKey::ResourceName)
            .attribute_value(&group_id)
            .build()
            .unwrap();
        let events = trail
            .lookup_events()
            .lookup_attributes(attr)
            .send()
            .await
            .unwrap();
        let opened = events
            .events()
            .iter()
            .find(|e| e.event_name() == Some("AuthorizeSecurityGroupIngress"))
            .expect("the out-of-band call is recorded");
        assert!(
            opened.username().is_some() && opened.event_time().is_some(),
            "{opened:?}"
        );
        let detail: Value = serde_json::from_str(opened.cloud_trail_event().unwrap()).unwrap();
        assert_eq!(detail["eventSource"], "ec2.amazonaws.com");
    });
}
