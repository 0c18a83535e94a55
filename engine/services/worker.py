"""Background work: due timers; the health check."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from engine.domain.enums import TaskState
from engine.services import steps
from engine.services.common import (
    business_calendar,
    error_text,
    is_data_error,
    parsed_by_id,
)
from engine.services.events import flag_error
from engine.services.platform import Platform
from engine.store.db import defer_updates
from engine.store.models import (
    Case,
    HumanTask,
    WorkflowState,
)
from engine.workflow import runtime, timekeeping
from engine.workflow.calendar import BusinessCalendar

log = logging.getLogger("centro311.worker")


def fire_due_timers(p: Platform, *, limit: int = 500, batch: int = 25) -> int:
    """Advance cases whose next timer is due; returns how many were advanced.

    Cases are claimed in batches, one transaction each. On PostgreSQL the
    claim is ``FOR UPDATE SKIP LOCKED``, so any number of workers share the
    work and each timer fires once; on SQLite ``BEGIN IMMEDIATE`` serialises
    workers. A batch is first tried in one go, its writes held and sent
    once per statement at the end; if anything in it fails, that attempt is
    rolled back and the batch redone case by case, each in a savepoint, so
    a case whose step fails is flagged with the error (its last good state
    kept) in the same transaction, and the others go on. A crash mid-batch
    rolls the whole batch back: the next run does it again.
    """
    done = failed = 0
    while done + failed < limit:
        now = p.clock()
        size = min(batch, limit - done - failed)
        try:
            with p.db.transaction() as s:
                claimed = _claim(p, s, now, size)
                if claimed is None:
                    break
                defer_updates(s)
                advanced = flagged = 0
                for case, state, rows in claimed.cases:
                    # A step that fails before recording wrote nothing: it
                    # is flagged here. A failure while recording, or any
                    # database error, ends this attempt (the rows held are
                    # mixed with the other cases').
                    try:
                        stepped = _advance(s, p, case, state, now, claimed.calendar)
                    except DBAPIError:
                        raise
                    except Exception as exc:  # noqa: BLE001 - this case failed
                        flag_error(s, case, now, error_text(exc))
                        flagged += 1
                        continue
                    _record(s, p, case, state, rows, now, stepped)
                    advanced += 1
        except DBAPIError as exc:
            if not is_data_error(exc):
                raise  # the database itself is in trouble: the pass ends
        except Exception as exc:  # noqa: BLE001 - redone case by case below
            log.info("timer batch redone case by case after: %s", error_text(exc))
        else:
            done += advanced
            failed += flagged
            continue
        with p.db.transaction() as s:
            claimed = _claim(p, s, now, size)
            if claimed is None:
                break
            for case, state, rows in claimed.cases:
                if _advance_due_case(s, p, case, state, rows, now, claimed.calendar):
                    done += 1
                else:
                    failed += 1
    return done


class _Claimed(NamedTuple):
    """A claimed batch: each case with its state and ready task rows."""

    cases: list[tuple[Case, WorkflowState, list[HumanTask]]]
    calendar: BusinessCalendar


def _claim(p: Platform, s: Session, now: datetime, size: int) -> _Claimed | None:
    """Claim up to ``size`` due cases with what their steps read; None if none."""
    query = (
        select(Case)
        .where(
            # Closed cases too: an answered case keeps its survey window,
            # whose timer closes the survey (a case with nothing left to
            # wait for has no timer).
            Case.error.is_(None),
            Case.next_timer_at.is_not(None),
            # Strictly before: SpiffWorkflow fires a timer once its deadline
            # is past. A case due this very instant would be advanced
            # without firing, keep its deadline and be claimed again.
            Case.next_timer_at < now,
        )
        .order_by(Case.next_timer_at)
        .limit(size)
    )
    if p.db.is_postgres:
        query = query.with_for_update(skip_locked=True)
    cases = list(s.scalars(query))
    if not cases:
        return None
    states = {
        w.case_id: w
        for w in s.scalars(
            select(WorkflowState).where(
                WorkflowState.case_id.in_([c.id for c in cases])
            )
        )
    }
    ready_rows: dict[int, list[HumanTask]] = {c.id: [] for c in cases}
    for row in s.scalars(
        select(HumanTask).where(
            HumanTask.case_id.in_(list(ready_rows)),
            HumanTask.state == TaskState.READY,
        )
    ):
        ready_rows[row.case_id].append(row)
    return _Claimed(
        [(c, states[c.id], ready_rows[c.id]) for c in cases],
        business_calendar(p, s),
    )


def _advance(
    s: Session,
    p: Platform,
    case: Case,
    state: WorkflowState,
    now: datetime,
    calendar: BusinessCalendar,
) -> tuple[Any, Any, frozenset[str]]:
    """Restore one case and fire its due timers: (parsed, workflow, before)."""
    parsed = parsed_by_id(p, s, case.process_version_id)
    workflow = runtime.load_state(parsed, state.state, state.format_version)
    before = runtime.completed_ids(workflow)
    with timekeeping.at(now, calendar):
        runtime.advance(workflow)
    return parsed, workflow, before


def _record(
    s: Session,
    p: Platform,
    case: Case,
    state: WorkflowState,
    ready_rows: list[HumanTask],
    now: datetime,
    stepped: tuple[Any, Any, frozenset[str]],
) -> None:
    """Record what :func:`_advance` did to one case (no actor: the worker)."""
    parsed, workflow, before = stepped
    steps.record_step(
        s,
        p,
        case,
        parsed,
        workflow,
        None,
        now,
        state=state,
        before=before,
        ready_rows=ready_rows,
    )


def _advance_due_case(
    s: Session,
    p: Platform,
    case: Case,
    state: WorkflowState,
    ready_rows: list[HumanTask],
    now: datetime,
    calendar: BusinessCalendar,
) -> bool:
    """Fire one case's due timers inside a savepoint; False if it failed.

    Whatever fails -- a script, a bound, a value the state cannot hold, a
    row the database refuses -- rolls back this case's savepoint only: the
    case is flagged with the error (last good state kept) and the rest of
    the batch goes on.
    """
    case_id = case.id
    try:
        with s.begin_nested():
            stepped = _advance(s, p, case, state, now, calendar)
            _record(s, p, case, state, ready_rows, now, stepped)
        return True
    except DBAPIError as exc:
        if not is_data_error(exc):
            raise  # the database itself is in trouble: the pass ends
        message = error_text(exc.orig or exc)
    except Exception as exc:  # noqa: BLE001 - any failure of this case
        message = error_text(exc)
    # The savepoint's rollback expired what it changed: reload and flag.
    flagged = s.get(Case, case_id)
    if flagged is not None:
        s.refresh(flagged)
        flag_error(s, flagged, now, message)
    return False


def health(p: Platform) -> bool:
    """True when the database answers."""
    try:
        with p.db.read() as s:
            s.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not healthy"
        return False
