"""CloudFormation drift detection across the emulated resource types."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from .conftest import physical_ids, wait_for_detection
from .templates import ALL_TYPES, SEED, SEED_WITH_EGRESS


@pytest.fixture
def stack(aws):
    cf = aws.client("cloudformation")
    cf.create_stack(StackName="all", TemplateBody=ALL_TYPES, Capabilities=["CAPABILITY_IAM"])
    return physical_ids(cf, "all")


def test_fresh_stack_is_in_sync_and_unsupported_types_are_not_checked(aws, stack, detect):
    drifts = detect("all")
    assert {k: d["StackResourceDriftStatus"] for k, d in drifts.items()} == {
        k: "IN_SYNC" for k in ("Bucket", "BucketPolicy", "Param", "Queue", "Topic", "Table", "Role", "Fn", "Logs")}
    cf = aws.client("cloudformation")
    info = {r["LogicalResourceId"]: r["DriftInformation"]["StackResourceDriftStatus"]
            for r in cf.list_stack_resources(StackName="all")["StackResourceSummaries"]}
    assert info["Nightly"] == "NOT_CHECKED" and info["Bucket"] == "IN_SYNC"
    assert cf.describe_stacks(StackName="all")["Stacks"][0]["DriftInformation"]["StackDriftStatus"] == "IN_SYNC"
    with pytest.raises(ClientError) as err:
        cf.detect_stack_resource_drift(StackName="all", LogicalResourceId="Nightly")
    assert err.value.response["Error"]["Code"] == "ValidationError"


def test_out_of_band_changes_are_reported_per_type(aws, stack, detect):
    s3, ssm, sqs, sns = (aws.client(s) for s in ("s3", "ssm", "sqs", "sns"))
    ddb, iam, lam, logs = (aws.client(s) for s in ("dynamodb", "iam", "lambda", "logs"))
    s3.put_bucket_versioning(Bucket=stack["Bucket"], VersioningConfiguration={"Status": "Suspended"})
    s3.delete_public_access_block(Bucket=stack["Bucket"])
    ssm.put_parameter(Name="/app/flag", Value="off", Overwrite=True, Type="String")
    sqs.set_queue_attributes(QueueUrl=stack["Queue"], Attributes={"VisibilityTimeout": "30"})
    sns.tag_resource(ResourceArn=stack["Topic"], Tags=[{"Key": "owner", "Value": "mallory"}])
    ddb.update_table(TableName=stack["Table"], BillingMode="PROVISIONED",
                     ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
    iam.put_role_policy(RoleName=stack["Role"], PolicyName="read-objects", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    iam.detach_role_policy(RoleName=stack["Role"], PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    lam.update_function_configuration(FunctionName=stack["Fn"], MemorySize=512,
                                      Environment={"Variables": {"MODE": "debug"}})
    logs.put_retention_policy(logGroupName=stack["Logs"], retentionInDays=30)
    drifts = detect("all")

    def diffs(lid):
        assert drifts[lid]["StackResourceDriftStatus"] == "MODIFIED", lid
        return {(d["PropertyPath"], d["DifferenceType"]): (d["ExpectedValue"], d["ActualValue"])
                for d in drifts[lid]["PropertyDifferences"]}

    assert diffs("Bucket") == {
        ("/VersioningConfiguration/Status", "NOT_EQUAL"): ("Enabled", "Suspended"),
        ("/PublicAccessBlockConfiguration", "REMOVE"): (
            '{"BlockPublicAcls":true,"BlockPublicPolicy":true,"IgnorePublicAcls":true,"RestrictPublicBuckets":true}',
            "null")}
    assert diffs("Param") == {("/Value", "NOT_EQUAL"): ("on", "off")}
    assert diffs("Queue") == {("/VisibilityTimeout", "NOT_EQUAL"): ("60", "30")}
    assert diffs("Topic") == {("/Tags/1", "ADD"): ("null", '{"Key":"owner","Value":"mallory"}')}
    assert diffs("Table") == {("/BillingMode", "NOT_EQUAL"): ("PAY_PER_REQUEST", "PROVISIONED")}
    role = diffs("Role")
    assert role[("/ManagedPolicyArns/0", "REMOVE")] == ("arn:aws:iam::aws:policy/ReadOnlyAccess", "null")
    assert ("/Policies/0/PolicyDocument", "NOT_EQUAL") in role
    assert diffs("Fn") == {("/MemorySize", "NOT_EQUAL"): ("256", "512"),
                           ("/Environment/Variables", "NOT_EQUAL"): ('{"MODE":"prod"}', '{"MODE":"debug"}')}
    assert diffs("Logs") == {("/RetentionInDays", "NOT_EQUAL"): ("7", "30")}
    assert drifts["BucketPolicy"]["StackResourceDriftStatus"] == "IN_SYNC"
    status = aws.client("cloudformation").describe_stacks(StackName="all")["Stacks"][0]["DriftInformation"]
    assert status["StackDriftStatus"] == "DRIFTED" and "LastCheckTimestamp" in status


def test_write_only_properties_are_not_compared(aws, stack, detect):
    ssm = aws.client("ssm")
    ssm.put_parameter(Name="/app/flag", Value="on", Overwrite=True, Type="String", Description="changed")
    assert detect("all")["Param"]["StackResourceDriftStatus"] == "IN_SYNC"


def test_deleted_resources_and_tag_value_paths(aws, stack, detect):
    aws.client("s3").delete_bucket_policy(Bucket=stack["Bucket"])
    aws.client("logs").delete_log_group(logGroupName=stack["Logs"])
    aws.client("sqs").tag_queue(QueueUrl=stack["Queue"], Tags={"env": "prod"})
    drifts = detect("all")
    assert drifts["BucketPolicy"]["StackResourceDriftStatus"] == "DELETED"
    assert "ActualProperties" not in drifts["Logs"] and drifts["Logs"]["StackResourceDriftStatus"] == "DELETED"
    assert drifts["Queue"]["PropertyDifferences"] == [
        {"PropertyPath": "/Tags/0/Value", "ExpectedValue": "dev", "ActualValue": "prod", "DifferenceType": "NOT_EQUAL"}]


def test_security_group_rules_compare_as_sets_after_normalisation(aws, detect):
    cf, ec2 = aws.client("cloudformation"), aws.client("ec2")
    template = SEED.replace("IpProtocol: tcp, FromPort: 443, ToPort: 443", "IpProtocol: '6', FromPort: '443', ToPort: 443")
    template += "        - {IpProtocol: TCP, FromPort: 80, ToPort: 80, CidrIp: 10.0.0.0/8}\n"
    cf.create_stack(StackName="norm", TemplateBody=template.replace("      Tags:\n        - {Key: app, Value: web}\n", "")
                    + "      Tags: [{Key: app, Value: web}]\n")
    assert detect("norm")["WebSG"]["StackResourceDriftStatus"] == "IN_SYNC"
    group_id = physical_ids(cf, "norm")["WebSG"]
    ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}])
    [diff] = detect("norm")["WebSG"]["PropertyDifferences"]
    assert (diff["PropertyPath"], diff["DifferenceType"], diff["ActualValue"]) == ("/SecurityGroupIngress/0", "REMOVE", "null")
    assert json.loads(diff["ExpectedValue"])["FromPort"] == 443


def test_egress_rules_and_descriptions_are_provisioned_and_checked(aws, detect):
    cf, ec2 = aws.client("cloudformation"), aws.client("ec2")
    cf.create_stack(StackName="egress", TemplateBody=SEED_WITH_EGRESS)
    group_id = physical_ids(cf, "egress")["WebSG"]
    egress = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["IpPermissionsEgress"]
    assert [(p["IpProtocol"], p["FromPort"], p["IpRanges"]) for p in egress] == \
        [("tcp", 443, [{"CidrIp": "0.0.0.0/0", "Description": "https out"}])]
    assert detect("egress")["WebSG"]["StackResourceDriftStatus"] == "IN_SYNC"
    ec2.update_security_group_rule_descriptions_egress(GroupId=group_id, IpPermissions=[
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "x"}]}])
    diffs = detect("egress")["WebSG"]["PropertyDifferences"]
    assert {(d["PropertyPath"], d["DifferenceType"]) for d in diffs} == \
        {("/SecurityGroupEgress/0", "REMOVE"), ("/SecurityGroupEgress/0", "ADD")}


def test_stack_tags_are_expected_on_resources(aws, detect):
    cf = aws.client("cloudformation")
    cf.create_stack(StackName="tagged", TemplateBody=SEED, Tags=[{"Key": "team", "Value": "core"}])
    drift = detect("tagged")["WebSG"]
    assert drift["StackResourceDriftStatus"] == "IN_SYNC"
    assert json.loads(drift["ExpectedProperties"])["Tags"] == [{"Key": "app", "Value": "web"}, {"Key": "team", "Value": "core"}]


def test_one_detection_at_a_time_and_status_progression(aws):
    cf = aws.client("cloudformation")
    aws.control("POST", "/_emulator/config", {"drift_detection_seconds": 0.4})
    cf.create_stack(StackName="busy", TemplateBody=SEED)
    det = cf.detect_stack_drift(StackName="busy")["StackDriftDetectionId"]
    status = cf.describe_stack_drift_detection_status(StackDriftDetectionId=det)
    assert status["DetectionStatus"] == "DETECTION_IN_PROGRESS" and "StackDriftStatus" not in status
    assert cf.describe_stack_resource_drifts(StackName="busy")["StackResourceDrifts"] == []
    with pytest.raises(ClientError) as err:
        cf.detect_stack_drift(StackName="busy")
    assert err.value.response["Error"]["Code"] == "ValidationError"
    assert err.value.response["Error"]["Message"].startswith("Drift detection is already in progress for stack")
    assert wait_for_detection(cf, det)["DetectionStatus"] == "DETECTION_COMPLETE"
    cf.detect_stack_drift(StackName="busy")  # allowed again once the first finished


def test_detection_failure_can_be_injected(aws):
    cf = aws.client("cloudformation")
    cf.create_stack(StackName="failing", TemplateBody=SEED)
    aws.control("POST", "/_emulator/config", {"drift_detection_fail": True, "drift_detection_seconds": 0})
    try:
        status = wait_for_detection(cf, cf.detect_stack_drift(StackName="failing")["StackDriftDetectionId"])
    finally:
        aws.control("POST", "/_emulator/config", {"drift_detection_fail": False, "drift_detection_seconds": 0.5})
    assert status["DetectionStatus"] == "DETECTION_FAILED" and status["DetectionStatusReason"]
    assert "DriftedStackResourceCount" not in status


def test_resource_drifts_paginate_and_filter(aws, stack, detect):
    aws.client("logs").put_retention_policy(logGroupName=stack["Logs"], retentionInDays=30)
    detect("all")
    cf = aws.client("cloudformation")
    first = cf.describe_stack_resource_drifts(StackName="all", MaxResults=4)
    assert len(first["StackResourceDrifts"]) == 4 and first["NextToken"]
    rest = cf.describe_stack_resource_drifts(StackName="all", MaxResults=100, NextToken=first["NextToken"])
    names = [d["LogicalResourceId"] for d in first["StackResourceDrifts"] + rest["StackResourceDrifts"]]
    assert len(names) == len(set(names)) == 9 and "NextToken" not in rest
    modified = cf.describe_stack_resource_drifts(StackName="all", StackResourceDriftStatusFilters=["MODIFIED"])
    assert [d["LogicalResourceId"] for d in modified["StackResourceDrifts"]] == ["Logs"]


def test_detect_stack_resource_drift_is_synchronous(aws, stack):
    cf = aws.client("cloudformation")
    aws.client("sns").set_topic_attributes(TopicArn=stack["Topic"], AttributeName="DisplayName", AttributeValue="x")
    drift = cf.detect_stack_resource_drift(StackName="all", LogicalResourceId="Topic")["StackResourceDrift"]
    assert drift["PropertyDifferences"] == [
        {"PropertyPath": "/DisplayName", "ExpectedValue": "alerts", "ActualValue": "x", "DifferenceType": "NOT_EQUAL"}]
    info = {r["LogicalResourceId"]: r["DriftInformation"] for r in
            cf.list_stack_resources(StackName="all")["StackResourceSummaries"]}
    assert info["Topic"]["StackResourceDriftStatus"] == "MODIFIED" and info["Queue"]["StackResourceDriftStatus"] == "NOT_CHECKED"
    detail = cf.describe_stack_resource(StackName="all", LogicalResourceId="Topic")["StackResourceDetail"]
    assert detail["DriftInformation"]["StackResourceDriftStatus"] == "MODIFIED"
