"""SQLAlchemy 2.0 models: the case store.

Inboxes, tracking and reports read these tables with plain SQL; nothing here
needs a workflow to be deserialized to answer a listing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite drops the offset; we store naive UTC there and hand back aware
    values so comparisons never mix naive and aware datetimes.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> Any:
        """Normalise to UTC before storing."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use UTC-aware values")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Any) -> datetime | None:
        """Return an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


def _where(condition: str) -> dict[str, Any]:
    """The ``WHERE`` of a partial index, on PostgreSQL and SQLite alike."""
    return {"postgresql_where": text(condition), "sqlite_where": text(condition)}


class Base(DeclarativeBase):
    """Declarative base with a naming convention so migrations are stable."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class Entity(Base):
    """A government entity (institución) that receives cases, by acronym.

    ``name`` is the full name; ``email`` the entity's inbox for mail about
    its cases. An entity is deactivated, never deleted: its cases keep it.
    """

    __tablename__ = "entity"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sector: Mapped[str] = mapped_column(String(80), default="", server_default="")
    email: Mapped[str | None] = mapped_column(String(254))

    categories: Mapped[list[EntityCategory]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )


class EntityCategory(Base):
    """A case category an entity answers (the routing table's choices).

    Stored for the designer's routing table and intake to offer; the DMN
    itself stays the designers' and decides the routing.
    """

    __tablename__ = "entity_category"
    __table_args__ = (Index("ix_entity_category_category", "category"),)

    entity_code: Mapped[str] = mapped_column(
        ForeignKey("entity.code", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(30), primary_key=True)


class ProcessVersion(Base):
    """One deployed bundle of a case type: immutable once written."""

    __tablename__ = "process_version"
    __table_args__ = (UniqueConstraint("case_type", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_type: Mapped[str] = mapped_column(String(60))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64), index=True)
    # Deferred: parsed specs are cached by content hash, so the files are
    # read only when a process parses this version for the first time.
    files: Mapped[dict[str, Any]] = mapped_column(JSON, deferred=True)
    deployed_by: Mapped[str] = mapped_column(String(80))
    deployed_at: Mapped[datetime]
    note: Mapped[str] = mapped_column(Text, default="")
    # ``draft`` (designers only) or ``published`` (the newest serves new
    # cases), published once with who, when and a note: its only change.
    status: Mapped[str] = mapped_column(
        String(10), default="published", server_default="published"
    )
    published_at: Mapped[datetime | None]
    published_by: Mapped[str | None] = mapped_column(String(80))
    published_note: Mapped[str] = mapped_column(Text, default="", server_default="")


class TrackingSequence(Base):
    """The last tracking number handed out in a year."""

    __tablename__ = "tracking_sequence"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Case(Base):
    """A citizen's case: the aggregate every service locks before changing."""

    __tablename__ = "case"
    __table_args__ = (
        Index("ix_case_status_created", "status", "created_at"),
        Index("ix_case_entity_status", "entity_code", "status"),
        Index("ix_case_next_timer", "next_timer_at"),
        Index("ix_case_type_created", "case_type", "created_at"),
        Index("ix_case_overdue", "overdue_at"),
        # Search (/buscar) filters on these and sorts by creation or due
        # date; at a million cases each filter needs its own ordered path.
        Index("ix_case_created", "created_at"),
        Index("ix_case_due", "due_at"),
        Index("ix_case_entity_created", "entity_code", "created_at"),
        Index("ix_case_channel_created", "channel", "created_at"),
        # The dashboard's figures: open cases by deadline, cases closed
        # lately, cases in error; partial, so each stays small at a million.
        Index("ix_case_open_due", "due_at", **_where("status = 'open'")),
        Index(
            "ix_case_open_overdue",
            "overdue_at",
            **_where("status = 'open' AND overdue_at IS NOT NULL"),
        ),
        # Open cases on time (overdue = open minus these), per entity.
        Index(
            "ix_case_open_unmarked",
            "entity_code",
            "due_at",
            **_where("status = 'open' AND overdue_at IS NULL"),
        ),
        Index("ix_case_closed_at", "closed_at", **_where("status = 'closed'")),
        Index("ix_case_errored", "id", **_where("error IS NOT NULL")),
        # Likely duplicates: open cases of one category, newest first; and
        # the duplicates merged under a parent.
        # (with the id and entity in the index, PostgreSQL answers from the
        # index alone, without reading cases scattered over the table).
        Index(
            "ix_case_open_category",
            "category",
            "created_at",
            postgresql_include=["id", "entity_code"],
            **_where("status = 'open'"),
        ),
        # ... and, for a case type whose intake has no category, of one type.
        Index(
            "ix_case_open_type",
            "case_type",
            "created_at",
            postgresql_include=["id", "entity_code"],
            **_where("status = 'open' AND category IS NULL"),
        ),
        Index("ix_case_parent", "parent_id", **_where("parent_id IS NOT NULL")),
        # The few practice cases: what real lists leave out (NOT IN this).
        Index(
            "ix_case_practice",
            "id",
            postgresql_where=text("practice"),
            sqlite_where=text("practice = 1"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    case_type: Mapped[str] = mapped_column(String(60))
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_version.id"))
    entity_code: Mapped[str | None] = mapped_column(ForeignKey("entity.code"))
    channel: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(200), default="")
    contact: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    access_code_hash: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(10), default="open")
    public_status: Mapped[str] = mapped_column(String(120), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    due_at: Mapped[datetime | None]
    next_timer_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    overdue_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    identity_reserved: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="0"
    )
    # Reserved identities are stored encrypted (Fernet) and never decrypted
    # except by a supervisor's audited unsealing.
    sealed_contact: Mapped[str | None] = mapped_column(Text)
    # The idempotency key of the rendered intake form that filed the case: a
    # second submit of the same form returns this case instead of a new one.
    intake_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The language the citizen filed in on the web (``es``, ``en``): mail to
    # them is written in it. None: the platform's default language.
    language: Mapped[str | None] = mapped_column(String(8))
    # The key of the citizen's milestone the case stands at (the diagram's
    # ``hito``; None on case types that declare none).
    milestone: Mapped[str | None] = mapped_column(String(40))
    # The intake form's ``categoria`` (the routing table's input): duplicates
    # are looked for among the open cases of the same category.
    category: Mapped[str | None] = mapped_column(String(60))
    # A duplicate merged under another case points at it (closed meanwhile);
    # a parent counts its merged duplicates, whose reporters it informs.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"))
    merged_children: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The map pin set at intake (WGS 84 degrees, both or neither, inside
    # Panama: engine.domain.geo): case data for Open311 and dashboards, not
    # the citizen's personal data. The address is the intake form's text.
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    # A designer's practice case: out of every real list, and deletable.
    practice: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    lock_version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": lock_version}


class CaseSearch(Base):
    """What case search reads besides the case row: text and citizen contact.

    One row per case, kept by the engine as the case's events are recorded
    (:mod:`engine.store.search_index`). ``document`` holds the case number,
    the subject and the text typed into its forms; the contact columns hold
    the citizen's contact normalized for matching (lower-case emails, phone
    digits, folded names), empty when the identity is reserved. The full-text
    machinery is per dialect and created by the migration, not by this model:
    a generated ``tsvector`` column with a GIN index on PostgreSQL, an FTS5
    table kept in step by triggers on SQLite.
    """

    __tablename__ = "case_search"
    __table_args__ = (
        # "Mis casos": the cases filed with one address, found by equality
        # (the trigram index serves substring search, and SQLite has none).
        # A hash index on PostgreSQL: a B-tree refuses keys over ~2.7 kB,
        # and a designer's personal text field holding an "@" could make
        # one. Partial, as most cases leave no address.
        Index(
            "ix_case_search_contact_email",
            "contact_email",
            postgresql_using="hash",
            **_where("contact_email <> ''"),
        ),
    )

    case_id: Mapped[int] = mapped_column(
        ForeignKey("case.id", ondelete="CASCADE"), primary_key=True
    )
    document: Mapped[str] = mapped_column(Text, default="")
    contact_email: Mapped[str] = mapped_column(Text, default="")
    contact_digits: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str] = mapped_column(Text, default="")


class WorkflowState(Base):
    """The serialized workflow without its spec, stamped with our format."""

    __tablename__ = "workflow_state"

    case_id: Mapped[int] = mapped_column(
        ForeignKey("case.id", ondelete="CASCADE"), primary_key=True
    )
    format_version: Mapped[int] = mapped_column(Integer)
    # Text, not JSON/JSONB: SpiffWorkflow restores task data as deltas against
    # the parent task, so the order of tasks in the document matters, and
    # JSONB would reorder the keys.
    state: Mapped[str] = mapped_column(Text)


#: The predicates of the inbox tabs' partial indexes: only ready tasks (and,
#: for the unclaimed queues, only those nobody holds). Queries repeat them
#: as literals, so that the planner can prove them (see engine.services.inbox).
READY_ONLY = "state = 'ready'"
UNCLAIMED_ONLY = "state = 'ready' AND assignee_id IS NULL"


def _partial(name: str, where: str, *columns: str) -> Index:
    """A partial index on ``human_task`` (both dialects) with ``where``."""
    return Index(name, *columns, postgresql_where=text(where), sqlite_where=text(where))


class HumanTask(Base):
    """A user task: one row while ready, kept after completion for the record.

    ``assignee_id`` is who holds (claimed, or was assigned) the task, with
    the name they had then (``assignee_label``) and since when
    (``claimed_at``). Each inbox tab walks a partial index over ready tasks
    in due-date order (:mod:`engine.services.inbox`).
    """

    __tablename__ = "human_task"
    __table_args__ = (
        Index("ix_human_task_inbox", "state", "role", "entity_code", "created_at"),
        Index("ix_human_task_case", "case_id", "state"),
        # "Mine": the tasks one person holds.
        _partial(
            "ix_human_task_mine", READY_ONLY, "assignee_id", "due_at", "created_at"
        ),
        # A 311 role's unclaimed queue; an entity's unclaimed queue.
        _partial(
            "ix_human_task_unclaimed", UNCLAIMED_ONLY, "role", "due_at", "created_at"
        ),
        _partial(
            "ix_human_task_unclaimed_entity",
            UNCLAIMED_ONLY,
            "role",
            "entity_code",
            "due_at",
            "created_at",
        ),
        # Every ready task of a lane (an entity's tab, overdue), by due date.
        _partial("ix_human_task_lane", READY_ONLY, "role", "due_at", "created_at"),
        _partial(
            "ix_human_task_lane_entity",
            READY_ONLY,
            "role",
            "entity_code",
            "due_at",
            "created_at",
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    bpmn_id: Mapped[str] = mapped_column(String(120))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    entity_code: Mapped[str | None] = mapped_column(String(20))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    assignee_label: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    form: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(12), default="ready")
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    completed_by_label: Mapped[str | None] = mapped_column(String(200))
    completed_at: Mapped[datetime | None]


class CaseEvent(Base):
    """Append-only audit trail and timeline of a case."""

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_case_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    actor_label: Mapped[str] = mapped_column(String(200), default="")
    task_bpmn_id: Mapped[str | None] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(String(300), default="")
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    public: Mapped[bool] = mapped_column(Boolean, default=False)


class Attachment(Base):
    """A file attached to a case: what it is, where it came from, who sent it.

    The bytes live behind the configured file store
    (:mod:`engine.store.files`; by default :class:`AttachmentContent`), under
    this row's id, which is random so a URL cannot be guessed from another.
    ``public`` files are the citizen's to download (their own uploads, those
    of public notes); ``identifying`` files of a reserved-identity case are
    ``sealed``: stored encrypted with the identity key and opened only by an
    audited unsealing.
    """

    __tablename__ = "attachment"
    __table_args__ = (Index("ix_attachment_case", "case_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    #: Where it came with: ``intake``, ``task`` (staff), ``citizen_task``, ``note``.
    source: Mapped[str] = mapped_column(String(20))
    task_id: Mapped[str | None] = mapped_column(String(36))
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    store: Mapped[str] = mapped_column(String(40))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    identifying: Mapped[bool] = mapped_column(Boolean, default=False)
    sealed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    created_by_label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]


class AttachmentContent(Base):
    """The bytes of an attachment, in the database (the default file store)."""

    __tablename__ = "attachment_content"

    attachment_id: Mapped[str] = mapped_column(
        ForeignKey("attachment.id", ondelete="CASCADE"), primary_key=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class DayOff(Base):
    """A decreed day off (asueto) that counts as a holiday for deadlines."""

    __tablename__ = "day_off"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime]


class SurveyResponse(Base):
    """A citizen's satisfaction rating of an answered case (for reports)."""

    __tablename__ = "survey_response"
    __table_args__ = (Index("ix_survey_response_case", "case_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"))
    case_type: Mapped[str] = mapped_column(String(60))
    entity_code: Mapped[str | None] = mapped_column(String(20))
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime]
