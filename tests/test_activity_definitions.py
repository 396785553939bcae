"""Activities are called by method reference, so their definitions are the contract: each
takes one typed argument and returns a typed result, each keeps the name recorded in the
replay histories, and their modules import inside the workflow sandbox."""

from __future__ import annotations

import base64
import inspect
import json
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities import activity_name
from activities.records import RecordActivities
from activities.rules import RulesActivities
from tests.activity_probe import CLASSES, ActivityProbe

HISTORIES = Path(__file__).resolve().parent / "histories"


def definitions() -> Iterator[Callable[..., Any]]:
    for cls in CLASSES:
        for _, fn in inspect.getmembers(cls, inspect.isfunction):
            if activity._Definition.from_callable(fn) is not None:
                yield fn


DEFINED = {activity_name(fn): fn for fn in definitions()}


def recorded_names() -> set[str]:
    """Every activity type in the committed histories, regular and local."""
    names: set[str] = set()
    for path in HISTORIES.rglob("*.json"):
        for event in json.loads(path.read_text(encoding="utf-8"))["events"]:
            scheduled = event.get("activityTaskScheduledEventAttributes")
            if scheduled:
                names.add(scheduled["activityType"]["name"])
            marker = event.get("markerRecordedEventAttributes")
            if marker and marker["markerName"] == "core_local_activity":
                data = marker["details"]["data"]["payloads"][0]["data"]
                names.add(json.loads(base64.b64decode(data))["activity_type"])
    return names


def test_activity_name_reads_the_definition() -> None:
    assert activity_name(RecordActivities.sync_claim) == "sync_claim"
    assert activity_name(RulesActivities.get_staff) == "get_staff"


def test_activity_name_refuses_a_plain_function() -> None:
    with pytest.raises(TypeError):
        activity_name(test_activity_name_reads_the_definition)


def test_every_recorded_activity_is_still_defined_under_its_name() -> None:
    recorded = recorded_names()
    assert recorded, "no activity found in tests/histories"
    assert not recorded - DEFINED.keys(), sorted(recorded - DEFINED.keys())


@pytest.mark.parametrize("name", sorted(DEFINED))
def test_an_activity_takes_one_typed_argument_and_returns_a_typed_result(name: str) -> None:
    fn = DEFINED[name]
    params = list(inspect.signature(fn).parameters)
    assert params[0] == "self" and len(params) == 2, (name, params)
    hints = typing.get_type_hints(fn)
    assert params[1] in hints and "return" in hints, (name, hints)
    assert hints["return"] is not type(None), name


async def test_activity_modules_import_inside_the_workflow_sandbox() -> None:
    # The engine runs its workflows unsandboxed (worker.workflow_runner); anyone who runs
    # them in Temporal's default sandbox still can.
    SandboxedWorkflowRunner().prepare_workflow(workflow._Definition.must_from_class(ActivityProbe))
