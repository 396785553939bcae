"""Checking a signed decision against the signer's key in the read model.

The check runs here, not in workflow code: the workflow would need the key, and an activity's
result is written into the case's history, where no key must appear. Cases begun since release
2026-12 ask for `ed25519` (the table's public key); earlier cases ask for nothing and are
checked with HMAC-SHA256 under the derived key kept for them.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity

from models.records import StaffInfo
from models.signature import SignatureCheck, SignatureVerdict, SignerCheck, SignerFound
from models.tables import StaffRow, table_of
from signing import ED25519, ed25519_matches, matches, parse_record

STAFF = table_of(StaffRow)


class _Keys(Protocol):
    """The key columns of a staff row, read through the ORM or a plain statement."""

    @property
    def signing_key(self) -> str | None: ...
    @property
    def algorithm(self) -> str | None: ...
    @property
    def public_key(self) -> str | None: ...


class SignatureActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name="verify_signature")
    def verify_signature(self, check: SignatureCheck) -> SignatureVerdict:
        with Session(self.engine) as session:
            row = session.get(StaffRow, check.staff_id)
            return _verdict(row, check)

    @activity.defn(name="check_signer")
    def check_signer(self, req: SignerCheck) -> SignerFound:
        """A decision's signer looked up once (since "fewer-steps", workflows/case.py): what
        `get_staff` answers, and what `verify_signature` answers when there is a signature to
        check. An unknown person or a malformed signature is a verdict, never an error."""
        with self.engine.connect() as conn:
            row = conn.execute(select(STAFF).where(STAFF.c.staff_id == req.staff_id)).first()
        staff = None if row is None else StaffInfo.model_validate(row, from_attributes=True)
        verdict = None if req.check is None else _verdict(row, req.check)
        return SignerFound(staff=staff, verdict=verdict)


def _verdict(row: _Keys | None, check: SignatureCheck) -> SignatureVerdict:
    if row is None:
        return _refused(f"unknown person {check.staff_id!r}")
    if check.algorithm == ED25519:
        return _ed25519_verdict(row, check)
    if check.algorithm is not None:
        return _refused(f"unknown algorithm {check.algorithm!r}")
    return _hmac_verdict(row, check)


def _refused(why: str) -> SignatureVerdict:
    return SignatureVerdict(valid=False, reason=f"bad signature: {why}")


def _mismatch(check: SignatureCheck) -> SignatureVerdict:
    return _refused(f"it does not match this decision under {check.staff_id}'s key")


def _ed25519_verdict(row: _Keys, check: SignatureCheck) -> SignatureVerdict:
    """Cases begun since release 2026-12: the signer's public key."""
    if row.algorithm != ED25519 or not row.public_key:
        return _refused(f"{check.staff_id} has no Ed25519 public key")
    if not ed25519_matches(row.public_key, check.fields, check.case_id, check.signature):
        return _mismatch(check)
    return SignatureVerdict(valid=True)


def _hmac_verdict(row: _Keys, check: SignatureCheck) -> SignatureVerdict:
    """Earlier cases: HMAC-SHA256 under the key derived from the signer's secret."""
    if not row.signing_key:
        return _refused(f"{check.staff_id} has no signing key")
    _, _, key = parse_record(row.signing_key)
    # compare_digest refuses a str that is not ASCII: such a signature is simply no match
    if not check.signature.isascii() or not matches(
        key, check.fields, check.case_id, check.signature
    ):
        return _mismatch(check)
    return SignatureVerdict(valid=True)
