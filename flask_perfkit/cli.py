"""The ``flask perfkit`` commands.

Statistics live in each server process, so ``flask perfkit report`` asks a running instance
for them over HTTP, with the admin token from ``PERFKIT_ADMIN_TOKEN``.
"""

from __future__ import annotations

import json
import typing as t
import urllib.error
import urllib.request

import click
from flask import current_app
from flask.cli import AppGroup

from ._state import get_state

cli = AppGroup("perfkit", help="Query statistics and health of flask-perfkit.")


def _fetch(url: str, token: str | None, timeout: float) -> dict[str, t.Any]:
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return t.cast(dict[str, t.Any], json.load(response))
    except urllib.error.HTTPError as error:
        raise click.ClickException(f"{url} answered HTTP {error.code}.") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise click.ClickException(f"Could not reach {url}: {reason}.") from None
    except ValueError:
        raise click.ClickException(f"{url} did not answer with JSON.") from None


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
@click.option("--token", envvar="PERFKIT_ADMIN_TOKEN", help="Defaults to PERFKIT_ADMIN_TOKEN.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--timeout", default=5.0, show_default=True, help="Seconds to wait.")
def report_command(url: str, token: str | None, as_json: bool, timeout: float) -> None:
    """Print the query profiling report of a running instance."""
    config = get_state().config
    prefix = config.health_url_prefix
    if prefix is None:
        raise click.ClickException(
            "The health blueprint is not mounted (PERFKIT_HEALTH_URL_PREFIX is None)."
        )
    token = token or config.admin_token or current_app.config.get("PERFKIT_ADMIN_TOKEN")
    report = _fetch(f"{url.rstrip('/')}{prefix.rstrip('/')}/profiling", token, timeout)
    if "summary" not in report:
        raise click.ClickException(
            "The instance answered without details: pass --token, or set PERFKIT_ADMIN_TOKEN."
        )
    click.echo(json.dumps(report, indent=2) if as_json else format_report(report))
