"""Resource adapters by CloudFormation type name (see base.Adapter)."""

from . import dynamodb, ec2, iam_lambda, s3, simple  # noqa: F401  (each registers its adapters)
from .base import ADAPTERS, Adapter, NotFound, Where

__all__ = ["ADAPTERS", "Adapter", "NotFound", "Where", "get"]


def get(type_name: str) -> Adapter | None:
    return ADAPTERS.get(type_name)
