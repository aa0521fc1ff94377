"""Run the benchmarks: ``python -m benchmarks [name ...]``.

Each benchmark prints a table of cases with their time per operation and their ratio to the
peer or baseline they are compared with, in one run. Each runs in a process of its own, so
what one leaves behind (apps, engines, listeners, caches) weighs on no other. Targets missed
are listed at the end; the exit status is 0 either way, as timings are reports, not gates.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

BENCHMARKS = [
    "health",
    "profiler",
    "cache",
    "pagination",
    "normalize",
    "breaker",
    "memory",
    "init",
    "history",
    "dashboard",
    "plugin",
]

#: Given as the first argument, runs the one benchmark named next in this process and prints
#: its missed targets as a JSON list on the last line.
_CHILD = "--in-process"


def _run_here(name: str) -> list[str]:
    module = importlib.import_module(f"benchmarks.{name}")
    return [f"{name}: {case}" for case in module.run()]


def _run_apart(name: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", _CHILD, name],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    )
    *lines, last = done.stdout.rstrip("\n").split("\n")
    print("\n".join(lines), flush=True)
    return list(json.loads(last))


def main(argv: list[str]) -> int:
    if argv[:1] == [_CHILD]:
        print(json.dumps(_run_here(argv[1])))
        return 0
    missed: list[str] = []
    for name in argv or BENCHMARKS:
        missed += _run_apart(name)
    print()
    if missed:
        print("Targets missed: " + "; ".join(missed))
    else:
        print("Every target met.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
