"""Run every benchmark, then say which targets were missed (``make bench``).

Run: ``python benchmarks/run.py [SCRIPT ...]`` (default: every
``benchmarks/bench_*.py``). Each script's output streams through unchanged;
after the last one comes one summary of every ``# MISSED`` line and of any
script that crashed. Exit status: 0 when every target was met, 1 otherwise.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MISSED = "# MISSED "


def run(script: Path) -> tuple[int, list[str]]:
    """Run one script, echoing its output; its exit status and missed lines."""
    print(f"# ==== {script.name}", flush=True)
    missed: list[str] = []
    with subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if line.startswith(MISSED):
                missed.append(line[len(MISSED) :].rstrip("\n"))
    return proc.returncode, missed


def main(argv: list[str]) -> int:
    """Run the scripts in turn; 1 when a target was missed or a script failed."""
    scripts = [Path(a) for a in argv] or sorted(HERE.glob("bench_*.py"))
    missed: list[str] = []
    broken: list[str] = []
    for script in scripts:
        status, lines = run(script)
        missed += lines
        # A script exits 1 exactly when it reports a miss; anything else
        # (a crash, a lost timer) is a failure of its own.
        if status != 0 and not (status == 1 and lines):
            broken.append(f"{script.name} exited {status}")
    print("# ==== summary", flush=True)
    for line in missed:
        print(f"{MISSED}{line}")
    for line in broken:
        print(f"# FAILED {line}")
    if missed or broken:
        print(
            f"# make bench: {len(missed)} target(s) missed, "
            f"{len(broken)} script(s) failed"
        )
        return 1
    print("# make bench: every target met")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
