"""The complaint measures of DOMAIN §8.9, the regulator CSV, the charts and the CLI command,
on a hand-made book of twelve complaints whose figures are worked out in the comments."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from commands.complaint_charts import write_charts
from database import engine_for, make_engine
from models.tables import ClaimRow, ComplaintPaymentRow, ComplaintRow, PaymentRow
from readmodel.measures import REGULATOR_HEADER, complaint_measures, regulator_csv
from settings import get_settings

CST = timezone(timedelta(hours=8))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 10, 0, tzinfo=CST)


def _c(cid, stage, channel, category, department, priority, key, received, **kw):
    row = {
        "complaint_id": cid,
        "stage": stage,
        "channel": channel,
        "category": category,
        "department": department,
        "priority": priority,
        "claim_id": None,
        "complainant_key": key,
        "complainants": 1,
        "received_at": received,
        "decided_at": None,
        "closed_at": None,
        "upheld": None,
        "satisfied": None,
        "extensions": 0,
        "on_time": None,
        "outcome": None,
    }
    row.update(kw)
    return row


def _book() -> list[dict]:
    done = {"decided_at": _at(12, 1), "closed_at": _at(12, 5)}
    # fmt: off
    return [
        # Q3 (August)
        _c("C01", "CLOSED", "phone", "claim_decision", "claims", "normal", "K1", _at(8, 10),
           **done, upheld=True, satisfied=True, on_time=True, outcome="satisfied"),
        _c("C02", "CLOSED", "regulator", "payment_timeliness", "claims", "urgent", "K2", _at(8, 25),
           **done, upheld=True, satisfied=False, extensions=1, on_time=True, outcome="not_satisfied"),
        # Q4: October
        _c("C03", "CLOSED", "wechat", "service_attitude", "customer_service", "normal", "K3", _at(10, 2),
           **done, upheld=False, on_time=False, outcome="unreachable"),
        _c("C04", "DECLINED", "email", None, None, "normal", "K4", _at(10, 5),
           closed_at=_at(10, 6), outcome="declined"),
        _c("C05", "CLOSED", "phone", "claim_decision", "claims", "high", "K1", _at(10, 20),
           **done, upheld=False, satisfied=True, extensions=2, on_time=True, outcome="satisfied"),
        # November
        _c("C06", "DECIDED", "app", "amount_dispute", "claims", "normal", "K5", _at(11, 1),
           decided_at=_at(11, 20), upheld=True, extensions=1, on_time=False),
        _c("C07", "INVESTIGATING", "regulator", "materials", "operations", "urgent", "K2", _at(11, 5),
           extensions=1),
        _c("C08", "CLOSED", "branch", "payment_timeliness", "finance", "normal", "K6", _at(11, 12),
           **done, upheld=True, satisfied=True, on_time=True, outcome="satisfied"),
        # an ISO string, as a JSON export would carry it
        _c("C09", "CLOSED", "web", "other", "customer_service", "normal", None,
           "2026-11-15T09:00:00+08:00",
           **done, upheld=False, satisfied=True, on_time=True, outcome="satisfied"),
        # 31 Oct 17:00 UTC is 1 Nov 01:00 in China: counted in November
        _c("C12", "CLOSED", "wechat", "materials", "operations", "normal", "K8",
           datetime(2026, 10, 31, 17, 0, tzinfo=UTC),
           **done, upheld=False, satisfied=False, extensions=1, on_time=True,
           outcome="not_satisfied"),
        # December
        _c("C10", "CALLBACK", "phone", "claim_decision", "claims", "high", "K1", _at(12, 1),
           decided_at=_at(12, 10), upheld=True, on_time=True),
        _c("C11", "TRIAGED", "letter", "service_attitude", "customer_service", "urgent", "K7", _at(12, 3),
           complainants=25),
    ]
    # fmt: on


def test_measures_of_a_known_book():
    m = complaint_measures(_book(), claims_count=1600)
    assert m["complaints"] == 12
    assert m["declined"] == 1  # C04
    assert m["registered"] == 11
    assert m["complainants"] == 36  # 11 single complainants + a group of 25
    # C01 C05 C10 / C02 C08 / C03 C11 / C07 C12 / C06 / C09 / C04 (declined, no category)
    assert m["by_category"] == {
        "claim_decision": 3,
        "materials": 2,
        "payment_timeliness": 2,
        "service_attitude": 2,
        "amount_dispute": 1,
        "other": 1,
        "uncategorised": 1,
    }
    # largest first, ties by name
    assert list(m["by_category"])[:4] == [
        "claim_decision",
        "materials",
        "payment_timeliness",
        "service_attitude",
    ]
    # C01 C05 C10 / C02 C07 / C03 C12 / one each
    assert m["by_channel"] == {
        "phone": 3,
        "regulator": 2,
        "wechat": 2,
        "app": 1,
        "branch": 1,
        "email": 1,
        "letter": 1,
        "web": 1,
    }
    # urgent: C02 C07 C11; high: C05 C10; the other seven normal
    assert m["by_priority"] == {"normal": 7, "urgent": 3, "high": 2}
    # claims: C01 C02 C05 C06 C10; customer_service: C03 C09 C11; operations: C07 C12;
    # finance: C08; none: C04
    assert m["by_department"] == {
        "claims": 5,
        "customer_service": 3,
        "operations": 2,
        "finance": 1,
        "unassigned": 1,
    }
    # satisfied: C01 C05 C08 C09; open (no outcome yet): C06 C07 C10 C11;
    # not_satisfied: C02 C12; unreachable: C03; declined: C04
    assert m["by_outcome"] == {
        "open": 4,
        "satisfied": 4,
        "not_satisfied": 2,
        "declined": 1,
        "unreachable": 1,
    }
    # decided with on_time known: C01 C02 C03 C05 C06 C08 C09 C10 C12 = 9;
    # late: C03 C06, so 7 on time; 7/9 = 0.77777...
    assert (m["decided_with_deadline"], m["decided_on_time"]) == (9, 7)
    assert m["on_time_rate"] == 0.7778
    # extended: C02 C05 C06 C07 C12 = 5 of the 11 registered; 5/11 = 0.454545...
    assert (m["extended"], m["extension_rate"]) == (5, 0.4545)
    # findings: C01 C02 C03 C05 C06 C08 C09 C10 C12 = 9; upheld C01 C02 C06 C08 C10 = 5
    assert (m["findings"], m["upheld"], m["upheld_rate"]) == (9, 5, 0.5556)
    # callbacks answered: C01 C02 C05 C08 C09 C12 = 6; satisfied C01 C05 C08 C09 = 4
    assert (m["callbacks_answered"], m["satisfied"], m["satisfaction_rate"]) == (6, 4, 0.6667)
    # 12 complaints / 1,600 claims * 1,000
    assert m["claims"] == 1600
    assert m["complaints_per_1000_claims"] == 7.5
    # K1: C01 C05 C10; K2: C02 C07; C09 has no key
    assert m["repeat_complainants"] == 2
    assert m["repeat_complainant_keys"] == [
        {"key": "K1", "complaints": 3},
        {"key": "K2", "complaints": 2},
    ]
    # Aug: C01 C02; Sep: none (the gap is kept); Oct: C03 C04 C05;
    # Nov: C06 C07 C08 C09 C12; Dec: C10 C11
    assert m["by_month"] == {"2026-08": 2, "2026-09": 0, "2026-10": 3, "2026-11": 5, "2026-12": 2}
    json.dumps(m)  # plain data throughout


def test_compensation_paid_is_counted_on_its_own():
    paid = [
        {"complaint_id": "C06", "amount": Decimal("800.00")},
        {"complaint_id": "C08", "amount": "1200.50"},  # as a JSON export would carry it
    ]
    m = complaint_measures(_book(), claims_count=1600, compensation=paid)
    assert (m["compensation_paid"], m["compensation_total"]) == (2, "2000.50")
    m = complaint_measures(_book(), claims_count=1600)
    assert (m["compensation_paid"], m["compensation_total"]) == (0, "0.00")


def test_measures_of_an_empty_book():
    m = complaint_measures([], claims_count=0)
    assert m["complaints"] == 0
    assert m["complaints_per_1000_claims"] is None
    for rate in ("on_time_rate", "extension_rate", "upheld_rate", "satisfaction_rate"):
        assert m[rate] is None
    assert m["by_month"] == {} and m["repeat_complainant_keys"] == []


def _parse(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_regulator_csv():
    rows = _parse(regulator_csv(_book()))
    assert (
        rows[0]
        == REGULATOR_HEADER
        == [
            "统计期间",
            "投诉类别",
            "受理件数",
            "办结件数",
            "按期办结件数",
            "延期件数",
            "投诉成立件数",
            "满意件数",
            "监管转办件数",
        ]
    )
    body = [[r[0], r[1], *map(int, r[2:])] for r in rows[1:]]
    # The declined C04 is not accepted (受理) and counts nowhere.
    # columns: accepted, closed, closed on time, extended, upheld, satisfied, from regulator
    assert body == [
        # 2026-Q3: C01 (claim decision), C02 (payment timeliness, regulator, extended)
        ["2026-Q3", "理赔核定", 1, 1, 1, 0, 1, 1, 0],
        ["2026-Q3", "理赔资料", 0, 0, 0, 0, 0, 0, 0],
        ["2026-Q3", "赔付时效", 1, 1, 1, 1, 1, 0, 1],
        ["2026-Q3", "服务态度", 0, 0, 0, 0, 0, 0, 0],
        ["2026-Q3", "理赔金额争议", 0, 0, 0, 0, 0, 0, 0],
        ["2026-Q3", "其他", 0, 0, 0, 0, 0, 0, 0],
        ["2026-Q3", "合计", 2, 2, 2, 1, 2, 1, 1],
        # C05 closed on time, extended, not upheld, satisfied; C10 upheld, not closed yet
        ["2026-Q4", "理赔核定", 2, 1, 1, 1, 1, 1, 0],
        # C07 open, extended, from the regulator; C12 closed on time, extended, not satisfied
        ["2026-Q4", "理赔资料", 2, 1, 1, 2, 0, 0, 1],
        # C08 closed on time, upheld, satisfied
        ["2026-Q4", "赔付时效", 1, 1, 1, 0, 1, 1, 0],
        # C03 closed late, not upheld, unreachable; C11 open
        ["2026-Q4", "服务态度", 2, 1, 0, 0, 0, 0, 0],
        # C06 decided late, extended, upheld, not closed
        ["2026-Q4", "理赔金额争议", 1, 0, 0, 1, 1, 0, 0],
        # C09 closed on time, satisfied
        ["2026-Q4", "其他", 1, 1, 1, 0, 0, 1, 0],
        # 9 accepted; closed C03 C05 C08 C09 C12; on time C05 C08 C09 C12;
        # extended C05 C06 C07 C12; upheld C06 C08 C10; satisfied C05 C08 C09; regulator C07
        ["2026-Q4", "合计", 9, 5, 4, 4, 3, 3, 1],
    ]


def test_regulator_csv_of_nothing_has_a_header_and_a_zero_total():
    rows = _parse(regulator_csv([]))
    assert rows[0] == REGULATOR_HEADER
    assert rows[-1] == ["", "合计", "0", "0", "0", "0", "0", "0", "0"]


def test_write_charts(tmp_path):
    paths = write_charts(complaint_measures(_book(), 1600), tmp_path / "charts")
    assert [p.name for p in paths] == [
        "complaints_by_month.png",
        "complaints_by_category.png",
        "complaints_by_channel.png",
    ]
    for p in paths:
        data = p.read_bytes()
        assert data.startswith(PNG_SIGNATURE)
        assert len(data) > 5 * 1024


def test_write_charts_of_an_empty_book(tmp_path):
    paths = write_charts(complaint_measures([], 0), tmp_path)
    assert len(paths) == 3 and all(p.read_bytes().startswith(PNG_SIGNATURE) for p in paths)


@pytest.fixture
def report_db(tmp_path, monkeypatch):
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CLAIMS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    url = get_settings().db_url
    engine = make_engine(url)
    now = datetime(2026, 11, 20, 9, 0, tzinfo=CST)
    with Session(engine) as s:
        s.add(
            ClaimRow(
                claim_id="CLM-1",
                stage="CLOSED",
                line="medical",
                incident_type="illness",
                policy_no="P-1",
                claimant_name="张三",
                channel="app",
                reported_at=now,
                amount_claimed=Decimal("100.00"),
                updated_at=now,
            )
        )
        for cid, channel, category, key, kw in (
            (
                "CMP-1",
                "phone",
                "claim_decision",
                "110101199001011234",
                {
                    "upheld": True,
                    "satisfied": True,
                    "on_time": True,
                    "outcome": "satisfied",
                    "decided_at": now,
                    "closed_at": now,
                },
            ),
            (
                "CMP-2",
                "regulator",
                "payment_timeliness",
                "110101199001011234",
                {"priority": "urgent", "extensions": 1},
            ),
            # 1 Dec 02:00 in China, stored as 30 Nov 18:00 UTC: counted in December
            (
                "CMP-3",
                "wechat",
                "service_attitude",
                "13800000000",
                {"received_at": datetime(2026, 12, 1, 2, 0, tzinfo=CST)},
            ),
        ):
            s.add(
                ComplaintRow(
                    complaint_id=cid,
                    stage="CLOSED" if kw.get("closed_at") else "TRIAGED",
                    channel=channel,
                    category=category,
                    complainant_name="李四",
                    complainant_key=key,
                    updated_at=now,
                    status={},
                    **{"received_at": now, **kw},
                )
            )
        # compensation on the complaint ledger, and a claim payment that is not compensation
        for n, (cid, amount) in enumerate((("CMP-1", "800.00"), ("CMP-2", "1500.00")), 1):
            s.add(
                ComplaintPaymentRow(
                    idempotency_key=f"complaint:{cid}:pay:1",
                    complaint_id=cid,
                    seq=1,
                    amount=Decimal(amount),
                    payee="李四",
                    account_ref="6222020200005678",
                    reference=f"BANK-{n}",
                    paid_at=now,
                )
            )
        s.add(
            PaymentRow(
                idempotency_key="CLM-1:pay:1",
                claim_id="CLM-1",
                seq=1,
                policy_no="P-1",
                amount=Decimal("100.00"),
                payee="张三",
                account_ref="6222020200001234",
                reference="BANK-C",
                paid_at=now,
            )
        )
        s.commit()
    engine.dispose()
    yield url
    engine_for(url).dispose()
    get_settings.cache_clear()


def test_cli_report_complaints(report_db, tmp_path):
    from cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["report", "complaints", "--json"])
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)
    assert m["complaints"] == 3 and m["claims"] == 1
    assert m["complaints_per_1000_claims"] == 3000.0
    assert m["by_channel"] == {"phone": 1, "regulator": 1, "wechat": 1}
    assert m["repeat_complainant_keys"] == [{"key": "110101********1234", "complaints": 2}]
    assert m["on_time_rate"] == 1.0 and m["extension_rate"] == round(1 / 3, 4)
    assert m["by_month"] == {"2026-11": 2, "2026-12": 1}
    # the two compensation payments; the claim's payment of 100.00 is not among them
    assert (m["compensation_paid"], m["compensation_total"]) == (2, "2300.00")

    out = tmp_path / "out"
    r = runner.invoke(
        app, ["report", "complaints", "--csv", str(out / "q.csv"), "--charts", str(out / "png")]
    )
    assert r.exit_code == 0, r.output
    assert "Complaints by category" in r.stdout and "satisfaction rate" in r.stdout
    assert "complaints per 1,000 claims" in r.stdout
    line = next(x for x in r.stdout.splitlines() if "compensation paid" in x)
    assert "(complaint ledger, not claim payments)" in line
    assert "2,300.00" in line and "2 payments" in line
    rows = _parse((out / "q.csv").read_text(encoding="utf-8"))
    assert rows[-1] == ["2026-Q4", "合计", "3", "1", "1", "1", "1", "1", "1"]
    pngs = sorted(p.name for p in (out / "png").iterdir())
    assert pngs == [
        "complaints_by_category.png",
        "complaints_by_channel.png",
        "complaints_by_month.png",
    ]
    for name in pngs:
        assert name in r.stdout
