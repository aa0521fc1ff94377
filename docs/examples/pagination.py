from __future__ import annotations

import datetime

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from flask_perfkit import PerfKit
from flask_perfkit import paginate


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
perfkit = PerfKit()


class Post(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    created_at: Mapped[datetime.datetime]

    # The ordering columns, then the primary key: one index serves every page.
    __table_args__ = (sa.Index("ix_post_created_at_id", "created_at", "id"),)

    def to_dict(self):
        return {"id": self.id, "title": self.title}


def create_app():
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite://"
    app.config["SECRET_KEY"] = "change me"  # signs the cursors
    perfkit.init_app(app, db=db)
    db.init_app(app)

    @app.get("/posts")
    def posts():
        # ?page=2&page_size=50, or ?cursor=<next_cursor of the page before>
        return paginate(db.select(Post).order_by(Post.created_at.desc())).to_dict()

    return app
