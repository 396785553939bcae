"""The claim page's content without an engine: letters to read and download (a letter of
another claim, or a file outside the letters folder, is never served), the payment with the
account masked, a paused deadline and why, an engine that cannot be reached, an ended claim
that asks for nothing more, a report form sent twice."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session

import demo
from database import make_engine
from models.claim import ClaimReport
from models.tables import ClaimRow, LetterRow, PaymentRow
from portal import tokens
from portal.actions import ActionRefused, Messages
from portal.web import Portal
from settings import Settings
from tests.factories import ZHANG, recent_incident
from tests.test_portal import PDF, FakeMessages, add_claim, browser, csrf_of


class Unreachable(Messages):
    def __init__(self) -> None:
        super().__init__(self._connect, "q")

    async def _connect(self) -> Any:
        raise OSError("connection refused")


class SeenBefore(FakeMessages):
    async def report(self, report: ClaimReport) -> tuple[str, bool]:
        assert report.claim_id
        return report.claim_id, False


@pytest.fixture
def state(tmp_path: Path) -> Portal:
    s = Settings(data_dir=tmp_path / "data")
    return Portal(s, make_engine(s.db_url), FakeMessages())


def add_letter(state: Portal, claim_id: str, letter_id: str, path: str, body: str) -> None:
    with Session(state.db) as s:
        s.add(
            LetterRow(
                letter_id=letter_id,
                case_id=claim_id,
                kind="denial",
                language="en",
                channel="email",
                recipient="claimant",
                sent_at=datetime.now(UTC),
                sha256="0" * 64,
                path=path,
                body=body,
            )
        )
        s.commit()


async def test_letters_are_read_and_downloaded_only_from_their_claim(state: Portal) -> None:
    add_claim(state, "CLM-20261129-AAAAA1")
    add_claim(state, "CLM-20261129-AAAAA2")
    filed = state.settings.letters_dir / "CLM-20261129-AAAAA1" / "L-1.txt"
    filed.parent.mkdir(parents=True)
    filed.write_text("the filed letter", encoding="utf-8")
    outside = state.settings.data_dir / "secret.txt"
    outside.write_text("not a letter", encoding="utf-8")
    add_letter(state, "CLM-20261129-AAAAA1", "L-1", str(filed), "the letter's body")
    add_letter(state, "CLM-20261129-AAAAA1", "L-2", str(outside), "the recorded body")
    add_letter(state, "CLM-20261129-AAAAA2", "L-3", str(filed), "another claim's letter")
    token = tokens.issue(engine=state.db, claim_id="CLM-20261129-AAAAA1")
    async with browser(state, **{"accept-language": "en"}) as b:
        page = (await b.get(f"/c/{token}")).text
        assert "letter of denial" in page
        assert "the letter&#39;s body" in (await b.get(f"/c/{token}/letters/L-1")).text
        download = await b.get(f"/c/{token}/letters/L-1?download=1")
        assert download.text == "the filed letter"
        assert download.headers["content-disposition"] == 'attachment; filename="L-1.txt"'
        kept = await b.get(f"/c/{token}/letters/L-2?download=1")
        assert kept.text == "the recorded body"  # never the file outside the letters folder
        other = await b.get(f"/c/{token}/letters/L-3")
        assert other.status_code == 404 and "another claim" not in other.text


async def test_the_payment_shows_the_amount_and_a_masked_account(state: Portal) -> None:
    add_claim(state, "CLM-20261129-BBBBB1")
    with Session(state.db) as s:
        s.add(
            PaymentRow(
                idempotency_key="k1",
                claim_id="CLM-20261129-BBBBB1",
                seq=1,
                policy_no="P-MED-0001",
                amount=Decimal("12345.6"),
                payee="claimant",
                account_ref="6222020000009876",
                reference="REF-1",
                paid_at=datetime(2026, 11, 29, 16, 30, tzinfo=UTC),
            )
        )
        s.commit()
    token = tokens.issue(engine=state.db, claim_id="CLM-20261129-BBBBB1")
    async with browser(state, **{"accept-language": "en"}) as b:
        page = (await b.get(f"/c/{token}")).text
    assert "¥12,345.60" in page and "**** 9876" in page
    assert "6222020000009876" not in page
    assert "2026-11-30 00:30 (Asia/Shanghai time)" in page


async def test_a_paused_deadline_says_why(state: Portal) -> None:
    add_claim(state, "CLM-20261129-CCCCC1")
    with Session(state.db) as s:
        row = s.get(ClaimRow, "CLM-20261129-CCCCC1")
        assert row is not None
        now = datetime.now(UTC)
        pause = {"reason": "awaiting materials", "since": now.isoformat(), "until": None}
        clock = {"started_at": now.isoformat(), "due_at": (now + timedelta(days=30)).isoformat()}
        row.status = {
            **row.status,
            "deadlines": [
                {
                    **clock,
                    "name": "determination",
                    "days_left": 30,
                    "status": "paused",
                    "pauses": [pause],
                },
                {**clock, "name": "payment", "days_left": 10, "status": "running"},
            ],
        }
        s.add(row)
        s.commit()
    token = tokens.issue(engine=state.db, claim_id="CLM-20261129-CCCCC1")
    async with browser(state, **{"accept-language": "zh-CN"}) as b:
        page = (await b.get(f"/c/{token}")).text
    assert "核定是否赔付</strong>:" in page and "暂停 — 等待您补充材料" in page
    assert re.search(r"支付赔款</strong>:\s*最迟 \d{4}-\d\d-\d\d \d\d:\d\d \(北京时间\)", page)


async def test_an_engine_that_cannot_be_reached_is_a_plain_message(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "data")
    state = Portal(s, make_engine(s.db_url), Unreachable())
    with pytest.raises(ActionRefused, match="connection refused"):
        await state.messages.appeal("CLM-1", "")
    add_claim(state, "CLM-20261129-DDDDD1")
    token = tokens.issue(engine=state.db, claim_id="CLM-20261129-DDDDD1")
    async with browser(state, **{"accept-language": "en"}) as b:
        csrf = csrf_of((await b.get(f"/c/{token}")).text)
        sent = await b.post(
            f"/c/{token}/documents", data={"csrf": csrf}, files={"file_invoices": PDF}
        )
    assert sent.status_code == 503
    assert "We cannot take this right now" in sent.text and "refused" not in sent.text


async def test_a_report_the_engine_cannot_take_now_says_so_in_plain_words(tmp_path: Path) -> None:
    """The server's own error text (an address, "connection refused") never reaches the
    claimant's page; the form comes back with what they typed and a plain message."""
    s = Settings(data_dir=tmp_path / "data")
    state = Portal(s, make_engine(s.db_url), Unreachable())
    demo.load(state.db, keys_file=s.staff_keys_file, keys_dir=s.staff_keys_dir)
    async with browser(state, **{"accept-language": "en"}) as b:
        form = (await b.get("/report/medical/outpatient")).text
        sent = await b.post(
            "/report/medical/outpatient",
            data={
                "csrf": csrf_of(form),
                "policy_no": "P-MED-0001",
                **ZHANG,
                "occurred_at": recent_incident().strftime("%Y-%m-%dT%H:%M"),
                "amount_claimed": "100.00",
            },
        )
    assert sent.status_code == 503
    assert "We cannot take this right now" in sent.text
    assert "refused" not in sent.text and "P-MED-0001" in sent.text


async def test_an_ended_claim_asks_for_nothing_and_takes_no_upload(state: Portal) -> None:
    add_claim(state, "CLM-20261129-EEEEE1")
    with Session(state.db) as s:
        row = s.get(ClaimRow, "CLM-20261129-EEEEE1")
        assert row is not None
        row.stage = "LAPSED"
        row.status = {**row.status, "stage": "LAPSED"}
        s.add(row)
        s.commit()
    token = tokens.issue(engine=state.db, claim_id="CLM-20261129-EEEEE1")
    async with browser(state, **{"accept-language": "en"}) as b:
        page = (await b.get(f"/c/{token}")).text
        assert "Still needed" not in page
        sent = await b.post(
            f"/c/{token}/documents", data={"csrf": csrf_of(page)}, files={"file_invoices": PDF}
        )
    assert sent.status_code == 409 and "documents can no longer be sent" in sent.text


async def test_a_report_sent_twice_gives_no_second_link(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path / "data")
    state = Portal(s, make_engine(s.db_url), SeenBefore())
    demo.load(state.db, keys_file=s.staff_keys_file, keys_dir=s.staff_keys_dir)
    async with browser(state, **{"accept-language": "en"}) as b:
        form = (await b.get("/report/medical/outpatient")).text
        sent = await b.post(
            "/report/medical/outpatient",
            data={
                "csrf": csrf_of(form),
                "policy_no": "P-MED-0001",
                **ZHANG,
                "occurred_at": recent_incident().strftime("%Y-%m-%dT%H:%M"),
                "amount_claimed": "100.00",
            },
        )
    assert sent.status_code == 200 and "already sent" in sent.text
    assert "/c/" not in sent.text
    with state.db.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM portal_tokens").scalar() == 0


def test_staff_commands_refuse_in_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from cli import app
    from settings import get_settings

    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("CLAIMS_PORTAL_URL", "https://claims.example.com/")
    get_settings.cache_clear()
    try:
        make_engine(get_settings().db_url)
        runner = CliRunner()
        unknown = runner.invoke(app, ["claim", "link", "CLM-NOPE"])
        assert unknown.exit_code == 1 and unknown.output == "error: unknown claim CLM-NOPE\n"
        bad = runner.invoke(app, ["document", "show", "../../etc/passwd"])
        assert bad.exit_code == 1 and "sha256 (64 hex digits)" in bad.output
        absent = runner.invoke(app, ["document", "show", "ab" * 32])
        assert absent.exit_code == 1 and f"no document {'ab' * 32}" in absent.output
        state = Portal(get_settings(), make_engine(get_settings().db_url), FakeMessages())
        add_claim(state, "CLM-20261129-FFFFF1")
        linked = runner.invoke(app, ["claim", "link", "CLM-20261129-FFFFF1"])
        assert linked.exit_code == 0
        assert re.fullmatch(r"https://claims\.example\.com/c/[A-Za-z0-9_-]{43}\n", linked.output)
        first = linked.output.strip().rsplit("/c/", 1)[1]
        again = runner.invoke(app, ["claim", "link", "CLM-20261129-FFFFF1", "--revoke"])
        assert again.exit_code == 0
        second = again.stdout.strip().rsplit("/c/", 1)[1]
        assert tokens.claim_of(engine=state.db, token=first) is None  # revoked
        assert tokens.claim_of(engine=state.db, token=second) == "CLM-20261129-FFFFF1"
        listed = runner.invoke(app, ["claim", "documents", "CLM-20261129-FFFFF1", "--json"])
        assert listed.exit_code == 0 and listed.output.strip() == "[]"
    finally:
        get_settings.cache_clear()


async def test_a_body_over_the_limit_is_refused_even_without_a_length() -> None:
    from collections.abc import AsyncIterator

    import httpx
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from portal.guards import BodyLimit

    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(len(await request.body())))

    app = Starlette(
        routes=[Route("/", echo, methods=["POST"])], middleware=[Middleware(BodyLimit, limit=100)]
    )

    async def chunks(n: int) -> AsyncIterator[bytes]:
        for _ in range(n):
            yield b"x" * 30

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        assert (await c.post("/", content=b"x" * 100)).text == "100"
        assert (await c.post("/", content=b"x" * 101)).status_code == 413
        assert (await c.post("/", content=chunks(3))).text == "90"
        assert (await c.post("/", content=chunks(4))).status_code == 413


async def test_documents_sent_with_the_report_go_as_its_materials(tmp_path: Path) -> None:
    import hashlib

    s = Settings(data_dir=tmp_path / "data")
    state = Portal(s, make_engine(s.db_url), FakeMessages())
    demo.load(state.db, keys_file=s.staff_keys_file, keys_dir=s.staff_keys_dir)
    async with browser(state, **{"accept-language": "en"}) as b:
        form = (await b.get("/report/medical/outpatient")).text
        assert 'id="file_invoices"' in form and 'enctype="multipart/form-data"' in form
        fields = {
            "csrf": csrf_of(form),
            "claim_id": "CLM-20261129-ABCDEF",
            "policy_no": "P-MED-0001",
            **ZHANG,
            "occurred_at": recent_incident().strftime("%Y-%m-%dT%H:%M"),
            "amount_claimed": "100.00",
        }
        refused = await b.post(
            "/report/medical/outpatient", data=fields, files={"file_invoices": b"GIF89a"}
        )
        assert refused.status_code == 400 and 'id="documents-error"' in refused.text
        sent = await b.post(
            "/report/medical/outpatient",
            data=fields,
            files={"file_invoices": ("a.pdf", PDF), "file_photos": ("x.pdf", PDF + b"1")},
        )
    assert sent.status_code == 200 and 'id="claim-link"' in sent.text
    report = state.messages.sent[-1]  # type: ignore[attr-defined]
    digest = hashlib.sha256(PDF).hexdigest()
    assert [m.model_dump(exclude_none=True) for m in report.materials] == [
        {"kind": "invoices", "ref": digest}  # a kind this report does not ask for is left out
    ]
    with state.db.connect() as conn:
        rows = conn.exec_driver_sql("SELECT claim_id, kind, sha256 FROM portal_documents").all()
    assert [tuple(r) for r in rows] == [("CLM-20261129-ABCDEF", "invoices", digest)]


async def test_one_file_may_be_sent_as_two_documents(state: Portal) -> None:
    """One scan of the invoices and the expense list: stored once, received as both."""
    import hashlib

    add_claim(state, "CLM-20261129-HHHHH1")
    token = tokens.issue(engine=state.db, claim_id="CLM-20261129-HHHHH1")
    async with browser(state, **{"accept-language": "en"}) as b:
        csrf = csrf_of((await b.get(f"/c/{token}")).text)
        sent = await b.post(
            f"/c/{token}/documents",
            data={"csrf": csrf},
            files=[("file_invoices", ("scan.pdf", PDF)), ("file_expense_list", ("scan.pdf", PDF))],
        )
    assert sent.status_code == 200
    digest = hashlib.sha256(PDF).hexdigest()
    _, materials = state.messages.sent[-1]  # type: ignore[attr-defined]
    assert [(m.kind, m.ref) for m in materials] == [("invoices", digest), ("expense_list", digest)]
    with state.db.connect() as conn:
        kinds = conn.exec_driver_sql("SELECT kind FROM portal_documents ORDER BY kind").scalars()
        assert list(kinds) == ["expense_list", "invoices"]
    assert len(list((state.settings.data_dir / "documents").rglob("*"))) == 2  # a folder, a file
