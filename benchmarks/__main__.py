"""Run the benchmarks: ``python -m benchmarks [name ...]``.

Each benchmark prints a table of cases with their time per operation and their ratio to the
peer or baseline they are compared with, in one run. Targets missed are listed at the end;
the exit status is 0 either way, as timings are reports, not gates.
"""

from __future__ import annotations

import importlib
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
]


def main(argv: list[str]) -> int:
    names = argv or BENCHMARKS
    missed: list[str] = []
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        missed += [f"{name}: {case}" for case in module.run()]
    print()
    if missed:
        print("Targets missed: " + "; ".join(missed))
    else:
        print("Every target met.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
