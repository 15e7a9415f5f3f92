"""Expression evaluations per second (R: A-SP3).

For a few typical expressions of a service definition, measures
``eservice.expr`` (binding conversion + guards + engine) beside two baselines
measured in the same run:

* ``raw cel``: ``cel.compile(src).execute(d)`` where ``d`` holds only the names
  the expression reads, already converted (the engine's floor);
* ``raw cel, all``: the same with the whole answer dict of 30 fields (what a
  naive integration pays: the engine converts every value on every call);
* ``python``: a hand-written Python lambda doing the same thing.

Each figure is the median of RUNS runs.  Run:

    .venv/bin/python bench/bench_expr.py
"""
from __future__ import annotations

import statistics
import sys
import time
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import cel

from eservice import expr as E
from eservice.expr import ExprEnv, compile_expression, to_cel

RUNS = 9
TODAY = date(2024, 5, 15)
ENV = ExprEnv(today=TODAY)
SATANG = Decimal("0.01")


def answers() -> dict:
    """A typical set of 30 declared fields, some unanswered."""
    a: dict = {
        "has_employees": True,
        "shop_area": Decimal("37.5"),
        "rate": Decimal("12.345"),
        "has_kitchen": True,
        "shop_name": "ร้านข้าวแกงป้าแดง",
        "province": "นนทบุรี",
        "birth_date": date(1990, 7, 1),
        "start_date": date(2024, 6, 1),
        "national_id": "1101700230708",
        "employees": [{"name": f"พนักงาน {i}", "age": 20 + i} for i in range(10)],
    }
    for i in range(20):
        a[f"extra_{i}"] = None if i % 3 == 0 else f"คำตอบ {i}"
    return a


def age_years(born: date, today: date = TODAY) -> int:
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def rate(fn, n: int) -> float:
    results = []
    for _ in range(RUNS):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        results.append(n / (time.perf_counter() - start))
    return statistics.median(results)


def main() -> None:
    a = answers()
    plain = {k: to_cel(v) for k, v in a.items()}
    raw_age = {**plain, "age": lambda d: age_years(d.date())}

    cases = [
        ("when condition",
         "has_employees == true && shop_area > 20.0",
         lambda e: e.evaluate_bool(a, ENV), plain,
         lambda: a["has_employees"] is True and a["shop_area"] > 20),
        ("fee (Decimal → money)",
         "shop_area * rate + (has_kitchen ? 500.0 : 0.0)",
         lambda e: e.evaluate_money(a, ENV), plain,
         lambda: (a["shop_area"] * a["rate"] + (Decimal(500) if a["has_kitchen"] else 0)).quantize(
             SATANG, ROUND_HALF_UP)),
        ("list macro (10 items)",
         "employees.exists(e, e.age < 18)",
         lambda e: e.evaluate_bool(a, ENV), plain,
         lambda: any(x["age"] < 18 for x in a["employees"])),
        ("date function age()",
         "age(birth_date) >= 20 && start_date > today()",
         lambda e: e.evaluate_bool(a, ENV), None,
         lambda: age_years(a["birth_date"]) >= 20 and a["start_date"] > TODAY),
        ("Thai text + size()",
         "size(shop_name) > 3 && province in ['กรุงเทพมหานคร', 'นนทบุรี']",
         lambda e: e.evaluate_bool(a, ENV), plain,
         lambda: len(a["shop_name"]) > 3 and a["province"] in ("กรุงเทพมหานคร", "นนทบุรี")),
    ]

    print(f"eservice.expr benchmark — Python {sys.version.split()[0]}, "
          f"median of {RUNS} runs, evaluations per second")
    header = (f"{'case':24} {'eservice.expr':>14} {'raw cel':>10} {'raw cel, all':>13} {'python':>12} "
              f"{'ours/raw':>9} {'ours/all':>9} {'ours/py':>8}")
    print(header)
    print("-" * len(header))
    for title, source, ours, raw_ctx, py in cases:
        expr = compile_expression(source)
        program = cel.compile(source)
        if raw_ctx is None:  # needs our functions: raw engine with a plain Python age()
            raw_ctx = {**raw_age, "today": lambda: to_cel(TODAY)}
        # the three must agree before they are timed
        mine = ours(expr)
        raw = program.execute(raw_ctx)
        expected = py()
        assert (mine == expected) and (raw == expected or isinstance(expected, Decimal)), (title, mine, raw, expected)
        used = {k: v for k, v in raw_ctx.items() if k in expr.names or callable(v)}
        assert program.execute(used) == raw
        n = 20_000
        r_ours = rate(lambda: ours(expr), n)
        r_used = rate(lambda: program.execute(used), n)
        r_all = rate(lambda: program.execute(raw_ctx), n // 4)
        r_py = rate(py, n * 5)
        print(f"{title:24} {r_ours:14,.0f} {r_used:10,.0f} {r_all:13,.0f} {r_py:12,.0f} "
              f"{r_ours / r_used:9.2f} {r_ours / r_all:9.2f} {r_ours / r_py:8.3f}")

    # compiling (load time): uncached
    sources = [c[1] for c in cases]
    compile_uncached = E._compile.__wrapped__
    r_compile = rate(lambda: [compile_uncached(s) for s in sources], 200) * len(sources)
    r_engine = rate(lambda: [cel.compile(s) for s in sources], 200) * len(sources)
    print(f"\ncompile (uncached, load time): {r_compile:,.0f} expressions/s "
          f"(engine alone {r_engine:,.0f}/s, ratio {r_compile / r_engine:.2f})")


if __name__ == "__main__":
    main()
