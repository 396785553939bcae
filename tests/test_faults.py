"""The engine survives faults. Each test ends the same way: every claim closed by its workflow,
one payment row and one of each letter per claim (tests/faulttools.py)."""

from __future__ import annotations

import asyncio
import logging
import re
import signal
import socket
import uuid
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select
from temporalio.api.enums.v1 import EventType

import demo
from activities.policy import DB_RETRY, PAYMENT_RETRY
from client import start_complaint
from database import make_engine
from engine import connect_with_retry, start_server, stop_server
from models.complaint import Callback, Execution
from models.tables import AuditEventRow, ComplaintPaymentRow, LetterRow
from tests.claimtools import payments
from tests.conftest import PG_URL, end_workflows, per_test_client, running_worker
from tests.faulttools import (
    assert_each_closed_and_paid_once,
    count_paid,
    fast_track_claims,
    pollers,
    start_all,
    wait_all_closed,
    wait_for,
    worker_process,
)
from tests.test_complaint_workflow import chandle, complaint, to_decided, wait_cstage
from workflows.complaint import ComplaintWorkflow


def _address(env) -> str:  # type: ignore[no-untyped-def]
    return env.client.service_client.config.target_host


def _stop(proc) -> None:  # type: ignore[no-untyped-def]
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=30)


async def _identities(client, claim_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The worker that took each workflow task and activity of a claim."""
    history = await client.get_workflow_handle(f"claim-{claim_id}").fetch_history()
    started = {
        EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED: "workflow_task_started_event_attributes",
        EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED: "activity_task_started_event_attributes",
    }
    return [
        getattr(e, started[e.event_type]).identity
        for e in history.events
        if e.event_type in started
    ]


async def test_two_worker_processes_share_the_claims(dev_env, settings, engine, tmp_path):
    client, started = per_test_client(dev_env)
    reports = fast_track_claims(engine, 40)
    ids = [r.claim_id for r in reports]
    workers = [
        worker_process(
            tmp_path / f"worker-{n}.log", _address(dev_env), settings.data_dir, settings.task_queue
        )
        for n in (1, 2)
    ]
    try:
        polling = await wait_for(
            "both workers to poll",
            lambda: _two(pollers(client, settings.task_queue)),
            timeout=60,
        )
        await start_all(client, reports, settings.task_queue)
        await wait_all_closed(engine, ids, timeout=90)
        await assert_each_closed_and_paid_once(client, engine, ids)

        took: dict[str, int] = {}
        for cid in ids:
            for identity in await _identities(client, cid):
                took[identity] = took.get(identity, 0) + 1
        assert set(took) == polling
        assert {identity.split("@")[0] for identity in took} == {str(w.pid) for w in workers}
        assert min(took.values()) >= 0.1 * sum(took.values()), took
    finally:
        for w in workers:
            _stop(w)
        await end_workflows(client, started)


async def _two(polling):  # type: ignore[no-untyped-def]
    found = await polling
    return found if len(found) == 2 else None


async def test_a_worker_killed_mid_payment_and_restarted_pays_every_claim_once(
    dev_env, settings, engine, tmp_path
):
    client, started = per_test_client(dev_env)
    reports = fast_track_claims(engine, 100)
    ids = [r.claim_id for r in reports]
    log = tmp_path / "worker.log"
    first = worker_process(log, _address(dev_env), settings.data_dir, settings.task_queue)
    second = None
    try:
        await wait_for("the worker to poll", lambda: pollers(client, settings.task_queue), 60)
        await start_all(client, reports, settings.task_queue)
        await wait_for("some payments", lambda: count_paid(engine, ids) >= 20, 60, every=0.02)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        paid_at_kill = count_paid(engine, ids)
        assert paid_at_kill < len(ids)

        second = worker_process(log, _address(dev_env), settings.data_dir, settings.task_queue)
        await wait_all_closed(engine, ids, timeout=90)
        await assert_each_closed_and_paid_once(client, engine, ids)
    finally:
        _stop(first)
        if second is not None:
            _stop(second)
        await end_workflows(client, started)


# ------------------------------------------------------------------ transient activity failures


async def _complaint_to_closed(client, task_queue: str, n: int) -> str:  # type: ignore[no-untyped-def]
    """A complaint upheld with an apology and a small payment, executed, called back, closed;
    complainant n (each its own, so that neither is the other's repeat complaint)."""
    report = complaint(
        complaint_id=f"CMP-FAULTS-{n}",
        complainant={"name": "张三", "id_no": f"11010119800101{n:04d}", "phone": "13800000000"},
    )
    cid = report.complaint_id
    await start_complaint(client, report, task_queue)
    case = SimpleNamespace(client=client)
    h = chandle(case, cid)
    await to_decided(case, h, cid, amount=Decimal("100.00"), kinds=("apology", "payment"))
    await wait_cstage(case, cid, "EXECUTING", timeout=60)
    await h.execute_update(ComplaintWorkflow.execute, Execution(by="h1", note="已致歉并补付"))
    await wait_cstage(case, cid, "CALLBACK", timeout=60)
    await h.execute_update(
        ComplaintWorkflow.callback, Callback(by="cc1", reached=True, satisfied=True, note="满意")
    )
    return cid


def _case_record(engine, case_id: str) -> tuple:  # type: ignore[no-untyped-def]
    """What a case left in the read model: letter kinds, audit event kinds, payments."""
    with Session(engine) as s:
        letters = sorted(
            r.kind for r in s.exec(select(LetterRow).where(LetterRow.case_id == case_id))
        )
        # as a multiset: a letter's event may land before or after a message that raced it
        events = sorted(
            r.kind for r in s.exec(select(AuditEventRow).where(AuditEventRow.case_id == case_id))
        )
        # a complaint's compensation is on the complaint ledger (DOMAIN §6a)
        ledger = [
            (p.seq, p.amount)
            for p in s.exec(
                select(ComplaintPaymentRow).where(ComplaintPaymentRow.complaint_id == case_id)
            )
        ]
    return letters, events, ledger


async def _failures(client, workflow_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The last failure each retried activity saw before the attempt that succeeded."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return [
        e.activity_task_started_event_attributes.last_failure.message
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.attempt > 1
    ]


async def test_thirty_percent_of_activity_calls_failing_changes_nothing(
    dev_env, settings, engine, rail, caplog
):
    caplog.set_level(logging.WARNING, logger="claims.faults")
    client, started = per_test_client(dev_env)
    faulty = settings.model_copy(
        update={"task_queue": f"{settings.task_queue}-faulty", "fault_rate": 0.3, "fault_seed": 7}
    )
    # fixed ids and a seed: the same calls fail on every run
    reports = fast_track_claims(engine, 12, prefix="Q", fixed_ids=True)
    ids = [r.claim_id for r in reports]
    try:
        async with (
            running_worker(client, settings, engine, rail),
            running_worker(client, faulty, engine, rail),
        ):
            await start_all(client, reports, faulty.task_queue)
            clean_cid, faulty_cid = await asyncio.gather(
                _complaint_to_closed(client, settings.task_queue, 1),
                _complaint_to_closed(client, faulty.task_queue, 2),
            )
            clean, with_faults = await asyncio.gather(
                chandle(SimpleNamespace(client=client), clean_cid).result(),
                chandle(SimpleNamespace(client=client), faulty_cid).result(),
            )
            await wait_all_closed(engine, ids, timeout=90)
            await assert_each_closed_and_paid_once(client, engine, ids)

        assert (with_faults.stage, with_faults.outcome) == (clean.stage, clean.outcome)
        assert (with_faults.stage, with_faults.outcome) == ("CLOSED", "satisfied")
        assert _case_record(engine, faulty_cid) == _case_record(engine, clean_cid)
        assert _case_record(engine, faulty_cid)[2] == [(1, Decimal("100.00"))]

        injected = [r.getMessage() for r in caplog.records if r.name == "claims.faults"]
        for when in ("before the work", "after the work was done"):
            for step in ("sync_claim", "send_letter", "pay_claim"):
                assert any(when in m and step in m for m in injected), (when, step)
        assert not any(clean_cid in m for m in injected)
    finally:
        await end_workflows(client, started)


# ------------------------------------------------------------------ the payment rail


class LostResponseRail:
    """A rail that honours idempotency keys, whose first answer for each key is lost on the
    way back: the money has moved, the caller sees a connection error."""

    def __init__(self) -> None:
        self.transfers: dict[str, tuple[Decimal, str, str]] = {}
        self.calls: list[str] = []

    def transfer(self, idempotency_key: str, amount: Decimal, account_ref: str, payee: str) -> str:
        self.calls.append(idempotency_key)
        first = idempotency_key not in self.transfers
        self.transfers.setdefault(idempotency_key, (amount, account_ref, payee))
        if first:
            raise ConnectionError("connection reset while reading the rail's response")
        return "RAIL-" + idempotency_key


async def test_a_transfer_whose_response_is_lost_is_retried_and_paid_once(
    dev_env, settings, engine
):
    client, started = per_test_client(dev_env)
    rail = LostResponseRail()
    reports = fast_track_claims(engine, 3)
    ids = [r.claim_id for r in reports]
    try:
        async with running_worker(client, settings, engine, rail):
            await start_all(client, reports, settings.task_queue)
            await wait_all_closed(engine, ids, timeout=60)
            await assert_each_closed_and_paid_once(client, engine, ids)
        keys = [f"{cid}:pay:1" for cid in ids]
        assert sorted(rail.transfers) == sorted(keys)
        assert sorted(rail.calls) == sorted(keys * 2)
        for cid in ids:
            (row,) = payments(engine, cid)
            assert row.reference == f"RAIL-{cid}:pay:1"
            assert await _failures(client, f"claim-{cid}") == [
                "connection reset while reading the rail's response"
            ]
    finally:
        await end_workflows(client, started)


# ------------------------------------------------------------------ the Temporal server restarts


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_the_embedded_server_restarted_on_its_file_finishes_every_claim(settings, tmp_path):
    # The engine's own server: SQLite file, WAL pragmas, search attributes, fixed ports.
    server = settings.model_copy(
        update={
            "temporal_address": None,
            "temporal_port": _free_port(),
            "ui_port": _free_port(),
            "http_port": _free_port(),
        }
    )
    db = make_engine(server.db_url)
    demo.load(db)
    # enough claims that the server goes away with many still running, however fast the
    # worker: it stops as soon as the first few are paid
    reports = fast_track_claims(db, 60)
    ids = [r.claim_id for r in reports]
    proc = start_server(server)
    worker = worker_process(
        tmp_path / "worker.log", server.address, server.data_dir, server.task_queue
    )
    try:
        client = await connect_with_retry(server)  # the frontend may not be healthy yet
        await wait_for("the worker to poll", lambda: pollers(client, server.task_queue), 60)
        await start_all(client, reports, server.task_queue)
        await wait_for("some payments", lambda: count_paid(db, ids) >= 3, 60, every=0.01)
        stop_server(proc)
        assert count_paid(db, ids) < len(ids)

        proc = start_server(server)
        await wait_all_closed(db, ids, timeout=90)
        assert worker.poll() is None, "the worker gave up while the server was away"
        await assert_each_closed_and_paid_once(client, db, ids)
    finally:
        _stop(worker)
        stop_server(proc)
        db.dispose()


# ------------------------------------------------------------------ the read model goes away


@pytest.fixture
def scratch_pg() -> Iterator[tuple[str, str]]:
    """A PostgreSQL database of its own: (its name, its URL)."""
    name = f"faults_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield name, make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _pg_admin(sql: str) -> None:
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(sql))
    finally:
        admin.dispose()


def _refused_by_the_database(records: list[logging.LogRecord]) -> set[str]:
    """Workflows whose activity (local or not) failed on a refused database connection."""
    return {
        m.group(1)
        for r in records
        if r.exc_info
        and isinstance(r.exc_info[1], OperationalError)
        and (m := re.search(r"'workflow_id': '([^']+)'", r.getMessage()))
    }


async def test_the_read_model_unavailable_for_a_while_cases_wait_then_finish(
    dev_env, settings, rail, scratch_pg, caplog
):
    # No attempt limit: a database outage makes cases wait, never fail.
    assert DB_RETRY.maximum_attempts == 0 and PAYMENT_RETRY.maximum_attempts == 0
    caplog.set_level(logging.WARNING, logger="temporalio.activity")
    name, url = scratch_pg
    db = make_engine(url)
    demo.load(db)
    client, started = per_test_client(dev_env)
    reports = fast_track_claims(db, 30)
    ids = [r.claim_id for r in reports]
    try:
        async with running_worker(client, settings, db, rail):
            await start_all(client, reports, settings.task_queue)
            await wait_for("a payment", lambda: count_paid(db, ids) >= 1, 60, every=0.02)
            try:
                # The database refuses new sessions and drops the open ones.
                _pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
                _pg_admin(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    f"WHERE datname = '{name}'"
                )
                await wait_for(
                    "several claims to wait on the database",
                    lambda: len(_refused_by_the_database(caplog.records)) >= 3,
                    60,
                )
            finally:
                _pg_admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
            await wait_all_closed(db, ids, timeout=90)
            await assert_each_closed_and_paid_once(client, db, ids)
    finally:
        await end_workflows(client, started)
        db.dispose()
