"""The staff commands read the read model through the DB-API (readmodel/sql.py, readmodel/reads.py)
and start without SQLAlchemy: the same rows as the table models give, the same URL as the
settings, the same newest revision as Alembic, and the same words when the read model cannot be
read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

import database
from bench import readmodel
from database import make_engine
from models.tables import ClaimRow, ComplaintRow, LetterRow, StaffRow, WorkItemRow
from readmodel import reads, rows, sql
from readmodel.sql import ReadModel, read_model_url
from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("CLAIMS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"CLAIMS_DATA_DIR": "elsewhere"},
        {"CLAIMS_DATA_DIR": ""},
        {"claims_data_dir": "lower/case"},
        {"DATA_DIR": "by/its/field/name"},
        {"CLAIMS_DATA_DIR": "first", "DATA_DIR": "second"},
        {"CLAIMS_DATABASE_URL": "postgresql+psycopg://u:p@db:5432/claims"},
        {"CLAIMS_DATABASE_URL": "sqlite:////srv/claims.db", "CLAIMS_DATA_DIR": "ignored"},
        {"CLAIMS_DATABASE_URL": "", "CLAIMS_DATA_DIR": "empty/url"},
        {"DATABASE_URL": "postgresql://u@db/claims"},
        {"Claims_Database_Url": "sqlite:////mixed/case.db"},
        {"CLAIMS_DATABASE_URL": "sqlite:////a.db", "DATABASE_URL": "sqlite:////b.db"},
    ],
    ids=str,
)
def test_the_read_model_url_is_the_settings_own(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, env: dict[str, str]
) -> None:
    for name in [k for k in os.environ if k.upper() in (*sql.URL_NAMES, *sql.DATA_DIR_NAMES)]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert read_model_url() == Settings().db_url
    assert read_model_url(env) == Settings().db_url


def test_the_newest_revision_is_alembics(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sql.head_revision() == database.head_revision()
    # A new revision is found as Alembic finds it: the one no other revision follows.
    versions = tmp_path / "versions"
    shutil.copytree(sql.MIGRATIONS, versions)
    head = database.head_revision()
    (versions / "0099_next.py").write_text(
        f'"""A later change."""\n\nrevision: str = "0099"\ndown_revision: str | None = "{head}"\n'
    )
    monkeypatch.setattr(sql, "MIGRATIONS", versions)
    assert sql.head_revision() == "0099"


@pytest.fixture(params=["sqlite", "postgresql"])
def book(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Engine, str]]:
    """A generated read model (claims, work items, recusals, staff), with letters and a
    complaint on its first claim; the engine and its URL."""
    if request.param == "postgresql":
        place: Any = readmodel.scratch_postgres(PG_URL)
    else:
        place = nullcontext(f"sqlite:///{tmp_path / 'book.db'}")
    with place as url:
        engine = make_engine(url)
        readmodel.populate(engine, 300, 300)
        _letters_and_a_complaint(engine)
        try:
            yield engine, url
        finally:
            database.engine_for(url).dispose()
            engine.dispose()


def _letters_and_a_complaint(engine: Engine) -> None:
    from datetime import UTC, datetime, timedelta

    at = datetime(2026, 11, 20, 3, 4, 5, 123456, tzinfo=UTC)
    with Session(engine) as s:
        for i in range(3):
            s.add(
                LetterRow(
                    letter_id=f"L-{i}",
                    case_id="CLM-B0000001",
                    kind="acknowledgement",
                    language="zh-CN",
                    channel="sms",
                    recipient="13800001234 张三",
                    sent_at=at - timedelta(hours=i),
                    sha256="ab" * 32,
                    path=f"/letters/{i}.txt",
                    body="您好",
                )
            )
        s.add(
            ComplaintRow(
                complaint_id="CMP-1",
                stage="RECEIVED",
                channel="phone",
                category="payment_timeliness",
                claim_id="CLM-B0000001",
                complainant_name="张三",
                received_at=at,
                updated_at=at,
                upheld=True,
                status={"complaint_id": "CMP-1"},
            )
        )
        s.commit()


def _same(records: list[Any], rows: list[Any]) -> None:
    """Each record holds the table row's values, of the same types."""
    assert len(records) == len(rows)
    for record, row in zip(records, rows, strict=True):
        for name in record.fields:
            mine, theirs = getattr(record, name), getattr(row, name)
            assert (mine, type(mine)) == (theirs, type(theirs)), name


def test_the_rows_are_the_table_models_rows(book: tuple[Engine, str]) -> None:
    engine, url = book
    with Session(engine) as s:
        claims = list(s.exec(select(ClaimRow).order_by(ClaimRow.reported_at.desc())))  # type: ignore[attr-defined]
        letters = list(s.exec(select(LetterRow).order_by(LetterRow.sent_at)))  # type: ignore[arg-type]
        staff = list(s.exec(select(StaffRow).order_by(StaffRow.staff_id)))  # type: ignore[arg-type]
        complaints = list(s.exec(select(ComplaintRow)))
        item = s.exec(select(WorkItemRow).where(WorkItemRow.state == "open")).first()
    assert item is not None
    for source in (engine, ReadModel(url)):
        _same(reads.claims(engine=source, limit=1000), claims)
        _same([reads.claim(engine=source, claim_id=claims[7].claim_id)], [claims[7]])
        _same(reads.letters_of(engine=source, case_id="CLM-B0000001"), letters)
        _same(reads.staff(engine=source), staff)
        _same(reads.complaints_about(engine=source, claim_id="CLM-B0000001"), complaints)
        queue = reads.open_items(engine=source, person=None, limit=1000)
        _same([w for w in queue if w.key == item.key], [item])
    assert reads.claim(engine=ReadModel(url), claim_id="CLM-NONE") is None
    assert reads.staff_member(engine=ReadModel(url), staff_id="nobody") is None


@pytest.mark.parametrize("person", [None, "sup1", "adj1", "mgr1", "inv1"])
def test_the_queue_and_the_lists_are_the_same_by_url_and_by_engine(
    book: tuple[Engine, str], person: str | None
) -> None:
    engine, url = book
    by_engine = reads.open_items(engine=engine, person=person, limit=50)
    assert by_engine == reads.open_items(engine=ReadModel(url), person=person, limit=50)
    for stage, line in ((None, None), ("pending_approval", None), ("CLOSED", "auto")):
        listed = reads.claims(engine=engine, stage=stage, line=line, limit=20)
        assert listed == reads.claims(engine=ReadModel(url), stage=stage, line=line, limit=20)
        assert listed and all(c.stage == (stage or c.stage).upper() for c in listed)


def _claims(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "120", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_read_model_at_an_unknown_revision_is_refused_in_the_same_words(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    done = _claims(["tasks"], {"CLAIMS_DATABASE_URL": url})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: RuntimeError: the read model is at revision 9999, which this release does not "
        "know (a newer release upgraded it): run that release or restore a backup"
    ]


def test_a_read_model_behind_is_upgraded_first(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'claims.db'}"
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE letter_box"))  # as revision 0003 left it
        conn.execute(text("DROP TABLE notices"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    engine.dispose()
    assert reads.staff(engine=ReadModel(url)) == []
    assert database.schema_state(make_engine(url))[0] == sql.head_revision()


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("postgresql://postgres@127.0.0.1:1/test", "error: the read model: connection failed:"),
        ("broken", "error: the read model: no such table: work_items"),
    ],
)
def test_a_read_model_that_cannot_be_read_is_one_line(tmp_path: Path, url: str, said: str) -> None:
    if url == "broken":
        url = f"sqlite:///{tmp_path / 'claims.db'}"
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE work_items"))
        engine.dispose()
    done = _claims(["tasks"], {"CLAIMS_DATABASE_URL": url})
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith(said)


@pytest.mark.parametrize(
    ("record", "table"),
    [
        (rows.ClaimRecord, ClaimRow),
        (rows.WorkItem, WorkItemRow),
        (rows.Letter, LetterRow),
        (rows.StaffMember, StaffRow),
        (rows.ComplaintRecord, ComplaintRow),
    ],
    ids=lambda v: v.__name__,
)
def test_each_record_has_its_tables_columns(record: type[Any], table: type[Any]) -> None:
    """A column added to a table (with its revision) is added to its record too."""
    assert list(record.fields) == list(table.__table__.columns.keys())
