"""The README cannot drift (sqlite-utils' habit): its examples run against a real engine, and
its reference section is regenerated from the code's own definitions.

What runs, as a new user would run it, in a fresh folder holding the README's `claim.json`
(its `occurred_at` moved to three days ago, as the README tells the reader to do):

- `claims run` on a fresh data folder (`data`, as by default), whose start-up lines are held
  to the quick start's;
- every command of the claim walkthrough ("A claim, step by step"), the complaint walkthrough
  ("A complaint about it") and the integrator examples in "The contract (for other systems)"
  (`temporal ...`, `curl ...`, with `--codec-endpoint` and `POST /decode` where the engine's
  answer is encrypted), in the order written, each exactly as written except for the ports:
  the engine runs on free ones, so that the test never meets an engine on the defaults, and
  the defaults in a command (7233, 8233, 7243, 8234) are swapped for them. `claims` commands
  without shell syntax run in this process (typer's CliRunner, the same code as the `claims`
  script, much faster); everything else runs in bash, whose exported variables carry over from
  one command to the next as in the reader's terminal.

What is compared: each command's output with the README's, line by line, after normalising
what differs from run to run (times and dates, run and update ids, digests, the data folder's
path and "seconds ago") and collapsing the spacing that follows from them in tables. A command
whose README output begins `error:` may exit non-zero; any other must exit 0. A command that
reads (show, tasks, report, query, list) is repeated until its output matches or 30 s pass,
since the engine works asynchronously; one that acts runs once.

Every `claims` command has a row in the CLI table (typer's command tree against the table's
first column), and every environment variable the settings read is in the Settings table. The reference section ("Reference: the codes") lies between two markers; the
test builds it from models/catalog.py, models/roles.py, models/status.py, models/complaint.py,
workflows/search.py and demo/data.py and compares. After changing a code, rewrite it with
`.venv/bin/python -m tests.test_readme`.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import typing
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BEGIN = "<!-- BEGIN codes: generated from the code by `python -m tests.test_readme` -->"
END = "<!-- END codes -->"

# The README shows a reader's paths: the engine started in /home/you/claims.
README_HOME = "/home/you/claims"
DEFAULT_PORTS = {
    "CLAIMS_TEMPORAL_PORT": 7233,
    "CLAIMS_UI_PORT": 8233,
    "CLAIMS_HTTP_PORT": 7243,
    "CLAIMS_CODEC_PORT": 8234,
    "CLAIMS_PORTAL_PORT": 8240,
}
WALKTHROUGHS = ("A claim, step by step", "A complaint about it", "The contract (for other systems)")
READS = re.compile(
    r"^(claims (claim show|show|claim list|tasks|complaint show|complaint list|report|letter)"
    r"|temporal workflow (query|list|count|describe|show)"
    r"|curl [^\n]*/query/)"
)
SHELL_SYNTAX = re.compile(r"[|;&<>$`\\\n]")
RETRY_SECONDS = 30


# ================================================================ reading the README


def sections(text: str) -> dict[str, str]:
    """Each heading's text (without #) and the body up to the next heading."""
    out: dict[str, str] = {}
    name = ""
    body: list[str] = []
    in_fence = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_fence = not in_fence
        if not in_fence and re.match(r"#{1,6} ", line):
            out[name] = "\n".join(body)
            name, body = line.lstrip("#").strip(), []
        else:
            body.append(line)
    out[name] = "\n".join(body)
    return out


def fenced(body: str, lang: str) -> list[str]:
    return [
        m.group(1) for m in re.finditer(rf"^```{lang}\n(.*?)^```", body, re.MULTILINE | re.DOTALL)
    ]


@dataclass
class Example:
    command: str
    output: list[str] = field(default_factory=list)


def _incomplete(command: str) -> bool:
    if command.endswith("\\"):
        return True
    try:
        shlex.split(command)
    except ValueError:  # a quote still open: the command goes on on the next line
        return True
    return False


def examples(block: str) -> list[Example]:
    """The `$ ` commands of a console block (with their continuation lines) and the lines
    each prints."""
    lines = block.splitlines()
    found: list[Example] = []
    i = 0
    while i < len(lines):
        if not lines[i].startswith("$ "):
            i += 1
            continue
        command = lines[i][2:]
        i += 1
        while _incomplete(command) and i < len(lines):
            command += "\n" + lines[i]
            i += 1
        output: list[str] = []
        while i < len(lines) and not lines[i].startswith("$ "):
            output.append(lines[i])
            i += 1
        while output and not output[-1].strip():
            output.pop()
        found.append(Example(command, output))
    return found


def walkthrough(text: str, section: str) -> list[Example]:
    return [e for block in fenced(sections(text)[section], "console") for e in examples(block)]


# ================================================================ comparing output

_BOX_RUNS = re.compile(r"([ ━─═])\1+")
_NORMALISE = [
    (re.compile(r"<data>/letters/\S*"), "<letter file>"),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?"), "<time>"),
    (re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}"), "<time>"),
    (re.compile(r"\d{4}-\d{2}-\d{2}"), "<date>"),
    (re.compile(r"\d{4}-\d{2}\b"), "<month>"),
    (re.compile(r"\d{4}年\d{1,2}月\d{1,2}日"), "<日期>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<sha256>"),
    (re.compile(r"\b[0-9a-f]{12}\b"), "<sha256>"),
    (re.compile(r"\b\d+ (second|minute|hour)s? ago\b"), "<ago>"),
]
# A clock's days left depend on the day the test runs (a last day on a holiday moves on).
_DAYS_LEFT = re.compile(r"(<time> │ <time> │ )\d+\b")


def normalise(lines: list[str], data_dir: str, ports: dict[int, int] | None = None) -> list[str]:
    text = "\n".join(lines).replace(data_dir, "<data>")
    for actual, default in (ports or {}).items():
        text = text.replace(f"127.0.0.1:{actual}", f"127.0.0.1:{default}")
    for pattern, replacement in _NORMALISE:
        text = pattern.sub(replacement, text)
    out = []
    for line in text.splitlines():
        line = _BOX_RUNS.sub(r"\1", line).rstrip()
        out.append(_DAYS_LEFT.sub(r"\1<n>", line))
    while out and not out[-1]:
        out.pop()
    return out


def difference(command: str, expected: list[str], actual: list[str]) -> str:
    import difflib

    diff = "\n".join(difflib.unified_diff(expected, actual, "README", "actual", lineterm=""))
    return f"$ {command}\n{diff}"


# ================================================================ the reference section


def _codes(values: typing.Iterable[str]) -> str:
    return ", ".join(f"`{v}`" for v in values)


def reference() -> str:
    """The README's reference section, from the code's own definitions."""
    import demo
    from models import catalog, complaint, roles, status
    from workflows import search

    out: list[str] = []
    add = out.append
    add("### Lines, incident types and item categories")
    add("")
    add("| line | name | incident types | item categories (`items[].category`) |")
    add("| --- | --- | --- | --- |")
    for line in catalog.LINES:
        zh, en = catalog.LINE_NAMES[line]
        incidents = ", ".join(
            f"`{i}` ({catalog.INCIDENT_NAMES[i][0]}, {catalog.INCIDENT_NAMES[i][1]})"
            for i in catalog.INCIDENT_TYPES[line]
        )
        categories = catalog.ITEM_CATEGORIES[line]
        items = _codes(categories)
        not_covered = [c for c in categories if c in catalog.NON_COVERED_MEDICAL]
        if not_covered:
            items += f"; not covered: {_codes(not_covered)}"
        add(f"| `{line}` | {zh} ({en}) | {incidents} | {items} |")
    add("")
    add("### Materials")
    add("")
    add(
        f"Every claim needs {_codes(catalog.COMMON_MATERIALS)} (what the insurer already holds "
        "is not asked for); each incident type adds its own:"
    )
    add("")
    add("| line / incident type | materials |")
    add("| --- | --- |")
    for (line, incident), kinds in catalog.CHECKLISTS.items():
        add(f"| `{line}` / `{incident}` | {_codes(kinds)} |")
    add("")
    add("| material kind (`materials[].kind`) | 中文 | English |")
    add("| --- | --- | --- |")
    for kind, (zh, en) in catalog.MATERIAL_KINDS.items():
        add(f"| `{kind}` | {zh} | {en} |")
    add("")
    add("### Causes")
    add("")
    add(
        "A claim declares its cause in `details.cause`; an investigator's findings may name an "
        "`excluded_cause`. `*` is every line."
    )
    add("")
    add("| line | covered causes | excluded causes |")
    add("| --- | --- | --- |")
    lines = ["*", *catalog.LINES]
    for line in lines:
        covered_causes = catalog.COVERED_CAUSES.get(line, ())
        excluded = catalog.EXCLUSION_CAUSES.get(line, ())
        add(f"| `{line}` | {_codes(covered_causes) or '-'} | {_codes(excluded) or '-'} |")
    add("")
    add("| excluded cause | 中文 | English |")
    add("| --- | --- | --- |")
    for cause, (zh, en) in catalog.EXCLUSION_NAMES.items():
        add(f"| `{cause}` | {zh} | {en} |")
    add("")
    aliases = ", ".join(f"`{a}` → `{c}`" for a, c in catalog.CAUSE_ALIASES.items())
    add(f"Also read as an excluded cause: {aliases}.")
    add("")
    add("### Channels, complaint categories and resolutions")
    add("")
    add("| field | codes |")
    add("| --- | --- |")
    add(f"| claim `channel` | {_codes(catalog.CLAIM_CHANNELS)} |")
    add(f"| complaint `channel` | {_codes(typing.get_args(complaint.ComplaintChannel))} |")
    categories = ", ".join(
        f"`{c}` ({catalog.COMPLAINT_DEPARTMENTS[c]})" for c in typing.get_args(complaint.Category)
    )
    add(f"| complaint `category` (the department it goes to) | {categories} |")
    add(f"| resolution `kinds` | {_codes(typing.get_args(complaint.ResolutionKind))} |")
    add("")
    add("### Roles")
    add("")
    add("| role | 中文 | English |")
    add("| --- | --- | --- |")
    for role in roles.ROLES:
        zh, en = roles.ROLE_NAMES[role]
        add(f"| `{role}` | {zh} | {en} |")
    add("")
    add("Demo staff (`claims demo load`; levels 1-3 are approval levels, 0 none):")
    add("")
    add("| staff | name | level | roles |")
    add("| --- | --- | --- | --- |")
    for staff_id, name, level, staff_roles in demo.STAFF:
        add(f"| `{staff_id}` | {name} | {level} | {_codes(staff_roles)} |")
    add("")
    add("### Stages")
    add("")
    add("| case | stages, in the order defined | stages it does not leave |")
    add("| --- | --- | --- |")
    claim_end = [s for s in status.ClaimStage if s in status.CLAIM_ENDED]
    complaint_end = [s for s in status.ComplaintStage if s in status.COMPLAINT_ENDED]
    add(f"| claim | {_codes(s.value for s in status.ClaimStage)} | {_codes(claim_end)} |")
    add(
        f"| complaint | {_codes(s.value for s in status.ComplaintStage)} | "
        f"{_codes(complaint_end)} |"
    )
    add("")
    add("### Search attributes")
    add("")
    add("| search attribute | type |")
    add("| --- | --- |")
    for key in search.ALL:
        add(f"| `{key.name}` | {key.indexed_value_type.name.title()} |")
    return "\n".join(out)


def readme_reference(text: str) -> str:
    start = text.index(BEGIN) + len(BEGIN)
    return text[start : text.index(END)].strip("\n")


def write_reference() -> None:
    text = README.read_text(encoding="utf-8")
    start = text.index(BEGIN) + len(BEGIN)
    new = text[:start] + "\n" + reference() + "\n" + text[text.index(END) :]
    README.write_text(new, encoding="utf-8")


def test_the_reference_section_lists_the_codes_as_the_engine_has_them():
    text = README.read_text(encoding="utf-8")
    assert readme_reference(text) == reference(), (
        "the README's reference section differs from the code: "
        "rewrite it with `.venv/bin/python -m tests.test_readme`"
    )


def test_the_flags_the_readme_names_exist_in_the_code():
    root = README.parent
    source = "\n".join(
        p.read_text(encoding="utf-8")
        for d in ("workflows", "models")
        for p in (root / d).glob("*.py")
    )
    named = set(re.findall(r"\b([RXAC]0\d)\b", README.read_text(encoding="utf-8")))
    assert named
    assert {code for code in named if f'"{code}"' not in source} == set()


def test_the_contract_names_every_search_attribute():
    from workflows import search

    row = next(
        line
        for line in sections(README.read_text(encoding="utf-8"))[WALKTHROUGHS[2]].splitlines()
        if line.startswith("| search attributes |")
    )
    assert set(re.findall(r"`(\w+)`", row)) == {key.name for key in search.ALL}


def _command_paths() -> set[str]:
    """Every `claims` command, as typed: `claims claim show`, `claims tasks`, ..."""
    import typer.main

    from cli import app

    paths: set[str] = set()

    def walk(command: typing.Any, path: str) -> None:
        if hasattr(command, "commands"):  # a group (typer's own, not always click's class)
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}")
        else:
            paths.add(path)

    walk(typer.main.get_command(app), "claims")
    return paths


def _documented(section: str) -> set[str]:
    """The commands the CLI table names; `claims policy cancel / lapse ID` names two."""
    found: set[str] = set()
    for row in section.splitlines():
        if not row.startswith("| `claims"):
            continue
        first = row.split(" | ")[0]
        for span in re.findall(r"`(claims [^`]*)`", first):
            words = span.split()
            head: list[str] = []
            for word in words:
                if not re.fullmatch(r"[a-z][a-z-]*", word):
                    break
                head.append(word)
            found.add(" ".join(head))
            alternatives = re.search(r"^claims ([a-z-]+) [a-z-]+((?: / [a-z-]+)+)", span)
            if alternatives:
                for name in alternatives.group(2).split(" / ")[1:]:
                    found.add(f"claims {alternatives.group(1)} {name}")
    return found


def test_every_command_is_in_the_cli_table():
    table = sections(README.read_text(encoding="utf-8"))["The CLI"]
    missing = _command_paths() - _documented(table)
    assert missing == set(), f"commands missing from the README's CLI table: {sorted(missing)}"


def test_every_setting_is_in_the_settings_table():
    """Each environment variable `Settings` reads has a row (or a place in one) in "Settings"."""
    from pydantic import AliasChoices

    from settings import Settings

    names: set[str] = set()
    for field_info in Settings.model_fields.values():
        alias = field_info.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        names |= {c for c in choices if isinstance(c, str) and c.isupper()}
    table = sections(README.read_text(encoding="utf-8"))["Settings"]
    assert names
    assert {n for n in names if f"`{n}`" not in table} == set()


# ================================================================ running the examples


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Reader:
    """A reader's two terminals: `claims run` in one, the README's commands in the other."""

    def __init__(self, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        from tests.test_end_to_end import Engine

        self.home = home
        self.monkeypatch = monkeypatch
        monkeypatch.chdir(home)
        self.engine = Engine(home / "data")
        self.engine.env["CLAIMS_DATA_DIR"] = "data"  # relative, as by default
        for name in DEFAULT_PORTS:  # those Engine leaves at their defaults too
            self.engine.env.setdefault(name, str(_free_port()))
        for name in ("CLAIMS_STAFF_SECRET", "CLAIMS_STAFF_KEY", "CLAIMS_TASK_QUEUE"):
            self.engine.env.pop(name, None)
        self.env_file = home / ".reader-env"

    def start(self) -> None:
        self.engine.start()
        env = self.engine.env
        self.ports = {int(env[name]): default for name, default in DEFAULT_PORTS.items()}
        self.address = f"127.0.0.1:{env['CLAIMS_TEMPORAL_PORT']}"
        for name in ("CLAIMS_PAYLOAD_KEYS", "TEMPORAL_ADDRESS", "CLAIMS_DATABASE_URL"):
            self.monkeypatch.delenv(name, raising=False)
        for name in ("CLAIMS_STAFF_SECRET", "CLAIMS_STAFF_KEY", "CLAIMS_TASK_QUEUE"):
            self.monkeypatch.delenv(name, raising=False)
        self.monkeypatch.setenv("CLAIMS_DATA_DIR", "data")
        for name in DEFAULT_PORTS:
            self.monkeypatch.setenv(name, env[name])
        from settings import get_settings

        get_settings.cache_clear()
        shell_env = {**env, "TEMPORAL_ADDRESS": self.address}
        shell_env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        self.env_file.write_text(
            "".join(f"export {k}={shlex.quote(v)}\n" for k, v in shell_env.items()
                    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", k)),
            encoding="utf-8",
        )  # fmt: skip

    def stop(self) -> None:
        from settings import get_settings

        get_settings.cache_clear()
        if self.engine.proc and self.engine.proc.poll() is None:
            self.engine.stop()

    def with_ports(self, command: str) -> str:
        for actual, default in self.ports.items():
            command = command.replace(f"127.0.0.1:{default}", f"127.0.0.1:{actual}")
        return command

    def run(self, command: str) -> tuple[int, list[str]]:
        command = recent_incident(self.with_ports(command))
        if command.startswith("claims ") and not SHELL_SYNTAX.search(command):
            from typer.testing import CliRunner

            from cli import app

            result = CliRunner().invoke(app, shlex.split(command)[1:])
            if result.exception and not isinstance(result.exception, SystemExit):
                raise result.exception
            return result.exit_code, result.output.splitlines()
        script = (
            f". {shlex.quote(str(self.env_file))}\n{command}\n__rc=$?\n"
            f"export -p > {shlex.quote(str(self.env_file))}\nexit $__rc\n"
        )
        r = subprocess.run(
            ["bash", "-c", script],
            cwd=self.home,
            env={"PATH": os.environ.get("PATH", ""), "HOME": str(self.home)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=60,
        )
        return r.returncode, r.stdout.splitlines()

    def record(self, path: Path, command: str, out: list[str]) -> None:
        """README_RECORD=FILE: each command with what it printed, as the README shows it (the
        reader's folder and the default ports), to copy into the README after a change."""
        text = "\n".join(out).replace(str(self.home), README_HOME)
        for actual, default in self.ports.items():
            text = text.replace(f"127.0.0.1:{actual}", f"127.0.0.1:{default}")
        with path.open("a", encoding="utf-8") as f:
            f.write(f"$ {command}\n" + (f"{text}\n" if text else ""))

    def check(self, example: Example) -> str | None:
        """Run one example; None when its output is as the README shows, else the diff."""
        expected = normalise(example.output, README_HOME + "/data")
        may_fail = bool(example.output) and example.output[0].startswith("error:")
        record = os.environ.get("README_RECORD")
        wait = RETRY_SECONDS if not record else 6
        deadline = time.monotonic() + (wait if READS.match(example.command) else 0)
        while True:
            code, out = self.run(example.command)
            actual = normalise(out, str(self.home / "data"), self.ports)
            matched = actual == expected and (code == 0 or may_fail)
            if record and (matched or time.monotonic() >= deadline):
                self.record(Path(record), example.command, out)
            if matched:
                return None
            if time.monotonic() >= deadline:
                note = "" if code == 0 or may_fail else f"(exit code {code})\n"
                return note + difference(example.command, expected, actual)
            time.sleep(0.5)


OCCURRED_AT = re.compile(r'"occurred_at": "\d{4}-\d{2}-\d{2}T[0-9:]+\+08:00"')


def three_days_ago() -> str:
    from tests.factories import CST

    return (datetime.now(CST) - timedelta(days=3)).replace(microsecond=0).isoformat()


def recent_incident(command: str) -> str:
    """An incident written into a command (the HTTP API example) moved to three days ago, as
    the README asks of claim.json: the examples then run the same on any later day (a fixed
    day would be reported late, and in two years time-barred)."""
    return OCCURRED_AT.sub(f'"occurred_at": "{three_days_ago()}"', command)


def _reader_claim_json(text: str, home: Path) -> None:
    """`claim.json` as the README gives it, with the incident three days ago, as it asks."""
    body = sections(text)[WALKTHROUGHS[0]]
    source = re.search(r"`claim\.json`:\n\n```json\n(.*?)^```", body, re.MULTILINE | re.DOTALL)
    assert source, "the claim walkthrough shows claim.json"
    report = json.loads(source.group(1))
    report["occurred_at"] = three_days_ago()
    (home / "claim.json").write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")


def _banner(text: str) -> list[str]:
    """The engine's start-up lines in the quick start (dev.py's own lines and Ctrl-C left
    out)."""
    block = next(b for b in fenced(sections(text)["Quick start"], "console") if "dev.py run" in b)
    lines = block.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("keys"))
    last = next(i for i, line in enumerate(lines) if line.startswith("ready"))
    return lines[first : last + 1]


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("bash", "curl", "jq", "openssl", "sed")),
    reason="the README's examples use bash, curl, jq, openssl and sed",
)
def test_the_readme_examples_run_as_written(tmp_path, monkeypatch):
    text = README.read_text(encoding="utf-8")
    home = tmp_path / "claims"
    home.mkdir()
    _reader_claim_json(text, home)
    reader = Reader(home, monkeypatch)
    problems: list[str] = []
    try:
        reader.start()
        banner = [line.rstrip("\n") for line in reader.engine.output]
        expected = normalise(_banner(text), README_HOME + "/data")
        actual = normalise(banner, str(home / "data"), reader.ports)
        if actual != expected:
            problems.append(difference("claims run", expected, actual))
        ran = 0
        for section in WALKTHROUGHS:
            for example in walkthrough(text, section):
                ran += 1
                problem = reader.check(example)
                if problem:
                    problems.append(f"[{section}]\n{problem}")
        assert ran >= 25, f"only {ran} examples found: has the README's layout changed?"
    finally:
        reader.stop()
    assert not problems, "the README's examples drifted:\n\n" + "\n\n".join(problems)


if __name__ == "__main__":
    write_reference()
