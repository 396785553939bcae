"""Checking a signed decision against the signer's key in the read model.

The check runs here, not in workflow code: the workflow would need the key, and an activity's
result is written into the case's history, where no key must appear. Cases begun since release
2026-12 ask for `ed25519` (the table's public key); earlier cases ask for nothing and are
checked with HMAC-SHA256 under the derived key kept for them.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity

from models.signature import SignatureCheck, SignatureVerdict
from models.tables import StaffRow
from signing import ED25519, ed25519_matches, matches, parse_record


class SignatureActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name="verify_signature")
    def verify_signature(self, check: SignatureCheck) -> SignatureVerdict:
        with Session(self.engine) as session:
            row = session.get(StaffRow, check.staff_id)
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


def _ed25519_verdict(row: StaffRow, check: SignatureCheck) -> SignatureVerdict:
    """Cases begun since release 2026-12: the signer's public key."""
    if row.algorithm != ED25519 or not row.public_key:
        return _refused(f"{check.staff_id} has no Ed25519 public key")
    if not ed25519_matches(row.public_key, check.fields, check.case_id, check.signature):
        return _mismatch(check)
    return SignatureVerdict(valid=True)


def _hmac_verdict(row: StaffRow, check: SignatureCheck) -> SignatureVerdict:
    """Earlier cases: HMAC-SHA256 under the key derived from the signer's secret."""
    if not row.signing_key:
        return _refused(f"{check.staff_id} has no signing key")
    _, _, key = parse_record(row.signing_key)
    if not matches(key, check.fields, check.case_id, check.signature):
        return _mismatch(check)
    return SignatureVerdict(valid=True)
