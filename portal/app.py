"""The portal's ASGI application: the claim page behind its link (`/c/<token>`), uploads,
letters, appeal and complaint; the report form lives in portal/report_form.py."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import get_args

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from temporalio.client import Client

from models.catalog import MATERIAL_KINDS
from models.claim import Material
from models.complaint import Category
from models.status import CLAIM_ENDED
from portal import documents, queries, report_form, texts, tokens
from portal.actions import ActionRefused, Messages
from portal.guards import BodyLimit
from portal.view import claim_page
from portal.web import Portal, client_address, form_with_csrf, language, portal, render
from readmodel import queries as readmodel
from settings import Settings

COMPLAINT_CATEGORIES: tuple[str, ...] = get_args(Category)
# One upload form sends every missing document at once: a few full-size files fit.
MAX_BODY = 5 * documents.MAX_BYTES + 65536
Handler = Callable[[Request, str], Awaitable[Response]]


def nothing(request: Request, status_code: int = 404) -> Response:
    """The one page for a link that opens nothing: unknown, expired or revoked alike."""
    return render(request, "nothing.html", status_code=status_code)


def behind_link(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """The claim a link opens, looked up under the per-address limit, handed to `handler`."""

    async def guarded(request: Request) -> Response:
        p = portal(request)
        if not p.lookups.allow(client_address(request)):
            return nothing(request, status_code=429)
        claim_id = tokens.claim_of(engine=p.db, token=request.path_params["token"])
        if claim_id is None:
            p.lookups.miss(client_address(request))
            return nothing(request)
        return await handler(request, claim_id)

    return guarded


def _back(request: Request, done: str) -> Response:
    return RedirectResponse(f"/c/{request.path_params['token']}?done={done}", status_code=303)


async def claim(
    request: Request, claim_id: str, *, error: str = "", status_code: int = 200
) -> Response:
    p = portal(request)
    lang = language(request)
    page = claim_page(
        claim_id,
        queries.claim(engine=p.db, claim_id=claim_id),
        queries.letters(engine=p.db, claim_id=claim_id),
        queries.payments(engine=p.db, claim_id=claim_id),
        queries.documents(engine=p.db, claim_id=claim_id),
        lang,
        readmodel.complaints_about(engine=p.db, claim_id=claim_id),
    )
    return render(
        request,
        "claim.html",
        status_code=status_code,
        page=page,
        token=request.path_params["token"],
        done=request.query_params.get("done", ""),
        error=error,
        categories=COMPLAINT_CATEGORIES,
        max_mb=documents.MAX_BYTES // (1024 * 1024),
    )


class _Refused(Exception):
    """An upload not taken: the page's message key and the status."""

    def __init__(self, reason: str, status_code: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code


async def _received(request: Request, claim_id: str) -> list[Material]:
    """The uploaded documents, checked, stored and recorded; the materials to send."""
    p = portal(request)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY:
        raise _Refused("too_large", 413)
    form = await form_with_csrf(request)
    if form is None:
        raise _Refused("csrf", 403)
    row = queries.claim(engine=p.db, claim_id=claim_id)
    if row is not None and row.stage in CLAIM_ENDED:
        raise _Refused("closed", 409)
    received: list[Material] = []
    for key, value in form.multi_items():
        kind = key.removeprefix("file_")
        if not isinstance(value, UploadFile) or kind not in MATERIAL_KINDS:
            continue
        data = await value.read(documents.MAX_BYTES + 1)
        if not data:
            continue
        try:
            stored = documents.receive(
                engine=p.db,
                data_dir=p.settings.data_dir,
                claim_id=claim_id,
                kind=kind,
                name=value.filename or "",
                data=data,
            )
        except documents.DocumentRefused as err:
            raise _Refused(err.reason, 400) from None
        received.append(Material(kind=kind, ref=stored.sha256))
    if not received:
        raise _Refused("no_file", 400)
    return received


async def upload(request: Request, claim_id: str) -> Response:
    try:
        received = await _received(request, claim_id)
        await portal(request).messages.submit_materials(claim_id, received)
    except _Refused as refused:
        return await claim(request, claim_id, error=refused.reason, status_code=refused.status_code)
    except ActionRefused:
        return await claim(request, claim_id, error="engine", status_code=503)
    return _back(request, "uploaded")


async def letter(request: Request, claim_id: str) -> Response:
    p = portal(request)
    row = queries.letter(engine=p.db, claim_id=claim_id, letter_id=request.path_params["letter"])
    if row is None:
        return nothing(request)
    if request.query_params.get("download"):
        root = p.settings.letters_dir.resolve()
        body = row.body
        with contextlib.suppress(OSError, ValueError):
            path = Path(row.path).resolve()
            if root in path.parents and path.is_file():
                body = path.read_text(encoding="utf-8")
        return Response(
            body,
            media_type="text/plain; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{row.letter_id}.txt"',
                "Cache-Control": "no-store",
                "Referrer-Policy": "no-referrer",
            },
        )
    return render(
        request,
        "letter.html",
        token=request.path_params["token"],
        letter=row,
        title=texts.letter(row.kind, language(request)),
    )


async def appeal(request: Request, claim_id: str) -> Response:
    form = await form_with_csrf(request)
    if form is None:
        return await claim(request, claim_id, error="csrf", status_code=403)
    reason = str(form.get("reason") or "").strip()
    try:
        await portal(request).messages.appeal(claim_id, reason)
    except ActionRefused:
        return await claim(request, claim_id, error="appeal", status_code=409)
    return _back(request, "appealed")


async def complain(request: Request, claim_id: str) -> Response:
    form = await form_with_csrf(request)
    if form is None:
        return await claim(request, claim_id, error="csrf", status_code=403)
    matter = str(form.get("matter") or "").strip()
    category = str(form.get("category") or "other")
    if not matter or category not in COMPLAINT_CATEGORIES:
        return await claim(request, claim_id, error="matter", status_code=400)
    try:
        await portal(request).messages.complain(
            claim_id, matter, str(form.get("remedy") or "").strip(), category
        )
    except ActionRefused:
        return await claim(request, claim_id, error="complaint", status_code=409)
    return _back(request, "complained")


async def home(request: Request) -> Response:
    return render(request, "home.html")


def create_app(state: Portal) -> Starlette:
    app = Starlette(
        routes=[
            Route("/", home),
            Route("/report", report_form.choose),
            Route("/report/{line}/{incident}", report_form.form, methods=["GET", "POST"]),
            Route("/c/{token}", behind_link(claim)),
            Route("/c/{token}/documents", behind_link(upload), methods=["POST"]),
            Route("/c/{token}/letters/{letter}", behind_link(letter)),
            Route("/c/{token}/appeal", behind_link(appeal), methods=["POST"]),
            Route("/c/{token}/complaint", behind_link(complain), methods=["POST"]),
            Mount("/static", StaticFiles(directory=Path(__file__).parent / "static")),
        ],
        middleware=[Middleware(BodyLimit, limit=MAX_BODY + 1024 * 1024)],
    )
    app.state.portal = state
    return app


def build(settings: Settings, connect: Callable[[], Awaitable[Client]]) -> Starlette:
    """The portal on the configured read model and Temporal."""
    from database import engine_for

    return create_app(
        Portal(settings, engine_for(settings.db_url), Messages(connect, settings.task_queue))
    )
