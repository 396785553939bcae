"""Quick start on a machine that has only Python 3.11:

    python3 dev.py run     install what is missing, then run the engine (claims run)
    python3 dev.py test    install what is missing, then run the whole test suite

Installs into .venv beside this file; reinstalls only when pyproject.toml changes.
Anything after the command is passed on (e.g. `python3 dev.py test -k materials`).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")


def ensure_installed() -> None:
    if sys.version_info[:2] != (3, 11):
        sys.exit(f"this project needs Python 3.11, not {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print("creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:16]
    stamp = VENV / f".installed-{digest}"
    if stamp.exists():
        return
    print("installing the engine and its test tools into .venv ...", flush=True)
    pip = [str(BIN / "python"), "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "install", "--upgrade", "pip"], check=True)
    subprocess.run([*pip, "install", "-e", f"{ROOT}[test]"], check=True, cwd=ROOT)
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.write_text("ok\n")


def main() -> int:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test"}:
        print(__doc__)
        return 2
    command, rest = sys.argv[1], sys.argv[2:]
    ensure_installed()
    if command == "run":
        args = [str(BIN / "claims"), "run", *rest]
    else:
        args = [str(BIN / "python"), "-m", "pytest", *rest]
    os.chdir(ROOT)
    # Ctrl-C reaches the whole foreground group, the engine included, which stops its worker
    # and then its server; this launcher only waits for that to finish.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return subprocess.call(args)


if __name__ == "__main__":
    sys.exit(main())
