"""Rule lookups: the snapshot a claim runs under, and staff for authority checks."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from pydantic import TypeAdapter
from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, col
from sqlmodel import select as orm_select
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
    table_of,
)
from prepared import Prepared

RULES_VERSION = "CN-2025.1"

# The table keeps statuses, clause kinds and events as text; these take only the values the
# models name (as the models' own validation would), and give mypy the narrower type.
POLICY_STATUS: TypeAdapter[PolicyStatus] = TypeAdapter(PolicyStatus)
POLICY_EVENT: TypeAdapter[PolicyEvent] = TypeAdapter(PolicyEvent)
CLAUSE_KIND: TypeAdapter[ClauseKind] = TypeAdapter(ClauseKind)
# Read with plain statements: the rules are looked up once for every case that starts.
POLICIES = table_of(PolicyRow)
CLAUSES = table_of(ClauseRow)
STATUSES = table_of(PolicyStatusRow)
STAFF = table_of(StaffRow)
WATCH_LIST = table_of(WatchListRow)
CLAIMS = table_of(ClaimRow)
PAYMENTS = table_of(PaymentRow)
_POLICY = Prepared(select(POLICIES).where(POLICIES.c.policy_no == bindparam("policy_no")))
_CLAUSES = Prepared(select(CLAUSES).where(CLAUSES.c.product_code == bindparam("product_code")))
_STATUS_HISTORY = Prepared(
    select(STATUSES.c.event, STATUSES.c.effective_on, STATUSES.c.reason)
    .where(STATUSES.c.policy_no == bindparam("policy_no"))
    .order_by(STATUSES.c.effective_on, STATUSES.c.seq)
)
_EARLIER = Prepared(
    select(CLAIMS.c.stage, CLAIMS.c.run_id).where(CLAIMS.c.claim_id == bindparam("claim_id"))
)
_ACTIVE_STAFF = Prepared(
    select(STAFF.c.staff_id, STAFF.c.roles).where(STAFF.c.active == True)  # noqa: E712
)
_USAGE = Prepared(
    select(
        func.coalesce(func.sum(PAYMENTS.c.amount), 0),
        func.coalesce(func.sum(PAYMENTS.c.deductible_applied), 0),
    ).where(
        PAYMENTS.c.policy_no == bindparam("policy_no"),
        PAYMENTS.c.paid_at >= bindparam("since"),
        PAYMENTS.c.paid_at < bindparam("until"),
        PAYMENTS.c.claim_id != bindparam("claim_id"),
    )
)
_PRIOR_CLAIMS = Prepared(
    select(func.count())
    .select_from(CLAIMS)
    .where(
        CLAIMS.c.insured_id_no == bindparam("insured_id_no"),
        CLAIMS.c.claim_id != bindparam("claim_id"),
        CLAIMS.c.reported_at >= bindparam("since"),
        CLAIMS.c.stage != ClaimStage.NOT_ACCEPTED.value,
        CLAIMS.c.stage != ClaimStage.WITHDRAWN.value,
    )
)
_WATCHED = Prepared(
    select(WATCH_LIST.c.id_no).where(WATCH_LIST.c.id_no == bindparam("id_no")).limit(1)
)


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
            orm_select(PolicyStatusRow)
            .where(PolicyStatusRow.policy_no == policy_no)
            .order_by(col(PolicyStatusRow.effective_on), col(PolicyStatusRow.seq))
        ).all()
    )


def policy_terms(db: Session | Connection, policy_no: str) -> PolicyTerms | None:
    """A policy as a case sees it: its row, its product's clauses and its status history
    (oldest first: effective date, then the order recorded); None when there is no such
    policy."""
    conn = db.connection() if isinstance(db, Session) else db
    row = _POLICY.run(conn, {"policy_no": policy_no}).first()
    if row is None:
        return None
    clauses = _CLAUSES.run(conn, {"product_code": row["product_code"]}).mappings()
    history = _STATUS_HISTORY.run(conn, {"policy_no": policy_no}).mappings()
    terms = dict(row["terms"])
    return PolicyTerms(
        policy_no=row["policy_no"],
        line=row["line"],
        product_code=row["product_code"],
        insured_name=row["insured_name"],
        insured_id_no=row["insured_id_no"],
        start_date=row["start_date"],
        end_date=row["end_date"],
        status=POLICY_STATUS.validate_python(row["status"]),
        clauses=[
            Clause(
                id=c["clause_id"],
                kind=CLAUSE_KIND.validate_python(c["kind"]),
                title_zh=c["title_zh"],
                title_en=c["title_en"],
                text_zh=c["text_zh"],
                text_en=c["text_en"],
                causes=list(c["causes"] or []),
            )
            for c in sorted(clauses, key=lambda c: str(c["clause_id"]))
        ],
        status_history=[
            PolicyStatusChange(
                event=POLICY_EVENT.validate_python(h["event"]),
                effective_on=h["effective_on"],
                reason=h["reason"],
            )
            for h in history
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

    def _policy(self, db: Session | Connection, policy_no: str) -> PolicyTerms | None:
        return policy_terms(db, policy_no)

    @activity.defn(name="load_rules")
    def load_rules(self, req: LoadRulesRequest) -> RulesSnapshot:
        with self.engine.connect() as conn:
            policy = self._policy(conn, req.policy_no)
            usage = Usage()
            prior = 0
            watch = _listed(conn, [req.claimant_id_no])
            payee = _listed(conn, [req.payee_account]) if req.payee_account else None
            earlier = _EARLIER.run(conn, {"claim_id": req.claim_id}).first()
            investigators = sorted(
                staff_id
                for staff_id, roles in _ACTIVE_STAFF.run(conn).rows
                if "investigator" in (roles or [])
            )
            if policy is not None:
                year_start = policy_year_start(policy.start_date, req.occurred_on)
                since = datetime.combine(year_start, time.min, tzinfo=UTC)
                next_year = policy_year_start(policy.start_date, _year_later(year_start))
                until = datetime.combine(next_year, time.min, tzinfo=UTC)
                paid, deducted = _USAGE.run(
                    conn,
                    {
                        "policy_no": policy.policy_no,
                        "since": since,
                        "until": until,
                        "claim_id": req.claim_id,
                    },
                ).rows[0]
                usage = Usage(paid_this_year=Decimal(paid), deductible_used=Decimal(deducted))
                window = datetime.combine(
                    req.occurred_on - timedelta(days=365), time.min, tzinfo=UTC
                )
                prior = _PRIOR_CLAIMS.run(
                    conn,
                    {
                        "insured_id_no": policy.insured_id_no,
                        "claim_id": req.claim_id,
                        "since": window,
                    },
                ).scalar()
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
            payee_watched=payee,
            investigators=investigators,
            previous_stage=earlier["stage"]
            if earlier is not None and not _same_run(earlier["run_id"])
            else None,
            signature_window_minutes=SIGNATURE_WINDOW_MINUTES,
        )

    @activity.defn(name="check_watch_list")
    def check_watch_list(self, values: list[str]) -> bool:
        """Whether any of these identifiers (an id number, a payee's bank account) is on the
        watch list (DOMAIN §5, R07)."""
        with self.engine.connect() as conn:
            return _listed(conn, values)

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


def _listed(conn: Connection, values: list[str]) -> bool:
    """Whether any of these identifiers is on the watch list."""
    return any(_WATCHED.run(conn, {"id_no": v}).rows for v in dict.fromkeys(values) if v)
