"""How long `eservice simulate` takes per shipped service (issue #10 item 5: under 10 s each).

    .venv/bin/python bench/bench_simulate.py [RUNS]

For each service: the median wall-clock and CPU seconds of RUNS walks, and the
ratio to a baseline measured in the same run (one application submitted and
answered through the real engine: the free licence-information request's
cheapest outcome).  CPU time is printed too because this machine is shared:
wall-clock time grows with the load, CPU time does not.
"""
from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

from eservice.simulate import simulate_service
from eservice.spec.loader import load_or_raise

ROOT = Path(__file__).resolve().parent.parent


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    catalogue = load_or_raise([ROOT / "service_definitions"])
    services = catalogue.current()
    simulate_service(services[0], catalogue)  # warm-up: imports, fonts
    baseline_service = catalogue.latest("licence-information-request")

    def baseline() -> None:
        from eservice import simulate

        saved = simulate.MAX_VARIANTS
        simulate.MAX_VARIANTS = 0  # the first answer set only
        try:
            simulate_service(baseline_service, catalogue)
        finally:
            simulate.MAX_VARIANTS = saved

    base = [_timed(baseline) for _ in range(runs)]
    base_wall = statistics.median(w for w, _ in base)
    print(f"{'baseline (one free service, first answers)':<45} wall {base_wall:6.2f} s  "
          f"cpu {statistics.median(c for _, c in base):6.2f} s")
    for service in services:
        times = [_timed(lambda: simulate_service(service, catalogue)) for _ in range(runs)]
        wall = statistics.median(w for w, _ in times)
        cpu = statistics.median(c for _, c in times)
        print(f"{service.key:<45} wall {wall:6.2f} s  cpu {cpu:6.2f} s  ×{wall / base_wall:5.1f} baseline"
              f"{'' if wall < 10 else '  (over 10 s wall)'}")


if __name__ == "__main__":
    main()
