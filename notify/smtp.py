"""Email over SMTP (`CLAIMS_SMTP_URL`: `smtp://host:port`, `smtps://` for TLS from the start,
`CLAIMS_SMTP_STARTTLS` to upgrade a plain connection; a user and password in the URL log in).
The standard library's smtplib, in the activity's thread. The Message-ID is made from the
notice key, so a mail system that sees the same notice twice can tell."""

from __future__ import annotations

import mimetypes
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from urllib.parse import unquote, urlsplit

from models.notices import Channel
from notify.base import Message, PermanentFailure, TransientFailure, key_digest

# One attempt waits this long for the server; Temporal's retry policy does the retrying.
SMTP_TIMEOUT_S = 10.0


class SmtpUrlError(ValueError):
    """CLAIMS_SMTP_URL cannot be used (one line, without the password)."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    tls: bool = False  # smtps://
    starttls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str, *, starttls: bool = False) -> SmtpServer:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SmtpUrlError("CLAIMS_SMTP_URL must look like smtp://host:port or smtps://host")
        tls = parts.scheme == "smtps"
        try:
            port = parts.port or (465 if tls else 25)
        except ValueError:
            raise SmtpUrlError("CLAIMS_SMTP_URL has a port that is not a number") from None
        return cls(
            host=parts.hostname,
            port=port,
            tls=tls,
            starttls=starttls and not tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def _valid_address(address: str) -> bool:
    local, _, domain = address.partition("@")
    return bool(local and "." in domain and not any(c.isspace() for c in address))


class SmtpEmail:
    channel = Channel.EMAIL

    def __init__(
        self, server: SmtpServer, sender: str, tls_context: ssl.SSLContext | None = None
    ) -> None:
        self.server = server
        self.sender = sender
        self.tls_context = tls_context or ssl.create_default_context()

    def compose(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.recipient.email or ""
        mail["Subject"] = message.subject or message.kind
        mail["Date"] = formatdate(usegmt=True)
        mail["Message-ID"] = f"<{key_digest(message.key)}@claims-engine>"
        mail.set_content(message.text)
        if message.letter_path:
            path = Path(message.letter_path)
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            maintype, subtype = kind.split("/", 1)
            try:
                data = path.read_bytes()
            except OSError:
                raise TransientFailure("the letter file cannot be read") from None
            mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=path.name)
        return mail

    def _connect(self) -> smtplib.SMTP:
        s = self.server
        if s.tls:
            return smtplib.SMTP_SSL(
                s.host, s.port, timeout=SMTP_TIMEOUT_S, context=self.tls_context
            )
        conn = smtplib.SMTP(s.host, s.port, timeout=SMTP_TIMEOUT_S)
        if s.starttls:
            conn.starttls(context=self.tls_context)
        return conn

    def refusal(self, message: Message) -> str | None:
        address = (message.recipient.email or "").strip()
        if not address:
            return "no email address"
        if not _valid_address(address):
            return "the email address is not valid"
        return None

    def send(self, message: Message) -> str:
        refused = self.refusal(message)
        if refused:
            raise PermanentFailure(refused)
        mail = self.compose(message)
        try:
            with self._connect() as conn:
                if self.server.username:
                    conn.login(self.server.username, self.server.password or "")
                conn.send_message(mail)
        except smtplib.SMTPRecipientsRefused as err:
            codes = [code for code, _ in err.recipients.values()]
            if any(500 <= c < 600 for c in codes):
                raise PermanentFailure(f"SMTP refused the recipient ({codes[0]})") from None
            raise TransientFailure(f"SMTP deferred the recipient ({codes[0]})") from None
        except smtplib.SMTPResponseException as err:
            # the server's text can quote the address: keep only its code
            raise TransientFailure(f"SMTP answered {err.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as err:
            raise TransientFailure(f"SMTP server unreachable ({type(err).__name__})") from None
        return str(mail["Message-ID"])
