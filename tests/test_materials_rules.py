"""What DOMAIN §2.3 and §5 ask of materials and the watch list, on the time-skipping server:
a second missing-materials notice only with a supervisor's reason, a suspended claim that
lapses at the end of the 2-year limitation, no request for what the insurer already holds,
and the watch list checked on the payee's account."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from client import start_claim
from models.claim import MaterialsRequest, MaterialsSubmission
from tests.claimtools import handle_for, letters, status, wait_letter, wait_stage
from tests.factories import CST, LI, materials, medical_report
from tests.test_letter_with_notice import local_activities
from workflows.claim import ClaimWorkflow


async def _start(ts, report):
    _, started = await start_claim(ts.client, report, ts.task_queue)
    assert started
    return handle_for(ts.client, report.claim_id)


async def _refused(coro) -> str:
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await coro
    assert err.value.cause.type == "InvalidMaterialsRequest"
    return err.value.cause.message


async def test_a_second_notice_needs_a_supervisor_and_a_reason(ts):
    report = medical_report(materials=[m.model_dump() for m in materials("claim_form")])
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "AWAITING_MATERIALS")
    ask = ClaimWorkflow.request_materials

    why = await _refused(
        handle.execute_update(ask, MaterialsRequest(by="sup1", kinds=["discharge_summary"]))
    )
    assert why == "a second missing-materials notice needs the supervisor's reason"
    why = await _refused(
        handle.execute_update(
            ask, MaterialsRequest(by="adj1", kinds=["discharge_summary"], reason="住院")
        )
    )
    assert why.startswith("adj1 is not a claims supervisor or claims manager")
    why = await _refused(
        handle.execute_update(ask, MaterialsRequest(by="sup1", kinds=["invoices"], reason="再要"))
    )
    assert "already asked for" in why
    assert [r.kind for r in letters(ts.engine, report.claim_id)].count("missing_materials") == 1

    st = await handle.execute_update(
        ask,
        MaterialsRequest(
            by="sup1", kinds=["discharge_summary"], reason="费用清单显示曾住院治疗，需出院小结核实"
        ),
    )
    assert "discharge_summary" in st.missing_materials
    assert st.document_rounds == 3  # the report, the one-time notice, the second notice
    [second] = [r for r in letters(ts.engine, report.claim_id) if r.kind == "additional_materials"]
    assert "陈主管" in second.body and "出院小结" in second.body
    assert "费用清单显示曾住院治疗" in second.body

    await handle.signal(
        ClaimWorkflow.submit_materials,
        MaterialsSubmission(
            materials=materials("bank_account", "diagnosis_certificate", "invoices", "expense_list")
        ),
    )
    st = await status(ts.client, report.claim_id)
    assert st.stage == "AWAITING_MATERIALS" and st.missing_materials == ["discharge_summary"]
    await handle.signal(
        ClaimWorkflow.submit_materials,
        MaterialsSubmission(materials=materials("discharge_summary")),
    )
    result = await handle.result()
    assert result.stage == "CLOSED"


async def test_a_suspended_claim_lapses_when_the_limitation_ends(ts):
    now = await ts.env.get_current_time()
    occurred = (now - timedelta(days=2)).astimezone(CST)
    report = medical_report(
        occurred_at=occurred,
        reported_at=occurred + timedelta(hours=2),
        materials=[m.model_dump() for m in materials("claim_form")],
    )
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "AWAITING_MATERIALS")
    await ts.env.sleep(timedelta(days=61))
    assert (await status(ts.client, report.claim_id)).stage == "SUSPENDED"
    # the limitation: two years from the day of the incident
    await ts.env.sleep(timedelta(days=365 * 2 - 61 - 5))
    assert (await status(ts.client, report.claim_id)).stage == "SUSPENDED"
    await ts.env.sleep(timedelta(days=10))
    result = await handle.result()
    assert result.stage == "LAPSED"
    assert result.reserve == 0
    assert all(d.status != "running" for d in result.deadlines)
    assert result.open_tasks == []
    await wait_letter(ts.engine, report.claim_id, "lapse")
    [lapse] = [r for r in letters(ts.engine, report.claim_id) if r.kind == "lapse"]
    day = occurred.date()
    # two years on; from 29 February the period ends on 28 February (Civil Code art. 202)
    last_day = day.replace(
        year=day.year + 2, day=28 if (day.month, day.day) == (2, 29) else day.day
    )
    assert f"{last_day.year}年{last_day.month}月{last_day.day}日" in lapse.body
    assert "第二十六条" in lapse.body


async def test_materials_the_insurer_holds_are_not_asked_for(ts):
    # 张三 is the policyholder on record: no identity document; 李四 reporting on 张三's
    # policy as a beneficiary is asked for one.
    mine = medical_report(materials=[m.model_dump() for m in materials("claim_form")])
    await _start(ts, mine)
    st = await wait_stage(ts.client, mine.claim_id, "AWAITING_MATERIALS")
    assert "identity" not in st.missing_materials
    other = medical_report(
        claimant=dict(LI),
        details={"insured_id_no": "110101198001011234"},
        materials=[m.model_dump() for m in materials("claim_form")],
    )
    await _start(ts, other)
    st = await wait_stage(ts.client, other.claim_id, "AWAITING_MATERIALS")
    assert st.missing_materials[0] == "identity"


async def test_a_payee_account_on_the_watch_list_sends_the_claim_to_the_panel(ts):
    kinds = ("claim_form", "identity", "diagnosis_certificate", "invoices", "expense_list")
    report = medical_report(
        materials=[
            *[m.model_dump() for m in materials(*kinds)],
            {"kind": "bank_account", "ref": "6222029999990001"},  # demo watch-list account
        ]
    )
    await _start(ts, report)
    st = await wait_stage(ts.client, report.claim_id, "INVESTIGATING", "PENDING_APPROVAL")
    assert not st.straight_through
    [flag] = [f for f in st.flags if f.code == "R07"]
    assert flag.reason == "the payee's account is on the watch list"
    # looked up with the rules, as the report gave the account and the claim did not wait
    steps = local_activities(await handle_for(ts.client, report.claim_id).fetch_history())
    assert "check_watch_list" not in steps


async def test_a_watched_account_sent_after_a_wait_is_looked_up_at_triage(ts):
    kinds = ("claim_form", "identity", "diagnosis_certificate", "invoices")  # no expense list
    report = medical_report(
        materials=[
            *[m.model_dump() for m in materials(*kinds)],
            {"kind": "bank_account", "ref": "6222029999990001"},  # demo watch-list account
        ]
    )
    handle = await _start(ts, report)
    await wait_stage(ts.client, report.claim_id, "AWAITING_MATERIALS")
    await handle.signal(
        ClaimWorkflow.submit_materials,
        MaterialsSubmission(materials=materials("expense_list"), actor="claimant"),
    )
    st = await wait_stage(ts.client, report.claim_id, "INVESTIGATING", "PENDING_APPROVAL")
    [flag] = [f for f in st.flags if f.code == "R07"]
    assert flag.reason == "the payee's account is on the watch list"
    # the list may have changed while the claim waited: looked up again at triage
    steps = local_activities(await handle.fetch_history())
    assert steps.count("check_watch_list") == 1
