"""Run Flask-Caching's and Flask-SQLAlchemy's own test suites with PerfKit on their apps.

``python -m tests.upstream`` (or ``make test-upstream``) downloads the source distribution of
each installed version (``pip download --no-binary :all: --no-deps``), runs its tests three
times: plain, with PerfKit set up before the extension on every app, and after it (see
``perfkit_upstream.py``). It fails when a test that passes plain fails with PerfKit, unless it
is listed in :data:`EXCLUDED` with the reason, and when PerfKit was set up on no app at all.
Flask-Caching's Redis tests use a ``redis-server`` of their own on 127.0.0.1:6360, which is
started here when nothing listens there, and stopped afterwards.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
WORK = Path(sys.prefix) / "upstream"
REDIS_PORT = 6360
PACKAGES = ("flask-caching", "flask-sqlalchemy")
ORDERS = ("before", "after")

_MOCKED_ENGINE = (
    "Replaces SQLAlchemy._make_engine with a Mock; PerfKit, set up after the extension,"
    " listens to the events of each engine, and a Mock has none."
)

#: Upstream tests that cannot pass with PerfKit on their app, by design, and why; by
#: ``module::function``, every parameter of it.
EXCLUDED: dict[str, dict[str, str]] = {
    "flask-caching": {},
    "flask-sqlalchemy": {
        "tests.test_engine::test_sqlite_memory_defaults": _MOCKED_ENGINE,
        "tests.test_engine::test_mysql_defaults": _MOCKED_ENGINE,
    },
}


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _sources(package: str) -> Path:
    """The unpacked sdist of the installed version of ``package``."""
    version = importlib.metadata.version(package)
    name = package.replace("-", "_")
    target = WORK / f"{name}-{version}"
    if (target / "tests").is_dir():
        return target
    WORK.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:"),
            *("--no-deps", f"{package}=={version}", "-d", str(WORK)),
        ],
        check=True,
    )
    archive = next(WORK.glob(f"{name}-{version}.tar.gz"))
    with tarfile.open(archive) as tar:
        tar.extractall(WORK, filter="data")
    return target


def _outcomes(junit: Path) -> dict[str, str]:
    outcomes = {}
    for case in ET.parse(junit).iter("testcase"):
        test = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            outcomes[test] = "failed"
        elif case.find("skipped") is not None:
            outcomes[test] = "skipped"
        else:
            outcomes[test] = "passed"
    return outcomes


def _run(source: Path, order: str) -> tuple[dict[str, str], int]:
    junit = WORK / f"{source.name}-{order}.xml"
    report = WORK / f"{source.name}-{order}.apps"
    report.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PERFKIT_UPSTREAM_ORDER": order,
        "PERFKIT_UPSTREAM_REPORT": str(report),
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    # The upstream conftest fails Redis tests under CI=true only when no server answers.
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "perfkit_upstream",
        # pytest-flask (PerfKit's own test dependency) pushes a request context around
        # every test that uses an ``app`` fixture; the upstream suites expect none.
        "-p",
        "no:flask",
        "-o",
        "asyncio_default_fixture_loop_scope=function",
        "-o",
        f"cache_dir={WORK / '.pytest_cache'}",
        f"--junitxml={junit}",
        "tests",
    ]
    start = time.monotonic()
    done = subprocess.run(command, cwd=source, env=env, capture_output=True, text=True)
    if not junit.exists():
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
        raise SystemExit(f"{source.name} ({order}): pytest did not run (exit {done.returncode})")
    outcomes = _outcomes(junit)
    apps = int(report.read_text()) if report.exists() else 0
    counts = {k: sum(v == k for v in outcomes.values()) for k in ("passed", "failed", "skipped")}
    print(
        f"{source.name:<26} {order:<7} {counts['passed']:>4} passed {counts['failed']:>4} failed"
        f" {counts['skipped']:>3} skipped; PerfKit on {apps} apps"
        f" ({time.monotonic() - start:.0f} s)",
        flush=True,
    )
    return outcomes, apps


def main() -> int:
    redis = None
    if not _listening(REDIS_PORT) and shutil.which("redis-server"):
        redis = subprocess.Popen(
            [
                *("redis-server", "--port", str(REDIS_PORT), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
        )
        for _ in range(50):
            if _listening(REDIS_PORT):
                break
            time.sleep(0.1)
    problems: list[str] = []
    try:
        for package in PACKAGES:
            source = _sources(package)
            plain, _ = _run(source, "none")
            excluded = EXCLUDED[package]
            for order in ORDERS:
                outcomes, apps = _run(source, order)
                if apps == 0:
                    problems.append(f"{package} ({order}): PerfKit was set up on no app")
                for test, outcome in sorted(plain.items()):
                    if outcome != "passed" or test.partition("[")[0] in excluded:
                        continue
                    if outcomes.get(test, "missing") != "passed":
                        problems.append(f"{package} ({order}): {test}")
    finally:
        if redis is not None:
            redis.terminate()
            redis.wait(10)
    if problems:
        print("\nPass without PerfKit, fail with it:\n  " + "\n  ".join(problems))
        return 1
    print("\nEvery upstream test that passes without PerfKit passes with it, in both orders.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
