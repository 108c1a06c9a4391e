use super::*;

fn config(text: &str) -> Config {
    Config::parse(text, "driftsync.yaml").unwrap()
}

const TWO_STACKS: &str = "version: 1\ndefaults: {region: us-east-1}\nstacks:\n  - {name: web-sg, template: web.yaml}\n  - {name: data, template: data.yaml, region: eu-west-1, role_arn: 'arn:aws:iam::111111111111:role/deployer'}\n";

fn types(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// Every action the policy allows, as `action on resource` lines.
fn grants(p: &IamPolicy) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for s in p.document["Statement"].as_array().unwrap() {
        assert_eq!(s["Effect"], "Allow");
        for a in s["Action"].as_array().unwrap() {
            for r in s["Resource"].as_array().unwrap() {
                out.insert(format!(
                    "{} on {}",
                    a.as_str().unwrap(),
                    r.as_str().unwrap()
                ));
            }
        }
    }
    out
}

fn actions(p: &IamPolicy) -> BTreeSet<String> {
    grants(p)
        .into_iter()
        .map(|g| g.split(' ').next().unwrap().to_string())
        .collect()
}

#[test]
fn check_is_read_only_and_scoped_to_the_configured_stacks() {
    let p = policy(
        &config(TWO_STACKS),
        &types(&["AWS::EC2::SecurityGroup"]),
        Mode::Check,
    );
    let g = grants(&p);
    assert!(g.contains(
        "cloudformation:DetectStackDrift on arn:aws:cloudformation:us-east-1:*:stack/web-sg/*"
    ));
    assert!(
        g.contains("cloudformation:DetectStackDrift on arn:aws:cloudformation:eu-west-1:111111111111:stack/data/*"),
        "a stack with a role is scoped to the role's account"
    );
    assert!(g.contains("cloudtrail:LookupEvents on *"));
    assert!(g.contains("cloudformation:GetResource on *"));
    assert!(
        g.contains("ec2:DescribeSecurityGroups on *"),
        "drift detection reads the group as the caller"
    );
    let writes: Vec<_> = actions(&p)
        .into_iter()
        .filter(|a| {
            let verb = a.split(':').nth(1).unwrap();
            !["Describe", "Get", "List", "Lookup", "Detect"]
                .iter()
                .any(|r| verb.starts_with(r))
        })
        .filter(|a| a != "sts:AssumeRole")
        .collect();
    assert!(writes.is_empty(), "check must not write: {writes:?}");
    assert!(g.contains("sts:AssumeRole on arn:aws:iam::111111111111:role/deployer"));
}

#[test]
fn sync_adds_the_update_handlers_of_exactly_the_types_present() {
    let cfg = config(TWO_STACKS);
    let sg = policy(&cfg, &types(&["AWS::EC2::SecurityGroup"]), Mode::Sync);
    let a = actions(&sg);
    assert!(a.contains("ec2:AuthorizeSecurityGroupIngress"));
    assert!(a.contains("ec2:RevokeSecurityGroupIngress"));
    assert!(a.contains("cloudformation:ExecuteChangeSet"));
    assert!(a.contains("cloudformation:UpdateResource"));
    assert!(a.contains("config:PutExternalEvaluation"));
    assert!(
        a.contains("ssm:StartAutomationExecution"),
        "reverts go through the runbook by default"
    );
    assert!(
        !a.iter().any(|x| x.starts_with("sqs:")),
        "no queue in the stacks, no queue permissions"
    );
    let queue = policy(&cfg, &types(&["AWS::SQS::Queue"]), Mode::Sync);
    assert!(actions(&queue).contains("sqs:SetQueueAttributes"));
    assert!(!actions(&queue).iter().any(|x| x.starts_with("ec2:")));
}

#[test]
fn sync_can_deploy_pending_commits_so_it_may_create_and_delete_those_types() {
    let p = policy(
        &config(TWO_STACKS),
        &types(&["AWS::EC2::SecurityGroup"]),
        Mode::Sync,
    );
    let a = actions(&p);
    assert!(a.contains("ec2:CreateSecurityGroup"));
    assert!(a.contains("ec2:DeleteSecurityGroup"));
    assert!(a.contains("cloudformation:CreateStack"));
    let check = actions(&policy(
        &config(TWO_STACKS),
        &types(&["AWS::EC2::SecurityGroup"]),
        Mode::Check,
    ));
    assert!(
        !check.contains("ec2:CreateSecurityGroup") && !check.contains("cloudformation:CreateStack")
    );
}

#[test]
fn reverting_through_cloud_control_everywhere_needs_no_runbook() {
    let text = format!("{TWO_STACKS}policy:\n  revert: {{via: cloudcontrol}}\n");
    let p = policy(
        &config(&text),
        &types(&["AWS::EC2::SecurityGroup"]),
        Mode::Sync,
    );
    assert!(!actions(&p).iter().any(|a| a.starts_with("ssm:")));
}

#[test]
fn types_without_handler_permissions_are_named_not_silently_dropped() {
    // Custom resources need nothing: CloudFormation does not check their drift.
    let p = policy(
        &config(TWO_STACKS),
        &types(&[
            "AWS::CodeBuild::Project",
            "Custom::Thing",
            "AWS::SQS::Queue",
        ]),
        Mode::Check,
    );
    assert_eq!(p.uncovered_types, ["AWS::CodeBuild::Project"]);
}

#[test]
fn sync_may_upload_large_templates_to_the_artifacts_prefix_and_read_them_back() {
    let text = "version: 1\ndefaults:\n  region: us-east-1\n  artifacts: {bucket: deploy-artifacts, prefix: cfn}\nstacks:\n  - {name: web, template: web.yaml}\n  - name: data\n    template: data.yaml\n    region: cn-north-1\n    artifacts: {bucket: data-artifacts, kms_key_id: 'arn:aws-cn:kms:cn-north-1:111111111111:key/k1'}\n";
    let p = policy(&config(text), &types(&[]), Mode::Sync);
    let g = grants(&p);
    for object in [
        "arn:aws:s3:::deploy-artifacts/cfn/*",
        "arn:aws-cn:s3:::data-artifacts/cfn/*",
    ] {
        assert!(g.contains(&format!("s3:PutObject on {object}")), "{g:?}");
        assert!(g.contains(&format!("s3:GetObject on {object}")), "{g:?}");
    }
    assert!(g.contains("kms:GenerateDataKey on arn:aws-cn:kms:cn-north-1:111111111111:key/k1"));
    let check = actions(&policy(&config(text), &types(&[]), Mode::Check));
    assert!(
        !check
            .iter()
            .any(|a| a.starts_with("s3:") || a.starts_with("kms:"))
    );
    let none = actions(&policy(&config(TWO_STACKS), &types(&[]), Mode::Sync));
    assert!(
        !none.iter().any(|a| a.starts_with("s3:")),
        "no artifacts, no S3"
    );
}
