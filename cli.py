"""The `claims` command: back-office staff act on claims through Temporal messages and read
the read model. Errors are one line and exit code 1."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import typer

from commands import (
    audit,
    calendar,
    claim,
    claim_actions,
    codec,
    complaint,
    complaint_actions,
    complaint_report,
    db,
    demo,
    documents,
    events,
    letters,
    notices,
    policy,
    portal,
    report,
    schedule,
    schema,
    staff,
    tasks,
)
from commands.common import FullOpt, ViewerOpt, handle_errors, settings


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
    help="Claims engine: every claim a durable Temporal workflow.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
# A noun's commands may live in several modules: their apps join the noun's sub-app here.
claim.app.add_typer(claim_actions.app)  # investigation, assessment, panel, appeal, withdrawal
claim.app.add_typer(portal.app)  # `claims claim link`
claim.app.add_typer(documents.claim_app)  # `claims claim documents`
complaint.app.add_typer(complaint_actions.app)  # each step of a complaint
report.app.add_typer(complaint_report.app)  # `claims report complaints`
app.add_typer(claim.app, name="claim")
app.add_typer(complaint.app, name="complaint")
app.add_typer(audit.app, name="audit")
app.add_typer(letters.app, name="letter")
app.add_typer(notices.app, name="notice")
app.add_typer(demo.app, name="demo")
app.add_typer(report.app, name="report")
app.add_typer(staff.app, name="staff")
app.add_typer(policy.app, name="policy")
app.add_typer(calendar.app, name="calendar")
app.add_typer(db.app, name="db")
app.add_typer(schedule.app, name="schedule")
app.add_typer(documents.app, name="document")
app.command("tasks")(tasks.tasks)
app.command("events")(events.events)
app.command("schema")(schema.schema)
app.command("codec-server")(codec.codec_server)
app.command("new-key")(codec.new_key)
app.command("portal")(portal.portal)


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
    claim.show(claim_id, as_json, full, viewer)


@app.command("run")
@handle_errors
def run_engine() -> None:
    """Run the engine: the embedded Temporal server (unless TEMPORAL_ADDRESS or a temporal.toml
    profile names one; README "Settings"), the Web UI and a worker; loads the demo data on
    first start. Ctrl-C stops it cleanly.

    Example: claims run
    """
    from engine import run_engine as _run
    from security.masking import mask_logs

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
