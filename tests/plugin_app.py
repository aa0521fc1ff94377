"""The files of a small project that the pytest plugin's tests run pytest on, with pytester.

``app.py`` is a Flask-SQLAlchemy app with a lazy relationship: ``/posts`` loads each post's
comments one post at a time (an N+1), ``/posts-eager`` loads them with ``selectinload``, and
the ``count-comments`` command does as ``/posts``. It has a second bind, ``audit`` (SQLite in
memory), read by ``/audit``. Its factory registers PerfKit only when asked (with its
settings), so the plugin is tested on apps that never
called it too. ``conftest.py`` gives pytest-flask the ``app`` fixture, on the database named
by ``PLUGIN_DATABASE_URL``.
"""

from __future__ import annotations

APP = """
import os

from flask import Flask, jsonify
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Post(db.Model):
    __tablename__ = "plugin_post"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    comments: Mapped[list["Comment"]] = relationship(back_populates="post")


class AuditEntry(db.Model):
    __tablename__ = "plugin_audit"
    __bind_key__ = "audit"
    id: Mapped[int] = mapped_column(primary_key=True)


def count_comments():
    found = db.session.scalars(select(Post).order_by(Post.id)).all()
    return [len(post.comments) for post in found]  # the N+1 line


class Comment(db.Model):
    __tablename__ = "plugin_comment"
    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("plugin_post.id"))
    body: Mapped[str]
    post: Mapped[Post] = relationship(back_populates="comments")


def create_app(perfkit=False, **settings):
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = os.environ.get("PLUGIN_DATABASE_URL", "sqlite://")
    app.config["SQLALCHEMY_BINDS"] = {"audit": "sqlite://"}
    app.config.update(settings)
    db.init_app(app)
    if perfkit:
        from flask_perfkit import PerfKit

        PerfKit(app, db=db)

    @app.cli.command("count-comments")
    def count_comments_command():
        print(count_comments())

    @app.get("/audit")
    def audit():
        db.session.scalars(select(Post)).all()
        db.session.scalars(select(AuditEntry)).all()
        db.session.scalars(select(AuditEntry).where(AuditEntry.id > 0)).all()
        return "ok"

    @app.get("/posts")
    def posts():
        found = db.session.scalars(select(Post).order_by(Post.id)).all()
        return jsonify([len(post.comments) for post in found])  # the N+1 line

    @app.get("/posts-eager")
    def posts_eager():
        query = select(Post).options(selectinload(Post.comments)).order_by(Post.id)
        found = db.session.scalars(query).all()
        return jsonify([len(post.comments) for post in found])

    return app
"""

CONFTEST = """
import pytest

from app import Comment, Post, create_app, db


def seeded(perfkit=False, **settings):
    app = create_app(perfkit, **settings)
    with app.app_context():
        db.drop_all()
        db.create_all()
        for n in range(6):
            db.session.add(Post(title=f"post {n}", comments=[Comment(body="a")]))
        db.session.commit()
    return app


@pytest.fixture
def app():
    app = seeded()
    yield app
    with app.app_context():
        db.drop_all()
        for engine in db.engines.values():
            engine.dispose()
"""
