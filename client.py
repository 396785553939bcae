"""Client helpers shared by the worker, the CLI and tests: connect with the pydantic data
converter (payloads encrypted when keys are configured), register search attributes, start a
claim idempotently."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

import pydantic
from temporalio.api.common.v1 import Payload, WorkflowExecution
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.failure.v1 import Failure
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributeIndexedValueType,
    SearchAttributeKey,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.contrib.pydantic import PydanticPayloadConverter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverter,
    EncodingPayloadConverter,
    PayloadConverter,
)
from temporalio.envconfig import ClientConnectConfig
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from models import claim
from models.arguments import SeveralArguments
from models.claim import ClaimReport
from models.ids import claim_workflow_id, complaint_workflow_id
from models.validation import one_line, validation_message
from security.codec import EncryptionCodec, key_ring
from settings import Settings, TemporalSettingsError
from workflows import search

if TYPE_CHECKING:  # imported where a complaint is checked: a staff decision does without it
    from models.complaint import ComplaintReport

_CLI_TYPE = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}


class OneLineFailures(DefaultFailureConverter):
    """A refusal reaches whoever is refused as one line and nothing else: a message payload
    that does not validate names the field (`invalid decision: Field required`), not
    pydantic's multi-line report; a business refusal (an `ApplicationError` the engine
    raises), a payload that does not validate or decode carry no stack trace, which would
    show the worker's code and file paths to any client. Other exceptions (a bug) keep
    theirs, for whoever reads the workflow's history."""

    def to_failure(
        self, exception: BaseException, payload_converter: PayloadConverter, failure: Failure
    ) -> None:
        super().to_failure(exception, payload_converter, failure)
        refusal = isinstance(exception, ApplicationError | pydantic.ValidationError)
        if isinstance(exception, pydantic.ValidationError):
            failure.message = validation_message(exception)
        elif _undecodable(exception):
            refusal = True
            failure.message = f"the message does not decode: {exception.__cause__}"
        if not refusal:
            return
        failure.message = one_line(failure.message)
        while True:  # the causes' traces as well
            failure.stack_trace = ""
            if not failure.HasField("cause"):
                break
            failure = failure.cause


def _undecodable(exception: BaseException) -> bool:
    """The SDK's error for a payload the converter could not read."""
    return isinstance(exception, RuntimeError) and str(exception) == "Failed decoding arguments"


class EnginePayloadConverter(PydanticPayloadConverter):
    """The pydantic converter, except for arguments the SDK reads without types because
    there are more of them than the receiving function declares: every engine input is one
    argument, so several are read as one `SeveralArguments`, which the workflow and the
    worker refuse (models/arguments.py), instead of failing the workflow task for ever."""

    # The SDK makes a payload converter for every workflow activation it decodes and every
    # completion it encodes (a data converter per serialization context). Made afresh, each
    # would build the pydantic converters again, with an empty cache of type adapters, so
    # that every payload would build its model's adapter again. They are made once, by the
    # first instance, and shared: they hold nothing but that cache (thread-safe).
    _shared: ClassVar[Mapping[bytes, EncodingPayloadConverter] | None] = None

    def __init__(self) -> None:
        shared = EnginePayloadConverter._shared
        if shared is None:
            super().__init__()
            EnginePayloadConverter._shared = self.converters
        else:
            self.converters = shared

    def from_payloads(
        self, payloads: Sequence[Payload], type_hints: list[type] | None = None
    ) -> list[Any]:
        if type_hints is None and len(payloads) > 1:
            return [SeveralArguments(payloads[0], len(payloads))]
        return super().from_payloads(payloads, type_hints)


# The engine's converter without encryption: pydantic JSON and one-line refusals.
ENGINE_CONVERTER = DataConverter(
    payload_converter_class=EnginePayloadConverter, failure_converter_class=OneLineFailures
)


def with_one_line_failures(client: Client) -> Client:
    """The same client (payloads, codec, interceptors) whose failures read as one line: the
    worker's, since it writes the refusals that callers see."""
    config = client.config()
    converter = config["data_converter"]
    config["data_converter"] = dataclasses.replace(
        converter, failure_converter_class=OneLineFailures
    )
    return Client(**config)


def search_attribute_flags(keys: tuple[SearchAttributeKey[Any], ...] = search.ALL) -> list[str]:
    """`--search-attribute Name=Type` arguments for `temporal server start-dev`."""
    flags: list[str] = []
    for key in keys:
        flags += ["--search-attribute", f"{key.name}={_CLI_TYPE[key.indexed_value_type]}"]
    return flags


def payload_codec(settings: Settings) -> EncryptionCodec | None:
    """The encryption codec of the configured keys; None when no key is configured. With
    CLAIMS_PAYLOAD_ENCRYPTION=off it only decodes (payloads sealed earlier)."""
    ring = key_ring(settings.payload_keys, settings.key_file)
    return EncryptionCodec(ring, encrypts=settings.payload_encryption) if ring else None


def data_converter(settings: Settings) -> DataConverter:
    """The engine's converter: pydantic JSON, encrypted when payload keys are configured,
    several arguments read as one, refusals in one line without a stack trace.

    The worker, the CLI, the audit tools and the benchmark all use this one.
    """
    codec = payload_codec(settings)
    if codec is None:
        return ENGINE_CONVERTER
    return dataclasses.replace(ENGINE_CONVERTER, payload_codec=codec)


def connect_config(settings: Settings, address: str | None = None) -> ClientConnectConfig:
    """`Client.connect` arguments from Temporal's client settings (settings.temporal_profile:
    a temporal.toml profile, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY,
    TEMPORAL_TLS_*), the namespace falling back to CLAIMS_NAMESPACE. The embedded server
    (no address anywhere) is reached as before: plain gRPC on 127.0.0.1, no key."""
    if settings.embedded and not address:
        return ClientConnectConfig(target_host=settings.address, namespace=settings.namespace)
    try:
        config = settings.temporal_profile().to_client_connect_config()
    except OSError as err:  # a TLS file named in the settings cannot be read
        raise TemporalSettingsError(
            f"Temporal TLS settings: cannot read {err.filename}: {err.strerror}"
        ) from None
    config["target_host"] = address or settings.address
    config["namespace"] = settings.namespace
    return config


async def connect(settings: Settings, address: str | None = None) -> Client:
    """The one way the worker, the CLI, the audit tools and the benchmark reach Temporal."""
    return await Client.connect(
        **connect_config(settings, address), data_converter=data_converter(settings)
    )


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Register the engine's search attributes the server lacks; returns the names added.

    The time-skipping test server cannot list search attributes, only add them: there each
    one is added and "already exists" is taken as done.
    """
    wanted = {k.name: IndexedValueType.ValueType(k.indexed_value_type) for k in search.ALL}
    try:
        existing = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
        known = set(existing.custom_attributes) | set(existing.system_attributes)
    except RPCError as err:
        if err.status != RPCStatusCode.UNIMPLEMENTED:
            raise
        known = set()
    added: list[str] = []
    for name, kind in wanted.items():
        if name in known:
            continue
        try:
            await client.operator_service.add_search_attributes(
                AddSearchAttributesRequest(namespace=namespace, search_attributes={name: kind})
            )
            added.append(name)
        except RPCError as err:
            if err.status != RPCStatusCode.ALREADY_EXISTS:
                raise
    return added


class ReportRefused(ValueError):
    """A report that parses but cannot be true (a date in the future); one line."""


def check_report(report: ClaimReport | ComplaintReport) -> None:
    """Refuse, before anything starts, what the workflow would refuse: the report as it will
    be sent, read again with every check (a model built without validation, or read leniently,
    is caught here), then its dates."""
    try:
        type(report).model_validate_json(report.model_dump_json(warnings=False))
    except pydantic.ValidationError as err:
        raise ReportRefused(validation_message(err)) from None
    check_dates(report)


def check_dates(report: ClaimReport | ComplaintReport) -> None:
    """Refuse, before anything starts, a report dated in the future (the sender's clock is
    trusted to a few minutes). The workflow applies the same check with its own clock."""
    now = datetime.now(UTC)
    if isinstance(report, ClaimReport):
        problem = claim.impossible_dates(report, now)
    else:
        from models import complaint

        problem = complaint.impossible_dates(report, now)
    if problem:
        raise ReportRefused(f"invalid report: {problem}")


def new_claim_id() -> str:
    return f"CLM-{datetime.now(UTC):%Y%m%d}-{uuid.uuid4().hex[:6].upper()}"


async def start_claim(
    client: Client, report: ClaimReport, task_queue: str
) -> tuple[WorkflowHandle[Any, Any], bool]:
    """Start the claim's workflow; the same claim id twice is the same claim.

    Returns the handle and whether this call started it. A running claim is returned as it is
    (conflict policy USE_EXISTING); a finished one is never started again (REJECT_DUPLICATE).
    """
    check_report(report)
    if not report.claim_id:
        report = report.model_copy(update={"claim_id": new_claim_id()})
    assert report.claim_id
    return await _start_case(
        client, "ClaimWorkflow", claim_workflow_id(report.claim_id), report, task_queue
    )


async def _start_case(
    client: Client, workflow_type: str, workflow_id: str, report: object, task_queue: str
) -> tuple[WorkflowHandle[Any, Any], bool]:
    handle = client.get_workflow_handle(workflow_id)
    try:
        # The raw call: whether the case exists, without decoding its search attributes.
        await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
            )
        )
        return handle, False
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
    try:
        await client.start_workflow(
            workflow_type,
            report,
            id=workflow_id,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
    except WorkflowAlreadyStartedError:
        return handle, False
    return handle, True


def new_complaint_id() -> str:
    return f"CMP-{datetime.now(UTC):%Y%m%d}-{uuid.uuid4().hex[:6].upper()}"


async def start_complaint(
    client: Client, report: ComplaintReport, task_queue: str
) -> tuple[WorkflowHandle[Any, Any], bool]:
    """Start the complaint's workflow; the same complaint id twice is the same complaint."""
    check_report(report)
    if not report.complaint_id:
        report = report.model_copy(update={"complaint_id": new_complaint_id()})
    assert report.complaint_id
    return await _start_case(
        client, "ComplaintWorkflow", complaint_workflow_id(report.complaint_id), report, task_queue
    )
