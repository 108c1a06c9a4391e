"""The WSGI middleware in front of moto's server app.

Every AWS request is identified, counted, subjected to fault rules, and then
either answered by an emulated handler from the registry or passed to moto
(with optional before/after hooks). moto's unimplemented and crashing paths
are turned into AWS-shaped errors instead of HTML 500 pages."""

from __future__ import annotations

import io
import socket
import sys
import time
import traceback
from typing import Any

from . import calls, control, faults, iam_auth, registry
from .protocol import AwsRequest, Response, ServiceError, error_response, parse_request, serialize_result, service_model
from .protocol import throttle_response, unknown_operation
from .registry import Context

# Headers set by server.create_app's Flask error handlers on moto's apps.
NOT_IMPLEMENTED_HEADER = "X-Emulator-Not-Implemented"
INTERNAL_ERROR_HEADER = "X-Emulator-Internal-Error"


class EmulatorMiddleware:
    def __init__(self, moto_app: Any):
        self.moto_app = moto_app

    def __call__(self, environ: dict[str, Any], start_response: Any):
        body = _read_body(environ)
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_emulator"):
            resp = control.handle(environ["REQUEST_METHOD"], path, environ.get("QUERY_STRING", ""), body)
            return _finish(start_response, resp)
        if path.startswith("/moto-api"):
            status, headers, out = self._call_moto(environ)
            if path.rstrip("/") == "/moto-api/reset" and status == 200:
                control.reset_all(include_moto=False)
            return _finish(start_response, (status, headers, out))

        req = parse_request(environ, body)
        account_id = req.account_id
        ctx = Context(req, account_id, req.region)
        resp = self._faulted(req, environ)
        if resp == "drop":
            calls.record(req, 0, "ConnectionDropped", account_id)
            start_response("500 Dropped", [("Content-Length", "0")])  # never reaches the client
            return []
        if resp is None:
            try:
                resp = self._dispatch(ctx, environ)
            except ServiceError as e:
                resp = error_response(req, e.code, e.message, e.status)
            except Exception as e:
                converted = _moto_error(e)
                if converted is None:  # a bug in an emulated handler: say so, in AWS's shape
                    traceback.print_exc(file=sys.stderr)
                    converted = ("InternalFailure", f"emulator error: {type(e).__name__}: {e}", 500)
                resp = error_response(req, *converted)
        calls.record(req, resp[0], _error_code(resp), account_id)
        return _finish(start_response, resp)

    def _faulted(self, req: AwsRequest, environ: dict[str, Any]) -> Response | str | None:
        for fault in faults.pick(req.service, req.operation, req.access_key):
            if fault.kind == "latency":
                time.sleep(fault.latency_ms / 1000.0)
            elif fault.kind == "throttle":
                return throttle_response(req, fault.code)
            elif fault.kind == "error":
                code = fault.code or ("InternalFailure" if fault.status >= 500 else "ValidationError")
                return error_response(req, code, fault.message or "Injected fault", fault.status)
            elif fault.kind == "drop":
                sock = environ.get("werkzeug.socket")
                if sock is not None:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return "drop"
        return None

    def _dispatch(self, ctx: Context, environ: dict[str, Any]) -> Response:
        req = ctx.request
        key = (req.service or "", req.operation or "")
        handler = registry.HANDLERS.get(key)
        if handler is not None:
            params = parse_params(req)
            iam_auth.authorize(ctx, params)
            return serialize_result(req, req.operation, handler(ctx, params))
        if req.service in registry.OWN_SERVICES or not _in_model(req):
            return unknown_operation(req)
        params = parse_params(req) if registry.needs_params(*key) else {}
        if registry.BEFORE.get(key):
            iam_auth.authorize(ctx, params)  # a hook may answer, or act, before moto checks
        for hook in registry.BEFORE.get(key, []):
            result = hook(ctx, params)
            if result is not None:
                return serialize_result(req, req.operation, result)
        if ctx.rewritten:  # a before-hook changed parameters: hand moto the new form
            from urllib.parse import urlencode

            new_body = urlencode(list(req.form.items(multi=True))).encode()
            environ["wsgi.input"], environ["CONTENT_LENGTH"], environ["QUERY_STRING"] = io.BytesIO(new_body), str(len(new_body)), ""
        with iam_auth.signed_body(ctx):
            status, headers, out = self._call_moto(environ)
        if NOT_IMPLEMENTED_HEADER in headers:
            return unknown_operation(req)
        if INTERNAL_ERROR_HEADER in headers:
            return error_response(req, "InternalFailure", headers[INTERNAL_ERROR_HEADER], 500)
        for hook in registry.AFTER.get(key, []):
            hook(ctx, params, status)
        return status, headers, out

    def _call_moto(self, environ: dict[str, Any]) -> Response:
        captured: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            captured["status"] = int(status.split(" ", 1)[0])
            captured["headers"] = headers
            return lambda data: None

        result = self.moto_app(environ, start_response)
        try:
            out = b"".join(result)
        finally:
            if hasattr(result, "close"):
                result.close()
        return captured["status"], dict(captured["headers"]), out


def parse_params(req: AwsRequest) -> dict[str, Any]:
    """The request's input parsed against the botocore model, in boto3's shape."""
    from moto.core.parse import PROTOCOL_PARSERS

    if req.protocol not in ("query", "json", "ec2"):
        return {}
    op_model = service_model(req.service).operation_model(req.operation)
    parser = PROTOCOL_PARSERS[req.protocol](op_model)
    return parser.parse({"values": req.form, "body": req.body, "headers": req.headers, "method": req.method,
                         "url_path": req.path, "url_params": {}})


def _in_model(req: AwsRequest) -> bool:
    """False for query/JSON operations botocore doesn't know (moto would crash on them)."""
    if req.protocol not in ("query", "json", "ec2") or not req.service or not req.operation:
        return True
    try:
        return req.operation in service_model(req.service).operation_names
    except Exception:
        return True


def _moto_error(e: Exception) -> tuple[str, str, int] | None:
    """(code, message, status) of an error moto raised inside an emulated handler."""
    from moto.core.exceptions import ServiceException
    from moto.core.exceptions import _RESTError as RESTError  # moto 5.2 keeps it private

    if isinstance(e, ServiceException):
        return str(e.code), str(e.message), 400
    if isinstance(e, RESTError):
        return str(e.error_type), str(e.message), int(e.code)
    return None


def _read_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    length = environ.get("CONTENT_LENGTH")
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated") or environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked":
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _error_code(resp: Response) -> str | None:
    status, headers, body = resp
    if status < 400:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    if "x-amzn-errortype" in lower:
        return lower["x-amzn-errortype"].split(":")[0]
    start = body.find(b"<Code>")
    if start >= 0:
        return body[start + 6: body.find(b"</Code>", start)].decode("utf-8", "replace")
    return f"HTTP{status}"


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 429: "Too Many Requests", 500: "Internal Server Error",
            501: "Not Implemented", 503: "Service Unavailable"}


def _finish(start_response: Any, resp: Response):
    status, headers, body = resp
    headers = {k: v for k, v in headers.items() if k.lower() not in ("content-length", "transfer-encoding", "status")}
    headers["Content-Length"] = str(len(body))
    start_response(f"{status} {_REASONS.get(status, 'Status')}", list(headers.items()))
    return [body]
