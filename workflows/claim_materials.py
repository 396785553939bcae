"""The claim's materials (DOMAIN §3): the one missing-materials notice with its reminders,
suspension and lapse while the process waits, and the second notice a supervisor may approve.
Deterministic code only."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from models.catalog import MATERIAL_KINDS
    from models.claim import MaterialsRequest
    from models.records import StaffInfo
    from models.roles import MANAGER, SUPERVISOR, missing_role
    from models.status import ClaimStage, ClaimStatus
    from workflows.claim_approval import refusal
    from workflows.claim_case import ClaimCase
    from workflows.clock import notice_reached
    from workflows.recorder import SYSTEM, staff_info


class Materials:
    """Waits for what is missing; asks for more when a supervisor approves it."""

    def __init__(self, case: ClaimCase) -> None:
        self._case = case

    async def collect(self) -> bool:
        """One single notice listing everything missing (Insurance Law art. 22); the
        determination clock pauses until the materials arrive (SPC Interpretation II art. 15).
        Reminders at 15 and 30 days, suspension at 60; the claim resumes when they arrive, or
        lapses when the 2-year limitation (art. 26) ends first. True when they arrived."""
        s = self._case.state
        assert s.rules
        d = s.rules.deadlines
        notice_at = workflow.now()
        s.document_rounds += 1
        self._case.rec.to(ClaimStage.AWAITING_MATERIALS, SYSTEM, missing=s.missing)
        determination = self._case.clocks.clocks["determination"]
        determination.pause(
            "awaiting materials (from the day the missing-materials notice reached the claimant)"
            if s.release
            else "awaiting materials (missing-materials notice)",
            notice_at,
        )
        self._case.clocks.changed()
        suspend_on = self._case.letter_day(notice_at + timedelta(days=d.materials_suspension_days))
        notice, receipt = await self._case.letter_with_notice(
            "missing_materials",
            "missing_materials",
            "missing_materials",
            missing=s.missing,
            received=[k for k in s.required if k in s.received],
            notice_date=self._case.letter_day(notice_at),
            reminder_days=list(d.materials_reminder_days),
            suspension_days=d.materials_suspension_days,
        )
        if s.release and determination.paused:
            # Sent at this task's time; reached the claimant when its delivery is recorded
            # (a later delivery service), else after the presumed days for post, at once for
            # email and other electronic channels. Until then the clock runs. Since release
            # 2027-01 a notice sent at this node by email or SMS reached the claimant when it
            # was sent; one left in the page's letter box or sent by post does not say when it
            # was read, so the letter's presumed delivery stands.
            sent_at, channel = notice_at, notice.channel
            if receipt is not None and receipt.channel.value in ("email", "sms"):
                sent_at, channel = max(notice_at, receipt.sent_at), receipt.channel.value
            reached = notice_reached(
                sent_at,
                channel,
                d.presumed_delivery_days,
                getattr(notice, "delivered_at", None),
            )
            determination.pauses[-1].since = reached
            self._case.rec.event(
                "clock_pause_from",
                SYSTEM,
                clock="determination",
                since=reached.isoformat(),
                channel=channel,
            )
            self._case.clocks.changed()
        task_key = f"{s.claim_id}:materials"
        due = notice_at + timedelta(days=d.materials_suspension_days)
        self._case.rec.open_task(task_key, "supply_materials", "claimant", due)
        await self._case.flush()

        steps = [(n, "reminder") for n in d.materials_reminder_days]
        steps.append((d.materials_suspension_days, "suspend"))
        reminders = 0
        for days, step in steps:
            if await self._case.park(lambda: not s.missing, notice_at + timedelta(days=days)):
                break
            if step == "reminder":
                reminders += 1
                self._case.rec.event(
                    "materials_reminder", SYSTEM, round=reminders, missing=s.missing
                )
                await self._case.letter(
                    "materials_reminder",
                    missing=s.missing,
                    notice_date=self._case.letter_day(notice_at),
                    round=reminders,
                    suspension_on=suspend_on,
                )
            else:
                self._case.rec.to(ClaimStage.SUSPENDED, SYSTEM, missing=s.missing)
                await self._case.letter(
                    "suspension",
                    missing=s.missing,
                    notice_date=self._case.letter_day(notice_at),
                    suspended_on=self._case.letter_day(workflow.now()),
                )
            await self._case.flush()
        else:
            if s.release:
                limitation = self._limitation_ends()
                if not await self._case.park(lambda: not s.missing, limitation):
                    await self._lapse(task_key, notice_at)
                    return False
            else:
                await self._case.park(lambda: not s.missing)

        self._case.clocks.clocks["determination"].resume(workflow.now())
        self._case.clocks.changed()
        self._case.rec.close_task(task_key)
        self._case.rec.event("materials_complete", SYSTEM)
        return True

    def _limitation_ends(self) -> datetime:
        """The end of the 2-year limitation (诉讼时效, Insurance Law art. 26), counted from the
        day of the incident: 24:00 of the same date two years on, local time."""
        s = self._case.state
        assert s.report and s.rules
        tz = self._case.clocks.cal.tz
        day = s.report.occurred_at.astimezone(tz).date()
        years = s.rules.deadlines.limitation_years
        try:
            last = day.replace(year=day.year + years)
        except ValueError:  # 29 February
            last = day.replace(year=day.year + years, day=28)
        return datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz)

    async def _lapse(self, task_key: str, notice_at: datetime) -> None:
        """The limitation ran out while the claim was suspended: it closes as LAPSED."""
        s = self._case.state
        assert s.report
        self._case.rec.close_task(task_key)
        self._case.clocks.stop_all()
        self._case.rec.to(ClaimStage.LAPSED, SYSTEM, missing=s.missing)
        tz = self._case.clocks.cal.tz
        suspended = next(
            (h.at for h in self._case.rec.history if h.stage == ClaimStage.SUSPENDED), notice_at
        )
        await self._case.letter(
            "lapse",
            missing=s.missing,
            notice_date=notice_at.astimezone(tz).date().isoformat(),
            suspended_on=suspended.astimezone(tz).date().isoformat(),
            occurred_on=s.report.occurred_at.astimezone(tz).date().isoformat(),
            limitation_on=self._case.clocks.calendar_date(self._limitation_ends()),
            lapsed_on=workflow.now().astimezone(tz).date().isoformat(),
        )
        s.reserve = Decimal("0")
        await self._case.flush()

    async def request(self, req: MaterialsRequest) -> ClaimStatus:
        """A second missing-materials notice, approved by a supervisor with a reason."""
        s = self._case.state
        reason = self._check_request(req)
        if not reason:
            staff = await staff_info(req.by)
            reason = self._check_request(req) or self._supervisor_refusal(staff, req.by)
        if reason:
            raise refusal(reason, "InvalidMaterialsRequest")
        assert s.report
        added = [k for k in dict.fromkeys(req.kinds) if k not in s.required]
        s.required += added
        s.document_rounds += 1
        self._case.rec.event("second_notice", req.by, added=added, reason=req.reason)
        first = next(
            (h.at for h in self._case.rec.history if h.stage == ClaimStage.AWAITING_MATERIALS), None
        )
        tz = self._case.clocks.cal.tz
        await self._case.letter(
            "additional_materials",
            added=added,
            missing=s.missing,
            reason=req.reason,
            approved_by=req.by,
            approved_by_name=staff.name if staff else req.by,
            first_notice_date=(first or workflow.now()).astimezone(tz).date().isoformat(),
        )
        await self._case.flush()
        return self._case.status()

    def validate_request(self, req: MaterialsRequest) -> None:
        reason = self._check_request(req)
        if reason:
            raise refusal(reason, "InvalidMaterialsRequest")

    def _check_request(self, req: MaterialsRequest) -> str | None:
        s = self._case.state
        if not s.release:
            return f"claim {s.claim_id} began before second notices were recorded"
        if self._case.stage not in (ClaimStage.AWAITING_MATERIALS, ClaimStage.SUSPENDED):
            return (
                f"claim {s.claim_id} is {self._case.stage}; a second notice is sent only while "
                "the claim waits for materials"
            )
        if not req.reason.strip():
            return "a second missing-materials notice needs the supervisor's reason"
        unknown = [k for k in req.kinds if k not in MATERIAL_KINDS]
        if unknown:
            return f"unknown material kind {unknown[0]!r}"
        if all(k in s.required for k in req.kinds):
            return "these materials were already asked for; the reminders repeat them"
        return None

    def _supervisor_refusal(self, staff: StaffInfo | None, person: str) -> str | None:
        if staff is None:
            return f"unknown person {person!r}"
        if not staff.active:
            return f"{person} is not active"
        refused = missing_role(
            person, staff.roles, (SUPERVISOR, MANAGER), "a second missing-materials notice"
        )
        if refused:
            return refused
        if staff.level < 2:
            return f"{person} has authority L{staff.level}; a second notice needs L2 or above"
        return None
