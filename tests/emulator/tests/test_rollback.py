"""Failing updates and rollbacks: the resource_failure fault, UPDATE_FAILED with the
reason, UPDATE_ROLLBACK_* with live state back where it was, rollbacks that fail
themselves, ContinueUpdateRollback, failed creates, DisableRollback, and a real
failure (a custom-named resource that would need replacing)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from .conftest import physical_ids
from .templates import SEED
from .test_stack_events import events, trail

OPEN_SSH = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
PARAM = "  Flag:\n    Type: AWS::SSM::Parameter\n    Properties: {Name: /rb/flag, Type: String, Value: 'on'}\n"


@pytest.fixture
def fail(fault):
    """fail(logical_id, reason=..., **more): the next operation touching that resource fails."""
    def add(logical_id, reason="Resource handler returned message: \"boom\"", **extra):
        return fault(kind="resource_failure", logical_id=logical_id, reason=reason, **extra)

    return add


def ports(ec2, group_id):
    perms = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["IpPermissions"]
    return sorted(p["FromPort"] for p in perms)


def status(cf, stack):
    found = cf.describe_stacks(StackName=stack)["Stacks"][0]
    return found["StackStatus"], found.get("StackStatusReason")


def test_failed_update_rolls_back_to_the_previous_template(aws, fail):
    cf, ec2 = aws.client("cloudformation"), aws.client("ec2")
    cf.create_stack(StackName="rb", TemplateBody=SEED)
    group_id = physical_ids(cf, "rb")["WebSG"]
    fault = fail("WebSG", "Resource handler returned message: \"quota exceeded\"")
    cf.update_stack(StackName="rb", TemplateBody=SEED.replace("443", "8443"), ClientRequestToken="u1")
    assert trail(events(cf, "rb"), "u1") == [
        ("rb", "UPDATE_IN_PROGRESS", "User Initiated"),
        ("WebSG", "UPDATE_IN_PROGRESS", None),
        ("WebSG", "UPDATE_FAILED", "Resource handler returned message: \"quota exceeded\""),
        ("rb", "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: [WebSG]. "),
        ("WebSG", "UPDATE_IN_PROGRESS", None),
        ("WebSG", "UPDATE_COMPLETE", None),
        ("rb", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", None),
        ("rb", "UPDATE_ROLLBACK_COMPLETE", None)]
    assert status(cf, "rb")[0] == "UPDATE_ROLLBACK_COMPLETE"
    assert ports(ec2, group_id) == [443] and physical_ids(cf, "rb")["WebSG"] == group_id
    assert "443" in cf.get_template(StackName="rb")["TemplateBody"] and "8443" not in \
        cf.get_template(StackName="rb")["TemplateBody"]
    assert [f["hits"] for f in aws.control("GET", "/_emulator/faults")["faults"] if f["id"] == fault["id"]] == [1]
    cf.update_stack(StackName="rb", TemplateBody=SEED.replace("443", "8443"))  # the fault fired once
    assert status(cf, "rb")[0] == "UPDATE_COMPLETE" and ports(ec2, group_id) == [8443]


def test_failed_change_set_undoes_what_it_did(aws, fail):
    cf, ec2, ssm = aws.client("cloudformation"), aws.client("ec2"), aws.client("ssm")
    cf.create_stack(StackName="cs", TemplateBody=SEED + PARAM)
    group_id = physical_ids(cf, "cs")["WebSG"]
    new = SEED.replace("  WebSG:", "  Extra:\n    Type: AWS::SQS::Queue\n" + PARAM.replace("'on'", "'off'") + "  WebSG:")
    new = new.replace("443", "8443")
    cs = cf.create_change_set(StackName="cs", ChangeSetName="next", TemplateBody=new)
    other = cf.create_change_set(StackName="cs", ChangeSetName="other", TemplateBody=SEED)
    fail("WebSG")
    cf.execute_change_set(ChangeSetName="next", StackName="cs")
    done = trail(events(cf, "cs"))
    start = done.index(("cs", "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: [WebSG]. "))
    assert [(lid, st) for lid, st, _ in done[start - 7:start]] == [
        ("Extra", "CREATE_IN_PROGRESS"), ("Extra", "CREATE_IN_PROGRESS"), ("Extra", "CREATE_COMPLETE"),
        ("Flag", "UPDATE_IN_PROGRESS"), ("Flag", "UPDATE_COMPLETE"),
        ("WebSG", "UPDATE_IN_PROGRESS"), ("WebSG", "UPDATE_FAILED")]
    assert [(lid, st) for lid, st, _ in done[start + 1:]] == [
        ("WebSG", "UPDATE_IN_PROGRESS"), ("WebSG", "UPDATE_COMPLETE"),
        ("Flag", "UPDATE_IN_PROGRESS"), ("Flag", "UPDATE_COMPLETE"),
        ("cs", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"),
        ("Extra", "DELETE_IN_PROGRESS"), ("Extra", "DELETE_COMPLETE"),
        ("cs", "UPDATE_ROLLBACK_COMPLETE")]
    assert ssm.get_parameter(Name="/rb/flag")["Parameter"]["Value"] == "on"
    assert ports(ec2, group_id) == [443]
    assert aws.client("sqs").list_queues().get("QueueUrls", []) == []
    assert set(physical_ids(cf, "cs")) == {"WebSG", "Flag"}
    described = cf.describe_change_set(ChangeSetName=cs["Id"])
    assert (described["ExecutionStatus"], described["Status"]) == ("EXECUTE_FAILED", "CREATE_COMPLETE")
    with pytest.raises(ClientError) as err:  # executing a change set deletes the stack's other change sets
        cf.describe_change_set(ChangeSetName=other["Id"])
    assert err.value.response["Error"]["Code"] == "ChangeSetNotFound"


def test_failed_drift_aware_change_set_restores_the_actual_state(aws, fail):
    cf, ec2, ssm = aws.client("cloudformation"), aws.client("ec2"), aws.client("ssm")
    template = SEED.replace("Resources:\n", "Resources:\n" + PARAM)
    cf.create_stack(StackName="dr", TemplateBody=template)
    group_id = physical_ids(cf, "dr")["WebSG"]
    ssm.put_parameter(Name="/rb/flag", Value="hotfix", Overwrite=True)
    ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[OPEN_SSH])
    cs = cf.create_change_set(StackName="dr", ChangeSetName="revert", TemplateBody=template,
                              DeploymentMode="REVERT_DRIFT")
    fail("WebSG")
    cf.execute_change_set(ChangeSetName=cs["Id"])
    assert status(cf, "dr")[0] == "UPDATE_ROLLBACK_COMPLETE"
    reverted = [(lid, st) for lid, st, _ in trail(events(cf, "dr")) if lid == "Flag" and st.startswith("UPDATE")]
    assert reverted == [("Flag", "UPDATE_IN_PROGRESS"), ("Flag", "UPDATE_COMPLETE")] * 2  # reverted, then restored
    # "If a deployment fails, restore resources to their actual pre-deployment state":
    assert ssm.get_parameter(Name="/rb/flag")["Parameter"]["Value"] == "hotfix"
    assert ports(ec2, group_id) == [22, 443]


def test_failed_rollback_waits_for_continue_update_rollback(aws, fail):
    cf, ec2 = aws.client("cloudformation"), aws.client("ec2")
    cf.create_stack(StackName="stuck", TemplateBody=SEED)
    group_id = physical_ids(cf, "stuck")["WebSG"]
    fault = fail("WebSG", rollback_reason="Resource handler returned message: \"dependency gone\"")
    cf.update_stack(StackName="stuck", TemplateBody=SEED.replace("443", "8443"))
    assert status(cf, "stuck") == ("UPDATE_ROLLBACK_FAILED", "The following resource(s) failed to update: [WebSG]. ")
    assert trail(events(cf, "stuck"))[-2] == ("WebSG", "UPDATE_FAILED",
                                              "Resource handler returned message: \"dependency gone\"")
    with pytest.raises(ClientError) as err:
        cf.update_stack(StackName="stuck", TemplateBody=SEED)
    assert "UPDATE_ROLLBACK_FAILED state and can not be updated" in err.value.response["Error"]["Message"]
    cf.continue_update_rollback(StackName="stuck")  # the cause is still there: fails again
    assert status(cf, "stuck")[0] == "UPDATE_ROLLBACK_FAILED"
    aws.control("DELETE", f"/_emulator/faults/{fault['id']}")  # someone fixes it
    cf.continue_update_rollback(StackName="stuck", ClientRequestToken="continue-1")
    assert status(cf, "stuck")[0] == "UPDATE_ROLLBACK_COMPLETE" and ports(ec2, group_id) == [443]
    assert trail(events(cf, "stuck"), "continue-1")[0] == ("stuck", "UPDATE_ROLLBACK_IN_PROGRESS",
                                                           "Continue rollback requested by user.")

    # WebSG is updated, then Flag fails and can't be rolled back: WebSG stays half-way.
    cf.create_stack(StackName="half", TemplateBody=SEED + PARAM)
    group_id = physical_ids(cf, "half")["WebSG"]
    fail("Flag", rollback_reason="still broken", stack="half")
    cf.update_stack(StackName="half", TemplateBody=(SEED + PARAM).replace("443", "8443").replace("'on'", "'off'"))
    assert status(cf, "half")[0] == "UPDATE_ROLLBACK_FAILED" and ports(ec2, group_id) == [8443]
    with pytest.raises(ClientError):
        cf.continue_update_rollback(StackName="half", ResourcesToSkip=["Nope"])
    cf.continue_update_rollback(StackName="half", ResourcesToSkip=["Flag"])
    assert status(cf, "half")[0] == "UPDATE_ROLLBACK_COMPLETE" and ports(ec2, group_id) == [443]
    assert ("Flag", "UPDATE_COMPLETE", "Resource update cancelled; skipped by ContinueUpdateRollback") in \
        trail(events(cf, "half"))


def test_failed_create_rolls_back_and_disable_rollback_keeps_the_failure(aws, fail):
    cf, ec2 = aws.client("cloudformation"), aws.client("ec2")
    fail("Flag")
    cf.create_stack(StackName="born", TemplateBody=SEED + PARAM)
    assert status(cf, "born") == ("ROLLBACK_COMPLETE", None)
    done = trail(events(cf, "born"))
    assert ("Flag", "CREATE_FAILED", "Resource handler returned message: \"boom\"") in done
    assert ("born", "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [Flag]. Rollback requested by user.") in done
    assert done[-3:] == [("WebSG", "DELETE_IN_PROGRESS", None), ("WebSG", "DELETE_COMPLETE", None),
                         ("born", "ROLLBACK_COMPLETE", None)]
    assert [g for g in ec2.describe_security_groups()["SecurityGroups"] if g["GroupName"] != "default"] == []
    with pytest.raises(ClientError) as err:
        cf.update_stack(StackName="born", TemplateBody=SEED)
    assert "ROLLBACK_COMPLETE state and can not be updated" in err.value.response["Error"]["Message"]

    cf.create_stack(StackName="kept", TemplateBody=SEED)
    group_id = physical_ids(cf, "kept")["WebSG"]
    fail("WebSG")
    cf.update_stack(StackName="kept", TemplateBody=SEED.replace("443", "8443"), DisableRollback=True)
    assert status(cf, "kept") == ("UPDATE_FAILED", "The following resource(s) failed to update: [WebSG]. ")
    assert ports(ec2, group_id) == [443]  # the failing resource never changed; nothing was rolled back
    cf.update_stack(StackName="kept", TemplateBody=SEED.replace("443", "8443"))  # UPDATE_FAILED can be updated
    assert status(cf, "kept")[0] == "UPDATE_COMPLETE" and ports(ec2, group_id) == [8443]


def test_replacing_a_custom_named_resource_fails_as_in_aws(aws, fail):
    cf, ec2 = aws.client("cloudformation"), aws.client("ec2")
    named = SEED.replace("GroupDescription: web tier", "GroupDescription: web tier\n      GroupName: web")
    cf.create_stack(StackName="named", TemplateBody=named)
    group_id = physical_ids(cf, "named")["WebSG"]
    cf.update_stack(StackName="named", TemplateBody=named.replace("web tier", "web tier v2"))
    assert status(cf, "named")[0] == "UPDATE_ROLLBACK_COMPLETE"
    [failed] = [e for e in events(cf, "named") if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert "already exists" in failed["ResourceStatusReason"]
    assert physical_ids(cf, "named")["WebSG"] == group_id
    assert ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["Description"] == "web tier"
