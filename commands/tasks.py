"""`claims tasks`: the work queue, soonest due first."""

from __future__ import annotations

from typing import Annotated

import typer

from commands.common import handle_errors
from commands.reading import open_items, print_tasks

__all__ = ["open_items", "tasks"]


def tasks(
    person: Annotated[
        str | None, typer.Option("--for", help="Staff id: only what this person may act on.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")] = False,
) -> None:
    """The work queue: open tasks, soonest due first.

    Example: claims tasks --for sup1
    """
    handle_errors(print_tasks)(person, limit, as_json)
