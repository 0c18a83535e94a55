"""Plain dataclasses of the center's workspace: inbox queues, search, the
caller's history and the dashboard."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from engine.domain.errors import N_
from engine.domain.views import EntityView, TaskSummary, UserChoice

#: How search results can be ordered: URL value → label (the first is the
#: default).
SEARCH_SORTS: dict[str, str] = {
    "recientes": N_("Más recientes"),
    "antiguos": N_("Más antiguos"),
    "vencimiento": N_("Vencimiento"),
    "numero": N_("Número de caso"),
}


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
    #: The entities an enlace's dashboard covers (None: the whole center).
    entity_codes: tuple[str, ...] | None
    #: ``closed_cases`` counts the cases closed in this many last days.
    closed_days: int = 30


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
