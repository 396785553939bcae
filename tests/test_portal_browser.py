"""The portal in a real browser (Playwright driving Debian's chromium, on a phone-sized
screen): a claimant reports a claim with the documents they have, opens the link from the
acknowledgement email (caught by the test's SMTP server), uploads the two still needed and
sees the claim move on; a denied claimant appeals; a wrong link shows nothing."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from portal.actions import Messages
from portal.app import create_app
from portal.web import Portal
from tests.claimtools import wait_stage
from tests.factories import ZHANG, recent_incident
from tests.test_claim_notices import settings, smtp  # noqa: F401  (the worker sends email)
from tests.test_notices import Inbox

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update"]
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="/usr/bin/chromium is not installed (apt-get install chromium fonts-noto-cjk)",
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
async def site(dev: Any) -> AsyncIterator[str]:
    """The portal served over HTTP in the test's event loop, on the test's worker."""

    async def connect() -> Any:
        return dev.client

    app = create_app(Portal(dev.settings, dev.engine, Messages(connect, dev.task_queue)))
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def phone() -> AsyncIterator[Any]:
    """A phone-sized page in English."""
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = await browser.new_context(
            viewport={"width": 390, "height": 844}, locale="en-US", is_mobile=True
        )
        yield await context.new_page()
        await browser.close()


async def reload_until(page: Any, text: str, timeout: float = 30) -> None:
    """Reload until the page says `text` (the read model follows the workflow)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while text not in await page.content():
        if loop.time() > end:
            raise AssertionError(f"the page never said {text!r}")
        await asyncio.sleep(0.3)
        await page.reload()


async def reload_until_gone(page: Any, *texts: str, timeout: float = 30) -> None:
    """Reload until the page says none of `texts`."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        html = await page.content()
        if not any(t in html for t in texts):
            return
        if loop.time() > end:
            raise AssertionError(f"the page still says one of {texts}")
        await asyncio.sleep(0.3)
        await page.reload()


async def link_in_email(inbox: Inbox, claim_id: str, timeout: float = 30) -> str:
    """The page link in the claim's acknowledgement email, once it has arrived."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while True:
        for mail in inbox.mails:
            body = mail.get_body(preferencelist=("plain",))
            text = body.get_content() if body is not None else ""
            if claim_id in text and "/c/" in text:
                found = re.search(r"https?://\S+/c/[A-Za-z0-9_-]{43}", text)
                assert found, text
                return found.group(0)
        if loop.time() > end:
            raise AssertionError("no acknowledgement email with the page link arrived")
        await asyncio.sleep(0.3)


@pytest.mark.timeout(180)
async def test_a_claimant_reports_uploads_and_sees_the_claim_move_on(
    site: str,
    phone: Any,
    dev: Any,
    smtp: tuple[Inbox, str],  # noqa: F811  (the fixture imported above)
    tmp_path: Path,
) -> None:
    page = phone
    await page.goto(f"{site}/report")
    await page.get_by_role("link", name="outpatient treatment").click()
    await page.fill("#policy_no", "P-MED-0001")
    await page.fill("#name", ZHANG["name"])
    await page.fill("#id_no", ZHANG["id_no"])
    await page.fill("#phone", ZHANG["phone"])
    await page.fill("#email", "zhangsan@example.com")
    await page.fill("#occurred_at", recent_incident().strftime("%Y-%m-%dT%H:%M"))
    await page.fill("#amount_claimed", "1800.00")
    await page.fill("[name=item_0_amount]", "1800.00")
    later = ("invoices", "expense_list")  # the two documents the claimant sends later
    kinds = [await i.get_attribute("name") for i in await page.locator("input[type=file]").all()]
    for n, name in enumerate(kinds):
        assert name
        body = PNG + bytes([n]) if n % 2 else PDF + bytes([n])
        (tmp_path / f"{name}.bin").write_bytes(body)
        if name.removeprefix("file_") not in later:  # the others go with the report
            await page.set_input_files(f"#{name}", tmp_path / f"{name}.bin")
    await page.get_by_role("button", name="Send the report").click()
    await page.wait_for_selector("#claim-link")
    claim_id = (await page.inner_text(".claim-id")).strip()
    link = await page.get_attribute("#claim-link", "href")
    assert link and re.fullmatch(rf"{re.escape(site)}/c/[A-Za-z0-9_-]{{43}}", link)
    assert claim_id not in link  # nothing about the claim in the address

    st = await wait_stage(dev.client, claim_id, "AWAITING_MATERIALS")
    assert sorted(st.missing_materials) == sorted(later)
    # the claimant comes back later through the link in the acknowledgement email
    emailed = await link_in_email(smtp[0], claim_id)
    assert claim_id not in emailed.rsplit("/c/", 1)[1]
    await page.goto(emailed.replace(emailed.split("/c/")[0], site))
    await reload_until(page, "We need some more documents from you.")
    assert "medical invoices" in await page.inner_text(".missing")
    for kind in later:  # two documents, from the claim's page
        await page.set_input_files(f"#file_{kind}", tmp_path / f"file_{kind}.bin")
    await page.get_by_role("button", name="Upload").click()
    await page.wait_for_selector("text=We have received your documents.")
    await reload_until_gone(page, "Still needed", "We need some more")  # moved on
    html = await page.content()
    assert "Where it is" in html and "medical invoices —" in html  # among those received
    st = await wait_stage(
        dev.client,
        claim_id,
        *("UNDER_REVIEW", "ADJUSTING", "PENDING_APPROVAL", "APPROVED", "PAYING", "PAID"),
        "CLOSED",
    )
    assert not st.missing_materials


@pytest.mark.timeout(120)
async def test_a_wrong_link_shows_nothing(site: str, phone: Any) -> None:
    response = await phone.goto(f"{site}/c/{'A' * 43}")
    assert response.status == 404
    text = await phone.inner_text("main")
    assert "This page cannot be opened" in text
    assert "CLM-" not in text


@pytest.mark.timeout(180)
async def test_a_denied_claimant_appeals(site: str, phone: Any, dev: Any) -> None:
    from portal import tokens
    from tests.test_portal_actions import denied_claim

    claim_id = await denied_claim(dev)
    link = f"{site}/c/{tokens.issue(engine=dev.engine, claim_id=claim_id)}"
    await phone.goto(link)
    await reload_until(phone, "Appeal the decision")
    await phone.get_by_role("link", name="letter of denial").click()
    assert "Download" in await phone.inner_text("main")
    await phone.go_back()
    await phone.fill("#reason", "The first visit was after the policy began; new records attached.")
    await phone.get_by_role("button", name="Send the appeal").click()
    await phone.wait_for_selector("text=We have received your appeal.")
    await wait_stage(dev.client, claim_id, "APPEALED", "PENDING_APPROVAL")
    await reload_until_gone(phone, "Send the appeal")
