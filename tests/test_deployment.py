"""The cluster deployment cannot run on this machine (no Docker engine): check its structure,
its wiring to the settings the code reads, and the worker image's entry point."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from settings import Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.temporal.yml").read_text())
SERVICES = COMPOSE["services"]


def test_the_cluster_has_its_services():
    assert set(SERVICES) >= {
        "postgresql",
        "temporal-schema",
        "temporal",
        "temporal-setup",
        "temporal-ui",
        "worker",
    }


def test_every_image_is_pinned_to_a_version():
    for name, svc in SERVICES.items():
        image = svc.get("image")
        assert image, f"{name} has no image"
        tag = image.rsplit(":", 1)[-1] if ":" in image else ""
        assert re.match(r"^\d+\.\d+(\.\d+)?", tag), f"{name}: {image} is not pinned"


def test_ports_and_health_checks():
    assert "7233:7233" in SERVICES["temporal"]["ports"]
    assert "8080:8080" in SERVICES["temporal-ui"]["ports"]
    for name in ("postgresql", "temporal"):
        assert SERVICES[name]["healthcheck"]["test"], name
    assert SERVICES["temporal"]["depends_on"]["temporal-schema"]["condition"] == (
        "service_completed_successfully"
    )
    assert SERVICES["worker"]["depends_on"]["temporal-setup"]["condition"] == (
        "service_completed_successfully"
    )


def test_the_schema_is_set_up_by_temporals_admin_tools():
    script = " ".join(SERVICES["temporal-schema"]["command"])
    assert SERVICES["temporal-schema"]["image"].startswith("temporalio/admin-tools:")
    for step in ("setup-schema", "update-schema", "temporal_visibility", "--db claims"):
        assert step in script


def test_the_worker_reads_the_settings_the_code_reads():
    env = SERVICES["worker"]["environment"]
    aliases = set()
    for field in Settings.model_fields.values():
        aliases |= set(field.validation_alias.choices)  # type: ignore[union-attr]
    assert set(env) <= aliases
    assert {"TEMPORAL_ADDRESS", "CLAIMS_DATABASE_URL", "CLAIMS_TASK_QUEUE"} <= set(env)
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["CLAIMS_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert "@postgresql:5432/" in env["CLAIMS_DATABASE_URL"]
    assert SERVICES["worker"]["deploy"]["replicas"] >= 2


def test_the_worker_runs_the_real_worker_entry_point():
    assert SERVICES["worker"]["command"] == ["python", "worker.py"]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'CMD ["python", "worker.py"]' in dockerfile
    assert "FROM python:3.11" in dockerfile
    source = (ROOT / "worker.py").read_text()
    assert 'if __name__ == "__main__":' in source and "main()" in source
