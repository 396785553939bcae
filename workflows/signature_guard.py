"""Signed decisions (README "Signed decisions"): the checks a decision's signature passes on a
case before it is taken, and the record of a refusal. Cases begun since the release verify
Ed25519 and also sign convening a panel and re-adjusting; earlier ones verify HMAC; cases begun
before decisions were signed take unsigned ones. Deterministic code only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, NoReturn, TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.signatures import SignatureActivities
    from models.catalog import SIGNATURE_WINDOW_MINUTES
    from models.records import StaffInfo
    from models.signature import SignatureCheck, SignatureVerdict, Signed, SignerCheck
    from workflows.recorder import CaseRecorder, record_call

Message = TypeVar("Message", bound=Signed)

USED = "bad signature: this signature was already used on this case"


def bad_signature(reason: str) -> ApplicationError:
    return ApplicationError(reason, type="BadSignature", non_retryable=True)


def _signed_at(signed_at: str) -> datetime | str:
    """The time a decision was signed at, or why it cannot be read."""
    try:
        at = datetime.fromisoformat(signed_at)
    except ValueError:
        return f"bad signature: signed_at {signed_at!r} is not an ISO 8601 time"
    if at.tzinfo is None:
        return f"bad signature: signed_at {signed_at!r} has no UTC offset"
    return at


class SignatureGuard:
    """The signatures one case has taken, and the checks of the next one."""

    def __init__(
        self,
        recorder: CaseRecorder[Any],
        *,
        flush: Callable[[], Awaitable[None]],
        window: Callable[[], int | None],
        signing: bool,
        release: bool,
    ) -> None:
        self._recorder = recorder
        self._flush = flush
        # The case's rules' window in minutes; None before the rules are loaded.
        self._window = window
        # Cases that started before decisions were signed take them as they did then.
        self._signing = signing
        # Cases begun since the release sign with Ed25519 and sign more steps.
        self._release = release
        self._signatures: set[str] = set()

    def problem(self, msg: Signed) -> str | None:
        """Why a decision's signature cannot be taken, from the message alone (no lookup, so
        update validators run it too); None when it may go on to the key check."""
        if msg.signature is None and msg.signed_at is None:
            return (
                f"bad signature: the decision of {msg.signer} is not signed"
                if self._signing
                else None
            )
        if not msg.signature or not msg.signed_at:
            return "bad signature: a signed decision carries both signed_at and signature"
        at = _signed_at(msg.signed_at)
        if isinstance(at, str):
            return at
        window = self._window()
        if window is None:
            window = SIGNATURE_WINDOW_MINUTES
        now = workflow.now()
        if abs(now - at) > timedelta(minutes=window):
            return (
                f"bad signature: signed at {msg.signed_at}, more than {window} minutes from "
                f"the case's time {now.isoformat(timespec='seconds')}"
            )
        if msg.signature.lower() in self._signatures:
            return USED
        return None

    async def refusal(self, msg: Signed) -> str | None:
        """None when the decision is validly signed by the person it names (or the case
        predates signing and the message is unsigned); otherwise the reason to refuse it."""
        reason = self.problem(msg)
        if reason or msg.signature is None:
            return reason
        verdict = await record_call(
            SignatureActivities.verify_signature, self._check(msg, msg.signature)
        )
        return self._spend(msg.signature, verdict)

    async def with_signer(
        self,
        msg: Message,
        first: Callable[[Message, StaffInfo | None], str | None],
        *,
        record: bool,
    ) -> str | None:
        """Since "fewer-steps" (workflows/case.py): the signer looked up once (their staff
        record, and the verdict on the signature when there is one to verify), then `first`
        (what is refused
        ahead of the signature, from the staff record), then what `refusal` refuses. With
        `record`, a signature refusal is recorded and raised as `require` does."""
        reason = self.problem(msg)
        check = None if reason or msg.signature is None else self._check(msg, msg.signature)
        found = await record_call(
            SignatureActivities.check_signer, SignerCheck(staff_id=msg.signer, check=check)
        )
        ahead = first(msg, found.staff)
        if ahead:
            return ahead
        if check is not None:
            reason = self._spend(check.signature, found.verdict)
        if reason and record:
            await self._refuse(msg, reason)
        return reason

    def _check(self, msg: Signed, signature: str) -> SignatureCheck:
        return SignatureCheck(
            staff_id=msg.signer,
            case_id=self._recorder.case_id,
            fields=msg.signed_fields(),
            signature=signature,
            # Cases begun since the release are signed with Ed25519; earlier ones with HMAC.
            algorithm="ed25519" if self._release else None,
        )

    def _spend(self, signature: str, verdict: SignatureVerdict | None) -> str | None:
        """None when the verdict is valid and the signature unused, which spends it."""
        if verdict is None or not verdict.valid:
            return verdict.reason if verdict else "bad signature: it was not verified"
        # Looked at again after the lookup: a copy of the message may have been taken meanwhile.
        # Only a valid signature is spent, so a tampered copy cannot use up the genuine one.
        used = signature.lower()
        if used in self._signatures:
            return USED
        self._signatures.add(used)
        return None

    def validate_release(self, msg: Signed) -> None:
        """Validators of the steps signed since release 2026-12 (convening a panel,
        re-adjusting): a case begun since refuses them unsigned or badly stamped before they
        are accepted; earlier cases take them as they did then."""
        if self._release:
            reason = self.problem(msg)
            if reason:
                raise bad_signature(reason)

    async def require(self, msg: Signed) -> None:
        """For update handlers (not validators: a validator's refusal leaves no trace): a
        decision without a valid signature is refused and recorded as an audit event."""
        reason = await self.refusal(msg)
        if reason:
            await self._refuse(msg, reason)

    async def _refuse(self, msg: Signed, reason: str) -> NoReturn:
        self._recorder.event("decision_refused", msg.signer, reason=reason, via="update")
        await self._flush()
        raise bad_signature(reason)
