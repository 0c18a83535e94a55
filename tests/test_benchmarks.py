"""The benchmarks still run and report (tiny sizes, no timing checks)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ROOT / "benchmarks"


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a benchmark script on SQLite only and capture its output."""
    environment = {**os.environ, **env}
    environment.pop("TEST_DATABASE_URL", None)  # SQLite only here
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def ratios(stdout: str) -> dict[str, float]:
    """The ``RATIO`` lines of an output, by name."""
    found = re.findall(r"^RATIO (\S+) ([0-9.]+)$", stdout, re.M)
    return {name: float(value) for name, value in found}


def benches(stdout: str) -> dict[str, str]:
    """The ``BENCH`` lines of an output: name -> unit."""
    return dict(re.findall(r"^BENCH (\S+) [0-9.]+ (\S+)$", stdout, re.M))


def check_verdict(result: subprocess.CompletedProcess[str]) -> None:
    """Exit 0 with no miss, or 1 with the misses listed last; nothing else."""
    missed = re.findall(r"^# MISSED (\S+) ", result.stdout, re.M)
    assert result.returncode == (1 if missed else 0), result.stderr[-2000:]
    for name in missed:
        assert name in ratios(result.stdout)
    # The summary comes after every result.
    last_ratio = result.stdout.rfind("\nRATIO ")
    assert all(result.stdout.rfind(f"# MISSED {n} ") > last_ratio for n in missed)


@pytest.mark.parametrize(
    ("script", "env", "expected_ratios", "expected_benches"),
    [
        (
            "bench_engine.py",
            {"BENCH_CASES": "6", "BENCH_WARMUP": "2"},
            [
                "open_case_sqlite/raw_persisted_sqlite",
                "complete_task_sqlite/raw_persisted_sqlite",
                "open_case/raw_memory",
                "complete_task/raw_memory",
                "state_bytes/raw_state_bytes",
            ],
            {
                "open_case_sqlite_ms": "ms",
                "raw_persisted_open_case_sqlite_ms": "ms",
                "raw_memory_open_case_ms": "ms",
                "complete_task_sqlite_ms": "ms",
                "raw_persisted_complete_task_sqlite_ms": "ms",
                "raw_memory_complete_task_ms": "ms",
                "state_bytes": "bytes",
                "raw_state_bytes": "bytes",
            },
        ),
        (
            "bench_worker.py",
            {"BENCH_TIMERS": "24", "BENCH_BATCH": "4", "BENCH_WARMUP_BATCHES": "1"},
            ["worker_timer/raw_timer", "worker_timer/raw_timer_memory"],
            {
                "timers_per_s": "timers/s",
                "worker_timer_ms": "ms",
                "raw_timer_ms": "ms",
                "raw_timer_memory_ms": "ms",
            },
        ),
    ],
)
def test_benchmark_prints_its_lines(
    script: str,
    env: dict[str, str],
    expected_ratios: list[str],
    expected_benches: dict[str, str],
) -> None:
    """Each benchmark prints its BENCH and RATIO lines and a verdict."""
    result = run([str(BENCHMARKS / script)], env)
    check_verdict(result)
    found = ratios(result.stdout)
    for name in expected_ratios:
        assert found[name] > 0
    assert expected_benches.items() <= benches(result.stdout).items()
    assert "same work" in result.stdout  # the raw side was checked


def test_runner_lists_misses_and_failures(tmp_path: Path) -> None:
    """``make bench``'s runner shows every output, then every miss, exit 1."""
    met = tmp_path / "bench_met.py"
    met.write_text("print('RATIO a/b 1.000')\n")
    missed = tmp_path / "bench_missed.py"
    missed.write_text(
        "print('RATIO c/d 3.000')\n"
        "print('# MISSED c/d 3.000 > 2.0 (50% over, bench_missed.py)')\n"
        "raise SystemExit(1)\n"
    )
    crashed = tmp_path / "bench_crashed.py"
    crashed.write_text("raise RuntimeError('boom')\n")
    result = run([str(BENCHMARKS / "run.py"), str(met), str(missed), str(crashed)], {})
    assert result.returncode == 1
    summary = result.stdout.split("# ==== summary\n")[1]
    assert "# MISSED c/d 3.000 > 2.0" in summary
    assert "# FAILED bench_crashed.py exited 1" in summary
    assert "RATIO a/b 1.000" in result.stdout

    result = run([str(BENCHMARKS / "run.py"), str(met)], {})
    assert result.returncode == 0
    assert "every target met" in result.stdout


def test_scale_benchmark_grows_and_reports_each_query() -> None:
    """``make bench-scale`` tiny: each query at both sizes, no SQLite target."""
    result = run(
        [str(BENCHMARKS / "scale.py")],
        {"SCALE_SIZES": "150,300", "SCALE_RUNS": "3", "SCALE_WARMUP": "1"},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    found = benches(result.stdout)
    for query in (
        "inbox",
        "search_number",
        "search_text",
        "caller_lookup",
        "duplicates",
        "dashboard",
    ):
        assert found[f"{query}_sqlite_150"] == "ms"
        assert found[f"{query}_sqlite_300"] == "ms"
        assert f"{query}_sqlite_300/{query}_sqlite_150" in ratios(result.stdout)
    assert "sqlite: 300 cases (150 added" in result.stdout
    assert "# MISSED" not in result.stdout  # SQLite's figures carry no target


def test_scale_data_spread(platform) -> None:
    """The made-up cases: every table filled, open and closed, callers seen twice."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        from scale_data import Maker, ensure_entities, grow, version_ids
    finally:
        sys.path.remove(str(BENCHMARKS))
    from sqlalchemy import func, select

    from engine import services
    from engine.store.models import Case, CaseEvent, CaseSearch, Entity, HumanTask

    services.deploy_seed(platform, ROOT / "bpmn", ROOT / "forms")
    maker = Maker(ensure_entities(platform.db.engine), version_ids(platform.db.engine))
    assert grow(platform.db.engine, maker, 2000) == 2000
    assert grow(platform.db.engine, maker, 2000) == 0  # already there
    with platform.db.read() as s:

        def count(model, *where):
            return s.scalar(select(func.count()).select_from(model).where(*where))

        assert count(Entity) == 150
        assert count(CaseSearch) == count(HumanTask) == 2000
        assert 2.5 * 2000 < count(CaseEvent) < 3.2 * 2000
        open_cases = count(Case, Case.status == "open")
        assert 0.02 * 2000 < open_cases < 0.3 * 2000
        assert count(HumanTask, HumanTask.state == "ready") == open_cases
        numbers = s.scalars(select(Case.number)).all()
        assert len(set(numbers)) == 2000
        assert all(re.fullmatch(r"311-\d{4}-\d{6}", n) for n in numbers)
        phones = [d for d in s.scalars(select(CaseSearch.contact_digits)) if d]
        assert len(set(phones)) < len(phones)  # some callers called again
