"""The `claims` command's front door: the commands staff read with most (`claims tasks`, `claim
list`, `claim show`, `letter list`, `staff list`), the staff decisions (`claim approve`,
`reject`, `return`) and `claims --help` start here and run without typer, click, rich, pydantic,
SQLAlchemy or Temporal's SDK, which take several times longer to import than these commands
take to run.

`main` reads the command line against `FAST`, each command's options as its typer command
declares them (tests/test_cli_front.py holds the two together), and runs the same function
its typer command runs (commands/reading.py, commands/deciding.py). Anything else, or anything
it does not fully understand (another option, `--help` of a command, a value that is not a
number, a missing argument), goes to the typer app in cli.py as it is, which prints its help
and its errors as ever; so does a reading command's error. A decision's error is printed here
in the same words: sent once, it is never run a second time. cli.py lists the commands from
here too, so `claims --help` is the same text either way."""

from __future__ import annotations

import io
import os
import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing; type checkers read True
if TYPE_CHECKING:
    from typing import Any

    # A parameter: its name in the command's function, its option strings (none for an
    # argument), its type (str, int, or bool for a flag) and its default (`...`: a required
    # option).
    Param = tuple[str, tuple[str, ...], type, Any]

# name -> (where it is, the first paragraph of its help, as `claims --help` shows it). Commands
# first, then the nouns, in the order `claims --help` lists them (cli.py's own commands, OWN,
# go between).
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "tasks": ("commands.tasks:tasks", "The work queue: open tasks, soonest due first."),
    "events": (
        "commands.events:events",
        "Print state changes as JSON lines, oldest first; resume with --since the last seq.",
    ),
    "schema": (
        "commands.schema:schema",
        "Print the JSON Schema of every workflow input, message payload and result.",
    ),
    "codec-server": (
        "commands.codec:codec_server",
        "Serve Temporal's remote codec protocol (POST /decode, /encode) with the payload keys,\n"
        "for the Web UI and `temporal ... --codec-endpoint`. CLAIMS_CODEC_TOKEN, when set, is\n"
        "required as `Authorization: Bearer <token>`.",
    ),
    "new-key": (
        "commands.codec:new_key",
        "Print a new 256-bit payload key as `kid:base64key`. To rotate, put it first in\n"
        "CLAIMS_PAYLOAD_KEYS (or first in the key file) and keep the old keys after it.",
    ),
    "portal": (
        "commands.portal:portal",
        "Serve the claimant self-service page: report a claim, follow it, upload documents,\n"
        "read letters, appeal, complain. Ctrl-C stops it.",
    ),
}
# cli.py's own commands: name -> the first paragraph of its help.
OWN: dict[str, str] = {
    "show": "Show one claim (same as `claims claim show`).",
    "run": (
        "Run the engine: the embedded Temporal server (unless TEMPORAL_ADDRESS or a temporal.toml\n"
        'profile names one; README "Settings"), the Web UI and a worker; loads the demo data on\n'
        "first start. Ctrl-C stops it cleanly."
    ),
    "worker": (
        "Run a worker alone against TEMPORAL_ADDRESS or a temporal.toml profile, with TLS or an\n"
        "API key as TEMPORAL_TLS_* / TEMPORAL_API_KEY say (registers missing search attributes)."
    ),
}
LAZY_GROUPS: dict[str, tuple[str, str]] = {
    "claim": ("commands.claim:app", "Report claims, look at them and act on them."),
    "complaint": ("commands.complaint:app", "File complaints, look at them and take each step."),
    "audit": (
        "commands.audit:app",
        "Auditors' tools: export, replay and read the history of a claim or complaint.",
    ),
    "letter": ("commands.letters:app", "Read the letters sent on a case."),
    "notice": ("commands.notices:app", "See the notices sent to claimants and complainants."),
    "demo": ("commands.demo:app", "Demo data for trying the engine."),
    "report": ("commands.report:app", "Management measures from the read model."),
    "staff": ("commands.staff:app", "Staff and their signing keys."),
    "policy": ("commands.policy:app", "Policies: terms and status history."),
    "calendar": ("commands.calendar:app", "The public holiday calendar deadlines count with."),
    "db": ("commands.db:app", "The read model's schema: its revision and the upgrade."),
    "schedule": (
        "commands.schedule:app",
        "The engine's schedules: nightly archive export, monthly complaint report.",
    ),
    "document": ("commands.documents:app", "Documents received from claimants."),
}
# A noun's commands may live in several modules: their apps join the noun's sub-app.
JOINS: dict[str, tuple[str, ...]] = {
    # investigation, assessment, panel, appeal, withdrawal; `claims claim link`; documents
    "claim": ("commands.claim_actions:app", "commands.portal:app", "commands.documents:claim_app"),
    "complaint": ("commands.complaint_actions:app",),  # each step of a complaint
    "report": ("commands.complaint_report:app",),  # `claims report complaints`
}

HELP = "Claims engine: every claim a durable Temporal workflow."
# The top level's options (typer's), as `claims --help` lists them.
OPTIONS: dict[str, str] = {
    "--install-completion": "Install completion for the current shell.",
    "--show-completion": (
        "Show completion for the current shell, to copy it or customize the installation."
    ),
    "--help": "Show this message and exit.",
}


def _listed(entries: dict[str, str]) -> list[str]:
    """`  name  text`, the names in a column, a text's further lines under its first."""
    width = max(len(name) for name in entries) + 2
    lines = []
    for name, text in entries.items():
        first, *rest = text.split("\n")
        lines.append(f"  {name.ljust(width)}{first}")
        lines += [" " * (width + 2) + more for more in rest]
    return lines


def top_help() -> str:
    """`claims --help`: the usage, every option and every command with its first paragraph."""
    commands = {
        **{name: text for name, (_, text) in LAZY_COMMANDS.items()},
        **OWN,
        **{name: text for name, (_, text) in LAZY_GROUPS.items()},
    }
    return "\n".join(
        [
            "Usage: claims [OPTIONS] COMMAND [ARGS]...",
            "",
            f"  {HELP}",
            "",
            "Options:",
            *_listed(OPTIONS),
            "",
            "Commands:",
            *_listed(commands),
        ]
    )


JSON: Param = ("as_json", ("--json",), bool, False)
CLAIM_ID: Param = ("claim_id", (), str, None)
AS: Param = ("as_", ("--as",), str, ...)
NOTE: Param = ("note", ("--note",), str, "")
# command -> (the function both paths run, the parameters the front door reads, the names of
# the typer command's other parameters: given any of them, typer runs the command).
FAST: dict[tuple[str, ...], tuple[str, tuple[Param, ...], tuple[str, ...]]] = {
    ("tasks",): (
        "commands.reading:print_tasks",
        (("person", ("--for",), str, None), ("limit", ("--limit",), int, 100), JSON),
        (),
    ),
    ("claim", "list"): (
        "commands.reading:print_claims",
        (
            ("stage", ("--stage",), str, None),
            ("line", ("--line",), str, None),
            ("policy", ("--policy",), str, None),
            ("limit", ("--limit",), int, 50),
            JSON,
        ),
        (),
    ),
    # `--json` prints the contract's model and `--full --as` asks the workflow: through typer
    ("claim", "show"): (
        "commands.reading:show_claim",
        (("claim_id", (), str, None),),
        ("as_json", "full", "viewer"),
    ),
    ("letter", "list"): ("commands.reading:print_letters", (("case_id", (), str, None), JSON), ()),
    ("staff", "list"): ("commands.reading:print_staff", (JSON,), ()),
    # the staff decisions: sent once, so an error is said here, never run again by typer
    ("claim", "approve"): ("commands.deciding:approve", (CLAIM_ID, AS, NOTE, JSON), ()),
    ("claim", "reject"): (
        "commands.deciding:reject",
        (CLAIM_ID, AS, ("clause", ("--clause",), str, ...), NOTE, JSON),
        (),
    ),
    ("claim", "return"): ("commands.deciding:return_", (CLAIM_ID, AS, NOTE, JSON), ()),
}
# Commands that act (they send a message to a case): once started, their errors are printed
# here, as typer's commands print them, instead of running them a second time through typer.
ACTING = frozenset({("claim", "approve"), ("claim", "reject"), ("claim", "return")})


def parse(params: tuple[Param, ...], args: list[str]) -> dict[str, Any] | None:
    """The values `args` give the parameters, as click reads them; None for anything else (an
    unknown option, a missing or extra argument, a value that is not one), for typer to say."""
    options = {opt: p for p in params for opt in p[1]}
    arguments = [p for p in params if not p[1]]
    values = {p[0]: p[3] for p in params}
    free: list[str] = []
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            free += rest
            break
        if not arg.startswith("-") or arg == "-":
            free.append(arg)
            continue
        opt, equals, value = arg.partition("=")
        p = options.get(opt)
        if p is None or (p[2] is bool and equals):
            return None
        if p[2] is bool:
            values[p[0]] = True
            continue
        if not equals:
            value = next(rest, "-")
        if value.startswith("-"):  # missing, or a value click might read as an option
            return None
        if p[2] is int:
            try:
                values[p[0]] = int(value)
            except ValueError:
                return None
        else:
            values[p[0]] = value
    if len(free) != len(arguments) or any(v is ... for v in values.values()):
        return None  # typer names the missing option or argument
    values.update((p[0], arg) for p, arg in zip(arguments, free, strict=True))
    return values


def run_fast(args: list[str]) -> int | None:
    """Run `claims ARGS` here: its exit code, or None when typer is to run it."""
    if not args or args == ["--help"]:
        sys.stdout.write(top_help() + "\n")
        return 0 if args else 2  # no command: the help, as a usage error (typer's no_args_is_help)
    if any(name.startswith("_") and name.endswith("_COMPLETE") for name in os.environ):
        return None  # shell completion is typer's
    key = tuple(args[:1]) if tuple(args[:1]) in FAST else tuple(args[:2])
    if key not in FAST:
        return None
    where, params, _ = FAST[key]
    values = parse(params, args[len(key) :])
    if values is None:
        return None
    module, _, name = where.partition(":")
    __import__(module)  # importlib.import_module's work, without importing importlib
    command = getattr(sys.modules[module], name)
    return _act(command, values) if key in ACTING else _read(command, values)


def _read(command: Any, values: dict[str, Any]) -> int | None:
    """Run a command that reads, printing once it all worked: on any error, None, and typer
    runs the command and says the error in one line."""
    out, real = io.StringIO(), sys.stdout
    sys.stdout = out
    try:
        command(**values)
    except Exception:  # noqa: BLE001 - typer runs it again and prints the error as ever
        return None
    finally:
        sys.stdout = real
    real.write(out.getvalue())
    return 0


def _act(command: Any, values: dict[str, Any]) -> int:
    """Run a command that acts, its errors in the words and exit code of the typer commands
    (commands.common.handle_errors; click's `Aborted!` on Ctrl-C)."""
    from commands.errors import one_line

    try:
        command(**values)
    except KeyboardInterrupt:
        sys.stderr.write("Aborted!\n")
        return 1
    except Exception as exc:  # noqa: BLE001 - the boundary where errors become messages
        sys.stderr.write(f"error: {one_line(exc)}\n")
        return 1
    return 0


def main() -> None:
    """`claims`: the fast front door, else the typer app."""
    code = run_fast(sys.argv[1:])
    if code is None:
        from cli import app

        app()
    sys.stdout.flush()
    if "temporalio.bridge.temporal_sdk_bridge" in sys.modules:
        # A decision that went the SDK's way: the runtime's threads may still hold the GIL
        # at shutdown, which can abort the interpreter as it finalizes (cli.py ends the same)
        sys.stderr.flush()
        os._exit(code or 0)
    sys.exit(code)
