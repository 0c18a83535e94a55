"""Plain dataclasses of duplicates: likely ones at triage, merge families,
and the parent a merged duplicate's citizen follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from engine.domain.views import EventView, Milestone


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
