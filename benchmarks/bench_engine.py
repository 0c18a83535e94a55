"""Service layer vs raw SpiffWorkflow: open a case, complete a task, stored bytes.

Run: ``python benchmarks/bench_engine.py`` (``make bench`` runs every
``benchmarks/bench_*.py``). Set ``TEST_DATABASE_URL`` to a PostgreSQL URL to
also measure on PostgreSQL (in a throw-away schema ``bench``, dropped at the
end). ``BENCH_CASES`` timed calls per side (300), ``BENCH_WARMUP`` untimed
ones before (20).

Both sides of a ratio do the same work apart from what the ratio is about:
the same ``queja`` diagram, parsed once and never timed, run by the engine's
script engine at the current time with the same business calendar, the same
intake and classification data, and the state dumped without its spec by
``runtime.dump_state`` (the format the service stores). The persisted raw
side then writes that state with one INSERT or UPDATE and a commit on the
same database; the memory raw side stops at the dump. Timings are medians of
per-call samples taken in interleaved rounds after a warm-up.

Exits 1 after the summary when a target is missed (see ``harness.Report``).
"""

from __future__ import annotations

import copy
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from harness import (
    ROOT,
    Report,
    bench,
    env_int,
    interleaved,
    median_ms,
    note,
    per_call_ms,
    postgres_base,
    postgres_url,
    sqlite_url,
)
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, text

from engine import services
from engine.bundles.registry import parse_bundle, seed_bundles
from engine.domain.views import Actor
from engine.services.accounts import authenticate, seed_demo
from engine.services.platform import Platform
from engine.store import db as dbmod
from engine.store.models import Case, DayOff, ProcessVersion, WorkflowState
from engine.workflow import runtime, timekeeping
from engine.workflow.calendar import BusinessCalendar

CASE_TYPE = "queja"
PASSWORD = "demo311"

N_CASES = env_int("BENCH_CASES", 300)  # timed calls per side
WARMUP = env_int("BENCH_WARMUP", 20)  # untimed calls per side before measuring
ROUNDS = 5  # interleaved rounds; N_CASES is split among them

TIME_TARGET = 2.0  # service / raw persisted on the same database
BYTES_TARGET = 0.5  # stored / stock serializer bytes (the spec left out)

# No personal fields: the service keeps all of it as workflow data, so the
# raw side puts exactly this on the start task.
INTAKE = {
    "categoria": "vias",
    "asunto": "Bache frente a la escuela",
    "descripcion": "Hay un bache profundo frente a la escuela de la calle 50 "
    "desde hace tres semanas; los buses lo esquivan por la acera.",
    "ubicacion": "Calle 50, Bella Vista",
}
CLASSIFY = {"decision": "aceptar", "entidad": "MINSA"}


# --------------------------------------------------------------------------
# Raw SpiffWorkflow: the same workflow work, without our services


class Raw:
    """SpiffWorkflow alone on the same parsed diagram, state dumped spec-less."""

    def __init__(self) -> None:
        """Parse the seed bundle once (not timed)."""
        files = seed_bundles(ROOT / "bpmn", ROOT / "forms")[CASE_TYPE]
        self.parsed = parse_bundle(files)
        # The service's calendar holds the admins' days off; set per database.
        self.calendar = BusinessCalendar()

    def started(self) -> Any:
        """A workflow started with the intake data and run to its first wait.

        As the service does (``runtime.start``): the data, under the
        variables every case starts with, goes on the built-in Start task,
        then timers and engine steps run at "now".
        """
        wf = BpmnWorkflow(
            self.parsed.spec,
            self.parsed.subprocess_specs,
            script_engine=runtime.SCRIPT_ENGINE,
        )
        first = wf.get_next_task(state=TaskState.READY)
        first.data.update(copy.deepcopy({**runtime.START_DEFAULTS, **INTAKE}))
        with timekeeping.at(datetime.now(UTC), self.calendar):
            wf.refresh_timers()
            wf.do_engine_steps()
        return wf

    def start(self) -> str:
        """Start to the first wait and dump the state (spec-less)."""
        return runtime.dump_state(self.started())

    def complete(self, state: str) -> str:
        """Restore, complete the classification, run to the next wait, dump."""
        wf = runtime.load_state(self.parsed, state, runtime.FORMAT_VERSION)
        (task,) = wf.get_tasks(state=TaskState.READY, manual=True)
        task.data.update(copy.deepcopy(CLASSIFY))
        with timekeeping.at(datetime.now(UTC), self.calendar):
            task.run()
            wf.refresh_timers()
            wf.do_engine_steps()
        return runtime.dump_state(wf)


class RawMemory:
    """The raw work with no database: states kept in a list."""

    def __init__(self, raw: Raw) -> None:
        """Share the parsed diagram of ``raw``."""
        self.raw = raw
        self.states: list[str] = []

    def start(self, _i: int) -> None:
        """Start + dump, kept for the completions."""
        self.states.append(self.raw.start())

    def complete(self, i: int) -> None:
        """Complete the ``i``-th started workflow (its state is not kept)."""
        self.raw.complete(self.states[i])


class RawPersisted:
    """The raw work plus one write and a commit on the service's database.

    One table ``raw_state (id, state TEXT)`` next to the service's tables,
    written through SQLAlchemy Core on an engine built like the service's
    (``engine.store.db.make_engine``: same driver, pragmas and pool).
    """

    def __init__(self, raw: Raw, url: str) -> None:
        """Create the one-table store."""
        self.raw = raw
        self.engine = dbmod.make_engine(url)
        with self.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS raw_state"))
            conn.execute(
                text("CREATE TABLE raw_state (id INTEGER PRIMARY KEY, state TEXT)")
            )
        self.ids: list[int] = []

    def reset(self) -> None:
        """Forget the warm-up rows (not timed)."""
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM raw_state"))
        self.ids.clear()

    def start(self, _i: int) -> None:
        """Start + dump, then one INSERT and the commit."""
        state = self.raw.start()
        row_id = len(self.ids) + 1
        with self.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO raw_state (id, state) VALUES (:i, :s)"),
                {"i": row_id, "s": state},
            )
        self.ids.append(row_id)

    def complete(self, i: int) -> None:
        """SELECT the state, complete + dump, one UPDATE and the commit."""
        row_id = self.ids[i]
        with self.engine.begin() as conn:
            state = conn.execute(
                text("SELECT state FROM raw_state WHERE id = :i"), {"i": row_id}
            ).scalar_one()
            conn.execute(
                text("UPDATE raw_state SET state = :s WHERE id = :i"),
                {"i": row_id, "s": self.raw.complete(state)},
            )

    def close(self) -> None:
        """Drop the table and the engine."""
        with self.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS raw_state"))
        self.engine.dispose()


# --------------------------------------------------------------------------
# Service side and checks


def seeded_platform(url: str) -> tuple[Platform, Actor]:
    """A platform with the seed case types deployed and the demo users."""
    p = Platform(url)
    services.deploy_seed(p, ROOT / "bpmn", ROOT / "forms")
    seed_demo(p, PASSWORD)
    return p, authenticate(p, "agente", PASSWORD, client="bench")


def ready_classifications(p: Platform, actor: Actor) -> list[str]:
    """Ids of the ready classification tasks, oldest first."""
    return [t.id for t in services.list_tasks(p, actor, limit=100_000)]


def newest_state(p: Platform) -> tuple[Any, str]:
    """The newest case's workflow (restored on its spec) and its stored text."""
    with p.db.read() as s:
        case = s.scalars(select(Case).order_by(Case.id.desc()).limit(1)).one()
        row = s.get(WorkflowState, case.id)
        version = s.get(ProcessVersion, case.process_version_id)
        assert row is not None and version is not None
        stored, format_version = row.state, row.format_version
        parsed = p.specs.get(version.content_hash, lambda: dict(version.files))
    return runtime.load_state(parsed, stored, format_version), stored


def shape(wf: Any) -> tuple[list[str], list[str], list[str]]:
    """What a step produced: completed and waiting elements, data keys."""
    completed = sorted(
        t.task_spec.bpmn_id
        for t in wf.get_tasks(state=TaskState.COMPLETED)
        if t.task_spec.bpmn_id
    )
    waiting = sorted(
        t.task_spec.bpmn_id
        for t in wf.get_tasks(state=TaskState.READY | TaskState.WAITING)
        if t.task_spec.bpmn_id
    )
    keys = {k for t in wf.get_tasks(state=TaskState.READY) for k in t.data}
    return completed, waiting, sorted(keys)


def check_same_work(label: str, service_wf: Any, raw_state: str, raw: Raw) -> None:
    """Stop the run if the raw side did not reach the service's state.

    Compares which elements completed, which wait, and the data keys; the
    values differ only in times and ids. Prints both state sizes.
    """
    raw_wf = runtime.load_state(raw.parsed, raw_state, runtime.FORMAT_VERSION)
    ours, theirs = shape(service_wf), shape(raw_wf)
    if ours != theirs:
        raise SystemExit(f"raw side did other work after {label}: {ours} vs {theirs}")
    note(
        f"same work after {label}: waiting at {ours[1]}, "
        f"{len(ours[0])} elements completed on both sides; state "
        f"{len(runtime.dump_state(service_wf))} (service) vs {len(raw_state)} (raw) "
        "bytes"
    )


def days_off(p: Platform) -> BusinessCalendar:
    """The business calendar the service uses on this database (not timed)."""
    with p.db.read() as s:
        return BusinessCalendar(list(s.scalars(select(DayOff.day))))


# --------------------------------------------------------------------------
# Benchmarks


def bench_backend(label: str, url: str, raw: Raw, report: Report) -> None:
    """open_case and complete_task on one backend vs both raw baselines.

    The three sides (service, raw persisted on this database, raw in memory)
    run interleaved. ``RATIO <op>/raw_memory`` is printed for SQLite only
    (the embedded default), so each name appears once.
    """
    p, actor = seeded_platform(url)
    raw.calendar = days_off(p)
    memory = RawMemory(raw)
    persisted = RawPersisted(raw, url)
    try:
        # Warm-up: caches, connection pool, first-use imports.
        for i in range(WARMUP):
            services.open_case(p, CASE_TYPE, INTAKE)
            memory.start(i)
            persisted.start(i)
        check_same_work("open_case", newest_state(p)[0], memory.states[-1], raw)
        for i, task_id in enumerate(ready_classifications(p, actor)):
            services.complete_task(p, actor, task_id, CLASSIFY)
            memory.complete(i)
            persisted.complete(i)
        check_same_work(
            "complete_task", newest_state(p)[0], raw.complete(memory.states[-1]), raw
        )
        memory.states.clear()
        persisted.reset()

        samples = interleaved(
            {
                "service": lambda _i: services.open_case(p, CASE_TYPE, INTAKE),
                "persisted": persisted.start,
                "memory": memory.start,
            },
            N_CASES,
            ROUNDS,
        )
        report_op("open_case", label, samples, report)

        if label == "sqlite":
            wf, stored = newest_state(p)
            stock = runtime.raw_serializer()
            raw_bytes = len(stock.serialize_json(wf).encode())
            spec = stock.to_dict(wf)["spec"]
            note(
                "stock serializer of the same workflow embeds its spec "
                f"(~{len(json.dumps(spec).encode())} bytes of it)"
            )
            bench("state_bytes", len(stored.encode()), "bytes")
            bench("raw_state_bytes", raw_bytes, "bytes")
            report.ratio(
                "state_bytes/raw_state_bytes",
                len(stored.encode()) / raw_bytes,
                BYTES_TARGET,
            )

        task_ids = ready_classifications(p, actor)
        assert len(task_ids) == N_CASES == len(memory.states) == len(persisted.ids)
        samples = interleaved(
            {
                "service": lambda i: services.complete_task(
                    p, actor, task_ids[i], CLASSIFY
                ),
                "persisted": persisted.complete,
                "memory": memory.complete,
            },
            N_CASES,
            ROUNDS,
        )
        report_op("complete_task", label, samples, report)
    finally:
        persisted.close()
        p.close()


def report_op(
    op: str, label: str, samples: dict[str, list[float]], report: Report
) -> None:
    """BENCH and RATIO lines of one operation on one backend."""
    service = median_ms(samples["service"])
    persisted = median_ms(samples["persisted"])
    memory = median_ms(samples["memory"])
    note(f"{op} on {label}: {per_call_ms(samples['service'])}")
    note(f"raw persisted on {label}: {per_call_ms(samples['persisted'])}")
    note(f"raw in memory: {per_call_ms(samples['memory'])}")
    bench(f"{op}_{label}_ms", service, "ms")
    bench(f"raw_persisted_{op}_{label}_ms", persisted, "ms")
    report.ratio(
        f"{op}_{label}/raw_persisted_{label}", service / persisted, TIME_TARGET
    )
    if label == "sqlite":
        bench(f"raw_memory_{op}_ms", memory, "ms")
        report.ratio(f"{op}/raw_memory", service / memory, None)
    else:
        note(
            f"raw in memory alongside {label}: {memory:.3f} ms "
            f"({op}_{label}/raw_memory {service / memory:.3f}, reference only)"
        )


def main() -> int:
    """Run every benchmark; 1 when a target was missed."""
    started = time.perf_counter()
    note(
        f"Centro 311 engine benchmark: {N_CASES} timed calls per side in "
        f"{ROUNDS} interleaved rounds after {WARMUP} warm-up calls; "
        "values are per-call medians"
    )
    note(f"python {sys.version.split()[0]}")
    report = Report("bench_engine.py")
    raw = Raw()
    with sqlite_url() as url:
        bench_backend("sqlite", url, raw, report)
    pg = postgres_base()
    if pg:
        with postgres_url(pg) as url:
            bench_backend("postgres", url, raw, report)
    note(f"total {time.perf_counter() - started:.1f} s")
    return report.finish()


if __name__ == "__main__":
    raise SystemExit(main())
