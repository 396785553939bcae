"""`claims codec-server` and `claims new-key`: reading encrypted histories in the Web UI and the
`temporal` CLI, and making keys for rotation."""

from __future__ import annotations

from typing import Annotated

import typer

from client import payload_codec
from commands.common import UserError, handle_errors, settings
from security.codec import new_key_entry, parse_keys
from security.codec_server import CodecServer, ui_origins


@handle_errors
def codec_server(
    port: Annotated[
        int | None, typer.Option(help="Port; default CLAIMS_CODEC_PORT (8234).")
    ] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    origin: Annotated[
        list[str] | None,
        typer.Option(help="Web UI origin allowed by CORS (repeatable); default the local UI."),
    ] = None,
) -> None:
    """Serve Temporal's remote codec protocol (POST /decode, /encode) with the payload keys,
    for the Web UI and `temporal ... --codec-endpoint`. CLAIMS_CODEC_TOKEN, when set, is
    required as `Authorization: Bearer <token>`.

    Example: claims codec-server --port 8234
    """
    s = settings()
    codec = payload_codec(s)
    if codec is None:
        raise UserError(
            f"no payload keys: set CLAIMS_PAYLOAD_KEYS or create {s.key_file} (claims run does)"
        )
    server = CodecServer(
        (host, port or s.codec_port),
        codec,
        namespace=s.namespace,
        token=s.codec_token,
        origins=origin or ui_origins([s.ui_port]),
    )
    typer.echo(
        f"codec server {server.url} (namespace {s.namespace}, keys {', '.join(codec.key_ids)}, "
        f"active {codec.active_kid}{', token required' if s.codec_token else ''})"
    )
    typer.echo(f"try: temporal workflow show -w claim-ID --codec-endpoint {server.url}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@handle_errors
def new_key(
    kid: Annotated[str, typer.Argument(help="Id of the new key, e.g. k2.")],
) -> None:
    """Print a new 256-bit payload key as `kid:base64key`. To rotate, put it first in
    CLAIMS_PAYLOAD_KEYS (or first in the key file) and keep the old keys after it.

    Example: claims new-key k2
    """
    entry = new_key_entry(kid)
    parse_keys(entry)  # the id is one the key ring accepts
    typer.echo(entry)
