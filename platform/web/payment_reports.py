"""The daily reconciliation page for finance officers (issue #8 item 6; A-P6).

===================================================  ============================  ==========================
``GET /officer/payments/reconciliation``             ``payments_reconciliation``   the page; parameters
                                                                                   ``agency``, ``date``
                                                                                   (ISO or ``dd/mm/yyyy`` B.E.)
``GET /officer/payments/reconciliation.csv``         ``payments_reconciliation_csv``   the same as CSV (UTF-8 BOM)
``GET /officer/payments/reconciliation.xlsx``        ``payments_reconciliation_xlsx``  … as an Excel workbook
===================================================  ============================  ==========================

Only for roles the policy allows ``reconcile_payments`` in the agency (finance
officer, head of agency).  The day defaults to the latest working day up to
today (agency time); a day that is not a working day is refused with the one
whose report holds it.  Figures come from
:func:`eservice.payments.reconcile.daily_report`.  Viewing and exporting are
recorded in the audit log.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..payments.reconcile import FLAG_TITLES, METHOD_TITLES, NOTICE_STATUS_TITLES, ReconcileError, daily_report, report_csv, report_xlsx
from ..policy import allowed
from ..renderers.html import render
from . import deps
from .context import get_context

__all__ = ["routes"]


def _date(raw: str | None) -> dt.date | None:
    from ..forms import _parse_date

    text = (raw or "").strip()[:20]
    if not text:
        return None
    try:
        return dt.date.fromisoformat(_parse_date(text))
    except ValueError:
        raise ValueError(text) from None


def _params(request: Request) -> Any:
    """(actor, agency, agencies, day, calendar, error) or a response to return."""
    if deps.current_user(request) is None:
        return deps.login_redirect(request)
    actor = deps.current_actor(request)
    ctx = get_context(request)
    agencies = [code for code in ctx.catalogue.agencies if allowed(actor, "reconcile_payments", agency=code)]
    if not agencies:
        raise HTTPException(403)
    agency = request.query_params.get("agency") or agencies[0]
    if agency not in agencies:
        raise HTTPException(404)
    calendar = deps.engine(request).calendar(agency)
    today = calendar.to_local(ctx.now()).date()
    latest = today if calendar.is_working_day(today) else calendar.add_working_days(today, -1)
    error = None
    try:
        day = _date(request.query_params.get("date")) or latest
    except ValueError:
        day = latest
        error = {"th": "วันที่ไม่ถูกต้อง ใช้รูปแบบ 31/01/2568 หรือ 2025-01-31",
                 "en": "Invalid date: use 2025-01-31", "status": 400}
    if error is None and not calendar.is_working_day(day):
        nxt = calendar.next_working_day(day)
        error = {"th": f"วันที่เลือกไม่ใช่วันทำการ รายการของวันนั้นอยู่ในรายงานของวันทำการถัดไป "
                       f"({nxt.isoformat()}) ซึ่งแสดงอยู่นี้",
                 "en": f"The chosen day is not a working day; its entries are in the report of the next "
                       f"working day ({nxt.isoformat()}), shown here", "status": 200}
        day = nxt
    return actor, agency, agencies, day, calendar, error


def _audit(request: Request, actor: Any, action: str, agency: str, details: dict) -> None:
    from .officer import audit_log

    trail = audit_log(request)
    if trail is not None:
        trail.record(actor, action, target=f"reconciliation:{agency}", agency=agency, details=details,
                     ip=actor.ip, user_agent=actor.user_agent)


def _report(request: Request, agency: str, day: dt.date, calendar: Any):
    try:
        return daily_report(get_context(request).store, calendar, agency, day)
    except ReconcileError:  # pragma: no cover - _params gives a working day
        raise HTTPException(400) from None


async def reconciliation_page(request: Request) -> Response:
    found = _params(request)
    if isinstance(found, Response):
        return found
    actor, agency, agencies, day, calendar, error = found
    report = _report(request, agency, day, calendar)
    _audit(request, actor, "view_reconciliation", agency, {"date": day.isoformat()})
    catalogue = get_context(request).catalogue
    return render(request, "officer/payment_reconciliation.html", report=report,
                  agency=catalogue.agencies[agency], agencies=[catalogue.agencies[a] for a in agencies],
                  day=day, error=error, methods=METHOD_TITLES, statuses=NOTICE_STATUS_TITLES, flags=FLAG_TITLES, query={"agency": agency, "date": day.isoformat()},
                  status_code=error["status"] if error else 200)


async def export(request: Request, kind: str) -> Response:
    found = _params(request)
    if isinstance(found, Response):
        return found
    actor, agency, _, day, calendar, error = found
    if error and error["status"] == 400:
        raise HTTPException(400)
    report = _report(request, agency, day, calendar)
    _audit(request, actor, "export_reconciliation", agency, {"date": day.isoformat(), "format": kind})
    name = f"reconciliation-{agency}-{day.isoformat()}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "private, no-store"}
    if kind == "csv":
        return Response(report_csv(report), media_type="text/csv; charset=utf-8", headers=headers)
    return Response(report_xlsx(report), headers=headers,
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


async def export_csv(request: Request) -> Response:
    return await export(request, "csv")


async def export_xlsx(request: Request) -> Response:
    return await export(request, "xlsx")


routes = [
    Route("/officer/payments/reconciliation", reconciliation_page, name="payments_reconciliation"),
    Route("/officer/payments/reconciliation.csv", export_csv, name="payments_reconciliation_csv"),
    Route("/officer/payments/reconciliation.xlsx", export_xlsx, name="payments_reconciliation_xlsx"),
]
