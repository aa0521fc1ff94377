"""The dashboard in a real headless Chromium, served by a real WSGI server, with traffic from
the test against a throwaway PostgreSQL cluster that the test stops and starts.

With ``PERFKIT_SCREENSHOTS=1``, :func:`test_screenshots` writes the pictures of
``docs/dashboard.rst`` into ``docs/_static``.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import typing as t
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_perfkit import PerfKit
from flask_perfkit import cache_short
from flask_perfkit.dashboard import views
from tests.browser import LiveServer
from tests.browser import chromium
from tests.browser import console_errors
from tests.browser import network
from tests.conftest import ThrowawayPostgres

TOKEN = "browser-test-token-5b1e"
STATIC = Path(__file__).parent.parent / "docs" / "_static"


@cache_short
def square(n: int) -> int:
    return n * n


def make_app(url: str) -> tuple[Flask, SQLAlchemy]:
    """An app on ``url`` with a few views that query, repeat a query and use the cache."""
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=url,
        PERFKIT_ADMIN_TOKEN=TOKEN,
        PERFKIT_HISTORY_RESOLUTION=1,
        PERFKIT_HEALTH_CHECK_TTL=0,
        PERFKIT_DB_CONNECT_TIMEOUT=1,
        PERFKIT_DB_BREAKER_SECONDS=1,
        PERFKIT_SLOW_QUERY_MS=5,
        PERFKIT_POOL_SIZE=5,
    )
    db = SQLAlchemy()
    PerfKit(app, db=db)
    db.init_app(app)

    @app.get("/work")
    def work() -> str:
        session = db.session
        session.execute(sa.text("INSERT INTO items (name) VALUES (:name)"), {"name": "x"})
        session.commit()
        count = session.execute(sa.text("SELECT count(*) FROM items")).scalar()
        for n in range(6):
            session.execute(sa.text("SELECT name FROM items WHERE id = :id"), {"id": n})
        square(int(time.monotonic() * 10) % 4)
        return str(count)

    @app.get("/slow")
    def slow() -> str:
        return str(db.session.execute(sa.text("SELECT pg_sleep(0.02)")).scalar())

    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE items (id serial PRIMARY KEY, name text)"))
    return app, db


class Traffic:
    """Requests to the app's views from a thread of the test, a few each second."""

    def __init__(self, app: Flask) -> None:
        self.client = app.test_client()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stopped.is_set():
            self.client.get("/work")
            self.client.get("/slow")
            self.stopped.wait(0.1)

    def __enter__(self) -> Traffic:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.thread.join(10)


@pytest.fixture
def served(
    throwaway_postgres: ThrowawayPostgres, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[LiveServer, SQLAlchemy, Flask]]:
    """The app on the throwaway cluster, served on loopback, with traffic running."""
    monkeypatch.setattr(views, "POLL_SECONDS", 1)
    app, db = make_app(throwaway_postgres.url)
    try:
        with LiveServer(app) as server, Traffic(app):
            yield server, db, app
    finally:
        with app.app_context():
            db.engine.dispose()


def wait_for(driver: t.Any, condition: t.Callable[[t.Any], t.Any], timeout: float = 20) -> t.Any:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    # The page replaces its tables on each refresh, so an element found may go stale.
    wait = WebDriverWait(
        driver, timeout, poll_frequency=0.2, ignored_exceptions=[StaleElementReferenceException]
    )
    return wait.until(condition)


def sign_in(driver: t.Any, origin: str, token: str = TOKEN) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(origin + "/health/dashboard/login")
    field = driver.find_element(By.ID, "token")
    field.send_keys(token)
    field.send_keys(Keys.ENTER)


def check_of(driver: t.Any, name: str) -> str | None:
    """The status the strip shows for the check ``name``. Read in one script, as the strip
    is rebuilt on each refresh."""
    return t.cast(
        "str | None",
        driver.execute_script(
            "var item = document.querySelector('#checks [data-check=\"' + arguments[0] + '\"]');"
            "return item ? item.querySelector('.check-status').textContent.toLowerCase() : null;",
            name,
        ),
    )


def calls_column(driver: t.Any) -> list[float]:
    """The calls column of the top patterns table, in the order shown."""
    return t.cast(
        list[float],
        driver.execute_script(
            "return Array.from(document.querySelectorAll('#patterns td[data-key=\"calls\"]'))"
            ".map(function (cell) { return Number(cell.dataset.value); });"
        ),
    )


def press_enter_on(driver: t.Any, selector: str) -> None:
    """Move the keyboard focus to ``selector`` and press Enter."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    driver.execute_script("document.querySelector(arguments[0]).focus()", selector)
    assert driver.execute_script("return document.activeElement.matches(arguments[0])", selector)
    ActionChains(driver).send_keys(Keys.ENTER).perform()


def charts_with_points(driver: t.Any) -> dict[str, int]:
    return t.cast(
        dict[str, int],
        driver.execute_script(
            "var out = {};"
            "document.querySelectorAll('figure[data-chart]').forEach(function (f) {"
            "  out[f.dataset.chart] = f.querySelectorAll('svg polyline, svg circle').length; });"
            "return out;"
        ),
    )


def test_sign_in_keeps_the_token_out_of_urls_and_logs(
    served: tuple[LiveServer, SQLAlchemy, Flask], caplog: pytest.LogCaptureFixture
) -> None:
    from selenium.webdriver.common.by import By

    caplog.set_level(logging.INFO, logger="werkzeug")
    server, _, _ = served
    with chromium() as driver:
        driver.get(server.origin + "/health/dashboard")
        assert driver.find_elements(By.ID, "token"), "the refused page offers the sign-in form"
        assert (server.origin + "/health/dashboard", 401) in network(driver).responses
        driver.get_log("browser")

        sign_in(driver, server.origin, "not-the-token")
        error = wait_for(driver, lambda d: d.find_elements(By.ID, "login-error"))
        assert "not accepted" in error[0].text
        assert (server.origin + "/health/dashboard/login", 401) in network(driver).responses
        assert not driver.get_cookies()

        sign_in(driver, server.origin)
        wait_for(driver, lambda d: d.find_elements(By.ID, "patterns-title"))
        assert driver.current_url == server.origin + "/health/dashboard"
        seen = network(driver)
        assert all(TOKEN not in url for url in seen.requests)
        assert all(TOKEN not in url for url, _ in seen.responses)
        (cookie,) = driver.get_cookies()
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert cookie["path"] == "/health" and TOKEN not in cookie["value"]
        assert driver.execute_script("return document.cookie") == ""

        driver.find_element(By.CSS_SELECTOR, "form.logout button").click()
        wait_for(driver, lambda d: d.find_elements(By.ID, "token"))
        assert not driver.get_cookies()
    assert all(TOKEN not in record.getMessage() for record in caplog.records)


def test_page_loads_draws_and_refreshes(served: tuple[LiveServer, SQLAlchemy, Flask]) -> None:
    from selenium.webdriver.common.by import By

    server, _, _ = served
    with chromium() as driver:
        sign_in(driver, server.origin)
        wait_for(driver, lambda d: all(charts_with_points(d).values()))
        assert set(charts_with_points(driver)) == {"qps", "p95", "pools", "cache"}
        points = driver.find_element(By.CSS_SELECTOR, '[data-chart="qps"] svg')
        assert int(points.get_attribute("data-points")) >= 2
        label = driver.find_element(By.ID, "chart-qps-summary").text
        assert "latest" in label and "max" in label

        # The tables come back with each refresh, with newer numbers.
        wait_for(driver, lambda d: calls_column(d))
        before = sum(calls_column(driver))
        wait_for(driver, lambda d: sum(calls_column(d)) > before)
        wait_for(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "svg.sparkline polyline"))
        n_plus_one = '[data-swap="n-plus-one"]'
        wait_for(
            driver,
            lambda d: "FROM items WHERE id" in d.find_element(By.CSS_SELECTOR, n_plus_one).text,
        )
        slow = '[data-swap="slow"]'
        wait_for(driver, lambda d: "pg_sleep" in d.find_element(By.CSS_SELECTOR, slow).text)

        # Pausing stops the refresh; sorting works from the keyboard.
        pause = driver.find_element(By.ID, "pause")
        pause.click()
        assert pause.get_attribute("aria-pressed") == "true" and pause.text == "Resume"
        press_enter_on(driver, 'button[data-sort="calls"]')
        header = driver.find_element(By.XPATH, '//button[@data-sort="calls"]/..')
        assert header.get_attribute("aria-sort") == "descending"
        press_enter_on(driver, 'button[data-sort="calls"]')
        assert header.get_attribute("aria-sort") == "ascending"
        values = calls_column(driver)
        assert values == sorted(values)
        pause.click()
        assert pause.get_attribute("aria-pressed") == "false"

        # The range switch.
        driver.find_element(By.CSS_SELECTOR, 'button[data-range="15m"]').click()
        wait_for(driver, lambda d: "range=15m" in d.current_url)
        time.sleep(1.5)

        assert console_errors(driver) == []
        seen = network(driver)
        assert seen.failures == []
        assert seen.requests and all(url.startswith(server.origin + "/") for url in seen.requests)
        assert [(url, status) for url, status in seen.responses if status >= 400] == []


def test_status_strip_follows_the_database(
    served: tuple[LiveServer, SQLAlchemy, Flask], throwaway_postgres: ThrowawayPostgres
) -> None:
    server, _, _ = served
    with chromium() as driver:
        sign_in(driver, server.origin)
        wait_for(driver, lambda d: check_of(d, "db") == "pass")
        throwaway_postgres.stop()
        try:
            wait_for(driver, lambda d: check_of(d, "db") == "fail")
            assert "status-fail" in driver.find_element("id", "overall").get_attribute("class")
        finally:
            throwaway_postgres.start()
        wait_for(driver, lambda d: check_of(d, "db") == "pass", timeout=30)


@pytest.mark.skipif(
    os.environ.get("PERFKIT_SCREENSHOTS") != "1", reason="PERFKIT_SCREENSHOTS=1 makes them"
)
def test_screenshots(served: tuple[LiveServer, SQLAlchemy, Flask]) -> None:
    server, _, _ = served
    time.sleep(20)
    with chromium() as driver:
        sign_in(driver, server.origin)
        for scheme in ("light", "dark"):
            for name, width, height in (("laptop", 1366, 900), ("phone", 390, 844)):
                driver.execute_cdp_cmd(
                    "Emulation.setEmulatedMedia",
                    {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
                )
                driver.execute_cdp_cmd(
                    "Emulation.setDeviceMetricsOverride",
                    {
                        "width": width,
                        "height": height,
                        "deviceScaleFactor": 1,
                        "mobile": width < 600,
                    },
                )
                driver.get(server.origin + "/health/dashboard?range=15m")
                wait_for(driver, lambda d: all(charts_with_points(d).values()))
                if name == "laptop":
                    # The whole page at the laptop's width.
                    full = driver.execute_script("return document.documentElement.scrollHeight")
                    driver.execute_cdp_cmd(
                        "Emulation.setDeviceMetricsOverride",
                        {"width": width, "height": full, "deviceScaleFactor": 1, "mobile": False},
                    )
                time.sleep(1)
                driver.save_screenshot(str(STATIC / f"dashboard-{scheme}-{name}.png"))


def test_with_the_history_off_the_page_says_so_and_still_refreshes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "POLL_SECONDS", 1)
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'off.db'}",
        PERFKIT_HEALTH_SHOW_DETAILS="always",
        PERFKIT_HISTORY_ENABLED=False,
    )
    db = SQLAlchemy()
    PerfKit(app, db=db)
    db.init_app(app)

    @app.get("/one")
    def one() -> str:
        return str(db.session.execute(sa.text("SELECT 1")).scalar())

    try:
        with LiveServer(app) as server, chromium() as driver:
            app.test_client().get("/one")
            driver.get(server.origin + "/health/dashboard")
            updated = wait_for(
                driver,
                lambda d: "history is off" in d.find_element("id", "updated").text and d,
            )
            assert updated
            before = calls_column(driver)
            for _ in range(3):
                app.test_client().get("/one")
            wait_for(driver, lambda d: calls_column(d) != before)
            requested = [url for url, _ in network(driver).responses]
            assert not [url for url in requested if "/health/history" in url]
            assert console_errors(driver) == []
    finally:
        with app.app_context():
            db.engine.dispose()
