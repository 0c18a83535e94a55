"""Closed vocabularies the code owns, as ``StrEnum``s.

Members are strings, so they compare equal to the stored values and to what
templates and BPMN lanes hold. Role keys are Spanish because designers type
them as lane names (the contract with process designers); the others are
English, like everything the code stores.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Who may do what; lane names in BPMN are these keys."""

    AGENT = "agente_311"
    SUPERVISOR = "supervisor_311"
    LIAISON = "enlace"
    DESIGNER = "disenador"
    ADMIN = "admin"
    CITIZEN = "ciudadano"


class CaseStatus(StrEnum):
    """Whether a case is being worked (Open311 knows only these two)."""

    OPEN = "open"
    CLOSED = "closed"


class TaskState(StrEnum):
    """The life of a human task row."""

    READY = "ready"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class EventKind(StrEnum):
    """What a case event records (timeline and audit trail)."""

    CREATED = "created"
    ASSIGNED = "assigned"
    STATUS = "status"
    CLOSED = "closed"
    REOPENED = "reopened"
    OVERDUE = "overdue"
    REMINDER = "reminder"
    TRANSFERRED = "transferred"
    TASK_COMPLETED = "task_completed"
    TASK_CLAIMED = "task_claimed"
    TASK_RELEASED = "task_released"
    TASK_ASSIGNED = "task_assigned"
    PUBLIC_NOTE = "public_note"
    NOTE = "note"
    ERROR = "error"
    IDENTITY_UNSEALED = "identity_unsealed"
    MIGRATED = "migrated"
    #: A duplicate merged under a parent (on the duplicate; public), and the
    #: parent's record of it (internal); the same two when it is separated.
    #: The case reached a citizen's milestone (``data``: ``key``, ``label``).
    MILESTONE = "milestone"
    MERGED = "merged"
    DUPLICATE_MERGED = "duplicate_merged"
    UNMERGED = "unmerged"
    DUPLICATE_UNMERGED = "duplicate_unmerged"


class Channel(StrEnum):
    """How a case reached the center (``case.channel``)."""

    WEB = "web"
    PHONE = "phone"
    IN_PERSON = "in_person"
    EMAIL = "email"
    OPEN311 = "open311"


class Mark(StrEnum):
    """What the engine does when an element with the ``marca`` property
    completes. Spanish values: designers write them in the diagram."""

    CLOSED = "cerrado"
    REOPENED = "reabierto"
    OVERDUE = "vencido"
    ON_TIME = "al_dia"
    REMINDER = "recordatorio"
    TRANSFERRED = "transferido"


class VersionStatus(StrEnum):
    """Whether a process version serves new cases (``process_version.status``).

    A draft is seen by designers only and runs practice cases; the newest
    published version of a case type serves every new real case.
    """

    DRAFT = "draft"
    PUBLISHED = "published"


class TokenPurpose(StrEnum):
    """What a single-use sign-in link is for."""

    INVITE = "invite"
    RESET = "reset"
