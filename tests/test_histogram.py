"""The log-bucket histogram: one layout for the profiler's percentiles and the exposition."""

from __future__ import annotations

from collections import Counter

import pytest
from prometheus_client.parser import text_string_to_metric_families

from flask_perfkit._histogram import LogHistogram
from flask_perfkit.metrics import BOUND_EXPONENTS
from flask_perfkit.metrics import BOUNDS
from flask_perfkit.normalize import dialect_of
from tests.conftest import AppFactory

TOKEN = "metrics-token"

#: Durations in seconds on both sides of the exposition's bounds, none exactly on one.
DURATIONS = [
    0.4e-6,
    3e-6,
    100e-6,
    127.9e-6,
    128.1e-6,
    255e-6,
    257e-6,
    0.001,
    0.0333,
    0.5,
    2.0,
    8.3,
    8.5,
    20.0,
]


def test_every_exposition_bound_ends_a_profiler_bucket() -> None:
    for exponent, bound in zip(BOUND_EXPONENTS, BOUNDS, strict=True):
        edge = LogHistogram.power_of_two_edge(exponent)
        assert LogHistogram.upper_edge(edge) == bound
        assert LogHistogram.bucket(bound * (1 - 1e-9)) == edge
        assert LogHistogram.bucket(bound * (1 + 1e-9)) == edge + 1


@pytest.mark.parametrize("bucket", range(1, 4 * 24))
def test_a_bucket_holds_the_durations_up_to_its_edge(bucket: int) -> None:
    low = LogHistogram.upper_edge(bucket - 1)
    high = LogHistogram.upper_edge(bucket)
    assert LogHistogram.bucket(low * (1 + 1e-9)) == bucket
    assert LogHistogram.bucket(high * (1 - 1e-9)) == bucket
    assert low < LogHistogram.middle(bucket) < high


def test_percentiles_are_within_nine_percent() -> None:
    histogram = LogHistogram()
    durations = [i * 1e-5 for i in range(1, 1001)]
    for seconds in durations:
        histogram.add(seconds)
    for fraction in (0.5, 0.95, 0.99):
        exact = durations[int(fraction * len(durations)) - 1]
        found = histogram.percentile(fraction, durations[0], durations[-1])
        assert abs(found - exact) / exact < 0.09


def test_the_profiler_buckets_as_the_histogram_does(make_app: AppFactory) -> None:
    durations = [10 ** (tenth / 10) * 1e-7 for tenth in range(90)]
    durations += [LogHistogram.upper_edge(bucket) for bucket in range(0, 96, 5)]
    app, _, perfkit = make_app()
    with app.app_context():
        for seconds in durations:
            perfkit.profiler.add(("SELECT 1", seconds, 1, False, dialect_of("sqlite")), None)
        totals = perfkit.profiler.operation_totals()["select"]
    assert totals.buckets == Counter(LogHistogram.bucket(seconds) for seconds in durations)


def test_the_exposition_counts_what_the_profiler_bucketed(make_app: AppFactory) -> None:
    app, _, perfkit = make_app(PERFKIT_ADMIN_TOKEN=TOKEN)
    with app.app_context():
        profiler = perfkit.profiler
        for seconds in DURATIONS:
            profiler.add(("SELECT 1", seconds, 1, False, dialect_of("sqlite")), None)
        totals = profiler.operation_totals()["select"]
    assert sum(totals.buckets.values()) == len(DURATIONS)
    response = app.test_client().get(
        "/health/metrics", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    exposed: dict[float, float] = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            name, labels = sample.name, sample.labels
            if name == "perfkit_query_duration_seconds_bucket" and labels["operation"] == "select":
                exposed[float(labels["le"])] = sample.value
    for bound in BOUNDS:
        below = sum(1 for seconds in DURATIONS if seconds < bound)
        bucketed = sum(
            count
            for bucket, count in totals.buckets.items()
            if LogHistogram.upper_edge(bucket) <= bound
        )
        assert exposed[bound] == below == bucketed, bound
    assert exposed[float("inf")] == len(DURATIONS)
