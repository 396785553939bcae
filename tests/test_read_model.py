"""The read model, on SQLite and on PostgreSQL: demo data, the claim projection, letters, the
payments ledger and the rule look-ups.

Every activity is called directly (they are plain methods); each test gets an empty database of
its own: a SQLite file under tmp_path, or a fresh PostgreSQL schema that is dropped afterwards.
Writes are idempotent (DESIGN.md, Persistence): each write test sends the same call twice, as a
retried activity would, and counts the rows.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select
from temporalio.exceptions import ApplicationError

import activities.letters as letters_module
import demo
from activities import payments as payments_module
from activities.letters import LetterActivities
from activities.payments import PaymentActivities
from activities.records import RecordActivities
from activities.rules import RulesActivities
from database import make_engine
from models.records import (
    AuditEventIn,
    ClaimSync,
    LetterRequest,
    LoadRulesRequest,
    PaymentRequest,
    WorkItemIn,
)
from models.status import ClaimStatus, StageChange
from models.tables import (
    AuditEventRow,
    ClaimRecusalRow,
    ClaimRow,
    ClauseRow,
    LetterRow,
    PaymentRow,
    PolicyRow,
    StaffRow,
    WatchListRow,
    WorkItemRow,
)
from tests.conftest import postgres_read_model

CST = timezone(timedelta(hours=8))
ZHANG_ID = "110101198001011234"  # insured of P-MED-0001, P-AUTO-0001, P-PROP-0001
LI_ID = "110101195001011234"  # insured of P-ACC-0001
WATCHED_ID = demo.WATCH_LIST[0][0]


# The `db` fixture (an empty read model, on SQLite and on PostgreSQL) is in conftest.py.


@pytest.fixture
def demo_db(db: Engine) -> Engine:
    demo.load(db)
    return db


def count(engine: Engine, table: Any, *where: Any) -> int:
    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(table).where(*where)).one()


def all_rows(engine: Engine, table: Any, *where: Any, order_by: Any = None) -> list[Any]:
    with Session(engine) as s:
        q = select(table).where(*where)
        if order_by is not None:
            q = q.order_by(order_by)
        return list(s.exec(q).all())


# --------------------------------------------------------------------------------------------
# Builders
# --------------------------------------------------------------------------------------------

T0 = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


def claim_status(
    claim_id: str,
    *stages: str,
    policy_no: str = "P-MED-0001",
    reported_at: datetime = T0,
    **fields: Any,
) -> ClaimStatus:
    """A status whose history walks through `stages`, one hour apart from `reported_at`."""
    stages = stages or ("REPORTED",)
    history = [
        StageChange(stage=s, at=reported_at + timedelta(hours=i)) for i, s in enumerate(stages)
    ]
    data: dict[str, Any] = dict(
        claim_id=claim_id,
        stage=stages[-1],
        line="medical",
        incident_type="outpatient",
        policy_no=policy_no,
        claimant_name="张三",
        channel="app",
        reported_at=reported_at,
        amount_claimed=Decimal("1800.00"),
        history=history,
    )
    data.update(fields)
    return ClaimStatus(**data)


def event(seq: int, kind: str, at: datetime = T0, **data: Any) -> AuditEventIn:
    return AuditEventIn(seq=seq, kind=kind, actor="system", at=at, data=data)


def payment(claim_id: str, seq: int = 1, amount: str = "1800.00", **fields: Any) -> PaymentRequest:
    data: dict[str, Any] = dict(
        claim_id=claim_id,
        seq=seq,
        amount=Decimal(amount),
        payee="张三",
        account_ref="6222020200001234",
        policy_no="P-MED-0001",
    )
    data.update(fields)
    return PaymentRequest(**data)


def rules_request(claim_id: str, **fields: Any) -> LoadRulesRequest:
    data: dict[str, Any] = dict(
        claim_id=claim_id,
        policy_no="P-MED-0001",
        line="medical",
        incident_type="inpatient",
        claimant_id_no=ZHANG_ID,
        occurred_on=date(2026, 3, 2),
    )
    data.update(fields)
    return LoadRulesRequest(**data)


class CountingRail:
    """A bank that counts transfers; it would move the money again on every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Decimal, str, str]] = []

    def transfer(self, idempotency_key: str, amount: Decimal, account_ref: str, payee: str) -> str:
        self.calls.append((idempotency_key, amount, account_ref, payee))
        return f"BANK-{len(self.calls):04d}"


# --------------------------------------------------------------------------------------------
# Demo data
# --------------------------------------------------------------------------------------------


def test_loading_the_demo_twice_changes_nothing(db: Engine) -> None:
    first = demo.load(db)
    second = demo.load(db)

    assert first == second == {"policies": 4, "clauses": 21, "staff": 14, "watch_list": 2}
    assert count(db, PolicyRow) == 4
    assert count(db, StaffRow) == 14
    assert count(db, WatchListRow) == 2
    per_product = {
        p: count(db, ClauseRow, ClauseRow.product_code == p)
        for p in ("MED-STD", "AUTO-OD", "PROP-STD", "ACC-STD")
    }
    assert per_product == {"MED-STD": 6, "AUTO-OD": 5, "PROP-STD": 5, "ACC-STD": 5}
    levels = {r.staff_id: (r.level, r.roles) for r in all_rows(db, StaffRow)}
    assert levels == {
        "adj1": (1, ["adjuster"]),
        "adj2": (1, ["adjuster"]),
        "sup1": (2, ["supervisor"]),
        "sup2": (2, ["supervisor"]),
        "sup3": (2, ["supervisor"]),
        "mgr1": (3, ["manager"]),
        "inv1": (0, ["investigator"]),
        "cc1": (2, ["complaint_coordinator"]),
        "h1": (1, ["complaint_handler"]),
        "clerk1": (0, ["intake"]),
        "h2": (1, ["complaint_handler"]),
        "adv1": (1, ["special_care_advisor"]),
        "ast1": (0, ["assessor"]),
        "ast2": (0, ["assessor"]),
    }
    med = all_rows(db, PolicyRow, PolicyRow.policy_no == "P-MED-0001")[0]
    assert (med.line, med.product_code, med.insured_id_no) == ("medical", "MED-STD", ZHANG_ID)
    assert (med.start_date, med.end_date) == (
        date(2025, 1, 1),
        demo.policy_end(datetime.now(UTC).date()),
    )
    assert med.terms["deductible"] == "500"


# --------------------------------------------------------------------------------------------
# sync_claim: projection, audit trail, work items
# --------------------------------------------------------------------------------------------


def test_claim_projection_is_upserted_on_each_state_change(demo_db: Engine) -> None:
    records = RecordActivities(demo_db)
    records.sync_claim(ClaimSync(status=claim_status("C-1", "REPORTED"), insured_id_no=ZHANG_ID))
    records.sync_claim(
        ClaimSync(
            status=claim_status(
                "C-1",
                "REPORTED",
                "ACCEPTED",
                "PENDING_APPROVAL",
                payable_amount=Decimal("1040.00"),
                pending_approval_level=2,
            )
        )
    )

    (row,) = all_rows(demo_db, ClaimRow)
    assert row.claim_id == "C-1"
    assert row.stage == "PENDING_APPROVAL"
    assert row.status["stage"] == "PENDING_APPROVAL"
    assert row.payable_amount == Decimal("1040.00")
    assert row.amount_claimed == Decimal("1800.00")
    assert row.pending_level == 2
    assert row.insured_id_no == ZHANG_ID  # kept when a later sync does not repeat it
    assert row.reported_at == T0
    assert row.updated_at == T0 + timedelta(hours=2)  # the last stage change
    assert row.closed_at is None


def test_claim_projection_records_when_the_case_closed(demo_db: Engine) -> None:
    records = RecordActivities(demo_db)
    sync = ClaimSync(status=claim_status("C-1", "REPORTED", "NOT_ACCEPTED"))
    records.sync_claim(sync)
    records.sync_claim(sync)

    (row,) = all_rows(demo_db, ClaimRow)
    assert row.stage == "NOT_ACCEPTED"
    assert row.closed_at == T0 + timedelta(hours=1)


def test_claim_projection_keeps_who_may_not_decide_the_claim(demo_db: Engine) -> None:
    """The adjuster and this chain's approvers, written with the projection; a return restarts
    the chain, and a finished claim keeps none."""
    records = RecordActivities(demo_db)
    adjustment = {"lines": [], "payable": "8000.00", "adjuster": "adj2"}
    approval = {"level": 1, "approver": "adj1", "decision": "approve", "at": T0}
    stages = ["REPORTED", "PENDING_APPROVAL"]

    def recused() -> set[str]:
        return {r.staff_id for r in all_rows(demo_db, ClaimRecusalRow)}

    def sync(*more: str, **fields: Any) -> None:
        stages.extend(more)
        status = claim_status("C-1", *stages, adjustment=adjustment, **fields)
        records.sync_claim(ClaimSync(status=status))
        records.sync_claim(ClaimSync(status=status))  # retried

    sync()
    assert recused() == {"adj2"}
    sync("PENDING_APPROVAL", approvals=[approval])
    assert recused() == {"adj1", "adj2"}
    sync("ADJUSTING", "PENDING_APPROVAL")  # returned: the chain starts again
    assert recused() == {"adj2"}
    sync("APPROVED", "PAID", "CLOSED", approvals=[approval])
    assert recused() == set()


def test_claim_projection_keeps_the_instant_a_claim_was_reported(demo_db: Engine) -> None:
    reported = datetime(2026, 3, 3, 10, 0, tzinfo=CST)  # intake in Beijing time
    RecordActivities(demo_db).sync_claim(
        ClaimSync(status=claim_status("C-1", reported_at=reported))
    )

    (row,) = all_rows(demo_db, ClaimRow)
    assert row.reported_at == reported
    assert row.reported_at.utcoffset() == timedelta(0)  # read back aware, in UTC
    assert row.reported_at.hour == 2


def test_a_retried_sync_never_duplicates_audit_events(demo_db: Engine) -> None:
    records = RecordActivities(demo_db)
    sync = ClaimSync(
        status=claim_status("C-1", "REPORTED", "ACCEPTED"),
        events=[
            event(1, "reported", channel="app"),
            event(2, "accepted", T0 + timedelta(hours=1)),
        ],
    )
    records.sync_claim(sync)
    records.sync_claim(sync)  # the activity retried after a timeout
    records.sync_claim(
        ClaimSync(
            status=claim_status("C-1", "REPORTED", "ACCEPTED", "ADJUSTING"),
            events=[
                event(2, "accepted-again"),  # already written: the first write stands
                event(3, "adjusting", T0 + timedelta(hours=2)),
            ],
        )
    )

    rows = all_rows(demo_db, AuditEventRow, order_by=AuditEventRow.seq)
    assert [(r.case_id, r.seq, r.kind) for r in rows] == [
        ("C-1", 1, "reported"),
        ("C-1", 2, "accepted"),
        ("C-1", 3, "adjusting"),
    ]
    assert rows[0].data == {"channel": "app"}
    assert rows[1].at == T0 + timedelta(hours=1)


def test_audit_sequence_numbers_belong_to_their_case(demo_db: Engine) -> None:
    records = RecordActivities(demo_db)
    for claim_id in ("C-1", "C-2"):
        records.sync_claim(ClaimSync(status=claim_status(claim_id), events=[event(1, "reported")]))

    rows = all_rows(demo_db, AuditEventRow, order_by=AuditEventRow.case_id)
    assert [(r.case_id, r.seq) for r in rows] == [("C-1", 1), ("C-2", 1)]


def _approval_item() -> WorkItemIn:
    return WorkItemIn(
        key="C-1:approve:2",
        kind="approve",
        role="supervisor",
        level=2,
        assignee="sup1",
        due_at=T0 + timedelta(days=3),
        priority=1,
        title="Approve C-1",
    )


def test_work_item_opens_then_closes(demo_db: Engine) -> None:
    records = RecordActivities(demo_db)
    records.sync_claim(
        ClaimSync(
            status=claim_status("C-1", "REPORTED", "PENDING_APPROVAL"),
            open_items=[_approval_item()],
        )
    )

    (item,) = all_rows(demo_db, WorkItemRow)
    assert (item.key, item.case_id, item.state) == ("C-1:approve:2", "C-1", "open")
    assert (item.role, item.level, item.assignee, item.priority) == ("supervisor", 2, "sup1", 1)
    assert item.opened_at == T0 + timedelta(hours=1)
    assert item.due_at == T0 + timedelta(days=3)
    assert item.closed_at is None

    close = ClaimSync(
        status=claim_status("C-1", "REPORTED", "PENDING_APPROVAL", "APPROVED"),
        close_items=["C-1:approve:2"],
    )
    records.sync_claim(close)
    records.sync_claim(close)

    (item,) = all_rows(demo_db, WorkItemRow)
    assert item.state == "done"
    assert item.closed_at == T0 + timedelta(hours=2)
    assert item.opened_at == T0 + timedelta(hours=1)


def test_a_replayed_opening_sync_does_not_reopen_a_closed_item(demo_db: Engine) -> None:
    records = RecordActivities(demo_db)
    opening = ClaimSync(
        status=claim_status("C-1", "REPORTED", "PENDING_APPROVAL"),
        open_items=[_approval_item()],
    )
    records.sync_claim(opening)
    records.sync_claim(
        ClaimSync(
            status=claim_status("C-1", "REPORTED", "PENDING_APPROVAL", "APPROVED"),
            close_items=["C-1:approve:2"],
        )
    )
    records.sync_claim(opening)  # a late retry of the first attempt

    (item,) = all_rows(demo_db, WorkItemRow)
    assert item.state == "done"
    assert item.closed_at == T0 + timedelta(hours=2)


def test_a_replayed_older_sync_does_not_roll_the_projection_back(demo_db: Engine) -> None:
    records = RecordActivities(demo_db)
    opening = ClaimSync(status=claim_status("C-1", "REPORTED", "PENDING_APPROVAL"))
    records.sync_claim(opening)
    records.sync_claim(
        ClaimSync(
            status=claim_status(
                "C-1", "REPORTED", "PENDING_APPROVAL", "APPROVED", "PAYING", "PAID", "CLOSED"
            )
        )
    )
    records.sync_claim(opening)  # a late retry of the first attempt

    (row,) = all_rows(demo_db, ClaimRow)
    assert row.stage == "CLOSED"
    assert row.status["stage"] == "CLOSED"
    assert row.updated_at == T0 + timedelta(hours=5)


def test_closing_an_unknown_work_item_writes_nothing(demo_db: Engine) -> None:
    RecordActivities(demo_db).sync_claim(
        ClaimSync(status=claim_status("C-1"), close_items=["C-1:never-opened"])
    )

    assert count(demo_db, WorkItemRow) == 0
    assert count(demo_db, ClaimRow) == 1


# --------------------------------------------------------------------------------------------
# send_letter
# --------------------------------------------------------------------------------------------

PAID_AT = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)


def payment_letter(letter_id: str = "L-C-1-payment-1", **context: Any) -> LetterRequest:
    ctx: dict[str, Any] = dict(
        claim_id="C-1",
        claimant_name="张三",
        policy_no="P-MED-0001",
        amount="1040.00",
        account_ref="6222020200001234",
        reference="BANK-0001",
        paid_at=PAID_AT.isoformat(),
        seq=1,
    )
    ctx.update(context)
    return LetterRequest(
        letter_id=letter_id,
        case_id="C-1",
        kind="payment",
        recipient="13800000000",
        channel="sms",
        context=ctx,
    )


def test_payment_letter_is_rendered_filed_and_hashed(demo_db: Engine, tmp_path: Path) -> None:
    letters_dir = tmp_path / "letters"
    record = LetterActivities(demo_db, letters_dir).send_letter(payment_letter())

    path = letters_dir / "C-1" / "L-C-1-payment-1.txt"
    assert Path(record.path) == path.resolve()
    body = path.read_text(encoding="utf-8")
    assert "赔款支付通知" in body
    assert "理赔案件号：C-1" in body
    assert "保险单号：P-MED-0001" in body
    assert "尊敬的 张三" in body
    assert "已于2026年3月20日支付" in body
    assert "人民币 1,040.00 元" in body
    assert "收款账户：****1234" in body
    assert "6222020200001234" not in body  # the account number is masked
    assert "支付流水号：BANK-0001" in body
    assert "第 1 笔" in body
    assert "通知书编号：L-C-1-payment-1" in body

    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert record.sha256 == digest
    (row,) = all_rows(demo_db, LetterRow)
    assert (row.letter_id, row.case_id, row.kind) == ("L-C-1-payment-1", "C-1", "payment")
    assert (row.language, row.channel, row.recipient) == ("zh-CN", "sms", "13800000000")
    assert row.sha256 == digest
    assert row.body == body
    assert row.path == str(path.resolve())


def test_english_payment_letter(demo_db: Engine, tmp_path: Path) -> None:
    req = payment_letter().model_copy(update={"language": "en"})
    record = LetterActivities(demo_db, tmp_path / "letters").send_letter(req)

    body = Path(record.path).read_text(encoding="utf-8")
    assert "Payment notice" in body
    assert "on 20 March 2026" in body
    assert "CNY 1,040.00" in body
    assert "****1234" in body
    (row,) = all_rows(demo_db, LetterRow)
    assert row.language == "en"
    assert row.sha256 == hashlib.sha256(body.encode("utf-8")).hexdigest()


def test_a_letter_attempt_that_loses_the_race_leaves_the_first_on_file(
    demo_db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two attempts at one letter at once: the other recorded it after this one looked. This
    one returns the recorded letter, and the file holds the recorded body, not its own."""
    first = LetterActivities(demo_db, tmp_path / "letters").send_letter(payment_letter())
    late = LetterActivities(demo_db, tmp_path / "letters")
    monkeypatch.setattr(late, "render", lambda req, at: "a body dated a moment later")
    looks: list[str] = []
    looked = letters_module._sent

    def stale_first(conn: Any, letter_id: str) -> Any:
        looks.append(letter_id)  # its first look comes before the other attempt's row
        return None if len(looks) == 1 else looked(conn, letter_id)

    monkeypatch.setattr(letters_module, "_sent", stale_first)

    record = late.send_letter(payment_letter())

    assert record == first
    on_file = Path(record.path).read_bytes()
    assert hashlib.sha256(on_file).hexdigest() == record.sha256
    assert "a moment later" not in on_file.decode("utf-8")
    assert len(all_rows(demo_db, LetterRow)) == 1


def test_a_resent_letter_returns_the_letter_already_sent(demo_db: Engine, tmp_path: Path) -> None:
    letters = LetterActivities(demo_db, tmp_path / "letters")
    first = letters.send_letter(payment_letter())
    path = Path(first.path)
    content, mtime = path.read_bytes(), path.stat().st_mtime_ns

    # a retry; even a context that would render differently must not rewrite the notice
    second = letters.send_letter(payment_letter(amount="9999.00", reference="BANK-9999"))

    assert second == first
    assert count(demo_db, LetterRow) == 1
    assert path.read_bytes() == content
    assert path.stat().st_mtime_ns == mtime
    assert hashlib.sha256(path.read_bytes()).hexdigest() == first.sha256
    assert list(path.parent.iterdir()) == [path]


# --------------------------------------------------------------------------------------------
# pay_claim
# --------------------------------------------------------------------------------------------


def test_a_payment_is_made_exactly_once_per_claim_and_sequence(demo_db: Engine) -> None:
    rail = CountingRail()
    payments = PaymentActivities(demo_db, rail)
    req = payment("C-1", deductible_applied=Decimal("500.00"))

    first = payments.pay_claim(req)
    second = payments.pay_claim(req)  # the activity retried after the bank answered

    assert second.reference == first.reference == "BANK-0001"
    assert second == first
    assert rail.calls == [("C-1:pay:1", Decimal("1800.00"), "6222020200001234", "张三")]
    (row,) = all_rows(demo_db, PaymentRow)
    assert (row.idempotency_key, row.claim_id, row.seq) == ("C-1:pay:1", "C-1", 1)
    assert (row.policy_no, row.payee, row.reference) == ("P-MED-0001", "张三", "BANK-0001")
    assert row.amount == Decimal("1800.00")
    assert row.deductible_applied == Decimal("500.00")
    assert first.amount == Decimal("1800.00")
    assert abs(row.paid_at - datetime.now(UTC)) < timedelta(minutes=5)


def test_an_attempt_that_loses_the_race_to_the_ledger_answers_with_the_winners_row(
    demo_db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two attempts of one payment at once: the other wrote the ledger row after this one
    looked. The rail honours the key; this attempt's row does not go in, and its answer is
    the winner's row."""
    req = payment("C-1")
    winner = PaymentActivities(demo_db, CountingRail()).pay_claim(req)
    looked = payments_module._paid
    looks: list[str] = []

    def stale_first(conn: Any, table: Any, key: str) -> Any:
        looks.append(key)
        return None if len(looks) == 1 else looked(conn, table, key)

    monkeypatch.setattr(payments_module, "_paid", stale_first)
    rail = CountingRail()
    answer = PaymentActivities(demo_db, rail).pay_claim(req)

    assert len(looks) == 2  # looked before the rail, and again after its row did not go in
    assert answer == winner
    assert len(rail.calls) == 1  # the rail was asked again under the same key, as rails allow
    assert [r.reference for r in all_rows(demo_db, PaymentRow)] == [winner.reference]


def test_a_second_instalment_is_a_second_ledger_row(demo_db: Engine) -> None:
    rail = CountingRail()
    payments = PaymentActivities(demo_db, rail)
    first = payments.pay_claim(payment("C-1", seq=1, amount="1000.00"))
    second = payments.pay_claim(payment("C-1", seq=2, amount="40.50"))

    assert (first.reference, second.reference) == ("BANK-0001", "BANK-0002")
    assert len(rail.calls) == 2
    rows = all_rows(demo_db, PaymentRow, order_by=PaymentRow.seq)
    assert [(r.idempotency_key, r.amount) for r in rows] == [
        ("C-1:pay:1", Decimal("1000.00")),
        ("C-1:pay:2", Decimal("40.50")),
    ]


@pytest.mark.parametrize("amount", ["0", "0.00", "-100.00"])
def test_a_non_positive_payment_is_rejected_and_writes_nothing(
    demo_db: Engine, amount: str
) -> None:
    rail = CountingRail()
    with pytest.raises(ApplicationError) as raised:
        PaymentActivities(demo_db, rail).pay_claim(payment("C-1", amount=amount))

    assert raised.value.type == "PaymentRejected"
    assert raised.value.non_retryable
    assert rail.calls == []
    assert count(demo_db, PaymentRow) == 0


# --------------------------------------------------------------------------------------------
# load_rules and get_staff
# --------------------------------------------------------------------------------------------


def test_rules_carry_the_policy_terms_and_the_checklist(demo_db: Engine) -> None:
    rules = RulesActivities(demo_db).load_rules(rules_request("C-1"))

    policy = rules.policy
    assert policy is not None
    assert policy.policy_no == "P-MED-0001"
    assert (policy.line, policy.product_code) == ("medical", "MED-STD")
    assert (policy.insured_name, policy.insured_id_no) == ("张三", ZHANG_ID)
    assert (policy.start_date, policy.end_date) == (
        date(2025, 1, 1),
        demo.policy_end(datetime.now(UTC).date()),
    )
    assert policy.status == "in_force"
    assert policy.deductible == Decimal("500")
    assert policy.ratio == Decimal("0.8")
    assert policy.annual_limit == Decimal("200000")
    assert policy.sum_insured == Decimal("200000")
    assert policy.waiting_period_days == 30
    assert [c.id for c in policy.clauses] == [
        "MED-1.1",
        "MED-2.1",
        "MED-2.2",
        "MED-2.3",
        "MED-2.4",
        "MED-3.1",
    ]
    # each exclusion clause names the causes it states (DOMAIN §6a)
    causes = {c.id: c.causes for c in policy.clauses}
    assert causes["MED-2.1"] == ["cosmetic"] and causes["MED-2.4"] == ["war", "nuclear"]
    assert causes["MED-1.1"] == []
    waiting = policy.clause("MED-3.1")
    assert waiting is not None and waiting.kind == "waiting_period"
    assert rules.checklist == [
        "diagnosis_certificate",
        "invoices",
        "expense_list",
        "discharge_summary",
    ]
    assert rules.common_materials == ["claim_form", "identity", "bank_account"]
    assert rules.usage.paid_this_year == Decimal("0")
    assert rules.prior_claims_12m == 0
    assert rules.watch_list_hit is False


def test_usage_counts_earlier_payments_on_the_policy_but_not_this_claims_own(
    demo_db: Engine,
) -> None:
    today = datetime.now(UTC).date()  # the ledger stamps payments with the time they are made
    payments = PaymentActivities(demo_db, CountingRail())
    payments.pay_claim(payment("C-EARLIER", amount="1200.00", deductible_applied=Decimal("500")))
    payments.pay_claim(payment("C-EARLIER", seq=2, amount="34.56"))
    payments.pay_claim(payment("C-THIS", amount="300.00", deductible_applied=Decimal("0")))
    payments.pay_claim(
        payment(
            "C-CAR", amount="5000.00", policy_no="P-AUTO-0001", deductible_applied=Decimal("1000")
        )
    )

    rules = RulesActivities(demo_db).load_rules(rules_request("C-THIS", occurred_on=today))

    assert rules.usage.paid_this_year == Decimal("1234.56")
    assert rules.usage.deductible_used == Decimal("500.00")


def test_usage_ignores_payments_on_other_policies(demo_db: Engine) -> None:
    today = datetime.now(UTC).date()
    PaymentActivities(demo_db, CountingRail()).pay_claim(
        payment("C-CAR", amount="5000.00", policy_no="P-AUTO-0001")
    )

    rules = RulesActivities(demo_db).load_rules(rules_request("C-THIS", occurred_on=today))

    assert rules.usage.paid_this_year == Decimal("0")
    assert rules.usage.deductible_used == Decimal("0")


def test_usage_of_a_past_policy_year_ignores_payments_made_in_a_later_year(
    demo_db: Engine,
) -> None:
    PaymentActivities(demo_db, CountingRail()).pay_claim(
        payment("C-THIS-YEAR", amount="1200.00", deductible_applied=Decimal("500"))
    )

    today = datetime.now(UTC).date()
    last_year = today.replace(year=today.year - 1, day=min(today.day, 28))
    rules = RulesActivities(demo_db).load_rules(
        rules_request("C-LATE", occurred_on=last_year)  # reported late, from the previous year
    )

    assert rules.usage.paid_this_year == Decimal("0")
    assert rules.usage.deductible_used == Decimal("0")


def test_prior_claims_count_earlier_claims_of_the_insured_except_not_accepted(
    demo_db: Engine,
) -> None:
    records = RecordActivities(demo_db)

    def claim(claim_id: str, reported: datetime, *stages: str, id_no: str = ZHANG_ID) -> None:
        records.sync_claim(
            ClaimSync(
                status=claim_status(claim_id, *stages, reported_at=reported), insured_id_no=id_no
            )
        )

    claim("C-PAID", datetime(2026, 1, 10, tzinfo=UTC), "REPORTED", "ACCEPTED", "PAID")
    claim("C-OPEN", datetime(2025, 6, 1, tzinfo=UTC), "REPORTED", "ACCEPTED")
    claim("C-REFUSED", datetime(2025, 12, 1, tzinfo=UTC), "REPORTED", "NOT_ACCEPTED")
    claim("C-WITHDRAWN", datetime(2025, 12, 2, tzinfo=UTC), "REPORTED", "WITHDRAWN")
    claim("C-OLD", datetime(2025, 2, 1, tzinfo=UTC), "REPORTED", "ACCEPTED")  # > 12 months
    claim("C-LI", datetime(2026, 1, 11, tzinfo=UTC), "REPORTED", "ACCEPTED", id_no=LI_ID)
    claim("C-THIS", datetime(2026, 3, 3, tzinfo=UTC), "REPORTED")  # never counts itself

    rules = RulesActivities(demo_db).load_rules(
        rules_request("C-THIS", occurred_on=date(2026, 3, 2))
    )

    assert rules.prior_claims_12m == 2  # C-PAID and C-OPEN


def test_a_claimant_on_the_watch_list_is_a_hit(demo_db: Engine) -> None:
    rules = RulesActivities(demo_db)

    hit = rules.load_rules(rules_request("C-1", claimant_id_no=WATCHED_ID))
    clean = rules.load_rules(rules_request("C-2", claimant_id_no=ZHANG_ID))

    assert hit.watch_list_hit is True
    assert clean.watch_list_hit is False


def test_an_unknown_policy_gives_no_terms(demo_db: Engine) -> None:
    rules = RulesActivities(demo_db).load_rules(
        rules_request("C-1", policy_no="P-NOPE-0001", claimant_id_no=WATCHED_ID)
    )

    assert rules.policy is None
    assert rules.usage.paid_this_year == Decimal("0")
    assert rules.prior_claims_12m == 0
    assert rules.watch_list_hit is True  # the watch list does not need a policy
    assert "discharge_summary" in rules.checklist


def test_a_known_staff_member_has_a_level_and_roles(demo_db: Engine) -> None:
    staff = RulesActivities(demo_db).get_staff("sup1")

    assert staff is not None
    assert (staff.staff_id, staff.name, staff.level) == ("sup1", "陈主管", 2)
    assert staff.roles == ["supervisor"]
    assert staff.active is True


def test_an_unknown_person_is_not_staff(demo_db: Engine) -> None:
    assert RulesActivities(demo_db).get_staff("nobody") is None


def _event_row(case_id: str, seq: int) -> AuditEventRow:
    return AuditEventRow(
        case_id=case_id, seq=seq, kind="stage", actor="system", at=datetime.now(UTC), data={}
    )


def test_the_event_feed_picks_up_a_row_committed_out_of_sequence_order(monkeypatch):
    """On PostgreSQL a transaction that took a lower seq can commit after a higher one was
    printed; the follower looks for the gap again and prints the late row once."""
    from commands import events as feed

    for engine in postgres_read_model():
        monkeypatch.setattr(feed, "db", lambda engine=engine: engine)
        follower = feed.Follower(since=0, gap_wait=30)
        slow = Session(engine)
        slow.add(_event_row("C-slow", 1))
        slow.flush()  # takes its seq now, commits later
        with Session(engine) as fast:
            fast.add(_event_row("C-fast", 1))
            fast.commit()
        first = follower.poll(now=0)
        assert [e.case_id for e in first] == ["C-fast"]
        assert len(follower.gaps) == 1
        slow.commit()
        slow.close()
        second = follower.poll(now=1)
        assert [e.case_id for e in second] == ["C-slow"]
        assert follower.poll(now=2) == [] and not follower.gaps
        # a gap that never fills (a rolled-back transaction) is given up after gap_wait
        lost = Session(engine)
        lost.add(_event_row("C-lost", 1))
        lost.flush()
        lost.rollback()
        lost.close()
        with Session(engine) as later:
            later.add(_event_row("C-later", 1))
            later.commit()
        assert [e.case_id for e in follower.poll(now=3)] == ["C-later"]
        assert follower.gaps
        assert follower.poll(now=40) == [] and not follower.gaps


def test_demo_policies_stay_in_force_for_years_after_the_demo_is_loaded() -> None:
    # A new user trying the engine years from now reports a claim for "today": it must be
    # inside the demo policy period whatever the day.
    for loaded_on in (date(2026, 11, 29), date(2028, 1, 1), date(2031, 12, 31)):
        end = demo.policy_end(loaded_on)
        assert end >= date(loaded_on.year + 2, 12, 31)
        assert end > loaded_on + timedelta(days=400)
    assert demo.START == date(2025, 1, 1)


def test_loading_the_demo_again_later_extends_the_policies(tmp_path: Path) -> None:
    db = make_engine(f"sqlite:///{tmp_path / 'demo.db'}")
    demo.load(db, today=date(2026, 11, 29))
    demo.load(db, today=date(2030, 5, 1))
    med = all_rows(db, PolicyRow, PolicyRow.policy_no == "P-MED-0001")[0]
    assert med.end_date == date(2032, 12, 31)
