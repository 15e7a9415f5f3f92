"""`eservice simulate` and `check --deep` (issue #10 item 5; A-SP1…A-SP4, A-P5, A-P8):
the real engine walked to every outcome, dead ends named, documents written."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from eservice.simulate import example_of, simulate_paths

ROOT = Path(__file__).resolve().parent.parent
FREE = ROOT / "service_definitions" / "nonthaburi-city" / "licence-information-request.yaml"
UNPAYABLE = Path(__file__).parent / "fixtures" / "simulate"


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eservice.cli", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)


def test_a_fee_nobody_can_pay_is_a_dead_end_and_exits_non_zero():  # R: A-SP4, A-P5
    done = _run("simulate", str(UNPAYABLE))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "DEAD END: awaiting_payment" in done.stdout
    assert "the fee has no payment method, so it cannot be paid" in done.stdout
    assert "outcome never reached: approved" in done.stdout
    assert "transition never fired: confirm_payment" in done.stdout


def test_check_deep_fails_on_the_unpayable_fixture_and_names_it():  # R: A-SP4
    done = _run("check", "--deep", str(UNPAYABLE))
    assert done.returncode == 1
    assert "unpayable-fee@1" in done.stderr


def test_a_free_shipped_service_reaches_every_declared_outcome(tmp_path):  # R: A-SP4, PL-5
    reports, problems = simulate_paths([str(FREE)], out=tmp_path)
    assert problems == []
    (report,) = reports
    assert report.complete, report.as_dict()
    assert set(report.outcomes) == {"answered", "referred", "withdrawn"} == set(report.declared_finals)
    assert report.dead_ends == {} and report.unreachable == [] and report.never_fired == []
    answered = tmp_path / "licence-information-request" / "answered"
    pdfs = list(answered.glob("*.pdf"))
    assert pdfs and all(p.read_bytes().startswith(b"%PDF") for p in pdfs)  # the signed letter
    mails = sorted(p.name for p in answered.glob("mail-*.txt"))
    assert mails[0].endswith("submitted.txt") and any("answered" in m for m in mails)
    text = (answered / mails[-1]).read_text(encoding="utf-8")
    assert "Attachments: information_letter-" in text
    assert (answered / "path.txt").read_text(encoding="utf-8").splitlines()[-1] == \
        "submitted → answered (answer)"


def test_every_shipped_service_reaches_every_outcome_with_payments():  # R: A-SP4, A-P5, A-P8
    done = _run("check", "--deep", "service_definitions")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("outcome reached: issued (approved)") == 2  # building and food shop
    assert "DEAD END" not in done.stdout and "never reached" not in done.stdout


def test_text_for_a_pattern_is_generated_from_the_regex():
    for pattern in (r"^(ภย|สย|วย)\.? ?[0-9]{1,6}$", r"[A-Z]{2}-\d{3}", r"(a|b)+x?"):
        found = example_of(pattern)
        assert found is not None and re.fullmatch(pattern, found), (pattern, found)
    assert example_of(r"(?=a)b") is None  # a look-ahead: not guessed


def test_an_officers_deadline_can_be_limited_by_the_definition(tmp_path):  # R: issue #10 item 6, A-R3
    import datetime as dt

    import pytest

    from eservice.clock import BANGKOK, FixedClock
    from eservice.engine import EngineContext, EngineError
    from eservice.spec.loader import load, load_or_raise
    from eservice.workflow import Workflow

    catalogue = load_or_raise([ROOT / "service_definitions"])
    ctx = EngineContext(catalogue=catalogue, store=None,
                        clock=FixedClock(dt.datetime(2026, 12, 1, 10, 0, tzinfo=BANGKOK)))
    ask = catalogue.latest("food-shop-permit").transitions["request_documents"]
    flow = Workflow(ctx)
    inputs = {"missing_items": ["floor_plan"], "note": "x"}
    assert flow._check_inputs(ask, {**inputs, "deadline": "31/12/2569"})["deadline"] == "2026-12-31"  # 30 days
    with pytest.raises(EngineError) as refused:
        flow._check_inputs(ask, {**inputs, "deadline": "01/01/2570"})  # 31 days
    assert refused.value.code == "input_too_far"
    assert "ต้องไม่เกิน 30 วันนับจากวันนี้" in refused.value.th and "at most 30 days from today" in refused.value.en
    # the key is checked: only a date input may have it
    text = FREE.read_text(encoding="utf-8").replace(
        "        - id: holder\n          type: text\n",
        "        - id: holder\n          type: text\n          max_days_ahead: 3\n")
    folder = tmp_path / "defs" / "nonthaburi-city"
    folder.mkdir(parents=True)
    (folder / FREE.name).write_text(text, encoding="utf-8")
    (tmp_path / "defs" / "agencies").mkdir()
    (tmp_path / "defs" / "agencies" / "nonthaburi-city.yaml").write_bytes(
        (ROOT / "service_definitions" / "agencies" / "nonthaburi-city.yaml").read_bytes())
    _catalogue, problems = load([tmp_path / "defs"])
    assert any("`max_days_ahead` is only for date inputs" in p.format() for p in problems), \
        [p.format() for p in problems]
