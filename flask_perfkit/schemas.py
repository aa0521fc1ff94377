"""marshmallow schemas of every JSON body flask-perfkit sends.

They are the documented contract of each response, and the test suite validates every response
against them, so a field that is not declared here fails the tests before it reaches a client.
"""

from __future__ import annotations

from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

_STATUS = validate.OneOf(["pass", "warn", "fail"])


class ErrorSchema(Schema):
    """The body of every 4xx and 5xx response flask-perfkit makes."""

    error = fields.String(required=True)
    message = fields.String(required=True)
    param = fields.String()


class CheckSchema(Schema):
    """One check's result, keyed by its name under ``checks``.

    Field names follow the IETF health check response draft.
    """

    status = fields.String(required=True, validate=_STATUS)
    output = fields.String(allow_none=True)
    observed_value = fields.Raw(data_key="observedValue", allow_none=True)
    observed_unit = fields.String(data_key="observedUnit", allow_none=True)
    component_type = fields.String(data_key="componentType")
    critical = fields.Boolean()
    duration_ms = fields.Float(allow_none=True)
    time = fields.String(allow_none=True)


class PublicCheckSchema(Schema):
    """A check as anonymous callers see it: its status only."""

    status = fields.String(required=True, validate=_STATUS)


class LivenessSchema(Schema):
    """``GET /health``."""

    status = fields.String(required=True, validate=_STATUS)


class PublicHealthSchema(Schema):
    """A health response without details."""

    status = fields.String(required=True, validate=_STATUS)
    checks = fields.Dict(keys=fields.String(), values=fields.Nested(PublicCheckSchema))


class HealthSchema(Schema):
    """``GET /health/ready`` with details."""

    status = fields.String(required=True, validate=_STATUS)
    checks = fields.Dict(keys=fields.String(), values=fields.Nested(CheckSchema), required=True)
    pid = fields.Integer(required=True)


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


class RecommendationSchema(Schema):
    """A piece of advice."""

    severity = fields.String(
        required=True, validate=validate.OneOf(["info", "warning", "critical"])
    )
    message = fields.String(required=True)


class ConnectivitySchema(Schema):
    """Whether the database answered the probe."""

    status = fields.String(required=True, validate=_STATUS)
    output = fields.String(allow_none=True)
    latency_ms = fields.Float(allow_none=True)


class EngineHealthSchema(Schema):
    """One engine under ``engines`` in ``GET /health/database``."""

    status = fields.String(required=True, validate=_STATUS)
    dialect = fields.String(required=True)
    driver = fields.String(required=True)
    pool = fields.Nested(PoolStatusSchema, required=True)
    connectivity = fields.Nested(ConnectivitySchema, required=True)
    server_max_connections = fields.Integer(allow_none=True)
    checkout_timeouts = fields.Integer(required=True)
    recommendations = fields.List(fields.Nested(RecommendationSchema), required=True)


class DatabaseHealthSchema(Schema):
    """``GET /health/database`` with details."""

    status = fields.String(required=True, validate=_STATUS)
    checks = fields.Dict(keys=fields.String(), values=fields.Nested(CheckSchema), required=True)
    engines = fields.Dict(
        keys=fields.String(), values=fields.Nested(EngineHealthSchema), required=True
    )
    recommendations = fields.List(fields.Nested(RecommendationSchema), required=True)
    pid = fields.Integer(required=True)


class EngineEventsSchema(Schema):
    """One engine's pool event counts under ``engines`` in ``GET /health/database/events``."""

    connect = fields.Integer(required=True)
    first_connect = fields.Integer(required=True)
    checkout = fields.Integer(required=True)
    checkin = fields.Integer(required=True)
    invalidate = fields.Integer(required=True)
    soft_invalidate = fields.Integer(required=True)
    reset = fields.Integer(required=True)
    close = fields.Integer(required=True)
    detach = fields.Integer(required=True)
    checked_out = fields.Integer(required=True)


class DatabaseEventsSchema(Schema):
    """``GET /health/database/events`` with details."""

    status = fields.String(required=True, validate=_STATUS)
    engines = fields.Dict(
        keys=fields.String(), values=fields.Nested(EngineEventsSchema), required=True
    )
    checkout_timeouts = fields.Integer(required=True)
    pid = fields.Integer(required=True)
    since = fields.String(required=True)
