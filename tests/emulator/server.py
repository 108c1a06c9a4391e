"""Build and run the emulator: moto's server app behind EmulatorMiddleware,
served by werkzeug on 127.0.0.1 in this process."""

from __future__ import annotations

import argparse
import os
import signal
import stat
import sys
import threading
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, make_server

from .middleware import INTERNAL_ERROR_HEADER, NOT_IMPLEMENTED_HEADER, EmulatorMiddleware


def create_app(service: Any):
    """moto's per-service Flask app, with its NotImplementedError and crash paths
    marked so the middleware can answer in AWS's error shape."""
    from flask import Response
    from moto.moto_server.werkzeug_app import create_backend_app

    app = create_backend_app(service)

    @app.errorhandler(NotImplementedError)
    def _not_implemented(e: Exception):
        return Response(b"", status=501, headers={NOT_IMPLEMENTED_HEADER: _header_safe(e)})

    @app.errorhandler(Exception)
    def _crashed(e: Exception):
        if isinstance(e, HTTPException):
            return e
        if type(e).__name__ == "OperationNotFoundError":  # botocore: action not in the model
            return Response(b"", status=501, headers={NOT_IMPLEMENTED_HEADER: _header_safe(e)})
        import traceback

        traceback.print_exc(file=sys.stderr)
        return Response(b"", status=500, headers={INTERNAL_ERROR_HEADER: _header_safe(e)})

    return app


def _header_safe(e: Exception) -> str:
    return f"{type(e).__name__}: {e}".encode("ascii", "replace").decode()[:300].replace("\n", " ")


def build_app() -> EmulatorMiddleware:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    from . import load_extensions

    load_extensions()
    return EmulatorMiddleware(DomainDispatcherApplication(create_app))


def make(port: int, host: str = "127.0.0.1") -> BaseWSGIServer:
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    MotoRequestHandler.log_request = lambda *a, **k: None  # keep stderr for real problems
    return make_server(host, port, build_app(), threaded=True, request_handler=MotoRequestHandler)


class ThreadedEmulator:
    """In-process server for Python tests: start(), .url, stop()."""

    def __init__(self, port: int = 0):
        self.server = make(port)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> ThreadedEmulator:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self._thread.join(timeout=5)


def _watch_stdin(stop: threading.Event) -> None:
    """Exit when stdin closes, so a parent that dies (or drops its pipe) ends us.
    Only for pipes, sockets and terminals: /dev/null or a file would end us at once."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (OSError, ValueError, AttributeError):
        return
    if not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or sys.stdin.isatty()):
        return

    def run() -> None:
        try:
            while os.read(sys.stdin.fileno(), 4096):
                pass
        except OSError:
            pass
        stop.set()

    threading.Thread(target=run, daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aws-emulator", description="moto plus the AWS APIs it lacks")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1; 0 picks a free one")
    parser.add_argument("--no-stdin-watch", action="store_true", help="do not exit when stdin closes")
    args = parser.parse_args(argv)

    server = make(args.port)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: stop.set())
    if not args.no_stdin_watch:
        _watch_stdin(stop)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # The socket listens since make_server returned: announce it, exactly once, on stdout.
    sys.stdout.write(f"ready http://127.0.0.1:{server.server_port}\n")
    sys.stdout.flush()
    stop.wait()
    server.shutdown()
    return 0
