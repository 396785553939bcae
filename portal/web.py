"""What every page handler shares: the portal's state (settings, read model, the way to the
engine, the lookup limit), the language of the request, CSRF, and rendering a template."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy.engine import Engine
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from portal import guards, texts
from portal.actions import Messages
from settings import Settings

LANG_COOKIE = "portal_lang"
TEMPLATES = Path(__file__).parent / "templates"
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)


@dataclass
class Portal:
    settings: Settings
    db: Engine
    messages: Messages
    lookups: guards.RateLimit = field(default_factory=guards.RateLimit)


def portal(request: Request) -> Portal:
    state: Portal = request.app.state.portal
    return state


def language(request: Request) -> str:
    """?lang= first (kept in a cookie by `render`), then the cookie, then Accept-Language."""
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in texts.LANGUAGES:
        return chosen
    accept = request.headers.get("accept-language", "").lower()
    ranked: list[tuple[float, str]] = []
    for part in accept.split(","):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((weight, tag.strip()))
    for _, tag in sorted(ranked, key=lambda r: -r[0]):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return "zh-CN"


def csrf_token(request: Request) -> str:
    existing = request.cookies.get(guards.CSRF_COOKIE)
    if existing:
        return existing
    token: str | None = getattr(request.state, "csrf", None)
    if token is None:
        token = guards.new_csrf()
        request.state.csrf = token
    return token


def client_address(request: Request) -> str:
    return request.client.host if request.client else "-"


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    lang = language(request)
    csrf = csrf_token(request)
    path = request.url.path
    html = _env.get_template(name).render(
        lang=lang,
        zh=lang == "zh-CN",
        t=lambda zh, en: zh if lang == "zh-CN" else en,
        csrf=csrf,
        csrf_field=guards.CSRF_FIELD,
        here=path,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    secure = request.url.scheme == "https"
    if request.cookies.get(guards.CSRF_COOKIE) != csrf:
        response.set_cookie(
            guards.CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=secure
        )
    chosen = request.query_params.get("lang")
    if chosen in texts.LANGUAGES and request.cookies.get(LANG_COOKIE) != chosen:
        response.set_cookie(LANG_COOKIE, chosen, max_age=365 * 86400, samesite="lax", secure=secure)
    response.headers["Referrer-Policy"] = "no-referrer"  # the link's token stays on the page
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    return response


async def form_with_csrf(request: Request) -> Any:
    """The submitted form, or None when its CSRF token does not match the cookie."""
    form = await request.form(max_files=30, max_fields=200)
    submitted = form.get(guards.CSRF_FIELD)
    if not guards.csrf_ok(
        request.cookies.get(guards.CSRF_COOKIE), submitted if isinstance(submitted, str) else None
    ):
        return None
    return form
