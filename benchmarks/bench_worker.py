"""The worker firing due timers vs raw SpiffWorkflow doing the same step.

Run: ``python benchmarks/bench_worker.py`` (``make bench`` runs it). Opens
``BENCH_TIMERS`` cases (default 10,000) of the timer fixture on SQLite, moves
the clock past their due time, and times ``services.fire_due_timers`` until
none is due. The raw baseline restores the same workflow with SpiffWorkflow's
own serializer, runs ``refresh_timers()`` + ``do_engine_steps()`` at the same
instant and serializes it again. Prints ``BENCH``/``RATIO`` lines.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from engine import db as dbmod
from engine import registry, runtime, services, timekeeping
from engine.calendar import PANAMA
from engine.clock import FrozenClock
from engine.models import WorkflowState
from engine.platform import Platform

ROOT = Path(__file__).resolve().parent.parent
BUNDLE = ROOT / "tests" / "fixtures" / "bundles" / "temporizador"
N = int(os.environ.get("BENCH_TIMERS", "10000"))
TARGET = 2.0


def main() -> int:
    """Run the benchmark; exit 0 unless it crashes."""
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/timers.db"
        dbmod.upgrade(url)
        clock = FrozenClock(datetime(2026, 10, 30, 10, 0, tzinfo=PANAMA))
        p = Platform(url, clock=clock)
        files = registry.read_bundle_dir(BUNDLE)
        services.deploy_version(p, files, deployed_by="bench")
        t0 = time.perf_counter()
        for _ in range(N):
            services.open_case(p, "temporizador", {"divisor": 1})
        print(f"# opened {N} cases in {time.perf_counter() - t0:.1f} s")
        with p.db.read() as s:
            states = [r.state for r in s.scalars(select(WorkflowState).limit(300))]
        clock.advance(days=5)

        # Raw: the same step on the same states, SpiffWorkflow alone.
        parsed = registry.parse_bundle(files)
        raw = runtime.raw_serializer()
        raw_states = []
        for state in states:
            wf = runtime.load_state(parsed, state, runtime.FORMAT_VERSION)
            raw_states.append(raw.serialize_json(wf))
        samples = []
        with timekeeping.at(clock()):
            for text in raw_states:
                start = time.perf_counter()
                wf = raw.deserialize_json(text)
                wf.script_engine = runtime.SCRIPT_ENGINE
                wf.refresh_timers()
                wf.do_engine_steps()
                raw.serialize_json(wf)
                samples.append(time.perf_counter() - start)
        raw_ms = statistics.median(samples) * 1e3

        start = time.perf_counter()
        fired = 0
        while True:
            n = services.fire_due_timers(p, limit=500)
            fired += n
            if n == 0:
                break
        elapsed = time.perf_counter() - start
        p.close()
    per_timer_ms = elapsed / max(fired, 1) * 1e3
    print(f"# fired {fired} timers in {elapsed:.1f} s")
    print(f"BENCH timers_per_s {fired / elapsed:.1f} timers/s")
    print(f"BENCH worker_timer_ms {per_timer_ms:.3f} ms")
    print(f"BENCH raw_timer_ms {raw_ms:.3f} ms")
    ratio = per_timer_ms / raw_ms
    print(f"RATIO worker_timer/raw_timer {ratio:.3f}")
    print(f"#   target: worker_timer/raw_timer <= {TARGET}")
    print("# OK" if ratio <= TARGET else "# OVER TARGET")
    return 0 if fired == N else 1


if __name__ == "__main__":
    sys.exit(main())
