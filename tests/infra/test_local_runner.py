"""`make run` end to end: the stack comes up, answers, runs a schedule on demand, and Ctrl-C
leaves nothing listening."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from infra.provision import free_port, port_is_free

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.local


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 90) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the runner exited with {process.returncode}: {process.stdout.read()}")
        if path.exists():
            return json.loads(path.read_text())
        time.sleep(0.2)
    raise AssertionError("the stack did not come up")


def test_the_local_stack_comes_up_answers_and_stops_cleanly_on_ctrl_c(tmp_path):
    aws_port, api_port = free_port(), free_port()
    stack_file = tmp_path / "stack.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "HAVEN_"))}
    env.update(HAVEN_AWS_PORT=str(aws_port), HAVEN_API_PORT=str(api_port), HAVEN_STACK_FILE=str(stack_file))
    # Its own process group, as a terminal's foreground job: Ctrl-C reaches the whole group.
    runner = subprocess.Popen([sys.executable, "-m", "infra.local"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        stack = wait_for(stack_file, runner)
        assert stack["api_url"] == f"http://127.0.0.1:{api_port}"
        assert stack["aws_endpoint_url"] == f"http://127.0.0.1:{aws_port}"
        for key in ("region", "user_pool_id", "user_pool_client_id", "bucket", "kms_key_id", "tables",
                    "signing_key_parameter", "schedules"):
            assert stack[key], key
        assert {"reminders", "deadlines", "discharges"} <= set(stack["schedules"])
        with urllib.request.urlopen(f"{stack['api_url']}/health", timeout=10) as response:
            assert json.load(response) == {"status": "ok"}

        invoked = subprocess.run([sys.executable, "-m", "infra.invoke", "deadlines", "--time", "2026-11-23T09:00:00Z"],
                                 cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert invoked.returncode == 0, invoked.stderr
        json.loads(invoked.stdout)  # stdout is the result alone, as JSON
        outbox = subprocess.run([sys.executable, "-m", "infra.outbox"], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=60)
        assert outbox.returncode == 0, outbox.stderr
    finally:
        if runner.poll() is None:
            os.killpg(runner.pid, signal.SIGINT)
        output, _ = runner.communicate(timeout=60)
    assert runner.returncode == 0, output
    assert "stopped" in output
    assert port_is_free(aws_port) and port_is_free(api_port)
    assert not stack_file.exists()
    leftovers = subprocess.run(["pgrep", "-f", f"--port {api_port}"], capture_output=True, text=True)
    assert leftovers.stdout.strip() == ""
