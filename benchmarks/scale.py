"""The workspace's reads at 10,000 and at 1,000,000 cases (``make bench-scale``).

Run: ``python benchmarks/scale.py``. On SQLite, and on PostgreSQL when
``TEST_DATABASE_URL`` is set (in a throw-away schema ``scale``): deploy the
seed case types and demo users, grow the database with made-up cases (see
``scale_data``) to each size of ``SCALE_SIZES`` (``10000,1000000``) and at
each size time ``SCALE_RUNS`` (50) calls of every query below, after
``SCALE_WARMUP`` (5) untimed ones:

- ``inbox``: the first page of an enlace's inbox, as ``/tareas`` opens it,
  with the count of every tab (the busiest entity),
- ``search_number``: staff search by a full tracking number,
- ``search_text``: staff search by words (common and rare ones in turn),
- ``caller_lookup``: staff search by a caller's phone number,
- ``duplicates``: an open case's likely duplicates, as triage shows them,
- ``dashboard``: the supervisors' dashboard figures.

Prints ``BENCH <query>_<size> <p95> ms`` and, for the largest size against
the smallest, ``RATIO <query>_<big>/<query>_<small>`` (target ≤ 3). On
PostgreSQL every p95 at the largest size is also held to 50 ms; SQLite's
figures are printed, not targeted. Exits 1 when a target was missed.

Each run starts from empty databases and drops them at the end, unless
``SCALE_KEEP=1``: then each size has a database of its own, kept for the
next run (PostgreSQL: schema ``scale_<size>``, e.g. ``scale_1m``; SQLite:
``<tmp>/c311-scale/<size>.db``), migrated to the newest revision and grown
only if short, so the queries can be measured again at once after a change
of code or indexes. ``SCALE_DIALECTS`` (``sqlite,postgresql``) picks the
databases measured.
"""

from __future__ import annotations

import gc
import os
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from harness import (
    ROOT,
    Report,
    bench,
    env_int,
    note,
    postgres_base,
    postgres_url,
    sqlite_url,
)
from scale_data import NOW, Maker, ensure_entities, grow, version_ids
from sqlalchemy import func, select

from engine import services
from engine.domain.clock import FrozenClock
from engine.domain.views import Actor
from engine.domain.workspace import CaseQuery
from engine.services.accounts import authenticate, seed_demo
from engine.services.platform import Platform
from engine.store import db as dbmod
from engine.store.models import Case, CaseSearch

SIZES = [int(n) for n in os.environ.get("SCALE_SIZES", "10000,1000000").split(",")]
RUNS = env_int("SCALE_RUNS", 50)
WARMUP = env_int("SCALE_WARMUP", 5)
RATIO_TARGET = 3.0
P95_TARGET_MS = 50.0
PASSWORD = "demo311"
WORDS = ["agua", "basura acumulada", "semaforo", "techo filtrado", "Bella Vista"]
KEEP = os.environ.get("SCALE_KEEP", "") not in ("", "0")
DIALECTS = os.environ.get("SCALE_DIALECTS", "sqlite,postgresql").split(",")


def label(size: int) -> str:
    """10000 → 10k, 1000000 → 1M."""
    if size >= 1_000_000 and size % 1_000_000 == 0:
        return f"{size // 1_000_000}M"
    if size >= 1000 and size % 1000 == 0:
        return f"{size // 1000}k"
    return str(size)


def p95_ms(samples: list[float]) -> float:
    """The 95th percentile of samples in seconds, in milliseconds."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1e3


def sampled_numbers(p: Platform, rng: random.Random, n: int = 50) -> list[str]:
    """Tracking numbers of ``n`` cases picked at random."""
    with p.db.read() as s:
        top = int(s.scalar(select(func.max(Case.id))) or 0)
        ids = [rng.randint(1, top) for _ in range(n)]
        return [str(x) for x in s.scalars(select(Case.number).where(Case.id.in_(ids)))]


def sampled_phones(p: Platform, rng: random.Random, n: int = 50) -> list[str]:
    """Callers' phone numbers of up to ``n`` cases picked at random.

    Read back from the index, so a kept database needs no generator state.
    """
    with p.db.read() as s:
        top = int(s.scalar(select(func.max(Case.id))) or 0)
        ids = [rng.randint(1, top) for _ in range(4 * n)]
        found = s.scalars(
            select(CaseSearch.contact_digits)
            .where(CaseSearch.case_id.in_(ids), CaseSearch.contact_digits != "")
            .order_by(CaseSearch.case_id)
        )
        return [str(d) for d in found][:n]


def sampled_open(p: Platform, rng: random.Random, n: int = 50) -> list[str]:
    """Tracking numbers of ``n`` open cases filed in the last year, at random
    (triage looks at recent cases)."""
    with p.db.read() as s:
        newest = s.scalar(select(func.max(Case.created_at)))
        if newest is None:
            return []
        rows = list(
            s.scalars(
                select(Case.number)
                .where(
                    Case.status == "open",
                    Case.created_at >= newest - timedelta(days=365),
                )
                .order_by(Case.id.desc())
                .limit(20 * n)
            )
        )
    return rng.sample(rows, min(n, len(rows)))


def queries(
    p: Platform, actors: dict[str, Actor], rng: random.Random
) -> dict[str, Callable[[int], Any]]:
    """Each measured query, as a call taking the run's index."""
    numbers = sampled_numbers(p, rng)
    phones = sampled_phones(p, rng)
    open_numbers = sampled_open(p, rng) or numbers
    agent, supervisor = actors["agente"], actors["supervisor"]
    liaison = actors["enlace.minsa"]
    return {
        "inbox": lambda i: services.list_queue(p, liaison),
        "search_number": lambda i: services.search_cases(
            p, agent, CaseQuery(number=numbers[i % len(numbers)])
        ),
        "search_text": lambda i: services.search_cases(
            p, agent, CaseQuery(text=WORDS[i % len(WORDS)])
        ),
        "caller_lookup": lambda i: services.search_cases(
            p, agent, CaseQuery(contact=phones[i % len(phones)])
        ),
        "duplicates": lambda i: services.duplicate_candidates(
            p, agent, open_numbers[i % len(open_numbers)]
        ),
        "dashboard": lambda i: services.dashboard(p, supervisor),
    }


def measure(calls: dict[str, Callable[[int], Any]]) -> dict[str, float]:
    """p95 (ms) of ``RUNS`` timed calls of each query, after the warm-up."""
    result = {}
    for name, call in calls.items():
        for i in range(WARMUP):
            call(i)
        gc.collect()
        samples = []
        for i in range(RUNS):
            t0 = time.perf_counter()
            call(i)
            samples.append(time.perf_counter() - t0)
        result[name] = p95_ms(samples)
    return result


class Progress:
    """Says how the writing goes, every 15 seconds or so."""

    def __init__(self, dialect: str) -> None:
        """Start the clock."""
        self.dialect = dialect
        self.last = time.perf_counter()

    def __call__(self, done: int, total: int) -> None:
        """Note ``done`` of ``total`` when it is time (and at the end)."""
        now = time.perf_counter()
        if now - self.last > 15 or done == total:
            note(f"{self.dialect}: {done:,} of {total:,} cases written")
            self.last = now


def measure_sizes(
    url: str, dialect: str, sizes: list[int]
) -> dict[int, dict[str, float]]:
    """Grow one database through ``sizes``, measuring at each (p95 in ms)."""
    p = Platform(url, clock=FrozenClock(NOW))
    services.deploy_seed(p, ROOT / "bpmn", ROOT / "forms")
    seed_demo(p, PASSWORD)
    actors = {
        name: authenticate(p, name, PASSWORD, client="bench")
        for name in ("agente", "supervisor", "enlace.minsa")
    }
    maker = Maker(ensure_entities(p.db.engine), version_ids(p.db.engine))
    rng = random.Random(7)
    figures: dict[int, dict[str, float]] = {}
    for size in sizes:
        t0 = time.perf_counter()
        added = grow(p.db.engine, maker, size, Progress(dialect))
        note(
            f"{dialect}: {size:,} cases ({added:,} added in "
            f"{time.perf_counter() - t0:.0f} s)"
        )
        figures[size] = measure(queries(p, actors, rng))
        for name, ms in figures[size].items():
            bench(f"{name}_{dialect}_{label(size)}", ms, "ms")
    p.close()
    return figures


@contextmanager
def database(base: str | None, size: int | None) -> Iterator[str]:
    """A migrated database: throw-away, or the kept one of ``size``.

    On PostgreSQL at ``base``, else on SQLite.
    """
    if size is None and base is None:
        with sqlite_url() as url:
            yield url
    elif size is None:
        with postgres_url(str(base), "scale") as url:
            yield url
    elif base is None:
        folder = Path(tempfile.gettempdir()) / "c311-scale"
        folder.mkdir(exist_ok=True)
        url = f"sqlite:///{folder / label(size)}.db"
        dbmod.upgrade(url)
        yield url
    else:
        with postgres_url(base, f"scale_{label(size).lower()}", keep=True) as url:
            yield url


def run(dialect: str, report: Report) -> None:
    """Measure one dialect at every size, then print its ratios."""
    base = None
    if dialect == "postgresql":
        base = postgres_base()
        if base is None:
            return  # postgres_base said why
    if KEEP:
        figures: dict[int, dict[str, float]] = {}
        for size in SIZES:
            with database(base, size) as url:
                figures.update(measure_sizes(url, dialect, [size]))
    else:
        with database(base, None) as url:
            figures = measure_sizes(url, dialect, SIZES)
    small, big = min(SIZES), max(SIZES)
    if small == big:
        return
    for name in figures[big]:
        report.ratio(
            f"{name}_{dialect}_{label(big)}/{name}_{dialect}_{label(small)}",
            figures[big][name] / figures[small][name],
            RATIO_TARGET if dialect == "postgresql" else None,
        )
        if dialect == "postgresql":
            report.ratio(
                f"{name}_{dialect}_{label(big)}_p95/{P95_TARGET_MS:.0f}ms",
                figures[big][name] / P95_TARGET_MS,
                1.0,
            )


def main() -> int:
    """Measure on SQLite, then on PostgreSQL if there is one."""
    report = Report("scale.py")
    note(f"sizes {SIZES}, p95 of {RUNS} runs per query after {WARMUP} warm-up")
    for dialect in ("sqlite", "postgresql"):
        if dialect in DIALECTS:
            run(dialect, report)
    return report.finish()


if __name__ == "__main__":
    raise SystemExit(main())
