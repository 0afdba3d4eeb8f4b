"""Drive Debian's headless Chromium over the DevTools protocol on a pipe (--remote-debugging-pipe).

A pipe needs no port, no WebSocket library and no driver binary: Chromium reads JSON commands
on fd 3 and writes replies and events on fd 4, each message ended by a NUL byte. Events give
what a screenshot cannot: every console message, uncaught exception and network request.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--mute-audio",
    "--hide-scrollbars",
)
TIMEOUT = 30.0


def executable() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class Page:
    """What one page load showed: its visible text, console errors, non-local requests."""

    text: str
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    screenshot: bytes = b""
    overflow_px: int = 0  # how far the page is wider than the viewport
    probe: object = None  # the value of the `probe` expression, when one was given


class Chromium:
    def __init__(self):
        binary = executable()
        if not binary:
            raise RuntimeError("chromium not found; install Debian's package: apt-get install -y chromium")
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        to_child, self._to_child = os.pipe()
        self._from_child, from_child = os.pipe()
        # Park both child ends above fd 10 so placing them at 3 and 4 cannot clobber each other.
        child_in, child_out = (fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (to_child, from_child))
        os.close(to_child)
        os.close(from_child)

        def place_pipes():
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self.proc = subprocess.Popen(
            [binary, *FLAGS, "--remote-debugging-pipe", f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=False,
            preexec_fn=place_pipes,
        )
        os.close(child_in)
        os.close(child_out)
        self._next_id = 0
        self._replies: dict[int, dict] = {}
        self._events: queue.Queue = queue.Queue()
        self._cond = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buffer = b""
        while True:
            chunk = os.read(self._from_child, 1 << 16)
            if not chunk:
                break
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                if "id" in message:
                    with self._cond:
                        self._replies[message["id"]] = message
                        self._cond.notify_all()
                else:
                    self._events.put(message)
        with self._cond:
            self._cond.notify_all()

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        self._next_id += 1
        number = self._next_id
        message = {"id": number, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + TIMEOUT
        with self._cond:
            while number not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError(f"no reply from Chromium to {method}")
                self._cond.wait(left)
            reply = self._replies.pop(number)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def _wait_for(self, method: str, session: str, seen: list[dict]) -> None:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                event = self._events.get(timeout=0.2)
            except queue.Empty:
                continue
            seen.append(event)
            if event.get("method") == method and event.get("sessionId") == session:
                return
        raise RuntimeError(f"Chromium sent no {method}")

    def open(
        self,
        path: Path,
        width: int = 1200,
        height: int = 900,
        mobile: bool = False,
        javascript: bool = True,
        before_text: str | None = None,
        probe: str | None = None,
    ) -> Page:
        """Load a local file in a fresh tab; run `before_text` (JS) if given, then read the page
        and evaluate `probe`."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send(
            "Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}, session
        )
        if not javascript:
            self.send("Emulation.setScriptExecutionDisabled", {"value": True}, session)
        events: list[dict] = []
        self.send("Page.navigate", {"url": Path(path).resolve().as_uri()}, session)
        self._wait_for("Page.loadEventFired", session, events)
        if not javascript:  # DevTools' own evaluation still runs; the page's scripts did not
            self.send("Emulation.setScriptExecutionDisabled", {"value": False}, session)
        if before_text:
            self.evaluate(before_text, session)
        text = self.evaluate("document.body.innerText", session)
        overflow = self.evaluate("Math.max(0, document.documentElement.scrollWidth - window.innerWidth)", session)
        shot = self.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session)
        while not self._events.empty():
            events.append(self._events.get())
        page = Page(
            text,
            screenshot=base64.b64decode(shot["data"]),
            overflow_px=int(overflow),
            probe=self.evaluate(probe, session) if probe else None,
        )
        for event in events:
            if event.get("sessionId") != session:
                continue
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                page.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
            elif method == "Runtime.exceptionThrown":
                page.console_errors.append(
                    params["exceptionDetails"].get("exception", {}).get("description") or params["exceptionDetails"].get("text", "")
                )
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                page.console_errors.append(params["entry"].get("text", ""))
            elif method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                if not url.startswith(("file:", "data:", "about:")):
                    page.requests.append(url)
        self.send("Target.closeTarget", {"targetId": target})
        return page

    def evaluate(self, expression: str, session: str):
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True}, session)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def print_pdf(self, path: Path) -> bytes:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        self.send("Page.enable", session=session)
        self.send("Page.navigate", {"url": Path(path).resolve().as_uri()}, session)
        self._wait_for("Page.loadEventFired", session, [])
        pdf = base64.b64decode(self.send("Page.printToPDF", {"printBackground": True}, session)["data"])
        self.send("Target.closeTarget", {"targetId": target})
        return pdf

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except RuntimeError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)
