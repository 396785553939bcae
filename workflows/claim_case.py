"""One claim's file: its typed state with the recorder, clocks and signature guard it shares
with complaints, the claim's letters, its flush to the read model and its status. The
workflow owns one; the claim's steps and desks work on it. Deterministic code only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities.deliveries import DeliveryActivities
    from activities.notices import NOTICE_TIMEOUT
    from activities.policy import DB_RETRY
    from activities.records import RecordActivities
    from models.claim import LetterDelivered, LetterWithNotice, Material
    from models.notices import NoticeReceipt
    from models.records import ClaimSync, LetterRecord, LetterRequest
    from models.status import ApprovalState, ClaimStage, ClaimStatus
    from workflows import search
    from workflows.case import (
        FEWER_STEPS,
        RELEASE_2026_12,
        RELEASE_2027_01,
        patched,
        patches_settled,
    )
    from workflows.claim_notices import ClaimNotices
    from workflows.claim_state import ClaimState
    from workflows.coverage import insured_id_of
    from workflows.deadlines import CaseClocks
    from workflows.recorder import CaseRecorder, Changes, record_call, wait_until
    from workflows.signature_guard import SignatureGuard


class ClaimCase:
    """The state of one claim and the plumbing every step uses."""

    def __init__(
        self,
        *,
        release: bool,
        signing: bool,
        release_2027_01: bool = False,
        fewer_steps: bool = False,
    ) -> None:
        self.state = ClaimState(release=release, release_2027_01=release and release_2027_01)
        # the steps of FEWER_STEPS (workflows/case.py), decided when the case starts
        self.fewer_steps = fewer_steps
        self.rec: CaseRecorder[ClaimStage] = CaseRecorder(ClaimStage.REPORTED)
        self.clocks = CaseClocks(
            self.rec,
            flush=self.flush,
            delay_letter=self._delay_letter,
            calendar_flags=release,
        )
        self.guard = SignatureGuard(
            self.rec,
            flush=self.flush,
            window=self._signature_window,
            signing=signing,
            release=release,
        )
        self.notices = ClaimNotices(self.state, self.rec)
        self._sa_stage: str | None = None
        self._sa_level: int | None = -1

    @classmethod
    def begun(cls) -> ClaimCase:
        """A claim's file with the patches its case runs under (workflows/case.py). Read
        first, so that a case begun before a release decides it here, during replay, and every
        later read gives the same answer (the SDK keeps the first). Cases that started before
        decisions were signed take them as they did then."""
        patches_settled()  # first of all (workflows/case.py RELEASE_2027_02)
        release = patched(RELEASE_2026_12)
        signing = patched("signed-decisions")
        release_2027_01 = release and patched(RELEASE_2027_01)
        return cls(
            release=release,
            signing=signing,
            release_2027_01=release_2027_01,
            fewer_steps=patched(FEWER_STEPS),
        )

    @property
    def claim_id(self) -> str:
        return self.state.claim_id

    def name(self, claim_id: str) -> None:
        """The claim's id: what its letters, work items and log lines are named by."""
        self.state.claim_id = claim_id
        self.rec.case_id = claim_id

    @property
    def stage(self) -> ClaimStage:
        return self.rec.stage

    @property
    def pending_level(self) -> int | None:
        s = self.state
        if self.rec.stage != ClaimStage.PENDING_APPROVAL or s.outcome is not None:
            return None
        done = len(s.approvals)
        return s.chain[done] if done < len(s.chain) else None

    def _signature_window(self) -> int | None:
        rules = self.state.rules
        return rules.signature_window_minutes if rules else None

    # ================================================================== waiting

    async def park(self, condition: Callable[[], bool], until: datetime | None = None) -> bool:
        """The process waits for a person or a date: the only moments a withdrawal may stop
        it (no activity of the process is then in flight)."""
        self.state.parked = True
        try:
            if until is None:
                await workflow.wait_condition(condition)
                return True
            return await wait_until(condition, until)
        finally:
            self.state.parked = False

    # ================================================================== materials, letters

    def receive(self, materials: list[Material], actor: str) -> None:
        received = self.state.received
        new = [m for m in materials if m.kind not in received]
        for m in new:
            received[m.kind] = m
        if new:
            self.rec.event("materials_received", actor, kinds=[m.kind for m in new])

    def letter_day(self, at: datetime) -> str:
        """A day a letter names, as the profile's local date: a notice sent at 00:30 Beijing
        time on 2 March is of 2 March. Letters of cases begun before "letter-local-dates"
        name the UTC date they always named (their histories replay)."""
        if self.state.release:
            return at.astimezone(self.clocks.cal.tz).date().isoformat()
        return at.date().isoformat()

    def _letter_request(
        self, kind: str, recipient: str | None, context: dict[str, Any]
    ) -> LetterRequest:
        report = self.state.report
        assert report
        claimant = report.claimant
        return self.rec.letter_request(
            kind,
            language=claimant.language,
            recipient=recipient or f"{claimant.name} <{claimant.email or claimant.phone}>",
            channel="file" if recipient else ("email" if claimant.email else "sms"),
            context={
                "claim_id": self.claim_id,
                "claimant_name": claimant.name,
                "policy_no": report.policy_no,
                **context,
            },
        )

    async def letter(self, kind: str, recipient: str | None = None, **context: Any) -> LetterRecord:
        return await self.rec.send_letter(self._letter_request(kind, recipient, context))

    async def letter_with_notice(
        self,
        kind: str,
        node: str,
        notice_kind: str,
        /,
        *,
        with_link: bool = False,
        flush_first: bool = False,
        **context: Any,
    ) -> tuple[LetterRecord, NoticeReceipt | None]:
        """The claimant's letter at a key node and the notice that carries it (DOMAIN §11);
        with `flush_first`, the read model is written first. Since FEWER_STEPS one local
        activity does all three; a notice it could not send for now is tried again on its
        own, one no channel takes is recorded as failed (the claim goes on either way). Cases
        begun before do them one after the other. The letter's and the notice's own audit
        events go with the case's next write."""
        req = self._letter_request(kind, None, context)
        notice = self.notices.request(node, notice_kind, with_link=with_link)
        if notice is None or not self.fewer_steps:
            if flush_first:
                await self.flush()
            letter = await self.rec.send_letter(req)
            return letter, await self.notices.send(node, notice_kind, letter, link=with_link)
        if flush_first:
            done = await self.rec.flush(
                self._search_updates,
                lambda c: _deliver(LetterWithNotice(letter=req, notice=notice, sync=self._sync(c))),
            )
        else:
            done = await _deliver(LetterWithNotice(letter=req, notice=notice))
        letter = self.rec.letter_sent(req, done.letter)
        if done.receipt is not None:
            return letter, self.notices.sent(node, notice_kind, done.receipt)
        if done.notice_problem == "undeliverable":
            self.notices.failed(node, notice_kind)
            return letter, None
        return letter, await self.notices.send(node, notice_kind, letter, link=with_link)

    async def _delay_letter(self, clock: str, due_on: str, stage: str) -> LetterRecord:
        return await self.letter("delay", clock=clock, due_on=due_on, stage=stage)

    # ================================================================== the read model

    async def flush(self) -> None:
        """Write the projection, new audit events and work-item changes in one activity."""
        await self.rec.flush(self._search_updates, self._write)

    async def _write(self, changes: Changes) -> None:
        await record_call(RecordActivities.sync_claim, self._sync(changes))

    def _sync(self, changes: Changes) -> ClaimSync:
        """The projection write that carries these changes."""
        s = self.state
        assert s.report
        return ClaimSync(
            status=self.status(),
            version=changes.version,
            insured_id_no=s.rules.policy.insured_id_no
            if s.rules and s.rules.policy
            else insured_id_of(s.report),
            events=changes.events,
            open_items=changes.opened,
            close_items=changes.closed,
            priority=self.rec.priority,
        )

    def _search_updates(self) -> list[SearchAttributeUpdate[Any]]:
        report = self.state.report
        assert report
        updates: list[SearchAttributeUpdate[Any]] = []
        if self._sa_stage is None:
            updates += [
                search.CLAIM_LINE.value_set(report.line),
                search.POLICY_NO.value_set(report.policy_no),
            ]
        if self.rec.stage != self._sa_stage:
            updates.append(search.CLAIM_STAGE.value_set(self.rec.stage))
            self._sa_stage = self.rec.stage
        level = self.pending_level
        if level != self._sa_level:
            updates.append(
                search.PENDING_LEVEL.value_set(level)
                if level is not None
                else search.PENDING_LEVEL.value_unset()
            )
            self._sa_level = level
        updates += self.clocks.next_due_update()
        return updates

    # ================================================================== what queries return

    def status(self) -> ClaimStatus:
        s, rec, report = self.state, self.rec, self.state.report
        now = workflow.now()
        return ClaimStatus(
            claim_id=s.claim_id,
            stage=rec.stage,
            # A report that could not be read leaves these empty (stage NOT_ACCEPTED).
            line=report.line if report else "",
            incident_type=report.incident_type if report else "",
            policy_no=report.policy_no if report else "",
            claimant_name=report.claimant.name if report else "",
            claimant_id_no=report.claimant.id_no if report else None,
            claimant_phone=report.claimant.phone if report else None,
            channel=report.channel if report else "",
            reported_at=(report.reported_at if report else None) or workflow.info().start_time,
            amount_claimed=report.amount_claimed if report else Decimal("0"),
            reserve=s.reserve,
            payable_amount=s.adjustment.payable if s.adjustment else None,
            missing_materials=s.missing,
            received_materials=sorted(s.received),
            document_rounds=s.document_rounds,
            pending_approval_level=self.pending_level,
            approval_chain=s.chain,
            approvals=s.approvals,
            refused_decisions=s.refused,
            deadlines=[c.view(now) for c in self.clocks.clocks.values()],
            open_tasks=list(rec.tasks.values()),
            flags=[*s.flags, *self.clocks.flags.values()],
            straight_through=s.stp,
            adjustment=s.adjustment,
            denial_clause=s.denial_clause,
            denial_reason=s.denial_reason,
            not_accepted_reason=s.not_accepted_reason,
            letters=rec.letters,
            payments=s.payments,
            history=rec.history,
            rules_version=s.rules.version if s.rules else None,
            investigations=list(s.investigations.values()),
            investigation_summary=s.investigation.summary if s.investigation else None,
            panel=s.panel_view,
            breaches=self.clocks.breaches,
            priority=rec.priority,
            appealed_at=s.appealed_at,
            appeal_reason=s.appeal.reason if s.appeal else None,
            overturned=s.overturned,
            withdrawn_reason=s.withdrawal.reason if s.withdrawal else None,
            paid_total=s.paid_total,
            complaints=[c.model_dump() for c in s.complaints],
            exclusions=s.exclusions,
            assessment=s.assessment,
            special_care=s.special_care,
            advisor=s.advisor,
            follow_up=s.follow_up,
            notices=s.notices,
        )

    def approval_state(self) -> ApprovalState:
        s = self.state
        return ApprovalState(
            claim_id=s.claim_id,
            stage=self.rec.stage,
            pending_approval_level=self.pending_level,
            approvals=s.approvals,
            payable_amount=s.adjustment.payable if s.adjustment else None,
        )


async def _deliver(req: LetterWithNotice) -> LetterDelivered:
    """A key node's letter with its notice (and the case's write first, when it carries one)."""
    return await workflow.execute_local_activity_method(
        DeliveryActivities.send_letter_with_notice,
        req,
        start_to_close_timeout=NOTICE_TIMEOUT,
        retry_policy=DB_RETRY,
    )
