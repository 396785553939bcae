"""A complaint's intake (DOMAIN §8.2, §8.3): its rules, the preliminary check, registration
with the priority and the complaint clock, the acknowledgement, the claim it names, and the
triage to a department and a handler."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta, timezone
from types import MappingProxyType

from temporalio import workflow
from temporalio.common import RawValue

with workflow.unsafe.imports_passed_through():
    from activities.complaints import ComplaintActivities
    from models.complaint import (
        Assignment,
        ComplaintLink,
        ComplaintReport,
        ComplaintRules,
        ComplaintRulesRequest,
    )
    from models.ids import claim_workflow_id, complaint_id_of
    from models.records import StaffInfo
    from models.roles import COMPLAINT_COORDINATOR as COORDINATOR
    from models.roles import COMPLAINT_HANDLER as HANDLER
    from models.status import ComplaintStage
    from workflows.case import read_report, unsafe_case_id
    from workflows.clock import Calendar
    from workflows.complaint_checks import check_stage, need_role, refuse
    from workflows.complaint_file import ComplaintFile
    from workflows.complaint_state import ComplaintState
    from workflows.recorder import SYSTEM, record_call, staff_info

# A work item's priority, by the complaint's.
PRIORITY_WEIGHT = MappingProxyType({"urgent": 50, "high": 20})


def take_report(state: ComplaintState, raw: RawValue) -> None:
    """The report, taken before any message is handled. It arrives raw (see ClaimWorkflow):
    one that does not decode leaves `invalid_report` set and ends NOT_ACCEPTED."""
    state.report, state.invalid_report = read_report(ComplaintReport, raw)
    state.complaint_id = complaint_id_of(workflow.info().workflow_id)
    if state.report is None:
        return
    state.complaint_id = state.report.complaint_id or state.complaint_id
    state.invalid_report = unsafe_case_id(state.complaint_id)
    if state.invalid_report is not None:  # ends NOT_ACCEPTED; nothing is written
        state.report, state.complaint_id = None, ""
        return
    if state.report.received_at is None:
        state.report.received_at = workflow.info().start_time
    state.category = state.report.category


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


@dataclass(frozen=True)
class Priority:
    label: str  # urgent, high or normal
    reasons: list[str]
    special_care: bool  # a named advisor and the internal target


def priority_of(r: ComplaintReport, rules: ComplaintRules, on: date) -> Priority:
    """Urgent: the regulator, the media, a group, a medical emergency; high: a complainant
    who needs special care, or a repeat complaint (DOMAIN §8.3)."""
    label = "normal"
    reasons = []
    if r.channel == "regulator":
        reasons.append("forwarded by the regulator")
    if r.media:
        reasons.append("media attention")
    if 1 + len(r.complainants) >= rules.group_size:
        reasons.append(f"group of {1 + len(r.complainants)} complainants")
    if r.medical_emergency:
        reasons.append("medical emergency")
    if reasons:
        label = "urgent"
    care = []
    for person in (r.complainant,):
        if person.birth_date and _age(person.birth_date, on) >= rules.elderly_age:
            care.append(f"aged {rules.elderly_age} or over")
        if person.special_care:
            care.append(
                person.special_care.replace("_", " ")
                if isinstance(person.special_care, str)
                else "special care"
            )
    high = list(care)
    if rules.repeat_count:
        high.append(f"repeat complaint ({rules.repeat_count} in 12 months)")
    if high and label == "normal":
        label = "high"
    return Priority(label, reasons + high, bool(care))


class ComplaintIntake:
    """From the complaint's receipt to its handler."""

    def __init__(self, file: ComplaintFile, *, receipt_clocks: bool) -> None:
        self.file = file
        self.state = file.state
        # Clocks start when the insurer received the complaint, not when it was entered.
        self._receipt_clocks = receipt_clocks

    async def load_rules(self) -> ComplaintRules:
        report = self.state.report
        assert report is not None and report.received_at is not None
        rules = await record_call(
            ComplaintActivities.load_complaint_rules,
            ComplaintRulesRequest(
                complaint_id=self.state.complaint_id,
                policy_no=report.policy_no,
                claim_id=report.claim_id,
                complainant_key=self.state.complainant_key,
                received_on=report.received_at.date(),
            ),
        )
        self.state.rules = rules
        self.file.clocks.calendar = Calendar.of(
            timezone(timedelta(hours=rules.utc_offset_hours)),
            rules.holidays,
            rules.workdays,
            rules.calendar_years or None,
        )
        return rules

    async def declined(self) -> bool:
        """Preliminary check (初步核实): a complaint about a policy or claim this institution
        does not hold is declined with a letter pointing to where it belongs."""
        assert self.state.report and self.state.rules
        r, rules, zh = self.state.report, self.state.rules, self.state.zh
        reason = None
        if r.policy_no and rules.policy_known is False and not rules.claim_known:
            reason = (
                f"保单 {r.policy_no} 非本公司承保，本公司无法受理该投诉。"
                if zh
                else f"Policy {r.policy_no} was not issued by us, so we cannot handle this."
            )
        elif r.claim_id and rules.claim_known is False and not rules.policy_known:
            reason = (
                f"未查询到理赔案件 {r.claim_id}，且未提供本公司保单。"
                if zh
                else f"We hold no claim {r.claim_id} and no policy of ours was named."
            )
        if reason is None:
            return False
        self.state.decline_reason = reason
        self.file.rec.to(ComplaintStage.DECLINED, SYSTEM, reason=reason)
        assert r.received_at
        await self.file.letter(
            "complaint_declined", reason=reason, received_at=r.received_at.isoformat()
        )
        self.state.closed_at = workflow.now()
        await self.file.flush()
        return True

    def register(self) -> None:
        """Registration, priority (DOMAIN §8.3) and the complaint clock."""
        state, rec, clocks = self.state, self.file.rec, self.file.clocks
        r, rules = state.report, state.rules
        assert r and rules and r.received_at
        rec.to(ComplaintStage.REGISTERED, SYSTEM)
        priority = priority_of(r, rules, r.received_at.date())
        state.priority_label = priority.label
        state.priority_reasons = priority.reasons
        state.special_care = priority.special_care
        rec.priority = PRIORITY_WEIGHT.get(state.priority_label, 0)
        # From the complaint's receipt (received_at): one forwarded by the regulator and
        # registered a week late has a week less.
        received = r.received_at if self._receipt_clocks else None
        clocks.start("complaint", rules.decision_days, owner="L2", at=received)
        if state.special_care:
            state.advisor = rules.advisors[0] if rules.advisors else None
            clocks.start(
                "special_care_target",
                rules.special_care_days,
                owner="L2",
                customer_facing=False,
                at=received,
            )
        rec.event(
            "registered",
            SYSTEM,
            priority=state.priority_label,
            reasons=state.priority_reasons,
            advisor=state.advisor,
        )

    async def acknowledge(self) -> None:
        """The acknowledgement, with the decision's last day."""
        report, rules = self.state.report, self.state.rules
        assert report and report.received_at and rules
        await self.file.letter(
            "complaint_acknowledgement",
            channel=report.channel,
            received_at=report.received_at.isoformat(),
            matter=report.matter,
            remedy_sought=report.remedy_sought,
            priority=self.state.priority_label,
            decision_days=rules.decision_days,
            decision_due=self.file.clocks.due_date("complaint"),
            advisor=self.state.advisor,
            internal_days=rules.special_care_days,
            complainants=1 + len(report.complainants),
        )
        await self.file.flush()

    async def tell_claim(self) -> None:
        """A complaint that names a claim shows on it; a payment-timeliness complaint
        escalates the claim at once (DOMAIN §9)."""
        state = self.state
        assert state.report and state.rules
        claim_id = state.report.claim_id
        if not (claim_id and state.rules.claim_known):
            return
        link = ComplaintLink(
            complaint_id=state.complaint_id,
            category=state.category,
            received_at=state.report.received_at or workflow.now(),
            escalate=state.category == "payment_timeliness",
        )
        try:
            await workflow.get_external_workflow_handle(claim_workflow_id(claim_id)).signal(
                "complaint_filed", link
            )
            self.file.rec.event("claim_notified", SYSTEM, claim_id=claim_id, escalate=link.escalate)
        except Exception as exc:  # noqa: BLE001 - a finished claim takes no signal
            self.file.rec.event("claim_not_running", SYSTEM, claim_id=claim_id, detail=str(exc))

    # ================================================================== triage

    def check_assignable(self) -> None:
        check_stage(self.state, self.file.stage, "assign", (ComplaintStage.REGISTERED,))

    async def assign(self, a: Assignment) -> None:
        """Triage (分流与责任划分): a coordinator gives the complaint to a handler who had no
        part in the claim complained about (recusal), in the category's department."""
        self.check_assignable()
        coordinator = await staff_info(a.coordinator)
        handler = await staff_info(a.handler)
        self.check_assignable()
        self._check_assignment(a, coordinator, handler)
        state = self.state
        assert state.rules and state.category
        state.coordinator = a.coordinator
        state.handler = a.handler
        state.department = state.rules.departments.get(state.category, "customer_service")
        self.file.rec.to(
            ComplaintStage.TRIAGED,
            a.coordinator,
            category=state.category,
            department=state.department,
            handler=a.handler,
        )

    def _check_assignment(
        self, a: Assignment, coordinator: StaffInfo | None, handler: StaffInfo | None
    ) -> None:
        """The coordinator is one; the handler handles complaints and stands aside from a
        claim they had a part in; the category is known (taken from the assignment)."""
        state = self.state
        need_role(coordinator, a.coordinator, COORDINATOR)
        if handler is None or not handler.active:
            raise refuse(f"unknown person {a.handler!r}")
        if not state.complaint_roles and HANDLER not in handler.roles and handler.level < 1:
            raise refuse(f"{a.handler} cannot handle complaints")
        assert state.rules
        role = state.rules.claim_people.get(a.handler)
        if role:
            raise refuse(f"{a.handler} {role} complained about and must stand aside")
        if state.complaint_roles:
            need_role(handler, a.handler, HANDLER)
        if a.category:
            state.category = a.category
        if state.category is None:
            raise refuse("give the complaint's category when assigning it")
