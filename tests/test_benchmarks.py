"""The benchmarks still run and print their figures (tiny sizes, no timing checks)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("script", "env", "expected"),
    [
        (
            "bench_engine.py",
            {"BENCH_CASES": "10"},
            [
                "open_case_sqlite/raw_start",
                "complete_task_sqlite/raw_complete",
                "state_bytes/raw_state_bytes",
            ],
        ),
        ("bench_worker.py", {"BENCH_TIMERS": "30"}, ["worker_timer/raw_timer"]),
    ],
)
def test_benchmark_prints_its_ratios(script: str, env: dict, expected: list[str]):
    """Each benchmark exits 0 and prints BENCH and RATIO lines."""
    environment = {**os.environ, **env}
    environment.pop("TEST_DATABASE_URL", None)  # SQLite only here
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    ratios = dict(re.findall(r"^RATIO (\S+) ([0-9.]+)$", result.stdout, re.M))
    for name in expected:
        assert float(ratios[name]) > 0
    assert re.search(r"^BENCH \S+ [0-9.]+ \S+$", result.stdout, re.M)
