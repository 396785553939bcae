"""The state of one claim and the plumbing every step uses: audit events, work items,
letters, the read-model sync, search attributes and the statutory clocks that run beside the
process. Deterministic code only (see workflows/claim.py)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.policy import (
        LETTER_TIMEOUT,
    )
    from models.claim import (
        Appeal,
        ClaimReport,
        Material,
        Withdrawal,
    )
    from models.complaint import ClaimReviewRequest
    from models.records import (
        ClaimSync,
        LetterRecord,
        LetterRequest,
    )
    from models.rules import AdjustmentResult, ExclusionHit, Flag, RulesSnapshot
    from models.status import (
        CLAIM_NO_WITHDRAWAL,
        CLAIM_UNDECIDED,
        ApprovalRecord,
        AssessmentView,
        InvestigationView,
        PanelView,
        PaymentView,
        RefusedDecision,
    )
    from workflows import search
    from workflows.approval import level_name
    from workflows.case import SYSTEM, CaseBase
    from workflows.coverage import insured_id_of
    from workflows.decisions import (
        Panel,
    )
    from workflows.investigation import (
        Finding,
        InvestigationResult,
    )


UNDECIDED = CLAIM_UNDECIDED
NO_WITHDRAWAL = CLAIM_NO_WITHDRAWAL


def _refusal(message: str, kind: str = "InvalidDecision") -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


class ClaimCase(CaseBase):
    @property
    def case_id(self) -> str:
        return self.claim_id

    async def _park(self, condition: Any, until: datetime | None = None) -> bool:
        """The process waits for a person or a date: the only moments a withdrawal may stop
        it (no activity of the process is then in flight)."""
        self._parked = True
        try:
            if until is None:
                await workflow.wait_condition(condition)
                return True
            return await self._wait(condition, until)
        finally:
            self._parked = False

    def __init__(self) -> None:
        self._init_case()
        # DOMAIN §1, §6a: who may decide by role and level; excluded causes; amounts from the
        # insurer's assessment, not the claimant's figures; limits net of earlier claims.
        # Cases begun before these rules keep the ones they started with (they replay).
        self._by_role = self._release_2026_12
        self._exclusion_rules = self._release_2026_12
        self._assessment_rules = self._release_2026_12
        self._net_limits = self._release_2026_12
        self._lapse_rules = self._release_2026_12
        self._second_notice_rules = self._release_2026_12
        self._payee_watch = self._release_2026_12
        self.report: ClaimReport | None = None
        self.rules: RulesSnapshot | None = None
        self.claim_id = ""
        self.stage = "REPORTED"
        self.received: dict[str, Material] = {}
        self.required: list[str] = []
        self.flags: list[Flag] = []
        self.adjustment: AdjustmentResult | None = None
        self.chain: list[int] = []
        self.approvals: list[ApprovalRecord] = []
        self.refused: list[RefusedDecision] = []
        self.recused: dict[str, str] = {}
        self.panel: Panel | None = None
        self.panel_view: PanelView | None = None
        self.investigations: dict[str, InvestigationView] = {}
        self.findings: list[Finding] = []
        self.investigation: InvestigationResult | None = None
        self.exclusions: list[ExclusionHit] = []
        self.assessment: AssessmentView | None = None
        self.awaiting_assessment = False
        self.letters: list[str] = []
        self.payments: list[PaymentView] = []
        self.stp = False
        self.reserve: Decimal | None = None
        self.denial_clause: str | None = None
        self.denial_reason: str | None = None
        self.not_accepted_reason: str | None = None
        self.document_rounds = 0
        self.round = 0
        self.outcome: str | None = None  # approved / denied / returned
        self.awaiting_adjustment = False
        self.appeal: Appeal | None = None
        self.appealed_at: datetime | None = None
        self.overturned = False
        self.withdrawal: Withdrawal | None = None
        self._parked = False  # the process waits for a person or a date, no step in flight
        self.complaints: list[dict[str, Any]] = []
        self.review_request: ClaimReviewRequest | None = None
        self._paying = False
        self._letter_counts: dict[str, int] = {}
        self._flush_lock = asyncio.Lock()
        self._decision_lock = asyncio.Lock()
        self._payment_lock = asyncio.Lock()
        self._sa_stage: str | None = None
        self._sa_level: int | None = -1

    # ================================================================== helpers

    @property
    def missing(self) -> list[str]:
        return [k for k in self.required if k not in self.received]

    @property
    def paid_total(self) -> Decimal:
        return sum((p.amount for p in self.payments), Decimal("0"))

    @property
    def _zh(self) -> bool:
        return self.report is None or self.report.claimant.language == "zh-CN"

    def _account(self) -> str:
        account = self.received.get("bank_account")
        return account.ref if account else ""

    def _level_label(self, level: int) -> str:
        return "SYSTEM" if level == 0 else level_name(level)

    def _clause_context(self, clause_id: str | None) -> dict[str, str] | None:
        policy = self.rules.policy if self.rules else None
        clause = policy.clause(clause_id) if policy and clause_id else None
        if clause is None:
            return None
        return {
            "id": clause.id,
            "title": clause.title_zh if self._zh else clause.title_en,
            "text": clause.text_zh if self._zh else clause.text_en,
        }

    def _receive(self, materials: list[Material], actor: str) -> None:
        new = [m for m in materials if m.kind not in self.received]
        for m in new:
            self.received[m.kind] = m
        if new:
            self._event("materials_received", actor, kinds=[m.kind for m in new])

    def _letter_day(self, at: datetime) -> str:
        """A day a letter names, as the profile's local date: a notice sent at 00:30 Beijing
        time on 2 March is of 2 March. Letters of cases begun before "letter-local-dates"
        name the UTC date they always named (their histories replay)."""
        if self._release_2026_12:
            return at.astimezone(self._cal.tz).date().isoformat()
        return at.date().isoformat()

    async def _letter(
        self, kind: str, recipient: str | None = None, **context: Any
    ) -> LetterRecord:
        assert self.report
        n = self._letter_counts.get(kind, 0) + 1
        self._letter_counts[kind] = n
        letter_id = f"{self.claim_id}-{kind}-{n}"
        claimant = self.report.claimant
        record = await self._record_call(
            "send_letter",
            LetterRequest(
                letter_id=letter_id,
                case_id=self.claim_id,
                kind=kind,
                language=claimant.language,
                recipient=recipient or f"{claimant.name} <{claimant.email or claimant.phone}>",
                channel="file" if recipient else ("email" if claimant.email else "sms"),
                context={
                    "claim_id": self.claim_id,
                    "claimant_name": claimant.name,
                    "policy_no": self.report.policy_no,
                    **context,
                },
            ),
            result_type=LetterRecord,
            timeout=LETTER_TIMEOUT,
        )
        self.letters.append(letter_id)
        self._event("letter", SYSTEM, kind=kind, letter_id=letter_id, sha256=record.sha256)
        return record

    async def _flush(self) -> None:
        """Write the projection, new audit events and work-item changes in one activity."""
        async with self._flush_lock:
            self._upsert_search_attributes()
            self._sync_version += 1
            events, self._events = self._events, []
            opened, self._opened = self._opened, []
            closed, self._closed = self._closed, []
            assert self.report
            await self._record_call(
                "sync_claim",
                ClaimSync(
                    status=self.status(),
                    version=self._sync_version,
                    insured_id_no=self.rules.policy.insured_id_no
                    if self.rules and self.rules.policy
                    else insured_id_of(self.report),
                    events=events,
                    open_items=opened,
                    close_items=closed,
                    priority=self.priority,
                ),
            )

    def _upsert_search_attributes(self) -> None:
        assert self.report
        updates = []
        if self._sa_stage is None:
            updates += [
                search.CLAIM_LINE.value_set(self.report.line),
                search.POLICY_NO.value_set(self.report.policy_no),
            ]
        if self.stage != self._sa_stage:
            updates.append(search.CLAIM_STAGE.value_set(self.stage))
            self._sa_stage = self.stage
        level = self.pending_level
        if level != self._sa_level:
            updates.append(
                search.PENDING_LEVEL.value_set(level)
                if level is not None
                else search.PENDING_LEVEL.value_unset()
            )
            self._sa_level = level
        updates += self._next_due_update()
        if updates:
            workflow.upsert_search_attributes(updates)
