"""Times shown to people are Beijing time, and say so: the audit trail, its HTML page, the
work queue and the deadline tables; JSON keeps ISO 8601 with its offset."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from cli import app
from commands.audit import render_html
from commands.common import local_time, when

HISTORY = Path(__file__).parent / "histories" / "fast-track.json"
runner = CliRunner()


def test_half_past_midnight_in_beijing_is_the_next_day():
    assert local_time("2026-03-01T16:30:00Z") == "2026-03-02 00:30:00"
    assert local_time("2026-03-01T16:30:00+00:00") == "2026-03-02 00:30:00"
    assert when(datetime(2026, 3, 1, 16, 30, tzinfo=UTC)) == "2026-03-02 00:30"


def test_the_audit_trail_shows_beijing_time_and_its_json_keeps_the_offset():
    r = runner.invoke(app, ["audit", "trail", str(HISTORY)])
    assert r.exit_code == 0, r.output
    header, first, *_ = r.output.splitlines()
    assert "times in Beijing time (UTC+8)" in header
    started = json.loads(HISTORY.read_text("utf-8"))["events"][0]["eventTime"]
    assert first.startswith(local_time(started))
    r = runner.invoke(app, ["audit", "trail", str(HISTORY), "--json"])
    entries = json.loads(r.output)
    assert entries[0]["at"].endswith(("Z", "+00:00"))


def test_the_trail_page_shows_beijing_time():
    page = render_html("claim-X", [{"at": "2026-03-01T16:30:00Z", "kind": "stage", "name": "x"}])
    assert "Beijing time, UTC+8" in page and "2026-03-02 00:30:00" in page
