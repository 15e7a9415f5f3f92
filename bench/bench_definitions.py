"""How fast service definitions load and check (issue #2).

Prints definitions loaded-and-checked per second for the real example services,
beside two baselines measured in the same run: plain ``yaml.safe_load`` of the
same files, and our YAML reading with positions but without validation. The
ratios show what the line numbers and the checks cost.

    .venv/bin/python bench/bench_definitions.py [--runs 7]
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import yaml

from eservice.spec.loader import find_yaml, load
from eservice.spec.yamlsource import parse_yaml

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
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    files = find_yaml([DEFINITIONS])
    texts = [(str(f), f.read_text(encoding="utf-8")) for f in files]
    catalogue, problems = load([DEFINITIONS])
    assert not problems, problems
    count = len(catalogue.services) + len(catalogue.agencies)

    def full():
        load([DEFINITIONS])

    def positions_only():
        for name, text in texts:
            parse_yaml(text, name)

    def plain_yaml():
        for _, text in texts:
            yaml.safe_load(text)

    c_loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    def c_yaml():
        for _, text in texts:
            yaml.load(text, Loader=c_loader)

    t_full = median_seconds(full, args.runs)
    t_pos = median_seconds(positions_only, args.runs)
    t_yaml = median_seconds(plain_yaml, args.runs)
    t_cyaml = median_seconds(c_yaml, args.runs)
    print(f"definitions: {count} files ({len(catalogue.services)} services, "
          f"{len(catalogue.agencies)} agencies), median of {args.runs} runs")
    print(f"{'operation':44} {'ms/run':>9} {'defs/s':>9} {'× yaml':>8}")
    for label, seconds in (("yaml.safe_load (baseline)", t_yaml),
                           ("yaml.load with the C loader", t_cyaml),
                           ("parse with line numbers", t_pos),
                           ("load + validate + check + compile (ours)", t_full)):
        print(f"{label:44} {seconds * 1000:9.2f} {count / seconds:9.1f} {seconds / t_yaml:8.2f}")


if __name__ == "__main__":
    main()
