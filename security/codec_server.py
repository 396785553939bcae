"""The remote codec server: Temporal's Web UI and the `temporal` CLI send it payloads to decode
(to show them) or encode (inputs typed into them), so that people with access to this server
read what the history holds encrypted.

The protocol: `POST /decode` and `POST /encode` (also under a namespace segment,
`/{namespace}/decode`, for the CLI's `--codec-endpoint .../{namespace}`) with the JSON form of
`temporal.api.common.v1.Payloads`, `{"payloads": [{"metadata": {...}, "data": "..."}]}` (bytes
in base64), answered in the same form. The Web UI calls it from the browser, so it answers the
CORS preflight for the origins it is told; it also sends `X-Namespace`. With a token set, every
request needs `Authorization: Bearer <token>`.
"""

from __future__ import annotations

import hmac
import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from security.codec import EncryptionCodec, PayloadKeyError

log = logging.getLogger("claims.codec")
MAX_BODY = 16 * 1024 * 1024


class CodecServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        codec: EncryptionCodec,
        *,
        namespace: str,
        token: str | None = None,
        origins: Iterable[str] = (),
    ) -> None:
        self.codec = codec
        self.namespace = namespace
        self.token = token
        self.origins = set(origins)
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> threading.Thread:
        """Serve in a background thread; `shutdown()` stops it."""
        thread = threading.Thread(target=self.serve_forever, name="codec-server", daemon=True)
        thread.start()
        return thread


class _Handler(BaseHTTPRequestHandler):
    server: CodecServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        log.debug("%s " + format, self.address_string(), *args)

    def _cors(self) -> None:
        origin = self.headers.get("Origin")
        if origin and origin in self.server.origins:
            self.send_header("Access-Control-Allow-Origin", origin)
            self.send_header("Access-Control-Allow-Methods", "POST, OPTIONS")
            self.send_header(
                "Access-Control-Allow-Headers", "content-type, x-namespace, authorization"
            )
            self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Vary", "Origin")

    def _reply(self, code: int, body: str, content_type: str = "application/json") -> None:
        data = body.encode()
        self.send_response(code)
        self._cors()
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, code: int, message: str) -> None:
        self._reply(code, message + "\n", "text/plain; charset=utf-8")

    def do_OPTIONS(self) -> None:  # noqa: N802 - the http.server convention
        self.send_response(204)
        self._cors()
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self) -> None:  # noqa: N802
        parts = [p for p in self.path.split("?", 1)[0].split("/") if p]
        if not parts or parts[-1] not in ("encode", "decode") or len(parts) > 2:
            self._error(404, "not found: POST /encode or /decode")
            return
        namespace = parts[0] if len(parts) == 2 else self.headers.get("X-Namespace")
        if namespace and namespace != self.server.namespace:
            self._error(403, f"namespace {namespace!r} is not served here")
            return
        token = self.server.token
        if token and not hmac.compare_digest(
            self.headers.get("Authorization", "").encode(), f"Bearer {token}".encode()
        ):
            self._error(401, "unauthorized: send Authorization: Bearer <token>")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._error(413, "too large")
            return
        fn: Callable[[Payload], Payload] = (
            self.server.codec.encode_one if parts[-1] == "encode" else self.server.codec.decode_one
        )
        try:
            payloads = json_format.Parse(self.rfile.read(length) or b"{}", Payloads())
            out = Payloads(payloads=[fn(p) for p in payloads.payloads])
        except json_format.ParseError as exc:
            self._error(400, f"bad payloads JSON: {exc}")
            return
        except PayloadKeyError as exc:
            self._error(422, str(exc))
            return
        self._reply(200, json_format.MessageToJson(out))


def ui_origins(ports: Sequence[int]) -> list[str]:
    """The browser origins of a Web UI served on these local ports."""
    return [f"http://{host}:{port}" for port in ports for host in ("127.0.0.1", "localhost")]
