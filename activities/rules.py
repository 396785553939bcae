"""Rule lookups: the snapshot a claim runs under, and staff for authority checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from pydantic import TypeAdapter
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio import activity

from models.calendars import published_calendar
from models.catalog import (
    AUTHORITY_LIMITS,
    CHECKLISTS,
    CN_DEADLINES,
    COMMON_MATERIALS,
    SIGNATURE_WINDOW_MINUTES,
    TRIAGE,
)
from models.records import LoadRulesRequest, StaffInfo
from models.rules import (
    Clause,
    ClauseKind,
    DeadlineRules,
    PolicyEvent,
    PolicyStatus,
    PolicyStatusChange,
    PolicyTerms,
    RulesSnapshot,
    TriageRules,
    Usage,
)
from models.status import ClaimStage
from models.tables import (
    ClaimRow,
    ClauseRow,
    PaymentRow,
    PolicyRow,
    PolicyStatusRow,
    StaffRow,
    WatchListRow,
)

RULES_VERSION = "CN-2025.1"

# The table keeps statuses, clause kinds and events as text; these take only the values the
# models name (as the models' own validation would), and give mypy the narrower type.
POLICY_STATUS: TypeAdapter[PolicyStatus] = TypeAdapter(PolicyStatus)
POLICY_EVENT: TypeAdapter[PolicyEvent] = TypeAdapter(PolicyEvent)
CLAUSE_KIND: TypeAdapter[ClauseKind] = TypeAdapter(ClauseKind)


def _same_run(run_id: str | None) -> bool:
    """Records this very workflow run wrote (the lookup ran again after a lost workflow task)."""
    return (
        run_id is not None and activity.in_activity() and activity.info().workflow_run_id == run_id
    )


def policy_year_start(start: date, on: date) -> date:
    """The anniversary of `start` on or before `on` (limits and deductibles reset yearly)."""
    year = on.year
    try:
        anniversary = start.replace(year=year)
    except ValueError:  # 29 February
        anniversary = date(year, 3, 1)
    if anniversary > on:
        try:
            anniversary = start.replace(year=year - 1)
        except ValueError:
            anniversary = date(year - 1, 3, 1)
    return max(anniversary, start)


def _year_later(d: date) -> date:
    try:
        return d.replace(year=d.year + 1)
    except ValueError:  # 29 February
        return date(d.year + 1, 3, 1)


def status_rows(session: Session, policy_no: str) -> list[PolicyStatusRow]:
    """A policy's status history, oldest first: effective date, then the order recorded."""
    return list(
        session.exec(
            select(PolicyStatusRow)
            .where(PolicyStatusRow.policy_no == policy_no)
            .order_by(col(PolicyStatusRow.effective_on), col(PolicyStatusRow.seq))
        ).all()
    )


def policy_terms(session: Session, policy_no: str) -> PolicyTerms | None:
    """A policy as a case sees it: its row, its product's clauses and its status history
    (oldest first: effective date, then the order recorded); None when there is no such
    policy."""
    row = session.get(PolicyRow, policy_no)
    if row is None:
        return None
    clauses = session.exec(
        select(ClauseRow).where(ClauseRow.product_code == row.product_code)
    ).all()
    terms = dict(row.terms)
    return PolicyTerms(
        policy_no=row.policy_no,
        line=row.line,
        product_code=row.product_code,
        insured_name=row.insured_name,
        insured_id_no=row.insured_id_no,
        start_date=row.start_date,
        end_date=row.end_date,
        status=POLICY_STATUS.validate_python(row.status),
        clauses=[
            Clause(
                id=c.clause_id,
                kind=CLAUSE_KIND.validate_python(c.kind),
                title_zh=c.title_zh,
                title_en=c.title_en,
                text_zh=c.text_zh,
                text_en=c.text_en,
                causes=list(c.causes or []),
            )
            for c in sorted(clauses, key=lambda c: c.clause_id)
        ],
        status_history=[
            PolicyStatusChange(
                event=POLICY_EVENT.validate_python(h.event),
                effective_on=h.effective_on,
                reason=h.reason,
            )
            for h in status_rows(session, policy_no)
        ],
        **terms,
    )


def calendar_since(on: date) -> int:
    """The first year a case's clocks may need: the year before the earlier of `on` (the
    incident's or the receipt's day) and today."""
    return min(on.year, datetime.now(UTC).year) - 1


def held_materials(policy: PolicyTerms | None, claimant_id_no: str) -> list[str]:
    """What the insurer already holds and must not ask for again (CBIRC 2020 art. 13): the
    identity of a policyholder it verified when the policy was issued."""
    if policy is not None and policy.insured_id_no == claimant_id_no:
        return ["identity"]
    return []


class RulesActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _policy(self, session: Session, policy_no: str) -> PolicyTerms | None:
        return policy_terms(session, policy_no)

    @activity.defn(name="load_rules")
    def load_rules(self, req: LoadRulesRequest) -> RulesSnapshot:
        with Session(self.engine) as session:
            policy = self._policy(session, req.policy_no)
            usage = Usage()
            prior = 0
            watch = session.get(WatchListRow, req.claimant_id_no) is not None
            earlier = session.get(ClaimRow, req.claim_id)
            investigators = sorted(
                row.staff_id
                for row in session.exec(select(StaffRow).where(StaffRow.active == True)).all()  # noqa: E712
                if "investigator" in (row.roles or [])
            )
            if policy is not None:
                year_start = policy_year_start(policy.start_date, req.occurred_on)
                since = datetime.combine(year_start, time.min, tzinfo=UTC)
                next_year = policy_year_start(policy.start_date, _year_later(year_start))
                until = datetime.combine(next_year, time.min, tzinfo=UTC)
                paid, deducted = session.exec(
                    select(
                        func.coalesce(func.sum(PaymentRow.amount), 0),
                        func.coalesce(func.sum(PaymentRow.deductible_applied), 0),
                    ).where(
                        PaymentRow.policy_no == policy.policy_no,
                        PaymentRow.paid_at >= since,
                        PaymentRow.paid_at < until,
                        PaymentRow.claim_id != req.claim_id,
                    )
                ).one()
                usage = Usage(paid_this_year=Decimal(paid), deductible_used=Decimal(deducted))
                window = datetime.combine(
                    req.occurred_on - timedelta(days=365), time.min, tzinfo=UTC
                )
                prior = session.exec(
                    select(func.count())
                    .select_from(ClaimRow)
                    .where(
                        ClaimRow.insured_id_no == policy.insured_id_no,
                        ClaimRow.claim_id != req.claim_id,
                        ClaimRow.reported_at >= window,
                        ClaimRow.stage != ClaimStage.NOT_ACCEPTED.value,
                        ClaimRow.stage != ClaimStage.WITHDRAWN.value,
                    )
                ).one()
        calendar = published_calendar(calendar_since(req.occurred_on))
        return RulesSnapshot(
            version=RULES_VERSION,
            policy=policy,
            common_materials=list(COMMON_MATERIALS),
            checklist=list(CHECKLISTS.get((req.line, req.incident_type), ())),
            held_materials=held_materials(policy, req.claimant_id_no),
            authority_limits=dict(AUTHORITY_LIMITS),
            triage=TriageRules.model_validate(TRIAGE),
            deadlines=DeadlineRules.model_validate(
                {
                    **CN_DEADLINES,
                    "holidays": calendar.holidays,
                    "workdays": calendar.workdays,
                    "calendar_years": calendar.years,
                    "calendar_source": calendar.source,
                }
            ),
            usage=usage,
            prior_claims_12m=int(prior),
            watch_list_hit=watch,
            investigators=investigators,
            previous_stage=earlier.stage
            if earlier is not None and not _same_run(earlier.run_id)
            else None,
            signature_window_minutes=SIGNATURE_WINDOW_MINUTES,
        )

    @activity.defn(name="check_watch_list")
    def check_watch_list(self, values: list[str]) -> bool:
        """Whether any of these identifiers (an id number, a payee's bank account) is on the
        watch list (DOMAIN §5, R07)."""
        wanted = [v for v in values if v]
        if not wanted:
            return False
        with Session(self.engine) as session:
            hit = session.exec(
                select(WatchListRow.id_no).where(col(WatchListRow.id_no).in_(wanted)).limit(1)
            ).first()
        return hit is not None

    @activity.defn(name="get_staff")
    def get_staff(self, staff_id: str) -> StaffInfo | None:
        with Session(self.engine) as session:
            row = session.get(StaffRow, staff_id)
            if row is None:
                return None
            return StaffInfo(
                staff_id=row.staff_id,
                name=row.name,
                level=row.level,
                roles=list(row.roles),
                active=row.active,
            )
