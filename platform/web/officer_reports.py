"""Statistics pages for officers (A-SP5, A-A6; issue #4 item 8).

==========================================  ==========================  ==============================
``GET /officer/reports``                    ``officer_reports``         charts and tables; parameters
                                                                        ``agency``, ``from``, ``to``
                                                                        (ISO dates or ``dd/mm/yyyy`` B.E.)
``GET /officer/reports/export.csv``         ``officer_reports_csv``     the same figures as CSV (UTF-8 BOM)
``GET /officer/reports/export.xlsx``        ``officer_reports_xlsx``    … as an Excel workbook
==========================================  ==========================  ==============================

Only for roles the policy allows ``view_reports`` in the agency (head of agency,
agency admin, approver).  The period defaults to the current month up to today
(Bangkok).  Figures come from :func:`eservice.reports.report`; files and the
inline SVG chart from :mod:`eservice.renderers.exports`.  Viewing and
exporting are recorded in the audit log.

This module is listed before ``officer`` in ``ROUTE_MODULES`` so that
``/officer/reports`` is not taken for an agency's inbox (``/officer/{agency}``).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..clock import BANGKOK
from ..dates import DateInputError, read_typed_date
from ..policy import allowed
from ..renderers.html import render
from . import deps
from .context import get_context
from .i18n import get_lang

__all__ = ["routes", "MAX_DAYS"]

MAX_DAYS = 3 * 366  # the longest period one report may cover


def _typed(params: Any, name: str) -> str:
    """What was typed for a date: the Thai date widget's boxes, or one value (links, exports)."""
    parts = [(params.get(f"{name}.{p}") or "").strip()[:8] for p in ("day", "month", "year")]
    if any(parts):
        return "/".join(parts)
    return (params.get(name) or "").strip()[:20]


def _date(raw: str) -> dt.date | None:
    """The date typed (dates.read_typed_date: B.E. 2400–2700 or C.E. 1857–2157); DateInputError if not."""
    return read_typed_date(raw) if raw else None


def _params(request: Request) -> tuple[Any, str, list[str], dt.date, dt.date, dict | None]:
    """(actor, agency, agencies, from, to, error) or a response to return."""
    if deps.current_user(request) is None:
        return deps.login_redirect(request)  # type: ignore[return-value]
    actor = deps.current_actor(request)
    ctx = get_context(request)
    agencies = [code for code in ctx.catalogue.agencies if allowed(actor, "view_reports", agency=code)]
    if not agencies:
        raise HTTPException(403)
    agency = request.query_params.get("agency") or agencies[0]
    if agency not in agencies:
        raise HTTPException(404)
    today = ctx.now().astimezone(BANGKOK).date()
    error = None
    params = request.query_params
    try:
        start = _date(_typed(params, "from")) or today.replace(day=1)
        end = _date(_typed(params, "to")) or today
    except DateInputError as exc:  # the same message as every date input (issue #10 item 6)
        start, end = today.replace(day=1), today
        error = {"th": f"วันที่ไม่ถูกต้อง: {exc.th}", "en": f"Invalid date: {exc.en}"}
    if end < start:
        start, end = end, start
    if (end - start).days > MAX_DAYS:
        start = end - dt.timedelta(days=MAX_DAYS)
        error = {"th": "ช่วงเวลายาวเกินไป แสดงเพียง 3 ปีล่าสุดของช่วงที่เลือก",
                 "en": "The period is too long; showing its last 3 years"}
    return actor, agency, agencies, start, end, error


def _report(request: Request, agency: str, start: dt.date, end: dt.date):
    from ..reports import report

    ctx = get_context(request)
    engine = deps.engine(request)
    return report(ctx.store, ctx.catalogue, engine.calendar, agency, start, end, ctx.now())


def _audit(request: Request, actor: Any, action: str, agency: str, details: dict) -> None:
    from .officer import audit_log

    trail = audit_log(request)
    if trail is not None:
        trail.record(actor, action, target=f"report:{agency}", agency=agency, details=details,
                     ip=actor.ip, user_agent=actor.user_agent)


async def reports_page(request: Request) -> Response:
    found = _params(request)
    if isinstance(found, Response):
        return found
    actor, agency, agencies, start, end, error = found
    from ..renderers.exports import SERVICE_COLUMNS, report_chart_svg

    result = _report(request, agency, start, end)
    lang = get_lang(request)
    _audit(request, actor, "view_reports", agency, {"from": start.isoformat(), "to": end.isoformat()})
    catalogue = get_context(request).catalogue
    query = {"agency": agency, "from": start.isoformat(), "to": end.isoformat()}
    return render(request, "officer/reports.html", report=result, agency=catalogue.agencies[agency],
                  agencies=[catalogue.agencies[a] for a in agencies], start=start, end=end, error=error,
                  chart=Markup(report_chart_svg(result, lang, "report-chart")), query=query,
                  columns=[c for c in SERVICE_COLUMNS if c[0] not in ("service", "title_th", "title_en")])


async def export(request: Request) -> Response:
    found = _params(request)
    if isinstance(found, Response):
        return found
    actor, agency, _, start, end, _ = found
    from ..renderers.exports import report_csv, report_xlsx

    kind = request.path_params["kind"]
    if kind not in ("csv", "xlsx"):
        raise HTTPException(404)
    result = _report(request, agency, start, end)
    _audit(request, actor, "export_report", agency, {"from": start.isoformat(), "to": end.isoformat(),
                                                       "format": kind})
    name = f"report-{agency}-{start.isoformat()}-{end.isoformat()}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"}
    if kind == "csv":
        return Response(report_csv(result), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(report_xlsx(result), headers=headers,
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


async def export_csv(request: Request) -> Response:
    request.path_params["kind"] = "csv"
    return await export(request)


async def export_xlsx(request: Request) -> Response:
    request.path_params["kind"] = "xlsx"
    return await export(request)


routes = [
    Route("/officer/reports", reports_page, name="officer_reports"),
    Route("/officer/reports/export.csv", export_csv, name="officer_reports_csv"),
    Route("/officer/reports/export.xlsx", export_xlsx, name="officer_reports_xlsx"),
]
