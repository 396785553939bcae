"""The benchmark's replay memory (bench/replay_memory.py): cases made from repeated histories
under distinct workflow ids, the samples read from /proc, the target judged from them. That the
stream keeps nothing of a replayed history is tests/test_audit_replay_jobs.py's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import commands.audit
from audit.replay import Replayed
from bench import replay_memory
from bench.replay_memory import (
    ReplayMemory,
    Sample,
    Sampler,
    Series,
    claim_templates,
    link_cases,
    load_repeated,
    rows,
    sample_of,
    status_mb,
)
from bench.report import Findings, _replay_memory

HISTORIES = Path(__file__).parent / "histories"
STATUS = """Name:\tpython
VmPeak:\t  900000 kB
VmHWM:\t  153600 kB
VmRSS:\t  138240 kB
Threads:\t5
"""


def _series(*samples: tuple[int, float]) -> Series:
    """One process's samples as (histories replayed, VmRSS); the peak 5 MB above."""
    return Series(1, samples[-1][0], tuple(Sample(n, ((mb, mb + 5),)) for n, mb in samples))


def test_resident_memory_and_its_peak_are_read_from_proc_status():
    assert status_mb(STATUS) == (135.0, 150.0)


def test_each_link_is_a_case_of_its_own_with_the_templates_in_turn(tmp_path):
    templates = [HISTORIES / "fast-track.json", HISTORIES / "human-approval.json"]
    links = link_cases(templates, tmp_path, 5)

    assert [p.name for p in links] == [f"{i:06d}.json" for i in range(5)]
    assert [p.resolve() for p in links] == [t.resolve() for t in templates * 2 + templates[:1]]
    ids = [load_repeated(p).workflow_id for p in links]
    assert len(set(ids)) == 5
    assert ids[0] == f"{commands.audit.load_file(templates[0]).workflow_id}~000000"


def test_without_the_replay_phase_the_recorded_claim_paths_are_repeated(tmp_path):
    files, described = claim_templates(tmp_path / "replay-claims")

    assert HISTORIES / "fast-track.json" in files
    assert not any(p.name.startswith("complaint-") for p in files)
    assert described == f"the {len(files)} recorded claim paths (tests/histories)"

    (tmp_path / "replay-claims").mkdir()
    (tmp_path / "replay-claims" / "000000.json").write_text("{}")
    assert claim_templates(tmp_path / "replay-claims")[1] == (
        "the replay phase's 1 fast-track claims"
    )


def test_one_process_is_sampled_every_so_many_outcomes_as_one_json_line():
    lines: list[str] = []
    sampler = Sampler(every=2, jobs=1, write=lines.append)
    for i in range(5):
        sampler(Replayed(i, f"h{i}", None))

    samples = [sample_of(line) for line in lines]
    assert [s.replayed for s in samples] == [2, 4]
    assert all(len(s.processes) == 1 and s.gatherer is None for s in samples)
    assert all(s.rss_mb > 0 and s.peak_mb >= s.rss_mb for s in samples)
    assert json.loads(lines[0])["processes"][0] == list(samples[0].processes[0])


def test_a_history_that_does_not_replay_stops_the_measure():
    sampler = Sampler(every=10, jobs=1, write=lambda line: None)
    with pytest.raises(RuntimeError, match="h0 does not replay: NondeterminismError: x"):
        sampler(Replayed(0, "h0", "NondeterminismError: x"))


def test_with_two_processes_none_is_sampled_once_one_has_ended():
    # this process has no replaying children: as after the two have ended
    assert Sampler(every=1, jobs=2, write=lambda line: None).sample() is None


@pytest.mark.parametrize(
    ("samples", "mark", "figure"),
    [
        (((1000, 140), (5000, 145), (10_000, 149)), True, "+9.0 MB (140 -> 149 MB)"),
        (((1000, 140), (5000, 160), (10_000, 180)), False, "+40.0 MB (140 -> 180 MB)"),
        # a quick run's 2,000 histories: not the target's measure
        (
            ((200, 140), (2000, 141)),
            None,
            "+1.0 MB (140 -> 141 MB) (200 -> 2,000 histories)",
        ),
    ],
)
def test_the_target_is_growth_within_10_mb_from_1000_to_10000_histories(samples, mark, figure):
    s = _series(*samples)
    t = _replay_memory(Findings(replay_memory=ReplayMemory({1: s}, "x")))
    assert (t.met, t.figure) == (mark, figure)


def test_not_run_is_not_measured():
    assert _replay_memory(Findings()).met is None


def test_the_figures_show_each_series_and_the_gatherer_with_two_processes():
    first = Sample(200, ((130, 131), (132, 133)), (27, 27))
    two = Series(2, 2_000, (first, Sample(400, ((131, 133), (131, 133)), (28, 28))))
    r = ReplayMemory({1: _series((1000, 140), (10_000, 141)), 2: two}, "recorded paths")

    table = dict(rows(r))

    one = next(k for k in table if "--jobs 1`, 10,000 histories" in k)
    assert table[one] == "140 / 141"
    growth = next(k for k in table if "--jobs 2`: growth from 200 / from 200 to 400" in k)
    assert table[growth] == "-1.0 MB / -1.0 MB, 133 MB, 28 MB"


def test_growth_is_also_shown_over_the_second_half_where_a_leak_would_go_on():
    s = _series(*((n, 140 + min(n, 5000) / 500) for n in range(1000, 10_001, 1000)))
    assert s.samples[s.halfway()].replayed == 5000
    assert (s.growth_mb(), s.growth_mb(s.halfway())) == (8.0, 0.0)


def test_the_phase_is_named_in_the_benchmarks_phases():
    from bench import run

    assert "replay-memory" in run.PHASES
    assert run.parse(["--quick"]).replay_cases == 2_000
    assert run.parse([]).replay_cases == replay_memory.TARGET_CASES == 10_000
