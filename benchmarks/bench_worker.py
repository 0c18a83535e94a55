"""The worker firing due timers vs raw SpiffWorkflow doing the same step.

Run: ``python benchmarks/bench_worker.py`` (``make bench`` runs it). Opens
``BENCH_TIMERS`` cases (2,000) of the timer fixture on SQLite, moves the
clock past their due time, then fires them in batches of ``BENCH_BATCH``
(25, the worker's own batch size), alternating three sides batch by batch:

- worker: ``services.fire_due_timers(p, limit=BATCH, batch=BATCH)``, one
  transaction per call (claim, restore, advance, state + projections +
  events, commit);
- raw persisted: in one transaction on the same database, SELECT the next
  BATCH due states from a one-table copy of the same states, restore each
  (``runtime.load_state``), ``refresh_timers()`` + ``do_engine_steps()`` at
  the same instant and calendar, dump it spec-less (``runtime.dump_state``),
  one UPDATE per case, commit;
- raw in memory: the same restore, step and dump with no database
  (printed for reference).

The first ``BENCH_WARMUP_BATCHES`` (2) batches of each side are not timed.
Each timed batch gives one per-timer sample (its time / timers fired);
values are medians of those. Exits 1 after the summary when the target is
missed (see ``harness.Report``).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from harness import (
    ROOT,
    Report,
    bench,
    env_int,
    median_ms,
    note,
    per_call_ms,
    sqlite_url,
)
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select, text

from engine import services
from engine.bundles import registry
from engine.bundles.registry import ParsedVersion
from engine.domain.clock import FrozenClock
from engine.services.platform import Platform
from engine.store import db as dbmod
from engine.store.models import Case, DayOff, WorkflowState
from engine.workflow import runtime, timekeeping
from engine.workflow.calendar import PANAMA, BusinessCalendar

BUNDLE = ROOT / "tests" / "fixtures" / "bundles" / "temporizador"
N = env_int("BENCH_TIMERS", 2000)
BATCH = env_int("BENCH_BATCH", 25)
WARMUP_BATCHES = env_int("BENCH_WARMUP_BATCHES", 2)
TARGET = 2.0


class RawTimers:
    """SpiffWorkflow firing the same timers, with or without a database."""

    def __init__(
        self, url: str, parsed: ParsedVersion, calendar: BusinessCalendar
    ) -> None:
        """Copy the cases' states into a one-table store (not timed)."""
        self.parsed = parsed
        self.calendar = calendar
        self.engine = dbmod.make_engine(url)
        with self.engine.begin() as conn:
            conn.execute(
                text(
                    "CREATE TABLE raw_timer (id INTEGER PRIMARY KEY, "
                    "due INTEGER NOT NULL, state TEXT NOT NULL)"
                )
            )
            # The worker's claim reads an index on the due time; so does this.
            conn.execute(text("CREATE INDEX ix_raw_timer_due ON raw_timer (due, id)"))
            conn.execute(
                text(
                    "INSERT INTO raw_timer (id, due, state) "
                    "SELECT case_id, 1, state FROM workflow_state"
                )
            )
            self.memory = [
                str(s)
                for s in conn.execute(
                    text("SELECT state FROM workflow_state ORDER BY case_id")
                ).scalars()
            ]
        self.memory_done = 0

    def step(self, state: str, now: datetime) -> str:
        """Restore one state, fire its due timers, run to the next wait, dump."""
        wf = runtime.load_state(self.parsed, state, runtime.FORMAT_VERSION)
        with timekeeping.at(now, self.calendar):
            wf.refresh_timers()
            wf.do_engine_steps()
        return runtime.dump_state(wf)

    def persisted_batch(self, now: datetime) -> int:
        """Claim, step and UPDATE one batch in one transaction; how many fired."""
        with self.engine.begin() as conn:
            rows = conn.execute(
                text(
                    "SELECT id, state FROM raw_timer WHERE due = 1 ORDER BY id LIMIT :n"
                ),
                {"n": BATCH},
            ).all()
            for row_id, state in rows:
                conn.execute(
                    text("UPDATE raw_timer SET due = 0, state = :s WHERE id = :i"),
                    {"i": row_id, "s": self.step(state, now)},
                )
        return len(rows)

    def memory_batch(self, now: datetime) -> int:
        """Step the next batch of states with no database; how many fired."""
        batch = self.memory[self.memory_done : self.memory_done + BATCH]
        for state in batch:
            self.step(state, now)
        self.memory_done += len(batch)
        return len(batch)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()


def timed_batches(
    sides: dict[str, Callable[[], int]],
) -> dict[str, list[float]]:
    """Run the sides batch by batch in turn until all are drained.

    Warm-up batches are run but not kept. Returns per-timer samples
    (seconds): each batch's time divided by the timers it fired.
    """
    samples: dict[str, list[float]] = {name: [] for name in sides}
    drained: set[str] = set()
    batches = 0
    while len(drained) < len(sides):
        for name, fire in sides.items():
            if name in drained:
                continue
            gc.collect()
            t0 = time.perf_counter()
            fired = fire()
            elapsed = time.perf_counter() - t0
            if fired == 0:
                drained.add(name)
            elif batches >= WARMUP_BATCHES:
                samples[name].append(elapsed / fired)
        batches += 1
    return samples


def same_work(p: Platform, raw: RawTimers) -> None:
    """Stop the run unless both sides left the last case at the same place."""
    with p.db.read() as s:
        row = s.scalars(
            select(WorkflowState).order_by(WorkflowState.case_id.desc()).limit(1)
        ).one()
        ours = runtime.load_state(raw.parsed, row.state, row.format_version)
        case_id = row.case_id
    with raw.engine.connect() as conn:
        state = conn.execute(
            text("SELECT state FROM raw_timer WHERE id = :i"), {"i": case_id}
        ).scalar_one()
    theirs = runtime.load_state(raw.parsed, state, runtime.FORMAT_VERSION)

    def waiting(wf: Any) -> list[str]:
        """The elements a workflow waits at."""
        return sorted(
            t.task_spec.bpmn_id
            for t in wf.get_tasks(state=TaskState.READY | TaskState.WAITING)
            if t.task_spec.bpmn_id
        )

    if waiting(ours) != waiting(theirs) or ours.last_task.data != (
        theirs.last_task.data
    ):
        raise SystemExit(f"raw side did other work: {waiting(ours)} {waiting(theirs)}")
    note(f"same work: both sides' last case now waits at {waiting(ours)}")


def main() -> int:
    """Run the benchmark; 1 when the target was missed, 2 when a timer did not fire."""
    report = Report("bench_worker.py")
    with sqlite_url() as url:
        clock = FrozenClock(datetime(2026, 10, 30, 10, 0, tzinfo=PANAMA))
        p = Platform(url, clock=clock)
        files = registry.read_bundle_dir(BUNDLE)
        services.deploy_version(p, files, deployed_by="bench")
        t0 = time.perf_counter()
        for _ in range(N):
            services.open_case(p, "temporizador", {"divisor": 1})
        note(f"opened {N} cases in {time.perf_counter() - t0:.1f} s")
        with p.db.read() as s:
            calendar = BusinessCalendar(list(s.scalars(select(DayOff.day))))
        raw = RawTimers(url, registry.parse_bundle(files), calendar)
        clock.advance(days=5)
        now = clock()

        def worker() -> int:
            """One worker transaction of up to BATCH due cases."""
            return services.fire_due_timers(p, limit=BATCH, batch=BATCH)

        samples = timed_batches(
            {
                "worker": worker,
                "persisted": lambda: raw.persisted_batch(now),
                "memory": lambda: raw.memory_batch(now),
            }
        )
        same_work(p, raw)
        with p.db.read() as s:
            left = s.scalar(
                select(func.count())
                .select_from(Case)
                .where(Case.next_timer_at.is_not(None))
            )
        raw.close()
        p.close()
    note(
        f"{N} timers per side in batches of {BATCH}, the first {WARMUP_BATCHES} "
        "batches of each side untimed; per-timer samples, one per batch"
    )
    note(f"worker: {per_call_ms(samples['worker'])}")
    note(f"raw persisted: {per_call_ms(samples['persisted'])}")
    note(f"raw in memory: {per_call_ms(samples['memory'])}")
    worker_ms = median_ms(samples["worker"])
    raw_ms = median_ms(samples["persisted"])
    memory_ms = median_ms(samples["memory"])
    bench("timers_per_s", 1e3 / worker_ms, "timers/s")
    bench("worker_timer_ms", worker_ms, "ms")
    bench("raw_timer_ms", raw_ms, "ms")
    report.ratio("worker_timer/raw_timer", worker_ms / raw_ms, TARGET)
    bench("raw_timer_memory_ms", memory_ms, "ms")
    report.ratio("worker_timer/raw_timer_memory", worker_ms / memory_ms, None)
    if left:
        note(f"FAILED: {left} cases still have a timer pending")
    status = report.finish()
    # 2, not 1: a lost timer is a broken run, not a missed target.
    return 2 if left else status


if __name__ == "__main__":
    raise SystemExit(main())
