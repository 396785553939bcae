"""The claims measures of DOMAIN §11, computed from projected statuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from readmodel.measures import claim_measures

NOW = datetime(2026, 6, 30, tzinfo=UTC)


def _status(stage, reported_days_ago, history=(), **kw):
    reported = NOW - timedelta(days=reported_days_ago)
    return {
        "stage": stage,
        "reported_at": reported.isoformat(),
        "history": [
            {"stage": s, "at": (reported + timedelta(days=d)).isoformat()} for s, d in history
        ],
        "document_rounds": kw.pop("rounds", 1),
        "deadlines": kw.pop("deadlines", []),
        "payments": kw.pop("payments", []),
        **kw,
    }


def test_measures_from_a_small_book():
    book = [
        # fast track: decided on day 0, paid on day 1, closed day 1, on time
        _status(
            "CLOSED",
            40,
            [("APPROVED", 0), ("PAID", 1), ("CLOSED", 1)],
            straight_through=True,
            deadlines=[{"name": "determination", "status": "met"}],
            payments=[{"amount": "1040.00"}],
        ),
        # human: two document rounds, decided day 10, paid day 13, late determination
        _status(
            "CLOSED",
            50,
            [("APPROVED", 10), ("PAID", 13), ("CLOSED", 13)],
            rounds=2,
            deadlines=[{"name": "determination", "status": "breached"}],
            payments=[{"amount": "6000.00"}],
        ),
        # denied on day 4, appealed, overturned
        _status(
            "CLOSED",
            30,
            [("DENIED", 4), ("APPROVED", 20), ("PAID", 21), ("CLOSED", 21)],
            appealed_at=NOW.isoformat(),
            overturned=True,
            deadlines=[{"name": "determination", "status": "met"}],
        ),
        # open, 45 days old, still pending
        _status("PENDING_APPROVAL", 45, [("PENDING_APPROVAL", 1)]),
        # not accepted: no rounds counted, not decided
        _status("NOT_ACCEPTED", 5, [("NOT_ACCEPTED", 0)], rounds=0),
    ]
    m = claim_measures(book, NOW)
    assert m["claims"] == 5
    assert m["by_stage"] == {"CLOSED": 3, "NOT_ACCEPTED": 1, "PENDING_APPROVAL": 1}
    assert m["open_by_age"] == {"0-7 d": 0, "8-30 d": 0, "31-60 d": 1, "over 60 d": 0}
    assert m["decided"] == 3
    assert m["stp_rate"] == round(1 / 3, 4)
    assert m["denial_rate"] == round(1 / 3, 4)
    assert m["overturn_rate"] == 1.0 and m["appeals"] == 1
    assert m["document_rounds_per_claim"] == 1.25  # (1 + 2 + 1 + 1) / 4
    assert m["statutory_on_time_rate"] == round(2 / 3, 4)
    assert m["avg_days_report_to_decision"] == round((0 + 10 + 4) / 3, 2)
    assert m["avg_days_decision_to_payment"] == round((1 + 3 + 1) / 3, 2)
    assert m["paid_total"] == "7040.00"


def test_the_claims_report_prints_the_follow_up_calls(monkeypatch):
    """`claims report claims` shows how many follow-up calls reached the claimant and how many
    of those were satisfied, beside the other measures."""
    from typer.testing import CliRunner

    import commands.report
    from cli import app

    called = [{"reached": True, "satisfied": True}, {"reached": True, "satisfied": False}]
    book = [
        _status("CLOSED", 20, [("APPROVED", 0), ("PAID", 1), ("CLOSED", 1)], follow_up=call)
        for call in [*called, {"reached": False}]
    ]
    monkeypatch.setattr(commands.report, "db", lambda: None)
    monkeypatch.setattr(commands.report.queries, "claim_statuses", lambda *, engine: book)
    out = CliRunner().invoke(app, ["report", "claims"], env={"COLUMNS": "120"})
    assert out.exit_code == 0, out.output
    lines = {" ".join(line.strip("│ ").split()) for line in out.output.splitlines()}
    assert "follow-up calls │ 3" in lines
    assert "follow-up reach rate │ 66.7 %" in lines
    assert "satisfied, of those reached │ 50.0 %" in lines
