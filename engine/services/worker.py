"""Background work: due timers; the health check."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from engine.domain.enums import CaseStatus, TaskState
from engine.services import steps
from engine.services.common import (
    business_calendar,
    error_text,
    is_data_error,
    parsed_by_id,
)
from engine.services.platform import Platform
from engine.services.steps import flag_error
from engine.store.models import (
    Case,
    HumanTask,
    WorkflowState,
)
from engine.workflow import runtime, timekeeping
from engine.workflow.calendar import BusinessCalendar


def fire_due_timers(p: Platform, *, limit: int = 500, batch: int = 25) -> int:
    """Advance cases whose next timer is due; returns how many were advanced.

    Cases are claimed in batches, one transaction each. On PostgreSQL the
    claim is ``FOR UPDATE SKIP LOCKED``, so any number of workers share the
    work and each timer fires once; on SQLite ``BEGIN IMMEDIATE`` serialises
    workers. A case whose step fails is flagged with the error (its last
    good state kept) in the same transaction, and the others go on. A crash
    mid-batch rolls the whole batch back: the next run does it again.
    """
    done = failed = 0
    while done + failed < limit:
        now = p.clock()
        with p.db.transaction() as s:
            query = (
                select(Case)
                .where(
                    Case.status == CaseStatus.OPEN,
                    Case.error.is_(None),
                    Case.next_timer_at.is_not(None),
                    Case.next_timer_at <= now,
                )
                .order_by(Case.next_timer_at)
                .limit(min(batch, limit - done - failed))
            )
            if p.db.is_postgres:
                query = query.with_for_update(skip_locked=True)
            cases = list(s.scalars(query))
            if not cases:
                break
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
            calendar = business_calendar(p, s)
            for case in cases:
                if _advance_due_case(
                    s, p, case, states[case.id], ready_rows[case.id], now, calendar
                ):
                    done += 1
                else:
                    failed += 1
    return done


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
            parsed = parsed_by_id(p, s, case.process_version_id)
            workflow = runtime.load_state(parsed, state.state, state.format_version)
            before = runtime.completed_ids(workflow)
            with timekeeping.at(now, calendar):
                runtime.advance(workflow)
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
