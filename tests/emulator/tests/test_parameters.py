"""Update parameters as CloudFormation resolves them: Default for an omitted
parameter or "must have values", UsePreviousValue with UsePreviousTemplate."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

TEMPLATE = """
Parameters:
  Level:
    Type: String
  Size:
    Type: String
    Default: small
Resources:
  Param:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /p/level
      Type: String
      Value: !Sub "${Level}-${Size}"
"""


def stack_params(cf, name):
    stack = cf.describe_stacks(StackName=name)["Stacks"][0]
    return {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}


def create(cf, name):
    cf.create_stack(StackName=name, TemplateBody=TEMPLATE, Parameters=[
        {"ParameterKey": "Level", "ParameterValue": "debug"}, {"ParameterKey": "Size", "ParameterValue": "large"}])


def test_an_omitted_parameter_without_default_must_have_a_value(aws):
    cf = aws.client("cloudformation")
    create(cf, "nodefault")
    with pytest.raises(ClientError) as e:
        cf.create_change_set(StackName="nodefault", ChangeSetName="c1", UsePreviousTemplate=True)
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert e.value.response["Error"]["Message"] == "Parameters: [Level] must have values"


def test_an_omitted_parameter_takes_its_default_not_the_deployed_value(aws):
    cf = aws.client("cloudformation")
    create(cf, "takesdefault")
    cs = cf.create_change_set(StackName="takesdefault", ChangeSetName="c1", UsePreviousTemplate=True,
                              Parameters=[{"ParameterKey": "Level", "UsePreviousValue": True}])
    cf.execute_change_set(ChangeSetName=cs["Id"])
    assert stack_params(cf, "takesdefault") == {"Level": "debug", "Size": "small"}


def test_use_previous_template_with_every_value_previous_is_accepted_and_keeps_them(aws):
    cf = aws.client("cloudformation")
    create(cf, "keeps")
    cs = cf.create_change_set(StackName="keeps", ChangeSetName="c1", UsePreviousTemplate=True,
                              DeploymentMode="REVERT_DRIFT",
                              Parameters=[{"ParameterKey": "Level", "UsePreviousValue": True},
                                          {"ParameterKey": "Size", "UsePreviousValue": True}])
    assert cs["Id"]
    assert stack_params(cf, "keeps") == {"Level": "debug", "Size": "large"}


def test_a_change_set_with_no_changes_is_created_failed_with_the_aws_reason(aws):
    cf = aws.client("cloudformation")
    create(cf, "nochange")
    cs = cf.create_change_set(StackName="nochange", ChangeSetName="c1", TemplateBody=TEMPLATE, Parameters=[
        {"ParameterKey": "Level", "ParameterValue": "debug"}, {"ParameterKey": "Size", "UsePreviousValue": True}])
    described = cf.describe_change_set(ChangeSetName=cs["Id"])
    assert (described["Status"], described["ExecutionStatus"]) == ("FAILED", "UNAVAILABLE")
    assert described["StatusReason"] == ("The submitted information didn't contain changes. "
                                         "Submit different information to create a change set.")
    cf.delete_change_set(ChangeSetName=cs["Id"])


SECRET_TEMPLATE = """
Parameters:
  Token:
    Type: String
    NoEcho: true
  Fallback:
    Type: String
    NoEcho: "true"
    Default: kept-quiet
  Level:
    Type: String
Resources:
  Param:
    Type: AWS::SSM::Parameter
    Properties:
      Name: /p/token
      Type: String
      Value: !Sub "${Token}-${Fallback}-${Level}"
"""


def test_describe_stacks_masks_no_echo_values_given_or_defaulted(aws):
    cf = aws.client("cloudformation")
    cf.create_stack(StackName="noecho", TemplateBody=SECRET_TEMPLATE, Parameters=[
        {"ParameterKey": "Token", "ParameterValue": "s3cr3t-value"},
        {"ParameterKey": "Level", "ParameterValue": "debug"}])
    assert stack_params(cf, "noecho") == {"Token": "****", "Fallback": "****", "Level": "debug"}
    ssm = aws.client("ssm")
    assert ssm.get_parameter(Name="/p/token")["Parameter"]["Value"] == "s3cr3t-value-kept-quiet-debug"


def test_use_previous_value_keeps_the_real_no_echo_value_not_the_mask(aws):
    cf = aws.client("cloudformation")
    cf.create_stack(StackName="noecho-prev", TemplateBody=SECRET_TEMPLATE, Parameters=[
        {"ParameterKey": "Token", "ParameterValue": "s3cr3t-value"},
        {"ParameterKey": "Level", "ParameterValue": "debug"}])
    cs = cf.create_change_set(StackName="noecho-prev", ChangeSetName="c1", UsePreviousTemplate=True, Parameters=[
        {"ParameterKey": "Token", "UsePreviousValue": True}, {"ParameterKey": "Fallback", "UsePreviousValue": True},
        {"ParameterKey": "Level", "ParameterValue": "info"}])
    cf.execute_change_set(ChangeSetName=cs["Id"])
    assert stack_params(cf, "noecho-prev") == {"Token": "****", "Fallback": "****", "Level": "info"}
    assert cf.get_template_summary(StackName="noecho-prev")["Parameters"][0]["NoEcho"] is True
