"""What the issue #10 checks cost when definitions load (R: A-SP3, A-SP4).

Loads and checks the shipped services (``eservice check service_definitions/``,
in process) with every check, and — measured in the same run as the baseline —
with the expression type checker and the notification rendering switched off.
Prints the medians and the ratio.

    .venv/bin/python bench/bench_check.py [--runs 9]
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from unittest import mock

from eservice.expr.types import TypeResult
from eservice.spec import check as spec_check
from eservice.spec.loader import load

ROOT = Path(__file__).resolve().parent.parent
DEFINITIONS = ROOT / "service_definitions"


def median_seconds(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()
    catalogue, problems = load([DEFINITIONS])
    assert not problems, problems

    def cold() -> None:  # what `eservice check` pays: nothing compiled yet
        from eservice import expr, template_vars
        from eservice.outputs import check as outputs_check

        expr._compile.cache_clear()
        template_vars._strict.cache_clear()
        outputs_check._CACHE.clear()

    def full():
        load([DEFINITIONS])

    def baseline():
        untyped = lambda source, tree, env: TypeResult(spec_check.DYN, [], source)  # noqa: E731
        with mock.patch.object(spec_check, "check_types", untyped), \
                mock.patch("eservice.template_vars.notification_problems", lambda service: iter(())):
            load([DEFINITIONS])

    print(f"services: {len(catalogue.services)}, runs: {args.runs}")
    for label, prepare in (("warm (again in one process)", lambda: None), ("cold (as `eservice check`)", cold)):
        def timed(fn):
            def run():
                prepare()
                fn()
            return run
        base = median_seconds(timed(baseline), args.runs)
        now = median_seconds(timed(full), args.runs)
        print(f"{label}: without the type and notification checks (baseline) {base * 1000:.0f} ms, "
              f"with them {now * 1000:.0f} ms, ratio {now / base:.2f}x")


if __name__ == "__main__":
    main()
