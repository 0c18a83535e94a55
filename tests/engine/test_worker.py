"""The worker fires due timers: with a moved clock, once each, surviving failures."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from engine import services
from engine.bundles import registry
from engine.domain.clock import FrozenClock
from engine.services import steps
from engine.services.platform import Platform
from engine.store.models import Case, CaseEvent, HumanTask
from engine.workflow.calendar import PANAMA
from tests.conftest import IDENTITY_KEY

WRITES = ("INSERT", "UPDATE", "DELETE")
BUNDLE = (
    Path(__file__).resolve().parent.parent / "fixtures" / "bundles" / "temporizador"
)


def deploy(p: Platform) -> None:
    """Deploy the timer fixture bundle."""
    services.deploy_version(p, registry.read_bundle_dir(BUNDLE), deployed_by="tests")


def counts(p: Platform) -> tuple[int, int]:
    """(reminder events, ready 'revisar' tasks)."""
    with p.db.read() as s:
        reminders = s.scalar(
            select(func.count())
            .select_from(CaseEvent)
            .where(CaseEvent.kind == "reminder")
        )
        ready = s.scalar(
            select(func.count())
            .select_from(HumanTask)
            .where(HumanTask.bpmn_id == "revisar", HumanTask.state == "ready")
        )
    return int(reminders or 0), int(ready or 0)


@pytest.fixture
def clock() -> FrozenClock:
    """Friday 2026-10-30, 10:00 in Panama."""
    return FrozenClock(datetime(2026, 10, 30, 10, 0, tzinfo=PANAMA))


@pytest.fixture
def timed(db_url: str, clock: FrozenClock):
    """A platform on a frozen clock with the timer bundle deployed."""
    p = Platform(db_url, clock=clock, identity_key=IDENTITY_KEY)
    deploy(p)
    yield p
    p.close()


def test_timer_waits_for_the_business_day_then_fires(timed, clock):
    """Due at the end of Monday (next business day): not before, once after."""
    opened = services.open_case(timed, "temporizador", {"divisor": 2})
    with timed.db.read() as s:
        case = s.scalars(select(Case)).one()
    # Due at the end of Monday 2026-11-02, the next business day.
    assert case.next_timer_at == datetime(2026, 11, 2, 23, 59, 59, tzinfo=PANAMA)
    assert services.fire_due_timers(timed) == 0
    clock.advance(days=3)  # Monday 2026-11-02 10:00: not yet (end of day)
    assert services.fire_due_timers(timed) == 0
    assert counts(timed) == (0, 0)
    clock.advance(days=1)  # Tuesday
    assert services.fire_due_timers(timed) == 1
    assert counts(timed) == (1, 1)
    assert services.fire_due_timers(timed) == 0
    assert counts(timed) == (1, 1)
    assert opened.number.startswith("311-2026-")


def test_a_timer_due_this_very_instant_waits_for_the_next(timed, clock):
    """SpiffWorkflow fires a timer once its deadline is past, not at it: a
    case whose deadline is exactly now is not claimed (it used to be claimed
    and recorded again and again, up to the pass's limit, without firing)."""
    services.open_case(timed, "temporizador", {"divisor": 2})
    with timed.db.read() as s:
        due = s.scalars(select(Case.next_timer_at)).one()
    assert due is not None
    clock.at = due
    assert services.fire_due_timers(timed) == 0
    assert counts(timed) == (0, 0)
    clock.advance(seconds=1)
    assert services.fire_due_timers(timed) == 1
    assert counts(timed) == (1, 1)


def test_failing_script_marks_the_case_and_others_go_on(timed, clock, monkeypatch):
    """A diagram error flags its case with the message; the next case still runs.

    The failure comes before anything of its case is recorded, so the batch
    is not redone: the good case is recorded once.
    """
    bad = services.open_case(timed, "temporizador", {"divisor": 0})
    good = services.open_case(timed, "temporizador", {"divisor": 5})
    clock.advance(days=5)
    real_store = steps.record_step
    recorded: list[int] = []

    def counting(s, p, case, *args, **kwargs):
        recorded.append(case.id)
        return real_store(s, p, case, *args, **kwargs)

    monkeypatch.setattr(steps, "record_step", counting)
    assert services.fire_due_timers(timed) == 1
    assert len(recorded) == 1
    with timed.db.read() as s:
        cases = {c.number: c for c in s.scalars(select(Case))}
    assert "ZeroDivisionError" in (cases[bad.number].error or "")
    assert cases[good.number].error is None
    assert cases[bad.number].next_timer_at is not None  # last good state kept
    assert counts(timed) == (1, 1)
    # An errored case is not retried in a loop.
    assert services.fire_due_timers(timed) == 0


def test_worker_killed_mid_run_loses_nothing(timed, clock, monkeypatch):
    """A crash inside the step rolls back; the next run finishes the job."""
    for _ in range(3):
        services.open_case(timed, "temporizador", {"divisor": 1})
    clock.advance(days=5)
    real_store = steps.record_step
    calls = {"n": 0}

    def crash_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("worker killed")
        return real_store(*args, **kwargs)

    monkeypatch.setattr(steps, "record_step", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        services.fire_due_timers(timed)
    assert counts(timed) == (0, 0)  # the batch rolled back as a whole
    monkeypatch.setattr(steps, "record_step", real_store)
    assert services.fire_due_timers(timed) == 3
    assert counts(timed) == (3, 3)


def test_a_batch_writes_each_statement_once(timed, clock):
    """Five due cases: one UPDATE per table and one INSERT per table for all."""
    for _ in range(5):
        services.open_case(timed, "temporizador", {"divisor": 1})
    clock.advance(days=5)
    seen: list[tuple[str, bool]] = []

    def count(conn, cursor, statement, params, context, executemany):
        seen.append((" ".join(statement.split()[:3]), executemany))

    event.listen(timed.db.engine, "before_cursor_execute", count)
    try:
        assert services.fire_due_timers(timed) == 5
    finally:
        event.remove(timed.db.engine, "before_cursor_execute", count)
    writes = [(sql, many) for sql, many in seen if sql.split()[0] in WRITES]
    assert sorted(writes) == [
        ("INSERT INTO case_event", True),
        ("INSERT INTO human_task", True),
        ('UPDATE "case" SET', True),
        ("UPDATE workflow_state SET", True),
    ]
    assert not [sql for sql, _ in seen if sql.startswith("SAVEPOINT")]
    assert counts(timed) == (5, 5)


def test_a_failure_while_recording_redoes_the_batch_case_by_case(
    timed, clock, monkeypatch
):
    """The batch's attempt rolls back; case by case, only the failing one is flagged."""
    opened = [
        services.open_case(timed, "temporizador", {"divisor": 1}) for _ in range(3)
    ]
    clock.advance(days=5)
    real_store = steps.record_step
    with timed.db.read() as s:
        bad_id = s.scalar(select(Case.id).where(Case.number == opened[1].number))

    def refuse_one(s, p, case, *args, **kwargs):
        if case.id == bad_id:
            raise ValueError("no se puede guardar")
        return real_store(s, p, case, *args, **kwargs)

    monkeypatch.setattr(steps, "record_step", refuse_one)
    assert services.fire_due_timers(timed) == 2
    with timed.db.read() as s:
        errors = dict(s.execute(select(Case.number, Case.error)).all())
        events = s.scalar(
            select(func.count()).select_from(CaseEvent).where(CaseEvent.kind == "error")
        )
    assert "no se puede guardar" in (errors[opened[1].number] or "")
    assert errors[opened[0].number] is None and errors[opened[2].number] is None
    # Nothing of the rolled-back attempt is left: one reminder per good case.
    assert counts(timed) == (2, 2)
    assert events == 1


@pytest.mark.postgres
def test_four_workers_fire_each_timer_exactly_once(db_url, clock):
    """Four workers on PostgreSQL over 1,000 due timers: each fires once."""
    p = Platform(db_url, clock=clock, identity_key=IDENTITY_KEY)
    assert p.db.is_postgres
    deploy(p)
    for _ in range(1000):
        services.open_case(p, "temporizador", {"divisor": 1})
    clock.advance(days=5)
    workers = [
        Platform(db_url, clock=clock, identity_key=IDENTITY_KEY) for _ in range(4)
    ]
    fired = [0] * 4
    barrier = threading.Barrier(4)

    def run(i: int) -> None:
        barrier.wait()
        while True:
            n = services.fire_due_timers(workers[i], limit=50)
            fired[i] += n
            if n == 0:
                break

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert sum(fired) == 1000
    assert sum(1 for n in fired if n) >= 2  # the work was really shared
    assert counts(p) == (1000, 1000)
    for w in workers:
        w.close()
    p.close()
