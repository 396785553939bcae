"""Per-claim access links. The token is 32 random bytes (secrets.token_urlsafe); only its
sha256 is stored. A link opens its claim while the claim is open and for 90 days after it
closes, unless revoked; an unknown, expired or revoked token is the same refusal."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from portal import queries

LINK_DAYS_AFTER_CLOSING = 90
TOKEN_BYTES = 32


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def issue(*, engine: Engine, claim_id: str, now: datetime | None = None) -> str:
    """A new link token for the claim (earlier links stay valid)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    queries.add_token(
        engine=engine, token_sha256=digest(token), claim_id=claim_id, at=now or datetime.now(UTC)
    )
    return token


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def claim_of(*, engine: Engine, token: str, now: datetime | None = None) -> str | None:
    """The claim a token opens now, or None (unknown, revoked, expired: no difference)."""
    if not token or len(token) > 100:
        return None
    row = queries.token(engine=engine, token_sha256=digest(token))
    if row is None or row.revoked_at is not None:
        return None
    now = now or datetime.now(UTC)
    expires = row.expires_at
    if expires is None:
        claim = queries.claim(engine=engine, claim_id=row.claim_id)
        if claim is not None and claim.closed_at is not None:
            expires = _aware(claim.closed_at) + timedelta(days=LINK_DAYS_AFTER_CLOSING)
    if expires is not None and _aware(expires) <= now:
        return None
    return row.claim_id
