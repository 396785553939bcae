"""One database engine per process, built from the settings; the schema is created on demand."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.schema import CreateIndex
from sqlmodel import Session, SQLModel, col, create_engine, select

from models.tables import ClaimRecusalRow, ClaimRow


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create the engine and the schema (idempotent)."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)
    new_recusals = not inspect(engine).has_table(ClaimRecusalRow.__tablename__)
    SQLModel.metadata.create_all(engine)
    add_missing_columns(engine)
    ensure_indexes(engine)
    if new_recusals:
        backfill_recusals(engine)
    return engine


def add_missing_columns(engine: Engine) -> list[str]:
    """Bring a read model written by an earlier version up to date: columns added since are
    created with their defaults (tables are only ever extended, never changed)."""
    added: list[str] = []
    inspector = inspect(engine)
    with engine.begin() as conn:
        for table in SQLModel.metadata.sorted_tables:
            existing = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in existing:
                    continue
                kind = column.type.compile(dialect=engine.dialect)
                default = column.default.arg if column.default is not None else None
                if callable(default):
                    default = None
                clause = ""
                if default is not None:
                    literal = repr(default) if isinstance(default, str) else str(int(default))
                    clause = f" DEFAULT {literal}"
                conn.execute(
                    text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}{clause}')
                )
                added.append(f"{table.name}.{column.name}")
    return added


def ensure_indexes(engine: Engine) -> list[str]:
    """Create the indexes added since a read model was written (create_all only indexes the
    tables it creates). Idempotent: CREATE INDEX IF NOT EXISTS on both backends."""
    created: list[str] = []
    with engine.begin() as conn:
        existing = {
            ix["name"]
            for table in SQLModel.metadata.sorted_tables
            for ix in inspect(conn).get_indexes(table.name)
        }
        for table in SQLModel.metadata.sorted_tables:
            for index in table.indexes:
                if index.name not in existing:
                    conn.execute(CreateIndex(index, if_not_exists=True))
                    created.append(str(index.name))
    return created


def backfill_recusals(engine: Engine) -> int:
    """Fill the recusal table from the open claims' projections, once, when an earlier read
    model gets the table; from then on each claim's projection keeps its own rows."""
    added = 0
    with Session(engine) as s:
        for claim in s.exec(select(ClaimRow).where(col(ClaimRow.closed_at).is_(None))):
            for staff_id in recused_staff(claim.status or {}):
                s.merge(ClaimRecusalRow(case_id=claim.claim_id, staff_id=staff_id))
                added += 1
        try:
            s.commit()
        except IntegrityError:  # another process (worker or CLI) filled it at the same time
            s.rollback()
            return 0
    return added


def recused_staff(status: dict) -> set[str]:
    """Nobody decides a claim they adjusted or already approved in the current chain."""
    adjuster = (status.get("adjustment") or {}).get("adjuster")
    people = {a.get("approver") for a in status.get("approvals") or []}
    return {p for p in people | {adjuster} if p}


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    return make_engine(url)
