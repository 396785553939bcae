"""The read model through the DB-API, for the queries staff run most (`claims tasks`, `claims
claim list`, ...): the standard library's sqlite3, or psycopg for PostgreSQL, without SQLAlchemy,
SQLModel or Alembic, which take longer to import than these commands take to run.

A query is given either a `ReadModel` (a URL: the CLI) or an SQLAlchemy engine (the worker, the
portal, the tests, the benchmark), whose pooled DB-API connection it borrows. Statements are
written with `:name` parameters, as SQLite takes them; PostgreSQL's are rewritten to `%(name)s`.
Rows come back as small frozen dataclasses, their columns converted as SQLAlchemy's column
types convert them (times in UTC; money as Decimal; JSON parsed; booleans)."""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

R = TypeVar("R")
Params = Mapping[str, Any]

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"


class NotFound(LookupError):
    """A person or record a query needs is not in the read model; the message says which."""


# The settings' names for the read model's place, in the order pydantic-settings tries them
# (settings.py: `database_url` and `data_dir`, each an AliasChoices; names are not
# case-sensitive there).
URL_NAMES = ("CLAIMS_DATABASE_URL", "DATABASE_URL")
DATA_DIR_NAMES = ("CLAIMS_DATA_DIR", "DATA_DIR")


def _first(environ: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    lowered = {key.lower(): value for key, value in environ.items()}
    for name in names:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def read_model_url(environ: Mapping[str, str] | None = None) -> str:
    """`Settings().db_url` without loading the settings: CLAIMS_DATABASE_URL, else SQLite in
    the data folder (CLAIMS_DATA_DIR, default `data`). tests/test_read_model_sql.py holds the
    two to each other."""
    env = os.environ if environ is None else environ
    url = _first(env, URL_NAMES)
    if url:
        return url
    named = _first(env, DATA_DIR_NAMES)
    data_dir = Path("data" if named is None else named)  # an empty one is the current folder
    return f"sqlite:///{(data_dir / 'claims.db').resolve()}"


@dataclasses.dataclass(frozen=True)
class ReadModel:
    """The read model at a URL, as the CLI reaches it: a connection per query, its schema
    checked against the newest revision the first time."""

    url: str

    @property
    def dialect(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"


# Called with each statement and its parameters before it runs (tests/test_bench.py reads the
# plans of the statements the CLI sends).
listeners: list[Callable[[str, Params], None]] = []


def head_revision() -> str:
    """The newest revision in migrations/versions: the one no other revision follows (read
    from the files, as Alembic reads `revision` and `down_revision`, without importing it)."""
    revisions: set[str] = set()
    followed: set[str] = set()
    for path in MIGRATIONS.glob("*.py"):
        source = path.read_text(encoding="utf-8")
        found = re.search(r"^revision\s*(?::[^=\n]*)?=\s*[\"']([^\"']+)[\"']", source, re.M)
        if found is None:
            continue
        revisions.add(found.group(1))
        down = re.search(r"^down_revision\s*(?::[^=\n]*)?=\s*(.*)$", source, re.M)
        if down is not None:
            followed.update(re.findall(r"[\"']([^\"']+)[\"']", down.group(1)))
    heads = sorted(revisions - followed)
    if len(heads) != 1:
        raise RuntimeError(f"migrations/versions has {len(heads)} newest revisions: {heads}")
    return heads[0]


_current: set[str] = set()


def _stamped(conn: Any) -> list[str]:
    cursor = conn.cursor()
    try:
        cursor.execute("SELECT version_num FROM alembic_version")
        return [row[0] for row in cursor.fetchall()]
    finally:
        cursor.close()


def _connect(url: str, dialect: str) -> Any:
    if dialect == "sqlite":
        import sqlite3

        path = url.split("///", 1)[1] if "///" in url else ":memory:"
        # autocommit: reads outside a transaction, each seeing what is committed; one thread
        # uses it (_held), another may close it at exit
        return sqlite3.connect(
            path or ":memory:", timeout=30, isolation_level=None, check_same_thread=False
        )
    import psycopg

    conninfo = re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql://", url)
    return psycopg.connect(conninfo, autocommit=True)


def _at_head(conn: Any) -> bool:
    try:
        return _stamped(conn) == [head_revision()]
    except Exception:  # noqa: BLE001 - no alembic_version table: the full check says what is wrong
        return False


def _open(model: ReadModel) -> Any:
    """A connection to a read model at the newest revision. Anything else (no database yet,
    an older or an unknown revision) goes through database.py first, as it did before, which
    creates, upgrades or refuses in its own words; the check is made once a process."""
    if model.url in _current:
        return _connect(model.url, model.dialect)
    conn = None
    if model.dialect == "postgresql" or Path(model.url.split("///", 1)[-1]).is_file():
        conn = _connect(model.url, model.dialect)
        if not _at_head(conn):
            conn.close()
            conn = None
    if conn is None:
        from database import engine_for

        engine_for(model.url)
        conn = _connect(model.url, model.dialect)
    _current.add(model.url)
    return conn


# A thread's connection to each read model, kept for its next query (as an engine's pool keeps
# one): `claims tasks --for` asks twice, and a PostgreSQL connection costs more than a query.
# Reads only, in autocommit, so each query sees what is committed when it runs.
_held = threading.local()
_opened: list[Any] = []


def _kept(model: ReadModel) -> Any:
    held: dict[str, Any] = _held.__dict__.setdefault("connections", {})
    conn = held.get(model.url)
    if conn is None or getattr(conn, "closed", False) or getattr(conn, "broken", False):
        conn = held[model.url] = _open(model)
        _opened.append(conn)
    return conn


@atexit.register
def _close_all() -> None:
    for conn in _opened:
        conn.close()


@contextmanager
def connection(source: ReadModel | Engine) -> Iterator[tuple[Any, str]]:
    """A DB-API connection to the read model and its dialect (`sqlite`, `postgresql`)."""
    if isinstance(source, ReadModel):
        yield _kept(source), source.dialect
        return
    conn = source.raw_connection()
    try:
        yield conn, source.dialect.name
    finally:
        conn.close()


def _paramstyle(statement: str, dialect: str) -> str:
    return statement if dialect == "sqlite" else re.sub(r":(\w+)", r"%(\1)s", statement)


def fetch(
    source: ReadModel | Engine,
    statement: str | Callable[[str], str],
    params: Params,
    record: type[R],
) -> list[R]:
    """The rows a statement selects, as `record`s. `statement` may depend on the dialect."""
    with connection(source) as (conn, dialect):
        sql = statement if isinstance(statement, str) else statement(dialect)
        for listener in listeners:
            listener(sql, params)
        cursor = conn.cursor()
        try:
            cursor.execute(_paramstyle(sql, dialect), dict(params))
            names = [d[0] for d in cursor.description]
            found = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            cursor.close()
    return [_record(record, row) for row in found]


def columns(record: type[Any], table: str) -> str:
    """The select list for a record's fields, as SQLAlchemy writes it (`key` quoted)."""
    return ", ".join(
        f'{table}."{f.name}"' if f.name == "key" else f"{table}.{f.name}"
        for f in dataclasses.fields(record)
    )


def _datetime(value: Any) -> Any:
    # As SQLModel's UTCDateTime: times in UTC, and one stored without an offset is UTC. SQLite
    # keeps them as text, whose digits SQLAlchemy reads (any offset written after them aside).
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.utcoffset() is None else value.astimezone(UTC)
    return value


def _decimal(value: Any) -> Any:
    # Numeric(16, 2) on SQLite comes back as a float, which SQLAlchemy gives two places.
    if value is None or isinstance(value, Decimal):
        return value
    return Decimal("%.2f" % value)  # noqa: UP031 - SQLAlchemy's own conversion


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


def _bool(value: Any) -> Any:
    return value if value is None else bool(value)


def _plain(value: Any) -> Any:
    return value


@cache
def _converters(record: type[Any]) -> dict[str, Callable[[Any], Any]]:
    """How each column of a record is read, by its field's declared type."""
    out: dict[str, Callable[[Any], Any]] = {}
    for f in dataclasses.fields(record):
        kind = str(f.type)
        if "datetime" in kind:
            out[f.name] = _datetime
        elif "Decimal" in kind:
            out[f.name] = _decimal
        elif kind.startswith("bool"):
            out[f.name] = _bool
        elif kind.startswith(("dict", "list")):
            out[f.name] = _json
        else:
            out[f.name] = _plain
    return out


def _record(record: type[R], row: Mapping[str, Any]) -> R:
    readers = _converters(record)  # type: ignore[arg-type]  # a class is hashable
    values = {name: read(row[name]) for name, read in readers.items()}
    return record(**values)
