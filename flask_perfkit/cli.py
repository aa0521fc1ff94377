"""The ``flask perfkit`` commands.

Statistics live in each server process, so ``flask perfkit report`` asks a running instance
for them over HTTP, with the admin token from ``PERFKIT_ADMIN_TOKEN``. ``flask perfkit check``
runs the readiness checks from the command's own process (or asks an instance with ``--url``),
and ``flask perfkit reset`` resets this process or, with ``--url``, an instance.
"""

from __future__ import annotations

import json
import typing as t
import urllib.error
import urllib.request

import click
from flask.cli import AppGroup

from ._state import get_state

cli = AppGroup("perfkit", help="Query statistics and health of flask-perfkit.")


def _fetch(
    url: str,
    token: str | None,
    timeout: float,
    *,
    method: str = "GET",
    accept_status: t.Container[int] = (),
) -> dict[str, t.Any]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return t.cast(dict[str, t.Any], json.load(response))
    except urllib.error.HTTPError as error:
        with error:
            if error.code in accept_status:
                try:
                    return t.cast(dict[str, t.Any], json.load(error))
                except ValueError:
                    pass
        raise click.ClickException(f"{url} answered HTTP {error.code}.") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise click.ClickException(f"Could not reach {url}: {reason}.") from None
    except ValueError:
        raise click.ClickException(f"{url} did not answer with JSON.") from None


def _remote(url: str, token: str | None) -> tuple[str, str | None]:
    """The health blueprint's URL on the instance at ``url``, and the token to send."""
    config = get_state().config
    prefix = config.health_url_prefix
    if prefix is None:
        raise click.ClickException(
            "The health blueprint is not mounted (PERFKIT_HEALTH_URL_PREFIX is None)."
        )
    return f"{url.rstrip('/')}{prefix.rstrip('/')}", token or config.admin_token


_token_option = click.option(
    "--token", envvar="PERFKIT_ADMIN_TOKEN", help="Defaults to PERFKIT_ADMIN_TOKEN."
)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


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
        lines += ["", "Recent slow queries", f"{'ms':>9}  {'endpoint':<20} query"]
        for s in report["slow_queries"]:
            lines.append(f"{s['duration_ms']:>9.1f}  {s['endpoint']!s:<20} {_cut(s['query'], 70)}")
    if report["n_plus_one"]:
        lines += ["", "N+1 suspects", f"{'count':>6}  {'endpoint':<20} query"]
        for s in report["n_plus_one"]:
            lines.append(f"{s['count']:>6}  {s['endpoint']:<20} {_cut(s['query'], 70)}")
    if report["recommendations"]:
        lines += ["", "Recommendations"]
        lines += [f"  [{r['severity']}] {r['message']}" for r in report["recommendations"]]
    return "\n".join(lines)


@cli.command("report")
@click.option(
    "--url",
    default="http://127.0.0.1:5000",
    show_default=True,
    help="Where the app runs; the health prefix is added.",
)
@_token_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds to wait.")
def report_command(url: str, token: str | None, as_json: bool, timeout: float) -> None:
    """Print the query profiling report of a running instance."""
    base, token = _remote(url, token)
    report = _fetch(f"{base}/profiling", token, timeout)
    if "summary" not in report:
        raise click.ClickException(
            "The instance answered without details: pass --token, or set PERFKIT_ADMIN_TOKEN."
        )
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
    default=None,
    help="Ask a running instance (its /ready endpoint) instead of checking from here.",
)
@_token_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds to wait with --url.")
def check_command(url: str | None, token: str | None, as_json: bool, timeout: float) -> None:
    """Run the readiness checks and exit 1 if they fail, 0 for pass or warn.

    Without --url the checks run in this process, against the app's own database and cache,
    which suits a container HEALTHCHECK.
    """
    if url is None:
        from .health import checks_body
        from .health import run_checks

        state = get_state()
        checks = state.readiness_checks()
        status, results = run_checks(state, checks)
        body = checks_body(state, checks, status, results)
    else:
        base, token = _remote(url, token)
        body = _fetch(f"{base}/ready", token, timeout, accept_status={503})
    click.echo(json.dumps(body, indent=2) if as_json else format_checks(body))
    if body.get("status") == "fail":
        raise SystemExit(1)


@cli.command("reset")
@click.option(
    "--url",
    default=None,
    help="Reset a running instance (the process that answers) instead of this one.",
)
@_token_option
@click.option("--timeout", default=5.0, show_default=True, help="Seconds to wait with --url.")
def reset_command(url: str | None, token: str | None, timeout: float) -> None:
    """Forget query statistics and cache counts, and drop PerfKit's cache entries.

    Statistics live in each process. Without --url this resets this process and clears
    PerfKit's entries in the configured cache backend, which for Redis is the cache every
    worker shares. With --url, the instance that answers resets its own statistics.
    """
    state = get_state()
    if url is None:
        state.profiler.reset()
        cleared = 0
        if state.cache is not None:
            state.cache.reset_stats()
            cleared = state.cache.invalidate()
        click.echo(f"Reset the statistics of this process; cleared {cleared} cache entries.")
        return
    base, token = _remote(url, token)
    for path in ("/profiling/reset", "/cache/reset-stats", "/cache/clear"):
        body = _fetch(base + path, token, timeout, method="POST")
        click.echo(f"POST {path}: pid {body.get('pid', '?')} {body.get('status', '?')}")
