"""Every letter kind in both languages, rendered from the contexts the workflows build, against
what a regulator reads in them (DOMAIN §10, §11; issue 12 "Letters" and "Time zone"):

- the complaint regulation by its correct title and order number;
- dates in Beijing time (a letter sent at 00:30 on 2 March is dated 2 March), a time of day
  with its zone;
- every deduction with its clause and a reason in words, no formula notation;
- amounts in figures and, in Chinese, in capitals (大写);
- staff by name and title, never by id, at their own approval level;
- formal notices never by SMS alone;
- the denial's appeal window counted from sending, as its clock is.

The contexts are what the workflows pass (`test_fixture_contexts_are_the_workflows_contexts`
holds them to the keywords of every `_letter` call); the decision and denial contexts come from
the claim's own context builders over the demo policy's rules.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import demo
from activities.letters import LetterActivities
from activities.rules import policy_terms
from activities.wording import rmb_capitals, settlement_in_words
from database import make_engine
from models.catalog import FORMAL_NOTICES
from models.complaint import Resolution
from models.records import LetterRequest
from models.rules import AdjustmentResult
from models.status import ApprovalRecord
from tests.rulefixtures import report, rules
from workflows.adjustment import adjust, manual_adjustment
from workflows.claim_state import ClaimState

ROOT = Path(__file__).resolve().parent.parent
LANGUAGES = ("zh-CN", "en")

# 00:30 on 2 March 2026 in Beijing is still 1 March in UTC: every moment in these letters is
# this one, so a letter that shows 1 March took a UTC date.
MOMENT = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)
NOW = MOMENT.isoformat()  # what workflow.now().isoformat() gives at that moment
LOCAL_DAY = {"zh-CN": "2026年3月2日", "en": "2 March 2026"}
UTC_DAY = {"zh-CN": "2026年3月1日", "en": "1 March 2026"}

CLAIM = {"claim_id": "CLM-LTR-1", "claimant_name": "张三", "policy_no": "P-MED-0001"}
COMPLAINT = {
    "complaint_id": "CMP-LTR-1",
    "complainant_name": "张三",
    "claim_id": "CLM-LTR-1",
    "policy_no": "P-MED-0001",
}
INTERNAL = {"panel_record", "complaint_callback"}  # filed with the case, not sent
STAFF_IDS = [sid for sid, *_ in demo.STAFF]
COMPLAINT_KINDS = {
    "complaint_acknowledgement",
    "complaint_callback",
    "complaint_decision",
    "complaint_declined",
    "complaint_extension",
    "complaint_progress",
    "complaint_review_decision",
}
# Letters that cite the complaint regulation.
CITES_REGULATION = {
    "complaint_acknowledgement",
    "complaint_decision",
    "complaint_extension",
    "complaint_review_decision",
}
REGULATION = {
    "zh-CN": "《银行业保险业消费投诉处理管理办法》（原中国银保监会令2020年第3号）",
    "en": "Measures for the Handling of Consumer Complaints in the Banking and Insurance "
    "Sectors (Order No. 3 of 2020 of the former China Banking and Insurance Regulatory "
    "Commission)",
}


# ------------------------------------------------------------------ the contexts


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('letters') / 'claims.db'}")
    demo.load(engine)
    yield engine
    engine.dispose()


def _claim_case(engine: Engine, language: str, approvals: list[ApprovalRecord]) -> Any:
    """A claim as the workflow holds it when it writes the decision or denial letter: the demo
    medical policy's rules, a report with a self-paid item, its adjustment and approvals. The
    letter contexts come from the claim state's own builders."""
    with Session(engine) as session:
        terms = policy_terms(session, "P-MED-0001")
    assert terms is not None
    case = ClaimState(release=True)  # state only: no workflow is running
    claimant = {"name": "张三", "id_no": terms.insured_id_no, "phone": "13800000000"}
    case.report = report(
        claimant={**claimant, "language": language},
        amount_claimed=Decimal("8000"),
        items=[
            {"category": "treatment", "description": "诊疗费", "amount": Decimal("7200")},
            {"category": "self_paid", "description": "自费药品", "amount": Decimal("800")},
        ],
    )
    case.rules = rules(policy_terms=terms)
    case.approvals = approvals
    case.adjustment = adjust(case.report, case.rules)
    return case


def _approval(level: int, who: str, decision: str = "approve") -> ApprovalRecord:
    return ApprovalRecord(level=level, approver=who, decision=decision, at=MOMENT, note="同意")


def decision_context(engine: Engine, language: str) -> dict[str, Any]:
    case = _claim_case(engine, language, [_approval(1, "sup1")])
    adjustment: AdjustmentResult = case.adjustment
    assert adjustment.payable == Decimal("5360.00")
    return {
        **CLAIM,
        "line": "medical",
        "incident_type": "outpatient",
        "lines": [line.model_dump(mode="json") for line in adjustment.lines],
        "payable": str(adjustment.payable),
        "approvals": case.approvals_context(True),
        "straight_through": False,
        "payment_days": 10,
        "payment_due": "2026-03-12",
        "account_ref": "6222020000001234",
        "advance_paid": "0",
        "balance": str(adjustment.payable),
        "after_appeal": False,
        **case.decision_details(),
    }


def denial_context(engine: Engine, language: str) -> dict[str, Any]:
    # An L2 supervisor refuses at the first step of the chain: the letter names their level.
    case = _claim_case(engine, language, [_approval(1, "sup1", "reject")])
    return {
        **CLAIM,
        "reason": "既往症未如实告知" if language == "zh-CN" else "A pre-existing condition",
        "clause": case.clause_context("MED-2.2"),
        "decided_at": NOW,
        "appeal_days": 30,
        "appeal_due": "2026-04-01",
        "approvals": case.approvals_context(True),
    }


def contexts(engine: Engine, language: str) -> dict[str, dict[str, Any]]:
    """One context per letter kind, as the workflows build it at MOMENT."""
    zh = language == "zh-CN"
    case = _claim_case(engine, language, [])
    clause = case.clause_context
    resolution = {
        "kinds": ["apology", "payment"],
        "description": "书面致歉并补付漏计的费用" if zh else "An apology and the missing amount",
        "basis": "保险条款 MED-1.1" if zh else "Policy clause MED-1.1",
        "reasons": "理算时漏计一项诊疗费" if zh else "One treatment fee was left out",
        "amount": "800.00",
    }
    vote = {"at": NOW, "amount": None, "clause": None}
    return {
        "acknowledgement": {
            **CLAIM,
            "line": "medical",
            "incident_type": "outpatient",
            "reported_at": NOW,
            "channel": "app",
            "checklist": ["claim_form", "identity", "invoices"],
            "received": ["claim_form", "identity"],
            "missing": ["invoices"],
            "determination_days": 30,
            "determination_due": "2026-04-01",
        },
        "not_accepted": {
            **CLAIM,
            "reason": "出险日在等待期内" if zh else "The illness began in the waiting period",
            "reason_code": "WAITING_PERIOD",
            "clause": clause("MED-3.1"),
            "line": "medical",
            "incident_type": "outpatient",
        },
        "missing_materials": {
            **CLAIM,
            "missing": ["invoices", "expense_list"],
            "received": ["claim_form"],
            "notice_date": "2026-03-02",
            "reminder_days": [15, 30],
            "suspension_days": 60,
        },
        "additional_materials": {
            **CLAIM,
            "added": ["discharge_summary"],
            "missing": ["discharge_summary"],
            "reason": "费用清单显示曾住院治疗",
            "approved_by": "sup1",
            "approved_by_name": "陈主管",
            "first_notice_date": "2026-03-02",
        },
        "materials_reminder": {
            **CLAIM,
            "missing": ["invoices"],
            "notice_date": "2026-03-02",
            "round": 1,
            "suspension_on": "2026-05-01",
        },
        "suspension": {
            **CLAIM,
            "missing": ["invoices"],
            "notice_date": "2026-03-02",
            "suspended_on": "2026-05-01",
        },
        "lapse": {
            **CLAIM,
            "missing": ["invoices"],
            "notice_date": "2026-03-02",
            "suspended_on": "2026-05-01",
            "occurred_on": "2026-02-28",
            "limitation_on": "2028-02-28",
            "lapsed_on": "2028-03-02",
        },
        "investigation": {
            **CLAIM,
            "flags": ["R02"],
            "tasks": [{"kind": "hospital_check", "due_on": "2026-03-12"}],
            "determination_due": "2026-04-01",
        },
        "decision": decision_context(engine, language),
        "payment": {
            **CLAIM,
            "amount": "5360.00",
            "account_ref": "6222020000001234",
            "reference": "TRF-1",
            "paid_at": NOW,
            "seq": 1,
        },
        "advance_payment": {
            **CLAIM,
            "amount": "3000.00",
            "amount_claimed": "8000.00",
            "account_ref": "6222020000001234",
            "reference": "TRF-2",
            "paid_at": NOW,
            "days": 60,
        },
        "denial": denial_context(engine, language),
        "appeal_received": {
            **CLAIM,
            "appeal_reason": "病史系误诊" if zh else "The history was a misdiagnosis",
            "received_at": NOW,
            "review_days": 30,
            "review_due": "2026-04-01",
        },
        "appeal_decision": {
            **CLAIM,
            "clause": clause("MED-2.2"),
            "reason": "维持原决定" if zh else "The decision stands",
            "decided_at": NOW,
            "votes": [{"member": "sup2", "vote": "reject", "reason": "既往症"}],
        },
        "panel_record": {
            **CLAIM,
            "grounds": ["above_authority"],
            "convened_by": "mgr1",
            "convened_at": NOW,
            "members": ["mgr1", "sup2", "sup3"],
            "votes": [
                {**vote, "member": "mgr1", "vote": "approve", "reason": "同意"},
                {**vote, "member": "sup2", "vote": "approve", "reason": "同意"},
                {**vote, "member": "sup3", "vote": "reject", "reason": "疑似既往症"},
            ],
            "outcome": "approve",
            "amount": None,
            "dissent": [{**vote, "member": "sup3", "vote": "reject", "reason": "疑似既往症"}],
            "decided_at": NOW,
            "payable_before": "1200000.00",
        },
        "delay": {**CLAIM, "clock": "denial_notice", "due_on": "2026-03-05", "stage": "DENIED"},
        "withdrawal": {**CLAIM, "reason": "已另行解决", "withdrawn_at": NOW, "by": "adj1"},
        "complaint_acknowledgement": {
            **COMPLAINT,
            "channel": "phone",
            "received_at": NOW,
            "matter": "理赔专员态度恶劣",
            "remedy_sought": "书面道歉",
            "priority": "high",
            "decision_days": 15,
            "decision_due": "2026-03-17",
            "advisor": "adv1",
            "internal_days": 7,
            "complainants": 1,
        },
        "complaint_declined": {**COMPLAINT, "reason": "未查询到该保单", "received_at": NOW},
        "complaint_progress": {
            **COMPLAINT,
            "step": "restarted",
            "detail": "",
            "reason": "",
            "decision_due": "2026-03-17",
        },
        "complaint_extension": {
            **COMPLAINT,
            "days": 30,
            "reason": "需调取通话录音",
            "decision_due": "2026-03-31",
            "approved_by_manager": False,
        },
        "complaint_decision": {
            **COMPLAINT,
            "findings": "理算漏计一项诊疗费" if zh else "One treatment fee was left out",
            "upheld": True,
            "resolution": resolution,
            "decided_at": NOW,
        },
        "complaint_callback": {
            **COMPLAINT,
            "callbacks": [
                {"at": NOW, "by": "cc1", "reached": True, "satisfied": True, "note": "满意"}
            ],
            "outcome": "satisfied",
        },
        "complaint_review_decision": {
            **COMPLAINT,
            "upheld": True,
            "findings": "原处理决定适当",
            "decided_at": NOW,
            "reviewer_level": "L3",
        },
    }


def request(
    kind: str, context: dict[str, Any], language: str, letter_id: str, channel: str = "sms"
) -> LetterRequest:
    """A letter to a claimant who gave a phone and no email."""
    return LetterRequest(
        letter_id=letter_id,
        case_id="LTR",
        kind=kind,
        language=language,
        recipient="张三 <13800000000>",
        channel=channel,
        context=context,
    )


def render_all(engine: Engine, tmp: Path, language: str) -> dict[str, str]:
    letters = LetterActivities(engine, tmp / "letters")
    out = {}
    for kind, context in contexts(engine, language).items():
        letter_id = f"{context.get('complaint_id') or context['claim_id']}-{kind}-1"
        out[kind] = letters.render(request(kind, context, language, letter_id), MOMENT)
    return out


@pytest.fixture(scope="module", params=LANGUAGES)
def rendered(
    request: pytest.FixtureRequest, demo_db: Engine, tmp_path_factory: pytest.TempPathFactory
) -> tuple[str, dict[str, str]]:
    language = request.param
    return language, render_all(demo_db, tmp_path_factory.mktemp(language), language)


# ------------------------------------------------------------------ the contexts are real


def _letter_calls() -> dict[str, set[str]]:
    """The keywords every `case.letter("<kind>", ...)` and `case.letter_with_notice("<kind>",
    ...)` call in the workflows passes (the latter's node and notice options aside)."""
    calls: dict[str, set[str]] = {}
    for path in (ROOT / "workflows").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("_letter", "letter", "letter_with_notice")
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                keys = {
                    k.arg
                    for k in node.keywords
                    if k.arg not in (None, "recipient", "with_link", "flush_first")
                }
                calls.setdefault(node.args[0].value, set()).update(keys)
    return calls


def test_fixture_contexts_are_the_workflows_contexts(demo_db: Engine) -> None:
    calls = _letter_calls()
    fixtures = contexts(demo_db, "zh-CN")
    templates = {p.name.removesuffix(".txt.j2") for p in (ROOT / "templates/zh-CN").glob("*.j2")}
    assert set(fixtures) == set(calls) == templates - {"_delivery"}
    details = {"non_covered", "non_covered_clause", "coverage_clause"}  # **_decision_details()
    for kind, context in fixtures.items():
        base = set(COMPLAINT if kind in COMPLAINT_KINDS else CLAIM)
        if kind == "delay":
            base = set(CLAIM)
        given = set(context) - base
        assert given - details == calls[kind], kind


# ------------------------------------------------------------------ what every letter shows


def test_every_kind_renders_in_both_languages(rendered: tuple[str, dict[str, str]]) -> None:
    language, letters = rendered
    for kind, body in letters.items():
        assert body.strip(), kind
        number = "通知书编号" if language == "zh-CN" else "reference"
        assert number in body or "编号" in body or "Record reference" in body, kind


def test_the_complaint_regulation_is_cited_by_its_title(
    rendered: tuple[str, dict[str, str]],
) -> None:
    language, letters = rendered
    for kind, body in letters.items():
        assert "银行保险机构消费者投诉处理管理办法" not in body, kind
        assert "2020 rules" not in body and "CBIRC) in 2020" not in body, kind
    for kind in CITES_REGULATION:
        assert REGULATION[language] in " ".join(letters[kind].split()), kind


def test_dates_are_beijing_days_and_times_show_their_zone(
    rendered: tuple[str, dict[str, str]],
) -> None:
    language, letters = rendered
    for kind, body in letters.items():
        assert LOCAL_DAY[language] in body, kind  # at least the letter's own date
        assert not re.search(rf"(?<!\d){UTC_DAY[language]}", body), kind
        text = " ".join(body.split())
        for found in re.finditer(r"\b\d{1,2}:\d{2}\b", text):
            zone = "（北京时间）" if language == "zh-CN" else " (Beijing time, UTC+8)"
            after = text[found.end() : found.end() + len(zone)]
            assert after == zone, (kind, text[found.start() : found.end() + len(zone)])
    assert "00:30" in letters["payment"]


def test_no_formula_notation_in_customer_letters(rendered: tuple[str, dict[str, str]]) -> None:
    _, letters = rendered
    for kind, body in letters.items():
        for mark in ("Σ", "×", "≥", "min(", "max(", " x "):
            assert mark not in body, (kind, mark)
        assert not re.search(r"[\[（(][\d,.]+ [-+*/] ", body), kind  # "（8,000.00 - 800.00）"


def test_every_deduction_names_its_clause_and_reason(rendered: tuple[str, dict[str, str]]) -> None:
    language, letters = rendered
    body = letters["decision"]
    if language == "zh-CN":
        assert "医疗费用合计" in body and "减：自费药品" in body and "减：免赔额" in body
        assert "按赔付比例 80% 计算" in body and "本次赔付金额" in body
        assert "自费药品 800.00 元：属于医保目录外的自费药品费用" in body
        assert "保险条款 MED-2.1（责任免除：非必需费用）" in body
        assert "免赔额 500.00 元：依据保险单约定的免赔额及保险条款 MED-1.1（保险责任）" in body
        assert "赔付比例 80%：依据保险单约定的给付比例及保险条款 MED-1.1" in body
        deductions = body.count("  减：")
        notes = re.findall(r"^  \d+\. .*(?:条款|依据).*$", body, re.M)
    else:
        text = " ".join(body.split())
        assert "Medical expenses claimed" in text and "Less: 自费药品" in text
        assert "policy clause MED-2.1 (Exclusion: non-necessary expenses)" in text
        assert "self-paid drugs outside the medical insurance catalogue" in text
        assert "Less: deductible" in text and "policy clause MED-1.1 (Cover)" in text
        deductions = body.count("  Less: ")
        notes = re.findall(r"^  \d+\. .*$", body.split("How the amounts")[1], re.M)
    assert deductions == 2
    assert len(notes) >= deductions + 1  # each deduction and the ratio


def test_amounts_in_figures_and_capitals_in_chinese(rendered: tuple[str, dict[str, str]]) -> None:
    language, letters = rendered
    if language != "zh-CN":
        return
    seen = 0
    for kind, body in letters.items():
        for found in re.finditer(r"人民币 ([\d,]+\.\d\d) 元", body):
            amount = Decimal(found.group(1).replace(",", ""))
            after = body[found.end() :]
            assert after.startswith(f"（大写：{rmb_capitals(amount)}）"), (kind, found.group(0))
            seen += 1
    assert seen >= 6
    assert "人民币 5,360.00 元（大写：人民币伍仟叁佰陆拾元整）" in letters["decision"]
    assert "人民币 800.00 元（大写：人民币捌佰元整）" in letters["complaint_decision"]


def test_staff_by_name_and_title_at_their_own_level(rendered: tuple[str, dict[str, str]]) -> None:
    language, letters = rendered
    for kind, body in letters.items():
        if kind in INTERNAL:
            continue
        for sid in STAFF_IDS:
            assert not re.search(rf"(?<![A-Za-z0-9-]){sid}(?![A-Za-z0-9-])", body), (kind, sid)
    zh = language == "zh-CN"
    text = {k: " ".join(v.split()) for k, v in letters.items()}
    # sup1 decided at the first step of the chain; sup1 is L2: 二级核赔, not 一级核赔.
    sup1 = (
        "陈主管（二级核赔，理赔主管）"
        if zh
        else "陈主管 (second-level approver, claims supervisor)"
    )
    for kind in ("decision", "denial"):
        assert sup1 in text[kind], kind
        assert "一级核赔" not in text[kind] and "first-level" not in text[kind], kind
    assert ("卫顾问（特殊关怀顾问）" if zh else "卫顾问 (special-care advisor)") in text[
        "complaint_acknowledgement"
    ]
    # Elsewhere by name and title; the approval level only where they decided at it.
    assert ("陈主管（理赔主管）" if zh else "陈主管 (claims supervisor)") in text[
        "additional_materials"
    ]
    assert ("王理赔（理赔专员）" if zh else "王理赔 (adjuster)") in text["withdrawal"]
    # The claim and complaint files keep the staff number beside the name.
    assert ("周主管（二级核赔，理赔主管，工号 sup3）" if zh else "staff no. sup3") in text[
        "panel_record"
    ]
    assert ("郑协调（投诉协调员，工号 cc1）" if zh else "staff no. cc1") in text[
        "complaint_callback"
    ]


def test_the_appeal_window_reads_as_its_clock_runs(rendered: tuple[str, dict[str, str]]) -> None:
    language, letters = rendered
    denial = " ".join(letters["denial"].split())
    delay = " ".join(letters["delay"].split())
    if language == "zh-CN":
        assert "可自本通知发出之日起30日内，即不晚于2026年4月1日，向我公司申请复核" in denial
        assert "收到本通知之日起" not in denial
        assert "该期限自拒赔通知书发出之日起计算" in delay and "收到通知书之日起" not in delay
    else:
        assert "within 30 days of the date we sent this letter, that is by 1 April 2026" in denial
        assert "of receiving this letter" not in denial
        assert "runs from the day we send the notice" in delay
        assert "runs from the day you receive it" not in delay


def test_complaint_decision_states_findings_basis_and_reasons(
    rendered: tuple[str, dict[str, str]],
) -> None:
    language, letters = rendered
    body = letters["complaint_decision"]
    words = (
        ("理算漏计一项诊疗费", "保险条款 MED-1.1", "理算时漏计一项诊疗费")
        if language == "zh-CN"
        else ("One treatment fee was left out", "Policy clause MED-1.1")
    )
    for text in words:
        assert text in body


# ------------------------------------------------------------------ sending


@pytest.mark.parametrize("language", LANGUAGES)
def test_formal_notices_go_by_post_with_an_sms_pointer(
    demo_db: Engine, tmp_path: Path, language: str
) -> None:
    letters = LetterActivities(demo_db, tmp_path / "letters")
    for kind, context in contexts(demo_db, language).items():
        channel = "file" if kind in INTERNAL else "sms"
        req = request(kind, context, language, f"SEND-{language}-{kind}", channel)
        record = letters.send_letter(req)
        body = Path(record.path).read_text(encoding="utf-8")
        if kind in FORMAL_NOTICES:
            assert record.channel == "post", kind
            pointer = (
                "短信（138****0000）" if language == "zh-CN" else "text message to 138****0000"
            )
            assert pointer in " ".join(body.split()), kind
            assert "13800000000" not in body, kind
        else:
            assert record.channel == req.channel, kind
            assert "138****0000" not in body, kind
        email = letters.send_letter(
            req.model_copy(update={"letter_id": f"{req.letter_id}-e", "channel": "email"})
        )
        assert email.channel == "email"


def test_a_letter_sent_at_half_past_midnight_in_beijing_is_dated_that_day(
    demo_db: Engine, tmp_path: Path
) -> None:
    letters = LetterActivities(demo_db, tmp_path / "letters")
    req = request("payment", contexts(demo_db, "zh-CN")["payment"], "zh-CN", "DATE-1")
    body = letters.render(req, datetime(2026, 3, 1, 16, 30, tzinfo=UTC))
    assert body.rstrip().endswith("通知书编号：DATE-1")
    assert "                                2026年3月2日\n" in body
    assert "支付时间：2026年3月2日 00:30（北京时间）" in body
    later = letters.render(req, datetime(2026, 3, 2, 15, 59, tzinfo=UTC))
    assert "                                2026年3月2日\n" in later
    assert "                                2026年3月3日\n" in letters.render(
        req, datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    )


# ------------------------------------------------------------------ the helpers


@pytest.mark.parametrize(
    "amount, words",
    [
        # the examples of the payment settlement rules (支付结算办法), and edge cases by hand
        ("0", "人民币零元整"),
        ("0.50", "人民币伍角"),
        ("0.05", "人民币伍分"),
        ("10", "人民币壹拾元整"),
        ("16", "人民币壹拾陆元整"),
        ("5360", "人民币伍仟叁佰陆拾元整"),
        ("1680.32", "人民币壹仟陆佰捌拾元零叁角贰分"),
        ("325.04", "人民币叁佰贰拾伍元零肆分"),
        ("1409.50", "人民币壹仟肆佰零玖元伍角"),
        ("6007.14", "人民币陆仟零柒元壹角肆分"),
        ("107000.53", "人民币壹拾万柒仟元零伍角叁分"),
        ("100500", "人民币壹拾万零伍佰元整"),
        ("200000", "人民币贰拾万元整"),
        ("1000000", "人民币壹佰万元整"),
        ("100000000", "人民币壹亿元整"),
        ("100000500", "人民币壹亿零伍佰元整"),
        ("1000010000", "人民币壹拾亿零壹万元整"),
        ("999999999999.99", "人民币玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        ("79000.00", "人民币柒万玖仟元整"),
        ("1040.005", "人民币壹仟零肆拾元零壹分"),  # half up to the cent, as amounts are
    ],
)
def test_amounts_in_chinese_capitals(amount: str, words: str) -> None:
    assert rmb_capitals(Decimal(amount)) == words


def test_capitals_refuse_a_negative_amount() -> None:
    with pytest.raises(ValueError):
        rmb_capitals(Decimal("-1"))


@pytest.mark.parametrize(
    "findings, basis, reasons, refusal",
    [
        ("查明", "条款", "理由", None),
        (
            "查明",
            "",
            "理由",
            "a complaint decision states its findings, basis and reasons: basis is missing",
        ),
        (
            "查明",
            " ",
            "",
            "a complaint decision states its findings, basis and reasons: "
            "basis and reasons are missing",
        ),
        (
            " ",
            "条款",
            "理由",
            "a complaint decision states its findings, basis and reasons: findings is missing",
        ),
    ],
)
def test_a_complaint_decision_needs_findings_basis_and_reasons(
    findings: str, basis: str, reasons: str, refusal: str | None
) -> None:
    r = Resolution(
        handler="h1", kinds=["apology"], description="致歉", basis=basis, reasons=reasons
    )
    assert r.missing_grounds(findings) == refusal


def test_dates_given_as_days_stay_those_days(demo_db: Engine, tmp_path: Path) -> None:
    """A calendar day (a due date) is the day it names; only moments are converted."""
    letters = LetterActivities(demo_db, tmp_path / "letters")
    ctx = contexts(demo_db, "zh-CN")["materials_reminder"]
    ctx = {**ctx, "suspension_on": date(2026, 5, 1).isoformat()}
    req = request("materials_reminder", ctx, "zh-CN", "DAY-1")
    assert "如于2026年5月1日前仍未收到" in letters.render(req, MOMENT + timedelta(days=1))


# ------------------------------------------------------------------ every computation in words


COMPUTATIONS = {
    # name: (line, incident, report fields, rules fields, payable, words the claimant reads)
    "auto repair": (
        "auto",
        "collision",
        {"items": [{"category": "parts", "amount": "50000"}], "amount_claimed": "50000"},
        {},
        "49000.00",
        ("减：免赔额", "本次赔付金额"),
    ),
    "auto total loss with salvage": (
        "auto",
        "collision",
        {"details": {"repair_estimate": "130000", "salvage_value": "5000"}},
        {},
        "144000.00",
        (
            "推定全损：车辆实际价值",
            "减：残值",
            "维修费用达到车辆实际价值的 80% 及以上",
            "残值 5,000.00 元",
        ),
    ),
    "property under-insured": (
        "property",
        "fire",
        {
            "items": [{"category": "equipment", "description": "设备", "amount": "100000"}],
            "details": {"value_at_risk": "1000000"},
            "amount_claimed": "100000",
        },
        {},
        "49000.00",
        ("按保险金额与保险价值的比例计算的损失", "《中华人民共和国保险法》第五十五条"),
    ),
    "accident disability": (
        "accident",
        "disability",
        {"details": {"disability_grade": 8}, "amount_claimed": "150000"},
        {},
        "150000.00",
        ("伤残等级 8 级，给付比例 30%", "本次赔付金额"),
    ),
    "medical up to the limit left": (
        "medical",
        "outpatient",
        {"items": [{"category": "treatment", "amount": "10000"}], "amount_claimed": "10000"},
        {"paid_this_year": Decimal("198000")},
        "2000.00",
        ("按赔付比例 80% 计算", "本次赔付以本保单年度剩余的保险金额为限"),
    ),
}


@pytest.mark.parametrize("name", COMPUTATIONS)
@pytest.mark.parametrize("zh", [True, False])
def test_every_computation_reads_in_words(name: str, zh: bool) -> None:
    line, incident, fields, rule_fields, payable, words = COMPUTATIONS[name]
    snapshot = rules(line, incident, **rule_fields)
    result = adjust(report(line, incident, **fields), snapshot)
    assert result.payable == Decimal(payable)
    calc = settlement_in_words(
        [x.model_dump(mode="json") for x in result.lines], {}, zh, lambda sid: sid
    )
    text = "\n".join(f"{s.label} {s.amount}" for s in calc.steps) + "\n" + "\n".join(calc.notes)
    assert calc.steps[-1].result and calc.steps[-1].amount == result.payable
    for mark in ("Σ", "×", "≥", "min(", "max(", " x "):
        assert mark not in text, mark
    assert all(s.amount >= 0 for s in calc.steps)
    assert len(calc.notes) >= sum(s.less for s in calc.steps)
    if zh:
        for w in words:
            assert w in text, w


def test_an_amount_set_on_review_gives_who_and_why() -> None:
    snapshot = rules("medical")
    claim = report("medical", items=[{"category": "treatment", "amount": "8000"}])
    adjusted = manual_adjustment(adjust(claim, snapshot), "adj2", "发票重复一张", Decimal("5000"))
    by_panel = manual_adjustment(
        adjust(claim, snapshot), "panel", "amount set by the panel", Decimal("4000")
    )
    names = {"adj2": "赵理赔（理赔专员）"}.__getitem__
    lines = [x.model_dump(mode="json") for x in adjusted.lines]
    calc = settlement_in_words(lines, {}, True, names)
    assert calc.steps[-1].label == "复核调整后的赔付金额"
    assert (
        "经赵理赔（理赔专员）复核，赔付金额调整为 5,000.00 元，理由：发票重复一张。" in calc.notes
    )
    panel = {"approvals": [{"level": "PANEL", "approver": "panel", "note": "发票存疑；酌减"}]}
    lines = [x.model_dump(mode="json") for x in by_panel.lines]
    calc = settlement_in_words(lines, panel, True, names)
    assert calc.steps[-1].label == "合议小组核定的赔付金额"
    assert calc.notes[-1] == (
        "合议小组经三人合议，以多数意见将赔付金额核定为 4,000.00 元，理由：发票存疑；酌减。"
    )
    assert "panel" not in " ".join(s.label for s in calc.steps) + " ".join(calc.notes)


def test_a_case_begun_before_the_details_still_says_why_items_are_not_covered() -> None:
    """Cases begun before "decision-letter-details" pass neither the items nor the clause."""
    claim = report(
        "medical",
        items=[
            {"category": "treatment", "amount": "7200"},
            {"category": "cosmetic", "amount": "800"},
        ],
    )
    lines = [x.model_dump(mode="json") for x in adjust(claim, rules("medical")).lines]
    calc = settlement_in_words(lines, {}, True, str)
    assert calc.steps[1].label == "减：不属于保险责任的费用（自费药品、美容等）"
    assert calc.notes[0].startswith("不属于保险责任的费用 800.00 元：医保目录外的自费药品费用")
    assert "根据保险合同责任免除的约定不属于保险责任，不予赔付。" in calc.notes[0]
