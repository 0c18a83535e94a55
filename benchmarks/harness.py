"""What every benchmark shares: output lines, targets, timing and databases.

Not a benchmark itself (``make bench`` runs ``bench_*.py`` only). Output
lines, the same in every script:

    BENCH <name> <value> <unit>
    RATIO <name> <value>
    #   target <= 2.0: OK | MISSED (...) | reference only, no target
    # MISSED <name> <value> > <target> (...)      (in the closing summary)
    # free-form comments

A script prints every result first and the summary of missed targets last,
and exits 1 when one was missed (see :meth:`Report.finish`), so
``make bench`` fails and says which.
"""

from __future__ import annotations

import gc
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from engine.store import db as dbmod

ROOT = Path(__file__).resolve().parent.parent


def env_int(name: str, default: int) -> int:
    """An integer setting from the environment (tests shrink the runs)."""
    return int(os.environ.get(name, str(default)))


# --------------------------------------------------------------------------
# Output and targets


def note(text_: str) -> None:
    """Print a human-friendly comment line."""
    print(f"# {text_}", flush=True)


def bench(name: str, value: float, unit: str) -> None:
    """Print one ``BENCH`` line; times keep three decimals, counts none."""
    shown = f"{value:.3f}" if unit == "ms" else f"{value:.0f}"
    print(f"BENCH {name} {shown} {unit}", flush=True)


@dataclass
class Report:
    """The ratios one script printed, to close with a summary of misses."""

    script: str
    met: list[str] = field(default_factory=list)
    missed: list[str] = field(default_factory=list)

    def ratio(self, name: str, value: float, target: float | None) -> None:
        """Print a ``RATIO`` line and its verdict (``None``: reference only)."""
        print(f"RATIO {name} {value:.3f}")
        if target is None:
            note("  reference only, no target")
        elif value <= target:
            note(f"  target <= {target}: OK")
            self.met.append(name)
        else:
            over = value / target - 1
            note(f"  target <= {target}: MISSED ({over:.0%} over)")
            self.missed.append(
                f"{name} {value:.3f} > {target} ({over:.0%} over, {self.script})"
            )

    def finish(self) -> int:
        """Print the summary of targets; the exit status (1 when one missed)."""
        total = len(self.met) + len(self.missed)
        note(f"{self.script}: {len(self.met)} of {total} targets met")
        for line in self.missed:
            note(f"MISSED {line}")
        return 1 if self.missed else 0


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


def median_ms(samples: list[float]) -> float:
    """The median of samples in seconds, in milliseconds."""
    return statistics.median(samples) * 1e3


def interleaved(
    sides: dict[str, Callable[[int], Any]], n: int, rounds: int
) -> dict[str, list[float]]:
    """Time ``n`` calls of each side, alternating sides round by round.

    Call ``i`` of a side runs ``fn(i)`` (so a side can walk through prepared
    inputs) and is timed alone. Every round runs each side once in turn, so
    a slow spell of the machine falls on all sides alike; a ``gc.collect()``
    before each side's turn keeps one side's garbage off the other's clock.
    Returns the per-call samples in seconds.
    """
    samples: dict[str, list[float]] = {name: [] for name in sides}
    per_round = -(-n // rounds)
    for _ in range(rounds):
        for name, fn in sides.items():
            done = len(samples[name])
            gc.collect()
            for i in range(done, min(done + per_round, n)):
                t0 = time.perf_counter()
                fn(i)
                samples[name].append(time.perf_counter() - t0)
    return samples


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
def postgres_url(
    base: str, schema: str = "bench", *, keep: bool = False
) -> Iterator[str]:
    """A migrated dedicated schema on PostgreSQL, dropped afterwards.

    With ``keep`` the schema is neither dropped before nor after: a run
    finds what the last one left there (migrated to the newest revision).
    """
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            if not keep:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
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
        if not keep:
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


def postgres_base() -> str | None:
    """The PostgreSQL URL to measure on, or None (with a note saying why)."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        note("TEST_DATABASE_URL not set: PostgreSQL benchmarks skipped")
        return None
    problem = postgres_problem(url)
    if problem:
        note(f"PostgreSQL unreachable, benchmarks skipped: {problem}")
        return None
    return url
