"""`python3 dev.py run` as a service manager or a closed terminal stops it: the launcher passes
SIGTERM and SIGHUP on to the engine (`claims run`), which stops its worker and its Temporal
server; nothing of the process tree is left and the next start on the same ports works.

The launcher runs as `dev.py run` does after its install check (`dev.supervise`), so the test
does not touch the virtual environment. Linux only: the process tree is read from /proc."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_end_to_end import CLAIMS, _free_port

ROOT = Path(__file__).resolve().parent.parent
LAUNCH = (
    "import sys; sys.path.insert(0, sys.argv[1]); import dev; sys.exit(dev.supervise(sys.argv[2:]))"
)

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def _tree(pid: int) -> set[int]:
    """Every process below `pid` (the launcher's children, theirs, ...)."""
    seen: set[int] = set()
    todo = [pid]
    while todo:
        for child in _children(todo.pop()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Launcher:
    def __init__(self, data_dir: Path) -> None:
        self.env = {**os.environ, "CLAIMS_DATA_DIR": str(data_dir)}
        for name in ("CLAIMS_PAYLOAD_KEYS", "TEMPORAL_ADDRESS", "CLAIMS_DATABASE_URL"):
            self.env.pop(name, None)
        self.port = _free_port()
        self.env["CLAIMS_TEMPORAL_PORT"] = str(self.port)
        for name in ("CLAIMS_UI_PORT", "CLAIMS_HTTP_PORT", "CLAIMS_CODEC_PORT"):
            self.env[name] = str(_free_port())
        self.proc: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self, until: str = "ready") -> set[int]:
        """Start the launcher; return the process tree once a line starting with `until`
        is printed."""
        self.output = []
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, str(ROOT), CLAIMS, "run"],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.output.append(line)
            if line.startswith(until):
                return _tree(self.proc.pid)
        self.proc.kill()
        raise AssertionError(f"no {until!r} line:\n" + "".join(self.output))

    def stop(self, signum: int) -> int:
        assert self.proc is not None
        self.proc.send_signal(signum)
        out, _ = self.proc.communicate(timeout=60)
        self.output.append(out)
        return self.proc.returncode


def _assert_nothing_left(launcher: Launcher, tree: set[int]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(p) for p in tree):
        time.sleep(0.1)
    left = sorted(p for p in tree if _alive(p))
    for pid in left:  # do not leave them to other tests either
        os.kill(pid, signal.SIGKILL)
    assert left == [], "still running after the stop:\n" + "".join(launcher.output)
    assert not _port_open(launcher.port)


@pytest.fixture
def launcher(tmp_path):
    eng = Launcher(tmp_path / "data")
    yield eng
    if eng.proc is not None and eng.proc.poll() is None:
        eng.proc.kill()
        eng.proc.communicate(timeout=30)


def test_sigterm_then_sighup_stop_everything_and_the_next_start_works(launcher):
    tree = launcher.start()
    # the engine and its Temporal server (which runs in a session of its own)
    assert len(tree) >= 2, tree
    assert launcher.stop(signal.SIGTERM) == 0, "".join(launcher.output)
    assert "stopped" in "".join(launcher.output)
    _assert_nothing_left(launcher, tree)

    # the same ports and data folder again: the port is free, the start works
    tree = launcher.start()
    assert launcher.stop(signal.SIGHUP) == 0, "".join(launcher.output)
    _assert_nothing_left(launcher, tree)


def test_sigterm_while_the_engine_starts_leaves_nothing_running(launcher):
    # The server is up and the worker not yet: the start is unwound and the server stopped.
    tree = launcher.start(until="temporal")
    assert launcher.stop(signal.SIGTERM) == 0, "".join(launcher.output)
    _assert_nothing_left(launcher, tree)
