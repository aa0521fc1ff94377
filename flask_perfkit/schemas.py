"""marshmallow schemas of every JSON body flask-perfkit sends.

They are the documented contract of each response, and the test suite validates every response
against them, so a field that is not declared here fails the tests before it reaches a client.
Each is a :class:`marshmallow.Schema` and takes its arguments (``only``, ``many``, ...); for
example ``FullHealthSchema().validate(response.get_json())`` lists what a body lacks.
"""

from __future__ import annotations

import typing as t

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate

from . import capabilities
from ._compat import declare_fields
from ._component_schemas import BreakerSchema
from ._component_schemas import CacheComponentSchema
from ._component_schemas import EngineComponentSchema
from ._component_schemas import NormalizationSchema
from ._component_schemas import PoolStatusSchema
from ._component_schemas import ProfilingComponentSchema
from ._component_schemas import TierStatsSchema
from ._history_schemas import HistorySchema
from ._history_schemas import PointCacheSchema
from ._history_schemas import PointPoolSchema
from ._history_schemas import PointSchema

__all__ = [
    "BreakerSchema",
    "CacheComponentSchema",
    "CheckSchema",
    "ComponentsSchema",
    "ConnectivitySchema",
    "DatabaseEventsSchema",
    "DatabaseHealthSchema",
    "EngineComponentSchema",
    "EngineEventsSchema",
    "EngineHealthSchema",
    "ErrorSchema",
    "FullHealthSchema",
    "HealthSchema",
    "HistorySchema",
    "LivenessSchema",
    "NormalizationSchema",
    "PageMetadataSchema",
    "PageSchema",
    "PointCacheSchema",
    "PointPoolSchema",
    "PointSchema",
    "PoolStatusSchema",
    "ProfilingComponentSchema",
    "PublicCheckSchema",
    "PublicHealthSchema",
    "RecommendationSchema",
    "TierStatsSchema",
]

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
    since = fields.String(required=True)


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
    breaker = fields.Nested(BreakerSchema, required=True)
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
    since = fields.String(required=True)


class ComponentsSchema(Schema):
    """``components`` in ``GET /health/full``: under each capability's name, its
    :meth:`~flask_perfkit.capability.Capability.component_field`, in the order of the
    registry ``flask_perfkit.capabilities.CAPABILITIES`` at the time the schema is made.
    """

    def __init__(self, **kwargs: t.Any) -> None:
        fields_by_name = {cls.name: cls.component_field() for cls in capabilities.CAPABILITIES}
        declared = {name: field for name, field in fields_by_name.items() if field is not None}
        declare_fields(self, declared)
        super().__init__(**kwargs)


class FullHealthSchema(HealthSchema):
    """``GET /health/full`` with details."""

    components = fields.Nested(ComponentsSchema, required=True)


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


class PageMetadataSchema(Schema):
    """The ``metadata`` of a page from :func:`~flask_perfkit.paginate`."""

    total = fields.Integer(allow_none=True)
    page = fields.Integer(allow_none=True)
    page_size = fields.Integer(required=True)
    total_pages = fields.Integer(allow_none=True)
    has_next = fields.Boolean(required=True)
    has_prev = fields.Boolean(required=True)
    next_cursor = fields.String(allow_none=True)
    prev_cursor = fields.String(allow_none=True)
    strategy = fields.String(required=True, validate=validate.OneOf(["offset", "cursor"]))


class PageSchema(Schema):
    """A :class:`~flask_perfkit.Page`: ``{"items": [...], "metadata": {...}}``.

    .. code-block:: python

        PageSchema(item_schema=PostSchema()).dump(paginate(select(Post).order_by(Post.id)))

    :param item_schema: Dumps each item; without one, an item's ``to_dict()`` is used, a row
        becomes a dict, and anything else is kept as it is.
    """

    items = fields.Method("_dump_items", deserialize="_load_items", required=True)
    metadata = fields.Nested(PageMetadataSchema, required=True)

    def __init__(self, *, item_schema: Schema | None = None, **kwargs: t.Any) -> None:
        super().__init__(**kwargs)
        self.item_schema = item_schema

    def _dump_items(self, page: t.Any) -> list[t.Any]:
        if self.item_schema is not None:
            return t.cast(list[t.Any], self.item_schema.dump(page.items, many=True))
        return t.cast(list[t.Any], page.to_dict()["items"])

    def _load_items(self, value: t.Any) -> list[t.Any]:
        if not isinstance(value, list):
            raise ValidationError("Not a list.")
        if self.item_schema is not None:
            return t.cast(list[t.Any], self.item_schema.load(value, many=True))
        return value
