"""Statistics reports (A-SP5) on a real TinyDB store, and their CSV, XLSX and SVG forms.

The applications are written straight into the store with known intake,
closing and pause instants around weekends, Thai holidays and an agency day
off.  Every expected figure below is worked out by hand in the comments, never
with the code under test.

Office hours 08:30–16:30 (8 hours = 1 working day).  May 2024: Wed 1 May
(Labour Day) is a working day for government offices; Mon 6 May (Coronation
Day in lieu), Fri 10 May (Royal Ploughing), Wed 22 May (Visakha Bucha) and the
agency's own day off Fri 17 May are not.
"""
from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from eservice import events
from eservice.calendar import WorkingCalendar
from eservice.clock import BANGKOK, FixedClock
from eservice.renderers.exports import report_chart_svg, report_csv, report_xlsx
from eservice.reports import percentile_nearest_rank, report
from eservice.spec.loader import load_or_raise
from eservice.store import open_store

FIXTURES = Path(__file__).parent / "fixtures" / "defs"
AGENCY = "test-agency"
PERMIT = "minimal-permit"   # in the catalogue: SLA 15 working days
OTHER = "other-service"     # not in the catalogue: ids stand in for titles
SVG = "{http://www.w3.org/2000/svg}"


def bkk(month: int, day: int, hour: int = 8, minute: int = 30) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=BANGKOK)


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def application(app_id: str, intake: datetime | None, *, service: str = PERMIT, state: str = "submitted",
                closed: datetime | None = None, outcome: str | None = None,
                moves: tuple = (), sla_due: datetime | None = None, paused: tuple = (),
                applicant: str = "u-citizen", agency: str = AGENCY) -> dict:
    """A record as the engine keeps it; ``moves`` are (actor, at, transition, from, to)."""
    history: list = []
    if intake is not None:
        events.append(history, "submitted", applicant, iso(intake), {"intake_at": iso(intake)})
    for actor, at, transition, before, after in moves:
        events.append(history, "transition", actor, iso(at), {"transition": transition, "from": before, "to": after})
    record = {
        "id": app_id, "reference": app_id.upper(), "agency": agency, "service": service, "service_version": 1,
        "state": state, "closed": closed is not None, "outcome": outcome, "applicant": applicant,
        "assignee": None, "intake_number": None, "intake_at": iso(intake), "submitted_at": iso(intake),
        "sla_due": iso(sla_due), "sla_paused": [[iso(a), iso(b)] for a, b in paused], "events": history,
        "updated_at": iso(closed or (moves[-1][1] if moves else intake)),
    }
    if closed is not None:
        record["closed_at"] = iso(closed)
    return record


def dataset() -> list[dict]:
    far = bkk(6, 28, 16, 30)  # an SLA due instant nobody misses
    return [
        # A1 Thu 2 May 08:30 → Thu 2 May 16:30: one full day = 1.0
        application("a1", bkk(5, 2), state="approved", closed=bkk(5, 2, 16, 30), outcome="approved",
                    moves=[("u-approver", bkk(5, 2, 16, 30), "approve", "submitted", "approved")], sla_due=far),
        # A2 Fri 3 May 12:30 → Tue 7 May 10:30: 4 h + (Mon 6 May holiday) + 2 h = 6 h = 0.75
        application("a2", bkk(5, 3, 12, 30), state="approved", closed=bkk(5, 7, 10, 30), outcome="approved",
                    moves=[("u-approver", bkk(5, 7, 10, 30), "approve", "submitted", "approved")], sla_due=far),
        # A3 Wed 8 May 08:30 → Mon 13 May 12:30: 8 + 8 + (Fri 10 holiday, weekend) + 4 = 20 h = 2.5
        application("a3", bkk(5, 8), state="rejected", closed=bkk(5, 13, 12, 30), outcome="rejected",
                    moves=[("u-reviewer", bkk(5, 9, 10), "forward", "submitted", "approval"),
                           ("u-approver", bkk(5, 13, 12, 30), "reject", "approval", "rejected")], sla_due=far),
        # A4 Tue 14 May 08:30 → Tue 21 May 16:30: 14, 15, 16, (17 agency day off), 20, 21 = 40 h;
        #    paused Wed 15 08:30 → Mon 20 08:30: 15, 16 = 16 h; 40 − 16 = 24 h = 3.0
        application("a4", bkk(5, 14), state="approved", closed=bkk(5, 21, 16, 30), outcome="approved",
                    moves=[("u-reviewer", bkk(5, 15), "request_documents", "submitted", "awaiting_documents"),
                           ("u-citizen", bkk(5, 20), "resubmit", "awaiting_documents", "submitted"),
                           ("u-reviewer", bkk(5, 20, 14), "forward", "submitted", "approval"),
                           ("u-approver", bkk(5, 21, 16, 30), "approve", "approval", "approved")],
                    paused=[(bkk(5, 15), bkk(5, 20))], sla_due=far),
        # A5 received Thu 25 Apr 08:30 (April), approved Thu 23 May 16:30:
        #    Apr 25, 26, 29, 30; May 1, 2, 3, 7, 8, 9, 13, 14, 15, 16, 20, 21, 23 = 17 days = 17.0;
        #    due Mon 20 May 16:30 → SLA missed
        application("a5", bkk(4, 25), state="approved", closed=bkk(5, 23, 16, 30), outcome="approved",
                    moves=[("u-approver", bkk(5, 23, 16, 30), "approve", "submitted", "approved")],
                    sla_due=bkk(5, 20, 16, 30)),
        # A6 disposed by the system's timer after documents were requested: disposed, no processing time
        application("a6", bkk(5, 2, 9), state="disposed", closed=bkk(5, 31, 16), outcome="disposed",
                    moves=[("u-reviewer", bkk(5, 3, 9), "request_documents", "submitted", "awaiting_documents"),
                           ("system", bkk(5, 31, 16), "dispose", "awaiting_documents", "disposed")],
                    paused=[(bkk(5, 3, 9), bkk(5, 31, 16))], sla_due=far),
        # A7 open, received Mon 27 May: in progress, not overdue
        application("a7", bkk(5, 27, 10), sla_due=far),
        # A8 open since Mon 1 Apr, documents requested 2 May: its 15 days ended Thu 25 Apr 16:30,
        #    before the pause began → overdue, in state awaiting_documents
        application("a8", bkk(4, 1), state="awaiting_documents",
                    moves=[("u-reviewer", bkk(5, 2, 10), "request_documents", "submitted", "awaiting_documents")],
                    paused=[(bkk(5, 2, 10), None)], sla_due=bkk(4, 25, 16, 30)),
        # A9 open since Mon 1 Apr, nothing done: overdue
        application("a9", bkk(4, 1), sla_due=bkk(4, 25, 16, 30)),
        # A10 received and approved in April: not in May's figures at all
        application("a10", bkk(4, 10), state="approved", closed=bkk(4, 30, 11), outcome="approved",
                    moves=[("u-approver", bkk(4, 30, 11), "approve", "submitted", "approved")], sla_due=far),
        # A11 received Wed 29 May, approved Tue 4 June: received in May and in progress (submitted) at its end
        application("a11", bkk(5, 29, 9), state="approved", closed=bkk(6, 4, 10), outcome="approved",
                    moves=[("u-approver", bkk(6, 4, 10), "approve", "submitted", "approved")], sla_due=far),
        # A12 a draft: never counted
        application("a12", None, state="draft"),
        # B1 completed in 4 hours = 0.5, within its due instant
        application("b1", bkk(5, 20), service=OTHER, state="done", closed=bkk(5, 20, 12, 30), outcome="completed",
                    moves=[("u-clerk", bkk(5, 20, 12, 30), "complete", "submitted", "done")],
                    sla_due=bkk(5, 20, 16, 30)),
        # B2 referred to another agency
        application("b2", bkk(5, 21), service=OTHER, state="referred", closed=bkk(5, 21, 9), outcome="referred",
                    moves=[("u-clerk", bkk(5, 21, 9), "refer", "submitted", "referred")],
                    sla_due=bkk(5, 21, 16, 30)),
        # another agency's work never shows
        application("x1", bkk(5, 2), agency="other-agency", state="approved", closed=bkk(5, 3), outcome="approved",
                    moves=[("u-approver", bkk(5, 3), "approve", "submitted", "approved")]),
    ]


@pytest.fixture(scope="module")
def catalogue():
    return load_or_raise([FIXTURES])


@pytest.fixture
def calendar() -> WorkingCalendar:
    cal = WorkingCalendar(extra_holidays={date(2024, 5, 17): "วันหยุดจังหวัด"})
    # the assumptions the hand calculations rest on
    assert cal.is_working_day(date(2024, 5, 1))
    assert not any(cal.is_working_day(date(2024, 5, d)) for d in (6, 10, 17, 22))
    assert cal.office_hours.length.total_seconds() == 8 * 3600
    return cal


@pytest.fixture
def store(tmp_path):
    store = open_store(tmp_path / "data", clock=FixedClock(bkk(6, 10, 9)), durable=False)
    for record in dataset():
        store.create_application(record)
    return store


@pytest.fixture
def may(store, catalogue, calendar):
    return report(store, catalogue, lambda agency: calendar, AGENCY, date(2024, 5, 1), date(2024, 5, 31),
                  now=bkk(6, 10, 9))


def by_service(rep):
    return {row.service: row for row in rep.services}


# -- figures -------------------------------------------------------------------------

def test_counts_per_service_and_for_the_agency(may):  # R: A-SP5, A-R6
    rows = by_service(may)
    assert set(rows) == {PERMIT, OTHER}
    permit = rows[PERMIT]
    assert (permit.title_th, permit.title_en, permit.sla_working_days) == ("ใบอนุญาตทดสอบ", "Test permit", 15)
    # received in May: a1, a2, a3, a4, a6, a7, a11
    assert permit.received == 7
    # closed in May: a1, a2, a4, a5 approved; a3 rejected; a6 disposed
    assert (permit.completed, permit.approved, permit.rejected, permit.disposed) == (5, 4, 1, 1)
    # open at the end of May: a7, a8, a9, a11 (approved only in June); a8 and a9 overdue
    assert (permit.in_progress, permit.overdue) == (4, 2)
    other = rows[OTHER]
    assert (other.title_th, other.sla_working_days) == (OTHER, None)
    assert (other.received, other.completed, other.referred, other.in_progress) == (2, 1, 1, 0)
    total = may.total
    assert (total.received, total.completed, total.disposed, total.referred, total.in_progress,
            total.overdue) == (9, 6, 1, 1, 4, 2)
    assert may.agency_th == "หน่วยงานทดสอบ" and may.as_of == datetime(2024, 6, 1, tzinfo=BANGKOK)


def test_processing_time_in_working_days_median_and_p90(may):  # R: A-SP5, A-R5
    permit, other = by_service(may)[PERMIT], by_service(may)[OTHER]
    assert permit.days == pytest.approx([0.75, 1.0, 2.5, 3.0, 17.0])
    assert permit.median_days == 2.5          # the middle of five
    assert permit.p90_days == 17.0            # rank ceil(0.9 × 5) = 5
    assert (other.median_days, other.p90_days) == (0.5, 0.5)
    assert may.total.median_days == 1.75      # (1.0 + 2.5) / 2 of six values
    assert may.total.p90_days == 17.0         # rank ceil(0.9 × 6) = 6


def test_sla_met_percentage(may):  # R: A-A6
    permit = by_service(may)[PERMIT]
    assert (permit.sla_met, permit.sla_measured, permit.sla_met_pct) == (4, 5, 80.0)  # a5 was late
    assert by_service(may)[OTHER].sla_met_pct == 100.0
    assert (may.total.sla_met, may.total.sla_measured, may.total.sla_met_pct) == (5, 6, 83.3)


def test_open_work_by_state_at_the_end_of_the_period(may):
    states = {(s.service, s.state): (s.title_th, s.title_en, s.count) for s in may.states}
    assert states == {
        (PERMIT, "submitted"): ("ยื่นแล้ว", "Submitted", 3),                          # a7, a9, a11
        (PERMIT, "awaiting_documents"): ("รอเอกสารเพิ่ม", "Awaiting documents", 1),   # a8
    }


def test_actions_per_officer(may):
    officers = [(o.officer, o.actions, o.applications, o.by_transition) for o in may.officers]
    # the applicant's resubmission and the system's disposal are not officers' actions;
    # a8's April and a10/a11's April and June actions are outside May
    assert officers == [
        ("u-approver", 5, 5, {"approve": 4, "reject": 1}),
        ("u-reviewer", 5, 4, {"forward": 2, "request_documents": 3}),
        ("u-clerk", 2, 2, {"complete": 1, "refer": 1}),
    ]


def test_an_earlier_period_counts_work_closed_later_and_reads_only_what_can_count(store, catalogue, calendar):
    april = report(store, catalogue, lambda agency: calendar, AGENCY, date(2024, 4, 1), date(2024, 4, 30),
                   now=bkk(6, 10, 9))
    permit = by_service(april)[PERMIT]
    # received in April: a5, a8, a9, a10; closed in April: a10 only
    assert (permit.received, permit.completed, permit.in_progress) == (4, 1, 3)  # a5 (closed 23 May), a8, a9
    assert {(s.state, s.count) for s in april.states} == {("submitted", 3)}     # a8 was still "submitted"
    assert [(o.officer, o.actions) for o in april.officers] == [("u-approver", 1)]
    assert april.applications_read == 4  # a5, a8, a9, a10: nothing received after April is opened


def test_a_period_still_running_counts_up_to_now(store, catalogue, calendar):
    now = bkk(5, 20, 12)
    rep = report(store, catalogue, lambda agency: calendar, AGENCY, date(2024, 5, 1), date(2024, 5, 31), now=now)
    permit = by_service(rep)[PERMIT]
    assert rep.as_of == now
    # open at 20 May 12:00: a4 (approved 21 May), a5 (23 May), a6 (31 May), a8, a9; and b1 (done 12:30)
    assert permit.in_progress == 5 and by_service(rep)[OTHER].in_progress == 1
    # a4 was resubmitted at 08:30 and forwarded only at 14:00; a6 and a8 wait for documents
    assert {(s.service, s.state, s.count) for s in rep.states} == {
        (PERMIT, "submitted", 3), (PERMIT, "awaiting_documents", 2), (OTHER, "submitted", 1)}


def test_the_nearest_rank_percentile():
    assert percentile_nearest_rank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90) == 9
    assert percentile_nearest_rank([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 90) == 10
    assert percentile_nearest_rank([4.0], 90) == 4.0


def test_bad_periods_are_refused(store, catalogue, calendar):
    with pytest.raises(ValueError):
        report(store, catalogue, lambda a: calendar, AGENCY, date(2024, 5, 2), date(2024, 5, 1), now=bkk(6, 1))
    with pytest.raises(TypeError):
        report(store, catalogue, lambda a: calendar, AGENCY, bkk(5, 1), date(2024, 5, 31), now=bkk(6, 1))


# -- exports ---------------------------------------------------------------------------

def csv_rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_csv_has_a_bom_thai_headers_and_the_numbers(may):  # R: A-SP5
    data = report_csv(may)
    assert data.startswith(b"\xef\xbb\xbf")
    rows = csv_rows(data)
    header = next(r for r in rows if r and r[0] == "รหัสบริการ / Service id")
    col = {name.split(" / ")[1]: i for i, name in enumerate(header)}
    permit = next(r for r in rows if r and r[0] == PERMIT)
    assert permit[col["Service (Thai)"]] == "ใบอนุญาตทดสอบ"
    assert permit[col["Received"]] == "7" and permit[col["Completed"]] == "5"
    assert permit[col["Disposed"]] == "1" and permit[col["In progress"]] == "4"
    assert permit[col["Processing time, median (working days)"]] == "2.50"
    assert permit[col["Processing time, 90th percentile (working days)"]] == "17.00"
    assert permit[col["Completed within the standard time (%)"]] == "80.0"
    total = next(r for r in rows if r and r[0] == "*")
    assert total[col["Received"]] == "9" and total[col["Processing time, median (working days)"]] == "1.75"
    assert ["u-reviewer", "5", "4"] in rows and ["u-reviewer", "request_documents", "3"] in rows
    assert any("ระยะเวลาดำเนินการ มัธยฐาน (วันทำการ)" in cell for cell in header)


def test_xlsx_sheets_read_back_with_the_numbers(may):
    wb = load_workbook(io.BytesIO(report_xlsx(may)))
    assert wb.sheetnames == ["สรุป Summary", "บริการ Services", "สถานะ States", "เจ้าหน้าที่ Officers",
                             "การดำเนินการ Actions"]
    ws = wb["บริการ Services"]
    header = [c.value for c in ws[2]]
    assert header[0] == "รหัสบริการ / Service id"
    col = {name.split(" / ")[1]: i for i, name in enumerate(header)}
    permit = next(r for r in ws.iter_rows(min_row=3, values_only=True) if r[0] == PERMIT)
    assert permit[col["Received"]] == 7 and permit[col["Completed"]] == 5 and permit[col["Overdue"]] == 2
    assert permit[col["Processing time, median (working days)"]] == 2.5
    assert permit[col["Processing time, 90th percentile (working days)"]] == 17.0
    assert permit[col["Completed within the standard time (%)"]] == 80.0
    total = next(r for r in ws.iter_rows(min_row=3, values_only=True) if r[0] == "*")
    assert total[col["Completed within the standard time (%)"]] == 83.3
    officers = [r for r in wb["เจ้าหน้าที่ Officers"].iter_rows(min_row=3, values_only=True)]
    assert officers == [("u-approver", 5, 5), ("u-reviewer", 5, 4), ("u-clerk", 2, 2)]
    states = {r[1]: r[4] for r in wb["สถานะ States"].iter_rows(min_row=3, values_only=True)}
    assert states == {"awaiting_documents": 1, "submitted": 3}
    assert "หน่วยงานทดสอบ" in wb["สรุป Summary"]["B2"].value


def test_text_from_people_never_becomes_a_formula(store, catalogue, calendar):  # R: A-X2
    store.create_application(application(
        "evil", bkk(5, 6, 10), state="approved", closed=bkk(5, 7, 9), outcome="approved",
        moves=[('=HYPERLINK("http://evil.example","x")', bkk(5, 7, 9), "approve", "submitted", "approved")]))
    rep = report(store, catalogue, lambda a: calendar, AGENCY, date(2024, 5, 1), date(2024, 5, 31), now=bkk(6, 10))
    rows = csv_rows(report_csv(rep))
    assert any(r and r[0] == "'=HYPERLINK(\"http://evil.example\",\"x\")" for r in rows)
    ws = load_workbook(io.BytesIO(report_xlsx(rep)))["เจ้าหน้าที่ Officers"]
    cell = next(row[0] for row in ws.iter_rows(min_row=3) if str(row[0].value).startswith("=HYPERLINK"))
    assert cell.data_type == "s"  # stored as text, not as a formula


def test_svg_chart_is_accessible_and_self_contained(may):
    svg = report_chart_svg(may)
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("aria-labelledby") == "report-chart-title report-chart-desc"
    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert title.get("id") == "report-chart-title" and "หน่วยงานทดสอบ" in title.text
    assert "ใบอนุญาตทดสอบ: รับ 7 เรื่อง ดำเนินการเสร็จ 5 เรื่อง ระยะเวลามัธยฐาน 2.5 วันทำการ" in desc.text
    labels = [t.text for t in root.iter(f"{SVG}text")]
    assert "ใบอนุญาตทดสอบ" in labels and "7" in labels and "5" in labels and "2.5" in labels
    bar_titles = [t.text for r in root.iter(f"{SVG}rect") for t in r.findall(f"{SVG}title")]
    assert "ใบอนุญาตทดสอบ: รับคำขอ 7" in bar_titles
    assert "<script" not in svg and "href" not in svg and "http://" not in svg.replace("http://www.w3.org/2000/svg", "")
    english = ET.fromstring(report_chart_svg(may, lang="en", id_prefix="c2"))
    assert "Test permit: received 7, completed 5, median 2.5 working days" in english.find(f"{SVG}desc").text
    assert english.get("aria-labelledby") == "c2-title c2-desc"
