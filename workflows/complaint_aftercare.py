"""After a complaint's resolution is carried out (DOMAIN §8.8, §8.9): the satisfaction
callback (满意度回访), closed only when it is recorded or three attempts failed (投诉不销号),
and the review by the superior office: asked for within 30 days, decided within 30 days."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.complaint import (
        Callback,
        CallbackView,
        CloseRequest,
        ReviewDecision,
        ReviewRequest,
    )
    from models.records import StaffInfo
    from models.roles import COMPLAINT_COORDINATOR as COORDINATOR
    from models.status import ComplaintStage
    from workflows.case import patched
    from workflows.complaint_checks import (
        AFTER_DECISION,
        check_stage,
        need_l3_manager,
        need_role,
        refuse,
    )
    from workflows.complaint_deadlines import REVIEW_WINDOW, ComplaintDeadlines
    from workflows.complaint_file import ComplaintFile
    from workflows.recorder import SYSTEM, staff_info, wait_until
    from workflows.signature_guard import SignatureGuard

Stage = ComplaintStage


class ComplaintAftercare:
    """The callback and the review."""

    def __init__(
        self, file: ComplaintFile, deadlines: ComplaintDeadlines, guard: SignatureGuard
    ) -> None:
        self.file = file
        self.state = file.state
        self._deadlines = deadlines
        self._guard = guard

    def _check(self, what: str, stages: tuple[str, ...]) -> None:
        check_stage(self.state, self.file.stage, what, stages)

    def _asked_or_closed(self) -> bool:
        return self.state.review_request is not None or self.state.close_request is not None

    # ================================================================== the process

    async def callback(self) -> None:
        """Satisfaction callback (满意度回访): the complaint closes only when it is recorded,
        or three attempts failed and are documented."""
        state, rec = self.state, self.file.rec
        assert state.rules
        rec.to(Stage.CALLBACK, SYSTEM)
        rec.open_task(state.key("callback"), "satisfaction_callback", "coordinator", None, level=2)
        await self.file.flush()
        await workflow.wait_condition(lambda: state.callback_done)
        rec.close_task(state.key("callback"))
        await self.file.letter(
            "complaint_callback",
            callbacks=[c.model_dump(mode="json") for c in state.callbacks],
            outcome=state.outcome(rec.stage),
            recipient="complaint file",
        )
        if state.review_from_receipt:
            if not await self._review_asked():
                return
        else:
            if state.outcome(rec.stage) != "not_satisfied":
                return
            # Review by the superior office: asked for within 30 days, decided within 30 days.
            rec.to(Stage.REVIEW_OFFERED, SYSTEM)
            await self.file.flush()
            until = workflow.now() + timedelta(days=state.rules.review_request_days)
            asked = await wait_until(self._asked_or_closed, until)
            if not asked or state.review_request is None:
                return
        await self._review()

    async def _review_asked(self) -> bool:
        """Whether the superior office reviews: asked for already (it may be, from the
        decision on), or asked for while the window is still open by a complainant who was
        not satisfied or whom the callback did not reach."""
        state = self.state
        if (
            state.review_request is None
            and state.outcome(self.file.stage) != "satisfied"
            and self._deadlines.review_window_open
        ):
            self.file.rec.to(Stage.REVIEW_OFFERED, SYSTEM)
            await self.file.flush()
            window = self.file.clocks.clocks[REVIEW_WINDOW]
            await wait_until(self._asked_or_closed, window.due_at(workflow.now()))
        self._deadlines.close_review_window()
        return state.review_request is not None

    async def _review(self) -> None:
        state, rec, clocks = self.state, self.file.rec, self.file.clocks
        assert state.rules and state.review_request
        rec.to(Stage.UNDER_REVIEW, state.review_request.by, reason=state.review_request.reason)
        clocks.start("review", state.rules.review_decision_days, owner="L3", customer_facing=False)
        rec.open_task(
            state.key("review"), "review_complaint", "L3", self.file.due("review"), level=3
        )
        await self.file.flush()
        await workflow.wait_condition(lambda: state.review is not None)
        assert state.review
        clocks.stop("review")
        rec.close_task(state.key("review"))
        await self.file.letter(
            "complaint_review_decision",
            upheld=state.review.upheld,
            findings=state.review.findings,
            decided_at=workflow.now().isoformat(),
            reviewer_level="L3",
        )

    # ================================================================== the messages

    async def _need_coordinator(self, who: str) -> None:
        need_role(await staff_info(who), who, COORDINATOR)

    def check_callback(self, c: Callback) -> None:
        self._check("record a callback", (Stage.CALLBACK,))
        if c.reached and c.satisfied is None:
            raise refuse("a callback that reached the complainant records satisfied or not")
        if not c.reached and not c.note:
            raise refuse("document a failed callback attempt (when, how, what happened)")

    async def record_callback(self, c: Callback) -> None:
        state = self.state
        if state.complaint_roles:
            await self._need_coordinator(c.by)
            self.check_callback(c)  # again: the case may have moved on during the lookup
            if state.callback_done:
                raise refuse("the satisfaction callback is already recorded")
        state.callbacks.append(
            CallbackView(
                at=workflow.now(), by=c.by, reached=c.reached, satisfied=c.satisfied, note=c.note
            )
        )
        self.file.rec.event("callback", c.by, reached=c.reached, satisfied=c.satisfied)
        # A failed attempt does not move the process on: the read model shows it now.
        if not state.callback_done and patched("flush-on-message"):
            await self.file.flush()

    def check_review_request(self, r: ReviewRequest) -> None:
        state = self.state
        if not state.review_from_receipt:
            self._check("ask for a review", (Stage.REVIEW_OFFERED,))
            return
        self._check("ask for a review", AFTER_DECISION)
        if state.review_request is not None:
            raise refuse("a review is already asked for")
        if not self._deadlines.review_window_open:
            end = self._deadlines.review_window_end()
            raise refuse(f"the review window of complaint {state.complaint_id} closed on {end}")

    async def request_review(self, r: ReviewRequest) -> None:
        self.state.review_request = r
        if self.state.review_from_receipt:
            self.file.rec.event("review_requested", r.by, reason=r.reason)
            self._deadlines.close_review_window()
            if self.file.stage != Stage.REVIEW_OFFERED and patched("flush-on-message"):
                await self.file.flush()

    def check_review_stage(self) -> None:
        self._check("decide the review", (Stage.UNDER_REVIEW,))

    async def decide_review(self, d: ReviewDecision) -> None:
        """The review is decided by the superior office (L3), by someone who did not handle
        the complaint, signed."""
        self.check_review_stage()
        staff = await staff_info(d.reviewer)
        self._check_reviewer(d, staff)
        await self._guard.require(d)
        self.check_review_stage()
        self.state.review = d
        self.file.rec.event("review_decided", d.reviewer, upheld=d.upheld)

    def _check_reviewer(self, d: ReviewDecision, staff: StaffInfo | None) -> None:
        why = "the review is decided by the superior office (L3)"
        if self.state.complaint_roles:
            need_l3_manager(staff, d.reviewer, why)
        elif staff is None or staff.level < 3:
            raise refuse(why)
        if d.reviewer in (self.state.handler, self.state.coordinator):
            raise refuse(f"{d.reviewer} handled this complaint and cannot review it")

    def check_close(self, c: CloseRequest) -> None:
        # 投诉不销号: no complaint is closed without its resolution carried out and the
        # satisfaction callback recorded (or three failed attempts documented).
        state, stage = self.state, self.file.stage
        if stage in (Stage.CLOSED, Stage.DECLINED):
            raise refuse(f"complaint {state.complaint_id} is already closed")
        if state.executed is None:
            raise refuse(
                "no complaint is closed without resolution: the resolution has not been carried out"
            )
        if not state.callback_done:
            raise refuse(
                "no complaint is closed without resolution: the satisfaction "
                "callback is not recorded"
            )
        if stage != Stage.REVIEW_OFFERED:
            raise refuse(f"complaint {state.complaint_id} is {stage} and closes by itself")

    async def close(self, c: CloseRequest) -> None:
        if self.state.complaint_roles:
            await self._need_coordinator(c.by)
            self.check_close(c)  # again: the case may have moved on during the lookup
        self.state.close_request = c
        self.file.rec.event("close_requested", c.by, note=c.note)
