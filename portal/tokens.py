"""Per-claim access links. The token is 32 bytes in URL-safe base64: random
(secrets.token_urlsafe), or for a notice's link an HMAC of the notice's key, so that every
attempt of one notice sends the same link. Only its sha256 is stored. A link opens its claim
while the claim is open and for 90 days after it closes, unless revoked; an unknown, expired
or revoked token is the same refusal."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from portal import queries

if TYPE_CHECKING:
    from settings import Settings

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


# What the link secret is derived for: the payload key it comes from encrypts payloads, and
# this label keeps the two uses apart.
LINK_LABEL = b"claims portal: the page link of a notice"


def link_secret(settings: Settings) -> bytes | None:
    """The secret notices' links are made with: derived from the active payload key (HMAC of
    LINK_LABEL), so it is as well kept as that key and needs no file of its own. None when no
    payload key is configured (CLAIMS_PAYLOAD_ENCRYPTION=off): links are then random."""
    from security.keys import key_ring

    ring = key_ring(settings.payload_keys, settings.key_file)
    return hmac.new(ring[0][1], LINK_LABEL, hashlib.sha256).digest() if ring else None


def for_notice(
    *,
    engine: Engine,
    claim_id: str,
    notice_key: str,
    secret: bytes | None,
    now: datetime | None = None,
) -> str:
    """The link a notice carries. With `secret` it is the same for every attempt of the notice
    (an HMAC of the notice's key), so an attempt retried after the claimant may already have
    the message sends that same link and stores no second row. Without one, a random link per
    attempt, each of which stays valid."""
    if secret is None:
        return issue(engine=engine, claim_id=claim_id, now=now)
    mac = hmac.new(secret, notice_key.encode("utf-8", "surrogatepass"), hashlib.sha256)
    token = base64.urlsafe_b64encode(mac.digest()[:TOKEN_BYTES]).rstrip(b"=").decode("ascii")
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
