"""Plain dataclasses the services return (never ORM or SpiffWorkflow objects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engine.domain.enums import CaseStatus, Channel, Role
from engine.domain.errors import N_, Message

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

#: How search results can be ordered: URL value → label (the first is the
#: default).
SEARCH_SORTS: dict[str, str] = {
    "recientes": N_("Más recientes"),
    "antiguos": N_("Más antiguos"),
    "vencimiento": N_("Vencimiento"),
    "numero": N_("Número de caso"),
}


@dataclass(frozen=True)
class Actor:
    """Who is acting: a logged-in user (citizens on the web act as None)."""

    id: int
    username: str
    name: str
    roles: frozenset[str]
    entity_code: str | None = None
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
    entity_code: str | None = None


#: Inbox tabs: URL value → label, in the order shown.
QUEUE_TABS: dict[str, str] = {
    "mine": N_("Mis tareas"),
    "role": N_("Sin asignar"),
    "entity": N_("De la entidad"),
    "overdue": N_("Vencidas"),
}


@dataclass(frozen=True)
class QueuePage:
    """One page of an inbox tab, with the count of every tab shown.

    Counts stop after ``count_limit`` tasks (``capped`` names the tabs
    beyond it), and so does paging.
    """

    tab: str
    tasks: list[TaskSummary]
    counts: dict[str, int]
    capped: frozenset[str]
    count_limit: int
    page: int
    page_size: int
    #: Supervisors hand many tasks at once to one of these people.
    assignable: list[UserChoice] = field(default_factory=list)

    @property
    def tabs(self) -> list[str]:
        """The tabs this actor has, in order."""
        return [tab for tab in QUEUE_TABS if tab in self.counts]

    @property
    def pages(self) -> int:
        """Pages of the tab that can be shown."""
        shown = min(self.counts.get(self.tab, 0), self.count_limit)
        return max(1, -(-shown // self.page_size))


@dataclass(frozen=True)
class Handover:
    """What a claim, release or assignment did."""

    tasks: int
    holder: str | None
    case_numbers: list[str] = field(default_factory=list)


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


@dataclass(frozen=True)
class CaseRow:
    """A case in a list (dashboards)."""

    number: str
    case_type: str
    subject: str
    entity_code: str | None
    public_status: str
    due_at: datetime | None
    overdue_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class Dashboard:
    """Figures for supervisors and enlaces."""

    open_cases: int
    overdue_cases: int
    closed_cases: int  # in the last ``closed_days``
    survey_average: float | None
    survey_count: int
    overdue: list[CaseRow]
    errored: list[CaseRow]
    entity_code: str | None
    #: ``closed_cases`` counts the cases closed in this many last days.
    closed_days: int = 30


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


@dataclass(frozen=True)
class DiagramElements:
    """Elements of a case's diagram in one state: ids for the markers, names
    as text for whoever cannot see the drawing."""

    ids: list[str] = field(default_factory=list)
    names: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FormPreview:
    """What the form editor's preview shows: the form, or why it cannot.

    ``problems`` says why the form itself cannot be shown (then ``form`` is
    None). With sample data, ``data_problems`` says why it could not be
    checked, ``errors`` holds the messages per field (``""``: the whole
    form) and ``stray`` those on names the form has no field for.
    """

    problems: list[Message]
    form: FormView | None = None
    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, list[Message]] = field(default_factory=dict)
    data_problems: list[Message] = field(default_factory=list)
    stray: dict[str, list[Message]] = field(default_factory=dict)
    tested: bool = False


@dataclass(frozen=True)
class CaseQuery:
    """What staff search cases by (every criterion optional, all combined).

    ``created_from`` and ``created_to`` are days in Panama, both included.
    """

    text: str = ""
    number: str = ""
    contact: str = ""
    entity_code: str = ""
    case_type: str = ""
    status: str = ""
    channel: str = ""
    created_from: date | None = None
    created_to: date | None = None
    overdue: bool = False
    sort: str = "recientes"
    page: int = 1

    def criteria(self) -> dict[str, Any]:
        """The criteria given, by name (for the audit log), without paging."""
        given = {
            "text": self.text,
            "number": self.number,
            "contact": self.contact,
            "entity_code": self.entity_code,
            "case_type": self.case_type,
            "status": self.status,
            "channel": self.channel,
            "created_from": self.created_from.isoformat() if self.created_from else "",
            "created_to": self.created_to.isoformat() if self.created_to else "",
            "overdue": self.overdue,
        }
        return {k: v for k, v in given.items() if v}


@dataclass(frozen=True)
class SearchHit:
    """One case found by a search.

    The contact lists are empty for a reserved identity, which search never
    shows nor matches.
    """

    number: str
    case_type: str
    type_title: str
    entity_code: str | None
    entity_name: str | None
    channel: str
    status: str
    public_status: str
    subject: str
    created_at: datetime
    due_at: datetime | None
    overdue: bool
    identity_reserved: bool
    contact_names: list[str] = field(default_factory=list)
    contact_emails: list[str] = field(default_factory=list)
    contact_phones: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SearchPage:
    """One page of search results with the counts of the whole result set.

    ``counts`` holds the number of cases per status. Counting stops after
    ``count_limit`` matches: then ``capped`` is set, the total only says
    "more than ``count_limit``" and the counts per status are not known.
    ``found`` is the number counted (``count_limit + 1`` when capped).
    """

    query: CaseQuery
    hits: list[SearchHit]
    counts: dict[str, int]
    capped: bool
    count_limit: int
    page: int
    page_size: int
    found: int | None = None

    @property
    def total(self) -> int:
        """Cases found (a lower bound when capped)."""
        return sum(self.counts.values()) if self.found is None else self.found

    @property
    def pages(self) -> int:
        """Pages of results that can be shown."""
        shown = min(self.total, self.count_limit)
        return max(1, -(-shown // self.page_size))


@dataclass(frozen=True)
class SearchOptions:
    """The choices of the search form for one actor."""

    entities: list[EntityView]
    case_types: list[tuple[str, str]]
    may_export: bool


@dataclass(frozen=True)
class ArticleView:
    """A knowledge-base article (its body is Markdown, rendered safely)."""

    id: int
    entity_code: str | None
    entity_name: str | None
    topic: str
    title: str
    body: str
    published: bool
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime
    lock_version: int
    #: Whether the actor who asked may edit, publish and unpublish it.
    may_edit: bool = False


@dataclass(frozen=True)
class ArticleQuery:
    """Knowledge-base search criteria (every one optional)."""

    text: str = ""
    entity_code: str = ""
    topic: str = ""
    #: Staff who write articles may include drafts; agents never see them.
    include_drafts: bool = False


@dataclass(frozen=True)
class ArticleList:
    """Articles found, with what the search form offers."""

    query: ArticleQuery
    articles: list[ArticleView]
    #: (code, name) of the entities the filter offers.
    entities: list[tuple[str, str]]
    #: Topics in use, sorted.
    topics: list[str]
    #: Whether the actor may write articles (supervisor or enlace).
    may_write: bool
    #: True when more matched than :attr:`limit` (only the first are shown).
    more: bool = False
    limit: int = 0


@dataclass(frozen=True)
class ArticleForm:
    """What the article form shows: the article edited (None: a new one)."""

    article: ArticleView | None
    entities: list[tuple[str, str]]
    topics: list[str]


@dataclass(frozen=True)
class Caller:
    """One person found at phone intake, with their earlier cases.

    ``fill`` maps the intake form's contact fields to this person's values
    (what "usar estos datos" puts in the new case).
    """

    name: str
    email: str
    phone: str
    fill: dict[str, str]
    cases: list[SearchHit]


@dataclass(frozen=True)
class CallerLookup:
    """The callers matching what an agent typed at phone intake.

    ``too_short`` when there was too little to look up (nothing was
    searched); ``more`` when more cases matched than are shown.
    """

    text: str
    callers: list[Caller]
    too_short: bool = False
    more: bool = False


@dataclass(frozen=True)
class DuplicateCandidate:
    """A case that may report the same thing as the one being triaged."""

    number: str
    case_type: str
    subject: str
    entity_code: str | None
    public_status: str
    created_at: datetime
    #: Days between the two filings (positive: the candidate came later).
    days_apart: int
    #: How close the texts are (higher is closer; only for ordering).
    score: float
    #: Duplicates already merged under the candidate.
    merged_children: int = 0


@dataclass(frozen=True)
class MergedCase:
    """A case of a merge family, as staff see it."""

    number: str
    subject: str
    public_status: str
    status: str
    #: When a duplicate was merged (None for a parent).
    merged_at: datetime | None = None


@dataclass(frozen=True)
class MergeFamily:
    """Where a case stands among duplicates: its parent or its children.

    ``candidates`` are the likely duplicates of an open, unmerged case, for
    311 staff (empty for anyone else).
    """

    number: str
    parent: MergedCase | None = None
    children: list[MergedCase] = field(default_factory=list)
    candidates: list[DuplicateCandidate] = field(default_factory=list)
    #: Whether the reader may merge and separate (311 agents, supervisors).
    may_merge: bool = False
    #: Whether duplicates were looked for (an open, unmerged case, read by
    #: someone who may merge): the page offers merging then.
    looked: bool = False
    #: The look-back and look-ahead of the candidates, in days.
    window_days: int = 0


@dataclass(frozen=True)
class Merged:
    """What a merge or a separation did."""

    parent: str
    children: list[str]


@dataclass(frozen=True)
class MergedParent:
    """The case a citizen's duplicate was merged into: its public progress."""

    number: str
    public_status: str
    status: str
    entity_name: str | None
    #: The parent's public timeline written by staff (no other citizen's
    #: words or files).
    timeline: list[EventView] = field(default_factory=list)
    #: The parent's step indicator, which the duplicate's citizen follows.
    milestones: list[Milestone] = field(default_factory=list)
