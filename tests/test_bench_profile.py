"""The benchmark's profile summary: py-spy's raw samples summed into the parts of a claim's
worker time (bench/profile.py)."""

from __future__ import annotations

from pathlib import Path

import demo
from bench import cases
from bench.profile import ACTIVITIES, BEFORE, ENGINE, Profile, part_of, profile, section, summarize
from database import make_engine

RAW = "\n".join(
    [
        # an activity thread sending a notice, inside SQLAlchemy
        "Thread.run (threading.py:982);_execute_sync_activity (temporalio/worker/_activity.py:983)"
        ";NoticeActivities.notify_claimant (activities/notices.py:100)"
        ";Session.execute (sqlalchemy/orm/session.py:2300) 30",
        # the read-model sync
        "Thread.run (threading.py:982);_execute_sync_activity (temporalio/worker/_activity.py:983)"
        ";RecordActivities.sync_claim (activities/records.py:40) 20",
        # the workflow's own code in its sandbox
        "_run_once (asyncio/base_events.py:1922);_Instance._run_code "
        "(temporalio/worker/workflow_sandbox/_runner.py:170);ClaimWorkflow.run (workflows/claim.py:90) 25",
        # encryption of a payload on the event loop
        "_run_once (asyncio/base_events.py:1922);EncryptionCodec.encode (security/codec.py:80) 15",
        # handing an activation to a thread
        "_run_once (asyncio/base_events.py:1922);ThreadPoolExecutor.submit "
        "(concurrent/futures/thread.py:175) 10",
        # idle threads are not the claims' cost
        "Thread.run (threading.py:982);_worker (concurrent/futures/thread.py:83) 500",
        "BaseEventLoop._run_once (asyncio/base_events.py:1898);EpollSelector.select "
        "(selectors.py:468) 400",
    ]
)


def test_samples_are_summed_into_parts_and_idle_threads_left_out():
    p = summarize(RAW, claims=10, seconds=2.0)

    assert p.samples == 100
    assert p.parts == {
        "notices (notify_claimant)": 30.0,
        "workflow code (and the sandbox it ran in before)": 25.0,
        "read-model sync (sync_claim)": 20.0,
        "payload conversion and encryption": 15.0,
        "thread hand-offs and the event loop": 10.0,
    }
    assert p.sqlalchemy == 30.0


def test_the_section_shows_before_and_this_run_side_by_side():
    p = Profile(
        claims=300,
        samples=1000,
        parts={"notices (notify_claimant)": 12.0},
        sqlalchemy=30.0,
        seconds=1,
    )

    text = "\n".join(section(p))

    assert "| notices (notify_claimant) | 17 % | 12 % |" in text
    assert "| of all the above, inside SQLAlchemy | 42 % | 30 % |" in text
    # every part measured before has its row, at 0 % in this run when it did not show
    assert all(f"| {name} |" in text for name in BEFORE)


def test_no_samples_is_an_empty_profile_not_an_error():
    p = summarize("", claims=0, seconds=0)
    assert (p.samples, p.parts, p.sqlalchemy) == (0, {}, 0.0)


KNOWN = {name for name, _ in ACTIVITIES + ENGINE} | {part_of("")}


async def test_a_tiny_profile_samples_the_claims_worker(dev_env, tmp_path: Path) -> None:
    """py-spy on a real worker process while eight fast-track claims run through it: the
    samples land in the activities' and the workflow's parts, not all in one bucket. (Which
    small part a few dozen samples happen to hit is chance, so no one part is named.)"""
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    engine = make_engine(url)
    demo.load(engine)
    client = dev_env.client
    target = cases.Target(client.service_client.config.target_host, url, tmp_path)
    try:
        found = await profile(client, target, engine, 8, stall=60)
    finally:
        engine.dispose()
        async for wf in client.list_workflows("ExecutionStatus = 'Running'"):
            if wf.task_queue.startswith("bench-"):
                await client.get_workflow_handle(wf.id).terminate("benchmark test finished")
    assert found.claims == 8 and found.samples > 0
    assert len(found.parts) >= 3 and set(found.parts) <= KNOWN
    assert 99.0 < sum(found.parts.values()) < 101.0
    assert found.ms_per_claim() > 0
