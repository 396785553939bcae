"""Workflow ids: a claim runs as `claim-<claim id>`, a complaint as `complaint-<complaint id>`.
Every place that names a case's workflow builds or reads the id here."""

from __future__ import annotations

CLAIM_PREFIX = "claim-"
COMPLAINT_PREFIX = "complaint-"
PREFIXES = (CLAIM_PREFIX, COMPLAINT_PREFIX)


def claim_workflow_id(claim_id: str) -> str:
    return f"{CLAIM_PREFIX}{claim_id}"


def complaint_workflow_id(complaint_id: str) -> str:
    return f"{COMPLAINT_PREFIX}{complaint_id}"


def claim_id_of(workflow_id: str) -> str:
    """The claim id in a claim's workflow id (an id without the prefix is returned whole)."""
    return workflow_id.removeprefix(CLAIM_PREFIX)


def complaint_id_of(workflow_id: str) -> str:
    """The complaint id in a complaint's workflow id (an id without the prefix is returned
    whole)."""
    return workflow_id.removeprefix(COMPLAINT_PREFIX)
