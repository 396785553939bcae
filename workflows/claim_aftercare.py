"""Special care and the follow-up call on a claim (DOMAIN §11, since release 2027-01).

A claimant aged 65 or more on the incident day, or marked `special_care` (seriously ill,
disabled), gets the named advisor complaints give, top priority in every queue and the shorter
internal target (7 days) beside the statutory clock, as complaints do (DOMAIN §8.3). After
payment or denial, staff call the claimant (理赔回访): a `follow_up` work item, and the answer
recorded by the update `record_follow_up`, signed like a decision. The claim closes as before;
the call does not hold it open. Deterministic code only."""

from __future__ import annotations

from datetime import date, timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.complaints import ComplaintActivities
    from models.claim import FollowUp
    from models.complaint import ComplaintRulesRequest
    from models.roles import CLAIM_DECIDER_ROLES, missing_role
    from models.status import ClaimStatus, FollowUpView
    from workflows.claim_approval import refusal
    from workflows.claim_case import ClaimCase
    from workflows.recorder import SYSTEM, TOP_PRIORITY, record_call, staff_info

# Days staff have to make the follow-up call.
FOLLOW_UP_DAYS = 7
FOLLOW_UP = "follow_up"
CARE_TARGET = "special_care_target"


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


class Aftercare:
    """Special care from acceptance on, and the follow-up call after the outcome."""

    def __init__(self, case: ClaimCase) -> None:
        self._case = case

    # ================================================================== special care

    async def take_special_care(self) -> None:
        """At acceptance: a claimant who needs special care gets the named advisor, top
        priority for every work item from now on and the internal target. The advisors and
        the numbers are the complaint rules' (one table for both, DOMAIN §11)."""
        s = self._case.state
        report = s.report
        if not s.release_2027_01 or report is None:
            return
        claimant = report.claimant
        if not claimant.special_care and claimant.birth_date is None:
            return  # nothing to look up
        on = report.occurred_at.date()
        rules = await record_call(
            ComplaintActivities.load_complaint_rules,
            ComplaintRulesRequest(complaint_id=s.claim_id, received_on=on),
        )
        reasons = []
        if claimant.birth_date and age_on(claimant.birth_date, on) >= rules.elderly_age:
            reasons.append(f"aged {rules.elderly_age} or over")
        if claimant.special_care:
            reasons.append("special care")
        if not reasons:
            return
        s.special_care = True
        s.advisor = rules.advisors[0] if rules.advisors else None
        self._case.rec.priority = TOP_PRIORITY
        received = report.reported_at if s.release else None
        self._case.clocks.start(
            CARE_TARGET, rules.special_care_days, owner="L2", customer_facing=False, at=received
        )
        self._case.rec.event("special_care", SYSTEM, reasons=reasons, advisor=s.advisor)

    def decided(self) -> None:
        """The internal target is met or missed when the claim is decided."""
        self._case.clocks.stop(CARE_TARGET)

    # ================================================================== the follow-up call

    def open_follow_up(self, after: str) -> None:
        """After payment or denial (once per claim): a call for claims staff, or for the
        named advisor of a special-care claimant."""
        s, rec = self._case.state, self._case.rec
        if not s.release_2027_01 or s.follow_up_task is not None:
            return
        self.decided()
        s.follow_up_task = f"{s.claim_id}:{FOLLOW_UP}"
        rec.open_task(
            s.follow_up_task,
            FOLLOW_UP,
            "L1",
            workflow.now() + timedelta(days=FOLLOW_UP_DAYS),
            level=1,
            assignee=s.advisor,
        )
        rec.event("follow_up_opened", SYSTEM, after=after)

    def _problem(self, f: FollowUp) -> str | None:
        s = self._case.state
        if s.follow_up_task is None:
            return (
                f"claim {s.claim_id} has no follow-up call to record "
                "(it comes after payment or denial)"
            )
        if s.follow_up is not None:
            return f"the follow-up of claim {s.claim_id} is already recorded"
        if not f.reached and f.satisfied is not None:
            return "a claimant who was not reached is neither satisfied nor not satisfied"
        if f.reached and f.satisfied is None:
            return "say whether the claimant was satisfied (--satisfied or --not-satisfied)"
        return None

    def validate(self, f: FollowUp) -> None:
        reason = self._problem(f)
        if reason:
            raise refusal(reason, "InvalidFollowUp")
        self._case.guard.validate_release(f)

    async def record(self, f: FollowUp) -> ClaimStatus:
        s, rec = self._case.state, self._case.rec
        staff = await staff_info(f.by)
        reason = self._problem(f)
        if not reason and (staff is None or not staff.active):
            reason = f"unknown person {f.by!r}"
        if not reason and staff and f.by != s.advisor:
            reason = missing_role(f.by, staff.roles, CLAIM_DECIDER_ROLES, "a follow-up call")
        if reason:
            raise refusal(reason, "InvalidFollowUp")
        await self._case.guard.require(f)
        reason = self._problem(f)  # another answer may have come in meanwhile
        if reason:
            raise refusal(reason, "InvalidFollowUp")
        s.follow_up = FollowUpView(
            by=f.by,
            at=workflow.now(),
            reached=f.reached,
            satisfied=f.satisfied,
            note=f.note,
        )
        assert s.follow_up_task is not None
        rec.close_task(s.follow_up_task)
        # the note stays in the status; the audit event says only what the measures count
        rec.event("follow_up", f.by, reached=f.reached, satisfied=f.satisfied)
        await self._case.flush()
        return self._case.status()
