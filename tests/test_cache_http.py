"""The tiered cache beside the app's own Flask-Caching, on views, and during outages.

Every case runs on SimpleCache and on the real Redis; the outage cases on a refused Redis (a
closed port) and a black-holed one (a TCP server that accepts and never answers).
"""

from __future__ import annotations

import logging
import threading
import time
import typing as t
import uuid
from collections.abc import Iterator

import pytest
import redis
from cachelib.serializers import JSONSerializer
from flask import Flask
from flask import Response
from flask import g
from flask import render_template_string
from flask import request
from flask import session
from flask import url_for
from flask_caching import Cache
from flask_caching import make_template_fragment_key
from werkzeug.http import http_date

from flask_perfkit import PerfKit
from flask_perfkit import cache_short
from tests.conftest import REDIS_URL
from tests.conftest import free_port
from tests.conftest import require

BACKENDS = ["simple", "redis"]


def cache_config(backend: str) -> dict[str, t.Any]:
    if backend == "redis":
        require("Redis", REDIS_URL)
        return {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": REDIS_URL}
    return {"CACHE_TYPE": "SimpleCache"}


def new_app(**config: t.Any) -> Flask:
    app = Flask(f"cache_http_{uuid.uuid4().hex[:6]}")
    app.config.update(
        TESTING=True,
        SECRET_KEY="test-secret",
        PERFKIT_CACHE_KEY_PREFIX=f"pkhttp-{uuid.uuid4().hex[:8]}:",
    )
    app.config.update(config)
    return app


@pytest.fixture
def apps() -> Iterator[t.Callable[..., Flask]]:
    """Build apps with PerfKit; every entry PerfKit made is dropped afterwards."""
    made: list[Flask] = []

    def factory(backend: str, **config: t.Any) -> Flask:
        app = new_app(**{**cache_config(backend), **config})
        PerfKit(app)
        made.append(app)
        return app

    yield factory
    for app in made:
        with app.app_context():
            app.extensions["perfkit"].cache.invalidate()


def stats(app: Flask, tier: str = "short") -> dict[str, t.Any]:
    with app.app_context():
        return t.cast(dict[str, t.Any], app.extensions["perfkit"].cache.stats()[tier])


def run_concurrently(app: Flask, path: str, count: int) -> tuple[float, list[int]]:
    """GET ``path`` from ``count`` threads at once; the wall time and the statuses."""
    barrier = threading.Barrier(count + 1)
    statuses: list[int] = []

    def call() -> None:
        client = app.test_client()
        barrier.wait()
        statuses.append(client.get(path).status_code)

    threads = [threading.Thread(target=call) for _ in range(count)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.monotonic()
    for thread in threads:
        thread.join(10)
    return time.monotonic() - start, statuses


def slow_view(app: Flask, ran: list[int]) -> None:
    lock = threading.Lock()

    @app.get("/slow")
    @cache_short
    def slow() -> str:
        with lock:
            ran.append(1)
        time.sleep(0.2)
        return "done"


# -- 1. an outage adds no latency; a healthy backend computes a cold key once --------------


@pytest.mark.parametrize("fault", ["refused", "black-holed"])
def test_an_outage_runs_requests_uncached_and_in_parallel(
    fault: str, black_hole: int, apps: t.Callable[..., Flask]
) -> None:
    port = free_port() if fault == "refused" else black_hole
    app = apps("redis", CACHE_REDIS_URL=f"redis://127.0.0.1:{port}/0")
    ran: list[int] = []
    slow_view(app, ran)
    wall, statuses = run_concurrently(app, "/slow", 20)
    assert statuses == [200] * 20
    assert len(ran) == 20, "each request ran the view itself"
    assert wall < 0.6, f"20 requests to a 0.2 s view took {wall:.2f} s"
    assert stats(app)["errors"] >= 1
    # With the breaker open the backend is skipped: again no waiting on each other.
    wall, statuses = run_concurrently(app, "/slow", 20)
    assert statuses == [200] * 20 and len(ran) == 40
    assert wall < 0.6, f"20 requests to a 0.2 s view took {wall:.2f} s"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_healthy_backend_computes_a_cold_key_once(
    backend: str, apps: t.Callable[..., Flask]
) -> None:
    app = apps(backend)
    ran: list[int] = []
    slow_view(app, ran)
    _, statuses = run_concurrently(app, "/slow", 20)
    assert statuses == [200] * 20
    assert len(ran) == 1, "the stampede lock holds one computation per cold key"
    assert app.test_client().get("/slow").get_data(as_text=True) == "done"
    assert len(ran) == 1
    assert stats(app)["sets"] == 1 and stats(app)["errors"] == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_waiters_get_a_copy_of_their_own(backend: str, apps: t.Callable[..., Flask]) -> None:
    app = apps(backend)
    ran: list[int] = []

    @cache_short
    def rows() -> list[dict[str, int]]:
        ran.append(1)
        time.sleep(0.2)
        return [{"n": 1}]

    barrier = threading.Barrier(6)
    results: list[list[dict[str, int]]] = []

    def call() -> None:
        with app.app_context():
            barrier.wait()
            results.append(rows())

    threads = [threading.Thread(target=call) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(ran) == 1
    assert results == [[{"n": 1}]] * 6
    assert len({id(result) for result in results}) == 6, "no caller shares another's object"


# -- 2. only GET and HEAD are cached ---------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_other_methods_pass_through(backend: str, apps: t.Callable[..., Flask]) -> None:
    app = apps(backend)
    writes: list[str] = []

    @app.route("/form", methods=["GET", "POST", "PUT"])
    @cache_short
    def form() -> str:
        if request.method != "GET":
            writes.append(request.form.get("q", ""))
        return f"{request.method} {writes}"

    client = app.test_client()
    assert client.get("/form").get_data(as_text=True) == "GET []"
    assert client.post("/form", data={"q": "new"}).get_data(as_text=True) == "POST ['new']"
    assert client.put("/form", data={"q": "again"}).get_data(as_text=True) == (
        "PUT ['new', 'again']"
    )
    assert writes == ["new", "again"]
    assert client.get("/form").get_data(as_text=True) == "GET []", "GET's entry still serves"
    counts = stats(app)
    assert counts["bypass"] == 2 and counts["hits"] == 1 and counts["misses"] == 1
    assert counts["sets"] == 1 and counts["backend_ms"] > 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_head_is_answered_from_gets_entry(backend: str, apps: t.Callable[..., Flask]) -> None:
    app = apps(backend)
    ran: list[str] = []

    @app.get("/page")
    @cache_short
    def page() -> Response:
        ran.append(request.method)
        return Response("hello", headers={"X-Page": "1"})

    client = app.test_client()
    head = client.head("/page")
    assert head.status_code == 200 and head.get_data() == b""
    assert head.headers["Content-Length"] == "5" and head.headers["X-Page"] == "1"
    get = client.get("/page")
    assert get.get_data(as_text=True) == "hello" and get.headers["X-Page"] == "1"
    assert client.head("/page").headers["Content-Length"] == "5"
    assert ran == ["HEAD", "GET"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_head_without_its_body_never_answers_a_get(
    backend: str, apps: t.Callable[..., Flask]
) -> None:
    app = apps(backend)

    @app.route("/report", methods=["GET", "HEAD"])
    @cache_short
    def report() -> Response:
        body = "" if request.method == "HEAD" else "the full report"
        return Response(body, headers={"X-Kind": request.method})

    client = app.test_client()
    assert client.head("/report").headers["X-Kind"] == "HEAD"
    get = client.get("/report")
    assert get.get_data(as_text=True) == "the full report" and get.headers["X-Kind"] == "GET"
    assert client.get("/report").get_data(as_text=True) == "the full report"
    head = client.head("/report")
    assert head.headers["X-Kind"] == "GET" and head.headers["Content-Length"] == "15"


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_response_is_served_no_longer_than_it_stays_fresh(
    backend: str, apps: t.Callable[..., Flask]
) -> None:
    app = apps(backend)
    ran: list[str] = []
    future = http_date(time.time() + 3600)
    headers = {
        "short": {"Cache-Control": "s-maxage=1, max-age=600"},
        "long": {"Expires": future, "Date": http_date(time.time())},
        "past": {"Expires": http_date(time.time() - 60)},
        "garbled": {"Expires": "0"},
    }

    @app.get("/fresh/<kind>")
    @cache_short
    def fresh(kind: str) -> Response:
        ran.append(kind)
        return Response(kind, headers=headers[kind])

    client = app.test_client()
    for kind in headers:
        assert client.get(f"/fresh/{kind}").get_data(as_text=True) == kind
        assert client.get(f"/fresh/{kind}").get_data(as_text=True) == kind
    assert ran == ["short", "long", "past", "past", "garbled", "garbled"]
    time.sleep(1.1)
    assert client.get("/fresh/short").get_data(as_text=True) == "short"
    assert client.get("/fresh/long").get_data(as_text=True) == "long"
    assert ran[6:] == ["short"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_hit_answers_conditional_requests(backend: str, apps: t.Callable[..., Flask]) -> None:
    app = apps(backend)
    ran: list[str] = []

    @app.get("/doc")
    @cache_short
    def doc() -> Response:
        ran.append("doc")
        response = Response("the document")
        response.set_etag("v1")
        response.make_conditional(request)
        return response

    client = app.test_client()
    assert client.get("/doc").get_data(as_text=True) == "the document"
    matching = client.get("/doc", headers={"If-None-Match": '"v1"'})
    assert matching.status_code == 304 and matching.get_data() == b""
    other = client.get("/doc", headers={"If-None-Match": '"v0"'})
    assert other.status_code == 200 and other.get_data(as_text=True) == "the document"
    assert client.head("/doc", headers={"If-None-Match": '"v1"'}).status_code == 304
    assert ran == ["doc"]


# -- the key is the whole URL ---------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_another_host_or_scheme_is_another_page(backend: str, apps: t.Callable[..., Flask]) -> None:
    app = apps(backend)

    @app.get("/home")
    @cache_short
    def home() -> str:
        return url_for("home", _external=True)

    client = app.test_client()
    forged = client.get("/home", headers={"Host": "attacker.example"})
    assert forged.get_data(as_text=True) == "http://attacker.example/home"
    assert client.get("/home").get_data(as_text=True) == "http://localhost/home"
    secure = client.get("/home", base_url="https://localhost")
    assert secure.get_data(as_text=True) == "https://localhost/home"
    mounted = client.get("/home", base_url="http://localhost/shop")
    assert mounted.get_data(as_text=True) == "http://localhost/shop/home"
    assert client.get("/home").get_data(as_text=True) == "http://localhost/home"
    assert stats(app)["hits"] == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_repeated_arguments_keep_their_order(backend: str, apps: t.Callable[..., Flask]) -> None:
    app = apps(backend)

    @app.get("/tags")
    @cache_short
    def tags() -> str:
        return ",".join(request.args.getlist("t")) + "|" + request.args.get("x", "")

    client = app.test_client()
    assert client.get("/tags?t=a&t=b&x=1").get_data(as_text=True) == "a,b|1"
    assert client.get("/tags?t=b&t=a&x=1").get_data(as_text=True) == "b,a|1"
    assert client.get("/tags?x=1&t=a&t=b").get_data(as_text=True) == "a,b|1"
    assert client.get("/tags?t=b&x=1&t=a").get_data(as_text=True) == "b,a|1"
    assert stats(app)["hits"] == 2


# -- 3. per-user pages are never served to someone else --------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_private_responses_are_never_stored(backend: str, apps: t.Callable[..., Flask]) -> None:
    app = apps(backend)
    ran: list[str] = []

    @app.get("/private/<kind>")
    @cache_short
    def private(kind: str) -> Response:
        ran.append(kind)
        user = request.args.get("user", "anon")
        response = Response(f"{kind} page of {user}")
        if kind == "cookie":
            response.set_cookie("seen", user)
        elif kind == "private":
            response.headers["Cache-Control"] = "private, max-age=60"
        elif kind == "no-store":
            response.headers["Cache-Control"] = "no-store"
        elif kind == "no-cache":
            response.headers["Cache-Control"] = "public, no-cache"
        elif kind == "max-age-0":
            response.headers["Cache-Control"] = "public, max-age=0"
        elif kind == "s-maxage-0":
            response.headers["Cache-Control"] = "max-age=60, s-maxage=0"
        elif kind == "error":
            response.status_code = 503
        elif kind == "vary-star":
            response.headers["Vary"] = "*"
        elif kind == "vary-cookie":
            response.headers["Vary"] = "Accept-Encoding, Cookie"
        return response

    client = app.test_client()
    kinds = ["cookie", "private", "no-store", "no-cache", "max-age-0", "s-maxage-0", "error"]
    kinds += ["vary-star", "vary-cookie"]
    for kind in kinds:
        assert client.get(f"/private/{kind}?user=a").get_data(as_text=True) == (f"{kind} page of a")
        client.get(f"/private/{kind}?user=a")
    assert ran == [kind for kind in kinds for _ in range(2)]
    assert stats(app)["sets"] == 0 and stats(app)["hits"] == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_pages_that_read_the_session_are_per_user(
    backend: str, apps: t.Callable[..., Flask]
) -> None:
    app = apps(backend)

    @app.post("/login/<user>")
    def login(user: str) -> str:
        session["user"] = user
        return "ok"

    @app.get("/me")
    @cache_short
    def me() -> str:
        return f"private data of {session.get('user', 'nobody')}"

    alice, bob, anonymous = app.test_client(), app.test_client(), app.test_client()
    alice.post("/login/alice")
    bob.post("/login/bob")
    assert alice.get("/me").get_data(as_text=True) == "private data of alice"
    response = bob.get("/me")
    assert response.get_data(as_text=True) == "private data of bob"
    assert "Cookie" in response.headers["Vary"]
    assert anonymous.get("/me").get_data(as_text=True) == "private data of nobody"
    assert alice.get("/me").get_data(as_text=True) == "private data of alice"
    assert stats(app)["sets"] == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_pages_keyed_on_the_user_by_vary_on_are_stored(
    backend: str, apps: t.Callable[..., Flask]
) -> None:
    app = apps(backend)
    ran: list[str] = []

    @app.post("/login/<user>")
    def login(user: str) -> str:
        session["user"] = user
        return "ok"

    @app.get("/inbox")
    @cache_short(vary_on=lambda: session.get("user"))
    def inbox() -> str:
        ran.append("inbox")
        return "an inbox"

    @app.get("/greeting")
    @cache_short(vary_on=lambda: session.get("user"))
    def greeting() -> str:
        ran.append("greeting")
        return f"hello {session.get('user')}"  # the view reads the session itself

    alice, bob = app.test_client(), app.test_client()
    alice.post("/login/alice")
    bob.post("/login/bob")
    for client in (alice, bob, alice, bob):
        response = client.get("/inbox")
        assert response.get_data(as_text=True) == "an inbox"
        assert "Cookie" in response.headers["Vary"]
    assert ran == ["inbox", "inbox"]
    for client, user in ((alice, "alice"), (bob, "bob"), (alice, "alice")):
        assert client.get("/greeting").get_data(as_text=True) == f"hello {user}"
    assert ran[2:] == ["greeting"] * 3
    assert stats(app)["sets"] == 2


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_session_read_before_vary_on_still_keeps_a_page_private(
    backend: str, apps: t.Callable[..., Flask]
) -> None:
    app = apps(backend)

    @app.before_request
    def load_user() -> None:
        g.user = session.get("user")

    @app.post("/login/<user>")
    def login(user: str) -> str:
        session["user"] = user
        return "ok"

    @app.get("/dashboard")
    @cache_short(vary_on=lambda: session.get("lang", "en"))
    def dashboard() -> str:
        return f"dashboard of {g.user}"

    alice, bob = app.test_client(), app.test_client()
    alice.post("/login/alice")
    bob.post("/login/bob")
    assert alice.get("/dashboard").get_data(as_text=True) == "dashboard of alice"
    assert bob.get("/dashboard").get_data(as_text=True) == "dashboard of bob"
    assert stats(app)["sets"] == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_other_vary_headers_are_keyed_on(backend: str, apps: t.Callable[..., Flask]) -> None:
    app = apps(backend)
    ran: list[str] = []

    @app.get("/greeting")
    @cache_short
    def greeting() -> Response:
        language = request.headers.get("Accept-Language", "")
        ran.append(language)
        text = {"en": "hello", "fr": "bonjour"}.get(language, "hi")
        return Response(text, headers={"Vary": "Accept-Language"})

    client = app.test_client()
    for language, text in [("en", "hello"), ("fr", "bonjour"), ("en", "hello"), ("fr", "bonjour")]:
        response = client.get("/greeting", headers={"Accept-Language": language})
        assert response.get_data(as_text=True) == text
        assert response.headers["Vary"] == "Accept-Language"
    assert client.get("/greeting").get_data(as_text=True) == "hi"
    assert client.get("/greeting").get_data(as_text=True) == "hi"
    assert ran == ["en", "fr", ""], "one computation per variant (no header counts as one)"
    assert stats(app)["hits"] == 3


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shared", [False, True])
def test_authorization_is_served_from_cache_only_on_shared_pages(
    backend: str, shared: bool, apps: t.Callable[..., Flask]
) -> None:
    app = apps(backend)
    ran: list[str | None] = []

    @app.get("/report")
    @cache_short(shared=shared)
    def report() -> str:
        ran.append(request.headers.get("Authorization"))
        return f"report for {request.headers.get('Authorization', 'everyone')}"

    client = app.test_client()
    assert client.get("/report").get_data(as_text=True) == "report for everyone"
    for token in ("Bearer a", "Bearer b"):
        body = client.get("/report", headers={"Authorization": token}).get_data(as_text=True)
        assert body == ("report for everyone" if shared else f"report for {token}")
    assert client.get("/report").get_data(as_text=True) == "report for everyone"
    assert ran == ([None] if shared else [None, "Bearer a", "Bearer b"])
    assert stats(app)["bypass"] == (0 if shared else 2)


# -- 4. the app's {% cache %} fragments stay in the app's Cache -------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("order", ["perfkit-first", "perfkit-last"])
def test_template_fragments_stay_in_the_apps_cache(backend: str, order: str) -> None:
    app = new_app(**cache_config(backend), CACHE_KEY_PREFIX=f"app-{uuid.uuid4().hex[:8]}_")
    cache = Cache()
    if order == "perfkit-first":
        PerfKit(app)
        cache.init_app(app)
    else:
        cache.init_app(app)
        PerfKit(app)
    template = '{% cache 60, "frag" %}{{ value }}{% endcache %}'
    with app.test_request_context():
        try:
            assert render_template_string(template, value="one") == "one"
            assert render_template_string(template, value="two") == "one"
            assert cache.get(make_template_fragment_key("frag")) == "one"
            cache.delete(make_template_fragment_key("frag"))
            assert render_template_string(template, value="three") == "three"
        finally:
            cache.clear()
    assert list(app.extensions["cache"]) == [cache]


def test_without_an_app_cache_perfkit_adds_no_template_tag() -> None:
    app = new_app()
    PerfKit(app)
    assert "cache" not in app.extensions
    assert not any("flask_caching" in name for name in app.jinja_env.extensions)


# -- 5. every CACHE_SERIALIZER ---------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_json_serializer_hits(backend: str, apps: t.Callable[..., Flask]) -> None:
    app = apps(backend, CACHE_SERIALIZER=JSONSerializer)
    ran: list[int] = []

    @cache_short
    def profile(user_id: int) -> dict[str, t.Any]:
        ran.append(user_id)
        return {"id": user_id, "tags": ["a", "b"]}

    @app.get("/json-page")
    @cache_short
    def page() -> dict[str, t.Any]:
        ran.append(0)
        return {"page": True}

    with app.app_context():
        assert [profile(1) for _ in range(3)] == [{"id": 1, "tags": ["a", "b"]}] * 3
    client = app.test_client()
    assert [client.get("/json-page").get_json() for _ in range(3)] == [{"page": True}] * 3
    assert ran == [1, 0]
    counts = stats(app)
    assert counts["hits"] == 4 and counts["misses"] == 2 and counts["sets"] == 2
    assert counts["errors"] == 0


# -- 6. PerfKit sets no CACHE_* key and adds nothing to app.extensions["cache"] ---------------


@pytest.mark.parametrize("backend", [*BACKENDS, "none"])
@pytest.mark.parametrize("order", ["perfkit-first", "perfkit-last"])
def test_the_apps_cache_is_left_as_it_would_be_alone(backend: str, order: str) -> None:
    config = {} if backend == "none" else cache_config(backend)
    app = new_app(**config)
    before = dict(app.config)
    cache = Cache()

    def init_cache() -> None:
        if backend == "none":
            with pytest.warns(UserWarning, match="NullCache"):
                cache.init_app(app)
        else:
            cache.init_app(app)

    if order == "perfkit-first":
        PerfKit(app)
        init_cache()
    else:
        init_cache()
        PerfKit(app)
    added = {key for key in app.config if key not in before and not key.startswith("PERFKIT_")}
    assert added == set()
    assert {k: v for k, v in app.config.items() if k in before} == before
    assert list(app.extensions["cache"]) == [cache]
    expected = {"none": "NullCache", "simple": "SimpleCache", "redis": "RedisCache"}[backend]
    assert type(app.extensions["cache"][cache]).__name__ == expected
    with app.app_context():
        assert app.extensions["perfkit"].cache.backend is not app.extensions["cache"][cache]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_given_cache_is_shared(backend: str) -> None:
    app = new_app(**cache_config(backend))
    cache = Cache()
    PerfKit(app, cache=cache)
    cache.init_app(app)

    @cache_short
    def value() -> str:
        return "stored"

    with app.app_context():
        assert value() == "stored"
        key = value.make_cache_key()
        assert cache.get(key) == ("pk1", "stored")
        app.extensions["perfkit"].cache.invalidate()


# -- 7. an unserializable value is the caller's bug, not the backend's ------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_unserializable_value_is_served_and_counted(
    backend: str, apps: t.Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = apps(backend)
    ran: list[int] = []

    @cache_short
    def handle(i: int) -> t.Any:
        ran.append(i)
        return threading.Lock()

    @cache_short
    def callback(i: int) -> t.Any:
        ran.append(i)
        return lambda: i

    with app.app_context(), caplog.at_level(logging.WARNING, logger="flask_perfkit"):
        for i in range(5):
            assert type(handle(i)) is type(threading.Lock())
            assert callback(i)() == i
        cache = app.extensions["perfkit"].cache
        assert not cache.circuit_open
    assert len(ran) == 10
    counts = stats(app)
    assert counts["unserializable"] == 10 and counts["errors"] == 0 and counts["sets"] == 0
    lines = [r.getMessage() for r in caplog.records if r.name == "flask_perfkit"]
    assert len(lines) == 2, lines
    assert any("handle" in line and "lock" in line for line in lines)
    assert any("callback" in line and "function" in line for line in lines)
    assert not any("backend failed" in line for line in lines)


def test_the_json_serializer_counts_what_it_cannot_store(
    apps: t.Callable[..., Flask], caplog: pytest.LogCaptureFixture
) -> None:
    app = apps("simple", CACHE_SERIALIZER=JSONSerializer)

    @cache_short
    def numbers() -> set[int]:
        return {1, 2}

    with app.app_context(), caplog.at_level(logging.WARNING):
        assert numbers() == {1, 2}
        assert numbers() == {1, 2}
    counts = stats(app)
    assert counts["unserializable"] == 2 and counts["errors"] == 0


def test_redis_keys_carry_the_flask_caching_prefix(apps: t.Callable[..., Flask]) -> None:
    app = apps("redis", CACHE_KEY_PREFIX="myapp_")
    prefix = app.config["PERFKIT_CACHE_KEY_PREFIX"]

    @cache_short
    def item(i: int) -> int:
        return i

    client = redis.Redis.from_url(REDIS_URL)
    try:
        with app.app_context():
            item(1)
            key = item.make_cache_key(1)
        assert key.startswith(f"{prefix}short:")
        found = [k.decode() for k in client.scan_iter(match=f"myapp_{prefix}*")]
        assert found == [f"myapp_{key}"]
    finally:
        client.close()


@pytest.mark.parametrize("backend", BACKENDS)
def test_invalidation_takes_names_literally(backend: str, apps: t.Callable[..., Flask]) -> None:
    app = apps(backend, CACHE_KEY_PREFIX=f"app[{uuid.uuid4().hex[:6]}]*_")
    ran: list[str] = []

    def counted(name: str) -> t.Callable[[int], int]:
        def compute(i: int) -> int:
            ran.append(name)
            return i

        return compute

    bracketed = cache_short(key_prefix="items[v2]?")(counted("bracketed"))
    lookalike = cache_short(key_prefix="itemsv")(counted("lookalike"))
    with app.app_context():
        cache = app.extensions["perfkit"].cache
        bracketed(1), lookalike(1)
        assert cache.invalidate(bracketed) == 1
        bracketed(1), lookalike(1)
        assert ran == ["bracketed", "lookalike", "bracketed"]
        assert cache.invalidate(prefix="items[") == 1
        assert cache.invalidate(tier="short") == 1
        bracketed(1), lookalike(1)
        assert ran[3:] == ["bracketed", "lookalike"]
