"""Screenshots of every portal page, in zh-CN and en, on a phone-sized screen, written to
docs/screenshots/ (the README links them). The pages are served from a scratch data folder
with the demo data and sample claims in the read model; nothing reaches Temporal (the report
form's answer comes from a stand-in that takes the report).

    .venv/bin/python scripts/portal_screenshots.py [--out docs/screenshots]

Needs Debian's chromium (/usr/bin/chromium) and fonts-noto-cjk for the Chinese pages.
"""

from __future__ import annotations

import argparse
import socket
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import uvicorn
from playwright.sync_api import Page, sync_playwright
from sqlalchemy.engine import Engine
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import demo  # noqa: E402
from database import make_engine  # noqa: E402
from models.claim import ClaimReport  # noqa: E402
from models.tables import ClaimRow, LetterRow, PaymentRow  # noqa: E402
from portal import tokens  # noqa: E402
from portal.actions import Messages  # noqa: E402
from portal.app import create_app  # noqa: E402
from portal.web import Portal  # noqa: E402
from settings import Settings  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update"]
NOW = datetime.now(UTC).replace(microsecond=0)


class StandIn(Messages):
    """Takes a report as the engine would and starts nothing."""

    def __init__(self) -> None:
        super().__init__(self._nothing, "screenshots")

    async def _nothing(self) -> Any:
        raise RuntimeError("the screenshots reach no engine")

    async def report(self, report: ClaimReport) -> tuple[str, bool]:
        return report.claim_id or "CLM-20261129-0A1B2C", True


def _deadline(name: str, days: int, status: str, paused: bool = False) -> dict[str, Any]:
    pauses = [{"reason": "awaiting materials", "since": NOW.isoformat(), "until": None}]
    return {
        "name": name,
        "started_at": (NOW - timedelta(days=2)).isoformat(),
        "due_at": (NOW + timedelta(days=days)).isoformat(),
        "days_left": days,
        "status": status,
        "pauses": pauses if paused else [],
    }


def _claim(db: Engine, claim_id: str, stage: str, **status: Any) -> None:
    base = {
        "claim_id": claim_id,
        "stage": stage,
        "line": "medical",
        "incident_type": "outpatient",
        "policy_no": "P-MED-0001",
        "claimant_name": "张*",
        "channel": "web",
        "reported_at": (NOW - timedelta(days=2)).isoformat(),
        "amount_claimed": "1800.00",
    }
    with Session(db) as s:
        s.add(
            ClaimRow(
                claim_id=claim_id,
                stage=stage,
                line="medical",
                incident_type="outpatient",
                policy_no="P-MED-0001",
                claimant_name="张*",
                channel="web",
                reported_at=NOW - timedelta(days=2),
                amount_claimed=Decimal("1800.00"),
                updated_at=NOW,
                status={**base, **status},
            )
        )
        s.commit()


def _letter(db: Engine, claim_id: str, kind: str, body: str) -> None:
    with Session(db) as s:
        s.add(
            LetterRow(
                letter_id=f"{claim_id}-{kind}",
                case_id=claim_id,
                kind=kind,
                language="zh-CN",
                channel="email",
                recipient="claimant",
                sent_at=NOW - timedelta(days=1),
                sha256="0" * 64,
                path="",
                body=body,
            )
        )
        s.commit()


def sample_claims(db: Engine) -> dict[str, str]:
    """Three claims (waiting for documents, paid, denied); the link token of each."""
    _claim(
        db,
        "CLM-20261129-000001",
        "AWAITING_MATERIALS",
        missing_materials=["invoices", "expense_list"],
        deadlines=[_deadline("determination", 28, "paused", paused=True)],
    )
    _letter(db, "CLM-20261129-000001", "acknowledgement", "您的理赔申请已受理。\n\n华安示范保险")
    _letter(db, "CLM-20261129-000001", "missing_materials", "请补充：医疗费用发票、费用清单。")
    _claim(db, "CLM-20261129-000002", "PAID", payable_amount="1440.00")
    _letter(db, "CLM-20261129-000002", "payment", "赔款 ¥1,440.00 已支付。")
    with Session(db) as s:
        s.add(
            PaymentRow(
                idempotency_key="CLM-20261129-000002-1",
                claim_id="CLM-20261129-000002",
                seq=1,
                policy_no="P-MED-0001",
                amount=Decimal("1440.00"),
                payee="claimant",
                account_ref="6222020000001234",
                reference="REF-0001",
                paid_at=NOW,
            )
        )
        s.commit()
    _claim(db, "CLM-20261129-000003", "DENIAL_NOTIFIED")
    _letter(db, "CLM-20261129-000003", "denial", "经审核，本次理赔不予赔付。")
    names = ("waiting", "paid", "denied")
    return {
        name: tokens.issue(engine=db, claim_id=f"CLM-20261129-00000{n}")
        for n, name in enumerate(names, start=1)
    }


def serve(state: Portal) -> tuple[str, uvicorn.Server]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(state), host="127.0.0.1", port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def shoot(page: Page, url: str, path: Path) -> None:
    page.goto(url)
    page.screenshot(path=str(path), full_page=True)


def report_a_claim(page: Page, site: str, path: Path) -> None:
    page.goto(f"{site}/report/medical/outpatient")
    page.fill("#policy_no", "P-MED-0001")
    page.fill("#name", "张三")
    page.fill("#id_no", "110101198001011234")
    page.fill("#phone", "13800000000")
    page.fill("#occurred_at", (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("#amount_claimed", "1800.00")
    page.click("button[type=submit]")
    page.wait_for_selector(".claim-id")
    page.screenshot(path=str(path), full_page=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    out: Path = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        settings = Settings(data_dir=Path(scratch) / "data")
        db = make_engine(settings.db_url)
        demo.load(db, keys_file=settings.staff_keys_file, keys_dir=settings.staff_keys_dir)
        links = sample_claims(db)
        site, server = serve(Portal(settings, db, StandIn()))
        pages = {
            "home": "/",
            "report-choose": "/report",
            "report-form": "/report/medical/outpatient",
            "claim-waiting": f"/c/{links['waiting']}",
            "claim-paid": f"/c/{links['paid']}",
            "claim-denied": f"/c/{links['denied']}",
            "letter": f"/c/{links['waiting']}/letters/CLM-20261129-000001-missing_materials",
            "wrong-link": "/c/" + "A" * 43,
        }
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                for lang in ("zh-CN", "en"):
                    context = browser.new_context(
                        viewport={"width": 390, "height": 844}, locale=lang, is_mobile=True
                    )
                    page = context.new_page()
                    page.goto(f"{site}/?lang={lang}")
                    for name, url in pages.items():
                        shoot(page, site + url, out / f"{name}.{lang}.png")
                    report_a_claim(page, site, out / f"reported.{lang}.png")
                    context.close()
                browser.close()
        finally:
            server.should_exit = True
    written = sorted(p.name for p in out.glob("*.png"))
    sys.stdout.write(f"{len(written)} screenshots in {out}\n")


if __name__ == "__main__":
    main()
