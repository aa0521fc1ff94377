"""The dashboard page, its sign-in cookie and its static files, with the test client."""

from __future__ import annotations

import html.parser
import json
import time
import typing as t
from pathlib import Path

import pytest
from flask import Flask
from flask import render_template
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

from flask_perfkit import PerfKit
from flask_perfkit.dashboard import COOKIE_NAME
from flask_perfkit.dashboard import SESSION_MAX_AGE
from flask_perfkit.dashboard import _session
from tests.conftest import AppFactory

TOKEN = "s3cret-token"
HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


@pytest.fixture
def secured(make_app: AppFactory) -> Flask:
    """An app whose details need the admin token."""
    return make_app(PERFKIT_ADMIN_TOKEN=TOKEN)[0]


def sign_in(client: FlaskClient, token: str = TOKEN, **headers: str) -> t.Any:
    return client.post("/health/dashboard/login", data={"token": token}, headers=headers)


class _Tags(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_in: dict[str, str] = {}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open = tag

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self.text_in[self._open] = self.text_in.get(self._open, "") + data


def tags_of(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    return parser


def test_page_is_served_to_callers_who_see_details(client: FlaskClient) -> None:
    response = client.get("/health/dashboard")
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Top patterns" in response.text


def test_page_sends_a_strict_content_security_policy(client: FlaskClient) -> None:
    policy = client.get("/health/dashboard").headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives == {
        "default-src": "'self'",
        "frame-ancestors": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
    }
    assert "unsafe" not in policy


@pytest.mark.parametrize("path", ["/health/dashboard", "/health/dashboard/login"])
def test_pages_have_no_inline_script_or_style_and_no_external_url(
    make_app: AppFactory, path: str
) -> None:
    app = make_app(PERFKIT_ADMIN_TOKEN=TOKEN, PERFKIT_HEALTH_SHOW_DETAILS="always")[0]
    page = app.test_client().get(path).text
    parsed = tags_of(page)
    for tag, attrs in parsed.tags:
        assert "style" not in attrs, tag
        assert not any(name.startswith("on") for name in attrs), (tag, attrs)
        for name in ("src", "href", "action"):
            value = attrs.get(name)
            assert value is None or value.startswith("/health/"), (tag, name, value)
        if tag == "script":
            assert attrs.get("src") or attrs.get("type") == "application/json", attrs
    assert "style" not in {tag for tag, _ in parsed.tags}


def test_page_is_refused_without_permission(secured: Flask) -> None:
    client = secured.test_client()
    response = client.get("/health/dashboard")
    assert response.status_code == 401
    assert response.json is not None and response.json["error"] == "unauthorized"
    browser = client.get("/health/dashboard", headers=HTML)
    assert browser.status_code == 401
    assert 'name="token"' in browser.text
    assert "Top patterns" not in browser.text


def test_page_is_refused_with_403_when_nothing_can_grant_it(make_app: AppFactory) -> None:
    client = make_app()[0].test_client()
    response = client.get("/health/dashboard", headers=HTML)
    assert response.status_code == 403
    assert client.get("/health/dashboard/login").status_code == 403
    assert sign_in(client).status_code == 403


def test_page_with_details_never_shown_is_refused_even_signed_in(make_app: AppFactory) -> None:
    app = make_app(PERFKIT_ADMIN_TOKEN=TOKEN, PERFKIT_HEALTH_SHOW_DETAILS="never")[0]
    client = app.test_client()
    assert sign_in(client).status_code == 403
    client.set_cookie(COOKIE_NAME, _session.session_value(TOKEN), path="/health")
    assert client.get("/health/dashboard").status_code == 403


def test_bearer_token_opens_the_page(secured: Flask) -> None:
    response = secured.test_client().get(
        "/health/dashboard", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status_code == 200


def test_sign_in_sets_a_strict_cookie_that_is_not_the_token(secured: Flask) -> None:
    client = secured.test_client()
    response = sign_in(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/health/dashboard"
    cookie = response.headers["Set-Cookie"]
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    assert TOKEN not in cookie and value
    flags = [part.strip() for part in cookie.split(";")[1:]]
    assert "HttpOnly" in flags
    assert "SameSite=Strict" in flags
    assert "Path=/health" in flags
    assert f"Max-Age={SESSION_MAX_AGE}" in flags
    assert "Secure" not in flags
    assert client.get("/health/dashboard").status_code == 200


def test_cookie_is_secure_over_https(secured: Flask) -> None:
    response = secured.test_client().post(
        "/health/dashboard/login", data={"token": TOKEN}, base_url="https://localhost"
    )
    assert "Secure" in [part.strip() for part in response.headers["Set-Cookie"].split(";")]


def test_cookie_follows_the_health_prefix(make_app: AppFactory) -> None:
    app = make_app(PERFKIT_ADMIN_TOKEN=TOKEN, PERFKIT_HEALTH_URL_PREFIX="/ops/health")[0]
    response = app.test_client().post("/ops/health/dashboard/login", data={"token": TOKEN})
    assert "Path=/ops/health" in response.headers["Set-Cookie"]


def test_wrong_token_is_refused(secured: Flask) -> None:
    client = secured.test_client()
    response = sign_in(client, "wrong")
    assert response.status_code == 401
    assert "Set-Cookie" not in response.headers
    assert "not accepted" in response.text
    assert sign_in(client, "").status_code == 401
    assert client.get("/health/dashboard").status_code == 401


def test_token_in_the_query_string_is_refused(secured: Flask) -> None:
    response = secured.test_client().post(
        f"/health/dashboard/login?token={TOKEN}", data={"token": TOKEN}
    )
    assert response.status_code == 400
    assert response.json is not None and response.json["param"] == "token"
    assert "Set-Cookie" not in response.headers


def test_get_on_the_login_page_never_signs_in(secured: Flask) -> None:
    response = secured.test_client().get(f"/health/dashboard/login?token={TOKEN}")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    assert 'method="post"' in response.text


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("http://localhost", 303),
        ("https://evil.example", 403),
        ("http://localhost:8080", 403),
        ("https://localhost", 403),
        ("null", 403),
    ],
)
def test_sign_in_checks_the_origin(secured: Flask, origin: str, status: int) -> None:
    response = sign_in(secured.test_client(), Origin=origin)
    assert response.status_code == status
    if status == 403:
        assert response.json is not None and response.json["error"] == "cross_origin"
        assert "Set-Cookie" not in response.headers


def test_sign_out_clears_the_cookie(secured: Flask) -> None:
    client = secured.test_client()
    sign_in(client)
    response = client.post("/health/dashboard/logout")
    assert response.status_code == 303
    assert response.headers["Location"] == "/health/dashboard/login"
    assert "Max-Age=0" in response.headers["Set-Cookie"]
    assert client.get("/health/dashboard").status_code == 401
    foreign = client.post("/health/dashboard/logout", headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    assert client.get("/health/dashboard/logout").status_code == 405


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/health/metrics"),
        ("GET", "/health/profiling"),
        ("GET", "/health/database"),
        ("POST", "/health/profiling/reset"),
        ("POST", "/health/cache/clear"),
        ("POST", "/health/cache/reset-stats"),
    ],
)
def test_cookie_opens_nothing_but_the_dashboard(secured: Flask, method: str, path: str) -> None:
    client = secured.test_client()
    sign_in(client)
    assert client.get("/health/dashboard").status_code == 200
    response = client.open(path, method=method)
    assert response.status_code == 401 or (
        method == "GET" and "pid" not in (response.json or {})
    ), response.json


def test_forged_cookie_is_refused(secured: Flask) -> None:
    client = secured.test_client()
    forged = URLSafeTimedSerializer("another-token", salt="flask-perfkit.dashboard.session")
    for value in [TOKEN, forged.dumps("dashboard"), "x.y.z", _session.session_value(TOKEN)[:-2]]:
        client.set_cookie(COOKIE_NAME, value, path="/health")
        assert client.get("/health/dashboard").status_code == 401, value


def test_expired_cookie_is_refused(secured: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    client = secured.test_client()
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() - SESSION_MAX_AGE - 5)
    old = _session.session_value(TOKEN)
    monkeypatch.setattr(time, "time", real)
    client.set_cookie(COOKIE_NAME, old, path="/health")
    assert client.get("/health/dashboard").status_code == 401
    client.set_cookie(COOKIE_NAME, _session.session_value(TOKEN), path="/health")
    assert client.get("/health/dashboard").status_code == 200


def test_new_token_invalidates_every_cookie(make_app: AppFactory) -> None:
    value = _session.session_value("the-old-token")
    client = make_app(PERFKIT_ADMIN_TOKEN=TOKEN)[0].test_client()
    client.set_cookie(COOKIE_NAME, value, path="/health")
    assert client.get("/health/dashboard").status_code == 401


@pytest.mark.parametrize("name", ["dashboard.js", "dashboard.css", "favicon.svg"])
def test_assets_are_served_with_long_caching(client: FlaskClient, name: str) -> None:
    response = client.get(f"/health/dashboard/assets/{name}")
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    etag = response.headers["ETag"]
    again = client.get(f"/health/dashboard/assets/{name}", headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_asset_urls_carry_their_hash(client: FlaskClient) -> None:
    page = client.get("/health/dashboard").text
    etag = client.get("/health/dashboard/assets/dashboard.js").headers["ETag"].strip('"')
    assert f"/health/dashboard/assets/dashboard.js?v={etag}" in page


def test_assets_need_no_permission(secured: Flask) -> None:
    assert secured.test_client().get("/health/dashboard/assets/dashboard.css").status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "../views.py",
        "..%2Fviews.py",
        "%2e%2e%2f_session.py",
        "..",
        "views.py",
        "__init__.py",
        "dashboard.JS",
        "templates",
        "..%2Ftemplates%2Fperfkit%2Fdashboard.html",
        "static%2Fdashboard.js",
        "dashboard.js%00.py",
    ],
)
def test_assets_outside_the_allow_list_are_not_found(client: FlaskClient, path: str) -> None:
    assert client.get(f"/health/dashboard/assets/{path}").status_code == 404


def test_app_templates_do_not_shadow_the_dashboard(make_app: AppFactory, tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "perfkit"
    folder.mkdir(parents=True)
    (folder / "dashboard.html").write_text("the app's own page")
    (folder / "base.html").write_text("the app's own base")
    app = make_app(PERFKIT_HEALTH_SHOW_DETAILS="always")[0]
    app.template_folder = str(tmp_path / "templates")
    client = app.test_client()
    assert "Top patterns" in client.get("/health/dashboard").text
    with app.test_request_context():
        assert render_template("perfkit/dashboard.html") == "the app's own page"


def test_report_is_escaped(app: Flask) -> None:
    import sqlalchemy as sa
    from flask_sqlalchemy import SQLAlchemy

    db: SQLAlchemy = app.extensions["sqlalchemy"]
    with app.app_context():
        db.session.execute(sa.text('SELECT 1 AS "<script>x</script>"'))
    page = app.test_client().get("/health/dashboard").text
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;x&lt;/script&gt;" in page


def test_cookie_opens_the_history(secured: Flask) -> None:
    client = secured.test_client()
    assert client.get("/health/history").status_code == 401
    sign_in(client)
    response = client.get("/health/history?range=15m")
    assert response.status_code == 200
    assert response.json is not None and response.json["range"] == "15m"
    client.set_cookie(COOKIE_NAME, "forged", path="/health")
    assert client.get("/health/history").status_code == 401


def test_history_is_refused_like_metrics_without_a_token(make_app: AppFactory) -> None:
    client = make_app()[0].test_client()
    assert client.get("/health/history").status_code == 403


def test_signing_in_keeps_the_range_the_page_was_opened_with(secured: Flask) -> None:
    client = secured.test_client()
    refused = client.get("/health/dashboard?range=15m", headers=HTML)
    assert refused.status_code == 401
    hidden = [a for tag, a in tags_of(refused.get_data(as_text=True)).tags if tag == "input"]
    assert {"type": "hidden", "name": "range", "value": "15m"} in hidden
    response = client.post("/health/dashboard/login", data={"token": TOKEN, "range": "15m"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/health/dashboard?range=15m")
    assert client.get("/health/dashboard?range=15m").status_code == 200
    plain = client.post("/health/dashboard/login", data={"token": TOKEN})
    assert plain.headers["Location"].endswith("/health/dashboard")


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("GET", "/health/dashboard?range=2h", None),
        ("GET", "/health/dashboard/login?range=x", None),
        ("POST", "/health/dashboard/login", {"token": TOKEN, "range": "//evil.example"}),
    ],
)
def test_a_bad_range_is_400_naming_it(
    secured: Flask, method: str, path: str, data: dict[str, str] | None
) -> None:
    client = secured.test_client()
    client.post("/health/dashboard/login", data={"token": TOKEN})
    response = client.open(path, method=method, data=data, headers=AUTH_HEADER)
    assert response.status_code == 400
    assert response.get_json()["param"] == "range"


AUTH_HEADER = {"Authorization": f"Bearer {TOKEN}"}


def test_with_the_history_off_the_page_refreshes_without_it(make_app: AppFactory) -> None:
    app = make_app(PERFKIT_HEALTH_SHOW_DETAILS="always", PERFKIT_HISTORY_ENABLED=False)[0]
    page = app.test_client().get("/health/dashboard").get_data(as_text=True)
    settings = json.loads(tags_of(page).text_in["script"])
    assert settings["history"] is None
    # The health strip is one of the sections a refresh swaps in from the page.
    strip = page[page.index('data-swap="health"') :]
    assert 'id="checks"' in strip[: strip.index("</div>")]


def test_only_a_callback_gets_a_message_about_the_callback() -> None:
    app = Flask("callback_app")
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    PerfKit(app, authorize=lambda: False)
    for path in ("/health/dashboard", "/health/history"):
        response = app.test_client().get(path)
        assert response.status_code == 401
        message = response.get_json()["message"]
        assert "authorize callback" in message and "PERFKIT_ADMIN_TOKEN" not in message
