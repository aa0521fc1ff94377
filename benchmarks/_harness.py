"""Timing helpers shared by the benchmarks.

Cases are timed round-robin (A, B, C, A, B, C, ...) so drift on a noisy machine affects them
alike; each timed batch runs with the garbage collector off; the median batch is reported.
"""

from __future__ import annotations

import dataclasses
import gc
import socket
import statistics
import time
import typing as t


def listening(port: int) -> bool:
    """Whether a local server accepts connections on ``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclasses.dataclass(frozen=True)
class Case:
    """One thing to time.

    :param name: Shown in the table.
    :param func: Does one operation.
    :param baseline: The name of the case the ratio is taken against, if any.
    :param target: The highest acceptable ratio, if there is a target.
    :param faster_than: A target that reads "at least this many times faster than the baseline".
    :param limit_us: A target in microseconds per operation, whatever the baseline.
    """

    name: str
    func: t.Callable[[], object]
    baseline: str | None = None
    target: float | None = None
    faster_than: float | None = None
    limit_us: float | None = None


@dataclasses.dataclass(frozen=True)
class Result:
    case: Case
    median_ns: float


def measure(
    cases: t.Sequence[Case], *, number: int = 2000, repeat: int = 15, warmup: int = 200
) -> list[Result]:
    """Time every case ``repeat`` times over ``number`` calls, interleaved."""
    for case in cases:
        for _ in range(warmup):
            case.func()
    samples: dict[str, list[float]] = {case.name: [] for case in cases}
    for _ in range(repeat):
        for case in cases:
            func = case.func
            gc.disable()
            try:
                start = time.perf_counter_ns()
                for _ in range(number):
                    func()
                elapsed = time.perf_counter_ns() - start
            finally:
                gc.enable()
            samples[case.name].append(elapsed / number)
    return [Result(case, statistics.median(samples[case.name])) for case in cases]


def report(title: str, results: t.Sequence[Result], note: str = "") -> list[str]:
    """Print a table of ``results`` and return the names of the targets missed."""
    by_name = {r.case.name: r for r in results}
    print(f"\n{title}")
    print(f"{'case':<44} {'per op':>12} {'ratio':>9}  target")
    missed = []
    for result in results:
        case = result.case
        ratio_text, verdict = "", ""
        if case.baseline is not None:
            ratio = result.median_ns / by_name[case.baseline].median_ns
            ratio_text = f"{ratio:.2f}x"
            if case.target is not None:
                ok = ratio <= case.target
                verdict = f"<= {case.target}x of {case.baseline}: {'PASS' if ok else 'MISS'}"
                if not ok:
                    missed.append(case.name)
            elif case.faster_than is not None:
                speedup = 1 / ratio
                ok = speedup >= case.faster_than
                ratio_text = f"{speedup:.1f}x faster"
                verdict = f">= {case.faster_than}x faster: {'PASS' if ok else 'MISS'}"
                if not ok:
                    missed.append(case.name)
        if case.limit_us is not None:
            ok = result.median_ns / 1000 <= case.limit_us
            limit = f"<= {case.limit_us:g} us: {'PASS' if ok else 'MISS'}"
            verdict = f"{verdict}; {limit}" if verdict else limit
            if not ok:
                missed.append(case.name)
        print(f"{case.name:<44} {result.median_ns / 1000:>9.1f} us {ratio_text:>9}  {verdict}")
    if note:
        print(note)
    return missed
