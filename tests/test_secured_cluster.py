"""The engine against a secured cluster: nginx (Debian's package) terminates mutual TLS in front
of the dev server and passes gRPC on (`grpc_pass`), as a load balancer in front of a Temporal
frontend does. The worker process reaches it with TEMPORAL_TLS_* variables, the test's client
and the CLI with a temporal.toml profile; a claim is paid through it; a client without a
certificate, or with one from another authority, is refused."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from temporalio.client import Client
from temporalio.service import TLSConfig
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

import demo
from cli import app
from client import connect, start_claim
from database import make_engine
from settings import Settings, get_settings
from tests.claimtools import payments, wait_stage
from tests.conftest import CONVERTER, TEMPORAL_BIN
from tests.factories import medical_report

ROOT = Path(__file__).resolve().parent.parent
NGINX = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")

pytestmark = pytest.mark.skipif(
    NGINX is None, reason="nginx is not installed (.ci/run installs it: apt-get install nginx)"
)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _issue(
    cn: str,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    usage: x509.ObjectIdentifier | None = None,
    san: list[x509.GeneralName] | None = None,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """A certificate: a CA's own (issuer None) or a leaf the issuer signs for `usage`."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(issuer_cert.subject if issuer_cert else _name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        )
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            True,
        )
    else:
        builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
        assert usage is not None
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), False)
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), False)
    return builder.sign(issuer_key, hashes.SHA256()), key


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def make_certificates(folder: Path) -> None:
    """ca.pem; server.pem/.key for 127.0.0.1 and localhost; client.pem/.key from that CA;
    stranger.pem/.key, a client certificate from another CA."""
    folder.mkdir(parents=True)
    ca = _issue("claims test CA", None)
    _write(folder / "ca", *ca)
    san = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    _write(
        folder / "server", *_issue("localhost", ca, usage=ExtendedKeyUsageOID.SERVER_AUTH, san=san)
    )
    client_san = [x509.DNSName("claims-worker")]
    _write(
        folder / "client",
        *_issue("claims-worker", ca, usage=ExtendedKeyUsageOID.CLIENT_AUTH, san=client_san),
    )
    other_ca = _issue("another CA", None)
    _write(
        folder / "stranger",
        *_issue("stranger", other_ca, usage=ExtendedKeyUsageOID.CLIENT_AUTH, san=client_san),
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


NGINX_CONF = """\
{user}worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl http2;
        ssl_certificate {certs}/server.pem;
        ssl_certificate_key {certs}/server.key;
        ssl_client_certificate {certs}/ca.pem;
        ssl_verify_client on;
        client_max_body_size 0;
        # a worker's long polls last up to 70 s
        grpc_read_timeout 300s;
        grpc_send_timeout 300s;
        location / {{
            {location}
        }}
    }}
}}
"""


def start_nginx(
    prefix: Path, certs: Path, upstream: int, location: str | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """nginx with its own prefix and configuration, in the foreground, on a free port; it
    passes gRPC on to `upstream`, or does what `location` says."""
    assert NGINX is not None
    location = location or f"grpc_pass grpc://127.0.0.1:{upstream};"
    prefix.mkdir(parents=True)
    port = free_port()
    conf = prefix / "nginx.conf"
    user = "user root;\n" if os.geteuid() == 0 else ""  # its workers read the test's folders
    conf.write_text(
        NGINX_CONF.format(user=user, prefix=prefix, port=port, certs=certs, location=location)
    )
    cmd = [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    proc = subprocess.Popen([*cmd, "-g", "daemon off;"], stderr=subprocess.PIPE)
    for _ in range(100):
        if proc.poll() is not None:
            raise RuntimeError(
                f"nginx exited: {proc.stderr.read().decode() if proc.stderr else ''}"
            )
        if _port_open(port):
            return proc, port
        time.sleep(0.1)
    stop(proc)
    raise RuntimeError("nginx did not open its port within 10 s")


def stop(proc: subprocess.Popen) -> None:  # type: ignore[type-arg]
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def profiles(port: int, certs: Path) -> str:
    """temporal.toml: `secured` with the client certificate, `nocert` with the CA only."""
    text = ""
    for name, with_cert in (("secured", True), ("nocert", False)):
        text += f'[profile.{name}]\naddress = "127.0.0.1:{port}"\nnamespace = "default"\n'
        text += f'[profile.{name}.tls]\nserver_name = "localhost"\n'
        text += f'server_ca_cert_path = "{certs}/ca.pem"\n'
        if with_cert:
            text += f'client_cert_path = "{certs}/client.pem"\n'
            text += f'client_key_path = "{certs}/client.key"\n'
    return text


def _without_temporal_settings() -> dict[str, str]:
    """This environment without any Temporal connection setting (the developer's own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}


async def test_a_claim_is_paid_through_an_mtls_proxy_and_a_client_without_a_certificate_is_refused(
    tmp_path, monkeypatch
):
    certs = tmp_path / "certs"
    make_certificates(certs)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=TEMPORAL_BIN,
        data_converter=CONVERTER,
        ui=False,
        dev_server_log_level="error",
    )
    upstream = int(env.client.service_client.config.target_host.rsplit(":", 1)[1])
    nginx, port = start_nginx(tmp_path / "nginx", certs, upstream)
    data_dir = tmp_path / "data"
    engine = make_engine(f"sqlite:///{data_dir / 'claims.db'}")
    demo.load(engine)
    task_queue = f"claims-mtls-{uuid.uuid4().hex[:8]}"
    empty_toml = tmp_path / "empty.toml"  # not the developer's ~/.config/temporalio one
    empty_toml.write_text("")
    worker = subprocess.Popen(
        [sys.executable, str(ROOT / "worker.py")],
        env={
            **_without_temporal_settings(),
            "TEMPORAL_CONFIG_FILE": str(empty_toml),
            "TEMPORAL_ADDRESS": f"127.0.0.1:{port}",
            "TEMPORAL_NAMESPACE": "default",
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(certs / "ca.pem"),
            "TEMPORAL_TLS_CLIENT_CERT_PATH": str(certs / "client.pem"),
            "TEMPORAL_TLS_CLIENT_KEY_PATH": str(certs / "client.key"),
            "TEMPORAL_TLS_SERVER_NAME": "localhost",
            "CLAIMS_DATA_DIR": str(data_dir),
            "CLAIMS_TASK_QUEUE": task_queue,
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    toml = tmp_path / "temporal.toml"
    toml.write_text(profiles(port, certs))
    for name in [k for k in os.environ if k.startswith("TEMPORAL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(toml))
    monkeypatch.setenv("TEMPORAL_PROFILE", "secured")
    monkeypatch.setenv("CLAIMS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CLAIMS_TASK_QUEUE", task_queue)
    get_settings.cache_clear()
    try:
        settings = Settings()
        assert not settings.embedded and settings.address == f"127.0.0.1:{port}"
        client = await connect(settings)  # the profile: through nginx, with the certificate
        report = medical_report()
        await start_claim(client, report, task_queue)
        st = await wait_stage(client, report.claim_id, "CLOSED", timeout=60)
        assert st.payable_amount == Decimal("1040.00")
        assert [p.amount for p in payments(engine, report.claim_id)] == [Decimal("1040.00")]

        # the CLI's audit tools reach it through the profile too
        replayed = await asyncio.to_thread(
            CliRunner().invoke, app, ["audit", "replay", report.claim_id]
        )
        assert replayed.exit_code == 0, replayed.output
        assert f"claim-{report.claim_id}: replays cleanly" in replayed.output

        # nginx passed the gRPC calls on: the worker's and the client's, all with a certificate
        log = (tmp_path / "nginx" / "access.log").read_text()
        assert "/temporal.api.workflowservice.v1.WorkflowService/PollWorkflowTaskQueue" in log
        assert "/temporal.api.operatorservice.v1.OperatorService/" in log  # search attributes

        # no certificate: refused, whether the SDK's client or the CLI
        with pytest.raises(Exception) as refused:  # noqa: PT011 - the SDK's error type varies
            await Client.connect(
                f"127.0.0.1:{port}",
                tls=TLSConfig(
                    server_root_ca_cert=(certs / "ca.pem").read_bytes(), domain="localhost"
                ),
            )
        assert "400 Bad Request" in str(refused.value)  # nginx's answer to a missing certificate
        errors = (tmp_path / "nginx" / "error.log").read_text()
        assert "client sent no required SSL certificate" in errors
        # a certificate from another authority: refused in the handshake
        with pytest.raises(Exception):  # noqa: B017, PT011
            await Client.connect(
                f"127.0.0.1:{port}",
                tls=TLSConfig(
                    server_root_ca_cert=(certs / "ca.pem").read_bytes(),
                    client_cert=(certs / "stranger.pem").read_bytes(),
                    client_private_key=(certs / "stranger.key").read_bytes(),
                    domain="localhost",
                ),
            )
        monkeypatch.setenv("TEMPORAL_PROFILE", "nocert")
        get_settings.cache_clear()
        denied = await asyncio.to_thread(
            CliRunner().invoke, app, ["audit", "replay", report.claim_id]
        )
        assert denied.exit_code == 1, denied.output
        assert f"cannot reach Temporal at 127.0.0.1:{port}: namespace default" in denied.output
    finally:
        get_settings.cache_clear()
        worker.terminate()
        out, _ = worker.communicate(timeout=30)
        stop(nginx)
        await env.shutdown()
    assert worker.returncode in (0, -15), out
    assert "registered search attributes" in out  # through the proxy, with the operator service
    assert not (tmp_path / "nginx" / "nginx.pid").exists()  # nginx stopped
