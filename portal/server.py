"""Serving the portal on uvicorn: alone (`claims portal`) or beside the engine (`claims run`,
in a thread stopped when the engine stops). The access log never shows a link's token."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from client import connect
from portal.app import build
from portal.guards import hide_tokens_in_access_log
from settings import Settings


def base_url(settings: Settings) -> str:
    """Where claimants reach the portal (CLAIMS_PORTAL_URL), else the local address."""
    return (settings.portal_url or f"http://127.0.0.1:{settings.portal_port}").rstrip("/")


def _config(settings: Settings, host: str, port: int, log_level: str) -> uvicorn.Config:
    app = build(settings, lambda: connect(settings))
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=True)
    hide_tokens_in_access_log()
    return config


def serve(settings: Settings, host: str = "127.0.0.1", port: int | None = None) -> None:
    """Run until Ctrl-C, with the access log (tokens replaced)."""
    uvicorn.Server(_config(settings, host, port or settings.portal_port, "info")).run()


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextlib.contextmanager
def running(settings: Settings, announce: Callable[[str], Any]) -> Iterator[None]:
    """The portal in a thread for as long as the block runs (`claims run`). A port in use is
    said and the engine runs on without the page."""
    port = settings.portal_port
    if not _port_free(port):
        announce(f"portal     not started: port {port} is in use (set CLAIMS_PORTAL_PORT)")
        yield
        return
    # beside the engine the page keeps to warnings: the engine's terminal is for its status
    server = uvicorn.Server(_config(settings, "127.0.0.1", port, "warning"))
    thread = threading.Thread(target=server.run, name="portal", daemon=True)
    thread.start()
    announce(f"portal     {base_url(settings)} (claimant self-service)")
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)
