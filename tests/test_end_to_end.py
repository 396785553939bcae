"""End to end: the real `claims run` (embedded dev server + worker as processes), the real
`claims` command for every step, and the read model on disk. Also: Ctrl-C and a restart that
finds a waiting claim where it was."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.factories import ALL_MEDICAL, CST, materials, medical_report

CLAIMS = str(Path(sys.executable).parent / "claims")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Engine:
    def __init__(self, data_dir: Path) -> None:
        self.env = {**os.environ, "CLAIMS_DATA_DIR": str(data_dir)}
        self._pick_ports()
        # The engine makes its own key file on first start, as on a new machine.
        self.env.pop("CLAIMS_PAYLOAD_KEYS", None)
        self.env.pop("TEMPORAL_ADDRESS", None)
        self.env.pop("CLAIMS_DATABASE_URL", None)
        self.data_dir = data_dir
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def _pick_ports(self) -> None:
        self.port = _free_port()
        self.env["CLAIMS_TEMPORAL_PORT"] = str(self.port)
        for name in ("CLAIMS_UI_PORT", "CLAIMS_HTTP_PORT", "CLAIMS_CODEC_PORT"):
            self.env[name] = str(_free_port())

    def start(self) -> None:
        """Start `claims run`; a port taken by another process between choosing it and the
        server binding it (other suites share this machine) means new ports and one more try."""
        for attempt in range(3):
            try:
                return self._start_once()
            except AssertionError:
                log = self.data_dir / "temporal-server.log"
                taken = log.exists() and "address already in use" in log.read_text()
                if not taken or attempt == 2:
                    raise
                log.unlink()
                self._pick_ports()

    def _start_once(self) -> None:
        self.proc = subprocess.Popen(
            [CLAIMS, "run"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 90
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if line.startswith("ready"):
                return
        raise AssertionError("engine did not become ready:\n" + "".join(self.output))

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        out, _ = self.proc.communicate(timeout=60)
        self.output.append(out)
        return self.proc.returncode

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "TEMPORAL_ADDRESS": f"127.0.0.1:{self.port}"}
        return subprocess.run([CLAIMS, *args], env=env, capture_output=True, text=True, timeout=60)

    def show(self, claim_id: str) -> dict:
        r = self.cli("claim", "show", claim_id, "--json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def wait_stage(self, claim_id: str, stage: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        shown: dict = {}
        while time.monotonic() < deadline:
            r = self.cli("claim", "show", claim_id, "--json")
            if r.returncode == 0:
                shown = json.loads(r.stdout)
                if shown["stage"] == stage:
                    return shown
            time.sleep(0.3)
        raise AssertionError(f"{claim_id} stuck in {shown.get('stage')}, wanted {stage}")

    def ledger(self, claim_id: str) -> list[tuple[str, Decimal]]:
        with sqlite3.connect(self.data_dir / "claims.db") as db:
            rows = db.execute(
                "select idempotency_key, amount from payments where claim_id = ?", (claim_id,)
            ).fetchall()
        return [(k, Decimal(str(a))) for k, a in rows]


@pytest.fixture
def engine_proc(tmp_path):
    eng = Engine(tmp_path / "data")
    eng.start()
    yield eng
    if eng.proc and eng.proc.poll() is None:
        eng.stop()


def test_claim_reported_approved_and_paid_through_the_real_engine(engine_proc, tmp_path):
    eng = engine_proc
    assert any("demo data  loaded" in line for line in eng.output)
    recent = datetime.now(CST) - timedelta(days=3)
    report = medical_report(
        occurred_at=recent,
        reported_at=None,
        amount_claimed=Decimal("8000.00"),
        items=[{"category": "treatment", "description": "治疗费", "amount": "8000.00"}],
    )
    path = tmp_path / "claim.json"
    path.write_text(report.model_dump_json(), encoding="utf-8")
    r = eng.cli("claim", "submit", str(path))
    assert r.returncode == 0, r.stderr
    assert f"claim {report.claim_id} reported" in r.stdout

    shown = eng.wait_stage(report.claim_id, "PENDING_APPROVAL")
    assert shown["pending_approval_level"] == 1
    r = eng.cli("claim", "approve", report.claim_id, "--as", "adj1")
    assert r.returncode == 0, r.stderr
    shown = eng.wait_stage(report.claim_id, "CLOSED")
    assert "PAID" in [h["stage"] for h in shown["history"]]
    assert eng.ledger(report.claim_id) == [(f"{report.claim_id}:pay:1", Decimal("6000.00"))]
    letters = sorted((eng.data_dir / "letters" / report.claim_id).iterdir())
    assert [p.name.split("-")[-2] for p in letters] == ["acknowledgement", "decision", "payment"]

    assert eng.stop() == 0
    assert "stopped" in eng.output[-1]


def test_ctrl_c_and_restart_find_a_waiting_claim_where_it_was(engine_proc, tmp_path):
    eng = engine_proc
    recent = datetime.now(CST) - timedelta(days=2)
    report = medical_report(
        occurred_at=recent,
        reported_at=None,
        materials=[m.model_dump() for m in materials("claim_form", "identity")],
    )
    path = tmp_path / "claim.json"
    path.write_text(report.model_dump_json(), encoding="utf-8")
    assert eng.cli("claim", "submit", str(path)).returncode == 0
    eng.wait_stage(report.claim_id, "AWAITING_MATERIALS")
    assert eng.stop() == 0

    eng.start()
    assert not any("demo data  loaded" in line for line in eng.output[-8:])
    rest = [f"{k}=scan-{k}" for k in ALL_MEDICAL if k not in ("claim_form", "identity")]
    r = eng.cli("claim", "materials", report.claim_id, *rest)
    assert r.returncode == 0, r.stderr
    shown = eng.wait_stage(report.claim_id, "CLOSED")
    assert shown["document_rounds"] == 2
    assert [a for _, a in eng.ledger(report.claim_id)] == [Decimal("1040.00")]
