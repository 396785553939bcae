"""The front door (commands/front.py) and the typer app are one CLI: the front door reads each
fast command's options exactly as its typer command declares them, prints what typer prints for
the same command line against the same read model, lists the same commands in `claims --help`,
and leaves to typer whatever it does not fully understand."""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterator
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import typer.main
from typer import _click
from typer._click import types
from typer.testing import CliRunner

import cli
from commands import front

runner = CliRunner()
PG_URL = os.environ.get("CLAIMS_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
AT = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def typer_command(key: tuple[str, ...]) -> _click.Command:
    if len(key) == 1:
        return cli.load(key[0])
    group = cli.load(key[0], joined=False)
    return group.commands[key[1]]  # type: ignore[attr-defined]


TYPES = {str: types.StringParamType, int: types.IntParamType, bool: types.BoolParamType}


@pytest.mark.parametrize("key", list(front.FAST), ids=" ".join)
def test_the_front_door_reads_each_option_as_its_typer_command_declares_it(key):
    _, params, handed_over = front.FAST[key]
    declared = {p.name: p for p in typer_command(key).params}
    assert {p[0] for p in params} | set(handed_over) == set(declared)
    assert not {p[0] for p in params} & set(handed_over)
    for name, opts, kind, default in params:
        param = declared[name]
        assert param.multiple is False and param.nargs == 1 and param.envvar is None
        if not opts:
            assert param.param_type_name == "argument" and param.required
            assert param.type is types.STRING
            continue
        assert param.param_type_name == "option"
        assert (tuple(param.opts), tuple(param.secondary_opts)) == (opts, ())
        if default is ...:  # a required option
            assert param.required
        else:
            assert not param.required and param.default == default
        assert type(param.type) is TYPES[kind]
        assert param.is_flag is (kind is bool)  # type: ignore[attr-defined]


def _richer_claim(engine) -> None:
    """CLM-DEMO-0002 with every part `claim show` prints."""
    from activities.records import RecordActivities
    from models.records import ClaimSync
    from models.status import ClaimStatus

    hour = timedelta(hours=1)
    status = ClaimStatus.model_validate(
        {
            "claim_id": "CLM-DEMO-0002",
            "stage": "PAID",
            "line": "auto",
            "incident_type": "collision",
            "policy_no": "P-AUTO-0001",
            "claimant_name": "李四",
            "claimant_id_no": "110101199001011234",
            "claimant_phone": "13800000001",
            "channel": "phone",
            "reported_at": AT,
            "amount_claimed": "12000.00",
            "reserve": "11000",
            "payable_amount": "9800.50",
            "straight_through": True,
            "missing_materials": ["invoices"],
            "flags": [{"code": "R1", "effect": "flag", "reason": "早期出险 [soon]"}],
            "exclusions": [{"code": "DRUNK", "clause": "AUTO-3.1", "source": "findings"}],
            "not_accepted_reason": "none [really]",
            "denial_clause": "AUTO-3.1",
            "denial_reason": "酒驾",
            "breaches": ["settle_30d"],
            "deadlines": [
                {
                    "name": "settle_30d",
                    "started_at": AT,
                    "due_at": AT + 720 * hour,
                    "days_left": -2,
                    "status": "overdue",
                    "days": 30,
                    "paused_days": 3,
                    "pauses": [{"reason": "materials"}],
                    "extensions": [{"days": 60, "reason": "鉴定"}],
                    "fired": ["L2", "L3"],
                }
            ],
            "investigations": [
                {
                    "key": "i1",
                    "kind": "site_survey",
                    "investigator": "inv1",
                    "due_at": AT + 48 * hour,
                    "done": True,
                    "facts": "现场勘查",
                    "recommendation": "reduce",
                    "amount": "9000",
                    "fraud_suspected": True,
                    "conclusive": False,
                }
            ],
            "investigation_summary": "done",
            "assessment": {
                "figures": {"assessor": "ast1", "at": AT, "repair_cost": "8000.00"},
                "comparisons": [
                    {
                        "figure": "repair_cost",
                        "declared": "12000",
                        "assessed": "8000",
                        "flagged": True,
                    }
                ],
            },
            "panel": {
                "grounds": ["amount"],
                "convened_by": "mgr1",
                "members": ["sup1", "sup2", "mgr1"],
                "votes": [
                    {
                        "member": "sup1",
                        "vote": "amend",
                        "reason": "ok",
                        "at": AT,
                        "amount": "9800.5",
                    },
                    {"member": "sup2", "vote": "reject", "reason": "no", "at": AT, "clause": "X"},
                ],
                "dissent": ["sup2"],
                "outcome": "amend",
                "amount": "9800.50",
            },
            "open_tasks": [{"key": "t", "kind": "follow_up", "role": "L1", "due_at": AT}],
            "adjustment": {
                "lines": [{"label_zh": "赔付", "label_en": "payable", "amount": "9800.5"}],
                "payable": "9800.50",
                "adjuster": "adj1",
            },
            "approvals": [
                {"level": 0, "approver": "system", "decision": "approve", "at": AT},
                {"level": 2, "approver": "sup1", "decision": "reject", "at": AT, "clause": "C"},
            ],
            "refused_decisions": [
                {"approver": "adj1", "decision": "approve", "at": AT, "reason": "L1", "via": "cli"}
            ],
            "payments": [{"seq": 1, "amount": "9800.50", "reference": "PAY-1", "paid_at": AT}],
            "special_care": True,
            "advisor": "adv1",
            "follow_up": {"by": "adj1", "at": AT, "reached": True, "satisfied": False},
            "history": [{"stage": "REPORTED", "at": AT}, {"stage": "PAID", "at": AT + hour}],
        }
    )
    RecordActivities(engine).sync_claim(ClaimSync(status=status, open_items=[]))


def _letters(engine) -> None:
    from sqlmodel import Session

    from models.tables import LetterRow

    with Session(engine) as s:
        for n, kind in enumerate(("acknowledgement", "decision")):
            s.add(
                LetterRow(
                    letter_id=f"CLM-DEMO-0001-{kind}-1",
                    case_id="CLM-DEMO-0001",
                    kind=kind,
                    language="zh-CN",
                    channel="post" if n else "sms",
                    recipient="张三 <13800000000>",
                    sent_at=AT + timedelta(minutes=n),
                    sha256="ab" * 32,
                    path=f"/letters/CLM-DEMO-0001/{kind}.txt",
                    body="您好",
                )
            )
        s.commit()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def read_model_url(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    """The demo's read model with CLM-DEMO-0001 projected (as bench/startup.py makes it), a
    second claim showing every part and two letters, on SQLite and on PostgreSQL."""
    import database
    import demo
    from bench import readmodel, startup

    if request.param == "postgresql":
        place: Any = readmodel.scratch_postgres(PG_URL)
    else:
        place = nullcontext(f"sqlite:///{(tmp_path_factory.mktemp('front') / 'claims.db')}")
    with place as url:
        engine = database.make_engine(url)
        demo.load(engine)
        startup._project_a_claim(engine)
        _richer_claim(engine)
        _letters(engine)
        engine.dispose()
        try:
            yield url
        finally:
            database.engine_for(url).dispose()


@pytest.fixture
def read_model(read_model_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CLAIMS_DATABASE_URL", read_model_url)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    return read_model_url


SAME = [
    ["tasks"],
    ["tasks", "--for", "sup1"],
    ["tasks", "--for=sup1", "--json"],
    ["tasks", "--limit", "1", "--json"],
    ["claim", "list"],
    ["claim", "list", "--json"],
    ["claim", "list", "--stage", "pending_approval", "--limit=5"],
    ["claim", "list", "--line", "auto", "--policy", "P-AUTO-0001"],
    ["claim", "show", "CLM-DEMO-0001"],
    ["claim", "show", "CLM-DEMO-0002"],
    ["letter", "list", "CLM-DEMO-0001"],
    ["letter", "list", "--json", "CLM-DEMO-0001"],
    ["staff", "list"],
    ["staff", "list", "--json"],
    ["--help"],
    [],
]


@pytest.mark.parametrize("args", SAME, ids=" ".join)
def test_the_front_door_prints_what_typer_prints(read_model, capsys, args):
    code = front.run_fast(args)
    fast = capsys.readouterr()
    assert code is not None, "the front door should run this itself"
    result = runner.invoke(cli.app, args)
    assert (fast.out, code) == (result.stdout, result.exit_code)


def test_a_claim_shows_every_part_from_the_read_model(read_model, capsys):
    assert front.run_fast(["claim", "show", "CLM-DEMO-0002"]) == 0
    out = capsys.readouterr().out
    assert "id 110101********1234  phone 138****0001" in out
    assert "claimed 12,000.00  payable 9,800.50  reserve 11,000.00  [fast track]" in out
    assert "risk flags: R1 早期出险 [soon]" in out
    assert "│ settle_30d │ 30   │" in out and "materials; extended to 60: 鉴定" in out
    assert "reduce 9,000.00 (fraud suspected) (inconclusive)" in out
    assert "assessment by ast1 (2026-11-23 10:00): repair_cost 8000.00" in out
    assert "  sup2: reject under X - no (dissent)" in out
    assert "│ payable │ 9,800.50 │" in out
    assert "follow-up: reached, not satisfied (adj1, 2026-11-23 10:00)" in out


def test_the_letters_are_listed_with_the_recipient_masked(read_model, capsys):
    assert front.run_fast(["letter", "list", "CLM-DEMO-0001"]) == 0
    rows = [line.split("│")[1:-1] for line in capsys.readouterr().out.splitlines()[3:-1]]
    assert [[cell.strip() for cell in row[:4]] for row in rows] == [
        ["CLM-DEMO-0001-acknowledgement-1", "acknowledgement", "zh-CN", "sms"],
        ["CLM-DEMO-0001-decision-1", "decision", "zh-CN", "post"],
    ]
    assert front.run_fast(["letter", "list", "CLM-DEMO-0001", "--json"]) == 0
    assert '"recipient": "张三 <138****0000>"' in capsys.readouterr().out


@pytest.mark.parametrize(
    "args",
    [
        ["tasks", "--help"],
        ["tasks", "--limit", "x"],
        ["tasks", "--limit"],
        ["tasks", "--for", "--json"],
        ["tasks", "--bogus"],
        ["tasks", "--json=1"],
        ["tasks", "extra"],
        ["claim", "show"],
        ["claim", "show", "CLM-DEMO-0001", "CLM-DEMO-0002"],
        ["claim", "show", "CLM-DEMO-0001", "--json"],
        ["claim", "show", "CLM-DEMO-0001", "--full", "--as", "sup1"],
        ["claim", "show", "CLM-NOT-THERE"],  # not in the read model: typer asks Temporal
        ["claim", "adjust", "CLM-DEMO-0001", "--as", "sup1"],
        ["claim", "approve", "CLM-DEMO-0001"],  # no --as: typer names the missing option
        ["claim", "reject", "CLM-DEMO-0001", "--as", "sup1"],  # no --clause
        ["claim", "approve", "CLM-DEMO-0001", "--as", "sup1", "--help"],
        ["claim"],
        ["--help", "tasks"],
        ["staff", "set-key", "adj1"],
        ["report", "claims"],
        ["tasks", "--for", "nobody"],  # an error: typer says it in one line
    ],
    ids=" ".join,
)
def test_what_the_front_door_does_not_understand_goes_to_typer(read_model, capsys, args):
    assert front.run_fast(args) is None
    assert capsys.readouterr().out == ""


def test_the_help_lists_every_option_and_command_of_the_typer_app():
    group = typer.main.get_command(cli.app)
    ctx = _click.Context(group, info_name="claims")
    options = {p.opts[0]: p.help for p in group.get_params(ctx) if p.param_type_name == "option"}
    assert options == front.OPTIONS
    listed = [*front.LAZY_COMMANDS, *front.OWN, *front.LAZY_GROUPS]
    assert group.list_commands(ctx) == listed
    for name, text in front.OWN.items():
        own = group.commands[name]  # type: ignore[attr-defined]
        assert inspect.cleandoc(own.help or "").split("\n\n")[0] == text
    assert group.help == front.HELP


def test_claims_alone_prints_the_help_as_a_usage_error_either_way(capsys):
    assert front.run_fast([]) == 2
    result = runner.invoke(cli.app, [])
    assert result.exit_code == 2 and result.stdout == front.top_help() + "\n"
    assert capsys.readouterr().out == result.stdout
