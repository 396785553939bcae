"""Search attributes the engine sets on its cases (registered on the server at start)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

CLAIM_STAGE = SearchAttributeKey.for_keyword("ClaimStage")
CLAIM_LINE = SearchAttributeKey.for_keyword("ClaimLine")
POLICY_NO = SearchAttributeKey.for_keyword("PolicyNo")
PENDING_LEVEL = SearchAttributeKey.for_int("PendingApprovalLevel")

NEXT_DUE = SearchAttributeKey.for_datetime("NextDueTime")
COMPLAINT_STAGE = SearchAttributeKey.for_keyword("ComplaintStage")
COMPLAINT_CATEGORY = SearchAttributeKey.for_keyword("ComplaintCategory")
COMPLAINT_PRIORITY = SearchAttributeKey.for_keyword("ComplaintPriority")

ALL = (
    CLAIM_STAGE,
    CLAIM_LINE,
    POLICY_NO,
    PENDING_LEVEL,
    NEXT_DUE,
    COMPLAINT_STAGE,
    COMPLAINT_CATEGORY,
    COMPLAINT_PRIORITY,
)
