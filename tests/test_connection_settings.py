"""Where the engine connects, from Temporal's own client settings (temporalio.envconfig): a
temporal.toml profile, TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*;
CLAIMS_NAMESPACE as the fallback; the embedded server when no address is named anywhere. The
mTLS path end to end is tests/test_secured_cluster.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from temporalio.service import TLSConfig
from typer.testing import CliRunner

from cli import app
from client import connect_config
from settings import Settings, TemporalSettingsError, get_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No Temporal setting of the developer's (nor their ~/.config/temporalio/temporal.toml)."""
    for name in [k for k in os.environ if k.startswith("TEMPORAL_")]:
        monkeypatch.delenv(name)
    monkeypatch.delenv("CLAIMS_NAMESPACE", raising=False)
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(empty))
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


PROFILES = """\
[profile.default]
address = "default.example:7233"

[profile.cloud]
address = "claims.a1b2c.tmprl.cloud:7233"
namespace = "claims.a1b2c"
api_key = "k-123"

[profile.mtls]
address = "temporal.insurer.internal:7233"
namespace = "claims-prod"
[profile.mtls.tls]
server_name = "temporal.insurer.internal"
server_ca_cert_path = "{certs}/ca.pem"
client_cert_path = "{certs}/client.pem"
client_key_path = "{certs}/client.key"
"""


def _profiles(monkeypatch, tmp_path, profile: str | None) -> None:
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_text(f"-- {name} --")
    path = tmp_path / "temporal.toml"
    path.write_text(PROFILES.format(certs=tmp_path))
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(path))
    if profile:
        monkeypatch.setenv("TEMPORAL_PROFILE", profile)


def test_nothing_named_is_the_embedded_server_in_plain_text(monkeypatch):
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", "/nowhere/client.pem")  # not used
    s = Settings(temporal_port=7999)
    assert s.embedded and s.address == "127.0.0.1:7999" and s.namespace == "default"
    assert connect_config(s) == {"target_host": "127.0.0.1:7999", "namespace": "default"}


def test_claims_namespace_is_the_fallback_of_temporal_namespace(monkeypatch):
    monkeypatch.setenv("CLAIMS_NAMESPACE", "claims")
    assert Settings().namespace == "claims"
    assert Settings(namespace="explicit").namespace == "explicit"
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "claims-prod")
    assert Settings().namespace == "claims-prod"


def test_environment_variables_name_the_server_key_and_tls(monkeypatch, tmp_path):
    (tmp_path / "ca.pem").write_text("CA")
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.insurer.internal:7233")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "claims-prod")
    monkeypatch.setenv("TEMPORAL_API_KEY", "k-1")
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", str(tmp_path / "ca.pem"))
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_NAME", "frontend")
    s = Settings()
    assert not s.embedded
    config = connect_config(s)
    assert config["target_host"] == "temporal.insurer.internal:7233"
    assert config["namespace"] == "claims-prod"
    assert config["api_key"] == "k-1"
    assert config["tls"] == TLSConfig(server_root_ca_cert=b"CA", domain="frontend")


def test_a_profile_names_the_server_and_the_environment_overrides_it(monkeypatch, tmp_path):
    _profiles(monkeypatch, tmp_path, "mtls")
    monkeypatch.setenv("CLAIMS_NAMESPACE", "ignored-the-profile-names-one")
    s = Settings()
    assert not s.embedded and s.address == "temporal.insurer.internal:7233"
    config = connect_config(s)
    assert config["namespace"] == "claims-prod"
    assert config["tls"] == TLSConfig(
        server_root_ca_cert=b"-- ca.pem --",
        client_cert=b"-- client.pem --",
        client_private_key=b"-- client.key --",
        domain="temporal.insurer.internal",
    )
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:17233")
    assert connect_config(Settings())["target_host"] == "127.0.0.1:17233"

    monkeypatch.setenv("TEMPORAL_PROFILE", "cloud")
    cloud = connect_config(Settings())
    assert cloud["api_key"] == "k-123" and cloud["tls"] is True  # an API key means TLS
    monkeypatch.delenv("TEMPORAL_PROFILE")
    monkeypatch.delenv("TEMPORAL_ADDRESS")
    assert Settings().address == "default.example:7233"  # the `default` profile


def test_unusable_settings_are_one_line_errors(monkeypatch, tmp_path):
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "missing.toml"))
    with pytest.raises(TemporalSettingsError, match="missing.toml: no such file"):
        Settings().embedded  # noqa: B018
    _profiles(monkeypatch, tmp_path, "staging")
    with pytest.raises(TemporalSettingsError, match="Profile 'staging' not found"):
        Settings().address  # noqa: B018
    monkeypatch.setenv("TEMPORAL_PROFILE", "mtls")
    (tmp_path / "client.key").unlink()
    with pytest.raises(TemporalSettingsError, match=r"cannot read .*client\.key"):
        connect_config(Settings())


def test_the_cli_says_what_is_wrong_with_the_settings(monkeypatch, tmp_path):
    _profiles(monkeypatch, tmp_path, "staging")
    result = CliRunner().invoke(app, ["audit", "replay", "CLM-1"])
    assert result.exit_code == 1
    assert result.output.strip() == ("error: Temporal client settings: Profile 'staging' not found")


def test_the_benchmark_workers_reach_the_benchmarks_own_server_in_plain_text(monkeypatch, tmp_path):
    from bench.cases import Target

    _profiles(monkeypatch, tmp_path, "mtls")
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", "/etc/claims/tls/worker.pem")
    env = Target("127.0.0.1:40001", "sqlite://", tmp_path).env("bench-1")
    for name in [k for k in os.environ if k.startswith("TEMPORAL_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert connect_config(Settings()) == {"target_host": "127.0.0.1:40001", "namespace": "default"}


def test_a_worker_with_unusable_settings_says_so_in_one_line(monkeypatch, tmp_path):
    _profiles(monkeypatch, tmp_path, "staging")
    done = subprocess.run(
        [sys.executable, str(ROOT / "worker.py")],
        env={**os.environ, "CLAIMS_DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "error: Temporal client settings: Profile 'staging' not found"
    )
