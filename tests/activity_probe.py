"""A workflow that imports every activities module the way workflow code does (passed through
the sandbox) and names one activity by reference: tests/test_activity_definitions.py checks
that the sandbox validates it."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities import activity_name
    from activities.complaints import ComplaintActivities
    from activities.deliveries import DeliveryActivities
    from activities.letters import LetterActivities
    from activities.notices import NoticeActivities
    from activities.payments import PaymentActivities
    from activities.records import RecordActivities
    from activities.rules import RulesActivities
    from activities.signatures import SignatureActivities

CLASSES = (
    ComplaintActivities,
    DeliveryActivities,
    LetterActivities,
    NoticeActivities,
    PaymentActivities,
    RecordActivities,
    RulesActivities,
    SignatureActivities,
)


@workflow.defn
class ActivityProbe:
    @workflow.run
    async def run(self) -> str:
        return activity_name(RecordActivities.sync_claim)
