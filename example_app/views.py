"""The example's JSON API."""

from __future__ import annotations

import typing as t

import sqlalchemy as sa
from flask import Blueprint
from flask import abort
from flask import current_app
from flask import url_for
from sqlalchemy.orm import joinedload

from flask_perfkit import cache_medium
from flask_perfkit import cache_short
from flask_perfkit import paginate

from .models import Client
from .models import Post
from .models import Project
from .models import db

bp = Blueprint("api", __name__)


@bp.get("/")
def index() -> dict[str, t.Any]:
    """List the endpoints."""
    endpoints = {
        "clients": url_for("api.clients"),
        "projects": url_for("api.projects"),
        "posts": url_for("api.posts"),
        "post_pages": url_for("api.post_pages"),
        "post_feed": url_for("api.post_feed"),
        "projects_with_clients_lazy": url_for("api.projects_with_clients_lazy"),
        "projects_with_clients": url_for("api.projects_with_clients"),
    }
    # PERFKIT_HEALTH_URL_PREFIX = None leaves the health blueprint unmounted.
    if "perfkit" in current_app.blueprints:
        endpoints.update(
            health=url_for("perfkit.live"),
            profiling=url_for("perfkit.profiling"),
            cache=url_for("perfkit.cache"),
            ready=url_for("perfkit.ready"),
            database=url_for("perfkit.database"),
            database_events=url_for("perfkit.database_events"),
        )
    return {"endpoints": endpoints}


@bp.get("/clients")
@cache_medium(invalidate_on=[Client], shared=True)
def clients() -> dict[str, t.Any]:
    """Cached for the medium tier, and dropped when a commit changes clients.

    The list is the same for every caller, so it is declared shared: requests that carry
    ``Authorization`` (the admin token, say) are answered from the cache too.
    """
    rows = db.session.scalars(sa.select(Client).order_by(Client.id)).all()
    return {"items": [c.to_dict() for c in rows]}


@bp.get("/clients/<int:client_id>")
@cache_medium(invalidate_on=[Client, Project], shared=True)
def client(client_id: int) -> dict[str, t.Any]:
    """A client with its projects; cached per URL, for every caller alike."""
    found = db.session.get(Client, client_id)
    if found is None:
        abort(404)
    return {**found.to_dict(), "projects": [p.to_dict() for p in found.projects]}


@bp.get("/projects")
@cache_short(invalidate_on=[Project])
def projects() -> dict[str, t.Any]:
    rows = db.session.scalars(sa.select(Project).order_by(Project.id)).all()
    return {"items": [p.to_dict() for p in rows]}


@bp.get("/projects/with-clients-lazy")
def projects_with_clients_lazy() -> dict[str, t.Any]:
    """Each project's client loaded lazily: one query per distinct client, an N+1."""
    rows = db.session.scalars(sa.select(Project).order_by(Project.id)).all()
    return {"items": [{**p.to_dict(), "client": p.client.name} for p in rows]}


@bp.get("/projects/with-clients")
def projects_with_clients() -> dict[str, t.Any]:
    """The same data with the clients joined in: one query."""
    query = sa.select(Project).options(joinedload(Project.client)).order_by(Project.id)
    rows = db.session.scalars(query).all()
    return {"items": [{**p.to_dict(), "client": p.client.name} for p in rows]}


@bp.get("/projects/<int:project_id>")
def project(project_id: int) -> dict[str, t.Any]:
    found = db.session.get(Project, project_id)
    if found is None:
        abort(404)
    return found.to_dict()


def _newest_posts() -> sa.Select[tuple[Post]]:
    return sa.select(Post).order_by(Post.created_at.desc())


@bp.get("/posts")
@cache_short(invalidate_on=[Post])
def posts() -> dict[str, t.Any]:
    """Newest posts first: numbered pages (``?page=``) until a ``cursor`` is given.

    Cached per query string, and dropped when a commit changes posts.
    """
    return paginate(_newest_posts()).to_dict()


@bp.get("/posts/pages")
def post_pages() -> dict[str, t.Any]:
    """Numbered pages with a total, for a pager: ``?page=3&page_size=50``."""
    return paginate(_newest_posts(), strategy="offset").to_dict()


@bp.get("/posts/feed")
def post_feed() -> dict[str, t.Any]:
    """An endless feed: follow ``next_cursor``; a deep page costs what the first one does."""
    return paginate(_newest_posts(), strategy="cursor").to_dict()
