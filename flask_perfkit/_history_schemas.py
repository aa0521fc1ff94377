"""The marshmallow schemas of ``GET /health/history``.

Re-exported by :mod:`flask_perfkit.schemas`, where they are documented.
"""

from __future__ import annotations

from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

_STATUS = validate.OneOf(["pass", "warn", "fail"])
_BREAKER = validate.OneOf(["closed", "half_open", "open"])


def _statuses() -> fields.Dict:
    return fields.Dict(keys=fields.String(), values=fields.String(validate=_STATUS), required=True)


class PointPoolSchema(Schema):
    """One bind's pool at the end of a point (its peak, in a coarse point)."""

    checked_out = fields.Integer(required=True)
    size = fields.Integer(required=True, allow_none=True)
    overflow = fields.Integer(required=True, allow_none=True)
    waiters = fields.Integer(required=True)


class PointCacheSchema(Schema):
    """One cache tier's calls in a point."""

    hits = fields.Integer(required=True)
    misses = fields.Integer(required=True)
    errors = fields.Integer(required=True)


class PointSchema(Schema):
    """One point of history: what happened in one interval."""

    time = fields.String(required=True)
    seconds = fields.Float(required=True)
    queries = fields.Integer(required=True)
    qps = fields.Float(required=True)
    #: The statements of each operation that ran in the interval, as ``[count, p50, p95,
    #: p99]``, the percentiles in milliseconds. They are read from the duration histogram
    #: between its power-of-two bounds on a log scale, so within a factor of 1.42 of the
    #: exact value.
    latency_ms = fields.Dict(
        keys=fields.String(),
        values=fields.Tuple((fields.Integer(), fields.Float(), fields.Float(), fields.Float())),
        required=True,
    )
    slow = fields.Integer(required=True)
    very_slow = fields.Integer(required=True)
    errors = fields.Integer(required=True)
    checkout_timeouts = fields.Integer(required=True)
    pools = fields.Dict(keys=fields.String(), values=fields.Nested(PointPoolSchema), required=True)
    cache = fields.Dict(keys=fields.String(), values=fields.Nested(PointCacheSchema), required=True)
    breakers = fields.Dict(
        keys=fields.String(), values=fields.String(validate=_BREAKER), required=True
    )
    checks = fields.Dict(
        keys=fields.String(), values=fields.String(validate=_STATUS), required=True
    )
    #: The patterns that took the most time in the interval, by query id, each as
    #: ``[calls, total milliseconds]``; compact, as a day of points is kept in memory.
    patterns = fields.Dict(
        keys=fields.String(),
        values=fields.Tuple((fields.Integer(), fields.Float())),
        required=True,
    )


class HistorySchema(Schema):
    """``GET /health/history``."""

    status = fields.String(required=True, validate=_STATUS)
    range = fields.String(required=True, validate=validate.OneOf(["15m", "1h", "24h"]))
    resolution = fields.Integer(required=True)
    workers = fields.Integer(required=True)
    multiprocess = fields.Boolean(required=True)
    checks = fields.Dict(
        keys=fields.String(), values=fields.String(validate=_STATUS), required=True
    )
    points = fields.List(fields.Nested(PointSchema), required=True)
    pid = fields.Integer(required=True)
    since = fields.String(required=True)
