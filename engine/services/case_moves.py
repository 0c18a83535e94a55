"""Moving running cases to a newer version of their case type.

A case keeps the version it started on. Where SpiffWorkflow's diff allows
it (:mod:`engine.workflow.migration`), a designer moves cases to a newer
version: chosen ones (:func:`migrate_cases`) or every movable case of an
older version in batches (:func:`move_batch`), each with a per-case report.
Every case moves in its own transaction; a refused case stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from engine.domain.enums import CaseStatus, EventKind, VersionStatus
from engine.domain.errors import N_, Message, NotFound
from engine.domain.views import Actor
from engine.services.common import business_calendar, parsed_version, require_designer
from engine.services.events import add_event
from engine.services.platform import Platform
from engine.services.steps import record_step
from engine.services.versions import audit
from engine.store.models import Case, ProcessVersion, WorkflowState
from engine.workflow import migration, runtime, timekeeping

#: Cases checked and moved by one bulk action (one web request).
BATCH = 200


@dataclass(frozen=True)
class MigrationCandidate:
    """An open case on an older version, and whether it can move."""

    number: str
    version: int
    subject: str
    movable: bool
    reasons: list[Message]


def migration_candidates(
    p: Platform, actor: Actor, case_type: str, to_version: int, *, limit: int = 200
) -> list[MigrationCandidate]:
    """Open cases of older versions and whether each can move to ``to_version``."""
    require_designer(actor)
    result = []
    with p.db.read() as s:
        target = _version_row(s, case_type, to_version)
        new = parsed_version(p, target)
        rows = s.execute(
            select(Case, ProcessVersion, WorkflowState)
            .join(ProcessVersion, ProcessVersion.id == Case.process_version_id)
            .join(WorkflowState, WorkflowState.case_id == Case.id)
            .where(
                Case.case_type == case_type,
                Case.status == CaseStatus.OPEN,
                ProcessVersion.version < to_version,
            )
            .order_by(Case.created_at)
            .limit(limit)
        ).all()
        for case, version, state in rows:
            reasons = migration.obstacles(
                parsed_version(p, version), new, state.state, state.format_version
            )
            ok = not reasons
            result.append(
                MigrationCandidate(
                    case.number, version.version, case.subject, ok, reasons
                )
            )
    return result


def migrate_cases(
    p: Platform, actor: Actor, case_type: str, to_version: int, numbers: list[str]
) -> dict[str, list[Message]]:
    """Move chosen open cases to ``to_version``; returns refusals by number.

    Each case moves in its own transaction (locked like any step): its state
    is migrated, advanced on the new version, its projections refreshed and
    an audit event written. A refused case is left as it was.
    """
    require_designer(actor)
    refused: dict[str, list[Message]] = {}
    for number in numbers:
        try:
            with p.db.transaction() as s:
                case = s.scalars(
                    select(Case)
                    .where(Case.number == number, Case.case_type == case_type)
                    .with_for_update()
                ).first()
                if case is None or case.status != CaseStatus.OPEN:
                    raise NotFound(N_("El caso no existe o ya no está abierto."))
                old_row = s.get(ProcessVersion, case.process_version_id)
                state = s.get(WorkflowState, case.id)
                assert old_row is not None and state is not None
                target = _version_row(s, case_type, to_version)
                if target.status == VersionStatus.DRAFT and not case.practice:
                    raise NotFound(
                        N_(
                            "Un borrador no recibe casos reales: publíquelo "
                            "antes de trasladar casos a él."
                        )
                    )
                new = parsed_version(p, target)
                migrated = migration.migrate(
                    parsed_version(p, old_row), new, state.state, state.format_version
                )
                now = p.clock()
                workflow = runtime.load_state(new, migrated, runtime.FORMAT_VERSION)
                before = runtime.completed_ids(workflow)
                with timekeeping.at(now, business_calendar(p, s)):
                    runtime.advance(workflow)
                case.process_version_id = target.id
                add_event(
                    s,
                    case,
                    now,
                    EventKind.MIGRATED,
                    actor,
                    N_("Caso trasladado a otra versión del proceso"),
                    {"from": old_row.version, "to": target.version},
                    public=False,
                )
                record_step(
                    s, p, case, new, workflow, actor, now, state=state, before=before
                )
        except migration.MigrationRefused as exc:
            refused[number] = exc.messages
        except NotFound as exc:
            refused[number] = [exc.message]
    audit(
        p,
        actor.username,
        "migrate",
        {
            "case_type": case_type,
            "to_version": to_version,
            "moved": [n for n in numbers if n not in refused],
            "refused": sorted(refused),
        },
    )
    return refused


def _version_row(s: Any, case_type: str, version: int) -> ProcessVersion:
    """A version row, or NotFound."""
    row = s.scalars(
        select(ProcessVersion).where(
            ProcessVersion.case_type == case_type, ProcessVersion.version == version
        )
    ).first()
    if row is None:
        raise NotFound(N_("No existe esa versión."))
    assert isinstance(row, ProcessVersion)
    return row


@dataclass(frozen=True)
class OlderVersion:
    """An older version of the case type with open cases on it."""

    version: int
    open_cases: int


def older_versions(
    p: Platform, actor: Actor, case_type: str, to_version: int
) -> list[OlderVersion]:
    """Versions before ``to_version`` with open cases, and how many each has."""
    require_designer(actor)
    with p.db.read() as s:
        _version_row(s, case_type, to_version)
        rows = s.execute(
            select(ProcessVersion.version, func.count(Case.id))
            .join(Case, Case.process_version_id == ProcessVersion.id)
            .where(
                ProcessVersion.case_type == case_type,
                ProcessVersion.version < to_version,
                Case.status == CaseStatus.OPEN,
            )
            .group_by(ProcessVersion.version)
            .order_by(ProcessVersion.version)
        ).all()
    return [OlderVersion(int(v), int(n)) for v, n in rows]


@dataclass(frozen=True)
class MoveResult:
    """What happened to one case of a bulk move."""

    number: str
    moved: bool
    reasons: list[Message] = field(default_factory=list)


@dataclass(frozen=True)
class MoveReport:
    """One batch of a bulk move: each case checked, and where to go on.

    ``after`` is the id of the last case checked: the next batch starts
    after it; ``remaining`` is how many open cases of the source version
    come after it (0 when the batch reached the end).
    """

    case_type: str
    from_version: int
    to_version: int
    results: list[MoveResult]
    after: int
    remaining: int

    @property
    def moved(self) -> int:
        """How many cases of the batch moved."""
        return sum(r.moved for r in self.results)

    @property
    def refused(self) -> int:
        """How many cases of the batch could not move."""
        return len(self.results) - self.moved


def move_batch(
    p: Platform,
    actor: Actor,
    case_type: str,
    from_version: int,
    to_version: int,
    *,
    after: int = 0,
    batch: int = BATCH,
) -> MoveReport:
    """Move every movable open case of ``from_version`` to ``to_version``.

    Takes the next ``batch`` open cases (oldest first, by id after
    ``after``), moves each one SpiffWorkflow's diff allows in its own
    transaction and reports every case: moved, or why not. A case refused
    stays on its version; the next batch goes on after the last case
    checked, so refused cases never hold the rest back.
    """
    require_designer(actor)
    if from_version >= to_version:
        raise NotFound(N_("Solo se trasladan casos de una versión anterior."))
    with p.db.read() as s:
        source = _version_row(s, case_type, from_version)
        _version_row(s, case_type, to_version)
        still_open = (Case.process_version_id == source.id) & (
            Case.status == CaseStatus.OPEN
        )
        rows = s.execute(
            select(Case.id, Case.number)
            .where(still_open, Case.id > after)
            .order_by(Case.id)
            .limit(batch)
        ).all()
        last = int(rows[-1].id) if rows else after
        remaining = s.scalar(
            select(func.count()).select_from(Case).where(still_open, Case.id > last)
        )
    numbers = [str(r.number) for r in rows]
    refused = migrate_cases(p, actor, case_type, to_version, numbers) if rows else {}
    results = [MoveResult(n, n not in refused, refused.get(n, [])) for n in numbers]
    return MoveReport(
        case_type, from_version, to_version, results, last, int(remaining or 0)
    )
