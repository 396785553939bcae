"""Alembic's environment for the read model. The engine's start and `claims db upgrade`
(database.prepare_schema) pass in a connection that already holds the schema lock;
Alembic's own command line (`alembic -c migrations/alembic.ini ...`) connects to
CLAIMS_DATABASE_URL and takes the same lock."""

from __future__ import annotations

from logging.config import fileConfig
from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString, UTCDateTime

import models.notice_tables  # noqa: F401  (the notices and the letter box)
import models.portal  # noqa: F401  (the claimant portal's tables)
import models.tables  # noqa: F401  (the tables the revisions must match)
from database import migration_options, open_engine, schema_lock
from settings import get_settings

config = context.config


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Autogenerate writes sqlmodel's column types as the plain SQLAlchemy types they are, so
    a revision does not depend on sqlmodel."""
    if kind == "type" and isinstance(obj, AutoString):
        return "sa.String()"
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_item=render_item,
        **migration_options(connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("the read model's revisions inspect the database: --sql is not supported")
given = config.attributes.get("connection")
if given is not None:
    run(given)
else:
    if config.config_file_name is not None:
        fileConfig(config.config_file_name)
    engine = open_engine(config.get_main_option("sqlalchemy.url") or get_settings().db_url)
    try:
        with schema_lock(engine) as conn:
            run(conn)
    finally:
        engine.dispose()
