"""TemplateBody up to 51,200 bytes; larger templates through TemplateURL, read
from the test bed's own S3 (path-style on its host, or an amazonaws.com URL)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError


def template(params: int, pad: int = 0) -> str:
    out = f"Description: '{'x' * pad}'\nResources:\n"
    for i in range(params):
        out += (f"  P{i}:\n    Type: AWS::SSM::Parameter\n    Properties:\n"
                f"      Name: /big/p{i}\n      Type: String\n      Value: v{i}\n")
    return out


BIG = template(2, pad=52_000)


def test_a_template_body_over_51200_bytes_is_refused(aws):
    cf = aws.client("cloudformation")
    with pytest.raises(ClientError) as e:
        cf.create_stack(StackName="big", TemplateBody=BIG)
    assert e.value.response["Error"]["Code"] == "ValidationError"
    assert "51200" in e.value.response["Error"]["Message"]
    cf.create_stack(StackName="small", TemplateBody=template(1))
    with pytest.raises(ClientError) as e:
        cf.create_change_set(StackName="small", ChangeSetName="c1", TemplateBody=BIG)
    assert "51200" in e.value.response["Error"]["Message"]


def test_template_url_is_read_from_the_test_beds_s3_path_style_or_virtual_hosted(aws):
    s3, cf = aws.client("s3"), aws.client("cloudformation")
    bucket = f"artifacts-{aws.account_id}"  # bucket names are global, as in AWS
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="t/big.template", Body=BIG.encode(), ServerSideEncryption="AES256")
    cf.create_stack(StackName="big", TemplateURL=f"{aws.url}/{bucket}/t/big.template")
    assert cf.describe_stacks(StackName="big")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert "xxxx" in cf.get_template(StackName="big")["TemplateBody"]

    bigger = template(3, pad=52_000)
    s3.put_object(Bucket=bucket, Key="t/bigger.template", Body=bigger.encode())
    cf.create_change_set(StackName="big", ChangeSetName="c1",
                         TemplateURL=f"https://{bucket}.s3.us-east-1.amazonaws.com/t/bigger.template")
    cs = cf.describe_change_set(StackName="big", ChangeSetName="c1")
    assert [c["ResourceChange"]["LogicalResourceId"] for c in cs["Changes"]] == ["P2"]


def test_template_url_limits_missing_objects_and_foreign_hosts(aws):
    s3, cf = aws.client("s3"), aws.client("cloudformation")
    bucket = f"artifacts-{aws.account_id}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="huge.template", Body=template(1, pad=1_000_001).encode())
    cases = [
        (f"{aws.url}/{bucket}/huge.template", "1000000"),
        (f"{aws.url}/{bucket}/missing.template", "does not exist"),
        (f"https://example.com/{bucket}/huge.template", "supported URL"),
    ]
    for url, message in cases:
        with pytest.raises(ClientError) as e:
            cf.create_stack(StackName="s", TemplateURL=url)
        assert e.value.response["Error"]["Code"] == "ValidationError"
        assert message in e.value.response["Error"]["Message"], url
