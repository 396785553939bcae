"""Replay memory: whether `claims audit replay` holds more the more histories it replays (the
auditors' target: memory flat for 10,000 cases).

One process replays a stream of claim histories exactly as `claims audit replay --jobs 1`
does (audit/replay.py: `replay_all`, one replayer over histories read ahead a few at a time
from their files), and then as `--jobs 2` does (two replaying processes, this one gathering
their outcomes in order). Every tenth of the way it reads the replaying processes' resident
memory (VmRSS) and peak (VmHWM) from /proc. The histories are claim histories repeated under
distinct workflow ids: a folder of symbolic links, one per case, to the templates, each read
from disk and decrypted as the command reads a file; the workflow id is the claim's with the
link's name added, so the replayer sees each case as a new workflow.

    python -m bench.replay_memory FOLDER --jobs 1 --every 1000

prints one JSON line per sample; bench/run.py starts it as its own process so that the
figures are the replaying processes' alone."""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from audit.replay import Replayed, Source, Toolkit, replay_all

if TYPE_CHECKING:
    from temporalio.client import WorkflowHistory

ROOT = Path(__file__).resolve().parent.parent
# Growth allowed from 1,000 to 10,000 histories: under about 1 KB a history over the 9,000
# between, where keeping anything of a case (a decoded history is some 50 KB) shows many
# times over, while the allocator's own ups and downs stay well inside it.
GROWTH_MB = 10.0
TARGET_CASES = 10_000


def load_repeated(path: Path) -> WorkflowHistory:
    """A history file read as `claims audit replay` reads it, under the claim's workflow id
    with the file's name added (a distinct case for each link to the same template)."""
    from temporalio.client import WorkflowHistory

    from commands import audit

    history = audit.load_file(path)
    return WorkflowHistory(f"{history.workflow_id}~{path.stem}", history.events)


def repeated() -> Toolkit:
    from commands import audit
    from commands.common import temporal

    return Toolkit(
        replayer=audit.replayer,
        load_file=load_repeated,
        connect=temporal,
        resolve=audit.resolve_workflow_id,
    )


def link_cases(templates: Sequence[Path], folder: Path, count: int) -> list[Path]:
    """`count` links in `folder`, one per case, taking the templates in turn."""
    folder.mkdir(parents=True, exist_ok=True)
    links = []
    for i in range(count):
        link = folder / f"{i:06d}.json"
        link.symlink_to(templates[i % len(templates)].resolve())
        links.append(link)
    return links


def status_mb(text: str) -> tuple[float, float]:
    """VmRSS and VmHWM, in MB, from a /proc/<pid>/status text."""
    fields = {}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def memory_mb(pid: int | str = "self") -> tuple[float, float]:
    return status_mb(Path(f"/proc/{pid}/status").read_text())


@dataclass(frozen=True)
class Sample:
    """After `replayed` histories: each replaying process's (VmRSS, VmHWM) in MB, and the
    gathering process's with more than one replaying process."""

    replayed: int
    processes: tuple[tuple[float, float], ...]
    gatherer: tuple[float, float] | None = None

    @property
    def rss_mb(self) -> float:
        return max(rss for rss, _ in self.processes)

    @property
    def peak_mb(self) -> float:
        return max(peak for _, peak in self.processes)


@dataclass(frozen=True)
class Series:
    """One replay's samples, `jobs` processes over `histories` histories."""

    jobs: int
    histories: int
    samples: tuple[Sample, ...]

    def growth_mb(self, since: int = 0) -> float:
        """VmRSS after the last sample less after sample `since` (the replaying process
        holding most, with two)."""
        return self.samples[-1].rss_mb - self.samples[since].rss_mb

    def halfway(self) -> int:
        """The sample half way (after 5,000 of 10,000)."""
        return max(0, len(self.samples) // 2 - 1)

    def flat(self) -> bool:
        return self.growth_mb() <= GROWTH_MB


@dataclass(frozen=True)
class ReplayMemory:
    series: dict[int, Series]  # by process count
    templates: str  # which histories were repeated

    def one(self) -> Series | None:
        return self.series.get(1)


class Sampler:
    """The `on_result` of `replay_all`: every `every` outcomes, the replaying processes'
    memory as one JSON line; a failed replay stops the run. With several processes, a sample
    is taken only while they all still run (the last outcomes may be gathered after they
    ended)."""

    def __init__(self, every: int, jobs: int, write: Callable[[str], None]) -> None:
        self.every = every
        self.jobs = jobs
        self.write = write
        self.replayed = 0

    def __call__(self, replayed: Replayed) -> None:
        if replayed.failure is not None:
            raise RuntimeError(f"{replayed.name} does not replay: {replayed.failure}")
        self.replayed += 1
        if self.replayed % self.every == 0:
            sample = self.sample()
            if sample is not None:
                self.write(json.dumps(sample.__dict__))

    def sample(self) -> Sample | None:
        if self.jobs == 1:  # `--jobs 1`: this process replays
            return Sample(self.replayed, (memory_mb(),))
        try:
            children = tuple(memory_mb(c.pid or 0) for c in multiprocessing.active_children())
        except (FileNotFoundError, KeyError):  # one ended while it was read
            return None
        if len(children) < self.jobs:
            return None
        return Sample(self.replayed, children, memory_mb())


def sample_of(line: str) -> Sample:
    data = json.loads(line)
    gatherer = data["gatherer"]
    return Sample(
        data["replayed"],
        tuple((rss, peak) for rss, peak in data["processes"]),
        (gatherer[0], gatherer[1]) if gatherer else None,
    )


async def series(
    folder: Path, jobs: int, count: int, stall: float, log: Callable[[str], None]
) -> Series:
    """`python -m bench.replay_memory` over the folder's first `count` links, a sample every
    tenth of them (every 1,000 of 10,000); a stall (no sample for `stall` seconds) or a
    failure ends it with an error."""
    every = max(1, count // 10)
    args = [sys.executable, "-m", "bench.replay_memory", str(folder), "--jobs", str(jobs)]
    proc = subprocess.Popen(
        [*args, "--count", str(count), "--every", str(every)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env=dict(os.environ),
    )
    assert proc.stdout is not None
    samples = []
    try:
        while True:
            # at least 5 histories a second, on a busy machine
            wait = stall + every / 5
            line = await asyncio.wait_for(asyncio.to_thread(proc.stdout.readline), wait)
            if not line:
                break
            samples.append(sample_of(line.decode()))
            s = samples[-1]
            log(f"replay memory, {jobs} process(es): {s.replayed} replayed, {s.rss_mb:.0f} MB")
    finally:
        if proc.poll() is None:
            proc.kill()
        await asyncio.to_thread(proc.wait)
    last = samples[-1].replayed if samples else 0
    # with two processes, the last samples may fall after one has ended: at least the first
    if proc.returncode != 0 or not samples or (jobs == 1 and last != count):
        raise RuntimeError(
            f"the replay of {count} histories with {jobs} process(es) ended with "
            f"{proc.returncode} after {last}"
        )
    return Series(jobs, count, tuple(samples))


def claim_templates(exported: Path) -> tuple[list[Path], str]:
    """The histories to repeat, and how the page names them: the replay phase's claims when it
    exported them in this run, else the recorded claim paths (tests/histories)."""
    files = sorted(exported.glob("*.json")) if exported.is_dir() else []
    if files:
        return files, f"the replay phase's {len(files)} fast-track claims"
    recorded = [
        p
        for p in sorted((ROOT / "tests" / "histories").glob("*.json"))
        if '"ClaimWorkflow"' in p.read_text(encoding="utf-8")
    ]
    return recorded, f"the {len(recorded)} recorded claim paths (tests/histories)"


async def measure(
    templates: Sequence[Path],
    described: str,
    folder: Path,
    cases: int,
    stall: float,
    log: Callable[[str], None],
) -> ReplayMemory:
    """`cases` links to the templates replayed by one process (the target's measure), then a
    fifth of them by two (the `--jobs` path; all of them would double the phase's time)."""
    link_cases(templates, folder, cases)
    runs = {1: cases, 2: max(2, cases // 5)}
    return ReplayMemory(
        {jobs: await series(folder, jobs, n, stall, log) for jobs, n in runs.items()}, described
    )


async def figures(tmp: Path, cases: int, stall: float, keys: str) -> ReplayMemory:
    """The benchmark's phase: the replay phase's claims (or the recorded paths) repeated, under
    the run's payload keys, which the replaying processes inherit."""
    from bench.cases import log  # not at the top: the replaying processes do without them
    from bench.replay import payload_keys

    templates, described = claim_templates(tmp / "replay-claims")
    log(f"replay memory: {cases} histories of {described} with 1 process, {cases // 5} with 2")
    with payload_keys(keys):
        return await measure(templates, described, tmp / "replay-memory", cases, stall, log)


def rows(r: ReplayMemory) -> list[tuple[str, str]]:
    """The figures: each process count's VmRSS series and its peak."""
    out = []
    for jobs, s in sorted(r.series.items()):
        how = "`claims audit replay --jobs 1`" if jobs == 1 else f"`--jobs {jobs}`"
        whose = "" if jobs == 1 else ", the replaying process holding most"
        out.append(
            (
                f"replay memory, {how}, {s.histories:,} histories of {r.templates} repeated "
                f"under distinct workflow ids: VmRSS after each {s.samples[0].replayed:,}"
                f"{whose}, MB",
                " / ".join(f"{x.rss_mb:.0f}" for x in s.samples),
            )
        )
        gatherer, half = s.samples[-1].gatherer, s.halfway()
        out.append(
            (
                f"replay memory, {how}: growth from {s.samples[0].replayed:,} / from "
                f"{s.samples[half].replayed:,} to {s.samples[-1].replayed:,} histories, "
                "peak (VmHWM)" + (", the gathering process at the end" if gatherer else ""),
                f"{s.growth_mb():+.1f} MB / {s.growth_mb(half):+.1f} MB, "
                f"{s.samples[-1].peak_mb:.0f} MB" + (f", {gatherer[0]:.0f} MB" if gatherer else ""),
            )
        )
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--count", type=int, help="The first so many files (all).")
    p.add_argument("--every", type=int, default=1000)
    a = p.parse_args(argv)
    sources = [Source(file=f) for f in sorted(a.folder.glob("*.json"))[: a.count]]

    def write(line: str) -> None:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    # the toolkit by this module's name, not __main__'s: the replaying processes import it
    from bench import replay_memory

    replay_all(sources, replay_memory.repeated(), a.jobs, Sampler(a.every, a.jobs, write))


if __name__ == "__main__":
    main()
