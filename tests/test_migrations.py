"""The read model's schema under Alembic (migrations/), on SQLite and on PostgreSQL.

- The revisions, run on an empty database, give exactly the tables and indexes of
  models/tables.py (Alembic's autogenerate compare finds no difference): a change to the models
  without its revision fails here.
- `make_engine` on an empty database creates the schema and stamps the newest revision.
- A read model written by an earlier release (its DDL in tests/old_read_models/, rows written
  as that release wrote them) is upgraded with every row kept.
- Several workers starting at once migrate once and end at the newest revision: threads with
  an engine each, all past their first look before any takes the lock; and processes.

Each test gets an empty database: a SQLite file, or a scratch PostgreSQL schema dropped after.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, SQLModel
from typer.testing import CliRunner

import database
from bench.readmodel import scratch_postgres
from cli import app
from database import (
    expression_indexes,
    head_revision,
    make_engine,
    migration_options,
    open_engine,
    prepare_schema,
    run_migrations,
    schema_lock,
    schema_state,
)
from models.tables import ClauseRow, ComplaintPaymentRow, PolicyStatusRow
from settings import get_settings
from tests.conftest import PG_URL

OLD = Path(__file__).parent / "old_read_models"
PREVIOUS = "5c8cbab"  # the release before migrations
FIRST = "3900a97"  # the first release: before complaints, recusals and signing keys
T0 = datetime(2026, 3, 3, 2, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database's URL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'claims.db'}"
    else:
        with scratch_postgres(PG_URL) as pg_url:
            yield pg_url


@pytest.fixture
def engine(url: str) -> Iterator[Engine]:
    """The engine alone, on the empty database (nothing created yet)."""
    eng = open_engine(url)
    yield eng
    eng.dispose()


def differences(eng: Engine) -> list[Any]:
    """What Alembic's autogenerate finds between the database and models/tables.py."""
    with eng.connect() as conn:
        context = MigrationContext.configure(conn, opts=migration_options(eng.dialect.name))
        return compare_metadata(context, SQLModel.metadata)


def assert_matches_models(eng: Engine) -> None:
    assert differences(eng) == []
    # autogenerate leaves expression indexes out (database.expression_indexes): check by hand
    inspector = inspect(eng)
    for table in SQLModel.metadata.sorted_tables:
        for index in table.indexes:
            if index.name in expression_indexes():
                found = {ix["name"]: ix for ix in inspector.get_indexes(table.name)}
                # `priority DESC` reads back as the column priority
                names = [str(getattr(e, "name", e)).split()[0] for e in index.expressions]
                assert found[index.name]["column_names"] == names
    assert schema_state(eng) == (head_revision(), False)


def stamped(eng: Engine) -> list[str]:
    with eng.connect() as conn:
        return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())


# --------------------------------------------------------------------------------------------
# From an empty database
# --------------------------------------------------------------------------------------------


def test_the_revisions_give_exactly_the_models_tables(engine: Engine) -> None:
    """Fails when models/tables.py changes without a revision (or a revision without the
    models): write one with `alembic -c migrations/alembic.ini revision --autogenerate`."""
    with schema_lock(engine) as conn:
        run_migrations(conn)
    assert_matches_models(engine)
    assert set(inspect(engine).get_table_names()) == set(SQLModel.metadata.tables) | {
        "alembic_version"
    }


def test_revision_0005_adds_the_large_book_indexes_and_goes_back(engine: Engine) -> None:
    """A read model at 0004 gets both indexes, and on SQLite, when it has statistics, theirs
    too (else its planner keeps the plan they replace); the downgrade drops them again."""
    from alembic import command

    new = {"claim_recusals": "ix_claim_recusals_staff", "claims": "ix_claims_policy_reported"}

    def present() -> set[str]:
        inspector = inspect(engine)
        return {ix["name"] for t in new for ix in inspector.get_indexes(t)} & set(new.values())

    with schema_lock(engine) as conn:
        run_migrations(conn, "0004")
        conn.execute(text("INSERT INTO claim_recusals VALUES ('CLM-1', 'adj1'), ('CLM-1', 'x')"))
        if engine.dialect.name == "sqlite":
            conn.execute(text("ANALYZE"))
    assert present() == set()
    with schema_lock(engine) as conn:
        run_migrations(conn)
    assert present() == set(new.values())
    assert_matches_models(engine)
    if engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            analyzed = set(conn.execute(text("SELECT idx FROM sqlite_stat1")).scalars())
        assert "ix_claim_recusals_staff" in analyzed
    with schema_lock(engine) as conn:
        config = database._config()
        config.attributes["connection"] = conn
        command.downgrade(config, "0004")
    assert present() == set()
    assert stamped(engine) == ["0004"]


def test_make_engine_creates_an_empty_database_at_the_newest_revision(url: str) -> None:
    try:
        # what `claims run` and the worker print at start
        assert str(database.upgrade_at_start(url)) == f"created at revision {head_revision()}"
        eng = database.engine_for(url)
        assert_matches_models(eng)
        assert stamped(eng) == [head_revision()]
        again = prepare_schema(eng)
        assert (again.action, again.before) == ("current", head_revision())
        with Session(eng) as s:
            s.add(ClauseRow(**CLAUSE, causes=["drunk_driving"]))
            s.commit()
    finally:
        database.engine_for(url).dispose()
    second = make_engine(url)  # the next start finds it done
    try:
        assert database.upgrade_at_start(url).action == "current"
        assert stamped(second) == [head_revision()]
    finally:
        second.dispose()


def test_a_revision_newer_than_this_release_is_refused(engine: Engine) -> None:
    prepare_schema(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(RuntimeError, match="revision 9999, which this release does not know"):
        prepare_schema(engine)


def test_claims_db_current_and_upgrade(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLAIMS_DATABASE_URL", url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        head = head_revision()
        r = runner.invoke(app, ["db", "current"])
        assert r.exit_code == 0, r.output
        assert r.output.startswith(
            f"none (empty database; `claims db upgrade` creates revision {head})"
        )
        r = runner.invoke(app, ["db", "upgrade"])
        assert r.output == f"read model created at revision {head}\n"
        r = runner.invoke(app, ["db", "upgrade"])
        assert r.output == f"read model at revision {head}\n"
        r = runner.invoke(app, ["db", "current"])
        assert r.output == f"{head} (head)\n"
    finally:
        get_settings.cache_clear()


# --------------------------------------------------------------------------------------------
# From a read model written by an earlier release
# --------------------------------------------------------------------------------------------

CLAUSE = dict(
    product_code="MED-1",
    clause_id="C-EXCL-9",
    kind="exclusion",
    title_zh="酒后驾驶",
    title_en="Drunk driving",
    text_zh="……",
    text_en="...",
)
OPEN_STATUS = {"adjustment": {"adjuster": "adj1"}, "approvals": [{"approver": "sup1"}]}
CLAIM = dict(
    stage="PENDING_APPROVAL",
    line="medical",
    incident_type="illness",
    policy_no="P-1",
    insured_id_no="110101198001011234",
    claimant_name="张三",
    channel="app",
    reported_at=T0,
    occurred_at=T0,
    amount_claimed=Decimal("8000.00"),
    payable_amount=Decimal("6000.00"),
    pending_level=1,
    straight_through=False,
    updated_at=T0,
    priority=3,  # these four from the release after the first (left out of the first's rows)
    history_len=12,
    sync_version=4,
    run_id="run-1",
)
# What an earlier release wrote: one row or more in each of its tables (columns the release
# did not have are left out when it is built).
ROWS: dict[str, list[dict[str, Any]]] = {
    "policies": [
        dict(
            policy_no="P-1",
            line="medical",
            product_code="MED-1",
            insured_name="张三",
            insured_id_no="110101198001011234",
            start_date=date(2026, 1, 1),
            end_date=date(2027, 12, 31),
            status="in_force",
            terms={"limit": "10000.00", "deductible": "500.00"},
        )
    ],
    "clauses": [CLAUSE | {"clause_id": "C1", "kind": "coverage"}],
    "staff": [
        dict(staff_id="adj1", name="李四", level=1, roles=["adjuster"], active=True),
        dict(staff_id="sup1", name="王五", level=2, roles=["supervisor"], active=False),
    ],
    "watch_list": [dict(id_no="110101199001011234", reason="fraud ring")],
    "claims": [
        CLAIM | dict(claim_id="CLM-1", status=OPEN_STATUS),
        CLAIM | dict(claim_id="CLM-2", stage="CLOSED", closed_at=T0, status=OPEN_STATUS),
    ],
    "work_items": [
        dict(
            key="CLM-1:approve:1",
            case_id="CLM-1",
            kind="approve",
            role="adjuster",
            level=1,
            title="Approve",
            priority=2,
            due_at=T0,
            state="open",
            opened_at=T0,
        )
    ],
    "claim_recusals": [dict(case_id="CLM-1", staff_id="adj1")],
    "letters": [
        dict(
            letter_id="CLM-1-acknowledgement-1",
            case_id="CLM-1",
            kind="acknowledgement",
            language="zh-CN",
            channel="sms",
            recipient="张三",
            sent_at=T0,
            sha256="0" * 64,
            path="letters/CLM-1/ack.txt",
            body="受理通知书",
        )
    ],
    "payments": [
        dict(
            idempotency_key="CLM-2:pay:1",
            claim_id="CLM-2",
            seq=1,
            policy_no="P-1",
            amount=Decimal("6000.00"),
            deductible_applied=Decimal("500.00"),
            payee="张三",
            account_ref="6222020200000000",
            reference="REF-0001",
            paid_at=T0,
        )
    ],
    "audit_events": [
        dict(case_id="CLM-1", seq=1, kind="reported", actor="system", at=T0, data={"a": 1}),
        dict(case_id="CLM-1", seq=2, kind="decided", actor="adj1", at=T0, data={}),
    ],
    "complaints": [
        dict(
            complaint_id="CMP-1",
            stage="RECEIVED",
            channel="phone",
            priority="high",
            claim_id="CLM-2",
            complainant_name="张三",
            complainants=1,
            received_at=T0,
            extensions=0,
            upheld=None,
            updated_at=T0,
            history_len=3,
            sync_version=2,
            status={"stage": "RECEIVED"},
        )
    ],
}


def old_read_model(eng: Engine, release: str) -> dict[str, list[dict[str, Any]]]:
    """The read model `release` created, with rows written as it wrote them (its own column
    types, read from the database); returns the rows written."""
    ddl = (OLD / f"{release}.{eng.dialect.name}.sql").read_text()
    ddl = "\n".join(line for line in ddl.splitlines() if not line.startswith("--"))
    with eng.begin() as conn:
        for statement in filter(str.strip, ddl.split(";")):
            conn.execute(text(statement))
        old = MetaData()
        old.reflect(conn)
        written: dict[str, list[dict[str, Any]]] = {}
        for name, rows in ROWS.items():
            if name not in old.tables:
                continue
            table = old.tables[name]
            written[name] = [{k: v for k, v in row.items() if k in table.c} for row in rows]
            for row in written[name]:  # one by one: rows name different columns
                conn.execute(table.insert(), row)
    return written


def assert_rows_kept(eng: Engine, written: dict[str, list[dict[str, Any]]]) -> None:
    """Every row written by the old release reads back, the same, through today's tables."""
    with eng.connect() as conn:
        for name, rows in written.items():
            table = SQLModel.metadata.tables[name]
            found = [dict(r._mapping) for r in conn.execute(select(table))]
            assert len(found) == len(rows), name
            key = [c.name for c in table.primary_key.columns if c.name != "id"] or [
                "case_id",
                "seq",
            ]
            by_key = {tuple(r[k] for k in key): r for r in found}
            for row in rows:
                got = by_key[tuple(row[k] for k in key)]
                assert {k: got[k] for k in row} == row, name


@pytest.mark.parametrize("release", [PREVIOUS, FIRST])
def test_an_earlier_release_read_model_is_upgraded_with_every_row(
    engine: Engine, release: str
) -> None:
    written = old_read_model(engine, release)
    assert schema_state(engine) == (None, False)

    change = prepare_schema(engine)
    assert (change.before, change.after, change.action) == (None, head_revision(), "upgraded")
    assert str(change) == f"upgraded from before migrations to revision {head_revision()}"

    assert_rows_kept(engine, written)
    assert_matches_models(engine)
    with engine.connect() as conn:
        claims = {r.claim_id: r for r in conn.execute(text("SELECT * FROM claims"))}
        recusals = set(conn.execute(text("SELECT case_id, staff_id FROM claim_recusals")))
        causes = conn.execute(text("SELECT causes FROM clauses")).scalars().all()
    assert causes == [None]
    if release == FIRST:
        # columns added since: the model's default for the rows already there
        assert {(c.priority, c.history_len, c.sync_version, c.run_id) for c in claims.values()} == {
            (0, 0, 0, None)
        }
        # the recusal table is new: filled from the open claim's projection, not the closed one
        assert recusals == {("CLM-1", "adj1"), ("CLM-1", "sup1")}
    else:
        assert recusals == {("CLM-1", "adj1")}  # the table was there: left as it was

    # what the previous release did not have now takes rows
    with Session(engine) as s:
        s.add(ClauseRow(**CLAUSE, causes=["drunk_driving"]))
        s.add(
            PolicyStatusRow(
                policy_no="P-1",
                seq=1,
                event="cancelled",
                effective_on=date(2026, 6, 1),
                recorded_at=T0,
                recorded_by="sup1",
            )
        )
        s.add(
            ComplaintPaymentRow(
                idempotency_key="complaint:CMP-1:pay:1",
                complaint_id="CMP-1",
                seq=1,
                amount=Decimal("300.00"),
                payee="张三",
                account_ref="6222",
                reference="REF-9",
                paid_at=T0,
            )
        )
        s.commit()
        assert s.get(ClauseRow, ("MED-1", "C-EXCL-9")).causes == ["drunk_driving"]  # type: ignore[union-attr]
    assert prepare_schema(engine).action == "current"


# --------------------------------------------------------------------------------------------
# Several processes starting at once
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("start", ["empty", PREVIOUS])
def test_racing_upgrades_migrate_once(
    url: str, engine: Engine, start: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    written = old_read_model(engine, start) if start != "empty" else {}
    # The file made first (on SQLite, in WAL mode, still without a table): the race tested is
    # the schema's. CI once saw a racer miss the barrier's 30 s on an empty SQLite database;
    # where it waited was not found, and switching a new file's journal to WAL is the one
    # step before the first look in which the racers' connections wait on each other.
    with engine.connect():
        pass
    racers = 4
    # Every racer takes its first look before any goes on to the lock, so all of them find
    # work to do and meet at the lock (the worst case of workers started together).
    all_looked = threading.Barrier(racers, timeout=30)
    looked = threading.local()
    first_look = database._schema_state

    def look(conn: Connection) -> tuple[str | None, bool]:
        state = first_look(conn)
        if not getattr(looked, "done", False):
            looked.done = True
            all_looked.wait()
        return state

    monkeypatch.setattr(database, "_schema_state", look)

    def start_up(_: int) -> database.SchemaChange:
        own = open_engine(url)  # each racer its own engine, as each worker process has
        try:
            return prepare_schema(own)
        finally:
            own.dispose()

    with ThreadPoolExecutor(racers) as pool:
        changes = list(pool.map(start_up, range(racers)))

    actions = sorted(c.action for c in changes)
    expected = "created" if start == "empty" else "upgraded"
    assert actions == sorted([expected] + ["current"] * (racers - 1))
    assert {c.after for c in changes} == {head_revision()}
    assert stamped(engine) == [head_revision()]
    monkeypatch.undo()
    assert_matches_models(engine)
    assert_rows_kept(engine, written)


def test_workers_started_together_migrate_once(url: str, engine: Engine) -> None:
    """The same as processes: what each worker does at start, three at once."""
    start = "import database; print(database.upgrade_at_start(__import__('sys').argv[1]))"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", start, url],
            cwd=Path(__file__).resolve().parent.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(3)
    ]
    outs = sorted(p.communicate(timeout=60)[0].strip() for p in procs)
    head = head_revision()
    assert outs == [f"at revision {head}"] * 2 + [f"created at revision {head}"], outs
    assert stamped(engine) == [head]
