"""Service layer vs raw SpiffWorkflow: open a case, complete a task, stored bytes.

Run: ``python benchmarks/bench_engine.py`` (``make bench`` runs every
``benchmarks/bench_*.py``). Set ``TEST_DATABASE_URL`` to a PostgreSQL URL to
also measure on PostgreSQL (in a throw-away schema ``bench``, dropped at the
end). Output lines:

    BENCH <name> <value> <unit>
    RATIO <name> <value>
    # free-form comments

Timings are the median of per-call ``time.perf_counter`` samples, taken in
several interleaved rounds (service, raw, service, raw, ...) after a warm-up,
so both sides see the same machine state. Parsing is never timed: both sides
start from an already parsed spec. The script always exits 0 when it runs;
``# OVER TARGET`` lines flag ratios above their target.
"""

from __future__ import annotations

import copy
import gc
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import SQLAlchemyError

from engine import db as dbmod
from engine import runtime, services
from engine.accounts import authenticate, seed_demo
from engine.models import Case, ProcessVersion, WorkflowState
from engine.platform import Platform
from engine.registry import parse_bundle, seed_bundles
from engine.views import Actor

ROOT = Path(__file__).resolve().parent.parent
CASE_TYPE = "queja"
PASSWORD = "demo311"

N_CASES = int(os.environ.get("BENCH_CASES", "300"))  # timed calls per side
ROUNDS = 5  # interleaved rounds; N_CASES is split among them
WARMUP = 20  # untimed calls per side before measuring

TIME_TARGET = 2.0  # service / raw, both time ratios
BYTES_TARGET = 0.5  # stored / raw serializer bytes

INTAKE = {
    "categoria": "vias",
    "asunto": "Bache frente a la escuela",
    "descripcion": "Hay un bache profundo frente a la escuela de la calle 50 "
    "desde hace tres semanas; los buses lo esquivan por la acera.",
    "ubicacion": "Calle 50, Bella Vista",
}
CLASSIFY = {"decision": "aceptar", "entidad": "MINSA"}


# --------------------------------------------------------------------------
# Output


def bench(name: str, value: float, unit: str) -> None:
    """Print one ``BENCH`` line."""
    shown = f"{value:.3f}" if unit == "ms" else f"{value:.0f}"
    print(f"BENCH {name} {shown} {unit}", flush=True)


def ratio(name: str, value: float, target: float) -> bool:
    """Print one ``RATIO`` line with its target and verdict; True when met."""
    ok = value <= target
    print(f"RATIO {name} {value:.3f}")
    print(f"#   target: {name} <= {target}")
    print("# OK" if ok else "# OVER TARGET", flush=True)
    return ok


def note(text_: str) -> None:
    """Print a human-friendly comment line."""
    print(f"# {text_}", flush=True)


# --------------------------------------------------------------------------
# Timing


def per_call_ms(samples: list[float]) -> str:
    """A short spread summary of per-call samples (seconds) in ms."""
    ordered = sorted(samples)
    p90 = ordered[int(0.9 * (len(ordered) - 1))]
    return (
        f"n={len(samples)} median={statistics.median(samples) * 1e3:.3f} "
        f"mean={statistics.fmean(samples) * 1e3:.3f} p90={p90 * 1e3:.3f} ms"
    )


def interleaved(
    sides: dict[str, tuple[Callable[[int], Any], int]],
    n: int,
    rounds: int = ROUNDS,
) -> dict[str, list[float]]:
    """Time ``n`` calls of each side, alternating sides round by round.

    ``sides`` maps a name to ``(fn, offset)``; call ``i`` of a side runs
    ``fn(offset + i)`` (so a side can walk through prepared inputs). Each
    call is timed alone; returns the per-call samples in seconds.
    """
    samples: dict[str, list[float]] = {name: [] for name in sides}
    done = dict.fromkeys(sides, 0)
    per_round = -(-n // rounds)
    for _ in range(rounds):
        for name, (fn, offset) in sides.items():
            todo = min(per_round, n - done[name])
            gc.collect()
            for _ in range(todo):
                i = offset + done[name]
                t0 = time.perf_counter()
                fn(i)
                samples[name].append(time.perf_counter() - t0)
                done[name] += 1
    return samples


# --------------------------------------------------------------------------
# Raw SpiffWorkflow baseline (same diagram, same script engine, same data)


class Raw:
    """The same work done with SpiffWorkflow alone: no database, no projections."""

    def __init__(self) -> None:
        """Parse the seed bundle once (not timed) and build the stock serializer."""
        files = seed_bundles(ROOT / "bpmn", ROOT / "forms")[CASE_TYPE]
        parsed = parse_bundle(files)
        self.spec = parsed.spec
        self.subprocess_specs = parsed.subprocess_specs
        self.serializer = runtime.raw_serializer()
        self.states: list[str] = []  # serialized workflows after start

    def start_workflow(self) -> Any:
        """Start a workflow with the intake data and run it to its first wait."""
        wf = BpmnWorkflow(
            self.spec, self.subprocess_specs, script_engine=runtime.SCRIPT_ENGINE
        )
        first = wf.get_next_task(state=TaskState.READY)
        first.data.update(copy.deepcopy(INTAKE))
        wf.refresh_timers()
        wf.do_engine_steps()
        return wf

    def start(self, _i: int) -> None:
        """Start + engine steps + ``serialize_json`` (kept for the complete run)."""
        self.states.append(self.serializer.serialize_json(self.start_workflow()))

    def complete(self, i: int) -> None:
        """``deserialize_json`` + complete the classification + steps + serialize."""
        wf = self.serializer.deserialize_json(self.states[i])
        wf.script_engine = runtime.SCRIPT_ENGINE
        (task,) = wf.get_tasks(state=TaskState.READY, manual=True)
        task.data.update(copy.deepcopy(CLASSIFY))
        task.run()
        wf.refresh_timers()
        wf.do_engine_steps()
        self.serializer.serialize_json(wf)


class RawPersisted:
    """Raw SpiffWorkflow persisted the naive way: its whole JSON in one table.

    What an application without our store would do: the same start or
    completion, ``serialize_json`` (spec included), then one INSERT or
    UPDATE of that text and a commit, through SQLAlchemy Core on the same
    database. The service's ratio against this shows what our projections,
    audit trail, locking and validation cost on top of persistence itself.
    """

    def __init__(self, raw: Raw, url: str) -> None:
        """Create the one-table store next to the service's tables."""
        self.raw = raw
        self.engine = dbmod.make_engine(url)
        with self.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS raw_store"))
            conn.execute(
                text("CREATE TABLE raw_store (id INTEGER PRIMARY KEY, state TEXT)")
            )
        self.next_id = 0

    def start(self, _i: int) -> None:
        """Start, serialize, INSERT, commit."""
        state = self.raw.serializer.serialize_json(self.raw.start_workflow())
        self.next_id += 1
        with self.engine.begin() as conn:
            conn.execute(
                text("INSERT INTO raw_store (id, state) VALUES (:i, :s)"),
                {"i": self.next_id, "s": state},
            )

    def complete(self, i: int) -> None:
        """SELECT, deserialize, complete, serialize, UPDATE, commit."""
        row_id = i + 1
        with self.engine.begin() as conn:
            state = conn.execute(
                text("SELECT state FROM raw_store WHERE id = :i"), {"i": row_id}
            ).scalar_one()
            wf = self.raw.serializer.deserialize_json(state)
            wf.script_engine = runtime.SCRIPT_ENGINE
            (task,) = wf.get_tasks(state=TaskState.READY, manual=True)
            task.data.update(copy.deepcopy(CLASSIFY))
            task.run()
            wf.refresh_timers()
            wf.do_engine_steps()
            conn.execute(
                text("UPDATE raw_store SET state = :s WHERE id = :i"),
                {"i": row_id, "s": self.raw.serializer.serialize_json(wf)},
            )

    def close(self) -> None:
        """Drop the table and the engine."""
        with self.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS raw_store"))
        self.engine.dispose()


# --------------------------------------------------------------------------
# Databases


@contextmanager
def sqlite_url() -> Iterator[str]:
    """A migrated SQLite file database in a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="c311-bench-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        dbmod.upgrade(url)
        yield url


def with_search_path(url: str, schema: str) -> str:
    """``url`` with ``options=-csearch_path=<schema>`` added to its query."""
    parts = urlsplit(url)
    extra = f"options=-csearch_path%3D{schema}"
    query = f"{parts.query}&{extra}" if parts.query else extra
    return urlunsplit(parts._replace(query=query))


@contextmanager
def postgres_url(base: str, schema: str = "bench") -> Iterator[str]:
    """A migrated dedicated schema on PostgreSQL, dropped afterwards."""
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = with_search_path(base, schema)
        check = create_engine(url)
        with check.connect() as conn:
            current = conn.execute(text("SELECT current_schema()")).scalar_one()
        check.dispose()
        if current != schema:
            raise RuntimeError(f"search_path not applied: current_schema={current}")
        dbmod.upgrade(url)
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def postgres_problem(url: str) -> str | None:
    """Why ``url`` cannot be used (None when a connection answers)."""
    try:
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            engine.dispose()
    except SQLAlchemyError as exc:
        return f"{exc.__class__.__name__}: {str(exc).splitlines()[0]}"
    return None


def seeded_platform(url: str) -> tuple[Platform, Actor]:
    """A platform with the seed case types deployed and the demo users."""
    p = Platform(url)
    services.deploy_seed(p, ROOT / "bpmn", ROOT / "forms")
    seed_demo(p, PASSWORD)
    return p, authenticate(p, "agente", PASSWORD, client="bench")


def ready_classifications(p: Platform, actor: Actor) -> list[str]:
    """Ids of the ready classification tasks, oldest first."""
    tasks = services.list_tasks(p, actor, limit=100_000)
    return [t.id for t in tasks]


# --------------------------------------------------------------------------
# Benchmarks


def bench_backend(label: str, url: str, raw: Raw, first: bool) -> None:
    """open_case and complete_task on one backend vs the raw baseline.

    Each ratio divides by the raw median measured interleaved with this
    backend's calls. The raw medians get ``BENCH`` lines on the ``first``
    backend only (one line per name); later backends show theirs as ``#``.
    """
    p, actor = seeded_platform(url)
    persisted = RawPersisted(raw, url)
    try:
        # Warm-up: caches, connection pool, first-use imports, JIT-free paths.
        for _ in range(WARMUP):
            services.open_case(p, CASE_TYPE, INTAKE)
            raw.start(0)
        warm_tasks = ready_classifications(p, actor)
        for i, task_id in enumerate(warm_tasks):
            services.complete_task(p, actor, task_id, CLASSIFY)
            raw.complete(i)
        raw.states.clear()

        for _ in range(WARMUP):
            persisted.start(0)
        persisted.next_id = 0
        with persisted.engine.begin() as conn:
            conn.execute(text("DELETE FROM raw_store"))

        # 1/2. Open cases.
        samples = interleaved(
            {
                "service": (lambda _i: services.open_case(p, CASE_TYPE, INTAKE), 0),
                "raw": (raw.start, 0),
                "persisted": (persisted.start, 0),
            },
            N_CASES,
        )
        raw_open_db = statistics.median(samples["persisted"]) * 1e3
        svc_open = statistics.median(samples["service"]) * 1e3
        raw_open = statistics.median(samples["raw"]) * 1e3
        note(f"open_case on {label}: {per_call_ms(samples['service'])}")
        note(f"raw start: {per_call_ms(samples['raw'])}")
        bench(f"open_case_{label}_ms", svc_open, "ms")
        raw_line("raw_start_ms", raw_open, label, first)
        ratio(f"open_case_{label}/raw_start", svc_open / raw_open, TIME_TARGET)
        note(f"raw start persisted on {label}: {per_call_ms(samples['persisted'])}")
        bench(f"raw_start_persisted_{label}_ms", raw_open_db, "ms")
        ratio(
            f"open_case_{label}/raw_start_persisted",
            svc_open / raw_open_db,
            TIME_TARGET,
        )

        # 4. Stored bytes, at the first wait (right after open_case).
        if first:
            stored, raw_bytes = newest_state_bytes(p)
            fresh = raw.serializer.serialize_json(raw.start_workflow()).encode()
            spec = raw.serializer.to_dict(raw.start_workflow())["spec"]
            note(
                f"raw serializer, workflow started without the service: "
                f"{len(fresh)} bytes (its embedded spec alone: "
                f"~{len(json.dumps(spec).encode())} bytes)"
            )
            bench("state_bytes", stored, "bytes")
            bench("raw_state_bytes", raw_bytes, "bytes")
            ratio("state_bytes/raw_state_bytes", stored / raw_bytes, BYTES_TARGET)

        # 3. Complete the classification of the fresh cases.
        task_ids = ready_classifications(p, actor)
        assert len(task_ids) == N_CASES == len(raw.states), (
            len(task_ids),
            len(raw.states),
        )
        samples = interleaved(
            {
                "service": (
                    lambda i: services.complete_task(p, actor, task_ids[i], CLASSIFY),
                    0,
                ),
                "raw": (raw.complete, 0),
                "persisted": (persisted.complete, 0),
            },
            N_CASES,
        )
        raw_done_db = statistics.median(samples["persisted"]) * 1e3
        svc_done = statistics.median(samples["service"]) * 1e3
        raw_done = statistics.median(samples["raw"]) * 1e3
        note(f"complete_task on {label}: {per_call_ms(samples['service'])}")
        note(f"raw complete: {per_call_ms(samples['raw'])}")
        bench(f"complete_task_{label}_ms", svc_done, "ms")
        raw_line("raw_complete_ms", raw_done, label, first)
        ratio(f"complete_task_{label}/raw_complete", svc_done / raw_done, TIME_TARGET)
        bench(f"raw_complete_persisted_{label}_ms", raw_done_db, "ms")
        ratio(
            f"complete_task_{label}/raw_complete_persisted",
            svc_done / raw_done_db,
            TIME_TARGET,
        )
        if first:
            stored, raw_bytes = newest_state_bytes(p)
            note(
                f"after the classification: stored {stored} bytes vs raw "
                f"{raw_bytes} bytes (ratio {stored / raw_bytes:.3f})"
            )
        raw.states.clear()
    finally:
        persisted.close()
        p.close()


def raw_line(name: str, value: float, label: str, first: bool) -> None:
    """A raw baseline median: a BENCH line the first time, a comment after."""
    if first:
        bench(name, value, "ms")
    else:
        note(f"{name} measured with the {label} run: {value:.3f} ms")


def newest_state_bytes(p: Platform) -> tuple[int, int]:
    """Bytes we store for the newest case vs SpiffWorkflow's own serializer.

    Both sides describe the very same workflow: the stored state is restored
    onto its version's spec and written again with the stock serializer.
    """
    with p.db.read() as s:
        case = s.scalars(select(Case).order_by(Case.id.desc()).limit(1)).one()
        row = s.get(WorkflowState, case.id)
        version = s.get(ProcessVersion, case.process_version_id)
        assert row is not None and version is not None
        stored = row.state
        format_version = row.format_version
        parsed = p.specs.get(version.content_hash, lambda: dict(version.files))
    workflow = runtime.load_state(parsed, stored, format_version)
    raw_json = runtime.raw_serializer().serialize_json(workflow)
    return len(stored.encode()), len(raw_json.encode())


def main() -> int:
    """Run every benchmark; always 0 unless something crashes."""
    started = time.perf_counter()
    note(
        f"Centro 311 engine benchmark: {N_CASES} timed calls per side in "
        f"{ROUNDS} interleaved rounds after {WARMUP} warm-up calls; "
        "values are per-call medians"
    )
    note(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    raw = Raw()
    with sqlite_url() as url:
        bench_backend("sqlite", url, raw, first=True)

    pg = os.environ.get("TEST_DATABASE_URL", "")
    if not pg:
        note("TEST_DATABASE_URL not set: PostgreSQL benchmarks skipped")
    else:
        problem = postgres_problem(pg)
        if problem:
            note(f"PostgreSQL unreachable, benchmarks skipped: {problem}")
        else:
            with postgres_url(pg) as url:
                bench_backend("postgres", url, raw, first=False)
    note(f"total {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
