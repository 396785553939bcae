"""Signed staff decisions: the two optional fields every decision message carries, and what
the workflow asks the `verify_signature` and `check_signer` activities."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field

from models.records import StaffInfo


class Signed(BaseModel):
    """A decision a staff member signs (README "Signed decisions"). Both fields are optional so
    that payloads only grow; a case started under the signing rules refuses a message without
    them."""

    signer_field: ClassVar[str] = "approver"

    signed_at: str | None = Field(
        default=None, description="ISO 8601 time with offset when the decision was signed"
    )
    signature: str | None = Field(
        default=None,
        description="hex Ed25519 signature of the canonical form by the signer's private key "
        "(cases begun before release 2026-12: hex HMAC-SHA256 under the signer's derived key)",
    )

    @property
    def signer(self) -> str:
        return str(getattr(self, self.signer_field))

    def signed_fields(self) -> dict[str, Any]:
        """The fields as received (those the sender set), without the signature."""
        return self.model_dump(mode="json", exclude_unset=True, exclude={"signature"})


class SignatureCheck(BaseModel):
    staff_id: str
    case_id: str
    fields: dict[str, Any]
    signature: str
    # `ed25519` for cases begun since release 2026-12; None (HMAC-SHA256) for earlier ones.
    algorithm: str | None = None


class SignatureVerdict(BaseModel):
    valid: bool
    reason: str = ""


class SignerCheck(BaseModel):
    """What the `check_signer` activity is asked: the person a decision names, and the check of
    their signature when there is one to verify."""

    staff_id: str
    check: SignatureCheck | None = None


class SignerFound(BaseModel):
    """The person's staff record (None if there is no such person) and the verdict on the
    signature (None when none was asked for)."""

    staff: StaffInfo | None = None
    verdict: SignatureVerdict | None = None
