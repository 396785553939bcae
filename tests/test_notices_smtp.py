"""Email notices over an encrypted SMTP connection: STARTTLS with a login, and SMTP over TLS
from the start (`smtps://`), against aiosmtpd with a certificate made for the test; and how
CLAIMS_SMTP_URL is read."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from models.notices import Contact
from notify import Message, SmtpEmail, SmtpServer, SmtpUrlError, TransientFailure
from tests.test_notices import Inbox, free_port

MESSAGE = Message(
    key="claim:CLM-20261129-0042:ack",
    case_id="CLM-20261129-0042",
    kind="ack",
    subject="理赔受理通知",
    text="已受理。",
    recipient=Contact(email="zhangsan@example.com"),
)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1: (certificate, key) PEM files."""
    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def server_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


def client_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def only(login: bytes, password: bytes) -> Any:
    def authenticator(server, session, envelope, mechanism, auth_data) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            login,
            password,
        )
        return AuthResult(success=ok, handled=False)

    return authenticator


@pytest.fixture
def running() -> Iterator[list[Controller]]:
    controllers: list[Controller] = []
    yield controllers
    for controller in controllers:
        controller.stop()


def test_starttls_with_a_login(certificate, running) -> None:
    inbox = Inbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_context(certificate),
        require_starttls=True,
        authenticator=only(b"claims", b"s3cret@1"),
        auth_require_tls=True,
    )
    controller.start()
    running.append(controller)
    url = f"smtp://claims:s3cret%401@127.0.0.1:{controller.port}"
    server = SmtpServer.from_url(url, starttls=True)
    email = SmtpEmail(server, "claims@insurer.example", client_context(certificate))

    reference = email.send(MESSAGE)

    assert len(inbox.mails) == 1 and inbox.mails[0]["Message-ID"] == reference
    wrong = SmtpServer.from_url(url.replace("s3cret", "guess"), starttls=True)
    with pytest.raises(TransientFailure, match=r"^SMTP answered 535$"):
        SmtpEmail(wrong, "claims@insurer.example", client_context(certificate)).send(MESSAGE)


def test_smtps_is_tls_from_the_start(certificate, running) -> None:
    inbox = Inbox()
    controller = Controller(
        inbox, hostname="127.0.0.1", port=free_port(), ssl_context=server_context(certificate)
    )
    controller.start()
    running.append(controller)
    server = SmtpServer.from_url(f"smtps://127.0.0.1:{controller.port}")

    SmtpEmail(server, "claims@insurer.example", client_context(certificate)).send(MESSAGE)

    assert len(inbox.mails) == 1
    untrusted = SmtpEmail(server, "claims@insurer.example")  # the system's roots only
    with pytest.raises(TransientFailure, match="SSLCertVerificationError"):
        untrusted.send(MESSAGE)


@pytest.mark.parametrize(
    ("url", "starttls", "expected"),
    [
        ("smtp://127.0.0.1:2525", False, SmtpServer("127.0.0.1", 2525)),
        ("smtp://mail.example", True, SmtpServer("mail.example", 25, starttls=True)),
        ("smtps://mail.example", True, SmtpServer("mail.example", 465, tls=True)),
        (
            "smtps://u%40x:p%3Aw@mail.example:4650",
            False,
            SmtpServer("mail.example", 4650, tls=True, username="u@x", password="p:w"),
        ),
    ],
)
def test_the_smtp_url(url: str, starttls: bool, expected: SmtpServer) -> None:
    assert SmtpServer.from_url(url, starttls=starttls) == expected


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "smtp://h:port", "mail:25"])
def test_an_smtp_url_that_cannot_be_used_is_one_line_without_the_password(url: str) -> None:
    with pytest.raises(SmtpUrlError) as refused:
        SmtpServer.from_url(url.replace("//", "//u:hunter2@", 1))
    assert "hunter2" not in str(refused.value) and "\n" not in str(refused.value)
