"""The app in a browser: `vigil demo --web` served by textual-serve on
127.0.0.1, opened in headless Chromium (Debian's), with no internet.

The page text is what the server streams to the terminal in the page (the
terminal draws on a canvas); the screenshot shows it was drawn.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_serving(server: subprocess.Popen[str], port: int, timeout: float) -> None:
    """Read the server's output line by line until it says where it serves
    (textual-serve prints "Serving ... on http://127.0.0.1:PORT" as its web
    server starts), within ``timeout`` seconds."""
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert server.stdout is not None
        for line in server.stdout:
            lines.put(line)
        lines.put(None)  # the server's output ended

    threading.Thread(target=read, daemon=True).start()
    deadline = time.monotonic() + timeout
    said: list[str] = []
    while True:
        try:
            line = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"the server did not say it serves within {timeout}s: "
                                 f"{''.join(said)[-2000:]}") from None
        if line is None:
            raise AssertionError(f"the server stopped: {''.join(said)[-2000:]}")
        said.append(line)
        printed = "".join(said)  # the line may be wrapped at the console's width
        if "Serving" in printed and f"127.0.0.1:{port}" in printed.split("Serving", 1)[1]:
            return


_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][0-9A-Za-z]")


@pytest.fixture
def chromium() -> str:
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed: CI must install it")
        pytest.skip("chromium is not installed")
    pytest.importorskip("playwright")
    return CHROMIUM


def test_dmm_queue_renders_in_the_browser(tmp_path: Path, chromium: str) -> None:
    from playwright.sync_api import sync_playwright

    port = _free_port()
    db = f"sqlite:///{tmp_path / 'training.db'}"
    server = subprocess.Popen(
        [sys.executable, "-m", "tui", "demo", "--db", db, "--scenario", "monday-dmm",
         "--web", "--port", str(port)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        _wait_for_serving(server, port, 120)
        streamed: list[str] = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium,
                args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                      "--disable-background-networking", "--disable-component-update",
                      "--disable-sync"],
            )
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            outside: list[str] = []
            page.on("request", lambda request: outside.append(request.url)
                    if not request.url.startswith(f"http://127.0.0.1:{port}")
                    and not request.url.startswith("ws://127.0.0.1") else None)

            def on_socket(socket_) -> None:  # type: ignore[no-untyped-def]
                def frame(payload) -> None:  # type: ignore[no-untyped-def]
                    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) \
                        else payload
                    streamed.append(text)

                socket_.on("framereceived", frame)

            page.on("websocket", on_socket)
            with page.expect_websocket() as opened:
                page.goto(f"http://127.0.0.1:{port}/")

            def queue_drawn(_payload: object = None) -> bool:
                return "TR/26/100002" in _ANSI.sub("", "".join(streamed))

            if not queue_drawn():  # frames are handled only while playwright waits
                opened.value.wait_for_event("framereceived", predicate=queue_drawn,
                                            timeout=60_000)
            text = _ANSI.sub("", "".join(streamed))
            # the terminal has drawn what it received once two animation frames passed
            page.evaluate("() => new Promise(done => requestAnimationFrame("
                          "() => requestAnimationFrame(() => done(true))))")
            screenshot = tmp_path / "dmm.png"
            page.screenshot(path=str(screenshot))
            browser.close()
        assert "TRAINING" in text
        assert "TR/26/100002" in text, text[-2000:]
        assert "discussed" in text
        assert outside == []
        assert screenshot.stat().st_size > 20_000  # a drawn terminal, not a blank page
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
