"""Plain dataclasses the services return (never ORM or SpiffWorkflow objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from engine.domain.enums import CaseStatus, Channel, Role
from engine.domain.errors import N_

if TYPE_CHECKING:  # annotations only: those modules use this one's views
    from engine.domain.duplicates import MergedParent
    from engine.domain.knowledge import ArticleView

#: Staff roles, in the order they are shown.
ROLES: dict[str, str] = {
    Role.AGENT: N_("Agente del 311"),
    Role.SUPERVISOR: N_("Supervisor del 311"),
    Role.LIAISON: N_("Enlace de entidad"),
    Role.DESIGNER: N_("Diseñador de procesos"),
    Role.ADMIN: N_("Administrador"),
    Role.CITIZEN: N_("Ciudadano"),
}

#: How the timeline names the role someone acted in (an enlace's adds its
#: entity; events nobody did -- timers, the worker -- are the system's).
ACTING_ROLES: dict[str, str] = {
    Role.SUPERVISOR: N_("Supervisor 311"),
    Role.AGENT: N_("Agente 311"),
    Role.LIAISON: N_("Enlace"),
    Role.DESIGNER: N_("Diseñador de procesos"),
    Role.ADMIN: N_("Administrador"),
    Role.CITIZEN: N_("Ciudadano"),
}


def acting_role(roles: frozenset[str] | set[str] | list[str]) -> str | None:
    """The role a person with ``roles`` acts in outside a task's lane.

    The broadest one they hold, in :data:`ACTING_ROLES`' order: a
    supervisor (who may also do agent work) acts as supervisor. None for
    nobody.
    """
    for role in ACTING_ROLES:
        if role in roles:
            return role
    return None


def acting_entity(entity_codes: frozenset[str], case_entity: str | None) -> str | None:
    """The entity an enlace of ``entity_codes`` acts for on a case of
    ``case_entity``: the case's, when the enlace represents it; else the
    enlace's only entity; None when that does not tell (several entities,
    none of them the case's, or none at all)."""
    if case_entity is not None and case_entity in entity_codes:
        return case_entity
    if len(entity_codes) == 1:
        return next(iter(entity_codes))
    return None


#: Roles that include the powers of others (a supervisor can do agent work).
ROLE_IMPLIES: dict[str, frozenset[str]] = {
    Role.SUPERVISOR: frozenset({Role.AGENT}),
}

#: Channels a case can arrive by.
CHANNELS: dict[str, str] = {
    Channel.WEB: N_("Web"),
    Channel.PHONE: N_("Teléfono 3-1-1"),
    Channel.IN_PERSON: N_("Presencial"),
    Channel.EMAIL: N_("Correo electrónico"),
    Channel.OPEN311: N_("Open311"),
}

#: Channels staff pick from when they file a case for someone, in that order.
STAFF_CHANNELS: tuple[Channel, ...] = (
    Channel.PHONE,
    Channel.IN_PERSON,
    Channel.EMAIL,
    Channel.WEB,
)


#: Case statuses as staff read them.
CASE_STATUSES: dict[str, str] = {
    CaseStatus.OPEN: N_("Abierto"),
    CaseStatus.CLOSED: N_("Cerrado"),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in user (citizens on the web act as None)."""

    id: int
    username: str
    name: str
    roles: frozenset[str]
    #: The entities an enlace represents (an enlace may represent several).
    entity_codes: frozenset[str] = frozenset()
    #: The user's session epoch when loaded: the web layer writes it into the
    #: session so that logout or a password change (which bump it) revoke
    #: every copy of the cookie. Not part of who the actor *is*.
    session_epoch: int = field(default=0, compare=False)
    #: Where the actor acts from (the client address of the web request),
    #: recorded in the audit log; None outside the web (CLI, worker).
    client: str | None = field(default=None, compare=False)

    @property
    def effective_roles(self) -> frozenset[str]:
        """The roles held, plus the roles they imply."""
        roles = set(self.roles)
        for role in self.roles:
            roles |= ROLE_IMPLIES.get(role, frozenset())
        return frozenset(roles)

    def has(self, *roles: str) -> bool:
        """True if the actor holds (directly or implied) any of ``roles``."""
        return bool(self.effective_roles.intersection(roles))

    @property
    def is_staff(self) -> bool:
        """True for 311 and entity staff who work cases."""
        return self.has(Role.AGENT, Role.SUPERVISOR, Role.LIAISON)


@dataclass(frozen=True)
class CaseTypeInfo:
    """A case type on offer (its newest deployed version)."""

    key: str
    title: str
    description: str
    version: int


@dataclass(frozen=True)
class FormView:
    """A form to render: schema plus the choices of its ``x-source`` fields."""

    schema: dict[str, Any]
    options: dict[str, list[tuple[str, str]]]


@dataclass(frozen=True)
class IntakeView:
    """The intake form of a case type."""

    case_type: str
    title: str
    description: str
    form: FormView
    #: The form offers reserving the identity (``x-reserva-identidad``): the
    #: citizen may mark attached files as identifying.
    reservable: bool = False
    #: The address field (``x-location``) the optional map pin goes with;
    #: None: the form asks for no place.
    location_field: str | None = None
    #: Most files the intake form takes (all its file inputs together).
    max_files: int = 3


@dataclass(frozen=True)
class LocationView:
    """Where a case is: the address typed at intake and the optional pin."""

    address: str = ""
    latitude: float | None = None
    longitude: float | None = None


@dataclass(frozen=True)
class Upload:
    """A file as submitted: the form field it came in, its name and bytes.

    ``identifying``: the citizen says it shows who they are (sealed with the
    identity when the case reserves it).
    """

    field: str
    filename: str
    content: bytes
    identifying: bool = False


@dataclass(frozen=True)
class AttachmentView:
    """An attached file as listed on a case page (without its bytes)."""

    id: str
    filename: str
    content_type: str
    size: int
    source: str
    created_at: datetime
    created_by: str
    public: bool
    identifying: bool
    #: Stored encrypted with the identity: opened only by an audited unsealing.
    sealed: bool


@dataclass(frozen=True)
class AddedNote:
    """What adding a note to a case recorded."""

    case_number: str
    public: bool
    attachments: int


@dataclass(frozen=True)
class AttachmentFile:
    """An attachment's bytes, for a download."""

    filename: str
    content_type: str
    content: bytes


@dataclass(frozen=True)
class OpenedCase:
    """What the citizen gets after filing: the number and the access code."""

    number: str
    access_code: str
    case_type: str
    title: str
    public_status: str
    email: str | None = None
    identity_reserved: bool = False
    #: True when the same intake form had already filed this case (a double
    #: submit): the number is the first filing's and ``access_code`` is empty,
    #: since the code is stored only hashed and was shown the first time.
    repeated: bool = False


@dataclass(frozen=True)
class EventView:
    """One timeline entry."""

    at: datetime
    kind: str
    actor: str
    summary: str
    data: dict[str, Any]
    public: bool
    #: A completed task's answers as (field title, value) in its own form's
    #: words, enum values by their labels; the public ones are left out (a
    #: ``public_note`` event carries them). A form no longer known gives the
    #: field names themselves.
    fields: tuple[tuple[str, Any], ...] = ()
    #: The role the actor acted in (a task's lane for a completion, the
    #: actor's role for a note or a claim; ``ciudadano`` for the citizen;
    #: empty for the system), and an enlace's entity code.
    role: str = ""
    role_entity: str = ""


@dataclass(frozen=True)
class CitizenTask:
    """A task waiting for the citizen, shown on the tracking page."""

    id: str
    name: str
    instructions: str
    due_at: datetime | None
    form: FormView
    #: What the citizen is asked about, shown above the answer box: the
    #: public texts (label, value) written when the task appeared (the
    #: entity's question; the answer to rate).
    context: tuple[tuple[str, Any], ...] = ()
    #: The task rates the answer (``encuesta``) rather than answering.
    survey: bool = False


#: What the citizen reads under "what happens next" on the tracking page.
NEXT_STEPS = ("answer", "rate", "entity", "center", "merged", "closed")


@dataclass(frozen=True)
class PublicCase:
    """What the citizen sees when tracking a case."""

    number: str
    case_type: str
    title: str
    status: str
    public_status: str
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    entity_name: str | None
    timeline: list[EventView]
    tasks: list[CitizenTask] = field(default_factory=list)
    reopen_count: int = 0
    #: The citizen's progress indicator, in order (see :class:`Milestone`).
    milestones: list[Milestone] = field(default_factory=list)
    #: Knowledge-base articles the answer links (published ones only).
    articles: list[ArticleView] = field(default_factory=list)
    #: Files the citizen may download (not internal, not sealed).
    attachments: list[AttachmentView] = field(default_factory=list)
    #: The case this one was merged into as a duplicate, as the citizen
    #: sees it (None: not merged).
    merged_into: MergedParent | None = None
    #: The address and map pin given at intake (None: neither).
    location: LocationView | None = None
    #: What the citizen filed, as (field title, value): the intake form's
    #: fields without staff-only ones and without personal data.
    submission: tuple[tuple[str, Any], ...] = ()
    #: The identity was reserved (sealed): the page says it is not shown.
    identity_reserved: bool = False
    #: When the entity must act (its pending task's deadline), if it must.
    entity_due_at: datetime | None = None
    #: What happens next, one of :data:`NEXT_STEPS`.
    next_step: str = "center"


@dataclass(frozen=True)
class TaskSummary:
    """One row of an inbox."""

    id: str
    case_number: str
    case_title: str
    subject: str
    name: str
    role: str
    entity_code: str | None
    created_at: datetime
    due_at: datetime | None
    #: Who holds the task (claimed or assigned), by id and name.
    assignee_id: int | None = None
    assignee: str | None = None
    #: Whether the inbox's reader may take it, or give it back.
    may_claim: bool = False
    may_release: bool = False


@dataclass(frozen=True)
class CaseView:
    """What staff see on a case page."""

    number: str
    case_type: str
    title: str
    version: int
    channel: str
    status: str
    public_status: str
    entity_code: str | None
    entity_name: str | None
    subject: str
    contact: dict[str, Any] | None
    data: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    error: str | None
    events: list[EventView]
    open_tasks: list[TaskSummary] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    due_at: datetime | None = None
    overdue_at: datetime | None = None
    reopen_count: int = 0
    identity_reserved: bool = False
    #: Field → stored value → label, for fields with ``x-enum-labels``.
    value_labels: dict[str, dict[str, str]] = field(default_factory=dict)
    attachments: list[AttachmentView] = field(default_factory=list)
    #: The address and map pin given at intake (None: neither).
    location: LocationView | None = None
    #: A designer's practice case (shown with a "Práctica" badge).
    practice: bool = False


@dataclass(frozen=True)
class TaskView:
    """One task with its form and the case it belongs to."""

    id: str
    name: str
    instructions: str
    role: str
    state: str
    completed_by: str | None
    completed_at: datetime | None
    form: FormView
    case: CaseView
    #: Who holds the task (claimed or assigned) and since when.
    assignee_id: int | None = None
    assignee: str | None = None
    claimed_at: datetime | None = None
    #: What the viewer may do with it (see :mod:`engine.services.queues`).
    may_complete: bool = True
    may_claim: bool = False
    may_release: bool = False
    #: The people the viewer may hand the task to (empty: no reassigning).
    assignable: list[UserChoice] = field(default_factory=list)
    #: The form's ``x-prefill`` fields with what the diagram computed (the
    #: suggested entity); the other fields start empty.
    prefill: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class UserChoice:
    """A person a task can be handed to."""

    id: int
    name: str
    #: The entities an enlace represents, by acronym (none for 311 staff).
    entity_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class CompletedTask:
    """The result of completing a task."""

    case_number: str
    public_status: str
    closed: bool


@dataclass(frozen=True)
class EntityView:
    """A government entity."""

    code: str
    name: str
    active: bool


@dataclass(frozen=True)
class VersionInfo:
    """A deployed process version."""

    id: int
    case_type: str
    version: int
    title: str
    content_hash: str
    deployed_by: str
    deployed_at: datetime
    note: str
    #: ``published`` (serves new cases when newest) or ``draft`` (designers
    #: only: practice cases).
    status: str = "published"
    published_at: datetime | None = None
    published_by: str | None = None
    published_note: str = ""

    @property
    def is_draft(self) -> bool:
        """Whether this version is a draft (not yet published)."""
        return self.status == "draft"


@dataclass(frozen=True)
class Milestone:
    """One step of the citizen's progress indicator on the tracking page.

    ``label`` is an untranslated message id (``N_``): the engine knows no
    locale, the page translates it.
    """

    key: str
    label: str
    reached: bool
    current: bool
    #: The case waits for the citizen at this (current) step.
    waiting: bool = False
