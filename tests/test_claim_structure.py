"""How the claim workflow is built: one class without a project base class that owns plain
objects, activities named by method reference, stages as enums whose values are the strings
the contract and the histories carry, workflow ids from one helper, and a decision checked
once per state of the claim."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import workflows.claim_approval as claim_approval
from models.claim import Decision
from models.ids import claim_id_of, claim_workflow_id, complaint_id_of, complaint_workflow_id
from models.status import (
    CLAIM_ENDED,
    COMPLAINT_ENDED,
    COMPLAINT_STAGES,
    STAGES,
    ClaimStage,
    ClaimStatus,
    ComplaintStage,
)
from workflows.claim import ClaimWorkflow
from workflows.claim_approval import ApprovalDesk
from workflows.claim_case import ClaimCase
from workflows.complaint import ComplaintWorkflow

WORKFLOWS = Path(__file__).resolve().parent.parent / "workflows"


@pytest.mark.parametrize("defn", [ClaimWorkflow, ComplaintWorkflow])
def test_a_case_workflow_has_no_project_base_class(defn: type) -> None:
    assert defn.__mro__ == (defn, object)


def test_workflows_name_no_activity_by_string() -> None:
    found = []
    for path in sorted(WORKFLOWS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("execute_activity", "execute_local_activity")
            ):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []


def test_no_helper_looks_up_the_workflow_by_name() -> None:
    found = []
    for path in sorted(WORKFLOWS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("getattr", "hasattr")
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id == "self"
            ):
                found.append(f"{path.name}:{node.lineno}")
            if isinstance(node, ast.Raise) and "NotImplementedError" in ast.dump(node):
                found.append(f"{path.name}:{node.lineno}")
    assert found == []


def test_stages_are_the_strings_the_contract_carries() -> None:
    for stage in (*ClaimStage, *ComplaintStage):
        assert stage == stage.name
        assert isinstance(stage, str)
    assert STAGES[0] == "REPORTED" and STAGES[-1] == "CLOSED" and len(STAGES) == 21
    assert COMPLAINT_STAGES[0] == "RECEIVED" and len(COMPLAINT_STAGES) == 14
    assert {"CLOSED", "NOT_ACCEPTED", "WITHDRAWN", "LAPSED"} == CLAIM_ENDED
    assert {"CLOSED", "DECLINED", "NOT_ACCEPTED"} == COMPLAINT_ENDED


def test_a_stage_serialises_as_its_string() -> None:
    status = ClaimStatus.model_construct(stage=ClaimStage.PENDING_APPROVAL)
    assert status.model_dump(mode="json", include={"stage"}) == {"stage": "PENDING_APPROVAL"}
    assert f"{ClaimStage.PAID}" == "PAID"


def test_workflow_ids_come_from_one_helper() -> None:
    assert claim_workflow_id("CLM-1") == "claim-CLM-1"
    assert complaint_workflow_id("CMP-1") == "complaint-CMP-1"
    assert claim_id_of("claim-CLM-1") == "CLM-1"
    assert complaint_id_of("complaint-CMP-1") == "CMP-1"
    assert claim_id_of("CLM-1") == "CLM-1"  # a workflow id any client chose


def test_a_decision_is_checked_once_until_the_claim_moves(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []

    def counted(**kwargs: object) -> str | None:
        calls.append(str(kwargs["approver"]))
        return "not now"

    monkeypatch.setattr(claim_approval, "check_decision", counted)
    desk = ApprovalDesk(ClaimCase(release=True, signing=True))
    decision = Decision(approver="sup1", decision="approve")
    assert desk.check(decision) == "not now"
    assert desk.check(decision) == "not now"  # after a lookup, nothing recorded meanwhile
    assert calls == ["sup1"]
    other = Decision(approver="sup2", decision="approve")
    desk.check(other)  # another message is checked on its own
    desk.check(other)
    assert calls == ["sup1", "sup2"]
    desk._case.rec._seq += 1  # the claim recorded an event: it may have moved on
    desk.check(other)
    assert calls == ["sup1", "sup2", "sup2"]
