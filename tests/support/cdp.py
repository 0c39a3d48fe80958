"""A minimal Chrome DevTools Protocol client over `--remote-debugging-pipe` (no extra package):
open a page in headless Chromium, evaluate JavaScript in it, poll for a state. Used by the
browser tests that need a page to run on for a while (the join page), where `--dump-dom` with a
virtual time budget cannot wait for real camera, microphone and network work."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time

BASE_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars")


class Browser:
    """`with Browser(path, *flags) as b: page = b.open(url); b.eval(page, "document.title")`."""

    def __init__(self, chromium: str, *flags: str):
        self.profile = tempfile.mkdtemp(prefix="haven-chromium-")
        ours_read, theirs_write = os.pipe()
        theirs_read, ours_write = os.pipe()

        def pipes_on_3_and_4():  # chromium reads commands on fd 3 and writes answers on fd 4
            read, write = os.dup(theirs_read), os.dup(theirs_write)
            os.dup2(read, 3)
            os.dup2(write, 4)

        self.process = subprocess.Popen(
            [chromium, *BASE_FLAGS, "--remote-debugging-pipe", f"--user-data-dir={self.profile}", *flags, "about:blank"],
            preexec_fn=pipes_on_3_and_4, pass_fds=(3, 4, theirs_read, theirs_write),
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(theirs_read)
        os.close(theirs_write)
        self._in = os.fdopen(ours_read, "rb", buffering=0)
        self._out = os.fdopen(ours_write, "wb", buffering=0)
        self._buffer = b""
        self._id = 0

    def __enter__(self) -> "Browser":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self._out.write(json.dumps(message).encode() + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = self._in.read(65536)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def open(self, url: str) -> str:
        """A new tab at `url`; returns its session id."""
        target = self.send("Target.createTarget", {"url": url})["targetId"]
        return self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]

    def eval(self, session: str, expression: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
        return result.get("result", {}).get("value")

    def wait_for(self, session: str, expression: str, timeout: float = 60.0, every: float = 0.25):
        """Polls `expression` until it is truthy; returns its last value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.eval(session, expression)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(every)

    def screenshot(self, session: str, path, width: int = 800, height: int = 900) -> None:
        """A PNG of the page as it is now."""
        import base64

        self.send("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1,
                                                         "mobile": False}, session)
        data = self.send("Page.captureScreenshot", {"format": "png"}, session)["data"]
        with open(path, "wb") as out:
            out.write(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        for stream in (self._in, self._out):
            try:
                stream.close()
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)
