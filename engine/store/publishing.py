"""What the center sends out or publishes: the mail outbox, the citizens'
one-time tracking links and sign-in links, the daily open-data files and
the knowledge-base articles staff answer from."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.models import Base


class Outbox(Base):
    """Mail waiting to be sent by the worker (written in the same transaction)."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sent_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Retries back off: a failed message waits until then before the next try.
    next_attempt_at: Mapped[datetime | None]
    # Set when the last attempt failed (or the message can never be sent):
    # the message leaves the queue and is shown to supervisors.
    failed_at: Mapped[datetime | None]
    #: The HTML alternative of ``body`` (None: a plain-text message).
    body_html: Mapped[str | None] = mapped_column(Text)


class TrackingLink(Base):
    """A one-time link that opens a case's tracking page without its code.

    Mailed to the citizen (each mail a fresh one); only the SHA-256 of the
    random token is stored. Opening it once marks it used.
    """

    __tablename__ = "tracking_link"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(
        ForeignKey("case.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class CitizenSignIn(Base):
    """A one-time link that signs a citizen in to "Mis casos" by their email.

    Not a case link: it proves the address, and the cases filed with it are
    found from there (:mod:`engine.services.citizen_accounts`). Only the
    SHA-256 of the random token is stored, with the address (lower-cased),
    when it expires and when it was used.
    """

    __tablename__ = "citizen_sign_in"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class OpenDataFile(Base):
    """One day's open-data file of cases (gzip), built by the worker.

    A row without ``content`` is a build under way (its ``started_at`` says
    since when): the unique key lets one worker claim a day's build.
    """

    __tablename__ = "open_data_file"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    format: Mapped[str] = mapped_column(String(8), primary_key=True)
    started_at: Mapped[datetime]
    built_at: Mapped[datetime | None]
    rows: Mapped[int] = mapped_column(Integer, default=0)
    content: Mapped[bytes | None] = mapped_column(LargeBinary)


class KbArticle(Base):
    """A knowledge-base article: how 311 staff answer a common question.

    ``entity_code`` None is a general 311 article; otherwise the article is
    the entity's own (its enlaces write it). Agents see only published
    articles. The full-text index is per dialect and created by the
    migration (see :mod:`engine.store.search_index`): a generated
    ``tsvector`` column on PostgreSQL, an FTS5 table kept by triggers on
    SQLite.
    """

    __tablename__ = "kb_article"
    __table_args__ = (
        Index("ix_kb_article_published_updated", "published", "updated_at"),
        Index("ix_kb_article_entity_topic", "entity_code", "topic"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity_code: Mapped[str | None] = mapped_column(ForeignKey("entity.code"))
    topic: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    published: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(80))
    updated_at: Mapped[datetime]
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}
