"""The working calendar and the clock (ARCHITECTURE "Time").

Expected values are worked out by hand from the real Thai calendar (weekday of
each date, the announced holidays and substitution days), never taken from the
code under test.
"""
from datetime import date, datetime, time, timedelta, timezone

import pytest

from eservice.calendar import OfficeHours, WorkingCalendar, from_agency, thai_government_holidays
from eservice.clock import BANGKOK, UTC, FixedClock, SystemClock

H = timedelta(hours=1)


def bkk(y, m, d, hh=0, mm=0, ss=0):
    return datetime(y, m, d, hh, mm, ss, tzinfo=BANGKOK)


@pytest.fixture(scope="module")
def cal():
    return WorkingCalendar()


# ----------------------------------------------------------------------- clock
def test_fixed_clock_is_aware_utc_and_moves():
    clock = FixedClock(bkk(2023, 1, 22, 21, 33))
    assert clock.now() == datetime(2023, 1, 22, 14, 33, tzinfo=UTC)
    assert clock.now().utcoffset() == timedelta(0)
    clock.advance(timedelta(hours=3))
    assert clock.now() == datetime(2023, 1, 22, 17, 33, tzinfo=UTC)
    clock.advance(minutes=30)
    assert clock.now() == datetime(2023, 1, 22, 18, 3, tzinfo=UTC)
    clock.set(datetime(2024, 2, 29, 0, 0, tzinfo=UTC))
    assert clock.now() == datetime(2024, 2, 29, tzinfo=UTC)


def test_clock_today_is_the_bangkok_date():
    # 18:00 UTC on 22 January is 01:00 on 23 January in Bangkok (UTC+7).
    clock = FixedClock(datetime(2023, 1, 22, 18, 0, tzinfo=UTC))
    assert clock.today() == date(2023, 1, 23)
    assert clock.today(UTC) == date(2023, 1, 22)


def test_system_clock_is_aware_and_current():
    before = datetime.now(timezone.utc)
    now = SystemClock().now()
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=5) <= now <= datetime.now(timezone.utc)


def test_fixed_clock_rejects_naive():
    with pytest.raises(ValueError, match="timezone-aware"):
        FixedClock(datetime(2023, 1, 22, 21, 33))


# ----------------------------------------------------------------- intake RC-4
def test_rc4_sunday_night_is_received_monday_0830(cal):
    # R: RC-4 — sent Sunday 22 January 21:33 → received Monday 23 January 08:30.
    received = cal.intake_time(bkk(2023, 1, 22, 21, 33))
    assert received == bkk(2023, 1, 23, 8, 30)
    assert received.utcoffset() == timedelta(0)  # returned in UTC
    assert cal.to_local(received).replace(tzinfo=None) == datetime(2023, 1, 23, 8, 30)
    assert cal.to_local(received).utcoffset() == timedelta(hours=7)


def test_rc4_same_instant_given_in_utc(cal):
    # R: RC-4 — 14:33 UTC is 21:33 in Bangkok; the zone of the input does not matter.
    assert cal.intake_time(datetime(2023, 1, 22, 14, 33, tzinfo=UTC)) == datetime(
        2023, 1, 23, 1, 30, tzinfo=UTC
    )


def test_during_office_hours_received_at_once(cal):
    # R: RC-4 — Tuesday 24 January 2023 10:15 is inside office hours.
    sent = bkk(2023, 1, 24, 10, 15, 7)
    assert cal.intake_time(sent) == sent
    assert cal.intake_time(bkk(2023, 1, 24, 8, 30)) == bkk(2023, 1, 24, 8, 30)
    assert cal.intake_time(bkk(2023, 1, 24, 16, 29, 59)) == bkk(2023, 1, 24, 16, 29, 59)


def test_just_after_closing_goes_to_next_morning(cal):
    # R: RC-4 — office hours are [08:30, 16:30): 16:30:00 and later are outside.
    assert cal.intake_time(bkk(2023, 1, 24, 16, 30, 1)) == bkk(2023, 1, 25, 8, 30)
    assert cal.intake_time(bkk(2023, 1, 24, 16, 30)) == bkk(2023, 1, 25, 8, 30)


def test_early_morning_goes_to_same_day_opening(cal):
    # R: RC-4
    assert cal.intake_time(bkk(2023, 1, 24, 6, 0)) == bkk(2023, 1, 24, 8, 30)
    assert cal.intake_time(bkk(2023, 1, 24, 0, 0)) == bkk(2023, 1, 24, 8, 30)


def test_friday_evening_goes_to_monday(cal):
    # R: RC-4 — Friday 27 January 2023 18:00 → Monday 30 January 08:30.
    assert cal.intake_time(bkk(2023, 1, 27, 18, 0)) == bkk(2023, 1, 30, 8, 30)
    assert cal.intake_time(bkk(2023, 1, 28, 11, 0)) == bkk(2023, 1, 30, 8, 30)  # Saturday


def test_songkran_and_substitution_day(cal):
    # R: RC-4 — Songkran 2023: Thu 13, Fri 14, Sat 15 April; Sat 15 is
    # substituted by Monday 17 April (วันหยุดชดเชยวันสงกรานต์).  A request sent on
    # Thursday 13 April 10:00 is received Tuesday 18 April 08:30.
    for d in (13, 14, 15, 16, 17):
        assert not cal.is_working_day(date(2023, 4, d)), d
    assert cal.is_working_day(date(2023, 4, 12))
    assert cal.is_working_day(date(2023, 4, 18))
    assert cal.intake_time(bkk(2023, 4, 13, 10, 0)) == bkk(2023, 4, 18, 8, 30)
    assert "สงกรานต์" in cal.holiday_name(date(2023, 4, 17))
    assert "ชดเชย" in cal.holiday_name(date(2023, 4, 17))
    assert "Songkran" in cal.holiday_name(date(2023, 4, 17), lang="en")
    assert "in lieu" in cal.holiday_name(date(2023, 4, 17), lang="en")


def test_other_real_substitution_days(cal):
    # R: RC-4 — Songkran 2024 (Sat 13 – Mon 15) → Tuesday 16 April 2024 off;
    # Songkran 2025 (Sun 13 – Tue 15) → Wednesday 16 April 2025 off;
    # Coronation Day Saturday 4 May 2024 → Monday 6 May 2024 off;
    # Chakri Day Sunday 6 April 2025 → Monday 7 April 2025 off.
    for d in (date(2024, 4, 16), date(2025, 4, 16), date(2024, 5, 6), date(2025, 4, 7)):
        assert d.weekday() < 5
        assert not cal.is_working_day(d), d
        assert cal.holiday_name(d).startswith("ชดเชย"), d
    # The day after each substitution day is an ordinary working day.
    for d in (date(2024, 4, 17), date(2025, 4, 17), date(2024, 5, 7), date(2025, 4, 8)):
        assert cal.is_working_day(d), d


def test_cabinet_special_day_and_government_only_holiday(cal):
    # R: RC-4 — Friday 29 December 2023 was a special day off declared by the
    # Cabinet; Friday 10 May 2024 was the Royal Ploughing Ceremony (government
    # offices only).
    assert not cal.is_working_day(date(2023, 12, 29))
    assert not cal.is_working_day(date(2024, 5, 10))
    assert cal.holiday_name(date(2024, 5, 10)) == "วันพืชมงคล"
    assert cal.holiday_name(date(2024, 5, 10), "en") == "Royal Ploughing Ceremony"


def test_labour_day_is_a_working_day(cal):
    # R: RC-4 — government offices do not observe Labour Day (1 May).
    assert date(2024, 5, 1).weekday() == 2  # Wednesday
    assert cal.is_working_day(date(2024, 5, 1))
    assert cal.holiday_name(date(2024, 5, 1)) is None
    assert cal.intake_time(bkk(2024, 5, 1, 9, 0)) == bkk(2024, 5, 1, 9, 0)
    # 1 May 2027 is a Saturday; its private-sector in-lieu Monday 3 May is a working day too.
    assert date(2027, 5, 3).weekday() == 0
    assert cal.is_working_day(date(2027, 5, 3))
    assert all("แรงงาน" not in n for names in thai_government_holidays(2027).values() for n in names[0])


def test_weekend_is_not_a_named_holiday(cal):
    assert not cal.is_working_day(date(2023, 1, 28))
    assert cal.holiday_name(date(2023, 1, 28)) is None
    assert cal.holiday_name(date(2023, 1, 24)) is None  # ordinary Tuesday


def test_agency_extra_holiday_respected():
    # R: RC-4 — the agency closes on Monday 23 January 2023.
    cal = WorkingCalendar(extra_holidays={date(2023, 1, 23): ("วันหยุดจังหวัด", "Provincial day off")})
    assert not cal.is_working_day(date(2023, 1, 23))
    assert cal.intake_time(bkk(2023, 1, 22, 21, 33)) == bkk(2023, 1, 24, 8, 30)
    assert cal.holiday_name(date(2023, 1, 23)) == "วันหยุดจังหวัด"
    assert cal.holiday_name(date(2023, 1, 23), "en") == "Provincial day off"
    plain = WorkingCalendar(extra_holidays=[date(2023, 1, 23)])
    assert not plain.is_working_day(date(2023, 1, 23))
    assert plain.holiday_name(date(2023, 1, 23))  # a default name


def test_agency_extra_working_day_respected():
    # R: RC-4 — the agency opens on Saturday 28 January 2023 and on the
    # Songkran substitution day Monday 17 April 2023.
    cal = WorkingCalendar(extra_working_days=[date(2023, 1, 28), date(2023, 4, 17)])
    assert cal.is_working_day(date(2023, 1, 28))
    assert cal.is_working_day(date(2023, 4, 17))
    assert cal.holiday_name(date(2023, 4, 17)) is None
    assert cal.intake_time(bkk(2023, 1, 27, 18, 0)) == bkk(2023, 1, 28, 8, 30)
    assert cal.intake_time(bkk(2023, 4, 13, 10, 0)) == bkk(2023, 4, 17, 8, 30)


def test_extra_day_both_ways_is_an_error():
    with pytest.raises(ValueError):
        WorkingCalendar(extra_holidays=[date(2023, 1, 23)], extra_working_days=[date(2023, 1, 23)])


def test_other_office_hours():
    oh = OfficeHours(weekdays=("mon", "tue", "wed", "thu", "fri", "sat"), start="09:00", end="15:00")
    cal = WorkingCalendar(oh)
    assert cal.is_working_day(date(2023, 1, 28))  # Saturday
    assert cal.intake_time(bkk(2023, 1, 27, 15, 0)) == bkk(2023, 1, 28, 9, 0)
    assert cal.working_time(bkk(2023, 1, 23, 0, 0), bkk(2023, 1, 24, 0, 0)) == 6 * H
    with pytest.raises(ValueError):
        OfficeHours(start=time(17, 0), end=time(8, 0))


# ------------------------------------------------------------ working days
def test_next_working_day(cal):
    assert cal.next_working_day(date(2023, 1, 20)) == date(2023, 1, 23)  # Fri → Mon
    assert cal.next_working_day(date(2023, 1, 23)) == date(2023, 1, 24)
    assert cal.next_working_day(date(2023, 4, 12)) == date(2023, 4, 18)  # over Songkran


def test_add_working_days_over_long_weekend(cal):
    # Songkran 2025: Sat 12, Sun 13, Mon 14, Tue 15, substitution Wed 16 April.
    assert cal.add_working_days(date(2025, 4, 11), 1) == date(2025, 4, 17)
    assert cal.add_working_days(date(2025, 4, 11), 2) == date(2025, 4, 18)
    # Chakri Day Sunday 6 April 2025 → Monday 7 April off.
    assert cal.add_working_days(date(2025, 4, 3), 2) == date(2025, 4, 8)
    # New Year 2024: Fri 29 Dec 2023 special day off, weekend, Mon 1 Jan.
    assert cal.add_working_days(date(2023, 12, 28), 1) == date(2024, 1, 2)
    assert cal.add_working_days(date(2023, 1, 23), 0) == date(2023, 1, 23)


def test_add_working_days_backwards(cal):
    assert cal.add_working_days(date(2023, 4, 18), -1) == date(2023, 4, 12)
    assert cal.add_working_days(date(2024, 1, 2), -1) == date(2023, 12, 28)
    assert cal.add_working_days(date(2023, 1, 23), -1) == date(2023, 1, 20)


def test_working_days_between(cal):
    # April 2023 after Monday 3 April up to Friday 28 April: 19 weekdays minus
    # Chakri (Thu 6), Songkran (Thu 13, Fri 14), substitution (Mon 17) = 15.
    assert cal.working_days_between(date(2023, 4, 3), date(2023, 4, 28)) == 15
    assert cal.working_days_between(date(2023, 4, 28), date(2023, 4, 3)) == -15
    assert cal.working_days_between(date(2023, 1, 20), date(2023, 1, 20)) == 0
    assert cal.working_days_between(date(2023, 1, 20), date(2023, 1, 22)) == 0  # only a weekend


def test_add_and_between_are_inverse_across_years(cal):
    start = date(2023, 11, 15)
    previous = start
    for n in range(1, 400, 7):
        d = cal.add_working_days(start, n)
        assert d > previous and cal.is_working_day(d)
        assert cal.working_days_between(start, d) == n
        assert cal.add_working_days(d, -n) <= start
        previous = d


def test_dates_not_datetimes(cal):
    with pytest.raises(TypeError):
        cal.is_working_day(bkk(2023, 1, 23, 9))


# ---------------------------------------------------------------- office time
def test_working_time_within_one_day(cal):
    # R: A-R5
    assert cal.working_time(bkk(2023, 1, 23, 9, 0), bkk(2023, 1, 23, 11, 15)) == 2 * H + 15 * timedelta(minutes=1)
    assert cal.working_time(bkk(2023, 1, 23, 6, 0), bkk(2023, 1, 23, 20, 0)) == 8 * H
    assert cal.working_time(bkk(2023, 1, 23, 11, 0), bkk(2023, 1, 23, 9, 0)) == timedelta(0)


def test_working_time_across_nights_and_weekends(cal):
    # R: A-R5 — Friday 20 January 15:30 → Monday 23 January 09:30: 1 h + 1 h.
    assert cal.working_time(bkk(2023, 1, 20, 15, 30), bkk(2023, 1, 23, 9, 30)) == 2 * H
    # A full week Monday 23 → Friday 27 January 2023: 5 × 8 h.
    assert cal.working_time(bkk(2023, 1, 23, 0, 0), bkk(2023, 1, 28, 0, 0)) == 40 * H
    # A whole weekend: nothing.
    assert cal.working_time(bkk(2023, 1, 21, 0, 0), bkk(2023, 1, 23, 0, 0)) == timedelta(0)
    # Over Songkran 2023: Wed 12 April 16:00 → Tue 18 April 09:00 = 0.5 h + 0.5 h.
    assert cal.working_time(bkk(2023, 4, 12, 16, 0), bkk(2023, 4, 18, 9, 0)) == H


def test_working_time_from_rc4_intake(cal):
    # R: A-R5 — SLA time counts from receipt: the Sunday-night request has used
    # 1 h of office time at Monday 09:30, not 12 h.
    received = cal.intake_time(bkk(2023, 1, 22, 21, 33))
    assert cal.working_time(received, bkk(2023, 1, 23, 9, 30)) == H
    assert cal.working_time(bkk(2023, 1, 22, 21, 33), bkk(2023, 1, 23, 9, 30)) == H


def test_working_time_with_pause(cal):
    # R: A-R5 — Mon 23 Jan 09:00 → Wed 25 Jan 12:00 = 7.5 + 8 + 3.5 = 19 h;
    # paused Mon 14:00 → Tue 10:00 = 2.5 + 1.5 = 4 h of office time.
    start, end = bkk(2023, 1, 23, 9, 0), bkk(2023, 1, 25, 12, 0)
    assert cal.working_time(start, end) == 19 * H
    pause = (bkk(2023, 1, 23, 14, 0), bkk(2023, 1, 24, 10, 0))
    assert cal.working_time(start, end, [pause]) == 15 * H
    # Overlapping pauses are not counted twice.
    overlapping = [pause, (bkk(2023, 1, 23, 15, 0), bkk(2023, 1, 23, 16, 0))]
    assert cal.working_time(start, end, overlapping) == 15 * H
    # A pause that started before `start` only removes the part after it.
    assert cal.working_time(start, end, [(bkk(2023, 1, 20, 9, 0), bkk(2023, 1, 23, 10, 0))]) == 18 * H


def test_working_time_with_open_pause(cal):
    # R: A-R5 — paused since Tuesday 24 January 12:00 and still paused: only
    # Mon 09:00–16:30 (7.5 h) and Tue 08:30–12:00 (3.5 h) count.
    start, end = bkk(2023, 1, 23, 9, 0), bkk(2023, 1, 25, 12, 0)
    assert cal.working_time(start, end, [(bkk(2023, 1, 24, 12, 0), None)]) == 11 * H


def test_add_working_time(cal):
    # R: A-R5 — Friday 27 Jan 15:30 + 2 h → Monday 30 Jan 09:30.
    assert cal.add_working_time(bkk(2023, 1, 27, 15, 30), 2 * H) == bkk(2023, 1, 30, 9, 30)
    # Landing on the closing stays at the closing.
    assert cal.add_working_time(bkk(2023, 1, 23, 8, 30), 8 * H) == bkk(2023, 1, 23, 16, 30)
    assert cal.add_working_time(bkk(2023, 1, 23, 8, 30), 16 * H) == bkk(2023, 1, 24, 16, 30)
    assert cal.add_working_time(bkk(2023, 1, 23, 8, 30), 8 * H + timedelta(minutes=1)) == bkk(2023, 1, 24, 8, 31)
    # Starting outside hours starts at the next opening.
    assert cal.add_working_time(bkk(2023, 1, 22, 21, 33), H) == bkk(2023, 1, 23, 9, 30)
    assert cal.add_working_time(bkk(2023, 1, 22, 21, 33), timedelta(0)) == bkk(2023, 1, 23, 8, 30)
    # Round trip with working_time.
    start = bkk(2023, 3, 30, 11, 17)
    for hours in (1, 5, 8, 13, 40, 100):
        end = cal.add_working_time(start, hours * H)
        assert cal.working_time(start, end) == hours * H


# -------------------------------------------------------------------- due date
def test_due_at_counts_intake_day_when_received_at_opening(cal):
    # R: A-R5 — received Monday 23 January 08:30 (the RC-4 example): day 1 is Monday.
    assert cal.due_at(bkk(2023, 1, 22, 21, 33), 1) == bkk(2023, 1, 23, 16, 30)
    assert cal.due_at(bkk(2023, 1, 23, 8, 30), 3) == bkk(2023, 1, 25, 16, 30)


def test_due_at_starts_next_day_when_received_during_the_day(cal):
    # R: A-R5 — received Monday 10:00: day 1 is Tuesday.
    assert cal.due_at(bkk(2023, 1, 23, 10, 0), 1) == bkk(2023, 1, 24, 16, 30)
    # 15 working days from Monday 3 April 2023 10:00 (see working_days_between).
    assert cal.due_at(bkk(2023, 4, 3, 10, 0), 15) == bkk(2023, 4, 28, 16, 30)


def test_due_at_with_pause(cal):
    # R: A-R5 — received Mon 23 Jan 10:00, 2 working days → Wed 25 Jan 16:30;
    # paused all of Tuesday (8 h) → Thursday 26 Jan 16:30.
    received = bkk(2023, 1, 23, 10, 0)
    assert cal.due_at(received, 2) == bkk(2023, 1, 25, 16, 30)
    tuesday = (bkk(2023, 1, 24, 8, 30), bkk(2023, 1, 24, 16, 30))
    assert cal.due_at(received, 2, paused=[tuesday]) == bkk(2023, 1, 26, 16, 30)
    # A running pause since Tuesday 08:30, seen on Tuesday 12:30: 4 h added.
    running = [(bkk(2023, 1, 24, 8, 30), None)]
    assert cal.due_at(received, 2, paused=running, now=bkk(2023, 1, 24, 12, 30)) == bkk(2023, 1, 26, 12, 30)
    with pytest.raises(ValueError):
        cal.due_at(received, 2, paused=running)
    with pytest.raises(ValueError):
        cal.due_at(received, 0)


# ---------------------------------------------------------------- naive input
@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.intake_time(datetime(2023, 1, 22, 21, 33)),
        lambda c: c.working_time(datetime(2023, 1, 23, 9), bkk(2023, 1, 23, 10)),
        lambda c: c.working_time(bkk(2023, 1, 23, 9), bkk(2023, 1, 23, 10), [(datetime(2023, 1, 23, 9), None)]),
        lambda c: c.add_working_time(datetime(2023, 1, 23, 9), H),
        lambda c: c.due_at(datetime(2023, 1, 23, 9), 1),
        lambda c: c.to_local(datetime(2023, 1, 23, 9)),
    ],
)
def test_naive_datetime_rejected(cal, call):
    with pytest.raises(ValueError) as err:
        call(cal)
    message = str(err.value)
    assert "timezone-aware" in message and "เขตเวลา" in message


# ------------------------------------------------------------------ agency
def test_from_agency_mapping():
    cal = from_agency({
        "timezone": "Asia/Bangkok",
        "office_hours": {"days": ["mon", "tue", "wed", "thu", "fri"], "start": "08:00", "end": "16:00"},
        "extra_holidays": [{"date": "2023-01-23", "name": {"th": "วันหยุดจังหวัด", "en": "Provincial day off"}}],
        "extra_working_days": ["2023-01-28"],
    })
    assert cal.intake_time(bkk(2023, 1, 22, 21, 33)) == bkk(2023, 1, 24, 8, 0)
    assert cal.holiday_name(date(2023, 1, 23), "en") == "Provincial day off"
    assert cal.is_working_day(date(2023, 1, 28))


def test_from_agency_model():
    models = pytest.importorskip("eservice.spec.models")
    agency = models.Agency.model_validate({
        "schema_version": 1, "kind": "agency", "code": "tambon-x", "name": "อบต. ตัวอย่าง",
        "phone": "02-000-0000",
        "extra_holidays": [{"date": "2023-01-23", "name": "วันหยุดจังหวัด"}],
    })
    cal = from_agency(agency)
    assert cal.holiday_name(date(2023, 1, 23)) == "วันหยุดจังหวัด"
    assert cal.intake_time(bkk(2023, 1, 22, 21, 33)) == bkk(2023, 1, 24, 8, 30)
