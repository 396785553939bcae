"""`claims audit replay --dir` over an archive folder: each folder's manifest.json is checked
before anything is replayed; a file changed, missing, not listed or named outside its folder
fails in one line with exit code 1; a plain folder of histories replays as before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import typer
from typer.testing import CliRunner

import commands.audit
from audit.archive import MANIFEST, archive_report, sha256_of

HISTORIES = Path(__file__).parent / "histories"
runner = CliRunner()
cli = typer.Typer()
cli.add_typer(commands.audit.app, name="audit")


def _archived(tmp_path: Path) -> Path:
    """An archive folder holding two committed histories, as the export writes them."""
    folder = tmp_path / "archive" / "2026-11-29"
    folder.mkdir(parents=True)
    files = []
    for name in ("fast-track.json", "complaint-happy-path.json"):
        shutil.copy(HISTORIES / name, folder / name)
        data = (folder / name).read_bytes()
        files.append(
            {"file": name, "sha256": sha256_of(data), "size": len(data), "workflow_id": name}
        )
    manifest = {"exports": [{"since": None, "until": "2026-11-28T18:00:00Z"}], "files": files}
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def test_the_replay_of_an_archive_checks_the_manifest_first(tmp_path: Path) -> None:
    folder = _archived(tmp_path)
    archive_report(folder.parent, "complaints-2026-10.json", b'{"month": "2026-10"}\n')
    r = runner.invoke(cli, ["audit", "replay", "--dir", str(folder.parent)])
    assert r.exit_code == 0, r.output
    assert r.output.count("replays cleanly") == 2  # the report is checked, not replayed


def test_a_file_changed_after_the_export_fails_the_replay_in_one_line(tmp_path: Path) -> None:
    folder = _archived(tmp_path)
    tampered = folder / "fast-track.json"
    tampered.write_bytes(tampered.read_bytes().rstrip() + b" \n")  # still valid JSON
    r = runner.invoke(cli, ["audit", "replay", "--dir", str(folder.parent)])
    assert r.exit_code == 1, r.output
    failures = [line for line in r.output.splitlines() if "FAILED" in line]
    assert failures == [
        f"{tampered}: FAILED ArchiveMismatch: sha256 differs from manifest.json: "
        "changed since it was archived"
    ]
    assert "complaint-happy-path.json: replays cleanly" in r.output


def test_a_file_missing_from_or_added_to_an_archive_folder_fails(tmp_path: Path) -> None:
    folder = _archived(tmp_path)
    (folder / "complaint-happy-path.json").unlink()
    shutil.copy(HISTORIES / "human-approval.json", folder / "human-approval.json")
    r = runner.invoke(cli, ["audit", "replay", "--dir", str(folder)])
    assert r.exit_code == 1, r.output
    assert "complaint-happy-path.json: FAILED ArchiveMismatch: listed in manifest.json" in r.output
    assert "human-approval.json: FAILED ArchiveMismatch: not listed in manifest.json" in r.output


def test_a_manifest_naming_a_file_elsewhere_fails(tmp_path: Path) -> None:
    folder = _archived(tmp_path)
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    manifest["files"][0]["file"] = "../outside.json"
    (folder / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    r = runner.invoke(cli, ["audit", "replay", "--dir", str(folder)])
    assert r.exit_code == 1, r.output
    assert "outside.json: FAILED ArchiveMismatch: names a file outside its folder" in r.output


def test_a_plain_folder_of_histories_still_replays(tmp_path: Path) -> None:
    for name in ("fast-track.json", "human-approval.json"):
        shutil.copy(HISTORIES / name, tmp_path / name)
    r = runner.invoke(cli, ["audit", "replay", "--dir", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert r.output.count("replays cleanly") == 2
