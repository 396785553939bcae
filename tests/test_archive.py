"""The archive (README "Archive"), on the real dev server: the schedules installed twice are one
of each, at Beijing time; the nightly export writes one JSON per closed case and a manifest of
their sha256 digests, writes nothing again when retried, and `claims audit replay --dir`
replays it. Tampering: tests/test_archive_replay.py; the monthly complaint report:
tests/test_archive_report.py."""

from __future__ import annotations

import asyncio
import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from sqlalchemy.engine import Engine
from temporalio.client import (
    ScheduleActionExecutionStartWorkflow,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    WorkflowHistory,
    WorkflowUpdateFailedError,
)
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner, Result

import commands.audit
import commands.schedule
from audit import schedules
from audit.archive import MANIFEST, history_file_name
from client import start_claim
from models.archive import (
    ArchiveRequest,
    ExportResult,
    Manifest,
)
from models.catalog import BUSINESS_TZ
from models.claim import Withdrawal
from security.codec import ENCODING
from settings import Settings, get_settings
from tests.claimtools import handle_for, wait_stage
from tests.conftest import Engine_, RecordingRail, end_workflows, per_test_client
from tests.factories import medical_report
from worker import build_worker
from workflows.archive import ArchiveWorkflow
from workflows.claim import ClaimWorkflow

HISTORIES = Path(__file__).parent / "histories"
runner = CliRunner()
cli = typer.Typer()
cli.add_typer(commands.audit.app, name="audit")
cli.add_typer(commands.schedule.app, name="schedule")


async def claims(*args: str) -> Result:
    return await asyncio.to_thread(runner.invoke, cli, list(args))


@pytest.fixture
async def archiving(
    dev_env: WorkflowEnvironment, settings: Settings, engine: Engine, rail: RecordingRail
) -> AsyncIterator[Engine_]:
    """The engine's own worker (build_worker with its default activities: the archive's
    included) on the dev server."""
    client, started = per_test_client(dev_env)
    async with build_worker(client, settings, engine=engine, rail=rail):
        yield Engine_(client, settings, engine, rail, dev_env)
        await end_workflows(client, started)


@pytest.fixture
def archiving_cli(archiving: Engine_, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine_]:
    s = archiving.settings
    monkeypatch.setenv("TEMPORAL_ADDRESS", archiving.env.client.service_client.config.target_host)
    monkeypatch.setenv("CLAIMS_TASK_QUEUE", s.task_queue)
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(s.data_dir))
    get_settings.cache_clear()
    yield archiving
    get_settings.cache_clear()


# ================================================================= schedules


async def test_installing_twice_leaves_one_schedule_of_each_at_beijing_time(
    archiving_cli: Engine_,
) -> None:
    client = archiving_cli.client
    try:
        first = await claims("schedule", "install")
        assert first.exit_code == 0, first.output
        assert first.output.splitlines() == [
            "claims-archive-nightly: created",
            "claims-complaint-report-monthly: created",
        ]
        await client.get_schedule_handle(schedules.NIGHTLY_ARCHIVE).pause(note="maintenance")
        second = await claims("schedule", "install")
        assert second.exit_code == 0, second.output
        assert second.output.splitlines() == [
            "claims-archive-nightly: updated",
            "claims-complaint-report-monthly: updated",
        ]
        nightly = await client.get_schedule_handle(schedules.NIGHTLY_ARCHIVE).describe()
        monthly = await client.get_schedule_handle(schedules.MONTHLY_COMPLAINT_REPORT).describe()
        workflows = []
        for described in (nightly, monthly):
            spec = described.schedule.spec
            assert spec.time_zone_name == "Asia/Shanghai"
            assert len(spec.calendars) == 1
            assert described.schedule.policy.overlap == ScheduleOverlapPolicy.SKIP
            action = described.schedule.action
            assert isinstance(action, ScheduleActionStartWorkflow)
            assert action.task_queue == archiving_cli.task_queue
            workflows.append(action.workflow)
        assert workflows == ["ArchiveWorkflow", "ComplaintReportWorkflow"]
        assert nightly.schedule.state.paused  # the operator's pause outlives the reinstall
        assert nightly.schedule.policy.catchup_window == timedelta(days=2)
        # whatever today is: the next runs fall at 02:00 and at 03:00 on the 1st, Beijing time
        at = monthly.info.next_action_times[0].astimezone(BUSINESS_TZ)
        assert (at.day, at.hour, at.minute) == (1, 3, 0)
        for next_run in nightly.info.next_action_times[:3]:
            local = next_run.astimezone(BUSINESS_TZ)
            assert (local.hour, local.minute) == (2, 0)
        ids = [s.id async for s in await client.list_schedules()]
        assert ids.count(schedules.NIGHTLY_ARCHIVE) <= 1
        assert ids.count(schedules.MONTHLY_COMPLAINT_REPORT) <= 1

        listed = await claims("schedule", "list")
        assert listed.exit_code == 0, listed.output
        assert "times in Beijing time" in listed.output
        rows = {
            cells[0]: cells[1:]
            for line in listed.output.splitlines()
            if (cells := [c.strip() for c in line.strip("│ ").split("│")])[0].startswith("claims-")
        }
        nightly_row, monthly_row = (
            rows["claims-archive-nightly"],
            rows[schedules.MONTHLY_COMPLAINT_REPORT],
        )
        assert nightly_row[0] == "02:00 every night (Asia/Shanghai)"
        assert nightly_row[1].endswith(" 02:00") and nightly_row[2:] == ["-", "0", "paused"]
        assert monthly_row[0] == "03:00 on the 1st of every month (Asia/Shanghai)"
        assert monthly_row[1].endswith("-01 03:00") and monthly_row[4] == "active"

        unknown = await claims("schedule", "run-now", "backup")
        assert unknown.exit_code == 1
        assert unknown.output.strip().startswith("error: unknown schedule 'backup'")
    finally:
        removed = await claims("schedule", "remove")
    assert removed.output.splitlines() == [
        "claims-archive-nightly: removed",
        "claims-complaint-report-monthly: removed",
    ]
    listed = await claims("schedule", "list", "--json")
    assert [s["installed"] for s in json.loads(listed.output)] == [False, False]


async def test_a_run_of_the_schedule_exports_up_to_the_time_it_was_meant_for(
    archiving_cli: Engine_,
) -> None:
    client = archiving_cli.client
    try:
        # as `claims schedule install` does, without the minute the export waits for visibility
        await schedules.install(client, archiving_cli.settings, settle=timedelta(0))
        r = await claims("schedule", "run-now", "archive")
        assert r.exit_code == 0, r.output
        assert r.output.strip() == "claims-archive-nightly: started"
        handle = client.get_schedule_handle(schedules.NIGHTLY_ARCHIVE)
        for _ in range(100):
            described = await handle.describe()
            if described.info.recent_actions:
                break
            await asyncio.sleep(0.1)
        action = described.info.recent_actions[-1]
        started = action.action
        assert isinstance(started, ScheduleActionExecutionStartWorkflow)
        run = client.get_workflow_handle_for(
            ArchiveWorkflow.run, started.workflow_id, run_id=started.first_execution_run_id
        )
        result = await run.result()
        # the archive's own workflow replays against the code, as the cases do
        assert await commands.audit.replay_one(await run.fetch_history()) is None
    finally:
        await claims("schedule", "remove")
    # the scheduled time as the schedule records it on the run (to the second)
    assert result.until == action.scheduled_at.replace(microsecond=0)
    assert result.exported == 0  # nothing closed on this task queue yet
    assert Path(result.folder).parent == archiving_cli.settings.archive_dir
    assert (Path(result.folder) / MANIFEST).is_file()


# ============================================================ nightly export


async def _closed_claims(engine: Engine_) -> list[str]:
    """Two claims that end at once: one on a policy nobody holds, one withdrawn."""
    refused = medical_report(policy_no="P-NOPE-9999")
    withdrawn = medical_report(
        amount_claimed=Decimal("8000.00"),
        items=[{"category": "treatment", "description": "治疗费", "amount": "8000.00"}],
    )
    assert refused.claim_id and withdrawn.claim_id
    for report in (refused, withdrawn):
        await start_claim(engine.client, report, engine.task_queue)
    await wait_stage(engine.client, withdrawn.claim_id, "PENDING_APPROVAL")
    handle = handle_for(engine.client, withdrawn.claim_id)
    for _ in range(200):  # refused while the claim is mid-step; taken a moment later
        try:
            await handle.execute_update(ClaimWorkflow.withdraw_update, Withdrawal(reason="撤回"))
            break
        except WorkflowUpdateFailedError:
            await asyncio.sleep(0.05)
    ids = []
    for claim_id in (refused.claim_id, withdrawn.claim_id):
        await handle_for(engine.client, claim_id).result()
        ids.append(f"claim-{claim_id}")
    await _visible(engine, 2)
    return sorted(ids)


async def _visible(engine: Engine_, closed: int) -> None:
    """Wait until visibility lists this many closed claims (it follows a close within
    moments; the archive's own runs on the same queue are not counted)."""
    query = (
        f"TaskQueue = '{engine.task_queue}' AND WorkflowType = 'ClaimWorkflow'"
        " AND ExecutionStatus != 'Running'"
    )
    for _ in range(300):
        if len([w async for w in engine.client.list_workflows(query)]) >= closed:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"visibility did not list {closed} closed claims in 30 s")


async def _archive(engine: Engine_, until: datetime | None = None) -> ExportResult:
    return await engine.client.execute_workflow(
        ArchiveWorkflow.run,
        ArchiveRequest(until=until, settle=timedelta(0)),  # the test waits for visibility
        id=f"archive-{uuid.uuid4()}",
        task_queue=engine.task_queue,
    )


def _snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.iterdir())}


async def test_the_nightly_export_archives_each_closed_case_with_its_digest(
    archiving_cli: Engine_,
) -> None:
    engine = archiving_cli
    workflow_ids = await _closed_claims(engine)
    first = await _archive(engine)
    folder = Path(first.folder)
    assert folder.parent == engine.settings.archive_dir
    assert folder.name == first.until.astimezone(BUSINESS_TZ).strftime("%Y-%m-%d")
    assert (first.since, first.exported, first.written) == (None, 2, 2)

    manifest = Manifest.model_validate_json((folder / MANIFEST).read_bytes())
    assert [f.workflow_id for f in manifest.files] == workflow_ids
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        [MANIFEST, *(history_file_name(w) for w in workflow_ids)]
    )
    for entry in manifest.files:
        assert entry.workflow_id is not None
        data = (folder / entry.file).read_bytes()
        assert entry.sha256 == hashlib.sha256(data).hexdigest()
        assert entry.size == len(data)
        described = await engine.client.get_workflow_handle(entry.workflow_id).describe()
        assert entry.run_id == described.run_id
        history = WorkflowHistory.from_json(entry.workflow_id, data.decode())
        assert entry.events == len(history.events) > 5
        started = history.events[0].workflow_execution_started_event_attributes
        assert started.input.payloads[0].metadata["encoding"] == ENCODING  # as stored
    assert [(w.since, w.until) for w in manifest.exports] == [(None, first.until)]

    # a retry of the same export (a worker lost after writing) writes nothing again
    before = _snapshot(folder)
    retried = await _archive(engine, first.until)
    assert (retried.exported, retried.written) == (2, 0)
    assert _snapshot(folder) == before

    # a worker lost after the files and before the manifest: the retry writes the manifest
    (folder / MANIFEST).unlink()
    retried = await _archive(engine, first.until)
    assert (retried.exported, retried.written) == (2, 0)
    after = _snapshot(folder)
    assert after.pop(MANIFEST)[1] == before.pop(MANIFEST)[1]
    assert after == before

    # the next export starts where this one ended and takes only what closed since
    late = medical_report(policy_no="P-NOPE-9999")
    assert late.claim_id
    await start_claim(engine.client, late, engine.task_queue)
    await handle_for(engine.client, late.claim_id).result()
    await _visible(engine, 3)
    following = await _archive(engine)
    assert (following.since, following.exported, following.written) == (first.until, 1, 1)
    listed = Manifest.model_validate_json((Path(following.folder) / MANIFEST).read_bytes())
    assert f"claim-{late.claim_id}" in [f.workflow_id for f in listed.files]

    r = await claims("audit", "replay", "--dir", str(engine.settings.archive_dir))
    assert r.exit_code == 0, r.output
    assert r.output.count("replays cleanly") == 3
    assert "manifest" not in r.output
