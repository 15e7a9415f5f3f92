"""What following the definitions' version stamp costs, and what a publish costs
(issue #9 item 5).

    .venv/bin/python bench/bench_publish.py

1. The stamp read alone (``publishing.stamp_of``: one small store record).
2. GET /healthz through the whole app, with the stamp middleware and without it
   (the same app built twice over one data folder, measured in the same run):
   medians and the ratio.
3. A reload after a stamp change (``publishing.refresh(force=True)``: the
   example definitions read and checked again).
Medians of several runs; no thresholds.
"""
from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from pathlib import Path

from starlette.testclient import TestClient

from eservice import publishing
from eservice.web import app as web_app
from eservice.web.context import Settings

RUNS = 7
N = 300
EXAMPLES = Path(__file__).resolve().parent.parent / "service_definitions"


def per_call(fn, n=N) -> float:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t0) / n)
    return statistics.median(times)


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    defs = tmp / "defs"
    shutil.copytree(EXAMPLES, defs, ignore=shutil.ignore_patterns("_tools"))
    settings = Settings(data=tmp / "data", definitions=(defs,))
    with_stamp = web_app.create_app(settings)
    ctx = with_stamp.state.ctx
    print(f"stamp read (store record)          {per_call(lambda: publishing.stamp_of(ctx.store)) * 1e6:9.1f} µs")

    original = web_app.DefinitionsStampMiddleware

    class Passthrough:  # the same app without the stamp check
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            await self.app(scope, receive, send)

    web_app.DefinitionsStampMiddleware = Passthrough
    try:
        without = web_app.create_app(settings, store=ctx.store, catalogue=ctx.catalogue)
    finally:
        web_app.DefinitionsStampMiddleware = original
    a, b = TestClient(with_stamp), TestClient(without)
    a.get("/healthz"), b.get("/healthz")
    t_with = per_call(lambda: a.get("/healthz"))
    t_without = per_call(lambda: b.get("/healthz"))
    print(f"GET /healthz without stamp check   {t_without * 1e3:9.3f} ms (baseline)")
    print(f"GET /healthz with stamp check      {t_with * 1e3:9.3f} ms  ratio {t_with / t_without:.2f}")
    t_reload = per_call(lambda: publishing.refresh(ctx, force=True), n=1)
    print(f"reload after a stamp change        {t_reload * 1e3:9.1f} ms (4 example services)")
    ctx.close()
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
