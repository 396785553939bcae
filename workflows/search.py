"""Search attributes the engine sets on its cases (registered on the server at start)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

CLAIM_STAGE = SearchAttributeKey.for_keyword("ClaimStage")
CLAIM_LINE = SearchAttributeKey.for_keyword("ClaimLine")
POLICY_NO = SearchAttributeKey.for_keyword("PolicyNo")
PENDING_LEVEL = SearchAttributeKey.for_int("PendingApprovalLevel")

ALL = (CLAIM_STAGE, CLAIM_LINE, POLICY_NO, PENDING_LEVEL)
