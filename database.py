"""One database engine per process, built from the settings. The read model's schema belongs to
Alembic (migrations/): building the engine brings it to the newest revision first."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, TypedDict

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Column, Table, event, inspect, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session, SQLModel, create_engine

import migrations
import models.notice_tables  # noqa: F401  (the notices and the letter box)
import models.portal  # noqa: F401  (the claimant portal's tables)
import models.tables  # noqa: F401  (every table on SQLModel.metadata)
from prepared import insert_new_row, insert_new_statement


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def open_engine(url: str) -> Engine:
    """The engine alone, the schema untouched (`claims db current` reads it as it is)."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[1] if "///" in url else ""
        on_disk = bool(path) and path != ":memory:" and "mode=memory" not in path
        # A worker's activities write from many threads at once: a connection for each, kept
        # open (a new one would pay the pragmas again); the writes themselves queue in SQLite.
        pool = {"pool_size": 32, "max_overflow": 32} if on_disk else {}
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **pool
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        if on_disk:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    return engine


def make_engine(url: str) -> Engine:
    """The engine, with the read model at the newest revision (created when empty)."""
    engine = open_engine(url)
    _changes[url] = prepare_schema(engine)
    return engine


@dataclass(frozen=True)
class SchemaChange:
    """What bringing a read model to the newest revision did. `before` is None for an empty
    database and for a read model written before migrations."""

    before: str | None
    after: str
    action: Literal["current", "created", "upgraded"]

    def __str__(self) -> str:
        if self.action == "created":
            return f"created at revision {self.after}"
        if self.action == "upgraded":
            since = f"revision {self.before}" if self.before else "before migrations"
            return f"upgraded from {since} to revision {self.after}"
        return f"at revision {self.after}"


_changes: dict[str, SchemaChange] = {}


def prepare_schema(engine: Engine) -> SchemaChange:
    """Bring the read model to the newest revision; safe when several processes start at once.

    A read model already there costs one look at `alembic_version`, so building an engine stays
    cheap. Otherwise the work runs under a lock that every process migrating this read model
    takes (`schema_lock`), and the state is read again under it: whoever waited finds the work
    done and does nothing, so the schema is created or upgraded, and stamped, once.

    An empty database is created from models/tables.py and stamped with the newest revision,
    rather than by running every revision from the baseline: Alembic's advice for a new
    database, and one `create_all` costs the same however many revisions pile up, which
    matters because the tests and benchmarks build hundreds of databases. Measured (40 empty
    databases, mean): create and stamp 17 ms on SQLite, 140 ms on PostgreSQL (a schema);
    running the baseline 45 ms and 140 ms; the start-up `ALTER TABLE` checks this replaces
    28 ms and 215 ms, and 9 ms and 128 ms on a read model already up to date, where the look at
    `alembic_version` now takes 2 ms and 33 ms. The two ways cannot drift apart:
    tests/test_migrations.py runs the revisions on an empty database and compares the result
    with models/tables.py. Any other database (one at an older revision, or one written by a
    release before migrations, which the baseline adopts) is upgraded.
    """
    head = head_revision()
    with engine.connect() as conn:
        before, empty = _schema_state(conn)
    if before == head:
        return SchemaChange(before, head, "current")
    with schema_lock(engine) as conn:
        before, empty = _schema_state(conn)
        if before == head:
            return SchemaChange(before, head, "current")
        if empty:
            SQLModel.metadata.create_all(conn)
            MigrationContext.configure(conn).stamp(_scripts(), head)
            change = SchemaChange(None, head, "created")
        else:
            _known(before)
            run_migrations(conn)
            change = SchemaChange(before, head, "upgraded")
    return change


def run_migrations(conn: Connection, revision: str = "head") -> None:
    """Run the revisions up to `revision` on a connection that holds `schema_lock`."""
    config = _config()
    config.attributes["connection"] = conn
    command.upgrade(config, revision)


def upgrade_at_start(url: str) -> SchemaChange:
    """The schema step of `claims run` and the worker at start: this process's engine, and what
    building it did to the read model (for the start-up line)."""
    engine = engine_for(url)
    return _changes.get(url) or prepare_schema(engine)


def schema_state(engine: Engine) -> tuple[str | None, bool]:
    """The revision the read model is stamped with, and whether it is an empty database."""
    with engine.connect() as conn:
        return _schema_state(conn)


def head_revision() -> str:
    head = _scripts().get_current_head()
    assert head is not None, "migrations/versions holds no revision"
    return head


_LOCK_CLASS = 0x434C4D53  # "CLMS": the read model's schema


@contextmanager
def schema_lock(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that one process at a time holds for a read model,
    committed when the block ends (rolled back on an error). PostgreSQL: a transaction-level
    advisory lock on the database and schema, so the tests' schemas in one database do not
    wait for each other; DDL is transactional there, so a failed upgrade leaves nothing
    behind. SQLite: `BEGIN IMMEDIATE` takes the database's write lock, which a second
    process waits for up to the busy timeout (30 s); SQLite's DDL is transactional too."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            where = conn.execute(
                text("SELECT current_database() || '.' || coalesce(current_schema(), '')")
            ).scalar_one()
            key = int.from_bytes(hashlib.sha256(where.encode()).digest()[:4], "big", signed=True)
            conn.execute(text("SELECT pg_advisory_xact_lock(:c, :k)"), {"c": _LOCK_CLASS, "k": key})
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn
        conn.commit()


class MigrationOptions(TypedDict):
    render_as_batch: bool
    compare_type: bool
    include_object: Callable[[object, str | None, str, bool, object], bool]


def migration_options(dialect: str) -> MigrationOptions:
    """How Alembic runs and compares this read model (env.py and the tests)."""
    # SQLite alters a table by copying it: later revisions use op.batch_alter_table there.
    return {
        "render_as_batch": dialect == "sqlite",
        "compare_type": True,
        "include_object": _comparable,
    }


def expression_indexes() -> set[str]:
    """Indexes with an expression among their columns (`priority DESC`)."""
    return {
        str(index.name)
        for table in SQLModel.metadata.tables.values()
        for index in table.indexes
        if any(not isinstance(e, Column) for e in index.expressions)
    }


def _comparable(obj: object, name: str | None, kind: str, reflected: bool, other: object) -> bool:
    """Autogenerate cannot compare an index with an expression: the database gives it back as
    plain columns, so it would be reported as changed every time. Such indexes are left out of
    the comparison; tests/test_migrations.py checks them by name and columns instead."""
    return not (kind == "index" and name in expression_indexes())


def _schema_state(conn: Connection) -> tuple[str | None, bool]:
    """The revision stamped, and whether the database holds none of the read model's tables."""
    present = set(inspect(conn).get_table_names())
    if "alembic_version" in present:
        # read directly: Alembic's MigrationContext logs a line each time it is made
        stamped = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        if len(stamped) > 1:
            raise RuntimeError(f"the read model is stamped with several revisions: {stamped}")
        if stamped:
            return stamped[0], False
    return None, not present & set(SQLModel.metadata.tables)


def _known(revision: str | None) -> None:
    if revision is None:
        return
    try:
        _scripts().get_revision(revision)
    except CommandError as exc:
        raise RuntimeError(
            f"the read model is at revision {revision}, which this release does not know "
            "(a newer release upgraded it): run that release or restore a backup"
        ) from exc


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(migrations.LOCATION))
    return config


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def recused_staff(status: Mapping[str, Any]) -> set[str]:
    """Nobody decides a claim they adjusted or already approved in the current chain."""
    adjuster = (status.get("adjustment") or {}).get("adjuster")
    people = {a.get("approver") for a in status.get("approvals") or []}
    return {p for p in people | {adjuster} if p}


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)


def insert_new(
    db: Session | Connection, table: Table, rows: list[dict[str, Any]], key: tuple[str, ...]
) -> int:
    """Insert the rows whose key is not there yet (INSERT ... ON CONFLICT DO NOTHING); a row
    already written stays as it is. How many went in. The read model is SQLite or PostgreSQL.
    On a connection each row is one prepared statement (prepared.py); in an ORM session, the
    rows are one statement."""
    if not rows:
        return 0
    if isinstance(db, Connection):
        return sum(insert_new_row(db, table, row, key) for row in rows)
    stmt = insert_new_statement(table, key, db.get_bind().dialect.name)
    return len(db.execute(stmt, rows).all())
