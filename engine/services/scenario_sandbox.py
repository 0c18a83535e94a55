"""Throwaway databases for process tests, and what a case shows in one.

Each scenario runs on a database of its own: an SQLite file in a temporary
folder with the real schema (migrated once per process into a template,
then copied), the bundle stored as version 1 of its case type, one user per
role and one enlace per entity the scenarios name. Nothing touches
the platform the designer works on, so a scenario's result depends on the
bundle alone. (A file rather than an in-memory database: services open a
read beside a transaction, which one shared connection cannot do.)
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select

from engine.bundles.registry import ParsedVersion, SpecCache
from engine.domain.clock import Clock
from engine.domain.enums import CaseStatus, EventKind, Role, TaskState
from engine.domain.sealing import new_key
from engine.domain.views import Actor
from engine.services.accounts import (
    NO_PASSWORD,
    actor_from_user,
    ensure_roles,
    upsert_entity,
)
from engine.services.platform import Platform
from engine.store import db as store_db
from engine.store.accounts import User, UserEntity, UserRole
from engine.store.models import (
    Case,
    CaseEvent,
    DayOff,
    HumanTask,
    ProcessVersion,
    WorkflowState,
)
from engine.workflow import runtime

#: Who the sandbox's users act as; enlaces are named ``enlace.<code>``.
STAFF_USERS = {str(Role.AGENT): "agente", str(Role.SUPERVISOR): "supervisor"}

#: One scenario run at a time per process: they share the workbench.
_bench_lock = threading.RLock()


@dataclass
class _Workbench:
    """The process's sandbox files and the one platform that opens them.

    One platform (one SQLAlchemy engine) serves every run, its database
    file replaced in between: the statements it compiled stay compiled,
    which is most of what a fresh engine would cost per scenario.
    """

    folder: Path
    template: Path
    work: Platform

    @property
    def path(self) -> Path:
        """The file the platform opens."""
        return self.folder / "work.db"

    def load(self, source: Path) -> Platform:
        """The platform on a fresh copy of ``source`` (every cache emptied)."""
        self.work.close()  # the last connection out checkpoints the log
        for leftover in (Path(f"{self.path}-wal"), Path(f"{self.path}-shm")):
            leftover.unlink(missing_ok=True)
        shutil.copyfile(source, self.path)
        self.work.calendar_cache = None
        self.work.version_hashes = {}
        return self.work

    def save(self, target: Path) -> None:
        """Copy the platform's database to ``target`` (all its writes in it)."""
        self.work.close()
        shutil.copyfile(self.path, target)


_bench: _Workbench | None = None


def _workbench() -> _Workbench:
    """The process's workbench, made (and the schema migrated) on first use."""
    global _bench
    if _bench is None:
        folder = Path(tempfile.mkdtemp(prefix="c311-scenarios-"))
        atexit.register(shutil.rmtree, folder, True)
        template = folder / "template.db"
        store_db.upgrade(f"sqlite:///{template}")
        work = Platform(f"sqlite:///{folder / 'work.db'}")
        _bench = _Workbench(folder, template, work)
    return _bench


@dataclass
class Sandbox:
    """A prepared database (schema, users, the bundle) to copy per scenario."""

    parsed: ParsedVersion
    specs: SpecCache
    identity_key: str
    bench: _Workbench
    base: Path
    actors: dict[str, Actor] = field(default_factory=dict)

    def platform(self, clock: Clock, days_off: Iterable[date]) -> Platform:
        """A platform on a fresh copy of the prepared database, on ``clock``."""
        p = self.bench.load(self.base)
        p.clock = clock
        p.specs = self.specs
        p.identity_key = self.identity_key
        with p.db.transaction() as s:
            for day in days_off:
                s.add(
                    DayOff(
                        day=day,
                        name="Asueto",
                        created_by="escenario",
                        created_at=clock(),
                    )
                )
        return p

    def actor(self, role: str, entity: str | None) -> Actor | None:
        """The sandbox user of ``role`` (an enlace of ``entity``), if any."""
        if role == Role.LIAISON:
            return self.actors.get(f"enlace.{entity}")
        return self.actors.get(STAFF_USERS.get(str(role), ""))


@contextmanager
def sandbox(
    files: dict[str, str],
    parsed: ParsedVersion,
    specs: SpecCache,
    entities: Iterable[str],
    now: datetime,
) -> Iterator[Sandbox]:
    """A sandbox with the bundle as version 1, the roles, entities and users.

    Held for the whole run: another run in this process waits for it.
    """
    with _bench_lock:
        bench = _workbench()
        base = bench.folder / "base.db"
        p = bench.load(bench.template)
        p.clock = lambda: now
        p.specs = specs
        specs.put(parsed)
        ensure_roles(p)
        codes = sorted(set(entities))
        for code in codes:
            upsert_entity(p, code, code)
        with p.db.transaction() as s:
            s.add(
                ProcessVersion(
                    case_type=parsed.case_type,
                    version=1,
                    title=parsed.title,
                    content_hash=parsed.content_hash,
                    files=dict(files),
                    deployed_by="escenario",
                    deployed_at=now,
                    note="",
                )
            )
            people: list[tuple[str, str, str | None]] = [
                (name, role, None) for role, name in STAFF_USERS.items()
            ]
            people += [(f"enlace.{c}", str(Role.LIAISON), c) for c in codes]
            for username, role, entity in people:
                user = User(
                    username=username,
                    full_name=username,
                    password_hash=NO_PASSWORD,
                    created_at=now,
                    active=True,
                )
                user.roles = [UserRole(role_key=role)]
                user.entities = [UserEntity(entity_code=entity)] if entity else []
                s.add(user)
        with p.db.read() as s:
            actors = {u.username: actor_from_user(u) for u in s.scalars(select(User))}
        bench.save(base)
        try:
            yield Sandbox(parsed, specs, new_key(), bench, base, actors)
        finally:
            bench.work.close()


@dataclass(frozen=True)
class ReadyTask:
    """A user task waiting in the sandbox."""

    id: str
    bpmn_id: str
    name: str
    role: str
    entity_code: str | None


@dataclass(frozen=True)
class Observed:
    """What the case shows now, as the scenario's expectations name it."""

    closed: bool
    public_status: str
    public_statuses: list[str]
    milestone: str | None
    milestones: list[str]
    entity: str | None
    entities: list[str]
    due: datetime | None
    overdue: bool
    #: The contact is sealed: nobody but an unsealing supervisor sees it.
    identity_reserved: bool
    reopened: int
    pending: list[ReadyTask]
    path: list[str]
    current: list[str]
    error: str | None
    next_timer_at: datetime | None


def observe(p: Platform, parsed: ParsedVersion, number: str) -> Observed:
    """Read the case's row, events, ready tasks and workflow."""
    with p.db.read() as s:
        case = s.scalars(select(Case).where(Case.number == number)).one()
        events = list(
            s.scalars(
                select(CaseEvent)
                .where(CaseEvent.case_id == case.id)
                .order_by(CaseEvent.at, CaseEvent.id)
            )
        )
        ready = [
            ReadyTask(t.id, t.bpmn_id, t.name, t.role, t.entity_code)
            for t in s.scalars(
                select(HumanTask)
                .where(HumanTask.case_id == case.id, HumanTask.state == TaskState.READY)
                .order_by(HumanTask.created_at, HumanTask.id)
            )
        ]
        state = s.get(WorkflowState, case.id)
        assert state is not None
        workflow = runtime.load_state(parsed, state.state, state.format_version)
    snap = runtime.snapshot(parsed, workflow)
    _, current = runtime.element_states(workflow)

    def data_of(kind: str, key: str) -> list[str]:
        return [
            str((e.data or {}).get(key))
            for e in events
            if e.kind == kind and (e.data or {}).get(key) is not None
        ]

    return Observed(
        closed=case.status == CaseStatus.CLOSED,
        public_status=case.public_status,
        public_statuses=data_of(EventKind.STATUS, "status"),
        milestone=case.milestone,
        milestones=data_of(EventKind.MILESTONE, "key"),
        entity=case.entity_code,
        entities=data_of(EventKind.ASSIGNED, "entity"),
        due=case.due_at,
        overdue=case.overdue_at is not None,
        identity_reserved=case.identity_reserved
        and case.contact is None
        and case.sealed_contact is not None,
        reopened=case.reopen_count,
        pending=ready,
        path=[bpmn_id for bpmn_id, _ in snap.steps],
        current=current,
        error=case.error,
        next_timer_at=case.next_timer_at,
    )


def case_timer(p: Platform, number: str) -> tuple[datetime | None, str | None]:
    """The case's next timer and its error flag (what the worker looks at)."""
    with p.db.read() as s:
        row = s.execute(
            select(Case.next_timer_at, Case.error).where(Case.number == number)
        ).one()
    return row.next_timer_at, row.error
