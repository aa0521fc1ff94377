"""A headless Chromium driven by Selenium, and a real WSGI server for it to load pages from.

Chromium and chromedriver come from Debian's ``chromium`` and ``chromium-driver``. Locally a
missing browser skips the tests that need it; under ``CI=true`` it fails them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import typing as t
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import CI

#: Flags that keep Chromium from reaching for the network on its own.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--homepage=about:blank",
)


def _require(name: str, found: str | None) -> str:
    if found:
        return found
    message = f"{name} was not found (install Debian's chromium and chromium-driver)"
    if CI:
        pytest.fail(f"{message}, and CI=true requires the browser tests.")
    pytest.skip(message)


@contextmanager
def chromium(width: int = 1366, height: int = 900) -> Iterator[t.Any]:
    """A headless Chromium with a fresh profile that records its console and network log."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        if CI:
            pytest.fail("selenium is not installed, and CI=true requires the browser tests.")
        pytest.skip("selenium is not installed")
    binary = _require("chromium", shutil.which("chromium") or shutil.which("chromium-browser"))
    driver_path = _require("chromedriver", shutil.which("chromedriver"))
    profile = tempfile.mkdtemp(prefix="perfkit-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver: t.Any = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        # Start from a blank page, and forget what the browser's start-up tab did.
        driver.get("about:blank")
        driver.get_log("performance")
        driver.get_log("browser")
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


class LiveServer:
    """A threaded werkzeug server for ``app`` on a free loopback port."""

    def __init__(self, app: Flask) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


class Network(t.NamedTuple):
    """What the browser requested, what it got, and what failed, from its performance log."""

    requests: list[str]
    responses: list[tuple[str, int]]
    failures: list[dict[str, t.Any]]


def network(driver: t.Any) -> Network:
    """The network events since the last call (reading the log empties it)."""
    requests: list[str] = []
    responses: list[tuple[str, int]] = []
    failures: list[dict[str, t.Any]] = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        params = message.get("params", {})
        if message["method"] == "Network.requestWillBeSent":
            requests.append(params["request"]["url"])
        elif message["method"] == "Network.responseReceived":
            responses.append((params["response"]["url"], int(params["response"]["status"])))
        elif message["method"] == "Network.loadingFailed":
            failures.append(params)
    return Network(requests, responses, failures)


def console_errors(driver: t.Any) -> list[dict[str, t.Any]]:
    """The console entries of level ``SEVERE`` since the last call."""
    return [entry for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]
