"""What every case (a claim, a complaint) shares: stages and audit events, work items, and the
statutory clocks that run beside the process and climb their escalation ladder. Deterministic
code only; a case class supplies `case_id`, `_letter` and `_flush`."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import MappingProxyType
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import pydantic

    from activities.policy import DB_RETRY, DB_TIMEOUT
    from models.arguments import SeveralArguments
    from models.calendars import CalendarUpdate
    from models.catalog import SIGNATURE_WINDOW_MINUTES
    from models.records import AuditEventIn, StaffInfo, WorkItemIn
    from models.rules import Flag
    from models.signature import SignatureCheck, SignatureVerdict, Signed
    from models.status import StageChange, TaskView
    from models.validation import (
        BEFORE_HARDENING,
        CASE_ID_PATTERN,
        LENIENT,
        safe_case_id,
        validation_message,
    )
    from workflows import search
    from workflows.clock import Calendar, Clock

SYSTEM = "system"
USED = "bad signature: this signature was already used on this case"
TOP_PRIORITY = 100
NEXT_LEVEL = MappingProxyType({"L1": "L2", "L2": "L3", "L3": "L3"})
INVALID_REPORT = "INVALID_REPORT"
CALENDAR_FLAG = "C01"  # a deadline in a year the holiday calendar does not cover yet

# The start input when a client sends none. The parameter's type is exactly RawValue (the SDK
# hands over the payload undecoded only for that hint, not for `RawValue | None`).
NO_REPORT = RawValue(Payload())

# What the December 2026 release changed in how a case runs, as one patch decided when the case
# starts (`CaseBase._init_case` reads it first): authority by role, exclusions, the loss
# assessment and amounts from the insurer's figures, limits across claims, the lapse, the
# second notice, the payee on the watch list, coverage on the incident date, clocks from
# receipt, calendar coverage, the materials pause from delivery, the complaint review window,
# the complaint ledger and roles, letters' local dates and details, hostile input. A case
# begun before takes none of them; one begun since takes all. One id, not one per change:
# each patch costs every case's history a marker and a TemporalChangeVersion upsert.
RELEASE_2026_12 = "release-2026-12"

Report = TypeVar("Report", bound=pydantic.BaseModel)


def read_report(model: type[Report], raw: RawValue) -> tuple[Report | None, str | None]:
    """The start input, decoded here rather than by the converter: a report that does not
    decode would otherwise fail the workflow before it could say why. Decoding the JSON with
    the model is what the pydantic converter does, so a good report reads the same.

    Since "refuse-hostile-input", a report that only the checks against hostile input refuse
    (non-ASCII digits, exponents, negative zero, impossible dates, unknown nested fields) and
    a start with several arguments end NOT_ACCEPTED too; a case begun before reads its report
    as it did then."""
    if isinstance(raw, SeveralArguments) and workflow.patched(RELEASE_2026_12):
        return None, f"a start carries one report: {raw.reason}"
    if not raw.payload.data or raw.payload.metadata.get("encoding") == b"binary/null":
        return None, "no report was given"
    try:
        return model.model_validate_json(raw.payload.data), None
    except pydantic.ValidationError as err:
        if workflow.patched(RELEASE_2026_12):
            return None, validation_message(err)
    try:
        return model.model_validate_json(raw.payload.data, context=BEFORE_HARDENING), None
    except pydantic.ValidationError as err:
        if workflow.patched("refuse-invalid-report"):
            return None, validation_message(err)
    # A case that began before reports were checked this strictly reads its report as it did
    # then (a report that failed then fails the workflow again: ValidationError is one of its
    # failure_exception_types).
    return model.model_validate_json(raw.payload.data, context=LENIENT), None


def unsafe_case_id(case_id: str) -> str | None:
    """Why a case id (from the report, or else from the workflow id, which any client
    chooses) cannot be used; None when it matches the one pattern. It names the case's folder
    of letters, so `claim-../../x` must not become claim `../../x`. Cases begun before the
    check ("safe-case-id") keep the id they had."""
    if safe_case_id(case_id) or not workflow.patched(RELEASE_2026_12):
        return None
    return f"the case id taken from the workflow id does not match {CASE_ID_PATTERN}"


class CaseBase:
    """State and helpers; subclasses call `_init_case()` from their `__init__`."""

    case_id: str
    stage: str
    rules: Any

    def _init_case(self) -> None:
        # Read first, so that a case begun before the release decides it here, during replay,
        # and every later read gives the same answer (the SDK keeps the first).
        self._release_2026_12 = workflow.patched(RELEASE_2026_12)
        # Cases that started before decisions were signed take them as they did then; every
        # case started since requires a valid signature (README "Signed decisions").
        self._signing = workflow.patched("signed-decisions")
        # Clocks start when the insurer received the report, complaint or materials, not when
        # the case was entered; a deadline in a year the calendar does not cover is flagged.
        self._receipt_clocks = self._release_2026_12
        self._calendar_flags = self._release_2026_12
        self.calendar_flags: dict[str, Flag] = {}
        self._signatures: set[str] = set()
        self.stage = "RECEIVED"
        self.history: list[StageChange] = []
        self.clocks: dict[str, Clock] = {}
        self.tasks: dict[str, TaskView] = {}
        self.breaches: list[str] = []
        self.priority = 0
        self.calendar: Calendar | None = None
        self._finished = False
        self._seq = 0
        self._sync_version = 0
        self._clock_version = 0
        self._clock_tasks: dict[str, list[str]] = {}
        self._events: list[AuditEventIn] = []
        self._opened: list[WorkItemIn] = []
        self._closed: list[str] = []

    async def _letter(self, kind: str, recipient: str | None = None, **context: Any) -> None:
        raise NotImplementedError

    def _next_due_update(self) -> list[Any]:
        """The NextDueTime search attribute: the earliest due time of a running clock.

        Added after cases were already open: behind a patch, so histories recorded before it
        replay unchanged (see README, "Changing workflow code while cases are open")."""
        if not workflow.patched("next-due-time"):
            return []
        now = workflow.now()
        dues = [c.due_at(now) for c in self.clocks.values() if c.running_at(now)]
        due = min(dues) if dues else None
        if due == getattr(self, "_sa_due", -1):
            return []
        self._sa_due = due
        return [search.NEXT_DUE.value_set(due) if due else search.NEXT_DUE.value_unset()]

    async def _flush(self) -> None:
        raise NotImplementedError

    async def _staff(self, staff_id: str) -> StaffInfo | None:
        """A staff member's level, roles and status, looked up when a message names them."""
        return await self._record_call(
            "get_staff",
            staff_id,
            result_type=StaffInfo | None,  # type: ignore[arg-type]
        )

    async def _record_call(
        self,
        name: str,
        arg: Any,
        result_type: Any = None,
        timeout: timedelta = DB_TIMEOUT,
    ) -> Any:
        """A short read or write of the engine's own database, or a letter to the outbox.

        Since "local-records" these run as local activities: one marker event each instead of
        three events and a workflow task, and no trip through the task queue. They are
        idempotent on natural keys, so a retry after a lost workflow task is harmless. Cases
        begun before the patch keep calling regular activities (their histories replay)."""
        if workflow.patched("local-records"):
            return await workflow.execute_local_activity(
                name,
                arg,
                result_type=result_type,
                start_to_close_timeout=timeout,
                retry_policy=DB_RETRY,
            )
        return await workflow.execute_activity(
            name,
            arg,
            result_type=result_type,
            start_to_close_timeout=timeout,
            retry_policy=DB_RETRY,
        )

    # ================================================================== signed decisions

    def _signature_problem(self, msg: Signed) -> str | None:
        """Why a decision's signature cannot be taken, from the message alone (no lookup, so
        update validators run it too); None when it may go on to the key check."""
        if msg.signature is None and msg.signed_at is None:
            if not self._signing:
                return None
            return f"bad signature: the decision of {msg.signer} is not signed"
        if not msg.signature or not msg.signed_at:
            return "bad signature: a signed decision carries both signed_at and signature"
        try:
            at = datetime.fromisoformat(msg.signed_at)
        except ValueError:
            return f"bad signature: signed_at {msg.signed_at!r} is not an ISO 8601 time"
        if at.tzinfo is None:
            return f"bad signature: signed_at {msg.signed_at!r} has no UTC offset"
        rules = getattr(self, "rules", None)
        window = rules.signature_window_minutes if rules else SIGNATURE_WINDOW_MINUTES
        now = workflow.now()
        if abs(now - at) > timedelta(minutes=window):
            return (
                f"bad signature: signed at {msg.signed_at}, more than {window} minutes from "
                f"the case's time {now.isoformat(timespec='seconds')}"
            )
        if msg.signature.lower() in self._signatures:
            return USED
        return None

    async def _signature_refusal(self, msg: Signed) -> str | None:
        """None when the decision is validly signed by the person it names (or the case
        predates signing and the message is unsigned); otherwise the reason to refuse it."""
        reason = self._signature_problem(msg)
        if reason or msg.signature is None:
            return reason
        verdict = await self._record_call(
            "verify_signature",
            SignatureCheck(
                staff_id=msg.signer,
                case_id=self.case_id,
                fields=msg.signed_fields(),
                signature=msg.signature,
                # Cases begun since the release are signed with Ed25519; earlier ones with HMAC.
                algorithm="ed25519" if self._release_2026_12 else None,
            ),
            result_type=SignatureVerdict,
        )
        if not verdict.valid:
            return verdict.reason
        # Looked at again after the lookup: a copy of the message may have been taken meanwhile.
        # Only a valid signature is spent, so a tampered copy cannot use up the genuine one.
        used = msg.signature.lower()
        if used in self._signatures:
            return USED
        self._signatures.add(used)
        return None

    def _validate_release_signature(self, msg: Signed) -> None:
        """Validators of the steps signed since release 2026-12 (convening a panel,
        re-adjusting): a case begun since refuses them unsigned or badly stamped before they
        are accepted; earlier cases take them as they did then."""
        if self._release_2026_12:
            reason = self._signature_problem(msg)
            if reason:
                raise bad_signature(reason)

    async def _require_signature(self, msg: Signed) -> None:
        """For update handlers (not validators: a validator's refusal leaves no trace): a
        decision without a valid signature is refused and recorded as an audit event."""
        reason = await self._signature_refusal(msg)
        if reason:
            self._event("decision_refused", msg.signer, reason=reason, via="update")
            await self._flush()
            raise bad_signature(reason)

    # ================================================================== the clocks

    async def _watch_clocks(self) -> None:
        """Beside the process: fire each clock's reminder, escalation and breach on time."""
        while not self._finished:
            now = workflow.now()
            upcoming = []
            for clock in self.clocks.values():
                step = clock.next_step(now)
                if step is not None:
                    upcoming.append(step[1])
            version = self._clock_version

            def changed(v: int = version) -> bool:
                return self._finished or self._clock_version != v

            if not upcoming:
                await workflow.wait_condition(changed)
                continue
            at = min(upcoming)
            if at > now and await self._wait(changed, at):
                continue
            await self._fire_due_steps()

    async def _fire_due_steps(self) -> None:
        now = workflow.now()
        for name, clock in list(self.clocks.items()):
            for step in clock.due_steps(now):
                clock.fired.append(step)
                if await self._clock_step(name, step):
                    continue
                await self._ladder_step(name, clock, step)
        self._clock_changed()

    async def _clock_step(self, name: str, step: str) -> bool:
        """A case's own action for a ladder step; True if it replaces the standard one."""
        return False

    async def _ladder_step(self, name: str, clock: Clock, step: str) -> None:
        due = clock.due_at(workflow.now())
        self._event(f"clock_{step}", SYSTEM, clock=name, due_at=due.isoformat())
        owner = clock.owner or "L1"
        is_role = owner.startswith("L")
        key = f"{self.case_id}:{name}:{step}"
        if step == "reminder":
            self._open_task(
                key,
                "reminder",
                owner if is_role else "investigator",
                due,
                assignee=None if is_role else owner,
                level=_level(owner),
            )
        elif step == "escalation":
            role = NEXT_LEVEL.get(owner, "L2") if is_role else "L2"
            self._open_task(key, "escalation", role, due, level=_level(role))
        else:
            if name not in self.breaches:
                self.breaches.append(name)
            self.priority = TOP_PRIORITY
            self._open_task(key, "breach", "L3", due, level=3)
            if clock.customer_facing:
                await self._letter(
                    "delay", clock=name, due_on=self.calendar_date(due), stage=self.stage
                )
        self._clock_tasks.setdefault(name, []).append(key)
        await self._flush()

    def _start_clock(
        self,
        name: str,
        days: int,
        owner: str,
        customer_facing: bool = True,
        at: datetime | None = None,
    ) -> Clock:
        """Start a clock now, or at `at`: when the insurer received what starts it (never
        later than now). A clock that started long before the case was entered may be due
        already: its ladder then fires at once."""
        now = workflow.now()
        started = min(at, now) if at is not None else now
        clock = Clock(name, started, days, self._cal, owner=owner, customer_facing=customer_facing)
        self.clocks[name] = clock
        extra = {"started_at": started.isoformat()} if at is not None else {}
        self._event(
            "clock_started",
            SYSTEM,
            clock=name,
            days=days,
            due_at=clock.due_at(now).isoformat(),
            **extra,
        )
        self._clock_changed()
        return clock

    def _stop_clock(self, name: str) -> None:
        clock = self.clocks.get(name)
        if clock is None or clock.stopped_at is not None:
            return
        clock.stop(workflow.now())
        view = clock.view(workflow.now())
        self._event("clock_stopped", SYSTEM, clock=name, status=view.status)
        for key in self._clock_tasks.pop(name, []):
            self._close_task(key)
        self._clock_changed()

    def _stop_all_clocks(self) -> None:
        for name in list(self.clocks):
            self._stop_clock(name)

    def _clock(self, name: str) -> Clock:
        return self.clocks[name]

    def _clock_changed(self) -> None:
        self._clock_version += 1
        self._check_calendar()

    def _check_calendar(self) -> None:
        """A running clock whose last day falls in a year the holiday calendar does not cover
        is flagged on the case (status.flags, C01), put before an L2 as a work item and
        recorded in the audit trail: it is counted on weekends alone until the year is
        published (signal calendar_updated). The flag goes when the year arrives or the
        clock stops."""
        if not self._calendar_flags or self.calendar is None:
            return
        now = workflow.now()
        for name, clock in self.clocks.items():
            years = clock.uncovered_years(now) if clock.stopped_at is None else []
            key = f"{self.case_id}:calendar:{name}"
            known = self.calendar_flags.get(name)
            if not years:
                if known is not None:
                    del self.calendar_flags[name]
                    self._close_task(key)
                    why = "stopped" if clock.stopped_at is not None else "year published"
                    self._event("calendar_flag_cleared", SYSTEM, clock=name, why=why)
                continue
            due = clock.due_at(now)
            listed = ", ".join(str(y) for y in years)
            flag = Flag(
                code=CALENDAR_FLAG,
                effect="flag",
                reason=(
                    f"the {name} deadline ({self.calendar_date(due)}) falls in {listed}, whose "
                    "public holidays the calendar does not have yet: it is counted on weekends "
                    "alone until they are published (claims calendar refresh)"
                ),
            )
            if known == flag:
                continue
            self.calendar_flags[name] = flag
            self._event(
                "calendar_not_covered", SYSTEM, clock=name, years=years, due_at=due.isoformat()
            )
            if known is None:
                self._open_task(key, "calendar_check", "L2", due, level=2)

    @workflow.signal(name="calendar_updated")
    async def calendar_updated(self, update: CalendarUpdate) -> None:
        """A newly published calendar year (`claims calendar refresh`): the running clocks
        count with it from now on, and the flags it answers go. Stopped clocks keep the
        calendar they were judged by."""
        if self.calendar is None or self._finished:
            return
        if not workflow.patched("calendar-updates"):
            return
        calendar = self.calendar.updated(update.holidays, update.workdays, update.years)
        if calendar == self.calendar:
            return
        now = workflow.now()
        running = {n: c for n, c in self.clocks.items() if c.stopped_at is None}
        before = {n: c.due_at(now) for n, c in running.items()}
        self.calendar = calendar
        for clock in running.values():
            clock.calendar = calendar
        moved = {
            n: c.due_at(now).isoformat() for n, c in running.items() if c.due_at(now) != before[n]
        }
        self._event(
            "calendar_updated",
            SYSTEM,
            years=sorted(set(update.years)),
            source=update.source,
            moved=moved,
        )
        self._clock_changed()
        await self._flush()

    @property
    def _cal(self) -> Calendar:
        assert self.calendar is not None
        return self.calendar

    def _due_date(self, name: str) -> str:
        return self.calendar_date(self.clocks[name].due_at(workflow.now()))

    def calendar_date(self, due_at: datetime) -> str:
        """The last day of a period (due_at is 24:00 of it), as an ISO date."""
        return (due_at.astimezone(self._cal.tz) - timedelta(seconds=1)).date().isoformat()

    # ================================================================== stages, events, tasks

    def _to(self, stage: str, actor: str, /, **data: Any) -> None:
        self.stage = stage
        self.history.append(StageChange(stage=stage, at=workflow.now()))
        # workflow.logger says nothing while a history replays; the case id and the stage
        # only, never what the case holds about people
        workflow.logger.info("%s: stage %s", self._logged_id, stage)
        self._event("stage", actor, stage=stage, **data)

    @property
    def _logged_id(self) -> str:
        """The case id for a log line; an id that does not match the pattern (any client
        chooses workflow ids) is not repeated."""
        return self.case_id if safe_case_id(self.case_id) else "(a case with an invalid id)"

    def _event(self, kind: str, actor: str, /, **data: Any) -> None:
        if kind in _LOGGED_EVENTS:
            clock = data.get("clock")
            workflow.logger.warning(
                "%s: %s%s", self._logged_id, kind, f" ({clock})" if clock else ""
            )
        self._seq += 1
        self._events.append(
            AuditEventIn(seq=self._seq, kind=kind, actor=actor, at=workflow.now(), data=data)
        )

    def _open_task(
        self,
        key: str,
        kind: str,
        role: str,
        due: datetime | None,
        level: int = 0,
        assignee: str | None = None,
    ) -> None:
        self.tasks[key] = TaskView(key=key, kind=kind, role=role, assignee=assignee, due_at=due)
        self._opened.append(
            WorkItemIn(
                key=key,
                kind=kind,
                role=role,
                level=level,
                assignee=assignee,
                due_at=due,
                priority=self.priority,
                title=f"{kind} {self.case_id}",
            )
        )

    def _close_task(self, key: str) -> None:
        if self.tasks.pop(key, None) is not None:
            self._closed.append(key)

    async def _wait(self, condition: Any, until: datetime) -> bool:
        """Wait for a condition until a point in time; False if the time came first."""
        timeout = until - workflow.now()
        if timeout <= timedelta(0):
            return bool(condition())
        try:
            await workflow.wait_condition(condition, timeout=timeout)
            return True
        except TimeoutError:
            return False


# Events worth a warning line in the worker's log (stage changes have their own info line).
_LOGGED_EVENTS = frozenset(
    {"clock_escalation", "clock_breach", "decision_refused", "assessment_refused"}
)


def bad_signature(reason: str) -> ApplicationError:
    return ApplicationError(reason, type="BadSignature", non_retryable=True)


def _level(role: str) -> int:
    return int(role[1]) if role.startswith("L") and role[1:].isdigit() else 0
