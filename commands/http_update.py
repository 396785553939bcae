"""A workflow update over Temporal's HTTP API, without Temporal's Python SDK: what a staff
decision (`claims claim approve / reject / return`) is sent with, so that the command starts in
a fraction of the SDK's import time (README "Signed decisions").

The payload is the one the SDK would send: the argument as the pydantic converter's
`json/plain` payload, sealed by the payload codec when keys are configured (security/keys.py,
the same AES-GCM over the same protobuf bytes, written here by hand). The answer is opened the
same way. The connection is the SDK path's: the namespace, the payload keys, the API key and
TLS come from the same settings, read here from the environment as settings.py reads them
(tests/test_decision_http.py holds the two to each other).

`http_target()` is None where this path cannot be sure to match the SDK's (a temporal.toml
profile, a cluster without CLAIMS_TEMPORAL_HTTP, TLS it does not reproduce); `Unreachable` is
raised when no HTTP API answers. In both cases the caller sends the update with the SDK,
under the same update id, so Temporal applies it once whichever way it arrived.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

if TYPE_CHECKING:
    import ssl

JSON_PLAIN = b"json/plain"
COMPLETED = "UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED"
DEADLINE_EXCEEDED = 4  # gRPC's status code, as the HTTP API gives it
TIMEOUT = 70.0  # seconds: the server answers a long-polling update within a minute
TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})  # pydantic's spellings of a bool
FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
# TLS settings this module reproduces over HTTPS; any other TEMPORAL_TLS_* (certificate data
# given inline, a server name) leaves the decision to the SDK.
TLS_FILES = (
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_KEY_PATH",
)
TLS_KNOWN = frozenset({"TEMPORAL_TLS", "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", *TLS_FILES})


class Unreachable(Exception):
    """No Temporal HTTP API answered at the address: send the update with the SDK."""


class UpdateRefused(Exception):
    """The workflow refused the update; the message is the refusal's one line."""


class HttpError(Exception):
    """Temporal refused the call (its gRPC status code and message)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ---------------------------------------------------------------- settings


class Environment:
    """The settings this path needs, read as settings.py's pydantic-settings reads them: each
    setting's names in order, case-insensitively; Temporal's own TEMPORAL_* variables as the
    SDK reads them (their exact names)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ
        self._lowered = {k.lower(): v for k, v in self.environ.items()}

    def get(self, *names: str) -> str | None:
        for name in names:
            if name.lower() in self._lowered:
                return self._lowered[name.lower()]
        return None

    @property
    def data_dir(self) -> Path:
        return Path(self.get("CLAIMS_DATA_DIR", "data_dir") or "data")

    @property
    def staff_keys_dir(self) -> Path:
        return self.data_dir / "keys"

    @property
    def staff_keys_file(self) -> Path:
        return self.data_dir / "staff-keys.json"

    @property
    def key_file(self) -> Path:
        given = self.get("CLAIMS_PAYLOAD_KEY_FILE", "payload_key_file")
        return Path(given) if given else self.data_dir / "payload-keys"

    @property
    def namespace(self) -> str:
        return (
            self.environ.get("TEMPORAL_NAMESPACE")
            or self.get("CLAIMS_NAMESPACE", "namespace")
            or "default"
        )

    def flag(self, *names: str, default: bool) -> bool | None:
        """A boolean setting; None when it is spelt in a way this module does not read."""
        value = self.get(*names)
        if value is None:
            return default
        word = value.strip().lower()
        return True if word in TRUE else False if word in FALSE else None

    def profile_file(self) -> bool:
        """Whether a temporal.toml file may name settings (TEMPORAL_CONFIG_FILE, else the
        SDK's default places), or a profile is named."""
        if "TEMPORAL_PROFILE" in self.environ:
            return True
        given = self.environ.get("TEMPORAL_CONFIG_FILE")
        if given:
            # A missing file is an error the SDK path reports; an empty one (os.devnull, as the
            # benchmark gives it) names nothing.
            path = Path(given)
            return not path.exists() or (path.is_file() and path.stat().st_size > 0)
        home = Path.home()
        xdg = self.environ.get("XDG_CONFIG_HOME")
        places = [
            Path(xdg) if xdg else home / ".config",
            home / "Library" / "Application Support",
            Path(self.environ.get("APPDATA") or home / "AppData" / "Roaming"),
        ]
        files = [place / "temporalio" / "temporal.toml" for place in places]
        return any(f.is_file() and f.stat().st_size > 0 for f in files)


@dataclass(frozen=True)
class HttpTarget:
    """Where and how to reach Temporal's HTTP API, and the payload keys."""

    base: str  # scheme://host[:port], no trailing slash
    namespace: str
    api_key: str | None
    tls: dict[str, str | bool] | None  # the TLS settings of an https address
    ring: list[tuple[str, bytes]]
    encrypts: bool


def http_target(environ: Mapping[str, str] | None = None) -> HttpTarget | None:
    """The HTTP API the SDK path's settings lead to, or None where this path would not match
    the SDK's connection: then the caller uses the SDK."""
    from security.keys import key_ring

    env = Environment(environ)
    if env.profile_file() or any(k.startswith("TEMPORAL_GRPC_META_") for k in env.environ):
        return None
    encrypts = env.flag("CLAIMS_PAYLOAD_ENCRYPTION", "payload_encryption", default=True)
    if encrypts is None:
        return None
    ring = key_ring(env.get("CLAIMS_PAYLOAD_KEYS", "payload_keys"), env.key_file)
    given = (env.get("CLAIMS_TEMPORAL_HTTP", "temporal_http") or "").rstrip("/")
    if not env.get("TEMPORAL_ADDRESS", "temporal_address"):
        # The embedded server: plain text on 127.0.0.1, no key (client.connect_config).
        port = env.get("CLAIMS_HTTP_PORT", "http_port") or "7243"
        base = given or f"http://127.0.0.1:{port.strip()}"
        return HttpTarget(base, env.namespace, None, None, ring, encrypts)
    return _cluster_target(env, given, ring, encrypts) if given else None


def _cluster_target(
    env: Environment, given: str, ring: list[tuple[str, bytes]], encrypts: bool
) -> HttpTarget | None:
    """A cluster's HTTP API (CLAIMS_TEMPORAL_HTTP) with the API key and TLS of the SDK path."""
    api_key = env.environ.get("TEMPORAL_API_KEY") or None
    tls_vars = {k: v for k, v in env.environ.items() if k.startswith("TEMPORAL_TLS")}
    if set(tls_vars) - TLS_KNOWN:
        return None
    tls_flag = env.environ.get("TEMPORAL_TLS")
    if tls_flag is not None and tls_flag.strip().lower() not in TRUE | FALSE:
        return None
    tls_on = (
        tls_flag.strip().lower() in TRUE
        if tls_flag is not None
        else bool(api_key) or any(tls_vars.get(k) for k in TLS_FILES)
    )
    https = urlsplit(given).scheme == "https"
    if tls_on and not https:
        return None  # never the decision (or a key) in clear where the SDK would use TLS
    tls: dict[str, str | bool] | None = None
    if https:
        tls = {k: v for k, v in tls_vars.items() if k in TLS_FILES and v}
        no_check = env.environ.get("TEMPORAL_TLS_DISABLE_HOST_VERIFICATION", "")
        tls["no_host_check"] = no_check.strip().lower() in TRUE
    return HttpTarget(given, env.namespace, api_key, tls, ring, encrypts)


# ---------------------------------------------------------------- payloads


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, value: bytes) -> bytes:
    """A length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(len(value)) + value


def payload_bytes(metadata: Mapping[str, bytes], data: bytes) -> bytes:
    """temporal.api.common.v1.Payload serialised: 1 map<string, bytes> metadata, 2 bytes data."""
    entries = b"".join(
        _field(1, _field(1, key.encode()) + _field(2, value)) for key, value in metadata.items()
    )
    return entries + (_field(2, data) if data else b"")


def _fields(raw: bytes) -> list[tuple[int, bytes]]:
    """The length-delimited fields of a protobuf message; other wire types are skipped."""
    out: list[tuple[int, bytes]] = []
    i = 0
    while i < len(raw):
        key, i = _read_varint(raw, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _read_varint(raw, i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            size, i = _read_varint(raw, i)
            out.append((number, raw[i : i + size]))
            i += size
        else:
            raise ValueError(f"protobuf wire type {wire} in a payload")
    return out


def _read_varint(raw: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = raw[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def parse_payload(raw: bytes) -> tuple[dict[str, bytes], bytes]:
    """The metadata and data of a serialised Payload."""
    metadata: dict[str, bytes] = {}
    data = b""
    for number, value in _fields(raw):
        if number == 1:
            entry = dict(_fields(value))
            metadata[entry.get(1, b"").decode()] = entry.get(2, b"")
        elif number == 2:
            data = value
    return metadata, data


def json_data(value: Any) -> bytes:
    """A plain JSON value as pydantic_core.to_json writes it: no spaces, UTF-8 as is."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def encode(target: HttpTarget, value: Any) -> dict[str, Any]:
    """The argument as the SDK sends it, in the HTTP API's JSON form of a Payload."""
    from security.keys import ciphers, seal

    metadata: Mapping[str, bytes] = {"encoding": JSON_PLAIN}
    data = json_data(value)
    if target.ring and target.encrypts:
        kid = target.ring[0][0]
        cipher = ciphers(target.ring[:1])[kid]
        metadata, data = seal(kid, cipher, payload_bytes(metadata, data))
    return {
        "metadata": {k: base64.b64encode(v).decode() for k, v in metadata.items()},
        "data": base64.b64encode(data).decode(),
    }


def decode(target: HttpTarget, item: Any) -> Any:
    """A payload of an answer as its JSON value: shorthand JSON as it is, a full payload
    opened (decrypted when sealed) and read as JSON."""
    from security.keys import ENCODING, PayloadKeyError, ciphers, unseal

    if not (isinstance(item, dict) and set(item) <= {"metadata", "data"} and "metadata" in item):
        return item  # the HTTP API's shorthand for a json/plain payload
    metadata = {k: base64.b64decode(v) for k, v in item["metadata"].items()}
    data = base64.b64decode(item.get("data", ""))
    if metadata.get("encoding") == ENCODING:
        metadata, data = parse_payload(unseal(ciphers(target.ring), metadata, data))
    encoding = metadata.get("encoding")
    if encoding == b"binary/null":
        return None
    if encoding != JSON_PLAIN:
        raise PayloadKeyError(f"an answer in encoding {encoding!r}, not JSON")
    return json.loads(data)


# ---------------------------------------------------------------- the call


def _connection(target: HttpTarget) -> Any:
    import http.client

    parts = urlsplit(target.base)
    if parts.scheme == "http":
        return http.client.HTTPConnection(parts.netloc, timeout=TIMEOUT)
    return http.client.HTTPSConnection(parts.netloc, timeout=TIMEOUT, context=_tls(target))


def _tls(target: HttpTarget) -> ssl.SSLContext:
    import ssl

    tls = target.tls or {}
    ca = tls.get("TEMPORAL_TLS_SERVER_CA_CERT_PATH")
    context = ssl.create_default_context(cafile=str(ca) if ca else None)
    cert, key = tls.get("TEMPORAL_TLS_CLIENT_CERT_PATH"), tls.get("TEMPORAL_TLS_CLIENT_KEY_PATH")
    if cert:
        context.load_cert_chain(str(cert), str(key) if key else None)
    if tls.get("no_host_check"):
        context.check_hostname = False
    return context


def _post(target: HttpTarget, path: str, body: dict[str, Any]) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if target.api_key:
        headers["Authorization"] = f"Bearer {target.api_key}"
    import http.client

    conn = _connection(target)
    try:
        conn.request("POST", urlsplit(target.base).path + path, json_data(body), headers)
        response = conn.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException) as exc:
        # Refused, no such host, or the answer lost: the caller sends it again with the SDK,
        # under the same update id.
        raise Unreachable(str(exc)) from None
    finally:
        conn.close()
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        answer = None
    if response.status == 200 and isinstance(answer, dict):
        return answer
    if not isinstance(answer, dict) or "code" not in answer:
        raise Unreachable(f"HTTP {response.status} without Temporal's answer")  # not Temporal
    if answer["code"] == 14:  # UNAVAILABLE: the SDK retries
        raise Unreachable(str(answer.get("message", "")))
    raise HttpError(int(answer["code"]), str(answer.get("message", "")))


def execute_update(
    target: HttpTarget, workflow_id: str, update: str, argument: Any, update_id: str
) -> Any:
    """Send the update and wait for its outcome; its result as plain JSON. Raises
    `UpdateRefused` with the refusal's message, `HttpError` for Temporal's own refusals
    (an unknown or finished workflow), `Unreachable` when no HTTP API answered."""
    import socket

    path = (
        f"/api/v1/namespaces/{quote(target.namespace, safe='')}/workflows/"
        f"{quote(workflow_id, safe='')}/update/{quote(update, safe='')}"
    )
    body = {
        "waitPolicy": {"lifecycleStage": COMPLETED},
        "request": {
            "meta": {"updateId": update_id, "identity": f"{os.getpid()}@{socket.gethostname()}"},
            "input": {"name": update, "args": [encode(target, argument)]},
        },
    }
    while True:  # the same update id again until the outcome comes: Temporal applies it once
        try:
            outcome = _post(target, path, body).get("outcome")
        except HttpError as exc:
            if exc.code != DEADLINE_EXCEEDED:  # the server stopped waiting: ask again
                raise
            continue
        if outcome:
            break
    if "failure" in outcome:
        raise UpdateRefused(str(outcome["failure"].get("message", "")))
    success = outcome.get("success") or []
    items = success.get("payloads", []) if isinstance(success, dict) else success
    return decode(target, items[0]) if items else None
