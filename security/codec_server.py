"""The remote codec server: Temporal's Web UI and the `temporal` CLI send it payloads to decode
(to show them) or encode (inputs typed into them), so that people with access to this server
read what the history holds encrypted.

The protocol: `POST /decode` and `POST /encode` (also under a namespace segment,
`/{namespace}/decode`, for the CLI's `--codec-endpoint .../{namespace}`) with the JSON form of
`temporal.api.common.v1.Payloads`, `{"payloads": [{"metadata": {...}, "data": "..."}]}` (bytes
in base64), answered in the same form. The Web UI calls it from the browser, so it answers the
CORS preflight for the origins it is told; it also sends `X-Namespace`. With a token set, every
request needs `Authorization: Bearer <token>`.

It is a Starlette application served by uvicorn (a production ASGI server); `CodecServer`
runs it in the foreground (`claims codec-server`) or on a background thread (`claims run`).
"""

from __future__ import annotations

import hmac
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence

import uvicorn
from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payload, Payloads

from security.codec import EncryptionCodec, PayloadKeyError

log = logging.getLogger("claims.codec")
MAX_BODY = 16 * 1024 * 1024
OPERATIONS = ("encode", "decode")


def codec_app(
    codec: EncryptionCodec,
    *,
    namespace: str,
    token: str | None = None,
    origins: Iterable[str] = (),
) -> Starlette:
    """The remote codec protocol as an ASGI application."""
    allowed = set(origins)
    expected = f"Bearer {token}".encode() if token else None

    def cors(request: Request) -> dict[str, str]:
        origin = request.headers.get("origin")
        if not origin or origin not in allowed:
            return {}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "content-type, x-namespace, authorization",
            "Access-Control-Allow-Credentials": "true",
            "Vary": "Origin",
        }

    def with_cors(request: Request, response: Response) -> Response:
        # Added as spelled (Starlette lowercases headers given to a response): some clients
        # compare header names case-sensitively.
        response.raw_headers += [(k.encode(), v.encode()) for k, v in cors(request).items()]
        return response

    def error(request: Request, code: int, message: str) -> Response:
        return with_cors(request, PlainTextResponse(message + "\n", code))

    async def preflight(request: Request) -> Response:
        return with_cors(request, Response(status_code=204))

    def refusal(request: Request) -> tuple[int, str] | None:
        """Why a request is refused before its body is read (status, message); None if not."""
        if request.path_params.get("operation") not in OPERATIONS:
            return 404, "not found: POST /encode or /decode"
        asked = request.path_params.get("namespace") or request.headers.get("x-namespace")
        if asked and asked != namespace:
            return 403, f"namespace {asked!r} is not served here"
        if expected is not None and not hmac.compare_digest(
            request.headers.get("authorization", "").encode(), expected
        ):
            return 401, "unauthorized: send Authorization: Bearer <token>"
        try:
            declared = int(request.headers.get("content-length") or 0)
        except ValueError:
            return 400, "bad Content-Length"
        if declared > MAX_BODY:
            return 413, "too large"
        return None

    async def read_body(request: Request) -> bytes | None:
        """The body, or None once it grows past MAX_BODY (whatever Content-Length said)."""
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                return None
        return bytes(body)

    async def handle(request: Request) -> Response:
        if request.method == "OPTIONS":
            return await preflight(request)
        refused = refusal(request)
        if refused is not None:
            return error(request, *refused)
        body = await read_body(request)
        if body is None:
            return error(request, 413, "too large")
        fn: Callable[[Payload], Payload] = (
            codec.encode_one
            if request.path_params.get("operation") == "encode"
            else codec.decode_one
        )
        try:
            payloads = json_format.Parse(body or b"{}", Payloads())
            out = Payloads(payloads=[fn(p) for p in payloads.payloads])
        except json_format.ParseError as exc:
            return error(request, 400, f"bad payloads JSON: {exc}")
        except PayloadKeyError as exc:
            return error(request, 422, str(exc))
        return with_cors(
            request, Response(json_format.MessageToJson(out), media_type="application/json")
        )

    async def not_found(request: Request) -> Response:
        if request.method == "OPTIONS":
            return await preflight(request)
        return error(request, 404, "not found: POST /encode or /decode")

    methods = ["POST", "OPTIONS"]
    return Starlette(
        routes=[
            Route("/{operation}", handle, methods=methods),
            Route("/{namespace}/{operation}", handle, methods=methods),
            Route("/{rest:path}", not_found, methods=methods),
        ]
    )


class CodecServer:
    """The codec application on uvicorn, bound at construction (port 0 picks a free one)."""

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
        self.app = codec_app(codec, namespace=namespace, token=token, origins=origins)
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.socket = socket.create_server(address, family=family)
        self.server_address = self.socket.getsockname()[:2]
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                log_level="warning",
                access_log=False,
                lifespan="off",
                server_header=False,
                timeout_graceful_shutdown=5,
            )
        )
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    def serve_forever(self) -> None:
        """Serve in this thread until Ctrl-C or SIGTERM (uvicorn's own handling)."""
        self._server.run(sockets=[self.socket])

    def start(self) -> threading.Thread:
        """Serve in a background thread, ready when this returns; `shutdown()` stops it."""
        thread = threading.Thread(target=self.serve_forever, name="codec-server", daemon=True)
        thread.start()
        self._thread = thread
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the codec server did not start on {self.url}")
            time.sleep(0.01)
        return thread

    def shutdown(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def server_close(self) -> None:
        self.socket.close()


def ui_origins(ports: Sequence[int]) -> list[str]:
    """The browser origins of a Web UI served on these local ports."""
    return [f"http://{host}:{port}" for port in ports for host in ("127.0.0.1", "localhost")]
