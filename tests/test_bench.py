"""The benchmark's own parts, small: the generated read model, the indexes the work queue and
the claim list rely on, and one tiny run of the engine measures against the dev server."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import demo
from activities.records import RecordActivities
from bench import cases, readmodel
from commands.claim import claim_rows
from commands.tasks import open_items
from database import engine_for, make_engine
from models.records import ClaimSync
from models.tables import AuditEventRow, ClaimRecusalRow, ClaimRow, StaffRow, WorkItemRow
from readmodel import sql
from settings import get_settings
from tests.test_read_model import claim_status

PG_URL = os.environ.get("CLAIMS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CLAIMS = 2_000
ADJ2 = {"lines": [], "payable": "1800.00", "adjuster": "adj2"}


@pytest.fixture(params=["sqlite", "postgresql"])
def book(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Engine]:
    """A generated read model of 2,000 claims, with the CLI's settings pointed at it."""
    with _url(request.param, tmp_path) as url:
        engine = make_engine(url)
        readmodel.populate(engine, CLAIMS, 3 * CLAIMS)
        monkeypatch.setenv("CLAIMS_DATABASE_URL", url)
        get_settings.cache_clear()
        try:
            yield engine
        finally:
            get_settings.cache_clear()
            engine_for(url).dispose()
            engine.dispose()


def _url(backend: str, tmp_path: Path) -> Any:
    if backend == "postgresql":
        return readmodel.scratch_postgres(PG_URL)
    return nullcontext(f"sqlite:///{tmp_path / 'book.db'}")


def test_the_generated_book_has_the_rows_asked_for(book: Engine) -> None:
    with Session(book) as s:
        assert s.exec(select(func.count()).select_from(ClaimRow)).one() == CLAIMS
        assert s.exec(select(func.count()).select_from(AuditEventRow)).one() == 3 * CLAIMS
        stages = dict(s.exec(select(ClaimRow.stage, func.count()).group_by(ClaimRow.stage)).all())
        open_items_ = s.exec(
            select(func.count()).select_from(WorkItemRow).where(WorkItemRow.state == "open")
        ).one()
    assert set(stages) == {s for s, _ in readmodel.STAGES}
    waiting = sum(n for stage, n in stages.items() if stage in readmodel.WAITING_ON)
    assert open_items_ == waiting


@pytest.mark.parametrize("person", ["sup1", "adj1", "mgr1", "inv1"])
def test_the_work_queue_leaves_out_exactly_the_recused_approvals(book: Engine, person: str) -> None:
    """The queue as one query equals the rule worked out row by row in Python."""
    with Session(book) as s:
        staff = s.get(StaffRow, person)
        assert staff is not None
        items = s.exec(select(WorkItemRow).where(WorkItemRow.state == "open")).all()
        recused = {
            r.case_id
            for r in s.exec(select(ClaimRecusalRow).where(ClaimRecusalRow.staff_id == person))
        }

    def mine(w: WorkItemRow) -> bool:
        if w.assignee == person:
            return True
        pooled = w.role.startswith("L") and 0 < w.level <= staff.level
        pooled |= w.role == "investigator" and "investigator" in staff.roles
        return w.assignee is None and pooled

    expected = sorted(
        (w for w in items if mine(w) and not (w.kind == "approve" and w.case_id in recused)),
        key=lambda w: (-w.priority, w.due_at),
    )[:50]
    assert expected, "the book gives everyone some work"
    assert [w.key for w in open_items(person, limit=50)] == [w.key for w in expected]


def _sql_of(call: Callable[[], object]) -> tuple[str, Any]:
    """The last statement a CLI function sent, with its parameters (readmodel/sql.py)."""
    seen: list[tuple[str, Any]] = []

    def capture(statement: str, parameters: Any) -> None:
        seen.append((statement, dict(parameters)))

    sql.listeners.append(capture)
    try:
        call()
    finally:
        sql.listeners.remove(capture)
    return seen[-1]


@pytest.mark.parametrize(
    ("call", "index"),
    [
        (lambda: open_items(None), "ix_work_items_queue"),
        (lambda: open_items("sup1"), "ix_work_items_queue"),
        (lambda: claim_rows(line="auto"), "ix_claims_line_reported"),
        (lambda: claim_rows(stage="PENDING_APPROVAL"), "ix_claims_stage_reported"),
        (lambda: claim_rows(policy="P-B000123"), "ix_claims_policy_reported"),
        (lambda: open_items("inv1"), "ix_claim_recusals_staff"),
    ],
)
def test_the_queue_and_the_claim_list_read_in_index_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: Callable[[], object], index: str
) -> None:
    """SQLite reads the rows in the order shown and stops at the limit: no sort of every
    open item or every claim of a line, and no Bloom filter made by reading every recusal (the
    book is analyzed, as SQLite needs to consider one)."""
    url = f"sqlite:///{tmp_path / 'book.db'}"
    engine = make_engine(url)
    readmodel.populate(engine, 500, 500)
    monkeypatch.setenv("CLAIMS_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        statement, params = _sql_of(call)
        with engine.connect() as conn:
            plan = " | ".join(
                row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            )
    finally:
        get_settings.cache_clear()
        engine_for(url).dispose()
        engine.dispose()
    assert index in plan
    assert "TEMP B-TREE" not in plan
    assert "BLOOM FILTER" not in plan


def test_an_earlier_read_model_gets_the_new_indexes_and_its_recusals(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = make_engine(url)
    RecordActivities(engine).sync_claim(
        ClaimSync(status=claim_status("C-1", "REPORTED", "PENDING_APPROVAL", adjustment=ADJ2))
    )
    with engine.begin() as conn:  # as a read model written before both (and migrations) existed
        conn.execute(text("DROP INDEX ix_work_items_queue"))
        conn.execute(text("DROP TABLE claim_recusals"))
        conn.execute(text("DROP TABLE alembic_version"))
    engine.dispose()

    engine = make_engine(url)
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("work_items")}
    with Session(engine) as s:
        recusals = [(r.case_id, r.staff_id) for r in s.exec(select(ClaimRecusalRow))]
    engine.dispose()
    assert "ix_work_items_queue" in indexes
    assert recusals == [("C-1", "adj2")]


async def test_a_tiny_run_measures_throughput_and_memory(dev_env, tmp_path: Path) -> None:
    """Worker processes against the dev server: bare and claim rates, a worker's memory with
    claims waiting for approval, and report to paid and to closed, each read from where the
    bench reads it."""
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    engine = make_engine(url)
    demo.load(engine)
    client = dev_env.client
    target = cases.Target(client.service_client.config.target_host, url, tmp_path)
    try:
        bare = await cases.bare_rate(client, target, 3, 1, stall=60)
        claims = await cases.claims_rate(client, target, engine, 3, 1, stall=60)
        mem = await cases.memory(client, target, engine, 2, stall=60)
        lat = await cases.latency(client, target, engine, 2)
    finally:
        engine.dispose()
        # The claims stay open (the reopening window, the approval): end them here.
        async for wf in client.list_workflows("ExecutionStatus = 'Running'"):
            if wf.task_queue.startswith("bench-"):
                await client.get_workflow_handle(wf.id).terminate("benchmark test finished")
    assert (bare.done, bare.stalled, claims.done, claims.stalled) == (3, False, 3, False)
    assert bare.rate > 0 and claims.rate > 0
    assert mem["run"].done == 2 and mem["max_cached_workflows"] > 0
    assert 20 < mem["idle_mb"] <= mem["peak_mb"] < 2000
    # paid: the time on the ledger row, which the poll can only see after it was written
    assert 0 < lat["paid_p50_ms"] <= lat["paid_seen_p50_ms"] + 1 <= lat["closed_p50_ms"] + 1


async def test_a_batch_that_stops_moving_is_reported_as_stalled() -> None:
    counts = iter([0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2])

    async def count() -> int:
        return next(counts)

    run = await cases.until_done(count, 5, time.perf_counter(), stall=0.05, period=0.01)
    assert (run.done, run.total, run.stalled) == (2, 5, True)


async def test_a_batch_that_completes_is_timed_to_its_last_completion() -> None:
    counts = iter([1, 3, 5])

    async def count() -> int:
        return next(counts)

    t0 = time.perf_counter()
    run = await cases.until_done(count, 5, t0, stall=10, period=0.01)
    assert (run.done, run.stalled) == (5, False)
    assert 0 < run.seconds < time.perf_counter() - t0 + 0.001


def test_the_database_makes_the_events_the_generator_describes(book: Engine) -> None:
    """The audit events are made by an INSERT ... SELECT on each backend: the same rows as the
    Python generator describes for a claim (kind in turn, an hour apart, data {"n": seq})."""
    import json

    expected = [
        (row[1], row[2], row[3], row[4], json.loads(row[5]))
        for kind, row in readmodel.rows(CLAIMS, 3)
        if kind == "event" and row[0] == "CLM-B0000001"
    ]
    with Session(book) as s:
        made = s.exec(
            select(AuditEventRow)
            .where(AuditEventRow.case_id == "CLM-B0000001")
            .order_by(AuditEventRow.seq)  # type: ignore[arg-type]
        ).all()
    assert [(e.seq, e.kind, e.actor, e.at, e.data) for e in made] == expected


def test_the_book_takes_a_million_claims_and_ten_events_each() -> None:
    from bench.run import MAX_BOOK_CLAIMS, parse

    a = parse(["--book-claims", "1000000", "--out", ""])
    assert (a.book_claims, a.book_events) == (1_000_000, 10_000_000)
    assert parse(["--book-claims", "20000", "--book-events", "5", "--out", ""]).book_events == 5
    with pytest.raises(SystemExit):
        parse(["--book-claims", str(MAX_BOOK_CLAIMS + 1), "--out", ""])


def test_the_startup_figures_set_each_command_against_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import startup

    monkeypatch.setattr(startup, "COMMANDS", (("--help",), ("tasks",)))
    rows = startup.figures(tmp_path / "data", repeat=1)
    assert [m.split(",")[0] for m, _ in rows] == [
        "`python -c pass`",
        "`claims --help`",
        "`claims tasks`",
    ]
    assert all(f.endswith("x") and " ms = " in f for _, f in rows[1:])


def test_the_replay_figures_stream_histories_with_one_and_two_processes(tmp_path: Path) -> None:
    """Claims' histories and the yardstick's, each replayed as `claims audit replay` does;
    here the committed claims' histories stand for both (the bare ones need a server)."""
    import shutil

    from bench import replay

    folder = tmp_path / "claims"
    folder.mkdir()
    for name in ("fast-track", "human-approval", "two-levels"):
        shutil.copy(Path(__file__).parent / "histories" / f"{name}.json", folder)
    with_start, started = replay.rate(folder, replay.audit.ENGINE, 2)
    assert with_start > 0 and started > 0
    with pytest.raises(RuntimeError, match="do not replay"):
        replay.rate(folder, replay.BARE, 1)  # claims' histories are not the bare workflow's
