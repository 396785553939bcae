"""How long staff wait for a command: `claims ...` from process start to exit, each against a
bare `python -c pass` of the same interpreter (the ratio is the figure; target <= 6x).

Each command runs as a person runs it (`.venv/bin/claims`, a fresh process) against a read
model with the demo data in a folder of its own; no Temporal server is needed, and none of
these commands asks for one."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
# What staff type most, and the help that lists everything.
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--help",),
    ("tasks",),
    ("tasks", "--for", "sup1"),
    ("claim", "list"),
    ("claim", "show", "CLM-DEMO-0001"),
    ("letter", "list", "CLM-DEMO-0001"),
    ("staff", "list"),
)
TARGET = 6.0


def claims_command() -> list[str]:
    script = Path(sys.executable).parent / "claims"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "cli"]


def wall_ms(argv: list[str], env: dict[str, str], repeat: int) -> float:
    """The median wall time of `repeat` runs, after one that warms the file cache."""
    times = []
    for attempt in range(repeat + 1):
        t0 = time.perf_counter()
        subprocess.run(argv, env=env, cwd=ROOT, capture_output=True, check=True, timeout=120)
        if attempt:
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def prepare(data: Path) -> dict[str, str]:
    """A read model with the demo data in `data`, and the environment the commands run in."""
    import demo
    from database import make_engine

    data.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{(data / 'claims.db').resolve()}")
    demo.load(engine)
    _project_a_claim(engine)
    engine.dispose()
    env = {**os.environ, "CLAIMS_DATA_DIR": str(data), "COLUMNS": "160"}
    for name in ("CLAIMS_DATABASE_URL", "TEMPORAL_ADDRESS", "CLAIMS_PAYLOAD_KEYS"):
        env.pop(name, None)
    # The warm-up run writes the bytecode cache, as a person's first run of an installed
    # command does (pip and the image byte-compile too): with PYTHONDONTWRITEBYTECODE set, as
    # some machines set it, every run would time compiling the project's sources instead.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _project_a_claim(engine: Any) -> None:
    """CLM-DEMO-0001 in the read model as its workflow projects it, waiting for a supervisor's
    approval, so that `claims claim show` reads it there (no Temporal server is running)."""
    from activities.records import RecordActivities
    from models.records import ClaimSync, WorkItemIn
    from models.status import ClaimStatus, StageChange

    at = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    stages = ("REPORTED", "ACCEPTED", "UNDER_REVIEW", "ADJUSTING", "PENDING_APPROVAL")
    status = ClaimStatus(
        claim_id="CLM-DEMO-0001",
        stage=stages[-1],
        line="medical",
        incident_type="outpatient",
        policy_no="P-MED-0001",
        claimant_name="张三",
        claimant_id_no="110101********1234",
        claimant_phone="138****0000",
        channel="app",
        reported_at=at,
        amount_claimed=Decimal("6800.00"),
        payable_amount=Decimal("5440.00"),
        pending_approval_level=2,
        approval_chain=[1, 2],
        history=[StageChange(stage=s, at=at + timedelta(hours=i)) for i, s in enumerate(stages)],
    )
    item = WorkItemIn(
        key="claim:CLM-DEMO-0001:approve:2",
        kind="approve",
        role="L2",
        level=2,
        due_at=at + timedelta(days=3),
    )
    RecordActivities(engine).sync_claim(ClaimSync(status=status, open_items=[item]))


@dataclass(frozen=True)
class Timings:
    """Median wall times, start to exit: `python -c pass` and each command."""

    repeat: int
    python_ms: float
    commands: list[tuple[tuple[str, ...], float]]

    def worst_ratio(self) -> float:
        return max(ms / self.python_ms for _, ms in self.commands)


def measure(data: Path, repeat: int) -> Timings:
    env = prepare(data)
    bare = wall_ms([sys.executable, "-c", "pass"], env, repeat)
    took = [(args, wall_ms([*claims_command(), *args], env, repeat)) for args in COMMANDS]
    return Timings(repeat, bare, took)


def rows(t: Timings) -> list[tuple[str, str]]:
    """One row per command: its median wall time and its ratio to `python -c pass`."""
    out = [(f"`python -c pass`, start to exit (median of {t.repeat})", f"{t.python_ms:.0f} ms")]
    for args, ms in t.commands:
        out.append(
            (
                f"`claims {' '.join(args)}`, start to exit (target <= {TARGET:.0f}x python)",
                f"{ms:.0f} ms = {ms / t.python_ms:.1f}x",
            )
        )
    return out


def figures(data: Path, repeat: int) -> list[tuple[str, str]]:
    return rows(measure(data, repeat))
