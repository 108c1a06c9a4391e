"""Who is behind an access key, and how the emulator calls itself as someone.

CloudTrail needs the identity behind every call (an IAM user, an assumed-role
session, or the account root); SSM Automation and Config make their own API
calls as a role (the automation's assumeRole, the rule's cloudformationRoleArn)
or as the caller. Both read moto's IAM and STS backends, so an access key means
here what it means to moto: IAM user keys and STS sessions map to their account,
anything else to the default account's root."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

_lock = threading.Lock()
_identities: dict[str, dict[str, Any]] = {}
_session: Any = None
_session_lock = threading.Lock()


@dataclass(frozen=True)
class Credentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


def forget() -> None:
    with _lock:
        _identities.clear()


def _partition_backends(account_id: str) -> tuple[Any, Any]:
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    return iam_backends[account_id]["aws"], sts_backends[account_id]["aws"]


def identity(access_key: str) -> dict[str, Any]:
    """CloudTrail's userIdentity for an access key, plus "username": what
    LookupEvents shows as Username (the IAM user name, the role session name
    for assumed roles, "root" for the account's own credentials)."""
    with _lock:
        known = _identities.get(access_key)
    if known is not None:
        return known
    found = _resolve(access_key)
    if found.get("type") != "Root":  # a root guess may become a real key later; the others never change
        with _lock:
            _identities[access_key] = found
    return found


def _resolve(access_key: str) -> dict[str, Any]:
    from moto.iam.models import get_account_id_from

    account_id = get_account_id_from(access_key)
    iam, sts = _partition_backends(account_id)
    key = iam.access_keys.get(access_key)
    if key is not None and key.user_name:
        try:
            user = iam.get_user(key.user_name)
            return {"type": "IAMUser", "principalId": user.id, "arn": user.arn, "accountId": account_id,
                    "accessKeyId": access_key, "userName": user.name, "username": user.name}
        except Exception:
            pass
    assumed = sts.get_assumed_role_from_access_key(access_key)
    if assumed is not None:
        role_name = assumed.role_arn.split("/")[-1]
        try:
            role_id = iam.get_role_by_arn(assumed.role_arn).id
        except Exception:
            role_id = assumed.user_id.split(":")[0]
        return {
            "type": "AssumedRole", "principalId": f"{role_id}:{assumed.session_name}", "arn": assumed.arn,
            "accountId": account_id, "accessKeyId": access_key,
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": role_id, "arn": assumed.role_arn,
                                  "accountId": account_id, "userName": role_name},
                "attributes": {"creationDate": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                               "mfaAuthenticated": "false"},
            },
            "username": assumed.session_name,
        }
    return {"type": "Root", "principalId": account_id, "arn": f"arn:aws:iam::{account_id}:root",
            "accountId": account_id, "accessKeyId": access_key, "username": "root"}


def caller_arn(access_key: str) -> str:
    return str(identity(access_key)["arn"])


def credentials_of(access_key: str) -> Credentials:
    """The full credentials behind an access key, so the emulator can act as the
    caller (SSM Automation without an assumeRole runs with the caller's rights)."""
    from moto.iam.models import get_account_id_from

    account_id = get_account_id_from(access_key)
    iam, sts = _partition_backends(account_id)
    assumed = sts.get_assumed_role_from_access_key(access_key)
    if assumed is not None:
        return Credentials(access_key, assumed.secret_access_key, assumed.session_token)
    key = iam.access_keys.get(access_key)
    if key is not None:
        return Credentials(access_key, key.secret_access_key)
    return Credentials(access_key, "emulator-unknown-secret")  # moto checks no signature unless IAM auth is on


class RoleNotAssumable(Exception):
    pass


def assume_role(role_arn: str, session_name: str, region: str) -> Credentials:
    """STS AssumeRole on behalf of a service (SSM, Config). The role must exist in IAM;
    moto's own AssumeRole doesn't check, but a service can't assume a missing role."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    parts = role_arn.split(":")
    if len(parts) < 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        raise RoleNotAssumable(f"{role_arn} is not an IAM role ARN")
    account_id = parts[4]
    try:
        iam_backends[account_id]["aws"].get_role_by_arn(role_arn)
    except Exception:
        raise RoleNotAssumable(f"Role {role_arn} does not exist") from None
    role = sts_backends[account_id]["aws"].assume_role(
        region_name=region, role_session_name=session_name[:64], role_arn=role_arn, policy="", duration=3600,
        external_id="")
    return Credentials(role.access_key_id, role.secret_access_key, role.session_token)


def assume_service_role(account_id: str, role_path_name: str, session_name: str, region: str) -> Credentials:
    """A service-linked role's session (created on first use, as AWS does)."""
    from moto.iam.models import iam_backends

    path, _, name = role_path_name.rpartition("/")
    iam = iam_backends[account_id]["aws"]
    arn = f"arn:aws:iam::{account_id}:role/{role_path_name}"
    try:
        iam.get_role_by_arn(arn)
    except Exception:
        service = path.split("/")[-1]
        trust = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"%s"},'
                 '"Action":"sts:AssumeRole"}]}' % service)
        iam.create_role(role_name=name, assume_role_policy_document=trust, path=f"/{path}/", permissions_boundary=None,
                        description="Service-linked role (emulated)", tags=[], max_session_duration="3600",
                        linked_service=None)
    return assume_role(arn, session_name, region)


def endpoint_of(ctx: Any) -> str:
    """The emulator's own URL, as the caller reached it."""
    host = ctx.request.headers.get("host", "")
    if not host:
        raise RuntimeError("no Host header: cannot call the emulator back")
    return f"http://{host}"


def client(endpoint: str, creds: Credentials, service: str, region: str) -> Any:
    """A boto3 client that calls the emulator itself, so the call is counted,
    faultable and in CloudTrail under `creds`' identity; the SDK's standard
    retries apply. Clients are thread-safe, creating them isn't: hence the lock."""
    import boto3
    from botocore.config import Config

    global _session
    with _session_lock:
        if _session is None:
            _session = boto3.session.Session()
        return _session.client(service, endpoint_url=endpoint, region_name=region,
                               aws_access_key_id=creds.access_key_id, aws_secret_access_key=creds.secret_access_key,
                               aws_session_token=creds.session_token,
                               config=Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=5,
                                             read_timeout=60))
