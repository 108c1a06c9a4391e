"""Stack events per resource (DescribeStackEvents, newest first, paginated), with the
operation's ClientRequestToken; resource statuses in ListStackResources; the phases
of an update (replacement first, deletions in the cleanup phase)."""

from __future__ import annotations

import json

from .conftest import physical_ids
from .templates import SEED

STACK = "AWS::CloudFormation::Stack"


def events(cf, stack):
    """All events, oldest first (the API answers newest first)."""
    pages = cf.get_paginator("describe_stack_events").paginate(StackName=stack)
    return list(reversed([e for page in pages for e in page["StackEvents"]]))


def trail(evs, token=None):
    """(logical id, status, reason) per event, optionally of one operation's token."""
    return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason"))
            for e in evs if token is None or e.get("ClientRequestToken") == token]


def test_create_and_update_record_every_resource_with_the_token(aws):
    cf = aws.client("cloudformation")
    template = SEED + "  Flag:\n    Type: AWS::SSM::Parameter\n    Properties: {Type: String, Value: 'on'}\n"
    stack_id = cf.create_stack(StackName="ev", TemplateBody=template, ClientRequestToken="create-1")["StackId"]
    ids = physical_ids(cf, "ev")
    created = events(cf, "ev")
    assert trail(created) == [
        ("ev", "CREATE_IN_PROGRESS", "User Initiated"),
        ("WebSG", "CREATE_IN_PROGRESS", None),
        ("WebSG", "CREATE_IN_PROGRESS", "Resource creation Initiated"),
        ("WebSG", "CREATE_COMPLETE", None),
        ("Flag", "CREATE_IN_PROGRESS", None),
        ("Flag", "CREATE_IN_PROGRESS", "Resource creation Initiated"),
        ("Flag", "CREATE_COMPLETE", None),
        ("ev", "CREATE_COMPLETE", None)]
    assert {e["ClientRequestToken"] for e in created} == {"create-1"}
    group = [e for e in created if e["LogicalResourceId"] == "WebSG"]
    assert [e["PhysicalResourceId"] for e in group] == ["", ids["WebSG"], ids["WebSG"]]
    assert {e["ResourceType"] for e in group} == {"AWS::EC2::SecurityGroup"}
    assert json.loads(group[0]["ResourceProperties"])["GroupDescription"] == "web tier"
    assert created[0]["PhysicalResourceId"] == stack_id and created[0]["ResourceType"] == STACK
    times = [e["Timestamp"] for e in created]
    assert times == sorted(times) and len(set(times)) == len(times)

    cf.update_stack(StackName="ev", TemplateBody=template.replace("'on'", "'off'"), ClientRequestToken="update-1")
    assert trail(events(cf, "ev"), "update-1") == [
        ("ev", "UPDATE_IN_PROGRESS", "User Initiated"),
        ("Flag", "UPDATE_IN_PROGRESS", None),
        ("Flag", "UPDATE_COMPLETE", None),
        ("ev", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None),
        ("ev", "UPDATE_COMPLETE", None)]
    summaries = {r["LogicalResourceId"]: r for r in cf.list_stack_resources(StackName="ev")["StackResourceSummaries"]}
    assert (summaries["Flag"]["ResourceStatus"], summaries["WebSG"]["ResourceStatus"]) == ("UPDATE_COMPLETE",
                                                                                           "CREATE_COMPLETE")
    assert summaries["Flag"]["LastUpdatedTimestamp"] > summaries["WebSG"]["LastUpdatedTimestamp"]
    detail = cf.describe_stack_resource(StackName="ev", LogicalResourceId="Flag")["StackResourceDetail"]
    assert detail["ResourceStatus"] == "UPDATE_COMPLETE"
    stack = cf.describe_stacks(StackName="ev")["Stacks"][0]
    assert stack["StackStatus"] == "UPDATE_COMPLETE" and stack["LastUpdatedTime"] > stack["CreationTime"]


def test_replacement_keeps_the_old_resource_until_cleanup(aws):
    cf, ec2 = aws.client("cloudformation"), aws.client("ec2")
    template = SEED + "  Old:\n    Type: AWS::SQS::Queue\n"
    cf.create_stack(StackName="repl", TemplateBody=template)
    before = physical_ids(cf, "repl")
    cf.update_stack(StackName="repl", TemplateBody=SEED.replace("web tier", "web tier v2"), ClientRequestToken="u")
    after = physical_ids(cf, "repl")
    assert after["WebSG"] != before["WebSG"] and "Old" not in after
    assert trail(events(cf, "repl"), "u") == [
        ("repl", "UPDATE_IN_PROGRESS", "User Initiated"),
        ("WebSG", "UPDATE_IN_PROGRESS",
         "Requested update requires the creation of a new physical resource; hence creating one."),
        ("WebSG", "UPDATE_IN_PROGRESS", "Resource creation Initiated"),
        ("WebSG", "UPDATE_COMPLETE", None),
        ("repl", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None),
        ("WebSG", "DELETE_IN_PROGRESS", None),
        ("WebSG", "DELETE_COMPLETE", None),
        ("Old", "DELETE_IN_PROGRESS", None),
        ("Old", "DELETE_COMPLETE", None),
        ("repl", "UPDATE_COMPLETE", None)]
    cleanup = [e for e in events(cf, "repl") if e["ResourceStatus"].startswith("DELETE")]
    assert [e["PhysicalResourceId"] for e in cleanup] == [before["WebSG"]] * 2 + [before["Old"]] * 2
    assert [g["GroupId"] for g in ec2.describe_security_groups()["SecurityGroups"]
            if g["GroupName"] != "default"] == [after["WebSG"]]


def test_change_set_execution_and_deletion_are_recorded(aws):
    cf, ssm = aws.client("cloudformation"), aws.client("ssm")
    template = SEED + ("  Flag:\n    Type: AWS::SSM::Parameter\n    DeletionPolicy: Retain\n"
                       "    Properties: {Name: /ev/flag, Type: String, Value: 'on'}\n")
    cf.create_stack(StackName="cs", TemplateBody=template)
    ssm.put_parameter(Name="/ev/flag", Value="drifted", Overwrite=True)
    cs = cf.create_change_set(StackName="cs", ChangeSetName="revert", TemplateBody=template,
                              DeploymentMode="REVERT_DRIFT")
    cf.execute_change_set(ChangeSetName=cs["Id"], ClientRequestToken="exec-1")
    assert trail(events(cf, "cs"), "exec-1") == [
        ("cs", "UPDATE_IN_PROGRESS", "User Initiated"),
        ("Flag", "UPDATE_IN_PROGRESS", None),
        ("Flag", "UPDATE_COMPLETE", None),
        ("cs", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", None),
        ("cs", "UPDATE_COMPLETE", None)]
    assert ssm.get_parameter(Name="/ev/flag")["Parameter"]["Value"] == "on"
    stack_id = cf.describe_stacks(StackName="cs")["Stacks"][0]["StackId"]
    cf.delete_stack(StackName="cs", ClientRequestToken="delete-1")
    deleted = trail(events(cf, stack_id), "delete-1")
    assert deleted[0] == ("cs", "DELETE_IN_PROGRESS", "User Initiated") and deleted[-1] == ("cs", "DELETE_COMPLETE", None)
    assert ("Flag", "DELETE_SKIPPED", None) in deleted and ("WebSG", "DELETE_COMPLETE", None) in deleted
    assert ssm.get_parameter(Name="/ev/flag")["Parameter"]["Value"] == "on"  # retained


def test_events_page_newest_first(aws):
    cf = aws.client("cloudformation")
    params = "".join(f"  P{i}:\n    Type: AWS::SSM::Parameter\n    Properties: {{Type: String, Value: v{i}}}\n"
                     for i in range(40))
    cf.create_stack(StackName="many", TemplateBody="Resources:\n" + params)
    first = cf.describe_stack_events(StackName="many")
    assert len(first["StackEvents"]) == 100 and first["NextToken"]
    assert first["StackEvents"][0]["ResourceStatus"] == "CREATE_COMPLETE"
    assert first["StackEvents"][0]["LogicalResourceId"] == "many"
    rest = cf.describe_stack_events(StackName="many", NextToken=first["NextToken"])
    assert len(rest["StackEvents"]) == 40 * 3 + 2 - 100 and "NextToken" not in rest
    assert rest["StackEvents"][-1]["ResourceStatusReason"] == "User Initiated"
    ordered = first["StackEvents"] + rest["StackEvents"]
    assert [e["Timestamp"] for e in ordered] == sorted((e["Timestamp"] for e in ordered), reverse=True)


def test_a_resource_that_cannot_be_deleted_leaves_the_stack_delete_failed(aws, fault):
    cf, ec2 = aws.client("cloudformation"), aws.client("ec2")
    cf.create_stack(StackName="sticky", TemplateBody=SEED + "  Q:\n    Type: AWS::SQS::Queue\n")
    group_id = physical_ids(cf, "sticky")["WebSG"]
    fault(kind="resource_failure", logical_id="WebSG", reason="resource sg is in use by eni-123")
    cf.delete_stack(StackName="sticky")
    stack = cf.describe_stacks(StackName="sticky")["Stacks"][0]
    assert (stack["StackStatus"], stack["StackStatusReason"]) == \
        ("DELETE_FAILED", "The following resource(s) failed to delete: [WebSG]. ")
    assert ("WebSG", "DELETE_FAILED", "resource sg is in use by eni-123") in trail(events(cf, "sticky"))
    assert set(physical_ids(cf, "sticky")) == {"WebSG"}  # the queue is gone, the group stays
    assert ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    cf.delete_stack(StackName="sticky")  # the fault fired once: the retry deletes it
    assert cf.describe_stacks(StackName=stack["StackId"])["Stacks"][0]["StackStatus"] == "DELETE_COMPLETE"
