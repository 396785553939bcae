"""The statutory clock (DOMAIN §3): `Calendar` and `Clock` from workflows.clock, pure Python.

Rules under test, from DOMAIN §3 and Civil Code arts. 200-204:

- days are calendar days counted from the day after the start (the start day never counts,
  whatever the hour); the period ends at 24:00 of its last day, so `due_at` is 00:00 of the
  day after the last day;
- a last day that is a day off (public holiday, or a weekend that is not a make-up working
  day 调休) moves to the next working day; a make-up working weekend day does not move;
- paused days are added to the period;
- the ladder: reminder at 2/3 of the period, escalation at 5/6 (days after the start, shifted
  by the paused days), breach at the due time; each step fires once.

Every expected value below was worked out by hand from a printed calendar, not from the code.
All times are China Standard Time (UTC+8) with the official 2025/2026 PRC holiday schedules, as
the chinesecalendar package publishes them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from models.calendars import published_calendar
from workflows.clock import Calendar, Clock

CST = timezone(timedelta(hours=8))
PRC = published_calendar()  # the chinesecalendar package: 2025 and 2026 as published
CAL = Calendar.of(CST, PRC.holidays, PRC.workdays, PRC.years)

# Monday 2026-03-02 10:00 CST: the start used by most tests. No holiday between March and
# the Qingming holiday (Apr 4-6), so a 30-day clock from here is plain arithmetic.
T0 = datetime(2026, 3, 2, 10, 0, tzinfo=CST)


def cst(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CST)


def clock(days: int = 30, start: datetime = T0, **kw) -> Clock:
    return Clock(name="determination", started_at=start, days=days, calendar=CAL, **kw)


# ------------------------------------------------------------------ the calendar data


@pytest.mark.parametrize(
    ("day", "off"),
    [
        # Wednesday 2026-03-04: an ordinary working day
        pytest.param(date(2026, 3, 4), False, id="ordinary-wednesday"),
        # Saturday 2026-03-07 and Sunday 2026-03-08: an ordinary weekend
        pytest.param(date(2026, 3, 7), True, id="ordinary-saturday"),
        pytest.param(date(2026, 3, 8), True, id="ordinary-sunday"),
        # National Day 2026: Oct 1 (Thu) to Oct 7 (Wed) are holidays, Oct 8 (Thu) works
        pytest.param(date(2026, 10, 1), True, id="national-day-first"),
        pytest.param(date(2026, 10, 5), True, id="national-day-monday"),
        pytest.param(date(2026, 10, 7), True, id="national-day-last"),
        pytest.param(date(2026, 10, 8), False, id="after-national-day"),
        # Saturday 2026-10-10 and Sunday 2026-09-20 are make-up working days
        pytest.param(date(2026, 10, 10), False, id="makeup-sat-oct-10"),
        pytest.param(date(2026, 9, 20), False, id="makeup-sun-sep-20"),
        # Spring Festival 2026: Feb 15 (Sun) to Feb 23 (Mon); Feb 14 and Feb 28 (Sat) work
        pytest.param(date(2026, 2, 14), False, id="spring-makeup-sat-feb-14"),
        pytest.param(date(2026, 2, 15), True, id="spring-first"),
        pytest.param(date(2026, 2, 23), True, id="spring-last-monday"),
        pytest.param(date(2026, 2, 24), False, id="spring-after"),
        pytest.param(date(2026, 2, 28), False, id="spring-makeup-sat-feb-28"),
        pytest.param(date(2026, 3, 1), True, id="sunday-after-makeup-sat"),
        # New Year 2026: Jan 1-3 (Thu-Sat) off, Sunday Jan 4 a make-up working day
        pytest.param(date(2026, 1, 3), True, id="new-year-saturday"),
        pytest.param(date(2026, 1, 4), False, id="new-year-makeup-sunday"),
    ],
)
def test_calendar_days_off(day, off):
    assert CAL.is_day_off(day) is off


# ------------------------------------------------------------- counting from the next day


@pytest.mark.parametrize(
    ("days", "start", "last_day"),
    [
        # Mon Mar 2 + 30: day 1 is Mar 3, day 29 is Mar 31, day 30 is Wed Apr 1 (a working day)
        pytest.param(30, T0, date(2026, 4, 1), id="30-days-from-mar-2"),
        # Mon Mar 2 + 3: Mar 3, 4, 5 -> Thu Mar 5
        pytest.param(3, T0, date(2026, 3, 5), id="3-days"),
        # Mon Mar 2 + 10: Mar 3 .. Mar 12 -> Thu Mar 12
        pytest.param(10, T0, date(2026, 3, 12), id="10-days"),
        # Mon Mar 2 + 15: Mar 3 .. Mar 17 -> Tue Mar 17
        pytest.param(15, T0, date(2026, 3, 17), id="15-days"),
        # the start day never counts, even when the clock starts at 00:00: still Thu Mar 5
        pytest.param(3, cst(2026, 3, 2, 0, 0), date(2026, 3, 5), id="start-at-midnight"),
        # ... nor when it starts one minute before midnight: still Thu Mar 5
        pytest.param(3, cst(2026, 3, 2, 23, 59), date(2026, 3, 5), id="start-at-23-59"),
        # 2026-03-01 16:30 UTC is 2026-03-02 00:30 CST: the local date (Mar 2) counts, so the
        # last day is Thu Mar 5, not Wed Mar 4 as the UTC date would give
        pytest.param(
            3,
            datetime(2026, 3, 1, 16, 30, tzinfo=UTC),
            date(2026, 3, 5),
            id="start-given-in-utc-uses-local-date",
        ),
    ],
)
def test_days_count_from_the_next_day(days, start, last_day):
    c = clock(days, start)
    assert c.last_day(start) == last_day
    # the period ends at 24:00 of the last day = 00:00 CST of the day after
    assert c.due_at(start) == datetime.combine(
        last_day + timedelta(days=1), datetime.min.time(), CST
    )


def test_30_day_clock_from_monday_march_2_is_due_at_midnight_starting_april_2():
    c = clock(30)
    assert c.last_day(T0) == date(2026, 4, 1)
    assert c.due_at(T0) == cst(2026, 4, 2, 0, 0)
    # the same instant in UTC: 2026-04-01 16:00Z
    assert c.due_at(T0) == datetime(2026, 4, 1, 16, 0, tzinfo=UTC)


# ------------------------------------------------------------------- holiday roll-forward


@pytest.mark.parametrize(
    ("days", "start_day", "last_day"),
    [
        # Wed Mar 4 + 3 = Sat Mar 7 (weekend) -> Mon Mar 9
        pytest.param(3, date(2026, 3, 4), date(2026, 3, 9), id="saturday-to-monday"),
        # Thu Mar 5 + 3 = Sun Mar 8 (weekend) -> Mon Mar 9
        pytest.param(3, date(2026, 3, 5), date(2026, 3, 9), id="sunday-to-monday"),
        # Fri Jan 30 + 30 = Sun Mar 1 (Jan 31 is day 1, Feb 28 day 29) -> Mon Mar 2
        pytest.param(30, date(2026, 1, 30), date(2026, 3, 2), id="month-end-sunday"),
        # Thu Sep 24 + 10 = Sun Oct 4, inside National Day (Oct 1-7) -> Thu Oct 8
        pytest.param(10, date(2026, 9, 24), date(2026, 10, 8), id="national-day-middle"),
        # Mon Sep 28 + 3 = Thu Oct 1, the first day of National Day -> Thu Oct 8
        pytest.param(3, date(2026, 9, 28), date(2026, 10, 8), id="national-day-first-day"),
        # Sun Oct 4 + 3 = Wed Oct 7, the last day of National Day -> Thu Oct 8
        pytest.param(3, date(2026, 10, 4), date(2026, 10, 8), id="national-day-last-day"),
        # Wed Oct 7 + 3 = Sat Oct 10, a make-up working Saturday: it does NOT move
        pytest.param(3, date(2026, 10, 7), date(2026, 10, 10), id="makeup-saturday-stays"),
        # Thu Sep 10 + 10 = Sun Sep 20, a make-up working Sunday: it does NOT move
        pytest.param(10, date(2026, 9, 10), date(2026, 9, 20), id="makeup-sunday-stays"),
        # Mon Sep 21 + 4 = Fri Sep 25, Mid-Autumn (Sep 25-27) -> Mon Sep 28
        pytest.param(4, date(2026, 9, 21), date(2026, 9, 28), id="mid-autumn"),
        # Spring Festival 2026 is Feb 15 (Sun) .. Feb 23 (Mon); Feb 14 and Feb 28 (Sat) work.
        # Wed Feb 11 + 3 = Sat Feb 14, a make-up working day: stays
        pytest.param(3, date(2026, 2, 11), date(2026, 2, 14), id="spring-makeup-feb-14-stays"),
        # Thu Feb 12 + 3 = Sun Feb 15, first day of the holiday -> Tue Feb 24
        pytest.param(3, date(2026, 2, 12), date(2026, 2, 24), id="spring-first-day"),
        # Tue Feb 10 + 10 = Fri Feb 20, inside the holiday -> Tue Feb 24
        pytest.param(10, date(2026, 2, 10), date(2026, 2, 24), id="spring-middle"),
        # Fri Feb 20 + 3 = Mon Feb 23, the last (weekday) holiday -> Tue Feb 24
        pytest.param(3, date(2026, 2, 20), date(2026, 2, 24), id="spring-last-day-monday"),
        # Wed Feb 25 + 3 = Sat Feb 28, a make-up working day: stays
        pytest.param(3, date(2026, 2, 25), date(2026, 2, 28), id="spring-makeup-feb-28-stays"),
        # Thu Feb 26 + 3 = Sun Mar 1, an ordinary Sunday -> Mon Mar 2
        pytest.param(3, date(2026, 2, 26), date(2026, 3, 2), id="sunday-after-makeup-saturday"),
        # Mon Dec 29 2025 + 3 = Thu Jan 1 2026 (New Year, Jan 1-3 off); Sun Jan 4 is a make-up
        # working day, so the roll-forward stops on Sunday Jan 4
        pytest.param(3, date(2025, 12, 29), date(2026, 1, 4), id="new-year-to-makeup-sunday"),
        # Wed Apr 1 + 30 = Fri May 1, Labour Day (May 1-5) -> Wed May 6
        pytest.param(30, date(2026, 4, 1), date(2026, 5, 6), id="labour-day"),
        # Wed Apr 1 + 3 = Sat Apr 4, Qingming (Apr 4-6, Sat-Mon) -> Tue Apr 7
        pytest.param(3, date(2026, 4, 1), date(2026, 4, 7), id="qingming"),
        # 2025: Sun Sep 28 (make-up day) + 3 = Wed Oct 1; National Day 2025 is Oct 1-8 -> Thu Oct 9
        pytest.param(3, date(2025, 9, 28), date(2025, 10, 9), id="national-day-2025"),
    ],
)
def test_a_last_day_off_moves_to_the_next_working_day(days, start_day, last_day):
    start = datetime.combine(start_day, datetime.min.time(), CST).replace(hour=10)
    c = clock(days, start)
    assert c.last_day(start) == last_day
    assert c.due_at(start) == datetime.combine(
        last_day + timedelta(days=1), datetime.min.time(), CST
    )


# --------------------------------------------------------------------------------- pauses


@pytest.mark.parametrize(
    ("start", "pauses", "paused", "last_day"),
    [
        # DOMAIN: "a 30-day clock with a 12-day materials pause lands 42 days after start".
        # Mon Mar 2 10:00; paused on day 5 (Sat Mar 7 10:00) for 12 days (Thu Mar 19 10:00):
        # Mar 2 + 42 = Mon Apr 13, a working day
        pytest.param(
            T0, [(cst(2026, 3, 7, 10), cst(2026, 3, 19, 10))], 12, date(2026, 4, 13), id="42-days"
        ),
        # the same pause with a start of Thu Aug 20: Aug 20 + 42 = Thu Oct 1 (Aug 31 is +11,
        # Sep 30 is +41), National Day -> Thu Oct 8
        pytest.param(
            cst(2026, 8, 20, 10),
            [(cst(2026, 8, 25, 10), cst(2026, 9, 6, 10))],
            12,
            date(2026, 10, 8),
            id="42-days-then-national-day",
        ),
        # start Mon Feb 23 (holiday; the start day does not count anyway): + 42 = Mon Apr 6,
        # Qingming -> Tue Apr 7
        pytest.param(
            cst(2026, 2, 23, 10),
            [(cst(2026, 2, 28, 10), cst(2026, 3, 12, 10))],
            12,
            date(2026, 4, 7),
            id="42-days-then-qingming",
        ),
        # two pauses add up: Mar 5 -> Mar 8 (3 days) and Mar 20 -> Mar 24 (4 days) = 7;
        # Mar 2 + 37 = Wed Apr 8
        pytest.param(
            T0,
            [
                (cst(2026, 3, 5, 9), cst(2026, 3, 8, 15)),
                (cst(2026, 3, 20, 11), cst(2026, 3, 24, 11)),
            ],
            7,
            date(2026, 4, 8),
            id="two-pauses-add-up",
        ),
        # a pause that starts and ends the same day (09:00-17:00) adds 0: still Wed Apr 1
        pytest.param(
            T0, [(cst(2026, 3, 5, 9), cst(2026, 3, 5, 17))], 0, date(2026, 4, 1), id="same-day"
        ),
        # days are counted by local date: 23:00 Mar 5 -> 01:00 Mar 6 spans one date change,
        # so 1 day: Mar 2 + 31 = Thu Apr 2
        pytest.param(
            T0,
            [(cst(2026, 3, 5, 23), cst(2026, 3, 6, 1))],
            1,
            date(2026, 4, 2),
            id="overnight-pause-counts-one-day",
        ),
    ],
)
def test_paused_days_are_added_to_the_period(start, pauses, paused, last_day):
    c = clock(30, start)
    for since, until in pauses:
        c.pause("missing materials", since)
        c.resume(until)
    now = pauses[-1][1] + timedelta(days=1)
    assert c.paused_days(now) == paused
    assert c.last_day(now) == last_day
    assert c.view(now).paused_days == paused


@pytest.mark.parametrize(
    ("now", "paused", "last_day"),
    [
        # paused Sat Mar 7 10:00 and still paused: at the same instant 0 days
        pytest.param(cst(2026, 3, 7, 10), 0, date(2026, 4, 1), id="at-once"),
        # Tue Mar 10: 3 days paused; Apr 1 + 3 = Sat Apr 4 (Qingming, Apr 4-6) -> Tue Apr 7
        pytest.param(cst(2026, 3, 10, 8), 3, date(2026, 4, 7), id="three-days"),
        # Fri Mar 20: 13 days paused; Apr 1 + 13 = Tue Apr 14
        pytest.param(cst(2026, 3, 20, 8), 13, date(2026, 4, 14), id="thirteen-days"),
        # Sun Apr 19: 43 days paused; Apr 1 + 43 = Thu May 14
        pytest.param(cst(2026, 4, 19, 8), 43, date(2026, 5, 14), id="past-the-old-due-date"),
    ],
)
def test_paused_days_grow_with_now_while_paused(now, paused, last_day):
    c = clock(30)
    c.pause("missing materials notice received", cst(2026, 3, 7, 10))
    assert c.paused
    assert not c.running
    assert c.paused_days(now) == paused
    assert c.last_day(now) == last_day
    view = c.view(now)
    assert view.status == "paused"
    assert view.paused_days == paused


def test_pause_reasons_appear_in_the_view():
    c = clock(30)
    c.pause("missing materials", cst(2026, 3, 5, 9))
    c.resume(cst(2026, 3, 8, 15))
    c.pause("external appraisal", cst(2026, 3, 20, 11))
    view = c.view(cst(2026, 3, 22, 9))
    assert [p["reason"] for p in view.pauses] == ["missing materials", "external appraisal"]
    assert view.pauses[0]["since"] == cst(2026, 3, 5, 9)
    assert view.pauses[0]["until"] == cst(2026, 3, 8, 15)
    assert view.pauses[1]["until"] is None
    assert view.status == "paused"


def test_pause_while_paused_or_stopped_is_ignored_and_resume_while_running_is_harmless():
    c = clock(30)
    c.resume(cst(2026, 3, 4))  # not paused: nothing happens
    assert c.pauses == []
    c.pause("first", cst(2026, 3, 5))
    c.pause("second", cst(2026, 3, 6))  # already paused: the first pause goes on
    assert [p.reason for p in c.pauses] == ["first"]
    c.resume(cst(2026, 3, 8))
    c.stop(cst(2026, 3, 10))
    c.pause("after stop", cst(2026, 3, 11))
    assert [p.reason for p in c.pauses] == ["first"]


# --------------------------------------------------------------------------------- ladder


@pytest.mark.parametrize(
    ("days", "reminder", "escalation", "breach"),
    [
        # 30 days from Mon Mar 2 10:00: 2/3 = 20 days -> Sun Mar 22 10:00; 5/6 = 25 days ->
        # Fri Mar 27 10:00; breach at the due time, Apr 2 00:00 (last day Wed Apr 1)
        pytest.param(30, cst(2026, 3, 22, 10), cst(2026, 3, 27, 10), cst(2026, 4, 2), id="30-days"),
        # 3 days: 2 days -> Wed Mar 4 10:00; 2.5 days -> Wed Mar 4 22:00; last day Thu Mar 5
        pytest.param(3, cst(2026, 3, 4, 10), cst(2026, 3, 4, 22), cst(2026, 3, 6), id="3-days"),
        # 15 days: 10 days -> Thu Mar 12 10:00; 12.5 days -> Sat Mar 14 22:00; last day Tue Mar 17
        pytest.param(
            15, cst(2026, 3, 12, 10), cst(2026, 3, 14, 22), cst(2026, 3, 18), id="15-days"
        ),
        # 60 days: 40 days -> Sat Apr 11 10:00; 50 days -> Tue Apr 21 10:00; Mar 2 + 60 =
        # Fri May 1 (Labour Day, May 1-5) -> last day Wed May 6, due Thu May 7 00:00
        pytest.param(60, cst(2026, 4, 11, 10), cst(2026, 4, 21, 10), cst(2026, 5, 7), id="60-days"),
    ],
)
def test_ladder_points(days, reminder, escalation, breach):
    c = clock(days)
    assert c.point("reminder", T0) == reminder
    assert c.point("escalation", T0) == escalation
    assert c.point("breach", T0) == breach == c.due_at(T0)
    assert c.next_step(T0) == ("reminder", reminder)


def test_ladder_points_move_with_the_paused_days():
    # 30 days from Mon Mar 2 10:00 with a 12-day pause (Mar 7 -> Mar 19): reminder at 20 + 12
    # = 32 days -> Fri Apr 3 10:00; escalation at 25 + 12 = 37 days -> Wed Apr 8 10:00;
    # last day Mar 2 + 42 = Mon Apr 13 -> breach at Tue Apr 14 00:00
    c = clock(30)
    c.pause("missing materials", cst(2026, 3, 7, 10))
    c.resume(cst(2026, 3, 19, 10))
    now = cst(2026, 3, 19, 10)
    assert c.point("reminder", now) == cst(2026, 4, 3, 10)
    assert c.point("escalation", now) == cst(2026, 4, 8, 10)
    assert c.point("breach", now) == cst(2026, 4, 14)
    assert c.next_step(now) == ("reminder", cst(2026, 4, 3, 10))


@pytest.mark.parametrize(
    ("fired", "expected"),
    [
        # nothing fired: the reminder, 20 days after the start
        pytest.param([], ("reminder", cst(2026, 3, 22, 10)), id="none-fired"),
        # reminder fired: escalation, 25 days after the start
        pytest.param(["reminder"], ("escalation", cst(2026, 3, 27, 10)), id="reminder-fired"),
        # both fired: the breach at the due time
        pytest.param(["reminder", "escalation"], ("breach", cst(2026, 4, 2)), id="two-fired"),
        # an escalation fired without the reminder: the reminder is still the next step
        pytest.param(["escalation"], ("reminder", cst(2026, 3, 22, 10)), id="skip-only-fired"),
        # everything fired: no next step
        pytest.param(["reminder", "escalation", "breach"], None, id="all-fired"),
    ],
)
def test_next_step_skips_fired_steps(fired, expected):
    c = clock(30, fired=list(fired))
    assert c.next_step(cst(2026, 3, 3)) == expected


@pytest.mark.parametrize(
    ("now", "fired", "due"),
    [
        # 30 days from Mar 2 10:00: reminder Mar 22 10:00, escalation Mar 27 10:00,
        # breach Apr 2 00:00
        pytest.param(cst(2026, 3, 22, 9, 59), [], [], id="before-reminder"),
        pytest.param(cst(2026, 3, 22, 10), [], ["reminder"], id="at-reminder"),
        pytest.param(cst(2026, 3, 27, 9), [], ["reminder"], id="before-escalation"),
        pytest.param(cst(2026, 3, 28), [], ["reminder", "escalation"], id="after-escalation"),
        pytest.param(cst(2026, 3, 28), ["reminder"], ["escalation"], id="reminder-already-fired"),
        pytest.param(
            cst(2026, 4, 1, 23, 59), [], ["reminder", "escalation"], id="last-minute-of-last-day"
        ),
        pytest.param(
            cst(2026, 4, 2), [], ["reminder", "escalation", "breach"], id="at-the-deadline"
        ),
        pytest.param(
            cst(2026, 4, 10), ["reminder", "escalation"], ["breach"], id="only-breach-left"
        ),
        pytest.param(cst(2026, 4, 10), ["reminder", "escalation", "breach"], [], id="all-fired"),
    ],
)
def test_due_steps_in_order(now, fired, due):
    c = clock(30, fired=list(fired))
    assert c.due_steps(now) == due


def test_nothing_fires_while_paused():
    c = clock(30)
    c.pause("external appraisal", cst(2026, 3, 21))
    late = cst(2026, 6, 1)
    assert c.next_step(late) is None
    assert c.due_steps(late) == []


def test_nothing_fires_after_stop():
    c = clock(30)
    c.stop(cst(2026, 3, 20))
    late = cst(2026, 6, 1)
    assert c.next_step(late) is None
    assert c.due_steps(late) == []


def test_a_clock_without_ladder_never_has_a_next_step():
    c = clock(30, ladder=False)
    for now in (T0, cst(2026, 3, 22, 10), cst(2026, 3, 28), cst(2026, 4, 2), cst(2026, 6, 1)):
        assert c.next_step(now) is None
        assert c.due_steps(now) == []
    # the clock still has a due date and goes overdue
    assert c.due_at(T0) == cst(2026, 4, 2)
    assert c.view(cst(2026, 4, 3)).status == "overdue"


# -------------------------------------------------------------------------------- extend


def test_extensions_15_to_30_to_60_move_the_due_date():
    c = clock(15)
    # Mar 2 + 15 = Tue Mar 17 -> due Wed Mar 18 00:00
    assert c.due_at(T0) == cst(2026, 3, 18)
    c.extend(30, "complex complaint", cst(2026, 3, 10))
    # Mar 2 + 30 = Wed Apr 1 -> due Thu Apr 2 00:00
    assert c.total_days == 30
    assert c.last_day(T0) == date(2026, 4, 1)
    assert c.due_at(T0) == cst(2026, 4, 2)
    # the ladder follows: reminder at 2/3 of 30 = 20 days -> Sun Mar 22 10:00
    assert c.next_step(cst(2026, 3, 10)) == ("reminder", cst(2026, 3, 22, 10))
    c.extend(60, "awaiting third-party records", cst(2026, 3, 25), by="mgr-1")
    # Mar 2 + 60 = Fri May 1, Labour Day (May 1-5) -> Wed May 6 -> due Thu May 7 00:00
    assert c.total_days == 60
    assert c.last_day(T0) == date(2026, 5, 6)
    assert c.due_at(T0) == cst(2026, 5, 7)
    view = c.view(cst(2026, 3, 25))
    assert view.days == 60
    assert [(e["days"], e["reason"], e["approved_by"]) for e in view.extensions] == [
        (30, "complex complaint", None),
        (60, "awaiting third-party records", "mgr-1"),
    ]


@pytest.mark.parametrize(
    ("already", "to"),
    [
        # 15-day clock: 10 is shorter
        pytest.param([], 10, id="15-to-10"),
        # 15-day clock: 15 is no extension
        pytest.param([], 15, id="15-to-15"),
        # extended to 30: 20 goes back
        pytest.param([30], 20, id="30-to-20"),
        # extended to 30: 30 again is no extension
        pytest.param([30], 30, id="30-to-30"),
        # extended to 60: 30 goes back
        pytest.param([30, 60], 30, id="60-to-30"),
    ],
)
def test_extending_to_fewer_days_raises(already, to):
    c = clock(15)
    for days in already:
        c.extend(days, "reason", cst(2026, 3, 5))
    with pytest.raises(ValueError):
        c.extend(to, "shorter", cst(2026, 3, 6))
    assert c.total_days == (already[-1] if already else 15)


# ------------------------------------------------------------------ stop, view, restart


@pytest.mark.parametrize(
    ("stop_at", "status"),
    [
        # due Apr 2 00:00 (last day Wed Apr 1)
        pytest.param(cst(2026, 3, 20, 15), "met", id="well-before"),
        pytest.param(cst(2026, 4, 1, 23, 59), "met", id="last-minute-of-last-day"),
        pytest.param(cst(2026, 4, 2, 0, 1), "breached", id="one-minute-late"),
        pytest.param(cst(2026, 4, 20, 9), "breached", id="weeks-late"),
    ],
)
def test_stop_before_due_is_met_and_after_due_is_breached(stop_at, status):
    c = clock(30)
    c.stop(stop_at)
    view = c.view(stop_at + timedelta(days=30))
    assert view.status == status
    assert view.stopped_at == stop_at
    assert view.days_left == 0
    assert not c.running


def test_stop_keeps_the_first_stop_time():
    c = clock(30)
    c.stop(cst(2026, 3, 20))
    c.stop(cst(2026, 4, 20))
    assert c.stopped_at == cst(2026, 3, 20)
    assert c.view(cst(2026, 5, 1)).status == "met"


def test_stop_while_paused_closes_the_pause():
    # paused Mar 7 -> stopped Mar 19 (12 days): the due date moved to Apr 14 00:00, so a stop on
    # Mar 19 is met
    c = clock(30)
    c.pause("missing materials", cst(2026, 3, 7, 10))
    c.stop(cst(2026, 3, 19, 10))
    assert not c.paused
    assert c.pauses[0].until == cst(2026, 3, 19, 10)
    view = c.view(cst(2026, 6, 1))
    assert view.status == "met"
    assert view.paused_days == 12
    assert view.due_at == cst(2026, 4, 14)


@pytest.mark.parametrize(
    ("now", "fired", "status"),
    [
        # before the due time, nothing fired: running
        pytest.param(cst(2026, 3, 25), [], "running", id="running"),
        # after Apr 2 00:00: overdue even if the breach step has not been fired yet
        pytest.param(cst(2026, 4, 2, 0, 1), [], "overdue", id="past-due"),
        # the breach step fired: overdue
        pytest.param(cst(2026, 4, 2), ["reminder", "escalation", "breach"], "overdue", id="fired"),
    ],
)
def test_view_status_of_a_running_clock(now, fired, status):
    c = clock(30, fired=list(fired))
    assert c.view(now).status == status


@pytest.mark.parametrize(
    ("days", "start", "now", "left"),
    [
        # 30 days from Mon Mar 2, last day Wed Apr 1
        pytest.param(30, T0, T0, 30, id="start-day"),
        pytest.param(30, T0, cst(2026, 3, 31, 18), 1, id="day-before-last"),
        pytest.param(30, T0, cst(2026, 4, 1, 23, 59), 0, id="last-day"),
        pytest.param(30, T0, cst(2026, 4, 2, 10), -1, id="one-day-late"),
        # 3 days from Wed Mar 4: Sat Mar 7 rolls to Mon Mar 9, 5 days from Mar 4
        pytest.param(3, cst(2026, 3, 4, 10), cst(2026, 3, 4, 10), 5, id="with-roll-forward"),
        # 10 days from Thu Sep 24: Sun Oct 4 rolls to Thu Oct 8; on Oct 1 that is 7 days away
        pytest.param(10, cst(2026, 9, 24, 10), cst(2026, 10, 1, 9), 7, id="over-national-day"),
    ],
)
def test_days_left(days, start, now, left):
    assert clock(days, start).view(now).days_left == left


def test_restart_resets_start_pauses_and_fired_steps():
    c = clock(30)
    c.pause("external appraisal", cst(2026, 3, 7, 10))
    c.resume(cst(2026, 3, 19, 10))
    c.fired.extend(["reminder", "escalation"])
    c.stop(cst(2026, 4, 9))
    restart = cst(2026, 4, 10, 10)
    c.restart(restart)
    assert c.started_at == restart
    assert c.pauses == []
    assert c.fired == []
    assert c.stopped_at is None
    assert c.running
    # Fri Apr 10 + 30 = Sun May 10 (May 9 is the make-up Saturday, May 10 an ordinary Sunday)
    # -> Mon May 11; reminder again at 20 days -> Thu Apr 30 10:00
    assert c.last_day(restart) == date(2026, 5, 11)
    assert c.due_at(restart) == cst(2026, 5, 12)
    assert c.next_step(restart) == ("reminder", cst(2026, 4, 30, 10))
    view = c.view(restart)
    assert view.status == "running"
    assert view.paused_days == 0
    assert view.pauses == []
    assert view.fired == []
    assert view.days_left == 31
