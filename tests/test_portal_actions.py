"""The portal's actions on a claim against a running worker: a denied claimant appeals from
the page (update `appeal`, the claim goes to a panel) and files a complaint about the claim
(a ComplaintWorkflow naming it); the page offers no appeal before a denial."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from client import start_claim
from portal import tokens
from portal.actions import Messages
from portal.app import create_app
from portal.web import Portal
from readmodel import queries as readmodel
from tests.claimtools import decide, handle_for, wait_stage
from tests.factories import medical_report


@pytest.fixture
async def live(dev: Any) -> AsyncIterator[Portal]:
    async def connect() -> Any:
        return dev.client

    yield Portal(dev.settings, dev.engine, Messages(connect, dev.task_queue))


def browser(state: Portal) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(state)),
        base_url="http://portal.test",
        headers={"accept-language": "en"},
        follow_redirects=True,
    )


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


async def page_until(b: httpx.AsyncClient, url: str, text: str, timeout: float = 20) -> str:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    page = ""
    while loop.time() < end:
        page = (await b.get(url)).text
        if text in page:
            return page
        await asyncio.sleep(0.2)
    raise AssertionError(f"the page never said {text!r}")


async def denied_claim(dev: Any) -> str:
    """A claim for a human approver, denied under a clause; the denial letter sent."""
    report = medical_report(
        amount_claimed=Decimal("8000.00"),
        items=[{"category": "treatment", "description": "治疗费", "amount": "8000.00"}],
    )
    await start_claim(dev.client, report, dev.task_queue)
    assert report.claim_id
    await wait_stage(dev.client, report.claim_id, "PENDING_APPROVAL")
    handle = handle_for(dev.client, report.claim_id)
    await decide(handle, "sup1", "reject", clause="MED-2.2", note="既往症")
    await wait_stage(dev.client, report.claim_id, "DENIAL_NOTIFIED")
    return report.claim_id


async def test_a_denied_claimant_appeals_from_the_page(live: Portal, dev: Any) -> None:
    claim_id = await denied_claim(dev)
    link = f"/c/{tokens.issue(engine=live.db, claim_id=claim_id)}"
    async with browser(live) as b:
        page = await page_until(b, link, "Appeal the decision")
        assert "letter of denial" in page  # the letter is there to read
        done = await b.post(
            f"{link}/appeal", data={"csrf": csrf_of(page), "reason": "首诊在投保后，附新病历"}
        )
        assert "We have received your appeal." in done.text
        st = await wait_stage(dev.client, claim_id, "APPEALED", "PENDING_APPROVAL")
        assert st.appeal_reason == "首诊在投保后，附新病历"
        loop = asyncio.get_running_loop()
        end = loop.time() + 20
        while "Send the appeal" in (await b.get(link)).text:  # not offered twice
            assert loop.time() < end, "the page still offers the appeal"
            await asyncio.sleep(0.2)


async def test_a_claimant_complains_about_the_claim_from_the_page(live: Portal, dev: Any) -> None:
    report = medical_report(materials=[])
    await start_claim(dev.client, report, dev.task_queue)
    assert report.claim_id
    await wait_stage(dev.client, report.claim_id, "AWAITING_MATERIALS")
    link = f"/c/{tokens.issue(engine=live.db, claim_id=report.claim_id)}"
    async with browser(live) as b:
        page = await page_until(b, link, "Not happy with this claim?")
        assert "Appeal the decision" not in page  # nothing to appeal yet
        done = await b.post(
            f"{link}/complaint",
            data={
                "csrf": csrf_of(page),
                "category": "materials",
                "matter": "要求的材料太多",
                "remedy": "请说明原因",
            },
        )
        assert "We have received your complaint" in done.text
    loop = asyncio.get_running_loop()
    end = loop.time() + 20
    while not (found := readmodel.complaints_about(engine=live.db, claim_id=report.claim_id)):
        assert loop.time() < end, "no complaint about the claim"
        await asyncio.sleep(0.2)
    assert found[0].claim_id == report.claim_id and found[0].channel == "web"
    async with browser(live) as b:
        page = await page_until(b, link, "Your complaints")
    assert found[0].complaint_id in page
    assert found[0].stage not in page  # the complaint's step in plain words


async def test_an_appeal_before_a_denial_is_refused_on_the_page(live: Portal, dev: Any) -> None:
    report = medical_report(materials=[])
    await start_claim(dev.client, report, dev.task_queue)
    assert report.claim_id
    await wait_stage(dev.client, report.claim_id, "AWAITING_MATERIALS")
    link = f"/c/{tokens.issue(engine=live.db, claim_id=report.claim_id)}"
    async with browser(live) as b:
        page = await page_until(b, link, "Not happy with this claim?")
        refused = await b.post(f"{link}/appeal", data={"csrf": csrf_of(page), "reason": "x"})
    assert refused.status_code == 409
    assert "An appeal cannot be made now." in refused.text
