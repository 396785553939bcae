"""The read model at scale: bulk-generated claims, work items and audit events, and the p50 of
the queries behind `claims tasks` and `claims claim list`.

The rows are written with plain SQL in batches (executemany; COPY on PostgreSQL), never through
workflows: 100,000 claims through the engine would take hours on a small machine, and what is
measured here is the read side only. The audit events, ten or more per claim, are made by the
database itself from the claims (`INSERT ... SELECT` over a series of numbers, a slice of claims
per transaction): 10,000,000 of them are not built row by row in Python. Then the tables are
analyzed, as PostgreSQL's autovacuum does after such a load; SQLite has statistics only if someone
runs ANALYZE (neither the engine nor `claims db upgrade` does), and plans these queries alike.
"""

from __future__ import annotations

import json
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

import demo
from database import make_engine

# How a large book of claims is spread over the stages (the rest of the weight is CLOSED).
STAGES = [
    ("CLOSED", 0.74),
    ("PENDING_APPROVAL", 0.10),
    ("AWAITING_MATERIALS", 0.06),
    ("INVESTIGATING", 0.03),
    ("DENIAL_NOTIFIED", 0.02),
    ("ADJUSTING", 0.02),
    ("WITHDRAWN", 0.02),
    ("NOT_ACCEPTED", 0.01),
]
LINES = ["medical", "auto", "property", "accident"]
ADJUSTERS = ["adj1", "adj2"]
APPROVERS = {1: ["adj1", "adj2"], 2: ["sup1", "sup2", "sup3"], 3: ["mgr1"]}
EVENT_KINDS = ["stage", "rules_loaded", "letter", "materials_received", "decision", "payment"]
# The open work item a claim in each stage waits on: kind, role (approvals: by level), assignee.
WAITING_ON = {
    "PENDING_APPROVAL": ("approve", "L", None),
    "AWAITING_MATERIALS": ("supply_materials", "claimant", None),
    "INVESTIGATING": ("investigate", "investigator", "inv1"),
    "ADJUSTING": ("adjust", "L1", None),
}
START = datetime(2024, 1, 1, tzinfo=UTC)
BATCH = 5_000

CLAIM_COLS = (
    "claim_id, stage, line, incident_type, policy_no, insured_id_no, claimant_name, channel, "
    "reported_at, occurred_at, amount_claimed, payable_amount, pending_level, straight_through, "
    "updated_at, closed_at, priority, history_len, sync_version, status"
)
ITEM_COLS = (
    "key, case_id, kind, role, level, assignee, title, priority, due_at, state, opened_at, "
    "closed_at"
)
EVENT_COLS = "case_id, seq, kind, actor, at, data"
Row = tuple[Any, ...]  # one table row, its values in the order of the columns above
RECUSAL_COLS = "case_id, staff_id"


def _status(
    claim_id: str, stage: str, at: datetime, adjuster: str, approvers: list[str]
) -> dict[str, Any]:
    """A claim's status as the projection stores it: about the size of a real one (history,
    deadlines, adjustment lines, decisions), since the JSON column is read back by some views."""
    iso = at.isoformat()
    return {
        "claim_id": claim_id,
        "stage": stage,
        "history": [{"stage": s, "at": iso} for s in ("REPORTED", "ACCEPTED", "UNDER_REVIEW")]
        + [{"stage": stage, "at": iso}],
        "received_materials": ["claim_form", "identity", "bank_account", "invoices"],
        "deadlines": [
            {
                "name": name,
                "started_at": iso,
                "due_at": (at + timedelta(days=days)).isoformat(),
                "days_left": days,
                "status": "running",
                "days": days,
            }
            for name, days in (("determination", 30), ("advance_payment", 60))
        ],
        "adjustment": {
            "adjuster": adjuster,
            "payable": "4200.00",
            "lines": [
                {"label_en": label, "label_zh": label, "amount": "1400.00", "formula": "a - b"}
                for label in ("eligible", "deductible", "co-pay")
            ],
        },
        "approvals": [
            {"level": lv + 1, "approver": a, "decision": "approve", "at": iso}
            for lv, a in enumerate(approvers)
        ],
        "letters": [f"{claim_id}-acknowledgement-1"],
    }


def rows(
    claims: int, events_per_claim: int, seed: int = 7, events: bool = True
) -> Iterator[tuple[str, Row]]:
    """("claim" | "item" | "event" | "recusal", row) tuples for a book of `claims` claims (the
    events left out when not `events`: `populate` has the database make them)."""
    rnd = random.Random(seed)
    stages = [s for s, _ in STAGES]
    weights = [w for _, w in STAGES]
    for i in range(claims):
        cid = f"CLM-B{i:07d}"
        stage = rnd.choices(stages, weights)[0]
        line = LINES[i % len(LINES)]
        reported = START + timedelta(minutes=7 * i + rnd.randint(0, 6))
        adjuster = rnd.choice(ADJUSTERS)
        level = rnd.choice((1, 1, 1, 2, 2, 3)) if stage == "PENDING_APPROVAL" else None
        approvers = [rnd.choice(APPROVERS[lv]) for lv in range(1, level)] if level else []
        approvers = [a for a in dict.fromkeys(approvers) if a != adjuster]
        closed = stage in ("CLOSED", "WITHDRAWN", "NOT_ACCEPTED")
        updated = reported + timedelta(days=rnd.randint(1, 20))
        priority = 100 if rnd.random() < 0.01 else 0
        status = _status(cid, stage, updated, adjuster, approvers)
        yield (
            "claim",
            (
                cid,
                stage,
                line,
                "outpatient",
                f"P-B{i % 60_000:06d}",
                f"B{i % 60_000:017d}",
                "张三",
                "app",
                reported,
                reported - timedelta(days=1),
                "4200.00",
                "4200.00" if stage in ("CLOSED", "PENDING_APPROVAL") else None,
                level,
                stage == "CLOSED" and level is None,
                updated,
                updated if closed else None,
                priority,
                len(status["history"]),
                3,
                json.dumps(status),
            ),
        )
        if not closed:  # the projection keeps recusals for open claims only
            for staff_id in dict.fromkeys([adjuster, *approvers]):
                yield "recusal", (cid, staff_id)
        due = updated + timedelta(days=rnd.randint(1, 15))
        # A claim past adjustment was adjusted; a closed one approved; an open one waits on one
        # task.
        if stage != "ADJUSTING":
            yield "item", _item(cid, "adjust", "L1", 1, None, 0, due, "done", updated)
        if closed:
            yield "item", _item(cid, "approve", "L1", 1, None, 0, due, "done", updated)
        elif stage in WAITING_ON:
            kind, role, assignee = WAITING_ON[stage]
            lv = level or (1 if role.startswith("L") else 0)
            role = f"L{lv}" if kind == "approve" else role
            yield "item", _item(cid, kind, role, lv, assignee, priority, due, "open", updated)
        for seq in range(1, events_per_claim + 1 if events else 1):
            at = reported + timedelta(hours=seq)
            kind = EVENT_KINDS[seq % len(EVENT_KINDS)]
            yield ("event", (cid, seq, kind, "system", at, json.dumps({"n": seq})))


def _item(
    case_id: str,
    kind: str,
    role: str,
    level: int,
    assignee: str | None,
    priority: int,
    due: datetime,
    state: str,
    at: datetime,
) -> Row:
    return (
        f"{case_id}:{kind}:1",
        case_id,
        kind,
        role,
        level,
        assignee,
        f"{kind} {case_id}",
        priority,
        due,
        state,
        at,
        at if state == "done" else None,
    )


TABLES = {
    "claim": ("claims", CLAIM_COLS),
    "item": ("work_items", ITEM_COLS),
    "event": ("audit_events", EVENT_COLS),
    "recusal": ("claim_recusals", RECUSAL_COLS),
}


def populate(engine: Engine, claims: int, events: int) -> dict[str, int]:
    """Fill an empty read model (demo staff and policies loaded first) in bulk; returns the row
    counts written per table."""
    demo.load(engine)
    per_claim = max(1, events // max(1, claims))
    buffers: dict[str, list[Row]] = {k: [] for k in TABLES}
    counts = dict.fromkeys(TABLES, 0)
    raw = engine.raw_connection()
    try:
        writer = _copy_writer if engine.dialect.name == "postgresql" else _insert_writer
        for kind, row in rows(claims, per_claim, events=False):
            buf = buffers[kind]
            buf.append(row)
            if len(buf) >= BATCH:
                writer(raw, kind, buf)
                counts[kind] += len(buf)
                buf.clear()
                if kind == "claim":
                    raw.commit()  # a bounded transaction (SQLite's WAL stays small)
        for kind, buf in buffers.items():
            if buf:
                writer(raw, kind, buf)
                counts[kind] += len(buf)
        raw.commit()
        counts["event"] = _make_events(raw, engine.dialect.name, claims, per_claim)
    finally:
        raw.close()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for table, _ in TABLES.values():
                conn.execute(text(f"ANALYZE {table}"))
        else:
            conn.execute(text("ANALYZE"))
    return {TABLES[k][0]: v for k, v in counts.items()}


# The events of a slice of claims, `seq` 1..k each, as `rows` would make them: the kind in turn,
# an hour apart from the report, data {"n": seq}. SQLite stores times as SQLAlchemy does
# (microseconds); its strftime gives milliseconds, hence the three zeros.
_KINDS_SQL = " ".join(f"WHEN {i} THEN '{k}'" for i, k in enumerate(EVENT_KINDS))
EVENTS_SQL = {
    "sqlite": (
        "INSERT INTO audit_events (case_id, seq, kind, actor, at, data) "
        "WITH RECURSIVE s(seq) AS (SELECT 1 UNION ALL SELECT seq + 1 FROM s WHERE seq < :k) "
        f"SELECT c.claim_id, s.seq, CASE s.seq % {len(EVENT_KINDS)} {_KINDS_SQL} END, 'system', "
        "strftime('%Y-%m-%d %H:%M:%f', c.reported_at, '+' || s.seq || ' hours') || '000', "
        "'{\"n\": ' || s.seq || '}' "
        "FROM claims c CROSS JOIN s WHERE c.claim_id >= :lo AND c.claim_id < :hi "
        "ORDER BY c.claim_id, s.seq"
    ),
    "postgresql": (
        "INSERT INTO audit_events (case_id, seq, kind, actor, at, data) "
        f"SELECT c.claim_id, s.seq, CASE s.seq %% {len(EVENT_KINDS)} {_KINDS_SQL} END, 'system', "
        "c.reported_at + s.seq * interval '1 hour', ('{\"n\": ' || s.seq || '}')::json "
        "FROM claims c CROSS JOIN generate_series(1, %(k)s) AS s(seq) "
        "WHERE c.claim_id >= %(lo)s AND c.claim_id < %(hi)s ORDER BY c.claim_id, s.seq"
    ),
}
EVENT_SLICE = 20_000  # claims per INSERT ... SELECT and per transaction


def _make_events(raw: Any, dialect: str, claims: int, per_claim: int) -> int:
    """`per_claim` audit events for each generated claim, made by the database; their count."""
    sql = EVENTS_SQL[dialect]
    if dialect == "sqlite":
        sql = sql.replace(":k", "?", 1).replace(":lo", "?", 1).replace(":hi", "?", 1)
    written = 0
    for start in range(0, claims, EVENT_SLICE):
        lo, hi = f"CLM-B{start:07d}", f"CLM-B{min(claims, start + EVENT_SLICE):07d}"
        cur = raw.cursor()
        if dialect == "sqlite":
            cur.execute(sql, (per_claim, lo, hi))
        else:
            cur.execute(sql, {"k": per_claim, "lo": lo, "hi": hi})
        written += cur.rowcount
        cur.close()
        raw.commit()
    return written


def _insert_writer(raw: Any, kind: str, batch: list[Row]) -> None:
    table, cols = TABLES[kind]
    marks = ", ".join("?" for _ in cols.split(","))
    cur = raw.cursor()
    cur.executemany(
        f"INSERT INTO {table} ({cols}) VALUES ({marks})", [tuple(map(_sqlite, r)) for r in batch]
    )
    cur.close()


def _sqlite(value: Any) -> Any:
    """A datetime as SQLAlchemy stores it in SQLite, so the rows sort and compare like the
    engine's own."""
    if isinstance(value, datetime):  # isoformat: a third of strftime's time, the same text
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    return value


def _copy_writer(raw: Any, kind: str, batch: list[Row]) -> None:
    table, cols = TABLES[kind]
    cur = raw.cursor()
    with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in batch:
            copy.write_row(row)
    cur.close()


# --------------------------------------------------------------------------------------------
# Timing the CLI's own queries
# --------------------------------------------------------------------------------------------


def p50_ms(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm: first call pays for connection and statement compilation
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def queries() -> dict[str, Callable[[], object]]:
    """The functions `claims tasks` and `claims claim list` call, with typical filters. They read
    the engine named by CLAIMS_DATABASE_URL, as the CLI does."""
    from commands.claim import claim_rows
    from commands.tasks import open_items

    return {
        "claims tasks": lambda: open_items(None),
        "claims tasks --for sup1": lambda: open_items("sup1"),
        "claims tasks --for adj1": lambda: open_items("adj1"),
        "claims tasks --for inv1": lambda: open_items("inv1"),
        "claims claim list": lambda: claim_rows(),
        "claims claim list --stage PENDING_APPROVAL": lambda: claim_rows(stage="PENDING_APPROVAL"),
        "claims claim list --line auto": lambda: claim_rows(line="auto"),
        "claims claim list --stage CLOSED --line property": lambda: claim_rows(
            stage="CLOSED", line="property"
        ),
        "claims claim list --policy P-B000123": lambda: claim_rows(policy="P-B000123"),
    }


@contextmanager
def scratch_postgres(url: str) -> Iterator[str]:
    """A schema of its own in the given PostgreSQL database, dropped afterwards; yields a URL
    whose connections use it."""
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield (
            make_url(url)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def measure(url: str, claims: int, events: int, repeat: int) -> dict[str, Any]:
    """Generate the book at `url`, then time each query with the CLI's settings pointed there."""
    import os

    from settings import get_settings

    engine = make_engine(url)
    t0 = time.perf_counter()
    counts = populate(engine, claims, events)
    load_s = time.perf_counter() - t0
    old = os.environ.get("CLAIMS_DATABASE_URL")
    os.environ["CLAIMS_DATABASE_URL"] = url
    get_settings.cache_clear()
    try:
        timings = {name: p50_ms(fn, repeat) for name, fn in queries().items()}
    finally:
        if old is None:
            os.environ.pop("CLAIMS_DATABASE_URL", None)
        else:
            os.environ["CLAIMS_DATABASE_URL"] = old
        get_settings.cache_clear()
        from database import engine_for

        engine_for(url).dispose()
        engine.dispose()
    return {"rows": counts, "load_s": load_s, "p50_ms": timings}
