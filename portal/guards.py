"""The page's guards: a per-IP limit on token lookups, CSRF tokens on every form (a
double-submit cookie, compared in constant time), and an access log that never shows a
link's token."""

from __future__ import annotations

import hmac
import logging
import re
import secrets
import threading
import time
from collections import deque

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSRF_COOKIE = "portal_csrf"
CSRF_FIELD = "csrf"
_TOKEN_IN_PATH = re.compile(r"/c/[^/\s?\"]+")


class RateLimit:
    """Link lookups per address: after `limit` links that opened nothing within `window`
    seconds, every lookup from that address is refused until the window moves on. Guessing
    is stopped; a claimant reloading their own page is not."""

    def __init__(self, limit: int = 30, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._misses: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        misses = self._misses.setdefault(address, deque())
        while misses and misses[0] <= now - self.window:
            misses.popleft()
        return misses

    def allow(self, address: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            return len(self._recent(address, now)) < self.limit

    def miss(self, address: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._recent(address, now).append(now)
            if len(self._misses) > 10_000:  # forget idle addresses
                for key in [k for k, v in self._misses.items() if not v]:
                    del self._misses[key]


def new_csrf() -> str:
    return secrets.token_urlsafe(24)


def csrf_ok(cookie: str | None, submitted: str | None) -> bool:
    if not cookie or not submitted:
        return False
    return hmac.compare_digest(cookie.encode(), submitted.encode())


def without_token(text: str) -> str:
    """A path or log line with any claim link's token replaced."""
    return _TOKEN_IN_PATH.sub("/c/<token>", text)


class HideTokens(logging.Filter):
    """On uvicorn's access log: the request line keeps its path, not the token in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(without_token(a) if isinstance(a, str) else a for a in record.args)
        record.msg = without_token(str(record.msg))
        return True


def hide_tokens_in_access_log() -> None:
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HideTokens) for f in logger.filters):
        logger.addFilter(HideTokens())


class _TooLarge(Exception):
    pass


class BodyLimit:
    """An ASGI middleware refusing a request body over `limit` bytes with 413, whether or not
    it says its length up front (a chunked upload is counted as it arrives)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            await _too_large(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except _TooLarge:
            if not started:
                await _too_large(scope, receive, send)


async def _too_large(scope: Scope, receive: Receive, send: Send) -> None:
    text = "上传的内容太大。 The upload is too large.\n"
    await PlainTextResponse(text, status_code=413)(scope, receive, send)
