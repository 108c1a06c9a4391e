"""scripts/aws-emulator as the Rust harness uses it: --port 0, one ready line,
exits when stdin closes or on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

LAUNCHER = Path(__file__).resolve().parents[3] / "scripts" / "aws-emulator"


def start():
    env = dict(os.environ, AWS_EMULATOR_PYTHON=sys.executable)
    proc = subprocess.Popen([str(LAUNCHER), "--port", "0"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env)
    line = proc.stdout.readline().decode()
    assert line.startswith("ready http://127.0.0.1:"), line
    url = line.split()[1]
    with urllib.request.urlopen(url + "/_emulator/health", timeout=5) as resp:
        assert json.loads(resp.read()) == {"status": "ok"}
    return proc, url


def test_ready_line_then_exit_when_stdin_closes():
    proc, url = start()
    assert int(url.rsplit(":", 1)[1]) > 0
    proc.stdin.close()
    assert proc.wait(timeout=10) == 0
    assert proc.stdout.read() == b""  # nothing but the one ready line on stdout


def test_exit_on_sigterm():
    proc, _ = start()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
