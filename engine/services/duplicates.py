"""Duplicates: the cases that may report the same thing as another, and
where a case stands among merged duplicates.

Likely duplicates are open cases of the same category, filed near in time,
sharing words (:func:`merge_family`, :func:`duplicate_candidates`); merging
and separating them is :mod:`engine.services.merges`. A merged duplicate's
citizen follows the parent's public progress (:func:`parent_view`).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.domain.duplicates import (
    DuplicateCandidate,
    MergedCase,
    MergedParent,
    MergeFamily,
)
from engine.domain.enums import CaseStatus, EventKind, Role
from engine.domain.errors import N_, NotAllowed
from engine.domain.views import Actor, EventView
from engine.services.common import PRACTICE_CASE_IDS, parsed_by_id, visible_case
from engine.services.platform import Platform
from engine.services.progress import milestones as tracking_milestones
from engine.services.steps import entity_name_of
from engine.store import search_index
from engine.store.models import Case, CaseEvent

#: Candidates shown at triage, closest text first.
CANDIDATES = 10
#: Open cases of the category compared by text, the nearest in date before
#: and after the case: the comparison costs the same at ten thousand cases
#: or a million (reports of one problem come within days of each other; at
#: a million cases 200 reach about a week either side in a busy category).
COMPARED = 200
#: What the parent's timeline shows the duplicates' citizens: staff's work,
#: never another citizen's words or files.
PARENT_EVENTS = frozenset(
    {
        EventKind.STATUS,
        EventKind.ASSIGNED,
        EventKind.TRANSFERRED,
        EventKind.PUBLIC_NOTE,
        EventKind.NOTE,
        EventKind.CLOSED,
        EventKind.REOPENED,
    }
)


def check_merger(actor: Actor) -> None:
    """Only the 311's agents and supervisors merge and separate cases."""
    if not actor.has(Role.AGENT, Role.SUPERVISOR):
        raise NotAllowed(N_("Solo el personal del 311 une y separa casos."))


def merge_family(p: Platform, actor: Actor, number: str) -> MergeFamily:
    """A case's parent or merged duplicates, and (for 311 staff, while it is
    open and unmerged) its likely duplicates."""
    may_merge = actor.has(Role.AGENT, Role.SUPERVISOR)
    window = p.limits.duplicate_window_days
    with p.db.read() as s:
        case = visible_case(s, actor, number)
        parent = s.get(Case, case.parent_id) if case.parent_id else None
        children = s.scalars(
            select(Case).where(Case.parent_id == case.id).order_by(Case.closed_at)
        ).all()
        candidates: list[DuplicateCandidate] = []
        looked = may_merge and case.status == CaseStatus.OPEN and parent is None
        if looked:
            candidates = _candidates(s, case, window)
        return MergeFamily(
            number=case.number,
            parent=_member(parent) if parent is not None else None,
            children=[_member(c) for c in children],
            candidates=candidates,
            may_merge=may_merge,
            looked=looked,
            window_days=window,
        )


def duplicate_candidates(
    p: Platform, actor: Actor, number: str
) -> list[DuplicateCandidate]:
    """The likely duplicates of an open case, closest text first."""
    check_merger(actor)
    with p.db.read() as s:
        case = visible_case(s, actor, number)
        return _candidates(s, case, p.limits.duplicate_window_days)


def _member(case: Case) -> MergedCase:
    """A case of a merge family, for the staff page."""
    return MergedCase(
        number=case.number,
        subject=case.subject,
        public_status=case.public_status,
        status=case.status,
        merged_at=case.closed_at if case.parent_id else None,
    )


def _candidates(s: Session, case: Case, window: int) -> list[DuplicateCandidate]:
    """Open cases of the same category (or, for a case filed without one,
    the uncategorised cases of its type), filed within ``window`` days of
    ``case``, assigned to no other entity, sharing words with it; the
    closest texts first.

    The dates narrow the rows first, through the open cases' category (or
    type) index, and only those are compared by text.
    """
    words = search_index.describing_words(s, case.id)
    if not words:
        return []
    span = timedelta(days=window)
    query = select(Case.id, Case.created_at).where(
        Case.status == "open",  # the partial index's predicate
        Case.id != case.id,
        Case.id.not_in(PRACTICE_CASE_IDS),
    )
    if case.category:
        query = query.where(Case.category == case.category)
    else:  # IS NULL: the type index's predicate
        query = query.where(Case.category.is_(None), Case.case_type == case.case_type)
    if case.entity_code:
        query = query.where(
            or_(Case.entity_code.is_(None), Case.entity_code == case.entity_code)
        )
    # The nearest in date on each side, each an ordered walk of the index
    # from the case's date outwards; then the nearest of both.
    at = case.created_at
    before = query.where(Case.created_at >= at - span, Case.created_at <= at)
    after = query.where(Case.created_at > at, Case.created_at <= at + span)
    near = [
        *s.execute(before.order_by(Case.created_at.desc()).limit(COMPARED)),
        *s.execute(after.order_by(Case.created_at).limit(COMPARED)),
    ]
    near.sort(key=lambda row: abs(row.created_at - at))
    ids = [row.id for row in near[:COMPARED]]
    scores = search_index.similarity(s, s.get_bind().dialect.name, words, ids)
    if not scores:
        return []
    best = sorted(scores, key=lambda i: -scores[i])[:CANDIDATES]
    rows = {c.id: c for c in s.scalars(select(Case).where(Case.id.in_(best)))}
    return [
        DuplicateCandidate(
            number=c.number,
            case_type=c.case_type,
            subject=c.subject,
            entity_code=c.entity_code,
            public_status=c.public_status,
            created_at=c.created_at,
            days_apart=(c.created_at - case.created_at).days,
            score=scores[c.id],
            merged_children=c.merged_children,
        )
        for c in (rows[i] for i in best if i in rows)
    ]


def parent_view(s: Session, p: Platform, case: Case) -> MergedParent | None:
    """For a merged duplicate's citizen: the parent's public progress.

    Only what staff did on the parent (status, assignment, answers, public
    notes) without their names; the parent's citizen's words and files stay
    theirs.
    """
    if case.parent_id is None:
        return None
    parent = s.get(Case, case.parent_id)
    if parent is None:
        return None
    events = s.scalars(
        select(CaseEvent)
        .where(
            CaseEvent.case_id == parent.id,
            CaseEvent.public.is_(True),
            CaseEvent.kind.in_(PARENT_EVENTS | {EventKind.MILESTONE}),
            # Notes and answers by staff only: a citizen's (actor None) stay
            # with that citizen.
            or_(
                CaseEvent.actor_id.is_not(None),
                CaseEvent.kind.not_in([EventKind.PUBLIC_NOTE, EventKind.NOTE]),
            ),
        )
        .order_by(CaseEvent.at, CaseEvent.id)
    ).all()
    everything = [
        EventView(
            at=e.at,
            kind=e.kind,
            actor="",
            summary=e.summary,
            data={k: v for k, v in (e.data or {}).items() if k != "attachments"},
            public=True,
        )
        for e in events
    ]
    parsed = parsed_by_id(p, s, parent.process_version_id)
    return MergedParent(
        number=parent.number,
        public_status=parent.public_status,
        status=parent.status,
        entity_name=entity_name_of(s, parent.entity_code)
        if parent.entity_code
        else None,
        timeline=[e for e in everything if e.kind != EventKind.MILESTONE],
        milestones=tracking_milestones(
            parsed.milestones, parent.milestone, parent.status, everything
        ),
    )
