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
        who = check.staff_id
        if row is None:
            return SignatureVerdict(valid=False, reason=f"bad signature: unknown person {who!r}")
        mismatch = SignatureVerdict(
            valid=False, reason=f"bad signature: it does not match this decision under {who}'s key"
        )
        if check.algorithm == ED25519:
            if row.algorithm != ED25519 or not row.public_key:
                return SignatureVerdict(
                    valid=False, reason=f"bad signature: {who} has no Ed25519 public key"
                )
            if not ed25519_matches(row.public_key, check.fields, check.case_id, check.signature):
                return mismatch
            return SignatureVerdict(valid=True)
        if check.algorithm is not None:
            return SignatureVerdict(
                valid=False, reason=f"bad signature: unknown algorithm {check.algorithm!r}"
            )
        if not row.signing_key:
            return SignatureVerdict(valid=False, reason=f"bad signature: {who} has no signing key")
        _, _, key = parse_record(row.signing_key)
        if not matches(key, check.fields, check.case_id, check.signature):
            return mismatch
        return SignatureVerdict(valid=True)
