"""One emulator per test session; each test gets a fresh AWS account (its own
moto state), so tests never see each other's resources and need no reset."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Callable

import boto3
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tests/ -> import emulator

from emulator.server import ThreadedEmulator  # noqa: E402

REGION = "us-east-1"


@pytest.fixture(scope="session")
def emulator() -> Any:
    emu = ThreadedEmulator().start()
    yield emu
    emu.stop()


def control(url: str, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return json.loads(resp.read())


class Aws:
    """boto3 clients bound to one fresh account of the emulator."""

    def __init__(self, url: str, creds: dict[str, str]):
        self.url, self.account_id, self.creds = url, creds["account_id"], creds

    def client(self, service: str, **kw: Any) -> Any:
        from botocore.config import Config

        args = {"aws_access_key_id": self.creds["access_key_id"],
                "aws_secret_access_key": self.creds["secret_access_key"],
                "aws_session_token": self.creds["session_token"],
                "config": Config(retries={"total_max_attempts": 1}), **kw}  # kw may name other credentials
        return boto3.client(service, endpoint_url=self.url, region_name=REGION, **args)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        return control(self.url, method, path, body)


@pytest.fixture
def aws(emulator: Any) -> Aws:
    return Aws(emulator.url, control(emulator.url, "POST", "/_emulator/accounts", {}))


def wait_for_detection(cf: Any, detection_id: str, timeout: float = 10.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status = cf.describe_stack_drift_detection_status(StackDriftDetectionId=detection_id)
        if status["DetectionStatus"] != "DETECTION_IN_PROGRESS" or time.monotonic() > deadline:
            return status
        time.sleep(0.1)


def physical_ids(cf: Any, stack: str) -> dict[str, str]:
    return {r["LogicalResourceId"]: r["PhysicalResourceId"]
            for r in cf.list_stack_resources(StackName=stack)["StackResourceSummaries"]}


@pytest.fixture
def detect(aws: Aws) -> Callable[[str], list[dict[str, Any]]]:
    """Run a whole stack drift detection; return the resource drifts by logical id order."""
    cf = aws.client("cloudformation")

    def run(stack: str) -> dict[str, dict[str, Any]]:
        det = cf.detect_stack_drift(StackName=stack)["StackDriftDetectionId"]
        assert wait_for_detection(cf, det)["DetectionStatus"] == "DETECTION_COMPLETE"
        out, token = {}, None
        while True:  # boto3 has no paginator for this operation
            page = cf.describe_stack_resource_drifts(StackName=stack, **({"NextToken": token} if token else {}))
            out.update({d["LogicalResourceId"]: d for d in page["StackResourceDrifts"]})
            token = page.get("NextToken")
            if not token:
                return out

    return run


def wait_for(probe: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll `probe` until it returns something truthy; return that (or fail after `timeout`)."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {getattr(probe, '__name__', probe)}")
        time.sleep(interval)


@pytest.fixture
def fast(aws: Aws) -> Any:
    """Scale document time (aws:sleep, timeouts, retry waits) down for one test."""
    aws.control("POST", "/_emulator/config", {"time_scale": 0.02})
    yield aws
    aws.control("POST", "/_emulator/config", {"time_scale": 1.0})


@pytest.fixture
def fault(aws: Aws) -> Any:
    """Add fault rules limited to this test's account key; they are removed afterwards."""
    made: list[str] = []

    def add(**spec: Any) -> dict[str, Any]:
        [rule] = aws.control("POST", "/_emulator/faults", {"access_key": aws.creds["access_key_id"], **spec})["faults"]
        made.append(rule["id"])
        return rule

    yield add
    for rule_id in made:
        aws.control("DELETE", f"/_emulator/faults/{rule_id}")
