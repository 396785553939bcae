"""One complaint's file: its state, the case recorder (stages, audit events, work items,
letters) and its statutory clocks; the complaint's letters, its status and the flush to the
read model with its search attributes. A plain object ComplaintWorkflow owns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from activities.complaints import ComplaintActivities
    from models.complaint import ComplaintStatus, ComplaintSync
    from models.records import LetterRecord
    from models.status import ComplaintStage
    from workflows import search
    from workflows.complaint_state import ComplaintState
    from workflows.deadlines import CaseClocks
    from workflows.recorder import TOP_PRIORITY, CaseRecorder, Changes, record_call


class ComplaintFile:
    """The complaint's state with the recorder and clocks beside it."""

    def __init__(self, state: ComplaintState, *, calendar_flags: bool) -> None:
        self.state = state
        self.rec: CaseRecorder[ComplaintStage] = CaseRecorder(ComplaintStage.RECEIVED)
        self.clocks = CaseClocks(
            self.rec,
            flush=self.flush,
            delay_letter=self._delay_letter,
            calendar_flags=calendar_flags,
        )
        self._sa_stage: str | None = None

    @property
    def stage(self) -> ComplaintStage:
        return self.rec.stage

    def due(self, clock: str) -> datetime | None:
        c = self.clocks.clocks.get(clock)
        return c.due_at(workflow.now()) if c else None

    # ================================================================== letters

    async def letter(self, kind: str, recipient: str | None = None, **context: Any) -> LetterRecord:
        """A letter to the complainant (or, with a recipient, to the complaint file)."""
        report = self.state.report
        assert report
        c = report.complainant
        req = self.rec.letter_request(
            kind,
            language=c.language,
            recipient=recipient or f"{c.name} <{c.email or c.phone or 'post'}>",
            channel="file" if recipient else ("email" if c.email else "sms" if c.phone else "post"),
            context={
                "complaint_id": self.state.complaint_id,
                "complainant_name": c.name,
                "claim_id": report.claim_id,
                "policy_no": report.policy_no,
                **context,
            },
        )
        return await self.rec.send_letter(req)

    async def _delay_letter(self, clock: str, due_on: str, stage: str) -> None:
        await self.letter("delay", clock=clock, due_on=due_on, stage=stage)

    async def progress(self, step: str, detail: str = "", reason: str = "") -> None:
        """A progress notice to the complainant, with the decision's last day while the
        complaint clock runs."""
        clock = self.clocks.clocks.get("complaint")
        due = (
            self.clocks.due_date("complaint")
            if clock is not None and clock.stopped_at is None
            else None
        )
        await self.letter(
            "complaint_progress", step=step, detail=detail, reason=reason, decision_due=due
        )
        await self.flush()

    # ================================================================== the read model

    async def flush(self) -> None:
        assert self.state.report
        await self.rec.flush(self._search_updates, self._write)

    def _search_updates(self) -> list[SearchAttributeUpdate[Any]]:
        updates: list[SearchAttributeUpdate[Any]] = []
        if self._sa_stage is None:
            updates.append(search.COMPLAINT_PRIORITY.value_set(self.state.priority_label))
        if self.stage != self._sa_stage:
            updates.append(search.COMPLAINT_STAGE.value_set(str(self.stage)))
            if self.state.category:
                updates.append(search.COMPLAINT_CATEGORY.value_set(self.state.category))
            self._sa_stage = str(self.stage)
        updates += self.clocks.next_due_update()
        return updates

    async def _write(self, changes: Changes) -> None:
        await record_call(
            ComplaintActivities.sync_complaint,
            ComplaintSync(
                status=self.status(),
                version=changes.version,
                complainant_key=self.state.complainant_key,
                events=changes.events,
                open_items=changes.opened,
                close_items=changes.closed,
                priority=max(self.rec.priority, TOP_PRIORITY if self.clocks.breaches else 0),
            ),
        )

    def status(self) -> ComplaintStatus:
        s, rec, clocks = self.state, self.rec, self.clocks
        r = s.report
        now = workflow.now()
        if r is None:  # a report that could not be read (stage NOT_ACCEPTED)
            return ComplaintStatus(
                complaint_id=s.complaint_id,
                stage=rec.stage,
                channel="",
                complainant_name="",
                received_at=workflow.info().start_time,
                matter="",
                decline_reason=s.decline_reason,
                history=rec.history,
            )
        outcome = s.outcome(rec.stage)
        return ComplaintStatus(
            complaint_id=s.complaint_id,
            stage=rec.stage,
            channel=r.channel,
            complainant_name=r.complainant.name,
            complainant_id_no=r.complainant.id_no,
            complainant_phone=r.complainant.phone,
            complainants=1 + len(r.complainants),
            policy_no=r.policy_no,
            claim_id=r.claim_id,
            category=s.category,
            department=s.department,
            priority=s.priority_label,
            priority_reasons=s.priority_reasons,
            special_care=s.special_care,
            advisor=s.advisor,
            handler=s.handler,
            coordinator=s.coordinator,
            received_at=r.received_at or now,
            matter=r.matter,
            remedy_sought=r.remedy_sought,
            decline_reason=s.decline_reason,
            findings=s.findings.findings if s.findings else None,
            upheld=s.findings.upheld if s.findings else None,
            resolution=s.resolution.model_dump(mode="json") if s.resolution else None,
            resolution_approvals=[a.view() for a in s.approvals],
            executed=s.executed is not None,
            compensation=s.compensation,
            claim_review=s.claim_review.view() if s.claim_review else None,
            callbacks=s.callbacks,
            satisfied={"satisfied": True, "not_satisfied": False}.get(outcome or ""),
            review=s.review.model_dump(mode="json") if s.review else None,
            extensions=s.extensions,
            deadlines=[c.view(now) for c in clocks.clocks.values()],
            open_tasks=list(rec.tasks.values()),
            letters=rec.letters,
            history=rec.history,
            breaches=clocks.breaches,
            flags=list(clocks.flags.values()),
            decided_at=s.decided_at,
            closed_at=s.closed_at,
            outcome=outcome,
            repeat=bool(s.rules and s.rules.repeat_count),
        )
