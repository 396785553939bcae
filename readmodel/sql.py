"""The read model through the DB-API, for the queries staff run most (`claims tasks`, `claims
claim list`, ...): the standard library's sqlite3, or psycopg for PostgreSQL, without SQLAlchemy,
SQLModel or Alembic, which take longer to import than these commands take to run.

A query is given either a `ReadModel` (a URL: the CLI) or an SQLAlchemy engine (the worker, the
portal, the tests, the benchmark), whose pooled DB-API connection it borrows. Statements are
written with `:name` parameters, as SQLite takes them; PostgreSQL's are rewritten to `%(name)s`.
Rows come back as small immutable records (readmodel/rows.py), their columns converted as
SQLAlchemy's column types convert them (times in UTC; money as Decimal; JSON parsed; booleans).

What only some commands need (`json`, `decimal`, `re`, psycopg) is imported where it is used,
and paths are `os.path`'s: `claims tasks` reads its rows without importing any of them, nor
`typing`, `dataclasses`, `pathlib` or `threading`."""

from __future__ import annotations

import atexit
import os
from _thread import _local  # threading.local, without importing threading
from datetime import UTC, datetime

from readmodel.rows import Record

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; type checkers read True
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any, TypeVar

    from sqlalchemy.engine import Engine

    R = TypeVar("R")
    Params = Mapping[str, Any]

MIGRATIONS = os.path.join(
    os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "migrations", "versions"
)


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
    data_dir = "data" if named is None else named  # an empty one is the current folder
    return f"sqlite:///{os.path.realpath(os.path.join(data_dir, 'claims.db'))}"


class ReadModel(Record):
    """The read model at a URL, as the CLI reaches it: a connection per query, its schema
    checked against the newest revision the first time."""

    url: str

    def __init__(self, url: str) -> None:
        super().__init__(url=url)

    @property
    def dialect(self) -> str:
        return "sqlite" if self.url.startswith("sqlite") else "postgresql"


# Called with each statement and its parameters before it runs (tests/test_bench.py reads the
# plans of the statements the CLI sends).
listeners: list[Callable[[str, Params], None]] = []


def _assigned(source: str, name: str) -> list[str]:
    """The quoted strings the first line `name = ...` or `name: type = ...` of a module's
    source assigns (revision ids hold no quotes): `("0004", "0003")` gives both, `None` none."""
    for line in source.split("\n"):
        head, eq, value = line.partition("=")
        if eq and head.partition(":")[0].rstrip() == name:
            return [s for s in value.replace("'", '"').split('"')[1::2] if s]
    return []


def head_revision() -> str:
    """The newest revision in migrations/versions: the one no other revision follows (read
    from the files, as Alembic reads `revision` and `down_revision`, without importing it)."""
    revisions: set[str] = set()
    followed: set[str] = set()
    for name in os.listdir(MIGRATIONS):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(MIGRATIONS, name), encoding="utf-8") as file:
            source = file.read()
        revision = _assigned(source, "revision")[:1]
        if not revision:
            continue
        revisions.update(revision)
        followed.update(_assigned(source, "down_revision"))
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
    import re

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
    if model.dialect == "postgresql" or os.path.isfile(model.url.split("///", 1)[-1]):
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
_held = _local()
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


def _paramstyle(statement: str, dialect: str) -> str:
    if dialect == "sqlite":
        return statement
    import re

    return re.sub(r":(\w+)", r"%(\1)s", statement)


def fetch(
    source: ReadModel | Engine,
    statement: str | Callable[[str], str],
    params: Params,
    record: type[R],
) -> list[R]:
    """The rows a statement selects, as `record`s. `statement` may depend on the dialect. A
    `ReadModel`'s connection is kept for the next query; an engine's goes back to its pool."""
    if isinstance(source, ReadModel):
        conn, dialect, borrowed = _kept(source), source.dialect, None
    else:
        conn = borrowed = source.raw_connection()
        dialect = source.dialect.name
    try:
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
    finally:
        if borrowed is not None:
            borrowed.close()
    return [_record(record, row) for row in found]


def columns(record: type[Record], table: str) -> str:
    """The select list for a record's fields, as SQLAlchemy writes it (`key` quoted)."""
    return ", ".join(
        f'{table}."{name}"' if name == "key" else f"{table}.{name}" for name in record.fields
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
    if value is None:
        return value
    from decimal import Decimal

    if isinstance(value, Decimal):
        return value
    return Decimal("%.2f" % value)  # noqa: UP031 - SQLAlchemy's own conversion


def _json(value: Any) -> Any:
    if not isinstance(value, str | bytes):
        return value
    import json

    return json.loads(value)


def _bool(value: Any) -> Any:
    return value if value is None else bool(value)


def _plain(value: Any) -> Any:
    return value


_readers: dict[type[Any], dict[str, Callable[[Any], Any]]] = {}


def _converters(record: type[Any]) -> dict[str, Callable[[Any], Any]]:
    """How each column of a record is read, by its field's declared type (its annotation)."""
    out = _readers.get(record)
    if out is not None:
        return out
    out = _readers[record] = {}
    for name, kind in record.__dict__["__annotations__"].items():
        if "datetime" in kind:
            out[name] = _datetime
        elif "Decimal" in kind:
            out[name] = _decimal
        elif kind.startswith("bool"):
            out[name] = _bool
        elif kind.startswith(("dict", "list")):
            out[name] = _json
        else:
            out[name] = _plain
    return out


def _record(record: type[R], row: Mapping[str, Any]) -> R:
    readers = _converters(record)
    values = {name: read(row[name]) for name, read in readers.items()}
    return record(**values)
