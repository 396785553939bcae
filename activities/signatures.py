"""Checking a signed decision against the signer's key in the read model.

The check runs here, not in workflow code: the workflow would need the key, and an activity's
result is written into the case's history, where the key must never appear.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio import activity

from models.signature import SignatureCheck, SignatureVerdict
from models.tables import StaffRow
from signing import matches, parse_record


class SignatureActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn(name="verify_signature")
    def verify_signature(self, check: SignatureCheck) -> SignatureVerdict:
        with Session(self.engine) as session:
            row = session.get(StaffRow, check.staff_id)
            record = row.signing_key if row is not None else None
        who = check.staff_id
        if row is None:
            return SignatureVerdict(valid=False, reason=f"bad signature: unknown person {who!r}")
        if not record:
            return SignatureVerdict(valid=False, reason=f"bad signature: {who} has no signing key")
        _, _, key = parse_record(record)
        if not matches(key, check.fields, check.case_id, check.signature):
            return SignatureVerdict(
                valid=False,
                reason=f"bad signature: it does not match this decision under {who}'s key",
            )
        return SignatureVerdict(valid=True)
