"""``flask --app example_app seed``: create the tables and fill them with sample data."""

from __future__ import annotations

import datetime
import random

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from .models import Client
from .models import Post
from .models import Project
from .models import db

_WORDS = [
    "fast",
    "query",
    "pool",
    "cache",
    "index",
    "page",
    "cursor",
    "health",
    "latency",
    "report",
    "metric",
    "replica",
    "shard",
    "vacuum",
    "commit",
    "rollback",
    "flask",
    "python",
    "schema",
    "column",
    "tenant",
]


def seed_database(posts: int = 5000, clients: int = 20, projects: int = 100) -> bool:
    """Create the tables and, if they are empty, insert deterministic sample rows.

    :return: Whether rows were inserted.
    """
    db.create_all()
    if db.session.scalar(sa.select(sa.func.count()).select_from(Client)):
        return False
    rng = random.Random(42)
    start = datetime.datetime(2026, 1, 1)
    db.session.execute(
        sa.insert(Client),
        [
            {"id": i, "name": f"Client {i}", "email": f"client{i}@example.com"}
            for i in range(1, clients + 1)
        ],
    )
    db.session.execute(
        sa.insert(Project),
        [
            {
                "id": i,
                "name": f"Project {i}",
                "client_id": rng.randint(1, clients),
                "created_at": start + datetime.timedelta(days=rng.randint(0, 300)),
            }
            for i in range(1, projects + 1)
        ],
    )
    rows = []
    for i in range(1, posts + 1):
        # Timestamps on the minute, so many posts share one.
        created = start + datetime.timedelta(minutes=rng.randint(0, posts // 3))
        published = None if rng.random() < 0.2 else created + datetime.timedelta(hours=1)
        rows.append(
            {
                "id": i,
                "project_id": rng.randint(1, projects),
                "title": " ".join(rng.choices(_WORDS, k=4)).capitalize(),
                "body": " ".join(rng.choices(_WORDS, k=30)),
                "created_at": created,
                "published_at": published,
            }
        )
    db.session.execute(sa.insert(Post), rows)
    db.session.commit()
    return True


@click.command("seed")
@click.option("--posts", default=5000, show_default=True, help="How many posts to create.")
@with_appcontext
def seed_command(posts: int) -> None:
    """Create the tables and fill them with sample data, if they are empty."""
    if seed_database(posts=posts):
        click.echo(f"Seeded 20 clients, 100 projects and {posts} posts.")
    else:
        click.echo("The database already has data; nothing to do.")
