"""Where ``services.open_case`` spends its time: a cProfile of many filings.

Run: ``python benchmarks/profile_open_case.py [CALLS]`` (200 by default) on a
temporary SQLite database, after 20 untimed filings. Prints the functions with
the most cumulative time, then those with the most time of their own. Not a
benchmark (``make bench`` does not run it): profiling slows Python code more
than C code, so read the shares, not the milliseconds.
"""

from __future__ import annotations

import cProfile
import pstats
import sys

from bench_engine import CASE_TYPE, INTAKE, seeded_platform
from harness import sqlite_url

from engine import services


def main(argv: list[str]) -> int:
    """Profile ``CALLS`` filings and print the two tables."""
    calls = int(argv[0]) if argv else 200
    with sqlite_url() as url:
        p, _actor = seeded_platform(url)
        for _ in range(20):
            services.open_case(p, CASE_TYPE, INTAKE)
        profile = cProfile.Profile()
        profile.enable()
        for _ in range(calls):
            services.open_case(p, CASE_TYPE, INTAKE)
        profile.disable()
        p.close()
    stats = pstats.Stats(profile, stream=sys.stdout).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(20)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
