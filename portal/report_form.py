"""Report a claim from the page: choose the line and incident type, then a form for them,
validated with the same ClaimReport model as every other channel (one message per field).
The claim starts as any other; the claimant is shown their claim's link."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from client import ReportRefused, check_dates, new_claim_id
from models.catalog import CHECKLISTS, COMMON_MATERIALS, INCIDENT_TYPES, ITEM_CATEGORIES, LINES
from models.claim import ClaimReport, Material
from portal import documents, texts, tokens
from portal.actions import ActionRefused
from portal.web import form_with_csrf, language, portal, render
from readmodel import queries as readmodel

ITEM_ROWS = 3
_ID = re.compile(r"CLM-\d{8}-[0-9A-F]{6}")
_LOCAL_MINUTE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")

# form field -> (zh label, en label)
LABELS = {
    "policy_no": ("保单号", "policy number"),
    "name": ("姓名", "name"),
    "id_no": ("证件号码", "ID number"),
    "phone": ("手机号码", "mobile phone"),
    "email": ("电子邮箱", "email"),
    "occurred_at": ("出险时间", "when it happened"),
    "location": ("出险地点", "where it happened"),
    "description": ("经过说明", "what happened"),
    "amount_claimed": ("索赔金额", "amount claimed"),
    "items": ("费用明细", "costs"),
    "form": ("报案内容", "report"),
}


def _field_of(loc: tuple[int | str, ...]) -> str:
    """The form field a validation error belongs to."""
    if not loc:
        return "form"
    if loc[0] == "claimant" and len(loc) > 1:
        return str(loc[1])
    if loc[0] == "items" and len(loc) > 2:
        return f"item_{loc[1]}_{loc[2]}"
    return str(loc[0]) if str(loc[0]) in LABELS else "form"


def _message(field: str, detail: str, lang: str, kind: str = "") -> str:
    """A field's message in the page's language: the common mistakes in plain words, any
    other in the model's own words after the field's name."""
    key = "items" if field.startswith("item_") else field if field in LABELS else "form"
    zh, en = LABELS[key]
    if kind in _EMPTY:
        return f"请填写{zh}" if lang == "zh-CN" else f"Please enter the {en}."
    if kind in _NOT_A_TIME:
        return f"请选择{zh}" if lang == "zh-CN" else f"Please choose {en}."
    if kind in _NOT_AN_AMOUNT or field.endswith("_amount"):
        return (
            f"{zh}请填写数字金额，例如 1800.00"
            if lang == "zh-CN"
            else f"The {en} should be an amount, e.g. 1800.00."
        )
    detail = detail.removeprefix("Value error, ")
    return f"请检查{zh}：{detail}" if lang == "zh-CN" else f"Check the {en}: {detail}"


_EMPTY = frozenset({"missing", "string_too_short"})
_NOT_A_TIME = frozenset({"datetime_parsing", "datetime_from_date_parsing", "timezone_aware"})
_NOT_AN_AMOUNT = frozenset(
    {"decimal_parsing", "decimal_type", "greater_than_equal", "greater_than", "less_than"}
)


def errors_by_field(err: ValidationError, lang: str) -> dict[str, str]:
    """One message per field (the first error each field has)."""
    out: dict[str, str] = {}
    for e in err.errors():
        field = _field_of(tuple(e["loc"]))
        out.setdefault(field, _message(field, str(e["msg"]), lang, e["type"]))
    return out


def report_data(line: str, incident: str, values: dict[str, str]) -> dict[str, Any]:
    """The ClaimReport as JSON from the form's values."""
    occurred = values.get("occurred_at", "").strip()
    if _LOCAL_MINUTE.fullmatch(occurred):  # the form asks for Beijing time
        occurred += ":00+08:00"
    items = []
    for n in range(ITEM_ROWS):
        amount = values.get(f"item_{n}_amount", "").strip()
        if amount:
            items.append(
                {
                    "category": values.get(f"item_{n}_category", ""),
                    "description": values.get(f"item_{n}_description", "").strip(),
                    "amount": amount,
                }
            )
    claim_id = values.get("claim_id", "")
    return {
        "claim_id": claim_id if _ID.fullmatch(claim_id) else new_claim_id(),
        "policy_no": values.get("policy_no", "").strip(),
        "line": line,
        "incident_type": incident,
        "channel": "web",
        "claimant": {
            "name": values.get("name", "").strip(),
            "id_no": values.get("id_no", "").strip(),
            "phone": values.get("phone", "").strip(),
            "email": values.get("email", "").strip() or None,
            "language": values.get("language")
            if values.get("language") in texts.LANGUAGES
            else "zh-CN",
        },
        "occurred_at": occurred,
        "location": values.get("location", "").strip(),
        "description": values.get("description", "").strip(),
        "amount_claimed": values.get("amount_claimed", "").strip(),
        "items": items,
    }


async def choose(request: Request) -> Response:
    lang = language(request)
    choices = [
        (texts.line(line, lang), [(i, texts.incident(i, lang)) for i in INCIDENT_TYPES[line]], line)
        for line in LINES
    ]
    return render(request, "choose.html", choices=choices)


def _show_form(
    request: Request,
    line: str,
    incident: str,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    lang = language(request)
    kinds = (*COMMON_MATERIALS, *CHECKLISTS[(line, incident)])
    needed = [(k, texts.material(k, lang)) for k in kinds]
    return render(
        request,
        "report.html",
        status_code=status_code,
        line=line,
        incident=incident,
        title=f"{texts.line(line, lang)} · {texts.incident(incident, lang)}",
        categories=[(c, texts.item_category(c, lang)) for c in ITEM_CATEGORIES[line]],
        rows=range(ITEM_ROWS),
        needed=needed,
        values=values,
        errors=errors,
        labels={k: v[0] if lang == "zh-CN" else v[1] for k, v in LABELS.items()},
    )


async def form(request: Request) -> Response:
    line = request.path_params["line"]
    incident = request.path_params["incident"]
    if line not in INCIDENT_TYPES or incident not in INCIDENT_TYPES[line]:
        return render(request, "nothing.html", status_code=404)
    if request.method == "GET":
        return _show_form(request, line, incident, {"claim_id": new_claim_id()}, {})
    submitted = await form_with_csrf(request)
    lang = language(request)
    if submitted is None:
        return _show_form(
            request,
            line,
            incident,
            {"claim_id": new_claim_id()},
            {"form": _csrf_message(lang)},
            403,
        )
    values = {k: v for k, v in submitted.items() if isinstance(v, str)}
    report, attached, errors = await _checked(request, line, incident, submitted, values)
    if report is None:
        return _show_form(request, line, incident, values, errors, 400)
    return await _start(request, report, values, lang, attached)


async def _checked(
    request: Request, line: str, incident: str, submitted: Any, values: dict[str, str]
) -> tuple[ClaimReport | None, Attached, dict[str, str]]:
    """The report with the documents sent with it as its materials; or the messages."""
    lang = language(request)
    try:
        report = ClaimReport.model_validate(report_data(line, incident, values))
        check_dates(report)
    except ValidationError as err:
        return None, [], errors_by_field(err, lang)
    except ReportRefused as err:
        return None, [], {"occurred_at": _message("occurred_at", str(err), lang)}
    try:
        attached = await _attached(submitted, line, incident, portal(request).settings.data_dir)
    except documents.DocumentRefused as err:
        problem = _DOCUMENT_PROBLEMS.get(err.reason, _DOCUMENT_PROBLEMS["type"])
        return None, [], {"documents": problem[0] if lang == "zh-CN" else problem[1]}
    materials = [Material(kind=kind, ref=stored.sha256) for kind, stored, _ in attached]
    return report.model_copy(update={"materials": materials}), attached, {}


Attached = list[tuple[str, documents.Stored, str]]
_DOCUMENT_PROBLEMS = {
    "too_large": ("文件太大：每个文件不超过 10 MB。", "A file is too large: at most 10 MB each."),
    "type": (
        "只能上传 PDF、JPEG、PNG 或 HEIC 文件。",
        "Only PDF, JPEG, PNG or HEIC files can be uploaded.",
    ),
}


async def _attached(form: Any, line: str, incident: str, data_dir: Path) -> Attached:
    """The documents sent with the report (optional), checked and stored: kind, file, name."""
    kinds = (*COMMON_MATERIALS, *CHECKLISTS[(line, incident)])
    out: Attached = []
    for key, value in form.multi_items():
        kind = key.removeprefix("file_")
        if not isinstance(value, UploadFile) or kind not in kinds:
            continue
        data = await value.read(documents.MAX_BYTES + 1)
        if data:
            out.append((kind, documents.store(data_dir, data), value.filename or ""))
    return out


def _csrf_message(lang: str) -> str:
    return (
        "页面已过期，请重新提交。" if lang == "zh-CN" else "The page expired; please send it again."
    )


async def _start(
    request: Request,
    report: ClaimReport,
    values: dict[str, str],
    lang: str,
    attached: Attached,
) -> Response:
    p = portal(request)
    line, incident = report.line, report.incident_type
    if not readmodel.policy_exists(engine=p.db, policy_no=report.policy_no):
        message = "我们找不到这个保单号" if lang == "zh-CN" else "We cannot find this policy number"
        return _show_form(request, line, incident, values, {"policy_no": message}, 400)
    try:
        claim_id, started = await p.messages.report(report)
    except ActionRefused as err:
        if err.unreachable:  # the server's own words stay out of the claimant's page
            busy = (
                "暂时无法提交，请稍后再试。"
                if lang == "zh-CN"
                else "We cannot take this right now; please try again later."
            )
            return _show_form(request, line, incident, values, {"form": busy}, 503)
        return _show_form(
            request, line, incident, values, {"form": _message("form", str(err), lang)}, 400
        )
    if not started:  # the same form sent again: the link went with the first answer
        return render(request, "reported.html", claim_id=claim_id, link="")
    for kind, stored, name in attached:
        documents.record(engine=p.db, claim_id=claim_id, kind=kind, name=name, stored=stored)
    token = tokens.issue(engine=p.db, claim_id=claim_id)
    link = str(request.base_url).rstrip("/") + f"/c/{token}"
    return render(request, "reported.html", claim_id=claim_id, link=link)
