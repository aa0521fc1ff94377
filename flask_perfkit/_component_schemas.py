"""The marshmallow schemas of the capabilities' blocks of ``GET /health/full``.

Re-exported by :mod:`flask_perfkit.schemas`, where they are documented; each capability's
:meth:`~flask_perfkit.capability.Capability.component_field` names its own.
"""

from __future__ import annotations

from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate


class PoolStatusSchema(Schema):
    """:class:`flask_perfkit.pool.PoolStatus`."""

    pool_class = fields.String(required=True)
    size = fields.Integer(allow_none=True)
    checked_in = fields.Integer(allow_none=True)
    checked_out = fields.Integer(required=True)
    overflow = fields.Integer(allow_none=True)
    max_overflow = fields.Integer(allow_none=True)
    capacity = fields.Integer(allow_none=True)
    utilization = fields.Float(allow_none=True)
    timeout = fields.Float(allow_none=True)
    recycle = fields.Integer(allow_none=True)
    pre_ping = fields.Boolean(required=True)


class BreakerSchema(Schema):
    """The circuit breaker of one engine: ``CircuitBreaker.status()``."""

    state = fields.String(required=True, validate=validate.OneOf(["closed", "open", "half_open"]))
    consecutive_failures = fields.Integer(required=True)
    opens = fields.Integer(required=True)
    rejected = fields.Integer(required=True)
    retry_in = fields.Float(required=True)
    failures_to_open = fields.Integer(required=True)
    open_seconds = fields.Float(required=True)


class EngineComponentSchema(Schema):
    """One engine under ``components.database`` in ``GET /health/full``."""

    dialect = fields.String(required=True)
    pool = fields.Nested(PoolStatusSchema, required=True)
    checkout_timeouts = fields.Integer(required=True)
    breaker = fields.Nested(BreakerSchema, required=True)


class TierStatsSchema(Schema):
    """One tier's counts."""

    hits = fields.Integer(required=True)
    misses = fields.Integer(required=True)
    sets = fields.Integer(required=True)
    errors = fields.Integer(required=True)
    bypass = fields.Integer(required=True)
    unserializable = fields.Integer(required=True)
    hit_rate = fields.Float(allow_none=True)
    backend_ms = fields.Float(required=True)


class CacheComponentSchema(Schema):
    """``components.cache`` in ``GET /health/full``."""

    backend = fields.String(required=True)
    circuit_open = fields.Boolean(required=True)
    last_error = fields.String(allow_none=True)
    tiers = fields.Dict(keys=fields.String(), values=fields.Nested(TierStatsSchema), required=True)
    since = fields.String(required=True)


class NormalizationSchema(Schema):
    """``normalization`` in the profiling summary: the cache of normalized statements."""

    size = fields.Integer(required=True)
    limit = fields.Integer(required=True)
    hits = fields.Integer(required=True)
    misses = fields.Integer(required=True)
    evictions = fields.Integer(required=True)
    withheld = fields.Integer(required=True)


class ProfilingComponentSchema(Schema):
    """``components.profiling`` in ``GET /health/full``: the profiling summary."""

    total_queries = fields.Integer(required=True)
    total_ms = fields.Float(required=True)
    avg_ms = fields.Float(required=True)
    slow_queries = fields.Integer(required=True)
    very_slow_queries = fields.Integer(required=True)
    slow_percentage = fields.Float(required=True)
    very_slow_percentage = fields.Float(required=True)
    errors = fields.Integer(required=True)
    patterns = fields.Integer(required=True)
    evictions = fields.Integer(required=True)
    normalization = fields.Nested(NormalizationSchema, required=True)
    since = fields.String(required=True)
    n_plus_one_suspects = fields.Integer(required=True)
