"""The claimant portal (DOMAIN §11) over HTTP: the link that opens a claim and the one plain
page for any link that does not, the lookup limit, CSRF, languages, uploads checked and
stored content-addressed, the report form's messages; and against a running worker: a claim
reported on the page, its documents uploaded and sent as `submit_materials`, the claim
moving on; staff's `claims claim link / documents` and `claims document show`."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from cli import app as cli_app
from client import start_claim
from database import make_engine
from models.claim import ClaimReport, Material
from models.tables import ClaimRow
from portal import documents, guards, tokens
from portal.actions import Messages
from portal.app import create_app
from portal.web import Portal
from settings import Settings
from tests.claimtools import wait_stage
from tests.factories import ALL_MEDICAL, ZHANG, medical_report, recent_incident

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


class FakeMessages(Messages):
    """Records what the page would send to the engine."""

    def __init__(self) -> None:
        super().__init__(self._no_client, "q")
        self.sent: list[Any] = []

    async def _no_client(self) -> Any:
        raise AssertionError("no engine in this test")

    async def report(self, report: ClaimReport) -> tuple[str, bool]:
        self.sent.append(report)
        assert report.claim_id
        return report.claim_id, True

    async def submit_materials(self, claim_id: str, materials: list[Material]) -> None:
        self.sent.append((claim_id, materials))


def browser(state: Portal, **headers: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(state)),
        base_url="http://portal.test",
        headers=headers,
        follow_redirects=True,
    )


@pytest.fixture
def offline(tmp_path: Path) -> Portal:
    """The portal on an empty read model, with a fake engine."""
    s = Settings(data_dir=tmp_path / "data")
    return Portal(s, make_engine(s.db_url), FakeMessages())


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the form carries a CSRF token"
    return found.group(1)


def add_claim(state: Portal, claim_id: str, *, closed_at: datetime | None = None) -> None:
    report = medical_report(claim_id=claim_id, materials=[])
    status = {
        "claim_id": claim_id,
        "stage": "AWAITING_MATERIALS",
        "line": "medical",
        "incident_type": "outpatient",
        "policy_no": report.policy_no,
        "claimant_name": "张*",
        "channel": "web",
        "reported_at": datetime.now(UTC).isoformat(),
        "amount_claimed": "1800.00",
        "missing_materials": ["invoices", "expense_list"],
    }
    with Session(state.db) as s:
        s.add(
            ClaimRow(
                claim_id=claim_id,
                stage="AWAITING_MATERIALS",
                line="medical",
                incident_type="outpatient",
                policy_no=report.policy_no,
                claimant_name="张*",
                channel="web",
                reported_at=datetime.now(UTC),
                amount_claimed=report.amount_claimed,
                updated_at=datetime.now(UTC),
                closed_at=closed_at,
                status=status,
            )
        )
        s.commit()


# --------------------------------------------------------------------------------------------
# The link
# --------------------------------------------------------------------------------------------


async def test_a_link_opens_its_claim_in_plain_words(offline: Portal) -> None:
    add_claim(offline, "CLM-20261129-AAAAAA")
    token = tokens.issue(engine=offline.db, claim_id="CLM-20261129-AAAAAA")
    async with browser(offline, **{"accept-language": "en-GB,en;q=0.9"}) as b:
        page = (await b.get(f"/c/{token}")).text
    assert "We need some more documents from you." in page
    assert "medical invoices" in page and "itemised expense list" in page
    for code in ("AWAITING_MATERIALS", "R01", "L2", ">invoices<"):
        assert code not in page


async def test_unknown_expired_and_revoked_links_get_the_same_plain_page(offline: Portal) -> None:
    add_claim(offline, "CLM-20261129-BBBBBB", closed_at=datetime.now(UTC) - timedelta(days=91))
    add_claim(offline, "CLM-20261129-CCCCCC", closed_at=datetime.now(UTC) - timedelta(days=89))
    expired = tokens.issue(engine=offline.db, claim_id="CLM-20261129-BBBBBB")
    recent = tokens.issue(engine=offline.db, claim_id="CLM-20261129-CCCCCC")
    async with browser(offline) as b:
        pages = [await b.get(f"/c/{t}") for t in (expired, "x" * 43, "nope")]
        assert (await b.get(f"/c/{recent}")).status_code == 200
    assert {p.status_code for p in pages} == {404}
    # the same page, but for the address it was asked for (its language links)
    bodies = {re.sub(r'href="/c/[^"?]+', "", p.text) for p in pages}
    assert len(bodies) == 1
    assert "CLM-" not in pages[0].text


def test_only_the_tokens_digest_is_stored_and_a_link_lasts_90_days_after_closing(
    offline: Portal,
) -> None:
    add_claim(offline, "CLM-20261129-DDDDDD", closed_at=datetime(2026, 1, 1, tzinfo=UTC))
    token = tokens.issue(engine=offline.db, claim_id="CLM-20261129-DDDDDD")
    assert len(token) >= 43
    with offline.db.connect() as conn:
        stored = conn.exec_driver_sql("SELECT token_sha256 FROM portal_tokens").scalars().all()
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    at = datetime(2026, 3, 31, tzinfo=UTC)
    assert tokens.claim_of(engine=offline.db, token=token, now=at) == "CLM-20261129-DDDDDD"
    later = at + timedelta(days=2)
    assert tokens.claim_of(engine=offline.db, token=token, now=later) is None


async def test_token_lookups_are_limited_per_address(offline: Portal) -> None:
    add_claim(offline, "CLM-20261129-GGGGGG")
    token = tokens.issue(engine=offline.db, claim_id="CLM-20261129-GGGGGG")
    offline.lookups = guards.RateLimit(limit=3, window=60)
    async with browser(offline) as b:
        own = [(await b.get(f"/c/{token}")).status_code for _ in range(5)]
        codes = [(await b.get(f"/c/guess{n}")).status_code for n in range(5)]
        after = (await b.get(f"/c/{token}")).status_code
    assert own == [200] * 5  # reloading one's own page is not guessing
    assert codes == [404, 404, 404, 429, 429] and after == 429


def test_the_access_log_shows_no_token() -> None:
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        "",
        0,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/c/SECRET-token_1/letters/L1?lang=en", "1.1", 200),
        None,
    )
    guards.HideTokens().filter(record)
    assert "SECRET" not in record.getMessage()
    assert "/c/<token>/letters/L1" in record.getMessage()


# --------------------------------------------------------------------------------------------
# Forms
# --------------------------------------------------------------------------------------------


async def test_a_form_without_its_csrf_token_is_refused(offline: Portal) -> None:
    add_claim(offline, "CLM-20261129-EEEEEE")
    token = tokens.issue(engine=offline.db, claim_id="CLM-20261129-EEEEEE")
    async with browser(offline) as b:
        await b.get(f"/c/{token}")
        sent = await b.post(
            f"/c/{token}/documents", data={"csrf": "forged"}, files={"file_invoices": PDF}
        )
    assert sent.status_code == 403
    assert offline.messages.sent == []  # type: ignore[attr-defined]


async def test_language_follows_accept_language_then_the_choice_kept_in_a_cookie(
    offline: Portal,
) -> None:
    async with browser(offline, **{"accept-language": "en-US,en;q=0.8"}) as b:
        assert "Report a claim" in (await b.get("/")).text
        assert "开始报案" in (await b.get("/?lang=zh-CN")).text
        assert "开始报案" in (await b.get("/")).text  # kept
    async with browser(offline, **{"accept-language": "zh-CN,zh;q=0.9"}) as b:
        home = (await b.get("/")).text
    assert 'lang="zh-CN"' in home and 'name="viewport"' in home


async def test_uploads_are_checked_stored_by_digest_and_sent_as_materials(
    offline: Portal,
) -> None:
    add_claim(offline, "CLM-20261129-FFFFFF")
    token = tokens.issue(engine=offline.db, claim_id="CLM-20261129-FFFFFF")
    data_dir = offline.settings.data_dir
    async with browser(offline, **{"accept-language": "en"}) as b:
        csrf = csrf_of((await b.get(f"/c/{token}")).text)
        wrong = await b.post(
            f"/c/{token}/documents",
            data={"csrf": csrf},
            files={"file_invoices": ("invoice.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")},
        )
        big = await b.post(
            f"/c/{token}/documents",
            data={"csrf": csrf},
            files={"file_invoices": ("a.pdf", PDF + b"0" * documents.MAX_BYTES, "application/pdf")},
        )
        done = await b.post(
            f"/c/{token}/documents",
            data={"csrf": csrf},
            files={
                "file_invoices": ("张三-110101198001011234.pdf", PDF, "application/pdf"),
                "file_expense_list": ("list.png", PNG, "image/png"),
            },
        )
    assert wrong.status_code == 400 and "Only PDF, JPEG, PNG or HEIC" in wrong.text
    assert big.status_code in (400, 413) and "too large" in big.text
    assert done.status_code == 200 and "We have received your documents." in done.text
    digests = [hashlib.sha256(x).hexdigest() for x in (PDF, PNG)]
    for d in digests:
        assert (data_dir / "documents" / d[:2] / d).read_bytes() in (PDF, PNG)
    assert offline.messages.sent == [  # type: ignore[attr-defined]
        (
            "CLM-20261129-FFFFFF",
            [
                Material(kind="invoices", ref=digests[0]),
                Material(kind="expense_list", ref=digests[1]),
            ],
        )
    ]
    with offline.db.connect() as conn:
        names = conn.exec_driver_sql("SELECT name FROM portal_documents ORDER BY name").scalars()
        assert list(names) == ["document.pdf", "document.png"]  # no name, no id number kept


async def test_the_report_form_gives_one_message_per_field(offline: Portal) -> None:
    async with browser(offline, **{"accept-language": "en"}) as b:
        form = (await b.get("/report/medical/outpatient")).text
        sent = await b.post(
            "/report/medical/outpatient",
            data={
                "csrf": csrf_of(form),
                "policy_no": "P-MED-0001",
                "name": "",
                "id_no": "x",
                "phone": "13800000000",
                "occurred_at": "",
                "amount_claimed": "lots",
                "item_0_category": "treatment",
                "item_0_amount": "abc",
            },
        )
    assert sent.status_code == 400
    for field in ("name", "occurred_at", "amount_claimed"):
        assert f'id="{field}-error"' in sent.text
    assert "Please enter the name." in sent.text
    assert "The amount claimed should be an amount, e.g. 1800.00." in sent.text
    assert "The costs should be an amount, e.g. 1800.00." in sent.text
    assert offline.messages.sent == []  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# Against a running worker
# --------------------------------------------------------------------------------------------


@pytest.fixture
async def live(dev: Any) -> AsyncIterator[Portal]:
    async def connect() -> Any:
        return dev.client

    yield Portal(dev.settings, dev.engine, Messages(connect, dev.task_queue))


async def page_until(b: httpx.AsyncClient, url: str, text: str, timeout: float = 20) -> str:
    """The page once it says `text` (the read model follows the workflow)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    page = ""
    while loop.time() < end:
        page = (await b.get(url)).text
        if text in page:
            return page
        await asyncio.sleep(0.2)
    raise AssertionError(f"the page never said {text!r}:\n{page}")


async def test_a_claimant_reports_on_the_page_and_follows_the_link(live: Portal, dev: Any) -> None:
    occurred = recent_incident().strftime("%Y-%m-%dT%H:%M")
    async with browser(live, **{"accept-language": "en"}) as b:
        form = (await b.get("/report/medical/outpatient")).text
        reported = await b.post(
            "/report/medical/outpatient",
            data={
                "csrf": csrf_of(form),
                "claim_id": re.search(r'name="claim_id" value="([^"]+)"', form).group(1),  # type: ignore[union-attr]
                "policy_no": "P-MED-0001",
                **ZHANG,
                "occurred_at": occurred,
                "amount_claimed": "1800.00",
                "item_0_category": "treatment",
                "item_0_amount": "1800.00",
            },
        )
        assert reported.status_code == 200, reported.text
        link = re.search(r'id="claim-link" href="http://portal.test(/c/[^"]+)"', reported.text)
        assert link
        claim_id = re.search(r'class="claim-id">([^<]+)<', reported.text).group(1)  # type: ignore[union-attr]
        await wait_stage(dev.client, claim_id, "AWAITING_MATERIALS")
        page = await page_until(b, link.group(1), "We need some more documents")
        assert "medical invoices" in page


async def test_uploading_what_is_missing_moves_the_claim_on(
    live: Portal, dev: Any, cli_env: Any
) -> None:
    report = medical_report(materials=[{"kind": k, "ref": f"scan-{k}"} for k in ALL_MEDICAL[:4]])
    await start_claim(dev.client, report, dev.task_queue)
    assert report.claim_id
    await wait_stage(dev.client, report.claim_id, "AWAITING_MATERIALS")
    token = tokens.issue(engine=live.db, claim_id=report.claim_id)
    async with browser(live, **{"accept-language": "zh-CN"}) as b:
        page = await page_until(b, f"/c/{token}", "还需要的材料")
        done = await b.post(
            f"/c/{token}/documents",
            data={"csrf": csrf_of(page)},
            files={
                "file_invoices": ("invoices.pdf", PDF, "application/pdf"),
                "file_expense_list": ("list.png", PNG, "image/png"),
            },
        )
        assert "我们已收到您上传的材料" in done.text
        st = await wait_stage(
            dev.client,
            report.claim_id,
            "UNDER_REVIEW",
            "ADJUSTING",
            "PENDING_APPROVAL",
            "APPROVED",
            "PAYING",
            "PAID",
            "CLOSED",
        )
        assert not st.missing_materials
        page = await page_until(b, f"/c/{token}", "医疗费用发票 —")
        assert "还需要的材料" not in page

    runner = CliRunner()
    listed = await asyncio.to_thread(
        runner.invoke, cli_app, ["claim", "documents", report.claim_id]
    )
    assert listed.exit_code == 0, listed.output
    assert hashlib.sha256(PNG).hexdigest() in listed.output and "2 document(s)" in listed.output
    shown = await asyncio.to_thread(
        runner.invoke, cli_app, ["document", "show", hashlib.sha256(PDF).hexdigest()]
    )
    assert shown.exit_code == 0 and "application/pdf" in shown.output
    linked = await asyncio.to_thread(runner.invoke, cli_app, ["claim", "link", report.claim_id])
    assert linked.exit_code == 0
    new = linked.output.strip().rsplit("/c/", 1)[1]
    assert tokens.claim_of(engine=live.db, token=new) == report.claim_id
