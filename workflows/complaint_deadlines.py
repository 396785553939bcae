"""The complaint clock (CBIRC 2020 rules): 15 days, extended to 30 with a reason and a notice,
to 60 only with L3 approval and a notice; paused for external appraisal and mediation;
restarted on new facts. And the window in which the complainant may ask for a review."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.complaint import ClockChange, ComplaintRules
    from models.records import LetterRecord, StaffInfo
    from models.roles import COMPLAINT_COORDINATOR as COORDINATOR
    from models.roles import MANAGER
    from workflows.clock import Clock, notice_reached
    from workflows.complaint_checks import BEFORE_DECISION, check_stage, need_role, refuse
    from workflows.complaint_file import ComplaintFile
    from workflows.recorder import SYSTEM, staff_info

PAUSE_REASONS = ("external_appraisal", "mediation")
COMPLAINT = "complaint"
REVIEW_WINDOW = "review_window"


def _extension_refusal(
    c: ClockChange, staff: StaffInfo, target: int, rules: ComplaintRules, by_role: bool
) -> str | None:
    """Why this person may not extend to `target` days; None when they may (since the
    release the coordinator extends and the second extension needs an L3 coordinator or a
    manager; before it, the coordinator or anyone at L3)."""
    second = target == rules.second_extension_days
    if by_role:
        if not second:
            need_role(staff, c.by, COORDINATOR)
        elif not staff.active:
            return f"unknown person {c.by!r}"
        elif not {COORDINATOR, MANAGER} & set(staff.roles):
            return (
                f"a second extension to {target} days needs L3 approval; "
                f"{c.by} is not a complaint coordinator or a manager"
            )
    return None


class ComplaintDeadlines:
    """The coordinator's hold on the complaint clock, and the review window."""

    def __init__(self, file: ComplaintFile) -> None:
        self.file = file
        self.state = file.state

    def check(self, what: str) -> None:
        check_stage(self.state, self.file.stage, what, BEFORE_DECISION)

    @property
    def _clock(self) -> Clock:
        return self.file.clocks.clocks[COMPLAINT]

    async def extend(self, c: ClockChange) -> None:
        self.check("extend the time limit")
        rules = self.state.rules
        assert rules
        staff = await staff_info(c.by)
        target = c.days or (
            rules.first_extension_days
            if self.state.extensions == 0
            else rules.second_extension_days
        )
        allowed = (rules.first_extension_days, rules.second_extension_days)
        if target not in allowed or target <= self._clock.total_days:
            raise refuse(
                f"the complaint time limit extends to {allowed[0]}, then {allowed[1]} days"
            )
        if not c.reason:
            raise refuse("an extension needs its reason")
        if staff is None:
            raise refuse(f"unknown person {c.by!r}")
        second = target == rules.second_extension_days
        refusal = _extension_refusal(c, staff, target, rules, self.state.complaint_roles)
        if refusal:
            raise refuse(refusal)
        if self.state.complaint_roles:
            self.check("extend the time limit")
        if second and staff.level < 3:
            raise refuse(
                f"a second extension to {target} days needs L3 approval; {c.by} is L{staff.level}"
            )
        if (
            not self.state.complaint_roles
            and target == rules.first_extension_days
            and not (COORDINATOR in staff.roles or staff.level >= 3)
        ):
            raise refuse(f"{c.by} is not the complaint coordinator")
        self._clock.extend(target, c.reason, workflow.now(), by=c.by)
        self._clock.fired = []
        self.file.clocks.changed()
        self.state.extensions += 1
        self.file.rec.event("extended", c.by, days=target, reason=c.reason)
        await self.file.letter(
            "complaint_extension",
            days=target,
            reason=c.reason,
            decision_due=self.file.clocks.due_date(COMPLAINT),
            approved_by_manager=target == rules.second_extension_days,
        )
        await self.file.flush()

    async def _keeper(self, who: str, what: str) -> None:
        """The coordinator owns the complaint clock: pauses, resumptions and restarts."""
        if self.state.complaint_roles:
            need_role(await staff_info(who), who, COORDINATOR)
            self.check(what)  # again, after the lookup

    async def pause(self, c: ClockChange) -> None:
        await self._keeper(c.by, "pause the clock")
        if c.reason not in PAUSE_REASONS:
            raise refuse("the complaint clock pauses only for external_appraisal or mediation")
        clock = self._clock
        if clock.paused:
            raise refuse("the complaint clock is already paused")
        clock.pause(c.reason, workflow.now())
        self.file.clocks.changed()
        self.file.rec.event("clock_paused", c.by, clock=COMPLAINT, reason=c.reason)
        await self.file.progress("paused", reason=c.reason)

    async def resume(self, c: ClockChange) -> None:
        await self._keeper(c.by, "resume the clock")
        clock = self._clock
        if not clock.paused:
            raise refuse("the complaint clock is not paused")
        clock.resume(workflow.now())
        self.file.clocks.changed()
        self.file.rec.event("clock_resumed", c.by, clock=COMPLAINT)
        await self.file.progress("resumed")

    def check_new_facts(self, c: ClockChange) -> None:
        self.check("restart the clock")
        if not c.reason:
            raise refuse("say what the new facts are")

    async def new_facts(self, c: ClockChange) -> None:
        """New facts restart the 15-day period (CBIRC 2020 rules)."""
        await self._keeper(c.by, "restart the clock")
        assert self.state.rules
        clock = self._clock
        clock.restart(workflow.now())
        clock.days = self.state.rules.decision_days
        clock.extensions = []
        self.file.clocks.changed()
        self.file.rec.event("clock_restarted", c.by, clock=COMPLAINT, facts=c.reason)
        await self.file.progress("restarted", detail=c.reason)

    # ================================================================== the review window

    def open_review_window(self, letter: LetterRecord) -> None:
        """The review window: 30 days from the day the decision reached the complainant (its
        recorded delivery, else sending plus the presumed days for post), Civil Code days."""
        rules, clocks = self.state.rules, self.file.clocks
        assert rules and self.state.decided_at
        reached = notice_reached(
            self.state.decided_at,
            letter.channel,
            rules.presumed_delivery_days,
            getattr(letter, "delivered_at", None),
        )
        clocks.clocks[REVIEW_WINDOW] = Clock(
            REVIEW_WINDOW,
            reached,
            rules.review_request_days,
            clocks.cal,
            owner="complainant",
            ladder=False,
            customer_facing=False,
        )
        self.file.rec.event(
            "review_window",
            SYSTEM,
            reached_at=reached.isoformat(),
            due_at=clocks.clocks[REVIEW_WINDOW].due_at(workflow.now()).isoformat(),
        )
        clocks.changed()

    def close_review_window(self) -> None:
        """The window ends: when a review is asked for, or when it runs out (never later than
        its own end, so a window that ran out unused reads as met)."""
        clock = self.file.clocks.clocks.get(REVIEW_WINDOW)
        if clock is None or clock.stopped_at is not None:
            return
        now = workflow.now()
        clock.stop(min(now, clock.due_at(now)))
        self.file.clocks.changed()

    @property
    def review_window_open(self) -> bool:
        clock = self.file.clocks.clocks.get(REVIEW_WINDOW)
        return (
            clock is not None
            and clock.stopped_at is None
            and workflow.now() < clock.due_at(workflow.now())
        )

    def review_window_end(self) -> str:
        """The window's last day, for a refusal ("-" when there is none)."""
        clock = self.file.clocks.clocks.get(REVIEW_WINDOW)
        return self.file.clocks.due_date(REVIEW_WINDOW) if clock is not None else "-"
