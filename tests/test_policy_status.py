"""Coverage judged on the incident date (DOMAIN §2.2): a policy's status history, the pure
`status_on` and `check_coverage(..., by_incident_date=True)`, the `claims policy ...` commands
and a claim on a policy cancelled before or after its incident.

A change takes effect from the first minute of its effective day in Beijing time: a policy
cancelled (or lapsed, or surrendered) on day D does not cover an incident on D, and one
reinstated on D covers an incident on D."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

import demo
from activities.rules import RulesActivities
from cli import app
from client import start_claim
from commands import policy as policy_cmd
from commands.common import UserError
from models.catalog import BUSINESS_TZ
from models.claim import ClaimReport
from models.rules import PolicyStatusChange, PolicyTerms, RulesSnapshot, status_on
from models.tables import PolicyRow, PolicyStatusRow
from settings import get_settings
from tests.claimtools import handle_for, letters, wait_letter, wait_stage
from tests.factories import CST, LI, materials
from tests.rulefixtures import END, NOW, START, at, policy, report, rules
from workflows.coverage import check_coverage

# ------------------------------------------------------------------ status_on (pure)


def change(event: str, day: date, reason: str = "") -> PolicyStatusChange:
    return PolicyStatusChange(event=event, effective_on=day, reason=reason)  # type: ignore[arg-type]


LAPSED_ON = date(2024, 3, 1)
REINSTATED_ON = date(2024, 4, 15)
CANCELLED_ON = date(2024, 9, 1)
HISTORY = [
    change("issued", START),
    change("lapsed", LAPSED_ON, "宽限期满未缴保费"),
    change("reinstated", REINSTATED_ON, "补缴保费"),
    change("cancelled", CANCELLED_ON, "投保人申请解除合同"),
]


@pytest.mark.parametrize(
    ("day", "in_force", "event"),
    [
        pytest.param(START - timedelta(days=1), False, None, id="before-issue"),
        pytest.param(START, True, "issued", id="issue-day"),
        pytest.param(LAPSED_ON - timedelta(days=1), True, "issued", id="day-before-lapse"),
        pytest.param(LAPSED_ON, False, "lapsed", id="lapse-day-not-covered"),
        pytest.param(REINSTATED_ON - timedelta(days=1), False, "lapsed", id="last-lapsed-day"),
        pytest.param(REINSTATED_ON, True, "reinstated", id="reinstatement-day-covered"),
        pytest.param(CANCELLED_ON - timedelta(days=1), True, "reinstated", id="eve-of-cancel"),
        pytest.param(CANCELLED_ON, False, "cancelled", id="cancel-day-not-covered"),
        pytest.param(END, False, "cancelled", id="after-cancel"),
    ],
)
def test_status_on_a_day_is_the_last_change_in_effect(day, in_force, event):
    found, by = status_on(policy(status="cancelled", status_history=HISTORY), day)
    assert found is in_force
    assert (by.event if by else None) == event


@pytest.mark.parametrize(("status", "in_force"), [("in_force", True), ("lapsed", False)])
def test_a_policy_without_a_history_is_as_its_status_says(status, in_force):
    assert status_on(policy(status=status), START) == (in_force, None)
    assert status_on(policy(status=status), END) == (in_force, None)


def test_before_its_first_recorded_change_a_policy_is_in_the_status_that_change_ends():
    cancelled_only = policy(status="cancelled", status_history=[change("cancelled", CANCELLED_ON)])
    assert status_on(cancelled_only, CANCELLED_ON - timedelta(days=1)) == (True, None)
    reinstated_only = policy(status="in_force", status_history=[change("reinstated", LAPSED_ON)])
    assert status_on(reinstated_only, LAPSED_ON - timedelta(days=1)) == (False, None)


def test_changes_are_taken_in_date_order_and_same_day_changes_in_the_order_recorded():
    shuffled = [HISTORY[3], HISTORY[0], HISTORY[2], HISTORY[1]]
    assert status_on(policy(status_history=shuffled), date(2024, 4, 1))[1] == HISTORY[1]
    undone = [
        change("issued", START),
        change("cancelled", LAPSED_ON),
        change("reinstated", LAPSED_ON),
    ]
    assert status_on(policy(status_history=undone), LAPSED_ON) == (True, undone[2])


def test_snapshots_recorded_before_the_history_still_decode():
    old = policy().model_dump(mode="json")
    del old["status_history"]
    assert PolicyTerms.model_validate(old).status_history == []
    snapshot = json.loads(rules().model_dump_json())
    del snapshot["policy"]["status_history"]
    assert RulesSnapshot.model_validate(snapshot).policy.status_history == []


# ------------------------------------------------------------------ check_coverage (pure)

INCIDENT = date(2024, 6, 1)  # the default report's incident (10:00 Beijing time); NOW is 06-15


def on_incident(status: str, *history: PolicyStatusChange, **kw) -> object:
    snapshot = rules("auto", policy_terms=policy("auto", status=status, status_history=history))
    return check_coverage(report("auto", **kw), snapshot, NOW, by_incident_date=True)


def test_a_policy_cancelled_after_the_incident_still_covers_it():
    cancelled_later = (change("issued", START), change("cancelled", date(2024, 6, 10)))
    assert on_incident("cancelled", *cancelled_later).accepted is True
    # without the patch (cases started before it) today's status decides, as it did
    snapshot = rules("auto", policy_terms=policy("auto", status="cancelled"))
    before = check_coverage(report("auto"), snapshot, NOW)
    assert (before.accepted, before.reason_code) == (False, "POLICY_NOT_IN_FORCE")
    assert before.reason_en == "Policy P-AUTO-0001 is cancelled, not in force."


def test_a_policy_cancelled_before_the_incident_is_refused_naming_the_cancellation():
    result = on_incident(
        "cancelled", change("issued", START), change("cancelled", date(2024, 3, 1))
    )
    assert (result.accepted, result.reason_code, result.clause_id) == (
        False,
        "POLICY_NOT_IN_FORCE",
        None,
    )
    assert result.reason_zh == (
        "保单 P-AUTO-0001 已于 2024-03-01 解除合同，出险日 2024-06-01 不在保险责任有效期间内。"
    )
    assert result.reason_en == (
        "Policy P-AUTO-0001 was cancelled with effect from 2024-03-01; "
        "the incident on 2024-06-01 is after that."
    )


@pytest.mark.parametrize(
    ("event", "zh", "en"),
    [("lapsed", "失效", "lapsed"), ("surrendered", "退保", "surrendered")],
)
def test_the_refusal_names_the_true_reason(event, zh, en):
    result = on_incident(event, change("issued", START), change(event, date(2024, 5, 20)))
    assert result.accepted is False
    assert f"已于 2024-05-20 {zh}，出险日 2024-06-01" in result.reason_zh
    assert f"was {en} with effect from 2024-05-20" in result.reason_en


@pytest.mark.parametrize(
    ("reinstated_on", "accepted"),
    [
        pytest.param(date(2024, 5, 31), True, id="reinstated-the-day-before"),
        pytest.param(INCIDENT, True, id="reinstated-on-the-incident-day"),
        pytest.param(date(2024, 6, 2), False, id="reinstated-the-day-after"),
    ],
)
def test_lapsed_then_reinstated(reinstated_on, accepted):
    result = on_incident(
        "in_force",
        change("issued", START),
        change("lapsed", date(2024, 4, 1)),
        change("reinstated", reinstated_on),
    )
    assert result.accepted is accepted
    if not accepted:
        assert "已于 2024-04-01 失效" in result.reason_zh


def test_a_cancellation_effective_on_the_incident_day_means_not_covered():
    result = on_incident("cancelled", change("issued", START), change("cancelled", INCIDENT))
    assert result.accepted is False
    assert result.reason_en == (
        "Policy P-AUTO-0001 was cancelled with effect from 2024-06-01; "
        "the incident on 2024-06-01 is on that day."
    )


@pytest.mark.parametrize(
    ("occurred_at", "accepted"),
    [
        # 2024-05-31 23:30 in Beijing, 15:30 UTC: the day before the cancellation
        pytest.param(datetime(2024, 5, 31, 15, 30, tzinfo=UTC), True, id="last-evening"),
        # 2024-06-01 00:30 in Beijing, still 2024-05-31 in UTC: the cancellation day
        pytest.param(datetime(2024, 5, 31, 16, 30, tzinfo=UTC), False, id="first-hour"),
    ],
)
def test_the_incident_day_is_the_day_in_beijing(occurred_at, accepted):
    history = (change("issued", START), change("cancelled", INCIDENT))
    assert on_incident("cancelled", *history, occurred_at=occurred_at).accepted is accepted


@pytest.mark.parametrize(("status", "accepted"), [("in_force", True), ("lapsed", False)])
def test_a_policy_without_a_history_is_judged_by_its_status(status, accepted):
    result = on_incident(status)
    assert result.accepted is accepted
    if not accepted:
        assert result.reason_en == (
            "Policy P-AUTO-0001 was not in force on 2024-06-01, the day of the incident."
        )


def test_an_incident_outside_the_period_is_refused_for_the_period_first():
    history = (change("issued", START), change("cancelled", date(2024, 3, 1)))
    snapshot = rules(
        "auto", policy_terms=policy("auto", status="cancelled", status_history=history)
    )
    claim = report("auto", occurred_at=at(date(2025, 1, 2)))
    result = check_coverage(claim, snapshot, at(date(2025, 1, 3)), by_incident_date=True)
    assert result.reason_code == "OUTSIDE_POLICY_PERIOD"


# ------------------------------------------------------------------ the read model

TODAY = datetime.now(BUSINESS_TZ).date()


def history_rows(engine, policy_no: str) -> list[tuple[int, str, date]]:
    with Session(engine) as s:
        rows = s.exec(select(PolicyStatusRow).where(PolicyStatusRow.policy_no == policy_no))
        return sorted((r.seq, r.event, r.effective_on) for r in rows)


def policy_status(engine, policy_no: str) -> str:
    with Session(engine) as s:
        row = s.get(PolicyRow, policy_no)
        assert row is not None
        return row.status


def test_the_demo_policies_are_issued_on_their_start_date_once(engine):
    demo.load(engine)
    for p in demo.POLICIES:
        assert history_rows(engine, p["policy_no"]) == [(0, "issued", demo.START)]


def test_reloading_the_demo_keeps_a_recorded_change(engine):
    policy_cmd.record_change(engine, "P-AUTO-0001", "cancelled", date(2025, 6, 1), "解除")
    demo.load(engine)
    assert policy_status(engine, "P-AUTO-0001") == "cancelled"
    assert [e for _, e, _ in history_rows(engine, "P-AUTO-0001")] == ["issued", "cancelled"]


def test_the_rules_snapshot_carries_the_history_in_date_order(engine):
    recorded_out_of_date_order = [
        (1, "cancelled", date(2025, 8, 1)),
        (2, "lapsed", date(2025, 5, 1)),
    ]
    with Session(engine) as s:
        for seq, event, day in recorded_out_of_date_order:
            s.add(
                PolicyStatusRow(
                    policy_no="P-ACC-0001",
                    seq=seq,
                    event=event,
                    effective_on=day,
                    reason=event[0],
                    recorded_at=datetime.now(UTC),
                    recorded_by="t",
                )
            )
        s.commit()
        terms = RulesActivities(engine)._policy(s, "P-ACC-0001")
    assert terms is not None
    assert [(c.event, c.effective_on, c.reason) for c in terms.status_history] == [
        ("issued", date(2025, 1, 1), "保单签发"),
        ("lapsed", date(2025, 5, 1), "l"),
        ("cancelled", date(2025, 8, 1), "c"),
    ]


def test_a_change_sets_the_status_to_the_one_in_force_today(engine):
    later = TODAY + timedelta(days=30)
    row, status = policy_cmd.record_change(engine, "P-MED-0001", "cancelled", later, "到期解除")
    assert (row.seq, status) == (1, "in_force")  # not yet
    assert policy_status(engine, "P-MED-0001") == "in_force"
    _, status = policy_cmd.record_change(
        engine, "P-MED-0001", "reinstated", later, "撤销解除", on=later
    )
    assert status == "in_force"
    _, status = policy_cmd.record_change(
        engine, "P-PROP-0001", "surrendered", date(2025, 3, 1), "退保"
    )
    assert status == "surrendered" and policy_status(engine, "P-PROP-0001") == "surrendered"


def test_a_refused_change_writes_nothing(engine):
    with pytest.raises(UserError, match="only a policy that is not in force can be reinstated"):
        policy_cmd.record_change(engine, "P-AUTO-0001", "reinstated", date(2025, 6, 1), "x")
    assert history_rows(engine, "P-AUTO-0001") == [(0, "issued", date(2025, 1, 1))]
    assert policy_status(engine, "P-AUTO-0001") == "in_force"


# ------------------------------------------------------------------ the CLI

runner = CliRunner()


@pytest.fixture
def cli_db(engine, settings, monkeypatch):
    """`claims policy ...` reads and writes the read model only: no Temporal server needed."""
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(settings.data_dir))
    monkeypatch.delenv("CLAIMS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield engine
    get_settings.cache_clear()


def claims(*args: str):
    return runner.invoke(app, list(args))


def test_policy_commands_are_documented_with_an_example():
    for command in policy_cmd.app.registered_commands:
        doc = command.callback.__doc__ or ""
        assert "Example: claims policy " in doc, command.name


def test_cancel_then_reinstate_through_the_cli(cli_db):
    r = claims(
        "policy",
        "cancel",
        "P-AUTO-0001",
        "--effective",
        "2025-06-01",
        "--reason",
        "投保人申请解除合同",
    )
    assert r.exit_code == 0, r.output
    assert r.output.strip() == (
        "policy P-AUTO-0001: cancelled with effect from 2025-06-01 (history #1); "
        "status today cancelled"
    )
    assert policy_status(cli_db, "P-AUTO-0001") == "cancelled"
    r = claims(
        *"policy reinstate P-AUTO-0001 --effective 2025-07-01 --reason 撤销 --as sup1".split()
    )
    assert r.output.strip().endswith("(history #2); status today in force")
    r = claims("policy", "show", "P-AUTO-0001", "--json")
    assert r.exit_code == 0, r.output
    shown = json.loads(r.output)
    assert shown["status_today"] == "in_force"
    assert shown["insured_id_no"] == "110101********1234"  # masked without --full --as
    assert [
        (h["seq"], h["event"], h["effective_on"], h["recorded_by"]) for h in shown["history"]
    ] == [
        (0, "issued", "2025-01-01", "demo"),
        (1, "cancelled", "2025-06-01", "cli"),
        (2, "reinstated", "2025-07-01", "sup1"),
    ]
    assert shown["history"][1]["reason"] == "投保人申请解除合同"
    assert shown["history"][1]["recorded_at"].endswith("+08:00")  # local time
    r = claims("policy", "show", "P-AUTO-0001")
    assert r.exit_code == 0, r.output
    assert "status today in force" in r.output and "period 2025-01-01 to" in r.output
    assert "投保人申请解除合同" in r.output and "reinstated" in r.output


def test_lapse_and_surrender_through_the_cli(cli_db):
    r = claims("policy", "lapse", "P-MED-0001", "--effective", "2025-04-01", "--reason", "未缴费")
    assert r.exit_code == 0, r.output
    r = claims("policy", "surrender", "P-MED-0001", "--effective", "2025-05-01", "--reason", "退保")
    assert r.exit_code == 0, r.output
    assert policy_status(cli_db, "P-MED-0001") == "surrendered"
    assert [e for _, e, _ in history_rows(cli_db, "P-MED-0001")] == [
        "issued",
        "lapsed",
        "surrendered",
    ]


def test_a_policy_without_a_history_shows_its_status(cli_db):
    with Session(cli_db) as s:
        for row in s.exec(select(PolicyStatusRow)).all():
            s.delete(row)
        s.commit()
    r = claims("policy", "show", "P-ACC-0001")
    assert r.exit_code == 0, r.output
    assert "no status history: in_force from the start date" in r.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "P-NOPE"], "error: unknown policy P-NOPE"),
        (
            ["cancel", "P-NOPE", "--effective", "2025-06-01", "--reason", "x"],
            "error: unknown policy P-NOPE",
        ),
        (
            ["cancel", "P-AUTO-0001", "--effective", "2025-13-01", "--reason", "x"],
            "error: bad date '2025-13-01': give the day as YYYY-MM-DD",
        ),
        (
            ["cancel", "P-AUTO-0001", "--effective", "2024-12-31", "--reason", "x"],
            "error: refused: P-AUTO-0001 starts on 2025-01-01: a change cannot take effect before it",
        ),
        (
            ["lapse", "P-AUTO-0001", "--effective", "2099-01-01", "--reason", "x"],
            "error: refused: P-AUTO-0001 ends on",
        ),
        (
            ["reinstate", "P-AUTO-0001", "--effective", "2025-06-01", "--reason", "x"],
            "error: refused: P-AUTO-0001 is in force from 2025-01-01: only a policy that is not "
            "in force can be reinstated",
        ),
        (
            ["cancel", "P-AUTO-0001", "--effective", "2025-06-01", "--reason", " "],
            "error: give a reason (--reason)",
        ),
        (
            "cancel P-AUTO-0001 --effective 2025-06-01 --reason x --as nobody".split(),
            "error: unknown person 'nobody'",
        ),
    ],
)
def test_policy_refusals_are_one_line_and_exit_1(cli_db, args, message):
    r = claims("policy", *args)
    out = r.output.strip()
    assert r.exit_code == 1, out
    assert out.splitlines() == [out] and "Traceback" not in out
    assert out.startswith(message), out
    assert history_rows(cli_db, "P-AUTO-0001") == [(0, "issued", date(2025, 1, 1))]


@pytest.mark.parametrize(
    ("first", "then", "message"),
    [
        (
            ("cancelled", "2025-06-01"),
            ("cancel", "2025-07-01"),
            "refused: P-AUTO-0001 is already cancelled from 2025-06-01",
        ),
        (
            ("cancelled", "2025-06-01"),
            ("lapse", "2025-07-01"),
            "refused: P-AUTO-0001 is cancelled from 2025-06-01: it cannot be lapsed now",
        ),
        (
            ("lapsed", "2025-06-01"),
            ("lapse", "2025-07-01"),
            "refused: P-AUTO-0001 is already lapsed from 2025-06-01",
        ),
        (
            ("surrendered", "2025-06-01"),
            ("cancel", "2025-07-01"),
            "refused: P-AUTO-0001 is surrendered from 2025-06-01: it cannot be cancelled now",
        ),
        (
            ("lapsed", "2025-06-01"),
            ("reinstate", "2025-05-01"),
            "refused: P-AUTO-0001 already has a change effective 2025-06-01 (lapsed): "
            "record changes in date order",
        ),
    ],
)
def test_a_change_the_status_does_not_allow_is_refused(cli_db, first, then, message):
    policy_cmd.record_change(cli_db, "P-AUTO-0001", first[0], date.fromisoformat(first[1]), "x")
    command, effective = then
    r = claims("policy", command, "P-AUTO-0001", "--effective", effective, "--reason", "y")
    assert r.exit_code == 1
    assert r.output.strip() == f"error: {message}"
    assert len(history_rows(cli_db, "P-AUTO-0001")) == 2


# ------------------------------------------------------------------ the claim workflow


def accident_report(occurred_on: date) -> ClaimReport:
    return ClaimReport.model_validate(
        {
            "claim_id": f"ACC-{occurred_on:%Y%m%d}-{datetime.now(UTC):%H%M%S%f}",
            "policy_no": "P-ACC-0001",
            "line": "accident",
            "incident_type": "injury",
            "channel": "app",
            "claimant": dict(LI),
            "occurred_at": datetime(
                occurred_on.year, occurred_on.month, occurred_on.day, 15, 0, tzinfo=CST
            ),
            "description": "下楼梯摔伤右腿",
            "amount_claimed": Decimal("3000.00"),
            "materials": [m.model_dump() for m in materials("claim_form")],
        }
    )


# Dates relative to today, all well inside the demo policy period (2025-01-01 ..).
INCIDENT_DAY = TODAY - timedelta(days=30)


async def test_a_claim_on_a_policy_cancelled_after_the_incident_is_accepted(ts):
    cancelled_on = INCIDENT_DAY + timedelta(days=10)
    policy_cmd.record_change(
        ts.engine, "P-ACC-0001", "cancelled", cancelled_on, "投保人申请解除合同"
    )
    assert policy_status(ts.engine, "P-ACC-0001") == "cancelled"  # today it is not in force
    claim = accident_report(INCIDENT_DAY)
    await start_claim(ts.client, claim, ts.task_queue)
    st = await wait_stage(ts.client, claim.claim_id, "AWAITING_MATERIALS")
    assert [h.stage for h in st.history][:3] == ["REPORTED", "ACCEPTED", "AWAITING_MATERIALS"]
    assert "acknowledgement" in await wait_letter(ts.engine, claim.claim_id, "acknowledgement")


async def test_a_claim_on_a_policy_cancelled_before_the_incident_is_not_accepted(ts):
    cancelled_on = INCIDENT_DAY - timedelta(days=10)
    policy_cmd.record_change(
        ts.engine, "P-ACC-0001", "cancelled", cancelled_on, "投保人申请解除合同"
    )
    claim = accident_report(INCIDENT_DAY)
    await start_claim(ts.client, claim, ts.task_queue)
    result = await handle_for(ts.client, claim.claim_id).result()
    assert result.stage == "NOT_ACCEPTED"
    assert result.not_accepted_reason == (
        f"Policy P-ACC-0001 was cancelled with effect from {cancelled_on}; "
        f"the incident on {INCIDENT_DAY} is after that."
    )
    sent = letters(ts.engine, claim.claim_id)
    assert [r.kind for r in sent] == ["not_accepted"]
    assert f"保单 P-ACC-0001 已于 {cancelled_on} 解除合同，出险日 {INCIDENT_DAY}" in sent[0].body
    assert "POLICY_NOT_IN_FORCE" in sent[0].body
