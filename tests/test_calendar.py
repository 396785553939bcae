"""Statutory clocks from receipt, on the holiday calendar of the `chinesecalendar` package
(DOMAIN §3; README "The statutory clocks"), on the time-skipping server unless said otherwise.

Hand-worked dates (China Standard Time; 2026 as the State Council published it: Spring
Festival Feb 15 (Sun) - Feb 23 (Mon), make-up working days Feb 14 and Feb 28; National Day
Oct 1 (Thu) - Oct 7 (Wed), make-up working days Sep 20 (Sun) and Oct 10 (Sat)):

- A claim received Fri 2026-01-16 10:00 and entered today: determination (30 days) from
  Jan 17, nominal last day Sun Feb 15, a Spring Festival day, so the last day is Tue Feb 24
  and it is due at 2026-02-25 00:00; advance payment (60 days) nominal and last day Tue
  Mar 17, due 2026-03-18 00:00. Both are long past: breached as soon as the claim is entered.
  Counted on weekends alone (a calendar without 2026) the determination's last day would be
  Mon Feb 16, due 2026-02-17 00:00.
- A complaint received Sun 2026-09-20 09:00 (a make-up working day) and registered today:
  15 days, nominal last day Mon Oct 5 (National Day), last day Thu Oct 8, due 2026-10-09
  00:00: breached as soon as it is registered.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timedelta
from decimal import Decimal

import chinese_calendar
import pytest
from sqlmodel import Session, select

from client import start_claim
from models.calendars import published_calendar
from models.claim import MaterialsSubmission
from models.complaint import Callback, Execution, ReviewRequest
from models.tables import AuditEventRow, ClaimRow, ComplaintRow, WorkItemRow
from tests.claimtools import handle_for, letters, status, wait_letter, wait_stage
from tests.factories import CST, materials, medical_report
from tests.test_cli import claims
from tests.test_complaint_workflow import (
    complaint,
    cstatus,
    refused,
    start,
    to_decided,
    wait_cstage,
)
from workflows.claim import ClaimWorkflow
from workflows.clock import Calendar
from workflows.complaint import ComplaintWorkflow

PRC = published_calendar()  # as installed: 2004 to 2026 at the time of writing
CAL = Calendar.of(CST, PRC.holidays, PRC.workdays, PRC.years)
RECEIVED = datetime(2026, 1, 16, 10, 0, tzinfo=CST)


def cst(y: int, m: int, d: int, hh: int = 0) -> datetime:
    return datetime(y, m, d, hh, tzinfo=CST)


def _clock(st, name):
    return next(d for d in st.deadlines if d.name == name)


def _events(engine, case_id, kind):
    with Session(engine) as s:
        q = select(AuditEventRow).where(
            AuditEventRow.case_id == case_id, AuditEventRow.kind == kind
        )
        return list(s.exec(q).all())


def _item(engine, key):
    with Session(engine) as s:
        return s.get(WorkItemRow, key)


def _late_claim(**kw):
    """Received before the 2026 Spring Festival and entered today; 8,000 goes to an L1."""
    return medical_report(
        occurred_at=cst(2026, 1, 15, 20),
        reported_at=RECEIVED,
        amount_claimed=Decimal("8000.00"),
        items=[{"category": "treatment", "description": "治疗费", "amount": "8000.00"}],
        **kw,
    )


async def _without_flags(client, claim_id):
    """The claim's status once its flags are gone (or the last one seen after 10 s)."""
    for _ in range(100):
        st = await status(client, claim_id)
        if not st.flags:
            break
        await asyncio.sleep(0.1)
    return st


async def _start(ts, report):
    _, started = await start_claim(ts.client, report, ts.task_queue)
    assert started
    return handle_for(ts.client, report.claim_id)


# ------------------------------------------------------------------ clocks from receipt


async def test_a_report_received_before_the_spring_festival_and_entered_late_breaches_at_once(ts):
    report = _late_claim()
    await _start(ts, report)
    st = await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    determination = _clock(st, "determination")
    assert determination.started_at == RECEIVED
    assert determination.due_at == cst(2026, 2, 25)  # last day Tue Feb 24, after the holiday
    assert determination.status == "overdue"
    assert determination.fired == ["reminder", "escalation", "breach"]
    assert determination.days_left < 0
    assert "determination" in st.breaches and st.priority == 100
    assert "delay" in await wait_letter(ts.engine, report.claim_id, "delay")
    advance = _clock(st, "advance_payment")
    assert advance.started_at == RECEIVED  # the materials came with the report
    assert advance.due_at == cst(2026, 3, 18)
    assert advance.status == "breached"  # entered after its day 50: nothing was determinable
    [started] = [
        e
        for e in _events(ts.engine, report.claim_id, "clock_started")
        if e.data["clock"] == "determination"
    ]
    assert datetime.fromisoformat(started.data["started_at"]) == RECEIVED


async def test_a_complaint_registered_late_counts_from_its_receipt(ts):
    received = cst(2026, 9, 20, 9)
    report = complaint(channel="regulator", received_at=received.isoformat())
    await start(ts, report)
    st = await wait_cstage(ts, report.complaint_id, "REGISTERED")
    clock = _clock(st, "complaint")
    assert clock.started_at == received
    assert clock.due_at == cst(2026, 10, 9)  # Oct 5 is National Day: last day Thu Oct 8
    for _ in range(100):  # the breach fires beside the registration
        st = await cstatus(ts, report.complaint_id)
        if st.breaches:
            break
        await asyncio.sleep(0.05)
    assert st.breaches == ["complaint"]


async def test_a_complaint_forwarded_a_week_late_has_a_week_less(ts):
    now = await ts.env.get_current_time()
    received = (now - timedelta(days=7)).astimezone(CST).replace(microsecond=0)
    late = complaint(channel="regulator", received_at=received.isoformat())
    on_time = complaint(channel="regulator")
    await start(ts, late)
    await start(ts, on_time)
    st = await wait_cstage(ts, late.complaint_id, "REGISTERED")
    clock = _clock(st, "complaint")
    assert clock.started_at == received
    last_day = CAL.next_working_day(received.date() + timedelta(days=15))
    assert clock.due_at == CAL.end_of(last_day)
    assert clock.days_left == (last_day - now.astimezone(CST).date()).days
    other = _clock(await wait_cstage(ts, on_time.complaint_id, "REGISTERED"), "complaint")
    assert other.started_at > clock.started_at + timedelta(days=7)
    assert clock.due_at < other.due_at


# ------------------------------------------------------------------ the materials pause


async def test_materials_that_arrive_before_the_posted_notice_reaches_the_claimant_pause_nothing(
    ts,
):
    report = medical_report(materials=[m.model_dump() for m in materials("claim_form")])
    handle = await _start(ts, report)
    st = await wait_stage(ts.client, report.claim_id, "AWAITING_MATERIALS")
    start_day = _clock(st, "determination").started_at.astimezone(CST).date()
    await wait_letter(ts.engine, report.claim_id, "missing_materials")
    [notice] = [r for r in letters(ts.engine, report.claim_id) if r.kind == "missing_materials"]
    assert notice.channel == "post"  # no email given: formal notices go in writing
    st = await status(ts.client, report.claim_id)
    clock = _clock(st, "determination")
    # sent today, presumed to reach the claimant 3 days later: until then the clock runs
    assert clock.status == "running" and clock.paused_days == 0
    since = datetime.fromisoformat(str(clock.pauses[0]["since"]).replace("Z", "+00:00"))
    assert since.astimezone(CST).date() == start_day + timedelta(days=3)
    await ts.env.sleep(timedelta(days=1))
    await handle.signal(
        ClaimWorkflow.submit_materials,
        MaterialsSubmission(
            materials=materials("bank_account", "diagnosis_certificate", "invoices", "expense_list")
        ),
    )
    result = await handle.result()
    clock = _clock(result, "determination")
    assert clock.paused_days == 0
    assert clock.due_at == CAL.end_of(CAL.next_working_day(start_day + timedelta(days=30)))


# ------------------------------------------------------------------ the review window


async def _to_callback(ts, report):
    h = await start(ts, report)
    await to_decided(ts, h, report.complaint_id)
    await wait_cstage(ts, report.complaint_id, "EXECUTING")
    return h


def _window_due(engine, st) -> datetime:
    """30 Civil Code days from the day the decision reached the complainant (post: 3 days
    after sending; email: when sent)."""
    [row] = [r for r in letters(engine, st.complaint_id) if r.kind == "complaint_decision"]
    reached = st.decided_at + timedelta(days={"post": 3}.get(row.channel, 0))
    return CAL.end_of(CAL.next_working_day(reached.astimezone(CST).date() + timedelta(days=30)))


async def test_an_unreachable_complainant_can_still_ask_for_review_within_the_window(ts):
    report = complaint(complainant={"name": "张三", "phone": "13800000000", "email": "z@x.cn"})
    h = await _to_callback(ts, report)
    await h.execute_update(ComplaintWorkflow.execute, Execution(by="h1"))
    await wait_cstage(ts, report.complaint_id, "CALLBACK")
    for i in range(3):
        await h.execute_update(
            ComplaintWorkflow.callback,
            Callback(by="cc1", reached=False, note=f"第{i + 1}次致电无人接听"),
        )
    st = await wait_cstage(ts, report.complaint_id, "REVIEW_OFFERED")
    assert st.outcome == "unreachable"
    window = _clock(st, "review_window")
    assert window.due_at == _window_due(ts.engine, st)
    await ts.env.sleep(timedelta(days=20))
    await h.execute_update(ComplaintWorkflow.request_review, ReviewRequest(reason="不服处理结果"))
    st = await wait_cstage(ts, report.complaint_id, "UNDER_REVIEW")
    assert _clock(st, "review_window").status == "met"


async def test_the_review_may_be_asked_for_before_the_callback_and_not_after_the_window(ts):
    report = complaint()
    h = await _to_callback(ts, report)
    # asked for while the resolution is carried out: taken, and in the read model at once
    await h.execute_update(ComplaintWorkflow.request_review, ReviewRequest(reason="不服"))
    for _ in range(100):
        with Session(ts.engine) as s:
            row = s.get(ComplaintRow, report.complaint_id)
            if row is not None and _events(ts.engine, report.complaint_id, "review_requested"):
                break
        await asyncio.sleep(0.05)
    assert _events(ts.engine, report.complaint_id, "review_requested")
    msg = await refused(
        h.execute_update(ComplaintWorkflow.request_review, ReviewRequest(reason="again"))
    )
    assert msg == "a review is already asked for"
    await h.execute_update(ComplaintWorkflow.execute, Execution(by="h1"))
    await wait_cstage(ts, report.complaint_id, "CALLBACK")
    await h.execute_update(
        ComplaintWorkflow.callback, Callback(by="cc1", reached=True, satisfied=True)
    )
    await wait_cstage(ts, report.complaint_id, "UNDER_REVIEW")

    late = complaint()
    h2 = await _to_callback(ts, late)
    st = await cstatus(ts, late.complaint_id)
    due = _window_due(ts.engine, st)
    await ts.env.sleep(due - st.decided_at + timedelta(hours=1))
    msg = await refused(
        h2.execute_update(ComplaintWorkflow.request_review, ReviewRequest(reason="不服"))
    )
    last_day = (due - timedelta(days=1)).date().isoformat()
    assert msg == f"the review window of complaint {late.complaint_id} closed on {last_day}"


# ------------------------------------------------------------------ views at once


async def test_a_partial_submission_shows_in_the_read_model_at_once(ts):
    report = medical_report(materials=[m.model_dump() for m in materials("claim_form")])
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "AWAITING_MATERIALS")
    await handle.signal(
        ClaimWorkflow.submit_materials,
        MaterialsSubmission(materials=materials("bank_account")),
    )
    row_status: dict = {}
    for _ in range(200):
        with Session(ts.engine) as s:
            row = s.get(ClaimRow, report.claim_id)
            row_status = dict(row.status) if row else {}
        if "bank_account" in row_status.get("received_materials", []):
            break
        await asyncio.sleep(0.05)
    assert row_status["stage"] == "AWAITING_MATERIALS"
    assert "bank_account" in row_status["received_materials"]
    assert "bank_account" not in row_status["missing_materials"]
    assert _item(ts.engine, f"{report.claim_id}:materials").state == "open"


async def test_a_failed_callback_shows_in_the_read_model_at_once(ts):
    report = complaint()
    h = await _to_callback(ts, report)
    await h.execute_update(ComplaintWorkflow.execute, Execution(by="h1"))
    await wait_cstage(ts, report.complaint_id, "CALLBACK")
    await h.execute_update(
        ComplaintWorkflow.callback, Callback(by="cc1", reached=False, note="无人接听")
    )
    with Session(ts.engine) as s:
        row = s.get(ComplaintRow, report.complaint_id)
        assert row is not None
        assert row.stage == "CALLBACK" and len(row.status["callbacks"]) == 1


# ------------------------------------------------------------------ years not covered


def _only_years(monkeypatch, keep):
    """The installed package as if it had been released with these years only."""
    monkeypatch.setattr(
        chinese_calendar, "holidays", {d: v for d, v in PRC_DAYS[0].items() if keep(d.year)}
    )
    monkeypatch.setattr(
        chinese_calendar, "workdays", {d: v for d, v in PRC_DAYS[1].items() if keep(d.year)}
    )


PRC_DAYS = (dict(chinese_calendar.holidays), dict(chinese_calendar.workdays))


async def test_a_deadline_in_a_year_not_covered_is_flagged_until_the_year_arrives(ts, monkeypatch):
    _only_years(monkeypatch, lambda y: y < 2026)  # a release from before 2026 was published
    report = _late_claim()
    handle = await _start(ts, report)
    st = await wait_stage(ts.client, report.claim_id, "PENDING_APPROVAL")
    determination = _clock(st, "determination")
    assert determination.due_at == cst(2026, 2, 17)  # weekends only: Mon Feb 16
    [flag] = [f for f in st.flags if "determination" in f.reason]
    assert flag.code == "C01" and "2026" in flag.reason
    key = f"{report.claim_id}:calendar:determination"
    assert any(t.key == key and t.kind == "calendar_check" for t in st.open_tasks)
    await asyncio.sleep(0.2)
    assert _item(ts.engine, key).state == "open"
    assert [e.data["years"] for e in _events(ts.engine, report.claim_id, "calendar_not_covered")]

    # the 2026 notice arrives (what `claims calendar refresh` sends)
    monkeypatch.undo()
    await handle.signal("calendar_updated", published_calendar(2025))
    st = await _without_flags(ts.client, report.claim_id)
    assert st.flags == []
    assert _clock(st, "determination").due_at == cst(2026, 2, 25)  # after the Spring Festival
    assert all(t.kind != "calendar_check" for t in st.open_tasks)
    await asyncio.sleep(0.2)
    assert _item(ts.engine, key).state == "done"
    [updated] = _events(ts.engine, report.claim_id, "calendar_updated")
    assert updated.data["moved"]["determination"] == cst(2026, 2, 25).isoformat()
    assert _events(ts.engine, report.claim_id, "calendar_flag_cleared")

    # the same calendar again changes nothing
    await handle.signal("calendar_updated", published_calendar(2025))
    await asyncio.sleep(0.3)
    assert len(_events(ts.engine, report.claim_id, "calendar_updated")) == 1


def _stand_in(year: int) -> tuple[dict[date, str], dict[date, str]]:
    """A year as the test publishes it when the installed package does not have it yet: New
    Year's Day off, no make-up day (the State Council's own notice is what a release adds)."""
    return {date(year, 1, 1): "New Year's Day"}, {}


async def test_calendar_refresh_sends_a_newly_published_year_to_every_open_case(
    cli_env, monkeypatch
):
    """On the dev server (real time): whatever today is, the package is made to end the year
    before, so the new claim's deadlines fall in years not covered; then those years are
    published and `claims calendar refresh` sends them to the open cases."""
    dev = cli_env
    this_year = datetime.now(CST).year
    _only_years(monkeypatch, lambda y: y < this_year)
    report = medical_report(
        amount_claimed=Decimal("8000.00"),
        items=[{"category": "treatment", "description": "治疗费", "amount": "8000.00"}],
    )
    await start_claim(dev.client, report, dev.task_queue)
    st = await wait_stage(dev.client, report.claim_id, "PENDING_APPROVAL")
    assert {f.code for f in st.flags} == {"C01"}
    shown = await claims("calendar", "show", "--json")
    assert shown.exit_code == 0 and this_year not in json.loads(shown.stdout)["years"]

    holidays, workdays = dict(PRC_DAYS[0]), dict(PRC_DAYS[1])
    for year in (this_year, this_year + 1):
        if not any(d.year == year for d in holidays):
            extra_h, extra_w = _stand_in(year)
            holidays.update(extra_h)
            workdays.update(extra_w)
    monkeypatch.setattr(chinese_calendar, "holidays", holidays)
    monkeypatch.setattr(chinese_calendar, "workdays", workdays)
    result = await claims("calendar", "refresh")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("sent chinesecalendar")
    st = await _without_flags(dev.client, report.claim_id)
    assert st.flags == []
    assert _events(dev.engine, report.claim_id, "calendar_updated")
    with Session(dev.engine) as s:
        items = s.exec(
            select(WorkItemRow).where(
                WorkItemRow.case_id == report.claim_id, WorkItemRow.kind == "calendar_check"
            )
        ).all()
    assert items and all(i.state == "done" for i in items)


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_package_has_the_published_years_the_clock_tests_use(year):
    assert year in PRC.years
    assert date(year, 10, 1) in PRC.holidays
