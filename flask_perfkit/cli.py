"""The ``flask perfkit`` commands.

Statistics live in each server process, so ``flask perfkit report`` asks a running instance
for them over HTTP, with the admin token from ``PERFKIT_ADMIN_TOKEN``. ``flask perfkit check``
runs the readiness checks from the command's own process (or asks an instance with ``--url``),
and ``flask perfkit reset`` resets this process or, with ``--url``, an instance.
"""

from __future__ import annotations

import base64
import json
import math
import re
import typing as t
import urllib.error
import urllib.parse
import urllib.request

import click
from flask.cli import AppGroup

from ._state import get_state

cli = AppGroup("perfkit", help="Query statistics and health of flask-perfkit.")


_USERINFO = re.compile(r"^(\s*(?:[A-Za-z][A-Za-z0-9+.-]*://|//)?)[^/?#]*@")


def redact_url(url: str) -> str:
    """``url`` without its user name and password, for messages and logs.

    ``http://user:secret@host/`` becomes ``http://***@host/``, and so does text that only
    looks like a URL (``user:secret@host``).
    """
    return _USERINFO.sub(r"\1***@", url, count=1)


_MESSAGE_LIMIT = 500


def _printable(text: str, secrets: t.Iterable[str] = ()) -> str:
    """``text`` from a server or the network, safe to print on a terminal: no control
    characters, no ``secrets``, at most ``_MESSAGE_LIMIT`` characters."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    text = "".join(c if c.isprintable() else " " for c in text).strip()
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 3] + "..."


def _server_message(error: urllib.error.HTTPError) -> str | None:
    """The ``message`` of a JSON error body, or None."""
    try:
        body = json.loads(error.read(64 * 1024))
    except (ValueError, OSError):
        return None
    message = body.get("message") if isinstance(body, dict) else None
    return message if isinstance(message, str) else None


class Instance(t.NamedTuple):
    """Where a running instance's health blueprint answers, and how to authenticate."""

    #: The blueprint's URL, without user name or password, so it may be printed.
    base: str
    #: The ``Authorization`` header to send, if any.
    authorization: str | None
    #: Text that must never be printed: the password and user name of the URL, the token.
    secrets: tuple[str, ...]


_BODY_LIMIT = 64 * 1024 * 1024


class _SameOriginAuthorization(urllib.request.HTTPRedirectHandler):
    """Follow redirects, but send the ``Authorization`` header only to the origin it was
    meant for, so a redirect elsewhere never receives the token or password."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: t.IO[bytes],
        code: int,
        msg: str,
        headers: t.Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and _origin(new.full_url) != _origin(req.full_url):
            new.remove_header("Authorization")
        return new


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port


_opener = urllib.request.build_opener(_SameOriginAuthorization)


def _fetch(
    instance: Instance,
    path: str,
    timeout: float,
    *,
    method: str = "GET",
    accept_status: t.Container[int] = (),
) -> dict[str, t.Any]:
    url = instance.base + path
    headers = {"Accept": "application/json"}
    if instance.authorization:
        headers["Authorization"] = instance.authorization
    req = urllib.request.Request(url, headers=headers, method=method)
    try:
        with _opener.open(req, timeout=timeout) as response:
            body = response.read(_BODY_LIMIT + 1)
        if len(body) > _BODY_LIMIT:
            raise click.ClickException(f"{url} answered with more than {_BODY_LIMIT} bytes.")
        return t.cast(dict[str, t.Any], json.loads(body))
    except urllib.error.HTTPError as error:
        with error:
            if error.code in accept_status:
                try:
                    return t.cast(dict[str, t.Any], json.load(error))
                except ValueError:
                    pass
            message = _server_message(error)
        explained = f": {_printable(message, instance.secrets)}" if message else "."
        raise click.ClickException(f"{url} answered HTTP {error.code}{explained}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = _printable(str(getattr(error, "reason", error)), instance.secrets)
        raise click.ClickException(
            f"Could not reach {url}: {reason}. Is the app running there? Give its URL with"
            " --url or the PERFKIT_URL environment variable."
        ) from None
    except ValueError:
        raise click.ClickException(f"{url} did not answer with JSON.") from None


def _remote(url: str, token: str | None) -> Instance:
    """The instance at ``url``: the app's root URL, or its health blueprint's URL.

    The health prefix of this app (``PERFKIT_HEALTH_URL_PREFIX``) is added unless the URL's
    path already ends with it. A user name and password in the URL are sent as HTTP basic
    authentication when there is no token, and never printed.
    """
    url = url.strip()
    if "://" not in url and not url.startswith("//"):
        # host:port, as people type it.
        url = f"http://{url}"
    shown = redact_url(url)
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as error:
        # The reason names the port or the IPv6 address, never the user name or password.
        why = "its port must be a number from 1 to 65535" if "ort" in str(error) else error
        raise click.ClickException(f"The URL {shown!r} is not valid: {why}.") from None
    if port == 0:
        raise click.ClickException(
            f"The URL {shown!r} is not valid: its port must be a number from 1 to 65535."
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise click.ClickException(
            f"The URL must start with http:// or https:// and name a host, got {shown!r}."
        )
    user = urllib.parse.unquote(parts.username or "")
    password = urllib.parse.unquote(parts.password or "")
    # User names are hidden in URLs but not searched for in text: they may be short words.
    secrets = tuple(s for s in {password, parts.password, token} if s)
    netloc = parts.netloc.rpartition("@")[2]
    path = parts.path.rstrip("/")
    prefix = get_state().config.health.url_prefix
    if prefix is not None and prefix != "/" and not path.endswith(prefix.rstrip("/")):
        path += prefix.rstrip("/")
    base = urllib.parse.urlunsplit((parts.scheme, netloc, path, "", ""))
    config_token = get_state().config.health.admin_token
    token = token or config_token
    authorization = None
    if token:
        authorization = f"Bearer {token}"
        secrets += (token,)
    elif parts.username is not None:
        credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
        authorization = f"Basic {credentials}"
    return Instance(base, authorization, secrets)


_token_option = click.option(
    "--token", envvar="PERFKIT_ADMIN_TOKEN", help="Defaults to PERFKIT_ADMIN_TOKEN."
)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


_ENDPOINT_WIDTH = 40


def _endpoint_table(head: str, rows: list[tuple[str, str | None, str]]) -> list[str]:
    """Lines of a table with a number, an endpoint and a query; the endpoint column is as
    wide as its longest entry, up to ``_ENDPOINT_WIDTH``, so columns never run together."""
    endpoints = [_cut(str(endpoint or "-"), _ENDPOINT_WIDTH) for _, endpoint, _ in rows]
    width = max(len("endpoint"), *map(len, endpoints))
    lines = [f"{head}  {'endpoint':<{width}}  query"]
    for (number, _, query), endpoint in zip(rows, endpoints, strict=True):
        lines.append(f"{number}  {endpoint:<{width}}  {_cut(query, 70)}")
    return lines


def format_report(report: t.Mapping[str, t.Any]) -> str:
    """The profiling report as plain-text tables."""
    summary = report["summary"]
    lines = [
        f"Status: {report['status']}   pid {report.get('pid', '?')}   since {summary['since']}",
        f"Queries: {summary['total_queries']}   mean {summary['avg_ms']} ms   slow"
        f" {summary['slow_percentage']}%   very slow {summary['very_slow_percentage']}%"
        f"   errors {summary['errors']}   patterns {summary['patterns']}"
        f"   evicted {summary['evictions']}",
        "",
        "Top patterns by total time",
        f"{'calls':>8} {'total ms':>10} {'mean ms':>9} {'p95 ms':>9}  query",
    ]
    for p in report["top_patterns"]:
        lines.append(
            f"{p['calls']:>8} {p['total_ms']:>10.1f} {p['mean_ms']:>9.2f} {p['p95_ms']:>9.2f}"
            f"  {_cut(p['query'], 80)}"
        )
    if not report["top_patterns"]:
        lines.append("  (no queries yet)")
    if report["slow_queries"]:
        lines += ["", "Recent slow queries"]
        lines += _endpoint_table(
            f"{'ms':>9}",
            [
                (f"{s['duration_ms']:>9.1f}", s["endpoint"], s["query"])
                for s in report["slow_queries"]
            ],
        )
    if report["n_plus_one"]:
        lines += ["", "N+1 suspects"]
        lines += _endpoint_table(
            f"{'count':>6}",
            [(f"{s['count']:>6}", s["endpoint"], s["query"]) for s in report["n_plus_one"]],
        )
    if report["recommendations"]:
        lines += ["", "Recommendations"]
        lines += [f"  [{r['severity']}] {r['message']}" for r in report["recommendations"]]
    return "\n".join(lines)


def _finite(ctx: click.Context, param: click.Parameter, value: float) -> float:
    if not math.isfinite(value):
        raise click.BadParameter("must be a number of seconds.")
    return value


def _timeout_option(help_text: str) -> t.Callable[[t.Callable[..., t.Any]], t.Callable[..., t.Any]]:
    return click.option(
        "--timeout",
        type=click.FloatRange(0, 3600, min_open=True),
        callback=_finite,
        default=5.0,
        show_default=True,
        help=help_text,
    )


_URL_HELP = (
    " The app's root URL or its health prefix's URL (http://127.0.0.1:5101 or"
    " http://127.0.0.1:5101/health). Defaults to PERFKIT_URL."
)


@cli.command("report")
@click.option(
    "--url",
    envvar="PERFKIT_URL",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="Where the app runs." + _URL_HELP,
)
@_token_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@_timeout_option("Seconds to wait.")
def report_command(url: str, token: str | None, as_json: bool, timeout: float) -> None:
    """Print the query profiling report of a running instance."""
    instance = _remote(url, token)
    report = _fetch(instance, "/profiling", timeout)
    if "summary" not in report:
        if instance.authorization is None:
            advice = "pass --token, or set PERFKIT_ADMIN_TOKEN."
        else:
            advice = (
                "it did not accept the credentials sent. Pass the instance's"
                " PERFKIT_ADMIN_TOKEN with --token or in the PERFKIT_ADMIN_TOKEN variable."
            )
        raise click.ClickException(f"The instance answered without details: {advice}")
    click.echo(json.dumps(report, indent=2) if as_json else format_report(report))


def format_checks(body: t.Mapping[str, t.Any]) -> str:
    """A health body as a plain-text table of its checks."""
    checks: t.Mapping[str, t.Mapping[str, t.Any]] = body.get("checks") or {}
    width = max([len("check"), *map(len, checks)])
    lines = [f"{'check':<{width}}  status  critical  ms        output"]
    for name, check in checks.items():
        critical = check.get("critical")
        duration = check.get("duration_ms")
        lines.append(
            f"{name:<{width}}  {check['status']:<6}  {'' if critical is None else critical!s:<8}"
            f"  {'' if duration is None else f'{duration:.1f}':<8}  {check.get('output') or ''}"
        )
    lines.append(f"status: {body['status']}")
    return "\n".join(lines)


@cli.command("check")
@click.option(
    "--url",
    envvar="PERFKIT_URL",
    default=None,
    help="Ask a running instance (its /ready endpoint) instead of checking from here." + _URL_HELP,
)
@_token_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_timeout_option("Seconds to wait with --url.")
def check_command(url: str | None, token: str | None, as_json: bool, timeout: float) -> None:
    """Run the readiness checks and exit 1 if they fail, 0 for pass or warn.

    Without --url the checks run in this process, against the app's own database and cache,
    which suits a container HEALTHCHECK.
    """
    if url is None:
        from ._run import checks_body
        from ._run import run_checks

        state = get_state()
        checks = state.readiness_checks()
        status, results = run_checks(state, checks)
        body = checks_body(state, checks, status, results)
    else:
        body = _fetch(_remote(url, token), "/ready", timeout, accept_status={503})
    click.echo(json.dumps(body, indent=2) if as_json else format_checks(body))
    if body.get("status") == "fail":
        raise SystemExit(1)


@cli.command("reset")
@click.option(
    "--url",
    envvar="PERFKIT_URL",
    default=None,
    help="Reset a running instance (the process that answers) instead of this one." + _URL_HELP,
)
@_token_option
@_timeout_option("Seconds to wait with --url.")
def reset_command(url: str | None, token: str | None, timeout: float) -> None:
    """Forget query statistics, cache counts and pool event counts, and drop PerfKit's cache
    entries.

    Statistics live in each process. Without --url this resets every capability of this
    process and clears PerfKit's entries in the configured cache backend, which for Redis is
    the cache every worker shares. With --url, the instance that answers resets its own query
    statistics and cache counts.
    """
    state = get_state()
    if url is None:
        state.reset()
        cleared = 0
        if state.cache is not None:
            cleared = state.cache.invalidate()
        click.echo(f"Reset the statistics of this process; cleared {cleared} cache entries.")
        return
    instance = _remote(url, token)
    for path in ("/profiling/reset", "/cache/reset-stats", "/cache/clear"):
        body = _fetch(instance, path, timeout, method="POST")
        click.echo(f"POST {path}: pid {body.get('pid', '?')} {body.get('status', '?')}")
