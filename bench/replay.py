"""Replay speed, as `claims audit replay` replays (audit/replay.py: one replayer per process over
a stream of history files, `--jobs` processes): fast-track claims' histories against bare
six-activity workflows' histories replayed the same way (the ratio), and each with one process
and with two (the scaling). The histories are the throughput phase's, exported from the server
as `claims audit export` writes them (payloads encrypted, read with the run's key)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from audit.replay import Replayed, Source, Toolkit, replay_all
from commands import audit
from commands.common import temporal

if TYPE_CHECKING:
    from temporalio.client import Client
    from temporalio.converter import DataConverter
    from temporalio.worker import Replayer

ROOT = Path(__file__).resolve().parent.parent
CLAIMS_QUERY = "WorkflowType = 'ClaimWorkflow'"
BARE_QUERY = "WorkflowType = 'BareSixActivities' AND ExecutionStatus = 'Completed'"


async def committed_rate(converter: DataConverter, rounds: int = 5) -> float:
    """The committed histories (tests/histories) replayed per second by one replayer built as
    `claims audit replay` builds it (the workers' workflow runner)."""
    from temporalio.client import WorkflowHistory
    from temporalio.worker import Replayer

    from worker import WORKFLOWS, workflow_runner

    files = sorted((ROOT / "tests" / "histories").glob("*.json"))
    histories = [WorkflowHistory.from_json(f"h-{p.stem}", p.read_text()) for p in files]
    replayer = Replayer(
        workflows=WORKFLOWS, data_converter=converter, workflow_runner=workflow_runner()
    )
    t0 = time.perf_counter()
    for _ in range(rounds):
        for h in histories:
            await replayer.replay_workflow(h)
    return rounds * len(histories) / (time.perf_counter() - t0)


def bare_replayer() -> Replayer:
    """The yardstick's replayer, built as the engine's is (converter, sandbox, interceptors)."""
    from temporalio.worker import Replayer

    from bench.bare import BareSixActivities
    from client import data_converter
    from settings import get_settings
    from worker import INTERCEPTORS, workflow_runner

    return Replayer(
        workflows=[BareSixActivities],
        data_converter=data_converter(get_settings()),
        workflow_runner=workflow_runner(),
        interceptors=INTERCEPTORS,
    )


BARE = Toolkit(
    replayer=bare_replayer,
    load_file=audit.load_file,
    connect=temporal,
    resolve=audit.resolve_workflow_id,
)


async def export(client: Client, query: str, folder: Path, limit: int) -> int:
    """Up to `limit` histories of the workflows `query` finds, one file each; their count."""
    folder.mkdir(parents=True, exist_ok=True)
    written = 0
    async for wf in client.list_workflows(query, limit=limit):
        history = await client.get_workflow_handle(wf.id, run_id=wf.run_id).fetch_history()
        (folder / f"{written:06d}.json").write_text(history.to_json(), encoding="utf-8")
        written += 1
    return written


def rate(folder: Path, tools: Toolkit, jobs: int) -> tuple[float, float]:
    """Histories replayed per second: from the start of the first process to the last result
    (each process's start, its imports, is part of it, as for a user), and from the first
    result to the last (the rate once started, which a large archive approaches)."""
    sources = [Source(file=p) for p in sorted(folder.glob("*.json"))]
    failed: list[Replayed] = []
    first: list[float] = []

    def seen(replayed: Replayed) -> None:
        if not first:
            first.append(time.perf_counter())
        if replayed.failure is not None:
            failed.append(replayed)

    t0 = time.perf_counter()
    replay_all(sources, tools, jobs, seen, in_process=False)
    end = time.perf_counter()
    if failed:
        raise RuntimeError(f"{len(failed)} histories do not replay: {failed[0].failure}")
    started = (len(sources) - 1) / (end - first[0]) if len(sources) > 1 else 0.0
    return len(sources) / (end - t0), started


@dataclass(frozen=True)
class Replays:
    """Histories replayed per second by process count: (from the first start, once started)."""

    claims: dict[int, tuple[float, float]]
    bare: dict[int, tuple[float, float]]
    claim_histories: int
    bare_histories: int


def measure(claims_dir: Path, bare_dir: Path) -> Replays:
    return Replays(
        claims={jobs: rate(claims_dir, audit.ENGINE, jobs) for jobs in (1, 2)},
        bare={jobs: rate(bare_dir, BARE, jobs) for jobs in (1, 2)},
        claim_histories=len(list(claims_dir.glob("*.json"))),
        bare_histories=len(list(bare_dir.glob("*.json"))),
    )


def rows(r: Replays) -> list[tuple[str, str]]:
    """The rows of the table: rates with 1 and 2 processes, the ratio, the scaling (these two
    from the rates once started)."""
    claims, bare = r.claims, r.bare

    def both(rates: dict[int, tuple[float, float]]) -> str:
        return " / ".join(f"{rates[j][1]:.1f} ({rates[j][0]:.1f} with the start)" for j in (1, 2))

    return [
        (
            f"fast-track claims' histories replayed per second once started, 1 / 2 processes "
            f"({r.claim_histories} histories, streamed as `claims audit replay --jobs N`)",
            both(claims),
        ),
        (
            f"bare six-activity histories replayed per second once started, 1 / 2 processes "
            f"({r.bare_histories} histories)",
            both(bare),
        ),
        (
            "ratio claims / bare replay rate, 1 / 2 processes",
            f"{claims[1][1] / bare[1][1]:.2f} / {claims[2][1] / bare[2][1]:.2f}",
        ),
        (
            "replay scaling from 1 to 2 processes, claims / bare",
            f"{claims[2][1] / claims[1][1]:.2f}x / {bare[2][1] / bare[1][1]:.2f}x",
        ),
    ]


@contextlib.contextmanager
def payload_keys(keys: str) -> Iterator[None]:
    """The run's payload keys as the configured ones, for the audit tools' settings (and the
    replaying processes they start, which inherit the environment)."""
    from settings import get_settings

    old = os.environ.get("CLAIMS_PAYLOAD_KEYS")
    os.environ["CLAIMS_PAYLOAD_KEYS"] = keys
    get_settings.cache_clear()
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("CLAIMS_PAYLOAD_KEYS", None)
        else:
            os.environ["CLAIMS_PAYLOAD_KEYS"] = old
        get_settings.cache_clear()


async def replay_figures(client: Client, tmp: Path, n: int, keys: str) -> Replays:
    """Export `n` claims' and `n` bare histories from the server, then replay them."""
    claims_dir, bare_dir = tmp / "replay-claims", tmp / "replay-bare"
    await export(client, CLAIMS_QUERY, claims_dir, n)
    await export(client, BARE_QUERY, bare_dir, n)
    with payload_keys(keys):
        return await asyncio.to_thread(measure, claims_dir, bare_dir)
