"""`claims audit replay` over many histories: one replayer per process over a stream, the
histories read ahead a few at a time (never all at once), `--jobs` processes sharing them, the
lines in the order the histories were given whatever the number of processes, and a summary
line with the rate."""

from __future__ import annotations

import gc
import json
import queue
import shutil
import weakref
from pathlib import Path
from types import SimpleNamespace

import pytest
import typer
from typer.testing import CliRunner

import commands.audit
from audit.replay import AHEAD, Replayed, Source, Toolkit, _gather, replay_all

HISTORIES = Path(__file__).parent / "histories"
FILES = sorted(HISTORIES.rglob("*.json"))
runner = CliRunner()
cli = typer.Typer()
cli.add_typer(commands.audit.app, name="audit")


def _lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if ": replays cleanly" in line or "FAILED" in line]


def test_two_processes_print_what_one_prints_in_the_same_order():
    one = runner.invoke(cli, ["audit", "replay", "--dir", str(HISTORIES), "--jobs", "1"])
    two = runner.invoke(cli, ["audit", "replay", "--dir", str(HISTORIES), "--jobs", "2"])
    assert (one.exit_code, two.exit_code) in ((0, 0), (1, 1)), two.output
    assert _lines(one.output) == _lines(two.output)
    assert [line.split(": ", 1)[0] for line in _lines(two.output)] == [str(p) for p in FILES]
    assert f"replayed {len(FILES)} histories in " in two.output
    assert "/s), " in two.output and " failed" in two.output


def _broken(folder: Path) -> Path:
    """fast-track.json with a timer where the code schedules its first activity."""
    data = json.loads((HISTORIES / "fast-track.json").read_text(encoding="utf-8"))
    events = data["events"]
    first = next(i for i, e in enumerate(events) if "activityTaskScheduledEventAttributes" in e)
    del events[first:]
    events.append(
        {
            "eventId": str(first + 1),
            "eventTime": events[-1]["eventTime"],
            "eventType": "EVENT_TYPE_TIMER_STARTED",
            "timerStartedEventAttributes": {
                "timerId": "99",
                "startToFireTimeout": "5s",
                "workflowTaskCompletedEventId": events[-1]["eventId"],
            },
        }
    )
    path = folder / "m-broken.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_a_broken_history_among_others_fails_in_its_place_with_two_processes(tmp_path):
    for name in ("fast-track.json", "human-approval.json", "complaint-happy-path.json"):
        shutil.copy(HISTORIES / name, tmp_path / name)
    broken = _broken(tmp_path)
    r = runner.invoke(cli, ["audit", "replay", "--dir", str(tmp_path), "--jobs", "2"])
    assert r.exit_code == 1, r.output
    lines = _lines(r.output)
    assert [line.split(": ", 1)[0] for line in lines] == [
        str(tmp_path / n)
        for n in ("complaint-happy-path.json", "fast-track.json", "human-approval.json")
    ] + [str(broken)]
    assert lines[-1].startswith(f"{broken}: FAILED NondeterminismError: ")
    assert "replayed 4 histories in " in r.output and "/s), 1 failed" in r.output
    assert "1 of 4 histories do not replay" in r.output


def test_an_unreadable_file_stops_the_replay_in_one_line(tmp_path):
    shutil.copy(HISTORIES / "fast-track.json", tmp_path / "a.json")
    (tmp_path / "b.json").write_text("{not json", encoding="utf-8")
    r = runner.invoke(cli, ["audit", "replay", "--dir", str(tmp_path), "--jobs", "2"])
    assert r.exit_code == 1, r.output
    assert r.output.splitlines()[-1].startswith("error: bad JSON")


# Every history the stream has loaded, by a weak reference: alive while something keeps it.
_loaded: list[weakref.ref] = []


def _counting_load(path: Path):
    history = commands.audit.load_file(path)
    _loaded.append(weakref.ref(history))
    return history


COUNTING = Toolkit(
    replayer=commands.audit.replayer,
    load_file=_counting_load,
    connect=commands.audit.temporal,
    resolve=commands.audit.resolve_workflow_id,
)


def test_histories_are_read_a_few_ahead_of_the_replay_not_all_first():
    _loaded.clear()
    sources = [Source(file=HISTORIES / "fast-track.json")] * (4 * AHEAD)
    seen: list[Replayed] = []
    ahead: list[int] = []

    def on_result(replayed: Replayed) -> None:
        seen.append(replayed)
        ahead.append(len(_loaded) - len(seen))

    replay_all(sources, COUNTING, 1, on_result)
    assert [r.index for r in seen] == list(range(len(sources)))
    assert all(r.failure is None for r in seen)
    assert max(ahead) <= 2 * AHEAD + 1  # the fetches in flight and the queue, never all


def test_a_replayed_history_is_not_kept_by_the_stream():
    """Whatever the number of cases, the stream holds only the histories read ahead: each one
    that has replayed is gone (the memory `claims audit replay` holds stays flat)."""
    _loaded.clear()
    sources = [Source(file=HISTORIES / "fast-track.json")] * (3 * AHEAD)
    alive_behind: list[int] = []

    def on_result(replayed: Replayed) -> None:
        gc.collect()
        behind = _loaded[: max(0, replayed.index - 1)]  # replayed before the one just out
        alive_behind.append(sum(ref() is not None for ref in behind))

    replay_all(sources, COUNTING, 1, on_result)

    assert len(alive_behind) == len(sources)
    # one or two just behind may still be on their way out (the replayer's last result); a
    # stream keeping its histories would hold every one before, up to 22 here
    assert max(alive_behind) <= 2


async def test_cases_fetched_from_the_server_replay_in_two_processes(cli_env):
    """Each process connects to Temporal itself and fetches its share while it replays."""
    import asyncio

    from client import start_claim
    from tests.claimtools import wait_stage
    from tests.factories import medical_report

    ids = []
    for _ in range(3):
        report = medical_report()
        await start_claim(cli_env.client, report, cli_env.task_queue)
        ids.append(report.claim_id)
    for claim_id in ids:
        await wait_stage(cli_env.client, claim_id, "CLOSED")
    args = ["audit", "replay", *ids, f"claim-{ids[0]}", "--jobs", "2"]
    r = await asyncio.to_thread(runner.invoke, cli, args)
    assert r.exit_code == 0, r.output
    assert _lines(r.output) == [f"claim-{i}: replays cleanly" for i in [*ids, ids[0]]]

    r = await asyncio.to_thread(runner.invoke, cli, ["audit", "replay", "NOPE-1", "--jobs", "2"])
    assert r.exit_code == 1
    assert (
        r.output.splitlines()[-1]
        == "error: unknown case NOPE-1: no claim-NOPE-1 or complaint-NOPE-1"
    )


def test_outcomes_are_taken_from_each_process_in_its_turn_none_kept_out_of_turn():
    """With two processes, a fast one's outcomes wait on its own (bounded) queue until their
    turn: the parent holds none of them, however far ahead it runs."""
    running = [SimpleNamespace(exitcode=None), SimpleNamespace(exitcode=None)]
    fast: queue.Queue[tuple[str, object]] = queue.Queue()
    slow: queue.Queue[tuple[str, object]] = queue.Queue()
    for i in (0, 2, 4, 6):
        fast.put(("result", Replayed(i, f"h{i}", None)))
    for i in (1, 3, 5):
        slow.put(("result", Replayed(i, f"h{i}", None)))
    left_on_the_fast_queue: list[int] = []

    def on_result(replayed: Replayed) -> None:
        left_on_the_fast_queue.append(fast.qsize())

    _gather(running, [fast, slow], 7, on_result)
    assert left_on_the_fast_queue == [3, 3, 2, 2, 1, 1, 0]

    slow.put(("error", ValueError("bad JSON")))
    fast.put(("result", Replayed(0, "h0", None)))
    seen: list[Replayed] = []
    with pytest.raises(ValueError, match="bad JSON"):
        _gather(running, [fast, slow], 2, seen.append)
    assert [r.index for r in seen] == [0]  # the outcomes before the error, then the error


def test_a_replay_process_that_dies_stops_the_replay_in_one_line():
    dead = SimpleNamespace(exitcode=-9)
    with pytest.raises(RuntimeError, match=r"^a replay process ended unexpectedly \(exit -9\)$"):
        _gather([dead], [queue.Queue()], 1, lambda replayed: None)
