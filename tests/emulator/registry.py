"""A small registry of emulated operations, keyed by (botocore service name,
operation name), plus hooks that run around calls that moto itself serves.

A handler receives a Context and the request parameters already parsed into
boto3's shape, and returns a boto3-shaped result dict (serialised against the
botocore model) or raises protocol.ServiceError. To add an operation, see
"How to add an operation" in README.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .protocol import AwsRequest


@dataclass
class Context:
    request: AwsRequest
    account_id: str
    region: str

    rewritten: bool = False

    @property
    def access_key(self) -> str:
        return self.request.access_key

    def set_form_param(self, name: str, value: str) -> None:
        """For before-hooks: change a query-protocol parameter moto will see."""
        self.request.form[name] = value
        self.rewritten = True


Handler = Callable[[Context, dict[str, Any]], dict[str, Any]]
# A before-hook may return a result dict to answer the call itself (moto is skipped).
BeforeHook = Callable[[Context, dict[str, Any]], "dict[str, Any] | None"]
AfterHook = Callable[[Context, dict[str, Any], int], None]

HANDLERS: dict[tuple[str, str], Handler] = {}
BEFORE: dict[tuple[str, str], list[BeforeHook]] = {}
AFTER: dict[tuple[str, str], list[AfterHook]] = {}
# Services that moto does not know at all: anything unregistered is unknown.
OWN_SERVICES: set[str] = set()
# Callbacks run on POST /moto-api/reset and /_emulator/reset, to drop emulator state.
RESET_CALLBACKS: list[Callable[[], None]] = []
# Extra control endpoints, /_emulator/<name>[/...]: fn(method, path parts after the name,
# query, JSON body) -> (HTTP status, JSON-able payload).
CONTROL_ROUTES: dict[str, Callable[[str, list[str], dict[str, list[str]], Any], tuple[int, Any]]] = {}


def operation(service: str, name: str) -> Callable[[Handler], Handler]:
    """Register `fn` as the implementation of service:name."""

    def deco(fn: Handler) -> Handler:
        HANDLERS[(service, name)] = fn
        return fn

    return deco


def before(service: str, name: str, first: bool = False) -> Callable[[BeforeHook], BeforeHook]:
    """Run `fn` before moto serves service:name (e.g. to snapshot state); `first` puts
    it ahead of the hooks registered so far (idempotency checks answer before validation)."""

    def deco(fn: BeforeHook) -> BeforeHook:
        hooks = BEFORE.setdefault((service, name), [])
        hooks.insert(0, fn) if first else hooks.append(fn)
        return fn

    return deco


def after(service: str, name: str) -> Callable[[AfterHook], AfterHook]:
    """Run `fn(ctx, params, status)` after moto served service:name."""

    def deco(fn: AfterHook) -> AfterHook:
        AFTER.setdefault((service, name), []).append(fn)
        return fn

    return deco


def on_reset(fn: Callable[[], None]) -> Callable[[], None]:
    RESET_CALLBACKS.append(fn)
    return fn


def control_route(name: str) -> Callable[[Any], Any]:
    """Register an extra control endpoint under /_emulator/<name>."""

    def deco(fn: Any) -> Any:
        CONTROL_ROUTES[name] = fn
        return fn

    return deco


def needs_params(service: str, name: str) -> bool:
    key = (service, name)
    return key in HANDLERS or key in BEFORE or key in AFTER
