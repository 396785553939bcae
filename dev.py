"""Quick start on a machine that has only Python 3.11:

    python3 dev.py run     install what is missing, then run the engine (claims run)
    python3 dev.py test    install what is missing, then run the whole test suite

Installs into .venv beside this file; reinstalls only when pyproject.toml changes.
Anything after the command is passed on (e.g. `python3 dev.py test -k materials`).

Ctrl-C, SIGTERM and SIGHUP sent to this launcher are passed on to the engine (or pytest),
which stops its worker and then its server; the launcher exits when it has, with its code.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import venv
from collections.abc import Sequence
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
    # compat: the checkout on sys.path by a .pth file, not an import hook that every process
    # (each staff command) would load and ask first
    editable = ["--config-settings", "editable_mode=compat"]
    subprocess.run([*pip, "install", *editable, "-e", f"{ROOT}[test]"], check=True, cwd=ROOT)
    for old in VENV.glob(".installed-*"):
        old.unlink()
    stamp.write_text("ok\n")


# Stop signals (SIGHUP only where there is one).
FORWARDED = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


def supervise(args: Sequence[str], own_group: bool = True) -> int:
    """Run `args` as a child, pass every stop signal this process gets on to it, wait until
    it has stopped and return its exit code (128 + the signal's number if one ended it).

    With `own_group` the child has a process group of its own, so each signal reaches it
    exactly once, through this launcher: Ctrl-C at a terminal reaches only the launcher's
    group, a service manager's SIGTERM or a closed terminal's SIGHUP only the launcher.
    Without it (pytest, which may read the terminal) the child shares the terminal's group and
    gets Ctrl-C from the terminal itself; the launcher passes on SIGTERM and SIGHUP."""
    started: list[subprocess.Popen[bytes]] = []
    early: list[int] = []
    own_group = own_group and os.name != "nt"
    forwarded = FORWARDED if own_group else tuple(s for s in FORWARDED if s != signal.SIGINT)

    def forward(signum: int, _frame: object) -> None:
        if not started:
            early.append(signum)  # before the child exists: sent once it does
            return
        child = started[0]
        try:
            if own_group:
                os.killpg(child.pid, signum)
            else:
                child.send_signal(signum)
        except ProcessLookupError:
            pass

    previous = {sig: signal.signal(sig, forward) for sig in forwarded}
    if not own_group:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        started.append(subprocess.Popen(list(args), process_group=0 if own_group else None))
        for signum in early:
            forward(signum, None)
        code = started[0].wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 128 - code if code < 0 else code


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
    return supervise(args, own_group=command == "run")


if __name__ == "__main__":
    sys.exit(main())
