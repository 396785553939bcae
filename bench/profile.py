"""Where a fast-track claim's worker time goes: py-spy samples the claims worker while a
batch of fast-track claims runs through it (the throughput phase's set-up, one worker), and the
samples are summed into a few parts (each activity, the workflow code, Temporal's
core, payload conversion and encryption, the thread hand-offs).

Only samples of the thread holding the GIL are counted (`py-spy record --gil`): the worker is one
Python process, so that is the time the claims cost it. Idle samples (threads waiting for work)
are left out. py-spy comes with the test extra (`pip install -e '.[test]'`).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Engine
from temporalio.client import Client

from bench import cases

# (part, pattern of a frame "function (file:line)" that puts a sample in it). The first part
# whose pattern matches any frame of a sample, from the outermost frame in, takes the sample.
ACTIVITIES: tuple[tuple[str, str], ...] = (
    ("notices (notify_claimant)", r"NoticeActivities\.notify_claimant "),
    ("read-model sync (sync_claim)", r"RecordActivities\.sync_claim "),
    ("letters (send_letter)", r"LetterActivities\.send_letter "),
    ("rules (load_rules, check_watch_list)", r"RulesActivities\."),
    ("payment (pay_claim)", r"PaymentActivities\."),
    ("other activities", r"\(temporalio/worker/_activity\.py:\d+\);.*\((activities|notify)/"),
)
ENGINE: tuple[tuple[str, str], ...] = (
    (
        "payload conversion and encryption",
        r"\((temporalio/converter|security/codec|temporalio/contrib/pydantic)",
    ),
    (
        "workflow code (and the sandbox it ran in before)",
        r"\((temporalio/worker/workflow_sandbox|temporalio/worker/_workflow_instance|workflows/)",
    ),
    ("Temporal core (polling, completing tasks)", r"\(temporalio/bridge/"),
    (
        "imports (the worker starting, a module's first use)",
        r"\(<frozen importlib",
    ),
)
IDLE_LEAVES = (
    "_worker (concurrent/futures/thread.py:",
    "EpollSelector.select",
    "select (selectors.py",
)
SQL = re.compile(r"\((sqlalchemy|sqlmodel)/")
RATE = 200  # samples a second


@dataclass
class Profile:
    """Shares of the sampled time, in percent, by part; and SQLAlchemy's share of it all."""

    claims: int
    samples: int
    parts: dict[str, float]
    sqlalchemy: float
    seconds: float

    def ms_per_claim(self) -> float:
        return self.samples * 1000 / RATE / self.claims if self.claims else 0.0


def part_of(stack: str) -> str:
    for name, pattern in ACTIVITIES + ENGINE:
        if re.search(pattern, stack):
            return name
    return "thread hand-offs and the event loop"


def summarize(raw: str, claims: int, seconds: float) -> Profile:
    """Sum py-spy's raw output (`frame;frame;... count` per line) into parts."""
    parts: Counter[str] = Counter()
    sql = total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        leaf = stack.rsplit(";", 1)[-1]
        if leaf.startswith(IDLE_LEAVES):
            continue
        n = int(count)
        total += n
        parts[part_of(stack)] += n
        if SQL.search(stack):
            sql += n
    share = {k: 100 * v / total for k, v in parts.most_common()} if total else {}
    return Profile(claims, total, share, 100 * sql / total if total else 0.0, seconds)


def py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if found is None:
        raise RuntimeError("py-spy is not installed: pip install -e '.[test]'")
    return found


async def profile(
    client: Client, target: cases.Target, engine: Engine, n: int, stall: float
) -> Profile:
    """`n` fast-track claims through one worker, sampled from the first start to the last
    CLOSED."""
    tag = f"PF{uuid.uuid4().hex[:4].upper()}"
    cases.add_policies(engine, tag, n)
    reports = [cases.report(tag, i) for i in range(n)]
    queue = f"bench-profile-{tag}"

    async def closed() -> int:
        return await asyncio.to_thread(cases.claims_at, engine, tag, "CLOSED")

    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "samples.txt"
        async with cases.workers(target, queue, 1) as (proc,):
            assert proc.proc is not None
            spy = subprocess.Popen(
                [py_spy(), "record", "--gil", "--nonblocking", "-r", str(RATE), "-f", "raw"]
                + ["-o", str(out), "-p", str(proc.proc.pid)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            t0 = time.perf_counter()
            await cases.start_all(client, reports, queue)
            run = await cases.until_done(closed, n, t0, stall)
            spy.send_signal(signal.SIGINT)
            await asyncio.to_thread(spy.wait, 60)
        raw = out.read_text() if out.exists() else ""
    return summarize(raw, run.done, run.seconds)


# The profile before the cuts of release 2027-01 (notices in one session, the read-model sync
# in plain statements, pooled SQLite connections), measured the same way on an idle machine:
# the code at commit ba6c6f3, 500 fast-track claims, 7,938 samples.
BEFORE = {
    "workflow code (and the sandbox it ran in before)": 19.6,
    "thread hand-offs and the event loop": 17.5,
    "notices (notify_claimant)": 17.4,
    "read-model sync (sync_claim)": 15.7,
    "payload conversion and encryption": 9.3,
    "Temporal core (polling, completing tasks)": 7.2,
    "letters (send_letter)": 6.3,
    "rules (load_rules, check_watch_list)": 5.4,
    "payment (pay_claim)": 1.4,
}
BEFORE_SQLALCHEMY = 41.6
BEFORE_MS_PER_CLAIM = 7938 / 500 * 1000 / RATE


def section(p: Profile) -> list[str]:
    """The markdown section of docs/benchmarks.md: before the cuts and this run, side by side."""
    names = list(dict.fromkeys([*p.parts, *BEFORE]))
    return [
        f"Where the claims worker's time goes (bench/profile.py: py-spy, samples of the thread "
        f"holding the GIL while {p.claims} fast-track claims ran through one worker, "
        f"{p.samples:,} samples), as shares of that time:",
        "",
        "| part | before the cuts (ba6c6f3) | this run |",
        "| --- | --- | --- |",
        *[f"| {n} | {BEFORE.get(n, 0):.0f} % | {p.parts.get(n, 0):.0f} % |" for n in names],
        f"| of all the above, inside SQLAlchemy | {BEFORE_SQLALCHEMY:.0f} % "
        f"| {p.sqlalchemy:.0f} % |",
        f"| the worker's Python time per claim (samples x {1000 // RATE} ms / claims) "
        f"| {BEFORE_MS_PER_CLAIM:.0f} ms | {p.ms_per_claim():.0f} ms |",
        "",
        *CUTS,
        "",
    ]


CUTS = [
    "What was cut: a notice is sent on one connection that reads its rows twice, with plain",
    "statements (before: an ORM session and a read for each step, five or six reads a notice),",
    "channels that cannot take it (not configured, no address) are written with the next",
    "attempt, a channel's first row is inserted without reading it first, and the claim page's",
    "letter box is one insert; the read-model sync, the letter's record, the payment and the",
    "rules a case starts under are plain statements (`INSERT ... ON CONFLICT DO NOTHING`, one",
    "`UPDATE` for closed items) instead of the ORM's load, flush and refresh; a SQLite read",
    "model keeps its connections (pool of 32, the pragmas once); letter templates are not",
    "checked on disk per letter; the workflows run outside Temporal's sandbox, which cost an",
    "activation of its own per task and a run of its code per payload. And a fast-track claim",
    "takes fewer steps (the `fewer-steps` patch): four local activities and one activity",
    "instead of eleven and one, a key node's letter and the notice that carries it being one",
    "step, the payee looked up with the rules, and the read model written by the next step",
    "or by the decision letter's. Since, a case takes every patch before `release-2027-02` on",
    "that one marker (22 history events for a fast-track claim instead of 32), the local",
    "activities that only touch the database run on the worker's event loop instead of being",
    "handed to a thread and back, and the payload converters the SDK makes per activation",
    "share one cache of pydantic type adapters. Then the worker's statements were prepared",
    "(prepared.py: compiled once per dialect, run on the DB-API cursor through the column",
    "types' own processors, where SQLAlchemy's expression, execution context and result had",
    "cost a third of the worker's time against 2 % in SQLite itself), a status is masked for",
    "the read model in one pass, and a worker freezes what starting made out of the garbage",
    "collector's passes. The `before` column was measured on the",
    "machine of its day: compare the shares, and the time per claim only within one run. What",
    "remains is mostly Temporal's own cost per step (an activation of the workflow, its",
    "payloads visited, encrypted and decoded, which the bare workflow's six activities pay six",
    "times) and the activities' database and file work.",
]
