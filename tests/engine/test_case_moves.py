"""Moving every movable case of an older version in batches, case by case
(engine.services.case_moves.move_batch)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine import services
from engine.domain.errors import NotAllowed, NotFound
from engine.services import case_moves, design
from engine.store.accounts import AuditLog
from tests.conftest import without_scenarios
from tests.engine.test_design import INTAKE, queja_files
from tests.engine.test_scenarios import accept, who


def classification_goes_to_the_supervisor(seeded) -> None:
    """Deploy v2 where classifying moved to the supervisor's lane: a case
    waiting to be classified cannot move, one past it can."""
    files = without_scenarios(queja_files())
    ref = "        <bpmn:flowNodeRef>clasificar_caso</bpmn:flowNodeRef>\n"
    bpmn = files["queja.bpmn"].replace(ref, "", 1)
    anchor = '<bpmn:lane id="lane_supervisor_311" name="supervisor_311">\n'
    files["queja.bpmn"] = bpmn.replace(anchor, anchor + ref, 1)
    design.deploy(seeded, who(seeded, "disenador"), files, "clasificar al supervisor")


def test_batches_move_the_movable_and_report_the_rest(seeded):
    """Three v1 cases (classified, waiting, classified), batches of two:
    the first moves one and reports why the other cannot, with one case
    left; the second moves the last; a refused case never blocks the
    batch after it, and stays on version 1."""
    first = services.open_case(seeded, "queja", INTAKE).number
    waiting = services.open_case(seeded, "queja", INTAKE).number
    last = services.open_case(seeded, "queja", INTAKE).number
    accept(seeded, first)
    accept(seeded, last)
    classification_goes_to_the_supervisor(seeded)
    designer = who(seeded, "disenador")
    assert case_moves.older_versions(seeded, designer, "queja", 2) == [
        case_moves.OlderVersion(1, 3)
    ]

    report = case_moves.move_batch(seeded, designer, "queja", 1, 2, batch=2)
    assert [(r.number, r.moved) for r in report.results] == [
        (first, True),
        (waiting, False),
    ]
    reasons = [m.text % m.params for m in report.results[1].reasons]
    assert any("carril" in r for r in reasons), reasons
    assert (report.moved, report.refused, report.remaining) == (1, 1, 1)

    report = case_moves.move_batch(
        seeded, designer, "queja", 1, 2, after=report.after, batch=2
    )
    assert [(r.number, r.moved) for r in report.results] == [(last, True)]
    assert report.remaining == 0

    agent = who(seeded, "agente")
    versions = {
        n: services.get_case(seeded, agent, n).version for n in (first, waiting, last)
    }
    assert versions == {first: 2, waiting: 1, last: 2}
    assert case_moves.older_versions(seeded, designer, "queja", 2) == [
        case_moves.OlderVersion(1, 1)
    ]
    with seeded.db.read() as s:
        audits = s.scalars(
            select(AuditLog.detail).where(AuditLog.action == "migrate")
        ).all()
    assert [(a["moved"], a["refused"]) for a in audits] == [
        ([first], [waiting]),
        ([last], []),
    ]


def test_only_designers_and_only_older_versions(seeded):
    """Agents are refused; moving from the same or a newer version, or
    from an unknown one, is NotFound."""
    classification_goes_to_the_supervisor(seeded)
    with pytest.raises(NotAllowed):
        case_moves.move_batch(seeded, who(seeded, "agente"), "queja", 1, 2)
    designer = who(seeded, "disenador")
    for source, target in ((2, 2), (2, 1), (5, 9)):
        with pytest.raises(NotFound):
            case_moves.move_batch(seeded, designer, "queja", source, target)
    empty = case_moves.move_batch(seeded, designer, "queja", 1, 2)
    assert (empty.results, empty.remaining) == ([], 0)
