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

CSRF_COOKIE = "portal_csrf"
CSRF_FIELD = "csrf"
_TOKEN_IN_PATH = re.compile(r"/c/[^/\s?\"]+")


class RateLimit:
    """At most `limit` lookups per `window` seconds from one address (a sliding window)."""

    def __init__(self, limit: int = 30, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, address: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            hits = self._hits.setdefault(address, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return False
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle addresses
                for key in [k for k, v in self._hits.items() if not v]:
                    del self._hits[key]
            return True


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
