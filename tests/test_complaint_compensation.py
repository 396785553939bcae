"""Complaint compensation is not a claim payment (DOMAIN §6a): its own ledger key
(complaint:<id>:pay:<seq>), the payee and bank account captured with the resolution, exactly
once, and never counted against a policy's limits or deductibles. Cases started before the
change keep paying as they did."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from sqlmodel import Session, select
from temporalio.exceptions import ApplicationError

import demo
from activities.payments import PaymentActivities, compensation_key, payment_key
from activities.rules import RulesActivities
from models.complaint import (
    Assignment,
    Callback,
    ComplaintFindings,
    Execution,
    Payee,
    Resolution,
    ResolutionApproval,
)
from models.records import CompensationRequest, LoadRulesRequest, PaymentRequest
from models.tables import ComplaintPaymentRow, PaymentRow
from tests.claimtools import payments, signed
from tests.conftest import running_worker
from tests.factories import ZHANG
from tests.test_complaint_workflow import (
    PAYEE,
    compensation,
    complaint,
    cstatus,
    refused,
    start,
    wait_cstage,
)
from workflows.complaint import ComplaintWorkflow

ACCOUNT = "6222020200001234"


class Rail:
    """A bank that moves the money again on every call and remembers each call."""

    def __init__(self, before: Any = None) -> None:
        self.calls: list[tuple[str, Decimal, str, str]] = []
        self.before = before  # run before answering: another attempt that gets in first

    def transfer(self, idempotency_key: str, amount: Decimal, account_ref: str, payee: str) -> str:
        self.calls.append((idempotency_key, amount, account_ref, payee))
        if self.before is not None:
            before, self.before = self.before, None
            before()
        return f"BANK-{len(self.calls):04d}"


def request(complaint_id: str = "CMP-1", seq: int = 1, amount: str = "800.00", **kw: Any):
    data: dict[str, Any] = dict(
        complaint_id=complaint_id,
        seq=seq,
        amount=Decimal(amount),
        payee="张三",
        account_ref=ACCOUNT,
        bank_name="中国工商银行",
        claim_id=None,
    )
    data.update(kw)
    return CompensationRequest(**data)


def rows(engine, table) -> list[Any]:
    with Session(engine) as s:
        return list(s.exec(select(table)).all())


def usage(engine, claim_id: str = "CLM-AFTER"):
    """What a claim on the complained-about policy, started now, sees as used this year."""
    rules = RulesActivities(engine).load_rules(
        LoadRulesRequest(
            claim_id=claim_id,
            policy_no="P-MED-0001",
            line="medical",
            incident_type="outpatient",
            claimant_id_no=ZHANG["id_no"],
            occurred_on=datetime.now(UTC).date(),
        )
    )
    return rules.usage


# ------------------------------------------------------------------ the activity


@pytest.fixture
def ledger(db):
    """The read model with the demo data, on both backends (conftest's `db`)."""
    demo.load(db)
    return db


def test_the_ledger_keys_of_a_complaint_and_a_claim_differ():
    assert compensation_key("CMP-1", 1) == "complaint:CMP-1:pay:1"
    assert compensation_key("CMP-1", 2) == "complaint:CMP-1:pay:2"
    assert payment_key("CMP-1", 1) == "CMP-1:pay:1"


def test_compensation_is_paid_once_when_the_activity_runs_again(ledger):
    rail = Rail()
    activities = PaymentActivities(ledger, rail)
    first = activities.pay_compensation(request())
    second = activities.pay_compensation(request())  # a retry after the bank answered
    assert second == first
    assert first.idempotency_key == "complaint:CMP-1:pay:1"
    assert (first.payee, first.account_ref, first.bank_name) == ("张三", ACCOUNT, "中国工商银行")
    assert rail.calls == [("complaint:CMP-1:pay:1", Decimal("800.00"), ACCOUNT, "张三")]
    (row,) = rows(ledger, ComplaintPaymentRow)
    assert (row.idempotency_key, row.complaint_id, row.seq) == ("complaint:CMP-1:pay:1", "CMP-1", 1)
    assert (row.amount, row.reference) == (Decimal("800.00"), "BANK-0001")
    assert rows(ledger, PaymentRow) == []  # nothing on the claim ledger


def test_a_concurrent_attempt_that_wrote_first_is_the_answer(ledger):
    """Two attempts race: the other one writes its row while this one is at the bank. This
    one's insert then fails on the ledger key and it answers with the row already there."""
    other = PaymentActivities(ledger, Rail())
    rail = Rail(before=lambda: other.pay_compensation(request()))
    mine = PaymentActivities(ledger, rail).pay_compensation(request())
    (row,) = rows(ledger, ComplaintPaymentRow)
    assert mine.reference == row.reference == "BANK-0001"  # the other attempt's
    assert mine == other.pay_compensation(request())
    assert [c[0] for c in rail.calls] == ["complaint:CMP-1:pay:1"]  # the rail saw one key


def test_a_complaint_and_a_claim_of_the_same_id_each_keep_their_payment(ledger):
    rail = Rail()
    activities = PaymentActivities(ledger, rail)
    claim = activities.pay_claim(
        PaymentRequest(
            claim_id="X-1",
            seq=1,
            amount=Decimal("1800.00"),
            payee="张三",
            account_ref=ACCOUNT,
            policy_no="P-MED-0001",
        )
    )
    paid = activities.pay_compensation(request("X-1"))
    assert (claim.idempotency_key, paid.idempotency_key) == ("X-1:pay:1", "complaint:X-1:pay:1")
    assert claim.reference != paid.reference
    assert [c[0] for c in rail.calls] == ["X-1:pay:1", "complaint:X-1:pay:1"]
    assert [(r.claim_id, r.amount) for r in rows(ledger, PaymentRow)] == [
        ("X-1", Decimal("1800.00"))
    ]
    assert [(r.complaint_id, r.amount) for r in rows(ledger, ComplaintPaymentRow)] == [
        ("X-1", Decimal("800.00"))
    ]


def test_compensation_never_counts_against_the_policy(ledger):
    activities = PaymentActivities(ledger, Rail())
    activities.pay_compensation(request("CMP-P", amount="3000.00", claim_id="CLM-EARLIER"))
    assert usage(ledger).paid_this_year == Decimal("0")
    assert usage(ledger).deductible_used == Decimal("0")
    # what the complaint would have done through pay_claim before: it counted
    activities.pay_claim(
        PaymentRequest(
            claim_id="CMP-OLD",
            seq=1,
            amount=Decimal("3000.00"),
            payee="张三",
            account_ref="13800000000",
            policy_no="P-MED-0001",
        )
    )
    assert usage(ledger).paid_this_year == Decimal("3000.00")


@pytest.mark.parametrize(
    "fields, words",
    [
        ({"amount": Decimal("0")}, "must be positive"),
        ({"amount": Decimal("-5.00")}, "must be positive"),
        ({"account_ref": " "}, "bank account"),
    ],
)
def test_a_payment_the_bank_cannot_make_is_refused_and_writes_nothing(ledger, fields, words):
    rail = Rail()
    with pytest.raises(ApplicationError) as err:
        PaymentActivities(ledger, rail).pay_compensation(request(**fields))
    assert err.value.type == "PaymentRejected" and err.value.non_retryable
    assert words in str(err.value)
    assert rail.calls == [] and rows(ledger, ComplaintPaymentRow) == []


# ------------------------------------------------------------------ the workflow


async def _to_proposal(ts, h, cid) -> None:
    await wait_cstage(ts, cid, "REGISTERED")
    await h.execute_update(ComplaintWorkflow.assign, Assignment(coordinator="cc1", handler="h1"))
    await wait_cstage(ts, cid, "INVESTIGATING")
    await h.execute_update(
        ComplaintWorkflow.record_findings,
        await signed(h, ComplaintFindings(handler="h1", findings="理算漏计一项", upheld=True)),
    )


async def paid_to(ts, h, cid, payee: Payee) -> Any:
    """A complaint from registration to its compensation paid to the payee (in CALLBACK)."""
    await _to_proposal(ts, h, cid)
    await h.execute_update(ComplaintWorkflow.propose_resolution, _pay(payee=payee))
    await wait_cstage(ts, cid, "RESOLUTION_PROPOSED")
    await h.execute_update(
        ComplaintWorkflow.approve_resolution, await signed(h, ResolutionApproval(approver="cc1"))
    )
    await wait_cstage(ts, cid, "EXECUTING")
    await h.execute_update(ComplaintWorkflow.execute, Execution(by="h1", note="已补付"))
    return await wait_cstage(ts, cid, "CALLBACK")


def _pay(amount: str = "800.00", **kw: Any) -> Resolution:
    data: dict[str, Any] = dict(
        handler="h1",
        kinds=["payment"],
        description="补偿差额",
        basis="保险条款 MED-1.1",
        reasons="理算漏计一项费用",
        amount=Decimal(amount),
    )
    data.update(kw)
    return Resolution(**data)


async def test_a_paying_resolution_needs_its_payee_and_only_it_has_one(ts):
    report = complaint(category="amount_dispute")
    h = await start(ts, report)
    await _to_proposal(ts, h, report.complaint_id)
    msg = await refused(h.execute_update(ComplaintWorkflow.propose_resolution, _pay()))
    assert msg == "a resolution that pays money needs its payee: name and bank account (payee)"
    apology = Resolution(handler="h1", kinds=["apology"], description="致歉", payee=PAYEE)
    msg = await refused(h.execute_update(ComplaintWorkflow.propose_resolution, apology))
    assert msg == "a payee goes only with a resolution that pays money"
    st = await cstatus(ts, report.complaint_id)
    assert st.resolution is None
    st = await h.execute_update(ComplaintWorkflow.propose_resolution, _pay(payee=PAYEE))
    assert st.resolution["payee"] == {
        "name": "张三",
        "account_ref": ACCOUNT,
        "bank_name": "中国工商银行",
    }


async def test_a_paid_complaint_pays_its_payee_on_its_ledger_and_not_the_policy(ts):
    report = complaint(category="amount_dispute", policy_no="P-MED-0001")
    cid = report.complaint_id
    h = await start(ts, report)
    st = await paid_to(ts, h, cid, PAYEE.model_copy(update={"name": "张三（账户名）"}))
    key = f"complaint:{cid}:pay:1"
    # the captured payee and bank account, never the complainant's phone
    assert ts.rail.transfers == {key: (Decimal("800.00"), ACCOUNT, "张三（账户名）")}
    assert [(c.idempotency_key, c.amount, c.account_ref) for c in st.compensation] == [
        (key, Decimal("800.00"), ACCOUNT)
    ]
    assert [r.idempotency_key for r in compensation(ts.engine, cid)] == [key]
    assert payments(ts.engine, cid) == []
    # a claim on the same policy, reported afterwards, sees nothing used by the complaint
    assert usage(ts.engine).paid_this_year == Decimal("0")
    await h.execute_update(
        ComplaintWorkflow.callback, Callback(by="cc1", reached=True, satisfied=True)
    )
    result = await h.result()
    assert result.stage == "CLOSED" and len(result.compensation) == 1
    assert len(ts.rail.transfers) == 1


async def test_a_complaint_started_before_the_change_still_pays_as_it_did(ts):
    """A case begun before the complaint ledger (the patches off, as the old code ran) takes
    a payment without a payee and pays it through pay_claim, as it always did."""
    settings = ts.settings.model_copy(update={"task_queue": f"{ts.settings.task_queue}-old"})
    report = complaint(category="amount_dispute")
    cid = report.complaint_id
    with mock.patch("temporalio.workflow.patched", return_value=False):
        async with running_worker(ts.client, settings, ts.engine, ts.rail):
            from client import start_complaint
            from tests.claimtools import handle_for

            await start_complaint(ts.client, report, settings.task_queue)
            h = handle_for(ts.client, cid, prefix="complaint", run=ComplaintWorkflow.run)
            await wait_cstage(ts, cid, "REGISTERED")
            await h.execute_update(
                ComplaintWorkflow.assign, Assignment(coordinator="cc1", handler="h1")
            )
            await wait_cstage(ts, cid, "INVESTIGATING")
            await h.execute_update(
                ComplaintWorkflow.record_findings,
                ComplaintFindings(handler="h1", findings="理算漏计", upheld=True),
            )
            await h.execute_update(ComplaintWorkflow.propose_resolution, _pay())
            await wait_cstage(ts, cid, "RESOLUTION_PROPOSED")
            await h.execute_update(
                ComplaintWorkflow.approve_resolution, ResolutionApproval(approver="cc1")
            )
            await wait_cstage(ts, cid, "EXECUTING")
            # under the old rule the coordinator may record the execution too
            await h.execute_update(ComplaintWorkflow.execute, Execution(by="cc1"))
            st = await wait_cstage(ts, cid, "CALLBACK")
            assert [p.idempotency_key for p in payments(ts.engine, cid)] == [f"{cid}:pay:1"]
            assert compensation(ts.engine, cid) == [] and st.compensation == []
            await h.terminate("test finished")
