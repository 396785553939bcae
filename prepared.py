"""Statements the worker runs for every case, compiled once per dialect and sent through the
connection's DB-API cursor.

An SQLAlchemy Core statement costs far more in Python than in the database: building the
expression, its cache key, the execution context and the result object took about a third of a
claims worker's time, against 2 % in SQLite itself (docs/benchmarks.md, the profile). A
`Prepared` statement is built once, at import, with named `bindparam`s; on its first use with a
dialect it is compiled, and from then on a call is the compiled string, the parameters passed
through the column types' own bind processors (so a time, an amount or a JSON column is stored
exactly as SQLAlchemy stores it), one `cursor.execute`, and the result columns passed through
the types' result processors. It runs on the SQLAlchemy connection it is given, in that
connection's transaction, and a DB-API error is raised as SQLAlchemy raises it
(`sqlalchemy.exc.IntegrityError`, ...), so callers and their retries see no difference; its
message carries the statement, never the values (they may be personal data).

Statements that cannot be compiled once (an `IN` of a list, a column default evaluated in
Python that is not a plain value or function) are refused when first compiled: those stay on
`conn.execute`. tests/test_prepared.py holds prepared writes and reads to SQLAlchemy's own,
byte for byte as stored, and compiles every prepared statement of the worker, on SQLite and on
PostgreSQL; tests/test_read_model.py runs the activities that use them on both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ClauseElement

Processor = Callable[[Any], Any]


class NotPreparable(ValueError):
    """A statement whose SQL depends on its parameters: run it with `conn.execute`."""


class Rows:
    """What a prepared statement returned: its rows (tuples, converted by the column types),
    their column names, and the count of rows it changed."""

    __slots__ = ("keys", "rows", "rowcount")

    def __init__(self, keys: Sequence[str], rows: list[tuple[Any, ...]], rowcount: int) -> None:
        self.keys = keys
        self.rows = rows
        self.rowcount = rowcount

    def first(self) -> dict[str, Any] | None:
        """The first row as a mapping of column name to value, or None."""
        return dict(zip(self.keys, self.rows[0], strict=True)) if self.rows else None

    def mappings(self) -> list[dict[str, Any]]:
        return [dict(zip(self.keys, row, strict=True)) for row in self.rows]

    def scalar(self) -> Any:
        """The first column of the first row, or None."""
        return self.rows[0][0] if self.rows else None


class _Compiled:
    """One statement compiled for one dialect: its SQL, where each parameter goes, the values
    the statement itself holds, and the processors of its parameters and result columns."""

    def __init__(
        self, statement: ClauseElement, dialect: Dialect, keys: Iterable[str] | None
    ) -> None:
        compiled: Any = statement.compile(dialect=dialect, column_keys=keys)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise NotPreparable("the statement's SQL depends on its parameters (an IN list)")
        self.dialect = dialect
        self.sql: str = compiled.string
        self.positions: list[str] | None = compiled.positiontup  # None: named (psycopg)
        escaped = compiled.escaped_bind_names or {}
        if escaped:
            raise NotPreparable("the statement's parameter names need escaping")
        # values written into the statement (`state == "open"`), None for the caller's own
        self.fixed: dict[str, Any] = compiled.construct_params(_check=False)
        self.binds: dict[str, Processor] = {}
        for bind, name in compiled.bind_names.items():
            proc = bind.type._cached_bind_processor(dialect)
            if proc is not None:
                self.binds[name] = proc
        # column defaults SQLAlchemy would evaluate in Python (SQLModel's `Field(default=)`)
        self.defaults: dict[str, Callable[[], Any]] = {}
        for column in [*compiled.insert_prefetch, *compiled.update_prefetch]:
            self.defaults[column.key] = _default_of(column)
        self.keys: list[str] = [entry[0] for entry in compiled._result_columns]
        self._types = [entry[3] for entry in compiled._result_columns]
        self._readers: list[Processor | None] | None = None

    def parameters(self, given: Mapping[str, Any]) -> Any:
        values = {**self.fixed, **given}
        for name, make in self.defaults.items():
            if name not in given:
                values[name] = make()
        for name, proc in self.binds.items():
            values[name] = proc(values[name])
        if self.positions is None:
            return values
        return tuple(values[name] for name in self.positions)

    def readers(self, description: Sequence[Sequence[Any]]) -> list[Processor | None]:
        """The result columns' processors, made on the first result (psycopg's need the
        column's type code from the cursor)."""
        if self._readers is None:
            self._readers = [
                kind._cached_result_processor(self.dialect, d[1])
                for kind, d in zip(self._types, description, strict=True)
            ]
        return self._readers


def _default_of(column: Any) -> Callable[[], Any]:
    default = column.default
    if default is None:
        return lambda: None
    if default.is_scalar:
        value = default.arg
        return lambda: value
    if default.is_callable:
        make = default.arg  # SQLAlchemy wraps a plain function to take an execution context
        return lambda: make(None)
    raise NotPreparable(f"column {column.key} has a default evaluated by the database")


class Prepared:
    """A Core statement with named `bindparam`s, compiled once per dialect (and, for an INSERT
    of some columns only, once per set of columns given)."""

    __slots__ = ("statement", "_compiled")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, str, frozenset[str] | None], _Compiled] = {}

    def _for(self, dialect: Dialect, keys: frozenset[str] | None) -> _Compiled:
        at = (dialect.name, dialect.driver, keys)
        found = self._compiled.get(at)
        if found is None:  # two threads may both compile it: the same result either way
            found = self._compiled[at] = _Compiled(self.statement, dialect, keys)
        return found

    def run(
        self, conn: Connection, params: Mapping[str, Any] | None = None, *, columns: bool = False
    ) -> Rows:
        """Run on `conn`, in its transaction. `columns`: an INSERT of exactly the columns
        `params` names (the rest take their defaults)."""
        given = params or {}
        compiled = self._for(conn.dialect, frozenset(given) if columns else None)
        if not conn.in_transaction():
            conn.begin()  # as `conn.execute` would: the caller's `conn.commit()` commits it
        raw = conn.connection.dbapi_connection
        assert raw is not None
        cursor = raw.cursor()
        try:
            try:
                cursor.execute(compiled.sql, compiled.parameters(given))
                description = cursor.description
                rows = list(cursor.fetchall()) if description else []
            except conn.dialect.loaded_dbapi.Error as err:
                if conn.dialect.is_disconnect(err, raw, cursor):
                    conn.invalidate(err)
                raise DBAPIError.instance(
                    compiled.sql, None, err, conn.dialect.loaded_dbapi.Error, dialect=conn.dialect
                ) from err
            if rows:
                readers = compiled.readers(description)
                if any(readers):
                    rows = [
                        tuple(v if r is None else r(v) for r, v in zip(readers, row, strict=True))
                        for row in rows
                    ]
            return Rows(compiled.keys, rows, cursor.rowcount)
        finally:
            cursor.close()


def insert_new_statement(table: Table, key: tuple[str, ...], dialect: str) -> Any:
    """INSERT ... ON CONFLICT (key) DO NOTHING RETURNING key: the rows it returns are the rows
    that went in (psycopg reports no row count for this statement: -1)."""
    if dialect == "postgresql":
        stmt: Any = pg_insert(table).on_conflict_do_nothing(index_elements=key)
    elif dialect == "sqlite":
        stmt = sqlite_insert(table).on_conflict_do_nothing(index_elements=key)
    else:
        raise RuntimeError(f"the read model is on {dialect}: SQLite or PostgreSQL only")
    return stmt.returning(*(table.c[k] for k in key))


_inserts: dict[tuple[str, str, tuple[str, ...]], Prepared] = {}


def insert_new_row(
    conn: Connection, table: Table, row: Mapping[str, Any], key: tuple[str, ...]
) -> bool:
    """`insert_new_statement` of one row, prepared; whether it went in."""
    at = (conn.dialect.name, table.name, key)
    prepared = _inserts.get(at)
    if prepared is None:
        statement = insert_new_statement(table, key, conn.dialect.name)
        prepared = _inserts[at] = Prepared(statement)
    return bool(prepared.run(conn, row, columns=True).rows)
