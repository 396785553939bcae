"""Changes to workflow code while cases are open, done as the README says.

- NextDueTime was added behind `workflow.patched("next-due-time")`.
- The projection, letters and rule lookups became local activities behind
  `workflow.patched("local-records")`.
- Staff decisions must be signed behind `workflow.patched("signed-decisions")`.
- Complaint compensation is paid on its own ledger behind
  the December 2026 release patch (`release-2026-12`), and complaint steps come from complaint
  staff behind the same patch; it is decided when a case starts.
- Claims notify the claimant at key nodes, get a follow-up call and special care behind the
  January 2027 release patch (`release-2027-01`), decided the same way.
- Claims take fewer steps (a key node's letter with its notice, the payee looked up with the
  rules, a decision's signer looked up once) behind `fewer-steps`, decided the same way.
- A case begun since `release-2027-02` takes every patch before it on that one marker
  (workflows/case.py), instead of a marker and a TemporalChangeVersion upsert for each.

Histories recorded before each change (tests/histories/before-local-records/,
before-signed-decisions/, before-assessed-losses/, before-claimant-notices/,
before-fewer-steps/ and before-release-2027-02/) still replay; new cases take the new
branches; the histories at the top of tests/histories/ are the current code's."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

from client import start_claim
from tests.claimtools import handle_for, wait_stage
from tests.factories import medical_report
from worker import WORKFLOWS
from workflows.case import RELEASE_2027_02, SETTLED

HISTORIES = Path(__file__).parent / "histories"
OLDER = HISTORIES / "before-local-records"
LOCAL = HISTORIES / "before-signed-decisions"  # local activities, unsigned decisions
# signed decisions; claims before assessment, exclusions and authority by role; complaints
# before the compensation ledger and complaint roles
SIGNED = HISTORIES / "before-assessed-losses"
# the December 2026 release; claims before the January 2027 release (notices at key nodes,
# follow-up and special care)
NOTICES = HISTORIES / "before-claimant-notices"
# the January 2027 release, before claims took fewer steps
FEWER = HISTORIES / "before-fewer-steps"
FEWER_STEPS = {"fewer-steps"}
# fewer steps, each patch with its own marker, before one marker settled them
MARKERS = HISTORIES / "before-release-2027-02"
# Everything the December 2026 release changed in how a case runs is one patch, decided when
# the case starts (workflows/case.py RELEASE_2026_12).
CLAIM_RULES_2026_11 = {"release-2026-12"}
RELEASE_2027_01 = {"release-2027-01"}
RECORDS = ("load_rules", "load_complaint_rules", "send_letter", "sync_claim", "sync_complaint")
# Recorded before NextDueTime was added; histories recorded since carry its patch marker.
BEFORE_THE_PATCH = (
    "fast-track",
    "human-approval",
    "two-levels",
    "watch-list-panel",
    "denial-appeal",
    "missing-materials",
    "investigation",
    "withdrawal",
    "complaint-happy-path",
)


def _patch_markers(history_json: str) -> list[dict]:
    events = json.loads(history_json)["events"]
    return [
        e["markerRecordedEventAttributes"]
        for e in events
        if e.get("markerRecordedEventAttributes", {}).get("markerName") == "core_patch"
    ]


def _patch_ids(history_json: str) -> set[str]:
    return {
        json.loads(base64.b64decode(m["details"]["patch-data"]["payloads"][0]["data"]))["id"]
        for m in _patch_markers(history_json)
    }


def _patches_taken(history_json: str) -> set[str]:
    """The patches a history's case runs with: its markers, and every patch settled by
    release-2027-02 when it carries that one (workflows/case.py)."""
    ids = _patch_ids(history_json)
    return ids | SETTLED if RELEASE_2027_02 in ids else ids


def _scheduled_activities(history_json: str) -> list[str]:
    return [
        e["activityTaskScheduledEventAttributes"]["activityType"]["name"]
        for e in json.loads(history_json)["events"]
        if "activityTaskScheduledEventAttributes" in e
    ]


def _local_activities(history_json: str) -> list[str]:
    found = []
    for e in json.loads(history_json)["events"]:
        marker = e.get("markerRecordedEventAttributes", {})
        if marker.get("markerName") == "core_local_activity":
            data = marker["details"]["data"]["payloads"][0]["data"]
            found.append(json.loads(base64.b64decode(data))["activity_type"])
    return found


def test_only_histories_recorded_since_signing_check_signatures():
    signed = sorted(
        [
            *HISTORIES.glob("*.json"),
            *MARKERS.glob("*.json"),
            *FEWER.glob("*.json"),
            *NOTICES.glob("*.json"),
            *SIGNED.glob("*.json"),
        ]
    )
    assert {p.stem for p in signed} >= {"human-approval", "complaint-happy-path"}
    for path in signed:
        text = path.read_text(encoding="utf-8")
        assert "signed-decisions" in _patches_taken(text), path.name
        if path.stem in ("human-approval", "watch-list-panel", "complaint-happy-path"):
            # since "fewer-steps" a claim's decision is checked by check_signer
            checks = {"verify_signature", "check_signer"} & set(_local_activities(text))
            assert checks, path.name
    for path in [*LOCAL.glob("*.json"), *OLDER.glob("*.json")]:
        assert "signed-decisions" not in _patch_ids(path.read_text(encoding="utf-8")), path.name


def test_histories_recorded_since_the_first_change_carry_its_marker():
    later = [p for p in OLDER.glob("*.json") if p.stem not in BEFORE_THE_PATCH]
    later += [*LOCAL.glob("*.json"), *SIGNED.glob("*.json"), *NOTICES.glob("*.json")]
    later += [*FEWER.glob("*.json"), *MARKERS.glob("*.json")]
    later += HISTORIES.glob("*.json")
    assert len(later) >= 30
    for path in later:
        assert "next-due-time" in _patches_taken(path.read_text(encoding="utf-8")), path.name


def test_current_histories_record_through_local_activities():
    """Each record write, letter and rule lookup is one marker event now, not an activity's
    three events plus a workflow task; only the payment stays a regular activity."""
    for path in [
        *LOCAL.glob("*.json"),
        *SIGNED.glob("*.json"),
        *NOTICES.glob("*.json"),
        *FEWER.glob("*.json"),
        *MARKERS.glob("*.json"),
        *HISTORIES.glob("*.json"),
    ]:
        text = path.read_text(encoding="utf-8")
        assert "local-records" in _patches_taken(text), path.name
        assert not set(_scheduled_activities(text)) & set(RECORDS), path.name
    for path in OLDER.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        assert "local-records" not in _patch_ids(text), path.name
        assert "send_letter" in _scheduled_activities(text) or "complaint" in path.stem


def test_only_complaints_recorded_since_pay_compensation_on_their_ledger():
    """A complaint started since the change pays through pay_compensation; the ones recorded
    before it carry neither marker and replay their old rules (pay_claim, level checks)."""
    changes = CLAIM_RULES_2026_11
    text = (HISTORIES / "complaint-compensation.json").read_text(encoding="utf-8")
    assert changes <= _patches_taken(text)
    assert _scheduled_activities(text) == ["pay_compensation"]
    older = [
        *OLDER.glob("complaint-*.json"),
        *LOCAL.glob("complaint-*.json"),
        *(p for p in SIGNED.glob("complaint-*.json") if p.stem != "complaint-compensation"),
    ]
    assert len(older) >= 15
    for path in older:
        assert not changes & _patch_ids(path.read_text(encoding="utf-8")), path.name


def test_a_fast_track_claim_stays_short():
    """One patch marker, not one per change: each costs a marker and an upsert."""
    text = (HISTORIES / "fast-track.json").read_text(encoding="utf-8")
    assert len(json.loads(text)["events"]) <= 25
    before = (MARKERS / "fast-track.json").read_text(encoding="utf-8")
    assert len(json.loads(before)["events"]) - len(json.loads(text)["events"]) == 10


def test_a_case_begun_since_release_2027_02_carries_one_patch_marker():
    """Claims and complaints alike: one marker and one TemporalChangeVersion upsert for
    every patch before it, and nothing recorded before carries it."""
    current = sorted(HISTORIES.glob("*.json"))
    assert len(current) >= 20 and any(p.stem.startswith("complaint-") for p in current)
    for path in current:
        text = path.read_text(encoding="utf-8")
        assert _patch_ids(text) == {RELEASE_2027_02}, path.name
        upserts = [
            e
            for e in json.loads(text)["events"]
            if "TemporalChangeVersion"
            in json.dumps(e.get("upsertWorkflowSearchAttributesEventAttributes", {}))
        ]
        assert len(upserts) == 1, path.name
    for path in HISTORIES.glob("before-*/*.json"):
        assert RELEASE_2027_02 not in _patch_ids(path.read_text(encoding="utf-8")), path.name


def test_only_claims_recorded_since_the_claim_rules_of_2026_11_carry_them():
    """Assessment, exclusions, authority by role, limits across claims, the lapse, the second
    notice and the payee watch list: every claim recorded since carries their markers, the
    ones recorded before carry none and replay under their old rules."""
    current = sorted(
        [
            *HISTORIES.glob("*.json"),
            *MARKERS.glob("*.json"),
            *FEWER.glob("*.json"),
            *NOTICES.glob("*.json"),
        ]
    )
    assert {"assessment", "exclusion", "second-notice", "lapse"} <= {p.stem for p in current}
    for path in current:  # complaints too: their ledger, roles and review window
        text = path.read_text(encoding="utf-8")
        assert CLAIM_RULES_2026_11 <= _patches_taken(text), path.name
    for path in [*SIGNED.glob("*.json"), *LOCAL.glob("*.json"), *OLDER.glob("*.json")]:
        assert not CLAIM_RULES_2026_11 & _patch_ids(path.read_text(encoding="utf-8")), path.name


def test_only_claims_recorded_since_release_2027_01_carry_it():
    """Notices at key nodes, the follow-up call and special care: every claim recorded since
    carries the January 2027 release's marker; complaints do not take it (nothing changed in
    them), and nothing recorded before carries it."""
    current = sorted([*HISTORIES.glob("*.json"), *MARKERS.glob("*.json"), *FEWER.glob("*.json")])
    assert {"follow-up", "special-care"} <= {p.stem for p in current}
    _claims_only_carry(RELEASE_2027_01, current)
    for path in HISTORIES.glob("before-*/*.json"):
        if path.parent not in (FEWER, MARKERS):
            assert not RELEASE_2027_01 & _patch_ids(path.read_text(encoding="utf-8")), path.name


def _claims_only_carry(patches: set[str], paths: list[Path]) -> None:
    """Each claim history of `paths` takes these patches, no complaint's carries them (a
    complaint never asks for them, so release-2027-02 settles nothing of theirs)."""
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if path.stem.startswith("complaint-"):
            assert not patches & _patch_ids(text), path.name
        else:
            assert patches <= _patches_taken(text), path.name


def test_the_notices_and_follow_up_were_recorded():
    fast = _payload_text(json.loads((HISTORIES / "fast-track.json").read_text(encoding="utf-8")))
    assert "notify_claimant" in _local_activities((FEWER / "fast-track.json").read_text())
    assert "claim:HIST-fast-track:ack" in fast and "/c/" not in fast  # no page link in clear
    follow = (HISTORIES / "follow-up.json").read_text(encoding="utf-8")
    assert '"reached":true' in _payload_text(json.loads(follow)).replace(" ", "")
    care = _payload_text(json.loads((HISTORIES / "special-care.json").read_text("utf-8")))
    assert '"special_care_target"' in care and '"adv1"' in care


def _payload_text(node: object) -> str:
    """Every payload's data in a history, decoded, as one text to search."""
    if isinstance(node, dict):
        parts = [_payload_text(v) for k, v in node.items() if k != "data"]
        data = node.get("data")
        if isinstance(data, str):
            try:
                parts.append(base64.b64decode(data).decode("utf-8", "replace"))
            except ValueError:
                pass
        return "\n".join(parts)
    if isinstance(node, list):
        return "\n".join(_payload_text(v) for v in node)
    return ""


@pytest.mark.parametrize(
    ("name", "stage"),
    [("assessment", "ASSESSING"), ("exclusion", "DENIAL_NOTIFIED"), ("lapse", "LAPSED")],
)
def test_the_new_paths_were_recorded_through_their_new_stages(name, stage):
    text = _payload_text(json.loads((HISTORIES / f"{name}.json").read_text(encoding="utf-8")))
    assert f'"{stage}"' in text
    if name == "assessment":
        assert "sup1 is not an assessor" in text  # the refused signal, recorded
        assert "h1 is not an adjuster" in text
    if name == "exclusion":
        assert '"drunk_or_drugged"' in text and '"AUTO-2.1"' in text


async def test_histories_recorded_before_the_changes_still_replay():
    files = sorted(
        [
            *OLDER.glob("*.json"),
            *LOCAL.glob("*.json"),
            *SIGNED.glob("*.json"),
            *NOTICES.glob("*.json"),
            *FEWER.glob("*.json"),
            *MARKERS.glob("*.json"),
        ]
    )
    assert {p.stem for p in files} >= set(BEFORE_THE_PATCH)
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    for path in files:
        history = WorkflowHistory.from_json(f"recorded-{path.stem}", path.read_text("utf-8"))
        await replayer.replay_workflow(history)  # raises on any non-determinism


async def test_histories_recorded_before_next_due_time_have_no_marker_and_replay():
    files = [OLDER / f"{name}.json" for name in BEFORE_THE_PATCH]
    replayer = Replayer(workflows=WORKFLOWS, data_converter=pydantic_data_converter)
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert not _patch_markers(text), f"{path.name} was recorded after the change"
        history = WorkflowHistory.from_json(f"recorded-{path.stem}", text)
        await replayer.replay_workflow(history)  # raises on any non-determinism


async def test_new_cases_take_the_patched_branch_and_carry_next_due_time(dev):
    """NextDueTime is set; the case's TemporalChangeVersion names the one marker it took."""
    report = medical_report(
        amount_claimed=Decimal("8000"), items=[{"category": "treatment", "amount": "8000"}]
    )
    await start_claim(dev.client, report, dev.task_queue)
    st = await wait_stage(dev.client, report.claim_id, "PENDING_APPROVAL")
    described = await handle_for(dev.client, report.claim_id).describe()
    attrs = {p.key.name: p.value for p in described.typed_search_attributes}
    assert attrs["TemporalChangeVersion"] == [RELEASE_2027_02]
    running = [d.due_at for d in st.deadlines if d.status == "running"]
    assert attrs["NextDueTime"] == min(running)


async def test_a_case_started_before_the_change_completes_on_the_new_worker(dev_env, tmp_path):
    """The old worker is this code with the patch switched off (what ran before the change);
    the case moves to the new worker halfway and finishes there."""
    from unittest import mock

    import demo
    from database import make_engine
    from models.claim import Decision
    from settings import Settings
    from tests.claimtools import payments
    from tests.conftest import RecordingRail, per_test_client, running_worker
    from workflows.claim import ClaimWorkflow

    settings = Settings(
        temporal_address="x:1",
        data_dir=tmp_path / "data",
        task_queue=f"claims-versioning-{tmp_path.name}",
    )
    engine = make_engine(settings.db_url)
    demo.load(engine)
    client, _ = per_test_client(dev_env)
    report = medical_report(
        amount_claimed=Decimal("8000"), items=[{"category": "treatment", "amount": "8000"}]
    )
    with mock.patch("temporalio.workflow.patched", return_value=False):
        async with running_worker(client, settings, engine, RecordingRail()):
            await start_claim(client, report, settings.task_queue)
            await wait_stage(client, report.claim_id, "PENDING_APPROVAL")
    handle = handle_for(client, report.claim_id)
    history = await handle.fetch_history()
    assert not _patch_markers(history.to_json())  # it ran as before the change
    async with running_worker(client, settings, engine, RecordingRail()):
        # begun before decisions were signed, it takes an unsigned one as it did then
        await handle.execute_update(
            ClaimWorkflow.decide, Decision(approver="adj1", decision="approve")
        )
        st = await wait_stage(client, report.claim_id, "CLOSED")
    assert st.payable_amount == Decimal("6000.00")
    assert [p.amount for p in payments(engine, report.claim_id)] == [Decimal("6000.00")]
    await handle.terminate("test finished")


def test_only_claims_recorded_since_fewer_steps_take_them():
    """A key node's letter goes with its notice in one local activity (the decision's with the
    read model written first, PAYING), the payee's account the report gave is looked up with
    the rules, the acknowledgement's flush is the next step's, and a decision's signer is
    looked up once; claims recorded before take their old steps,
    complaints (unchanged) carry no marker."""
    _claims_only_carry(FEWER_STEPS, sorted([*HISTORIES.glob("*.json"), *MARKERS.glob("*.json")]))
    for path in HISTORIES.glob("before-*/*.json"):
        if path.parent != MARKERS:
            assert not FEWER_STEPS & _patch_ids(path.read_text(encoding="utf-8")), path.name
    fast = _local_activities((HISTORIES / "fast-track.json").read_text(encoding="utf-8"))
    assert fast == [
        "load_rules",
        "send_letter_with_notice",  # acknowledgement, its flush the next one's
        "send_letter_with_notice",  # PAYING written, then the decision
        "send_letter_with_notice",  # payment (a regular activity between)
        "sync_claim",  # CLOSED
    ]
    before = _local_activities((FEWER / "fast-track.json").read_text(encoding="utf-8"))
    assert len(before) == 11 and {"send_letter", "notify_claimant", "check_watch_list"} <= set(
        before
    )
    approval = _local_activities((HISTORIES / "human-approval.json").read_text(encoding="utf-8"))
    assert "check_signer" in approval
    assert not {"get_staff", "verify_signature"} & set(approval)


def test_every_case_decides_the_settled_patches_before_any_other():
    """`patched` is safe only if a case begun before release-2027-02 has read it during its
    replayed first task, before any patch it settles: the first thing each workflow that reads
    patches does. The other workflows read none."""
    import ast
    import inspect
    import textwrap

    from workflows.archive import ArchiveWorkflow, ComplaintReportWorkflow
    from workflows.claim import ClaimWorkflow
    from workflows.claim_case import ClaimCase
    from workflows.complaint import ComplaintWorkflow

    def first_call(fn: object) -> str:
        """The function's first statement after its docstring, as source."""
        (node,) = ast.parse(textwrap.dedent(inspect.getsource(fn))).body
        assert isinstance(node, ast.FunctionDef)
        body = node.body
        if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]
        return ast.unparse(body[0])

    assert first_call(ClaimWorkflow.__init__).startswith("case = self._case = ClaimCase.begun()")
    assert first_call(ClaimCase.begun).startswith("patches_settled()")
    init = inspect.getsource(ComplaintWorkflow.__init__)
    assert init.index("patches_settled()") < init.index("patched(")
    for cls in (ArchiveWorkflow, ComplaintReportWorkflow):
        assert "patched(" not in inspect.getsource(inspect.getmodule(cls))
