"""How a case (a claim, a complaint) begins: the release patch decided when it starts, its
start input read raw, and the case id checked. What a running case shares lives in plain
objects its workflow owns: workflows/recorder.py, deadlines.py and signature_guard.py.
Deterministic code only."""

from __future__ import annotations

from typing import TypeVar

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    import pydantic

    from models.arguments import SeveralArguments
    from models.validation import (
        BEFORE_HARDENING,
        CASE_ID_PATTERN,
        LENIENT,
        safe_case_id,
        validation_message,
    )

INVALID_REPORT = "INVALID_REPORT"

# The start input when a client sends none. The parameter's type is exactly RawValue (the SDK
# hands over the payload undecoded only for that hint, not for `RawValue | None`).
NO_REPORT = RawValue(Payload())

# What the December 2026 release changed in how a case runs, as one patch decided when the case
# starts (the workflow's `__init__` reads it first): authority by role, exclusions, the loss
# assessment and amounts from the insurer's figures, limits across claims, the lapse, the
# second notice, the payee on the watch list, coverage on the incident date, clocks from
# receipt, calendar coverage, the materials pause from delivery, the complaint review window,
# the complaint ledger and roles, letters' local dates and details, hostile input. A case
# begun before takes none of them; one begun since takes all. One id, not one per change:
# each patch costs every case's history a marker and a TemporalChangeVersion upsert.
RELEASE_2026_12 = "release-2026-12"

# What the January 2027 release changed in how a claim runs, decided the same way when the case
# starts: the follow-up call after payment or denial and the special care of a claimant (a named
# advisor, top priority, the internal target), and the notices sent at each key node (DOMAIN
# §11) with the materials pause from the notice's delivery. A claim begun before takes none.
RELEASE_2027_01 = "release-2027-01"

# Fewer steps for a claim to take, with nothing changed in what it does or records: a key
# node's letter and the notice that carries it in one local activity, the payee's account
# looked up on the watch list with the rules when it came with the report, and a decision's
# signer looked up once for both the authority and the signature. Decided when the case
# starts, like the releases: a claim begun before takes its steps as it did.
FEWER_STEPS = "fewer-steps"

# Every patch named before this one, settled for a new case by this one marker: a case begun
# since has them all; one begun before decides each as it did then. Each patch costs every
# case's history a marker and a TemporalChangeVersion upsert: a fast-track claim carried six of
# each. Read first when a case starts (the workflows' `__init__`, through `patches_settled`), so
# that a case begun before decides it there, during replay, and every later read gives the same
# answer (the SDK keeps the first).
RELEASE_2027_02 = "release-2027-02"
SETTLED = frozenset(
    {
        RELEASE_2026_12,
        RELEASE_2027_01,
        FEWER_STEPS,
        "signed-decisions",
        "local-records",
        "next-due-time",
        "calendar-updates",
        "flush-on-message",
        "refuse-impossible-dates",
        "refuse-invalid-report",
    }
)


def patches_settled() -> bool:
    """Whether this case was begun under RELEASE_2027_02; the first thing a workflow reads."""
    return workflow.patched(RELEASE_2027_02)


def patched(patch_id: str) -> bool:
    """Whether this case runs with `patch_id`: `workflow.patched`, except that a case begun
    under RELEASE_2027_02 has every patch in SETTLED without a marker of its own."""
    if patch_id in SETTLED and workflow.patched(RELEASE_2027_02):
        return True
    return workflow.patched(patch_id)


Report = TypeVar("Report", bound=pydantic.BaseModel)


def read_report(model: type[Report], raw: RawValue) -> tuple[Report | None, str | None]:
    """The start input, decoded here rather than by the converter: a report that does not
    decode would otherwise fail the workflow before it could say why. Decoding the JSON with
    the model is what the pydantic converter does, so a good report reads the same.

    Since "refuse-hostile-input", a report that only the checks against hostile input refuse
    (non-ASCII digits, exponents, negative zero, impossible dates, unknown nested fields) and
    a start with several arguments end NOT_ACCEPTED too; a case begun before reads its report
    as it did then."""
    missing = _not_one_report(raw)
    if missing is not None:
        return None, missing
    try:
        return model.model_validate_json(raw.payload.data), None
    except pydantic.ValidationError as err:
        if patched(RELEASE_2026_12):
            return None, validation_message(err)
    try:
        return model.model_validate_json(raw.payload.data, context=BEFORE_HARDENING), None
    except pydantic.ValidationError as err:
        if patched("refuse-invalid-report"):
            return None, validation_message(err)
    # A case that began before reports were checked this strictly reads its report as it did
    # then (a report that failed then fails the workflow again: ValidationError is one of its
    # failure_exception_types).
    return model.model_validate_json(raw.payload.data, context=LENIENT), None


def _not_one_report(raw: RawValue) -> str | None:
    """Why the start input is not one report at all; None when there is one to read."""
    if isinstance(raw, SeveralArguments) and patched(RELEASE_2026_12):
        return f"a start carries one report: {raw.reason}"
    if not raw.payload.data or raw.payload.metadata.get("encoding") == b"binary/null":
        return "no report was given"
    return None


def unsafe_case_id(case_id: str) -> str | None:
    """Why a case id (from the report, or else from the workflow id, which any client
    chooses) cannot be used; None when it matches the one pattern. It names the case's folder
    of letters, so `claim-../../x` must not become claim `../../x`. Cases begun before the
    check ("safe-case-id") keep the id they had."""
    if safe_case_id(case_id) or not patched(RELEASE_2026_12):
        return None
    return f"the case id taken from the workflow id does not match {CASE_ID_PATTERN}"
