"""Demo policies, product clauses and staff, so a new user can try the engine at once.

Loaded by `claims run` on first start and by `claims demo load`; loading twice changes nothing.
Each demo staff member signs with a published Ed25519 key derived from a fixed seed per person
(`signing.demo_private_key`; README "Signed decisions"), and, for cases begun before release
2026-12, with the published HMAC secret `demo-<staff id>`: fine for trying the engine, never for
real staff.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

import signing
from demo.data import CLAUSE_CAUSES, CLAUSES, POLICIES, STAFF, WATCH_LIST
from models.tables import ClauseRow, PolicyRow, PolicyStatusRow, StaffRow, WatchListRow

# The demo policies began on a fixed day (tests and the README work dates out from it) and run
# to the end of the second calendar year after the day the demo is loaded, so that a claim
# reported today is inside the policy period whenever someone tries the engine.
START = date(2025, 1, 1)
YEARS_AHEAD = 2


def policy_end(loaded_on: date) -> date:
    """The demo policies' last day for a demo loaded on `loaded_on`."""
    return date(loaded_on.year + YEARS_AHEAD, 12, 31)


def demo_secret(staff_id: str) -> str:
    return f"demo-{staff_id}"


def demo_key_record(staff_id: str) -> str:
    """The stored key of a demo secret. The salt is fixed per person so that loading the demo
    twice, or into many test databases, gives the same record (and derives it once)."""
    salt = hashlib.sha256(f"claims-demo:{staff_id}".encode()).digest()[:16]
    return signing.key_record(demo_secret(staff_id), salt)


def demo_public_key(staff_id: str) -> str:
    """The public key (PEM) of a demo person's deterministic Ed25519 key pair."""
    return signing.public_pem(signing.demo_private_key(staff_id))


def load(
    engine: Engine,
    keys_file: Path | None = None,
    today: date | None = None,
    keys_dir: Path | None = None,
) -> dict[str, int]:
    """Upsert the demo data; returns how many rows of each kind are now present. A demo staff
    member without a signing key gets the demo one (Ed25519 public key, and the HMAC record for
    cases begun before the release); `keys_file` also receives the demo secrets and `keys_dir`
    the demo private keys (keeping any already there) so that the CLI signs as them. Loading
    again later extends the policies' end to stay ahead of `today`."""
    end = policy_end(today or datetime.now(UTC).date())
    with Session(engine) as session:
        for p in POLICIES:
            name, id_no = p["insured"]
            # A status changed since (claims policy cancel ...) stays as its history says.
            existing = session.get(PolicyRow, p["policy_no"])
            session.merge(
                PolicyRow(
                    policy_no=p["policy_no"],
                    line=p["line"],
                    product_code=p["product_code"],
                    insured_name=name,
                    insured_id_no=id_no,
                    start_date=START,
                    end_date=end,
                    status=existing.status if existing else "in_force",
                    terms=p["terms"],
                )
            )
            # Issued on its start date: seq 0, below every change `claims policy` records.
            issued = session.get(PolicyStatusRow, (p["policy_no"], 0))
            session.merge(
                PolicyStatusRow(
                    policy_no=p["policy_no"],
                    seq=0,
                    event="issued",
                    effective_on=START,
                    reason="保单签发",
                    recorded_at=issued.recorded_at if issued else datetime.now(UTC),
                    recorded_by="demo",
                )
            )
        for product, cid, kind, tz, te, xz, xe in CLAUSES:
            session.merge(
                ClauseRow(
                    product_code=product,
                    clause_id=cid,
                    kind=kind,
                    title_zh=tz,
                    title_en=te,
                    text_zh=xz,
                    text_en=xe,
                    causes=CLAUSE_CAUSES.get(cid),
                )
            )
        for sid, name, level, roles in STAFF:
            row = session.get(StaffRow, sid)
            key, set_at = (row.signing_key, row.key_set_at) if row else (None, None)
            algorithm, public = (row.algorithm, row.public_key) if row else (None, None)
            if key is None:
                key, set_at = demo_key_record(sid), datetime.now(UTC)
            if public is None:
                algorithm, public = signing.ED25519, demo_public_key(sid)
                set_at = set_at or datetime.now(UTC)
            session.merge(
                StaffRow(
                    staff_id=sid,
                    name=name,
                    level=level,
                    roles=roles,
                    signing_key=key,
                    key_set_at=set_at,
                    algorithm=algorithm,
                    public_key=public,
                )
            )
        for id_no, reason in WATCH_LIST:
            session.merge(WatchListRow(id_no=id_no, reason=reason))
        session.commit()
    if keys_file is not None:
        signing.save_keys(keys_file, {sid: demo_secret(sid) for sid, *_ in STAFF}, replace=False)
    if keys_dir is not None:
        for sid, *_ in STAFF:
            path = signing.private_key_path(keys_dir, sid)
            if not path.exists():
                signing.write_private_key(path, signing.demo_private_key(sid))
    return {
        "policies": len(POLICIES),
        "clauses": len(CLAUSES),
        "staff": len(STAFF),
        "watch_list": len(WATCH_LIST),
    }
