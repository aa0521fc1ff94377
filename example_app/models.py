"""The example's content model: clients own projects, projects hold posts."""

from __future__ import annotations

import datetime

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Client(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(200))
    projects: Mapped[list[Project]] = relationship(back_populates="client")

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "name": self.name}


class Project(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    client_id: Mapped[int] = mapped_column(ForeignKey("clients.id"), index=True)
    created_at: Mapped[datetime.datetime]
    client: Mapped[Client] = relationship(back_populates="projects")
    posts: Mapped[list[Post]] = relationship(back_populates="project")

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "name": self.name,
            "client_id": self.client_id,
            "created_at": self.created_at.isoformat(),
        }


class Post(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    #: Not unique: many posts share a timestamp, as they would in a real feed. The index on
    #: (created_at, id) serves the newest-first list at any depth.
    created_at: Mapped[datetime.datetime]
    #: ``None`` for drafts.
    published_at: Mapped[datetime.datetime | None]
    project: Mapped[Project] = relationship(back_populates="posts")

    __table_args__ = (Index("ix_posts_created_at_id", "created_at", "id"),)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "project_id": self.project_id,
            "title": self.title,
            "created_at": self.created_at.isoformat(),
            "published_at": self.published_at.isoformat() if self.published_at else None,
        }
