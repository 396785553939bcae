"""`claims tasks --for` offers a task only to people who may do it (DOMAIN §1, §7).

Every demo staff member against every kind of work item the workflows open, on a read model
with the demo loaded: the queue's one query (commands/tasks.py) gives each person exactly the
items in the table below, and agrees with the rule in models/roles.py read item by item.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

import demo
from bench import readmodel
from commands.tasks import open_items
from database import engine_for, make_engine
from models.roles import may_take
from models.tables import ClaimRecusalRow, ComplaintRow, StaffRow, WorkItemRow
from settings import get_settings
from tests.test_bench import _sql_of, _url

CASES = {"claim": "CLM-Q-0001", "claim2": "CLM-Q-0002", "complaint": "CMP-Q-0001"}
T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)

# Every kind of work item the workflows open, keyed as they key them (the case id, then what is
# in the second column). An item is named by its case and that rest of its key.
ITEMS_TABLE = """
case       key after the case id              kind                   role          level  who
# A claim: the approval chain, the panel, re-adjustment, investigation, assessment.
claim      approve:1:L1                       approve                L1            1      -
claim      approve:1:L2                       approve                L2            2      -
claim      approve:1:L3                       approve                L3            3      -
claim      approve:1:panel                    convene_panel          L3            3      -
claim      panel:1:sup2                       panel_vote             L2            2      sup2
claim      adjust:1                           adjust                 L1            1      -
claim      investigation:hospital_check       investigate            investigator  0      -
claim      investigation:site_survey          investigate            investigator  0      inv1
claim      assess:1                           assess                 assessor      0      -
claim      materials:1                        supply_materials       claimant      0      -
# A complaint about a claim escalates it a level above the pending one (":complaint:" in a
# claim's key).
claim      complaint:CMP-Q-0001               complaint_escalation   L2            2      -
claim2     complaint:CMP-Q-0001               complaint_escalation   L3            3      -
# The claim's clocks: determination (owner L1), an investigation (owner inv1: the reminder is
# theirs, the escalation L2), payment (L2), appeal review (L3).
claim      determination:reminder             reminder               L1            1      -
claim      determination:escalation           escalation             L2            2      -
claim      determination:breach               breach                 L3            3      -
claim      investigation:site_survey:reminder reminder               investigator  0      inv1
claim      investigation:site_survey:escalation escalation           L2            2      -
claim      investigation:site_survey:breach   breach                 L3            3      -
claim      payment:reminder                   reminder               L2            2      -
claim      appeal_review:reminder             reminder               L3            3      -
# A deadline in a year the holiday calendar does not cover yet: an L2 checks it.
claim      calendar:advance_payment           calendar_check         L2            2      -
# Another claim, adjusted by adj1: its L1 approval is not adj1's (recusal).
claim2     approve:1:L1                       approve                L1            1      -
# A complaint: the coordinator's steps, the handler's (assigned), the L3 approval, the review.
complaint  assign                             assign_complaint       coordinator   2      -
complaint  investigate                        investigate_complaint  handler       0      h1
complaint  propose                            propose_resolution     handler       0      h1
complaint  approve:coordinator                approve_resolution     coordinator   2      -
complaint  approve:L3                         approve_resolution     L3            3      -
complaint  execute                            execute_resolution     handler       0      h1
complaint  callback                           satisfaction_callback  coordinator   2      -
complaint  review                             review_complaint       L3            3      -
# The complaint's clocks: complaint and special care (owner L2), review (owner L3).
complaint  complaint:reminder                 reminder               L2            2      -
complaint  complaint:escalation               escalation             L3            3      -
complaint  complaint:breach                   breach                 L3            3      -
complaint  special_care_target:reminder       reminder               L2            2      -
complaint  special_care_target:escalation     escalation             L3            3      -
complaint  review:reminder                    reminder               L3            3      -
complaint  review:escalation                  escalation             L3            3      -
complaint  review:breach                      breach                 L3            3      -
complaint  calendar:complaint                 calendar_check         L2            2      -
"""


@dataclass(frozen=True)
class Item:
    name: str
    case: str
    key: str
    kind: str
    role: str
    level: int
    assignee: str | None


def _items(table: str) -> list[Item]:
    items = []
    for line in table.strip().splitlines()[1:]:
        if line.startswith("#"):
            continue
        case, rest, kind, role, level, who = line.split()
        items.append(
            Item(
                name=f"{case} {rest}",
                case=CASES[case],
                key=f"{CASES[case]}:{rest}",
                kind=kind,
                role=role,
                level=int(level),
                assignee=None if who == "-" else who,
            )
        )
    return items


ITEMS = _items(ITEMS_TABLE)
BY_KEY = {i.key: i for i in ITEMS}

# What each kind of person is offered, as the domain says it.
CLAIM_L1 = {"claim approve:1:L1", "claim adjust:1", "claim determination:reminder"}
CLAIM_L2 = CLAIM_L1 | {
    "claim approve:1:L2",
    "claim complaint:CMP-Q-0001",
    "claim determination:escalation",
    "claim investigation:site_survey:escalation",
    "claim payment:reminder",
    "claim calendar:advance_payment",
    "claim2 approve:1:L1",
}
CLAIM_L3 = CLAIM_L2 | {
    "claim approve:1:L3",
    "claim approve:1:panel",
    "claim2 complaint:CMP-Q-0001",
    "claim determination:breach",
    "claim investigation:site_survey:breach",
    "claim appeal_review:reminder",
}
COMPLAINT_COORDINATOR = {
    "complaint assign",
    "complaint approve:coordinator",
    "complaint callback",
    "complaint complaint:reminder",
    "complaint special_care_target:reminder",
    "complaint calendar:complaint",
}
COMPLAINT_L3 = {
    "complaint approve:L3",
    "complaint review",
    "complaint complaint:escalation",
    "complaint complaint:breach",
    "complaint special_care_target:escalation",
    "complaint review:reminder",
    "complaint review:escalation",
    "complaint review:breach",
}

EXPECTED: dict[str, set[str]] = {
    # Adjusters (L1): L1 claim work, never an L2 approval; adj1 not the claim they adjusted.
    "adj1": CLAIM_L1,
    "adj2": CLAIM_L1 | {"claim2 approve:1:L1"},
    # Supervisors (L2): claim work up to L2, not convening the panel; sup2 also their vote.
    "sup1": CLAIM_L2,
    "sup2": CLAIM_L2 | {"claim panel:1:sup2"},
    "sup3": CLAIM_L2,
    # The manager (L3): all claim work, and a complaint's L3 steps, not the coordinator's.
    "mgr1": CLAIM_L3 | COMPLAINT_L3,
    # The investigator: investigations only (pooled, assigned, and their clock's reminder).
    "inv1": {
        "claim investigation:hospital_check",
        "claim investigation:site_survey",
        "claim investigation:site_survey:reminder",
    },
    # The complaint coordinator (L2): no claim approval at any level, the coordinator's steps
    # and the complaint clocks at L2; a complaint's L3 steps are the manager's.
    "cc1": COMPLAINT_COORDINATOR,
    # Complaint handlers (L1): what is assigned to them, no claim approval.
    "h1": {"complaint investigate", "complaint propose", "complaint execute"},
    "h2": set(),
    # Intake and the special-care advisor take nothing from the pool.
    "clerk1": set(),
    "adv1": set(),
    # Assessors: assessments only.
    "ast1": {"claim assess:1"},
    "ast2": {"claim assess:1"},
}


@contextmanager
def _read_model(url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """An empty read model at `url`, with the CLI's settings pointed at it."""
    engine = make_engine(url)
    monkeypatch.setenv("CLAIMS_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        yield engine
    finally:
        get_settings.cache_clear()
        engine_for(url).dispose()
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def queue(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """The demo staff, and the open work of two claims and a complaint (every item above)."""
    with _url(request.param, tmp_path) as url, _read_model(url, monkeypatch) as engine:
        demo.load(engine)
        with Session(engine) as s:
            s.add(
                ComplaintRow(
                    complaint_id=CASES["complaint"],
                    stage="INVESTIGATING",
                    channel="phone",
                    complainant_name="张三",
                    claim_id=CASES["claim"],
                    received_at=T0,
                    updated_at=T0,
                )
            )
            s.add(ClaimRecusalRow(case_id=CASES["claim2"], staff_id="adj1"))
            for i, item in enumerate(ITEMS):
                s.add(
                    WorkItemRow(
                        key=item.key,
                        case_id=item.case,
                        kind=item.kind,
                        role=item.role,
                        level=item.level,
                        assignee=item.assignee,
                        title=f"{item.kind} {item.case}",
                        due_at=T0 + timedelta(hours=i),
                        opened_at=T0,
                    )
                )
            s.commit()
        yield engine


def _offered(person: str | None) -> list[str]:
    return [BY_KEY[w.key].name for w in open_items(person)]


def test_the_table_names_every_demo_staff_member_and_every_item() -> None:
    assert set(EXPECTED) == {sid for sid, *_ in demo.STAFF}
    assert len(BY_KEY) == len(ITEMS)
    assert set().union(*EXPECTED.values()) <= {i.name for i in ITEMS}
    # Nobody on staff is offered the claimant's own step.
    assert all("claim materials:1" not in names for names in EXPECTED.values())


@pytest.mark.parametrize("person", sorted(EXPECTED))
def test_each_person_is_offered_exactly_the_work_they_may_do(queue: Engine, person: str) -> None:
    assert set(_offered(person)) == EXPECTED[person]


@pytest.mark.parametrize("person", sorted(EXPECTED))
def test_the_query_agrees_with_the_rule_read_item_by_item(queue: Engine, person: str) -> None:
    """The rule in models/roles.py, applied in Python to every item (recusal apart), gives
    what the query gives."""
    with Session(queue) as s:
        staff = s.get(StaffRow, person)
        assert staff is not None
    complaint = CASES["complaint"]
    expected = {
        i.name
        for i in ITEMS
        if may_take(
            i.kind, i.role, i.case == complaint, i.assignee, person, staff.roles, staff.level
        )
        and not (i.name == "claim2 approve:1:L1" and person == "adj1")
    }
    assert set(_offered(person)) == expected


def test_someone_no_longer_active_is_offered_only_what_is_assigned(queue: Engine) -> None:
    with Session(queue) as s:
        for sid in ("sup2", "mgr1"):
            row = s.get(StaffRow, sid)
            assert row is not None
            row.active = False
            s.add(row)
        s.commit()
    assert set(_offered("mgr1")) == set()
    assert set(_offered("sup2")) == {i.name for i in ITEMS if i.assignee == "sup2"}


def test_the_whole_queue_is_unchanged(queue: Engine) -> None:
    """Without --for: every open item but the claimant's, the soonest due first."""
    assert _offered(None) == [i.name for i in ITEMS if i.role != "claimant"]


def _plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, person: str) -> str:
    """SQLite's plan for a person's queue on a generated book of 500 claims."""
    with _read_model(f"sqlite:///{tmp_path / 'book.db'}", monkeypatch) as engine:
        readmodel.populate(engine, 500, 500)
        statement, params = _sql_of(lambda: open_items(person))
        with engine.connect() as conn:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            return " | ".join(row[-1] for row in rows)


@pytest.mark.parametrize("person", ["mgr1", "cc1", "ast1", "inv1"])
def test_a_pooled_queue_reads_in_index_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, person: str
) -> None:
    """With the complaint check, SQLite still reads the items in queue order and stops at the
    limit (no sort of every open item), probing the complaints by their key."""
    plan = _plan(tmp_path, monkeypatch, person)
    assert "ix_work_items_queue" in plan, plan
    assert "TEMP B-TREE" not in plan, plan
    assert "SCAN complaints" not in plan, plan


@pytest.mark.parametrize("person", ["h1", "clerk1"])
def test_a_queue_of_assigned_work_only_reads_the_assignee_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, person: str
) -> None:
    """Nothing pooled: the person's own items by the assignee index, not the whole queue."""
    plan = _plan(tmp_path, monkeypatch, person)
    assert "ix_work_items_assignee" in plan, plan
    assert "ix_work_items_queue" not in plan, plan
