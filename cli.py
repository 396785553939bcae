"""The `claims` command: back-office staff act on claims through Temporal messages and read
the read model. Errors are one line and exit code 1.

Each noun's commands, and each command this file does not define, are imported when they run
(`claims tasks` loads the work queue's module, not the worker, the replayer or the charts):
`claims --help` lists them from commands/front.py's LAZY_COMMANDS and LAZY_GROUPS, which
tests/test_cli_imports.py holds to their help. The staff's read commands and `claims --help`
start at that front door (commands/front.py) and come here only for what it leaves to typer."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Iterator, MutableMapping
from functools import cache
from typing import Any

import typer
import typer.main
from typer import _click  # the click that typer carries and builds its commands with
from typer.core import TyperCommand, TyperGroup

from commands.common import FullOpt, ViewerOpt, handle_errors, settings
from commands.front import HELP, JOINS, LAZY_COMMANDS, LAZY_GROUPS, top_help

__all__ = ["JOINS", "LAZY_COMMANDS", "LAZY_GROUPS", "app", "load"]


def _attribute(where: str) -> Any:
    module, _, name = where.partition(":")
    return getattr(importlib.import_module(module), name)


@cache
def _typer_info(name: str, joined: bool = True) -> Any:
    """How `app.command(name)` or `app.add_typer(sub, name=name)` registers it (once a
    process: joining a noun's modules twice would list their commands twice)."""
    holder = typer.Typer()
    if name in LAZY_COMMANDS:
        holder.command(name)(_attribute(LAZY_COMMANDS[name][0]))
        return holder.registered_commands[0]
    sub = _attribute(LAZY_GROUPS[name][0])
    if joined:
        for where in JOINS.get(name, ()):
            sub.add_typer(_attribute(where))
    holder.add_typer(sub, name=name)
    return holder.registered_groups[0]


def _own_command(args: list[str]) -> bool:
    """Whether `claims NOUN COMMAND ...` runs a command of the noun's own module (`claims
    claim list`), so that the modules joined to it need not be imported (the claim's actions
    bring the workflow and the Temporal client)."""
    if len(args) < 2 or args[0] not in JOINS:
        return False
    own = _attribute(LAZY_GROUPS[args[0]][0]).registered_commands
    return args[1] in {c.name or typer.main.get_command_name(c.callback.__name__) for c in own}


def load(name: str, joined: bool = True) -> _click.Command:
    """The command or noun `name`, imported and built as typer builds it; a noun without the
    modules joined to it when not `joined`."""
    if name in LAZY_COMMANDS:
        return typer.main.get_command_from_info(
            _typer_info(name),
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=app.rich_markup_mode,
        )
    return typer.main.get_group_from_info(
        _typer_info(name, joined),
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
        suggest_commands=app.suggest_commands,
    )


class _Commands(MutableMapping[str, _click.Command]):
    """The top level's commands: a lazy one is built when it is looked up (to run it, or by
    whoever walks the whole tree); `peek` gives its name and help without importing it."""

    def __init__(self, own: dict[str, _click.Command]) -> None:
        order = [*LAZY_COMMANDS, *own, *LAZY_GROUPS]
        self._built: dict[str, _click.Command | None] = {n: own.get(n) for n in order}

    def peek(self, name: str) -> _click.Command | None:
        if name not in self._built:
            return None
        built = self._built[name]
        if built is not None:
            return built
        help_text = (LAZY_COMMANDS.get(name) or LAZY_GROUPS[name])[1]
        return TyperCommand(name, help=help_text)

    def peek_built(self, name: str) -> _click.Command | None:
        return self._built[name]

    def __getitem__(self, name: str) -> _click.Command:
        built = self._built[name]
        return built if built is not None else self.build(name)

    def build(self, name: str, joined: bool = True) -> _click.Command:
        built = self._built[name] = load(name, joined)
        return built

    def __setitem__(self, name: str, command: _click.Command) -> None:
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        del self._built[name]

    def __contains__(self, name: object) -> bool:
        return name in self._built

    def __iter__(self) -> Iterator[str]:
        return iter(self._built)

    def __len__(self) -> int:
        return len(self._built)


class _LazyGroup(TyperGroup):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lazy = _Commands(dict(self.commands))
        self.commands = self.lazy

    def list_commands(self, ctx: _click.Context) -> list[str]:
        return list(self.lazy)

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        return self.lazy.peek(cmd_name)

    def format_help(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        # The front door's text (commands/front.py), which `claims --help` prints there.
        formatter.write(top_help())

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        if not args and not ctx.resilient_parsing:  # `claims` alone: the help, exit code 2
            typer.echo(ctx.get_help())
            ctx.exit(2)
        return super().parse_args(ctx, args)

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        if args and args[0] in self.lazy and self.lazy.peek_built(args[0]) is None:
            self.lazy.build(args[0], joined=not _own_command(args))  # it runs: built now
        return super().resolve_command(ctx, args)


class _App(typer.Typer):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # The Temporal client's native runtime can abort the interpreter while it finalizes
        # after a command that used it; the command's work and output are complete by then,
        # so end the process directly with the command's own exit code.
        code: Any = 0
        try:
            super().__call__(*args, **kwargs)
        except SystemExit as exc:
            code = exc.code
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else (0 if code is None else 1))


app = _App(
    help=HELP,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=_LazyGroup,
)


@app.command("show")
def show(
    claim_id: str,
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
    full: FullOpt = False,
    viewer: ViewerOpt = None,
) -> None:
    """Show one claim (same as `claims claim show`).

    Example: claims show CLM-20261123-0001
    """
    from commands import claim

    claim.show(claim_id, as_json, full, viewer)


@app.command("run")
@handle_errors
def run_engine() -> None:
    """Run the engine: the embedded Temporal server (unless TEMPORAL_ADDRESS or a temporal.toml
    profile names one; README "Settings"), the Web UI and a worker; loads the demo data on
    first start. Ctrl-C stops it cleanly.

    Example: claims run
    """
    import logging

    from engine import run_engine as _run
    from security.log_masking import mask_logs

    logging.basicConfig(level=logging.WARNING)
    mask_logs()  # id numbers and phones never reach the log in full
    _run(settings(), announce=typer.echo)


@app.command("worker")
@handle_errors
def run_worker() -> None:
    """Run a worker alone against TEMPORAL_ADDRESS or a temporal.toml profile, with TLS or an
    API key as TEMPORAL_TLS_* / TEMPORAL_API_KEY say (registers missing search attributes).

    Example: TEMPORAL_ADDRESS=temporal:7233 claims worker
    """
    import worker

    worker.main()


if __name__ == "__main__":
    app()
